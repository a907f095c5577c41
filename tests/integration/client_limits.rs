//! kube-controller-manager's client-side request budgets (`kube-api-qps` / `kube-api-burst`,
//! docs/client-rate-limits.md): expected times from client-go's token bucket (burst at once,
//! then one request per 1/qps) and upstream's one-client-per-controller, not from kubesim.

use crate::support::*;

fn job_scenario(flags: &str) -> String {
    format!(
        r#"name: job-budget
duration: 1m
cluster:
  nodePools:
  - {{name: worker, count: 2, capacity: {{cpu: "8", memory: 32Gi}}}}
components:
  kube-controller-manager: {flags}
workloads:
- apiVersion: batch/v1
  kind: Job
  metadata: {{name: wide}}
  spec:
    parallelism: 40
    completions: 40
    template:
      spec:
        restartPolicy: Never
        containers: [{{name: c, image: busybox, resources: {{requests: {{cpu: 10m}}}}}}]
"#
    )
}

fn creates_ms(flags: &str) -> Vec<u64> {
    let out = run_text("job-budget", &job_scenario(flags));
    event_times(&out, "SuccessfulCreate", "Job/default/wide", "")
        .into_iter()
        .map(|t| t / 1_000_000)
        .collect()
}

// The job-controller client: 30 creations at once, then one per 50 ms (20 qps).
#[test]
fn job_creations_wait_for_the_job_controller_token() {
    let t = creates_ms("{}");
    assert_eq!(t.len(), 40);
    assert!(t[..30].iter().all(|&x| x == 0), "{t:?}");
    let tail: Vec<u64> = (1..=10).map(|k| 50 * k).collect();
    assert_eq!(t[30..], tail[..]);
}

// client-go rest/config.go: qps 0 → DefaultQPS 5, burst 0 → DefaultBurst 10; qps < 0 → no
// rate limiter.
#[test]
fn zero_is_client_go_default_and_negative_is_unlimited() {
    let t = creates_ms("{kube-api-qps: 0, kube-api-burst: 0}");
    assert!(t[..10].iter().all(|&x| x == 0), "{t:?}");
    assert_eq!(t[10], 200);
    assert_eq!(t[39], 30 * 200);
    let t = creates_ms("{kube-api-qps: -1}");
    assert!(t.iter().all(|&x| x == 0), "{t:?}");
}

#[test]
fn a_negative_burst_is_an_input_error() {
    let p = scratch("job-budget-bad").join("s.yaml");
    std::fs::write(&p, job_scenario("{kube-api-burst: -1}")).unwrap();
    let err = kubesim::scenario::load(&p, &[]).unwrap_err().to_string();
    assert!(err.contains("kube-api-burst"), "{err}");
}

// scenarios/kube-api-qps-zone-loss.yaml: the ReplicaSet's syncs reserve 500 tokens each. Sync 1
// (t = 0) waits (k − 30) × 50 ms for token k ≤ 500; syncs 2–4 start at their predecessor's last
// token and wait j × 50 ms for their j-th creation (j = 1..500): the longest single wait is
// 25 s and the total 0.05 × (470·471/2 + 3 × 500·501/2) = 24,321.75 s. The replacements after
// the zone loss never wait (the idle bucket is full and deletions come slower than 20/s).
#[test]
fn the_summary_and_time_series_report_each_clients_waits() {
    let out = run_with(
        &root().join("scenarios/kube-api-qps-zone-loss.yaml"),
        &[],
        None,
    );
    let rs = out
        .client_waits
        .iter()
        .find(|(_, a, _)| *a == "replicaset-controller")
        .map(|(_, _, st)| st.clone())
        .expect("replicaset-controller");
    assert_eq!(rs.longest.as_nanos(), 25_000_000_000);
    assert_eq!(rs.waited.as_nanos(), 24_321_750_000_000);
    assert_eq!(rs.requests, 3000);
    let col = out
        .timeseries
        .column("client_wait_seconds_replicaset_controller")
        .expect("column");
    assert_eq!(col.last().map(|(_, v)| *v), Some(24_321.75));
    let waiting = out
        .timeseries
        .column("client_requests_waiting_taint_eviction_controller")
        .expect("column");
    assert_eq!(waiting.last().map(|(_, v)| *v), Some(0.0));
    assert!(waiting.iter().any(|(_, v)| *v > 0.0));
}

fn kubelet_scenario(kubelet: &str) -> String {
    format!(
        r#"name: kubelet-budget
duration: 2m
cluster:
  nodePools:
  - {{name: worker, count: 1, capacity: {{cpu: "8", memory: 32Gi}}}}
components:
  kubelet: {kubelet}
output: {{sampleInterval: 1s}}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    replicas: 5
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec:
        containers: [{{name: c, image: busybox, resources: {{requests: {{cpu: 10m}}}}}}]
"#
    )
}

/// (seconds of the first Scheduled event, first sample with all five pods Ready in the API,
/// the kubelet client's longest wait in ns).
fn kubelet_ready(kubelet: &str) -> (f64, f64, u64) {
    let out = run_text("kubelet-budget", &kubelet_scenario(kubelet));
    let bound = event_times(&out, "Scheduled", "Pod/default/web", "")[0] as f64 / S as f64;
    let ready = out.timeseries.column("pods_ready").expect("pods_ready");
    let all = ready.iter().find(|(_, v)| *v == 5.0).expect("all ready").0;
    let longest = out
        .client_waits
        .iter()
        .find(|(c, _, _)| *c == "kubelet")
        .map_or(0, |(_, _, st)| st.longest.as_nanos());
    (bound, all, longest)
}

// The kubelet's KubeClient (kubeAPIQPS / kubeAPIBurst, cmd/kubelet/app/server.go): each pod
// status sync is a GET and a PATCH (status_manager.go `syncPod`). With qps 1 / burst 1 the five
// pods' Ready statuses need at least 10 requests after the first bind, the k-th no earlier than
// k − 1 s after the first: all five are Ready in the API no earlier than 9 s after it. At the
// defaults (50 / 100) five pods' syncs never wait.
#[test]
fn kubelet_status_syncs_wait_for_the_kube_client_token() {
    let (bound, ready, longest) = kubelet_ready("{}");
    assert_eq!(longest, 0);
    assert!(ready < bound + 9.0, "{bound} {ready}");
    let (bound, ready, longest) = kubelet_ready("{kubeAPIQPS: 1, kubeAPIBurst: 1}");
    assert!(ready >= bound + 9.0, "{bound} {ready}");
    assert!(longest > 0);
}

// pkg/kubelet/apis/config/validation: kubeAPIQPS / kubeAPIBurst "must not be a negative number".
#[test]
fn a_negative_kubelet_qps_is_an_input_error() {
    for flags in ["{kubeAPIQPS: -1}", "{kube-api-burst: -1}"] {
        let p = scratch("kubelet-budget-bad").join("s.yaml");
        std::fs::write(&p, kubelet_scenario(flags)).unwrap();
        let err = kubesim::scenario::load(&p, &[]).unwrap_err().to_string();
        assert!(err.contains("kubeAPI"), "{err}");
    }
}

fn inflight_scenario(apiserver: &str, simulation: &str) -> String {
    format!(
        r#"name: inflight-job
duration: 30s
cluster:
  nodePools:
  - {{name: worker, count: 1, capacity: {{cpu: "8", memory: 32Gi}}}}
components:
  kube-apiserver: {apiserver}
simulation: {simulation}
workloads:
- apiVersion: batch/v1
  kind: Job
  metadata: {{name: wide}}
  spec:
    parallelism: 8
    completions: 8
    template:
      spec:
        restartPolicy: Never
        nodeSelector: {{zone: nowhere}}
        containers: [{{name: c, image: busybox, resources: {{requests: {{cpu: 10m}}}}}}]
"#
    )
}

// kube-apiserver maxinflight.go with 3 mutating seats and POSTs held 2 s: at t = 0 the
// operator's POSTs (system:masters: served, and holding a free seat) of the Node, the `default`
// Namespace and the Job fill all three until 2 s. The job controller's 8 creations (slow start:
// 1 + 2 + 4 + 1, none refused by its 20 qps / burst 30 bucket) are each answered 429 with
// `Retry-After: 1`; client-go sleeps 1 s and sends again (rest/with_retry.go, at most 10
// retries): at 1 s all are refused, at 2 s three get the freed seats (held to 4 s), at 4 s three
// more (to 6 s), at 6 s the last two. The pods never bind (no node matches), so no other POST
// competes.
#[test]
fn inflight_limit_defers_creations_by_retry_after() {
    let times = |apiserver: &str| {
        let out = run_text("inflight-job", &inflight_scenario(apiserver, "{}"));
        let t: Vec<u64> = event_times(&out, "SuccessfulCreate", "Job/default/wide", "")
            .into_iter()
            .map(|t| t / S)
            .collect();
        t
    };
    let limited =
        times(r#"{max-mutating-requests-inflight: 3, kubesim-service-time: "create=2s"}"#);
    assert_eq!(limited, vec![2, 2, 2, 4, 4, 4, 6, 6]);
    // The defaults (400 / 200, no service time): all at once, as without a server limit.
    assert_eq!(times("{}"), vec![0; 8]);
    // A limit of 0 is no limit (maxinflight.go), whatever the service time.
    let unlimited =
        times(r#"{max-mutating-requests-inflight: 0, kubesim-service-time: "create=2s"}"#);
    assert_eq!(unlimited, vec![0; 8]);
}

#[test]
fn inflight_settings_are_checked() {
    let load = |apiserver: &str, simulation: &str| {
        let p = scratch("inflight-bad").join("s.yaml");
        std::fs::write(&p, inflight_scenario(apiserver, simulation)).unwrap();
        kubesim::scenario::load(&p, &[])
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let err = load(r#"{kubesim-service-time: "patch=1s"}"#, "{}").unwrap_err();
    assert!(
        err.contains("kubesim-service-time") && err.contains("patch"),
        "{err}"
    );
    let err = load("{max-requests-inflight: -1}", "{}").unwrap_err();
    assert!(err.contains("max-requests-inflight"), "{err}");
    // Planned heartbeats are no requests: they could hold no seat.
    let err = load(
        r#"{kubesim-service-time: "update=1ms"}"#,
        "{lazyHeartbeats: true}",
    )
    .unwrap_err();
    assert!(err.contains("lazyHeartbeats"), "{err}");
    assert!(load(r#"{kubesim-service-time: "update=1ms"}"#, "{}").is_ok());
}

// Issue 18's acceptance: the header's creation times are the token bucket's, so moving
// `kube-api-qps` by 1 either way breaks them (the 2,000th creation at 93.81 s with 21 qps,
// 103.68 s with 19, instead of 98.5 s) and `check` fails.
#[test]
fn moving_kube_api_qps_by_one_fails_the_bundled_check() {
    let path = root().join("scenarios/kube-api-qps-zone-loss.yaml");
    for qps in ["19", "21"] {
        let set = format!("kube-controller-manager.kube-api-qps={qps}");
        let out = run_with(&path, &[set.as_str()], None);
        let failed: Vec<&str> = out
            .expectations
            .iter()
            .filter(|e| !e.passed)
            .map(|e| e.origin.as_str())
            .collect();
        // expect[4]: the 2,000th SuccessfulCreate at 98.5 s.
        assert!(
            failed.contains(&"expect[4]"),
            "qps {qps}: failed {failed:?}"
        );
    }
}

/// A zone of one node with 60 Ready pods, partitioned at 58 s; kube-controller-manager at
/// `qps` / burst 30, version 1.33 (NoExecute tainting decided from the Ready condition seen at
/// the start of the pass, so the pass that marks the node makes no taint request).
fn nlc_scenario(qps: u32) -> String {
    format!(
        r#"name: nlc-budget
duration: 130s
kubernetesVersion: "1.33"
cluster:
  nodePools:
  - name: worker
    count: 1
    zones: [zone-a, zone-b]
    capacity: {{cpu: "8", memory: 32Gi, pods: "60"}}
components:
  kube-controller-manager: {{kube-api-qps: {qps}, kube-api-burst: 30}}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    replicas: 120
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec:
        containers: [{{name: c, image: busybox, resources: {{requests: {{cpu: 10m}}}}}}]
timeline:
- at: 58s
  networkPartition:
    zones: [zone-a]
"#
    )
}

// The node-controller client (cmd/kube-controller-manager/app/core.go: the node lifecycle
// controller's `ClientOrDie("node-controller")`) at 20 qps / burst 30. As in
// scenarios/kube-api-qps-zone-loss.yaml, the zone-a node goes Unknown at the 110 s pass. That
// pass sends the node's status write (token 1), then `MarkPodsNotReady`: one UpdateStatus per
// pod, one after the other. The bucket is full (idle since start-up), so token k leaves at
// 110 s + max(0, k − 30) × 50 ms. Tokens 1–30 (the status write, pods 1–29) go at 110 s; the
// pass's 8 workers then hold tokens 31–38 (pods 30–37, 110.05–110.4 s). The status write's
// watch brings the NoSchedule worker's `unreachable:NoSchedule` taint, a GET and a PATCH:
// tokens 39–40, the taint at 110.5 s. Pods 38–60 take tokens 41–63: pod 60 at
// 110 + 33 × 0.05 = 111.65 s. `wait.UntilWithContext` is sliding: the next pass starts 5 s after
// the pass ends, at 116.65 s (not 115 s); it queues the node for its NoExecute taint (decided
// from the Unknown it now observes), and the next 100 ms tainting pass, at 116.7 s, adds it.
// At 21 qps pod 60 would be at 110 + 33/21 = 111.571 s, at 19 qps at 111.737 s.
#[test]
fn the_node_controller_marks_pods_not_ready_at_its_client_rate() {
    let expect = |qps: u32| {
        let out = run_text("nlc-budget", &nlc_scenario(qps));
        let node = event_times(&out, "NodeNotReady", "Node/worker-zone-a-0", "");
        let pods = event_times(&out, "NodeNotReady", "Pod/default/web", "");
        let taint = event_times(
            &out,
            "TaintAdded",
            "Node/worker-zone-a-0",
            "Taint node.kubernetes.io/unreachable:NoExecute",
        );
        let noschedule = event_times(
            &out,
            "TaintAdded",
            "Node/worker-zone-a-0",
            "Taint node.kubernetes.io/unreachable:NoSchedule",
        );
        (node, pods, taint, noschedule)
    };
    let (node, pods, taint, noschedule) = expect(20);
    assert_eq!(node, vec![110 * S]);
    assert_eq!(pods.len(), 60);
    assert!(pods[..29].iter().all(|&t| t == 110 * S), "{pods:?}");
    assert_eq!(pods[29], 110 * S + 50_000_000);
    assert_eq!(pods[36], 110 * S + 400_000_000);
    assert_eq!(noschedule, vec![110 * S + 500_000_000]);
    assert_eq!(pods[37], 110 * S + 550_000_000);
    assert_eq!(pods[59], 111 * S + 650_000_000);
    assert_eq!(taint, vec![116 * S + 700_000_000]);
    // Moving the qps by 1 moves the last write.
    for qps in [19, 21] {
        let (_, pods, _, _) = expect(qps);
        let last = 110.0 + 33.0 / qps as f64;
        assert!(
            (pods[59] as f64 / S as f64 - last).abs() < 1e-3,
            "qps {qps}: {:?}",
            pods[59]
        );
    }
}

// The same run, counted: each POST the max-inflight filter refuses is one 429, and
// `RecordDroppedRequest` (k8s.io/apiserver pkg/endpoints/metrics) increments
// `apiserver_request_total{code="429"}` for it; a client-go retry refused again counts again.
// The job controller's 8 POSTs: the 3 served at 2 s were refused at 0 and 1 s (2 each), the 3
// served at 4 s at 0, 1, 2 and 3 s (4 each), the 2 served at 6 s at 0–5 s (6 each): 30, all
// mutating, from kube-controller-manager. Other kube-controller-manager POSTs at those instants
// (e.g. its leader-election Lease) may be refused too, so the count is at least 30. Without a
// service time nothing is refused.
#[test]
fn inflight_rejections_are_counted_per_component_and_kind() {
    let limited = r#"{max-mutating-requests-inflight: 3, kubesim-service-time: "create=2s"}"#;
    let out = run_text("inflight-job", &inflight_scenario(limited, "{}"));
    let kcm = out
        .rejections
        .iter()
        .find(|(c, _, _)| *c == "kube-controller-manager")
        .copied();
    let (_, kind, n) = kcm.expect("kube-controller-manager was refused");
    assert_eq!(kind, "mutating");
    assert!(n >= 30, "{n}");
    assert!(out
        .rejections
        .iter()
        .all(|(_, kind, _)| *kind == "mutating"));
    let col = out
        .timeseries
        .column("apiserver_rejected_kube_controller_manager_mutating")
        .expect("column");
    assert_eq!(col.last().map(|(_, v)| *v), Some(n as f64));
    let none = run_text("inflight-job", &inflight_scenario("{}", "{}"));
    assert!(none.rejections.is_empty());
}
