//! The node lifecycle controller (reference node-lifecycle §2–4): health records and probe
//! timestamps, Ready→Unknown marking, NoSchedule taints from conditions, NoExecute taints
//! through one rate-limited queue per zone, zone states and master-disruption mode.
//!
//! Invariant: every timestamp it keeps is its own clock at observation time, never a kubelet's;
//! it decides only from its informer cache and acts only through API requests, each sent when
//! its `node-controller` client's tokens come (`nodelifecycle/writes.rs`). Iteration is in name
//! order (nodes) and key order (zones), where upstream uses parallel workers and map order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::cache::KcmCache;
use crate::api::ApiServer;
use crate::client::ratelimit::RateLimitedQueue;
use crate::controllers::clients::ControllerClients;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimDuration, SimTime};

#[derive(Clone, Debug)]
pub struct NodeLifecycleConfig {
    pub node_monitor_period: SimDuration,
    pub node_monitor_grace_period: SimDuration,
    pub node_startup_grace_period: SimDuration,
    pub node_eviction_rate: f32,
    pub secondary_node_eviction_rate: f32,
    pub unhealthy_zone_threshold: f32,
    pub large_cluster_size_threshold: i32,
    /// ≥ 1.34 (#120816): NoExecute tainting decided from the current (just written) Ready
    /// condition; before, from the one observed at the start of the pass (one pass later).
    pub taint_from_current_condition: bool,
    /// Monitor passes skip steady nodes (`nodelifecycle/lazy.rs`); off: every node, every
    /// pass (the same decisions, for tests).
    pub lazy_monitor: bool,
}

/// `NodeEvictionPeriod`: the NoExecute tainting loop period.
pub const NODE_EVICTION_PERIOD: SimDuration = SimDuration::from_millis(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    Initial,
    Normal,
    PartialDisruption,
    FullDisruption,
}

impl ZoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Initial => "Initial",
            ZoneState::Normal => "Normal",
            ZoneState::PartialDisruption => "PartialDisruption",
            ZoneState::FullDisruption => "FullDisruption",
        }
    }
}

/// `ComputeZoneState` (reference §3.1): float32 ratio, at least 3 not-ready for Partial.
pub fn compute_zone_state(conds: &[Option<ConditionStatus>], threshold: f32) -> ZoneState {
    let ready = conds
        .iter()
        .filter(|c| **c == Some(ConditionStatus::True))
        .count();
    zone_state_of(ready, conds.len() - ready, threshold)
}

/// `ComputeZoneState` from the counts of Ready and not-Ready nodes.
fn zone_state_of(ready: usize, not_ready: usize, threshold: f32) -> ZoneState {
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && (not_ready as f32) / ((ready + not_ready) as f32) >= threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// What the controller keeps of a Ready condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SavedReady {
    status: ConditionStatus,
    last_heartbeat_time: SimTime,
    last_transition_time: SimTime,
}

impl SavedReady {
    fn of(c: &NodeCondition) -> SavedReady {
        SavedReady {
            status: c.status,
            last_heartbeat_time: c.last_heartbeat_time,
            last_transition_time: c.last_transition_time,
        }
    }
}

#[derive(Clone, Debug)]
struct HealthRecord {
    probe: SimTime,
    ready_transition: SimTime,
    /// The Ready condition as last saved (None: the node had none).
    saved_ready: Option<SavedReady>,
    /// The newest lease renewTime observed.
    lease_renew: Option<SimTime>,
    /// The node object the zone id and exclusion were read from, the zone id, and whether the
    /// node is excluded from disruption checks (recomputed only when the object changes).
    seen: Option<(Arc<Node>, usize, bool)>,
    /// The zone id of the queue whose set the node was last added to (mirrors the queue: a
    /// name leaves a set only through `markNodeAsReachable`, which clears this), so healthy
    /// nodes skip the queues and a tainted node's repeated `Add` (a no-op) is not searched.
    queued: Option<usize>,
}

/// What a pass needs of one node after `tryUpdateNodeHealth`.
struct Observed {
    observed: Option<ConditionStatus>,
    current: Option<ConditionStatus>,
    node: Arc<Node>,
    zone: usize,
    excluded: bool,
    queued: Option<usize>,
}

pub struct NodeLifecycleController {
    config: NodeLifecycleConfig,
    /// Health records by node uid (dense slots found by hash: a pass looks every node up).
    records: UidMap<HealthRecord>,
    known: BTreeSet<String>,
    /// The cache's node-set version when `known` was last reconciled with it.
    known_version: Option<u64>,
    zone_states: BTreeMap<String, ZoneState>,
    zone_queues: BTreeMap<String, RateLimitedQueue>,
    /// Per node uid: the object its zone was computed from, and the zone's id.
    zone_cache: UidMap<(Arc<Node>, usize)>,
    /// Zone keys by id (ids are dense, in order of first sight) and ids by key.
    zone_names: Vec<String>,
    zone_ids: BTreeMap<String, usize>,
    /// `nodesToRetry`: nodes whose pods could not all be marked NotReady; retried next pass.
    nodes_to_retry: BTreeSet<String>,
    /// The `node_collector_*` figures (read by observers only).
    metrics: metrics::ZoneMetrics,
    /// Which nodes a pass visits (`nodelifecycle/lazy.rs`).
    lazy: lazy::Lazy,
    /// Nodes some of whose pods' NotReady updates failed in this pass (`writes.rs`).
    mark_failed: BTreeSet<String>,
    /// Node uids whose deferred status write failed in this pass: their later steps are
    /// skipped, as upstream's worker skips the node.
    pass_failed: BTreeSet<u64>,
    /// Nodes whose NoSchedule taint update waits for its tokens (the NoSchedule workqueue
    /// holds a node once).
    noschedule_pending: BTreeSet<String>,
    /// The monitor pass's requests on the `node-controller` client (`writes.rs`).
    stream: writes::Stream,
}

/// `isNodeExcludedFromDisruptionChecks` (reference §7.3 N3): only the label counts; the
/// legacy `master` name rule is gone.
pub fn is_node_excluded_from_disruption_checks(node: &Node) -> bool {
    node.meta.labels.contains_key(LABEL_EXCLUDE_DISRUPTION)
}

use taints::swap_noexecute_taint;
use uidmap::UidMap;
use writes::Writes;

pub(super) const CALLER: Caller = Caller::ControllerManager;

fn node_record(ctx: &mut dyn Ctx<Event>, reason: &'static str, node: &Node, message: String) {
    ctx.record(Record {
        t: ctx.now(),
        reason,
        source: "node-controller",
        object: format!("Node/{}", node.meta.name),
        message,
        fields: vec![("zone", node.zone_label())],
    });
}

impl NodeLifecycleController {
    pub fn new(config: NodeLifecycleConfig) -> Self {
        NodeLifecycleController {
            config,
            records: UidMap::default(),
            known: BTreeSet::new(),
            known_version: None,
            zone_states: BTreeMap::new(),
            zone_queues: BTreeMap::new(),
            zone_cache: UidMap::default(),
            zone_names: Vec::new(),
            zone_ids: BTreeMap::new(),
            nodes_to_retry: BTreeSet::new(),
            metrics: metrics::ZoneMetrics::default(),
            lazy: lazy::Lazy::default(),
            mark_failed: BTreeSet::new(),
            pass_failed: BTreeSet::new(),
            noschedule_pending: BTreeSet::new(),
            stream: writes::Stream::default(),
        }
    }

    /// The Ready status the controller saved for the node (its `nodeHealthMap` entry).
    pub fn saved_ready_status(&self, node: &Node) -> Option<ConditionStatus> {
        self.records
            .get(&node.meta.uid)
            .and_then(|r| r.saved_ready.map(|s| s.status))
    }

    /// The zone queue's eviction rate in nodes/s; 0 while the queue is paused.
    pub fn zone_eviction_qps(&self, zone_key: &str) -> Option<f32> {
        self.zone_queues.get(zone_key).map(|q| q.effective_qps())
    }

    /// `processPod` (reference §7.3 N2): a pod added to or updated on a node whose saved Ready
    /// condition is not True is marked NotReady at once; nothing if the node's health has not
    /// been gathered yet or it has no Ready condition.
    pub fn on_pod_update(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        pod: &Arc<Pod>,
    ) {
        let Some(node) = &pod.spec.node_name else {
            return;
        };
        let Some(n) = cache.nodes.get(node) else {
            return;
        };
        match self.saved_ready_status(n) {
            Some(ConditionStatus::True) | None => {}
            Some(_) => {
                let mut w = Writes::new(clients);
                let node = node.clone();
                let pods = std::slice::from_ref(pod);
                self.mark_pods_not_ready(&mut w, ctx, api, cache, pods, &node, false);
            }
        }
    }

    pub fn config(&self) -> &NodeLifecycleConfig {
        &self.config
    }

    pub fn zone_state(&self, zone_key: &str) -> Option<ZoneState> {
        self.zone_states.get(zone_key).copied()
    }

    pub fn zone_states(&self) -> &BTreeMap<String, ZoneState> {
        &self.zone_states
    }

    /// The node's zone id, recomputed only when the Node object changed (labels are read
    /// from the cached object; most passes see the same object as the last one).
    fn zone_id(&mut self, node: &Arc<Node>) -> usize {
        match self.zone_cache.get(&node.meta.uid) {
            Some((seen, id)) if Arc::ptr_eq(seen, node) => *id,
            _ => {
                let id = self.intern_zone_of(node);
                self.zone_cache.insert(node.meta.uid, (node.clone(), id));
                id
            }
        }
    }

    /// The node's zone id: a few zones are matched against the node's labels without
    /// building its key (the id is the same either way: the first-seen order).
    fn intern_zone_of(&mut self, node: &Node) -> usize {
        if self.zone_names.len() <= 32 {
            let parts = node.zone_parts();
            if let Some(id) = self.zone_names.iter().position(|k| zone_key_is(k, parts)) {
                return id;
            }
        }
        self.intern_zone(node.zone_key())
    }

    fn intern_zone(&mut self, key: String) -> usize {
        match self.zone_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.zone_names.len();
                self.zone_names.push(key.clone());
                self.zone_ids.insert(key, id);
                id
            }
        }
    }

    fn zone_of(&mut self, node: &Arc<Node>) -> String {
        let id = self.zone_id(node);
        self.zone_names[id].clone()
    }

    fn ensure_zone(&mut self, zone: &str) {
        if !self.zone_states.contains_key(zone) {
            self.zone_states
                .insert(zone.to_string(), ZoneState::Initial);
            self.zone_queues
                .entry(zone.to_string())
                .or_insert_with(|| RateLimitedQueue::new(self.config.node_eviction_rate));
        }
    }

    /// New nodes are registered (`RegisteredNode`, no NLC taints); vanished ones forgotten.
    fn reconcile_known(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        nodes: &[Arc<Node>],
    ) {
        for n in nodes {
            let name = &n.meta.name;
            if !self.known.contains(name) {
                self.known.insert(name.clone());
                self.ensure_zone(&n.zone_key());
                node_record(
                    ctx,
                    "RegisteredNode",
                    n,
                    format!("Registered Node {name} in Controller"),
                );
                self.mark_node_as_reachable(w, ctx, api, cache, n);
            }
        }
        // Every cached node is known now, so some known node is gone only if the counts differ.
        if self.known.len() == nodes.len() {
            return;
        }
        let present: BTreeMap<&String, u64> =
            nodes.iter().map(|n| (&n.meta.name, n.meta.uid)).collect();
        let gone: Vec<String> = self
            .known
            .iter()
            .filter(|k| !present.contains_key(k))
            .cloned()
            .collect();
        for name in gone {
            self.known.remove(&name);
            // The zone comes from the last object the controller saw of the node.
            let last = self
                .zone_cache
                .first_by_uid(|(n, _)| n.meta.name == name)
                .map(|(n, _)| n.clone());
            let node = last.unwrap_or_else(|| {
                Arc::new(Node {
                    meta: ObjectMeta {
                        name: name.clone(),
                        ..Default::default()
                    },
                    ..Default::default()
                })
            });
            node_record(
                ctx,
                "RemovingNode",
                &node,
                format!("Removing Node {name} from Controller"),
            );
        }
        let live: BTreeSet<u64> = present.values().copied().collect();
        self.records.retain(|uid| live.contains(&uid));
        self.zone_cache.retain(|uid| live.contains(&uid));
    }

    /// `tryUpdateNodeHealth` (reference §2.3). Returns (observed Ready, current Ready, node).
    fn try_update_node_health(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        lease: Option<SimTime>,
        node: &Arc<Node>,
    ) -> Option<Observed> {
        let now = ctx.now();
        let name = node.meta.name.as_str();
        let uid = node.meta.uid;
        let cur = node.ready().map(SavedReady::of);
        let (observed, grace) = match &cur {
            None => (
                Some(ConditionStatus::Unknown),
                self.config.node_startup_grace_period,
            ),
            Some(c) => (Some(c.status), self.config.node_monitor_grace_period),
        };
        let rec = self.record_health(node, cur, lease, now);
        let expired = now > rec.probe + grace;
        let queued = rec.queued;
        let seen = match &rec.seen {
            Some((obj, zone, excluded)) if Arc::ptr_eq(obj, node) => Some((*zone, *excluded)),
            _ => None,
        };
        let (zone, excluded) = match seen {
            Some(z) => z,
            None => {
                let zone = self.intern_zone_of(node);
                let excluded = is_node_excluded_from_disruption_checks(node);
                if let Some(rec) = self.records.get_mut(&uid) {
                    rec.seen = Some((node.clone(), zone, excluded));
                }
                (zone, excluded)
            }
        };
        if !expired {
            return Some(Observed {
                observed,
                current: cur.map(|c| c.status),
                node: node.clone(),
                zone,
                excluded,
                queued,
            });
        }
        // Grace expired: Ready and the pressure conditions become Unknown. A node already
        // Unknown keeps its Ready condition as it is: no write (and no copy to find out).
        if node
            .ready()
            .is_some_and(|c| c.status == ConditionStatus::Unknown)
        {
            return Some(Observed {
                observed,
                current: Some(ConditionStatus::Unknown),
                node: node.clone(),
                zone,
                excluded,
                queued,
            });
        }
        let updated = mark_unknown(node, now);
        let new_ready = updated.ready().cloned();
        if new_ready.as_ref().map(|c| (c.status, &c.reason))
            == node.ready().map(|c| (c.status, &c.reason))
        {
            return Some(Observed {
                observed,
                current: new_ready.map(|c| c.status),
                node: node.clone(),
                zone,
                excluded,
                queued,
            });
        }
        let conditions = updated.status.conditions.clone();
        if !(self.stream.idle() && w.token_free(now)) {
            // The status write waits for its token: the node's later steps follow it, decided
            // now as if it succeeds (a failure skips them, as upstream skips the node).
            let name = name.to_string();
            w.send(
                self,
                ctx,
                api,
                cache,
                1,
                Box::new(move |nlc, ctx, api, _| {
                    match api.update_node(CALLER, &name, |n| n.status.conditions = conditions) {
                        Ok(written) => {
                            if let Some(rec) = nlc.records.get_mut(&uid) {
                                rec.ready_transition = ctx.now();
                                rec.saved_ready = written.ready().map(SavedReady::of);
                            }
                        }
                        Err(_) => {
                            nlc.pass_failed.insert(uid);
                        }
                    }
                }),
            );
            return Some(Observed {
                observed,
                current: updated.ready_status(),
                node: node.clone(),
                zone,
                excluded,
                queued,
            });
        }
        let _ = w.reserve(now, 1);
        match api.update_node(CALLER, name, |n| n.status.conditions = conditions) {
            Ok(written) => {
                let rec = self.records.get_mut(&uid).expect("exists");
                rec.ready_transition = now;
                rec.saved_ready = written.ready().map(SavedReady::of);
                // The written object differs: its zone is recomputed from it next time.
                Some(Observed {
                    observed,
                    current: written.ready_status(),
                    node: written,
                    zone,
                    excluded,
                    queued,
                })
            }
            // Upstream retries within 100 ms, then skips the node for this pass.
            Err(_) => None,
        }
    }

    /// The health record of a node brought up to date (reference §2.3): created at first
    /// sight, probed again on a new Ready heartbeat or a newer lease renewal.
    fn record_health(
        &mut self,
        node: &Node,
        cur: Option<SavedReady>,
        lease: Option<SimTime>,
        now: SimTime,
    ) -> &mut HealthRecord {
        // First sight: a node without a Ready condition is judged from its creation.
        let start = if cur.is_none() {
            node.meta.creation_timestamp
        } else {
            now
        };
        let (rec, made) = self
            .records
            .get_or_insert_with(node.meta.uid, || HealthRecord {
                probe: start,
                ready_transition: start,
                saved_ready: cur,
                lease_renew: None,
                seen: None,
                queued: None,
            });
        if !made {
            match (rec.saved_ready, cur) {
                // Ready removed (a node without Ready keeps its record, reference §2.3).
                (Some(_), None) => rec.saved_ready = None,
                (None, Some(_)) => {
                    rec.probe = now;
                    rec.ready_transition = now;
                    rec.saved_ready = cur;
                }
                (Some(saved), Some(c)) if saved.last_heartbeat_time != c.last_heartbeat_time => {
                    if saved.last_transition_time != c.last_transition_time {
                        rec.ready_transition = now;
                    }
                    rec.probe = now;
                    rec.saved_ready = cur;
                }
                _ => {}
            }
        }
        if let Some(renew) = lease {
            if rec.lease_renew.is_none_or(|l| l < renew) {
                rec.lease_renew = Some(renew);
                rec.probe = now;
            }
        }
        rec
    }

    /// `processTaintBaseEviction` (reference §2.5): a taint swap, a queue add, or
    /// `markNodeAsReachable`, as steps of the pass's stream.
    #[allow(clippy::too_many_arguments)]
    fn process_taint_based_eviction(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        node: &Arc<Node>,
        status: ConditionStatus,
        queued: Option<usize>,
    ) {
        let (key, other) = match status {
            ConditionStatus::False => (TAINT_NOT_READY, TAINT_UNREACHABLE),
            ConditionStatus::Unknown => (TAINT_UNREACHABLE, TAINT_NOT_READY),
            ConditionStatus::True => {
                // A healthy node that is not queued and carries no NLC taint: nothing to do.
                if queued.is_some()
                    || node.has_taint(TAINT_UNREACHABLE, TaintEffect::NoExecute)
                    || node.has_taint(TAINT_NOT_READY, TaintEffect::NoExecute)
                {
                    self.mark_node_as_reachable(w, ctx, api, cache, node);
                }
                return;
            }
        };
        let uid = node.meta.uid;
        if node.has_taint(other, TaintEffect::NoExecute) {
            let n = node.clone();
            let tokens = writes::swap_tokens(node, key);
            w.send(
                self,
                ctx,
                api,
                cache,
                tokens,
                Box::new(move |nlc, ctx, api, _| {
                    if !nlc.pass_failed.contains(&uid) {
                        swap_noexecute_taint(api, &n.meta.name, key, ctx.now());
                    }
                }),
            );
        } else if self.stream.idle() {
            // A step of no tokens sent while nothing of the stream waits runs inline at once
            // (`writes.rs`): run it here, without boxing it.
            if !self.pass_failed.contains(&uid) {
                self.mark_node_for_tainting(node, key, ctx.now(), queued);
            }
        } else {
            let n = node.clone();
            w.send(
                self,
                ctx,
                api,
                cache,
                0,
                Box::new(move |nlc, ctx, _, _| {
                    if !nlc.pass_failed.contains(&uid) {
                        nlc.mark_node_for_tainting(&n, key, ctx.now(), None);
                    }
                }),
            );
        }
    }

    /// `markNodeForTainting`: a node without the taint is queued again from the back (the
    /// queue's `Remove` and `Add`); one with it is added if it is not in the queue's set.
    /// `queued`: the zone id the node's record is known to say it is queued in already (then
    /// the `Add` of a tainted node is a no-op, and skipped).
    fn mark_node_for_tainting(
        &mut self,
        node: &Arc<Node>,
        key: &str,
        now: SimTime,
        queued: Option<usize>,
    ) {
        let id = self.zone_id(node);
        let tainted = node.has_taint(key, TaintEffect::NoExecute);
        if tainted && queued == Some(id) {
            return;
        }
        if !self.zone_states.contains_key(&self.zone_names[id]) {
            let zone = self.zone_names[id].clone();
            self.ensure_zone(&zone);
        }
        let q = self
            .zone_queues
            .get_mut(&self.zone_names[id])
            .expect("ensured");
        if tainted {
            q.add(&node.meta.name, now);
        } else {
            q.readd(&node.meta.name, now);
        }
        if queued == Some(id) {
            return;
        }
        if let Some(rec) = self.records.get_mut(&node.meta.uid) {
            rec.queued = Some(id);
        }
    }

    /// `handleDisruption` (reference §3.2).
    fn handle_disruption(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        zone_conds: &BTreeMap<String, (usize, usize)>,
        cache: &KcmCache,
        now: SimTime,
    ) {
        let threshold = self.config.unhealthy_zone_threshold;
        self.metrics
            .observe_pass(zone_conds, self.zone_states.keys());
        let new_states: BTreeMap<&String, ZoneState> = zone_conds
            .iter()
            .map(|(z, &(ready, total))| (z, zone_state_of(ready, total - ready, threshold)))
            .collect();
        let all_are_full = new_states.values().all(|s| *s == ZoneState::FullDisruption);
        for z in zone_conds.keys() {
            self.ensure_zone(z);
        }
        // Upstream's loop deletes zones without nodes and `break`s at the first zone not fully
        // disrupted, so a node-less zone after it (in Go's random map order) survives the pass
        // and later reads the zero state of `newZoneStates` (which matches no limiter case).
        // kubesim completes the deletion in this pass: the same outcome as the pass that
        // reaches it first upstream, with no zone left that has no state (found by the swarm,
        // seed 22: a panic on the missing state).
        let mut all_was_full = true;
        let zones: Vec<String> = self.zone_states.keys().cloned().collect();
        for z in zones {
            if !zone_conds.contains_key(&z) {
                self.zone_states.remove(&z);
                continue;
            }
            if self.zone_states[&z] != ZoneState::FullDisruption {
                all_was_full = false;
            }
        }
        if all_are_full && all_was_full {
            return;
        }
        if all_are_full {
            for n in cache.nodes.values() {
                let latest = cacheless_latest(api, n);
                self.mark_node_as_reachable(w, ctx, api, cache, &latest);
            }
            for q in self.zone_queues.values_mut() {
                q.swap_limiter(now, 0.0);
            }
            let zones: Vec<String> = self.zone_states.keys().cloned().collect();
            for z in zones {
                self.set_zone_state(
                    ctx,
                    &z,
                    ZoneState::FullDisruption,
                    "all zones are in full disruption",
                );
            }
            return;
        }
        if all_was_full {
            for rec in self.records.values_mut() {
                rec.probe = now;
                rec.ready_transition = now;
            }
        }
        let zones: Vec<String> = self.zone_states.keys().cloned().collect();
        for z in zones {
            let new = new_states[&z];
            if all_was_full || self.zone_states[&z] != new {
                let size = zone_conds[&z].1;
                self.set_limiter(now, &z, size, new);
                self.set_zone_state(ctx, &z, new, "");
            }
        }
    }

    fn set_limiter(&mut self, now: SimTime, zone: &str, size: usize, state: ZoneState) {
        let c = &self.config;
        let qps = match state {
            ZoneState::Normal | ZoneState::FullDisruption => c.node_eviction_rate,
            ZoneState::PartialDisruption => {
                if size as i64 > c.large_cluster_size_threshold as i64 {
                    c.secondary_node_eviction_rate
                } else {
                    0.0
                }
            }
            ZoneState::Initial => return,
        };
        if let Some(q) = self.zone_queues.get_mut(zone) {
            q.swap_limiter(now, qps);
        }
    }

    fn set_zone_state(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        zone: &str,
        state: ZoneState,
        why: &str,
    ) {
        let old = self.zone_states.insert(zone.to_string(), state);
        if old == Some(state) {
            return;
        }
        let shown = zone_key_display(zone);
        // The rate applied (0 while paused; the paused limiter's QPS() would report 1).
        let qps = self
            .zone_queues
            .get(zone)
            .map(|q| q.effective_qps())
            .unwrap_or(0.0);
        let mut message = format!(
            "Zone {:?} changed from {} to {} (eviction rate {} nodes/s)",
            shown,
            old.map(|s| s.as_str()).unwrap_or("none"),
            state.as_str(),
            qps
        );
        if !why.is_empty() {
            message.push_str(&format!(": {why}"));
        }
        ctx.record(Record {
            t: ctx.now(),
            reason: "ZoneStateChanged",
            source: "node-controller",
            object: format!("Zone/{shown}"),
            message,
            fields: vec![
                ("zone", shown.clone()),
                ("state", state.as_str().to_string()),
            ],
        });
    }

    /// A zone's NoExecute queue length and its bucket's tokens at `now` (for the time series).
    pub fn zone_queue(&self, zone_key: &str, now: SimTime) -> Option<(usize, f64)> {
        self.zone_queues
            .get(zone_key)
            .map(|q| (q.queued(), q.tokens_at(now)))
    }

    /// Nodes in the NoExecute queues (for the time series).
    /// The `node_collector_*` figures per zone (metrics.om).
    pub fn zone_metrics(&self) -> &metrics::ZoneMetrics {
        &self.metrics
    }

    pub fn queued_nodes(&self) -> usize {
        self.zone_queues.values().map(|q| q.queued()).sum()
    }
}

/// The node as the API server has it now (the controller GETs before writing taints).
fn cacheless_latest(api: &ApiServer, node: &Arc<Node>) -> Arc<Node> {
    api.nodes()
        .get(&node.meta.name)
        .cloned()
        .unwrap_or_else(|| node.clone())
}

/// Grace expired: Ready and the pressure conditions become Unknown (`NodeStatusUnknown`, or
/// `NodeStatusNeverUpdated` for one the kubelet never posted).
fn mark_unknown(node: &Node, now: SimTime) -> Node {
    let mut updated = node.clone();
    for t in [
        NodeConditionType::Ready,
        NodeConditionType::MemoryPressure,
        NodeConditionType::DiskPressure,
        NodeConditionType::PIDPressure,
    ] {
        match updated.status.conditions.iter_mut().find(|c| c.type_ == t) {
            None => updated.status.conditions.push(NodeCondition {
                type_: t,
                status: ConditionStatus::Unknown,
                last_heartbeat_time: node.meta.creation_timestamp,
                last_transition_time: now,
                reason: "NodeStatusNeverUpdated".into(),
                message: "Kubelet never posted node status.".into(),
            }),
            Some(c) if c.status != ConditionStatus::Unknown => {
                c.status = ConditionStatus::Unknown;
                c.reason = "NodeStatusUnknown".into();
                c.message = "Kubelet stopped posting node status.".into();
                c.last_transition_time = now;
            }
            Some(_) => {}
        }
    }
    updated
}

mod lazy;
pub mod metrics;
mod taints;
#[cfg(test)]
mod tests;
mod uidmap;
mod writes;
