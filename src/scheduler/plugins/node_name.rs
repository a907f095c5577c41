//! NodeName: a pod that names a node in `spec.nodeName` fits only that node. (Pods created with
//! `nodeName` set bypass the scheduler entirely; this filter serves explain and preemption.)

use std::borrow::Cow;

use super::NodeInfo;
use crate::model::Pod;

pub use crate::model::predicates::{NODE_NAME as NAME, NODE_NAME_REASON as REASON};

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), Cow<'static, str>> {
    match &pod.spec.node_name {
        Some(n) if *n != node.node.meta.name => Err(REASON.into()),
        _ => Ok(()),
    }
}
