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
    match s.spec.workloads.into_iter().next() {
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

fn load_config(cfg: &str) -> Result<kubesim::scheduler::SchedulerConfig, String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = scratch(&format!("sched-config-{n}"));
    std::fs::write(
        dir.join("sched.yaml"),
        format!(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n{cfg}"
        ),
    )
    .unwrap();
    let path = dir.join("s.yaml");
    std::fs::write(
        &path,
        format!("{HEAD}components:\n  kube-scheduler: {{config: sched.yaml}}\n"),
    )
    .unwrap();
    scenario::load(&path, &[])
        .map(|s| s.spec.scheduler)
        .map_err(|e| e.to_string())
}

#[test]
fn scheduler_profiles_plugins_weights_and_args_load() {
    use kubesim::scheduler::framework::Plugin;
    use kubesim::scheduler::plugins::node_resources_fit::ScoringStrategy;
    let c = load_config(
        "percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
clientConnection: {qps: 5000, burst: 5000}
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      disabled: [{name: ImageLocality}]
    score:
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 2}, {name: nvidia.com/gpu, weight: 5}]
  - name: PodTopologySpread
    args:
      defaultingType: List
      defaultConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
- schedulerName: bin-packer
  percentageOfNodesToScore: 100
  plugins:
    multiPoint:
      disabled: [{name: '*'}]
      enabled: [{name: NodeResourcesFit, weight: 1}, {name: TaintToleration}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: RequestedToCapacityRatio
        resources: [{name: cpu, weight: 1}]
        requestedToCapacityRatio:
          shape: [{utilization: 0, score: 0}, {utilization: 100, score: 10}]
",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.percentage_of_nodes_to_score, 30);
    assert_eq!(c.pod_max_backoff, kubesim::sim::SimDuration::from_secs(20));
    assert_eq!((c.client_qps, c.client_burst), (5000.0, 5000));
    assert_eq!(c.profiles.len(), 2);
    let d = &c.profiles[0];
    assert!(!d.scores.iter().any(|(p, _)| *p == Plugin::ImageLocality));
    assert!(d.scores.contains(&(Plugin::NodeResourcesFit, 5)));
    assert!(d.scores.contains(&(Plugin::TaintToleration, 3)));
    assert_eq!(d.fit.strategy, ScoringStrategy::MostAllocated);
    assert_eq!(
        d.fit.resources,
        vec![("cpu".to_string(), 2), ("nvidia.com/gpu".to_string(), 5)]
    );
    assert!(!d.spread.system_defaulted);
    assert_eq!(d.spread.default_constraints.len(), 1);
    let b = &c.profiles[1];
    assert_eq!(b.scheduler_name, "bin-packer");
    assert_eq!(b.percentage_of_nodes_to_score, Some(100));
    assert_eq!(
        b.filters,
        vec![Plugin::TaintToleration, Plugin::NodeResourcesFit]
    );
    assert_eq!(
        b.scores,
        vec![(Plugin::TaintToleration, 3), (Plugin::NodeResourcesFit, 1)]
    );
    assert_eq!(
        b.fit.strategy,
        ScoringStrategy::RequestedToCapacityRatio(vec![(0, 0), (100, 10)])
    );
}

#[test]
fn unknown_plugins_and_args_are_input_errors_at_their_line_with_suggestions() {
    let e = load_config(
        "profiles:
- plugins:
    score:
      enabled:
      - name: NodeResourceFit
",
    )
    .unwrap_err();
    assert!(e.contains("sched.yaml:7:"), "{e}");
    assert!(e.contains("did you mean `NodeResourcesFit`"), "{e}");
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        typ: MostAllocated
",
    )
    .unwrap_err();
    assert!(e.contains("sched.yaml:8:"), "{e}");
    assert!(e.contains("did you mean `type`"), "{e}");
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: PodTopologySpread
    args: {defaultingType: Lists}
",
    )
    .unwrap_err();
    assert!(e.contains("did you mean `List`"), "{e}");
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        resources: [{name: cpu, weight: 101}]
",
    )
    .unwrap_err();
    assert!(
        e.contains("profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight"),
        "{e}"
    );
    let e = load_config("percentageOfNodesToScore: 101\n").unwrap_err();
    assert!(e.contains("percentageOfNodesToScore"), "{e}");
}

// DefaultPreemptionArgs: defaults 10 % / 100, a half-given pair keeps the other default,
// and upstream's ValidateDefaultPreemptionArgs ranges (validation_pluginargs.go).
#[test]
fn default_preemption_args_load_and_validate() {
    use kubesim::scheduler::preemption::PreemptionArgs;
    let c = load_config(
        "profiles:
- pluginConfig:
  - name: DefaultPreemption
    args: {minCandidateNodesPercentage: 40}
",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.profiles[0].preemption_args,
        PreemptionArgs {
            min_candidate_nodes_percentage: 40,
            min_candidate_nodes_absolute: 100
        }
    );
    let c = load_config("profiles:\n- schedulerName: default-scheduler\n").unwrap();
    assert_eq!(c.profiles[0].preemption_args, PreemptionArgs::default());
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: DefaultPreemption
    args: {minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0}
",
    )
    .unwrap_err();
    assert!(
        e.contains("cannot be zero at the same time as minCandidateNodesAbsolute"),
        "{e}"
    );
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: DefaultPreemption
    args: {minCandidateNodesPercentage: 101}
",
    )
    .unwrap_err();
    assert!(
        e.contains("profiles[0].pluginConfig[0].args.minCandidateNodesPercentage"),
        "{e}"
    );
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: DefaultPreemption
    args: {minCandidateNodesAbsolute: -1}
",
    )
    .unwrap_err();
    assert!(e.contains("minCandidateNodesAbsolute"), "{e}");
}

// NodeAffinityArgs.addedAffinity (node_affinity.go New; ValidateNodeAffinityArgs parses the
// terms): required terms and preferred terms land in the profile; a bad operator is an error
// at its field path with a suggestion.
#[test]
fn node_affinity_added_affinity_loads_and_validates() {
    let c = load_config(
        "profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [zone-a]}]
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 3
          preference:
            matchExpressions: [{key: disk, operator: Exists}]
",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let na = &c.profiles[0].node_affinity;
    assert_eq!(na.added_required.as_ref().map(|t| t.len()), Some(1));
    assert_eq!(na.added_preferred.len(), 1);
    assert_eq!(na.added_preferred[0].weight, 3);
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{key: zone, operator: Inn, values: [a]}]
",
    )
    .unwrap_err();
    assert!(
        e.contains("profiles[0].pluginConfig[0].args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"),
        "{e}"
    );
    assert!(e.contains("`In`"), "{e}");
    let e = load_config(
        "profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerm: []
",
    )
    .unwrap_err();
    assert!(e.contains("did you mean `nodeSelectorTerms`"), "{e}");
}

// Version profile: NodeResourcesBalancedAllocation's PreScore skips best-effort pods from
// v1.33 (PR #130260, reference scheduler §2.4); 1.27–1.32 score them.
#[test]
fn balanced_allocation_best_effort_skip_follows_the_version_profile() {
    for (version, skip) in [
        ("1.32", false),
        ("1.33", true),
        ("1.27", false),
        ("1.34", true),
    ] {
        let dir = scratch(&format!("balanced-version-{version}"));
        let path = dir.join("s.yaml");
        std::fs::write(&path, format!("kubernetesVersion: \"{version}\"\n{HEAD}")).unwrap();
        let s = scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(s
            .scheduler
            .profiles
            .iter()
            .all(|p| p.balanced.skip_best_effort == skip));
    }
}

fn kubesim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

// docs/explain.md schema, on the bundled example files.
#[test]
fn explain_json_matches_the_documented_schema() {
    let out = kubesim(&[
        "explain",
        "--cluster",
        "docs/examples/explain/cluster.yaml",
        "--pod",
        "docs/examples/explain/pod.yaml",
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pod"], "default/web-2");
    assert_eq!(v["selected"], "node-a");
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for n in nodes {
        let mut keys: Vec<&str> = n.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(keys, vec!["feasible", "filters", "name", "scores", "total"]);
        if n["feasible"] == true {
            let mut sum = 0;
            for (_, s) in n["scores"].as_object().unwrap() {
                let w = s["normalized"].as_i64().unwrap() * s["weight"].as_i64().unwrap();
                assert_eq!(s["weighted"].as_i64().unwrap(), w);
                sum += w;
            }
            assert_eq!(n["total"].as_i64().unwrap(), sum);
        } else {
            assert!(n["total"].is_null());
            assert_eq!(n["filters"][0]["plugin"], "TaintToleration");
        }
    }
    // --all-nodes scores the tainted node too, but does not choose it.
    let out = kubesim(&[
        "explain",
        "--cluster",
        "docs/examples/explain/cluster.yaml",
        "--pod",
        "docs/examples/explain/pod.yaml",
        "--all-nodes",
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["total"].is_i64()));
    assert_eq!(v["selected"], "node-a");
}

#[test]
fn explain_on_a_scenario_at_a_time() {
    // A pod the run scheduled (names are generated from the scenario's seed).
    let run = run_with(&quick_start(), &[], None);
    let log = String::from_utf8(run.events_jsonl()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("\"reason\":\"Scheduled\""))
        .unwrap();
    let name = line
        .split("Pod/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let typo = &name[..name.len() - 1];
    let out = kubesim(&[
        "explain",
        "scenarios/quick-start.yaml",
        "--at",
        "60s",
        "--pod",
        typo,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("did you mean `{name}`")), "{err}");
    let out = kubesim(&[
        "explain",
        "scenarios/quick-start.yaml",
        "--at",
        "60s",
        "--pod",
        &name,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pod"], name.as_str());
    assert_eq!(v["nodes"].as_array().unwrap().len(), 6);
    assert!(v["selected"].is_string());
}

// Reference scheduler §5: a high-priority pod (via its PriorityClass) that fits nowhere
// preempts the two least important pods it needs gone, is nominated, and binds after they
// terminate; preemptionPolicy Never and a missing class are handled.
#[test]
fn priority_classes_and_preemption() {
    let dir = scratch("sched-preemption");
    let low = |name: &str, prio: &str| {
        format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: {name}}}\n  spec:\n    nodeName: worker-zone-a-0\n    priorityClassName: {prio}\n    containers: [{{name: c, image: nginx, resources: {{requests: {{cpu: \"1\"}}}}}}]\n"
        )
    };
    let scenario = |high_policy: &str| {
        format!(
            "duration: 3m
seed: 3
cluster:
  nodePools:
  - {{name: worker, count: 1, zones: [zone-a], capacity: {{cpu: \"4\", memory: 16Gi, pods: \"110\"}}}}
workloads:
- apiVersion: scheduling.k8s.io/v1
  kind: PriorityClass
  metadata: {{name: high}}
  value: 1000
  preemptionPolicy: {high_policy}
- apiVersion: scheduling.k8s.io/v1
  kind: PriorityClass
  metadata: {{name: low}}
  value: 10
  globalDefault: true
{}{}{}{}- apiVersion: v1
  kind: Pod
  metadata: {{name: high}}
  spec:
    priorityClassName: high
    containers: [{{name: c, image: nginx, resources: {{requests: {{cpu: \"1500m\"}}}}}}]
",
            low("low-a", "low"),
            low("low-b", "low"),
            low("low-c", "low"),
            low("mid", "system-cluster-critical"),
        )
    };
    let path = dir.join("preempt.yaml");
    std::fs::write(&path, scenario("PreemptLowerPriority")).unwrap();
    let out = run_with(&path, &[], None);
    let log = String::from_utf8(out.events_jsonl()).unwrap();
    let preempted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"reason\":\"Preempted\""))
        .collect();
    assert_eq!(preempted.len(), 2, "{log}");
    assert!(
        preempted.iter().all(|l| !l.contains("Pod/default/mid")),
        "the critical pod is never a victim"
    );
    assert!(
        log.contains("Successfully assigned default/high to worker-zone-a-0"),
        "{log}"
    );
    // preemptionPolicy Never: the pod waits, nothing is preempted.
    std::fs::write(&path, scenario("Never")).unwrap();
    let out = run_with(&path, &[], None);
    let log = String::from_utf8(out.events_jsonl()).unwrap();
    assert!(!log.contains("\"reason\":\"Preempted\""));
    assert!(
        log.contains("0/1 nodes are available: 1 Insufficient cpu."),
        "{log}"
    );
    // A class that does not exist is an input error with a suggestion.
    std::fs::write(
        &path,
        scenario("Never").replace("priorityClassName: high", "priorityClassName: hihg"),
    )
    .unwrap();
    let e = scenario::load(&path, &[]).unwrap_err().to_string();
    assert!(
        e.contains("no PriorityClass with name hihg was found"),
        "{e}"
    );
    assert!(e.contains("did you mean `high`"), "{e}");
}

// docs/scheduler-model.md: cycles take virtual time, and binds go through the client rate
// limit (default QPS 50, burst 100): 150 pods need (150 − 100) / 50 = 1 s beyond the burst.
// The ReplicaSet controller's own budget (kube-api-qps) is lifted so that all 150 pods exist
// at t = 0 and only the scheduler's limit shows.
#[test]
fn scheduling_takes_virtual_time_and_binds_are_rate_limited() {
    let dir = scratch("sched-ratelimit");
    let rs = "- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web}
  spec:
    replicas: 150
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: c, image: nginx, resources: {requests: {cpu: 10m}}}]}
";
    let last_bind = |extra: &str| {
        let path = dir.join(format!("rl{}.yaml", extra.len()));
        std::fs::write(
            &path,
            format!(
                "duration: 1m
cluster:
  nodePools:
  - {{name: w, count: 10, capacity: {{cpu: \"32\", memory: 64Gi, pods: \"110\"}}}}
{extra}workloads:
{rs}"
            ),
        )
        .unwrap();
        let out = run_with(&path, &[], None);
        let log = String::from_utf8(out.events_jsonl()).unwrap();
        let times: Vec<u64> = log
            .lines()
            .filter(|l| l.contains("\"reason\":\"Scheduled\""))
            .map(|l| {
                l.split("\"t_ns\":")
                    .nth(1)
                    .unwrap()
                    .split(',')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(times.len(), 150);
        assert!(
            times.windows(2).all(|w| w[1] > w[0]),
            "every cycle takes time"
        );
        times[149] - times[0]
    };
    let unlimited_kcm = "components:\n  kube-controller-manager: {kube-api-qps: -1}\n";
    let limited = last_bind(unlimited_kcm);
    assert!(
        (1_000_000_000..1_100_000_000).contains(&limited),
        "{limited} ns"
    );
    std::fs::write(
        dir.join("qps.yaml"),
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection: {qps: 5000, burst: 5000}\n",
    )
    .unwrap();
    let fast = last_bind(&format!(
        "{unlimited_kcm}  kube-scheduler: {{config: qps.yaml}}\n"
    ));
    assert!(fast < 200_000_000, "{fast} ns");
}

// Issue 4 acceptance, second half: at 5,000 nodes kube-scheduler scores only the adaptive
// percentage of nodes (50 − 5000/125 = 10 %: 500, reference scheduler §3.1) from a rotating
// start, yet the system default spreading still balances a Deployment across zones. The
// tolerance is upstream's e2e check for a replicated workload over zones
// (test/e2e/scheduling/ubernetes_lite.go SpreadRCOrFail → checkZoneSpreading: at most 2
// pods between the fullest and the emptiest zone), here with 10 replicas per zone.
#[test]
fn zone_spreading_at_5000_nodes_with_adaptive_sampling_stays_within_the_e2e_tolerance() {
    let dir = scratch("zone-spread-5000");
    let path = dir.join("s.yaml");
    std::fs::write(
        &path,
        "name: zone-spread-5000
duration: 10s
cluster:
  nodePools:
  - name: w
    count: 5000
    zones: [zone-a, zone-b, zone-c]
    capacity: {cpu: \"4\", memory: 32Gi, pods: \"110\"}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 30
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: c, image: \"web:1\", resources: {requests: {cpu: 100m, memory: 500Mi}}}]}
",
    )
    .unwrap();
    for seed in [1, 7] {
        let out = run_with(&path, &[], Some(seed));
        let mut per_zone = [0usize; 3];
        for r in out.records.iter().filter(|r| r.reason == "Scheduled") {
            let node = &r.fields.iter().find(|f| f.0 == "node").unwrap().1;
            for (i, z) in ["zone-a", "zone-b", "zone-c"].iter().enumerate() {
                if node.contains(z) {
                    per_zone[i] += 1;
                }
            }
        }
        assert_eq!(per_zone.iter().sum::<usize>(), 30, "seed {seed}");
        let (min, max) = (
            per_zone.iter().min().unwrap(),
            per_zone.iter().max().unwrap(),
        );
        assert!(max - min <= 2, "seed {seed}: {per_zone:?}");
    }
}

/// The scheduling queue's requeue rules (issue 14 item 2), checked on the times of
/// `FailedScheduling` records. One node with 1 CPU, two bare pods asking 1 CPU each, the
/// scheduler without leader election (its term, and so its flush timers, start at t = 0).
///
/// Derivation, from upstream's pkg/scheduler/backend/queue/scheduling_queue.go (1.34 defaults)
/// and kubesim's cycle cost model (docs/scheduler-model.md):
/// - t = 0: `a` then `b` enter the active queue (same priority, creation order). `a`'s cycle
///   filters 1 node and binds it without scoring (one feasible node): 200 000 + 1 000 ns, so
///   `b`'s cycle starts at 201 µs and fails ("Insufficient cpu"): T1 = 0.000201 s. `b` goes to
///   unschedulablePods with UnschedulablePlugins = {NodeResourcesFit} and Timestamp = T1
///   (`AddUnschedulableIfNotPresent` refreshes Timestamp on every failure).
/// - Nothing that NodeResourcesFit's hints answer `Queue` for happens until 995 s: the kubelet's
///   status writes and heartbeats change no scheduling property (`NodeSchedulingPropertiesChange`
///   is empty); the NoSchedule taint at 100–150 s and the cordon at 400–450 s are
///   UpdateNodeTaint / UpdateNodeUnschedulable, which NodeResourcesFit does not register
///   (`Fit.EventsToRegister`: AssignedPod/Delete and Node `Add|UpdateNodeAllocatable`).
/// - So `b` leaves only through `flushUnschedulablePodsLeftover`, every 30 s from the start,
///   when `now − Timestamp > 5 min` (strictly): the first tick after T1 + 300 s is 330 s; the
///   backoff (1 s after the first attempt) is long over, so it goes straight to activeQ and
///   fails again at T2 = 330 s. Then 330 + 300 = 630 is a tick but not strictly later, so
///   T3 = 660 s, T4 = 990 s.
/// - At 995 s `a` is deleted (grace period 0; the kubelet confirms at once): AssignedPod/Delete,
///   NodeResourcesFit's `isSchedulableAfterPodEvent` answers Queue. `b` has 4 attempts, so its
///   backoff is 1·2³ = 8 s from its last attempt at 990 s: it waits in backoffQ until 998 s
///   and the 1 s `flushBackoffQCompleted` tick at 998 s moves it to activeQ: Scheduled at 998 s.
#[test]
fn failed_scheduling_times_follow_the_upstream_queueing_rules() {
    let out = run_text(
        "queueing-rules",
        "duration: 20m
components:
  kube-scheduler: {leader-elect: false}
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"1\", memory: 4Gi}}
workloads:
- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {terminationGracePeriodSeconds: 0, containers: [{name: c, image: nginx, resources: {requests: {cpu: \"1\"}}}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c, image: nginx, resources: {requests: {cpu: \"1\"}}}]}}
timeline:
- {at: 100s, duration: 50s, taintNodes: {nodes: [w-0], taint: \"x=y:NoSchedule\"}}
- {at: 400s, cordon: {node: w-0}}
- {at: 450s, uncordon: {node: w-0}}
- {at: 995s, deleteObject: {kind: Pod, name: a}}
",
    );
    let failed = event_times(&out, "FailedScheduling", "Pod/default/b", "");
    assert_eq!(
        failed,
        vec![201_000, 330 * S, 660 * S, 990 * S],
        "FailedScheduling times of b"
    );
    assert_eq!(
        event_times(&out, "Scheduled", "Pod/default/b", ""),
        vec![998 * S]
    );
    assert_eq!(
        event_times(&out, "FailedScheduling", "Pod/default/a", ""),
        Vec::<u64>::new()
    );
}
