//! Services and EndpointSlices, Namespaces and ServiceAccounts end to end.

use kubesim::run::{run, RunOptions};
use kubesim::scenario;

use crate::support::*;

fn workloads(ns: &str) -> String {
    format!(
        "- {{apiVersion: v1, kind: Namespace, metadata: {{name: {ns}}}}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web, namespace: {ns}}}
  spec:
    replicas: 3
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec: {{containers: [{{name: c, image: nginx, resources: {{requests: {{cpu: 100m}}}}}}]}}
- apiVersion: v1
  kind: Service
  metadata: {{name: web, namespace: {ns}}}
  spec:
    selector: {{app: web}}
    ports: [{{port: 80, targetPort: 8080}}]
- {{apiVersion: v1, kind: Secret, metadata: {{name: creds, namespace: {ns}}}, type: Opaque, data: {{k: dg==}}}}
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {{name: db, namespace: {ns}}}
  spec:
    replicas: 2
    serviceName: db
    selector: {{matchLabels: {{app: db}}}}
    template:
      metadata: {{labels: {{app: db}}}}
      spec: {{containers: [{{name: c, image: postgres}}]}}
"
    )
}

/// Pods are Ready 2 s after binding (containerStartDelay), so their endpoints are ready then
/// (podToEndpoint: ready = Ready and not terminating). Deleting the namespace at 20 s
/// (namespace controller): the Namespace is Terminating, every pod is deleted gracefully —
/// terminating endpoints are not ready — and once the pods are gone (containerStopDelay 5 s)
/// the Namespace is removed; the Deployment's and the StatefulSet's pods are not replaced.
#[test]
fn service_endpoints_follow_readiness_and_namespace_deletion_cascades() {
    let text = format!(
        "name: svc
seed: 4
duration: 40s
cluster:
  nodePools:
  - name: n
    count: 3
    zones: [z1]
    capacity: {{cpu: \"4\", memory: 16Gi}}
simulation:
  containerStartDelay: {{min: 2s, max: 2s}}
  containerStopDelay: 5s
output:
  sampleInterval: 1s
workloads:
{}timeline:
- at: 20s
  deleteObject: {{kind: Namespace, name: team}}
expect:
- endpoints: {{service: team/web, at: 1s, ready: 0}}
- endpoints: {{service: team/web, at: 3s, ready: 3}}
- namespace: {{name: team, at: 19s, phase: Active}}
- namespace: {{name: team, at: 20s, phase: Terminating}}
- endpoints: {{service: team/web, at: 20s, ready: 0}}
- podCount: {{at: 19s, namespace: team, terminating: false, count: 5}}
- podCount: {{at: 24s, namespace: team, terminating: true, count: 5}}
- namespace: {{name: team, at: 25s, phase: Absent}}
- podCount: {{at: 25s, namespace: team, count: 0}}
",
        workloads("team")
    );
    let out = run_text("svc-ns", &text);
    for e in &out.expectations {
        assert!(
            e.passed,
            "{} {}: expected {}, observed {}",
            e.origin, e.description, e.expected, e.observed
        );
    }
    // The column exists and rises from 0 to 3.
    let col = out
        .timeseries
        .column("svc_team_web_ready_endpoints")
        .expect("service column");
    assert_eq!(col[1].1, 0.0);
    assert_eq!(col[3].1, 3.0);
}

/// The serviceaccounts controller gives every namespace a `default` ServiceAccount, and
/// creates it again when it is deleted.
#[test]
fn every_namespace_gets_a_default_service_account() {
    let text = format!(
        "name: sa
duration: 10s
cluster:
  nodePools:
  - name: n
    count: 1
    capacity: {{cpu: \"4\", memory: 16Gi}}
workloads:
{}timeline:
- at: 5s
  deleteObject: {{kind: ServiceAccount, name: default, namespace: team}}
",
        workloads("team")
    )
    .replace(
        "- {apiVersion: v1, kind: Secret",
        "- {apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: team}}\n- {apiVersion: v1, kind: Secret",
    );
    let dir = scratch("sa");
    let p = dir.join("s.yaml");
    std::fs::write(&p, &text).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = kubesim::sim::Engine::new(
        kubesim::sim::Limits {
            end: kubesim::sim::SimTime::ZERO + s.duration,
            max_events: 1_000_000,
        },
        None,
    );
    let mut c = kubesim::cluster::Cluster::build(&s, &mut engine);
    engine.run_until(kubesim::sim::SimTime::from_secs(1), |ctx, ev| {
        c.handle(ctx, ev)
    });
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "team",
    ] {
        let key = format!("ServiceAccount:{ns}/default");
        assert!(c.api.namespaced_objects().contains_key(&key), "{key}");
    }
    let uid_before = c.api.namespaced_objects()["ServiceAccount:team/default"]
        .meta
        .resource_version;
    engine.run_until(kubesim::sim::SimTime::from_secs(6), |ctx, ev| {
        c.handle(ctx, ev)
    });
    let sa = &c.api.namespaced_objects()["ServiceAccount:team/default"];
    assert!(
        sa.meta.resource_version > uid_before,
        "recreated after deletion"
    );
}

/// A Service manifest's errors name the field.
#[test]
fn service_input_errors() {
    let base = "name: e\nduration: 10s\ncluster:\n  nodePools:\n  - {name: n, count: 1, capacity: {cpu: \"1\", memory: 1Gi}}\nworkloads:\n";
    let cases = [
        ("- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: ClusterIp}}", "spec.type: Unsupported value"),
        ("- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 0}]}}", "spec.ports[0].port: must be between 1 and 65535"),
        ("- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {replicas: 2}}", "`replicas` is not a field of a Service spec"),
        ("- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {ports: [{port: 80}], containers: [{name: c, image: i}]}}", "`ports` is not a field of a Pod spec"),
        ("- {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: b}, spec: {minAvailable: 1, maxUnavailable: 1}}", "minAvailable and maxUnavailable cannot be both set"),
        ("- {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: b}, spec: {minAvailable: \"120%\"}}", "must not be greater than 100%"),
        ("- {apiVersion: v1, kind: Pod, metadata: {name: p}, data: {}, spec: {containers: [{name: c, image: i}]}}", "`data` belongs to a Secret, not a Pod"),
    ];
    for (i, (w, want)) in cases.iter().enumerate() {
        let dir = scratch(&format!("svc-err-{i}"));
        let p = dir.join("s.yaml");
        std::fs::write(&p, format!("{base}{w}\n")).unwrap();
        let e = scenario::load(&p, &[]).expect_err(want).to_string();
        assert!(e.contains(want), "case {i}: {e}");
    }
}

/// A node crash: when the node lifecycle controller finds the node Unknown it marks its pods
/// not Ready (`MarkPodsNotReady`, reference node-lifecycle), so the Service loses that pod's
/// endpoint until the node is back: summary.json reports 2 of 3 as the fewest ready endpoints
/// during the fault. (The pod is not evicted: 300 s toleration > the 150 s fault.)
#[test]
fn summary_reports_the_fewest_ready_endpoints_during_a_fault() {
    let text = "name: svc-crash
seed: 2
duration: 4m
cluster:
  nodePools:
  - name: n
    count: 3
    zones: [z1]
    capacity: {cpu: \"4\", memory: 16Gi}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 3
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: c, image: nginx, resources: {requests: {cpu: \"3\"}}}]
- {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
timeline:
- at: 30s
  duration: 150s
  nodeCrash: {nodes: [n-z1-0]}
expect:
- endpoints: {service: web, at: 29s, ready: 3}
- endpoints: {service: web, at: 170s, ready: 2}
- endpoints: {service: web, ready: 3}
";
    let dir = scratch("svc-crash");
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&s, &RunOptions::default());
    for e in &out.expectations {
        assert!(
            e.passed,
            "{} {}: expected {}, observed {}",
            e.origin, e.description, e.expected, e.observed
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&kubesim::output::summary_json(&s, &out)).unwrap();
    let svc = &summary["faults"][0]["services"][0];
    assert_eq!(svc["service"], "web");
    assert_eq!(svc["min_ready_endpoints"], 2);
}
