//! NodeResourcesBalancedAllocation (reference scheduler §2.4, v1.33+ form): `(1 − std) × 100`
//! over the cpu and memory fractions of actual requests; skipped for best-effort pods.

use super::{NodeInfo, PodRequest, MAX_NODE_SCORE};

pub const WEIGHT: i64 = 1;

/// None when the plugin is skipped (the pod requests no cpu and no memory).
pub fn score(req: &PodRequest, node: &NodeInfo) -> Option<i64> {
    let q = &req.request;
    if q.cpu_milli == 0 && q.memory == 0 {
        return None;
    }
    let a = &node.node.status.allocatable;
    let mut fractions = Vec::with_capacity(2);
    if a.cpu_milli > 0 {
        fractions
            .push(((node.requested.cpu_milli + q.cpu_milli) as f64 / a.cpu_milli as f64).min(1.0));
    }
    if a.memory > 0 {
        fractions.push(((node.requested.memory + q.memory) as f64 / a.memory as f64).min(1.0));
    }
    let std = match fractions.len() {
        2 => (fractions[0] - fractions[1]).abs() / 2.0,
        _ => 0.0,
    };
    Some(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
}
