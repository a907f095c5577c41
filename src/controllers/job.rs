//! The Job controller: runs a Job's pods to `completions` successes with at most `parallelism`
//! active at once, NonIndexed or Indexed; replaces failed (and terminating) pods after the pod
//! failure backoff; fails the Job past `backoffLimit`, past `activeDeadlineSeconds` or by its
//! pod failure policy; counts finished pods through the `batch.kubernetes.io/job-tracking`
//! finalizer and `status.uncountedTerminatedPods`, and marks the Job Complete or Failed (first
//! the interim SuccessCriteriaMet / FailureTarget condition, the terminal one once no pod is
//! terminating).
//!
//! Upstream: `pkg/controller/job/job_controller.go` (`syncJob`, `manageJob`,
//! `trackJobStatusAndRemoveFinalizers`, `enactJobFinished`, `isPodFailed`,
//! `activePodsForRemoval`), `backoff_utils.go` (`newBackoffRecord`, `getFinishedTime`,
//! `getRemainingTimeForFailuresCount`), `indexed_job_utils.go` (`firstPendingIndexes`,
//! `calculateSucceededIndexes`, interval strings), `pod_failure_policy.go`
//! (`matchPodFailurePolicy`). Feature gates as in Kubernetes 1.34: JobPodReplacementPolicy,
//! JobManagedBy (delayed terminal conditions), PodIndexLabel on; backoffLimitPerIndex,
//! successPolicy and managedBy are not modelled.
//!
//! Invariant: decisions come from the informer cache; a sync is a workqueue item with
//! upstream's delays (immediately for Job add and spec changes, `syncJobBatchPeriod` = 1 s for
//! pod events and status updates, the remaining backoff or deadline otherwise), and every
//! change is an API request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::cache::{job_of, KcmCache};
use super::podranking::{compare, slow_start_batch, RankedPod};
use super::replicaset::is_pod_ready;
use crate::api::{ApiError, ApiServer};
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Ctx, Record, SimDuration, SimTime};

const SOURCE: &str = "job-controller";
/// `syncJobBatchPeriod`.
pub const SYNC_JOB_BATCH_PERIOD: SimDuration = SimDuration::from_secs(1);
/// `DefaultJobPodFailureBackOff`.
pub const DEFAULT_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// `MaxJobPodFailureBackOff`: 10 min in the controller since the in-memory backoff store
/// (the Job docs still say "capped at six minutes", the older `MaxJobBackOff = 360s`).
pub const MAX_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(600);
/// `MaxPodCreateDeletePerSync`.
const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// The apiserver's `generateName` suffix alphabet.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

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

/// The completion index annotation of a pod (`getCompletionIndex`), if valid.
pub fn completion_index(p: &Pod) -> Option<i32> {
    p.meta
        .annotations
        .get(JOB_COMPLETION_INDEX)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|i| *i >= 0)
}

/// The result of `matchPodFailurePolicy` for a failed pod: the first rule that matches.
pub fn match_pod_failure_policy(
    rules: &[PodFailurePolicyRule],
    p: &Pod,
) -> Option<(usize, PodFailurePolicyAction)> {
    rules.iter().enumerate().find_map(|(i, r)| {
        let hit = match &r.on_exit_codes {
            Some(e) => exit_codes_match(e, p),
            None => r.on_pod_conditions.iter().any(|c| {
                p.status
                    .conditions
                    .iter()
                    .any(|pc| pc.type_.as_str() == c.type_ && pc.status == c.status)
            }),
        };
        hit.then_some((i, r.action))
    })
}

/// `onExitCodes`: some terminated container (of the named one, if given) exited with a code
/// `In` / `NotIn` the values; exit code 0 never matches `NotIn`... as upstream it is excluded.
fn exit_codes_match(e: &OnExitCodes, p: &Pod) -> bool {
    p.status.container_statuses.iter().any(|c| {
        if e.container_name.as_ref().is_some_and(|n| *n != c.name) {
            return false;
        }
        match c.state.terminated() {
            Some(t) if t.exit_code != 0 => e.values.contains(&t.exit_code) == e.in_,
            _ => false,
        }
    })
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
    /// Pods whose tracking finalizer this controller removed and has not seen removed.
    expected_rm_finalizers: BTreeMap<String, BTreeSet<u64>>,
    backoff: BTreeMap<String, BackoffRecord>,
}

fn condition(t: JobConditionType, reason: &str, message: &str, now: SimTime) -> JobCondition {
    JobCondition {
        type_: t,
        status: ConditionStatus::True,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: now,
    }
}

/// `ensureJobConditionStatus`: add or update a condition; a False one is never added.
fn ensure_condition(
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
    pub fn new(seed: u64, gen: u32) -> Self {
        JobController {
            gen,
            rng: rng::stream(seed, &format!("job-controller/{gen}")),
            due: BTreeMap::new(),
            expected_creates: BTreeMap::new(),
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
        key: &str,
    ) {
        if self.due.get(key) != Some(&ctx.now()) {
            return;
        }
        self.due.remove(key);
        self.sync(ctx, api, cache, key);
    }

    /// `syncJob`.
    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
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
                active = self.manage_job(ctx, api, &mut sc, &status);
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
        let ready = active_pods.iter().filter(|p| is_pod_ready(p)).count() as i32;
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

    /// `manageJob`: delete surplus pods, or create the missing ones (after the backoff).
    /// Returns the new active count.
    fn manage_job(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        sc: &mut SyncCtx,
        _status: &JobStatus,
    ) -> i32 {
        let job = sc.job.clone();
        let active = sc.active_pods.len() as i32;
        if job.suspend {
            let all = pods_for_removal(&job, &sc.active_pods, sc.active_pods.len(), ctx.now());
            let (ready, removed) = self.delete_job_pods(ctx, api, &job, &all);
            sc.terminating += removed;
            sc.ready -= ready;
            return active - removed;
        }
        let want = match job.completions {
            None if sc.succeeded > 0 => active,
            None => job.parallelism,
            Some(c) => (c - sc.succeeded).min(job.parallelism).max(0),
        };
        let rm = (active - want).max(0) as usize;
        let mut victims = pods_for_removal(&job, &sc.active_pods, rm, ctx.now());
        victims.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
        if !victims.is_empty() {
            let (ready, removed) = self.delete_job_pods(ctx, api, &job, &victims);
            sc.terminating += removed;
            sc.ready -= ready;
            return active - removed;
        }
        let terminating = if only_replace_failed_pods(&job) {
            sc.terminating
        } else {
            0
        };
        let diff = want - terminating - active;
        if diff <= 0 {
            return active;
        }
        let remaining = sc.new_backoff.remaining(ctx.now());
        if remaining > SimDuration::ZERO {
            // `enqueueSyncJobWithDelay`; upstream's manageJob returns 0 active here.
            self.enqueue_after(ctx, &job.key(), remaining.max(SYNC_JOB_BATCH_PERIOD));
            return 0;
        }
        let mut diff = (diff as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC);
        let indexes = if job.indexed {
            let v = first_pending_indexes(sc, diff);
            diff = v.len();
            v
        } else {
            Vec::new()
        };
        let mut it = indexes.into_iter();
        let created = slow_start_batch(diff, 1, || {
            let ix = it.next();
            self.create_pod(ctx, api, &job, ix)
        });
        active + created as i32
    }

    fn create_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        job: &Job,
        index: Option<i32>,
    ) -> bool {
        let prefix = match index {
            Some(i) => format!("{}-{i}-", job.meta.name),
            None => format!("{}-", job.meta.name),
        };
        for _attempt in 0..8 {
            let pod = self.pod_from_template(job, index, &prefix);
            let name = pod.meta.name.clone();
            match api.create_pod(Caller::ControllerManager, pod) {
                Ok(_) => {
                    self.expected_creates
                        .entry(job.key())
                        .or_default()
                        .insert(name.clone());
                    record(ctx, job, "SuccessfulCreate", format!("Created pod: {name}"));
                    return true;
                }
                Err(ApiError::AlreadyExists(_)) => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// The pod template with the tracking finalizer, the controller owner reference and, for
    /// an Indexed Job, the completion index annotation and label.
    fn pod_from_template(&mut self, job: &Job, index: Option<i32>, prefix: &str) -> Pod {
        let suffix: String = (0..5)
            .map(|_| {
                NAME_ALPHABET[rng::below(&mut self.rng, NAME_ALPHABET.len() as u64) as usize]
                    as char
            })
            .collect();
        let mut labels = job.template.labels.clone();
        let mut annotations = job.template.annotations.clone();
        if let Some(i) = index {
            annotations.insert(JOB_COMPLETION_INDEX.into(), i.to_string());
            labels.insert(JOB_COMPLETION_INDEX.into(), i.to_string());
        }
        Pod {
            meta: ObjectMeta {
                name: format!("{prefix}{suffix}"),
                namespace: job.meta.namespace.clone(),
                labels,
                annotations,
                owner_references: vec![OwnerRef {
                    kind: "Job".into(),
                    name: job.meta.name.clone(),
                    controller: true,
                }],
                finalizers: vec![JOB_TRACKING_FINALIZER.into()],
                ..Default::default()
            },
            spec: job.template.spec.clone(),
            status: PodStatus::default(),
        }
    }

    /// `deleteJobPods`: finalizer off, then DELETE. Returns (ready deleted, deleted).
    fn delete_job_pods(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        job: &Job,
        pods: &[Arc<Pod>],
    ) -> (i32, i32) {
        let mut out = (0, 0);
        for p in pods {
            remove_finalizer(api, p);
            if self.delete_one(ctx, api, job, p) {
                out.1 += 1;
            }
            if is_pod_ready(p) {
                out.0 += 1;
            }
        }
        out
    }

    /// `deleteActivePods`: DELETE keeping the finalizers (the pods are counted as failed).
    fn delete_active_pods(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        job: &Job,
        pods: &[Arc<Pod>],
    ) -> (i32, i32) {
        let mut out = (0, 0);
        for p in pods {
            if self.delete_one(ctx, api, job, p) {
                out.1 += 1;
            }
            if is_pod_ready(p) {
                out.0 += 1;
            }
        }
        out
    }

    fn delete_one(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        job: &Job,
        p: &Pod,
    ) -> bool {
        match api.delete_pod(Caller::ControllerManager, &p.key(), None) {
            Ok(_) => {
                record(
                    ctx,
                    job,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", p.meta.name),
                );
                true
            }
            Err(ApiError::NotFound(_)) => true,
            Err(_) => false,
        }
    }

    /// `trackJobStatusAndRemoveFinalizers` + `flushUncountedAndRemoveFinalizers` +
    /// `enactJobFinished`: list finished pods as uncounted, write, remove their finalizers,
    /// move them into the counters, then set the terminal condition once nothing is left
    /// uncounted or terminating.
    fn track_status(
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
    fn interim_condition(
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
    fn enact_finished(&self, sc: &SyncCtx, status: &mut JobStatus, now: SimTime) -> bool {
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
fn count_released(status: &mut JobStatus, released: &BTreeSet<u64>) -> bool {
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

fn write_status(api: &mut ApiServer, key: &str, status: &JobStatus) -> Option<Arc<Job>> {
    let st = status.clone();
    api.update_job(Caller::ControllerManager, key, |j| j.status = st)
        .ok()
}

/// Removes the tracking finalizer (a PATCH); true when it is gone (or the pod is).
fn remove_finalizer(api: &mut ApiServer, p: &Pod) -> bool {
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

fn record(ctx: &mut dyn Ctx<Event>, job: &Job, reason: &'static str, message: String) {
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
fn record_finished(ctx: &mut dyn Ctx<Event>, job: &Job, c: &JobCondition) {
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

/// `getFailJobMessage`: the first failed pod matching a FailJob rule.
fn fail_job_message(job: &Job, pods: &[Arc<Pod>]) -> Option<String> {
    let rules = job.pod_failure_policy.as_ref()?;
    pods.iter().filter(|p| is_pod_failed(p, job)).find_map(|p| {
        match match_pod_failure_policy(rules, p) {
            Some((i, PodFailurePolicyAction::FailJob)) => Some(fail_job_text(job, p, &rules[i], i)),
            _ => None,
        }
    })
}

/// The messages of `matchPodFailurePolicy` for a FailJob rule.
fn fail_job_text(job: &Job, p: &Pod, rule: &PodFailurePolicyRule, i: usize) -> String {
    let _ = job;
    if let Some(e) = &rule.on_exit_codes {
        let hit = p.status.container_statuses.iter().find_map(|c| {
            let t = c.state.terminated()?;
            (t.exit_code != 0
                && e.values.contains(&t.exit_code) == e.in_
                && e.container_name.as_ref().is_none_or(|n| *n == c.name))
            .then(|| (c.name.clone(), t.exit_code))
        });
        let (name, code) = hit.unwrap_or_default();
        return format!(
            "Container {name} for pod {}/{} failed with exit code {code} matching FailJob rule at index {i}",
            p.meta.namespace, p.meta.name
        );
    }
    let t = rule
        .on_pod_conditions
        .first()
        .map(|c| c.type_.clone())
        .unwrap_or_default();
    format!(
        "Pod {}/{} has condition {t} matching FailJob rule at index {i}",
        p.meta.namespace, p.meta.name
    )
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

/// `activePodsForRemoval`: for an Indexed Job first pods with a duplicate or out-of-range
/// index, then the rest in `controller.ActivePods` order (unassigned, pending, not ready,
/// recently ready, newer first).
fn pods_for_removal(job: &Job, pods: &[Arc<Pod>], at_least: usize, now: SimTime) -> Vec<Arc<Pod>> {
    let mut rm: Vec<Arc<Pod>> = Vec::new();
    let mut left: Vec<Arc<Pod>> = Vec::new();
    if job.indexed {
        let mut seen = BTreeSet::new();
        let mut sorted: Vec<&Arc<Pod>> = pods.iter().collect();
        sorted.sort_by_key(|p| {
            (
                completion_index(p),
                p.meta.creation_timestamp,
                p.meta.name.clone(),
            )
        });
        for p in sorted {
            match completion_index(p) {
                Some(i) if i < job.completions.unwrap_or(0) && seen.insert(i) => {
                    left.push(p.clone())
                }
                _ => rm.push(p.clone()),
            }
        }
    } else {
        left = pods.to_vec();
    }
    if rm.len() < at_least {
        let mut ranked: Vec<(RankedPod, Arc<Pod>)> = left
            .into_iter()
            .map(|p| (RankedPod::of(&p, 0), p))
            .collect();
        ranked.sort_by(|a, b| {
            compare(&a.0, &b.0, now).then_with(|| a.1.meta.name.cmp(&b.1.meta.name))
        });
        let need = at_least - rm.len();
        rm.extend(ranked.into_iter().take(need).map(|(_, p)| p));
    }
    rm
}

/// `firstPendingIndexes`: the lowest indexes neither succeeded nor held by an active pod.
fn first_pending_indexes(sc: &SyncCtx, count: usize) -> Vec<i32> {
    let completions = sc.job.completions.unwrap_or(0);
    let busy: BTreeSet<i32> = sc
        .active_pods
        .iter()
        .filter_map(|p| completion_index(p))
        .collect();
    (0..completions)
        .filter(|i| !sc.succeeded_indexes.contains(i) && !busy.contains(i))
        .take(count)
        .collect()
}

/// Parses `completedIndexes` (`"1,3-5"`), keeping indexes below `completions`.
pub fn parse_indexes(text: &str, completions: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|s| !s.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            out.extend((a..=b).filter(|i| *i < completions));
        }
    }
    out
}

/// `orderedIntervals.String()`: `"0-2,5,7-8"`.
pub fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(first) = it.next() {
        let mut last = first;
        while it.peek() == Some(&(last + 1)) {
            last = it.next().unwrap_or(last);
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    //! Cases of upstream `pkg/controller/job/job_controller_test.go` (`TestControllerSyncJob`,
    //! `TestSyncJobPastDeadline`, `TestJobBackoff*`) and `backoff_utils_test.go`, driven
    //! through a real controller manager; pod phases are set through the API as upstream's
    //! tests set them in the informer.
    use super::*;
    use crate::controllers::testkit::Kit;

    fn kit() -> Kit {
        let mut k = Kit::new(crate::controllers::testkit::upstream_test_config());
        k.add_node("n1", SimTime::ZERO, &[], vec![]);
        k
    }

    fn new_job(parallelism: i32, completions: Option<i32>) -> Job {
        let mut j = Job {
            parallelism,
            completions,
            backoff_limit: 6,
            ..Job::default()
        };
        j.meta.name = "foobar".into();
        j.meta.namespace = "default".into();
        j.template.spec.restart_policy = RestartPolicy::Never;
        j.template.labels.insert("foo".into(), "bar".into());
        j
    }

    fn create(k: &mut Kit, j: Job) {
        k.api.create_job(Caller::Operator, j).expect("job");
        k.settle();
    }

    fn job(k: &Kit) -> Arc<Job> {
        k.api.jobs()["default/foobar"].clone()
    }

    /// The Job's pods, by name.
    fn pods(k: &Kit) -> Vec<Arc<Pod>> {
        k.api
            .pods()
            .values()
            .filter(|p| job_of(p).as_deref() == Some("default/foobar"))
            .cloned()
            .collect()
    }

    fn active(k: &Kit) -> Vec<Arc<Pod>> {
        pods(k)
            .into_iter()
            .filter(|p| super::super::cache::is_active(p))
            .collect()
    }

    /// Binds and sets the phase of a pod (as the scheduler and kubelet would).
    fn set_phase(k: &mut Kit, p: &Pod, phase: PodPhase) {
        let now = k.api.now();
        k.api
            .update_pod(Caller::Operator, &p.key(), |x| {
                x.spec.node_name = Some("n1".into());
                x.status.phase = phase;
                let ready = if phase == PodPhase::Running {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                };
                x.set_condition(PodConditionType::Ready, ready, "", now);
            })
            .expect("pod");
        k.settle();
    }

    fn at(k: &mut Kit, secs: u64) {
        k.advance(SimTime::from_secs(secs));
    }

    #[test]
    fn sync_job_job_start() {
        let mut k = kit();
        create(&mut k, new_job(2, Some(5)));
        assert_eq!(k.records("SuccessfulCreate"), 2);
        at(&mut k, 2);
        let st = &job(&k).status;
        assert_eq!((st.active, st.succeeded, st.failed), (2, 0, 0));
        assert_eq!(st.start_time, Some(SimTime::ZERO));
        for p in pods(&k) {
            assert!(p
                .meta
                .finalizers
                .iter()
                .any(|f| f == JOB_TRACKING_FINALIZER));
            assert_eq!(p.meta.labels[LABEL_JOB_NAME], "foobar");
            assert!(p.meta.name.starts_with("foobar-"));
        }
    }

    #[test]
    fn sync_job_too_few_active_pods() {
        // parallelism 2, completions 5, one succeeded: one more pod, active 2, succeeded 1.
        let mut k = kit();
        create(&mut k, new_job(2, Some(5)));
        let p = pods(&k)[0].clone();
        at(&mut k, 5);
        set_phase(&mut k, &p, PodPhase::Succeeded);
        at(&mut k, 7);
        assert_eq!(k.records("SuccessfulCreate"), 3);
        let st = &job(&k).status;
        assert_eq!((st.active, st.succeeded, st.failed), (2, 1, 0));
        // Counted: the finalizer is gone and the pod is not listed as uncounted.
        assert!(k.pod(&p.meta.name).unwrap().meta.finalizers.is_empty());
        assert!(st.uncounted_succeeded.is_empty());
    }

    #[test]
    fn sync_job_too_many_active_pods() {
        // Parallelism lowered from 3 to 2: one pod deleted (pending before running).
        let mut k = kit();
        create(&mut k, new_job(3, Some(5)));
        let ps = pods(&k);
        set_phase(&mut k, &ps[0], PodPhase::Running);
        set_phase(&mut k, &ps[1], PodPhase::Running);
        at(&mut k, 5);
        k.api
            .update_job(Caller::Operator, "default/foobar", |j| j.parallelism = 2)
            .unwrap();
        k.settle();
        assert_eq!(k.records("SuccessfulDelete"), 1);
        assert_eq!(active(&k).len(), 2);
        assert!(
            k.pod(&ps[2].meta.name).is_none(),
            "the pending pod goes first"
        );
        at(&mut k, 7);
        assert_eq!(job(&k).status.active, 2);
    }

    #[test]
    fn sync_job_job_finish() {
        // completions 2: both pods succeed → SuccessCriteriaMet, then Complete, `Completed`.
        let mut k = kit();
        create(&mut k, new_job(2, Some(2)));
        at(&mut k, 5);
        for p in pods(&k) {
            set_phase(&mut k, &p, PodPhase::Succeeded);
        }
        at(&mut k, 7);
        let j = job(&k);
        assert_eq!((j.status.active, j.status.succeeded), (0, 2));
        let c = j.condition(JobConditionType::Complete).expect("Complete");
        assert_eq!(c.status, ConditionStatus::True);
        assert!(j.condition(JobConditionType::SuccessCriteriaMet).is_some());
        assert_eq!(j.status.completion_time, Some(SimTime::from_secs(6)));
        assert_eq!(k.records("Completed"), 1);
    }

    #[test]
    fn sync_job_wq_job_all_finished_despite_one_failure() {
        // completions unset, parallelism 2: one succeeds, one fails → complete, failed 1.
        let mut k = kit();
        create(&mut k, new_job(2, None));
        at(&mut k, 5);
        let ps = pods(&k);
        set_phase(&mut k, &ps[0], PodPhase::Succeeded);
        set_phase(&mut k, &ps[1], PodPhase::Failed);
        at(&mut k, 7);
        let j = job(&k);
        assert_eq!(
            (j.status.active, j.status.succeeded, j.status.failed),
            (0, 1, 1)
        );
        assert!(j.is_finished());
        assert_eq!(k.records("Completed"), 1);
        assert_eq!(
            k.records("SuccessfulCreate"),
            2,
            "no replacement once one succeeded"
        );
    }

    #[test]
    fn sync_job_past_deadline_active_deadline_seconds_less_than_single_pod_execution() {
        // activeDeadlineSeconds 10, one running pod: deleted at 10 s, DeadlineExceeded.
        let mut k = kit();
        let mut j = new_job(1, Some(1));
        j.active_deadline_seconds = Some(10);
        create(&mut k, j);
        let p = pods(&k)[0].clone();
        set_phase(&mut k, &p, PodPhase::Running);
        at(&mut k, 9);
        assert!(!job(&k).is_finished());
        at(&mut k, 10);
        assert_eq!(k.records("SuccessfulDelete"), 1);
        // The pod is Terminating (grace 30 s): FailureTarget now, Failed once it is gone.
        let j = job(&k);
        let t = j
            .condition(JobConditionType::FailureTarget)
            .expect("FailureTarget");
        assert_eq!(t.reason, "DeadlineExceeded");
        assert!(!j.is_finished());
        k.api
            .delete_pod(Caller::Operator, &p.key(), Some(0))
            .unwrap();
        k.settle();
        at(&mut k, 12);
        let j = job(&k);
        let f = j.finished_condition().expect("finished");
        assert_eq!(
            (f.type_, f.reason.as_str()),
            (JobConditionType::Failed, "DeadlineExceeded")
        );
        assert_eq!(f.message, "Job was active longer than specified deadline");
        assert_eq!((j.status.active, j.status.failed), (0, 1));
        assert_eq!(k.records("DeadlineExceeded"), 1);
    }

    #[test]
    fn job_backoff_limit_exceeded() {
        // backoffLimit 1: the second failure fails the Job; replacements wait 10 s, then 20 s.
        let mut k = kit();
        let mut j = new_job(1, Some(1));
        j.backoff_limit = 1;
        create(&mut k, j);
        at(&mut k, 5);
        let p = pods(&k)[0].clone();
        set_phase(&mut k, &p, PodPhase::Failed); // finished at 5 s (Ready=False)
        at(&mut k, 14);
        assert_eq!(k.records("SuccessfulCreate"), 1, "backoff 10 s from 5 s");
        at(&mut k, 15);
        assert_eq!(k.records("SuccessfulCreate"), 2);
        let p2 = active(&k)[0].clone();
        at(&mut k, 20);
        set_phase(&mut k, &p2, PodPhase::Failed);
        at(&mut k, 22);
        let j = job(&k);
        let f = j.finished_condition().expect("failed");
        assert_eq!(f.reason, "BackoffLimitExceeded");
        assert_eq!(f.message, "Job has reached the specified backoff limit");
        assert_eq!(j.status.failed, 2);
        assert_eq!(k.records("BackoffLimitExceeded"), 1);
    }

    #[test]
    fn backoff_remaining_time_doubles_and_caps() {
        // getRemainingTimeForFailuresCount: 10 s · 2^(n-1), capped at MaxJobPodFailureBackOff.
        let r = |n, last: u64, now: u64| {
            BackoffRecord {
                failures_after_last_success: n,
                last_failure_time: Some(SimTime::from_secs(last)),
            }
            .remaining(SimTime::from_secs(now))
        };
        assert_eq!(r(0, 0, 0), SimDuration::ZERO);
        assert_eq!(r(1, 0, 0), SimDuration::from_secs(10));
        assert_eq!(r(1, 0, 4), SimDuration::from_secs(6));
        assert_eq!(r(3, 0, 0), SimDuration::from_secs(40));
        assert_eq!(r(7, 0, 0), SimDuration::from_secs(600));
        assert_eq!(r(20, 100, 200), SimDuration::from_secs(500));
        assert_eq!(r(2, 0, 30), SimDuration::ZERO);
    }

    #[test]
    fn indexed_job_start_and_completed_indexes() {
        // "indexed job start": parallelism 2, completions 3 → indexes 0 and 1; then 2.
        let mut k = kit();
        let mut j = new_job(2, Some(3));
        j.indexed = true;
        create(&mut k, j);
        let mut ix: Vec<i32> = pods(&k)
            .iter()
            .filter_map(|p| completion_index(p))
            .collect();
        ix.sort();
        assert_eq!(ix, vec![0, 1]);
        for p in pods(&k) {
            let i = completion_index(&p).unwrap();
            assert_eq!(p.meta.labels[JOB_COMPLETION_INDEX], i.to_string());
            assert!(p.meta.name.starts_with(&format!("foobar-{i}-")));
        }
        at(&mut k, 5);
        let zero = pods(&k)
            .into_iter()
            .find(|p| completion_index(p) == Some(0))
            .unwrap();
        set_phase(&mut k, &zero, PodPhase::Succeeded);
        at(&mut k, 7);
        let two = active(&k)
            .into_iter()
            .find(|p| completion_index(p) == Some(2));
        assert!(two.is_some(), "index 2 created next");
        assert_eq!(job(&k).status.completed_indexes, "0");
        for p in active(&k) {
            set_phase(&mut k, &p, PodPhase::Succeeded);
        }
        at(&mut k, 9);
        let j = job(&k);
        assert_eq!(j.status.completed_indexes, "0-2");
        assert_eq!(j.status.succeeded, 3);
        assert!(j.condition(JobConditionType::Complete).is_some());
    }

    #[test]
    fn ttl_after_finished_deletes_the_job() {
        let mut k = kit();
        let mut j = new_job(1, Some(1));
        j.ttl_seconds_after_finished = Some(100);
        create(&mut k, j);
        at(&mut k, 5);
        let p = pods(&k)[0].clone();
        set_phase(&mut k, &p, PodPhase::Succeeded);
        at(&mut k, 7);
        let done = job(&k).finished_condition().unwrap().last_transition_time;
        assert_eq!(done, SimTime::from_secs(6));
        at(&mut k, 105);
        assert!(k.api.jobs().contains_key("default/foobar"));
        at(&mut k, 106);
        // Foreground: the garbage collector removes the pod, then the Job goes.
        assert!(!k.api.jobs().contains_key("default/foobar"));
        assert!(pods(&k).is_empty());
    }

    #[test]
    fn indexes_round_trip_as_intervals() {
        let s: BTreeSet<i32> = [0, 1, 2, 5, 7, 8].into();
        assert_eq!(format_indexes(&s), "0-2,5,7-8");
        assert_eq!(parse_indexes("0-2,5,7-8", 100), s);
        assert_eq!(parse_indexes("0-2,5,7-8", 6), [0, 1, 2, 5].into());
    }
}
