//! kube-proxy and synthetic traffic (docs/traffic.md): the failed requests and blackhole window
//! of the bundled `service-node-crash-traffic.yaml`, whose header derives every number from
//! upstream; how `node-monitor-grace-period` moves them; a partitioned node's stale rules.

use kubesim::proxy::traffic::Outcome;
use kubesim::run::{state_at, RunOutput};
use kubesim::sim::{SimDuration, SimTime};

use crate::support::*;

const SVC: &str = "default/web";
const S: u64 = 1_000_000_000;

fn scenario() -> std::path::PathBuf {
    root().join("scenarios/service-node-crash-traffic.yaml")
}

/// Request k of a client at 15 requests/s from 20 s: 20 s + ⌊k · 10⁹ / 15⌋ ns (docs/traffic.md).
fn request_time(k: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_nanos(20 * S + k * S / 15)
}

/// j: the crashed node's pod's place among the three pods' names (round-robin order).
fn dead_index(set: &[&str]) -> u64 {
    let s = load(&scenario(), set);
    let c = state_at(&s, SimTime::ZERO + SimDuration::from_secs(50));
    let mut pods: Vec<(String, Option<String>)> = c
        .api
        .pods()
        .values()
        .filter(|p| p.meta.labels.get("app").is_some_and(|v| v == "web"))
        .map(|p| (p.meta.name.clone(), p.spec.node_name.clone()))
        .collect();
    pods.sort();
    assert_eq!(pods.len(), 3);
    pods.iter()
        .position(|(_, n)| n.as_deref() == Some("worker-zone-a-0"))
        .expect("a pod on the crashed node") as u64
}

fn outcome(out: &RunOutput, fault: Option<usize>) -> Outcome {
    let r = out.traffic.as_ref().expect("traffic report");
    match fault {
        None => r.totals[SVC].clone(),
        Some(i) => r.per_fault[&(SVC.to_string(), Some(i))].clone(),
    }
}

/// The header's derivation: requests k ∈ [570, last_k] fail for the dead endpoint j; 266 (or,
/// with a 49 s grace period, 241) per surviving node.
fn check(set: &[&str], detect_s: u64, last_k_base: u64, per_node: u64, window_s: u64) {
    let out = run_with(&scenario(), set, None);
    let detect = event_times(&out, "NodeNotReady", "Node/worker-zone-a-0", "");
    assert_eq!(detect.first(), Some(&(detect_s * S)));
    let j = dead_index(set);
    let o = outcome(&out, None);
    assert_eq!(o.sent, 2 * 3300 + 570);
    assert_eq!(o.failed, 2 * per_node);
    assert_eq!(o.first_failed, Some(request_time(570 + j)));
    assert_eq!(o.last_failed, Some(request_time(last_k_base + j)));
    assert_eq!(
        o.window(),
        Some(SimDuration::from_nanos(
            request_time(last_k_base)
                .saturating_since(request_time(570))
                .as_nanos()
        ))
    );
    assert_eq!(o.window().map(|d| d.as_nanos() / S), Some(window_s));
    assert_eq!(outcome(&out, Some(0)).failed, 2 * per_node);
}

// Detection at 110 s, slice at 111.1 s, both surviving proxies sync at 111.2 s: 532 failed
// requests, a 53.0 s window (the scenario's header).
#[test]
fn node_crash_blackhole_matches_the_derivation() {
    check(&[], 110, 1365, 266, 53);
    let out = run_with(&scenario(), &[], None);
    assert!(out.expectations_passed(), "{:?}", out.expectations);
    for node in ["worker-zone-b-0", "worker-zone-c-0"] {
        let syncs = event_times(&out, "SyncProxyRules", &format!("Node/{node}"), "");
        assert!(
            syncs.contains(&(111 * S + 200_000_000)),
            "{node}: {syncs:?}"
        );
        assert!(
            !syncs.iter().any(|t| *t > 10 * S && *t < 111 * S),
            "{syncs:?}"
        );
    }
    let a = event_times(&out, "SyncProxyRules", "Node/worker-zone-a-0", "");
    assert!(
        a.iter().all(|t| *t < 58 * S),
        "a crashed proxy syncs nothing: {a:?}"
    );
}

// node-monitor-grace-period 49 s: NodeNotReady at 105 s, everything 5 s earlier: 482 failed,
// 48.0 s. At 51 s the first pass after 106 s is still 110 s: nothing moves.
#[test]
fn grace_period_moves_the_window_by_the_derived_amount() {
    let g = "kube-controller-manager.node-monitor-grace-period";
    check(&[&format!("{g}=49s")], 105, 1290, 241, 48);
    check(&[&format!("{g}=51s")], 110, 1365, 266, 53);
}

const PARTITION: &str = r#"
name: proxy-partition
seed: 7
duration: 4m
kubernetesVersion: "1.34"
cluster:
  nodePools:
  - name: worker
    count: 1
    zones: [zone-a, zone-b, zone-c]
    capacity: {cpu: "4", memory: 16Gi, pods: "110"}
workloads:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web}
  spec:
    replicas: 3
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: web}}
              topologyKey: kubernetes.io/hostname
        containers:
        - {name: c, image: nginx:1.27, resources: {requests: {cpu: "1"}}}
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    selector: {app: web}
    ports: [{port: 80}]
kubeProxy: {}
timeline:
- at: 45s
  duration: 155s
  networkPartition: {nodes: [worker-zone-c-0]}
- at: 58s
  duration: 542s
  nodeCrash: {nodes: [worker-zone-a-0]}
"#;

/// The pods a node's proxy sends traffic to, by the name of their node.
fn used_nodes(c: &kubesim::cluster::Cluster, machine: usize) -> Vec<String> {
    let mut v: Vec<String> = c.proxies[machine]
        .programmed(SVC)
        .map(|p| p.used().filter_map(|e| e.node_name.clone()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

// A partitioned node's proxy sees no notification: after the crash of worker-zone-a-0 (its pod
// marked not ready at 110 s, as in quick-start) the reachable proxy drops that endpoint, the
// partitioned one keeps routing to it (its last sync before the partition at 45 s). When the
// link returns at 200 s it re-lists and syncs at once (its last sync is long past).
#[test]
fn a_partitioned_node_keeps_routing_to_its_stale_endpoints() {
    let s = from_yaml("proxy-partition", PARTITION);
    let at = |secs| SimTime::ZERO + SimDuration::from_secs(secs);
    let c = state_at(&s, at(150));
    let all = ["worker-zone-a-0", "worker-zone-b-0", "worker-zone-c-0"];
    assert_eq!(used_nodes(&c, 2), all);
    assert!(c.proxies[2].last_sync().is_some_and(|t| t < at(45)));
    assert!(!used_nodes(&c, 1).contains(&all[0].to_string()));
    assert!(!c.proxies[0].running);
    let c = state_at(&s, at(200));
    assert_eq!(c.proxies[2].last_sync(), Some(at(200)));
    assert!(!used_nodes(&c, 2).contains(&all[0].to_string()));
}

/// The load error of a scenario text, as the CLI prints it.
fn load_error(name: &str, text: &str) -> String {
    let p = scratch(name).join("s.yaml");
    std::fs::write(&p, text).expect("write scenario");
    match kubesim::scenario::load(&p, &[]) {
        Ok(_) => panic!("{name}: loaded"),
        Err(e) => e.to_string(),
    }
}

// Bad `traffic:`/`kubeProxy:` input is a clear error naming the field, never a panic.
#[test]
fn bad_traffic_input_names_the_field() {
    let base = PARTITION.replace("kubeProxy: {}\n", "");
    let with = |extra: &str| format!("{base}{extra}");
    let e = load_error(
        "t1",
        &with("traffic:\n- {service: wbe, requestsPerSecond: 5}\n"),
    );
    assert!(
        e.contains("traffic[0].service") && e.contains("default/web"),
        "{e}"
    );
    let e = load_error(
        "t2",
        &with("traffic:\n- {service: web, requestsPerSecond: 0}\n"),
    );
    assert!(e.contains("traffic[0].requestsPerSecond"), "{e}");
    let e = load_error(
        "t3",
        &with("traffic:\n- {service: web, requestsPerSecond: 1, from: {zones: [zone-q]}}\n"),
    );
    assert!(e.contains("traffic[0].from.zones"), "{e}");
    let e = load_error("t4", &with("kubeProxy: {mode: ipvs}\n"));
    assert!(e.contains("kubeProxy.mode"), "{e}");
    let e = load_error("t5", &with("kubeProxy: {minSyncPeriod: 2h}\n"));
    assert!(e.contains("kubeProxy.minSyncPeriod"), "{e}");
}
