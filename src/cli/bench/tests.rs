use super::*;
use clap::Parser;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    a: BenchSchedulerArgs,
}

fn args(v: &[&str]) -> BenchSchedulerArgs {
    let mut all = vec!["bench"];
    all.extend_from_slice(v);
    match Cmd::try_parse_from(all) {
        Ok(c) => c.a,
        Err(e) => panic!("{e}"),
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kubesim-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// Two nodes, 2 CPU / 2Gi and 8 CPU / 8Gi; the small one holds a 500 MiB image.
const NODES: &str = "
apiVersion: v1
kind: Node
metadata: {name: small}
status:
  capacity: {cpu: '2', memory: 2Gi, pods: '110'}
  images:
  - names: [registry.example/app:v1]
    sizeBytes: 524288000
---
apiVersion: v1
kind: Node
metadata: {name: big}
status:
  capacity: {cpu: '8', memory: 8Gi, pods: '110'}
";

/// One pod of 1 CPU / 1Gi running that image.
const PODS: &str = "
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  containers:
  - name: app
    image: registry.example/app:v1
    resources: {requests: {cpu: '1', memory: 1Gi}}
";

fn placement(dir: &Path, config: Option<&str>) -> Vec<String> {
    let n = write(dir, "nodes.yaml", NODES);
    let p = write(dir, "pods.yaml", PODS);
    let mut v = vec![
        "--nodes-from",
        &n,
        "--pods-from",
        &p,
        "--nodes",
        "2",
        "--pods",
        "1",
    ];
    let c;
    if let Some(text) = config {
        c = write(dir, "sched.yaml", text);
        v.extend(["--scheduler-config", &c]);
    }
    let a = args(&v);
    let case = match load_case(&a) {
        Ok(c) => c,
        Err(code) => panic!("load_case: exit {code}"),
    };
    bench::run_case(&case, 2, 0, 1, 1, true).placements
}

// Default profile (upstream's weights: NodeResourcesFit 1, BalancedAllocation 1,
// ImageLocality 1, …). The pod asks for half of the small node and an eighth of the big one
// on both resources, so BalancedAllocation scores both 100 and only Fit and ImageLocality
// differ. LeastAllocated, (allocatable − requested) · 100 / allocatable: small 50, big 87.
// ImageLocality: 500 MiB × 1/2 nodes = 250 MiB, (250 − 23) · 100 / (1000 − 23) = 23 on the
// small node. Small 50 + 23 = 73 < big 87: the big node.
#[test]
fn the_default_profile_takes_the_big_node() {
    let d = scratch("default");
    assert_eq!(placement(&d, None), ["big-1"]);
}

// MostAllocated, requested · 100 / allocatable: small 50, big 12: the small node.
#[test]
fn most_allocated_takes_the_small_node() {
    let d = scratch("most");
    let cfg = "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
";
    assert_eq!(placement(&d, Some(cfg)), ["small-0"]);
}

// ImageLocality at weight 5: small 50 + 5 · 23 = 165 > big 87: the small node.
#[test]
fn a_heavier_image_locality_weight_takes_the_small_node() {
    let d = scratch("weight");
    let cfg = "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled:
      - name: ImageLocality
        weight: 5
";
    assert_eq!(placement(&d, Some(cfg)), ["small-0"]);
}

// A ReplicaSet in --pods-from: its pod template is the pods' template, owned by it, and its
// selector is known, so upstream's default selector is not empty (PreScore walks the pods).
#[test]
fn a_replica_set_gives_owned_pods_with_default_spreading() {
    let d = scratch("rs");
    let n = write(&d, "nodes.yaml", NODES);
    let p = write(
        &d,
        "rs.yaml",
        "apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: 100m}}}
",
    );
    let a = args(&["--nodes-from", &n, "--pods-from", &p]);
    let Ok(case) = load_case(&a) else {
        panic!("load_case failed")
    };
    let pod = case.pod(4);
    assert_eq!(pod.key(), "shop/web-4");
    let owner = pod
        .meta
        .controller_ref()
        .map(|o| (o.kind.clone(), o.name.clone()));
    assert_eq!(owner, Some(("ReplicaSet".to_string(), "web".to_string())));
    let r = bench::run_case(&case, 4, 0, 3, 1, true);
    let walked: Vec<usize> = r.stats.iter().map(|s| s.spread_pods_scanned).collect();
    assert_eq!(walked, [0, 1, 2]);
}

#[test]
fn flags_that_describe_no_case_are_refused() {
    let d = scratch("refuse");
    let n = write(&d, "nodes.yaml", NODES);
    let p = write(&d, "pods.yaml", PODS);
    assert!(load_case(&args(&[])).is_err());
    assert!(load_case(&args(&["--nodes-from", &n])).is_err());
    assert!(load_case(&args(&[
        "--workload",
        "SchedulingBasic",
        "--nodes-from",
        &n,
        "--pods-from",
        &p
    ]))
    .is_err());
    assert!(load_case(&args(&["--workload", "SchedulingBasik"])).is_err());
    // Nodes where pods belong, and pods no profile serves.
    assert!(load_case(&args(&[
        "--workload",
        "SchedulingBasic",
        "--nodes-from",
        &p
    ]))
    .is_err());
    let other = write(
        &d,
        "other.yaml",
        &PODS.replace("spec:\n", "spec:\n  schedulerName: nope\n"),
    );
    assert!(load_case(&args(&[
        "--workload",
        "SchedulingBasic",
        "--pods-from",
        &other
    ]))
    .is_err());
    let ok = load_case(&args(&[
        "--workload",
        "SchedulingReplicaSet",
        "--pods-from",
        &p,
    ]));
    assert!(ok.is_ok());
}
