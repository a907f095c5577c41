//! NodeResourcesBalancedAllocation (reference scheduler §2.4): `(1 − std) × 100` over the
//! fractions of actual requests (no non-zero defaults) of the configured resources (the form
//! since v1.22, PR #101946); from v1.33 (PR #130260) skipped for pods that request none of
//! them, before that such pods are scored like any other.
//!
//! Not modelled, as no supported version (1.27–1.34) uses them: the older two-resource
//! formula `(1 − |cpuFrac − memFrac|) × 100` (≤ v1.21) and the with/without-pod variant of
//! PR #135573 (merged 2026-01, v1.36).

use super::node_resources_fit::{allocatable_and_requested, pod_score_request};
use super::{NodeInfo, PodRequest, ResKey, MAX_NODE_SCORE};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// `NodeResourcesBalancedAllocationArgs.resources` (weights are not used by the formula).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancedArgs {
    pub resources: Vec<String>,
    /// PreScore returns Skip for best-effort pods (v1.33+, PR #130260; the scenario's
    /// `kubernetesVersion` sets it, default on).
    pub skip_best_effort: bool,
}

impl Default for BalancedArgs {
    fn default() -> Self {
        BalancedArgs {
            resources: vec!["cpu".into(), "memory".into()],
            skip_best_effort: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ScoreState {
    /// Per configured resource: its key and the pod's request.
    pub resources: Vec<(ResKey, i64)>,
}

/// None = Skip: every configured resource request of the pod is 0 (PR #130260, v1.33; only
/// when `skip_best_effort`).
pub fn pre_score(req: &PodRequest, args: &BalancedArgs) -> Option<ScoreState> {
    let pod_requests: Vec<i64> = args
        .resources
        .iter()
        .map(|n| pod_score_request(req, n, true))
        .collect();
    if args.skip_best_effort && pod_requests.iter().all(|r| *r == 0) {
        return None;
    }
    Some(ScoreState {
        resources: args
            .resources
            .iter()
            .map(|n| ResKey::of(n))
            .zip(pod_requests)
            .collect(),
    })
}

pub fn score(state: &ScoreState, node: &NodeInfo, args: &BalancedArgs) -> i64 {
    let _ = args;
    score_with(state, |key, pod_req| {
        allocatable_and_requested(node, key, pod_req, true)
    })
}

/// The formula over (allocatable, requested including the pod) per configured resource as
/// `alloc_reqd` gives them (node infos, or the scheduler's flat columns in `scheduler::hot`).
pub fn score_with(
    state: &ScoreState,
    mut alloc_reqd: impl FnMut(&ResKey, i64) -> (i64, i64),
) -> i64 {
    // At most a handful of resources: a fixed buffer avoids allocating per node.
    let mut fractions = [0f64; 8];
    let mut n = 0;
    let mut total = 0.0;
    for (key, pod_req) in state.resources.iter().take(fractions.len()) {
        let (alloc, reqd) = alloc_reqd(key, *pod_req);
        if alloc == 0 {
            continue;
        }
        let f = (reqd as f64 / alloc as f64).min(1.0);
        total += f;
        fractions[n] = f;
        n += 1;
    }
    let std = match n {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        _ => {
            let mean = total / n as f64;
            let var: f64 = fractions[..n].iter().map(|f| (f - mean) * (f - mean)).sum();
            (var / n as f64).sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// `score_with` where the source may not know a resource (None then).
pub fn try_score_with(
    state: &ScoreState,
    mut alloc_reqd: impl FnMut(&ResKey, i64) -> Option<(i64, i64)>,
) -> Option<i64> {
    let mut missing = false;
    let s = score_with(state, |k, r| {
        alloc_reqd(k, r).unwrap_or_else(|| {
            missing = true;
            (0, 0)
        })
    });
    (!missing).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::model::{Node, Pod};

    /// Scores as upstream's test calls Score directly (whether or not PreScore would skip).
    fn scores(nodes: Vec<Node>, existing: Vec<Pod>, p: &Pod, args: &BalancedArgs) -> Vec<i64> {
        let snap = OwnedSnapshot::new(nodes, existing);
        let req = PodRequest::of(p);
        let st = ScoreState {
            resources: args
                .resources
                .iter()
                .map(|n| (ResKey::of(n), pod_score_request(&req, n, true)))
                .collect(),
        };
        snap.view().iter().map(|n| score(&st, n, args)).collect()
    }

    fn cpu_and_memory() -> Pod {
        pod(
            "p",
            &[
                &[("cpu", 1000), ("memory", 2000)],
                &[("cpu", 2000), ("memory", 3000)],
            ],
        )
    }
    fn cpu_only() -> Pod {
        pod(
            "p",
            &[
                &[("cpu", 1000), ("memory", 0)],
                &[("cpu", 2000), ("memory", 0)],
            ],
        )
    }
    fn cpu_memory_gpu() -> Pod {
        pod(
            "p",
            &[
                &[("cpu", 1000), ("memory", 2000)],
                &[("cpu", 2000), ("memory", 3000), ("nvidia.com/gpu", 3)],
            ],
        )
    }

    // balanced_allocation_test.go (TestNodeResourcesBalancedAllocation).
    #[test]
    fn balanced_allocation_upstream_table() {
        let d = BalancedArgs::default();
        let n = |name: &str, c: i64, m: i64| node(name, c, m, &[]);
        // "nothing scheduled, nothing requested"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![],
                &pod("p", &[]),
                &d
            ),
            vec![100, 100]
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![],
                &cpu_and_memory(),
                &d
            ),
            vec![87, 100]
        );
        // "no resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![
                    on(cpu_only(), "node1"),
                    on(cpu_only(), "node1"),
                    on(cpu_only(), "node2"),
                    on(cpu_and_memory(), "node2")
                ],
                &pod("p", &[]),
                &d
            ),
            vec![70, 82]
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![on(cpu_only(), "node1"), on(cpu_and_memory(), "node2")],
                &cpu_and_memory(),
                &d
            ),
            vec![82, 95]
        );
        // "resources requested, pods scheduled with resources, differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 50000)],
                vec![on(cpu_only(), "node1"), on(cpu_and_memory(), "node2")],
                &cpu_and_memory(),
                &d
            ),
            vec![82, 80]
        );
        // "requested resources at node capacity"
        assert_eq!(
            scores(
                vec![n("node1", 6000, 10000), n("node2", 6000, 10000)],
                vec![on(cpu_only(), "node1"), on(cpu_and_memory(), "node2")],
                &cpu_only(),
                &d
            ),
            vec![50, 75]
        );
        // "zero node resources, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 0, 0), n("node2", 0, 0)],
                vec![on(cpu_only(), "node1"), on(cpu_and_memory(), "node2")],
                &pod("p", &[]),
                &d
            ),
            vec![100, 100]
        );
        // "include scalar resource on a node for balanced resource allocation"
        let gpu = BalancedArgs {
            resources: vec!["cpu".into(), "memory".into(), "nvidia.com/gpu".into()],
            ..BalancedArgs::default()
        };
        let gn = |name: &str| node(name, 3500, 40000, &[("nvidia.com/gpu", 8)]);
        assert_eq!(
            scores(
                vec![gn("node1"), gn("node2")],
                vec![on(cpu_and_memory(), "node2"), on(cpu_memory_gpu(), "node1")],
                &pod("p", &[&[("memory", 0), ("nvidia.com/gpu", 1)]]),
                &gpu
            ),
            vec![70, 65]
        );
        // "node without the scalar resource results to a higher score"
        let cg = BalancedArgs {
            resources: vec!["cpu".into(), "nvidia.com/gpu".into()],
            ..BalancedArgs::default()
        };
        assert_eq!(
            scores(
                vec![gn("node1"), n("node2", 3500, 40000)],
                vec![on(cpu_only(), "node1"), on(cpu_only(), "node2")],
                &pod("p", &[]),
                &cg
            ),
            vec![100, 100]
        );
    }

    // Reference scheduler §2.4: best-effort pods skip the plugin (v1.33+).
    #[test]
    fn best_effort_pod_skips() {
        let d = BalancedArgs::default();
        assert!(pre_score(&PodRequest::of(&pod("p", &[&[]])), &d).is_none());
        assert!(pre_score(&PodRequest::of(&cpu_only()), &d).is_some());
    }

    // Before v1.33 a best-effort pod is not skipped: PreScore succeeds and the nodes get the
    // scores of balanced_allocation_test.go's "no resources requested, pods scheduled with
    // resources" (run through PreScore, as that table did before PR #130260).
    #[test]
    fn best_effort_pod_is_scored_before_v1_33() {
        let old = BalancedArgs {
            skip_best_effort: false,
            ..BalancedArgs::default()
        };
        let p = pod("p", &[]);
        let st = pre_score(&PodRequest::of(&p), &old).expect("no Skip before v1.33");
        let snap = OwnedSnapshot::new(
            vec![
                node("node1", 10000, 20000, &[]),
                node("node2", 10000, 20000, &[]),
            ],
            vec![
                on(cpu_only(), "node1"),
                on(cpu_only(), "node1"),
                on(cpu_only(), "node2"),
                on(cpu_and_memory(), "node2"),
            ],
        );
        let v = snap.view();
        let s: Vec<i64> = v.iter().map(|n| score(&st, n, &old)).collect();
        assert_eq!(s, vec![70, 82]);
    }
}
