//! Bad input gives a clear error — file:line:col (or the field path), what was expected, and a
//! suggestion for a misspelt name — and never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use kubesim::scenario;

use crate::support::*;

const GOOD: &str = "name: t
duration: 10m
cluster:
  nodePools:
  - name: w
    count: 1
    zones: [a]
    capacity: {cpu: \"4\", memory: 16Gi}
components:
  kube-controller-manager:
    node-monitor-grace-period: 50s
timeline:
- at: 1m
  duration: 1m
  nodeCrash: {nodes: [w-a-0]}
expect:
- podCount: {count: 0}
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn error_of(text: &str) -> (PathBuf, String, String) {
    let dir = scratch("errors");
    let p = write(&dir, "s.yaml", text);
    let e = scenario::load(&p, &[]).expect_err("must fail");
    (p.clone(), e.to_string(), e.help.clone().unwrap_or_default())
}

/// Replaces the first occurrence of `from` in the good scenario.
fn broken(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

fn assert_at(msg: &str, file: &Path, line: usize) {
    let prefix = format!("{}:{line}:", file.display());
    assert!(msg.starts_with(&prefix), "expected {prefix}…, got: {msg}");
}

#[test]
fn the_good_scenario_loads() {
    let dir = scratch("good");
    let p = write(&dir, "s.yaml", GOOD);
    scenario::load(&p, &[]).unwrap();
}

#[test]
fn bad_yaml_has_a_position() {
    let (p, msg, _) = error_of(&broken("zones: [a]", "zones: [a"));
    assert!(msg.contains(&p.display().to_string()));
    let pos = msg.split(':').nth(1).and_then(|l| l.parse::<usize>().ok());
    assert!(pos.is_some_and(|l| (7..=9).contains(&l)), "{msg}");
}

#[test]
fn unknown_field_suggests_the_right_name() {
    let (p, msg, help) = error_of(&broken("  nodePools:", "  nodePool:"));
    assert_at(&msg, &p, 4);
    assert!(msg.contains("unknown field `nodePool`"), "{msg}");
    assert_eq!(help, "did you mean `nodePools`?");
}

#[test]
fn bad_quantity_is_reported_where_it_is() {
    let (p, msg, _) = error_of(&broken("cpu: \"4\"", "cpu: \"4x\""));
    assert_at(&msg, &p, 8);
    assert!(msg.contains("invalid quantity \"4x\""), "{msg}");
}

#[test]
fn bad_duration_is_reported_where_it_is() {
    let (p, msg, _) = error_of(&broken("duration: 10m", "duration: 10 minutes"));
    assert_at(&msg, &p, 2);
    assert!(
        msg.contains("expected Go duration syntax") || msg.contains("unknown unit"),
        "{msg}"
    );
    let (p, msg, _) = error_of(&broken("- at: 1m", "- at: 60"));
    assert_at(&msg, &p, 13);
    assert!(msg.contains("missing unit"), "{msg}");
}

#[test]
fn unknown_flag_suggests_the_right_flag() {
    let (p, msg, _) = error_of(&broken(
        "node-monitor-grace-period: 50s",
        "node-monitor-grace-preiod: 50s",
    ));
    assert_at(&msg, &p, 11);
    assert!(
        msg.contains("did you mean `node-monitor-grace-period`?"),
        "{msg}"
    );
}

#[test]
fn removed_flag_explains_the_removal() {
    let (p, msg, _) = error_of(&broken(
        "node-monitor-grace-period: 50s",
        "pod-eviction-timeout: 5m",
    ));
    assert_at(&msg, &p, 11);
    assert!(msg.contains("removed in Kubernetes v1.27"), "{msg}");
}

#[test]
fn bad_flag_value_is_reported() {
    let (p, msg, _) = error_of(&broken(
        "node-monitor-grace-period: 50s",
        "node-eviction-rate: fast",
    ));
    assert_at(&msg, &p, 11);
    assert!(msg.contains("expected a number"), "{msg}");
}

#[test]
fn unknown_node_in_timeline_names_the_path_and_suggests() {
    let (_, msg, help) = error_of(&broken("nodes: [w-a-0]", "nodes: [w-a-1]"));
    assert!(
        msg.contains("timeline[0].nodeCrash.nodes: unknown node \"w-a-1\""),
        "{msg}"
    );
    assert_eq!(help, "did you mean `w-a-0`?");
}

#[test]
fn unsupported_kubernetes_version_is_an_error() {
    let (_, msg, _) = error_of(&broken("name: t", "name: t\nkubernetesVersion: \"1.20\""));
    assert!(
        msg.contains("kubernetesVersion: unsupported Kubernetes version \"1.20\""),
        "{msg}"
    );
    let (_, msg, _) = error_of(&broken("name: t", "name: t\nkubernetesVersion: 1.30"));
    assert!(msg.contains("must be a quoted string"), "{msg}");
}

#[test]
fn errors_inside_manifest_files_point_into_that_file() {
    let dir = scratch("manifest-error");
    let m = write(
        &dir,
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  contianers:\n  - name: c\n    image: x\n",
    );
    let s = write(
        &dir,
        "s.yaml",
        &format!("{GOOD}workloads:\n- file: pod.yaml\n"),
    );
    let e = scenario::load(&s, &[]).expect_err("must fail");
    let msg = e.to_string();
    assert_at(&msg, &m, 6);
    assert_eq!(e.help.as_deref(), Some("did you mean `containers`?"));
}

#[test]
fn kubernetes_validation_rules_apply_to_manifests() {
    let cases = [
        ("spec:\n  containers: []\n", "a pod needs at least one container"),
        ("spec:\n  containers:\n  - name: c\n", "a container needs an image"),
        (
            "spec:\n  containers:\n  - {name: c, image: x}\n  tolerations:\n  - {key: k, operator: Exists, value: v}\n",
            "value must be empty when `operator` is 'Exists'",
        ),
        (
            "spec:\n  containers:\n  - {name: c, image: x}\n  tolerations:\n  - {key: k, effect: NoSchedule, tolerationSeconds: 5}\n",
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
        ("spec:\n  replicas: 2\n  containers:\n  - {name: c, image: x}\n", "`replicas` is not a field of a Pod spec"),
    ];
    for (spec, want) in cases {
        let manifest = format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  {}",
            spec.replace('\n', "\n  ")
        );
        let (_, msg, _) = error_of(&format!("{GOOD}workloads:\n{manifest}"));
        assert!(msg.contains(want), "want {want:?}, got {msg}");
        assert!(
            msg.contains("workloads[0].spec"),
            "the path is named: {msg}"
        );
    }
}

#[test]
fn set_override_errors_suggest() {
    let dir = scratch("set");
    let p = write(&dir, "s.yaml", GOOD);
    let e = scenario::load(
        &p,
        &["kube-controler-manager.node-eviction-rate=0.2".to_string()],
    )
    .expect_err("fails");
    assert_eq!(
        e.help.as_deref(),
        Some("did you mean `kube-controller-manager`?")
    );
    let e = scenario::load(&p, &["kubelet.nodeStatusReportFrequncy=1m".to_string()])
        .expect_err("fails");
    assert!(
        e.to_string()
            .contains("did you mean `nodeStatusReportFrequency`?"),
        "{e}"
    );
}

#[test]
fn validate_exits_2_on_bad_input_and_never_panics() {
    let exe = env!("CARGO_BIN_EXE_kubesim");
    let dir = scratch("no-panic");
    let mut inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\x00\xff\xfe garbage".to_vec(),
        b"- a\n- b\n".to_vec(),
        b"duration: 99999999999999999999h\ncluster: {}\n".to_vec(),
        b"duration: 1m\ncluster:\n  nodePools:\n  - {name: w, count: 4294967296, capacity: {cpu: 1}}\n".to_vec(),
        b"duration: 1m\ncluster:\n  nodePools:\n  - {name: w, count: 1, capacity: {cpu: 1e999}}\n".to_vec(),
        "a: [".repeat(200).into_bytes(),
        broken("count: 1", "count: 0").into_bytes(),
        broken("- at: 1m", "- at: 1h").into_bytes(),
    ];
    // Every prefix of the good file, cut at each line: truncated files must not panic.
    let lines: Vec<&str> = GOOD.lines().collect();
    for n in 1..lines.len() {
        inputs.push(lines[..n].join("\n").into_bytes());
    }
    for (i, bytes) in inputs.iter().enumerate() {
        let p = dir.join(format!("in{i}.yaml"));
        std::fs::write(&p, bytes).unwrap();
        let out = Command::new(exe).arg("validate").arg(&p).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "input {i} panicked: {stderr}");
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(2),
            "input {i}: exit {code:?}: {stderr}"
        );
        if code == Some(2) {
            assert!(
                stderr.contains(&p.display().to_string()),
                "input {i}: the file is named: {stderr}"
            );
        }
    }
}

#[test]
fn a_timeline_entry_needs_exactly_one_fault() {
    let (_, msg, _) = error_of(&broken(
        "  nodeCrash: {nodes: [w-a-0]}",
        "  nodeCrash: {nodes: [w-a-0]}\n  apiServerUnavailable: {}",
    ));
    assert!(
        msg.contains("timeline[0]: each timeline entry needs exactly one fault"),
        "{msg}"
    );
    let (_, msg, _) = error_of(&broken("  nodeCrash: {nodes: [w-a-0]}", ""));
    assert!(
        msg.contains("timeline[0]: each timeline entry needs exactly one fault"),
        "{msg}"
    );
}

#[test]
fn fault_zones_must_exist() {
    let (_, msg, help) = error_of(&broken(
        "  nodeCrash: {nodes: [w-a-0]}",
        "  networkPartition: {zones: [b]}",
    ));
    assert!(
        msg.contains("timeline[0].networkPartition.zones: unknown zone \"b\""),
        "{msg}"
    );
    assert_eq!(help, "did you mean `a`?");
    let (_, msg, _) = error_of(&broken(
        "  nodeCrash: {nodes: [w-a-0]}",
        "  networkPartition: {}",
    ));
    assert!(msg.contains("name at least one node"), "{msg}");
}

#[test]
fn a_behavior_annotation_must_name_a_behavior() {
    let text = "name: b
duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"4\", memory: 16Gi}}
runtime:
  behaviors:
  - {name: crashy, run: 5s, exitCode: 1}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {name: p, annotations: {kubesim.io/behavior: crashyy}}
  spec:
    containers: [{name: c, image: app}]
";
    let (_, msg, help) = error_of(text);
    assert!(
        msg.contains("no behavior \"crashyy\" in runtime.behaviors"),
        "{msg}"
    );
    assert_eq!(help, "did you mean `crashy`?");
}

#[test]
fn a_misspelt_behavior_field_is_reported_with_a_suggestion() {
    let text = "name: b
duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"4\", memory: 16Gi}}
runtime:
  behaviors:
  - name: slow
    startuptime: 5s
";
    let (p, msg, help) = error_of(text);
    assert_at(&msg, &p, 9);
    assert!(msg.contains("unknown field `startuptime`"), "{msg}");
    assert_eq!(help, "did you mean `startupTime`?");
}

/// An expectation that names an object the scenario does not have says so, with the closest
/// name (endpoints → Services, pdb → PodDisruptionBudgets, cronJob → CronJobs).
#[test]
fn expectation_naming_a_missing_object_says_which_and_suggests() {
    let text = GOOD.replace(
        "- podCount: {count: 0}",
        "- endpoints: {service: web, ready: 1}",
    );
    let text = text.replace(
        "timeline:",
        "workloads:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: webb}\n  spec: {selector: {app: web}, ports: [{port: 80}]}\ntimeline:",
    );
    let (_, msg, help) = error_of(&text);
    assert!(
        msg.contains("expect[0].service")
            && msg.contains("no Service default/web among the workloads"),
        "{msg}"
    );
    assert!(help.contains("default/webb"), "{help}");
}
