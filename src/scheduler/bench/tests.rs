use super::*;

// The bench's placements equal the plain evaluation's (spread cache, affinity index and
// columns off), and are reproducible from the seed.
#[test]
fn optimised_placements_equal_plain_evaluation() {
    for w in [
        Workload::SchedulingBasic,
        Workload::TopologySpreading,
        Workload::PodAntiAffinity,
        Workload::PodAffinity,
        Workload::SchedulingReplicaSet,
    ] {
        let a = run(w, 300, 40, 200, 7, true);
        let b = run(w, 300, 40, 200, 7, false);
        assert_eq!(a.placements, b.placements, "{}", w.name());
        assert_eq!(a.unschedulable, 0, "{}", w.name());
    }
    // Anti-affinity per hostname: every pod on its own node.
    let r = run(Workload::PodAntiAffinity, 300, 0, 250, 1, true);
    let mut nodes = r.placements.clone();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 250);
}

#[test]
fn every_workload_name_round_trips() {
    for name in WORKLOADS {
        let w = Workload::from_name(name).expect("listed");
        assert_eq!(w.name(), *name);
    }
    assert_eq!(Workload::from_name("SchedulingReplicaset"), None);
}

// SchedulingReplicaSet's pods are owned by a ReplicaSet the cache knows, so the system-default
// constraints apply: upstream's PodTopologySpread PreScore walks every existing pod each cycle
// (helper.DefaultSelector is not empty). SchedulingBasic's pods have no controller: no walk.
#[test]
fn replica_set_pods_get_the_default_spreading() {
    let rs = run(Workload::SchedulingReplicaSet, 30, 10, 20, 1, true);
    let walked: Vec<usize> = rs.stats.iter().map(|s| s.spread_pods_scanned).collect();
    let existing: Vec<usize> = (10..30).collect();
    assert_eq!(walked, existing);
    let basic = run(Workload::SchedulingBasic, 30, 10, 20, 1, true);
    assert!(basic.stats.iter().all(|s| s.spread_pods_scanned == 0));
    let p = Workload::SchedulingReplicaSet.pod(3);
    let owner = p.meta.controller_ref().expect("controller ownerReference");
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ReplicaSet", RS_NAME)
    );
    let sel = Workload::SchedulingReplicaSet
        .replica_set()
        .expect("a ReplicaSet")
        .selector;
    assert!(sel
        .match_labels
        .iter()
        .all(|(k, v)| p.meta.labels.get(k) == Some(v)));
}

fn sized_node(name: &str, zone: &str, cpu: i64, mem_gi: i64) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.meta.labels.insert(LABEL_ZONE.into(), zone.into());
    let r = Resources {
        cpu_milli: cpu * 1000,
        memory: mem_gi << 30,
        pods: 110,
        ..Resources::default()
    };
    n.status.capacity = r.clone();
    n.status.allocatable = r;
    n
}

// A big node (64 CPU) and a small one (4 CPU) in two zones. Plain pods all go to the big one
// (NodeResourcesFit's LeastAllocated scores it 99 against 96 for the small one, the other
// scores tie). Pods of a ReplicaSet get the system-default spreading: from the second pod on,
// the node without one scores 100 in PodTopologySpread against 68 for the other (weight 2),
// which outweighs Fit's 3 points, so both nodes are used.
#[test]
fn templates_under_a_replica_set_spread() {
    let mut plain = Case::of(Workload::SchedulingBasic);
    plain.node_templates = vec![
        sized_node("big", "zone-a", 64, 256),
        sized_node("small", "zone-b", 4, 16),
    ];
    let mut pod = Workload::SchedulingBasic.pod(0);
    pod.meta.name = "web".into();
    pod.meta.labels.insert("app".into(), "web".into());
    plain.pod_templates = vec![pod.clone()];
    assert_eq!(plain.name(), "custom");
    let r = run_case(&plain, 2, 0, 5, 1, true);
    assert_eq!(r.placements, vec!["big-0"; 5]);

    let mut owned = plain.clone();
    owned.pod_templates[0].meta.owner_references.push(OwnerRef {
        kind: "ReplicaSet".into(),
        name: "web".into(),
        controller: true,
    });
    let sel = LabelSelector {
        match_labels: [("app".to_string(), "web".to_string())]
            .into_iter()
            .collect(),
        match_expressions: vec![],
    };
    owned
        .selectors
        .set_controller("ReplicaSet", "sched-test", "web", &sel);
    let r = run_case(&owned, 2, 0, 5, 1, true);
    assert_eq!(r.placements[..2], ["big-0", "small-1"]);
    assert_eq!(run_case(&owned, 2, 0, 5, 1, false).placements, r.placements);
}

#[test]
fn templates_repeat_with_unique_names() {
    let mut c = Case::of(Workload::SchedulingBasic);
    c.node_templates = vec![sized_node("a", "z1", 4, 8), sized_node("b", "z2", 8, 8)];
    let names: Vec<String> = (0..5).map(|i| c.node(i).meta.name).collect();
    assert_eq!(names, ["a-0", "b-1", "a-2", "b-3", "a-4"]);
    assert_eq!(c.node(3).status.allocatable.cpu_milli, 8000);
    assert_eq!(c.node(3).meta.labels[LABEL_HOSTNAME], "b-3");
    let mut p = Workload::SchedulingBasic.pod(0);
    p.meta.name = "x".into();
    p.spec.node_name = Some("elsewhere".into());
    c.pod_templates = vec![p];
    assert_eq!(c.pod(7).meta.name, "x-7");
    assert_eq!(c.pod(7).spec.node_name, None);
    assert_eq!(c.name(), "custom");
}

// Nearest rank: the ⌈p/100 · n⌉-th smallest value.
#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&v, 50), 5.0);
    assert_eq!(percentile(&v, 90), 9.0);
    assert_eq!(percentile(&v, 99), 10.0);
    let v: Vec<f64> = (1..=200).map(f64::from).collect();
    assert_eq!(percentile(&v, 99), 198.0);
    assert_eq!(percentile(&[], 50), 0.0);
}

// The cost model's latency is per pod: with every cycle the same shape, every percentile is
// that cycle's cost (200 µs fixed + 1 µs per node filtered + 1.4 µs per node scored).
#[test]
fn latency_of_equal_cycles_is_their_cost() {
    let st = CycleStats {
        filtered: 100,
        scored: 100,
        spread_pods_scanned: 0,
        affinity_pods_scanned: 0,
    };
    let r = BenchRun {
        placements: vec!["n".into(); 4],
        stats: vec![st; 4],
        node_affinity: vec![false; 4],
        unschedulable: 0,
    };
    let l = COST_MODEL.latency(&r);
    for x in [l.p50_ms, l.p90_ms, l.p99_ms, l.mean_ms] {
        assert!((x - 0.44).abs() < 1e-9, "{l:?}");
    }
}
