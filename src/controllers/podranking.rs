//! Which pods a ReplicaSet deletes first when it scales down: upstream `ActivePodsWithRanks`
//! (`pkg/controller/controller_utils.go`) with the default feature gates (`PodDeletionCost` and
//! `LogarithmicScaleDown` on), and `slowStartBatch` for creations.
//!
//! Invariant: pure functions; `now` is the caller's clock.

use std::cmp::Ordering;

use crate::model::*;
use crate::sim::SimTime;

/// `controller.kubernetes.io/pod-deletion-cost`.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// What the ranking looks at for one pod.
#[derive(Clone, Debug)]
pub struct RankedPod {
    pub assigned: bool,
    pub phase: PodPhase,
    pub ready: bool,
    /// `lastTransitionTime` of Ready when the pod is ready (None: unset).
    pub ready_since: Option<SimTime>,
    pub deletion_cost: i32,
    /// Active related pods on the same node (`getPodsRankedByRelatedPodsOnSameNode`).
    pub rank: usize,
    /// Largest container restart count (kubesim containers never restart: 0).
    pub restarts: i32,
    pub created: Option<SimTime>,
    pub uid: u64,
}

impl RankedPod {
    pub fn of(p: &Pod, rank: usize) -> RankedPod {
        let ready = p
            .condition(PodConditionType::Ready)
            .filter(|c| c.status == ConditionStatus::True);
        RankedPod {
            assigned: p.spec.node_name.is_some(),
            phase: p.status.phase,
            ready: ready.is_some(),
            ready_since: ready.map(|c| c.last_transition_time),
            deletion_cost: p
                .meta
                .annotations
                .get(POD_DELETION_COST)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            rank,
            restarts: 0,
            created: Some(p.meta.creation_timestamp),
            uid: p.meta.uid,
        }
    }
}

/// `podPhaseToOrdinal`: Pending < Unknown < Running.
fn phase_ordinal(p: PodPhase) -> u8 {
    match p {
        PodPhase::Unknown => 1,
        PodPhase::Running => 2,
        _ => 0,
    }
}

/// `afterOrZero`: a zero time first, then the later one.
fn after_or_zero(a: Option<SimTime>, b: Option<SimTime>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a > b,
        (a, _) => a.is_none(),
    }
}

/// `logarithmicRankDiff`: compare ⌊log2(now − t)⌋ (in nanoseconds; −1 when not positive).
fn log_rank_diff(a: SimTime, b: SimTime, now: SimTime) -> i64 {
    let r = |t: SimTime| {
        let d = now.as_nanos() as i128 - t.as_nanos() as i128;
        if d > 0 {
            // libm, not the platform libm: the digest must not depend on the machine.
            libm::floor(libm::log2(d as f64)) as i64
        } else {
            -1
        }
    };
    r(a) - r(b)
}

/// `ActivePodsWithRanks.Less`: true if `a` should be deleted before `b`.
pub fn less(a: &RankedPod, b: &RankedPod, now: SimTime) -> bool {
    // 1. Unassigned < assigned.
    if a.assigned != b.assigned {
        return !a.assigned;
    }
    // 2. PodPending < PodUnknown < PodRunning.
    if phase_ordinal(a.phase) != phase_ordinal(b.phase) {
        return phase_ordinal(a.phase) < phase_ordinal(b.phase);
    }
    // 3. Not ready < ready.
    if a.ready != b.ready {
        return !a.ready;
    }
    // 4. Lower pod-deletion-cost < higher.
    if a.deletion_cost != b.deletion_cost {
        return a.deletion_cost < b.deletion_cost;
    }
    // 5. Doubled up < not doubled up: the higher rank first.
    if a.rank != b.rank {
        return a.rank > b.rank;
    }
    // 6. Been ready for empty time < less time < more time (logarithmic buckets).
    if a.ready && b.ready && a.ready_since != b.ready_since {
        match (a.ready_since, b.ready_since) {
            (Some(x), Some(y)) if now != SimTime::ZERO => {
                let d = log_rank_diff(x, y, now);
                if d == 0 {
                    return a.uid < b.uid;
                }
                return d < 0;
            }
            _ => return after_or_zero(a.ready_since, b.ready_since),
        }
    }
    // 7. Higher restart counts < lower.
    if a.restarts != b.restarts {
        return a.restarts > b.restarts;
    }
    // 8. Empty creation time < newer < older (logarithmic buckets).
    if a.created != b.created {
        match (a.created, b.created) {
            (Some(x), Some(y)) if now != SimTime::ZERO => {
                let d = log_rank_diff(x, y, now);
                if d == 0 {
                    return a.uid < b.uid;
                }
                return d < 0;
            }
            _ => return after_or_zero(a.created, b.created),
        }
    }
    false
}

pub fn compare(a: &RankedPod, b: &RankedPod, now: SimTime) -> Ordering {
    if less(a, b, now) {
        Ordering::Less
    } else if less(b, a, now) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// `slowStartBatch`: calls `f` in batches of 1, 2, 4, … (at most `count` in all) and stops
/// after the first batch with a failure. Returns how many calls succeeded.
pub fn slow_start_batch(count: usize, initial: usize, mut f: impl FnMut() -> bool) -> usize {
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = remaining.min(initial.max(1));
    while batch > 0 {
        let mut errors = 0;
        for _ in 0..batch {
            if f() {
                successes += 1;
            } else {
                errors += 1;
            }
        }
        if errors > 0 {
            return successes;
        }
        remaining -= batch;
        batch = remaining.min(2 * batch);
    }
    successes
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    // controller_utils_test.go TestSortingActivePodsWithRanks: `now`, and times 1 month
    // (30 days), 2, 5 and 8 hours before it; zero times are None.
    fn pod(
        assigned: bool,
        phase: PodPhase,
        ready: bool,
        restarts: i32,
        ready_since: Option<u64>,
        created: Option<u64>,
        cost: i32,
    ) -> RankedPod {
        RankedPod {
            assigned,
            phase,
            ready,
            ready_since: if ready {
                ready_since.map(SimTime::from_secs)
            } else {
                None
            },
            deletion_cost: cost,
            rank: 0,
            restarts,
            created: created.map(SimTime::from_secs),
            uid: 0,
        }
    }

    #[test]
    fn test_sorting_active_pods_with_ranks() {
        use PodPhase::*;
        let now_s = 60 * 24 * H;
        let now = SimTime::from_secs(now_s);
        let then_1_month = now_s - 30 * 24 * H;
        let (then_2h, then_5h, then_8h) = (now_s - 2 * H, now_s - 5 * H, now_s - 8 * H);
        let unscheduled = pod(false, Pending, false, 0, None, None, 0);
        let scheduled_pending = pod(true, Pending, false, 0, None, None, 0);
        let unknown_phase = pod(true, Unknown, false, 0, None, None, 0);
        let running_not_ready = pod(true, Running, false, 0, None, None, 0);
        let running_ready_no_ltt = pod(true, Running, true, 0, None, None, 0);
        let running_ready_now = pod(true, Running, true, 0, Some(now_s), Some(now_s), 0);
        let running_ready_then = pod(
            true,
            Running,
            true,
            0,
            Some(then_1_month),
            Some(then_1_month),
            0,
        );
        let high_restarts = pod(true, Running, true, 9001, Some(now_s), Some(now_s), 0);
        let now_created_then = pod(true, Running, true, 0, Some(now_s), Some(then_1_month), 0);
        let low_cost = pod(true, Running, true, 0, Some(now_s), Some(then_1_month), 10);
        let high_cost = pod(true, Running, true, 0, Some(now_s), Some(then_1_month), 100);
        let unscheduled_5h = pod(false, Pending, false, 0, Some(then_5h), Some(then_5h), 0);
        let unscheduled_8h = pod(false, Pending, false, 0, Some(then_8h), Some(then_8h), 0);
        let ready_2h = pod(
            false,
            Running,
            true,
            0,
            Some(then_2h),
            Some(then_1_month),
            0,
        );
        let ready_5h = pod(
            false,
            Running,
            true,
            0,
            Some(then_5h),
            Some(then_1_month),
            0,
        );
        let ready_10h = pod(
            false,
            Running,
            true,
            0,
            Some(then_8h),
            Some(then_1_month),
            0,
        );

        let with = |p: &RankedPod, rank: usize| RankedPod { rank, ..p.clone() };
        let equal = [
            (&unscheduled, &unscheduled),
            (&scheduled_pending, &scheduled_pending),
            (&unknown_phase, &unknown_phase),
            (&running_not_ready, &running_not_ready),
            (&now_created_then, &now_created_then),
            (&running_ready_now, &running_ready_now),
            (&running_ready_then, &running_ready_then),
            (&high_restarts, &high_restarts),
            (&now_created_then, &now_created_then),
            (&unscheduled_5h, &unscheduled_8h),
            (&ready_5h, &ready_10h),
        ];
        for (i, (a, b)) in equal.iter().enumerate() {
            let (a, b) = (with(a, 1), with(b, 1));
            assert!(
                !less(&a, &b, now) && !less(&b, &a, now),
                "Equality tests {i}"
            );
        }
        let unequal = [
            ((&unscheduled, 1), (&scheduled_pending, 2)),
            ((&unscheduled, 2), (&scheduled_pending, 1)),
            ((&scheduled_pending, 1), (&unknown_phase, 2)),
            ((&unknown_phase, 1), (&running_not_ready, 2)),
            ((&running_not_ready, 1), (&running_ready_no_ltt, 1)),
            ((&running_ready_no_ltt, 1), (&running_ready_now, 1)),
            ((&running_ready_now, 2), (&running_ready_no_ltt, 1)),
            ((&running_ready_now, 1), (&running_ready_then, 1)),
            ((&running_ready_now, 2), (&running_ready_then, 1)),
            ((&high_restarts, 1), (&running_ready_now, 1)),
            ((&running_ready_now, 2), (&high_restarts, 1)),
            ((&running_ready_now, 1), (&now_created_then, 1)),
            ((&now_created_then, 2), (&running_ready_now, 1)),
            ((&low_cost, 2), (&high_cost, 1)),
            // Case 14 disables the PodDeletionCost gate, which kubesim always has on.
            ((&ready_2h, 1), (&ready_5h, 1)),
        ];
        for (i, ((a, ra), (b, rb))) in unequal.iter().enumerate() {
            let (a, b) = (with(a, *ra), with(b, *rb));
            assert!(
                less(&a, &b, now),
                "Inequality tests {i}: lesser is not less"
            );
            assert!(!less(&b, &a, now), "Inequality tests {i}: greater is less");
        }
    }

    // replica_set.go slowStartBatch: 1, 2, 4, … and stop after a failing batch.
    #[test]
    fn slow_start_batches_double_and_stop_at_a_failure() {
        let mut calls = 0;
        assert_eq!(
            slow_start_batch(10, 1, || {
                calls += 1;
                true
            }),
            10
        );
        assert_eq!(calls, 10);
        // The 4th call fails: batches 1, 2 succeed, the batch of 4 runs to its end and stops.
        let mut calls = 0;
        let n = slow_start_batch(20, 1, || {
            calls += 1;
            calls != 4
        });
        assert_eq!((n, calls), (6, 7));
    }
}
