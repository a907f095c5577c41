//! The `kubesim` binary: exit codes, output files, the closing digest line.

use std::process::Command;

use crate::support::*;

fn kubesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn check_exits_1_when_an_expectation_fails() {
    let dir = scratch("check-fail");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::copy(
        root().join("scenarios/manifests/web-replicaset.yaml"),
        dir.join("manifests/web-replicaset.yaml"),
    )
    .unwrap();
    // The quick start with grace 5 s longer: the NotReady times move by one monitor pass.
    let text = std::fs::read_to_string(quick_start()).unwrap();
    let p = dir.join("qs.yaml");
    std::fs::write(&p, text).unwrap();
    let ok = kubesim(&["check", "-q", p.to_str().unwrap()]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = kubesim(&[
        "check",
        "-q",
        p.to_str().unwrap(),
        "--set",
        "kube-controller-manager.node-monitor-grace-period=55s",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(stdout.contains("FAIL expect[4]"), "{stdout}");
}

#[test]
fn check_with_no_expectations_exits_0() {
    let dir = scratch("no-expect");
    let p = dir.join("s.yaml");
    std::fs::write(&p, "duration: 1m\ncluster:\n  nodePools:\n  - {name: w, count: 1, capacity: {cpu: 1, memory: 1Gi}}\n").unwrap();
    let out = kubesim(&["check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no expectations"));
}

#[test]
fn run_writes_all_results_and_ends_with_the_digest() {
    let dir = scratch("run-out");
    let out_dir = dir.join("res");
    let out = kubesim(&[
        "run",
        quick_start().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("digest: fnv1a64:") && last.len() == "digest: fnv1a64:".len() + 16,
        "{last}"
    );
    assert!(
        stdout.contains("node-monitor-grace-period"),
        "the header echoes effective settings"
    );
    for f in [
        "events.jsonl",
        "timeseries.csv",
        "summary.json",
        "perf.json",
        "timeline.png",
        "timeline.svg",
    ] {
        assert!(out_dir.join(f).metadata().is_ok_and(|m| m.len() > 0), "{f}");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["digest"].as_str().unwrap(),
        &last["digest: ".len()..]
    );
    assert_eq!(summary["stop_reason"], "duration-reached");
    // Every events.jsonl line is a JSON object with the required keys.
    for line in std::fs::read_to_string(out_dir.join("events.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for k in ["t_ns", "t", "reason", "object", "message"] {
            assert!(v.get(k).is_some(), "{k} in {line}");
        }
    }
    // A second run replaces the directory (no stale files, no staging left behind).
    std::fs::write(out_dir.join("stale.txt"), "x").unwrap();
    let again = kubesim(&[
        "run",
        "-q",
        "--no-plots",
        quick_start().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(again.status.success());
    assert!(!out_dir.join("stale.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn usage_errors_exit_2_and_version_works() {
    assert_eq!(kubesim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(kubesim(&["run"]).status.code(), Some(2));
    assert_eq!(
        kubesim(&["run", "/nonexistent/s.yaml"]).status.code(),
        Some(2)
    );
    let v = kubesim(&["--version"]);
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("kubesim "));
}

/// The progress line is for a terminal only: with stderr piped, a run long enough to show it
/// there (the 102-node bench scenario, over a second in a debug build) writes none, and stdout
/// is untouched by it.
#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let path = root().join("benches/scenarios/quick-start-100.yaml");
    let out = kubesim(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for mark in ["\r", "\u{1b}", "events/s ·", "left", "[="] {
        assert!(!stderr.contains(mark), "{mark:?} on stderr: {stderr:?}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\r') && !stdout.contains("simulated "),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("digest: ")),
        "{stdout}"
    );
}
