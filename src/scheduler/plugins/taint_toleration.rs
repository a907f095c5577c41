//! TaintToleration (reference scheduler §2.6): filter on untolerated NoSchedule/NoExecute
//! taints; score counts untolerated PreferNoSchedule taints, normalised in reverse.

use super::{NodeInfo, MAX_NODE_SCORE};
use crate::model::{Pod, TaintEffect};

pub const WEIGHT: i64 = 3;

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), String> {
    for t in &node.node.spec.taints {
        if t.effect == TaintEffect::PreferNoSchedule {
            continue;
        }
        if !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t)) {
            return Err(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key, t.value
            ));
        }
    }
    Ok(())
}

pub fn raw_score(pod: &Pod, node: &NodeInfo) -> i64 {
    let tols: Vec<_> = pod
        .spec
        .tolerations
        .iter()
        .filter(|t| t.effect.is_none() || t.effect == Some(TaintEffect::PreferNoSchedule))
        .collect();
    node.node
        .spec
        .taints
        .iter()
        .filter(|t| {
            t.effect == TaintEffect::PreferNoSchedule && !tols.iter().any(|tol| tol.tolerates(t))
        })
        .count() as i64
}

/// Reverse `DefaultNormalizeScore`.
pub fn normalize(scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        *s = if max == 0 {
            MAX_NODE_SCORE
        } else {
            MAX_NODE_SCORE - (MAX_NODE_SCORE * *s / max)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream taint_toleration_test.go, "the more intolerable taints a node has, the lower
    // score it gets": raw counts 0, 1, 2 normalise to 100, 50, 0.
    #[test]
    fn reverse_normalisation() {
        let mut s = vec![0, 1, 2];
        normalize(&mut s);
        assert_eq!(s, vec![100, 50, 0]);
        let mut z = vec![0, 0];
        normalize(&mut z);
        assert_eq!(z, vec![100, 100]);
    }
}
