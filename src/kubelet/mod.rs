//! The kubelet of one machine: registration, node status and Lease heartbeats, and pod workers
//! that start admitted pods and kill deleted ones through the simulated runtime.
//!
//! This file holds the [`Kubelet`] itself: its state, construction and start, the dispatch of
//! its timers ([`Kubelet::handle`]) and of its pod watch ([`Kubelet::on_watch`]), and the
//! helpers its loops share. The loops live beside it, each an `impl Kubelet` block:
//! `status.rs` (registration and the node status loop), `lease.rs` (the Lease heartbeat),
//! `pods.rs` (pod admission, sync and status writes), `pressure.rs` (the eviction manager),
//! `faults.rs` (crashes, process restarts, network and runtime faults) and `client.rs` (the
//! rate-limited API client's budget). `worker.rs` is the pod
//! worker of one pod.
//!
//! Architecture invariant: a kubelet talks to the API server only through requests that the
//! network may refuse, and sees pods only through its own field-selected watch (pods bound to
//! its node), so its cache is O(its pods). Every timer it schedules carries its process
//! generation; a crash bumps the generation and so cancels them all.

pub mod admission;
pub mod client;
pub mod event;
pub use event::Event;
pub mod conditions;
pub mod eviction;
pub mod phase;
pub mod qos;

mod faults;
mod lease;
mod pods;
mod status;
pub use status::{healthy_conditions, node_conditions};

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiServer, Change};
use crate::model::*;
use crate::network::Caller;
use crate::runtime::images::RegistryFaults;
use crate::runtime::{ContainerRuntime, RuntimeConfig};
use crate::sim::namemap::NameMap;
use lease::LeasePlan;
use pressure::{EvictionConfig, EvictionState};
use status::StatusPlan;
use worker::Worker;

pub mod pressure;
pub mod worker;
use crate::sim::{rng, Ctx, Record, SimDuration, SimTime};

/// KubeletConfiguration fields kubesim models (defaults: reference §1.1).
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node_status_update_frequency: SimDuration,
    pub node_status_report_frequency: SimDuration,
    pub node_lease_duration_seconds: u64,
    /// Kubernetes ≥ 1.34 (#130919): a ±50 % offset on the report period, drawn after each change.
    pub report_jitter: bool,
    /// Lazy heartbeats: in steady state the lease loop announces its next renewals to the API
    /// server instead of running one event per renewal (same event log; see `LeasePlan`).
    pub lazy_heartbeats: bool,
    /// Lazy probes: a probe tick whose success changes nothing is skipped instead of run as an
    /// event (same event log; `false` runs every tick of every probe, as a cross-check).
    pub lazy_probes: bool,
    pub eviction: EvictionConfig,
    /// `kubeAPIQPS` / `kubeAPIBurst`: the budget of the kubelet's rate-limited client.
    pub client: client::KubeletClientLimits,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        KubeletConfig {
            node_status_update_frequency: SimDuration::from_secs(10),
            node_status_report_frequency: SimDuration::from_mins(5),
            node_lease_duration_seconds: 40,
            report_jitter: true,
            lazy_heartbeats: true,
            lazy_probes: true,
            eviction: EvictionConfig::default(),
            client: client::KubeletClientLimits::default(),
        }
    }
}

const JITTER_FACTOR: f64 = 0.04;
const REGISTER_INITIAL_STEP: SimDuration = SimDuration::from_millis(100);
const BACKOFF_CAP: SimDuration = SimDuration::from_secs(7);

/// Event reasons are `&'static str`; the kubelet's admission reasons include resource names
/// (`OutOfnvidia.com/gpu`), so each distinct one is leaked once.
fn intern(s: &str) -> &'static str {
    use std::sync::Mutex;
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(x) = seen.get(s) {
        return x;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// `matchLabels`: every pair of `selector` is in `labels`.
fn matches_labels(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The kubelet's pod workers by key, with `kubelet_running_pods` kept between changes, and
/// each entry's [`PodEntry::finished`] and [`PodEntry::sandbox_running`] kept until it changes.
/// The entries are a [`NameMap`]: every walk is in key order (as a `BTreeMap` walks), every
/// lookup of one pod (each wake-up, sync and status write) is a hash lookup, and adding a pod
/// moves no other entry: each entry is boxed (a worker is large), so the map's slot vector
/// grows by moving pointers, not workers (that growth was 3 % of the 100k profile).
///
/// Invariant: every way to change an entry (`get_mut`, `insert`, `remove`, `retain`,
/// `for_each_mut`, `clear`) forgets the kept count and the changed entries' kept
/// answers, and reads go through `Deref`, so what [`PodMap::running`] and the entries give is
/// always the scan's: the samplers read the count for every kubelet every sample, and admission
/// asks every entry whether it finished, while most pods did not change since the last time.
#[derive(Default)]
struct PodMap {
    map: NameMap<Box<PodEntry>>,
    running: Cell<Option<usize>>,
}

impl std::ops::Deref for PodMap {
    type Target = NameMap<Box<PodEntry>>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl PodMap {
    fn changed(&mut self) -> &mut NameMap<Box<PodEntry>> {
        self.running.set(None);
        &mut self.map
    }
    fn get_mut(&mut self, key: &str) -> Option<&mut PodEntry> {
        self.changed().get_mut(key).map(|e| e.changed())
    }
    fn insert(&mut self, key: String, e: PodEntry) -> Option<PodEntry> {
        self.changed().insert(key, Box::new(e)).map(|e| *e)
    }
    fn remove(&mut self, key: &str) -> Option<PodEntry> {
        self.changed().remove(key).map(|e| *e)
    }
    /// Keeps the entries `f` approves, asking in key order (as `BTreeMap::retain`).
    fn retain(&mut self, mut f: impl FnMut(&String, &mut PodEntry) -> bool) {
        let keys: Vec<String> = self.map.keys().cloned().collect();
        for k in keys {
            let e = self.get_mut(&k).expect("listed key");
            if !f(&k, e) {
                self.remove(&k);
            }
        }
    }
    /// Runs `f` on every entry in key order (as `BTreeMap::iter_mut`).
    fn for_each_mut(&mut self, mut f: impl FnMut(&String, &mut PodEntry)) {
        let keys: Vec<String> = self.map.keys().cloned().collect();
        for k in keys {
            f(&k, self.get_mut(&k).expect("listed key"));
        }
    }
    fn clear(&mut self) {
        *self.changed() = NameMap::new();
    }
    /// Pods whose sandbox is running (`Worker::sandbox_running`), counted again only after a
    /// change.
    fn running(&self) -> usize {
        if let Some(n) = self.running.get() {
            return n;
        }
        // A count: slot order gives the same.
        let n = self
            .map
            .slots()
            .filter(|(_, e)| e.sandbox_running())
            .count();
        self.running.set(Some(n));
        n
    }
    /// Whether everything kept (the count, each entry's answers) is what the workers say now
    /// (for invariant checks and tests).
    fn kept_matches_scan(&self) -> bool {
        let scan = || {
            self.map
                .values()
                .filter(|e| e.worker.sandbox_running())
                .count()
        };
        self.running.get().is_none_or(|n| n == scan())
            && self.map.values().all(|e| {
                let k = e.kept.get();
                let w = &e.worker;
                k.finished.is_none_or(|f| f == w.finished())
                    && k.running.is_none_or(|r| r == w.sandbox_running())
                    && k.growing
                        .is_none_or(|g| g == (w.memory_growing() || w.disk_growing()))
                    && k.flat.is_none_or(|f| {
                        f.is_none_or(|[m, d, p]| {
                            w.usage_flat() && p == w.pids() && {
                                // Flat usage is the same at any instant: ask at the plans' origin.
                                let t = SimTime::ZERO;
                                m == w.memory_at(t) && d == w.disk_at(t)
                            }
                        })
                    })
            })
    }
}

/// A pod worker and the kubelet's bookkeeping for it.
struct PodEntry {
    worker: Worker,
    /// The scheduled wake-up, if any.
    wake: Option<(SimTime, crate::sim::EventId)>,
    /// The status last written to the API server.
    written: Option<PodStatus>,
    /// What the worker's pod adds to the node's `NodeUsage` (its requests and host ports),
    /// recomputed whenever the worker's pod object is replaced, so that admission sums the
    /// admitted pods' shares instead of recomputing each one.
    usage: admission::NodeUsage,
    /// A worker kept across a process restart that the new process's status manager has not
    /// written yet (no `apiStatusVersions` entry): it compares the API status with the
    /// worker's own, not with `written` (the old process's, which may never have landed).
    unsynced: bool,
    /// What was last asked of the worker, forgotten whenever the entry is borrowed mutably
    /// (only [`PodMap`] lends it so).
    kept: Cell<Kept>,
}

/// Answers of a worker kept until it changes.
#[derive(Clone, Copy, Default)]
struct Kept {
    finished: Option<bool>,
    running: Option<bool>,
    growing: Option<bool>,
    /// (memory, disk, processes) of the running containers when none of it moves with time
    /// (`Some(None)`: some of it does, ask the worker at each instant).
    flat: Option<Option<[i64; 3]>>,
}

impl PodEntry {
    fn new(worker: Worker) -> PodEntry {
        PodEntry {
            usage: admission::NodeUsage::of([&*worker.pod]),
            worker,
            wake: None,
            written: None,
            unsynced: false,
            kept: Cell::new(Kept::default()),
        }
    }

    /// The entry about to be changed: what was kept about its worker is forgotten.
    fn changed(&mut self) -> &mut PodEntry {
        self.kept.set(Kept::default());
        self
    }

    /// `worker.finished()`, asked again only after a change.
    fn finished(&self) -> bool {
        self.keep(|k| &mut k.finished, || self.worker.finished())
    }

    /// `worker.sandbox_running()`, asked again only after a change.
    fn sandbox_running(&self) -> bool {
        self.keep(|k| &mut k.running, || self.worker.sandbox_running())
    }

    /// Whether a running container's memory or ephemeral storage grows (the eviction manager
    /// must keep watching), asked again only after a change.
    fn usage_growing(&self) -> bool {
        self.keep(
            |k| &mut k.growing,
            || self.worker.memory_growing() || self.worker.disk_growing(),
        )
    }

    /// What the running containers use of `signal`'s resource at `now` (`memory_at`,
    /// `disk_at` or `pids` of the worker), kept while no change could move it.
    fn used_at(&self, signal: pressure::Signal, now: SimTime) -> i64 {
        let w = &self.worker;
        let at = |s| match s {
            pressure::Signal::Memory => w.memory_at(now),
            pressure::Signal::NodeFs => w.disk_at(now),
            pressure::Signal::Pid => w.pids(),
        };
        let flat = self.keep(
            |k| &mut k.flat,
            || w.usage_flat().then(|| pressure::Signal::ALL.map(at)),
        );
        flat.map_or_else(|| at(signal), |f| f[signal.index()])
    }

    fn keep<T: Copy>(
        &self,
        field: impl Fn(&mut Kept) -> &mut Option<T>,
        ask: impl FnOnce() -> T,
    ) -> T {
        let mut k = self.kept.get();
        if let Some(v) = *field(&mut k) {
            return v;
        }
        let v = ask();
        *field(&mut k) = Some(v);
        self.kept.set(k);
        v
    }

    /// The API server's newer version of the pod, for the worker.
    fn update_pod(&mut self, pod: Arc<Pod>) {
        self.usage = admission::NodeUsage::of([&*pod]);
        self.worker.update_pod(pod);
    }
}

pub struct Kubelet {
    pub machine: u32,
    pub node_name: String,
    /// The Node object this kubelet registers (labels, capacity, taints from the scenario).
    template: Node,
    config: KubeletConfig,
    rng: ChaCha8Rng,
    /// The lease loop's own jitter stream (so that planning it ahead leaves `rng` alone).
    lease_rng: ChaCha8Rng,
    lease_plan: Option<LeasePlan>,
    status_plan: Option<StatusPlan>,
    /// Lazy heartbeats while cut off: the lease ensure loop's next attempt and its backoff,
    /// not scheduled (every attempt fails until the link returns).
    lease_parked: Option<(SimTime, SimDuration)>,
    runtime: ContainerRuntime,
    /// Whether the machine (and so the kubelet process) is up.
    pub running: bool,
    gen: u32,
    boots: u32,
    registered: bool,
    register_step: SimDuration,
    lease_cached: bool,
    lease_backoff: SimDuration,
    /// Last time the status was written, and the jittered report offset in ns (±).
    last_report: Option<SimTime>,
    report_offset_ns: i64,
    /// Pod workers: the pods this kubelet runs or is starting or stopping, by key.
    pods: PodMap,
    /// When the kubelet process last started (probe workers jitter their start after it).
    started_at: SimTime,
    /// Registry outages and slowdowns, as the scenario's faults set them.
    pub registry_faults: RegistryFaults,
    eviction: EvictionState,
    eviction_last_tick: Option<SimTime>,
    /// `runtimeHang`: since when the container runtime has not answered.
    runtime_hung_since: Option<SimTime>,
    /// Active `crashLoop` faults: (pod labels, exit code, run time).
    crash_faults: Vec<(BTreeMap<String, String>, i32, SimDuration)>,
    /// Active `memoryLeak` faults: (pod labels, bytes per second).
    leak_faults: Vec<(BTreeMap<String, String>, i64)>,
    /// Static pods (from the node's manifest directory), ready to run, by key.
    static_pods: BTreeMap<String, Arc<Pod>>,
    /// Pod status writes that failed and are retried at the next status tick.
    pending_status: BTreeSet<String>,
    /// Pods whose API status disagreed with the status last written when the watch delivered
    /// them (`needsReconcile`), and the status manager tick that re-checks them.
    reconcile: BTreeSet<String>,
    reconcile_tick: Option<SimTime>,
    /// Whether the pod watch is current: the last pod LIST succeeded and the link has not
    /// been cut since (the config source's reflector retries a failed LIST until it does).
    listed: bool,
    /// Added latency of lease renewals (the `slowLeaseRenewals` fault), and how many such
    /// faults are active.
    lease_latency: SimDuration,
    slow_lease_faults: u32,
    /// The process is being restarted (not the machine rebooted).
    restarting: bool,
    /// The run's master seed (pod workers draw from their own named streams).
    seed: u64,
    /// The rate-limited `KubeClient` (`kubeAPIQPS` / `kubeAPIBurst`) and its deferred writes.
    client: client::KubeletClient,
    /// The next registration attempt already holds its client token.
    register_token: bool,
}

impl Kubelet {
    pub fn new(
        machine: u32,
        template: Node,
        config: KubeletConfig,
        runtime: RuntimeConfig,
        seed: u64,
    ) -> Self {
        let name = template.meta.name.clone();
        let client = client::KubeletClient::new(config.client);
        Kubelet {
            machine,
            rng: rng::stream(seed, &format!("kubelet/{name}")),
            lease_rng: rng::stream(seed, &format!("kubelet/{name}/lease")),
            lease_plan: None,
            status_plan: None,
            lease_parked: None,
            runtime: ContainerRuntime::new(
                runtime,
                rng::stream(seed, &format!("runtime/{name}")),
                &template.status.images,
            ),
            node_name: name,
            template,
            config,
            running: false,
            gen: 0,
            boots: 0,
            registered: false,
            register_step: REGISTER_INITIAL_STEP,
            lease_cached: false,
            lease_backoff: SimDuration::ZERO,
            last_report: None,
            report_offset_ns: 0,
            pods: PodMap::default(),
            pending_status: BTreeSet::new(),
            reconcile: BTreeSet::new(),
            reconcile_tick: None,
            listed: false,
            started_at: SimTime::ZERO,
            registry_faults: RegistryFaults::default(),
            eviction: EvictionState::default(),
            eviction_last_tick: None,
            runtime_hung_since: None,
            crash_faults: Vec::new(),
            leak_faults: Vec::new(),
            static_pods: BTreeMap::new(),
            lease_latency: SimDuration::ZERO,
            slow_lease_faults: 0,
            restarting: false,
            seed,
            client,
            register_token: false,
        }
    }

    fn caller(&self) -> Caller {
        Caller::Kubelet(self.machine)
    }

    fn record(
        &self,
        ctx: &mut dyn Ctx<Event>,
        reason: &'static str,
        object: String,
        message: String,
    ) {
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubelet",
            object,
            message,
            fields: vec![("node", self.node_name.clone())],
        });
    }

    /// `Killing` ("Stopping container <name>"), one record per container of the pod.
    fn record_killing(&self, ctx: &mut dyn Ctx<Event>, key: &str, pod: &Pod) {
        for c in &pod.spec.containers {
            self.record(
                ctx,
                "Killing",
                format!("Pod/{key}"),
                format!("Stopping container {}", c.name),
            );
        }
    }

    /// The machine boots (or the kubelet process starts): all loops start at once, as
    /// `wait.JitterUntil` runs its function immediately.
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        assert!(!self.running, "kubelet {} started twice", self.node_name);
        self.running = true;
        self.gen += 1;
        self.boots += 1;
        self.registered = false;
        self.register_step = REGISTER_INITIAL_STEP;
        self.lease_cached = false;
        self.lease_parked = None;
        self.last_report = None;
        self.listed = false;
        self.started_at = ctx.now();
        self.client.restart(self.config.client);
        self.register_token = false;
        self.draw_report_offset();
        let object = format!("Node/{}", self.node_name);
        self.record(ctx, "Starting", object.clone(), "Starting kubelet.".into());
        if self.boots > 1 && !self.restarting {
            self.record(
                ctx,
                "Rebooted",
                object,
                format!("Node {} has been rebooted", self.node_name),
            );
        }
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_in(SimDuration::ZERO, Event::KubeletStatusTick { machine, gen });
        ctx.schedule_in(SimDuration::ZERO, Event::KubeletLeaseTick { machine, gen });
        // Containers that kept running while the process was down get new probe workers.
        let now = ctx.now();
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in &keys {
            let entry = self.pods.get_mut(k).expect("listed key");
            entry.wake = None;
            entry.worker.restart_probes(now, &mut self.runtime);
            entry.worker.set_loop_origin(now);
        }
        for k in &keys {
            self.reschedule(ctx, k);
        }
        self.start_static_pods(ctx);
        self.relist(ctx, api);
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    /// Runs one of this kubelet's timers (the cluster has checked it is current).
    pub fn handle(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, ev: Event) {
        match ev {
            Event::KubeletStatusTick { .. } => self.on_status_tick(ctx, api),
            Event::KubeletRegister { .. } => self.on_register(ctx, api),
            Event::KubeletLeaseTick { .. } => self.on_lease_tick(ctx, api),
            Event::KubeletLeaseEnsure { .. } => self.on_lease_ensure(ctx, api),
            Event::KubeletLeaseLanded { sent, .. } => self.on_lease_landed(ctx, api, sent),
            Event::KubeletPodWake { pod, .. } => self.on_pod_wake(ctx, api, &pod),
            Event::KubeletEvictionTick { .. } => self.on_eviction_tick(ctx, api),
            Event::KubeletPullDone { id, .. } => self.on_pull_done(ctx, api, id),
            Event::KubeletClientWrite { id, .. } => self.on_client_write(ctx, api, id),
            Event::KubeletPodStatusSync { .. } => self.on_pod_status_sync(ctx, api),
        }
    }

    pub fn on_watch(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, change: Change) {
        match change {
            Change::Pod(p) if p.spec.node_name.as_deref() == Some(self.node_name.as_str()) => {
                self.sync_pod(ctx, api, p)
            }
            Change::PodDeleted(p) if self.static_pods.contains_key(&p.key()) => {
                // A mirror pod cannot be deleted from the API: the kubelet recreates it.
                self.ensure_mirror_pods(ctx, api);
            }
            Change::PodDeleted(p) => {
                if let Some(w) = self.pods.remove(&p.key()) {
                    if let Some((_, ev)) = w.wake {
                        ctx.cancel(ev);
                    }
                }
            }
            _ => {}
        }
    }

    /// `kubelet_running_pods`: pods whose sandbox is running (0 while the machine is down).
    pub fn running_pods(&self) -> usize {
        if !self.running {
            return 0;
        }
        self.pods.running()
    }

    /// Whether the running-pod count and the per-pod answers kept since the last change are
    /// what a scan of the workers gives now (for invariant checks: true when nothing is kept).
    pub fn running_pods_kept_matches_scan(&self) -> bool {
        self.pods.kept_matches_scan()
    }

    /// Pods this kubelet has started or is starting (for invariant checks).
    pub fn pod_keys(&self) -> impl Iterator<Item = &String> {
        self.pods.keys()
    }
}
