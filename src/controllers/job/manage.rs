//! `manageJob`: deletes surplus active pods or creates the missing ones (after the pod
//! failure backoff), at most `MaxPodCreateDeletePerSync` per sync, in slow-start batches.
//!
//! Upstream: `pkg/controller/job/job_controller.go` (`manageJob`, `deleteJobPods`,
//! `deleteActivePods`, `activePodsForRemoval`) and the pod template of `podControl`.
//!
//! Invariant: every creation and deletion is an API request, and each created pod is
//! recorded as expected until the cache sees it.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::indexed::{completion_index, first_pending_indexes};
use super::status::{record, remove_finalizer};
use super::{only_replace_failed_pods, JobController, SyncCtx, SYNC_JOB_BATCH_PERIOD};
use crate::api::{ApiError, ApiServer, Verb};
use crate::controllers::clients::{self, ControllerClients};
use crate::controllers::podranking::{compare, slow_start_batch, RankedPod};
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Ctx, SimDuration, SimTime};

/// `MaxPodCreateDeletePerSync`.
const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// The apiserver's `generateName` suffix alphabet.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl JobController {
    /// `manageJob`: delete surplus pods, or create the missing ones (after the backoff).
    /// Returns the new active count.
    pub(super) fn manage_job(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
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
        // Each creation waits for the `job-controller` client's token; one that cannot go now
        // is deferred, with a placeholder among the expected creations until it is sent.
        let created = slow_start_batch(diff, 1, || {
            let ix = it.next();
            match clients.admit(ctx.now(), clients::JOB, api, Verb::Create) {
                None => self.create_pod(ctx, api, &job, ix),
                Some(at) => {
                    let placeholder = format!("\u{0}deferred-{}", self.deferred_seq);
                    self.deferred_seq += 1;
                    self.expected_creates
                        .entry(job.key())
                        .or_default()
                        .insert(placeholder.clone());
                    let j = Arc::clone(&job);
                    let write: clients::Write = Box::new(move |cm, ctx, api| {
                        cm.job.create_deferred(ctx, api, &j, ix, &placeholder)
                    });
                    clients.defer(ctx, clients::JOB, at, write);
                    true
                }
            }
        });
        active + created as i32
    }

    /// A creation whose client token has come: its placeholder leaves the expectations.
    fn create_deferred(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        job: &Job,
        index: Option<i32>,
        placeholder: &str,
    ) {
        let key = job.key();
        if let Some(set) = self.expected_creates.get_mut(&key) {
            set.remove(placeholder);
            if set.is_empty() {
                self.expected_creates.remove(&key);
            }
        }
        if !self.create_pod(ctx, api, job, index) {
            self.enqueue_after(ctx, &key, SYNC_JOB_BATCH_PERIOD);
        }
    }

    pub(super) fn create_pod(
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
    pub(super) fn pod_from_template(&mut self, job: &Job, index: Option<i32>, prefix: &str) -> Pod {
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
    pub(super) fn delete_job_pods(
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
            if p.is_ready() {
                out.0 += 1;
            }
        }
        out
    }

    /// `deleteActivePods`: DELETE keeping the finalizers (the pods are counted as failed).
    pub(super) fn delete_active_pods(
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
            if p.is_ready() {
                out.0 += 1;
            }
        }
        out
    }

    pub(super) fn delete_one(
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
}

/// index, then the rest in `controller.ActivePods` order (unassigned, pending, not ready,
/// recently ready, newer first).
pub(super) fn pods_for_removal(
    job: &Job,
    pods: &[Arc<Pod>],
    at_least: usize,
    now: SimTime,
) -> Vec<Arc<Pod>> {
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
