//! NodeAffinity (so far `spec.nodeSelector` only): every selector label must be on the node.

use super::NodeInfo;
use crate::model::Pod;

pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), String> {
    let labels = &node.node.meta.labels;
    if pod
        .spec
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        Ok(())
    } else {
        Err(REASON.into())
    }
}
