//! kube-scheduler: the component that owns the scheduler's cache and queue and runs one
//! scheduling cycle per event. The pieces live along upstream's seams:
//!
//! - `queue`: the scheduling queue (active, backoff, unschedulable) and its flush timer;
//! - `cache`: the informer side — node infos in slots, assigned and pending pods, the indexes;
//! - `pending`: the pods waiting for a node, found by hash and walked in key order on demand;
//! - `snapshot`: the zone-interleaved node order (reference scheduler §3.1) and snapshots
//!   built from plain objects;
//! - `profile`: the plugins and profiles (one per `schedulerName`);
//! - `cycle`: `scheduleOne` — `schedulePod`, `findNodesThatFitPod` with the adaptive
//!   `percentageOfNodesToScore` and rotating start, `prioritizeNodes`, `selectHost`, the
//!   PostFilter (DefaultPreemption's plan);
//! - `binding`: applying a cycle's outcome — bind, FailedScheduling, executing preemption;
//! - `framework` and `plugins`: the extension points and the default plugins.
//!
//! Leader election is `client::leader`; the client rate limiter is `client::tokenbucket`.
//!
//! Architecture invariant: plugins are pure functions of (pod, node snapshot); the only
//! randomness is the tie-break among equal top scores and preemption's candidate offset, each
//! drawn from the scheduler's own stream.
//! The scheduler's view changes only through watch notifications and its own assumed binds.

pub mod bench;
pub mod event;
pub use event::Event;
mod binding;
mod cache;
pub mod cost;
mod cycle;
pub mod explain;
pub mod fgd;
pub mod framework;
mod hints;
pub mod hot;
pub mod metrics;
mod pending;
pub mod plugins;
pub mod preemption;
pub mod profile;
mod queue;
pub mod snapshot;
pub mod ties;

pub use cycle::{
    fit_error_message, has_required_node_affinity, num_feasible_nodes_to_find, select_host,
    CycleStats, Outcome,
};
pub use snapshot::{interleave, OwnedSnapshot};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::ApiServer;
use crate::client::leader::{self, LeaderElectionConfig, LeaderElector};
use crate::client::tokenbucket::TokenBucket;
use crate::model::*;
use crate::network::Caller;
use crate::sim::lookup::LookupMap;
use crate::sim::{rng, Ctx, SimDuration, SimTime};
use cycle::MemoKey;
use framework::{Profile, ScoreTable};
use plugins::*;
use plugins::{inter_pod_affinity::index as ipa_index, pod_topology_spread::index as spread_index};
use queue::QueuedInfo;

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
    /// NodeUnschedulable / TaintToleration verdicts per slot by toleration set (`hot.rs`).
    taint_memo: hot::TaintMemo,
    slot_of: LookupMap<String, usize>,
    /// Zones in order of first appearance, each with its nodes' slots in insertion order.
    zones: Vec<(String, Vec<usize>)>,
    /// The snapshot's zone-interleaved node list, as slots.
    order: Vec<usize>,
    order_dirty: bool,
    next_start: usize,
    /// Pods waiting for a node, and where assigned pods are (assumed ones included).
    pending: pending::Pending,
    /// Slot of each assigned pod, and the version of it that slot's node info holds.
    assigned: LookupMap<String, (usize, Arc<Pod>)>,
    /// No pod was ever assigned while already assigned: every pod in a node info is the one
    /// `assigned` holds for its key, and the only one with its key there, so it is found by
    /// pointer. False after such a second assign: then by key, first match, as ever.
    assigned_once: bool,
    /// Image name → nodes that have it (ImageLocality).
    image_nodes: BTreeMap<String, usize>,
    /// The same names' per-slot sizes (ImageLocality's scores from columns).
    image_sizes: plugins::image_locality::ImageSizes,
    /// Services, ReplicationControllers, ReplicaSets and StatefulSets, for default spreading
    /// (PodTopologySpread's `helper.DefaultSelector`).
    spread_selectors: pod_topology_spread::SelectorSources,
    /// Reused score buffers.
    table: ScoreTable,
    feasible: Vec<usize>,
    /// The feasible nodes' slots in a cycle that scores them (a buffer kept across cycles).
    scored_slots: Vec<usize>,
    /// The feasible nodes' totals but PodTopologySpread's, from the walk
    /// (`framework::spread`; a buffer kept across cycles).
    bases: Vec<i64>,
    spread_index: spread_index::SpreadIndex,
    /// InterPodAffinity's kept counts (`plugins/inter_pod_affinity/index.rs`).
    ipa_index: ipa_index::IpaIndex,
    /// Pods nominated to a node by preemption: pod key → node name.
    nominated: BTreeMap<String, String>,
    /// PodDisruptionBudgets by key, for preemption's violation counts (upstream's pdbLister).
    pdbs: BTreeMap<String, Arc<crate::model::PodDisruptionBudget>>,
    pdb_list: Vec<Arc<crate::model::PodDisruptionBudget>>,
    preempt_rng: ChaCha8Rng,
    /// The out-of-tree GPU plugins' state across cycles (typical pods, fragmentation memo,
    /// their random stream); untouched unless a profile enables them.
    gpu: Arc<std::sync::Mutex<plugins::outoftree::state::GpuShared>>,
    use_spread_index: bool,
    use_ipa_index: bool,
    /// Filter and score plain pods from the flat columns (off: the plain evaluation).
    use_hot: bool,
    totals: PodTotals,
    /// The virtual time the current cycle occupies the scheduler until (docs/scheduler-model.md).
    busy_until: SimTime,
    /// The client rate limiter (`clientConnection.qps` / `burst`): a cycle that may bind
    /// waits for a token.
    limiter: TokenBucket,
    active: BTreeSet<(Reverse<i32>, SimTime, u64, String)>,
    active_index: LookupMap<String, (Reverse<i32>, SimTime, u64, String)>,
    info: LookupMap<String, QueuedInfo>,
    unschedulable: BTreeSet<String>,
    backoff: BTreeSet<(SimTime, String)>,
    backoff_index: LookupMap<String, SimTime>,
    seq: u64,
    cycle_scheduled: bool,
    last_leftover_flush: SimTime,
    /// The rejector plugins of the last infeasible `decide` (`hints::bit`s).
    last_rejectors: u16,
    /// Attempts by result and profile, for observers (`metrics.rs`).
    metrics: metrics::SchedulerMetrics,
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
            limiter: TokenBucket::new(config.client_qps, config.client_burst),
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
            taint_memo: hot::TaintMemo::default(),
            slot_of: LookupMap::new(),
            zones: Vec::new(),
            order: Vec::new(),
            order_dirty: false,
            next_start: 0,
            pending: pending::Pending::default(),
            assigned: LookupMap::new(),
            assigned_once: true,
            image_nodes: BTreeMap::new(),
            image_sizes: Default::default(),
            spread_selectors: Default::default(),
            table: ScoreTable::default(),
            feasible: Vec::new(),
            scored_slots: Vec::new(),
            bases: Vec::new(),
            spread_index: spread_index::SpreadIndex::default(),
            ipa_index: ipa_index::IpaIndex::default(),
            nominated: BTreeMap::new(),
            pdbs: BTreeMap::new(),
            pdb_list: Vec::new(),
            preempt_rng: rng::stream(seed, "kube-scheduler/preemption"),
            gpu: Arc::new(std::sync::Mutex::new(
                plugins::outoftree::state::GpuShared::new(rng::stream(seed, "kube-scheduler/gpu")),
            )),
            use_spread_index: true,
            use_ipa_index: true,
            use_hot: true,
            totals: PodTotals::default(),
            busy_until: SimTime::ZERO,
            active: BTreeSet::new(),
            active_index: LookupMap::new(),
            info: LookupMap::new(),
            unschedulable: BTreeSet::new(),
            backoff: BTreeSet::new(),
            backoff_index: LookupMap::new(),
            seq: 0,
            cycle_scheduled: false,
            last_leftover_flush: SimTime::ZERO,
            last_rejectors: 0,
            metrics: metrics::SchedulerMetrics::default(),
        }
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    pub fn pending_pods(&self) -> usize {
        self.pending.len()
    }

    /// `scheduler_pending_pods{queue}`: active, backoff, unschedulable, gated (scheduling
    /// gates are not modelled: always 0).
    pub fn queue_sizes(&self) -> [(&'static str, usize); 4] {
        [
            ("active", self.active.len()),
            ("backoff", self.backoff.len()),
            ("unschedulable", self.unschedulable.len()),
            ("gated", 0),
        ]
    }

    /// The attempts counted so far (`scheduler_schedule_attempts_total` and the latency).
    pub fn metrics(&self) -> &metrics::SchedulerMetrics {
        &self.metrics
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

    // ----- the scheduling cycle -----

    /// Runs one of the scheduler's timers (the cluster has checked its generation).
    pub fn handle(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, ev: Event) {
        match ev {
            Event::SchedulerLeaderTick { .. } => self.on_leader_tick(ctx, api),
            Event::SchedulerCycle { .. } => self.on_cycle(ctx, api),
            Event::SchedulerFlush { .. } => self.on_flush(ctx),
        }
    }
}
