//! The scheduling queue (upstream's `PriorityQueue`, pkg/scheduler/backend/queue/
//! scheduling_queue.go): the active queue ordered by priority, then arrival; the backoff queue
//! with per-pod exponential backoff (`podInitialBackoffDuration` 1 s doubling to
//! `podMaxBackoffDuration` 10 s); the unschedulable set, left only on a cluster event some
//! rejecting plugin's QueueingHint answers `Queue` for (`movePodsToActiveOrBackoffQueue`,
//! `isPodWorthRequeuing`, see `hints.rs`) or by the 30 s leftover flush after
//! `podMaxInUnschedulablePodsDuration` (`flushUnschedulablePodsLeftover`); and the 1 s backoff
//! flush (`flushBackoffQCompleted`).
//!
//! Invariant: a pending pod is in at most one of active, backoff and unschedulable; adding a
//! pod to the active queue while leading makes sure a cycle is scheduled; a pod leaves the
//! unschedulable set only through `requeue`.

use std::cmp::Reverse;

use super::hints::{self, ClusterEvent};
use super::{Event, Scheduler};
use crate::sim::{Ctx, SimDuration, SimTime};

/// `DefaultPodMaxInUnschedulablePodsDuration`.
const MAX_IN_UNSCHEDULABLE: SimDuration = SimDuration::from_mins(5);
/// Period of `flushBackoffQCompleted`.
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(1);
/// Period of `flushUnschedulablePodsLeftover` (`wait.Until(…, 30*time.Second, …)` in `Run`).
const LEFTOVER_FLUSH_PERIOD: SimDuration = SimDuration::from_secs(30);

/// Upstream's `QueuedPodInfo`, the part the queue reads.
#[derive(Clone, Debug)]
pub(super) struct QueuedInfo {
    pub(super) attempts: u32,
    pub(super) last_attempt: SimTime,
    /// `Timestamp`: refreshed each time the pod is re-added as unschedulable.
    pub(super) timestamp: SimTime,
    /// `UnschedulablePlugins` of the last failed attempt (`hints::bit`s).
    pub(super) rejectors: u16,
}

impl Scheduler {
    /// A new term: the queue is rebuilt from the cache (every pending pod is active again).
    pub(super) fn begin_term(&mut self, ctx: &mut dyn Ctx<Event>) {
        self.leading = true;
        self.gen += 1;
        self.active.clear();
        self.active_index.clear();
        self.unschedulable.clear();
        self.backoff.clear();
        self.backoff_index.clear();
        self.info.clear();
        let keys = self.pending.walk();
        for (k, _) in keys {
            self.push_active(ctx, &k);
        }
        self.last_leftover_flush = ctx.now();
        ctx.schedule_in(FLUSH_PERIOD, Event::SchedulerFlush { gen: self.gen });
    }

    pub(super) fn push_active(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let Some(pod) = self.pending.get(key) else {
            return;
        };
        if self.active_index.contains_key(key) {
            return;
        }
        self.seq += 1;
        let entry = (
            Reverse(pod.spec.priority),
            ctx.now(),
            self.seq,
            key.to_string(),
        );
        self.active.insert(entry.clone());
        self.active_index.insert(key.to_string(), entry);
        if self.leading && !self.cycle_scheduled {
            self.cycle_scheduled = true;
            let wait = self.busy_until.saturating_since(ctx.now());
            ctx.schedule_in(wait, Event::SchedulerCycle { gen: self.gen });
        }
    }

    pub(super) fn forget_queued(&mut self, key: &str) {
        if let Some(e) = self.active_index.remove(key) {
            self.active.remove(&e);
        }
        self.unschedulable.remove(key);
        if let Some(t) = self.backoff_index.remove(key) {
            self.backoff.remove(&(t, key.to_string()));
        }
        self.info.remove(key);
        self.nominated.remove(key);
    }

    pub(super) fn push_backoff(&mut self, expiry: SimTime, key: String) {
        if let Some(old) = self.backoff_index.insert(key.clone(), expiry) {
            self.backoff.remove(&(old, key.clone()));
        }
        self.backoff.insert((expiry, key));
    }

    pub(super) fn backoff_duration(&self, attempts: u32) -> SimDuration {
        let mut d = self.config.pod_initial_backoff;
        for _ in 1..attempts {
            d = d + d;
            if d >= self.config.pod_max_backoff {
                return self.config.pod_max_backoff;
            }
        }
        d.min(self.config.pod_max_backoff)
    }

    /// A cluster event: every unschedulable pod some rejecting plugin's hint queues for it
    /// moves to backoff or active (`movePodsToActiveOrBackoffQueue`); the others stay.
    pub(super) fn move_on(&mut self, ctx: &mut dyn Ctx<Event>, ev: &ClusterEvent) {
        let keys: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|k| self.worth_requeuing(k, ev))
            .cloned()
            .collect();
        for k in keys {
            self.requeue(ctx, k);
        }
    }

    fn worth_requeuing(&self, key: &str, ev: &ClusterEvent) -> bool {
        let (Some(info), Some(pod)) = (self.info.get(key), self.pending.get(key)) else {
            return true;
        };
        let Some(pi) = self.profile_index(pod) else {
            return true;
        };
        hints::worth_requeuing(&self.config.profiles[pi], pod, info.rejectors, ev)
    }

    /// `requeuePodWithQueueingStrategy` with `queueAfterBackoff`: out of the unschedulable
    /// set, to backoff while `isPodBackingoff`, else to active.
    fn requeue(&mut self, ctx: &mut dyn Ctx<Event>, key: String) {
        let now = ctx.now();
        self.unschedulable.remove(&key);
        let Some(info) = self.info.get(&key) else {
            return;
        };
        let expiry = info.last_attempt + self.backoff_duration(info.attempts);
        if expiry > now {
            self.push_backoff(expiry, key);
        } else {
            self.push_active(ctx, &key);
        }
    }

    pub fn on_flush(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        while let Some((t, k)) = self.backoff.iter().next().cloned() {
            if t > now {
                break;
            }
            self.backoff.remove(&(t, k.clone()));
            self.backoff_index.remove(&k);
            self.push_active(ctx, &k);
        }
        if now.since(self.last_leftover_flush) >= LEFTOVER_FLUSH_PERIOD {
            self.last_leftover_flush = now;
            // `flushUnschedulablePodsLeftover`: `currentTime.Sub(pInfo.Timestamp) >
            // podMaxInUnschedulablePodsDuration`, then the wildcard `UnschedulableTimeout`
            // event (queueAfterBackoff for every such pod).
            let stale: Vec<String> = self
                .unschedulable
                .iter()
                .filter(|k| {
                    self.info
                        .get(*k)
                        .is_some_and(|i| now.since(i.timestamp) > MAX_IN_UNSCHEDULABLE)
                })
                .cloned()
                .collect();
            for k in stale {
                self.requeue(ctx, k);
            }
        }
        ctx.schedule_in(FLUSH_PERIOD, Event::SchedulerFlush { gen: self.gen });
    }
}
