//! `kubesim import kubernetriks` on the Kubernetriks generic trace as its repository ships it
//! (jellythefish/kubernetriks `src/data/generic_cluster_trace_example.yaml` and
//! `generic_workload_trace_example.yaml`, verbatim): the written scenario validates, pods arrive
//! at the trace's timestamps, nodes come and go at theirs, and bad input is a positioned error.

use std::path::{Path, PathBuf};
use std::process::Command;

use kubesim::sim::SimTime;

use crate::support::*;

const CLUSTER: &str = "events:
- timestamp: 1
  event_type:
    !CreateNode
      node:
        metadata:
          name: node_21
          labels:
            storage_type: ssd
            proc_type: intel
        status:
          capacity:
            cpu: 16000
            ram: 17179869184
- timestamp: 600
  event_type:
    !RemoveNode
      node_name: node_21
- timestamp: 601
  event_type:
    !CreateNode
      node:
        metadata:
          name: node_22
          labels:
            storage_type: ssd
            proc_type: intel
        status:
          capacity:
            cpu: 16000
            ram: 17179869184
";

fn pod(t: &str, name: &str, run: &str) -> String {
    format!(
        "- timestamp: {t}
  event_type:
    !CreatePod
      pod:
        metadata:
          name: {name}
        spec:
          resources:
            requests:
              cpu: 4000
              ram: 8589934592
            limits:
              cpu: 8000
              ram: 17179869184
          running_duration: {run}
"
    )
}

fn workload() -> String {
    format!(
        "events:\n{}{}{}{}- timestamp: 5001\n  event_type:\n    !RemovePod\n      pod_name: pod_42\n",
        pod("550", "pod_16", "21.0"),
        pod("551", "pod_25", "76.0"),
        pod("552", "pod_42", "4.0"),
        pod("553", "pod_101", "4221.0"),
    )
}

fn kubesim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn import(dir: &Path, workload: &str) -> (i32, String, PathBuf) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let (c, w) = (dir.join("cluster.yaml"), dir.join("workload.yaml"));
    std::fs::write(&c, CLUSTER).expect("write");
    std::fs::write(&w, workload).expect("write");
    let out = dir.join("out");
    let (code, err) = kubesim(&[
        "import",
        "kubernetriks",
        &c.display().to_string(),
        &w.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    (code, err, out.join("scenario.yaml"))
}

#[test]
fn imported_kubernetriks_trace_validates_and_replays_its_times() {
    let dir = scratch("kubernetriks-import");
    let (code, err, scenario) = import(&dir, &workload());
    assert_eq!(code, 0, "{err}");
    let (code, err) = kubesim(&["validate", &scenario.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let s = load(&scenario, &[]);
    // node_21 exists before the first pod (t = 0); node_22 is a machine added at 601 s.
    assert_eq!(s.nodes.len(), 2);
    let c = kubesim::run::state_at(&s, SimTime::from_secs(560));
    // Pods arrive at the trace's timestamps, in its order, with its requests.
    for (i, t) in [550u64, 551, 552, 553].iter().enumerate() {
        let p = &c.api.pods()[&format!("default/pods-{i}")];
        assert_eq!(
            p.meta.creation_timestamp,
            SimTime::from_secs(*t),
            "pods-{i}"
        );
    }
    assert!(c.api.nodes().contains_key("pool-0-0"));
    // RemoveNode at 600 s: `kubectl delete node`; CreateNode at 601 s boots a second machine.
    let c = kubesim::run::state_at(&s, SimTime::from_secs(600));
    assert!(!c.api.nodes().contains_key("pool-0-0"));
    let c = kubesim::run::state_at(&s, SimTime::from_secs(700));
    assert_eq!(c.api.nodes().keys().collect::<Vec<_>>(), ["pool-0-1"]);
}

#[test]
fn removing_a_running_kubernetriks_pod_is_refused() {
    // pod_42 runs 4 s from 552 s; removing it at 553 s would cut its run short.
    let dir = scratch("kubernetriks-running");
    let (code, err, _) = import(
        &dir,
        &workload().replace("timestamp: 5001", "timestamp: 553"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("RemovePod of \"pod_42\" at 553 s while it runs"),
        "{err}"
    );
}

#[test]
fn a_bad_kubernetriks_trace_is_a_positioned_error() {
    let dir = scratch("kubernetriks-bad");
    let bad = workload().replace("!RemovePod", "!DeletePod");
    let (code, err, _) = import(&dir, &bad);
    assert_eq!(code, 2, "{err}");
    // The fifth event starts on line 62, column 3 (the header line, then 4 pods of 15 lines).
    assert!(
        err.contains("workload.yaml:62:3: error: events[4]"),
        "{err}"
    );
    assert!(err.contains("error:") && err.contains("DeletePod"), "{err}");
    let (code, err, _) = import(
        &dir,
        &workload().replace("pod_name: pod_42", "pod_name: pod_43"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("RemovePod of \"pod_43\""), "{err}");
}
