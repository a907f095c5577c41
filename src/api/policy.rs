//! The API server's `policy/v1` side: the PodDisruptionBudget store and the `pods/eviction`
//! subresource (upstream `pkg/registry/core/pod/storage/eviction.go`, `EvictionREST.Create`).
//!
//! Invariant: an eviction either changes nothing and returns an error (429 when a budget
//! denies it), or decrements the one matching budget's `disruptionsAllowed`, records the pod in
//! `status.disruptedPods`, marks the pod `DisruptionTarget` and deletes it gracefully — all in
//! one request, so no other request can interleave (upstream's optimistic-concurrency retries
//! never fail in a single-threaded store).

use std::sync::Arc;

use super::{ApiError, ApiServer, Change, Deletion, Watcher};
use crate::model::*;
use crate::network::Caller;

/// The 429 message of a denied eviction (`createTooManyRequestsError`, `checkAndDecrement`).
pub const EVICTION_DENIED_MESSAGE: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// `MaxDisruptedPodSize`: evictions approved but not yet confirmed by the disruption
/// controller beyond this many are refused.
pub const MAX_DISRUPTED_POD_SIZE: usize = 2000;

/// `podutil.IsPodReady`.
fn pod_ready(p: &Pod) -> bool {
    p.condition(PodConditionType::Ready)
        .is_some_and(|c| c.status == ConditionStatus::True)
}

/// `canIgnorePDB`: a terminal, pending or already terminating pod is deleted without
/// consulting any budget (it is not counted as healthy anyway).
fn can_ignore_pdb(p: &Pod) -> bool {
    matches!(
        p.status.phase,
        PodPhase::Succeeded | PodPhase::Failed | PodPhase::Pending
    ) || p.is_terminating()
}

impl ApiServer {
    pub fn pdbs(&self) -> &BTreeMapPdb {
        &self.pdbs
    }

    /// POST a PodDisruptionBudget (generation 1, empty status: `observedGeneration` 0 < 1, so
    /// the Eviction API answers 429 until the disruption controller has processed it).
    pub fn create_pdb(
        &mut self,
        caller: Caller,
        mut pdb: PodDisruptionBudget,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.check(caller)?;
        let key = pdb.key();
        if self.pdbs.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!(
                "PodDisruptionBudget/{key}"
            )));
        }
        pdb.meta.uid = self.next_uid;
        self.next_uid += 1;
        pdb.meta.creation_timestamp = self.now;
        pdb.meta.generation = 1;
        pdb.meta.resource_version = self.next_rv();
        pdb.status = PdbStatus::default();
        let pdb = Arc::new(pdb);
        self.pdbs.insert(key, pdb.clone());
        self.notify_pdb(Change::PodDisruptionBudget(pdb.clone()));
        Ok(pdb)
    }

    /// PUT the `status` subresource of a PodDisruptionBudget. A write that changes nothing
    /// writes nothing.
    pub fn update_pdb_status(
        &mut self,
        caller: Caller,
        key: &str,
        status: PdbStatus,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.check(caller)?;
        let old = self
            .pdbs
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("PodDisruptionBudget/{key}")))?;
        if old.status == status {
            return Ok(old);
        }
        let mut new = (*old).clone();
        new.status = status;
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.pdbs.insert(key.to_string(), new.clone());
        self.notify_pdb(Change::PodDisruptionBudget(new.clone()));
        Ok(new)
    }

    /// DELETE a PodDisruptionBudget (no finalizers: it goes at once).
    pub fn delete_pdb(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let pdb = self
            .pdbs
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(format!("PodDisruptionBudget/{key}")))?;
        self.next_rv();
        self.notify_pdb(Change::PodDisruptionBudgetDeleted(pdb));
        Ok(())
    }

    fn notify_pdb(&mut self, change: Change) {
        self.outbox
            .push((Watcher::ControllerManager, change.clone()));
        // The scheduler's preemption counts budget violations.
        self.outbox.push((Watcher::Scheduler, change));
    }

    /// The budgets covering `pod`, in key order (`getPodDisruptionBudgets`).
    pub fn pdbs_for_pod(&self, pod: &Pod) -> Vec<Arc<PodDisruptionBudget>> {
        let ns = &pod.meta.namespace;
        self.pdbs
            .range(format!("{ns}/")..)
            .take_while(|(k, _)| k.starts_with(&format!("{ns}/")))
            .filter(|(_, b)| b.selects(pod))
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// POST `pods/{name}/eviction` (`EvictionREST.Create`). `grace` is the eviction's
    /// `deleteOptions.gracePeriodSeconds` (None: the pod's own).
    pub fn evict_pod(
        &mut self,
        caller: Caller,
        key: &str,
        grace: Option<u64>,
    ) -> Result<Deletion, ApiError> {
        self.check(caller)?;
        let pod = self
            .pods
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Pod/{key}")))?;
        if !can_ignore_pdb(&pod) {
            let pdbs = self.pdbs_for_pod(&pod);
            if pdbs.len() > 1 {
                return Err(ApiError::InternalError(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
                ));
            }
            if let Some(pdb) = pdbs.first() {
                if !unhealthy_pod_may_go(&pod, pdb) {
                    self.check_and_decrement(caller, &pod, pdb)?;
                }
            }
        }
        self.add_condition_and_delete_pod(caller, key, grace)
    }

    /// `checkAndDecrement`: refuse while the budget is unprocessed, negative, overfull or at
    /// zero; otherwise take one disruption and remember the pod in `disruptedPods`.
    fn check_and_decrement(
        &mut self,
        caller: Caller,
        pod: &Pod,
        pdb: &PodDisruptionBudget,
    ) -> Result<(), ApiError> {
        let name = &pdb.meta.name;
        let s = &pdb.status;
        if s.observed_generation < pdb.meta.generation {
            return Err(ApiError::TooManyRequests {
                message: EVICTION_DENIED_MESSAGE.into(),
                cause: format!(
                    "The disruption budget {name} is still being processed by the server."
                ),
            });
        }
        let forbidden = |why: &str| {
            ApiError::Forbidden(format!(
                "poddisruptionbudgets.policy \"{name}\" is forbidden: {why}"
            ))
        };
        if s.disruptions_allowed < 0 {
            return Err(forbidden("pdb disruptions allowed is negative"));
        }
        if s.disrupted_pods.len() > MAX_DISRUPTED_POD_SIZE {
            return Err(forbidden(
                "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            ));
        }
        if s.disruptions_allowed == 0 {
            return Err(ApiError::TooManyRequests {
                message: EVICTION_DENIED_MESSAGE.into(),
                cause: format!(
                    "The disruption budget {name} needs {} healthy pods and has {} currently",
                    s.desired_healthy, s.current_healthy
                ),
            });
        }
        let mut status = s.clone();
        status.disruptions_allowed -= 1;
        if status.disruptions_allowed == 0 {
            status.condition = Some(disruption_allowed_condition(&status));
        }
        status
            .disrupted_pods
            .insert(pod.meta.name.clone(), self.now);
        self.update_pdb_status(caller, &pdb.key(), status)?;
        Ok(())
    }

    /// `addConditionAndDeletePod`: `DisruptionTarget=True` (reason `EvictionByEvictionAPI`),
    /// then a graceful DELETE.
    fn add_condition_and_delete_pod(
        &mut self,
        caller: Caller,
        key: &str,
        grace: Option<u64>,
    ) -> Result<Deletion, ApiError> {
        let now = self.now;
        self.update_pod(caller, key, |p| {
            p.set_condition(
                PodConditionType::DisruptionTarget,
                ConditionStatus::True,
                "EvictionByEvictionAPI",
                now,
            )
        })?;
        self.delete_pod(caller, key, grace)
    }
}

type BTreeMapPdb = std::collections::BTreeMap<String, Arc<PodDisruptionBudget>>;

/// An unready pod is evicted without taking a disruption when the budget's
/// `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or (nil / `IfHealthyBudget`) when the budget
/// is currently met: `currentHealthy >= desiredHealthy > 0`.
fn unhealthy_pod_may_go(pod: &Pod, pdb: &PodDisruptionBudget) -> bool {
    if pod_ready(pod) {
        return false;
    }
    if pdb.unhealthy_pod_eviction_policy == Some(UnhealthyPodEvictionPolicy::AlwaysAllow) {
        return true;
    }
    pdb.status.current_healthy >= pdb.status.desired_healthy && pdb.status.desired_healthy > 0
}
