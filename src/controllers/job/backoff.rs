//! The Job controller's pod failure backoff: a record of the failures since the last success
//! and the delay before the next pod may be created.
//!
//! Upstream: `pkg/controller/job/backoff_utils.go` (`backoffRecord`, `newBackoffRecord`,
//! `getFinishedTime`, `getRemainingTimeForFailuresCount`).
//!
//! Invariant: a pure function of the pods' statuses and the clock; the controller keeps the
//! record and writes it only after a successful status update.

use std::sync::Arc;

use crate::model::*;
use crate::sim::{SimDuration, SimTime};

/// `DefaultJobPodFailureBackOff`.
pub const DEFAULT_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// `MaxJobPodFailureBackOff`: 10 min in the controller since the in-memory backoff store
/// (the Job docs still say "capped at six minutes", the older `MaxJobBackOff = 360s`).
pub const MAX_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(600);

/// `backoffRecord`: failures since the last success and when the last one finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    pub failures_after_last_success: u32,
    pub last_failure_time: Option<SimTime>,
}

impl BackoffRecord {
    /// `getRemainingTimeForFailuresCount`: 10 s doubled per further failure, capped.
    pub fn remaining(&self, now: SimTime) -> SimDuration {
        let Some(last) = self.last_failure_time else {
            return SimDuration::ZERO;
        };
        if self.failures_after_last_success == 0 {
            return SimDuration::ZERO;
        }
        let mut backoff = DEFAULT_POD_FAILURE_BACKOFF;
        for _ in 1..self.failures_after_last_success {
            backoff = SimDuration::from_nanos(backoff.as_nanos().saturating_mul(2));
            if backoff >= MAX_POD_FAILURE_BACKOFF {
                backoff = MAX_POD_FAILURE_BACKOFF;
                break;
            }
        }
        let elapsed = now.as_nanos().saturating_sub(last.as_nanos());
        SimDuration::from_nanos(backoff.as_nanos().saturating_sub(elapsed))
    }
}

/// `getFinishedTime`: the latest container finish time when every container terminated, else
/// the Ready=False transition, else `deletionTimestamp - grace`, else the creation time.
pub fn finished_time(p: &Pod) -> SimTime {
    let mut latest: Option<SimTime> = None;
    let all_terminated = !p.status.container_statuses.is_empty()
        && p.status.container_statuses.iter().all(|c| {
            c.state.terminated().is_some_and(|t| {
                latest = Some(latest.map_or(t.finished_at, |l: SimTime| l.max(t.finished_at)));
                true
            })
        });
    if all_terminated {
        if let Some(t) = latest {
            return t;
        }
    }
    if let Some(c) = p
        .condition(PodConditionType::Ready)
        .filter(|c| c.status == ConditionStatus::False)
    {
        return c.last_transition_time;
    }
    if let Some(d) = p.meta.deletion_timestamp {
        let grace = SimDuration::from_secs(p.meta.deletion_grace_period_seconds.unwrap_or(0));
        return SimTime(d.as_nanos().saturating_sub(grace.as_nanos()));
    }
    p.meta.creation_timestamp
}

/// `newBackoffRecord`: extends the record by the newly finished pods.
pub fn new_backoff_record(
    old: BackoffRecord,
    succeeded: &[Arc<Pod>],
    failed: &[Arc<Pod>],
) -> BackoffRecord {
    let mut s: Vec<SimTime> = succeeded.iter().map(|p| finished_time(p)).collect();
    let mut f: Vec<SimTime> = failed.iter().map(|p| finished_time(p)).collect();
    s.sort();
    f.sort();
    match (s.last(), f.last()) {
        (None, None) => old,
        (None, Some(&last)) => BackoffRecord {
            failures_after_last_success: old.failures_after_last_success + f.len() as u32,
            last_failure_time: Some(last),
        },
        (Some(_), None) => BackoffRecord::default(),
        (Some(&last_success), Some(_)) => {
            let mut r = BackoffRecord::default();
            for &t in f.iter().rev() {
                if t <= last_success {
                    break;
                }
                r.last_failure_time.get_or_insert(t);
                r.failures_after_last_success += 1;
            }
            r
        }
    }
}
