//! The scheduler's cache (upstream's `Cache` and informer handlers): node infos in slots
//! found by name, the zones' node lists, assigned and pending pods, the image counts, the
//! default-spreading selector sources, PodDisruptionBudgets, and the kept indexes and flat
//! columns (`hot.rs`, the plugins' `index.rs`) updated with every change.
//!
//! Invariant: every change to a slot's node info refreshes its columns and clears its score
//! memo in the same step, and keeps the spread and affinity indexes and pod totals in step
//! (or clears the indexes when node labels change). The one exception is a later version of
//! an assigned pod that changes nothing they are computed from (`replace_unchanged`): it only
//! takes the old version's place.

use std::sync::Arc;

use super::hints::{self, ClusterEvent};
use super::plugins::NodeInfo;
use super::snapshot::count_images;
use super::{framework, hot, Event, Scheduler};
use crate::api::Change;
use crate::model::*;
use crate::sim::Ctx;

impl Scheduler {
    pub fn on_watch(&mut self, ctx: &mut dyn Ctx<Event>, change: Change) {
        match change {
            Change::Node(n) => {
                // `updateNodeInSchedulingQueue` / `addNodeToCache`: Node/Add, or Node/Update
                // with the scheduling properties it changed; none (a heartbeat or condition
                // write) moves nothing.
                let old = self
                    .slot_of
                    .get(&n.meta.name)
                    .and_then(|&s| self.slots[s].as_ref())
                    .map(|info| info.node.clone());
                let actions = match &old {
                    None => hints::action::ADD,
                    Some(o) => hints::node_actions(o, &n),
                };
                self.upsert_node(n.clone());
                if actions != 0 {
                    let ev = ClusterEvent::Node {
                        old,
                        new: &n,
                        actions,
                    };
                    self.move_on(ctx, &ev);
                }
            }
            Change::NodeDeleted(n) => {
                self.spread_index.clear();
                self.ipa_index.clear();
                let name = &n.meta.name;
                if let Some(slot) = self.slot_of.remove(name) {
                    self.hot.set(slot, hot::HotNode::default());
                    self.affinity_memo.forget(slot);
                    self.taint_memo.forget(slot);
                    self.memo[slot] = framework::Memo::default();
                    if let Some(info) = self.slots[slot].take() {
                        count_images(&mut self.image_nodes, &info, -1);
                        self.image_sizes.set(&info, slot, false);
                        // Pods still bound there are no longer counted anywhere.
                        for p in &info.pods {
                            self.assigned.remove(&p.key());
                            self.totals.add(p, -1);
                        }
                    }
                    for (_, list) in self.zones.iter_mut() {
                        list.retain(|x| *x != slot);
                    }
                }
                self.zones.retain(|(_, l)| !l.is_empty());
                self.order_dirty = true;
            }
            Change::Pod(p) => self.on_pod(ctx, p),
            Change::PodDeleted(p) => {
                let key = p.key();
                self.pending.remove(&key);
                self.forget_queued(&key);
                if self.unassign(&key) {
                    self.move_on(ctx, &ClusterEvent::AssignedPodDelete);
                }
            }
            Change::ReplicaSet(rs) => self.spread_selectors.set_controller(
                rs.kind.as_str(),
                &rs.meta.namespace,
                &rs.meta.name,
                &rs.selector,
            ),
            Change::ReplicaSetDeleted(rs) => self.spread_selectors.remove_controller(
                rs.kind.as_str(),
                &rs.meta.namespace,
                &rs.meta.name,
            ),
            Change::StatefulSet(ss) => self.spread_selectors.set_controller(
                "StatefulSet",
                &ss.meta.namespace,
                &ss.meta.name,
                &ss.selector,
            ),
            Change::StatefulSetDeleted(ss) => self.spread_selectors.remove_controller(
                "StatefulSet",
                &ss.meta.namespace,
                &ss.meta.name,
            ),
            Change::Service(svc) => self.spread_selectors.set_service(
                &svc.meta.namespace,
                &svc.meta.name,
                svc.selector.as_ref(),
            ),
            Change::ServiceDeleted(svc) => self
                .spread_selectors
                .remove_service(&svc.meta.namespace, &svc.meta.name),
            Change::Lease(_)
            | Change::Job(_)
            | Change::JobDeleted(_)
            | Change::CronJob(_)
            | Change::CronJobDeleted(_)
            | Change::LeasePlan { .. }
            | Change::EndpointSlice(_)
            | Change::EndpointSliceDeleted(_)
            | Change::Deployment(_)
            | Change::DeploymentDeleted(_)
            | Change::DaemonSet(_)
            | Change::Namespace(_)
            | Change::NamespaceDeleted(_)
            | Change::NamespacedObject(_)
            | Change::NamespacedObjectDeleted(_)
            | Change::DaemonSetDeleted(_) => {}
            Change::PodDisruptionBudget(b) => {
                self.pdbs.insert(b.key(), b);
                self.pdb_list = self.pdbs.values().cloned().collect();
            }
            Change::PodDisruptionBudgetDeleted(b) => {
                self.pdbs.remove(&b.key());
                self.pdb_list = self.pdbs.values().cloned().collect();
            }
        }
    }

    pub(super) fn on_pod(&mut self, ctx: &mut dyn Ctx<Event>, p: Arc<Pod>) {
        let key = p.key();
        // kube-scheduler's pod informer selects `status.phase!=Succeeded,status.phase!=Failed`:
        // a pod that reaches a terminal phase leaves its view as if deleted, and frees its node.
        if p.status.phase.is_terminal() {
            self.pending.remove(&key);
            self.forget_queued(&key);
            if self.unassign(&key) {
                self.move_on(ctx, &ClusterEvent::AssignedPodDelete);
            }
            return;
        }
        match &p.spec.node_name {
            Some(node) => {
                self.pending.remove(&key);
                self.forget_queued(&key);
                // A later version of an assigned pod (terminating, relabelled) replaces the
                // one the node info holds; one that changes nothing the cache counts (a
                // kubelet status write) just takes its place.
                if !self.replace_unchanged(&key, node, &p) {
                    self.unassign(&key);
                    self.assign(&key, node, &p);
                }
            }
            None => {
                if p.is_terminating() || self.profile_index(&p).is_none() {
                    return;
                }
                let new = self.pending.insert(key.clone(), p).is_none();
                if new {
                    self.push_active(ctx, &key);
                }
            }
        }
    }

    pub(super) fn upsert_node(&mut self, n: Arc<Node>) {
        match self.slot_of.get(n.meta.name.as_str()) {
            Some(&slot) => {
                if let Some(info) = self.slots[slot].as_mut() {
                    // Spread counts are by label value: only a label change invalidates them.
                    if info.node.meta.labels != n.meta.labels {
                        self.spread_index.clear();
                        self.ipa_index.clear();
                        self.affinity_memo.forget(slot);
                    }
                    if info.node.spec.taints != n.spec.taints
                        || info.node.spec.unschedulable != n.spec.unschedulable
                    {
                        self.taint_memo.forget(slot);
                    }
                    if info.node.status.images == n.status.images {
                        // The image map is a function of `status.images`: keep it.
                        info.node = n;
                    } else {
                        // ImageLocality's spreads may move: it is not memoised (its
                        // score is read from the counts and size columns every cycle).
                        count_images(&mut self.image_nodes, info, -1);
                        self.image_sizes.set(info, slot, false);
                        info.set_node(n);
                        count_images(&mut self.image_nodes, info, 1);
                        self.image_sizes.set(info, slot, true);
                    }
                    self.hot.set(slot, hot::HotNode::of(info));
                    self.memo[slot] = framework::Memo::default();
                }
            }
            None => {
                let slot = self.slots.len();
                let zone = n.zone_key();
                match self.zones.iter_mut().find(|(z, _)| *z == zone) {
                    Some((_, list)) => list.push(slot),
                    None => self.zones.push((zone, vec![slot])),
                }
                self.order_dirty = true;
                self.slot_of.insert(n.meta.name.clone(), slot);
                let info = NodeInfo::new(n);
                count_images(&mut self.image_nodes, &info, 1);
                self.image_sizes.set(&info, slot, true);
                self.hot.push(hot::HotNode::of(&info));
                self.memo.push(framework::Memo::default());
                self.slots.push(Some(info));
                self.spread_index.clear();
                self.ipa_index.clear();
            }
        }
    }

    pub(super) fn assign(&mut self, key: &str, node: &str, pod: &Arc<Pod>) {
        // A pod bound to a node the scheduler has not seen is not counted anywhere.
        let Some(&slot) = self.slot_of.get(node) else {
            return;
        };
        if let Some(info) = self.slots[slot].as_mut() {
            info.add_pod(pod.clone());
            self.hot.set(slot, hot::HotNode::of(info));
            self.memo[slot] = framework::Memo::default();
            self.spread_index.on_pod(slot, pod, 1);
            self.totals.add(pod, 1);
            if self
                .assigned
                .insert(key.to_string(), (slot, pod.clone()))
                .is_some()
            {
                self.assigned_once = false;
            }
            self.ipa_index.on_pod(&self.slots, slot, pod, 1);
        }
    }

    /// `unassign` + `assign` for a later version of an assigned pod that stays on the same
    /// node and changes nothing the cache computes from it (`same_for_cache`): the new version
    /// moves to the end of the node info's pods, as the pair would put it, and the totals,
    /// indexes, columns and score memo stay as they are (the pair would leave them equal).
    /// False, with nothing changed, when the pair is needed.
    pub(super) fn replace_unchanged(&mut self, key: &str, node: &str, pod: &Arc<Pod>) -> bool {
        let by_pointer = self.assigned_once;
        let Some((slot, held)) = self.assigned.get_mut(key) else {
            return false;
        };
        if self.slot_of.get(node) != Some(slot) {
            return false;
        }
        let Some(info) = self.slots[*slot].as_mut() else {
            return false;
        };
        let Some(i) = position_of(info, key, held, by_pointer) else {
            return false;
        };
        if !same_for_cache(&info.pods[i], pod) {
            return false;
        }
        info.pods.remove(i);
        info.pods.push(pod.clone());
        *held = pod.clone();
        true
    }

    pub(super) fn unassign(&mut self, key: &str) -> bool {
        let Some((slot, held)) = self.assigned.remove(key) else {
            return false;
        };
        if let Some(info) = self.slots[slot].as_mut() {
            let at = position_of(info, key, &held, self.assigned_once);
            if let Some(old) = at.map(|i| info.remove_pod_at(i)) {
                self.hot.set(slot, hot::HotNode::of(info));
                self.memo[slot] = framework::Memo::default();
                self.spread_index.on_pod(slot, &old, -1);
                self.totals.add(&old, -1);
                self.ipa_index.on_pod(&self.slots, slot, &old, -1);
            }
        }
        true
    }

    // ----- for the bench: the cache without the engine and API server -----

    /// Adds a node to the cache (as a watch notification would).
    pub fn bench_add_node(&mut self, n: Arc<Node>) {
        self.upsert_node(n);
    }

    /// Puts a pod on a node in the cache (an assumed or existing pod).
    pub fn bench_assume(&mut self, pod: &Arc<Pod>, node: &str) {
        let key = pod.key();
        self.assign(&key, node, pod);
    }

    /// Turns the PodTopologySpread count cache, the InterPodAffinity index and the flat columns off (`false`: the plain,
    /// unoptimised evaluation the bench checks placements against) or on.
    pub fn set_optimised(&mut self, on: bool) {
        self.use_spread_index = on;
        self.use_ipa_index = on;
        self.use_hot = on;
    }
}

/// Where in `info.pods` the assigned pod `key` is: the first pod with that key (what
/// `NodeInfo::remove_pod` finds), found by pointer to `held` (the version `assigned` holds)
/// while `Scheduler::assigned_once` says that is the same pod.
fn position_of(info: &NodeInfo, key: &str, held: &Arc<Pod>, by_pointer: bool) -> Option<usize> {
    if by_pointer {
        let i = info.pods.iter().position(|p| Arc::ptr_eq(p, held));
        debug_assert_eq!(i, info.pods.iter().position(|p| p.has_key(key)));
        i
    } else {
        info.pods.iter().position(|p| p.has_key(key))
    }
}

/// Whether `new`, a later version of the assigned pod `old`, leaves everything the cache
/// computes from a pod as it is: `NodeInfo::add_pod` (requests, affinity counts, host ports),
/// `PodTotals::add`, `HotNode::of`, the spread index (namespace, labels, deletion) and the
/// affinity index (namespace, labels, terms) read the spec and these metadata only; the GPU
/// plugins read the annotations. Status (preemption's start time) is read from the node
/// info's pod at decision time. Pods with host ports or pod (anti-)affinity terms are left to
/// `unassign` + `assign`: those move their port entries and sole-owner affinity groups to the
/// end of their lists.
fn same_for_cache(old: &Pod, new: &Pod) -> bool {
    old.meta.uid == new.meta.uid
        && old.meta.namespace == new.meta.namespace
        && old.meta.name == new.meta.name
        && old.meta.deletion_timestamp == new.meta.deletion_timestamp
        && old.meta.labels == new.meta.labels
        && old.meta.annotations == new.meta.annotations
        && old.meta.owner_references == new.meta.owner_references
        && old.spec == new.spec
        && !super::plugins::has_pod_affinity(new)
        && !crate::model::predicates::has_host_ports(new)
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::super::SchedulerConfig;
    use super::*;
    use crate::sim::SimTime;

    /// Two nodes in two zones, three `app=web` pods on `a` and one on `b`, with the spread
    /// and affinity indexes built.
    fn cache() -> (Scheduler, Vec<Arc<Pod>>) {
        let mut s = Scheduler::new(SchedulerConfig::default(), 7);
        s.bench_add_node(Arc::new(label(node("a", 4000, 8 << 30, &[]), "zone", "z1")));
        s.bench_add_node(Arc::new(label(node("b", 4000, 8 << 30, &[]), "zone", "z2")));
        let mut pods = Vec::new();
        for (name, n) in [("p1", "a"), ("p2", "a"), ("p3", "a"), ("p4", "b")] {
            let p = labels(
                pod(name, &[&[("cpu", 100), ("memory", 1 << 20)]]),
                &[("app", "web")],
            );
            let p = Arc::new(on(p, n));
            s.bench_assume(&p, n);
            pods.push(p);
        }
        s.spread_index
            .ensure("default", &selector(&[("app", "web")]), "zone", &s.slots);
        s.ipa_index.ensure(&pods[0], &s.slots);
        (s, pods)
    }

    fn state(s: &Scheduler) -> String {
        // `assigned` by lookup: the order a LookupMap stores entries in is not observable.
        let assigned: Vec<_> = ["p1", "p2", "p3", "p4", "nope"]
            .iter()
            .map(|n| s.assigned.get(format!("default/{n}").as_str()))
            .collect();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            s.slots, s.hot, s.memo, s.spread_index, s.ipa_index, s.totals, assigned
        )
    }

    #[test]
    fn a_status_only_update_leaves_the_cache_as_unassign_and_assign_would() {
        let (mut fast, pods) = cache();
        let (mut slow, _) = cache();
        let mut running = (*pods[0]).clone();
        running.status.phase = PodPhase::Running;
        running.status.start_time = Some(SimTime::from_secs(3));
        running.meta.resource_version += 1;
        let running = Arc::new(running);
        assert!(fast.replace_unchanged("default/p1", "a", &running));
        slow.unassign("default/p1");
        slow.assign("default/p1", "a", &running);
        assert_eq!(state(&fast), state(&slow));
        // The new version went to the end of the node's pods, as unassign + assign put it.
        let a = fast.slots[0].as_ref().unwrap();
        let keys: Vec<String> = a.pods.iter().map(|p| p.key()).collect();
        assert_eq!(keys, ["default/p2", "default/p3", "default/p1"]);
        assert!(Arc::ptr_eq(&a.pods[2], &running));
    }

    #[test]
    fn a_pod_assigned_twice_is_found_by_key_as_before() {
        let (mut s, pods) = cache();
        assert!(s.assigned_once);
        // A second copy of p1 on `a` (a bind of a pod the cache already holds).
        let again = Arc::new((*pods[0]).clone());
        s.bench_assume(&again, "a");
        assert!(!s.assigned_once);
        // Unassign removes the first pod with the key, as `NodeInfo::remove_pod` does.
        assert!(s.unassign("default/p1"));
        let a = s.slots[0].as_ref().unwrap();
        let keys: Vec<String> = a.pods.iter().map(|p| p.key()).collect();
        assert_eq!(keys, ["default/p2", "default/p3", "default/p1"]);
        assert!(Arc::ptr_eq(&a.pods[2], &again));
    }

    #[test]
    fn an_update_the_cache_counts_takes_the_slow_path() {
        let (mut s, pods) = cache();
        let before = state(&s);
        let mut relabelled = (*pods[1]).clone();
        relabelled.meta.labels.insert("app".into(), "db".into());
        assert!(!s.replace_unchanged("default/p2", "a", &Arc::new(relabelled)));
        let mut terminating = (*pods[1]).clone();
        terminating.meta.deletion_timestamp = Some(SimTime::from_secs(5));
        assert!(!s.replace_unchanged("default/p2", "a", &Arc::new(terminating)));
        let mut resized = (*pods[1]).clone();
        resized.spec.containers[0].requests.cpu_milli = 200;
        assert!(!s.replace_unchanged("default/p2", "a", &Arc::new(resized)));
        // Another node (not a real update, but the pair would move it).
        assert!(!s.replace_unchanged("default/p2", "b", &pods[1]));
        assert!(!s.replace_unchanged("default/nope", "a", &pods[1]));
        assert_eq!(state(&s), before);
    }
}
