//! NodeUnschedulable: a cordoned node (`spec.unschedulable`) is infeasible unless the pod
//! tolerates `node.kubernetes.io/unschedulable:NoSchedule` (reference scheduler §2.10).

use std::borrow::Cow;

use super::NodeInfo;
use crate::model::{Pod, Taint, TaintEffect, TAINT_UNSCHEDULABLE};

pub const NAME: &str = "NodeUnschedulable";
pub const REASON: &str = "node(s) were unschedulable";

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), Cow<'static, str>> {
    if !node.node.spec.unschedulable {
        return Ok(());
    }
    let taint = Taint::new(TAINT_UNSCHEDULABLE, TaintEffect::NoSchedule);
    if pod.spec.tolerations.iter().any(|t| t.tolerates(&taint)) {
        Ok(())
    } else {
        Err(REASON.into())
    }
}
