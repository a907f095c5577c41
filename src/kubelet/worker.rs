//! The pod worker of one admitted pod: sandbox, image pulls, init containers in order,
//! sidecars, app containers, restarts with CrashLoopBackOff, startup/readiness/liveness probes,
//! `activeDeadlineSeconds`, and graceful termination — and the pod status the kubelet reports.
//!
//! The worker is a state machine advanced by [`Worker::step`] at the instants it asks for
//! ([`Worker::next_wake`]). Nothing is polled: a container's [`RunPlan`] says when it exits
//! and when its probes' outcomes change, so steady-state probe successes cost no event; each
//! failing probe is one event, as each records an `Unhealthy` event upstream.
//!
//! Upstream sources: pod sync `kuberuntime_manager.go` (`computePodActions`, `doBackOff`),
//! `flowcontrol.Backoff` (10 s doubling to 300 s; reset when a run outlasts twice the cap),
//! `prober/worker.go` (`doProbe`, thresholds, initial values), `kuberuntime_container.go`
//! (`killContainer`: preStop, then SIGTERM, SIGKILL at the grace period, at least 2 s after a
//! preStop), `images/image_manager.go` (event texts and image backoff).
//!
//! The pod worker's sync loop (`pod_workers.go`, `pleg/generic.go`, docs/kubelet-model.md): a
//! container's own exit is synced at the generic PLEG's next relist (every 1 s from the
//! kubelet's start), a sync that failed (back-off, image errors) requeues the pod
//! `wait.Jitter(10 s, 0.5)` later at the next 1 s `syncCh` tick, drawn from the pod worker's own
//! stream, and the active deadline is acted on at a `syncCh` tick; so a CrashLoopBackOff
//! restart lands at the first sync at or after backoff expiry. The regular resync (1 min,
//! jitter 0.5) is kept only while it is observable — a started, not-ready container with a
//! readiness probe, whose immediate readiness run it triggers (`worker/resync.rs`).
//!
//! This file holds the worker's state, construction and step ([`Worker::advance`],
//! [`Worker::next_wake`]); its parts are `impl Worker` blocks beside it: `worker/probes.rs`,
//! `worker/restarts.rs` (sync, CrashLoopBackOff, images), `worker/resync.rs` (the regular
//! resync), `worker/termination.rs` (kills),
//! `worker/usage.rs` (what the eviction manager reads) and `worker/status.rs` (the reported
//! pod status).
//!
//! Architecture invariant: the worker reads only its own pod and the runtime's draws; it never
//! talks to the API server (the kubelet writes the status it computes).

mod probes;
mod restarts;
mod resync;
mod status;
mod termination;
mod usage;

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::model::*;
use crate::runtime::behavior::{Behavior, RunPlan};
use crate::runtime::images::{PullOutcome, PullRequest};
use crate::runtime::ContainerRuntime;
use crate::sim::{SimDuration, SimTime};
use probes::{next_tick_at_or_after, probe_due};
use restarts::Backoff;

/// `backOffPeriod` of the pod workers, and the initial container and image backoff.
pub const BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
/// `MaxContainerBackOff`.
pub const BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);
/// `workerBackOffPeriodJitterFactor` (pod_workers.go).
pub const WORKER_BACKOFF_JITTER: f64 = 0.5;
/// The generic PLEG's `relistPeriod` and the kubelet's `syncCh` ticker period.
pub const LOOP_PERIOD: SimDuration = SimDuration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Startup,
    Readiness,
    Liveness,
}

impl ProbeKind {
    fn label(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Liveness => "Liveness",
        }
    }
}

/// One probe worker (`prober/worker.go`): ticks at `origin + k·period` for the container's
/// lifetime in the pod; `last`/`run` are `lastResult`/`resultRun`.
#[derive(Clone, Debug)]
struct ProbeWorker {
    kind: ProbeKind,
    spec: Probe,
    origin: SimTime,
    /// The next tick not yet evaluated.
    next_tick: SimTime,
    last: Option<bool>,
    run: u32,
    on_hold: bool,
    /// A manual run (`manualTriggerCh`) pending at this instant.
    manual: Option<SimTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pull {
    /// Not needed or done for the current attempt.
    None,
    Waiting,
    Done(PullOutcome),
}

/// One container of the pod and its current run.
#[derive(Clone, Debug)]
struct Ctr {
    spec: Container,
    is_init: bool,
    sidecar: bool,
    behavior: Arc<Behavior>,
    state: ContainerState,
    last: Option<Terminated>,
    restarts: u32,
    ready: bool,
    started: bool,
    plan: Option<RunPlan>,
    /// SIGTERM/SIGKILL in progress: exit at this time with this code.
    kill: Option<(SimTime, i32)>,
    crash_backoff: Option<Backoff>,
    /// A liveness/startup kill whose sync also restarts the container: the `finishedAt` of
    /// the exited instance that sync's pod status shows (the one before the killed run), if
    /// any. Consumed by the restart once the kill completes.
    probe_kill: Option<Option<SimTime>>,
    image_backoff: Option<Backoff>,
    pull: Pull,
    /// When a pod-worker requeue will look at this container again.
    retry_at: Option<SimTime>,
    /// This sync failed for the container: the pod is requeued (see `requeue_at`).
    requeue: bool,
    ever_started: bool,
    probes: Vec<ProbeWorker>,
}

/// Events and requests produced by a step, for the kubelet to record and carry out.
#[derive(Default)]
pub struct Outbox {
    /// (reason, message) of `Pod/<key>` events.
    pub events: Vec<(&'static str, String)>,
    pub pulls: Vec<PullRequest>,
}

impl Outbox {
    fn event(&mut self, reason: &'static str, message: String) {
        self.events.push((reason, message));
    }
}

pub struct Worker {
    pub pod: Arc<Pod>,
    key: String,
    sandbox_at: SimTime,
    sandbox_ready: bool,
    ctrs: Vec<Ctr>,
    n_init: usize,
    start_time: SimTime,
    /// `reason`/`message` of a pod the kubelet failed (deadline).
    failed: Option<(String, String)>,
    /// When the kubelet saw the pod's deletion.
    terminating: Option<SimTime>,
    /// The container statuses' last transition bookkeeping lives in the conditions.
    conditions: Vec<PodCondition>,
    /// A `crashLoop` fault: runs started while it lasts exit with this code this long after
    /// their start.
    pub crash_override: Option<(i32, SimDuration)>,
    /// A `memoryLeak` fault: extra memory growth per second of every run.
    pub leak_rate: i64,
    /// Run every probe tick as an event (the cross-check of lazy probes).
    pub eager_probes: bool,
    /// The pod worker's stream (`kubelet/<node>/podworker/<key>/<uid>`): its requeue jitter.
    sync_rng: ChaCha8Rng,
    /// When the kubelet process started: the PLEG relists and the `syncCh` ticks fall on
    /// this instant plus whole periods.
    loop_origin: SimTime,
    /// The pod worker's resync stream (`kubelet/<node>/podworker/<key>/<uid>/resync`).
    resync_rng: ChaCha8Rng,
    /// The `syncCh` tick of the pending regular resync, kept only while it is observable
    /// (`worker/resync.rs`).
    resync_at: Option<SimTime>,
}

impl Worker {
    /// A pod admitted at `now`; its sandbox is ready after `sandbox_delay`. Probe workers
    /// start now, after a random part of their period if the kubelet started less than a
    /// period ago (`prober/worker.go` `run`).
    pub fn new(
        pod: Arc<Pod>,
        now: SimTime,
        sandbox_delay: SimDuration,
        kubelet_started: SimTime,
        runtime: &mut ContainerRuntime,
        sync_rng: ChaCha8Rng,
        resync_rng: ChaCha8Rng,
    ) -> Worker {
        let key = pod.key();
        let mut ctrs =
            Vec::with_capacity(pod.spec.init_containers.len() + pod.spec.containers.len());
        for (is_init, list) in [
            (true, &pod.spec.init_containers),
            (false, &pod.spec.containers),
        ] {
            for c in list.iter() {
                let behavior = runtime.behavior_for(&pod.meta.annotations, &c.name, &c.image);
                let sidecar = is_init && c.restart_policy == Some(RestartPolicy::Always);
                let mut probes = Vec::new();
                // Regular init containers are not probed.
                if !is_init || sidecar {
                    for (kind, p) in [
                        (ProbeKind::Startup, &c.probes.startup),
                        (ProbeKind::Readiness, &c.probes.readiness),
                        (ProbeKind::Liveness, &c.probes.liveness),
                    ] {
                        if let Some(spec) = p {
                            let period = SimDuration::from_secs(spec.period_seconds);
                            let mut origin = now;
                            if now.saturating_since(kubelet_started) < period {
                                origin += runtime.probe_start_jitter(period);
                            }
                            probes.push(ProbeWorker {
                                kind,
                                spec: spec.clone(),
                                origin,
                                next_tick: origin,
                                last: None,
                                run: 0,
                                on_hold: false,
                                manual: None,
                            });
                        }
                    }
                }
                ctrs.push(Ctr {
                    spec: c.clone(),
                    is_init,
                    sidecar,
                    behavior,
                    state: ContainerState::waiting(if is_init {
                        "PodInitializing"
                    } else if pod.spec.init_containers.is_empty() {
                        "ContainerCreating"
                    } else {
                        "PodInitializing"
                    }),
                    last: None,
                    restarts: 0,
                    ready: false,
                    started: false,
                    plan: None,
                    kill: None,
                    crash_backoff: None,
                    probe_kill: None,
                    image_backoff: None,
                    pull: Pull::None,
                    retry_at: None,
                    requeue: false,
                    ever_started: false,
                    probes,
                });
            }
        }
        if let Some(first) = ctrs.first_mut() {
            if first.is_init {
                first.state = ContainerState::waiting("ContainerCreating");
            }
        }
        Worker {
            key,
            n_init: pod.spec.init_containers.len(),
            sandbox_at: now + sandbox_delay,
            sandbox_ready: false,
            ctrs,
            start_time: now,
            failed: None,
            terminating: None,
            conditions: pod.status.conditions.clone(),
            crash_override: None,
            leak_rate: 0,
            eager_probes: false,
            sync_rng,
            loop_origin: kubelet_started,
            resync_rng,
            resync_at: None,
            pod,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The pod object changed in the API (a status write, a label change): keep the newest.
    pub fn update_pod(&mut self, pod: Arc<Pod>) {
        self.pod = pod;
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating.is_some()
    }

    /// Whether no container runs or is being started any more (the pod can be deleted).
    pub fn all_stopped(&self) -> bool {
        self.ctrs
            .iter()
            .all(|c| !c.state.is_running() && c.kill.is_none())
    }

    /// Whether the pod reached a terminal phase and nothing more will run.
    pub fn finished(&self) -> bool {
        // `all_stopped` first: it is cheap and false for every running pod.
        self.all_stopped() && self.terminal_phase().is_some()
    }

    /// The container runtime answers again after a hang: probe workers resume on their own
    /// tick phase, retries due during the hang happen now.
    pub fn resume(&mut self, now: SimTime) {
        for c in &mut self.ctrs {
            for p in &mut c.probes {
                let period = SimDuration::from_secs(p.spec.period_seconds);
                p.next_tick = next_tick_at_or_after(p.origin, period, now.max(p.next_tick));
            }
            if c.retry_at.is_some_and(|r| r < now) {
                c.retry_at = Some(now);
            }
        }
        if self.sandbox_at < now && !self.sandbox_ready {
            self.sandbox_at = now;
        }
    }

    /// The earliest instant at which this worker has something to do.
    pub fn next_wake(&self) -> Option<SimTime> {
        let mut t: Option<SimTime> = None;
        let mut add = |x: SimTime| t = Some(t.map_or(x, |y| y.min(x)));
        if !self.sandbox_ready {
            if self.terminating.is_none() {
                add(self.sandbox_at);
            }
            return t;
        }
        if let Some(d) = self.deadline() {
            if self.failed.is_none() && self.terminal_phase().is_none() && !self.pulling() {
                // `activeDeadlineHandler.ShouldSync`, asked at each `syncCh` tick.
                add(self.loop_tick(d));
            }
        }
        for c in &self.ctrs {
            if let Some((at, _)) = c.kill {
                add(at);
            } else if c.state.is_running() {
                if let Some(e) = c.plan.as_ref().and_then(|p| p.exit.as_ref()) {
                    // The generic PLEG sees the exit at its next relist.
                    add(self.loop_tick(e.at));
                }
            }
            if let Some(r) = c.retry_at {
                add(r);
            }
            if c.state.is_running() && c.kill.is_none() {
                for p in &c.probes {
                    if let Some(due) = probe_due(c, p, self.eager_probes) {
                        add(due.0);
                    }
                }
            }
        }
        if let Some(r) = self.resync_at {
            add(r);
        }
        t
    }

    /// Whether the pod's sync is blocked in `EnsureImageExists` (a pull it asked for has not
    /// returned). `pod_workers.go` runs one sync per pod at a time, so a sync queued meanwhile
    /// (the `activeDeadlineSeconds` one) waits for the pull.
    fn pulling(&self) -> bool {
        self.ctrs.iter().any(|c| c.pull == Pull::Waiting)
    }

    /// Whether the active deadline passed while the sync was blocked in a pull that has just
    /// returned: the blocked sync then finishes (starts what it pulled for) before the queued
    /// deadline sync fails the pod.
    pub fn deadline_queued(&self, now: SimTime) -> bool {
        self.deadline().is_some_and(|d| self.loop_tick(d) <= now)
            && self.failed.is_none()
            && self.terminal_phase().is_none()
            && self.sandbox_ready
    }

    /// The first tick of the kubelet's 1 s loops (PLEG relist, `syncCh`) at or after `t`.
    fn loop_tick(&self, t: SimTime) -> SimTime {
        next_tick_at_or_after(self.loop_origin, LOOP_PERIOD, t)
    }

    /// The kubelet process (re)started at `now`: its 1 s loops tick from then.
    pub fn set_loop_origin(&mut self, now: SimTime) {
        self.loop_origin = now;
        self.restart_resync(now);
    }

    fn deadline(&self) -> Option<SimTime> {
        self.pod
            .spec
            .active_deadline_seconds
            .map(|s| self.start_time + SimDuration::from_secs(s))
    }

    /// Does everything due at `now`, then syncs (starts what may start).
    pub fn step(&mut self, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
        self.advance(now, out);
        self.sync_now(now, runtime, out);
    }

    /// The runtime's side of a step (sandbox ready, exits, probe results, deadline), before
    /// the sync acts. Returns whether a container exited: upstream's `SyncPod` generates the
    /// API status from the runtime status *before* restarting anything, so an exit is reported
    /// (Ready False) even when the container restarts at once.
    pub fn advance(&mut self, now: SimTime, out: &mut Outbox) -> bool {
        if !self.sandbox_ready {
            if now < self.sandbox_at || self.terminating.is_some() {
                return false;
            }
            self.sandbox_ready = true;
        }
        let exited = self.exits_due(now);
        self.probes_due(now, out);
        self.resync_due(now, out);
        if let Some(d) = self.deadline() {
            // `activeDeadlineHandler.ShouldSync` is asked at the `syncCh` ticks.
            if now >= self.loop_tick(d)
                && self.failed.is_none()
                && self.terminal_phase().is_none()
                && !self.pulling()
            {
                // `pastActiveDeadline`: the pod fails and every container is killed.
                let msg = "Pod was active on the node longer than the specified deadline";
                out.event("DeadlineExceeded", msg.to_string());
                self.failed = Some(("DeadlineExceeded".into(), msg.into()));
                let grace = SimDuration::from_secs(self.pod.spec.termination_grace_period_seconds);
                for i in 0..self.ctrs.len() {
                    if self.ctrs[i].state.is_running() && self.ctrs[i].kill.is_none() {
                        let name = self.ctrs[i].spec.name.clone();
                        out.event("Killing", format!("Stopping container {name}"));
                        self.kill(i, now, grace);
                    }
                }
            }
        }
        exited
    }

    /// The sync after [`Worker::advance`].
    pub fn sync_now(&mut self, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
        if self.sandbox_ready {
            self.sync(now, runtime, out);
        }
        self.arm_resync(now);
    }

    /// Containers whose process exits (by itself, by OOM, or killed) at `now`; whether any did.
    fn exits_due(&mut self, now: SimTime) -> bool {
        let mut any = false;
        for c in &mut self.ctrs {
            if !c.state.is_running() {
                continue;
            }
            let ContainerState::Running { started_at } = c.state else {
                continue;
            };
            // `finishedAt` is the runtime's: a natural exit is seen up to a relist later.
            let exit = match (c.kill, c.plan.as_ref().and_then(|p| p.exit.as_ref())) {
                (Some((at, code)), _) if at <= now => Some((code, "Error".to_string(), at)),
                (_, Some(e)) if e.at <= now => Some((e.exit_code, e.reason.to_string(), e.at)),
                _ => None,
            };
            let Some((exit_code, reason, finished_at)) = exit else {
                continue;
            };
            c.state = ContainerState::Terminated(Terminated {
                exit_code,
                reason,
                started_at: Some(started_at),
                finished_at,
            });
            c.kill = None;
            c.ready = false;
            any = true;
        }
        any
    }
}
