//! The pod worker's kills: graceful termination of a deleted pod, eviction, and the kill
//! itself, after `killContainer` of pkg/kubelet/kuberuntime/kuberuntime_container.go (preStop
//! within the grace period, then SIGTERM; SIGKILL when the remaining grace period, at least
//! 2 s after a preStop hook, runs out).
//!
//! Invariant: a container is killed at most once per run (`kill` set only while it runs and
//! none is pending), and a process that would exit by itself before the kill keeps its own
//! exit.

use super::{Outbox, Worker};
use crate::model::*;
use crate::runtime::behavior::Exit;
use crate::sim::{SimDuration, SimTime};

/// `minimumGracePeriodInSeconds` after a preStop hook.
const MIN_GRACE_AFTER_PRE_STOP: SimDuration = SimDuration::from_secs(2);

impl Worker {
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

    /// A `crashLoop` fault starts: every running container exits now with `code`, an exit
    /// of its own that the PLEG sees at its next relist.
    pub fn crash_now(&mut self, now: SimTime, code: i32) {
        for c in &mut self.ctrs {
            if !c.state.is_running() || c.kill.is_some() {
                continue;
            }
            if let Some(plan) = c.plan.as_mut() {
                if plan.exit.as_ref().is_none_or(|e| e.at > now) {
                    plan.exit = Some(Exit {
                        at: now,
                        exit_code: code,
                        reason: if code == 0 { "Completed" } else { "Error" },
                    });
                }
            }
        }
    }

    /// `killContainer`: preStop (within the grace period), then SIGTERM; the process exits
    /// after its stop time, or is SIGKILLed when the remaining grace period (at least 2 s after
    /// a preStop hook) runs out.
    pub(super) fn kill(&mut self, i: usize, now: SimTime, grace: SimDuration) {
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
}
