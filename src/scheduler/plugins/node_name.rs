//! NodeName: a pod that names a node in `spec.nodeName` fits only that node. (Pods created with
//! `nodeName` set bypass the scheduler entirely; this filter serves explain and preemption.)

use std::borrow::Cow;

use super::NodeInfo;
use crate::model::Pod;

pub const NAME: &str = "NodeName";
pub const REASON: &str = "node(s) didn't match the requested node name";

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), Cow<'static, str>> {
    match &pod.spec.node_name {
        Some(n) if *n != node.node.meta.name => Err(REASON.into()),
        _ => Ok(()),
    }
}
