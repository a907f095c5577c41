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
//! Two simplifications, both documented in docs/kubelet-model.md: a container exit is seen at
//! once (the generic PLEG relists every 1 s), and a pod worker that hit an error requeues after
//! exactly 10 s (upstream adds up to 50 % jitter), so CrashLoopBackOff restarts land exactly on
//! backoff expiry.
//!
//! Architecture invariant: the worker reads only its own pod and the runtime's draws; it never
//! talks to the API server (the kubelet writes the status it computes).

use std::sync::Arc;

use super::conditions::{kubelet_conditions, Sandbox};
use super::phase::{get_phase, Statuses};
use crate::model::*;
use crate::runtime::behavior::{Behavior, RunPlan};
use crate::runtime::images::{PullOutcome, PullRequest};
use crate::runtime::ContainerRuntime;
use crate::sim::{SimDuration, SimTime};

/// `backOffPeriod` of the pod workers, and the initial container and image backoff.
pub const BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
/// `MaxContainerBackOff`.
pub const BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);
/// `minimumGracePeriodInSeconds` after a preStop hook.
const MIN_GRACE_AFTER_PRE_STOP: SimDuration = SimDuration::from_secs(2);
/// Bound on probe ticks scanned per lookahead (ticks between breakpoints are skipped).
const PROBE_SCAN_LIMIT: usize = 10_000;

/// `flowcontrol.Backoff` entry (no jitter: the kubelet's has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Backoff {
    dur: SimDuration,
    last_update: SimTime,
}

impl Backoff {
    /// `Backoff.Next(id, eventTime)`.
    fn next(entry: Option<Backoff>, event_time: SimTime, now: SimTime) -> Backoff {
        let dur = match entry {
            Some(e) if event_time.saturating_since(e.last_update) <= BACKOFF_MAX + BACKOFF_MAX => {
                (e.dur + e.dur).min(BACKOFF_MAX)
            }
            _ => BACKOFF_INITIAL,
        };
        Backoff {
            dur,
            last_update: now,
        }
    }
    /// `IsInBackOffSince(id, eventTime)`: now − eventTime < backoff.
    fn in_backoff_since(entry: Option<Backoff>, event_time: SimTime, now: SimTime) -> bool {
        entry.is_some_and(|e| now.saturating_since(event_time) < e.dur)
    }
}

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
    image_backoff: Option<Backoff>,
    pull: Pull,
    /// When a pod-worker requeue will look at this container again.
    retry_at: Option<SimTime>,
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
    ) -> Worker {
        let key = pod.key();
        let mut ctrs = Vec::new();
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
                    image_backoff: None,
                    pull: Pull::None,
                    retry_at: None,
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

    /// Memory in use by the running containers at `now`, in bytes.
    pub fn memory_at(&self, now: SimTime) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.memory_at(now)))
            .sum()
    }

    /// A `crashLoop` fault starts: every running container exits now with `code`.
    pub fn crash_now(&mut self, now: SimTime, code: i32) {
        for c in &mut self.ctrs {
            if c.state.is_running() && c.kill.is_none() {
                c.kill = Some((now, code));
            }
        }
    }

    /// A `memoryLeak` fault starts (`rate` > 0) or ends (`rate` < 0) for the running containers.
    pub fn change_leak(&mut self, now: SimTime, rate: i64) {
        self.leak_rate += rate;
        for c in &mut self.ctrs {
            if c.state.is_running() {
                let limit = c.spec.limits.memory;
                if let Some(p) = c.plan.as_mut() {
                    p.rebase_growth(now, rate, limit);
                }
            }
        }
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

    /// Ephemeral storage written by the running containers at `now`, in bytes.
    pub fn disk_at(&self, now: SimTime) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.disk_at(now)))
            .sum()
    }

    /// Processes of the running containers.
    pub fn pids(&self) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.pids))
            .sum()
    }

    /// Whether a running container's ephemeral storage grows.
    pub fn disk_growing(&self) -> bool {
        self.ctrs.iter().any(|c| {
            c.state.is_running() && c.plan.as_ref().is_some_and(|p| p.disk_growth_per_sec > 0)
        })
    }

    /// The running container using the most of `signal`'s resource above its request:
    /// (name, usage, request).
    pub fn top_container(
        &self,
        now: SimTime,
        signal: super::pressure::Signal,
    ) -> Option<(String, i64, i64)> {
        use super::pressure::Signal;
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| {
                let p = c.plan.as_ref()?;
                let (u, r) = match signal {
                    Signal::Memory => (p.memory_at(now), c.spec.requests.memory),
                    Signal::NodeFs => (p.disk_at(now), c.spec.requests.ephemeral_storage),
                    Signal::Pid => (p.pids, 0),
                };
                Some((c.spec.name.clone(), u, r))
            })
            .max_by_key(|(_, u, r)| u - r)
    }

    /// Whether a running container's memory grows (the eviction manager must keep watching).
    pub fn memory_growing(&self) -> bool {
        self.ctrs.iter().any(|c| {
            c.state.is_running() && c.plan.as_ref().is_some_and(|p| p.memory_growth_per_sec > 0)
        })
    }

    /// Whether the eviction manager may pick this pod (something runs and it is not failing).
    pub fn evictable(&self) -> bool {
        self.failed.is_none()
            && self.terminating.is_none()
            && self
                .ctrs
                .iter()
                .any(|c| c.state.is_running() && c.kill.is_none())
    }

    /// The running container using the most memory above its request: (name, usage, request).
    pub fn top_memory_container(&self, now: SimTime) -> Option<(String, i64, i64)> {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| {
                let usage = c.plan.as_ref()?.memory_at(now);
                Some((c.spec.name.clone(), usage, c.spec.requests.memory))
            })
            .max_by_key(|(_, u, r)| u - r)
    }

    /// The eviction manager evicts the pod: it fails (`reason`, `message`) and its containers
    /// are killed with `grace` (1 s for a hard threshold).
    pub fn evict(&mut self, now: SimTime, reason: &str, message: String, grace: SimDuration) {
        self.failed = Some((reason.to_string(), message));
        for i in 0..self.ctrs.len() {
            if self.ctrs[i].state.is_running() && self.ctrs[i].kill.is_none() {
                self.kill(i, now, grace);
            }
            self.ctrs[i].retry_at = None;
        }
    }

    /// The pod is being deleted with `grace`: preStop hooks, SIGTERM, SIGKILL at the end of the
    /// grace period. Containers that never ran just stop being started.
    pub fn terminate(&mut self, now: SimTime, grace: SimDuration, out: &mut Outbox) {
        if self.terminating.is_some() {
            return;
        }
        self.terminating = Some(now);
        for i in 0..self.ctrs.len() {
            if self.ctrs[i].state.is_running() && self.ctrs[i].kill.is_none() {
                let name = self.ctrs[i].spec.name.clone();
                out.event("Killing", format!("Stopping container {name}"));
                self.kill(i, now, grace);
            }
            self.ctrs[i].retry_at = None;
        }
    }

    /// `killContainer`: preStop (within the grace period), then SIGTERM; the process exits
    /// after its stop time, or is SIGKILLed when the remaining grace period (at least 2 s after
    /// a preStop hook) runs out.
    fn kill(&mut self, i: usize, now: SimTime, grace: SimDuration) {
        let c = &mut self.ctrs[i];
        let pre_stop = match &c.spec.pre_stop {
            Some(PreStopHook::Sleep { seconds }) => SimDuration::from_secs(*seconds),
            Some(PreStopHook::Handler) => c.behavior.pre_stop_time,
            None => SimDuration::ZERO,
        }
        .min(grace);
        let mut remaining = grace.saturating_sub(pre_stop);
        if c.spec.pre_stop.is_some() && remaining < MIN_GRACE_AFTER_PRE_STOP {
            remaining = MIN_GRACE_AFTER_PRE_STOP;
        }
        let stop = c.behavior.stop_time.unwrap_or(SimDuration::ZERO);
        let sigterm = now + pre_stop;
        let exit = if stop <= remaining {
            (sigterm + stop, 143)
        } else {
            (sigterm + remaining, 137)
        };
        // A process that exits by itself earlier keeps its own exit.
        if let Some(e) = c.plan.as_ref().and_then(|p| p.exit.as_ref()) {
            if e.at <= exit.0 {
                return;
            }
        }
        c.kill = Some(exit);
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
            if self.failed.is_none() && self.terminal_phase().is_none() {
                add(d);
            }
        }
        for c in &self.ctrs {
            if let Some((at, _)) = c.kill {
                add(at);
            } else if c.state.is_running() {
                if let Some(e) = c.plan.as_ref().and_then(|p| p.exit.as_ref()) {
                    add(e.at);
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
        t
    }

    fn deadline(&self) -> Option<SimTime> {
        self.pod
            .spec
            .active_deadline_seconds
            .map(|s| self.start_time + SimDuration::from_secs(s))
    }

    /// A pull this worker asked for finished.
    pub fn on_pulled(&mut self, container: &str, outcome: PullOutcome) {
        if let Some(c) = self.ctrs.iter_mut().find(|c| c.spec.name == container) {
            if c.pull == Pull::Waiting {
                c.pull = Pull::Done(outcome);
            }
        }
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
        if let Some(d) = self.deadline() {
            if now >= d && self.failed.is_none() && self.terminal_phase().is_none() {
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
            let exit = match (c.kill, c.plan.as_ref().and_then(|p| p.exit.as_ref())) {
                (Some((at, code)), _) if at <= now => Some((code, "Error".to_string())),
                (_, Some(e)) if e.at <= now => Some((e.exit_code, e.reason.to_string())),
                _ => None,
            };
            let Some((exit_code, reason)) = exit else {
                continue;
            };
            c.state = ContainerState::Terminated(Terminated {
                exit_code,
                reason,
                started_at: Some(started_at),
                finished_at: now,
            });
            c.kill = None;
            c.ready = false;
            any = true;
        }
        any
    }

    /// Probe ticks with an observable result at `now`.
    fn probes_due(&mut self, now: SimTime, out: &mut Outbox) {
        let grace_default = SimDuration::from_secs(self.pod.spec.termination_grace_period_seconds);
        for i in 0..self.ctrs.len() {
            for j in 0..self.ctrs[i].probes.len() {
                let c = &self.ctrs[i];
                if !c.state.is_running() || c.kill.is_some() {
                    continue;
                }
                let Some((at, tick)) = probe_due(c, &c.probes[j], self.eager_probes) else {
                    continue;
                };
                // Never behind `now` (see the startup gating below), so this is `at == now`;
                // `<=` keeps a missed tick from stalling the worker.
                if at > now {
                    continue;
                }
                let plan = c.plan.as_ref().expect("running container has a plan");
                let kind = c.probes[j].kind;
                let ok = probe_result(plan, kind, tick);
                let hung = plan.hung(tick);
                let name = c.spec.name.clone();
                let c = &mut self.ctrs[i];
                let p = &mut c.probes[j];
                p.next_tick = tick + SimDuration::from_secs(p.spec.period_seconds);
                if p.last == Some(ok) {
                    p.run += 1;
                } else {
                    p.last = Some(ok);
                    p.run = 1;
                }
                if !ok {
                    let why = if hung {
                        "Get \"http://10.0.0.1:8080/\": context deadline exceeded \
                         (Client.Timeout exceeded while awaiting headers)"
                            .to_string()
                    } else {
                        "HTTP probe failed with statuscode: 503".to_string()
                    };
                    out.event("Unhealthy", format!("{} probe failed: {why}", kind.label()));
                }
                let threshold = if ok {
                    p.spec.success_threshold
                } else {
                    p.spec.failure_threshold
                };
                if p.run < threshold {
                    continue;
                }
                let probe_grace = p.spec.termination_grace_period_seconds;
                match (kind, ok) {
                    (ProbeKind::Readiness, r) => c.ready = r,
                    (ProbeKind::Startup, true) => {
                        c.started = true;
                        // Readiness and liveness ticks until now were no-ops (`doProbe` returns
                        // early before the container has started): they resume after now.
                        for q in c.probes.iter_mut().filter(|q| q.kind != ProbeKind::Startup) {
                            let period = SimDuration::from_secs(q.spec.period_seconds);
                            q.next_tick = next_tick_at_or_after(
                                q.origin,
                                period,
                                now + SimDuration::from_nanos(1),
                            );
                        }
                    }
                    (ProbeKind::Liveness, true) => {}
                    (ProbeKind::Startup | ProbeKind::Liveness, false) => {
                        p.on_hold = true;
                        p.run = 0;
                        let what = if kind == ProbeKind::Startup {
                            "startup"
                        } else {
                            "liveness"
                        };
                        out.event(
                            "Killing",
                            format!("Container {name} failed {what} probe, will be restarted"),
                        );
                        let grace = probe_grace
                            .map(SimDuration::from_secs)
                            .unwrap_or(grace_default);
                        self.kill(i, now, grace);
                    }
                }
            }
        }
    }

    /// `computePodActions` + `SyncPod`: start the next init container, or the app containers,
    /// restarting exited ones per the restart policy with CrashLoopBackOff.
    fn sync(&mut self, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
        if self.terminating.is_some() || self.failed.is_some() {
            return;
        }
        let policy = self.pod.spec.restart_policy;
        // Init containers, strictly in order: each regular one must succeed (a sidecar must
        // have started) before the next.
        for i in 0..self.n_init {
            let c = &self.ctrs[i];
            if c.sidecar {
                if !c.state.is_running() {
                    self.try_start(i, now, runtime, out);
                    return;
                }
                if !c.started && c.probes.iter().any(|p| p.kind == ProbeKind::Startup) {
                    return;
                }
                continue;
            }
            match &c.state {
                ContainerState::Terminated(t) if t.exit_code == 0 => continue,
                ContainerState::Terminated(_) if policy == RestartPolicy::Never => return,
                ContainerState::Running { .. } => return,
                _ => {
                    self.try_start(i, now, runtime, out);
                    return;
                }
            }
        }
        // Sidecars that exited restart at any time.
        for i in 0..self.n_init {
            if self.ctrs[i].sidecar && !self.ctrs[i].state.is_running() {
                self.try_start(i, now, runtime, out);
            }
        }
        for i in self.n_init..self.ctrs.len() {
            let restart = match &self.ctrs[i].state {
                ContainerState::Running { .. } => false,
                ContainerState::Waiting { .. } => true,
                ContainerState::Terminated(t) => match policy {
                    RestartPolicy::Always => true,
                    RestartPolicy::OnFailure => t.exit_code != 0,
                    RestartPolicy::Never => false,
                },
            };
            if restart {
                self.try_start(i, now, runtime, out);
            }
        }
    }

    /// Starts container `i` now unless it waits for backoff or an image.
    fn try_start(
        &mut self,
        i: usize,
        now: SimTime,
        runtime: &mut ContainerRuntime,
        out: &mut Outbox,
    ) {
        let c = &mut self.ctrs[i];
        if c.retry_at.is_some_and(|r| r > now) {
            return;
        }
        c.retry_at = None;
        let name = c.spec.name.clone();
        // doBackOff, keyed by the last exit.
        if let Some(t) = c.state.terminated().cloned() {
            if Backoff::in_backoff_since(c.crash_backoff, t.finished_at, now) {
                out.event(
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {name} in pod {}",
                        pod_ref(&self.pod)
                    ),
                );
                let dur = c.crash_backoff.map(|b| b.dur).unwrap_or(BACKOFF_INITIAL);
                c.last = Some(t.clone());
                c.state = ContainerState::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: format!(
                        "back-off {} restarting failed container={name} pod={}",
                        dur,
                        pod_ref(&self.pod)
                    ),
                };
                c.retry_at = Some(now + BACKOFF_INITIAL);
                return;
            }
            c.crash_backoff = Some(Backoff::next(c.crash_backoff, t.finished_at, now));
            c.last = Some(t);
            c.restarts += 1;
        } else if let ContainerState::Waiting { reason, .. } = &c.state {
            if reason == "CrashLoopBackOff" {
                // Still keyed by the last exit.
                let t = c.last.clone().expect("CrashLoopBackOff follows an exit");
                if Backoff::in_backoff_since(c.crash_backoff, t.finished_at, now) {
                    out.event(
                        "BackOff",
                        format!(
                            "Back-off restarting failed container {name} in pod {}",
                            pod_ref(&self.pod)
                        ),
                    );
                    c.retry_at = Some(now + BACKOFF_INITIAL);
                    return;
                }
                c.crash_backoff = Some(Backoff::next(c.crash_backoff, t.finished_at, now));
                c.restarts += 1;
            }
        }
        if !self.ensure_image(i, now, runtime, out) {
            return;
        }
        self.start(i, now, runtime, out);
    }

    /// `EnsureImageExists`: true when the image is there to start the container.
    fn ensure_image(
        &mut self,
        i: usize,
        now: SimTime,
        runtime: &mut ContainerRuntime,
        out: &mut Outbox,
    ) -> bool {
        let secrets = self.pod.spec.image_pull_secrets.clone();
        let pod_key = self.key.clone();
        let c = &mut self.ctrs[i];
        let image = c.spec.image.clone();
        match std::mem::replace(&mut c.pull, Pull::None) {
            Pull::Waiting => {
                c.pull = Pull::Waiting;
                return false;
            }
            Pull::Done(PullOutcome::Pulled) => return true,
            Pull::Done(PullOutcome::Failed(err)) => {
                out.event("Failed", format!("Failed to pull image \"{image}\": {err}"));
                out.event("Failed", "Error: ErrImagePull".into());
                c.image_backoff = Some(Backoff::next(c.image_backoff, now, now));
                c.state = ContainerState::Waiting {
                    reason: "ErrImagePull".into(),
                    message: err,
                };
                c.retry_at = Some(now + BACKOFF_INITIAL);
                return false;
            }
            Pull::None => {}
        }
        let present = runtime.images.is_present(&image);
        let need_pull = match c.spec.image_pull_policy {
            PullPolicy::Always => true,
            PullPolicy::IfNotPresent => !present,
            PullPolicy::Never => {
                if present {
                    false
                } else {
                    let msg = format!(
                        "Container image \"{image}\" is not present with pull policy of Never"
                    );
                    out.event("ErrImageNeverPull", msg.clone());
                    out.event("Failed", "Error: ErrImageNeverPull".into());
                    c.state = ContainerState::Waiting {
                        reason: "ErrImageNeverPull".into(),
                        message: msg,
                    };
                    c.retry_at = Some(now + BACKOFF_INITIAL);
                    return false;
                }
            }
        };
        if !need_pull {
            out.event(
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            return true;
        }
        // `IsInBackOffSinceUpdate(key, now)`: now − lastUpdate < backoff.
        if let Some(b) = c.image_backoff {
            if now.saturating_since(b.last_update) < b.dur {
                out.event("BackOff", format!("Back-off pulling image \"{image}\""));
                out.event("Failed", "Error: ImagePullBackOff".into());
                c.state = ContainerState::Waiting {
                    reason: "ImagePullBackOff".into(),
                    message: format!("Back-off pulling image \"{image}\""),
                };
                c.retry_at = Some(now + BACKOFF_INITIAL);
                return false;
            }
        }
        out.event("Pulling", format!("Pulling image \"{image}\""));
        c.pull = Pull::Waiting;
        if c.state.waiting_reason().is_none() {
            c.state = ContainerState::waiting("ContainerCreating");
        }
        out.pulls.push(PullRequest {
            image,
            pod: pod_key,
            container: c.spec.name.clone(),
            secrets,
            requested: now,
        });
        false
    }

    fn start(&mut self, i: usize, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
        let c = &mut self.ctrs[i];
        let name = c.spec.name.clone();
        out.event("Created", format!("Created container: {name}"));
        out.event("Started", format!("Started container {name}"));
        let plan = runtime.plan(
            &c.behavior,
            now,
            c.restarts,
            c.spec.requests.memory,
            c.spec.limits.memory,
        );
        if let Some(t) = c.state.terminated() {
            c.last = Some(t.clone());
        }
        let mut plan = plan;
        if let Some((code, after)) = self.crash_override {
            let at = now + after;
            if plan.exit.as_ref().is_none_or(|e| at < e.at) {
                plan.exit = Some(crate::runtime::behavior::Exit {
                    at,
                    exit_code: code,
                    reason: if code == 0 { "Completed" } else { "Error" },
                });
            }
        }
        if self.leak_rate != 0 {
            plan.rebase_growth(now, self.leak_rate, c.spec.limits.memory);
        }
        c.state = ContainerState::Running { started_at: now };
        c.plan = Some(plan);
        c.kill = None;
        c.ever_started = true;
        let has_startup = c.probes.iter().any(|p| p.kind == ProbeKind::Startup);
        c.started = !has_startup;
        let has_readiness = c.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        // Without a readiness probe a started container is ready.
        c.ready = !has_readiness && !has_startup;
        for p in &mut c.probes {
            // A new container ID resets the worker to its initial value.
            p.last = None;
            p.run = 0;
            p.on_hold = false;
            let period = SimDuration::from_secs(p.spec.period_seconds);
            p.next_tick = next_tick_at_or_after(p.origin, period, now);
        }
    }

    /// The kubelet process restarted: probe workers start again from now (after a random part
    /// of their period, as the kubelet started less than a period ago).
    pub fn restart_probes(&mut self, now: SimTime, runtime: &mut ContainerRuntime) {
        for c in &mut self.ctrs {
            for p in &mut c.probes {
                let period = SimDuration::from_secs(p.spec.period_seconds);
                p.origin = now + runtime.probe_start_jitter(period);
                p.next_tick = p.origin;
                p.last = None;
                p.run = 0;
            }
            if c.retry_at.is_some_and(|r| r < now) {
                c.retry_at = Some(now);
            }
        }
    }

    /// Applies a startup probe success to readiness: without a readiness probe the container
    /// becomes ready once started.
    fn settle_ready(&mut self) {
        for c in &mut self.ctrs {
            if c.state.is_running()
                && c.started
                && c.kill.is_none()
                && !c.probes.iter().any(|p| p.kind == ProbeKind::Readiness)
            {
                c.ready = true;
            }
        }
    }

    fn terminal_phase(&self) -> Option<PodPhase> {
        if self.failed.is_some() {
            return Some(PodPhase::Failed);
        }
        match self.phase() {
            p @ (PodPhase::Succeeded | PodPhase::Failed) => Some(p),
            _ => None,
        }
    }

    /// Whether the pod worker has decided the pod runs no more (deleted, evicted, past its
    /// deadline): `podIsTerminal` of `generateAPIPodStatus`.
    fn pod_is_terminal(&self) -> bool {
        self.terminating.is_some() || self.failed.is_some()
    }

    fn container_statuses(&self) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
        let to_status = |c: &Ctr| ContainerStatus {
            name: c.spec.name.clone(),
            image: c.spec.image.clone(),
            state: c.state.clone(),
            last_state: c.last.clone(),
            ready: c.ready && c.state.is_running(),
            started: c.started && c.state.is_running(),
            restart_count: c.restarts,
        };
        (
            self.ctrs[..self.n_init].iter().map(to_status).collect(),
            self.ctrs[self.n_init..].iter().map(to_status).collect(),
        )
    }

    /// `getPhase` (pkg/kubelet/kubelet_pods.go, in `phase.rs`) over the worker's containers;
    /// a pod the kubelet failed (evicted, past its deadline) is Failed.
    pub fn phase(&self) -> PodPhase {
        if self.failed.is_some() {
            return PodPhase::Failed;
        }
        let (init, app) = self.container_statuses();
        get_phase(
            &self.pod,
            Statuses::two(&init, &app),
            self.pod_is_terminal(),
        )
    }

    /// The status the kubelet reports now (`generateAPIPodStatus`): phase, conditions
    /// (`status/generate.go`, in `conditions.rs`), container statuses, reason and message.
    pub fn status(&mut self, now: SimTime) -> PodStatus {
        self.settle_ready();
        let (init, app) = self.container_statuses();
        let statuses = Statuses::two(&init, &app);
        let terminal = self.pod_is_terminal();
        let phase = if self.failed.is_some() {
            PodPhase::Failed
        } else {
            get_phase(&self.pod, statuses, terminal)
        };
        let sandbox = if self.sandbox_ready && !(terminal && self.all_stopped()) {
            Sandbox::Ready
        } else {
            Sandbox::NotReady
        };
        let generated = kubelet_conditions(&self.pod, statuses, phase, sandbox);
        let mut pod = Pod {
            status: self.pod.status.clone(),
            ..Pod::default()
        };
        pod.status.conditions = std::mem::take(&mut self.conditions);
        for g in &generated {
            if g.type_ != PodConditionType::PodScheduled {
                g.apply_to(&mut pod, now);
            }
        }
        self.conditions = pod.status.conditions.clone();
        let mut st = pod.status;
        st.phase = phase;
        if st.start_time.is_none() {
            st.start_time = Some(self.start_time);
        }
        if let Some((r, m)) = &self.failed {
            st.reason = r.clone();
            st.message = m.clone();
        }
        st.init_container_statuses = init;
        st.container_statuses = app;
        st
    }
}

/// `format.Pod`: `name_namespace(uid)`.
fn pod_ref(pod: &Pod) -> String {
    format!("{}_{}({})", pod.meta.name, pod.meta.namespace, pod.meta.uid)
}

fn next_tick_at_or_after(origin: SimTime, period: SimDuration, t: SimTime) -> SimTime {
    if t <= origin {
        return origin;
    }
    let p = period.as_nanos().max(1);
    let k = t.since(origin).as_nanos().div_ceil(p);
    origin + SimDuration::from_nanos(k * p)
}

/// The probe's raw outcome at tick `t` of a run.
fn probe_result(plan: &RunPlan, kind: ProbeKind, t: SimTime) -> bool {
    match kind {
        ProbeKind::Readiness => plan.ready(t),
        ProbeKind::Startup | ProbeKind::Liveness => plan.live(t),
    }
}

/// The next tick of probe `p` whose evaluation is observable — a failure (an `Unhealthy`
/// event), or a success that changes `lastResult`/`resultRun` toward a threshold — and the
/// instant its result lands (a probe of a hung process fails after `timeoutSeconds`).
/// Ticks whose success changes nothing are skipped up to the plan's next breakpoint.
fn probe_due(c: &Ctr, p: &ProbeWorker, eager: bool) -> Option<(SimTime, SimTime)> {
    let plan = c.plan.as_ref()?;
    if p.on_hold {
        return None;
    }
    // Startup gating (`doProbe`): startup probes stop once started; the others wait for it.
    match p.kind {
        ProbeKind::Startup if c.started => return None,
        ProbeKind::Readiness | ProbeKind::Liveness if !c.started => return None,
        _ => {}
    }
    let period = SimDuration::from_secs(p.spec.period_seconds);
    let initial = plan.started + SimDuration::from_secs(p.spec.initial_delay_seconds);
    let mut tick = p.next_tick;
    for _ in 0..PROBE_SCAN_LIMIT {
        if tick < initial {
            tick = next_tick_at_or_after(p.origin, period, initial);
        }
        if plan.exit.as_ref().is_some_and(|e| e.at <= tick) {
            return None;
        }
        let ok = probe_result(plan, p.kind, tick);
        let settled = p.last == Some(true) && p.run >= p.spec.success_threshold;
        if !ok {
            let land = if plan.hung(tick) {
                tick + SimDuration::from_secs(p.spec.timeout_seconds)
            } else {
                tick
            };
            return Some((land, tick));
        }
        if !settled || eager {
            return Some((tick, tick));
        }
        // A success that changes nothing: skip to the first tick at or after the next
        // breakpoint of the plan.
        let next = plan.next_change_after(tick)?;
        tick = next_tick_at_or_after(p.origin, period, next.max(tick + period));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_after_twice_the_cap() {
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let b1 = Backoff::next(None, t(0), t(0));
        assert_eq!(b1.dur, SimDuration::from_secs(10));
        let b2 = Backoff::next(Some(b1), t(5), t(5));
        assert_eq!(b2.dur, SimDuration::from_secs(20));
        let mut b = b2;
        for _ in 0..10 {
            b = Backoff::next(Some(b), t(6), t(6));
        }
        assert_eq!(b.dur, BACKOFF_MAX);
        // A run of more than 600 s since the last restart resets it.
        assert_eq!(Backoff::next(Some(b), t(607), t(607)).dur, BACKOFF_INITIAL);
        assert!(Backoff::in_backoff_since(Some(b1), t(0), t(9)));
        assert!(!Backoff::in_backoff_since(Some(b1), t(0), t(10)));
    }

    #[test]
    fn ticks_align_to_the_worker_origin() {
        let o = SimTime::ZERO + SimDuration::from_secs(3);
        let p = SimDuration::from_secs(10);
        assert_eq!(next_tick_at_or_after(o, p, SimTime::ZERO), o);
        assert_eq!(
            next_tick_at_or_after(o, p, o + SimDuration::from_secs(1)),
            o + p
        );
        assert_eq!(next_tick_at_or_after(o, p, o + p), o + p);
    }
}
