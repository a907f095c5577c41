//! Job status tracking: finished pods listed as uncounted, their tracking finalizers removed,
//! then moved into the counters; the interim and terminal conditions and their events.
//!
//! Upstream: `pkg/controller/job/job_controller.go` (`trackJobStatusAndRemoveFinalizers`,
//! `flushUncountedAndRemoveFinalizers`, `cleanUncountedPodsWithoutFinalizers`,
//! `enactJobFinished`, `ensureJobConditionStatus`, `recordJobFinished`).
//!
//! Invariant: a pod is counted once: it is listed as uncounted (and the status written)
//! before its finalizer is removed, and the terminal condition waits until nothing is
//! uncounted or terminating.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::indexed::{completion_index, format_indexes};
use super::pod_failure_policy::match_pod_failure_policy;
use super::{has_tracking_finalizer, is_pod_failed, JobController, SyncCtx, SOURCE};
use crate::api::{ApiError, ApiServer};
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimTime};

pub(super) fn condition(
    t: JobConditionType,
    reason: &str,
    message: &str,
    now: SimTime,
) -> JobCondition {
    JobCondition {
        type_: t,
        status: ConditionStatus::True,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: now,
    }
}

/// `ensureJobConditionStatus`: add or update a condition; a False one is never added.
pub(super) fn ensure_condition(
    list: &mut Vec<JobCondition>,
    t: JobConditionType,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    now: SimTime,
) -> bool {
    if let Some(c) = list.iter_mut().find(|c| c.type_ == t) {
        if c.status != status || c.reason != reason || c.message != message {
            *c = JobCondition {
                status,
                ..condition(t, reason, message, now)
            };
            return true;
        }
        return false;
    }
    if status != ConditionStatus::False {
        list.push(JobCondition {
            status,
            ..condition(t, reason, message, now)
        });
        return true;
    }
    false
}

impl JobController {
    /// `trackJobStatusAndRemoveFinalizers` + `flushUncountedAndRemoveFinalizers` +
    /// `enactJobFinished`: list finished pods as uncounted, write, remove their finalizers,
    /// move them into the counters, then set the terminal condition once nothing is left
    /// uncounted or terminating.
    pub(super) fn track_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        mut sc: SyncCtx,
        mut status: JobStatus,
        mut needs_flush: bool,
    ) {
        let now = ctx.now();
        let job = sc.job.clone();
        let key = job.key();
        let expected = self
            .expected_rm_finalizers
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let mut to_release: Vec<Arc<Pod>> = Vec::new();
        let target_failed = sc
            .finished
            .as_ref()
            .is_some_and(|c| c.type_ != JobConditionType::SuccessCriteriaMet);
        for p in &sc.pods {
            if !has_tracking_finalizer(p) || expected.contains(&p.meta.uid) {
                continue;
            }
            let failed = is_pod_failed(p, &job);
            let can_remove = job.meta.deletion_timestamp.is_some()
                || sc.finished.is_some()
                || p.status.phase == PodPhase::Succeeded
                || failed;
            if !can_remove {
                continue;
            }
            to_release.push(p.clone());
            let uid = p.meta.uid;
            let ix_ok = !job.indexed
                || completion_index(p).is_some_and(|i| i < job.completions.unwrap_or(0));
            if p.status.phase == PodPhase::Succeeded && !status.uncounted_failed.contains(&uid) {
                if job.indexed {
                    needs_flush |= completion_index(p)
                        .is_some_and(|i| !sc.prev_succeeded_indexes.contains(&i));
                } else if !status.uncounted_succeeded.contains(&uid) {
                    status.uncounted_succeeded.push(uid);
                    needs_flush = true;
                }
            } else if (failed || target_failed) && !status.uncounted_failed.contains(&uid) && ix_ok
            {
                let counts = match &job.pod_failure_policy {
                    Some(rules) => !matches!(
                        match_pod_failure_policy(rules, p),
                        Some((_, PodFailurePolicyAction::Ignore))
                    ),
                    None => true,
                };
                if counts {
                    status.uncounted_failed.push(uid);
                    needs_flush = true;
                }
            }
        }
        if job.indexed {
            let text = format_indexes(&sc.succeeded_indexes);
            needs_flush |= text != status.completed_indexes;
            status.succeeded = sc.succeeded_indexes.len() as i32;
            status.completed_indexes = text;
        }
        self.interim_condition(&mut sc, &mut status, &mut needs_flush, now);
        let mut current = job.clone();
        if needs_flush {
            match write_status(api, &key, &status) {
                Some(j) => current = j,
                None => return,
            }
            self.backoff.insert(key.clone(), sc.new_backoff);
            needs_flush = false;
        }
        let released: BTreeSet<u64> = to_release
            .iter()
            .filter(|p| remove_finalizer(api, p))
            .map(|p| p.meta.uid)
            .collect();
        if !released.is_empty() {
            self.expected_rm_finalizers
                .entry(key.clone())
                .or_default()
                .extend(released.iter().copied());
        }
        needs_flush |= count_released(&mut status, &released);
        let finished = self.enact_finished(&sc, &mut status, now);
        if needs_flush || finished {
            if let Some(j) = write_status(api, &key, &status) {
                current = j;
            }
        }
        if finished {
            if let Some(c) = &sc.finished {
                record_finished(ctx, &current, c);
            }
        }
    }

    /// The interim FailureTarget / SuccessCriteriaMet condition goes into the status first;
    /// the terminal one (Failed / Complete) waits for `enactJobFinished`.
    pub(super) fn interim_condition(
        &self,
        sc: &mut SyncCtx,
        status: &mut JobStatus,
        needs_flush: &mut bool,
        now: SimTime,
    ) {
        let Some(c) = sc.finished.clone() else {
            return;
        };
        let terminal = match c.type_ {
            JobConditionType::FailureTarget => JobConditionType::Failed,
            JobConditionType::SuccessCriteriaMet => JobConditionType::Complete,
            _ => return,
        };
        if !status.conditions.iter().any(|x| x.type_ == c.type_) {
            status.conditions.push(c.clone());
            *needs_flush = true;
        }
        sc.finished = Some(condition(terminal, &c.reason, &c.message, now));
    }

    /// `enactJobFinished`: only with nothing uncounted and no pod terminating.
    pub(super) fn enact_finished(
        &self,
        sc: &SyncCtx,
        status: &mut JobStatus,
        now: SimTime,
    ) -> bool {
        let Some(c) = &sc.finished else {
            return false;
        };
        if !status.uncounted_succeeded.is_empty() || !status.uncounted_failed.is_empty() {
            return false;
        }
        if sc.terminating > 0 {
            return false;
        }
        ensure_condition(
            &mut status.conditions,
            c.type_,
            c.status,
            &c.reason,
            &c.message,
            now,
        );
        if c.type_ == JobConditionType::Complete {
            status.completion_time = Some(now);
        }
        true
    }
}

/// `cleanUncountedPodsWithoutFinalizers` for the pods just released: into the counters.
pub(super) fn count_released(status: &mut JobStatus, released: &BTreeSet<u64>) -> bool {
    let before = (
        status.uncounted_succeeded.len(),
        status.uncounted_failed.len(),
    );
    let s0 = status.uncounted_succeeded.len();
    status.uncounted_succeeded.retain(|u| !released.contains(u));
    status.succeeded += (s0 - status.uncounted_succeeded.len()) as i32;
    let f0 = status.uncounted_failed.len();
    status.uncounted_failed.retain(|u| !released.contains(u));
    status.failed += (f0 - status.uncounted_failed.len()) as i32;
    before
        != (
            status.uncounted_succeeded.len(),
            status.uncounted_failed.len(),
        )
}

pub(super) fn write_status(api: &mut ApiServer, key: &str, status: &JobStatus) -> Option<Arc<Job>> {
    let st = status.clone();
    api.update_job(Caller::ControllerManager, key, |j| j.status = st)
        .ok()
}

/// Removes the tracking finalizer (a PATCH); true when it is gone (or the pod is).
pub(super) fn remove_finalizer(api: &mut ApiServer, p: &Pod) -> bool {
    if !has_tracking_finalizer(p) {
        return true;
    }
    match api.update_pod(Caller::ControllerManager, &p.key(), |x| {
        x.meta.finalizers.retain(|f| f != JOB_TRACKING_FINALIZER)
    }) {
        Ok(_) | Err(ApiError::NotFound(_)) => true,
        Err(_) => false,
    }
}

pub(super) fn record(ctx: &mut dyn Ctx<Event>, job: &Job, reason: &'static str, message: String) {
    ctx.record(Record {
        t: ctx.now(),
        reason,
        source: SOURCE,
        object: job.object_ref(),
        message,
        fields: vec![],
    });
}

/// `recordJobFinished`: `Completed` (and `TooManySucceededPods`), or the failure reason.
pub(super) fn record_finished(ctx: &mut dyn Ctx<Event>, job: &Job, c: &JobCondition) {
    if c.type_ == JobConditionType::Complete {
        if job.completions.is_some_and(|n| job.status.succeeded > n) {
            record(
                ctx,
                job,
                "TooManySucceededPods",
                "Too many succeeded pods running after completion count reached".into(),
            );
        }
        record(ctx, job, "Completed", "Job completed".into());
        return;
    }
    let reason: &'static str = match c.reason.as_str() {
        "BackoffLimitExceeded" => "BackoffLimitExceeded",
        "DeadlineExceeded" => "DeadlineExceeded",
        "PodFailurePolicy" => "PodFailurePolicy",
        _ => "JobFailed",
    };
    record(ctx, job, reason, c.message.clone());
}
