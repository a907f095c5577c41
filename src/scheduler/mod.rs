//! kube-scheduler: the scheduling queue, one scheduling cycle per event (filter → score →
//! select → bind), the snapshot's zone-interleaved node order with the adaptive
//! `percentageOfNodesToScore` and rotating start index (reference scheduler §3), and leader
//! election.
//!
//! Architecture invariant: plugins are pure functions of (pod, node snapshot); the only
//! randomness is the tie-break among equal top scores, drawn from the scheduler's own stream.
//! The scheduler's view changes only through watch notifications and its own assumed binds.

pub mod plugins;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiServer, Change};
use crate::cluster::Event;
use crate::controllers::leader::{LeaderElectionConfig, LeaderElector, Outcome};
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Engine, Record, SimDuration, SimTime};
use plugins::*;

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    pub scheduler_name: String,
    /// `percentageOfNodesToScore`; 0 = adaptive.
    pub percentage_of_nodes_to_score: u32,
    pub pod_initial_backoff: SimDuration,
    pub pod_max_backoff: SimDuration,
    pub leader_election: LeaderElectionConfig,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scheduler_name: "default-scheduler".into(),
            percentage_of_nodes_to_score: 0,
            pod_initial_backoff: SimDuration::from_secs(1),
            pod_max_backoff: SimDuration::from_secs(10),
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
    slot_of: BTreeMap<String, usize>,
    /// Zones in order of first appearance, each with its nodes' slots in insertion order.
    zones: Vec<(String, Vec<usize>)>,
    /// The snapshot's zone-interleaved node list, as slots.
    order: Vec<usize>,
    order_dirty: bool,
    next_start: usize,
    /// Pods waiting for a node, and where assigned pods are (assumed ones included).
    pending: BTreeMap<String, Arc<Pod>>,
    assigned: BTreeMap<String, (usize, Resources, i64, i64)>,
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
            slot_of: BTreeMap::new(),
            zones: Vec::new(),
            order: Vec::new(),
            order_dirty: false,
            next_start: 0,
            pending: BTreeMap::new(),
            assigned: BTreeMap::new(),
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

    pub fn start(&mut self, ctx: &mut Engine<Event>) {
        if self.elector.enabled() {
            ctx.schedule_in(SimDuration::ZERO, Event::SchedulerLeaderTick { gen: 0 });
        } else {
            self.begin_term(ctx);
        }
    }

    pub fn on_leader_tick(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        let (outcome, next) = self.elector.tick(ctx.now(), api);
        if let Some(r) = self
            .elector
            .record(&outcome, ctx.now(), "default-scheduler")
        {
            ctx.record(r);
        }
        match outcome {
            Outcome::Acquired => {
                self.begin_term(ctx);
            }
            Outcome::Lost => {
                self.leading = false;
                self.gen += 1;
                self.cycle_scheduled = false;
            }
            Outcome::Nothing => {}
        }
        ctx.schedule_in(next, Event::SchedulerLeaderTick { gen: 0 });
    }

    /// A new term: the queue is rebuilt from the cache (every pending pod is active again).
    fn begin_term(&mut self, ctx: &mut Engine<Event>) {
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

    fn push_active(&mut self, ctx: &mut Engine<Event>, key: &str) {
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
            ctx.schedule_in(SimDuration::ZERO, Event::SchedulerCycle { gen: self.gen });
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
    fn move_all_unschedulable(&mut self, ctx: &mut Engine<Event>) {
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

    pub fn on_flush(&mut self, ctx: &mut Engine<Event>) {
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

    pub fn on_watch(&mut self, ctx: &mut Engine<Event>, change: Change) {
        match change {
            Change::Node(n) => {
                let name = n.meta.name.clone();
                match self.slot_of.get(&name) {
                    Some(&slot) => self.slots[slot].as_mut().expect("live slot").node = n,
                    None => {
                        let slot = self.slots.len();
                        let zone = n.zone_key();
                        match self.zones.iter_mut().find(|(z, _)| *z == zone) {
                            Some((_, list)) => list.push(slot),
                            None => self.zones.push((zone, vec![slot])),
                        }
                        self.order_dirty = true;
                        self.slot_of.insert(name, slot);
                        self.slots.push(Some(NodeInfo {
                            node: n,
                            requested: Resources::default(),
                            non_zero_cpu_milli: 0,
                            non_zero_memory: 0,
                        }));
                    }
                }
                self.move_all_unschedulable(ctx);
            }
            Change::NodeDeleted(n) => {
                let name = &n.meta.name;
                if let Some(slot) = self.slot_of.remove(name) {
                    self.slots[slot] = None;
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
            Change::Lease(_)
            | Change::LeasePlan { .. }
            | Change::ReplicaSet(_)
            | Change::ReplicaSetDeleted(_)
            | Change::Deployment(_)
            | Change::DeploymentDeleted(_)
            | Change::DaemonSet(_)
            | Change::StatefulSet(_) => {}
        }
    }

    fn on_pod(&mut self, ctx: &mut Engine<Event>, p: Arc<Pod>) {
        let key = p.key();
        match &p.spec.node_name {
            Some(node) => {
                self.pending.remove(&key);
                self.forget_queued(&key);
                if !self.assigned.contains_key(&key) {
                    self.assign(&key, node, &p);
                }
            }
            None => {
                if p.is_terminating() || p.spec.scheduler_name != self.config.scheduler_name {
                    return;
                }
                let new = self.pending.insert(key.clone(), p).is_none();
                if new {
                    self.push_active(ctx, &key);
                }
            }
        }
    }

    fn assign(&mut self, key: &str, node: &str, pod: &Pod) {
        let req = PodRequest::of(pod);
        // A pod bound to a node the scheduler has not seen is not counted anywhere.
        let Some(&slot) = self.slot_of.get(node) else {
            return;
        };
        let info = self.slots[slot].as_mut().expect("live slot");
        info.requested.add(&req.request);
        info.non_zero_cpu_milli += req.non_zero_cpu_milli;
        info.non_zero_memory += req.non_zero_memory;
        self.assigned.insert(
            key.to_string(),
            (
                slot,
                req.request,
                req.non_zero_cpu_milli,
                req.non_zero_memory,
            ),
        );
    }

    fn unassign(&mut self, key: &str) -> bool {
        let Some((slot, req, cpu, mem)) = self.assigned.remove(key) else {
            return false;
        };
        if let Some(info) = self.slots[slot].as_mut() {
            info.requested.sub(&req);
            info.non_zero_cpu_milli -= cpu;
            info.non_zero_memory -= mem;
        }
        true
    }

    fn rebuild_order(&mut self) {
        if !self.order_dirty {
            return;
        }
        self.order.clear();
        let longest = self.zones.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
        for i in 0..longest {
            for (_, list) in &self.zones {
                if let Some(n) = list.get(i) {
                    self.order.push(*n);
                }
            }
        }
        self.order_dirty = false;
    }

    // ----- the scheduling cycle -----

    pub fn on_cycle(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        self.cycle_scheduled = false;
        let Some(entry) = self.active.iter().next().cloned() else {
            return;
        };
        self.active.remove(&entry);
        self.active_index.remove(&entry.3);
        let key = entry.3;
        if let Some(pod) = self.pending.get(&key).cloned() {
            self.schedule_one(ctx, api, &key, &pod);
        }
        if !self.active.is_empty() {
            self.cycle_scheduled = true;
            ctx.schedule_in(SimDuration::ZERO, Event::SchedulerCycle { gen: self.gen });
        }
    }

    fn schedule_one(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer, key: &str, pod: &Pod) {
        let now = ctx.now();
        self.rebuild_order();
        let info = self.info.entry(key.to_string()).or_insert(QueuedInfo {
            attempts: 0,
            last_attempt: now,
            unschedulable_since: None,
        });
        info.attempts += 1;
        info.last_attempt = now;
        let req = PodRequest::of(pod);
        let n = self.order.len();
        let to_find = num_feasible_nodes_to_find(n, self.config.percentage_of_nodes_to_score);
        let mut feasible: Vec<usize> = Vec::new();
        let mut failures: BTreeMap<String, usize> = BTreeMap::new();
        let mut examined = 0;
        for i in 0..n {
            if feasible.len() >= to_find {
                break;
            }
            examined += 1;
            let idx = (self.next_start + i) % n;
            let ni = self.slots[self.order[idx]]
                .as_ref()
                .expect("ordered slots are live");
            match run_filters(pod, &req, ni) {
                Ok(()) => feasible.push(idx),
                Err(reasons) => {
                    for r in reasons {
                        *failures.entry(r).or_insert(0) += 1;
                    }
                }
            }
        }
        if n > 0 {
            self.next_start = (self.next_start + examined) % n;
        }
        if feasible.is_empty() {
            let detail: Vec<String> = failures.iter().map(|(r, c)| format!("{c} {r}")).collect();
            let mut message = format!("0/{n} nodes are available");
            if !detail.is_empty() {
                message.push_str(&format!(": {}", detail.join(", ")));
            }
            message.push('.');
            ctx.record(Record {
                t: now,
                reason: "FailedScheduling",
                source: "default-scheduler",
                object: format!("Pod/{key}"),
                message,
                fields: vec![],
            });
            self.unschedulable.insert(key.to_string());
            if let Some(i) = self.info.get_mut(key) {
                i.unschedulable_since.get_or_insert(now);
            }
            return;
        }
        let chosen = if feasible.len() == 1 {
            feasible[0]
        } else {
            self.select_host(pod, &req, &feasible)
        };
        let node = self.slots[self.order[chosen]]
            .as_ref()
            .expect("live")
            .node
            .meta
            .name
            .clone();
        match api.bind_pod(Caller::Scheduler, key, &node) {
            Ok(bound) => {
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
        }
    }

    /// Score feasible nodes and pick one of the top scores uniformly (reservoir sampling).
    fn select_host(&mut self, pod: &Pod, req: &PodRequest, feasible: &[usize]) -> usize {
        let infos: Vec<&NodeInfo> = feasible
            .iter()
            .map(|i| self.slots[self.order[*i]].as_ref().expect("live"))
            .collect();
        let mut taint: Vec<i64> = infos
            .iter()
            .map(|ni| taint_toleration::raw_score(pod, ni))
            .collect();
        taint_toleration::normalize(&mut taint);
        let mut best: Option<(i64, usize)> = None;
        let mut ties = 0u64;
        for (j, ni) in infos.iter().enumerate() {
            let total = taint_toleration::WEIGHT * taint[j]
                + node_resources_fit::WEIGHT * node_resources_fit::least_allocated_score(req, ni)
                + balanced_allocation::WEIGHT * balanced_allocation::score(req, ni).unwrap_or(0);
            match best {
                Some((b, _)) if total < b => {}
                Some((b, _)) if total == b => {
                    ties += 1;
                    if rng::below(&mut self.rng, ties) == 0 {
                        best = Some((total, feasible[j]));
                    }
                }
                _ => {
                    best = Some((total, feasible[j]));
                    ties = 1;
                }
            }
        }
        best.expect("feasible is not empty").1
    }
}

/// The default profile's filters, in plugin order, stopping at the first failing plugin.
fn run_filters(pod: &Pod, req: &PodRequest, ni: &NodeInfo) -> Result<(), Vec<String>> {
    node_unschedulable::filter(pod, ni).map_err(|r| vec![r])?;
    node_name::filter(pod, ni).map_err(|r| vec![r])?;
    taint_toleration::filter(pod, ni).map_err(|r| vec![r])?;
    node_affinity::filter(pod, ni).map_err(|r| vec![r])?;
    node_resources_fit::filter(req, ni)
}

#[cfg(test)]
mod tests {
    use super::*;

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
