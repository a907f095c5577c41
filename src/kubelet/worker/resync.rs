//! The pod worker's regular resync, after pkg/kubelet/pod_workers.go (`completeWork`: a sync
//! that succeeded requeues the pod `wait.Jitter(resyncInterval, workerResyncIntervalJitterFactor)`
//! later, `--sync-frequency` 1 min, factor 0.5, picked up at the next 1 s `syncCh` tick by
//! `getPodsToSync`) and pkg/kubelet/prober/prober_manager.go (`UpdatePodStatus`, called by each
//! sync's `generateAPIPodStatus`: a started, running container whose readiness is not Success
//! and that has a readiness probe gets an immediate, manual readiness run).
//!
//! Lazy: a resync changes something kubesim models only through that manual run, so a timer is
//! kept only while the pod is *watched* — it has such a container, no sync is blocked in a pull
//! or waiting for a requeue after an error (that requeue replaces the resync in the work queue),
//! and it is neither terminating nor failed. Otherwise no timer, no event and no draw.
//!
//! Invariant: `resync_at` is `Some` only while the pod is watched; it is armed (one draw from
//! the pod worker's own resync stream `kubelet/<node>/podworker/<pod>/<uid>/resync`) by the
//! sync at which the watch begins and by each resync, and dropped when the watch ends.

use super::{ProbeKind, Worker};
use crate::sim::{rng, SimDuration, SimTime};

/// `--sync-frequency` (the kubelet's `resyncInterval`), default 1 min.
pub const RESYNC_INTERVAL: SimDuration = SimDuration::from_secs(60);
/// `workerResyncIntervalJitterFactor` (pod_workers.go).
pub const WORKER_RESYNC_JITTER: f64 = 0.5;

impl Worker {
    /// Whether a resync would change something kubesim models (see the module header).
    fn resync_watched(&self) -> bool {
        self.sandbox_ready
            && self.terminating.is_none()
            && self.failed.is_none()
            && !self.pulling()
            && self.ctrs.iter().all(|c| c.retry_at.is_none())
            && self.ctrs.iter().any(|c| {
                c.state.is_running()
                    && c.kill.is_none()
                    && c.started
                    && !c.ready
                    && c.probes.iter().any(|p| p.kind == ProbeKind::Readiness)
            })
    }

    /// After a sync at `now`: arm the resync if the watch has just begun (or the resync just
    /// fired), drop it if the watch ended.
    pub(super) fn arm_resync(&mut self, now: SimTime) {
        if !self.resync_watched() {
            self.resync_at = None;
        } else if self.resync_at.is_none() {
            let delay = rng::jitter(&mut self.resync_rng, RESYNC_INTERVAL, WORKER_RESYNC_JITTER);
            self.resync_at = Some(self.loop_tick(now + delay));
        }
    }

    /// The resync due at `now`, if any: its sync's `UpdatePodStatus` triggers a manual run of
    /// each started, not-ready container's readiness probe (the same manual run as the sync
    /// after Ready turns False). The timer is re-armed by [`Worker::arm_resync`] after the sync.
    pub(super) fn resync_due(&mut self, now: SimTime, out: &mut super::Outbox) {
        if self.resync_at.is_none_or(|r| r > now) {
            return;
        }
        self.resync_at = None;
        for i in 0..self.ctrs.len() {
            let c = &self.ctrs[i];
            if !c.state.is_running() || c.kill.is_some() || !c.started || c.ready {
                continue;
            }
            let Some(plan) = c.plan.as_ref() else {
                continue;
            };
            let started = plan.started;
            for j in 0..c.probes.len() {
                let p = &self.ctrs[i].probes[j];
                let initial = started + SimDuration::from_secs(p.spec.initial_delay_seconds);
                // `doProbe` does nothing during the initial delay.
                if p.kind != ProbeKind::Readiness || now < initial {
                    continue;
                }
                self.ctrs[i].probes[j].manual = Some(now);
                self.probe_once(i, j, now, out);
            }
        }
    }

    /// The kubelet restarted at `now`: its first sync of the pod (at start) arms a new resync.
    pub(super) fn restart_resync(&mut self, now: SimTime) {
        self.resync_at = None;
        self.arm_resync(now);
    }
}
