//! Objects over time (issue 17 part 3): `arrivals:` (Poisson, interval, trace), the timeline's
//! `apply`, `addNodes` and `deleteNodes`, and `stopWhen: arrivalsFinished`.

use std::path::PathBuf;

use kubesim::cluster::arrivals::{ARRIVALS_LABEL, SHAPE_LABEL};
use kubesim::model::*;
use kubesim::run::{run, RunOptions};
use kubesim::sim::{SimTime, StopReason};

use crate::support::*;

const HEAD: &str = r#"duration: 2h
cluster:
  nodePools:
  - {name: w, count: 4, zones: [a, b], capacity: {cpu: "8", memory: 32Gi}}
runtime:
  behaviors:
  - {name: batch, image: "batch:*", run: {uniform: [60s, 540s]}, exitCode: 0}
"#;

/// A Pod shape named `name` asking for `cpu`.
fn shape(name: &str, cpu: &str, weight: u32) -> String {
    format!(
        "  - weight: {weight}\n    template:\n      apiVersion: v1\n      kind: Pod\n      metadata: {{name: {name}}}\n      spec:\n        restartPolicy: Never\n        containers: [{{name: c, image: \"batch:1\", resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}}}]\n"
    )
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn arrivals_of(out_pods: &[std::sync::Arc<Pod>]) -> Vec<&std::sync::Arc<Pod>> {
    out_pods
        .iter()
        .filter(|p| p.meta.labels.contains_key(ARRIVALS_LABEL))
        .collect()
}

fn final_pods(path: &std::path::Path) -> (kubesim::run::RunOutput, Vec<std::sync::Arc<Pod>>) {
    let s = load(path, &[]);
    let out = run(&s, &RunOptions::default());
    let c = kubesim::run::state_at(&s, out.end);
    let pods = c.api.pods().values().cloned().collect();
    (out, pods)
}

#[test]
fn poisson_arrivals_run_to_completion_stay_succeeded_and_stop_the_run() {
    let text = format!(
        "{HEAD}stopWhen: arrivalsFinished\narrivals:\n- name: job\n  poisson: {{rate: 0.5}}\n  count: 60\n  shapes:\n{}{}",
        shape("small", "500m", 3),
        shape("large", "2", 1)
    );
    let p = write("poisson", &text);
    let (out, pods) = final_pods(&p);
    assert_eq!(out.stop, StopReason::StopWhen, "{:?}", out.stop);
    let mine = arrivals_of(&pods);
    // Bare pods that terminate stay as Succeeded objects: pod GC collects terminated pods
    // only above --terminated-pod-gc-threshold (12500).
    assert_eq!(mine.len(), 60);
    assert!(mine.iter().all(|p| p.status.phase == PodPhase::Succeeded));
    let last_created = mine
        .iter()
        .map(|p| p.meta.creation_timestamp)
        .max()
        .unwrap();
    // The run ends when the last pod finishes: at least 60 s (the shortest run time) after
    // the last arrival, within the 540 s longest run plus start-up.
    assert!(out.end >= last_created + kubesim::sim::SimDuration::from_secs(60));
    assert!(out.end <= last_created + kubesim::sim::SimDuration::from_secs(600));
    let small = mine
        .iter()
        .filter(|p| p.meta.labels[SHAPE_LABEL] == "small")
        .count();
    assert!(
        (30..=55).contains(&small),
        "weights 3:1 gave {small} small of 60"
    );
    assert!(out
        .records
        .iter()
        .any(|r| r.reason == "StopWhen" && r.message.contains("all 60 arrivals finished")));
}

#[test]
fn poisson_inter_arrival_times_have_mean_one_over_rate() {
    let text = format!(
        "{HEAD}arrivals:\n- name: p\n  poisson: {{rate: 10}}\n  count: 3000\n  shapes:\n{}",
        shape("tiny", "1m", 1)
    )
    .replace("duration: 2h", "duration: 400s");
    let p = write("poisson-mean", &text);
    let s = load(&p, &[]);
    let c = kubesim::run::state_at(&s, SimTime::from_secs(400));
    let mut times: Vec<u64> = arrivals_of(&c.api.pods().values().cloned().collect::<Vec<_>>())
        .iter()
        .map(|p| p.meta.creation_timestamp.as_nanos())
        .collect();
    times.sort();
    assert_eq!(times.len(), 3000);
    let mean = (times[2999] - times[0]) as f64 / 2999.0 / 1e9;
    // Exponential gaps with rate 10/s: mean 0.1 s, standard error 0.1/sqrt(3000) ≈ 0.0018 s.
    assert!((mean - 0.1).abs() < 0.01, "mean gap {mean}");
}

#[test]
fn arrivals_are_scheduled_lazily() {
    let text = format!(
        "{HEAD}arrivals:\n- name: p\n  poisson: {{rate: 10}}\n  count: 100000\n  shapes:\n{}",
        shape("tiny", "1m", 1)
    );
    let p = write("lazy", &text);
    let s = load(&p, &[]);
    let mut engine = kubesim::sim::Engine::new(
        kubesim::sim::Limits {
            end: SimTime::from_secs(1),
            max_events: 1_000_000,
        },
        None,
    );
    let _c = kubesim::cluster::Cluster::build(&s, &mut engine);
    assert!(
        engine.pending() < 100,
        "{} events pending at t = 0",
        engine.pending()
    );
}

#[test]
fn interval_and_trace_arrivals_come_at_their_times() {
    let dir = scratch("trace");
    std::fs::write(
        dir.join("arrivals.csv"),
        "time,shape,comment\n0,small,first\n2.5,large,\n90s,small,a Go duration\n",
    )
    .unwrap();
    let text = format!(
        "{HEAD}arrivals:\n- name: every\n  interval: 30s\n  start: 10s\n  count: 3\n  shapes:\n{}- name: traced\n  trace: arrivals.csv\n  start: 5s\n  shapes:\n{}{}",
        shape("small", "100m", 1),
        shape("small", "100m", 1),
        shape("large", "1", 1)
    )
    .replace("duration: 2h", "duration: 5m");
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    let s = load(&p, &[]);
    let c = kubesim::run::state_at(&s, SimTime::from_secs(300));
    let at = |name: &str| {
        let p = &c.api.pods()[&format!("default/{name}")];
        (
            p.meta.creation_timestamp.as_nanos() / 1_000_000,
            p.meta.labels[SHAPE_LABEL].clone(),
        )
    };
    assert_eq!(at("every-0"), (10_000, "small".into()));
    assert_eq!(at("every-1").0, 40_000);
    assert_eq!(at("every-2").0, 70_000);
    assert_eq!(at("traced-0"), (5_000, "small".into()));
    assert_eq!(at("traced-1"), (7_500, "large".into()));
    assert_eq!(at("traced-2"), (95_000, "small".into()));
    assert!(!c.api.pods().contains_key("default/every-3"));
}

#[test]
fn apply_add_nodes_and_delete_nodes_act_at_their_time() {
    let text = format!(
        "{HEAD}timeline:\n- at: 30s\n  apply:\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {{name: late, namespace: team}}\n    spec:\n      replicas: 2\n      selector: {{matchLabels: {{app: late}}}}\n      template:\n        metadata: {{labels: {{app: late}}}}\n        spec: {{containers: [{{name: c, image: nginx}}]}}\n- at: 60s\n  addNodes: {{pool: w, count: 3}}\n- at: 90s\n  deleteNodes: {{names: [w-a-0]}}\n"
    )
    .replace("duration: 2h", "duration: 3m")
    .replace("count: 4, zones", "count: 2, zones");
    let p = write("later", &text);
    let s = load(&p, &[]);
    assert_eq!(
        s.nodes.len(),
        7,
        "4 nodes at t = 0 and 3 machines added later"
    );
    let names = |t: u64| {
        let c = kubesim::run::state_at(&s, SimTime::from_secs(t));
        let nodes: Vec<String> = c.api.nodes().keys().cloned().collect();
        let late = c.api.deployments().contains_key("team/late");
        (nodes, late)
    };
    let (n, late) = names(29);
    assert_eq!(n, ["w-a-0", "w-a-1", "w-b-0", "w-b-1"]);
    assert!(!late);
    let (n, late) = names(59);
    assert_eq!(n.len(), 4);
    assert!(late);
    // The new machines boot and their kubelets register their Nodes (spread over the pool's
    // zones, named after it).
    let (n, _) = names(80);
    assert_eq!(
        n,
        ["w-a-0", "w-a-1", "w-a-2", "w-a-3", "w-b-0", "w-b-1", "w-b-2"]
    );
    // `kubectl delete node`: the Node object is gone at once.
    let c = kubesim::run::state_at(&s, SimTime::from_secs(90));
    assert!(!c.api.nodes().contains_key("w-a-0"));
    assert_eq!(c.api.nodes().len(), 6);
}
