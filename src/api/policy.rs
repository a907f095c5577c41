//! The API server's `policy/v1` side: the PodDisruptionBudget store and the `pods/eviction`
//! subresource (upstream `pkg/registry/core/pod/storage/eviction.go`, `EvictionREST.Create`).
//!
//! Invariant: an eviction either changes nothing and returns an error (429 when a budget
//! denies it), or decrements the one matching budget's `disruptionsAllowed`, records the pod in
//! `status.disruptedPods`, marks the pod `DisruptionTarget` and deletes it gracefully — all in
//! one request, so no other request can interleave (upstream's optimistic-concurrency retries
//! never fail in a single-threaded store).

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Write, CM_AND_SCHEDULER};
use super::{ApiError, ApiServer, Change, Deletion, Verb, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;

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

impl ApiObject for PodDisruptionBudget {
    const KIND: &'static str = "PodDisruptionBudget";
    const HAS_GENERATION: bool = true;
    stored_in!(pdbs);
    fn store_key(&self) -> String {
        self.key()
    }
    /// A new budget has an empty status (`observedGeneration` 0 < 1).
    fn on_create(&mut self) {
        self.status = PdbStatus::default();
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::PodDisruptionBudgetDeleted(obj),
            _ => Change::PodDisruptionBudget(obj),
        })
    }
    /// The scheduler's preemption counts budget violations.
    fn watchers(_: Write) -> &'static [Watcher] {
        CM_AND_SCHEDULER
    }
}

impl ApiServer {
    pub fn pdbs(&self) -> &NameMap<Arc<PodDisruptionBudget>> {
        self.pdbs.map()
    }

    /// POST a PodDisruptionBudget (generation 1, empty status: `observedGeneration` 0 < 1, so
    /// the Eviction API answers 429 until the disruption controller has processed it).
    pub fn create_pdb(
        &mut self,
        caller: Caller,
        pdb: PodDisruptionBudget,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.create_object(caller, pdb, |_, _| Ok(()))
    }

    /// PUT the `status` subresource of a PodDisruptionBudget. A write that changes nothing
    /// writes nothing.
    pub fn update_pdb_status(
        &mut self,
        caller: Caller,
        key: &str,
        status: PdbStatus,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.update_object(caller, key, |b: &mut PodDisruptionBudget| b.status = status)
    }

    /// DELETE a PodDisruptionBudget (no finalizers: it goes at once).
    pub fn delete_pdb(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.delete_object::<PodDisruptionBudget>(caller, key)
            .map(|_| ())
    }

    /// The budgets covering `pod`, in key order (`getPodDisruptionBudgets`).
    pub fn pdbs_for_pod(&self, pod: &Pod) -> Vec<Arc<PodDisruptionBudget>> {
        let ns = &pod.meta.namespace;
        self.pdbs
            .map()
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
        self.check(caller, Verb::Create)?;
        self.within(|a| a.evict_admitted(caller, key, grace))
    }

    /// The eviction's steps once the request holds its seat.
    fn evict_admitted(
        &mut self,
        caller: Caller,
        key: &str,
        grace: Option<u64>,
    ) -> Result<Deletion, ApiError> {
        let pod: Arc<Pod> = self.stored(key)?;
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

/// Cases of upstream `pkg/registry/core/pod/storage/eviction_test.go` (`TestEviction`,
/// `TestEvictionIngorePDB`), each named after its upstream case. Upstream's fake budgets
/// have generation 0 = observedGeneration; here the budget is created (generation 1) and its
/// status written as the controller would (observedGeneration 1).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    fn api() -> ApiServer {
        let mut a = crate::api::test_server();
        let mut n = Node::default();
        n.meta.name = "foo".into();
        a.create_node(Caller::Operator, n).unwrap();
        a
    }

    /// A pod labelled a=true on node foo, in `phase`, with Ready `ready` (None: no condition).
    fn pod(a: &mut ApiServer, name: &str, phase: PodPhase, ready: Option<bool>) -> String {
        let mut p = Pod::named("default", name);
        p.meta.labels.insert("a".into(), "true".into());
        p.spec.containers.push(Container::default());
        let key = a.create_pod(Caller::Operator, p).unwrap().key();
        a.bind_pod(Caller::Scheduler, &key, "foo").unwrap();
        a.update_pod(Caller::Operator, &key, |p| {
            p.status.phase = phase;
            if let Some(r) = ready {
                let s = if r {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                };
                p.set_condition(PodConditionType::Ready, s, "", SimTime::ZERO);
            }
        })
        .unwrap();
        key
    }

    fn budget(a: &mut ApiServer, label: &str, allowed: i32, current: i32, desired: i32) {
        let mut b = PodDisruptionBudget::default();
        b.meta.name = "foo".into();
        b.meta.namespace = "default".into();
        let mut sel = LabelSelector::default();
        sel.match_labels.insert(label.into(), "true".into());
        b.selector = Some(sel);
        a.create_pdb(Caller::Operator, b).unwrap();
        let status = PdbStatus {
            observed_generation: 1,
            disruptions_allowed: allowed,
            current_healthy: current,
            desired_healthy: desired,
            ..PdbStatus::default()
        };
        a.update_pdb_status(Caller::ControllerManager, "default/foo", status)
            .unwrap();
    }

    fn denied(r: Result<Deletion, ApiError>) -> String {
        match r {
            Err(ApiError::TooManyRequests { message, cause }) => {
                assert_eq!(message, EVICTION_DENIED_MESSAGE);
                cause
            }
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn matching_pdbs_with_no_disruptions_allowed_pod_running() {
        let mut a = api();
        let k = pod(&mut a, "t1", PodPhase::Running, None);
        budget(&mut a, "a", 0, 0, 0);
        denied(a.evict_pod(Caller::Operator, &k, Some(0)));
        assert!(a.pods().contains_key(&k));
        assert!(!a.pods()[&k].is_terminating());
    }

    #[test]
    fn matching_pdbs_with_no_disruptions_allowed_pod_pending_succeeded_failed() {
        for (name, phase) in [
            ("t2", PodPhase::Pending),
            ("t3", PodPhase::Succeeded),
            ("t4", PodPhase::Failed),
        ] {
            let mut a = api();
            let k = pod(&mut a, name, phase, None);
            budget(&mut a, "a", 0, 0, 0);
            assert_eq!(
                a.evict_pod(Caller::Operator, &k, Some(0)),
                Ok(Deletion::Removed)
            );
            assert!(!a.pods().contains_key(&k), "{name}");
        }
    }

    #[test]
    fn matching_pdbs_with_disruptions_allowed() {
        let mut a = api();
        a.set_now(SimTime::from_secs(7));
        let k = pod(&mut a, "t5", PodPhase::Running, Some(true));
        budget(&mut a, "a", 1, 1, 0);
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, Some(0)),
            Ok(Deletion::Removed)
        );
        assert!(!a.pods().contains_key(&k));
        // checkAndDecrement: one disruption taken, the pod remembered, the condition updated
        // as it reached 0 (TestEvictionPDBStatus "pdb status is updated after eviction").
        let b = &a.pdbs()["default/foo"];
        assert_eq!(b.status.disruptions_allowed, 0);
        assert_eq!(
            b.status.disrupted_pods.get("t5"),
            Some(&SimTime::from_secs(7))
        );
        let c = b.status.condition.as_ref().unwrap();
        assert_eq!(
            (c.status, c.reason.as_str()),
            (false, REASON_INSUFFICIENT_PODS)
        );
    }

    #[test]
    fn non_matching_pdbs() {
        let mut a = api();
        let k = pod(&mut a, "t6", PodPhase::Running, Some(true));
        budget(&mut a, "b", 0, 0, 0);
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, Some(0)),
            Ok(Deletion::Removed)
        );
    }

    #[test]
    fn matching_pdbs_with_no_disruptions_allowed_pod_terminating() {
        let mut a = api();
        let k = pod(&mut a, "t6", PodPhase::Running, Some(true));
        a.delete_pod(Caller::Operator, &k, Some(30)).unwrap();
        budget(&mut a, "a", 0, 0, 0);
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, Some(300)),
            Ok(Deletion::Terminating)
        );
    }

    #[test]
    fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_healthy_unhealthy_pod_not_ours() {
        let mut a = api();
        let k = pod(&mut a, "t7", PodPhase::Running, Some(true));
        budget(&mut a, "a", 0, 2, 2);
        let cause = denied(a.evict_pod(Caller::Operator, &k, Some(0)));
        assert_eq!(
            cause,
            "The disruption budget foo needs 2 healthy pods and has 2 currently"
        );
    }

    #[test]
    fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_unhealthy_unhealthy_pod_ours() {
        let mut a = api();
        let k = pod(&mut a, "t8", PodPhase::Running, Some(false));
        budget(&mut a, "a", 0, 2, 2);
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, Some(0)),
            Ok(Deletion::Removed)
        );
        // No disruption was taken for the unready pod.
        assert!(a.pdbs()["default/foo"].status.disrupted_pods.is_empty());
    }

    // The IfHealthyBudget rule needs desiredHealthy > 0 and the budget met; AlwaysAllow lets
    // an unready pod go regardless (policy/v1 `unhealthyPodEvictionPolicy`).
    #[test]
    fn unready_pod_with_budget_not_met_needs_always_allow() {
        let mut a = api();
        let k = pod(&mut a, "t9", PodPhase::Running, Some(false));
        budget(&mut a, "a", 0, 1, 2);
        denied(a.evict_pod(Caller::Operator, &k, Some(0)));
        let mut b = (*a.pdbs()["default/foo"]).clone();
        b.unhealthy_pod_eviction_policy = Some(UnhealthyPodEvictionPolicy::AlwaysAllow);
        a.pdbs.insert("default/foo".into(), Arc::new(b));
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, Some(0)),
            Ok(Deletion::Removed)
        );
    }

    // checkAndDecrement: a budget the controller has not processed yet (observedGeneration <
    // generation) answers 429 with the "still being processed" cause.
    #[test]
    fn unprocessed_budget_is_still_being_processed() {
        let mut a = api();
        let k = pod(&mut a, "t10", PodPhase::Running, Some(true));
        let mut b = PodDisruptionBudget::default();
        b.meta.name = "foo".into();
        b.meta.namespace = "default".into();
        b.selector = Some(LabelSelector {
            match_labels: [("a".to_string(), "true".to_string())].into(),
            ..LabelSelector::default()
        });
        a.create_pdb(Caller::Operator, b).unwrap();
        let cause = denied(a.evict_pod(Caller::Operator, &k, None));
        assert_eq!(
            cause,
            "The disruption budget foo is still being processed by the server."
        );
    }

    // getPodDisruptionBudgets + the len(pdbs) > 1 branch: HTTP 500 with upstream's text.
    #[test]
    fn pod_with_two_budgets_cannot_be_evicted() {
        let mut a = api();
        let k = pod(&mut a, "t11", PodPhase::Running, Some(true));
        budget(&mut a, "a", 1, 1, 0);
        let mut b2 = (*a.pdbs()["default/foo"]).clone();
        b2.meta.name = "foo2".into();
        a.create_pdb(Caller::Operator, b2).unwrap();
        assert_eq!(
            a.evict_pod(Caller::Operator, &k, None),
            Err(ApiError::InternalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into()))
        );
    }

    // An empty selector selects nothing for the Eviction API.
    #[test]
    fn empty_selector_matches_nothing() {
        let mut a = api();
        let k = pod(&mut a, "t12", PodPhase::Running, Some(true));
        let mut b = PodDisruptionBudget::default();
        b.meta.name = "all".into();
        b.meta.namespace = "default".into();
        b.selector = Some(LabelSelector::default());
        a.create_pdb(Caller::Operator, b).unwrap();
        assert!(a.pdbs_for_pod(&a.pods()[&k].clone()).is_empty());
    }
}
