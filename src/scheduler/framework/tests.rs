//! The framework's tests: the default profile's order and weights, placements and totals over small
//! clusters (spreading, packing, added affinity, nominated pods), and the kept spread counts
//! scoring as counting does.

use super::super::plugins::testutil::*;
use super::*;
use crate::model::{LABEL_HOSTNAME, LABEL_ZONE};
use crate::sim::rng;
use std::sync::Arc;

const GI: i64 = 1024 * 1024 * 1024;
const MI: i64 = 1024 * 1024;

/// Schedules `count` replicas one by one with every node evaluated (no sampling), each
/// assumed on its node before the next, and returns the pods per zone.
fn place_replicas(seed: u64, zones: usize, per_zone: usize, count: usize) -> Vec<usize> {
    let mut nodes = Vec::new();
    for i in 0..per_zone {
        for z in 0..zones {
            let name = format!("n-{z}-{i}");
            nodes.push(label(
                node(&name, 4000, 32 * GI, &[]),
                LABEL_ZONE,
                &format!("zone-{z}"),
            ));
        }
    }
    let mut snap = OwnedSnapshot::new(nodes, vec![]);
    snap.spread_selectors = service_selecting("default", &[("app", "web")]);
    let profile = Profile::default();
    let mut r = rng::stream(seed, "kube-scheduler/select-host");
    let mut table = ScoreTable::default();
    for k in 0..count {
        let p = labels(
            pod(
                &format!("web-{k}"),
                &[&[("cpu", 100), ("memory", 500 * MI)]],
            ),
            &[("app", "web")],
        );
        let chosen = {
            let v = snap.view();
            let st = pre_filter(&profile, &p, &v);
            let feasible: Vec<&NodeInfo> = v
                .iter()
                .filter(|n| filter(&profile, &p, &st, n).is_ok())
                .collect();
            score(&profile, &p, &st, &v, &feasible, &mut table);
            let j = crate::scheduler::select_host(&table.total, &mut r);
            feasible[j].node.meta.name.clone()
        };
        let mut p = p;
        p.spec.node_name = Some(chosen.clone());
        for ni in snap.slots.iter_mut().flatten() {
            if ni.node.meta.name == chosen {
                ni.add_pod(Arc::new(p.clone()));
            }
        }
    }
    (0..zones)
        .map(|z| {
            snap.slots
                .iter()
                .flatten()
                .filter(|n| n.node.meta.labels[LABEL_ZONE] == format!("zone-{z}"))
                .map(|n| n.pods.len())
                .sum()
        })
        .collect()
}

// Issue 4 acceptance: a 30-replica workload over 3 equal zones, all nodes scored, lands
// exactly 10/10/10 (system default spreading, reference scheduler §2.8), whatever the seed.
#[test]
fn thirty_replicas_over_three_zones_land_ten_each() {
    for seed in [1, 2, 3, 42] {
        assert_eq!(
            place_replicas(seed, 3, 3, 30),
            vec![10, 10, 10],
            "seed {seed}"
        );
    }
}

// Reference scheduler §1: the default profile's order and weights (sum 12).
#[test]
fn default_profile_weights() {
    let p = Profile::default();
    let w: Vec<(&str, i64)> = p.scores.iter().map(|(pl, w)| (pl.name(), *w)).collect();
    assert_eq!(
        w,
        vec![
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("NodeResourcesFit", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1),
        ]
    );
    assert_eq!(w.iter().map(|x| x.1).sum::<i64>(), 12);
    assert_eq!(p.filters.first(), Some(&Plugin::NodeUnschedulable));
    let _ = LABEL_HOSTNAME;
}

// Reference scheduler §1 "practical consequence": a plain pod gets TaintToleration 100 ×
// 3 everywhere, 0 from the skipped plugins, so the total is 300 + fit + balanced.
#[test]
fn plain_pod_total_is_taint_offset_plus_resource_scores() {
    let snap = OwnedSnapshot::new(
        vec![node("a", 4000, 32 * GI, &[]), node("b", 4000, 32 * GI, &[])],
        vec![],
    );
    let v = snap.view();
    let p = pod("p", &[&[("cpu", 100), ("memory", 500 * MI)]]);
    let profile = Profile::default();
    let st = pre_filter(&profile, &p, &v);
    let nodes: Vec<&NodeInfo> = v.iter().collect();
    let mut t = ScoreTable::default();
    score(&profile, &p, &st, &v, &nodes, &mut t);
    // LeastAllocated: cpu (4000−100)·100/4000 = 97, memory (32Gi−500Mi)·100/32Gi = 98 → 97;
    // Balanced: |0.025 − 0.01526| / 2 → (1 − 0.00487)·100 = 99.
    assert_eq!(t.total, vec![300 + 97 + 99, 300 + 97 + 99]);
    let skipped: Vec<&str> = t
        .plugins
        .iter()
        .filter(|p| p.2)
        .map(|p| p.0.name())
        .collect();
    assert_eq!(
        skipped,
        vec!["NodeAffinity", "PodTopologySpread", "InterPodAffinity"]
    );
}

// A profile with MostAllocated (the bin-packing configuration of the scheduling docs)
// fills the already-used node first; the default LeastAllocated spreads.
#[test]
fn most_allocated_profile_packs_least_allocated_spreads() {
    let used = on(pod("e", &[&[("cpu", 1000), ("memory", GI)]]), "a");
    let snap = OwnedSnapshot::new(
        vec![node("a", 4000, 32 * GI, &[]), node("b", 4000, 32 * GI, &[])],
        vec![used],
    );
    let v = snap.view();
    let p = pod("p", &[&[("cpu", 100), ("memory", 500 * MI)]]);
    let nodes: Vec<&NodeInfo> = v.iter().collect();
    let mut t = ScoreTable::default();
    let mut packing = Profile::default();
    packing.fit.strategy = fit::ScoringStrategy::MostAllocated;
    for (profile, want) in [(Profile::default(), 1usize), (packing, 0)] {
        let st = pre_filter(&profile, &p, &v);
        score(&profile, &p, &st, &v, &nodes, &mut t);
        let best = (0..2).max_by_key(|&i| t.total[i]).unwrap();
        assert_eq!(best, want, "{:?}", profile.fit.strategy);
    }
}

// The spread index is a cache: filter verdicts and score totals with it equal those of
// upstream's count-everything path, step by step while replicas are placed (hard zone
// spread plus the soft system defaults; one node without a zone label).
#[test]
fn spread_index_gives_the_same_scores_as_counting() {
    use crate::model::{TopologySpreadConstraint, WhenUnsatisfiable};
    use crate::scheduler::plugins::pod_topology_spread::index::SpreadIndex;
    let mut nodes = Vec::new();
    for i in 0..7 {
        let n = node(&format!("n{i}"), 4000, 32 * GI, &[]);
        nodes.push(if i == 6 {
            n
        } else {
            label(n, LABEL_ZONE, &format!("z{}", i % 3))
        });
    }
    let mut snap = OwnedSnapshot::new(nodes, vec![]);
    snap.spread_selectors = service_selecting("default", &[("app", "web")]);
    let mut idx = SpreadIndex::default();
    let profile = Profile::default();
    let mut r = rng::stream(5, "t");
    let (mut t1, mut t2) = (ScoreTable::default(), ScoreTable::default());
    for k in 0..20 {
        let mut p = labels(pod(&format!("w{k}"), &[&[("cpu", 100)]]), &[("app", "web")]);
        if k % 2 == 0 {
            p.spec.topology_spread_constraints = vec![TopologySpreadConstraint {
                max_skew: 2,
                topology_key: LABEL_ZONE.into(),
                when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
                label_selector: Some(selector(&[("app", "web")])),
                min_domains: None,
                node_affinity_honor: true,
                node_taints_honor: false,
                match_label_keys: vec![],
            }];
        }
        let chosen = {
            let plain = snap.view();
            pts::index_requests(&p, &plain, &profile.spread, |sel, key| {
                idx.ensure("default", sel, key, &snap.slots)
            });
            let mut fast = snap.view();
            fast.spread_index = Some(&idx);
            let (s1, s2) = (
                pre_filter(&profile, &p, &plain),
                pre_filter(&profile, &p, &fast),
            );
            let f1: Vec<&NodeInfo> = plain
                .iter()
                .filter(|n| filter(&profile, &p, &s1, n).is_ok())
                .collect();
            let f2: Vec<&NodeInfo> = fast
                .iter()
                .filter(|n| filter(&profile, &p, &s2, n).is_ok())
                .collect();
            let names = |v: &[&NodeInfo]| {
                v.iter()
                    .map(|n| n.node.meta.name.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(&f1), names(&f2), "feasible nodes, pod {k}");
            score(&profile, &p, &s1, &plain, &f1, &mut t1);
            score(&profile, &p, &s2, &fast, &f2, &mut t2);
            assert_eq!(t1.total, t2.total, "totals, pod {k}");
            let j = crate::scheduler::select_host(&t1.total, &mut r);
            f1[j].node.meta.name.clone()
        };
        p.spec.node_name = Some(chosen.clone());
        for (slot, ni) in snap.slots.iter_mut().enumerate() {
            let Some(ni) = ni else { continue };
            if ni.node.meta.name == chosen {
                ni.add_pod(Arc::new(p.clone()));
                idx.on_pod(slot, &p, 1);
            }
        }
    }
}

/// The scheduler's own cycle (flat columns on, and the plain evaluation) with
/// NodeAffinityArgs.addedAffinity: a required zone-z1 term keeps every plain pod in z1 (the
/// columns must not skip the added terms for pods without node affinity of their own,
/// although LeastAllocated prefers the empty z0 nodes); a preferred n1-1 term wins the
/// first pod.
#[test]
fn added_affinity_applies_to_plain_pods_in_the_scheduler_cycle() {
    use crate::model::PreferredSchedulingTerm;
    use crate::model::{NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm};
    use crate::scheduler::{Outcome, Scheduler, SchedulerConfig};
    let term = |k: &str, v: &str| NodeSelectorTerm {
        match_expressions: vec![NodeSelectorRequirement {
            key: k.into(),
            operator: NodeSelectorOperator::In,
            values: vec![v.into()],
        }],
        match_fields: vec![],
    };
    let run = |profile: &Profile, optimised: bool| -> Vec<String> {
        let config = SchedulerConfig {
            profiles: vec![profile.clone()],
            ..SchedulerConfig::default()
        };
        let mut s = Scheduler::new(config, 3);
        s.set_optimised(optimised);
        for z in 0..2 {
            for i in 0..3 {
                let name = format!("n{z}-{i}");
                s.bench_add_node(Arc::new(label(
                    node(&name, 4000, 32 * GI, &[]),
                    LABEL_ZONE,
                    &format!("z{z}"),
                )));
            }
        }
        let mut out = Vec::new();
        for k in 0..6 {
            let p = Arc::new(pod(&format!("p{k}"), &[&[("cpu", 1000)]]));
            let Some((Outcome::Feasible { node: n }, _)) = s.decide(&p.key(), &p) else {
                panic!("p{k} should fit (optimised: {optimised})");
            };
            let mut bound = (*p).clone();
            bound.spec.node_name = Some(n.clone());
            s.bench_assume(&Arc::new(bound), &n);
            out.push(n);
        }
        out
    };
    let mut required = Profile::default();
    required.node_affinity.added_required = Some(vec![term(LABEL_ZONE, "z1")]);
    let mut preferred = Profile::default();
    preferred.node_affinity.added_preferred = vec![PreferredSchedulingTerm {
        weight: 1,
        preference: term(LABEL_HOSTNAME, "n1-1"),
    }];
    for optimised in [true, false] {
        let placed = run(&required, optimised);
        assert!(
            placed.iter().all(|n| n.starts_with("n1-")),
            "{placed:?} (optimised: {optimised})"
        );
        assert_eq!(
            run(&preferred, optimised)[0],
            "n1-1",
            "optimised: {optimised}"
        );
        // Without added affinity the empty z0 nodes are used too.
        assert!(run(&Profile::default(), optimised)
            .iter()
            .any(|n| n.starts_with("n0-")));
    }
}

// RunFilterPluginsWithNominatedPods / addNominatedPods (schedule_one.go, framework
// runtime): a pod nominated to the node counts for the InterPodAffinity and
// PodTopologySpread filters through their AddPod extensions, not only for resources.
#[test]
fn nominated_pods_count_for_anti_affinity_and_spreading() {
    use crate::model::{Affinity, PodAffinity, PodAffinityTerm, TopologySpreadConstraint};
    let mut n = node("n1", 4000, GI, &[]);
    n.meta.labels.insert(LABEL_HOSTNAME.into(), "n1".into());
    let mut m = node("n2", 4000, GI, &[]);
    m.meta.labels.insert(LABEL_HOSTNAME.into(), "n2".into());
    let snap = OwnedSnapshot::new(vec![n, m], vec![]);
    let v = snap.view();
    let nominated = Arc::new(labels(pod("nominated", &[]), &[("app", "x")]));
    let profile = Profile::default();
    // Required anti-affinity to app=x per host.
    let mut p = pod("p", &[]);
    p.spec.affinity = Some(Affinity {
        pod_anti_affinity: Some(PodAffinity {
            required: vec![PodAffinityTerm {
                label_selector: Some(selector(&[("app", "x")])),
                topology_key: LABEL_HOSTNAME.into(),
                ..Default::default()
            }],
            preferred: vec![],
        }),
        ..Default::default()
    });
    let st = pre_filter(&profile, &p, &v);
    assert!(filter(&profile, &p, &st, v.get(0)).is_ok());
    let e = filter_with_nominated(&profile, &p, &st, v.get(0), &[&nominated]).unwrap_err();
    assert_eq!(e.plugin, Plugin::InterPodAffinity, "{e:?}");
    // Hard spreading over hosts with maxSkew 1: n1 would hold 2 app=x pods against 0.
    let mut q = labels(pod("q", &[]), &[("app", "x")]);
    q.spec.topology_spread_constraints = vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: LABEL_HOSTNAME.into(),
        when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
        label_selector: Some(selector(&[("app", "x")])),
        min_domains: None,
        node_affinity_honor: true,
        node_taints_honor: false,
        match_label_keys: vec![],
    }];
    let st = pre_filter(&profile, &q, &v);
    assert!(filter(&profile, &q, &st, v.get(0)).is_ok());
    let e = filter_with_nominated(&profile, &q, &st, v.get(0), &[&nominated]).unwrap_err();
    assert_eq!(e.plugin, Plugin::PodTopologySpread, "{e:?}");
}
