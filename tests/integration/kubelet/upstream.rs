//! Kubelet rules checked against the upstream source, at exact simulated times derived from
//! it (each test names the function it follows and writes out the derivation): the backoff
//! entry's expiry, liveness kills restarted in the killing sync, and a sync blocked in an
//! image pull.

use super::{admitted, probed_deployment, times, CLUSTER};
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
// container's finishedAt. Start s0 = a + 2 (sandbox).
// Runs of 601 s: exit e1 = s0 + 601, no entry → restart at once, `Next` → 10 s, lastUpdate e1;
// e2 = e1 + 601: e2 − lastUpdate = 601 > 600, expired → not in backoff, restart at once and
// `Next` starts again from 10 s; the same at e3. Gaps 0, 0, 0.
// Runs of 600 s (one unit less): e2 − lastUpdate = 600, not expired → in backoff 10 s →
// restart at e2 + 10 (`Next` → 20 s, lastUpdate e2 + 10); e3 − lastUpdate = 600 → 20 s.
// Gaps 0, 10, 20.
#[test]
fn is_in_back_off_since_expires_after_twice_the_cap() {
    let out = run_text("backoff-expiry-601", &long_runner("601s", 45, ""));
    let starts = starts_of(&out);
    let a = admitted(&out);
    assert_eq!(starts[0], a + 2 * S);
    let run = 601 * S;
    assert_eq!(super::gaps(&starts[..4], run), vec![0, 0, 0]);
    assert!(times(&out, "BackOff", "Back-off restarting").is_empty());

    let out = run_text("backoff-expiry-600", &long_runner("600s", 45, ""));
    let starts = starts_of(&out);
    assert_eq!(super::gaps(&starts[..4], 600 * S), vec![0, 10, 20]);
}

// The same rule, seen from the reset: runs of 601 s from s0 = a + 2; e1 = a + 603 (restart at
// once, entry 10 s, lastUpdate e1), e2 = a + 1204 (expired: restart at once, `Next` resets the
// entry to 10 s, lastUpdate a + 1204). A `crashLoop` fault at f = 1500 s (inside the third
// run, f − lastUpdate < 600 s) kills it: in backoff 10 s → restart at f + 10 (`Next` → 20 s);
// that run exits 1 s later (the fault's `after`), in backoff 20 s → restart at f + 11 + 20.
// Without the reset the entry would have doubled at e2 and the first gap would be 20 s.
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
    assert_eq!(&starts[..3], &[a + 2 * S, a + 603 * S, a + 1204 * S]);
    let f = 1500 * S;
    assert_eq!(&starts[3..5], &[f + 10 * S, f + 31 * S]);
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
// 60 < 80 → `BackOff`; the syncs every 10 s then see the killed instance (finishedAt a + 362)
// and restart it at a + 362 + 80 = a + 442, with a `BackOff` at each sync before.
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
    let expected: Vec<u64> = [2, 62, 122, 182, 242, 302, 442]
        .iter()
        .map(|s| a + s * S)
        .collect();
    assert_eq!(&starts[..7], &expected[..]);
    let backoffs = times(&out, "BackOff", "Back-off restarting failed container c");
    let expected: Vec<u64> = (0..8).map(|k| a + (362 + 10 * k) * S).collect();
    assert_eq!(&backoffs[..8], &expected[..]);
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
