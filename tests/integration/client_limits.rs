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
        .find(|(a, _)| *a == "replicaset-controller")
        .map(|(_, st)| st.clone())
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
