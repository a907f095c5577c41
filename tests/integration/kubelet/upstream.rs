//! Kubelet rules checked against the upstream source, at exact simulated times derived from
//! it or, where the pod worker's jittered requeue decides, at upstream's windows (each test
//! names the function it follows and writes out the derivation): the backoff entry's expiry,
//! liveness kills restarted in the killing sync, a sync blocked in an image pull, and the
//! regular resync's immediate readiness run (checked at several seeds and lazy = eager).

use super::{
    admitted, assert_backoff_window, assert_within, loop_tick, probed_deployment, ready_at, times,
    CLUSTER, REQUEUE_MAX, REQUEUE_MIN,
};
use crate::support::*;

/// One pod `p` whose container `c` runs `run` and exits 1, for `minutes`.
fn long_runner(run: &str, minutes: u32, timeline: &str) -> String {
    format!(
        "{}runtime:
  behaviors:
  - {{name: long, image: \"app:long\", run: {run}, exitCode: 1}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p, labels: {{app: web}}}}
  spec:
    containers:
    - {{name: c, image: \"app:long\"}}
{timeline}",
        CLUSTER.replace("duration: 20m", &format!("duration: {minutes}m"))
    )
}

fn starts_of(out: &kubesim::run::RunOutput) -> Vec<u64> {
    times(out, "Started", "Started container c")
}

// client-go flowcontrol `IsInBackOffSince` / `Next` with `hasExpired(eventTime, lastUpdate,
// maxDuration)` = eventTime − lastUpdate > 2 × 300 s, as `doBackOff` calls them with the exited
// container's finishedAt. Start s0 = a + 2 (sandbox); an exit is synced at the generic PLEG's
// next relist (whole seconds), and a restart's `Next` sets lastUpdate to the restart.
// Runs of 601 s: e1 = s0 + 601, no entry → restart at its relist s1 (`Next` → 10 s, lastUpdate
// s1); e2 = s1 + 601 (a relist tick): e2 − lastUpdate = 601 > 600, expired → not in backoff,
// restart at e2 and `Next` starts again from 10 s; the same at e3. So s2 = s1 + 601 and
// s3 = s2 + 601 exactly, and no BackOff.
// Runs of 600 s (one unit less): e2 − lastUpdate = 600, not expired → `BackOff` at e2 and a
// restart at the first requeued sync at or after e2 + 10 s (`Next` → 20 s, lastUpdate s2);
// e3 − lastUpdate = 600 again → 20 s.
#[test]
fn is_in_back_off_since_expires_after_twice_the_cap() {
    let out = run_text("backoff-expiry-601", &long_runner("601s", 45, ""));
    let starts = starts_of(&out);
    let a = admitted(&out);
    assert_eq!(starts[0], a + 2 * S);
    assert_eq!(starts[1], loop_tick(starts[0] + 601 * S));
    assert_eq!(&starts[2..4], &[starts[1] + 601 * S, starts[1] + 1202 * S]);
    assert!(times(&out, "BackOff", "Back-off restarting").is_empty());

    let out = run_text("backoff-expiry-600", &long_runner("600s", 45, ""));
    let starts = starts_of(&out);
    let backoffs = times(&out, "BackOff", "Back-off restarting");
    for (k, d) in [(1, 10), (2, 20)] {
        let exit = starts[k] + 600 * S;
        let records: Vec<u64> = backoffs
            .iter()
            .copied()
            .filter(|&b| b >= exit && b < starts[k + 1])
            .collect();
        assert_backoff_window(exit, d * S, starts[k + 1], &records);
    }
}

// The same rule, seen from the reset: runs of 601 s from s0 = a + 2; e1 = a + 603, restarted
// at its relist s1 (entry 10 s, lastUpdate s1); e2 = s1 + 601: expired, restarted at once and
// `Next` resets the entry to 10 s (lastUpdate e2). A `crashLoop` fault at f = 1500 s (inside
// the third run, f − lastUpdate < 600 s; a relist tick) kills it: `BackOff` at f, restart at
// the first requeued sync at or after f + 10 s (`Next` → 20 s); that run exits 1 s later (the
// fault's `after`), backoff 20 s. Without the reset the entry would have doubled at e2 and
// the first restart would come at least 20 s after f.
#[test]
fn backoff_starts_again_from_10_s_after_an_expired_entry() {
    let out = run_text(
        "backoff-reset",
        &long_runner(
            "601s",
            40,
            "timeline:\n- {at: 1500s, duration: 100s, crashLoop: {labels: {app: web}}}\n",
        ),
    );
    let a = admitted(&out);
    let starts = starts_of(&out);
    let s1 = loop_tick(a + 603 * S);
    assert_eq!(&starts[..3], &[a + 2 * S, s1, s1 + 601 * S]);
    let backoffs = times(&out, "BackOff", "Back-off restarting");
    let f = 1500 * S;
    for (k, exit, d) in [(3, f, 10), (4, starts[3] + S, 20)] {
        let records: Vec<u64> = backoffs
            .iter()
            .copied()
            .filter(|&b| b >= exit && b < starts[k])
            .collect();
        assert_backoff_window(exit, d * S, starts[k], &records);
    }
}

// `computePodActions` puts a container that failed liveness in ContainersToKill *and*
// ContainersToStart; `SyncPod` kills it (stop time 0: it exits at once) and starts it in the
// same call, and `doBackOff` reads the pod status captured before the kill, whose latest
// exited instance is the previous run (none for the first kill: no backoff, no `Next`).
// Probe ticks at a + 10k; each run hangs 33 s after its start; failing ticks land 2 s late
// and the third kills. Run 1 (a + 2) hangs at a + 35, killed at a + 62 and restarted at once
// (no exited instance). Run 2 hangs at a + 95 (ticks a + 100, 110, 120): killed at a + 122,
// previous finishedAt a + 62, no entry → not in backoff, `Next` → 10 s, restarted at once.
// Runs 3, 4, 5 are killed at a + 182, 242, 302, each 60 s after the previous kill: 60 ≥ 10,
// 20, 40 → restarted at once, the entry doubling to 20, 40, 80 s. Run 6 is killed at a + 362:
// 60 < 80 → `BackOff` in that sync, which fails and requeues the pod 10–15 s later (at a 1 s
// `syncCh` tick, so the first requeued sync is 10 to 16 s after a + 362, the next ones 10–15 s
// apart); those syncs see the killed instance (finishedAt a + 362) and record `BackOff` until
// the first one at or after a + 362 + 80 = a + 442 restarts it.
#[test]
fn liveness_kill_restarts_in_the_killing_sync_compute_pod_actions_do_back_off() {
    let text = probed_deployment(
        "livenessProbe: {tcpSocket: {port: 80}, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3}",
        "{name: hangs, image: \"app:probed\", hangAfter: 33s}",
    );
    let out = run_text("liveness-backoff", &text);
    let a = admitted(&out);
    let kills = times(&out, "Killing", "Container c failed liveness probe");
    let expected_kills: Vec<u64> = (0..6).map(|k| a + (62 + 60 * k) * S).collect();
    assert_eq!(&kills[..6], &expected_kills[..]);
    let starts = starts_of(&out);
    let expected: Vec<u64> = [2, 62, 122, 182, 242, 302]
        .iter()
        .map(|s| a + s * S)
        .collect();
    assert_eq!(&starts[..6], &expected[..]);
    let kill = a + 362 * S;
    let restart = starts[6];
    assert_within(
        restart,
        kill + 80 * S,
        kill + 80 * S + REQUEUE_MAX,
        "restart",
    );
    let backoffs: Vec<u64> = times(&out, "BackOff", "Back-off restarting failed container c")
        .into_iter()
        .filter(|&b| b < restart)
        .collect();
    assert_eq!(backoffs[0], kill);
    let mut syncs = backoffs.clone();
    syncs.push(restart);
    assert_within(
        syncs[1] - syncs[0],
        REQUEUE_MIN,
        REQUEUE_MAX + S - 1,
        "first requeue",
    );
    for w in syncs[1..].windows(2) {
        assert_within(w[1] - w[0], REQUEUE_MIN, REQUEUE_MAX, "requeue");
    }
    assert!(backoffs.iter().all(|&b| b < kill + 80 * S));
}

// pod_workers.go runs one sync per pod at a time, and `EnsureImageExists` blocks `SyncPod`
// until the pull ends. The pull takes 0.5 s latency + 3000 MiB / 50 MiB/s = 60.5 s from the
// sandbox (a + 2), so it returns at a + 62.5: the blocked sync starts the container then, and
// only the sync queued behind it fails the pod for `activeDeadlineSeconds` (a + 30 passed):
// `DeadlineExceeded` and `Killing` at a + 62.5, not at a + 30.
#[test]
fn active_deadline_during_a_pull_fails_when_the_pull_returns_ensure_image_exists() {
    let text = format!(
        "{CLUSTER}runtime:
  registries:
  - {{host: registry.example.com, bandwidth: 50Mi, latency: 500ms}}
  images:
  - {{name: \"registry.example.com/team/big:v1\", size: 3000Mi}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
    activeDeadlineSeconds: 30
    containers:
    - {{name: c, image: \"registry.example.com/team/big:v1\"}}
"
    );
    let out = run_text("deadline-pull", &text);
    let a = admitted(&out);
    let back = a + 62 * S + S / 2;
    assert_eq!(times(&out, "Pulling", "Pulling image"), vec![a + 2 * S]);
    assert_eq!(times(&out, "Pulled", "Successfully pulled"), vec![back]);
    assert_eq!(starts_of(&out), vec![back]);
    let deadline = times(&out, "DeadlineExceeded", "Pod was active on the node");
    assert_eq!(deadline, vec![back]);
    assert_eq!(times(&out, "Killing", "Stopping container c"), vec![back]);
}

// pod_workers.go `completeWork`: a sync that succeeded requeues the pod
// `wait.Jitter(resyncInterval = --sync-frequency 1 min, workerResyncIntervalJitterFactor 0.5)`
// later, i.e. 60–90 s, picked up at the next 1 s `syncCh` tick (`getPodsToSync`); each sync's
// `generateAPIPodStatus` calls prober_manager.go `UpdatePodStatus`, which triggers an
// immediate readiness run for a started, running container whose readiness is not Success.
// The deployment scales at 400 s (> one probe period after the kubelet's start, so the probe
// worker starts at admission a without jitter): readiness ticks at a + 300k, the container
// starts at s = a + 2 (its start sync) and is not ready (readiness starts as Failure). Its
// readiness passes from s + 100 s. Resync 1 at R1 in [s + 60, s + 90] (a whole-second tick):
// the manual run fails (R1 − s ≤ 90 < 100): one `Unhealthy` at R1, nothing else before.
// Resync 2 at R2 in [R1 + 60, R1 + 90] ⊆ [s + 120, s + 180]: the manual run passes, Ready at
// R2 — not at the next regular tick a + 300 = s + 298.
#[test]
fn regular_resync_runs_the_readiness_probe_complete_work_update_pod_status() {
    let base = probed_deployment(
        "readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 300}",
        "{name: slow, image: \"app:probed\", readyAfter: 100s}",
    )
    .replace("at: 100s, scaleDeployment", "at: 400s, scaleDeployment");
    for seed in [3, 11, 77] {
        let text = base.replace("seed: 3\n", &format!("seed: {seed}\n"));
        let out = run_text(&format!("resync-{seed}"), &text);
        let a = admitted(&out);
        let s = a + 2 * S;
        assert_eq!(starts_of(&out), vec![s]);
        let unhealthy = times(&out, "Unhealthy", "Readiness probe failed");
        assert_eq!(unhealthy.len(), 1, "seed {seed}: {unhealthy:?}");
        let r1 = unhealthy[0];
        assert_within(r1, s + 60 * S, s + 90 * S, "first resync");
        assert_eq!(r1, loop_tick(r1), "a syncCh tick");
        let name = format!("resync-{seed}-ready");
        assert_eq!(ready_at(&format!("{name}-a"), &text, r1 + 60 * S - 1), 0);
        assert_eq!(ready_at(&format!("{name}-b"), &text, r1 + 90 * S), 1);
        // Lazy = eager: every probe tick and heartbeat as an event gives the same log.
        let mut sc = from_yaml(&name, &text);
        sc.kubelet.lazy_heartbeats = false;
        sc.kubelet.lazy_probes = false;
        let eager = kubesim::run::run(&sc, &Default::default());
        assert_eq!(out.digest, eager.digest, "seed {seed}: lazy vs eager");
    }
}
