//! NodeAffinity: every `spec.nodeSelector` label must be on the node, and the required node
//! affinity terms (so far only those kubesim's DaemonSet controller sets) must match.

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
        && crate::model::required_affinity_matches(
            pod.spec.required_node_affinity.as_ref(),
            &node.node,
        )
    {
        Ok(())
    } else {
        Err(REASON.into())
    }
}
