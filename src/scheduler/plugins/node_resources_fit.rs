//! NodeResourcesFit (reference scheduler §2.1–2.3): the fit filter (init-container max rule,
//! overhead, pod count, extended resources) and the three scoring strategies — LeastAllocated
//! (default), MostAllocated and RequestedToCapacityRatio — over the configured resources with
//! their weights. The 100m / 200Mi non-zero defaults apply to cpu and memory in scoring only.

use std::borrow::Cow;

use super::{
    div_floor, resource_by_name, round_half_away, NodeInfo, PodRequest, ResKey, MAX_NODE_SCORE,
};

pub const NAME: &str = "NodeResourcesFit";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoringStrategy {
    LeastAllocated,
    MostAllocated,
    /// Shape points (utilization 0..100, score 0..10), sorted by utilization.
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

/// `NodeResourcesFitArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitArgs {
    pub strategy: ScoringStrategy,
    /// (resource name, weight 1..100).
    pub resources: Vec<(String, i64)>,
    pub ignored_resources: Vec<String>,
    pub ignored_resource_groups: Vec<String>,
}

impl Default for FitArgs {
    fn default() -> Self {
        FitArgs {
            strategy: ScoringStrategy::LeastAllocated,
            resources: vec![("cpu".into(), 1), ("memory".into(), 1)],
            ignored_resources: vec![],
            ignored_resource_groups: vec![],
        }
    }
}

/// `fitsRequest`: every insufficiency is reported ("Too many pods", "Insufficient cpu", …).
pub fn filter(
    req: &PodRequest,
    node: &NodeInfo,
    args: &FitArgs,
) -> Result<(), Vec<Cow<'static, str>>> {
    let a = &node.node.status.allocatable;
    let r = &node.requested;
    let mut reasons: Vec<Cow<'static, str>> = Vec::new();
    if r.pods + 1 > a.pods {
        reasons.push("Too many pods".into());
    }
    let q = &req.request;
    let asks_nothing = q.cpu_milli == 0
        && q.memory == 0
        && q.ephemeral_storage == 0
        && q.scalar.values().all(|v| *v == 0);
    if !asks_nothing {
        if q.cpu_milli > 0 && q.cpu_milli > a.cpu_milli - r.cpu_milli {
            reasons.push("Insufficient cpu".into());
        }
        if q.memory > 0 && q.memory > a.memory - r.memory {
            reasons.push("Insufficient memory".into());
        }
        if q.ephemeral_storage > 0
            && q.ephemeral_storage > a.ephemeral_storage - r.ephemeral_storage
        {
            reasons.push("Insufficient ephemeral-storage".into());
        }
        for (name, v) in &q.scalar {
            if *v == 0 || args.ignored_resources.contains(name) {
                continue;
            }
            if let Some((group, _)) = name.split_once('/') {
                if args.ignored_resource_groups.iter().any(|g| g == group) {
                    continue;
                }
            }
            let alloc = a.scalar.get(name).copied().unwrap_or(0);
            let used = r.scalar.get(name).copied().unwrap_or(0);
            if *v > alloc - used {
                reasons.push(format!("Insufficient {name}").into());
            }
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// The pod's request of one resource as scoring sees it: with the non-zero defaults for cpu
/// and memory unless `use_requested` (BalancedAllocation uses actual requests).
pub fn pod_score_request(req: &PodRequest, name: &str, use_requested: bool) -> i64 {
    match (name, use_requested) {
        ("cpu", false) => req.non_zero_cpu_milli,
        ("memory", false) => req.non_zero_memory,
        _ => resource_by_name(&req.request, name),
    }
}

/// (allocatable, requested including the pod) for one resource; (0, 0) means "skip".
pub fn allocatable_and_requested(
    node: &NodeInfo,
    key: &ResKey,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    if pod_request == 0 && matches!(key, ResKey::Scalar(_)) {
        return (0, 0);
    }
    let alloc = key.get(&node.node.status.allocatable);
    let used = match (key, use_requested) {
        (ResKey::Cpu, false) => node.non_zero_cpu_milli,
        (ResKey::Memory, false) => node.non_zero_memory,
        _ => key.get(&node.requested),
    };
    (alloc, used + pod_request)
}

/// PreScore state: per configured resource, its key, weight and the pod's request.
#[derive(Clone, Debug, Default)]
pub struct ScoreState {
    pub resources: Vec<(ResKey, i64, i64)>,
}

pub fn pre_score(req: &PodRequest, args: &FitArgs) -> ScoreState {
    ScoreState {
        resources: args
            .resources
            .iter()
            .map(|(n, w)| (ResKey::of(n), *w, pod_score_request(req, n, false)))
            .collect(),
    }
}

pub fn score(state: &ScoreState, node: &NodeInfo, args: &FitArgs) -> i64 {
    score_with(state, args, |key, pod_req| {
        allocatable_and_requested(node, key, pod_req, false)
    })
}

/// The scoring strategy over (allocatable, requested including the pod) per configured
/// resource as `alloc_reqd` gives them: one formula for the node infos and the scheduler's
/// flat per-node columns (`scheduler::hot`).
pub fn score_with(
    state: &ScoreState,
    args: &FitArgs,
    mut alloc_reqd: impl FnMut(&ResKey, i64) -> (i64, i64),
) -> i64 {
    let mut sum = 0i64;
    let mut weights = 0i64;
    let rtcr = matches!(args.strategy, ScoringStrategy::RequestedToCapacityRatio(_));
    for (key, w, pod_req) in &state.resources {
        let w = *w;
        let (alloc, reqd) = alloc_reqd(key, *pod_req);
        if alloc == 0 {
            continue;
        }
        let s = match &args.strategy {
            ScoringStrategy::LeastAllocated => least_requested(reqd, alloc),
            ScoringStrategy::MostAllocated => most_requested(reqd, alloc),
            ScoringStrategy::RequestedToCapacityRatio(shape) => {
                let u = if reqd > alloc {
                    MAX_NODE_SCORE
                } else {
                    reqd * MAX_NODE_SCORE / alloc
                };
                let s = broken_linear(shape, u);
                if s <= 0 {
                    // Only resources with a positive score enter the average.
                    continue;
                }
                s
            }
        };
        sum += s * w;
        weights += w;
    }
    if weights == 0 {
        return 0;
    }
    if rtcr {
        round_half_away(sum as f64 / weights as f64)
    } else {
        div_floor(sum, weights)
    }
}

/// `(alloc − reqd) × 100 / alloc`, 0 if alloc is 0 or reqd > alloc.
pub fn least_requested(requested: i64, allocatable: i64) -> i64 {
    if allocatable == 0 || requested > allocatable {
        return 0;
    }
    div_floor((allocatable - requested) * MAX_NODE_SCORE, allocatable)
}

/// `min(reqd, alloc) × 100 / alloc`.
pub fn most_requested(requested: i64, allocatable: i64) -> i64 {
    if allocatable == 0 {
        return 0;
    }
    div_floor(requested.min(allocatable) * MAX_NODE_SCORE, allocatable)
}

/// The piecewise-linear shape, scores scaled by 10 (`MaxNodeScore / MaxCustomPriorityScore`).
pub fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    const SCALE: i64 = 10;
    for (i, (u, s)) in shape.iter().enumerate() {
        if p <= *u {
            if i == 0 {
                return s * SCALE;
            }
            let (u0, s0) = shape[i - 1];
            return s0 * SCALE + (s - s0) * SCALE * (p - u0) / (u - u0);
        }
    }
    shape.last().map_or(0, |(_, s)| s * SCALE)
}

/// `score_with` where the source may not know a resource (None then).
pub fn try_score_with(
    state: &ScoreState,
    args: &FitArgs,
    mut alloc_reqd: impl FnMut(&ResKey, i64) -> Option<(i64, i64)>,
) -> Option<i64> {
    let mut missing = false;
    let s = score_with(state, args, |k, r| {
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
    use super::super::PodRequest;
    use super::*;
    use crate::model::{Node, Pod};

    const G: i64 = 1000; // upstream's "cpu": "4000" is 4000 cores = 4,000,000m

    fn args(strategy: ScoringStrategy, res: &[(&str, i64)]) -> FitArgs {
        FitArgs {
            strategy,
            resources: res.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            ..FitArgs::default()
        }
    }

    fn scores(nodes: Vec<Node>, existing: Vec<Pod>, p: &Pod, a: &FitArgs) -> Vec<i64> {
        let snap = OwnedSnapshot::new(nodes, existing);
        let st = pre_score(&PodRequest::of(p), a);
        snap.view().iter().map(|n| score(&st, n, a)).collect()
    }

    fn two_containers() -> Pod {
        pod(
            "p",
            &[
                &[("cpu", 1000 * G), ("memory", 2000)],
                &[("cpu", 2000 * G), ("memory", 3000)],
            ],
        )
    }

    const DEF: &[(&str, i64)] = &[("cpu", 1), ("memory", 1)];

    // least_allocated_test.go (TestLeastAllocatedScoringStrategy).
    #[test]
    fn least_allocated_upstream_table() {
        let la = |r: &[(&str, i64)]| args(ScoringStrategy::LeastAllocated, r);
        let n = |name: &str, c: i64, m: i64| node(name, c * G, m, &[]);
        // "nothing scheduled, nothing requested"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![],
                &pod("p", &[]),
                &la(DEF)
            ),
            vec![100, 100]
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![],
                &two_containers(),
                &la(DEF)
            ),
            vec![37, 50]
        );
        // "no resources requested, pods scheduled"
        let empty_on = |node: &str| on(pod("e", &[]), node);
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![
                    empty_on("node1"),
                    empty_on("node1"),
                    empty_on("node2"),
                    empty_on("node2")
                ],
                &pod("p", &[]),
                &la(DEF)
            ),
            vec![100, 100]
        );
        let req_on =
            |node: &str, c: i64, m: i64| on(pod("e", &[&[("cpu", c * G), ("memory", m)]]), node);
        // "no resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![
                    req_on("node1", 3000, 0),
                    req_on("node1", 3000, 0),
                    req_on("node2", 3000, 0),
                    req_on("node2", 3000, 5000)
                ],
                &pod("p", &[]),
                &la(DEF)
            ),
            vec![70, 57]
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![req_on("node1", 3000, 0), req_on("node2", 3000, 5000)],
                &two_containers(),
                &la(DEF)
            ),
            vec![57, 45]
        );
        // "resources requested, pods scheduled with resources, differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 50000)],
                vec![req_on("node1", 3000, 0), req_on("node2", 3000, 5000)],
                &two_containers(),
                &la(DEF)
            ),
            vec![57, 60]
        );
        // "requested resources exceed node capacity"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![req_on("node1", 3000, 0), req_on("node2", 3000, 5000)],
                &pod("p", &[&[("cpu", 3000 * G), ("memory", 0)]]),
                &la(DEF)
            ),
            vec![50, 25]
        );
        // "zero node resources, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![node("node1", 0, 0, &[]), node("node2", 0, 0, &[])],
                vec![req_on("node1", 3000, 0), req_on("node2", 3000, 5000)],
                &pod("p", &[]),
                &la(DEF)
            ),
            vec![0, 0]
        );
        // "nothing scheduled, resources requested with different weight on CPU and memory,
        // differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![],
                &two_containers(),
                &la(&[("memory", 2), ("cpu", 1)])
            ),
            vec![41, 50]
        );
        let ext = &[("cpu", 1), ("memory", 1), ("intel.com/foo", 1)];
        // "bypass extended resource if the pod does not request"
        assert_eq!(
            scores(
                vec![
                    n("node1", 6000, 10000),
                    node("node2", 6000 * G, 10000, &[("intel.com/foo", 4)])
                ],
                vec![],
                &two_containers(),
                &la(ext)
            ),
            vec![50, 50]
        );
        // "honor extended resource if the pod requests"
        let gpu_pod = pod(
            "p",
            &[&[("cpu", 3000 * G), ("memory", 5000), ("intel.com/foo", 2)]],
        );
        assert_eq!(
            scores(
                vec![
                    node("node1", 6000 * G, 10000, &[("intel.com/foo", 4)]),
                    node("node2", 6000 * G, 10000, &[("intel.com/foo", 10)])
                ],
                vec![],
                &gpu_pod,
                &la(ext)
            ),
            vec![50, 60]
        );
        // "if the node doesn't have a resource"
        assert_eq!(
            scores(
                vec![
                    n("node1", 6000, 10000),
                    node("node2", 6000 * G, 10000, &[("intel.com/foo", 4)])
                ],
                vec![],
                &pod("p", &[&[("cpu", 3000 * G), ("memory", 4000)]]),
                &la(&[("intel.com/foo", 2), ("cpu", 1), ("memory", 1)])
            ),
            vec![55, 55]
        );
    }

    // most_allocated_test.go (TestMostAllocatedScoringStrategy).
    #[test]
    fn most_allocated_upstream_table() {
        let ma = |r: &[(&str, i64)]| args(ScoringStrategy::MostAllocated, r);
        let n = |name: &str, c: i64, m: i64| node(name, c * G, m, &[]);
        let req_on =
            |node: &str, c: i64, m: i64| on(pod("e", &[&[("cpu", c * G), ("memory", m)]]), node);
        // "nothing scheduled, nothing requested"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![],
                &pod("p", &[]),
                &ma(DEF)
            ),
            vec![0, 0]
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![],
                &two_containers(),
                &ma(DEF)
            ),
            vec![62, 50]
        );
        // "no resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![
                    req_on("node1", 3000, 0),
                    req_on("node1", 3000, 0),
                    req_on("node2", 3000, 0),
                    req_on("node2", 3000, 5000)
                ],
                &pod("p", &[]),
                &ma(DEF)
            ),
            vec![30, 42]
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                vec![n("node1", 10000, 20000), n("node2", 10000, 20000)],
                vec![req_on("node1", 3000, 0), req_on("node2", 3000, 5000)],
                &two_containers(),
                &ma(DEF)
            ),
            vec![42, 55]
        );
        // "resources requested equal node capacity"
        assert_eq!(
            scores(
                vec![n("node1", 5000, 10000), n("node2", 10000, 9000)],
                vec![],
                &pod(
                    "p",
                    &[
                        &[("cpu", 2000 * G), ("memory", 4000)],
                        &[("cpu", 3000 * G), ("memory", 5000)]
                    ]
                ),
                &ma(DEF)
            ),
            vec![95, 75]
        );
        // "nothing scheduled, resources requested, differently sized nodes" (memory weight 2)
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![],
                &two_containers(),
                &ma(&[("memory", 2), ("cpu", 1)])
            ),
            vec![58, 50]
        );
        // "no resources requested, pods scheduled, nonzero request for resource": the
        // 100m / 200Mi defaults on 250m / 1000Mi nodes.
        let mi = 1024 * 1024;
        let defaulted = |node: &str| on(pod("e", &[&[]]), node);
        assert_eq!(
            scores(
                vec![
                    node("node1", 250, 1000 * mi, &[]),
                    node("node2", 250, 1000 * mi, &[])
                ],
                vec![defaulted("node1"), defaulted("node1")],
                &pod("p", &[&[]]),
                &ma(DEF)
            ),
            vec![80, 30]
        );
        let ext = &[("cpu", 1), ("memory", 1), ("intel.com/foo", 1)];
        // "honor extended resource if the pod request"
        assert_eq!(
            scores(
                vec![
                    node("node1", 6000 * G, 10000, &[("intel.com/foo", 4)]),
                    node("node2", 6000 * G, 10000, &[("intel.com/foo", 10)])
                ],
                vec![],
                &pod(
                    "p",
                    &[&[("cpu", 3000 * G), ("memory", 5000), ("intel.com/foo", 2)]]
                ),
                &ma(ext)
            ),
            vec![50, 40]
        );
        // "if the node doesn't have a resource"
        assert_eq!(
            scores(
                vec![
                    n("node1", 6000, 10000),
                    node("node2", 6000 * G, 10000, &[("intel.com/foo", 4)])
                ],
                vec![],
                &pod("p", &[&[("cpu", 3000 * G), ("memory", 4000)]]),
                &ma(&[("intel.com/foo", 2), ("cpu", 1), ("memory", 1)])
            ),
            vec![45, 45]
        );
    }

    // requested_to_capacity_ratio_test.go.
    #[test]
    fn requested_to_capacity_ratio_upstream_table() {
        let shape = ScoringStrategy::RequestedToCapacityRatio(vec![(0, 10), (100, 0)]);
        let a = args(shape, DEF);
        let n = |name: &str, c: i64, m: i64| node(name, c * G, m, &[]);
        let empty_on = |node: &str| on(pod("e", &[]), node);
        // "nothing scheduled, nothing requested (default - least requested nodes have priority)"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 4000, 10000)],
                vec![empty_on("node1"), empty_on("node1")],
                &pod("p", &[]),
                &a
            ),
            vec![100, 100]
        );
        // "nothing scheduled, resources requested, differently sized nodes (default - least
        // requested nodes have priority)"
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![empty_on("node1"), empty_on("node1")],
                &two_containers(),
                &a
            ),
            vec![38, 50]
        );
        // "no resources requested, pods scheduled with resources (default - least requested
        // nodes have priority)"
        let req_on =
            |node: &str, c: i64, m: i64| on(pod("e", &[&[("cpu", c * G), ("memory", m)]]), node);
        assert_eq!(
            scores(
                vec![n("node1", 4000, 10000), n("node2", 6000, 10000)],
                vec![req_on("node1", 3000, 5000), req_on("node2", 3000, 5000)],
                &pod("p", &[]),
                &a
            ),
            vec![38, 50]
        );
    }

    // requested_to_capacity_ratio_test.go TestBrokenLinearFunction (scores there are unscaled;
    // ours are ×10).
    #[test]
    fn broken_linear_function_upstream_cases() {
        let s1 = [(10, 1), (90, 9)];
        for (p, want) in [
            (-10, 1),
            (0, 1),
            (9, 1),
            (10, 1),
            (15, 1),
            (19, 1),
            (20, 2),
            (89, 8),
            (90, 9),
            (99, 9),
            (100, 9),
            (110, 9),
        ] {
            assert_eq!(broken_linear(&s1, p) / 10, want, "p={p}");
        }
        let s2 = [(0, 2), (40, 10), (100, 0)];
        for (p, want) in [
            (-10, 2),
            (0, 2),
            (20, 6),
            (30, 8),
            (40, 10),
            (70, 5),
            (100, 0),
            (110, 0),
        ] {
            assert_eq!(broken_linear(&s2, p) / 10, want, "p={p}");
        }
    }

    // TestResourceBinPackingSingleExtended / MultipleExtended.
    #[test]
    fn resource_bin_packing_extended_upstream_cases() {
        let mi = 1024 * 1024;
        let shape = ScoringStrategy::RequestedToCapacityRatio(vec![(0, 0), (100, 1)]);
        let single = args(shape.clone(), &[("intel.com/foo", 1)]);
        let nodes = || {
            vec![
                node("node1", 4000, 10000 * mi, &[("intel.com/foo", 8)]),
                node("node2", 4000, 10000 * mi, &[("intel.com/foo", 4)]),
            ]
        };
        // "nothing scheduled, nothing requested"
        assert_eq!(scores(nodes(), vec![], &pod("p", &[]), &single), vec![0, 0]);
        // "resources requested, pods scheduled with less resources"
        let foo2 = pod("p", &[&[("intel.com/foo", 2)]]);
        assert_eq!(
            scores(nodes(), vec![pod("e", &[])], &foo2, &single),
            vec![2, 5]
        );
        // "resources requested, pods scheduled with resources, on node with existing pod running"
        assert_eq!(
            scores(
                nodes(),
                vec![on(pod("e", &[&[("intel.com/foo", 2)]]), "node2")],
                &foo2,
                &single
            ),
            vec![2, 10]
        );
        // "resources requested, pods scheduled with more resources"
        assert_eq!(
            scores(
                nodes(),
                vec![],
                &pod("p", &[&[("intel.com/foo", 4)]]),
                &single
            ),
            vec![5, 10]
        );
        // Multiple: foo weight 3, bar weight 5.
        let multi = args(shape, &[("intel.com/foo", 3), ("intel.com/bar", 5)]);
        let nodes = vec![
            node(
                "node1",
                4000,
                10000 * mi,
                &[("intel.com/foo", 8), ("intel.com/bar", 4)],
            ),
            node(
                "node2",
                4000,
                10000 * mi,
                &[("intel.com/foo", 4), ("intel.com/bar", 8)],
            ),
        ];
        // "resources requested, pods scheduled with less resources"
        assert_eq!(
            scores(
                nodes,
                vec![],
                &pod("p", &[&[("intel.com/foo", 2), ("intel.com/bar", 2)]]),
                &multi
            ),
            vec![4, 3]
        );
    }

    // fit_test.go TestEnoughRequests: node allocatable 10m cpu, 20 memory, 32 pods, 5 of
    // example.com/aaa, 20 ephemeral-storage; the existing pod's usage varies by case.
    #[test]
    fn enough_requests_upstream_table() {
        let ext_a = "example.com/aaa";
        let mk = |used: &[(&str, i64)]| {
            let mut n = node("n", 10, 20, &[(ext_a, 5)]);
            n.status.allocatable.pods = 32;
            n.status.allocatable.ephemeral_storage = 20;
            OwnedSnapshot::new(vec![n], vec![on(pod("e", &[used]), "n")])
        };
        let with_init = |mut p: Pod, inits: &[&[(&str, i64)]]| {
            p.spec.init_containers = inits.iter().map(|r| container(r)).collect();
            p
        };
        let check = |name: &str, p: Pod, used: &[(&str, i64)], want: &[&str]| {
            let snap = mk(used);
            let got = filter(&PodRequest::of(&p), snap.view().get(0), &FitArgs::default());
            let got: Vec<String> = match got {
                Ok(()) => vec![],
                Err(r) => r.into_iter().map(|c| c.into_owned()).collect(),
            };
            assert_eq!(got, want, "{name}");
        };
        let c11: &[(&str, i64)] = &[("cpu", 1), ("memory", 1)];
        check(
            "no resources requested always fits",
            Pod::default(),
            &[("cpu", 10), ("memory", 20)],
            &[],
        );
        check(
            "too many resources fails",
            pod("p", &[c11]),
            &[("cpu", 10), ("memory", 20)],
            &["Insufficient cpu", "Insufficient memory"],
        );
        check(
            "too many resources fails due to init container cpu",
            with_init(pod("p", &[c11]), &[&[("cpu", 3), ("memory", 1)]]),
            &[("cpu", 8), ("memory", 19)],
            &["Insufficient cpu"],
        );
        check(
            "too many resources fails due to highest init container cpu",
            with_init(
                pod("p", &[c11]),
                &[&[("cpu", 3), ("memory", 1)], &[("cpu", 2), ("memory", 1)]],
            ),
            &[("cpu", 8), ("memory", 19)],
            &["Insufficient cpu"],
        );
        check(
            "too many resources fails due to init container memory",
            with_init(pod("p", &[c11]), &[&[("cpu", 1), ("memory", 3)]]),
            &[("cpu", 9), ("memory", 19)],
            &["Insufficient memory"],
        );
        check(
            "init container fits because it's the max, not sum, of containers and init containers",
            with_init(pod("p", &[c11]), &[c11]),
            &[("cpu", 9), ("memory", 19)],
            &[],
        );
        check("multiple init containers fit because it's the max, not sum, of containers and init containers", with_init(pod("p", &[c11]), &[c11, c11]), &[("cpu", 9), ("memory", 19)], &[]);
        check(
            "both resources fit",
            pod("p", &[c11]),
            &[("cpu", 5), ("memory", 5)],
            &[],
        );
        check(
            "one resource memory fits",
            pod("p", &[&[("cpu", 2), ("memory", 1)]]),
            &[("cpu", 9), ("memory", 5)],
            &["Insufficient cpu"],
        );
        check(
            "one resource cpu fits",
            pod("p", &[&[("cpu", 1), ("memory", 2)]]),
            &[("cpu", 5), ("memory", 19)],
            &["Insufficient memory"],
        );
        check(
            "equal edge case",
            pod("p", &[&[("cpu", 5), ("memory", 1)]]),
            &[("cpu", 5), ("memory", 19)],
            &[],
        );
        check(
            "equal edge case for init container",
            with_init(
                pod("p", &[&[("cpu", 4), ("memory", 1)]]),
                &[&[("cpu", 5), ("memory", 1)]],
            ),
            &[("cpu", 5), ("memory", 19)],
            &[],
        );
        check(
            "extended resource fits",
            pod("p", &[&[(ext_a, 1)]]),
            &[],
            &[],
        );
        check(
            "extended resource fits for init container",
            with_init(pod("p", &[&[]]), &[&[(ext_a, 1)]]),
            &[],
            &[],
        );
        check(
            "extended resource capacity enforced",
            pod("p", &[&[("cpu", 1), ("memory", 1), (ext_a, 10)]]),
            &[(ext_a, 0)],
            &["Insufficient example.com/aaa"],
        );
        check(
            "extended resource allocatable enforced",
            pod("p", &[&[("cpu", 1), ("memory", 1), (ext_a, 1)]]),
            &[(ext_a, 5)],
            &["Insufficient example.com/aaa"],
        );
        check(
            "extended resource allocatable enforced for multiple containers",
            pod(
                "p",
                &[
                    &[("cpu", 1), ("memory", 1), (ext_a, 3)],
                    &[("cpu", 1), ("memory", 1), (ext_a, 3)],
                ],
            ),
            &[(ext_a, 2)],
            &["Insufficient example.com/aaa"],
        );
        check(
            "extended resource allocatable admits multiple init containers",
            with_init(
                pod("p", &[&[]]),
                &[
                    &[("cpu", 1), ("memory", 1), (ext_a, 3)],
                    &[("cpu", 1), ("memory", 1), (ext_a, 3)],
                ],
            ),
            &[(ext_a, 2)],
            &[],
        );
        check(
            "extended resource allocatable enforced for multiple init containers",
            with_init(
                pod("p", &[&[]]),
                &[
                    &[("cpu", 1), ("memory", 1), (ext_a, 6)],
                    &[("cpu", 1), ("memory", 1), (ext_a, 3)],
                ],
            ),
            &[(ext_a, 2)],
            &["Insufficient example.com/aaa"],
        );
        check(
            "extended resource allocatable enforced for unknown resource",
            pod("p", &[&[("cpu", 1), ("memory", 1), ("example.com/bbb", 1)]]),
            &[],
            &["Insufficient example.com/bbb"],
        );
    }

    #[test]
    fn pod_overhead_and_pod_count_are_enforced() {
        // Overhead is added to the request (reference scheduler §2.1).
        let mut p = pod("p", &[&[("cpu", 5), ("memory", 1)]]);
        p.spec.overhead.cpu_milli = 3;
        let mut n = node("n", 10, 20, &[]);
        n.status.allocatable.pods = 1;
        let snap = OwnedSnapshot::new(vec![n], vec![on(pod("e", &[&[("cpu", 3)]]), "n")]);
        let got = filter(&PodRequest::of(&p), snap.view().get(0), &FitArgs::default());
        assert_eq!(
            got.map_err(|r| r.into_iter().map(|c| c.into_owned()).collect::<Vec<_>>()),
            Err(vec![
                "Too many pods".to_string(),
                "Insufficient cpu".to_string()
            ])
        );
    }
}
