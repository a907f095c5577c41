//! kube-scheduler: the scheduling queue, one scheduling cycle per event (filter → score →
//! select → bind), the snapshot's zone-interleaved node order with the adaptive
//! `percentageOfNodesToScore` and rotating start index (reference scheduler §3), and leader
//! election.
//!
//! Architecture invariant: plugins are pure functions of (pod, node snapshot); the only
//! randomness is the tie-break among equal top scores, drawn from the scheduler's own stream.
//! The scheduler's view changes only through watch notifications and its own assumed binds.

pub mod bench;
pub mod event;
pub use event::Event;
pub mod cost;
pub mod explain;
pub mod framework;
pub mod hot;
pub mod ipa_index;
pub mod plugins;
pub mod preemption;
pub mod spread_index;
pub mod ties;

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiServer, Change};
use crate::client::leader::{self, LeaderElectionConfig, LeaderElector};
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Ctx, Record, SimDuration, SimTime};
use framework::{Failure, Profile, ScoreTable};
use plugins::*;

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// The profiles, one per `schedulerName` (the first is `default-scheduler` by default).
    pub profiles: Vec<Profile>,
    /// `percentageOfNodesToScore`; 0 = adaptive.
    pub percentage_of_nodes_to_score: u32,
    pub pod_initial_backoff: SimDuration,
    pub pod_max_backoff: SimDuration,
    /// `clientConnection.qps` / `burst` (defaults 50 / 100).
    pub client_qps: f64,
    pub client_burst: u32,
    pub leader_election: LeaderElectionConfig,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            profiles: vec![Profile::default()],
            percentage_of_nodes_to_score: 0,
            pod_initial_backoff: SimDuration::from_secs(1),
            pod_max_backoff: SimDuration::from_secs(10),
            client_qps: 50.0,
            client_burst: 100,
            leader_election: LeaderElectionConfig::default(),
        }
    }
}

const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;
/// `podMaxInUnschedulablePodsDuration`.
const MAX_IN_UNSCHEDULABLE: SimDuration = SimDuration::from_mins(5);
/// Period of the backoff-queue flush.
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(1);

/// `numFeasibleNodesToFind` (reference scheduler §3.2).
pub fn num_feasible_nodes_to_find(n: usize, percentage: u32) -> usize {
    if n < MIN_FEASIBLE_NODES_TO_FIND {
        return n;
    }
    let pct = if percentage == 0 {
        (50usize.saturating_sub(n / 125)).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    } else {
        percentage as usize
    };
    (n * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

#[derive(Clone, Debug)]
struct QueuedInfo {
    attempts: u32,
    last_attempt: SimTime,
    unschedulable_since: Option<SimTime>,
}

pub struct Scheduler {
    config: SchedulerConfig,
    elector: LeaderElector,
    rng: ChaCha8Rng,
    gen: u32,
    leading: bool,
    /// Node infos in slots (a deleted node leaves an empty slot), found by name through
    /// `slot_of`; the hot loop indexes slots directly.
    slots: Vec<Option<NodeInfo>>,
    /// The flat columns of each slot (`hot.rs`), refreshed after every change to the slot.
    hot: hot::Rows,
    /// Per slot, the memoised column part of its score (`framework::Memo`), and the score
    /// inputs the current memo class stands for.
    memo: Vec<framework::Memo>,
    memo_key: Option<MemoKey>,
    memo_class: u64,
    /// `selectHost`'s draws without 64-bit division (`ties.rs`).
    ties: ties::Ties,
    /// NodeAffinity's required verdicts per slot for the last pod shape (`hot.rs`).
    affinity_memo: hot::AffinityMemo,
    slot_of: BTreeMap<String, usize>,
    /// Zones in order of first appearance, each with its nodes' slots in insertion order.
    zones: Vec<(String, Vec<usize>)>,
    /// The snapshot's zone-interleaved node list, as slots.
    order: Vec<usize>,
    order_dirty: bool,
    next_start: usize,
    /// Pods waiting for a node, and where assigned pods are (assumed ones included).
    pending: BTreeMap<String, Arc<Pod>>,
    /// Slot of each assigned pod.
    assigned: BTreeMap<String, usize>,
    /// Image name → nodes that have it (ImageLocality).
    image_nodes: BTreeMap<String, usize>,
    /// Services, ReplicationControllers, ReplicaSets and StatefulSets, for default spreading
    /// (PodTopologySpread's `helper.DefaultSelector`).
    spread_selectors: pod_topology_spread::SelectorSources,
    /// Reused score buffers.
    table: ScoreTable,
    feasible: Vec<usize>,
    spread_index: spread_index::SpreadIndex,
    /// InterPodAffinity's kept counts (`ipa_index.rs`).
    ipa_index: ipa_index::IpaIndex,
    /// Pods nominated to a node by preemption: pod key → node name.
    nominated: BTreeMap<String, String>,
    /// PodDisruptionBudgets by key, for preemption's violation counts (upstream's pdbLister).
    pdbs: BTreeMap<String, Arc<crate::model::PodDisruptionBudget>>,
    pdb_list: Vec<Arc<crate::model::PodDisruptionBudget>>,
    preempt_rng: ChaCha8Rng,
    use_spread_index: bool,
    use_ipa_index: bool,
    /// Filter and score plain pods from the flat columns (off: the plain evaluation).
    use_hot: bool,
    totals: PodTotals,
    /// The virtual time the current cycle occupies the scheduler until (docs/scheduler-model.md).
    busy_until: SimTime,
    /// The client rate limiter's theoretical arrival time (GCRA form of a token bucket).
    limiter_tat: SimTime,
    active: BTreeSet<(Reverse<i32>, SimTime, u64, String)>,
    active_index: BTreeMap<String, (Reverse<i32>, SimTime, u64, String)>,
    info: BTreeMap<String, QueuedInfo>,
    unschedulable: BTreeSet<String>,
    backoff: BTreeSet<(SimTime, String)>,
    backoff_index: BTreeMap<String, SimTime>,
    seq: u64,
    cycle_scheduled: bool,
    last_leftover_flush: SimTime,
}

impl Scheduler {
    pub fn new(config: SchedulerConfig, seed: u64) -> Self {
        Scheduler {
            elector: LeaderElector::new(
                "kube-scheduler",
                Caller::Scheduler,
                config.leader_election.clone(),
                rng::stream(seed, "kube-scheduler/leader-election"),
            ),
            rng: rng::stream(seed, "kube-scheduler/select-host"),
            config,
            gen: 0,
            leading: false,
            slots: Vec::new(),
            hot: hot::Rows::default(),
            memo: Vec::new(),
            memo_key: None,
            memo_class: 0,
            ties: ties::Ties::default(),
            affinity_memo: hot::AffinityMemo::default(),
            slot_of: BTreeMap::new(),
            zones: Vec::new(),
            order: Vec::new(),
            order_dirty: false,
            next_start: 0,
            pending: BTreeMap::new(),
            assigned: BTreeMap::new(),
            image_nodes: BTreeMap::new(),
            spread_selectors: Default::default(),
            table: ScoreTable::default(),
            feasible: Vec::new(),
            spread_index: spread_index::SpreadIndex::default(),
            ipa_index: ipa_index::IpaIndex::default(),
            nominated: BTreeMap::new(),
            pdbs: BTreeMap::new(),
            pdb_list: Vec::new(),
            preempt_rng: rng::stream(seed, "kube-scheduler/preemption"),
            use_spread_index: true,
            use_ipa_index: true,
            use_hot: true,
            totals: PodTotals::default(),
            busy_until: SimTime::ZERO,
            limiter_tat: SimTime::ZERO,
            active: BTreeSet::new(),
            active_index: BTreeMap::new(),
            info: BTreeMap::new(),
            unschedulable: BTreeSet::new(),
            backoff: BTreeSet::new(),
            backoff_index: BTreeMap::new(),
            seq: 0,
            cycle_scheduled: false,
            last_leftover_flush: SimTime::ZERO,
        }
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    pub fn pending_pods(&self) -> usize {
        self.pending.len()
    }

    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.elector.enabled() {
            ctx.schedule_in(SimDuration::ZERO, Event::SchedulerLeaderTick { gen: 0 });
        } else {
            self.begin_term(ctx);
        }
    }

    pub fn on_leader_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let (outcome, next) = self.elector.tick(ctx.now(), api);
        if let Some(r) = self
            .elector
            .record(&outcome, ctx.now(), "default-scheduler")
        {
            ctx.record(r);
        }
        match outcome {
            leader::Outcome::Acquired => {
                self.begin_term(ctx);
            }
            leader::Outcome::Lost => {
                self.leading = false;
                self.gen += 1;
                self.cycle_scheduled = false;
            }
            leader::Outcome::Nothing => {}
        }
        ctx.schedule_in(next, Event::SchedulerLeaderTick { gen: 0 });
    }

    /// A new term: the queue is rebuilt from the cache (every pending pod is active again).
    fn begin_term(&mut self, ctx: &mut dyn Ctx<Event>) {
        self.leading = true;
        self.gen += 1;
        self.active.clear();
        self.active_index.clear();
        self.unschedulable.clear();
        self.backoff.clear();
        self.backoff_index.clear();
        self.info.clear();
        let keys: Vec<String> = self.pending.keys().cloned().collect();
        for k in keys {
            self.push_active(ctx, &k);
        }
        self.last_leftover_flush = ctx.now();
        ctx.schedule_in(FLUSH_PERIOD, Event::SchedulerFlush { gen: self.gen });
    }

    fn push_active(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let Some(pod) = self.pending.get(key) else {
            return;
        };
        if self.active_index.contains_key(key) {
            return;
        }
        self.seq += 1;
        let entry = (
            Reverse(pod.spec.priority),
            ctx.now(),
            self.seq,
            key.to_string(),
        );
        self.active.insert(entry.clone());
        self.active_index.insert(key.to_string(), entry);
        if self.leading && !self.cycle_scheduled {
            self.cycle_scheduled = true;
            let wait = self.busy_until.saturating_since(ctx.now());
            ctx.schedule_in(wait, Event::SchedulerCycle { gen: self.gen });
        }
    }

    fn forget_queued(&mut self, key: &str) {
        if let Some(e) = self.active_index.remove(key) {
            self.active.remove(&e);
        }
        self.unschedulable.remove(key);
        if let Some(t) = self.backoff_index.remove(key) {
            self.backoff.remove(&(t, key.to_string()));
        }
        self.info.remove(key);
        self.nominated.remove(key);
    }

    fn push_backoff(&mut self, expiry: SimTime, key: String) {
        if let Some(old) = self.backoff_index.insert(key.clone(), expiry) {
            self.backoff.remove(&(old, key.clone()));
        }
        self.backoff.insert((expiry, key));
    }

    fn backoff_duration(&self, attempts: u32) -> SimDuration {
        let mut d = self.config.pod_initial_backoff;
        for _ in 1..attempts {
            d = d + d;
            if d >= self.config.pod_max_backoff {
                return self.config.pod_max_backoff;
            }
        }
        d.min(self.config.pod_max_backoff)
    }

    /// A cluster event that may make unschedulable pods schedulable: move them to backoff or
    /// active (`MoveAllToActiveOrBackoffQueue`).
    fn move_all_unschedulable(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        let keys: Vec<String> = std::mem::take(&mut self.unschedulable)
            .into_iter()
            .collect();
        for k in keys {
            let Some(info) = self.info.get(&k) else {
                continue;
            };
            let expiry = info.last_attempt + self.backoff_duration(info.attempts);
            if expiry > now {
                self.push_backoff(expiry, k);
            } else {
                self.push_active(ctx, &k);
            }
        }
    }

    pub fn on_flush(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        while let Some((t, k)) = self.backoff.iter().next().cloned() {
            if t > now {
                break;
            }
            self.backoff.remove(&(t, k.clone()));
            self.backoff_index.remove(&k);
            self.push_active(ctx, &k);
        }
        if now.since(self.last_leftover_flush) >= SimDuration::from_secs(30) {
            self.last_leftover_flush = now;
            let stale: Vec<String> = self
                .unschedulable
                .iter()
                .filter(|k| {
                    self.info
                        .get(*k)
                        .and_then(|i| i.unschedulable_since)
                        .is_some_and(|s| now.since(s) >= MAX_IN_UNSCHEDULABLE)
                })
                .cloned()
                .collect();
            for k in stale {
                self.unschedulable.remove(&k);
                self.push_active(ctx, &k);
            }
        }
        ctx.schedule_in(FLUSH_PERIOD, Event::SchedulerFlush { gen: self.gen });
    }

    // ----- informer -----

    pub fn on_watch(&mut self, ctx: &mut dyn Ctx<Event>, change: Change) {
        match change {
            Change::Node(n) => {
                self.upsert_node(n);
                self.move_all_unschedulable(ctx);
            }
            Change::NodeDeleted(n) => {
                self.spread_index.clear();
                self.ipa_index.clear();
                let name = &n.meta.name;
                if let Some(slot) = self.slot_of.remove(name) {
                    self.hot.set(slot, hot::HotNode::default());
                    self.affinity_memo.forget(slot);
                    self.memo[slot] = framework::Memo::default();
                    if let Some(info) = self.slots[slot].take() {
                        count_images(&mut self.image_nodes, &info, -1);
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
                    self.move_all_unschedulable(ctx);
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

    fn on_pod(&mut self, ctx: &mut dyn Ctx<Event>, p: Arc<Pod>) {
        let key = p.key();
        // kube-scheduler's pod informer selects `status.phase!=Succeeded,status.phase!=Failed`:
        // a pod that reaches a terminal phase leaves its view as if deleted, and frees its node.
        if p.status.phase.is_terminal() {
            self.pending.remove(&key);
            self.forget_queued(&key);
            if self.unassign(&key) {
                self.move_all_unschedulable(ctx);
            }
            return;
        }
        match &p.spec.node_name {
            Some(node) => {
                self.pending.remove(&key);
                self.forget_queued(&key);
                // A later version of an assigned pod (terminating, relabelled) replaces the
                // one the node info holds.
                self.unassign(&key);
                self.assign(&key, node, &p);
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

    fn upsert_node(&mut self, n: Arc<Node>) {
        let name = n.meta.name.clone();
        match self.slot_of.get(&name) {
            Some(&slot) => {
                if let Some(info) = self.slots[slot].as_mut() {
                    // Spread counts are by label value: only a label change invalidates them.
                    if info.node.meta.labels != n.meta.labels {
                        self.spread_index.clear();
                        self.ipa_index.clear();
                        self.affinity_memo.forget(slot);
                    }
                    count_images(&mut self.image_nodes, info, -1);
                    info.set_node(n);
                    count_images(&mut self.image_nodes, info, 1);
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
                self.slot_of.insert(name, slot);
                let info = NodeInfo::new(n);
                count_images(&mut self.image_nodes, &info, 1);
                self.hot.push(hot::HotNode::of(&info));
                self.memo.push(framework::Memo::default());
                self.slots.push(Some(info));
                self.spread_index.clear();
                self.ipa_index.clear();
            }
        }
    }

    fn profile_index(&self, pod: &Pod) -> Option<usize> {
        self.config
            .profiles
            .iter()
            .position(|p| p.scheduler_name == pod.spec.scheduler_name)
    }

    fn assign(&mut self, key: &str, node: &str, pod: &Arc<Pod>) {
        // A pod bound to a node the scheduler has not seen is not counted anywhere.
        let Some(&slot) = self.slot_of.get(node) else {
            return;
        };
        if let Some(info) = self.slots[slot].as_mut() {
            info.add_pod(pod.clone());
            self.hot.set(slot, hot::HotNode::of(info));
            self.memo[slot] = framework::Memo::default();
            self.spread_index.on_pod(&info.node, pod, 1);
            self.totals.add(pod, 1);
            self.assigned.insert(key.to_string(), slot);
            self.ipa_index.on_pod(&self.slots, slot, pod, 1);
        }
    }

    fn unassign(&mut self, key: &str) -> bool {
        let Some(slot) = self.assigned.remove(key) else {
            return false;
        };
        if let Some(info) = self.slots[slot].as_mut() {
            if let Some(old) = info.remove_pod(key) {
                self.hot.set(slot, hot::HotNode::of(info));
                self.memo[slot] = framework::Memo::default();
                self.spread_index.on_pod(&info.node, &old, -1);
                self.totals.add(&old, -1);
                self.ipa_index.on_pod(&self.slots, slot, &old, -1);
            }
        }
        true
    }

    fn rebuild_order(&mut self) {
        if !self.order_dirty {
            return;
        }
        self.order = interleave(&self.zones);
        self.order_dirty = false;
    }

    /// Executes a preemption: victims are deleted gracefully (a `Preempted` event each), lower
    /// priority pods nominated to the node lose their nomination, and the preemptor is
    /// nominated (`status.nominatedNodeName`) and waits as unschedulable for the deletions.
    fn preempt(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        pod: &Pod,
        node: &str,
        victims: &[Arc<Pod>],
    ) {
        let now = ctx.now();
        for v in victims {
            if api.delete_pod(Caller::Scheduler, &v.key(), None).is_ok() {
                ctx.record(Record {
                    t: now,
                    reason: "Preempted",
                    source: "default-scheduler",
                    object: format!("Pod/{}", v.key()),
                    message: format!("Preempted by pod {} on node {node}", pod.meta.uid),
                    fields: vec![("node", node.to_string())],
                });
            }
        }
        let lower: Vec<String> = self
            .nominated
            .iter()
            .filter(|(k, n)| {
                n.as_str() == node
                    && self
                        .pending
                        .get(*k)
                        .is_some_and(|p| p.spec.priority < pod.spec.priority)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in lower {
            self.nominated.remove(&k);
            let _ = api.update_pod(Caller::Scheduler, &k, |p| {
                p.status.nominated_node_name = None
            });
        }
        self.nominated.insert(key.to_string(), node.to_string());
        let n = node.to_string();
        let _ = api.update_pod(Caller::Scheduler, key, |p| {
            p.status.nominated_node_name = Some(n)
        });
    }

    /// `kubesim explain` on the scheduler's own cache: the pod as if it were scheduled now
    /// (a bound pod is taken off its node for the explanation and put back).
    pub fn explain_pod(
        &mut self,
        pod: &Arc<Pod>,
        all_nodes: bool,
        seed: u64,
    ) -> Option<explain::Explanation> {
        let key = pod.key();
        let pi = self.profile_index(pod)?;
        self.rebuild_order();
        let bound_to = self
            .assigned
            .get(&key)
            .and_then(|s| self.slots[*s].as_ref())
            .map(|n| n.node.meta.name.clone());
        self.unassign(&key);
        let mut unbound = (**pod).clone();
        unbound.spec.node_name = None;
        let snap = Snapshot {
            slots: &self.slots,
            order: &self.order,
            image_nodes: &self.image_nodes,
            spread_selectors: &self.spread_selectors,
            spread_index: None,
            ipa_index: None,
            totals: PodTotals::of(self.slots.iter().flatten()),
        };
        let mut r = rng::stream(seed, "kubesim-explain/select-host");
        let e = explain::explain(
            &self.config.profiles[pi],
            &unbound,
            &snap,
            all_nodes,
            &mut r,
        );
        if let Some(n) = bound_to {
            self.assign(&key, &n, pod);
        }
        Some(e)
    }

    // ----- the scheduling cycle -----

    /// Runs one of the scheduler's timers (the cluster has checked its generation).
    pub fn handle(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, ev: Event) {
        match ev {
            Event::SchedulerLeaderTick { .. } => self.on_leader_tick(ctx, api),
            Event::SchedulerCycle { .. } => self.on_cycle(ctx, api),
            Event::SchedulerFlush { .. } => self.on_flush(ctx),
        }
    }

    pub fn on_cycle(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.cycle_scheduled = false;
        if self.active.is_empty() {
            return;
        }
        let now = ctx.now();
        // The client rate limit (clientConnection qps/burst): a cycle that may bind waits for
        // a token.
        if let Some(wait) = self.token_wait(now) {
            self.cycle_scheduled = true;
            ctx.schedule_in(wait, Event::SchedulerCycle { gen: self.gen });
            return;
        }
        let Some(entry) = self.active.iter().next().cloned() else {
            return;
        };
        self.active.remove(&entry);
        self.active_index.remove(&entry.3);
        let key = entry.3;
        let mut cost = SimDuration::ZERO;
        if let Some(pod) = self.pending.get(&key).cloned() {
            let (stats, bound) = self.schedule_one(ctx, api, &key, &pod);
            cost = cost::cycle_cost(&stats, has_required_node_affinity(&pod));
            if bound {
                self.take_token(now);
            }
        }
        self.busy_until = now + cost;
        if !self.active.is_empty() {
            self.cycle_scheduled = true;
            ctx.schedule_in(cost, Event::SchedulerCycle { gen: self.gen });
        }
    }

    fn token_interval(&self) -> Option<u64> {
        (self.config.client_qps > 0.0)
            .then(|| (1e9 / self.config.client_qps).round().max(1.0) as u64)
    }

    /// How long until the rate limiter allows a request (None: now).
    fn token_wait(&self, now: SimTime) -> Option<SimDuration> {
        let interval = self.token_interval()?;
        let burst = u64::from(self.config.client_burst.max(1));
        let allow_at = self
            .limiter_tat
            .as_nanos()
            .saturating_sub((burst - 1) * interval);
        (allow_at > now.as_nanos()).then(|| SimDuration::from_nanos(allow_at - now.as_nanos()))
    }

    fn take_token(&mut self, now: SimTime) {
        if let Some(interval) = self.token_interval() {
            let base = self.limiter_tat.max(now);
            self.limiter_tat = base + SimDuration::from_nanos(interval);
        }
    }

    /// Runs one cycle for `pod` and applies it; returns what the cycle did and whether the pod
    /// was bound.
    fn schedule_one(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        pod: &Arc<Pod>,
    ) -> (CycleStats, bool) {
        let now = ctx.now();
        let info = self.info.entry(key.to_string()).or_insert(QueuedInfo {
            attempts: 0,
            last_attempt: now,
            unschedulable_since: None,
        });
        info.attempts += 1;
        info.last_attempt = now;
        let Some((outcome, stats)) = self.decide(key, pod) else {
            return (CycleStats::default(), false);
        };
        let mut bound_ok = false;
        match outcome {
            Outcome::Infeasible {
                message,
                preemption,
            } => {
                ctx.record(Record {
                    t: now,
                    reason: "FailedScheduling",
                    source: "default-scheduler",
                    object: format!("Pod/{key}"),
                    message,
                    fields: vec![],
                });
                if let Some((node, victims)) = preemption {
                    self.preempt(ctx, api, key, pod, &node, &victims);
                }
                self.unschedulable.insert(key.to_string());
                if let Some(i) = self.info.get_mut(key) {
                    i.unschedulable_since.get_or_insert(now);
                }
            }
            Outcome::Feasible { node } => match api.bind_pod(Caller::Scheduler, key, &node) {
                Ok(bound) => {
                    bound_ok = true;
                    self.pending.remove(key);
                    self.forget_queued(key);
                    self.assign(key, &node, &bound);
                    ctx.record(Record {
                        t: now,
                        reason: "Scheduled",
                        source: "default-scheduler",
                        object: format!("Pod/{key}"),
                        message: format!("Successfully assigned {key} to {node}"),
                        fields: vec![("node", node.clone())],
                    });
                }
                Err(_) => {
                    // A failed bind goes back through backoff.
                    let expiry =
                        now + self.backoff_duration(self.info.get(key).map_or(1, |i| i.attempts));
                    self.push_backoff(expiry, key.to_string());
                }
            },
        }
        (stats, bound_ok)
    }

    /// One scheduling cycle's decision for `pod` (reference scheduler §3): PreFilter, the
    /// sampled filter walk from the rotating start (nominated node first), Score and
    /// selectHost, or — when nothing fits — the FitError message and DefaultPreemption's plan.
    /// Mutates only the rotating start, the random streams and the spread-count cache; the
    /// caller binds or requeues. `kubesim run` and `kubesim bench scheduler` both use it.
    pub fn decide(&mut self, key: &str, pod: &Arc<Pod>) -> Option<(Outcome, CycleStats)> {
        self.rebuild_order();
        let pi = self.profile_index(pod)?;
        let profile = &self.config.profiles[pi];
        // Make sure the spread counts this pod's cycle reads are cached.
        let uses_spread = profile
            .filters
            .contains(&framework::Plugin::PodTopologySpread)
            || profile
                .scores
                .iter()
                .any(|(p, _)| *p == framework::Plugin::PodTopologySpread);
        if uses_spread && self.use_spread_index {
            let plain = Snapshot {
                slots: &self.slots,
                order: &self.order,
                image_nodes: &self.image_nodes,
                spread_selectors: &self.spread_selectors,
                spread_index: None,
                ipa_index: None,
                totals: self.totals,
            };
            let keys = pod_topology_spread::filter_keys(pod, &plain, &profile.spread);
            let wanted = pod_topology_spread::index_requests(pod, &plain, &profile.spread);
            for k in keys {
                self.spread_index.ensure_domains(&k, &self.slots);
            }
            for (sel, k) in wanted {
                self.spread_index.ensure(
                    &pod.meta.namespace,
                    &sel,
                    &k,
                    self.slots.iter().flatten(),
                );
            }
        }
        let uses_ipa = profile
            .filters
            .contains(&framework::Plugin::InterPodAffinity)
            || profile
                .scores
                .iter()
                .any(|(p, _)| *p == framework::Plugin::InterPodAffinity);
        if uses_ipa && self.use_ipa_index {
            self.ipa_index.ensure(pod, &self.slots);
        }
        let snap = Snapshot {
            slots: &self.slots,
            order: &self.order,
            image_nodes: &self.image_nodes,
            spread_selectors: &self.spread_selectors,
            spread_index: self.use_spread_index.then_some(&self.spread_index),
            ipa_index: self.use_ipa_index.then_some(&self.ipa_index),
            totals: self.totals,
        };
        let n = snap.len();
        let pct = profile
            .percentage_of_nodes_to_score
            .unwrap_or(self.config.percentage_of_nodes_to_score);
        let to_find = num_feasible_nodes_to_find(n, pct);
        let state = framework::pre_filter(profile, pod, &snap);
        // The feasible list's buffer is reused from cycle to cycle.
        let mut feasible = std::mem::take(&mut self.feasible);
        feasible.clear();
        let mut failures: BTreeMap<Cow<'static, str>, usize> = BTreeMap::new();
        // Nodes whose failure preemption might resolve (not UnschedulableAndUnresolvable).
        let mut potential: Vec<usize> = Vec::new();
        // Pods nominated elsewhere with at least this pod's priority hold their place
        // (reference scheduler §3.3 step 4, "filters run with nominated pods").
        let reserved: Vec<(&str, Arc<Pod>)> = self
            .nominated
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .filter_map(|(k, n)| self.pending.get(k).map(|p| (n.as_str(), p.clone())))
            .filter(|(_, p)| p.spec.priority >= pod.spec.priority)
            .collect();
        let check = |ni: &NodeInfo| -> Result<(), Failure> {
            framework::filter(profile, pod, &state, ni)?;
            let mine: Vec<&Arc<Pod>> = reserved
                .iter()
                .filter(|(n, _)| *n == ni.node.meta.name)
                .map(|(_, p)| p)
                .collect();
            if mine.is_empty() {
                return Ok(());
            }
            framework::filter_with_nominated(profile, pod, &state, ni, &mine)
        };
        // The flat columns decide the plain nodes; the rest, and every node that may fail,
        // go through `check` (the plugins on the node info, with their reasons).
        let plan = self
            .use_hot
            .then(|| hot::FilterPlan::new(profile, pod, &state));
        let reserved_slots: Vec<usize> = reserved
            .iter()
            .filter_map(|(n, _)| self.slot_of.get(*n).copied())
            .collect();
        if plan.as_ref().is_some_and(|p| p.affinity) {
            self.affinity_memo.prepare(pod, self.slots.len());
        }
        // Plain pods whose scores the columns decide pick their node while filtering: each
        // feasible node's total is computed as it is found and `selectHost`'s reservoir runs
        // over the same nodes in the same order, drawing the same numbers (no score vectors,
        // no second pass). Not with a nominated node or reserved places.
        let nominated = self.nominated.contains_key(key);
        let fused = if self.use_hot && !nominated && reserved_slots.is_empty() {
            framework::PlainScorer::new(profile, pod, &state, &snap, self.hot.any_soft_taint())
        } else {
            None
        };
        if fused.is_some() {
            let memo_key = MemoKey::of(pi, &state.req, pod);
            if self.memo_key.as_ref() != Some(&memo_key) {
                self.memo_class += 1;
                self.memo_key = Some(memo_key);
            }
        }
        let memo_class = self.memo_class;
        let (memo, ties, rng) = (&mut self.memo, &mut self.ties, &mut self.rng);
        let mut best: Option<(i64, usize)> = None;
        let mut tied = 0u64;
        let (hot_rows, order, affinity_memo) =
            (self.hot.as_slice(), &self.order, &mut self.affinity_memo);
        let mut check_at = |idx: usize| -> Result<(), Failure> {
            if let Some(plan) = &plan {
                let slot = order[idx];
                if !reserved_slots.contains(&slot)
                    && plan.passes(&hot_rows[slot])
                    && (!plan.spread_by_slot
                        || state
                            .spread
                            .as_ref()
                            .is_some_and(|s| s.by_slot.as_ref().is_some_and(|v| v.passes(slot))))
                {
                    let ni = || snap.get(idx);
                    let affinity_ok = !plan.affinity
                        || affinity_memo
                            .matches(slot, || node_affinity::required_matches(pod, &ni().node));
                    if affinity_ok {
                        // Every filter before a slow one passed (columns, memo, or nothing to
                        // do for this pod), so the first slow failure is `framework::filter`'s.
                        for &p in &plan.slow {
                            framework::filter_one_at(p, profile, pod, &state, slot, ni())?;
                        }
                        return Ok(());
                    }
                }
            }
            check(snap.get(idx))
        };
        // A pod nominated by an earlier preemption tries its node first (§3.3 step 3).
        let nominated_idx = self
            .nominated
            .get(key)
            .and_then(|name| (0..n).find(|&i| snap.get(i).node.meta.name == *name));
        if let Some(i) = nominated_idx.filter(|&i| check(snap.get(i)).is_ok()) {
            feasible.push(i);
        }
        let mut examined = 0;
        // (next_start + i) mod n, advanced without a division per node.
        let mut next_idx = if n > 0 { self.next_start % n } else { 0 };
        for _ in 0..n {
            if !feasible.is_empty() && nominated_idx.is_some() {
                break;
            }
            if feasible.len() >= to_find {
                break;
            }
            examined += 1;
            let idx = next_idx;
            next_idx = if idx + 1 == n { 0 } else { idx + 1 };
            match check_at(idx) {
                Ok(()) => {
                    feasible.push(idx);
                    if let Some(sc) = &fused {
                        let slot = order[idx];
                        let total = sc.total(
                            profile,
                            pod,
                            &snap,
                            &hot_rows[slot],
                            || snap.get(idx),
                            &mut memo[slot],
                            memo_class,
                        );
                        // `Ties::select_host`, one node at a time.
                        match best {
                            Some((b, _)) if total < b => {}
                            Some((b, _)) if total == b => {
                                tied += 1;
                                if ties.draws_zero(rng, tied) {
                                    best = Some((total, idx));
                                }
                            }
                            _ => {
                                best = Some((total, idx));
                                tied = 1;
                            }
                        }
                    }
                }
                Err(Failure {
                    reasons,
                    unresolvable,
                    ..
                }) => {
                    if !unresolvable {
                        potential.push(idx);
                    }
                    for r in reasons {
                        *failures.entry(r).or_insert(0) += 1;
                    }
                }
            }
        }
        if n > 0 {
            self.next_start = (self.next_start + examined) % n;
        }
        let (spread_pods_scanned, affinity_pods_scanned) =
            upstream_scan(pod, &snap, state.spread.is_some());
        let mut stats = CycleStats {
            filtered: examined + usize::from(nominated_idx.is_some()),
            scored: 0,
            spread_pods_scanned,
            affinity_pods_scanned,
        };
        if feasible.is_empty() {
            let message = fit_error_message(n, &failures);
            // PostFilter: DefaultPreemption (reference scheduler §5).
            let mut preemption = None;
            if profile.preemption && !pod.spec.preemption_never {
                let waiting = self.nominated.get(key).is_some_and(|name| {
                    (0..n).any(|i| {
                        let ni = snap.get(i);
                        ni.node.meta.name == *name
                            && ni
                                .pods
                                .iter()
                                .any(|p| p.is_terminating() && p.spec.priority < pod.spec.priority)
                    })
                });
                if !waiting {
                    let nodes: Vec<&NodeInfo> = (0..n).map(|i| snap.get(i)).collect();
                    let cands = preemption::find_candidates(
                        profile,
                        pod,
                        &state,
                        &nodes,
                        &potential,
                        &self.pdb_list,
                        &mut self.preempt_rng,
                    );
                    preemption = preemption::pick_one(&cands).map(|c| {
                        (
                            nodes[cands[c].index].node.meta.name.clone(),
                            cands[c].victims.clone(),
                        )
                    });
                }
            }
            return Some((
                Outcome::Infeasible {
                    message,
                    preemption,
                },
                stats,
            ));
        }
        let chosen = if feasible.len() == 1 {
            feasible[0]
        } else if let Some((_, idx)) = best {
            stats.scored = feasible.len();
            idx
        } else {
            if self.use_hot {
                let slots: Vec<usize> = feasible.iter().map(|&i| self.order[i]).collect();
                let nodes = framework::ScoredNodes::Slots {
                    slots: &slots,
                    hot: self.hot.as_slice(),
                };
                let key = MemoKey::of(pi, &state.req, pod);
                if self.memo_key.as_ref() != Some(&key) {
                    self.memo_class += 1;
                    self.memo_key = Some(key);
                }
                let memo = Some((self.memo.as_mut_slice(), self.memo_class));
                framework::score_nodes(
                    profile,
                    pod,
                    &state,
                    &snap,
                    nodes,
                    &mut self.table,
                    false,
                    memo,
                );
            } else {
                let nodes: Vec<&NodeInfo> = feasible.iter().map(|&i| snap.get(i)).collect();
                framework::score(profile, pod, &state, &snap, &nodes, &mut self.table);
            }
            stats.scored = feasible.len();
            let j = if self.use_hot {
                self.ties.select_host(&self.table.total, &mut self.rng)
            } else {
                select_host(&self.table.total, &mut self.rng)
            };
            feasible[j]
        };
        let node = snap.get(chosen).node.meta.name.clone();
        self.feasible = feasible;
        Some((Outcome::Feasible { node }, stats))
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

/// What the memoised part of a node's score depends on besides the node: the profile, the
/// pod's requests (NodeResourcesFit, BalancedAllocation) and its image count (ImageLocality on
/// nodes without images).
#[derive(Clone, Debug, PartialEq)]
struct MemoKey {
    profile: usize,
    request: Resources,
    non_zero: (i64, i64),
    images: usize,
}

impl MemoKey {
    fn of(profile: usize, req: &PodRequest, pod: &Pod) -> MemoKey {
        MemoKey {
            profile,
            request: req.request.clone(),
            non_zero: (req.non_zero_cpu_milli, req.non_zero_memory),
            images: pod.spec.init_containers.len() + pod.spec.containers.len(),
        }
    }
}

/// Required node affinity or a nodeSelector (the cost model's per-node surcharge).
pub fn has_required_node_affinity(pod: &Pod) -> bool {
    !pod.spec.node_selector.is_empty()
        || pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .is_some_and(|na| na.required.is_some())
}

/// What one scheduling cycle decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Feasible {
        node: String,
    },
    Infeasible {
        /// kube-scheduler's FitError message.
        message: String,
        /// DefaultPreemption's plan: the node and the victims.
        preemption: Option<(String, Vec<Arc<Pod>>)>,
    },
}

/// What one cycle did, for the cost model (docs/scheduler-model.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleStats {
    /// Nodes the filters ran on.
    pub filtered: usize,
    /// Nodes scored (0 when exactly one node was feasible).
    pub scored: usize,
    /// Existing pods kube-scheduler's PodTopologySpread PreFilter/PreScore would walk this
    /// cycle (kubesim reads its cache instead).
    pub spread_pods_scanned: usize,
    /// The same for InterPodAffinity.
    pub affinity_pods_scanned: usize,
}

/// The existing pods upstream's PodTopologySpread and InterPodAffinity walk for this pod: all
/// pods once per PodTopologySpread pass (PreFilter with hard constraints, PreScore with soft or
/// default ones); for InterPodAffinity the pods with required anti-affinity (PreFilter's
/// existing-pod check) plus all pods twice when the pod has terms (PreFilter, PreScore), else
/// the pods that have affinity terms themselves (PreScore).
fn upstream_scan(pod: &Pod, snap: &Snapshot, hard_spread: bool) -> (usize, usize) {
    let total = snap.totals.pods;
    let soft_spread = pod
        .spec
        .topology_spread_constraints
        .iter()
        .any(|c| c.when_unsatisfiable == crate::model::WhenUnsatisfiable::ScheduleAnyway)
        || (pod.spec.topology_spread_constraints.is_empty()
            && pod_topology_spread::default_selector(pod, snap).is_some());
    let spread = total * (usize::from(hard_spread) + usize::from(soft_spread));
    // PreFilter always walks the pods with required anti-affinity (existingAntiAffinityCounts).
    let affinity = snap.totals.with_required_anti_affinity
        + if has_pod_affinity(pod) {
            2 * total
        } else {
            snap.totals.with_affinity
        };
    (spread, affinity)
}

/// The snapshot's node order (reference scheduler §3.1): zones in order of first appearance,
/// interleaved round-robin (1st node of each zone, then the 2nd, …).
pub fn interleave(zones: &[(String, Vec<usize>)]) -> Vec<usize> {
    let mut order = Vec::new();
    let longest = zones.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (_, list) in zones {
            if let Some(n) = list.get(i) {
                order.push(*n);
            }
        }
    }
    order
}

/// A snapshot built from plain objects (explain's `--cluster` files, the bench): node infos
/// in input order with their bound pods, the zone-interleaved order, image counts and the
/// Services and controllers default spreading reads.
pub struct OwnedSnapshot {
    pub slots: Vec<Option<NodeInfo>>,
    pub order: Vec<usize>,
    pub image_nodes: BTreeMap<String, usize>,
    pub spread_selectors: pod_topology_spread::SelectorSources,
}

impl OwnedSnapshot {
    pub fn build(
        nodes: &[Node],
        pods: &[Pod],
        spread_selectors: pod_topology_spread::SelectorSources,
    ) -> OwnedSnapshot {
        let mut slots: Vec<Option<NodeInfo>> = Vec::new();
        let mut slot_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut zones: Vec<(String, Vec<usize>)> = Vec::new();
        let mut image_nodes = BTreeMap::new();
        for n in nodes {
            let slot = slots.len();
            let zone = n.zone_key();
            match zones.iter_mut().find(|(z, _)| *z == zone) {
                Some((_, l)) => l.push(slot),
                None => zones.push((zone, vec![slot])),
            }
            slot_of.insert(n.meta.name.clone(), slot);
            let info = NodeInfo::new(Arc::new(n.clone()));
            count_images(&mut image_nodes, &info, 1);
            slots.push(Some(info));
        }
        for p in pods {
            let Some(n) = &p.spec.node_name else {
                continue;
            };
            if let Some(&s) = slot_of.get(n) {
                if let Some(info) = slots[s].as_mut() {
                    info.add_pod(Arc::new(p.clone()));
                }
            }
        }
        OwnedSnapshot {
            order: interleave(&zones),
            slots,
            image_nodes,
            spread_selectors,
        }
    }

    pub fn view(&self) -> Snapshot<'_> {
        Snapshot {
            slots: &self.slots,
            order: &self.order,
            image_nodes: &self.image_nodes,
            spread_selectors: &self.spread_selectors,
            spread_index: None,
            ipa_index: None,
            totals: PodTotals::of(self.slots.iter().flatten()),
        }
    }
}

/// Adds (`sign` = 1) or removes (−1) a node's images from the image → node-count summary.
fn count_images(summary: &mut BTreeMap<String, usize>, info: &NodeInfo, sign: i64) {
    for name in info.images.keys() {
        let e = summary.entry(name.clone()).or_insert(0);
        *e = (*e as i64 + sign).max(0) as usize;
        if *e == 0 {
            summary.remove(name);
        }
    }
}

/// kube-scheduler's `FitError` message: "0/N nodes are available: " and the per-reason node
/// counts, each "count reason", sorted as strings.
pub fn fit_error_message(n: usize, failures: &BTreeMap<Cow<'static, str>, usize>) -> String {
    let mut detail: Vec<String> = failures.iter().map(|(r, c)| format!("{c} {r}")).collect();
    detail.sort();
    let mut message = format!("0/{n} nodes are available");
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail.join(", "));
    }
    message.push('.');
    message
}

/// `selectHost`: a uniform choice among the nodes with the top total score (reservoir
/// sampling, reference scheduler §3.4), drawn from the scheduler's seeded stream.
pub fn select_host(totals: &[i64], rng: &mut ChaCha8Rng) -> usize {
    let mut best: Option<(i64, usize)> = None;
    let mut ties = 0u64;
    for (j, &total) in totals.iter().enumerate() {
        match best {
            Some((b, _)) if total < b => {}
            Some((b, _)) if total == b => {
                ties += 1;
                if rng::below(rng, ties) == 0 {
                    best = Some((total, j));
                }
            }
            _ => {
                best = Some((total, j));
                ties = 1;
            }
        }
    }
    best.map_or(0, |b| b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // kube-scheduler's FitError: "count reason" strings sorted as strings.
    #[test]
    fn fit_error_message_sorts_like_kube_scheduler() {
        let mut f: BTreeMap<Cow<'static, str>, usize> = BTreeMap::new();
        f.insert("Insufficient cpu".into(), 4);
        f.insert("node(s) had untolerated taint {dedicated: batch}".into(), 2);
        f.insert("Insufficient memory".into(), 10);
        assert_eq!(
            fit_error_message(16, &f),
            "0/16 nodes are available: 10 Insufficient memory, 2 node(s) had untolerated taint {dedicated: batch}, 4 Insufficient cpu."
        );
        assert_eq!(
            fit_error_message(0, &BTreeMap::new()),
            "0/0 nodes are available."
        );
    }

    // Reference scheduler §3.2 table.
    #[test]
    fn num_feasible_nodes_to_find_reference_table() {
        let cases = [
            (50, 50),
            (100, 100),
            (200, 100),
            (500, 230),
            (1000, 420),
            (2000, 680),
            (3000, 780),
            (5000, 500),
            (5625, 281),
            (6000, 300),
            (10000, 500),
            (15000, 750),
        ];
        for (n, k) in cases {
            assert_eq!(num_feasible_nodes_to_find(n, 0), k, "N={n}");
        }
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
    }
}
