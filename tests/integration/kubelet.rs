//! The kubelet's pod lifecycle end to end, at exact simulated times: CrashLoopBackOff,
//! image pulls and ImagePullBackOff, init containers, probes, termination, deadlines.
//!
//! Expected times are derived from Kubernetes' rules (cited per test) and the scenario's own
//! settings; the only value read back from a run is when the kubelet admitted the pod (its
//! `Scheduled` record), from which everything else follows.

use kubesim::run::{run, RunOptions, RunOutput};
use kubesim::scenario;

use crate::support::*;

/// One node; pod sandboxes take exactly 2 s.
const CLUSTER: &str = "name: k
seed: 3
duration: 20m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 16Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
";

fn run_text(name: &str, text: &str) -> RunOutput {
    let dir = scratch(name);
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    run(
        &s,
        &RunOptions {
            check_invariants: true,
            ..Default::default()
        },
    )
}

fn times(out: &RunOutput, reason: &str, message_prefix: &str) -> Vec<u64> {
    event_times(out, reason, "Pod/", message_prefix)
}

fn admitted(out: &RunOutput) -> u64 {
    times(out, "Scheduled", "")[0]
}

fn gaps(starts: &[u64], run_ns: u64) -> Vec<u64> {
    starts
        .windows(2)
        .map(|w| (w[1] - w[0] - run_ns) / S)
        .collect()
}

// kuberuntime_manager.go `doBackOff` + flowcontrol.Backoff(10s, 300s): the first crash has no
// backoff entry yet, so the container restarts at once (kubernetes/kubernetes#133472); then
// 10 s doubling to the 300 s cap. The pod worker re-syncs every 10 s while in backoff and
// records one `BackOff` event per sync.
#[test]
fn crashloopbackoff_restarts_after_0_10_20_40_80_160_300_300_s() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: crashy, image: \"app:crash\", run: 5s, exitCode: 1}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
    containers:
    - {{name: c, image: \"app:crash\"}}
"
    );
    let out = run_text("crashloop", &text);
    let starts = times(&out, "Started", "Started container c");
    assert_eq!(starts[0], admitted(&out) + 2 * S);
    assert_eq!(
        gaps(&starts[..9], 5 * S),
        vec![0, 10, 20, 40, 80, 160, 300, 300]
    );
    // BackOff records: one per 10 s sync inside each backoff window — after the second
    // crash (10 s) at the crash only, after the third (20 s) at the crash and 10 s later.
    let backoffs = times(
        &out,
        "BackOff",
        "Back-off restarting failed container c in pod p_default(",
    );
    let (crash2, crash3) = (starts[1] + 5 * S, starts[2] + 5 * S);
    assert_eq!(&backoffs[..3], &[crash2, crash3, crash3 + 10 * S]);
}

// image_manager.go: a failed pull records `Failed` ("Failed to pull image …") and
// "Error: ErrImagePull" and starts the image backoff (10 s, doubling); a sync inside it
// records `BackOff` "Back-off pulling image …" and "Error: ImagePullBackOff". With the
// registry's pull secret listed in imagePullSecrets the pull succeeds after latency +
// size / bandwidth = 0.5 s + 100 MiB / 50 MiB/s = 2.5 s. (The first pod pulls with
// `imagePullPolicy: Always`: under IfNotPresent it would start from the image the second pod
// pulled, as a real node lets it without KubeletEnsureSecretPulledImages.)
#[test]
fn image_pull_backoff_without_the_secret_and_pulled_with_it() {
    let text = format!(
        "{CLUSTER}runtime:
  registries:
  - {{host: registry.example.com, bandwidth: 50Mi, latency: 500ms, pullSecrets: [regcred]}}
  images:
  - {{name: \"registry.example.com/team/app:v1\", size: 100Mi}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: nosecret}}
  spec:
    containers:
    - {{name: c, image: \"registry.example.com/team/app:v1\", imagePullPolicy: Always}}
- apiVersion: v1
  kind: Pod
  metadata: {{name: withsecret}}
  spec:
    imagePullSecrets: [{{name: regcred}}]
    containers:
    - {{name: c, image: \"registry.example.com/team/app:v1\"}}
"
    );
    let out = run_text("pullbackoff", &text);
    let of = |pod: &str, reason: &str, msg: &str| {
        event_times(&out, reason, &format!("Pod/default/{pod}"), msg)
    };
    let t0 = of("nosecret", "Scheduled", "")[0] + 2 * S;
    let pulls = of("nosecret", "Pulling", "Pulling image");
    let failed = of("nosecret", "Failed", "Failed to pull image");
    let half = S / 2;
    // Pull attempts at t0, f1+10, f2+20, f3+40 … where f_k = attempt_k + 0.5 s.
    assert_eq!(pulls[0], t0);
    assert_eq!(failed[0], t0 + half);
    assert_eq!(pulls[1], failed[0] + 10 * S);
    assert_eq!(pulls[2], failed[1] + 20 * S);
    assert_eq!(pulls[3], failed[2] + 40 * S);
    let backoff = of("nosecret", "BackOff", "Back-off pulling image");
    assert_eq!(backoff[0], failed[1] + 10 * S);
    assert_eq!(
        of("nosecret", "Failed", "Error: ImagePullBackOff")[0],
        backoff[0]
    );
    assert!(of("nosecret", "Started", "").is_empty());
    // The second pod's pull waits for the first pod's (serialized pulls, request order):
    // both request at t0; the denied pull finishes at t0 + 0.5 s, then this one takes 2.5 s.
    let w0 = of("withsecret", "Scheduled", "")[0] + 2 * S;
    let pulled = of("withsecret", "Pulled", "Successfully pulled image");
    let first_denied = failed[0];
    assert!(w0 >= t0);
    assert_eq!(pulled[0], first_denied.max(w0) + 2 * S + half);
    assert_eq!(of("withsecret", "Started", "")[0], pulled[0]);
}

// Init containers run strictly in order, each to success (`computeInitContainerActions`);
// a failed init container under OnFailure is restarted with the container backoff: at once
// after the first failure, 10 s after the second. The app container starts only after.
#[test]
fn init_container_failing_twice_under_on_failure() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: flaky-init, image: \"init:1\", run: 2s, exitCodes: [1, 1, 0]}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
    restartPolicy: OnFailure
    initContainers:
    - {{name: init, image: \"init:1\"}}
    containers:
    - {{name: app, image: \"app:1\"}}
"
    );
    let out = run_text("init", &text);
    let t0 = admitted(&out) + 2 * S;
    let init = times(&out, "Started", "Started container init");
    assert_eq!(init, vec![t0, t0 + 2 * S, t0 + 14 * S]);
    let app = times(&out, "Started", "Started container app");
    assert_eq!(app, vec![t0 + 16 * S]);
}

/// A Deployment scaled from 0 to 1 at 100 s, so its pod's probe workers start long after the
/// kubelet (no random initial sleep) and tick at admission + k·period.
fn probed_deployment(probe: &str, behavior: &str) -> String {
    format!(
        "{CLUSTER}runtime:
  behaviors:
  - {behavior}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    replicas: 0
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec:
        containers:
        - name: c
          image: \"app:probed\"
          {probe}
timeline:
- {{at: 100s, scaleDeployment: {{name: web, replicas: 1}}}}
"
    )
}

/// Ready pods at `at_ns` (a second run of the same scenario with a `podCount` expectation).
fn ready_at(name: &str, text: &str, at_ns: u64) -> u64 {
    let secs = at_ns / S;
    let frac = at_ns % S;
    let at = format!("{secs}.{frac:09}s");
    let text = format!("{text}expect:\n- podCount: {{at: {at}, ready: true, min: 0}}\n");
    let out = run_text(name, &text);
    let e = &out.expectations[0];
    e.observed.parse().unwrap()
}

// prober/worker.go: readiness starts as Failure; a success sets Ready; `failureThreshold`
// consecutive failures clear it. Ticks at admission + k·periodSeconds (5 s). The behaviour's
// readiness fails from start + 60 s for 30 s: start = a + 2, so the failing ticks are a + 65
// … a + 90, and the pod leaves Ready at the third, a + 75 = last success (a + 60) +
// failureThreshold × periodSeconds; it is Ready again at the first good tick, a + 95.
#[test]
fn readiness_failure_threshold_times_period() {
    let text = probed_deployment(
        "readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5, failureThreshold: 3}",
        "{name: flaky, image: \"app:probed\", notReady: [{after: 60s, for: 30s}]}",
    );
    let out = run_text("readiness", &text);
    let a = admitted(&out);
    let unhealthy = times(&out, "Unhealthy", "Readiness probe failed");
    let expected: Vec<u64> = (0..6).map(|k| a + (65 + 5 * k) * S).collect();
    assert_eq!(unhealthy, expected);
    assert_eq!(ready_at("readiness-a", &text, a + 5 * S - 1), 0);
    assert_eq!(ready_at("readiness-b", &text, a + 5 * S), 1);
    assert_eq!(ready_at("readiness-c", &text, a + 75 * S - 1), 1);
    assert_eq!(ready_at("readiness-d", &text, a + 75 * S), 0);
    assert_eq!(ready_at("readiness-e", &text, a + 95 * S), 1);
}

// A hung process fails its liveness probe by timeout (the result lands timeoutSeconds after
// the tick); at failureThreshold failures the kubelet kills it ("Container c failed liveness
// probe, will be restarted") and restarts it (the first restart without backoff).
#[test]
fn liveness_failure_kills_and_restarts_the_container() {
    let text = probed_deployment(
        "livenessProbe: {tcpSocket: {port: 80}, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3}",
        "{name: hangs, image: \"app:probed\", hangAfter: 33s}",
    );
    let out = run_text("liveness", &text);
    let a = admitted(&out);
    // start = a + 2; hang at a + 35; failing ticks a + 40, 50, 60, landing 2 s later.
    let unhealthy = times(&out, "Unhealthy", "Liveness probe failed");
    assert_eq!(&unhealthy[..3], &[a + 42 * S, a + 52 * S, a + 62 * S]);
    let kill = times(
        &out,
        "Killing",
        "Container c failed liveness probe, will be restarted",
    );
    assert_eq!(kill[0], a + 62 * S);
    let starts = times(&out, "Started", "Started container c");
    assert_eq!(&starts[..2], &[a + 2 * S, a + 62 * S]);
}

// kuberuntime_container.go `killContainer`: the preStop hook (sleep 5 s) runs first, then
// SIGTERM with the rest of the grace period (30 − 5 = 25 s); a process that needs 40 s is
// SIGKILLed at the end, and the kubelet then deletes the pod object (grace 0).
#[test]
fn termination_runs_pre_stop_then_sigkills_at_the_grace_period() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: slow-stop, image: \"app:1\", stopTime: 40s}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
    containers:
    - name: c
      image: \"app:1\"
      lifecycle: {{preStop: {{sleep: {{seconds: 5}}}}}}
timeline:
- {{at: 60s, deleteObject: {{kind: Pod, name: p}}}}
expect:
- podCount: {{at: 89.999s, count: 1}}
- podCount: {{at: 90s, count: 0}}
"
    );
    let out = run_text("termination", &text);
    assert_eq!(times(&out, "Killing", "Stopping container c"), vec![60 * S]);
    for e in &out.expectations {
        assert!(e.passed, "{e:?}");
    }
}

// `activeDeadlineSeconds`: the kubelet fails the pod (reason DeadlineExceeded) once it has
// been active that long since its start time (admission), and kills its containers.
#[test]
fn active_deadline_fails_the_pod() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
    activeDeadlineSeconds: 30
    containers:
    - {{name: c, image: \"app:1\"}}
expect:
- podCount: {{phase: Failed, count: 1}}
"
    );
    let out = run_text("deadline", &text);
    let a = admitted(&out);
    let t = times(
        &out,
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
    );
    assert_eq!(t, vec![a + 30 * S]);
    assert_eq!(
        times(&out, "Killing", "Stopping container c"),
        vec![a + 30 * S]
    );
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}
