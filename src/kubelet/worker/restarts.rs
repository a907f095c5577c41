//! The pod worker's sync: which containers start or restart, after
//! pkg/kubelet/kuberuntime/kuberuntime_manager.go (`computePodActions`, `SyncPod`,
//! `doBackOff`), `flowcontrol.Backoff` of k8s.io/client-go/util/flowcontrol (10 s doubling to
//! 300 s, reset when a run outlasts twice the cap), and `EnsureImageExists` of
//! pkg/kubelet/images/image_manager.go (pull policies, image backoff, event texts).
//!
//! Invariant: init containers start strictly in order (each regular one must succeed, each
//! sidecar must have started, before the next); a container in back-off or whose image failed
//! does not start and is looked at again at the pod's one requeued sync (`retry_at`, 10–15 s
//! later on a 1 s tick, one draw per failed sync), one waiting for a pull when the pull
//! completes.

use super::probes::next_tick_at_or_after;
use super::{Outbox, ProbeKind, Pull, Worker, BACKOFF_INITIAL, BACKOFF_MAX, WORKER_BACKOFF_JITTER};
use crate::model::*;
use crate::runtime::images::{PullOutcome, PullRequest};
use crate::runtime::ContainerRuntime;
use crate::sim::{rng, SimDuration, SimTime};

/// `flowcontrol.Backoff` entry (no jitter: the kubelet's has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Backoff {
    dur: SimDuration,
    last_update: SimTime,
}

impl Backoff {
    /// `hasExpired(eventTime, lastUpdate, maxDuration)`: eventTime − lastUpdate > 2 × the cap
    /// ("consider stable if it's ok for twice the maxDuration").
    fn expired(self, event_time: SimTime) -> bool {
        event_time.saturating_since(self.last_update) > BACKOFF_MAX + BACKOFF_MAX
    }
    /// `Backoff.Next(id, eventTime)`: a new or expired entry starts at the initial 10 s, else
    /// the backoff doubles to the cap; `lastUpdate` is now.
    fn next(entry: Option<Backoff>, event_time: SimTime, now: SimTime) -> Backoff {
        let dur = match entry {
            Some(e) if !e.expired(event_time) => (e.dur + e.dur).min(BACKOFF_MAX),
            _ => BACKOFF_INITIAL,
        };
        Backoff {
            dur,
            last_update: now,
        }
    }
    /// `IsInBackOffSince(id, eventTime)`: false without an entry or when it has expired
    /// (`hasExpired(eventTime, lastUpdate)`), else now − eventTime < backoff.
    fn in_backoff_since(entry: Option<Backoff>, event_time: SimTime, now: SimTime) -> bool {
        entry.is_some_and(|e| !e.expired(event_time) && now.saturating_since(event_time) < e.dur)
    }
}

impl Worker {
    /// `computePodActions` + `SyncPod`: start the next init container, or the app containers,
    /// restarting exited ones per the restart policy with CrashLoopBackOff.
    pub(super) fn sync(&mut self, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
        self.sync_containers(now, runtime, out);
        // A sync that failed for a container (back-off, image errors) requeues the pod once.
        if self.ctrs.iter().any(|c| c.requeue) {
            let at = self.requeue_at(now);
            for c in self.ctrs.iter_mut().filter(|c| c.requeue) {
                c.requeue = false;
                c.retry_at = Some(at);
            }
        }
    }

    /// `completeWork` after a sync error: the pod is enqueued `wait.Jitter(backOffPeriod,
    /// workerBackOffPeriodJitterFactor)` = 10–15 s later, drawn from the pod worker's stream,
    /// and synced at the first tick of the 1 s `syncCh` ticker at or after that (`getPodsToSync`).
    fn requeue_at(&mut self, now: SimTime) -> SimTime {
        let delay = rng::jitter(&mut self.sync_rng, BACKOFF_INITIAL, WORKER_BACKOFF_JITTER);
        self.loop_tick(now + delay)
    }

    fn sync_containers(&mut self, now: SimTime, runtime: &mut ContainerRuntime, out: &mut Outbox) {
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
        if self.do_back_off(i, now, out) {
            return;
        }
        if !self.ensure_image(i, now, runtime, out) {
            return;
        }
        self.start(i, now, runtime, out);
    }

    /// `doBackOff` for container `i`: true (with a `BackOff` event and the container waiting
    /// in `CrashLoopBackOff`, looked at again at the pod worker's requeue) while
    /// `IsInBackOffSince(key, finishedAt)` holds for the exited instance the sync's pod status
    /// shows; else `Next(key, finishedAt)` and the restart counts.
    ///
    /// After a liveness/startup kill (`probe_kill`) the sync is the one that killed it:
    /// `computePodActions` put the container in both `ContainersToKill` and
    /// `ContainersToStart`, and `SyncPod` passes the status captured *before* the kill, so the
    /// exited instance is the previous one — none for a first kill (no backoff, no `Next`).
    fn do_back_off(&mut self, i: usize, now: SimTime, out: &mut Outbox) -> bool {
        let c = &mut self.ctrs[i];
        let current = match &c.state {
            ContainerState::Terminated(t) => Some(t.clone()),
            ContainerState::Waiting { reason, .. } if reason == "CrashLoopBackOff" => {
                c.last.clone()
            }
            _ => None,
        };
        let Some(current) = current else {
            return false;
        };
        let finished_at = match c.probe_kill.take() {
            Some(None) => {
                c.last = Some(current);
                c.restarts += 1;
                return false;
            }
            Some(Some(previous)) => previous,
            None => current.finished_at,
        };
        if Backoff::in_backoff_since(c.crash_backoff, finished_at, now) {
            let name = c.spec.name.clone();
            out.event(
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {}",
                    pod_ref(&self.pod)
                ),
            );
            let dur = c.crash_backoff.map(|b| b.dur).unwrap_or(BACKOFF_INITIAL);
            c.last = Some(current);
            c.state = ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: format!(
                    "back-off {} restarting failed container={name} pod={}",
                    dur,
                    pod_ref(&self.pod)
                ),
            };
            c.requeue = true;
            return true;
        }
        c.crash_backoff = Some(Backoff::next(c.crash_backoff, finished_at, now));
        c.last = Some(current);
        c.restarts += 1;
        false
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
                c.requeue = true;
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
                    c.requeue = true;
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
                c.requeue = true;
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
            p.manual = None;
            let period = SimDuration::from_secs(p.spec.period_seconds);
            p.next_tick = next_tick_at_or_after(p.origin, period, now);
        }
    }

    /// A pull this worker asked for finished.
    pub fn on_pulled(&mut self, container: &str, outcome: PullOutcome) {
        if let Some(c) = self.ctrs.iter_mut().find(|c| c.spec.name == container) {
            if c.pull == Pull::Waiting {
                c.pull = Pull::Done(outcome);
            }
        }
    }
}

/// `format.Pod`: `name_namespace(uid)`.
fn pod_ref(pod: &Pod) -> String {
    format!("{}_{}({})", pod.meta.name, pod.meta.namespace, pod.meta.uid)
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

    // client-go flowcontrol `IsInBackOffSince`: an entry whose lastUpdate is more than
    // 2 × maxDuration (600 s) before the event time has expired, so the container is not in
    // backoff however recent the event; at exactly 600 s it has not.
    #[test]
    fn is_in_backoff_since_ignores_an_entry_expired_at_the_event_time() {
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let e = Backoff {
            dur: BACKOFF_MAX,
            last_update: t(100),
        };
        assert!(Backoff::in_backoff_since(Some(e), t(700), t(700)));
        assert!(!Backoff::in_backoff_since(Some(e), t(701), t(701)));
        assert!(!Backoff::in_backoff_since(None, t(701), t(701)));
    }
}
