//! `kubesim bench scheduler` as a tool: the JSON document, the user's templates and scheduler
//! configuration, the two throughputs' labels, and the errors on bad input (small sizes: the
//! debug binary).

use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["bench", "scheduler"])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = bench(args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

// Fewer than 100 nodes: upstream's numFeasibleNodesToFind keeps them all, so every cycle
// filters every node (minFeasibleNodesToFind = 100).
#[test]
fn json_output_has_every_field() {
    let v = json(&[
        "--workload",
        "SchedulingReplicaSet",
        "--nodes",
        "30",
        "--pods",
        "40",
        "--runs",
        "2",
        "--output",
        "json",
    ]);
    assert_eq!(v["workload"], "SchedulingReplicaSet");
    assert_eq!(v["nodes"], 30);
    // scheduler_perf's 1,000 initial pods at 5,000 nodes, scaled to 30.
    assert_eq!(v["init_pods"], 6);
    assert_eq!(v["pods"], 40);
    assert_eq!(v["seed"], 1);
    assert_eq!(v["runs"], 2);
    assert_eq!(v["scheduled"], 40);
    assert_eq!(v["unschedulable"], 0);
    assert_eq!(v["placements"], "identical");
    assert!(v["scheduler_config"].is_null());
    let sim = &v["simulator_throughput"];
    assert_eq!(
        sim["runs_pods_per_second"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(sim["median_pods_per_second"]
        .as_f64()
        .is_some_and(|x| x > 0.0));
    assert!(sim["what"]
        .as_str()
        .is_some_and(|s| s.contains("wall clock")));
    let m = &v["modelled_throughput"];
    assert!(m["pods_per_second"].as_f64().is_some_and(|x| x > 0.0));
    assert!(m["what"]
        .as_str()
        .is_some_and(|s| s.contains("virtual time")));
    assert_eq!(m["client_qps"], 5000.0);
    // kubesim's own workload: no scheduler_perf threshold.
    assert!(m["scheduler_perf_threshold_pods_per_second"].is_null());
    let l = &v["modelled_latency_ms"];
    let p: Vec<f64> = ["p50", "p90", "p99"]
        .iter()
        .map(|k| l[k].as_f64().unwrap_or(-1.0))
        .collect();
    // At least the fixed 200 µs of every cycle, and ordered.
    assert!(p[0] >= 0.2 && p[0] <= p[1] && p[1] <= p[2], "{l}");
    assert_eq!(v["per_cycle"]["nodes_filtered"], 30.0);
    // The default constraints apply: PreScore walks the existing pods.
    assert!(v["per_cycle"]["spread_pods_walked"]
        .as_f64()
        .is_some_and(|x| x > 0.0));
}

#[test]
fn templates_give_the_counts_asked_for() {
    let d = scratch("bench-templates");
    let nodes = d.join("nodes.yaml");
    let mut text = String::new();
    for (name, cpu) in [("a", 4), ("b", 8)] {
        text += &format!("---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  capacity: {{cpu: '{cpu}', memory: 16Gi, pods: '110'}}\n");
    }
    std::fs::write(&nodes, text).unwrap();
    let pods = d.join("pods.yaml");
    let mut text = String::new();
    for name in ["x", "y", "z"] {
        text += &format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - {{name: c, image: nginx, resources: {{requests: {{cpu: 100m}}}}}}\n");
    }
    std::fs::write(&pods, text).unwrap();
    let v = json(&[
        "--nodes-from",
        nodes.to_str().unwrap(),
        "--pods-from",
        pods.to_str().unwrap(),
        "--nodes",
        "7",
        "--pods",
        "11",
        "--runs",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(v["workload"], "custom");
    assert_eq!(v["init_pods"], 0);
    assert_eq!(v["scheduled"], 11);
    assert_eq!(v["per_cycle"]["nodes_filtered"], 7.0);
    assert_eq!(v["placements"], "identical");
}

#[test]
fn text_output_labels_the_two_throughputs() {
    let (code, stdout, stderr) = bench(&[
        "--workload",
        "SchedulingBasic",
        "--nodes",
        "20",
        "--pods",
        "30",
        "--runs",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("simulator throughput (kubesim's own speed, wall clock): "),
        "{stdout}"
    );
    assert!(stdout.contains("modelled scheduler throughput (virtual time): "));
    assert!(stdout.contains("threshold at 5,000 nodes: 680 pods/s"));
    assert!(stdout.contains("modelled scheduling latency per pod (virtual time): p50 "));
    assert!(stdout.contains("placements: identical"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let (code, _, stderr) = bench(&["--workload", "SchedulingReplicaset"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("did you mean `SchedulingReplicaSet`"),
        "{stderr}"
    );
    let d = scratch("bench-errors");
    let cfg = d.join("sched.yaml");
    // Line 5, column 5: a misspelt field of a profile.
    std::fs::write(
        &cfg,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugin:\n    score: {}\n",
    )
    .unwrap();
    let (code, _, stderr) = bench(&[
        "--workload",
        "SchedulingBasic",
        "--scheduler-config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("sched.yaml:5:"), "{stderr}");
    let nodes = d.join("nodes.yaml");
    // Line 3: a flow mapping left open.
    std::fs::write(&nodes, "apiVersion: v1\nkind: Node\nmetadata: {name: a\n").unwrap();
    let (code, _, stderr) = bench(&[
        "--workload",
        "SchedulingBasic",
        "--nodes-from",
        nodes.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nodes.yaml:"), "{stderr}");
}
