//! The disruption controller: keeps every PodDisruptionBudget's status — `currentHealthy`,
//! `desiredHealthy`, `expectedPods`, `disruptionsAllowed`, `disruptedPods` and the
//! `DisruptionAllowed` condition — in step with the pods it selects.
//!
//! Upstream: `pkg/controller/disruption/disruption.go` (`trySync`, `getExpectedPodCount`,
//! `getExpectedScale` with the ReplicationController / ReplicaSet / Deployment / StatefulSet
//! finders, `countHealthyPods`, `buildDisruptedPodMap`, `updatePdbStatus`, `failSafe`; pod
//! handlers enqueue the one budget `getPdbForPod` picks). Not modelled: the stale
//! `DisruptionTarget` cleanup worker and the generic scale subresource finder.
//!
//! Invariant: the status is a pure function of (budget, its pods in the cache, the owners'
//! scale, now) — [`compute_status`], upstream's algorithm over the pod list — and is written
//! only through the API. The controller keeps per budget a [`PdbIndex`] of the facts of its
//! selected pods (healthy or not, controller), updated per pod event in O(budgets in the
//! namespace × log pods), so a sync costs O(controllers + disruptedPods), not O(pods): at
//! 150,000 pods a budget over a large Deployment must not rescan it on every readiness change.
//! [`compute_status_indexed`] gives the same result as [`compute_status`] (tested).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::cache::{deployment_of, KcmCache};
use super::deployment_util::scaled_value;
use crate::api::ApiServer;
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimDuration, SimTime};

const SOURCE: &str = "controllermanager";

/// `DeletionTimeout`: how long an eviction the API approved may take to show up as a deleted
/// (or terminating) pod before the budget counts the pod again.
pub const DELETION_TIMEOUT: SimDuration = SimDuration::from_secs(120);
/// Retry of a sync whose status write failed (the API server was unreachable).
const SYNC_RETRY: SimDuration = SimDuration::from_secs(1);

pub struct DisruptionController {
    gen: u32,
    pub(super) queue: WorkQueue,
    /// Budget key → the facts of the pods its selector matches.
    pods_by_pdb: BTreeMap<String, PdbIndex>,
}

/// What a sync needs to know of one selected pod.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PodFacts {
    /// Ready and not terminating (`countHealthyPods` before the disruptedPods rule).
    healthy: bool,
    terminating: bool,
    /// The controller reference (kind, name), if any.
    controller: Option<(String, String)>,
}

impl PodFacts {
    fn of(p: &Pod) -> PodFacts {
        PodFacts {
            healthy: !p.is_terminating() && p.is_ready(),
            terminating: p.is_terminating(),
            controller: p
                .meta
                .controller_ref()
                .map(|o| (o.kind.clone(), o.name.clone())),
        }
    }
}

/// The pods a budget selects, by name, with running totals.
#[derive(Default)]
pub struct PdbIndex {
    /// The selector the index was built for (a status write must not trigger a rebuild).
    selector: Option<LabelSelector>,
    pods: BTreeMap<String, PodFacts>,
    healthy: i32,
    /// Pod names by controller (kind, name); pods without one under `None`.
    by_controller: BTreeMap<Option<(String, String)>, BTreeSet<String>>,
}

impl PdbIndex {
    fn set(&mut self, name: &str, facts: Option<PodFacts>) {
        if let Some(old) = self.pods.remove(name) {
            self.healthy -= i32::from(old.healthy);
            if let Some(set) = self.by_controller.get_mut(&old.controller) {
                set.remove(name);
                if set.is_empty() {
                    self.by_controller.remove(&old.controller);
                }
            }
        }
        if let Some(f) = facts {
            self.healthy += i32::from(f.healthy);
            self.by_controller
                .entry(f.controller.clone())
                .or_default()
                .insert(name.to_string());
            self.pods.insert(name.to_string(), f);
        }
    }
}

/// The result of one sync before it is written.
#[derive(Debug, PartialEq, Eq)]
pub struct Computed {
    pub status: PdbStatus,
    /// When a `disruptedPods` entry expires, if any (the recheck queue).
    pub recheck: Option<SimTime>,
    /// Pods deleted-by-eviction that did not go within the timeout (`NotDeleted` events).
    pub not_deleted: Vec<String>,
    /// Selected pods without a controller (`UnmanagedPods` event).
    pub unmanaged: Vec<String>,
}

impl DisruptionController {
    pub fn new(gen: u32) -> Self {
        DisruptionController {
            gen,
            queue: WorkQueue::default(),
            pods_by_pdb: BTreeMap::new(),
        }
    }

    /// A new term: index every cached budget and sync it.
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache) {
        let keys: Vec<String> = cache.pdbs.keys().cloned().collect();
        for k in keys {
            self.reindex(cache, &k);
            self.enqueue(ctx, &k);
        }
    }

    pub fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let gen = self.gen;
        self.queue
            .add(ctx, key, SimDuration::ZERO, |key| Event::PdbSync {
                gen,
                key,
            });
    }

    /// `enqueuePdbForRecheck`.
    fn enqueue_at(&mut self, ctx: &mut dyn Ctx<Event>, key: &str, at: SimTime) {
        let delay = SimDuration::from_nanos(at.as_nanos().saturating_sub(ctx.now().as_nanos()));
        ctx.schedule_in(
            delay,
            Event::PdbSync {
                gen: self.gen,
                key: key.to_string(),
            },
        );
    }

    /// `addPdb` / `updatePdb`: (re)index its pods when it is new or its selector changed (not
    /// on its own status writes), and sync it.
    pub fn on_pdb(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, key: &str) {
        let current = cache.pdbs.get(key).map(|b| b.selector.clone());
        let indexed = self.pods_by_pdb.get(key).map(|i| i.selector.clone());
        if current != indexed {
            self.reindex(cache, key);
        }
        self.enqueue(ctx, key);
    }

    pub fn on_pdb_deleted(&mut self, key: &str) {
        self.pods_by_pdb.remove(key);
    }

    fn reindex(&mut self, cache: &KcmCache, key: &str) {
        let Some(pdb) = cache.pdbs.get(key) else {
            self.pods_by_pdb.remove(key);
            return;
        };
        let prefix = format!("{}/", pdb.meta.namespace);
        let mut idx = PdbIndex {
            selector: pdb.selector.clone(),
            ..PdbIndex::default()
        };
        for (_, p) in cache
            .pods
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, p)| pdb.selects(p))
        {
            idx.set(&p.meta.name, Some(PodFacts::of(p)));
        }
        self.pods_by_pdb.insert(key.to_string(), idx);
    }

    /// `addPod` / `updatePod` / `deletePod`: keep the index, then enqueue the budget
    /// `getPdbForPod` picks (the first by name; several make a `MultiplePodDisruptionBudgets`
    /// warning on the pod).
    pub fn on_pod(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, pod: &Pod, deleted: bool) {
        if cache.pdbs.is_empty() {
            return; // no budget to index the pod for or to enqueue
        }
        let key = pod.key();
        let prefix = format!("{}/", pod.meta.namespace);
        let facts = PodFacts::of(pod);
        let mut matching = Vec::new();
        for (k, pdb) in cache
            .pdbs
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            let selects = !deleted && pdb.selects(pod);
            if !self.pods_by_pdb.contains_key(k) {
                self.reindex(cache, k);
            }
            if let Some(idx) = self.pods_by_pdb.get_mut(k) {
                idx.set(&pod.meta.name, selects.then(|| facts.clone()));
            }
            if pdb.selects(pod) {
                matching.push(pdb.clone());
            }
        }
        let Some(first) = matching.first() else {
            return;
        };
        if matching.len() > 1 {
            let msg = format!(
                "Pod {:?}/{:?} matches multiple PodDisruptionBudgets.  Chose {:?} arbitrarily.",
                pod.meta.namespace, pod.meta.name, first.meta.name
            );
            ctx.record(Record {
                t: ctx.now(),
                reason: "MultiplePodDisruptionBudgets",
                source: SOURCE,
                object: format!("Pod/{key}"),
                message: msg,
                fields: vec![],
            });
        }
        let k = first.key();
        self.enqueue(ctx, &k);
    }

    /// `sync` → `trySync`, or `failSafe` when the expected count cannot be computed.
    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        self.queue.start(key);
        let Some(pdb) = cache.pdbs.get(key).cloned() else {
            return;
        };
        let empty = PdbIndex::default();
        let idx = self.pods_by_pdb.get(key).unwrap_or(&empty);
        let object = format!("PodDisruptionBudget/{key}");
        if idx.pods.is_empty() {
            self.event(ctx, &object, "NoPods", "No matching pods found".into());
        }
        let now = ctx.now();
        let computed = compute_status_indexed(
            &pdb,
            idx,
            |r| controller_scale(cache, &pdb.meta.namespace, r),
            now,
        );
        match computed {
            Ok(c) => {
                if !c.unmanaged.is_empty() {
                    self.event(ctx, &object, "UnmanagedPods", unmanaged_message(&pdb));
                }
                for p in &c.not_deleted {
                    let msg = format!(
                        // Upstream prints the namespace twice (sic).
                        "Pod was expected by PDB {}/{} to be deleted but it wasn't",
                        pdb.meta.namespace, pdb.meta.namespace
                    );
                    let obj = format!("Pod/{}/{p}", pdb.meta.namespace);
                    self.event(ctx, &obj, "NotDeleted", msg);
                }
                let ok = api
                    .update_pdb_status(Caller::ControllerManager, key, c.status)
                    .is_ok();
                match (ok, c.recheck) {
                    (true, Some(at)) => self.enqueue_at(ctx, key, at),
                    (true, None) => {}
                    // `processNextWorkItem` requeues a failed sync (rate-limited upstream).
                    (false, _) => {
                        let at = ctx.now() + SYNC_RETRY;
                        self.enqueue_at(ctx, key, at)
                    }
                }
            }
            Err(e) => {
                self.event(
                    ctx,
                    &object,
                    "CalculateExpectedPodCountFailed",
                    format!("Failed to calculate the number of expected pods: {e}"),
                );
                let _ = api.update_pdb_status(Caller::ControllerManager, key, fail_safe(&pdb, &e));
            }
        }
    }

    fn event(&self, ctx: &mut dyn Ctx<Event>, object: &str, reason: &'static str, message: String) {
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: SOURCE,
            object: object.to_string(),
            message,
            fields: vec![],
        });
    }
}

fn unmanaged_message(pdb: &PodDisruptionBudget) -> String {
    format!(
        "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.",
        selector_text(pdb.selector.as_ref())
    )
}

/// A selector as Go's `%v` of `*metav1.LabelSelector` would print its labels (abridged to the
/// match labels, `k=v` joined by commas).
fn selector_text(s: Option<&LabelSelector>) -> String {
    s.map(|s| {
        s.match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
    .unwrap_or_default()
}

/// A pod's controller as the finders see it.
pub struct ControllerRef<'a> {
    pub kind: &'a str,
    pub name: &'a str,
}

/// The finders of `getExpectedScale`: (identity, scale) of the workload that owns a pod's
/// controller — a ReplicationController, a ReplicaSet not owned by a Deployment, the
/// Deployment owning a ReplicaSet, or a StatefulSet. None: no finder knows it.
fn controller_scale(cache: &KcmCache, ns: &str, r: ControllerRef) -> Option<(String, i32)> {
    match r.kind {
        "ReplicationController" => {
            let key = ReplicaSetKind::ReplicationController.key(ns, r.name);
            cache.replicasets.get(&key).map(|x| (key, x.replicas))
        }
        "ReplicaSet" => {
            let rs = cache.replicasets.get(&pod_key(ns, r.name))?;
            match deployment_of(rs) {
                None => Some((rs.key(), rs.replicas)),
                Some(d) => cache
                    .deployments
                    .get(&d)
                    .map(|x| (format!("Deployment/{d}"), x.replicas)),
            }
        }
        "StatefulSet" => {
            let key = pod_key(ns, r.name);
            cache
                .statefulsets
                .get(&key)
                .map(|x| (format!("StatefulSet/{key}"), x.replicas))
        }
        _ => None,
    }
}

/// `trySync` without the writes: the budget's new status from its pods at `now`. `scale_of`
/// is the finders (None: unknown controller, an error as upstream's "found no controllers").
pub fn compute_status(
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
    scale_of: impl Fn(ControllerRef) -> Option<(String, i32)>,
    now: SimTime,
) -> Result<Computed, String> {
    let (expected, desired, unmanaged) = expected_pod_count(pdb, pods, &scale_of)?;
    let (disrupted, recheck, not_deleted) = build_disrupted_pod_map(pods, pdb, now);
    let current = count_healthy_pods(pods, &disrupted, now);
    let mut allowed = current - desired;
    if expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    let mut status = PdbStatus {
        observed_generation: pdb.meta.generation,
        disrupted_pods: disrupted,
        disruptions_allowed: allowed,
        current_healthy: current,
        desired_healthy: desired,
        expected_pods: expected,
        condition: None,
    };
    status.condition = Some(disruption_allowed_condition(&status));
    Ok(Computed {
        status,
        recheck,
        not_deleted,
        unmanaged,
    })
}

/// [`compute_status`] from a [`PdbIndex`]: the same result in O(controllers + disruptedPods).
pub fn compute_status_indexed(
    pdb: &PodDisruptionBudget,
    idx: &PdbIndex,
    scale_of: impl Fn(ControllerRef) -> Option<(String, i32)>,
    now: SimTime,
) -> Result<Computed, String> {
    let unmanaged: Vec<String> = idx
        .by_controller
        .get(&None)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    let scale = || -> Result<i32, String> {
        let mut scales: BTreeMap<String, i32> = BTreeMap::new();
        // Upstream fails at the first pod (in name order) whose controller no finder knows.
        let mut unknown: Option<&String> = None;
        for (c, names) in &idx.by_controller {
            let Some((kind, name)) = c else {
                continue;
            };
            match scale_of(ControllerRef { kind, name }) {
                Some((id, n)) => {
                    scales.insert(id, n);
                }
                None => {
                    let first = names.first().expect("non-empty");
                    if unknown.is_none_or(|u| first < u) {
                        unknown = Some(first);
                    }
                }
            }
        }
        match unknown {
            Some(p) => Err(format!("found no controllers for pod {p:?}")),
            None => Ok(scales.values().sum()),
        }
    };
    let (expected, desired, unmanaged) = if let Some(mu) = &pdb.max_unavailable {
        let expected = scale()?;
        let max_unavailable = scaled_value(mu, expected, true)?;
        (expected, (expected - max_unavailable).max(0), unmanaged)
    } else {
        match &pdb.min_available {
            Some(IntOrString::Int(n)) => (idx.pods.len() as i32, *n, vec![]),
            Some(ma @ IntOrString::Str(_)) => {
                let expected = scale()?;
                (expected, scaled_value(ma, expected, true)?, unmanaged)
            }
            None => (0, 0, vec![]),
        }
    };
    let mut disrupted = BTreeMap::new();
    let mut recheck: Option<SimTime> = None;
    let mut not_deleted = Vec::new();
    let mut current = idx.healthy;
    for (name, &t) in &pdb.status.disrupted_pods {
        let Some(f) = idx.pods.get(name) else {
            continue;
        };
        if f.terminating {
            continue;
        }
        let expected_deletion = t + DELETION_TIMEOUT;
        if expected_deletion <= now {
            not_deleted.push(name.clone());
        } else {
            recheck = Some(recheck.map_or(expected_deletion, |r| r.min(expected_deletion)));
            disrupted.insert(name.clone(), t);
            current -= i32::from(f.healthy);
        }
    }
    let mut allowed = current - desired;
    if expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    let mut status = PdbStatus {
        observed_generation: pdb.meta.generation,
        disrupted_pods: disrupted,
        disruptions_allowed: allowed,
        current_healthy: current,
        desired_healthy: desired,
        expected_pods: expected,
        condition: None,
    };
    status.condition = Some(disruption_allowed_condition(&status));
    Ok(Computed {
        status,
        recheck,
        not_deleted,
        unmanaged,
    })
}

/// `getExpectedPodCount`: (expectedCount, desiredHealthy, unmanaged pods).
fn expected_pod_count(
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
    scale_of: &impl Fn(ControllerRef) -> Option<(String, i32)>,
) -> Result<(i32, i32, Vec<String>), String> {
    if let Some(mu) = &pdb.max_unavailable {
        let (expected, unmanaged) = expected_scale(pods, scale_of)?;
        let max_unavailable = scaled_value(mu, expected, true)?;
        return Ok((expected, (expected - max_unavailable).max(0), unmanaged));
    }
    match &pdb.min_available {
        Some(IntOrString::Int(n)) => Ok((pods.len() as i32, *n, vec![])),
        Some(ma @ IntOrString::Str(_)) => {
            let (expected, unmanaged) = expected_scale(pods, scale_of)?;
            Ok((expected, scaled_value(ma, expected, true)?, unmanaged))
        }
        None => Ok((0, 0, vec![])),
    }
}

/// `getExpectedScale`: the sum of the scales of the distinct controllers of the pods.
fn expected_scale(
    pods: &[Arc<Pod>],
    scale_of: &impl Fn(ControllerRef) -> Option<(String, i32)>,
) -> Result<(i32, Vec<String>), String> {
    let mut scales: BTreeMap<String, i32> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for p in pods {
        let Some(c) = p.meta.controller_ref() else {
            unmanaged.push(p.meta.name.clone());
            continue;
        };
        let r = ControllerRef {
            kind: &c.kind,
            name: &c.name,
        };
        match scale_of(r) {
            Some((id, n)) => {
                scales.insert(id, n);
            }
            None => return Err(format!("found no controllers for pod {:?}", p.meta.name)),
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

/// `buildDisruptedPodMap`: entries of pods that are not yet terminating and whose timeout has
/// not passed. Upstream drops an entry whose deadline is strictly before now; here a deadline
/// equal to now is dropped too, since the simulated clock would otherwise recheck at the same
/// instant forever.
fn build_disrupted_pod_map(
    pods: &[Arc<Pod>],
    pdb: &PodDisruptionBudget,
    now: SimTime,
) -> (BTreeMap<String, SimTime>, Option<SimTime>, Vec<String>) {
    let mut result = BTreeMap::new();
    let mut recheck: Option<SimTime> = None;
    let mut not_deleted = Vec::new();
    for p in pods {
        if p.is_terminating() {
            continue;
        }
        let Some(&t) = pdb.status.disrupted_pods.get(&p.meta.name) else {
            continue;
        };
        let expected = t + DELETION_TIMEOUT;
        if expected <= now {
            not_deleted.push(p.meta.name.clone());
        } else {
            recheck = Some(recheck.map_or(expected, |r| r.min(expected)));
            result.insert(p.meta.name.clone(), t);
        }
    }
    (result, recheck, not_deleted)
}

/// `countHealthyPods`: Ready pods that are neither terminating nor about to be evicted.
fn count_healthy_pods(
    pods: &[Arc<Pod>],
    disrupted: &BTreeMap<String, SimTime>,
    now: SimTime,
) -> i32 {
    pods.iter()
        .filter(|p| !p.is_terminating())
        .filter(|p| {
            disrupted
                .get(&p.meta.name)
                .is_none_or(|t| *t + DELETION_TIMEOUT <= now)
        })
        .filter(|p| p.is_ready())
        .count() as i32
}

/// `failSafe`: disruptionsAllowed 0 and a False `SyncFailed` condition carrying the error.
fn fail_safe(pdb: &PodDisruptionBudget, err: &str) -> PdbStatus {
    let mut s = pdb.status.clone();
    s.disruptions_allowed = 0;
    s.condition = Some(PdbCondition {
        status: false,
        reason: REASON_SYNC_FAILED.into(),
        message: err.to_string(),
        observed_generation: s.observed_generation,
    });
    s
}

/// Ports of upstream `pkg/controller/disruption/disruption_test.go` cases (pods from
/// `newPod` are Ready; `VerifyPdbStatus(disruptionsAllowed, currentHealthy, desiredHealthy,
/// expectedPods)`).
#[cfg(test)]
mod tests {
    use super::*;

    fn budget_min(v: IntOrString) -> PodDisruptionBudget {
        let mut b = PodDisruptionBudget::default();
        b.meta.name = "foo".into();
        b.meta.namespace = "default".into();
        b.meta.generation = 1;
        b.min_available = Some(v);
        b
    }

    fn new_pod(name: &str, owner: (&str, &str), ready: bool) -> Arc<Pod> {
        let mut p = Pod::named("default", name);
        p.meta.owner_references.push(OwnerRef {
            kind: owner.0.into(),
            name: owner.1.into(),
            controller: true,
        });
        if ready {
            p.set_condition(
                PodConditionType::Ready,
                ConditionStatus::True,
                "",
                SimTime::ZERO,
            );
        }
        Arc::new(p)
    }

    fn verify(c: &Computed) -> (i32, i32, i32, i32) {
        let s = &c.status;
        (
            s.disruptions_allowed,
            s.current_healthy,
            s.desired_healthy,
            s.expected_pods,
        )
    }

    fn scale(kind: &'static str, n: i32) -> impl Fn(ControllerRef) -> Option<(String, i32)> {
        move |r: ControllerRef| (r.kind == kind).then(|| (format!("{kind}/{}", r.name), n))
    }

    #[test]
    fn test_stateful_set_controller() {
        // 34% of 3 rounds up to 2.
        let b = budget_min(IntOrString::Str("34%".into()));
        let mut pods = Vec::new();
        for i in 0..3 {
            pods.push(new_pod(
                &format!("foobar {i}"),
                ("StatefulSet", "foo"),
                true,
            ));
            let c = compute_status(&b, &pods, scale("StatefulSet", 3), SimTime::ZERO).unwrap();
            if i < 2 {
                assert_eq!(verify(&c), (0, i + 1, 2, 3));
            } else {
                assert_eq!(verify(&c), (1, 3, 2, 3));
            }
        }
    }

    #[test]
    fn test_two_controllers_replication_controller_part() {
        // 28% of 11 rounds up to 4; the first 7 pods are not Ready.
        let b = budget_min(IntOrString::Str("28%".into()));
        let mut pods = Vec::new();
        for i in 0..10 {
            pods.push(new_pod(
                &format!("quux {i}"),
                ("ReplicationController", "foobar"),
                i >= 7,
            ));
            let c = compute_status(&b, &pods, scale("ReplicationController", 11), SimTime::ZERO)
                .unwrap();
            if i < 7 {
                assert_eq!(verify(&c), (0, 0, 4, 11));
            } else {
                assert_eq!(verify(&c), (0, i - 6, 4, 11));
            }
        }
    }

    // TestReplicationController: 67% of 3 rounds up to 3, so three Ready pods allow nothing.
    #[test]
    fn test_replication_controller() {
        let b = budget_min(IntOrString::Str("67%".into()));
        let mut pods = Vec::new();
        for i in 0..3 {
            pods.push(new_pod(
                &format!("foobar {i}"),
                ("ReplicationController", "foobar"),
                true,
            ));
            let c = compute_status(&b, &pods, scale("ReplicationController", 3), SimTime::ZERO)
                .unwrap();
            assert_eq!(verify(&c), (0, i + 1, 3, 3));
        }
    }

    // An integer minAvailable counts the selected pods themselves, controller or not.
    #[test]
    fn integer_min_available_counts_pods() {
        let b = budget_min(IntOrString::Int(2));
        let pods: Vec<_> = (0..3)
            .map(|i| new_pod(&format!("p{i}"), ("DaemonSet", "ds"), true))
            .collect();
        let c = compute_status(&b, &pods, |_| None, SimTime::ZERO).unwrap();
        assert_eq!(verify(&c), (1, 3, 2, 3));
        let c = &c.status.condition.unwrap();
        assert_eq!(
            (c.status, c.reason.as_str()),
            (true, REASON_SUFFICIENT_PODS)
        );
    }

    // getExpectedScale: a pod whose controller no finder knows is an error (failSafe).
    #[test]
    fn unknown_controller_fails_safe() {
        let b = budget_min(IntOrString::Str("50%".into()));
        let pods = vec![new_pod("p", ("DaemonSet", "ds"), true)];
        let e = compute_status(&b, &pods, |_| None, SimTime::ZERO).unwrap_err();
        assert_eq!(e, "found no controllers for pod \"p\"");
        let s = fail_safe(&b, &e);
        assert_eq!(s.disruptions_allowed, 0);
        assert_eq!(s.condition.unwrap().reason, REASON_SYNC_FAILED);
    }

    // buildDisruptedPodMap / countHealthyPods: a pod the Eviction API approved is not healthy
    // until DeletionTimeout (2 min) passes; then it counts again (NotDeleted event).
    #[test]
    fn disrupted_pods_expire_after_the_deletion_timeout() {
        let mut b = budget_min(IntOrString::Int(1));
        b.status
            .disrupted_pods
            .insert("p0".into(), SimTime::from_secs(10));
        let pods: Vec<_> = (0..2)
            .map(|i| new_pod(&format!("p{i}"), ("ReplicaSet", "rs"), true))
            .collect();
        let c = compute_status(&b, &pods, |_| None, SimTime::from_secs(20)).unwrap();
        assert_eq!(verify(&c), (0, 1, 1, 2));
        assert_eq!(c.recheck, Some(SimTime::from_secs(130)));
        let c = compute_status(&b, &pods, |_| None, SimTime::from_secs(130)).unwrap();
        assert_eq!(verify(&c), (1, 2, 1, 2));
        assert_eq!(c.not_deleted, vec!["p0".to_string()]);
        assert!(c.status.disrupted_pods.is_empty());
    }

    // maxUnavailable: desiredHealthy = expected - scaled(maxUnavailable, rounded up), not < 0.
    #[test]
    fn max_unavailable_percentage_rounds_up() {
        let mut b = budget_min(IntOrString::Int(0));
        b.min_available = None;
        b.max_unavailable = Some(IntOrString::Str("25%".into()));
        let pods: Vec<_> = (0..5)
            .map(|i| new_pod(&format!("p{i}"), ("ReplicaSet", "rs"), true))
            .collect();
        // 25% of 5 = 1.25 → 2 unavailable allowed → desired 3.
        let c = compute_status(&b, &pods, scale("ReplicaSet", 5), SimTime::ZERO).unwrap();
        assert_eq!(verify(&c), (2, 5, 3, 5));
    }

    /// The indexed computation agrees with upstream's list algorithm on a spread of budgets,
    /// pod states, controllers and disruptedPods entries.
    #[test]
    fn indexed_status_equals_the_list_algorithm() {
        let budgets = [
            (Some(IntOrString::Int(3)), None),
            (Some(IntOrString::Str("60%".into())), None),
            (None, Some(IntOrString::Str("34%".into()))),
            (None, Some(IntOrString::Int(2))),
            (None, None),
        ];
        let owners = [
            ("ReplicaSet", "a"),
            ("ReplicaSet", "b"),
            ("StatefulSet", "s"),
            ("DaemonSet", "d"),
        ];
        let scale_of = |r: ControllerRef| match r.kind {
            "ReplicaSet" => Some((format!("rs/{}", r.name), 4)),
            "StatefulSet" => Some(("sts".to_string(), 3)),
            _ => None,
        };
        for (bi, (min, max)) in budgets.iter().enumerate() {
            for variant in 0..24u32 {
                let mut b = budget_min(IntOrString::Int(0));
                b.min_available = min.clone();
                b.max_unavailable = max.clone();
                let mut pods = Vec::new();
                let mut idx = PdbIndex::default();
                for i in 0..9u32 {
                    let o = owners[((i + variant) % 3 + u32::from(variant % 7 == 0)) as usize];
                    let mut p = (*new_pod(&format!("p{i}"), o, (i * 7 + variant) % 3 != 0)).clone();
                    if (i + variant) % 5 == 0 {
                        p.meta.deletion_timestamp = Some(SimTime::from_secs(1));
                    }
                    if variant % 4 == 1 && i == 2 {
                        p.meta.owner_references.clear();
                    }
                    idx.set(&p.meta.name, Some(PodFacts::of(&p)));
                    pods.push(Arc::new(p));
                }
                for (j, name) in ["p1", "p4", "zz"].iter().enumerate() {
                    if (variant as usize + j) % 2 == 0 {
                        let t = SimTime::from_secs(10 * (j as u64 + variant as u64 % 3));
                        b.status.disrupted_pods.insert(name.to_string(), t);
                    }
                }
                let now = SimTime::from_secs(100 + 10 * (variant as u64 % 5));
                let a = compute_status(&b, &pods, scale_of, now);
                let c = compute_status_indexed(&b, &idx, scale_of, now);
                assert_eq!(a, c, "budget {bi} variant {variant}");
            }
        }
    }
}
