//! Per-kind `spec` allow-lists: a field of another kind's spec is an input error naming its
//! path, for every kind kubesim reads (the manifest schema is the union of all specs, so only
//! the kind's own allow-list can reject it).

use std::path::Path;
use std::process::Command;

use kubesim::scenario;

use crate::support::*;

const CLUSTER: &str = "name: t
duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"4\", memory: 16Gi}}
";

const CONTAINERS: &str = "containers: [{name: c, image: i}]";

/// A scenario with one workload manifest (flow-style YAML).
fn with_workload(manifest: &str) -> String {
    format!("{CLUSTER}workloads:\n- {manifest}\n")
}

fn load(text: &str) -> Result<scenario::Scenario, scenario::InputError> {
    scenario::load_str(text, Path::new("fields.yaml"), &[])
}

/// The manifest `tmpl` with `{extra}` empty loads; with `extra` it fails at `path` saying the
/// field is not part of a `what` spec.
fn rejects(tmpl: &str, extra: &str, path: &str, what: &str, node: bool) {
    let text = |x: &str| {
        let m = tmpl.replace("{extra}", x);
        if node {
            format!("{CLUSTER}  nodes:\n  - {m}\n")
        } else {
            with_workload(&m)
        }
    };
    if let Err(e) = load(&text("")) {
        panic!("the manifest without {extra} must load: {e}");
    }
    let e = load(&text(&format!(", {extra}")))
        .err()
        .unwrap_or_else(|| panic!("{path} must be rejected"))
        .to_string();
    let field = path.rsplit('.').next().unwrap_or(path);
    assert!(
        e.contains(path) && e.contains(&format!("`{field}` is not a field of a {what} spec")),
        "{path}: {e}"
    );
}

fn template() -> String {
    format!("{{metadata: {{labels: {{app: a}}}}, spec: {{{CONTAINERS}}}}}")
}

fn job_template() -> String {
    format!("{{spec: {{restartPolicy: Never, {CONTAINERS}}}}}")
}

#[test]
fn a_service_rejects_completions() {
    rejects(
        "{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {selector: {app: a}, ports: [{port: 80}]{extra}}}",
        "completions: 1",
        "workloads[0].spec.completions",
        "Service",
        false,
    );
}

#[test]
fn a_namespace_rejects_schedule() {
    rejects(
        "{apiVersion: v1, kind: Namespace, metadata: {name: n}, spec: {finalizers: [kubernetes]{extra}}}",
        "schedule: \"* * * * *\"",
        "workloads[0].spec.schedule",
        "Namespace",
        false,
    );
}

#[test]
fn a_pdb_rejects_schedule() {
    rejects(
        "{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: b}, spec: {minAvailable: 1, selector: {matchLabels: {app: a}}{extra}}}",
        "schedule: \"* * * * *\"",
        "workloads[0].spec.schedule",
        "PodDisruptionBudget",
        false,
    );
}

#[test]
fn a_node_rejects_service_name() {
    rejects(
        "{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {unschedulable: false{extra}}, status: {capacity: {cpu: \"4\", memory: 16Gi}}}",
        "serviceName: s",
        "cluster.nodes[0].spec.serviceName",
        "Node",
        true,
    );
}

#[test]
fn a_pod_rejects_replicas() {
    rejects(
        &format!(
            "{{apiVersion: v1, kind: Pod, metadata: {{name: p}}, spec: {{{CONTAINERS}{{extra}}}}}}"
        ),
        "replicas: 1",
        "workloads[0].spec.replicas",
        "Pod",
        false,
    );
}

#[test]
fn a_replica_set_rejects_strategy() {
    rejects(
        &format!("{{apiVersion: apps/v1, kind: ReplicaSet, metadata: {{name: r}}, spec: {{selector: {{matchLabels: {{app: a}}}}, template: {}{{extra}}}}}}", template()),
        "strategy: {}",
        "workloads[0].spec.strategy",
        "ReplicaSet",
        false,
    );
}

#[test]
fn a_replication_controller_rejects_paused() {
    rejects(
        &format!("{{apiVersion: v1, kind: ReplicationController, metadata: {{name: rc}}, spec: {{selector: {{app: a}}, template: {}{{extra}}}}}}", template()),
        "paused: true",
        "workloads[0].spec.paused",
        "ReplicationController",
        false,
    );
}

#[test]
fn a_deployment_rejects_service_name_and_cluster_ip() {
    let d = format!("{{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d}}, spec: {{selector: {{matchLabels: {{app: a}}}}, template: {}{{extra}}}}}}", template());
    rejects(
        &d,
        "serviceName: s",
        "workloads[0].spec.serviceName",
        "Deployment",
        false,
    );
    // A Service field kubesim does not model is still not a Deployment field.
    rejects(
        &d,
        "clusterIP: None",
        "workloads[0].spec.clusterIP",
        "Deployment",
        false,
    );
}

#[test]
fn a_pod_template_rejects_replicas() {
    rejects(
        "{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: i}]{extra}}}}}",
        "replicas: 2",
        "workloads[0].spec.template.spec.replicas",
        "Pod",
        false,
    );
}

#[test]
fn a_daemon_set_rejects_replicas() {
    rejects(
        &format!("{{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: ds}}, spec: {{selector: {{matchLabels: {{app: a}}}}, template: {}{{extra}}}}}}", template()),
        "replicas: 2",
        "workloads[0].spec.replicas",
        "DaemonSet",
        false,
    );
}

#[test]
fn a_stateful_set_rejects_strategy() {
    rejects(
        &format!("{{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: ss}}, spec: {{serviceName: s, selector: {{matchLabels: {{app: a}}}}, template: {}{{extra}}}}}}", template()),
        "strategy: {}",
        "workloads[0].spec.strategy",
        "StatefulSet",
        false,
    );
}

#[test]
fn a_job_rejects_schedule() {
    rejects(
        &format!("{{apiVersion: batch/v1, kind: Job, metadata: {{name: j}}, spec: {{template: {}{{extra}}}}}}", job_template()),
        "schedule: \"* * * * *\"",
        "workloads[0].spec.schedule",
        "Job",
        false,
    );
}

#[test]
fn a_cron_job_rejects_completions_and_its_job_template_rejects_schedule() {
    rejects(
        &format!("{{apiVersion: batch/v1, kind: CronJob, metadata: {{name: cj}}, spec: {{schedule: \"*/5 * * * *\", jobTemplate: {{spec: {{template: {}}}}}{{extra}}}}}}", job_template()),
        "completions: 1",
        "workloads[0].spec.completions",
        "CronJob",
        false,
    );
    rejects(
        &format!("{{apiVersion: batch/v1, kind: CronJob, metadata: {{name: cj}}, spec: {{schedule: \"*/5 * * * *\", jobTemplate: {{spec: {{template: {}{{extra}}}}}}}}}}", job_template()),
        "schedule: \"* * * * *\"",
        "workloads[0].spec.jobTemplate.spec.schedule",
        "Job",
        false,
    );
}

#[test]
fn kinds_without_a_spec_reject_one() {
    for m in [
        "{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, spec: {replicas: 1}}",
        "{apiVersion: v1, kind: Secret, metadata: {name: s}, spec: {replicas: 1}}",
        "{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: pc}, value: 10, spec: {replicas: 1}}",
    ] {
        let e = load(&with_workload(m)).err().map(|e| e.to_string());
        let e = e.unwrap_or_else(|| panic!("{m} must be rejected"));
        assert!(e.contains("workloads[0].spec") && e.contains("has no spec"), "{e}");
    }
}

#[test]
fn validate_exits_2_on_a_field_of_another_kind() {
    let dir = scratch("fields");
    let p = dir.join("s.yaml");
    let text = with_workload(
        "{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {selector: {app: a}, completions: 1}}",
    );
    std::fs::write(&p, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("validate")
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("workloads[0].spec.completions"), "{stderr}");
}
