//! TaintToleration (reference scheduler §2.6): filter on untolerated NoSchedule/NoExecute
//! taints; score counts untolerated PreferNoSchedule taints, normalised in reverse.

use std::borrow::Cow;

use super::{default_normalize, NodeInfo};
use crate::model::{Pod, TaintEffect, Toleration};

pub const NAME: &str = "TaintToleration";

pub fn filter(pod: &Pod, node: &NodeInfo) -> Result<(), Cow<'static, str>> {
    for t in &node.node.spec.taints {
        if t.effect == TaintEffect::PreferNoSchedule {
            continue;
        }
        if !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t)) {
            return Err(format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value).into());
        }
    }
    Ok(())
}

/// PreScore: the tolerations that count for scoring (effect empty or PreferNoSchedule).
pub fn pre_score(pod: &Pod) -> Vec<Toleration> {
    pod.spec
        .tolerations
        .iter()
        .filter(|t| t.effect.is_none() || t.effect == Some(TaintEffect::PreferNoSchedule))
        .cloned()
        .collect()
}

pub fn score(tols: &[Toleration], node: &NodeInfo) -> i64 {
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
    default_normalize(scores, true);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::model::{Node, Taint, TolerationOperator};

    fn taint(k: &str, v: &str, e: TaintEffect) -> Taint {
        Taint {
            key: k.into(),
            value: v.into(),
            effect: e,
            time_added: None,
        }
    }
    fn tol(k: &str, op: TolerationOperator, v: &str, e: Option<TaintEffect>) -> Toleration {
        Toleration {
            key: k.into(),
            operator: op,
            value: v.into(),
            effect: e,
            toleration_seconds: None,
        }
    }
    fn tainted(name: &str, taints: Vec<Taint>) -> Node {
        let mut n = node(name, 0, 0, &[]);
        n.spec.taints = taints;
        n
    }
    fn scores(nodes: Vec<Node>, tols: Vec<Toleration>) -> Vec<i64> {
        let snap = OwnedSnapshot::new(nodes, vec![]);
        let mut p = pod("pod1", &[]);
        p.spec.tolerations = tols;
        let st = pre_score(&p);
        let mut s: Vec<i64> = snap.view().iter().map(|n| score(&st, n)).collect();
        normalize(&mut s);
        s
    }
    use TaintEffect::*;
    use TolerationOperator::*;

    // taint_toleration_test.go TestTaintTolerationScore.
    #[test]
    fn taint_toleration_score_upstream_table() {
        // "node with taints tolerated by the pod, gets a higher score than those node with
        // intolerable taints"
        assert_eq!(
            scores(
                vec![
                    tainted("nodeA", vec![taint("foo", "bar", PreferNoSchedule)]),
                    tainted("nodeB", vec![taint("foo", "blah", PreferNoSchedule)])
                ],
                vec![tol("foo", Equal, "bar", Some(PreferNoSchedule))]
            ),
            vec![100, 0]
        );
        // "the nodes that all of their taints are tolerated by the pod, get the same score, no
        // matter how many tolerable taints a node has"
        let two = vec![
            taint("cpu-type", "arm64", PreferNoSchedule),
            taint("disk-type", "ssd", PreferNoSchedule),
        ];
        assert_eq!(
            scores(
                vec![
                    tainted("nodeA", vec![]),
                    tainted("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)]),
                    tainted("nodeC", two.clone())
                ],
                vec![
                    tol("cpu-type", Equal, "arm64", Some(PreferNoSchedule)),
                    tol("disk-type", Equal, "ssd", Some(PreferNoSchedule))
                ]
            ),
            vec![100, 100, 100]
        );
        // "the more intolerable taints a node has, the lower score it gets."
        assert_eq!(
            scores(
                vec![
                    tainted("nodeA", vec![]),
                    tainted("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)]),
                    tainted("nodeC", two.clone())
                ],
                vec![tol("foo", Equal, "bar", Some(PreferNoSchedule))]
            ),
            vec![100, 50, 0]
        );
        // "only taints and tolerations that have effect PreferNoSchedule are checked by
        // taints-tolerations priority function"
        assert_eq!(
            scores(
                vec![
                    tainted("nodeA", vec![]),
                    tainted("nodeB", vec![taint("cpu-type", "arm64", NoSchedule)]),
                    tainted("nodeC", two)
                ],
                vec![
                    tol("cpu-type", Equal, "arm64", Some(NoSchedule)),
                    tol("disk-type", Equal, "ssd", Some(NoSchedule))
                ]
            ),
            vec![100, 100, 0]
        );
        // "Default behaviour No taints and tolerations, lands on node with no taints"
        assert_eq!(
            scores(
                vec![
                    tainted("nodeA", vec![]),
                    tainted("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)])
                ],
                vec![]
            ),
            vec![100, 0]
        );
    }

    // TestTaintTolerationFilter.
    #[test]
    fn taint_toleration_filter_upstream_table() {
        let fits = |tols: Vec<Toleration>, taints: Vec<Taint>| {
            let snap = OwnedSnapshot::new(vec![tainted("nodeA", taints)], vec![]);
            let mut p = pod("pod1", &[]);
            p.spec.tolerations = tols;
            filter(&p, snap.view().get(0)).is_ok()
        };
        let ded1 = || vec![taint("dedicated", "user1", NoSchedule)];
        assert!(
            !fits(vec![], ded1()),
            "A pod having no tolerations can't be scheduled onto a node with nonempty taints"
        );
        assert!(fits(vec![tol("dedicated", Equal, "user1", Some(NoSchedule))], ded1()), "A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule");
        assert!(!fits(vec![tol("dedicated", Equal, "user2", Some(NoSchedule))], ded1()), "A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule");
        assert!(
            fits(
                vec![tol("foo", Exists, "", Some(NoSchedule))],
                vec![taint("foo", "bar", NoSchedule)]
            ),
            "toleration uses operator Exists"
        );
        assert!(
            fits(
                vec![tol("dedicated", Equal, "user2", Some(NoSchedule)), tol("foo", Exists, "", Some(NoSchedule))],
                vec![taint("dedicated", "user2", NoSchedule), taint("foo", "bar", NoSchedule)]
            ),
            "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated"
        );
        assert!(
            !fits(
                vec![tol("foo", Equal, "bar", Some(PreferNoSchedule))],
                vec![taint("foo", "bar", NoSchedule)]
            ),
            "(non-empty) effect doesn't match"
        );
        assert!(
            fits(
                vec![tol("foo", Equal, "bar", None)],
                vec![taint("foo", "bar", NoSchedule)]
            ),
            "the effect of toleration is empty"
        );
        assert!(
            fits(
                vec![tol("dedicated", Equal, "user2", Some(NoSchedule))],
                vec![taint("dedicated", "user1", PreferNoSchedule)]
            ),
            "taint is PreferNoSchedule"
        );
        assert!(
            fits(vec![], vec![taint("dedicated", "user1", PreferNoSchedule)]),
            "The pod has no toleration, but the effect of taint on node is PreferNoSchedule"
        );
    }
}
