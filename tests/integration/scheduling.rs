//! Scheduler inputs: the scheduling fields of Pod and Node manifests, KubeSchedulerConfiguration
//! profiles, and `kubesim explain`.

use kubesim::model::*;
use kubesim::scenario::{self, Workload};

use crate::support::*;

const HEAD: &str = "duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"2\", memory: 4Gi}}
";

fn load_pod(spec_yaml: &str) -> Result<Pod, String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = scratch(&format!("sched-manifests-{n}"));
    std::fs::write(
        dir.join("pod.yaml"),
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p, labels: {{app: web}}}}\nspec:\n{spec_yaml}"),
    )
    .unwrap();
    let path = dir.join("s.yaml");
    std::fs::write(&path, format!("{HEAD}workloads:\n- file: pod.yaml\n")).unwrap();
    let s = scenario::load(&path, &[]).map_err(|e| e.to_string())?;
    match s.workloads.into_iter().next() {
        Some(Workload::Pod(p)) => Ok(p),
        _ => Err("no pod".into()),
    }
}

#[test]
fn pod_scheduling_fields_load() {
    let p = load_pod(
        "  containers:
  - name: c
    image: nginx
    ports: [{containerPort: 80, hostPort: 8080}]
  preemptionPolicy: Never
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: gen, operator: Gt, values: [\"3\"]}]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 10
        preference: {matchExpressions: [{key: disk, operator: In, values: [ssd]}]}
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKey: kubernetes.io/hostname
  topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}, minDomains: 3}
",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(p.spec.preemption_never);
    assert_eq!(p.spec.containers[0].ports[0].host_port, 8080);
    assert_eq!(p.spec.containers[0].ports[0].protocol, "TCP");
    let a = p.spec.affinity.as_ref().unwrap();
    let na = a.node_affinity.as_ref().unwrap();
    assert_eq!(
        na.required.as_ref().unwrap()[0].match_expressions[0].operator,
        NodeSelectorOperator::Gt
    );
    assert_eq!(na.preferred[0].weight, 10);
    assert_eq!(
        a.pod_anti_affinity.as_ref().unwrap().required[0].topology_key,
        LABEL_HOSTNAME
    );
    let c = &p.spec.topology_spread_constraints[0];
    assert_eq!(c.min_domains, Some(3));
    assert_eq!(c.when_unsatisfiable, WhenUnsatisfiable::DoNotSchedule);
    assert!(c.node_affinity_honor && !c.node_taints_honor);
}

#[test]
fn bad_scheduling_fields_are_input_errors_with_suggestions() {
    let e = load_pod(
        "  containers: [{name: c, image: nginx}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: gen, operator: Gtt, values: [\"3\"]}]
",
    )
    .unwrap_err();
    assert!(e.contains("matchExpressions[0].operator"), "{e}");
    assert!(e.contains("did you mean `Gt`"), "{e}");
    let e = load_pod(
        "  containers: [{name: c, image: nginx}]
  topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyways}
",
    )
    .unwrap_err();
    assert!(e.contains("did you mean `ScheduleAnyway`"), "{e}");
    let e = load_pod(
        "  containers: [{name: c, image: nginx}]
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKye: zone
",
    )
    .unwrap_err();
    assert!(e.contains("topologyKey"), "{e}");
}
