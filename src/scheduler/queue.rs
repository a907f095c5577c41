//! The scheduling queue (upstream's `PriorityQueue`): the active queue ordered by priority,
//! then arrival; the backoff queue with per-pod exponential backoff; the unschedulable set,
//! moved back on cluster events (`MoveAllToActiveOrBackoffQueue`) or after
//! `podMaxInUnschedulablePodsDuration`; and the periodic flush.
//!
//! Invariant: a pending pod is in at most one of active, backoff and unschedulable; adding a
//! pod to the active queue while leading makes sure a cycle is scheduled.

use std::cmp::Reverse;

use super::{Event, Scheduler};
use crate::sim::{Ctx, SimDuration, SimTime};

/// `podMaxInUnschedulablePodsDuration`.
const MAX_IN_UNSCHEDULABLE: SimDuration = SimDuration::from_mins(5);
/// Period of the backoff-queue flush.
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(1);

#[derive(Clone, Debug)]
pub(super) struct QueuedInfo {
    pub(super) attempts: u32,
    pub(super) last_attempt: SimTime,
    pub(super) unschedulable_since: Option<SimTime>,
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
        let keys: Vec<String> = self.pending.keys().cloned().collect();
        for k in keys {
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

    /// A cluster event that may make unschedulable pods schedulable: move them to backoff or
    /// active (`MoveAllToActiveOrBackoffQueue`).
    pub(super) fn move_all_unschedulable(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        let keys: Vec<String> = std::mem::take(&mut self.unschedulable)
            .into_iter()
            .collect();
        for k in keys {
            let Some(info) = self.info.get(&k) else {
                continue;
            };
            let expiry = info.last_attempt + self.backoff_duration(info.attempts);
            if expiry > now {
                self.push_backoff(expiry, k);
            } else {
                self.push_active(ctx, &k);
            }
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
        if now.since(self.last_leftover_flush) >= SimDuration::from_secs(30) {
            self.last_leftover_flush = now;
            let stale: Vec<String> = self
                .unschedulable
                .iter()
                .filter(|k| {
                    self.info
                        .get(*k)
                        .and_then(|i| i.unschedulable_since)
                        .is_some_and(|s| now.since(s) >= MAX_IN_UNSCHEDULABLE)
                })
                .cloned()
                .collect();
            for k in stale {
                self.unschedulable.remove(&k);
                self.push_active(ctx, &k);
            }
        }
        ctx.schedule_in(FLUSH_PERIOD, Event::SchedulerFlush { gen: self.gen });
    }
}
