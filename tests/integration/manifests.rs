//! Real Kubernetes manifests as input: multi-document files, `kind: List`, `kubectl get -o yaml`
//! dumps, Node objects; unmodelled fields warn once; Kubernetes' defaulting applies.

use kubesim::model::*;
use kubesim::scenario::{self, Workload};

use crate::support::*;

const HEAD: &str = "duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"2\", memory: 4Gi}}
";

#[test]
fn multi_document_files_lists_and_kubectl_dumps_load() {
    let dir = scratch("manifests");
    std::fs::write(
        dir.join("app.yaml"),
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: team\nspec:\n  volumes: [{name: v, emptyDir: {}}]\n  containers:\n  - name: c\n    image: busybox\n    resources:\n      limits: {cpu: 500m, memory: 64Mi}\n---\n# an empty document\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec:\n    volumes: []\n    containers: [{name: c, image: busybox}]\n- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: rs}\n  spec:\n    selector: {matchLabels: {app: x}}\n    template:\n      metadata: {labels: {app: x}}\n      spec: {containers: [{name: c, image: busybox}]}\n",
    )
    .unwrap();
    // As `kubectl get pod -o yaml` prints it: server-populated fields and status.
    std::fs::write(
        dir.join("dump.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dumped\n  namespace: default\n  uid: 0d6e4a52-1111-2222-3333-444455556666\n  resourceVersion: \"12345\"\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  managedFields: [{manager: kubectl, operation: Update}]\nspec:\n  containers:\n  - name: c\n    image: nginx\n    imagePullPolicy: IfNotPresent\n    terminationMessagePath: /dev/termination-log\n  dnsPolicy: ClusterFirst\n  restartPolicy: Always\n  schedulerName: default-scheduler\n  terminationGracePeriodSeconds: 30\nstatus:\n  phase: Pending\n  qosClass: BestEffort\n",
    )
    .unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(
        &p,
        format!("{HEAD}workloads:\n- file: app.yaml\n- file: dump.yaml\n"),
    )
    .unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = s
        .workloads
        .iter()
        .map(|w| match w {
            Workload::Pod(p) => format!("Pod/{}", p.key()),
            Workload::ReplicaSet(r) => format!("ReplicaSet/{}", r.key()),
            Workload::Deployment(d) => format!("Deployment/{}", d.key()),
            Workload::DaemonSet(d) => format!("DaemonSet/{}", d.key()),
            Workload::StatefulSet(d) => format!("StatefulSet/{}", d.key()),
            Workload::PodDisruptionBudget(b) => format!("PodDisruptionBudget/{}", b.key()),
            Workload::Service(x) => format!("Service/{}", x.key()),
            Workload::Namespace(x) => format!("Namespace/{}", x.meta.name),
            Workload::NamespacedObject(x) => format!("{}/{}", x.kind, x.key()),
            Workload::Job(j) => format!("Job/{}", j.key()),
            Workload::CronJob(c) => format!("CronJob/{}", c.key()),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "Pod/team/a",
            "Pod/default/b",
            "ReplicaSet/default/rs",
            "Pod/default/dumped"
        ]
    );
    // `volumes` appears in two pods but is reported once.
    assert_eq!(
        s.warnings
            .iter()
            .filter(|w| w.contains("spec.volumes"))
            .count(),
        1,
        "{:?}",
        s.warnings
    );
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("metadata.managedFields")));
    // Defaulting: requests default to limits; ReplicaSet replicas default to 1.
    let Workload::Pod(a) = &s.workloads[0] else {
        panic!()
    };
    assert_eq!(a.spec.containers[0].requests.cpu_milli, 500);
    assert_eq!(a.spec.containers[0].requests.memory, 64 << 20);
    assert_eq!(a.spec.restart_policy, RestartPolicy::Always);
    assert_eq!(a.spec.termination_grace_period_seconds, 30);
    let Workload::ReplicaSet(rs) = &s.workloads[2] else {
        panic!()
    };
    assert_eq!(rs.replicas, 1);
}

#[test]
fn node_manifests_set_size_labels_and_taints() {
    let dir = scratch("nodes");
    let p = dir.join("s.yaml");
    std::fs::write(
        &p,
        "duration: 1m\ncluster:\n  nodes:\n  - apiVersion: v1\n    kind: Node\n    metadata:\n      name: n1\n      labels: {topology.kubernetes.io/zone: z1}\n    spec:\n      taints: [{key: dedicated, value: gpu, effect: NoSchedule}]\n    status:\n      capacity: {cpu: \"8\", memory: 32Gi, nvidia.com/gpu: \"2\"}\n      allocatable: {cpu: 7500m, memory: 30Gi, nvidia.com/gpu: \"2\"}\n",
    )
    .unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let n = &s.nodes[0];
    assert_eq!(n.status.allocatable.cpu_milli, 7500);
    assert_eq!(n.status.allocatable.memory, 30 << 30);
    assert_eq!(
        n.status.allocatable.pods, 110,
        "the kubelet's default maxPods"
    );
    assert_eq!(n.status.allocatable.scalar["nvidia.com/gpu"], 2);
    assert_eq!(n.zone_label(), "z1");
    assert_eq!(n.meta.labels[LABEL_HOSTNAME], "n1");
    assert_eq!(n.spec.taints[0].to_text(), "dedicated=gpu:NoSchedule");
}

#[test]
fn default_toleration_seconds_are_added_at_admission() {
    // Reference node-lifecycle §5.2: a pod without not-ready/unreachable tolerations gets both,
    // with the kube-apiserver flags' seconds.
    let s = load(
        &quick_start(),
        &["kube-apiserver.default-not-ready-toleration-seconds=120"],
    );
    let cluster_pods = {
        let mut engine = kubesim::sim::Engine::new(
            kubesim::sim::Limits {
                end: kubesim::sim::SimTime::from_secs(1),
                max_events: 1_000_000,
            },
            None,
        );
        let mut c = kubesim::cluster::Cluster::build(&s, &mut engine);
        engine.run_until(kubesim::sim::SimTime::from_secs(1), |ctx, ev| {
            c.handle(ctx, ev)
        });
        c.api.pods().values().cloned().collect::<Vec<_>>()
    };
    assert_eq!(cluster_pods.len(), 12);
    for p in cluster_pods {
        let secs: Vec<(String, Option<i64>)> = p
            .spec
            .tolerations
            .iter()
            .map(|t| (t.key.clone(), t.toleration_seconds))
            .collect();
        assert_eq!(
            secs,
            vec![
                (TAINT_NOT_READY.to_string(), Some(120)),
                (TAINT_UNREACHABLE.to_string(), Some(300))
            ]
        );
    }
}

#[test]
fn pod_status_phase_sets_the_starting_state_and_a_misspelt_phase_is_an_error() {
    let dir = scratch("pod-phase");
    let pod = |phase: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: done}}\nspec:\n  containers: [{{name: c, image: busybox}}]\nstatus:\n  phase: {phase}\n")
    };
    std::fs::write(dir.join("pod.yaml"), pod("Failed")).unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(&p, format!("{HEAD}workloads:\n- file: pod.yaml\n")).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    match &s.workloads[0] {
        Workload::Pod(p) => assert_eq!(p.status.phase, PodPhase::Failed),
        _ => panic!("a pod"),
    }
    std::fs::write(dir.join("pod.yaml"), pod("Faild")).unwrap();
    let err = scenario::load(&p, &[])
        .expect_err("misspelt phase")
        .to_string();
    assert!(
        err.contains("status.phase") && err.contains("Failed"),
        "{err}"
    );
}

/// kube-scheduler's informer leaves out pods in a terminal phase (field selector
/// `status.phase!=Succeeded,status.phase!=Failed`), so a Failed pod's requests do not keep a
/// new pod off its node.
#[test]
fn failed_pods_hold_no_node_resources_for_the_scheduler() {
    let dir = scratch("failed-frees");
    std::fs::write(
        dir.join("pods.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: done}\n  spec:\n    nodeName: w-0\n    containers: [{name: c, image: busybox, resources: {requests: {cpu: \"2\"}}}]\n  status: {phase: Failed}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: next}\n  spec:\n    containers: [{name: c, image: busybox, resources: {requests: {cpu: \"2\"}}}]\n",
    )
    .unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(&p, format!("{HEAD}workloads:\n- file: pods.yaml\n")).unwrap();
    let out = run_with(&p, &[], None);
    let scheduled: Vec<&str> = out
        .records
        .iter()
        .filter(|r| r.reason == "Scheduled")
        .map(|r| r.object.as_str())
        .collect();
    assert_eq!(scheduled, vec!["Pod/default/next"]);
}
