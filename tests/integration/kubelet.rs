//! The kubelet's pod lifecycle end to end, at exact simulated times: CrashLoopBackOff,
//! image pulls and ImagePullBackOff, init containers, probes, termination, deadlines.
//!
//! Expected times are derived from Kubernetes' rules (cited per test) and the scenario's own
//! settings; the only value read back from a run is when the kubelet admitted the pod (its
//! `Scheduled` record), from which everything else follows — exactly, or within upstream's
//! window where the pod worker's jittered requeue decides (then each earlier time in the chain
//! is read back too; the CrashLoopBackOff test checks its windows at several seeds).

use kubesim::run::{run, RunOptions, RunOutput};
use kubesim::scenario;

use crate::support::*;

mod upstream;

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

fn times(out: &RunOutput, reason: &str, message_prefix: &str) -> Vec<u64> {
    event_times(out, reason, "Pod/", message_prefix)
}

fn admitted(out: &RunOutput) -> u64 {
    times(out, "Scheduled", "")[0]
}

/// The first tick of the kubelet's 1 s loops (the generic PLEG's relist, the `syncCh`
/// ticker) at or after `t`: the kubelet starts at 0, so whole seconds.
fn loop_tick(t: u64) -> u64 {
    t.div_ceil(S) * S
}

/// `t` lies in [lo, hi] (inclusive, in ns).
#[track_caller]
fn assert_within(t: u64, lo: u64, hi: u64, what: &str) {
    assert!(lo <= t && t <= hi, "{what}: {t} ns not in [{lo}, {hi}]");
}

/// A sync that failed requeues the pod 10–15 s later (`wait.Jitter(backOffPeriod, 0.5)`),
/// synced at the first 1 s `syncCh` tick at or after: from a sync on a tick, the next one is
/// 10 to 15 s later, whole seconds.
const REQUEUE_MIN: u64 = 10 * S;
const REQUEUE_MAX: u64 = 15 * S;

/// A container in CrashLoopBackOff: `exit` its exit (seen by a relist on a tick), `backoff`
/// the entry's duration, `restart` the start that ended the backoff and `records` the
/// `BackOff` times in between. Upstream (doBackOff at each sync, requeue after each error):
/// the first BackOff at the exit's sync, each next sync 10–15 s after the previous, all inside
/// the backoff (now − finishedAt < backoff), the restart at the first sync at or after
/// expiry: so in [expiry, expiry + 14 s].
#[track_caller]
fn assert_backoff_window(exit: u64, backoff: u64, restart: u64, records: &[u64]) {
    let expiry = exit + backoff;
    assert_within(
        restart,
        expiry,
        expiry + REQUEUE_MAX - S,
        "restart after expiry",
    );
    assert_eq!(records.first(), Some(&exit), "BackOff at the exit's sync");
    let mut syncs = records.to_vec();
    syncs.push(restart);
    for w in syncs.windows(2) {
        assert_within(w[1] - w[0], REQUEUE_MIN, REQUEUE_MAX, "sync cadence");
    }
    assert!(records.iter().all(|&b| b < expiry), "BackOff after expiry");
}

// kuberuntime_manager.go `doBackOff` + flowcontrol.Backoff(10s, 300s): the first crash has no
// backoff entry yet, so the container restarts at the sync of the exit — the generic PLEG's
// next relist (1 s period, `relistPeriod`) — (kubernetes/kubernetes#133472); then 10 s
// doubling to the 300 s cap, each restart at the first pod-worker sync at or after expiry
// (finishedAt + backoff). Inside a backoff every sync records `BackOff` and fails, and
// pod_workers.go `completeWork` requeues the pod `wait.Jitter(10 s, 0.5)` later, synced at the
// next 1 s `syncCh` tick: BackOff records 10–15 s apart, restarts in [expiry, expiry + 14 s].
// Checked at several seeds (the jitter comes from each pod worker's stream).
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
    for seed in [3, 4, 5, 6] {
        let out = run_seed("crashloop", &text, seed);
        let starts = times(&out, "Started", "Started container c");
        assert_eq!(starts[0], admitted(&out) + 2 * S);
        // First exit: restarted at the relist that sees it.
        assert_eq!(starts[1], loop_tick(starts[0] + 5 * S));
        let backoffs = times(
            &out,
            "BackOff",
            "Back-off restarting failed container c in pod p_default(",
        );
        // No BackOff before the second exit (the first restart needs none).
        assert_eq!(backoffs[0], starts[1] + 5 * S);
        for (k, d) in [10, 20, 40, 80, 160, 300, 300].iter().enumerate() {
            let exit = starts[k + 1] + 5 * S;
            let records: Vec<u64> = backoffs
                .iter()
                .copied()
                .filter(|&b| b >= exit && b < starts[k + 2])
                .collect();
            assert_backoff_window(exit, d * S, starts[k + 2], &records);
        }
    }
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
    // Pull attempts at t0, then at the first pod-worker sync at or after f_k + 10, 20, 40 s
    // (f_k = attempt_k + 0.5 s, `IsInBackOffSinceUpdate`): the failed sync requeues the pod
    // 10–15 s later at the next 1 s tick (so the first sync after f_k is in [f_k + 10,
    // f_k + 16)), each further sync 10–15 s after the previous.
    assert_eq!(pulls[0], t0);
    assert_eq!(failed[0], t0 + half);
    for (k, d) in [10, 20, 40].iter().enumerate() {
        assert_eq!(failed[k + 1], pulls[k + 1] + half);
        assert_within(
            pulls[k + 1],
            failed[k] + d * S,
            failed[k] + d * S + REQUEUE_MAX + S,
            "pull retry",
        );
    }
    let backoff = of("nosecret", "BackOff", "Back-off pulling image");
    // After the second failure (backoff 20 s) the first sync falls inside it.
    assert_within(
        backoff[0],
        failed[1] + REQUEUE_MIN,
        failed[1] + REQUEUE_MAX + S,
        "BackOff",
    );
    assert!(backoff[0] < failed[1] + 20 * S);
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
// a failed init container under OnFailure is restarted with the container backoff: at the
// sync of the first failure (the PLEG's next relist, a whole second), at the first requeued
// sync at or after 10 s from the second (10–15 s: the requeue is at least the backoff). The app
// container starts at the sync of the init container's success (its relist).
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
    assert_eq!(init.len(), 3);
    assert_eq!(&init[..2], &[t0, loop_tick(t0 + 2 * S)]);
    let second_exit = init[1] + 2 * S;
    assert_within(
        init[2],
        second_exit + REQUEUE_MIN,
        second_exit + REQUEUE_MAX,
        "third start",
    );
    let app = times(&out, "Started", "Started container app");
    assert_eq!(app, vec![init[2] + 2 * S]);
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
// When Ready turns False at a + 75, `handleProbeSync` syncs the pod and
// `prober_manager.UpdatePodStatus` triggers an immediate readiness run (the container is
// started, its readiness not Success): a second failure at a + 75, the ticks unchanged.
#[test]
fn readiness_failure_threshold_times_period() {
    let text = probed_deployment(
        "readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5, failureThreshold: 3}",
        "{name: flaky, image: \"app:probed\", notReady: [{after: 60s, for: 30s}]}",
    );
    let out = run_text("readiness", &text);
    let a = admitted(&out);
    let unhealthy = times(&out, "Unhealthy", "Readiness probe failed");
    let mut expected: Vec<u64> = (0..6).map(|k| a + (65 + 5 * k) * S).collect();
    expected.insert(3, a + 75 * S);
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
// been active that long since its start time (admission), and kills its containers — at the
// first 1 s `syncCh` tick at or after (`getPodsToSync` asks `activeDeadlineHandler.ShouldSync`
// there).
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
    assert_eq!(t, vec![loop_tick(a + 30 * S)]);
    assert_eq!(
        times(&out, "Killing", "Stopping container c"),
        vec![loop_tick(a + 30 * S)]
    );
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}

// A `crashLoop` fault: the containers exit now (code 1) and every run started during the
// fault exits 1 s after its start, so the kubelet's backoff applies: the exit at 60 s (a relist
// tick) restarts at that sync, then 10, 20, 40, 80 s backoffs, each restart at the first
// requeued sync at or after expiry (doBackOff; see the CrashLoopBackOff test).
#[test]
fn crash_loop_fault_restarts_with_backoff() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p, labels: {{app: web}}}}
  spec:
    containers:
    - {{name: c, image: \"app:1\"}}
timeline:
- {{at: 60s, duration: 100s, crashLoop: {{labels: {{app: web}}}}}}
"
    );
    let out = run_text("crashloop-fault", &text);
    let starts = times(&out, "Started", "Started container c");
    assert_eq!(starts[1], 60 * S);
    let backoffs = times(&out, "BackOff", "Back-off restarting failed container c");
    // Every run started before the fault's end (160 s) crashes 1 s later and is restarted
    // after its backoff; the first one started after the end runs the pod's own behaviour
    // (forever), so it is the last.
    let last = starts.len() - 1;
    assert!(starts[last] >= 160 * S && starts[..last].iter().all(|&t| t < 160 * S));
    for k in 1..last {
        let exit = starts[k] + S;
        let records: Vec<u64> = backoffs
            .iter()
            .copied()
            .filter(|&b| b >= exit && b < starts[k + 1])
            .collect();
        assert_backoff_window(exit, (10 << (k - 1)) * S, starts[k + 1], &records);
    }
}

// A `memoryLeak` fault of 16Mi/s on a container using its 128Mi request under a 256Mi limit:
// 128 + 16·s passes 256 first at s = 9, so it is OOMKilled (exit 137) 9 s after the leak or
// each restart begins; restarts follow the backoff (at once, then 10 s).
#[test]
fn memory_leak_fault_oom_kills_at_the_limit() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p, labels: {{app: web}}}}
  spec:
    containers:
    - name: c
      image: \"app:1\"
      resources: {{requests: {{memory: 128Mi}}, limits: {{memory: 256Mi}}}}
timeline:
- {{at: 60s, memoryLeak: {{labels: {{app: web}}, rate: 16Mi}}}}
"
    );
    let out = run_text("leak", &text);
    let starts = times(&out, "Started", "Started container c");
    // OOM at 69 (a relist tick) → restarted by that sync; OOM at 78 → backoff 10 s: the
    // first requeued sync, 88–93 s; OOM 9 s after that → backoff 20 s.
    assert_eq!(starts[1], 69 * S);
    assert_within(starts[2], 88 * S, 93 * S, "second restart");
    let oom = starts[2] + 9 * S;
    assert_within(starts[3], oom + 20 * S, oom + 34 * S, "third restart");
}

// Node-pressure eviction (pkg/kubelet/eviction): the manager ticks every 10 s from the kubelet
// start. Node memory 1Gi, two pods using their 256Mi requests (512Mi available). A leak of
// 50Mi/s in pod `a` from 60 s leaves 512 − 500 = 12Mi at the 70 s tick, under the default
// `memory.available<100Mi`: pod `a` (over its request) is evicted at 70 s with the Evicted
// reason and message, and fails.
#[test]
fn memory_pressure_evicts_the_pod_over_its_request() {
    let text = "name: pressure
seed: 3
duration: 3m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 1Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, labels: {app: a}}
  spec:
    containers:
    - {name: c, image: \"app:1\", resources: {requests: {memory: 256Mi}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec:
    containers:
    - {name: c, image: \"app:1\", resources: {requests: {memory: 256Mi}}}
timeline:
- {at: 60s, memoryLeak: {labels: {app: a}, rate: 50Mi}}
expect:
- podCount: {phase: Failed, count: 1}
- podCount: {phase: Running, count: 1}
";
    let out = run_text("pressure", text);
    // The invariant checker ran after every event (the eviction arming walk among its checks).
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    let evicted = evictions(&out);
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0].0, 70 * S);
    assert_eq!(evicted[0].1, "Pod/default/a");
    assert_eq!(
        evicted[0].2,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 12Mi. \
         Container c was using 756Mi, request is 256Mi, has larger consumption of memory. "
    );
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}

// Soft eviction (eviction_manager.go synchronize, thresholdsMetGracePeriod): a soft threshold
// is acted on only after it has been met at every tick for its grace period, and the victim
// gets evictionMaxPodGracePeriod capped by its own terminationGracePeriodSeconds. Node memory
// 1Gi, pods at their 256Mi requests (512Mi available), pod `a` leaking 10Mi/s from 60 s:
// available = 512 − 10·(t − 60) Mi. At the ticks (every 10 s from 0): 70 s → 412Mi, over
// the soft 400Mi; 80 s → 312Mi, soft met, first observed; 90 s → 212Mi; 100 s → 112Mi, still
// above the hard 100Mi, and 20 s after first observed = the grace period → `a` is evicted at
// 100 s for the soft threshold (a using 256 + 400 = 656Mi), with min(20, 30) = 20 s of grace.
#[test]
fn soft_memory_threshold_evicts_after_its_grace_period() {
    let text = |kubelet: &str| {
        format!(
            "name: soft
seed: 3
duration: 3m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {{cpu: \"4\", memory: 1Gi, pods: \"110\"}}
components:
  kubelet: {{{kubelet}}}
simulation:
  containerStartDelay: {{min: 2s, max: 2s}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: a, labels: {{app: a}}}}
  spec:
    containers:
    - {{name: c, image: \"app:1\", resources: {{requests: {{memory: 256Mi}}}}}}
- apiVersion: v1
  kind: Pod
  metadata: {{name: b}}
  spec:
    containers:
    - {{name: c, image: \"app:1\", resources: {{requests: {{memory: 256Mi}}}}}}
timeline:
- {{at: 60s, memoryLeak: {{labels: {{app: a}}, rate: 10Mi}}}}
"
        )
    };
    let out = run_text(
        "soft",
        &text(
            "evictionSoft: \"memory.available<400Mi\", evictionSoftGracePeriod: \"memory.available=20s\", evictionMaxPodGracePeriod: 20",
        ),
    );
    // The invariant checker ran after every event (the eviction arming walk among its checks).
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    let evicted = evictions(&out);
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0].0, 100 * S);
    assert_eq!(evicted[0].1, "Pod/default/a");
    assert_eq!(
        evicted[0].2,
        "The node was low on resource: memory. Threshold quantity: 400Mi, available: 112Mi. \
         Container c was using 656Mi, request is 256Mi, has larger consumption of memory. "
    );
    // A grace period one tick longer: the soft threshold would be due at 110 s, where the
    // hard one (100Mi; 12Mi available) is met anyway and wins.
    let out = run_text(
        "soft-late",
        &text("evictionSoft: \"memory.available<400Mi\", evictionSoftGracePeriod: \"memory.available=30s\""),
    );
    let evicted: Vec<_> = evictions(&out)
        .into_iter()
        .map(|(t, _, m)| (t, m))
        .collect();
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0].0, 110 * S);
    assert!(
        evicted[0]
            .1
            .contains("Threshold quantity: 100Mi, available: 12Mi"),
        "{evicted:?}"
    );
    // ParseThresholdConfig: a soft threshold needs a grace period.
    let p = scratch("soft-err").join("s.yaml");
    std::fs::write(&p, text("evictionSoft: \"memory.available<400Mi\"")).unwrap();
    let e = kubesim::scenario::load(&p, &[]).unwrap_err().to_string();
    assert!(
        e.contains(
            "grace period must be specified for the soft eviction threshold memory.available"
        ),
        "{e}"
    );
}

// A hung container runtime: the generic PLEG stops relisting, and once it has not relisted
// for more than 3 min (`relistThreshold`) the kubelet posts Ready=False with "PLEG is not
// healthy: …" at its next status tick (every 10 s with 4 % jitter), so within 10.4 s after
// hang + 3 min; the node lifecycle controller then taints the node.
#[test]
fn runtime_hang_makes_the_node_not_ready_after_the_pleg_threshold() {
    let text = format!(
        "{CLUSTER}timeline:
- {{at: 100s, duration: 5m, runtimeHang: {{nodes: [w-0]}}}}
"
    );
    let out = run_text("hang", &text);
    let not_ready = event_times(
        &out,
        "NodeNotReady",
        "Node/w-0",
        "Node w-0 status is now: NodeNotReady",
    );
    assert_eq!(not_ready.len(), 1, "{not_ready:?}");
    assert!(not_ready[0] > 280 * S && not_ready[0] <= 280 * S + 10_400_000_000);
    // Ready again at the first status tick after the hang ends (400 s).
    let ready: Vec<u64> = event_times(&out, "NodeReady", "Node/w-0", "")
        .into_iter()
        .filter(|t| *t > 300 * S)
        .collect();
    assert!(
        ready[0] >= 400 * S && ready[0] <= 400 * S + 10_400_000_000,
        "{ready:?}"
    );
}

// Static pods (kubelet file source): they run without the API server — here it is down until
// 30 s and the container starts at 2 s — and the kubelet creates a mirror pod
// (`kubernetes.io/config.mirror`) once it can. Deleting the mirror from the API deletes only
// the mirror; the kubelet recreates it and the container keeps running (no Killing, one Started).
#[test]
fn static_pods_run_without_the_api_server_and_mirror_pods_cannot_control_them() {
    let text = "name: static
seed: 1
duration: 3m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 16Gi}
    staticPods:
    - apiVersion: v1
      kind: Pod
      metadata: {name: etcd, namespace: kube-system}
      spec:
        containers:
        - {name: etcd, image: \"registry.k8s.io/etcd:3.5.15-0\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
timeline:
- {at: 0s, duration: 30s, apiServerUnavailable: {}}
- {at: 60s, deleteObject: {kind: Pod, name: etcd-w-0, namespace: kube-system}}
expect:
- eventTime: {reason: Started, object: Pod/kube-system/etcd-w-0, at: 2s}
- podCount: {at: 29.999s, namespace: kube-system, count: 0}
- podCount: {at: 59s, namespace: kube-system, phase: Running, count: 1}
- podCount: {at: 60s, namespace: kube-system, phase: Running, terminating: false, count: 1}
- eventCount: {reason: Started, count: 1}
- eventCount: {reason: Killing, count: 0}
";
    let out = run_text("static", text);
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}

// Kubelet admission (`generalFilter` → `rejectPod`): a pod bound by `spec.nodeName` to a node
// it does not fit is rejected with a Warning event `OutOfcpu` and fails with upstream's message.
#[test]
fn admission_rejects_a_pod_that_does_not_fit_with_out_of_cpu() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: big}}
  spec:
    nodeName: w-0
    containers:
    - {{name: c, image: \"app:1\", resources: {{requests: {{cpu: \"8\"}}}}}}
expect:
- podCount: {{phase: Failed, count: 1}}
"
    );
    let out = run_text("admission", &text);
    let rejected: Vec<_> = out
        .records
        .iter()
        .filter(|r| r.reason == "OutOfcpu")
        .map(|r| (r.object.clone(), r.message.clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![(
            "Pod/default/big".to_string(),
            "Node didn't have enough resource: cpu, requested: 8000, used: 0, capacity: 4000"
                .to_string()
        )]
    );
    assert!(times(&out, "Started", "").is_empty());
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}

// A sidecar (init container with `restartPolicy: Always`) must have started — its startup
// probe passed — before the app container starts (`computeInitContainerActions`). The startup
// probe ticks at a + 5k; the sidecar starts at a + 2 and answers from a + 9, so the a + 5 tick
// fails ("Startup probe failed") and the a + 10 tick passes: the app starts at a + 10.
#[test]
fn sidecar_startup_probe_gates_the_app_container() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: proxy, image: \"proxy:1\", startupTime: 7s}}
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
        initContainers:
        - name: proxy
          image: \"proxy:1\"
          restartPolicy: Always
          startupProbe: {{tcpSocket: {{port: 15000}}, periodSeconds: 5, failureThreshold: 10}}
        containers:
        - {{name: app, image: \"app:1\"}}
timeline:
- {{at: 100s, scaleDeployment: {{name: web, replicas: 1}}}}
"
    );
    let out = run_text("sidecar", &text);
    let a = admitted(&out);
    assert_eq!(
        times(&out, "Started", "Started container proxy"),
        vec![a + 2 * S]
    );
    assert_eq!(
        times(&out, "Unhealthy", "Startup probe failed"),
        vec![a + 5 * S]
    );
    assert_eq!(
        times(&out, "Started", "Started container app"),
        vec![a + 10 * S]
    );
}

/// Lazy probes (steady-state successes skipped) give the same event log as running every tick.
#[test]
fn lazy_and_eager_probes_give_identical_logs() {
    let cases = [
        probed_deployment(
            "startupProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 24}
          livenessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 8}",
            "{name: slow-start, image: \"app:probed\", startupTime: 25s, hangAfter: 200s}",
        ),
        probed_deployment(
            "readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5, failureThreshold: 3}",
            "{name: flaky, image: \"app:probed\", readyAfter: 12s, notReady: [{after: 60s, for: 30s}, {after: 200s, for: 7s}]}",
        ),
        probed_deployment(
            "livenessProbe: {tcpSocket: {port: 80}, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3}",
            "{name: hangs, image: \"app:probed\", hangAfter: {uniform: [20s, 300s]}}",
        ),
    ];
    for (i, text) in cases.iter().enumerate() {
        let dir = scratch(&format!("lazy-probes-{i}"));
        let p = dir.join("s.yaml");
        std::fs::write(&p, text).unwrap();
        let mut s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        let lazy = run(&s, &RunOptions::default());
        s.kubelet.lazy_probes = false;
        let eager = run(&s, &RunOptions::default());
        assert_eq!(lazy.digest, eager.digest, "case {i}");
        assert!(
            lazy.engine_events < eager.engine_events,
            "case {i}: lazy runs fewer events"
        );
    }
}

// A startup probe gates liveness (`doProbe`): liveness ticks before the container has started
// are no-ops, so liveness resumes after the startup success instead of replaying them (the
// etcd static-pod manifest of open-simulator's demo cluster has exactly these probes).
#[test]
fn liveness_resumes_after_the_startup_probe_succeeds() {
    let text = probed_deployment(
        "startupProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 24}
          livenessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 8}",
        "{name: slow-start, image: \"app:probed\", startupTime: 25s}",
    );
    let out = run_text("startup-liveness", &text);
    assert!(out.stop.completed(), "{:?}", out.stop);
    let a = admitted(&out);
    // start = a + 2, answering from a + 27: startup fails at the a + 20 tick (the a + 10 tick
    // is before initialDelaySeconds) and passes at a + 30.
    assert_eq!(
        times(&out, "Unhealthy", "Startup probe failed"),
        vec![a + 20 * S]
    );
    assert!(times(&out, "Unhealthy", "Liveness probe failed").is_empty());
    assert_eq!(times(&out, "Started", "").len(), 1);
    assert!(
        out.engine_events < 20_000,
        "{} engine events",
        out.engine_events
    );
}

// Disk pressure (`nodefs.available<10%`, a default hard threshold): ephemeral-storage capacity
// 10Gi, so the threshold is 1Gi. The pod starts at a + 2 s writing 100Mi/s (usage counted in
// whole seconds); the eviction manager ticks at 10 s multiples: at 90 s it has written at most
// 88 × 100Mi (1440Mi left), at 100 s k × 100Mi with k = ⌊100 − (a + 2)⌋ ≥ 97 (≤ 540Mi left,
// under 1Gi): evicted at 100 s, ranked and worded as upstream.
#[test]
fn disk_pressure_evicts_the_pod_writing_to_its_ephemeral_storage() {
    let text = "name: disk
seed: 3
duration: 3m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 16Gi, ephemeral-storage: 10Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
runtime:
  behaviors:
  - {name: writer, image: \"writer:1\", diskGrowth: 100Mi}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {name: w}
  spec:
    containers:
    - {name: c, image: \"writer:1\"}
expect:
- podCount: {phase: Failed, count: 1}
";
    let out = run_text("disk", text);
    // The invariant checker ran after every event (the eviction arming walk among its checks).
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    let a = admitted(&out);
    let k = (100 * S - (a + 2 * S)) / S;
    let evicted: Vec<_> = evictions(&out)
        .into_iter()
        .map(|(t, _, m)| (t, m))
        .collect();
    assert_eq!(
        evicted,
        vec![(
            100 * S,
            format!(
                "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, \
                 available: {}Mi. Container c was using {}Mi, request is 0, has larger \
                 consumption of ephemeral-storage. ",
                10240 - k * 100,
                k * 100
            )
        )]
    );
    assert_eq!(
        times(&out, "Started", "").len(),
        1,
        "a bare pod is not replaced"
    );
    assert!(out.expectations_passed(), "{:?}", out.expectations);
}

// PID pressure (`pid.available`, no default: set here through `evictionHard`): the node limit is
// 4194304 PIDs, the threshold 4194204 (at most 100 in use). Two pods run 80 and 40 processes
// from ~2 s, 120 in all; at the 10 s tick the threshold is met and `rankPIDPressure` (equal
// priorities, then more processes) evicts the 80-process pod.
#[test]
fn pid_pressure_evicts_the_pod_with_the_most_processes() {
    let text = "name: pids
seed: 3
duration: 1m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 16Gi, pods: \"110\"}
components:
  kubelet:
    evictionHard: \"memory.available<100Mi,pid.available<4194204\"
simulation:
  containerStartDelay: {min: 2s, max: 2s}
runtime:
  behaviors:
  - {name: forky, image: \"forky:1\", pids: 80}
  - {name: calm, image: \"calm:1\", pids: 40}
workloads:
- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: \"calm:1\"}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c, image: \"forky:1\"}]}}
";
    let out = run_text("pids", text);
    // The invariant checker ran after every event (the eviction arming walk among its checks).
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    let evicted = evictions(&out);
    assert_eq!(
        evicted,
        vec![(
            10 * S,
            "Pod/default/b".to_string(),
            "The node was low on resource: pids. Threshold quantity: 4194204, available: 4194184. "
                .to_string()
        )]
    );
}

/// The `Evicted` records of a run: (time in ns, object, message).
fn evictions(out: &RunOutput) -> Vec<(u64, String, String)> {
    out.records
        .iter()
        .filter(|r| r.reason == "Evicted")
        .map(|r| (r.t.as_nanos(), r.object.clone(), r.message.clone()))
        .collect()
}

// The kubelet keeps, per pod, whether it finished, whether its sandbox runs, whether its usage
// grows and its usage when flat, and the node's running-pod count, until the pod changes; the
// invariant checker compares every kept answer with a fresh scan of the workers after every
// event. Here pods go through all of it on one node: one completes (restartPolicy Never, exit
// 0) and so stops counting for admission, one crash-loops until it is deleted, and one leaks
// memory until it is evicted.
#[test]
fn kept_pod_answers_match_a_rescan_after_every_event() {
    let text = "name: kept
seed: 3
duration: 4m
cluster:
  nodePools:
  - name: w
    count: 1
    capacity: {cpu: \"4\", memory: 1Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
runtime:
  behaviors:
  - {name: task, image: \"task:1\", run: 20s, exitCode: 0}
  - {name: crashy, image: \"app:crash\", run: 5s, exitCode: 1}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {name: done}
  spec:
    restartPolicy: Never
    containers:
    - {name: c, image: \"task:1\", resources: {requests: {memory: 128Mi}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: crash}
  spec:
    containers:
    - {name: c, image: \"app:crash\"}
- apiVersion: v1
  kind: Pod
  metadata: {name: leak, labels: {app: leak}}
  spec:
    containers:
    - {name: c, image: \"app:1\", resources: {requests: {memory: 256Mi}}}
timeline:
- {at: 60s, memoryLeak: {labels: {app: leak}, rate: 50Mi}}
- {at: 150s, deleteObject: {kind: Pod, name: crash}}
";
    let out = run_text("kept", text);
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
    // The paths were taken: the eviction of the leaking pod, the crash loop's restarts.
    assert_eq!(evictions(&out).len(), 1);
    assert!(times(&out, "BackOff", "Back-off restarting failed container c").len() >= 2);
}
