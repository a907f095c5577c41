//! NodeResourcesFit (reference scheduler §2.2–2.3): the fit filter and the default
//! LeastAllocated score over cpu and memory with weight 1 each.

use super::{NodeInfo, PodRequest, MAX_NODE_SCORE};

pub const WEIGHT: i64 = 1;

pub fn filter(req: &PodRequest, node: &NodeInfo) -> Result<(), Vec<String>> {
    let a = &node.node.status.allocatable;
    let r = &node.requested;
    let mut reasons = Vec::new();
    if r.pods + 1 > a.pods {
        reasons.push("Too many pods".to_string());
    }
    let q = &req.request;
    let asks_nothing = q.cpu_milli == 0
        && q.memory == 0
        && q.ephemeral_storage == 0
        && q.scalar.values().all(|v| *v == 0);
    if asks_nothing {
        return if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        };
    }
    if q.cpu_milli > 0 && q.cpu_milli > a.cpu_milli - r.cpu_milli {
        reasons.push("Insufficient cpu".into());
    }
    if q.memory > 0 && q.memory > a.memory - r.memory {
        reasons.push("Insufficient memory".into());
    }
    if q.ephemeral_storage > 0 && q.ephemeral_storage > a.ephemeral_storage - r.ephemeral_storage {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, v) in &q.scalar {
        if *v == 0 {
            continue;
        }
        let alloc = a.scalar.get(name).copied().unwrap_or(0);
        let used = r.scalar.get(name).copied().unwrap_or(0);
        if *v > alloc - used {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// `(alloc − reqd) × 100 / alloc` per resource, 0 if alloc is 0 or reqd > alloc.
fn least_requested(requested: i64, allocatable: i64) -> i64 {
    if allocatable == 0 || requested > allocatable {
        return 0;
    }
    (allocatable - requested) * MAX_NODE_SCORE / allocatable
}

/// LeastAllocated with resources [cpu: 1, memory: 1].
pub fn least_allocated_score(req: &PodRequest, node: &NodeInfo) -> i64 {
    let a = &node.node.status.allocatable;
    let mut sum = 0;
    let mut weights = 0;
    if a.cpu_milli > 0 {
        sum += least_requested(
            node.non_zero_cpu_milli + req.non_zero_cpu_milli,
            a.cpu_milli,
        );
        weights += 1;
    }
    if a.memory > 0 {
        sum += least_requested(node.non_zero_memory + req.non_zero_memory, a.memory);
        weights += 1;
    }
    if weights == 0 {
        0
    } else {
        sum / weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream least_allocated_test.go "nothing scheduled, resources requested, differently
    // sized nodes": node1 4000m/10000 with request 3000m/5000 -> cpu 25, mem 50 -> 37;
    // node2 6000m/10000 -> cpu 50, mem 50 -> 50.
    #[test]
    fn least_requested_upstream_case() {
        assert_eq!(
            (least_requested(3000, 4000) + least_requested(5000, 10000)) / 2,
            37
        );
        assert_eq!(
            (least_requested(3000, 6000) + least_requested(5000, 10000)) / 2,
            50
        );
        assert_eq!(least_requested(5, 4), 0);
        assert_eq!(least_requested(0, 0), 0);
    }
}
