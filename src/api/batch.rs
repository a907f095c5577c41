//! The API server's `batch/v1` resources: Jobs (with the generated selector and labels of
//! `pkg/registry/batch/job/strategy.go` `generateSelector`) and CronJobs.
//!
//! Invariant: Jobs and CronJobs are written only through the generic store ([`super::store`]);
//! every write bumps the resourceVersion and notifies the controller manager only.

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Write, CM};
use super::{ApiError, ApiServer, Change, Deletion, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;

impl ApiObject for Job {
    const KIND: &'static str = "Job";
    const HAS_GENERATION: bool = true;
    stored_in!(jobs);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
        new.parallelism != old.parallelism
            || new.completions != old.completions
            || new.suspend != old.suspend
            || new.active_deadline_seconds != old.active_deadline_seconds
            || new.template != old.template
    }
    /// Unless `manualSelector`, the `controller-uid` selector and template labels.
    fn on_create(&mut self) {
        if !self.manual_selector {
            generate_selector(self);
        }
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::JobDeleted(obj),
            _ => Change::Job(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiObject for CronJob {
    const KIND: &'static str = "CronJob";
    const HAS_GENERATION: bool = true;
    stored_in!(cronjobs);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
        new.schedule != old.schedule
            || new.suspend != old.suspend
            || new.job_template != old.job_template
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::CronJobDeleted(obj),
            _ => Change::CronJob(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiServer {
    pub fn jobs(&self) -> &NameMap<Arc<Job>> {
        self.jobs.map()
    }

    pub fn cronjobs(&self) -> &NameMap<Arc<CronJob>> {
        self.cronjobs.map()
    }

    /// POST a Job: uid, creation time, generation 1 and, unless `manualSelector`, the
    /// `controller-uid` selector and the job-name / controller-uid template labels.
    pub fn create_job(&mut self, caller: Caller, j: Job) -> Result<Arc<Job>, ApiError> {
        self.create_object(caller, j, |_, _| Ok(()))
    }

    /// PUT a Job (spec, metadata or status); `metadata.generation` follows spec changes.
    pub fn update_job(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Job),
    ) -> Result<Arc<Job>, ApiError> {
        self.update_object(caller, key, mutate)
    }

    /// DELETE a Job with a propagation policy (the garbage collector cascades to its pods).
    pub fn delete_job(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.delete_propagated::<Job>(caller, key, policy)
    }

    /// Removes a finalizer from a Job, which goes with its last one when it is being deleted.
    pub fn remove_job_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        self.remove_finalizer::<Job>(caller, key, finalizer)
    }

    pub fn create_cronjob(&mut self, caller: Caller, c: CronJob) -> Result<Arc<CronJob>, ApiError> {
        self.create_object(caller, c, |_, _| Ok(()))
    }

    pub fn update_cronjob(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut CronJob),
    ) -> Result<Arc<CronJob>, ApiError> {
        self.update_object(caller, key, mutate)
    }
}

/// `generateSelector`: the selector `batch.kubernetes.io/controller-uid=<uid>` and the
/// template labels `batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name` and
/// their legacy spellings `controller-uid`, `job-name`.
fn generate_selector(j: &mut Job) {
    let uid = job_uid_text(j.meta.uid);
    let labels = &mut j.template.labels;
    for (k, v) in [
        (LABEL_CONTROLLER_UID, uid.clone()),
        (LABEL_JOB_NAME, j.meta.name.clone()),
        (LEGACY_LABEL_CONTROLLER_UID, uid.clone()),
        (LEGACY_LABEL_JOB_NAME, j.meta.name.clone()),
    ] {
        labels.entry(k.to_string()).or_insert(v);
    }
    j.selector = LabelSelector {
        match_labels: [(LABEL_CONTROLLER_UID.to_string(), uid)].into(),
        match_expressions: Vec::new(),
    };
}

/// kubesim's uids are counters; they are shown as the label value.
pub fn job_uid_text(uid: u64) -> String {
    format!("{uid}")
}
