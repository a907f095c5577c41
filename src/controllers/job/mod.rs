//! The Job controller: runs a Job's pods to `completions` successes with at most `parallelism`
//! active at once, NonIndexed or Indexed; replaces failed (and terminating) pods after the pod
//! failure backoff; fails the Job past `backoffLimit`, past `activeDeadlineSeconds` or by its
//! pod failure policy; counts finished pods through the `batch.kubernetes.io/job-tracking`
//! finalizer and `status.uncountedTerminatedPods`, and marks the Job Complete or Failed (first
//! the interim SuccessCriteriaMet / FailureTarget condition, the terminal one once no pod is
//! terminating).
//!
//! This module holds the controller, its event handlers and `syncJob` (upstream
//! `pkg/controller/job/job_controller.go`: `syncJob`, `isPodFailed`,
//! `pastBackoffLimitOnFailure`); `manage` holds `manageJob` and the pod creations and
//! deletions, `status` `trackJobStatusAndRemoveFinalizers` / `enactJobFinished` and the
//! conditions, `backoff` upstream's `backoff_utils.go`, `indexed` `indexed_job_utils.go`,
//! `pod_failure_policy` `pod_failure_policy.go`. Feature gates as in Kubernetes 1.34:
//! JobPodReplacementPolicy, JobManagedBy (delayed terminal conditions), PodIndexLabel on;
//! backoffLimitPerIndex, successPolicy (so no `success_policy.go`) and managedBy are not
//! modelled.
//!
//! Invariant: decisions come from the informer cache; a sync is a workqueue item with
//! upstream's delays (immediately for Job add and spec changes, `syncJobBatchPeriod` = 1 s for
//! pod events and status updates, the remaining backoff or deadline otherwise), and every
//! change is an API request.

mod backoff;
mod indexed;
mod manage;
mod pod_failure_policy;
mod status;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

pub use backoff::{
    finished_time, new_backoff_record, BackoffRecord, DEFAULT_POD_FAILURE_BACKOFF,
    MAX_POD_FAILURE_BACKOFF,
};
pub use indexed::{completion_index, format_indexes, parse_indexes};
pub use pod_failure_policy::match_pod_failure_policy;

use super::cache::{job_of, KcmCache};
use crate::api::ApiServer;
use crate::controllers::clients::ControllerClients;
use crate::controllers::Event;
use crate::model::*;
use crate::sim::{rng, Ctx, SimDuration, SimTime};
use pod_failure_policy::fail_job_message;
use status::{condition, ensure_condition, record, remove_finalizer};

const SOURCE: &str = "job-controller";
/// `syncJobBatchPeriod`.
pub const SYNC_JOB_BATCH_PERIOD: SimDuration = SimDuration::from_secs(1);

/// `isPodFailed`: phase Failed, or (unless only failed pods are replaced) being deleted
/// without having succeeded.
pub fn is_pod_failed(p: &Pod, job: &Job) -> bool {
    if p.status.phase == PodPhase::Failed {
        return true;
    }
    if only_replace_failed_pods(job) {
        return false;
    }
    p.is_terminating() && p.status.phase != PodPhase::Succeeded
}

/// `onlyReplaceFailedPods`: `podReplacementPolicy: Failed`, or a pod failure policy.
pub fn only_replace_failed_pods(job: &Job) -> bool {
    job.pod_replacement_policy == PodReplacementPolicy::Failed || job.pod_failure_policy.is_some()
}

/// `controller.CountTerminatingPods`.
fn is_terminating_pod(p: &Pod) -> bool {
    p.is_terminating() && !p.status.phase.is_terminal()
}

fn has_tracking_finalizer(p: &Pod) -> bool {
    p.meta
        .finalizers
        .iter()
        .any(|f| f == JOB_TRACKING_FINALIZER)
}

/// What one sync found, shared by its steps (`syncJobCtx`).
struct SyncCtx {
    job: Arc<Job>,
    pods: Vec<Arc<Pod>>,
    active_pods: Vec<Arc<Pod>>,
    succeeded: i32,
    failed: i32,
    terminating: i32,
    ready: i32,
    succeeded_indexes: BTreeSet<i32>,
    prev_succeeded_indexes: BTreeSet<i32>,
    finished: Option<JobCondition>,
    new_backoff: BackoffRecord,
}

pub struct JobController {
    gen: u32,
    rng: ChaCha8Rng,
    /// The workqueue: when each queued Job is due (`AddAfter` keeps the earliest).
    due: BTreeMap<String, SimTime>,
    /// Creations not yet seen in the cache, per Job.
    expected_creates: BTreeMap<String, BTreeSet<String>>,
    /// Numbers the placeholders of creations waiting for the client's token.
    deferred_seq: u64,
    /// Pods whose tracking finalizer this controller removed and has not seen removed.
    expected_rm_finalizers: BTreeMap<String, BTreeSet<u64>>,
    backoff: BTreeMap<String, BackoffRecord>,
}

impl JobController {
    pub fn new(seed: u64, gen: u32) -> Self {
        JobController {
            gen,
            rng: rng::stream(seed, &format!("job-controller/{gen}")),
            due: BTreeMap::new(),
            expected_creates: BTreeMap::new(),
            deferred_seq: 0,
            expected_rm_finalizers: BTreeMap::new(),
            backoff: BTreeMap::new(),
        }
    }

    /// `queue.AddAfter(key, delay)`: the earliest request wins.
    pub fn enqueue_after(&mut self, ctx: &mut dyn Ctx<Event>, key: &str, delay: SimDuration) {
        let at = ctx.now() + delay;
        if self.due.get(key).is_some_and(|&t| t <= at) {
            return;
        }
        self.due.insert(key.to_string(), at);
        ctx.schedule_at(
            at,
            Event::JobSync {
                gen: self.gen,
                key: key.to_string(),
            },
        );
    }

    /// Job added, spec changed or deleted: `enqueueSyncJobImmediately`; a status-only update:
    /// `enqueueSyncJobBatched`. A changed `activeDeadlineSeconds` also schedules the deadline.
    pub fn observe_job(&mut self, ctx: &mut dyn Ctx<Event>, old: Option<&Job>, new: &Job) {
        let immediate = old.is_none_or(|o| o.meta.generation != new.meta.generation);
        let delay = if immediate {
            SimDuration::ZERO
        } else {
            SYNC_JOB_BATCH_PERIOD
        };
        self.enqueue_after(ctx, &new.key(), delay);
        let (Some(start), Some(ads)) = (new.status.start_time, new.active_deadline_seconds) else {
            return;
        };
        if old.is_some_and(|o| o.active_deadline_seconds != Some(ads)) {
            let end = start + SimDuration::from_secs(ads.max(0) as u64);
            let delay =
                SimDuration::from_nanos(end.as_nanos().saturating_sub(ctx.now().as_nanos()));
            self.enqueue_after(ctx, &new.key(), delay);
        }
    }

    pub fn observe_job_deleted(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        self.enqueue_after(ctx, key, SimDuration::ZERO);
    }

    /// `addPod` / `updatePod` / `deletePod`: creation and finalizer-removal observed, the Job
    /// synced after the batch period; a pod of no (unfinished) Job loses its finalizer
    /// (`syncOrphanPod`).
    pub fn observe_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        pod: &Pod,
        deleted: bool,
    ) {
        let Some(key) = job_of(pod) else {
            if has_tracking_finalizer(pod) && !deleted {
                remove_finalizer(api, pod);
            }
            return;
        };
        if let Some(set) = self.expected_creates.get_mut(&key) {
            set.remove(&pod.meta.name);
            if set.is_empty() {
                self.expected_creates.remove(&key);
            }
        }
        if deleted || !has_tracking_finalizer(pod) {
            if let Some(set) = self.expected_rm_finalizers.get_mut(&key) {
                set.remove(&pod.meta.uid);
            }
        }
        match cache.jobs.get(&key) {
            Some(j) if !j.is_finished() => self.enqueue_after(ctx, &key, SYNC_JOB_BATCH_PERIOD),
            _ => {
                if has_tracking_finalizer(pod) && !deleted {
                    remove_finalizer(api, pod);
                }
            }
        }
    }

    /// A workqueue item fired; stale ones (superseded by an earlier request) are ignored.
    pub fn on_fire(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        key: &str,
    ) {
        if self.due.get(key) != Some(&ctx.now()) {
            return;
        }
        self.due.remove(key);
        self.sync(ctx, api, cache, clients, key);
    }

    /// `syncJob`.
    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        key: &str,
    ) {
        let Some(job) = cache.jobs.get(key).cloned() else {
            self.expected_creates.remove(key);
            self.expected_rm_finalizers.remove(key);
            self.backoff.remove(key);
            return;
        };
        if job.is_finished() {
            self.backoff.remove(key);
            return;
        }
        let now = ctx.now();
        let satisfied = !self.expected_creates.contains_key(key);
        let mut sc = self.observe(cache, &job, key);
        let mut status = job.status.clone();
        if status.start_time.is_none() && !job.suspend {
            status.start_time = Some(now);
        }
        self.failure_condition(ctx, &mut sc, &status, key);
        let mut active = sc.active_pods.len() as i32;
        let mut suspend_changed = false;
        if sc.finished.is_some() {
            let (deleted_ready, deleted) = self.delete_active_pods(ctx, api, &job, &sc.active_pods);
            if deleted != active || !satisfied {
                sc.finished = None;
            }
            active -= deleted;
            sc.terminating += deleted;
            sc.ready -= deleted_ready;
        } else {
            let mut called = false;
            if satisfied && job.meta.deletion_timestamp.is_none() {
                active = self.manage_job(ctx, api, clients, &mut sc, &status);
                called = true;
            }
            let complete = match job.completions {
                None => sc.succeeded > 0 && active == 0,
                Some(c) => sc.succeeded >= c && active == 0,
            };
            if complete {
                sc.finished = Some(condition(
                    JobConditionType::SuccessCriteriaMet,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                ));
            } else if called {
                suspend_changed = self.suspend_condition(ctx, &job, &mut status);
            }
        }
        let needs_update = suspend_changed
            || active != status.active
            || sc.ready != status.ready
            || sc.terminating != status.terminating;
        status.active = active;
        status.ready = sc.ready;
        status.terminating = sc.terminating;
        self.track_status(ctx, api, sc, status, needs_update);
    }

    /// The pods of a Job and what they add up to.
    fn observe(&self, cache: &KcmCache, job: &Arc<Job>, key: &str) -> SyncCtx {
        let mut pods: Vec<Arc<Pod>> = cache
            .pods_by_job
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|k| cache.pods.get(k).cloned())
            .collect();
        pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        let active_pods: Vec<Arc<Pod>> = pods
            .iter()
            .filter(|p| super::cache::is_active(p))
            .cloned()
            .collect();
        let ready = active_pods.iter().filter(|p| p.is_ready()).count() as i32;
        let terminating = pods.iter().filter(|p| is_terminating_pod(p)).count() as i32;
        let (new_succeeded, new_failed) = self.new_finished_pods(job, key, &pods);
        let ignored = match &job.pod_failure_policy {
            Some(rules) => new_failed
                .iter()
                .filter(|p| {
                    matches!(
                        match_pod_failure_policy(rules, p),
                        Some((_, PodFailurePolicyAction::Ignore))
                    )
                })
                .count(),
            None => 0,
        };
        let st = &job.status;
        let prev = parse_indexes(&st.completed_indexes, job.completions.unwrap_or(0));
        let mut succeeded_indexes = prev.clone();
        if job.indexed {
            for p in &pods {
                if p.status.phase == PodPhase::Succeeded && has_tracking_finalizer(p) {
                    if let Some(i) =
                        completion_index(p).filter(|i| *i < job.completions.unwrap_or(0))
                    {
                        succeeded_indexes.insert(i);
                    }
                }
            }
        }
        let succeeded = if job.indexed {
            succeeded_indexes.len() as i32
        } else {
            st.succeeded + new_succeeded.len() as i32 + st.uncounted_succeeded.len() as i32
        };
        let failed =
            st.failed + (new_failed.len() - ignored) as i32 + st.uncounted_failed.len() as i32;
        let old = self.backoff.get(key).copied().unwrap_or_default();
        SyncCtx {
            job: job.clone(),
            new_backoff: new_backoff_record(old, &new_succeeded, &new_failed),
            pods,
            active_pods,
            succeeded,
            failed,
            terminating,
            ready,
            succeeded_indexes,
            prev_succeeded_indexes: prev,
            finished: job
                .condition(JobConditionType::SuccessCriteriaMet)
                .filter(|c| c.status == ConditionStatus::True)
                .cloned(),
        }
    }

    /// `getNewFinishedPods`: finished pods still holding the finalizer and not yet listed as
    /// uncounted.
    fn new_finished_pods(
        &self,
        job: &Job,
        key: &str,
        pods: &[Arc<Pod>],
    ) -> (Vec<Arc<Pod>>, Vec<Arc<Pod>>) {
        let expected = self.expected_rm_finalizers.get(key);
        let valid = |p: &Pod| {
            has_tracking_finalizer(p)
                && !expected.is_some_and(|e| e.contains(&p.meta.uid))
                && (!job.indexed
                    || completion_index(p).is_some_and(|i| i < job.completions.unwrap_or(0)))
        };
        let succeeded = pods
            .iter()
            .filter(|p| valid(p) && !job.status.uncounted_succeeded.contains(&p.meta.uid))
            .filter(|p| p.status.phase == PodPhase::Succeeded)
            .cloned()
            .collect();
        let failed = pods
            .iter()
            .filter(|p| valid(p) && !job.status.uncounted_failed.contains(&p.meta.uid))
            .filter(|p| is_pod_failed(p, job))
            .cloned()
            .collect();
        (succeeded, failed)
    }

    /// The failure half of `syncJob`: a FailureTarget already set, the pod failure policy's
    /// FailJob, `backoffLimit`, `activeDeadlineSeconds` (or a sync scheduled at the deadline).
    fn failure_condition(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        sc: &mut SyncCtx,
        status: &JobStatus,
        key: &str,
    ) {
        if sc.finished.is_some() {
            return;
        }
        let now = ctx.now();
        let job = sc.job.clone();
        if let Some(t) = job
            .condition(JobConditionType::FailureTarget)
            .filter(|c| c.status == ConditionStatus::True)
        {
            sc.finished = Some(condition(
                JobConditionType::Failed,
                &t.reason,
                &t.message,
                now,
            ));
            return;
        }
        if let Some(msg) = fail_job_message(&job, &sc.pods) {
            sc.finished = Some(condition(
                JobConditionType::FailureTarget,
                "PodFailurePolicy",
                &msg,
                now,
            ));
            return;
        }
        if sc.failed > job.backoff_limit || past_backoff_limit_on_failure(&job, &sc.pods) {
            sc.finished = Some(condition(
                JobConditionType::FailureTarget,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                now,
            ));
        } else if let (Some(ads), Some(start), false) =
            (job.active_deadline_seconds, status.start_time, job.suspend)
        {
            let end = start + SimDuration::from_secs(ads.max(0) as u64);
            if now >= end {
                sc.finished = Some(condition(
                    JobConditionType::FailureTarget,
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    now,
                ));
            } else {
                self.enqueue_after(
                    ctx,
                    key,
                    SimDuration::from_nanos(end.as_nanos() - now.as_nanos()),
                );
            }
        }
    }

    /// The Suspended condition and its events (`JobSuspended` / `JobResumed`); resuming
    /// restarts `startTime`.
    fn suspend_condition(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        job: &Job,
        status: &mut JobStatus,
    ) -> bool {
        let now = ctx.now();
        let (st, reason, message, event) = if job.suspend {
            (
                ConditionStatus::True,
                "JobSuspended",
                "Job suspended",
                "Suspended",
            )
        } else {
            (
                ConditionStatus::False,
                "JobResumed",
                "Job resumed",
                "Resumed",
            )
        };
        let changed = ensure_condition(
            &mut status.conditions,
            JobConditionType::Suspended,
            st,
            reason,
            message,
            now,
        );
        if changed {
            record(ctx, job, event, message.to_string());
            if !job.suspend {
                status.start_time = Some(now);
            }
        }
        changed
    }
}

/// `pastBackoffLimitOnFailure`: with `restartPolicy: OnFailure`, container restarts of
/// running and pending pods count against the limit.
fn past_backoff_limit_on_failure(job: &Job, pods: &[Arc<Pod>]) -> bool {
    if job.template.spec.restart_policy != RestartPolicy::OnFailure {
        return false;
    }
    let restarts: u64 = pods
        .iter()
        .filter(|p| matches!(p.status.phase, PodPhase::Running | PodPhase::Pending))
        .flat_map(|p| {
            p.status
                .init_container_statuses
                .iter()
                .chain(&p.status.container_statuses)
        })
        .map(|c| c.restart_count as u64)
        .sum();
    if job.backoff_limit == 0 {
        return restarts > 0;
    }
    restarts >= job.backoff_limit.max(0) as u64
}
