//! `policy/v1` PodDisruptionBudget as plain data, with the pure helpers the disruption
//! controller, the Eviction API and scheduler preemption share.
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks. Field names and condition
//! reasons are Kubernetes' own (`k8s.io/api/policy/v1/types.go`).

use std::collections::BTreeMap;

use super::meta::ObjectMeta;
use super::pod::Pod;
use super::selectors::LabelSelector;
use super::workloads::IntOrString;
use crate::sim::SimTime;

/// `spec.unhealthyPodEvictionPolicy` (nil behaves as `IfHealthyBudget`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnhealthyPodEvictionPolicy {
    #[default]
    IfHealthyBudget,
    AlwaysAllow,
}

impl UnhealthyPodEvictionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnhealthyPodEvictionPolicy::IfHealthyBudget => "IfHealthyBudget",
            UnhealthyPodEvictionPolicy::AlwaysAllow => "AlwaysAllow",
        }
    }
}

/// The `DisruptionAllowed` condition (`policy.DisruptionAllowedCondition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbCondition {
    pub status: bool,
    /// `SufficientPods`, `InsufficientPods` or `SyncFailed`.
    pub reason: String,
    pub message: String,
    pub observed_generation: i64,
}

pub const REASON_SUFFICIENT_PODS: &str = "SufficientPods";
pub const REASON_INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const REASON_SYNC_FAILED: &str = "SyncFailed";

/// `PodDisruptionBudgetStatus`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PdbStatus {
    pub observed_generation: i64,
    /// Pods the Eviction API approved but the controller has not yet seen deleted, by pod
    /// name, with the time of approval.
    pub disrupted_pods: BTreeMap<String, SimTime>,
    pub disruptions_allowed: i32,
    pub current_healthy: i32,
    pub desired_healthy: i32,
    pub expected_pods: i32,
    pub condition: Option<PdbCondition>,
}

/// `policy/v1` PodDisruptionBudget.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodDisruptionBudget {
    pub meta: ObjectMeta,
    pub min_available: Option<IntOrString>,
    pub max_unavailable: Option<IntOrString>,
    /// `None` (or an empty selector) selects no pod in policy/v1 for the Eviction API.
    pub selector: Option<LabelSelector>,
    pub unhealthy_pod_eviction_policy: Option<UnhealthyPodEvictionPolicy>,
    pub status: PdbStatus,
}

impl PodDisruptionBudget {
    pub fn key(&self) -> String {
        super::meta::pod_key(&self.meta.namespace, &self.meta.name)
    }

    /// Whether the budget covers `pod`: same namespace, and a non-empty selector that matches
    /// its labels (`getPodDisruptionBudgets` in eviction.go: "a PDB with a nil or empty
    /// selector … should match nothing, not everything").
    pub fn selects(&self, pod: &Pod) -> bool {
        pod.meta.namespace == self.meta.namespace
            && self.selector.as_ref().is_some_and(|s| {
                !(s.match_labels.is_empty() && s.match_expressions.is_empty())
                    && s.matches(&pod.meta.labels)
            })
    }
}

/// `pdbhelper.UpdateDisruptionAllowedCondition`: True/`SufficientPods` while disruptions are
/// allowed, else False/`InsufficientPods`; a `SyncFailed` condition stays until a sync succeeds.
pub fn disruption_allowed_condition(status: &PdbStatus) -> PdbCondition {
    let allowed = status.disruptions_allowed > 0;
    PdbCondition {
        status: allowed,
        reason: if allowed {
            REASON_SUFFICIENT_PODS
        } else {
            REASON_INSUFFICIENT_PODS
        }
        .to_string(),
        message: String::new(),
        observed_generation: status.observed_generation,
    }
}
