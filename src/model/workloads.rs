//! Workload objects: pod templates, ReplicaSets (and ReplicationControllers), StatefulSets
//! with ControllerRevisions, DaemonSets and Deployments, with their update strategies and
//! statuses.
//!
//! Invariant: plain data plus pure helpers; a workload refers to its pods only through its
//! selector and their owner references.

use std::collections::BTreeMap;

use super::meta::{pod_key, ConditionStatus, ObjectMeta};
use super::pod::PodSpec;
use super::selectors::LabelSelector;
use crate::sim::SimTime;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTemplate {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: PodSpec,
}

/// A ReplicaSet, or a `v1` ReplicationController (the same controller runs both, as upstream's
/// ReplicationManager wraps the ReplicaSet controller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplicaSetKind {
    #[default]
    ReplicaSet,
    ReplicationController,
}

impl ReplicaSetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaSetKind::ReplicaSet => "ReplicaSet",
            ReplicaSetKind::ReplicationController => "ReplicationController",
        }
    }
    /// The key of the object named `namespace/name` of this kind: ReplicationControllers are
    /// keyed `rc:namespace/name`, so that a ReplicaSet of the same name is another object.
    pub fn key(self, namespace: &str, name: &str) -> String {
        match self {
            ReplicaSetKind::ReplicaSet => pod_key(namespace, name),
            ReplicaSetKind::ReplicationController => format!("rc:{}", pod_key(namespace, name)),
        }
    }
    pub fn from_owner_kind(kind: &str) -> Option<ReplicaSetKind> {
        match kind {
            "ReplicaSet" => Some(ReplicaSetKind::ReplicaSet),
            "ReplicationController" => Some(ReplicaSetKind::ReplicationController),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSet {
    pub kind: ReplicaSetKind,
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub min_ready_seconds: i32,
    pub status: ReplicaSetStatus,
}

/// `ReplicaSetStatus`, written by the ReplicaSet controller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
}

/// `apps/v1` StatefulSet: pod management, stable names, revisions and update strategies (no
/// volume claims).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSet {
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub service_name: String,
    /// `Parallel` (else `OrderedReady`, the default).
    pub parallel: bool,
    pub min_ready_seconds: i32,
    pub update_strategy: StatefulSetUpdateStrategy,
    /// `spec.revisionHistoryLimit` (default 10).
    pub revision_history_limit: i32,
    /// The set's ControllerRevisions, oldest revision number first. kubesim keeps them on the
    /// set (written only by the StatefulSet controller) instead of as separate objects; they
    /// hold what upstream's do: a name `<set>-<hash>`, a revision number and the pod template.
    pub history: Vec<ControllerRevision>,
    pub status: StatefulSetStatus,
}

impl StatefulSet {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

/// `apps/v1` ControllerRevision as the StatefulSet controller uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerRevision {
    pub name: String,
    pub revision: i64,
    pub template: PodTemplate,
}

/// `spec.updateStrategy` of a StatefulSet (`SetDefaults_StatefulSet`: RollingUpdate with
/// partition 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatefulSetUpdateStrategy {
    /// Pods with ordinal ≥ `partition` are replaced, highest ordinal first. `maxUnavailable`
    /// needs the MaxUnavailableStatefulSet gate, alpha (off) in every version kubesim
    /// reproduces: it is validated and kept, and the update goes one pod at a time.
    RollingUpdate {
        partition: i32,
        max_unavailable: Option<IntOrString>,
    },
    /// Pods are only replaced once something else deletes them.
    OnDelete,
}

impl Default for StatefulSetUpdateStrategy {
    fn default() -> Self {
        StatefulSetUpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
    pub current_revision: String,
    pub update_revision: String,
    pub observed_generation: i64,
}

/// `apps/v1` DaemonSet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSet {
    pub meta: ObjectMeta,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub min_ready_seconds: i32,
    pub update_strategy: DaemonSetUpdateStrategy,
    pub status: DaemonSetStatus,
}

impl DaemonSet {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

/// `spec.updateStrategy` of a DaemonSet (`SetDefaults_DaemonSet`: RollingUpdate with
/// maxUnavailable 1 and maxSurge 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonSetUpdateStrategy {
    RollingUpdate {
        max_unavailable: IntOrString,
        max_surge: IntOrString,
    },
    /// Old pods are replaced only once something else deletes them.
    OnDelete,
}

impl Default for DaemonSetUpdateStrategy {
    fn default() -> Self {
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrString::Int(1),
            max_surge: IntOrString::Int(0),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSetStatus {
    pub desired_number_scheduled: i32,
    pub current_number_scheduled: i32,
    pub updated_number_scheduled: i32,
    pub number_misscheduled: i32,
    pub number_ready: i32,
    pub number_available: i32,
    pub number_unavailable: i32,
    pub observed_generation: i64,
}

/// `intstr.IntOrString` as `maxSurge`/`maxUnavailable` take it: an integer or a percentage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrString {
    Int(i32),
    Str(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    Recreate,
    /// `nil` fields are resolved as 0 by `ResolveFenceposts` (the API server defaults both to
    /// 25% before that).
    RollingUpdate {
        max_surge: Option<IntOrString>,
        max_unavailable: Option<IntOrString>,
    },
}

impl Default for DeploymentStrategy {
    fn default() -> Self {
        DeploymentStrategy::RollingUpdate {
            max_surge: Some(IntOrString::Str("25%".into())),
            max_unavailable: Some(IntOrString::Str("25%".into())),
        }
    }
}

/// `apps/v1` Deployment with the defaults of `SetDefaults_Deployment` applied at input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub strategy: DeploymentStrategy,
    pub min_ready_seconds: i32,
    /// `None`: keep every old ReplicaSet (the apps/v1 default is 10).
    pub revision_history_limit: Option<i32>,
    /// `None` or `i32::MAX`: no deadline (the apps/v1 default is 600).
    pub progress_deadline_seconds: Option<i32>,
    pub paused: bool,
    pub status: DeploymentStatus,
}

impl Deployment {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub observed_generation: i64,
    pub replicas: i32,
    pub updated_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub unavailable_replicas: i32,
    pub conditions: Vec<DeploymentCondition>,
    pub collision_count: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentCondition {
    /// `Available`, `Progressing` or `ReplicaFailure`.
    pub type_: String,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
    pub last_update_time: SimTime,
    pub last_transition_time: SimTime,
}

impl ReplicaSet {
    pub fn key(&self) -> String {
        self.kind.key(&self.meta.namespace, &self.meta.name)
    }
    /// `Kind/namespace/name`, as records name objects.
    pub fn object_ref(&self) -> String {
        format!(
            "{}/{}",
            self.kind.as_str(),
            pod_key(&self.meta.namespace, &self.meta.name)
        )
    }
}
