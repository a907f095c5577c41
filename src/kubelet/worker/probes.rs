//! The pod worker's probes, after pkg/kubelet/prober/worker.go (`run`, `doProbe`: initial
//! delay, startup gating, `successThreshold`/`failureThreshold`, `resultRun`, `onHold` after a
//! kill) and the `Unhealthy`/`Killing` events of pkg/kubelet/prober/prober.go.
//!
//! Invariant: a probe ticks at `origin + k·period` for its container's lifetime; a tick is an
//! event only when it is observable (a failure, or a success that moves `lastResult`/`resultRun`
//! toward a threshold), so skipping the others changes no outcome — unless `eager_probes`
//! asks for every tick, as the cross-check.

use super::{Ctr, Outbox, ProbeKind, ProbeWorker, Worker};
use crate::runtime::behavior::RunPlan;
use crate::runtime::ContainerRuntime;
use crate::sim::{SimDuration, SimTime};

/// Bound on probe ticks scanned per lookahead (ticks between breakpoints are skipped).
const PROBE_SCAN_LIMIT: usize = 10_000;

impl Worker {
    /// Probe ticks with an observable result at `now`.
    pub(super) fn probes_due(&mut self, now: SimTime, out: &mut Outbox) {
        for i in 0..self.ctrs.len() {
            for j in 0..self.ctrs[i].probes.len() {
                self.probe_once(i, j, now, out);
                // A manual run the result just asked for (Ready turned False) runs now too.
                if self.ctrs[i].probes[j].manual.is_some_and(|m| m <= now) {
                    self.probe_once(i, j, now, out);
                }
            }
        }
    }

    /// Probe `j` of container `i`, if it has an observable result at `now`.
    pub(super) fn probe_once(&mut self, i: usize, j: usize, now: SimTime, out: &mut Outbox) {
        let grace_default = SimDuration::from_secs(self.pod.spec.termination_grace_period_seconds);
        // `shouldRestartOnFailure`.
        let restart = self.pod.spec.restart_policy != crate::model::RestartPolicy::Never;
        let c = &self.ctrs[i];
        if !c.state.is_running() || c.kill.is_some() {
            return;
        }
        let Some((at, tick)) = probe_due(c, &c.probes[j], self.eager_probes) else {
            return;
        };
        // Never behind `now` (see the startup gating below), so this is `at == now`;
        // `<=` keeps a missed tick from stalling the worker.
        if at > now {
            return;
        }
        let plan = c.plan.as_ref().expect("running container has a plan");
        let kind = c.probes[j].kind;
        let ok = probe_result(plan, kind, tick);
        let hung = plan.hung(tick);
        let name = c.spec.name.clone();
        let c = &mut self.ctrs[i];
        let was_ready = c.ready;
        let p = &mut c.probes[j];
        if p.manual == Some(tick) {
            // A manual run leaves the ticker alone.
            p.manual = None;
        } else {
            p.next_tick = tick + SimDuration::from_secs(p.spec.period_seconds);
        }
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
            return;
        }
        let probe_grace = p.spec.termination_grace_period_seconds;
        match (kind, ok) {
            (ProbeKind::Readiness, r) => {
                c.ready = r;
                if was_ready && !r {
                    // The result changed: `handleProbeSync` syncs the pod, and that sync's
                    // `prober_manager.UpdatePodStatus` finds a started container whose
                    // readiness is not Success and triggers an immediate readiness run.
                    c.probes[j].manual = Some(now);
                }
            }
            (ProbeKind::Startup, true) => {
                c.started = true;
                // Readiness and liveness ticks until now were no-ops (`doProbe` returns
                // early before the container has started): they resume after now.
                for q in c.probes.iter_mut().filter(|q| q.kind != ProbeKind::Startup) {
                    let period = SimDuration::from_secs(q.spec.period_seconds);
                    q.next_tick =
                        next_tick_at_or_after(q.origin, period, now + SimDuration::from_nanos(1));
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
                // `computePodActions`: with a restarting policy the container is also in
                // `ContainersToStart`; `doBackOff` will read the status from before the
                // kill, whose latest exited instance is `last`.
                let c = &mut self.ctrs[i];
                if restart && c.kill.is_some() {
                    c.probe_kill = Some(c.last.as_ref().map(|t| t.finished_at));
                }
            }
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
                p.manual = None;
            }
            if c.retry_at.is_some_and(|r| r < now) {
                c.retry_at = Some(now);
            }
        }
    }
}

pub(super) fn next_tick_at_or_after(origin: SimTime, period: SimDuration, t: SimTime) -> SimTime {
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
pub(super) fn probe_due(c: &Ctr, p: &ProbeWorker, eager: bool) -> Option<(SimTime, SimTime)> {
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
    if let Some(m) = p.manual {
        // A manual run (`manualTriggerCh`) is one more `doProbe`, now.
        if m >= initial && plan.exit.as_ref().is_none_or(|e| e.at > m) {
            let land = if plan.hung(m) {
                m + SimDuration::from_secs(p.spec.timeout_seconds)
            } else {
                m
            };
            return Some((land, m));
        }
    }
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
