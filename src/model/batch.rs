//! `batch/v1` Job and CronJob, as plain data with Kubernetes' defaults already applied.
//!
//! Upstream: `k8s.io/api/batch/v1/types.go` (field meanings), `pkg/apis/batch/v1/defaults.go`
//! (`SetDefaults_Job`, `SetDefaults_CronJob`), `pkg/registry/batch/job/strategy.go`
//! (`generateSelector`: the controller-uid selector and labels).
//!
//! Invariant: data and pure helpers only.

use super::meta::{pod_key, ConditionStatus, ObjectMeta};
use super::selectors::LabelSelector;
use super::workloads::PodTemplate;
use crate::sim::SimTime;

/// `batch.kubernetes.io/job-name`, set on the Job's pod template by the API server.
pub const LABEL_JOB_NAME: &str = "batch.kubernetes.io/job-name";
/// `batch.kubernetes.io/controller-uid`, the generated selector's key.
pub const LABEL_CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
/// The legacy spellings the API server still adds (`job-name`, `controller-uid`).
pub const LEGACY_LABEL_JOB_NAME: &str = "job-name";
pub const LEGACY_LABEL_CONTROLLER_UID: &str = "controller-uid";
/// `batch.kubernetes.io/job-completion-index` (annotation, and label with `PodIndexLabel`).
pub const JOB_COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// `batch.kubernetes.io/job-tracking`: the finalizer the Job controller puts on its pods and
/// removes once it has counted them.
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// `batch.kubernetes.io/cronjob-scheduled-timestamp` (annotation on Jobs a CronJob creates).
pub const CRONJOB_SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// `spec.podReplacementPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodReplacementPolicy {
    /// Replace a pod once it is terminating or failed (the default without a pod failure
    /// policy).
    #[default]
    TerminatingOrFailed,
    /// Replace a pod only once it has reached phase Failed.
    Failed,
}

/// `spec.podFailurePolicy.rules[].action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodFailurePolicyAction {
    FailJob,
    Ignore,
    Count,
    FailIndex,
}

impl PodFailurePolicyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PodFailurePolicyAction::FailJob => "FailJob",
            PodFailurePolicyAction::Ignore => "Ignore",
            PodFailurePolicyAction::Count => "Count",
            PodFailurePolicyAction::FailIndex => "FailIndex",
        }
    }
}

/// `onExitCodes`: `In` or `NotIn` a set of exit codes, optionally for one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnExitCodes {
    pub container_name: Option<String>,
    /// `In` (true) or `NotIn` (false).
    pub in_: bool,
    pub values: Vec<i32>,
}

/// `onPodConditions[]`: a pod condition type with a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnPodCondition {
    pub type_: String,
    pub status: ConditionStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyRule {
    pub action: PodFailurePolicyAction,
    pub on_exit_codes: Option<OnExitCodes>,
    pub on_pod_conditions: Vec<OnPodCondition>,
}

/// `batch/v1` Job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Job {
    pub meta: ObjectMeta,
    /// Defaulted to 1.
    pub parallelism: i32,
    /// `None`: a work-queue Job (done when any pod succeeds and none is active).
    pub completions: Option<i32>,
    pub active_deadline_seconds: Option<i64>,
    /// Defaulted to 6.
    pub backoff_limit: i32,
    /// `completionMode: Indexed`.
    pub indexed: bool,
    pub ttl_seconds_after_finished: Option<i32>,
    pub suspend: bool,
    /// The generated `batch.kubernetes.io/controller-uid` selector (filled in by the API
    /// server), or the user's with `manualSelector: true`.
    pub selector: LabelSelector,
    pub manual_selector: bool,
    pub template: PodTemplate,
    pub pod_failure_policy: Option<Vec<PodFailurePolicyRule>>,
    pub pod_replacement_policy: PodReplacementPolicy,
    pub status: JobStatus,
}

impl Job {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    pub fn object_ref(&self) -> String {
        format!("Job/{}", self.key())
    }
    pub fn condition(&self, t: JobConditionType) -> Option<&JobCondition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
    /// `IsJobFinished`: a Complete or Failed condition that is True.
    pub fn is_finished(&self) -> bool {
        self.finished_condition().is_some()
    }
    pub fn finished_condition(&self) -> Option<&JobCondition> {
        self.status.conditions.iter().find(|c| {
            matches!(
                c.type_,
                JobConditionType::Complete | JobConditionType::Failed
            ) && c.status == ConditionStatus::True
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobConditionType {
    Suspended,
    Complete,
    Failed,
    FailureTarget,
    SuccessCriteriaMet,
}

impl JobConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobConditionType::Suspended => "Suspended",
            JobConditionType::Complete => "Complete",
            JobConditionType::Failed => "Failed",
            JobConditionType::FailureTarget => "FailureTarget",
            JobConditionType::SuccessCriteriaMet => "SuccessCriteriaMet",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCondition {
    pub type_: JobConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
    pub last_transition_time: SimTime,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobStatus {
    pub start_time: Option<SimTime>,
    pub completion_time: Option<SimTime>,
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub ready: i32,
    pub terminating: i32,
    /// `completedIndexes` in the upstream interval syntax (`"0-2,5"`).
    pub completed_indexes: String,
    pub conditions: Vec<JobCondition>,
    /// `uncountedTerminatedPods`: UIDs of finished pods whose tracking finalizer is being
    /// removed (counted once it is gone).
    pub uncounted_succeeded: Vec<u64>,
    pub uncounted_failed: Vec<u64>,
}

/// `spec.concurrencyPolicy` of a CronJob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    #[default]
    Allow,
    Forbid,
    Replace,
}

/// `batch/v1` CronJob. The schedule is kept as written and parsed by the controller
/// (validated at load time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CronJob {
    pub meta: ObjectMeta,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub starting_deadline_seconds: Option<i64>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub suspend: bool,
    /// Defaulted to 3 and 1.
    pub successful_jobs_history_limit: i32,
    pub failed_jobs_history_limit: i32,
    /// `spec.jobTemplate`: its labels and annotations, and the Job it stamps out.
    pub job_labels: std::collections::BTreeMap<String, String>,
    pub job_annotations: std::collections::BTreeMap<String, String>,
    pub job_template: Box<Job>,
    pub status: CronJobStatus,
}

impl CronJob {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    pub fn object_ref(&self) -> String {
        format!("CronJob/{}", self.key())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CronJobStatus {
    /// Names of the Jobs it runs (`status.active` object references).
    pub active: Vec<String>,
    pub last_schedule_time: Option<SimTime>,
    pub last_successful_time: Option<SimTime>,
}
