//! kube-scheduler's own Prometheus figures as pkg/scheduler/metrics/metrics.go defines them
//! (v1.27–v1.34): `scheduler_schedule_attempts_total{result,profile}` and the histogram
//! `scheduler_scheduling_attempt_duration_seconds{result,profile}` with upstream's buckets
//! (`ExponentialBuckets(0.001, 2, 15)`), observed once per scheduling attempt. The duration is
//! the attempt's modelled cost (cost.rs, virtual time), the time the attempt occupies the
//! scheduler in kubesim; binding is an instant API write here.
//!
//! Invariant: written once per attempt by the scheduling cycle and read only by observers;
//! nothing the scheduler decides reads it.

use std::collections::BTreeMap;

use crate::sim::SimDuration;

/// Upper bounds of the latency buckets in nanoseconds: 1 ms × 2^k, k = 0..15 (1 ms to
/// 16.384 s); `+Inf` is implicit.
pub const ATTEMPT_BUCKETS_NS: [u64; 15] = {
    let mut b = [0u64; 15];
    let mut i = 0;
    while i < 15 {
        b[i] = 1_000_000u64 << i;
        i += 1;
    }
    b
};

/// The three results upstream counts: `scheduled`, `unschedulable` and `error` (here: a
/// bind the API server refused).
pub const RESULTS: [&str; 3] = ["scheduled", "unschedulable", "error"];

/// One (result, profile) pair's counter and histogram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attempts {
    pub count: u64,
    /// The sum of the durations, in nanoseconds.
    pub sum_ns: u64,
    /// Per bucket of [`ATTEMPT_BUCKETS_NS`], the attempts at most that long (cumulative, as
    /// Prometheus exposes them); `count` is the `+Inf` bucket.
    pub le: [u64; 15],
}

#[derive(Clone, Debug, Default)]
pub struct SchedulerMetrics {
    /// By (result, profile name).
    attempts: BTreeMap<(&'static str, String), Attempts>,
}

impl SchedulerMetrics {
    /// `metrics.PodScheduled` / `PodUnschedulable` / `PodScheduleError`: one attempt.
    pub fn observe(&mut self, result: &'static str, profile: &str, duration: SimDuration) {
        let a = self
            .attempts
            .entry((result, profile.to_string()))
            .or_default();
        a.count += 1;
        let ns = duration.as_nanos();
        a.sum_ns = a.sum_ns.saturating_add(ns);
        for (i, bound) in ATTEMPT_BUCKETS_NS.iter().enumerate() {
            if ns <= *bound {
                a.le[i] += 1;
            }
        }
    }

    /// Every (result, profile) with at least one attempt, in key order.
    pub fn attempts(&self) -> &BTreeMap<(&'static str, String), Attempts> {
        &self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ExponentialBuckets(0.001, 2, 15): 0.001, 0.002, …, 16.384; an observation equal to a
    /// bound falls in that bucket (Prometheus buckets are `le`, upper-inclusive).
    #[test]
    fn buckets_are_upstreams_and_cumulative() {
        assert_eq!(ATTEMPT_BUCKETS_NS[0], 1_000_000);
        assert_eq!(ATTEMPT_BUCKETS_NS[14], 16_384_000_000);
        let mut m = SchedulerMetrics::default();
        m.observe(
            "scheduled",
            "default-scheduler",
            SimDuration::from_millis(2),
        );
        m.observe(
            "scheduled",
            "default-scheduler",
            SimDuration::from_nanos(200_000),
        );
        m.observe("scheduled", "default-scheduler", SimDuration::from_secs(20));
        let a = &m.attempts()[&("scheduled", "default-scheduler".to_string())];
        assert_eq!(a.count, 3);
        assert_eq!(&a.le[..3], &[1, 2, 2]);
        assert_eq!(a.le[14], 2);
    }
}
