//! DefaultPreemption (reference scheduler §5): when no node fits, find nodes where removing
//! lower-priority pods would let the pod fit, choose the victims on each (reprieving the most
//! important first), pick one node by upstream's lexicographic rules, and report it.
//!
//! PodDisruptionBudgets count as upstream counts them (`filterPodsWithPDBViolation`): victims
//! whose removal would take a budget below zero are reprieved first and counted as violations;
//! candidates without violations come first and a node with fewer violations wins.
//!
//! The dry run works on a copy of the PreFilter state per node and updates PodTopologySpread's
//! counts for every pod it removes or adds back (upstream's RemovePod/AddPod PreFilter
//! extensions, `updateWithPod`). Deviation, documented: InterPodAffinity's PreFilter state is
//! not updated, so for that plugin the dry run sees the counts from before the removal.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::framework::{self, CycleState, Profile};
use super::plugins::NodeInfo;
use crate::model::{Pod, PodDisruptionBudget};
use crate::sim::{rng, SimTime};

/// `DefaultPreemptionArgs` defaults (upstream `SetDefaults_DefaultPreemptionArgs`).
pub const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
pub const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

/// `DefaultPreemptionArgs`: how many candidate nodes the dry run looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptionArgs {
    /// `minCandidateNodesPercentage` (0–100).
    pub min_candidate_nodes_percentage: usize,
    /// `minCandidateNodesAbsolute` (≥ 0).
    pub min_candidate_nodes_absolute: usize,
}

impl Default for PreemptionArgs {
    fn default() -> Self {
        PreemptionArgs {
            min_candidate_nodes_percentage: MIN_CANDIDATE_NODES_PERCENTAGE,
            min_candidate_nodes_absolute: MIN_CANDIDATE_NODES_ABSOLUTE,
        }
    }
}

/// A node where preemption would work, with its victims (most important first).
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Index into the snapshot order.
    pub index: usize,
    pub victims: Vec<Arc<Pod>>,
    /// `NumPDBViolations`: victims whose eviction would violate a budget.
    pub num_pdb_violations: usize,
}

/// `calculateNumCandidates` (default_preemption.go): `minCandidateNodesPercentage` of the
/// potential nodes (integer division), at least `minCandidateNodesAbsolute`, at most all.
pub fn num_candidates(potential: usize, args: &PreemptionArgs) -> usize {
    (potential * args.min_candidate_nodes_percentage / 100)
        .max(args.min_candidate_nodes_absolute)
        .min(potential)
}

/// `MoreImportantPod`: higher priority; equal priority → the earlier started one.
fn more_important(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    b.spec.priority.cmp(&a.spec.priority).then_with(|| {
        let t = |p: &Pod| p.status.start_time.unwrap_or(SimTime::MAX);
        t(a).cmp(&t(b))
    })
}

/// `filterPodsWithPDBViolation`: split (already ordered) victims into those whose removal
/// would take a matching budget's `disruptionsAllowed` below zero, and the rest. A pod already
/// in a budget's `disruptedPods` does not count against it (its eviction was processed).
pub fn filter_pods_with_pdb_violation(
    pods: Vec<Arc<Pod>>,
    pdbs: &[Arc<PodDisruptionBudget>],
) -> (Vec<Arc<Pod>>, Vec<Arc<Pod>>) {
    let mut allowed: Vec<i32> = pdbs.iter().map(|b| b.status.disruptions_allowed).collect();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violated = false;
        if !p.meta.labels.is_empty() {
            for (i, b) in pdbs.iter().enumerate() {
                if !b.selects(&p) || b.status.disrupted_pods.contains_key(&p.meta.name) {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p);
        } else {
            non_violating.push(p);
        }
    }
    (violating, non_violating)
}

/// `SelectVictimsOnNode`: the victims and how many of them violate a budget; None when even
/// removing every lower-priority pod does not help.
pub fn select_victims_on_node(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    node: &NodeInfo,
    pdbs: &[Arc<PodDisruptionBudget>],
) -> Option<(Vec<Arc<Pod>>, usize)> {
    let mut potential: Vec<Arc<Pod>> = node
        .pods
        .iter()
        .filter(|p| p.spec.priority < pod.spec.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return None;
    }
    let mut ni = node.clone();
    // DryRunPreemption clones the cycle state per node; PodTopologySpread's and
    // InterPodAffinity's parts change (their RemovePod / AddPod extensions).
    let mut st = std::borrow::Cow::Borrowed(state);
    let stateful = state.spread.is_some() || state.ipa.is_some();
    let update = |st: &mut std::borrow::Cow<CycleState>, p: &Pod, ni: &NodeInfo, delta: i64| {
        if stateful {
            framework::update_state_with_pod(st.to_mut(), pod, p, ni, delta);
        }
    };
    for p in &potential {
        ni.remove_pod(&p.key());
        update(&mut st, p, &ni, -1);
    }
    if framework::filter(profile, pod, &st, &ni).is_err() {
        return None;
    }
    potential.sort_by(|a, b| more_important(a, b));
    // Reprieve the budget-violating victims first, then the others, each from the most
    // important down.
    let (violating, non_violating) = filter_pods_with_pdb_violation(potential, pdbs);
    let mut victims = Vec::new();
    let mut num_violating = 0;
    for (p, counts) in violating
        .into_iter()
        .map(|p| (p, true))
        .chain(non_violating.into_iter().map(|p| (p, false)))
    {
        ni.add_pod(p.clone());
        update(&mut st, &p, &ni, 1);
        if framework::filter(profile, pod, &st, &ni).is_err() {
            ni.remove_pod(&p.key());
            update(&mut st, &p, &ni, -1);
            victims.push(p);
            num_violating += usize::from(counts);
        }
    }
    Some((victims, num_violating))
}

/// The dry run over the potential nodes (`potential`: snapshot indices whose filter failure
/// preemption may resolve), starting at a random offset and wrapping, until enough candidates.
pub fn find_candidates(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    nodes: &[&NodeInfo],
    potential: &[usize],
    pdbs: &[Arc<PodDisruptionBudget>],
    r: &mut ChaCha8Rng,
) -> Vec<Candidate> {
    if potential.is_empty() {
        return vec![];
    }
    let want = num_candidates(potential.len(), &profile.preemption_args);
    let offset = rng::below(r, potential.len() as u64) as usize;
    dry_run_preemption(profile, pod, state, nodes, potential, pdbs, offset, want)
}

/// `DryRunPreemption` (run sequentially, as upstream's tests do with parallelism off): walk
/// from `offset`, keep up to `want` non-violating and up to `want` violating candidates, and
/// stop once there is a non-violating one and `want` in all. Non-violating candidates first.
#[allow(clippy::too_many_arguments)]
pub fn dry_run_preemption(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    nodes: &[&NodeInfo],
    potential: &[usize],
    pdbs: &[Arc<PodDisruptionBudget>],
    offset: usize,
    want: usize,
) -> Vec<Candidate> {
    let (mut non_violating, mut violating) = (Vec::new(), Vec::new());
    for k in 0..potential.len() {
        let idx = potential[(offset + k) % potential.len()];
        let Some((victims, n)) = select_victims_on_node(profile, pod, state, nodes[idx], pdbs)
        else {
            continue;
        };
        let list = if n == 0 {
            &mut non_violating
        } else {
            &mut violating
        };
        // upstream's candidateList has room for `want` entries; later ones are dropped.
        if list.len() < want {
            list.push(Candidate {
                index: idx,
                victims,
                num_pdb_violations: n,
            });
        }
        if !non_violating.is_empty() && non_violating.len() + violating.len() >= want {
            break;
        }
    }
    non_violating.extend(violating);
    non_violating
}

/// `pickOneNodeForPreemption`: fewest PDB violations, then the lowest highest-victim
/// priority, the smallest sum of victim priorities (each + 2^31), the fewest victims, the
/// latest start among the highest-priority victims, then the first.
pub fn pick_one(cands: &[Candidate]) -> Option<usize> {
    if cands.is_empty() {
        return None;
    }
    let mut keep: Vec<usize> = (0..cands.len()).collect();
    let highest = |c: &Candidate| c.victims.first().map_or(i32::MIN, |v| v.spec.priority);
    let sum = |c: &Candidate| -> i64 {
        c.victims
            .iter()
            .map(|v| v.spec.priority as i64 + (1i64 << 31))
            .sum()
    };
    let earliest_of_highest = |c: &Candidate| -> SimTime {
        let h = highest(c);
        c.victims
            .iter()
            .filter(|v| v.spec.priority == h)
            .map(|v| v.status.start_time.unwrap_or(SimTime::MAX))
            .min()
            .unwrap_or(SimTime::MAX)
    };
    let narrow = |keep: &mut Vec<usize>, key: &dyn Fn(&Candidate) -> i128| {
        let best = keep.iter().map(|&i| key(&cands[i])).min();
        if let Some(b) = best {
            keep.retain(|&i| key(&cands[i]) == b);
        }
    };
    narrow(&mut keep, &|c| c.num_pdb_violations as i128);
    narrow(&mut keep, &|c| highest(c) as i128);
    narrow(&mut keep, &|c| sum(c) as i128);
    narrow(&mut keep, &|c| c.victims.len() as i128);
    // Latest earliest-start wins: minimise its negation.
    narrow(&mut keep, &|c| -(earliest_of_highest(c).as_nanos() as i128));
    keep.first().copied()
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::*;

    fn prio(mut p: Pod, v: i32, started: u64) -> Pod {
        p.spec.priority = v;
        p.status.start_time = Some(SimTime::ZERO + crate::sim::SimDuration::from_secs(started));
        p
    }

    // Reference scheduler §5 steps 4-5.
    #[test]
    fn victims_are_the_least_important_pods_needed() {
        // Node: 4000m; running 3 × 1000m at priorities 0, 0, 5 and one 1000m at 10.
        let running = vec![
            on(prio(pod("low-old", &[&[("cpu", 1000)]]), 0, 1), "n"),
            on(prio(pod("low-new", &[&[("cpu", 1000)]]), 0, 5), "n"),
            on(prio(pod("mid", &[&[("cpu", 1000)]]), 5, 1), "n"),
            on(prio(pod("high", &[&[("cpu", 1000)]]), 10, 1), "n"),
        ];
        let snap = OwnedSnapshot::new(vec![node("n", 4000, 1 << 30, &[])], running);
        let v = snap.view();
        let p = prio(pod("p", &[&[("cpu", 1500)]]), 7, 0);
        let profile = Profile::default();
        let st = framework::pre_filter(&profile, &p, &v);
        let (victims, _) = select_victims_on_node(&profile, &p, &st, v.get(0), &[]).unwrap();
        let names: Vec<&str> = victims.iter().map(|x| x.meta.name.as_str()).collect();
        // Reprieve order: mid (5), low-old (0, started earlier), low-new. With all three gone
        // 3000m is free; mid is reprieved (2000m free still fits), low-old and low-new are not.
        assert_eq!(names, vec!["low-old", "low-new"]);
        assert!(!names.contains(&"high"));
    }

    #[test]
    fn pick_one_node_follows_upstream_order() {
        let v = |name: &str, pr: i32, t: u64| Arc::new(prio(pod(name, &[]), pr, t));
        let c = |i: usize, vs: Vec<Arc<Pod>>| Candidate {
            index: i,
            victims: vs,
            num_pdb_violations: 0,
        };
        // Lowest highest-victim priority wins over fewer victims.
        let cands = vec![
            c(0, vec![v("a", 5, 1)]),
            c(1, vec![v("b", 1, 1), v("c", 1, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // Same highest priority: smaller sum of priorities.
        let cands = vec![
            c(0, vec![v("a", 3, 1), v("b", 2, 1)]),
            c(1, vec![v("c", 3, 1), v("d", 1, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // Same sums: fewer victims.
        let cands = vec![
            c(0, vec![v("a", 0, 1), v("b", 0, 1)]),
            c(1, vec![v("c", 0, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // All equal but start times: the later start among the highest-priority victims.
        let cands = vec![c(0, vec![v("a", 0, 1)]), c(1, vec![v("b", 0, 9)])];
        assert_eq!(pick_one(&cands), Some(1));
        let d = PreemptionArgs::default();
        assert_eq!(num_candidates(50, &d), 50);
        assert_eq!(num_candidates(5000, &d), 500);
        assert_eq!(num_candidates(200, &d), 100);
    }

    // ----- PodDisruptionBudget cases of upstream default_preemption_test.go
    // (TestDryRunPreemption); resources as upstream: medium 200m/200, large 300m/300, very
    // large 500m/500; nodes of capacity very large; mid priority 100, high 1000. -----

    const MID: i32 = 100;
    const HIGH: i32 = 1000;

    fn res(n: i64) -> Vec<(&'static str, i64)> {
        vec![("cpu", n), ("memory", n)]
    }

    fn victim(name: &str, node: &str, app: bool, size: i64) -> Pod {
        let r = res(size);
        let mut p = on(prio(pod(name, &[&r]), MID, 0), node);
        p.status.start_time = None;
        if app {
            p = labels(p, &[("app", "foo")]);
        }
        p
    }

    fn budget(allowed: i32, disrupted: &[&str]) -> Arc<PodDisruptionBudget> {
        let mut b = PodDisruptionBudget::default();
        b.meta.namespace = "default".into();
        b.selector = Some(selector(&[("app", "foo")]));
        b.status.disruptions_allowed = allowed;
        for d in disrupted {
            b.status.disrupted_pods.insert(d.to_string(), SimTime::ZERO);
        }
        Arc::new(b)
    }

    /// Runs the dry run from `offset` wanting `want`; (node, sorted victim names,
    /// NumPDBViolations) per candidate, sorted by node name as the upstream test compares.
    fn dry_run(
        nodes: &[&str],
        pods: Vec<Pod>,
        preemptor_size: i64,
        pdbs: &[Arc<PodDisruptionBudget>],
        offset: usize,
        want: usize,
    ) -> Vec<(String, Vec<String>, usize)> {
        let ns = nodes.iter().map(|n| node(n, 500, 500, &[])).collect();
        let snap = OwnedSnapshot::new(ns, pods);
        let v = snap.view();
        let r = res(preemptor_size);
        let p = prio(pod("p", &[&r]), HIGH, 0);
        let profile = Profile::default();
        let st = framework::pre_filter(&profile, &p, &v);
        let infos: Vec<&NodeInfo> = (0..nodes.len()).map(|i| v.get(i)).collect();
        let potential: Vec<usize> = (0..nodes.len()).collect();
        let cands = dry_run_preemption(&profile, &p, &st, &infos, &potential, pdbs, offset, want);
        let mut out: Vec<(String, Vec<String>, usize)> = cands
            .iter()
            .map(|c| {
                let mut names: Vec<String> =
                    c.victims.iter().map(|x| x.meta.name.clone()).collect();
                names.sort();
                (nodes[c.index].to_string(), names, c.num_pdb_violations)
            })
            .collect();
        out.sort();
        out
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn preemption_with_violation_of_same_pdb() {
        let pods = vec![
            victim("p1.1", "node1", true, 200),
            victim("p1.2", "node1", true, 200),
        ];
        let got = dry_run(&["node1"], pods, 500, &[budget(1, &[])], 0, 100);
        assert_eq!(got, vec![("node1".into(), names(&["p1.1", "p1.2"]), 1)]);
    }

    #[test]
    fn preemption_with_violation_of_the_pdb_with_pod_whose_eviction_was_processed_the_victim_doesnt_belong_to_disrupted_pods(
    ) {
        let pods = vec![
            victim("p1.1", "node1", true, 200),
            victim("p1.2", "node1", true, 200),
        ];
        let got = dry_run(&["node1"], pods, 500, &[budget(1, &["p2"])], 0, 100);
        assert_eq!(got, vec![("node1".into(), names(&["p1.1", "p1.2"]), 1)]);
    }

    #[test]
    fn preemption_with_violation_of_the_pdb_with_pod_whose_eviction_was_processed_the_victim_belongs_to_disrupted_pods(
    ) {
        let pods = vec![
            victim("p1.1", "node1", true, 200),
            victim("p1.2", "node1", true, 200),
        ];
        let got = dry_run(&["node1"], pods, 500, &[budget(1, &["p1.2"])], 0, 100);
        assert_eq!(got, vec![("node1".into(), names(&["p1.1", "p1.2"]), 0)]);
    }

    #[test]
    fn preemption_with_violation_of_the_pdb_with_pod_whose_eviction_was_processed_the_victim_which_belongs_to_disrupted_pods_is_treated_as_non_violating(
    ) {
        let pods = vec![
            victim("p1.1", "node1", true, 200),
            victim("p1.2", "node1", true, 200),
            victim("p1.3", "node1", true, 200),
        ];
        let got = dry_run(&["node1"], pods, 500, &[budget(1, &["p1.3"])], 0, 100);
        assert_eq!(
            got,
            vec![("node1".into(), names(&["p1.1", "p1.2", "p1.3"]), 1)]
        );
    }

    // MinCandidateNodesPercentage 40, MinCandidateNodesAbsolute 2 → numCandidates 2; offset 4:
    // node5 (violating), node1 (violating), node2 (violating, dropped: the list is full),
    // node3 (non-violating) → stop.
    #[test]
    fn preemption_looks_past_num_candidates_until_a_non_pdb_violating_node_is_found() {
        let nodes = ["node1", "node2", "node3", "node4", "node5"];
        let pods = vec![
            victim("p1", "node1", true, 300),
            victim("p2", "node2", true, 300),
            victim("p3", "node3", false, 300),
            victim("p4", "node4", false, 300),
            victim("p5", "node5", true, 300),
        ];
        let got = dry_run(&nodes, pods, 300, &[budget(0, &[])], 4, 2);
        assert_eq!(
            got,
            vec![
                ("node1".into(), names(&["p1"]), 1),
                ("node3".into(), names(&["p3"]), 0),
                ("node5".into(), names(&["p5"]), 1),
            ]
        );
    }

    // pickOneNodeForPreemption: the fewest PDB violations come first, before priorities
    // (TestSelectBestCandidate "pick a node with the least PDB violations" shape).
    #[test]
    fn pick_one_prefers_fewer_pdb_violations() {
        let v = |name: &str, pr: i32| Arc::new(prio(pod(name, &[]), pr, 1));
        let cands = vec![
            Candidate {
                index: 0,
                victims: vec![v("a", 1)],
                num_pdb_violations: 1,
            },
            Candidate {
                index: 1,
                victims: vec![v("b", 50), v("c", 50)],
                num_pdb_violations: 0,
            },
        ];
        assert_eq!(pick_one(&cands), Some(1));
    }

    // default_preemption_test.go TestDryRunPreemption: DefaultPreemptionArgs
    // {MinCandidateNodesPercentage: 40, MinCandidateNodesAbsolute: 1} over 5 nodes →
    // calculateNumCandidates 2; upstream's seeded offset for cycle 0 is 4.
    const FORTY_ONE: PreemptionArgs = PreemptionArgs {
        min_candidate_nodes_percentage: 40,
        min_candidate_nodes_absolute: 1,
    };
    const FIVE: [&str; 5] = ["node1", "node2", "node3", "node4", "node5"];

    #[test]
    fn all_nodes_are_possible_candidates_but_default_preemption_args_limits_to_2() {
        let want = num_candidates(5, &FORTY_ONE);
        assert_eq!(want, 2);
        let pods = (1..=5)
            .map(|i| victim(&format!("p{i}"), &format!("node{i}"), false, 300))
            .collect();
        assert_eq!(
            dry_run(&FIVE, pods, 300, &[], 4, want),
            vec![
                ("node1".into(), names(&["p1"]), 0),
                ("node5".into(), names(&["p5"]), 0)
            ]
        );
    }

    #[test]
    fn some_nodes_are_not_possible_candidates_default_preemption_args_limits_to_2() {
        let pods = (1..=5)
            .map(|i| {
                let mut v = victim(&format!("p{i}"), &format!("node{i}"), false, 300);
                if i == 2 || i == 5 {
                    v.spec.priority = 10 * HIGH; // veryHighPriority
                }
                v
            })
            .collect();
        assert_eq!(
            dry_run(&FIVE, pods, 300, &[], 4, num_candidates(5, &FORTY_ONE)),
            vec![
                ("node1".into(), names(&["p1"]), 0),
                ("node3".into(), names(&["p3"]), 0)
            ]
        );
    }

    // default_preemption_test.go TestDryRunPreemption "preemption to resolve pod topology
    // spread filter failure": the dry run updates PodTopologySpread's counts for removed and
    // reprieved pods (RemovePod / AddPod), so node-a keeps pod-a1 and node-b loses pod-b1.
    #[test]
    fn preemption_to_resolve_pod_topology_spread_filter_failure() {
        use crate::model::{TopologySpreadConstraint, WhenUnsatisfiable};
        const LOW: i32 = 0;
        let n = |name: &str, zone: &str| {
            let mut x = node(name, 500, 500, &[]);
            x.meta.labels.clear();
            x.meta.labels.insert("hostname".into(), name.into());
            x.meta.labels.insert("zone".into(), zone.into());
            x
        };
        let foo = |name: &str, nd: &str, prio: i32| {
            let mut p = labels(on(pod(name, &[]), nd), &[("foo", "")]);
            p.spec.priority = prio;
            p
        };
        let nodes = vec![
            n("node-a", "zone1"),
            n("node-b", "zone1"),
            n("node-x", "zone2"),
        ];
        let existing = vec![
            foo("pod-a1", "node-a", MID),
            foo("pod-a2", "node-a", LOW),
            foo("pod-b1", "node-b", LOW),
            foo("pod-x1", "node-x", HIGH),
            foo("pod-x2", "node-x", HIGH),
        ];
        let snap = OwnedSnapshot::new(nodes, existing);
        let v = snap.view();
        let c = |key: &str| TopologySpreadConstraint {
            max_skew: 1,
            topology_key: key.into(),
            when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
            label_selector: Some(exists_selector("foo")),
            min_domains: None,
            node_affinity_honor: true,
            node_taints_honor: false,
            match_label_keys: vec![],
        };
        let mut p = labels(pod("p", &[]), &[("foo", "")]);
        p.spec.priority = HIGH;
        p.spec.topology_spread_constraints = vec![c("zone"), c("hostname")];
        let profile = Profile::default();
        let st = framework::pre_filter(&profile, &p, &v);
        let infos: Vec<&NodeInfo> = (0..3).map(|i| v.get(i)).collect();
        let cands = dry_run_preemption(&profile, &p, &st, &infos, &[0, 1, 2], &[], 0, 100);
        let got: Vec<(&str, Vec<&str>)> = cands
            .iter()
            .map(|c| {
                (
                    infos[c.index].node.meta.name.as_str(),
                    c.victims.iter().map(|x| x.meta.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("node-a", vec!["pod-a2"]), ("node-b", vec!["pod-b1"])]
        );
    }

    /// A required anti-affinity term on `hostname` against pods labelled `service=securityscan`.
    fn anti_scan() -> crate::model::Affinity {
        crate::model::Affinity {
            pod_anti_affinity: Some(crate::model::PodAffinity {
                required: vec![crate::model::PodAffinityTerm {
                    label_selector: Some(selector(&[("service", "securityscan")])),
                    topology_key: "hostname".into(),
                    ..Default::default()
                }],
                preferred: vec![],
            }),
            ..Default::default()
        }
    }

    fn scan_node() -> crate::model::Node {
        let mut n = node("node-1", 4000, 1 << 32, &[]);
        n.meta.labels.insert("hostname".into(), "node-1".into());
        n
    }

    // test/integration/scheduler/preemption TestPreemption "preemption is performed to
    // satisfy anti-affinity": the only obstacle is a lower-priority pod the preemptor's
    // required anti-affinity rejects; the dry run's RemovePod takes it out of the
    // anti-affinity counts (filtering.go updateWithPod), so it is the victim, and the
    // unrelated low-priority pod is reprieved.
    #[test]
    fn preemption_is_performed_to_satisfy_anti_affinity() {
        let existing = vec![
            labels(
                on(prio(pod("pod-0", &[&[("cpu", 100)]]), 0, 1), "node-1"),
                &[("service", "securityscan")],
            ),
            on(prio(pod("pod-1", &[&[("cpu", 100)]]), 0, 1), "node-1"),
        ];
        let snap = OwnedSnapshot::new(vec![scan_node()], existing);
        let v = snap.view();
        let mut p = prio(pod("preemptor", &[&[("cpu", 100)]]), HIGH, 0);
        p.spec.affinity = Some(anti_scan());
        let profile = Profile::default();
        let st = framework::pre_filter(&profile, &p, &v);
        assert!(framework::filter(&profile, &p, &st, v.get(0)).is_err());
        let (victims, _) = select_victims_on_node(&profile, &p, &st, v.get(0), &[]).unwrap();
        let names: Vec<&str> = victims.iter().map(|x| x.meta.name.as_str()).collect();
        assert_eq!(names, vec!["pod-0"]);
    }

    // The same case the other way round ("preemption is not performed when anti-affinity is
    // not satisfied"): the existing pod carries the anti-affinity against the preemptor's
    // label. Removing it clears the existing pods' anti-affinity counts; when that pod has the
    // higher priority nothing can be removed and the node is no candidate.
    #[test]
    fn existing_pods_anti_affinity_is_resolved_only_by_removing_them() {
        let holder = |priority: i32| {
            let mut e = on(
                prio(pod("pod-0", &[&[("cpu", 100)]]), priority, 1),
                "node-1",
            );
            e.spec.affinity = Some(anti_scan());
            e
        };
        let preemptor = || {
            labels(
                prio(pod("preemptor", &[&[("cpu", 100)]]), MID, 0),
                &[("service", "securityscan")],
            )
        };
        let profile = Profile::default();
        let snap = OwnedSnapshot::new(vec![scan_node()], vec![holder(0)]);
        let v = snap.view();
        let p = preemptor();
        let st = framework::pre_filter(&profile, &p, &v);
        assert!(framework::filter(&profile, &p, &st, v.get(0)).is_err());
        let (victims, _) = select_victims_on_node(&profile, &p, &st, v.get(0), &[]).unwrap();
        assert_eq!(victims.len(), 1);
        let snap = OwnedSnapshot::new(vec![scan_node()], vec![holder(HIGH)]);
        let v = snap.view();
        let st = framework::pre_filter(&profile, &p, &v);
        assert!(select_victims_on_node(&profile, &p, &st, v.get(0), &[]).is_none());
    }
}
