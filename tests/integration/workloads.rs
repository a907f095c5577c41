//! Workload controllers end to end: Deployment rollouts (RollingUpdate bounds, Recreate,
//! progress deadline, revision history), timeline actions and their input errors.

use std::path::PathBuf;

use kubesim::run::{run, RunOptions, RunOutput};
use kubesim::scenario;

use crate::support::*;

pub(crate) const CLUSTER: &str = "name: w
seed: 5
duration: 10m
cluster:
  nodePools:
  - name: w
    count: 10
    capacity: {cpu: \"16\", memory: 64Gi, pods: \"110\"}
";

fn deployment(name: &str, replicas: u32, strategy: &str, extra: &str) -> String {
    format!(
        "- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: {name}}}
  spec:
    replicas: {replicas}
    {strategy}
    {extra}
    selector: {{matchLabels: {{app: {name}}}}}
    template:
      metadata: {{labels: {{app: {name}}}}}
      spec:
        containers:
        - name: c
          image: app:1
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
"
    )
}

fn write_scenario(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

pub(crate) fn column(out: &RunOutput, name: &str) -> Vec<(f64, f64)> {
    out.timeseries
        .column(name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

pub(crate) fn messages(out: &RunOutput, reason: &str) -> Vec<(f64, String)> {
    out.records
        .iter()
        .filter(|r| r.reason == reason)
        .map(|r| (r.t.as_nanos() as f64 / S as f64, r.message.clone()))
        .collect()
}

// Issue 6 acceptance: a rolling update of a 100-replica Deployment with 25%/25% never exceeds
// 125 pods (desired + maxSurge, rounded up) nor drops below 75 available (desired -
// maxUnavailable, rounded down), asserted on the time series. The Deployment controller keeps
// these bounds on the ReplicaSets' replica counts; the pods follow at once only while the
// ReplicaSet controller's requests do not wait, so the client budget is lifted here
// (`kube-api-qps: -1`): under the default 20 qps an old ReplicaSet's deletions, reserved after
// its earlier ones are seen (expectations), can leave behind the new one's creations and the
// pod count can pass 125 for a moment, as upstream's can (docs/client-rate-limits.md).
#[test]
fn rolling_update_of_100_replicas_stays_within_surge_and_unavailability() {
    let text = format!(
        "{CLUSTER}output: {{sampleInterval: 100ms}}
components:
  kube-controller-manager: {{kube-api-qps: -1}}
workloads:
{}timeline:
- at: 2m
  setImage: {{name: web, container: c, image: \"app:2\"}}
",
        deployment(
            "web",
            100,
            "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}",
            "minReadySeconds: 5"
        )
    );
    let out = run_text("ru100", &text);
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    let pods = column(&out, "deploy_web_pods");
    let available = column(&out, "deploy_web_available");
    let updated = column(&out, "deploy_web_updated");
    let max_pods = pods.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(max_pods <= 125.0, "{max_pods} pods at some sample");
    assert!(max_pods > 100.0, "the rollout surged ({max_pods})");
    let during: Vec<f64> = available
        .iter()
        .filter(|(t, _)| *t >= 120.0)
        .map(|p| p.1)
        .collect();
    let min_avail = during.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        min_avail >= 75.0,
        "{min_avail} available during the rollout"
    );
    assert!(
        min_avail < 100.0,
        "the rollout took pods down ({min_avail})"
    );
    let last = |v: &[(f64, f64)]| v.last().unwrap().1;
    assert_eq!(last(&updated), 100.0);
    assert_eq!(last(&available), 100.0);
    assert_eq!(last(&pods), 100.0);
    // The first step: a new ReplicaSet at 25 (ceil 25% of 100), the old one down by 25.
    let scaling = messages(&out, "ScalingReplicaSet");
    assert!(scaling[1].1.ends_with("from 0 to 25"), "{scaling:?}");
    assert!(scaling[2].1.ends_with("from 100 to 75"), "{scaling:?}");
}

// recreate.go: old ReplicaSets to 0, and the new one only once no old pod is left (terminating
// pods count: with a 5 s stop delay the new pods are created 5 s after the image change).
#[test]
fn recreate_waits_for_the_old_pods_to_be_gone() {
    let text = format!(
        "{CLUSTER}simulation: {{containerStopDelay: 5s, containerStartDelay: {{min: 1s, max: 1s}}}}
workloads:
{}timeline:
- at: 1m
  setImage: {{name: web, container: c, image: \"app:2\"}}
",
        deployment("web", 4, "strategy: {type: Recreate}", "")
    );
    let out = run_text("recreate", &text);
    let scaling = messages(&out, "ScalingReplicaSet");
    assert_eq!(scaling.len(), 3, "{scaling:?}");
    assert_eq!(scaling[1].0, 60.0);
    assert!(scaling[1].1.ends_with("from 4 to 0"), "{scaling:?}");
    assert_eq!(scaling[2].0, 65.0, "{scaling:?}");
    assert!(scaling[2].1.starts_with("Scaled up replica set web-"));
    assert!(scaling[2].1.ends_with("from 0 to 4"));
    // Never old and new pods at once.
    let pods = column(&out, "deploy_web_pods");
    assert!(pods.iter().all(|p| p.1 <= 4.0));
}

// progress.go: a rollout that cannot progress (pods that fit no node) reports
// ProgressDeadlineExceeded at the resync one second after lastUpdateTime + deadline.
#[test]
fn progress_deadline_exceeded_one_second_after_the_deadline() {
    let text = format!(
        "{CLUSTER}workloads:
{}",
        deployment("big", 2, "", "progressDeadlineSeconds: 30")
    )
    .replace("cpu: 100m", "cpu: \"64\"");
    let out = run_text("deadline", &text);
    let t = messages(&out, "ProgressDeadlineExceeded");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].0, 31.0);
    assert_eq!(
        t[0].1,
        format!(
            "ReplicaSet {:?} has timed out progressing.",
            out.records
                .iter()
                .find(|r| r.reason == "NewReplicaSetCreated")
                .map(|r| r
                    .message
                    .trim_start_matches("Created new replica set ")
                    .trim_matches('"')
                    .to_string())
                .unwrap()
        )
    );
}

// cleanupDeployment: old ReplicaSets beyond revisionHistoryLimit are deleted once scaled to 0.
#[test]
fn revision_history_limit_deletes_the_oldest_replica_sets() {
    let text = format!(
        "{CLUSTER}workloads:
{}timeline:
- {{at: 1m, setImage: {{name: web, container: c, image: \"app:2\"}}}}
- {{at: 2m, setImage: {{name: web, container: c, image: \"app:3\"}}}}
- {{at: 3m, setImage: {{name: web, container: c, image: \"app:4\"}}}}
",
        deployment("web", 2, "", "revisionHistoryLimit: 1")
    );
    let p = write_scenario("history", &text);
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut engine: kubesim::sim::Engine<kubesim::cluster::Event> = kubesim::sim::Engine::new(
        kubesim::sim::Limits {
            end: kubesim::sim::SimTime::from_secs(600),
            max_events: 10_000_000,
        },
        None,
    );
    let mut c = kubesim::cluster::Cluster::build(&s, &mut engine);
    engine.run_until(kubesim::sim::SimTime::from_secs(600), |ctx, ev| {
        c.handle(ctx, ev)
    });
    let rss = c.api.replicasets();
    assert_eq!(rss.len(), 2, "{:?}", rss.keys().collect::<Vec<_>>());
    let revs: Vec<&str> = rss
        .values()
        .map(|r| r.meta.annotations["deployment.kubernetes.io/revision"].as_str())
        .collect();
    let mut revs = revs;
    revs.sort();
    assert_eq!(revs, vec!["3", "4"]);
    let d = &c.api.deployments()["default/web"];
    assert_eq!(d.meta.annotations["deployment.kubernetes.io/revision"], "4");
    assert_eq!(d.status.updated_replicas, 2);
}

pub(crate) fn load_err(name: &str, text: &str) -> String {
    let p = write_scenario(name, text);
    let e = scenario::load(&p, &[]).expect_err("must fail");
    e.to_string()
}

#[test]
fn deployment_input_errors_name_the_field() {
    let d = deployment(
        "web",
        2,
        "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: oops}}",
        "",
    );
    let e = load_err("e1", &format!("{CLUSTER}workloads:\n{d}"));
    assert!(e.contains("spec.strategy.rollingUpdate.maxSurge"), "{e}");
    assert!(e.contains("a valid percent string"), "{e}");

    let d = deployment("web", 2, "strategy: {type: Recreat}", "");
    let e = load_err("e2", &format!("{CLUSTER}workloads:\n{d}"));
    assert!(
        e.contains("spec.strategy.type") && e.contains("Recreate"),
        "{e}"
    );

    let d = deployment(
        "web",
        2,
        "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}",
        "",
    );
    let e = load_err("e3", &format!("{CLUSTER}workloads:\n{d}"));
    assert!(e.contains("may not be 0 when `maxSurge` is 0"), "{e}");

    let d = deployment("web", 2, "", "");
    let e = load_err(
        "e4",
        &format!("{CLUSTER}workloads:\n{d}timeline:\n- {{at: 1m, scaleDeployment: {{name: wbe, replicas: 3}}}}\n"),
    );
    assert!(
        e.contains("timeline[0].scaleDeployment.name") && e.contains("web"),
        "{e}"
    );

    let e = load_err(
        "e5",
        &format!("{CLUSTER}workloads:\n{d}timeline:\n- {{at: 1m, setImage: {{name: web, container: cc, image: x}}}}\n"),
    );
    assert!(
        e.contains("timeline[0].setImage.container") && e.contains("did you mean `c`"),
        "{e}"
    );

    let e = load_err(
        "e6",
        &format!("{CLUSTER}workloads:\n{d}timeline:\n- {{at: 1m, duration: 1m, setImage: {{name: web, container: c, image: x}}}}\n"),
    );
    assert!(e.contains("instantaneous"), "{e}");

    let e = load_err(
        "e7",
        &format!("{CLUSTER}workloads:\n{d}expect:\n- deployment: {{name: web, progressing: NewReplicaSetAvaliable}}\n"),
    );
    assert!(e.contains("NewReplicaSetAvailable"), "{e}");
}

fn run_cluster(name: &str, text: &str, secs: u64) -> kubesim::cluster::Cluster {
    let p = write_scenario(name, text);
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let end = kubesim::sim::SimTime::from_secs(secs);
    let mut engine: kubesim::sim::Engine<kubesim::cluster::Event> = kubesim::sim::Engine::new(
        kubesim::sim::Limits {
            end,
            max_events: 10_000_000,
        },
        None,
    );
    let mut c = kubesim::cluster::Cluster::build(&s, &mut engine);
    engine.run_until(end, |ctx, ev| c.handle(ctx, ev));
    c
}

// replica_set.go ClaimPods: an orphan pod whose labels the selector matches is adopted (it
// gets the ReplicaSet as controller owner) and counts toward the replicas.
#[test]
fn replica_set_adopts_a_matching_orphan_pod() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: stray, labels: {{app: x}}}}
  spec: {{containers: [{{name: c, image: app:1}}]}}
- apiVersion: v1
  kind: Pod
  metadata: {{name: other, labels: {{app: y}}}}
  spec: {{containers: [{{name: c, image: app:1}}]}}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {{name: x}}
  spec:
    replicas: 3
    selector: {{matchLabels: {{app: x}}}}
    template:
      metadata: {{labels: {{app: x}}}}
      spec: {{containers: [{{name: c, image: app:1}}]}}
"
    );
    let c = run_cluster("adopt", &text, 30);
    let pods = c.api.pods();
    let stray = &pods["default/stray"];
    assert_eq!(
        stray
            .meta
            .controller_ref()
            .map(|o| (o.kind.as_str(), o.name.as_str())),
        Some(("ReplicaSet", "x"))
    );
    assert!(pods["default/other"].meta.controller_ref().is_none());
    let owned = pods
        .values()
        .filter(|p| p.meta.controller_ref().is_some_and(|o| o.name == "x"))
        .count();
    assert_eq!(owned, 3, "the stray pod plus two created");
    assert_eq!(c.api.replicasets()["default/x"].status.replicas, 3);
}

// A v1 ReplicationController runs the ReplicaSet controller (upstream ReplicationManager):
// plain-map selector, defaulted from the template labels when absent; events from
// `replication-controller`; a ReplicaSet of the same name is another object.
#[test]
fn replication_controller_manifest_runs_unchanged() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: ReplicationController
  metadata: {{name: nginx}}
  spec:
    replicas: 3
    selector: {{app: nginx}}
    template:
      metadata: {{labels: {{app: nginx}}}}
      spec: {{containers: [{{name: nginx, image: nginx}}]}}
- apiVersion: v1
  kind: ReplicationController
  metadata: {{name: defaulted}}
  spec:
    replicas: 1
    template:
      metadata: {{labels: {{app: d}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {{name: nginx}}
  spec:
    replicas: 1
    selector: {{matchLabels: {{app: other}}}}
    template:
      metadata: {{labels: {{app: other}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
"
    );
    let out = run_text("rc", &text);
    let creates: Vec<(&str, &str)> = out
        .records
        .iter()
        .filter(|r| r.reason == "SuccessfulCreate")
        .map(|r| (r.source, r.object.as_str()))
        .collect();
    let rc = creates
        .iter()
        .filter(|c| {
            **c == (
                "replication-controller",
                "ReplicationController/default/nginx",
            )
        })
        .count();
    assert_eq!(rc, 3, "{creates:?}");
    assert!(creates.contains(&(
        "replication-controller",
        "ReplicationController/default/defaulted"
    )));
    assert!(creates.contains(&("replicaset-controller", "ReplicaSet/default/nginx")));
    assert_eq!(out.final_pods, 5);

    let bad = text.replace(
        "selector: {app: nginx}",
        "selector: {matchLabels: {app: nginx}}",
    );
    let e = load_err("rc-bad", &bad);
    assert!(e.contains("spec.selector"), "{e}");
}

pub(crate) struct Stepper {
    engine: kubesim::sim::Engine<kubesim::cluster::Event>,
    c: kubesim::cluster::Cluster,
}

impl Stepper {
    pub(crate) fn new(name: &str, text: &str) -> Stepper {
        let p = write_scenario(name, text);
        let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        let mut engine = kubesim::sim::Engine::new(
            kubesim::sim::Limits {
                end: kubesim::sim::SimTime::ZERO + s.duration,
                max_events: 10_000_000,
            },
            None,
        );
        let c = kubesim::cluster::Cluster::build(&s, &mut engine);
        Stepper { engine, c }
    }
    pub(crate) fn to(&mut self, secs: u64) -> &kubesim::cluster::Cluster {
        let c = &mut self.c;
        self.engine
            .run_until(kubesim::sim::SimTime::from_secs(secs), |ctx, ev| {
                c.handle(ctx, ev)
            });
        &self.c
    }
}

fn gc_scenario(policy: &str) -> String {
    format!(
        "{CLUSTER}simulation: {{containerStopDelay: 5s}}
workloads:
{}timeline:
- at: 30s
  deleteObject: {{kind: Deployment, name: web, propagationPolicy: {policy}}}
",
        deployment("web", 3, "", "")
    )
}

fn counts(c: &kubesim::cluster::Cluster) -> (usize, usize, usize, usize) {
    let pods = c.api.pods();
    let terminating = pods.values().filter(|p| p.is_terminating()).count();
    (
        c.api.deployments().len(),
        c.api.replicasets().len(),
        pods.len(),
        terminating,
    )
}

// garbagecollector.go, Background: the Deployment goes at once, its ReplicaSet (dangling
// owner) next, then its pods (graceful deletion: Terminating until the kubelet stops them).
#[test]
fn deleting_a_deployment_in_background_removes_its_replica_sets_and_pods() {
    let mut s = Stepper::new("gc-bg", &gc_scenario("Background"));
    assert_eq!(counts(s.to(29)), (1, 1, 3, 0));
    assert_eq!(counts(s.to(30)), (0, 0, 3, 3));
    assert_eq!(counts(s.to(40)), (0, 0, 0, 0));
}

// Foreground: the Deployment and its ReplicaSet stay (deletionTimestamp, foregroundDeletion
// finalizer) until every pod object is gone; then the ReplicaSet, then the Deployment.
#[test]
fn deleting_a_deployment_in_foreground_waits_for_its_pods() {
    let mut s = Stepper::new("gc-fg", &gc_scenario("Foreground"));
    let c = s.to(30);
    assert_eq!(counts(c), (1, 1, 3, 3));
    let d = &c.api.deployments()["default/web"];
    assert!(d.meta.deletion_timestamp.is_some());
    assert_eq!(d.meta.finalizers, vec!["foregroundDeletion".to_string()]);
    let rs = c.api.replicasets().values().next().unwrap();
    assert_eq!(rs.meta.finalizers, vec!["foregroundDeletion".to_string()]);
    assert_eq!(counts(s.to(34)), (1, 1, 3, 3));
    assert_eq!(counts(s.to(40)), (0, 0, 0, 0));
}

// Orphan: the owner references are removed from the ReplicaSet, which keeps its pods running.
#[test]
fn deleting_a_deployment_with_orphan_keeps_its_replica_set_and_pods() {
    let mut s = Stepper::new("gc-orphan", &gc_scenario("Orphan"));
    let c = s.to(60);
    assert_eq!(counts(c), (0, 1, 3, 0));
    let rs = c.api.replicasets().values().next().unwrap();
    assert!(rs.meta.owner_references.is_empty());
    assert!(rs.meta.deletion_timestamp.is_none());
    assert!(c
        .api
        .pods()
        .values()
        .all(|p| p.status.phase == kubesim::model::PodPhase::Running));
}

#[test]
fn delete_object_input_errors() {
    let bad = gc_scenario("Foregrund");
    let e = load_err("gc-e1", &bad);
    assert!(
        e.contains("deleteObject.propagationPolicy") && e.contains("Foreground"),
        "{e}"
    );
    let bad = gc_scenario("Orphan").replace("name: web, propagation", "name: wbe, propagation");
    let e = load_err("gc-e2", &bad);
    assert!(e.contains("deleteObject.name") && e.contains("web"), "{e}");
    let bad =
        gc_scenario("Orphan").replace("kind: Deployment, name: web", "kind: Deploy, name: web");
    let e = load_err("gc-e3", &bad);
    assert!(
        e.contains("deleteObject.kind") && e.contains("Deployment"),
        "{e}"
    );
}

fn daemonset_scenario(timeline: &str) -> String {
    format!(
        "name: ds
seed: 3
duration: 15m
cluster:
  nodePools:
  - name: w
    count: 3
    capacity: {{cpu: \"4\", memory: 16Gi}}
  - name: gpu
    count: 1
    capacity: {{cpu: \"4\", memory: 16Gi}}
    taints: [{{key: dedicated, value: gpu, effect: NoSchedule}}]
workloads:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {{name: agent, namespace: kube-system}}
  spec:
    selector: {{matchLabels: {{app: agent}}}}
    updateStrategy: {{type: RollingUpdate}}
    template:
      metadata: {{labels: {{app: agent}}}}
      spec:
        containers: [{{name: agent, image: agent:1}}]
timeline:
{timeline}"
    )
}

fn daemon_pods(c: &kubesim::cluster::Cluster) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = c
        .api
        .pods()
        .values()
        .filter(|p| p.meta.labels.get("app").map(String::as_str) == Some("agent"))
        .map(|p| {
            (
                p.spec.node_name.clone().unwrap_or_default(),
                p.is_terminating(),
            )
        })
        .collect();
    v.sort();
    v
}

// daemon_controller.go: one pod per eligible node, bound by the scheduler through the
// metadata.name node affinity; a NoSchedule taint it does not tolerate keeps a node out until
// the taint goes; an untolerated NoExecute taint removes its pod; not-ready/unreachable are
// tolerated forever, so a crashed node's daemon pod is never evicted.
#[test]
fn daemonset_runs_one_pod_per_eligible_node() {
    let timeline = "- at: 1m
  duration: 2m
  taintNodes: {nodes: [w-0], taint: \"evict=now:NoExecute\"}
- at: 4m
  nodeCrash: {nodes: [w-1]}
";
    let mut s = Stepper::new("ds", &daemonset_scenario(timeline));
    let c = s.to(30);
    let pods = daemon_pods(c);
    assert_eq!(
        pods,
        vec![
            ("w-0".to_string(), false),
            ("w-1".to_string(), false),
            ("w-2".to_string(), false)
        ]
    );
    let p = c
        .api
        .pods()
        .values()
        .find(|p| p.spec.node_name.as_deref() == Some("w-0"))
        .unwrap();
    assert!(p
        .spec
        .tolerations
        .iter()
        .any(|t| t.key == "node.kubernetes.io/unreachable" && t.toleration_seconds.is_none()));
    let ds = &c.api.daemonsets()["kube-system/agent"];
    assert_eq!(ds.status.desired_number_scheduled, 3);
    assert_eq!(ds.status.number_ready, 3);
    // The NoExecute taint on w-0: its pod is deleted; back when the taint goes.
    let c = s.to(61);
    assert!(
        daemon_pods(c).iter().all(|(n, _)| n != "w-0"),
        "{:?}",
        daemon_pods(c)
    );
    let c = s.to(200);
    assert_eq!(
        daemon_pods(c)
            .iter()
            .filter(|(n, t)| n == "w-0" && !t)
            .count(),
        1
    );
    // The crash of w-1: unreachable is tolerated forever, no eviction by 14 min.
    let c = s.to(840);
    assert_eq!(
        daemon_pods(c)
            .iter()
            .filter(|(n, t)| n == "w-1" && !t)
            .count(),
        1,
        "{:?}",
        daemon_pods(c)
    );
    assert_eq!(daemon_pods(c).len(), 3);
}

fn statefulset_text(policy: &str) -> String {
    format!(
        "{CLUSTER}simulation: {{containerStartDelay: {{min: 3s, max: 3s}}}}
workloads:
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {{name: db}}
  spec:
    serviceName: db
    replicas: 3
    podManagementPolicy: {policy}
    volumeClaimTemplates: []
    selector: {{matchLabels: {{app: db}}}}
    template:
      metadata: {{labels: {{app: db}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
"
    )
}

// stateful_set_control.go: OrderedReady creates db-N only once db-(N-1) is Running and Ready
// (3 s container start: 0, 3, 6 s); Parallel creates all at once. Names are `<set>-<ordinal>`.
#[test]
fn statefulset_ordered_ready_and_parallel_creation() {
    let text = statefulset_text("OrderedReady");
    let out = run_text("sts-ordered", &text);
    let creates = messages(&out, "SuccessfulCreate");
    assert_eq!(
        creates,
        vec![
            (
                0.0,
                "create Pod db-0 in StatefulSet db successful".to_string()
            ),
            (
                3.0,
                "create Pod db-1 in StatefulSet db successful".to_string()
            ),
            (
                6.0,
                "create Pod db-2 in StatefulSet db successful".to_string()
            ),
        ]
    );
    let text = statefulset_text("Parallel");
    let out = run_text("sts-parallel", &text);
    let times: Vec<f64> = messages(&out, "SuccessfulCreate")
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(times, vec![0.0, 0.0, 0.0]);
    let e = load_err("sts-bad", &statefulset_text("Paralel"));
    assert!(
        e.contains("spec.podManagementPolicy") && e.contains("Parallel"),
        "{e}"
    );
}

// kubectl rollout undo: the previous revision's template comes back; the Deployment controller
// finds that old ReplicaSet as the new one, bumps its revision (1 → 3) and scales it up again.
#[test]
fn rollback_restores_the_previous_replica_set() {
    let text = format!(
        "{CLUSTER}workloads:
{}timeline:
- {{at: 1m, setImage: {{name: web, container: c, image: \"app:2\"}}}}
- {{at: 3m, rollbackDeployment: {{name: web}}}}
- {{at: 5m, rollbackDeployment: {{name: web, toRevision: 9}}}}
",
        deployment("web", 3, "", "")
    );
    let mut s = Stepper::new("rollback", &text);
    let c = s.to(120);
    let first = c
        .api
        .replicasets()
        .values()
        .find(|r| r.template.spec.containers[0].image == "app:1")
        .unwrap()
        .meta
        .name
        .clone();
    let c = s.to(400);
    let rss = c.api.replicasets();
    let old = rss.values().find(|r| r.meta.name == first).unwrap();
    assert_eq!(
        old.meta.annotations["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(old.replicas, 3);
    let other = rss.values().find(|r| r.meta.name != first).unwrap();
    assert_eq!(other.replicas, 0);
    let d = &c.api.deployments()["default/web"];
    assert_eq!(d.template.spec.containers[0].image, "app:1");
    assert_eq!(d.meta.annotations["deployment.kubernetes.io/revision"], "3");
    let text2 = text.clone();
    let out = run_text("rollback-log", &text2);
    let failed = messages(&out, "ActionFailed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]
            .1
            .ends_with("unable to find specified revision 9 in history"),
        "{failed:?}"
    );
    let applied = messages(&out, "ActionApplied");
    assert_eq!(applied[1].1, "kubectl rollout undo deployment/web");
}

// summary.json availability: per fault, the lowest available replicas of each Deployment and
// the sampled time below desired.
#[test]
fn fault_summary_reports_deployment_availability() {
    let text = format!(
        "name: avail
seed: 4
duration: 12m
cluster:
  nodePools:
  - name: w
    count: 2
    zones: [a, b, c]
    capacity: {{cpu: \"4\", memory: 16Gi}}
output: {{sampleInterval: 1s}}
workloads:
{}timeline:
- at: 58s
  duration: 542s
  nodeCrash: {{nodes: [w-a-0]}}
",
        deployment("web", 6, "", "")
    );
    let p = write_scenario("avail", &text);
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&s, &RunOptions::default());
    let summary: serde_json::Value =
        serde_json::from_slice(&kubesim::output::summary_json(&s, &out)).unwrap();
    let w = &summary["faults"][0]["workloads"][0];
    assert_eq!(w["deployment"], "web");
    // One pod per node: the crashed node's pod is unavailable from the moment the Deployment
    // sees it not ready (node not ready at 110 s) until its replacement runs after 410 s.
    assert_eq!(w["min_available"], 5);
    let below: f64 = w["seconds_below_desired"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(below > 290.0 && below < 320.0, "{below}");
}

// deployment_controller.go getReplicaSetsForDeployment (ClaimReplicaSets): a ReplicaSet
// without a controller whose labels the selector matches is adopted, and, being an old
// revision, scaled down by the rollout.
#[test]
fn deployment_adopts_a_matching_orphan_replica_set() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {{name: legacy, labels: {{app: web}}}}
  spec:
    replicas: 2
    selector: {{matchLabels: {{app: web, gen: old}}}}
    template:
      metadata: {{labels: {{app: web, gen: old}}}}
      spec: {{containers: [{{name: c, image: app:0}}]}}
{}",
        deployment("web", 3, "", "")
    );
    let c = run_cluster("adopt-rs", &text, 120);
    let legacy = &c.api.replicasets()["default/legacy"];
    assert_eq!(
        legacy
            .meta
            .controller_ref()
            .map(|o| (o.kind.as_str(), o.name.as_str())),
        Some(("Deployment", "web"))
    );
    assert_eq!(legacy.replicas, 0);
    let d = &c.api.deployments()["default/web"];
    assert_eq!(d.status.updated_replicas, 3);
    assert_eq!(d.status.replicas, 3);
}
