//! The API server's `batch/v1` resources: Jobs (with the generated selector and labels of
//! `pkg/registry/batch/job/strategy.go` `generateSelector`) and CronJobs.
//!
//! Invariant: as for every kind, only these methods write the stored objects, and every write
//! bumps the resourceVersion and notifies the controller manager.

use std::sync::Arc;

use super::{finalizer_for, ApiError, ApiServer, Change, Deletion, Watcher};
use crate::model::*;
use crate::network::Caller;

impl ApiServer {
    pub fn jobs(&self) -> &std::collections::BTreeMap<String, Arc<Job>> {
        &self.jobs
    }

    pub fn cronjobs(&self) -> &std::collections::BTreeMap<String, Arc<CronJob>> {
        &self.cronjobs
    }

    /// POST a Job: uid, creation time, generation 1 and, unless `manualSelector`, the
    /// `controller-uid` selector and the job-name / controller-uid template labels.
    pub fn create_job(&mut self, caller: Caller, mut j: Job) -> Result<Arc<Job>, ApiError> {
        self.check(caller)?;
        let key = j.key();
        if self.jobs.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("Job/{key}")));
        }
        j.meta.uid = self.next_uid;
        self.next_uid += 1;
        if !j.manual_selector {
            generate_selector(&mut j);
        }
        j.meta.creation_timestamp = self.now;
        j.meta.generation = 1;
        j.meta.resource_version = self.next_rv();
        let j = Arc::new(j);
        self.jobs.insert(key, j.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Job(j.clone())));
        Ok(j)
    }

    /// PUT a Job (spec, metadata or status); `metadata.generation` follows spec changes.
    pub fn update_job(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Job),
    ) -> Result<Arc<Job>, ApiError> {
        self.check(caller)?;
        let old = self
            .jobs
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Job/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        if new == *old {
            return Ok(old);
        }
        let spec_changed = new.parallelism != old.parallelism
            || new.completions != old.completions
            || new.suspend != old.suspend
            || new.active_deadline_seconds != old.active_deadline_seconds
            || new.template != old.template;
        if spec_changed {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.jobs.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Job(new.clone())));
        Ok(new)
    }

    /// DELETE a Job with a propagation policy (the garbage collector cascades to its pods).
    pub fn delete_job(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.check(caller)?;
        let j = self
            .jobs
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Job/{key}")))?;
        if j.meta.deletion_timestamp.is_some() {
            return Ok(Deletion::Terminating);
        }
        match finalizer_for(policy) {
            None if j.meta.finalizers.is_empty() => {
                self.remove_job(key);
                Ok(Deletion::Removed)
            }
            f => {
                let now = self.now;
                self.update_job(caller, key, |x| {
                    x.meta.deletion_timestamp = Some(now);
                    if let Some(f) = f {
                        if !x.meta.finalizers.iter().any(|y| y == f) {
                            x.meta.finalizers.push(f.to_string());
                        }
                    }
                })?;
                Ok(Deletion::Terminating)
            }
        }
    }

    fn remove_job(&mut self, key: &str) {
        if let Some(j) = self.jobs.remove(key) {
            self.next_rv();
            self.outbox
                .push((Watcher::ControllerManager, Change::JobDeleted(j)));
        }
    }

    /// Removes a finalizer from a Job, which goes with its last one when it is being deleted.
    pub fn remove_job_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        let j = self.update_job(caller, key, |x| {
            x.meta.finalizers.retain(|f| f != finalizer)
        })?;
        if j.meta.deletion_timestamp.is_some() && j.meta.finalizers.is_empty() {
            self.remove_job(key);
        }
        Ok(())
    }

    pub fn create_cronjob(
        &mut self,
        caller: Caller,
        mut c: CronJob,
    ) -> Result<Arc<CronJob>, ApiError> {
        self.check(caller)?;
        let key = c.key();
        if self.cronjobs.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("CronJob/{key}")));
        }
        c.meta.uid = self.next_uid;
        self.next_uid += 1;
        c.meta.creation_timestamp = self.now;
        c.meta.generation = 1;
        c.meta.resource_version = self.next_rv();
        let c = Arc::new(c);
        self.cronjobs.insert(key, c.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::CronJob(c.clone())));
        Ok(c)
    }

    pub fn update_cronjob(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut CronJob),
    ) -> Result<Arc<CronJob>, ApiError> {
        self.check(caller)?;
        let old = self
            .cronjobs
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("CronJob/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        if new == *old {
            return Ok(old);
        }
        if new.schedule != old.schedule
            || new.suspend != old.suspend
            || new.job_template != old.job_template
        {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.cronjobs.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::CronJob(new.clone())));
        Ok(new)
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
