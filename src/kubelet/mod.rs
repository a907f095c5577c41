//! The kubelet of one machine: registration, node status and Lease heartbeats, and pod workers
//! that start admitted pods and kill deleted ones through the simulated runtime.
//!
//! Architecture invariant: a kubelet talks to the API server only through requests that the
//! network may refuse, and sees pods only through its own field-selected watch (pods bound to
//! its node), so its cache is O(its pods). Every timer it schedules carries its process
//! generation; a crash bumps the generation and so cancels them all.
//!
//! Timings follow reference node-lifecycle §1: status loop every `nodeStatusUpdateFrequency`
//! (jitter 0.04, sliding), writes only on change or when the report period expired (±50 %
//! jitter from 1.34 on); Lease renewed every 0.25 × `nodeLeaseDurationSeconds` (jitter 0.04,
//! sliding), with the 200 ms → 7 s ensure backoff on failure; registration backoff 100 ms → 7 s.

pub mod admission;
pub mod event;
pub use event::Event;
pub mod conditions;
pub mod eviction;
pub mod phase;
pub mod qos;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiError, ApiServer, Change};
use crate::model::*;
use crate::network::Caller;
use crate::runtime::images::{InFlight, RegistryFaults};
use crate::runtime::{ContainerRuntime, RuntimeConfig};
use admission::{admit, NodeUsage};
use pressure::{EvictionConfig, EvictionState, Signal};
use worker::{Outbox, Worker};

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
        }
    }
}

const JITTER_FACTOR: f64 = 0.04;
const LEASE_RENEW_FRACTION: f64 = 0.25;
/// `nodeStatusMaxImages` default.
const NODE_STATUS_MAX_IMAGES: usize = 50;
const REGISTER_INITIAL_STEP: SimDuration = SimDuration::from_millis(100);
const BACKOFF_CAP: SimDuration = SimDuration::from_secs(7);
/// Renewals per lease plan (about 10 minutes at the default 10 s interval).
const LEASE_PLAN_LEN: usize = 60;

/// Status ticks per status plan at most (the plan also ends at the report deadline).
const STATUS_PLAN_MAX: usize = 64;

/// Lazy heartbeats, status loop: the ticks until the next report deadline, all of which would
/// find nothing to write as long as nothing changes. Only the last is a real event.
struct StatusPlan {
    rng_before: ChaCha8Rng,
    times: Vec<SimTime>,
    event: crate::sim::EventId,
}

/// Lazy heartbeats: the renewals the lease loop will make if nothing interferes. They are
/// drawn from the lease stream exactly as the eager loop would draw them (one jitter per
/// renewal); all but the last are announced to the API server, the last is a real tick.
struct LeasePlan {
    /// The lease stream before the plan's draws, to replay exactly as many as were used.
    rng_before: ChaCha8Rng,
    times: Vec<SimTime>,
    event: crate::sim::EventId,
}

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

/// A pod worker and the kubelet's bookkeeping for it.
struct PodEntry {
    worker: Worker,
    /// The scheduled wake-up, if any.
    wake: Option<(SimTime, crate::sim::EventId)>,
    /// The status last written to the API server.
    written: Option<PodStatus>,
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
    pods: BTreeMap<String, PodEntry>,
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
    /// Added latency of lease renewals (the `slowLeaseRenewals` fault), and how many such
    /// faults are active.
    lease_latency: SimDuration,
    slow_lease_faults: u32,
    /// The process is being restarted (not the machine rebooted).
    restarting: bool,
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
            pods: BTreeMap::new(),
            pending_status: BTreeSet::new(),
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
        self.started_at = ctx.now();
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
        }
        for k in &keys {
            self.reschedule(ctx, k);
        }
        self.start_static_pods(ctx);
        self.relist(ctx, api);
    }

    /// The machine crashes: every process and container on it stops; nothing is written.
    /// (The cluster withdraws any lease plan first, see [`Kubelet::interrupt_lease_plan`].)
    pub fn crash(&mut self) {
        debug_assert!(self.lease_plan.is_none(), "lease plan not withdrawn");
        debug_assert!(self.status_plan.is_none(), "status plan not withdrawn");
        self.running = false;
        self.gen += 1;
        self.lease_parked = None;
        self.pods.clear();
        self.runtime.images.reset_pulls();
        self.eviction = EvictionState::default();
        self.pending_status.clear();
    }

    /// The kubelet process stops (the machine and its containers keep running). Pods in the
    /// middle of starting or stopping are re-synced from the API server at restart.
    pub fn stop_process(&mut self) {
        debug_assert!(self.lease_plan.is_none(), "lease plan not withdrawn");
        debug_assert!(self.status_plan.is_none(), "status plan not withdrawn");
        self.running = false;
        self.gen += 1;
        self.lease_parked = None;
        // Workers with nothing running are rebuilt from the API server at restart; the pulls
        // the process was making are lost.
        self.pods.retain(|_, e| !e.worker.all_stopped());
        self.runtime.images.reset_pulls();
        self.eviction.next_tick = None;
        self.pending_status.clear();
    }

    /// The kubelet process starts again and adopts the containers still running.
    pub fn restart_process(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.restarting = true;
        self.start(ctx, api);
        self.restarting = false;
    }

    /// A `slowLeaseRenewals` fault starts (Some) or ends (None); the latest latency applies
    /// while any is active.
    pub fn set_lease_latency(&mut self, latency: Option<SimDuration>) {
        match latency {
            Some(l) => {
                self.slow_lease_faults += 1;
                self.lease_latency = l;
            }
            None => {
                self.slow_lease_faults = self.slow_lease_faults.saturating_sub(1);
                if self.slow_lease_faults == 0 {
                    self.lease_latency = SimDuration::ZERO;
                }
            }
        }
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    fn draw_report_offset(&mut self) {
        self.report_offset_ns = if self.config.report_jitter {
            let f = self.config.node_status_report_frequency.as_nanos() as f64;
            (f * (rng::unit_f64(&mut self.rng) - 0.5)).round() as i64
        } else {
            0
        };
    }

    // ----- node status -----

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
        }
    }

    pub fn on_status_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        if !self.registered {
            // registerWithAPIServer sleeps before each attempt.
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_in(self.register_step, Event::KubeletRegister { machine, gen });
            return;
        }
        // The plan's last tick is this one: the plan is used up.
        self.status_plan = None;
        let healthy = self.update_node_status(ctx, api);
        self.flush_pod_status(ctx, api);
        if !self.config.lazy_heartbeats || self.runtime_hung_since.is_some() {
            self.schedule_status_tick(ctx);
        } else if healthy && self.pending_status.is_empty() {
            self.plan_status_ticks(ctx, true);
        } else if !api.net.reachable(self.caller()) {
            // Cut off: every tick fails, with no effect, until `wake_reachable`.
            self.plan_status_ticks(ctx, false);
        } else {
            self.schedule_status_tick(ctx);
        }
    }

    /// Lazy heartbeats: the node status in the API is what this kubelet would post and no pod
    /// status is pending, so every tick until the report deadline would do nothing. Draw their
    /// times as the eager loop would and schedule only the one at the deadline.
    /// (`to_deadline` false: the kubelet is cut off, so every tick until it is woken fails;
    /// plan a fixed number of them.)
    fn plan_status_ticks(&mut self, ctx: &mut dyn Ctx<Event>, to_deadline: bool) {
        let last = match self.last_report {
            Some(last) => last,
            None if !to_deadline => SimTime::ZERO,
            None => {
                self.schedule_status_tick(ctx);
                return;
            }
        };
        let period = if to_deadline {
            self.config.node_status_report_frequency.as_nanos() as i64 + self.report_offset_ns
        } else {
            i64::MAX
        };
        let rng_before = self.rng.clone();
        let mut times = Vec::new();
        let mut t = ctx.now();
        loop {
            t += rng::jitter(
                &mut self.rng,
                self.config.node_status_update_frequency,
                JITTER_FACTOR,
            );
            times.push(t);
            if t.since(last).as_nanos() as i64 >= period || times.len() == STATUS_PLAN_MAX {
                break;
            }
        }
        let (machine, gen) = (self.machine, self.gen);
        let event = ctx.schedule_at(t, Event::KubeletStatusTick { machine, gen });
        self.status_plan = Some(StatusPlan {
            rng_before,
            times,
            event,
        });
    }

    /// Something that could make a planned tick do something happened now: the Node's
    /// conditions changed under the kubelet, a pod status write failed, or the process stops.
    /// Ticks up to now (`inclusive`: at now too) were no-ops; the loop goes back to one event
    /// per tick from the next, with the stream replayed to where the eager loop would have it.
    pub fn interrupt_status_plan(&mut self, ctx: &mut dyn Ctx<Event>, inclusive: bool) {
        let Some(plan) = self.status_plan.take() else {
            return;
        };
        let now = ctx.now();
        let done = if inclusive {
            plan.times.partition_point(|t| *t <= now)
        } else {
            plan.times.partition_point(|t| *t < now)
        };
        let next = done.min(plan.times.len() - 1);
        ctx.cancel(plan.event);
        self.rng = plan.rng_before;
        for _ in 0..=next {
            rng::jitter(
                &mut self.rng,
                self.config.node_status_update_frequency,
                JITTER_FACTOR,
            );
        }
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(plan.times[next], Event::KubeletStatusTick { machine, gen });
    }

    fn schedule_status_tick(&mut self, ctx: &mut dyn Ctx<Event>) {
        let d = rng::jitter(
            &mut self.rng,
            self.config.node_status_update_frequency,
            JITTER_FACTOR,
        );
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_in(d, Event::KubeletStatusTick { machine, gen });
    }

    pub fn on_register(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        let mut node = self.template.clone();
        node.status.conditions = healthy_conditions(now, None);
        match api.create_node(self.caller(), node) {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => {
                self.registered = true;
                api.register_kubelet_watch(&self.node_name, self.machine);
                self.ensure_mirror_pods(ctx, api);
                let _ = self.update_node_status(ctx, api);
                self.schedule_status_tick(ctx);
            }
            Err(_) => {
                self.register_step = (self.register_step + self.register_step).min(BACKOFF_CAP);
                let (machine, gen) = (self.machine, self.gen);
                ctx.schedule_in(self.register_step, Event::KubeletRegister { machine, gen });
            }
        }
    }

    /// `tryUpdateNodeStatus`: PATCH only if something other than heartbeat times changed, or
    /// the report period (with its 1.34 jitter) expired.
    /// Returns whether the API now holds the status this kubelet would post (reachable, and
    /// either nothing to write or the write succeeded).
    fn update_node_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) -> bool {
        let now = ctx.now();
        let Ok(current) = api.get_node(self.caller(), &self.node_name) else {
            return false;
        };
        let pleg = self.pleg_error(now);
        // `setNodeStatusImages`: the images on the machine, largest first, at most
        // `nodeStatusMaxImages` (50); a pulled image changes the status.
        let images = if self.runtime.images.pulled_any() {
            Some(self.runtime.images.node_images(NODE_STATUS_MAX_IMAGES))
        } else {
            None
        };
        let changed = !is_current_status(
            &current.status.conditions,
            self.eviction.pressure,
            pleg.as_deref(),
        ) || images.as_ref().is_some_and(|i| *i != current.status.images);
        let expired = match self.last_report {
            None => true,
            Some(last) => {
                let period = self.config.node_status_report_frequency.as_nanos() as i64
                    + self.report_offset_ns;
                now.since(last).as_nanos() as i64 >= period
            }
        };
        if !changed && !expired {
            return true;
        }
        let was_ready = current.ready_status();
        let desired = node_conditions(now, Some(&current), self.eviction.pressure, pleg.as_deref());
        let result = api.update_node(self.caller(), &self.node_name, |n| {
            n.status.conditions = desired;
            if let Some(i) = images {
                n.status.images = i;
            }
        });
        if result.is_ok() {
            self.last_report = Some(now);
            if changed {
                self.draw_report_offset();
            }
            // `recordNodeStatusEvent` when the Ready status the kubelet posts changes.
            let (ready_now, what) = if pleg.is_none() {
                (ConditionStatus::True, "NodeReady")
            } else {
                (ConditionStatus::False, "NodeNotReady")
            };
            if was_ready != Some(ready_now) && !(what == "NodeNotReady" && was_ready.is_none()) {
                self.record(
                    ctx,
                    what,
                    format!("Node/{}", self.node_name),
                    format!("Node {} status is now: {what}", self.node_name),
                );
            }
        }
        result.is_ok() && pleg.is_none()
    }

    // ----- node lease (reference §1.3) -----

    pub fn on_lease_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        // The plan's last renewal is this tick: the plan is used up.
        self.lease_plan = None;
        if self.lease_cached && self.lease_latency > SimDuration::ZERO {
            // The renewal (renewTime = now, the kubelet's clock) is in flight; the loop waits
            // for it, so the next renewal is timed from its arrival.
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_in(
                self.lease_latency,
                Event::KubeletLeaseLanded {
                    machine,
                    gen,
                    sent: ctx.now(),
                },
            );
            return;
        }
        if self.lease_cached && self.renew_lease(ctx, api) {
            self.schedule_lease_tick(ctx, api);
            return;
        }
        self.lease_backoff = SimDuration::from_millis(100);
        self.on_lease_ensure(ctx, api);
    }

    /// One `backoff_ensure` attempt: GET, CREATE if missing; on failure sleep 200 ms, 400 ms …
    /// capped at 7 s.
    pub fn on_lease_ensure(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        let ok = match api.get_lease(self.caller(), &self.node_name) {
            Ok(_) => {
                self.lease_cached = true;
                self.renew_lease(ctx, api);
                true
            }
            Err(ApiError::NotFound(_)) => {
                let lease = Lease {
                    name: self.node_name.clone(),
                    holder_identity: self.node_name.clone(),
                    lease_duration_seconds: self.config.node_lease_duration_seconds,
                    renew_time: now,
                    resource_version: 0,
                };
                let created = api.put_lease(self.caller(), lease).is_ok();
                self.lease_cached = created;
                created
            }
            Err(_) => false,
        };
        if ok {
            self.schedule_lease_tick(ctx, api);
        } else {
            self.lease_backoff = (self.lease_backoff + self.lease_backoff).min(BACKOFF_CAP);
            let next = now + self.lease_backoff;
            if self.config.lazy_heartbeats && !api.net.reachable(self.caller()) {
                // Cut off: every attempt fails, with no effect, until the link returns;
                // `wake_reachable` schedules the first attempt after that.
                self.lease_parked = Some((next, self.lease_backoff));
                return;
            }
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_at(next, Event::KubeletLeaseEnsure { machine, gen });
        }
    }

    /// Lazy heartbeats: the API server may be reachable again (a partition or an outage
    /// ended). The parked lease attempts and the planned status ticks before now failed with
    /// no effect; the loops resume at their first attempt at or after now.
    pub fn wake_reachable(&mut self, ctx: &mut dyn Ctx<Event>) {
        if let Some((mut at, mut backoff)) = self.lease_parked.take() {
            let now = ctx.now();
            // Bounded: the backoff reaches its cap after a few doublings.
            while at < now {
                backoff = (backoff + backoff).min(BACKOFF_CAP);
                at += backoff;
            }
            self.lease_backoff = backoff;
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_at(at, Event::KubeletLeaseEnsure { machine, gen });
        }
        self.interrupt_status_plan(ctx, false);
    }

    /// A slow renewal reaches the API server (reference §1.3; the `slowLeaseRenewals` fault).
    pub fn on_lease_landed(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        sent: SimTime,
    ) {
        if self.put_renewal(api, sent) {
            self.schedule_lease_tick(ctx, api);
        } else {
            self.lease_backoff = SimDuration::from_millis(100);
            self.on_lease_ensure(ctx, api);
        }
    }

    /// `retry_update`: up to 5 immediate attempts; all fail at once when unreachable.
    fn renew_lease(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) -> bool {
        self.put_renewal(api, ctx.now())
    }

    fn put_renewal(&mut self, api: &mut ApiServer, renew_time: SimTime) -> bool {
        let lease = Lease {
            name: self.node_name.clone(),
            holder_identity: self.node_name.clone(),
            lease_duration_seconds: self.config.node_lease_duration_seconds,
            renew_time,
            resource_version: 0,
        };
        api.put_lease(self.caller(), lease).is_ok()
    }

    fn schedule_lease_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let interval = SimDuration::from_secs(self.config.node_lease_duration_seconds)
            .mul_f64(LEASE_RENEW_FRACTION);
        let (machine, gen) = (self.machine, self.gen);
        if !self.config.lazy_heartbeats || self.lease_latency > SimDuration::ZERO {
            let d = rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
            ctx.schedule_in(d, Event::KubeletLeaseTick { machine, gen });
            return;
        }
        // Steady state (the renewal just succeeded, no added latency): plan ahead.
        let rng_before = self.lease_rng.clone();
        let mut times = Vec::with_capacity(LEASE_PLAN_LEN);
        let mut t = ctx.now();
        for _ in 0..LEASE_PLAN_LEN {
            t += rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
            times.push(t);
        }
        let last = times[LEASE_PLAN_LEN - 1];
        api.plan_lease_renewals(&self.node_name, times[..LEASE_PLAN_LEN - 1].to_vec());
        let event = ctx.schedule_at(last, Event::KubeletLeaseTick { machine, gen });
        self.lease_plan = Some(LeasePlan {
            rng_before,
            times,
            event,
        });
    }

    /// Something that would make renewals fail or change starts now (a fault on this machine
    /// or the API server): the planned renewals before now happened, the rest are withdrawn,
    /// and the loop goes back to one event per renewal from the first withdrawn one, with the
    /// lease stream exactly where the eager loop would have it.
    pub fn interrupt_lease_plan(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let Some(plan) = self.lease_plan.take() else {
            return;
        };
        let now = ctx.now();
        let kept = plan.times.partition_point(|t| *t < now);
        api.withdraw_lease_plan(&self.node_name, now);
        ctx.cancel(plan.event);
        // The tick at times[kept] was scheduled by draw number kept + 1.
        self.lease_rng = plan.rng_before;
        let interval = SimDuration::from_secs(self.config.node_lease_duration_seconds)
            .mul_f64(LEASE_RENEW_FRACTION);
        for _ in 0..=kept {
            rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
        }
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(plan.times[kept], Event::KubeletLeaseTick { machine, gen });
    }

    // ----- pods -----

    /// The link to the API server is back after a partition: the pod watch reconnects with a
    /// fresh LIST. (Lease and status loops recover on their own retries.)
    pub fn reconnect(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.relist(ctx, api);
    }

    /// LIST own pods (after boot or reconnect) and sync each; pods the API server no longer has
    /// are killed (`HandlePodCleanups`).
    fn relist(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let Ok(pods) = api.list_pods_on_node(self.caller(), &self.node_name) else {
            return;
        };
        let listed: BTreeSet<String> = pods.iter().map(|p| p.key()).collect();
        let unwanted: Vec<String> = self
            .pods
            .keys()
            .filter(|k| !listed.contains(*k) && !self.static_pods.contains_key(*k))
            .cloned()
            .collect();
        for key in unwanted {
            if let Some(w) = self.pods.remove(&key) {
                if let Some((_, ev)) = w.wake {
                    ctx.cancel(ev);
                }
                if !w.worker.all_stopped() {
                    self.record_killing(ctx, &key, &w.worker.pod);
                }
            }
        }
        for p in pods {
            self.sync_pod(ctx, api, p);
        }
        if self.registered {
            self.ensure_mirror_pods(ctx, api);
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

    /// `HandlePodAdditions`/`HandlePodUpdates`: admit and start a new pod, terminate a deleted
    /// one, keep a running one's object current.
    fn sync_pod(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, pod: Arc<Pod>) {
        let key = pod.key();
        let now = ctx.now();
        if self.static_pods.contains_key(&key) {
            // The mirror of a static pod: deleting it deletes only the mirror (recreated on the
            // delete notification); the static pod keeps running.
            if pod.is_terminating() {
                let _ = api.delete_pod(self.caller(), &key, Some(0));
            }
            return;
        }
        if pod.is_terminating() {
            let Some(entry) = self.pods.get_mut(&key) else {
                // Nothing runs (never started, or the machine rebooted): confirm at once.
                self.confirm_deleted(api, &key);
                return;
            };
            let grace = SimDuration::from_secs(pod.meta.deletion_grace_period_seconds.unwrap_or(0));
            entry.worker.update_pod(pod);
            let mut out = Outbox::default();
            entry.worker.terminate(now, grace, &mut out);
            self.flush(ctx, api, &key, out);
            return;
        }
        if let Some(entry) = self.pods.get_mut(&key) {
            entry.worker.update_pod(pod);
            return;
        }
        if pod.status.phase.is_terminal() {
            return;
        }
        // `canAdmitPod`: the pod must fit next to the pods already admitted.
        let node = api
            .get_node(self.caller(), &self.node_name)
            .unwrap_or_else(|_| Arc::new(self.template.clone()));
        let usage = NodeUsage::of(
            self.pods
                .values()
                .filter(|e| !e.worker.finished())
                .map(|e| &*e.worker.pod),
        );
        let verdict = admit(&pod, &node, &usage);
        if !verdict.admit {
            self.reject(ctx, api, &pod, &verdict.reason, verdict.message);
            return;
        }
        let delay = self.runtime.start_delay();
        let mut worker = Worker::new(pod, now, delay, self.started_at, &mut self.runtime);
        worker.eager_probes = !self.config.lazy_probes;
        let labels = &worker.pod.meta.labels;
        worker.crash_override = self
            .crash_faults
            .iter()
            .rev()
            .find(|(sel, _, _)| matches_labels(sel, labels))
            .map(|(_, code, after)| (*code, *after));
        worker.leak_rate = self
            .leak_faults
            .iter()
            .filter(|(sel, _)| matches_labels(sel, labels))
            .map(|(_, r)| r)
            .sum();
        self.pods.insert(
            key.clone(),
            PodEntry {
                worker,
                wake: None,
                written: None,
            },
        );
        self.reschedule(ctx, &key);
    }

    /// The node's static pods: named `<name>-<node>`, bound to this node, marked as coming
    /// from a file source (`kubernetes.io/config.source: file`).
    pub fn set_static_pods(&mut self, pods: &[Pod]) {
        for p in pods {
            let mut p = p.clone();
            p.meta.name = format!("{}-{}", p.meta.name, self.node_name);
            p.spec.node_name = Some(self.node_name.clone());
            p.meta
                .annotations
                .insert("kubernetes.io/config.source".into(), "file".into());
            let hash = crate::sim::trace::fnv1a64(format!("{:?}", p.spec).as_bytes());
            p.meta
                .annotations
                .insert("kubernetes.io/config.hash".into(), format!("{hash:016x}"));
            self.static_pods.insert(p.key(), Arc::new(p));
        }
    }

    /// Static pods run at kubelet start without the API server (the file source).
    fn start_static_pods(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        let pods: Vec<Arc<Pod>> = self.static_pods.values().cloned().collect();
        for pod in pods {
            let key = pod.key();
            if self.pods.contains_key(&key) {
                continue;
            }
            let usage = NodeUsage::of(
                self.pods
                    .values()
                    .filter(|e| !e.worker.finished())
                    .map(|e| &*e.worker.pod),
            );
            if !admit(&pod, &self.template, &usage).admit {
                continue;
            }
            let delay = self.runtime.start_delay();
            let mut worker = Worker::new(pod, now, delay, self.started_at, &mut self.runtime);
            worker.eager_probes = !self.config.lazy_probes;
            self.pods.insert(
                key.clone(),
                PodEntry {
                    worker,
                    wake: None,
                    written: None,
                },
            );
            self.reschedule(ctx, &key);
        }
    }

    /// Mirror pods (`kubernetes.io/config.mirror`) for static pods the API server lacks.
    fn ensure_mirror_pods(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let keys: Vec<String> = self.static_pods.keys().cloned().collect();
        for key in keys {
            // A checked GET (unreachable: skipped, as the POST would fail all the same).
            let in_api = !matches!(api.get_pod(self.caller(), &key), Err(ApiError::NotFound(_)));
            if !self.pods.contains_key(&key) || in_api {
                continue;
            }
            let mut mirror = (*self.static_pods[&key]).clone();
            let hash = mirror.meta.annotations["kubernetes.io/config.hash"].clone();
            mirror
                .meta
                .annotations
                .insert("kubernetes.io/config.mirror".into(), hash);
            mirror.meta.owner_references = vec![OwnerRef {
                kind: "Node".into(),
                name: self.node_name.clone(),
                controller: true,
            }];
            if api.create_pod(self.caller(), mirror).is_ok() {
                if let Some(e) = self.pods.get_mut(&key) {
                    e.written = None;
                }
                self.write_status(ctx, api, &key);
            }
        }
    }

    /// `rejectPod`: a Warning event with the reason, and the pod Failed with it.
    fn reject(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        pod: &Pod,
        reason: &str,
        message: String,
    ) {
        let key = pod.key();
        self.record(ctx, intern(reason), format!("Pod/{key}"), message.clone());
        let caller = self.caller();
        let reason = reason.to_string();
        let _ = api.update_pod(caller, &key, |p| {
            p.status.phase = PodPhase::Failed;
            p.status.reason = reason;
            p.status.message = message;
        });
    }

    /// A pod worker's wake-up: do what is due and sync.
    pub fn on_pod_wake(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        entry.wake = None;
        if self.runtime_hung_since.is_some() {
            // Nothing moves until the runtime answers again (`resume_runtime`).
            return;
        }
        let now = ctx.now();
        let mut out = Outbox::default();
        if entry.worker.advance(now, &mut out) {
            self.write_status(ctx, api, key);
        }
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        entry.worker.sync_now(now, &mut self.runtime, &mut out);
        self.flush(ctx, api, key, out);
    }

    /// An image pull finished on this machine.
    pub fn on_pull_done(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, id: u64) {
        let now = ctx.now();
        let catalog = self.runtime.catalog().clone();
        let Some((done, next)) =
            self.runtime
                .images
                .complete(id, now, &catalog, &self.registry_faults)
        else {
            return;
        };
        self.schedule_pulls(ctx, next);
        let key = done.request.pod.clone();
        if done.outcome == crate::runtime::images::PullOutcome::Pulled {
            // The next status tick reports the image (ImageLocality reads it).
            self.interrupt_status_plan(ctx, false);
        }
        let Some(entry) = self.pods.get_mut(&key) else {
            return;
        };
        let mut out = Outbox::default();
        if let crate::runtime::images::PullOutcome::Pulled = done.outcome {
            let took = now.since(done.started);
            let waited = now.since(done.request.requested);
            out.events.push((
                "Pulled",
                format!(
                    "Successfully pulled image \"{}\" in {} ({} including waiting). Image size: {} bytes.",
                    done.request.image,
                    crate::sim::time::format_go_duration(took),
                    crate::sim::time::format_go_duration(waited),
                    done.size
                ),
            ));
        }
        entry
            .worker
            .on_pulled(&done.request.container, done.outcome);
        entry.worker.step(now, &mut self.runtime, &mut out);
        self.flush(ctx, api, &key, out);
    }

    fn schedule_pulls(&mut self, ctx: &mut dyn Ctx<Event>, flights: Vec<InFlight>) {
        let (machine, gen) = (self.machine, self.gen);
        for f in flights {
            ctx.schedule_at(
                f.done,
                Event::KubeletPullDone {
                    machine,
                    gen,
                    id: f.id,
                },
            );
        }
    }

    /// After a worker step: record its events, start its pulls, write its status if it
    /// changed, confirm a terminated pod's deletion, and schedule its next wake-up.
    fn flush(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str, out: Outbox) {
        let now = ctx.now();
        for (reason, message) in out.events {
            self.record(ctx, reason, format!("Pod/{key}"), message);
        }
        for req in out.pulls {
            let catalog = self.runtime.catalog().clone();
            let started = self
                .runtime
                .images
                .request(req, now, &catalog, &self.registry_faults);
            self.schedule_pulls(ctx, started);
        }
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        if entry.worker.is_terminating() && entry.worker.all_stopped() {
            if let Some((_, ev)) = entry.wake.take() {
                ctx.cancel(ev);
            }
            self.confirm_deleted(api, key);
            return;
        }
        self.write_status(ctx, api, key);
        self.reschedule(ctx, key);
        self.arm_eviction(ctx);
    }

    fn reschedule(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        let next = entry.worker.next_wake().map(|t| t.max(ctx.now()));
        if entry.wake.map(|(t, _)| t) == next {
            return;
        }
        if let Some((_, ev)) = entry.wake.take() {
            ctx.cancel(ev);
        }
        if let Some(t) = next {
            let (machine, gen) = (self.machine, self.gen);
            let ev = ctx.schedule_at(
                t,
                Event::KubeletPodWake {
                    machine,
                    gen,
                    pod: key.to_string(),
                },
            );
            entry.wake = Some((t, ev));
        }
    }

    /// The status manager: write the worker's status if it differs from the last written.
    fn write_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        let now = ctx.now();
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        let st = entry.worker.status(now);
        if entry.written.as_ref() == Some(&st) {
            return;
        }
        let caller = Caller::Kubelet(self.machine);
        let res = api.update_pod(caller, key, |p| apply_status(p, &st));
        match res {
            Ok(_) => {
                entry.written = Some(st);
                self.pending_status.remove(key);
            }
            Err(ApiError::NotFound(_)) => {}
            Err(_) => {
                self.pending_status.insert(key.to_string());
                // A failed pod status write is retried by the next status tick.
                self.interrupt_status_plan(ctx, true);
            }
        }
    }

    fn flush_pod_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let keys: Vec<String> = self.pending_status.iter().cloned().collect();
        for k in keys {
            self.pending_status.remove(&k);
            self.write_status(ctx, api, &k);
        }
    }

    /// The status manager's final DELETE with grace 0 once nothing runs any more.
    fn confirm_deleted(&mut self, api: &mut ApiServer, key: &str) {
        if api.delete_pod(self.caller(), key, Some(0)).is_ok() {
            self.pods.remove(key);
        }
    }

    // ----- node pressure (pkg/kubelet/eviction) -----

    /// The node's total for a signal (0: not simulated on this node).
    fn signal_capacity(&self, s: Signal) -> i64 {
        match s {
            Signal::Memory => self.template.status.capacity.memory,
            Signal::NodeFs => self.template.status.capacity.ephemeral_storage,
            Signal::Pid => pressure::NODE_PID_MAX,
        }
    }

    fn signal_threshold(&self, s: Signal) -> Option<i64> {
        let cap = self.signal_capacity(s);
        if cap <= 0 {
            return None;
        }
        self.config.eviction.threshold(s).map(|t| t.bytes_of(cap))
    }

    /// What is left of the signal's resource at `now`.
    fn signal_available(&self, s: Signal, now: SimTime) -> i64 {
        let used: i64 = match s {
            Signal::Memory => self.pods.values().map(|e| e.worker.memory_at(now)).sum(),
            Signal::NodeFs => {
                self.pods
                    .values()
                    .map(|e| e.worker.disk_at(now))
                    .sum::<i64>()
                    + self.runtime.images.total_size()
            }
            Signal::Pid => self.pods.values().map(|e| e.worker.pids()).sum(),
        };
        self.signal_capacity(s) - used
    }

    fn signal_met(&self, s: Signal, now: SimTime) -> bool {
        self.signal_threshold(s)
            .is_some_and(|t| self.signal_available(s, now) < t)
    }

    /// The soft threshold in units of the signal, and its grace period.
    fn soft_threshold(&self, s: Signal) -> Option<(i64, SimDuration)> {
        let cap = self.signal_capacity(s);
        if cap <= 0 {
            return None;
        }
        self.config.eviction.soft[s.index()].map(|(t, g)| (t.bytes_of(cap), g))
    }

    fn soft_met(&self, s: Signal, now: SimTime) -> bool {
        self.soft_threshold(s)
            .is_some_and(|(t, _)| self.signal_available(s, now) < t)
    }

    /// Schedules the eviction manager's next tick if one could change anything.
    fn arm_eviction(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.eviction.next_tick.is_some() || !self.running {
            return;
        }
        let now = ctx.now();
        let needed = self.eviction.pressure.iter().any(|p| *p)
            || self
                .pods
                .values()
                .any(|e| e.worker.memory_growing() || e.worker.disk_growing())
            || Signal::ALL
                .iter()
                .any(|s| self.signal_met(*s, now) || self.soft_met(*s, now));
        if !needed {
            return;
        }
        let mut at = pressure::tick_at_or_after(self.started_at, now);
        if at == now && self.eviction_ticked_at(now) {
            at += pressure::MONITORING_INTERVAL;
        }
        let (machine, gen) = (self.machine, self.gen);
        let ev = ctx.schedule_at(at, Event::KubeletEvictionTick { machine, gen });
        self.eviction.next_tick = Some((at, ev));
    }

    fn eviction_ticked_at(&self, now: SimTime) -> bool {
        self.eviction_last_tick == Some(now)
    }

    /// One `synchronize` of the eviction manager.
    pub fn on_eviction_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        self.eviction.next_tick = None;
        self.eviction_last_tick = Some(now);
        let transition = self.config.eviction.pressure_transition_period;
        let before = self.eviction.pressure;
        // `synchronize`: every threshold met (hard or soft) sets the pressure condition at
        // once; a soft one is acted on only once met for its grace period
        // (`thresholdsMetGracePeriod`); the first actionable signal in priority order is
        // reclaimed.
        let mut to_reclaim = None;
        for s in Signal::ALL {
            let i = s.index();
            let hard = self.signal_met(s, now);
            let soft = self.soft_met(s, now);
            if soft {
                self.eviction.soft_since[i].get_or_insert(now);
            } else {
                self.eviction.soft_since[i] = None;
            }
            if hard || soft {
                self.eviction.last_met[i] = Some(now);
                self.eviction.pressure[i] = true;
            } else if self.eviction.pressure[i]
                && self.eviction.last_met[i].is_none_or(|t| now.since(t) >= transition)
            {
                self.eviction.pressure[i] = false;
            }
            let soft_due = soft
                && self.soft_threshold(s).is_some_and(|(_, grace)| {
                    self.eviction.soft_since[i].is_some_and(|t| now.since(t) >= grace)
                });
            if to_reclaim.is_none() && (hard || soft_due) {
                to_reclaim = Some((s, hard));
            }
        }
        if before != self.eviction.pressure {
            // The next status tick reports the new conditions.
            self.interrupt_status_plan(ctx, false);
        }
        if let Some((s, hard)) = to_reclaim {
            self.evict_one(ctx, api, s, hard);
        }
        self.arm_eviction(ctx);
    }

    /// Evicts one pod for signal `s`; `hard`: its hard threshold is met (else a soft one past
    /// its grace period).
    fn evict_one(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, s: Signal, hard: bool) {
        let now = ctx.now();
        let available = self.signal_available(s, now);
        let threshold = if hard {
            self.signal_threshold(s).unwrap_or(0)
        } else {
            self.soft_threshold(s).map_or(0, |(t, _)| t)
        };
        // `rankMemoryPressure` / `rankDiskPressure` / `rankPIDPressure` (eviction.rs, ported
        // with upstream's tables) over the evictable pods and their usage at `now`.
        let mut stats = eviction::PodStats::new();
        let mut pods: Vec<&Pod> = Vec::new();
        for (k, e) in self.pods.iter().filter(|(_, e)| e.worker.evictable()) {
            stats.insert(
                k.clone(),
                eviction::PodUsage {
                    memory: e.worker.memory_at(now),
                    disk: e.worker.disk_at(now),
                    processes: e.worker.pids(),
                    ..Default::default()
                },
            );
            pods.push(&e.worker.pod);
        }
        match s {
            Signal::Memory => eviction::rank_memory_pressure(&mut pods, &stats),
            Signal::NodeFs => eviction::rank_disk_pressure(
                &mut pods,
                &stats,
                eviction::ReclaimResource::EphemeralStorage,
            ),
            Signal::Pid => eviction::rank_pid_pressure(&mut pods, &stats),
        }
        let Some(key) = pods.first().map(|p| p.key()) else {
            return;
        };
        self.record(
            ctx,
            "EvictionThresholdMet",
            format!("Node/{}", self.node_name),
            format!("Attempting to reclaim {}", s.resource()),
        );
        let entry = self.pods.get_mut(&key).expect("candidate exists");
        let mut message = format!(
            "The node was low on resource: {}. Threshold quantity: {}, available: {}. ",
            s.resource(),
            s.text(threshold),
            s.text(available.max(0))
        );
        if s != Signal::Pid {
            if let Some((c, usage, request)) = entry.worker.top_container(now, s) {
                if usage > request {
                    message.push_str(&format!(
                        "Container {c} was using {}, request is {}, has larger consumption of {}. ",
                        s.text(usage),
                        s.text(request),
                        s.resource()
                    ));
                }
            }
        }
        // Hard: `immediateEvictionGracePeriodSeconds` (1 s); soft: evictionMaxPodGracePeriod,
        // capped by the pod's own terminationGracePeriodSeconds (eviction_manager.go).
        let grace = if hard {
            1
        } else {
            (self.config.eviction.max_pod_grace_period.max(0) as u64)
                .min(entry.worker.pod.spec.termination_grace_period_seconds)
        };
        entry.worker.evict(
            now,
            "Evicted",
            message.clone(),
            SimDuration::from_secs(grace),
        );
        self.record(ctx, "Evicted", format!("Pod/{key}"), message);
        let mut out = Outbox::default();
        let entry = self.pods.get_mut(&key).expect("candidate exists");
        entry.worker.step(now, &mut self.runtime, &mut out);
        self.flush(ctx, api, &key, out);
    }

    // ----- runtime and workload faults -----

    /// `registryOutage`/`registrySlow` start or end.
    pub fn registry_fault(&mut self, registry: &str, slow: Option<u32>, start: bool) {
        let f = &mut self.registry_faults;
        match (slow, start) {
            (None, true) => *f.down.entry(registry.to_string()).or_insert(0) += 1,
            (None, false) => {
                if let Some(n) = f.down.get_mut(registry) {
                    *n = n.saturating_sub(1);
                }
            }
            (Some(x), true) => f.slow.entry(registry.to_string()).or_default().push(x),
            (Some(x), false) => {
                if let Some(v) = f.slow.get_mut(registry) {
                    if let Some(i) = v.iter().rposition(|y| *y == x) {
                        v.remove(i);
                    }
                }
            }
        }
    }

    /// `GenericPLEG.Healthy`: unhealthy once the relist has not completed for more than
    /// `relistThreshold` (3 min); the Ready condition then carries its error.
    fn pleg_error(&self, now: SimTime) -> Option<String> {
        const THRESHOLD: SimDuration = SimDuration::from_mins(3);
        let since = self.runtime_hung_since?;
        let elapsed = now.since(since);
        (elapsed > THRESHOLD).then(|| {
            format!(
                "PLEG is not healthy: pleg was last seen active {} ago; threshold is {}",
                elapsed, THRESHOLD
            )
        })
    }

    /// `runtimeHang` starts: the runtime stops answering. The generic PLEG's relist stalls, and
    /// once it has not completed for `relistThreshold` (3 min) the kubelet reports the node
    /// NotReady ("PLEG is not healthy: …") at its status ticks.
    pub fn hang_runtime(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.runtime_hung_since.is_none() {
            self.runtime_hung_since = Some(ctx.now());
        }
        self.interrupt_status_plan(ctx, false);
    }

    /// `runtimeHang` ends: workers catch up with what happened meanwhile.
    pub fn resume_runtime(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        if self.runtime_hung_since.take().is_none() || !self.running {
            return;
        }
        self.interrupt_status_plan(ctx, false);
        let now = ctx.now();
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in keys {
            let entry = self.pods.get_mut(&k).expect("listed key");
            entry.worker.resume(now);
            let mut out = Outbox::default();
            entry.worker.step(now, &mut self.runtime, &mut out);
            self.flush(ctx, api, &k, out);
        }
    }

    /// A `crashLoop` fault starts or ends for pods matching `labels`.
    pub fn crash_loop(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        labels: &BTreeMap<String, String>,
        code: i32,
        after: SimDuration,
        start: bool,
    ) {
        if start {
            self.crash_faults.push((labels.clone(), code, after));
        } else if let Some(i) = self
            .crash_faults
            .iter()
            .position(|(l, c, a)| l == labels && *c == code && *a == after)
        {
            self.crash_faults.remove(i);
        }
        let now = ctx.now();
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in keys {
            let faults = &self.crash_faults;
            let entry = self.pods.get_mut(&k).expect("listed key");
            if !matches_labels(labels, &entry.worker.pod.meta.labels) {
                continue;
            }
            let pod_labels = &entry.worker.pod.meta.labels;
            entry.worker.crash_override = faults
                .iter()
                .rev()
                .find(|(sel, _, _)| matches_labels(sel, pod_labels))
                .map(|(_, c, a)| (*c, *a));
            if start && self.runtime_hung_since.is_none() {
                entry.worker.crash_now(now, code);
                let mut out = Outbox::default();
                if entry.worker.advance(now, &mut out) {
                    self.write_status(ctx, api, &k);
                }
                let entry = self.pods.get_mut(&k).expect("listed key");
                entry.worker.sync_now(now, &mut self.runtime, &mut out);
                self.flush(ctx, api, &k, out);
            }
        }
    }

    /// A `memoryLeak` fault starts or ends for pods matching `labels`.
    pub fn memory_leak(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        labels: &BTreeMap<String, String>,
        rate: i64,
        start: bool,
    ) {
        if start {
            self.leak_faults.push((labels.clone(), rate));
        } else if let Some(i) = self
            .leak_faults
            .iter()
            .position(|(l, r)| l == labels && *r == rate)
        {
            self.leak_faults.remove(i);
        }
        let now = ctx.now();
        let delta = if start { rate } else { -rate };
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in keys {
            let entry = self.pods.get_mut(&k).expect("listed key");
            if matches_labels(labels, &entry.worker.pod.meta.labels) {
                entry.worker.change_leak(now, delta);
                self.reschedule(ctx, &k);
            }
        }
        let _ = api;
        self.arm_eviction(ctx);
    }

    /// Pods this kubelet has started or is starting (for invariant checks).
    pub fn pod_keys(&self) -> impl Iterator<Item = &String> {
        self.pods.keys()
    }
}

/// The kubelet's part of a pod status PATCH: phase, times, reason, container statuses and the
/// conditions it owns (others, such as `PodScheduled` or `DisruptionTarget`, are kept).
fn apply_status(p: &mut Pod, st: &PodStatus) {
    p.status.phase = st.phase;
    p.status.start_time = st.start_time;
    p.status.reason = st.reason.clone();
    p.status.message = st.message.clone();
    p.status.init_container_statuses = st.init_container_statuses.clone();
    p.status.container_statuses = st.container_statuses.clone();
    for c in &st.conditions {
        if matches!(
            c.type_,
            PodConditionType::PodReadyToStartContainers
                | PodConditionType::Initialized
                | PodConditionType::ContainersReady
                | PodConditionType::Ready
        ) {
            match p.status.conditions.iter_mut().find(|x| x.type_ == c.type_) {
                Some(x) => *x = c.clone(),
                None => p.status.conditions.push(c.clone()),
            }
        }
    }
}

/// The conditions a kubelet with a working runtime and no pressure computes at `now`, keeping
/// each `lastTransitionTime` of `existing` whose status is unchanged.
pub fn healthy_conditions(now: SimTime, existing: Option<&Node>) -> Vec<NodeCondition> {
    node_conditions(now, existing, [false; 3], None)
}

/// The conditions a kubelet posts at `now`, with `MemoryPressure` True when
/// `memory_pressure` (`setNodeMemoryPressureCondition`).
pub fn node_conditions(
    now: SimTime,
    existing: Option<&Node>,
    pressure: [bool; 3],
    not_ready: Option<&str>,
) -> Vec<NodeCondition> {
    HEALTHY
        .iter()
        .map(|row| {
            let (t, s, reason, msg) = condition_row(row, pressure);
            let (s, reason, msg) = match (t, not_ready) {
                (NodeConditionType::Ready, Some(m)) => {
                    (ConditionStatus::False, "KubeletNotReady", m)
                }
                _ => (s, reason, msg),
            };
            let prev = existing.and_then(|n| n.condition(t));
            let ltt = match prev {
                Some(p) if p.status == s => p.last_transition_time,
                _ => now,
            };
            NodeCondition {
                type_: t,
                status: s,
                last_heartbeat_time: now,
                last_transition_time: ltt,
                reason: reason.to_string(),
                message: msg.to_string(),
            }
        })
        .collect()
}

type ConditionRow = (
    NodeConditionType,
    ConditionStatus,
    &'static str,
    &'static str,
);

/// The row of a condition under pressure (`setNodeMemoryPressureCondition`,
/// `setNodeDiskPressureCondition`, `setNodePIDPressureCondition`), indexed by [`Signal`].
fn condition_row(row: &ConditionRow, pressure: [bool; 3]) -> ConditionRow {
    use NodeConditionType::*;
    match row.0 {
        MemoryPressure if pressure[Signal::Memory.index()] => (
            MemoryPressure,
            ConditionStatus::True,
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        DiskPressure if pressure[Signal::NodeFs.index()] => (
            DiskPressure,
            ConditionStatus::True,
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        ),
        PIDPressure if pressure[Signal::Pid.index()] => (
            PIDPressure,
            ConditionStatus::True,
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
        _ => *row,
    }
}

/// Whether `current` already says exactly what this kubelet would post: "changed" ignores
/// `lastHeartbeatTime` and condition order (reference §1.2). Allocation-free, as it runs on
/// every status tick of every node.
fn is_current_status(
    current: &[NodeCondition],
    pressure: [bool; 3],
    not_ready: Option<&str>,
) -> bool {
    current.len() == HEALTHY.len()
        && HEALTHY.iter().all(|row| {
            let (t, s, reason, msg) = condition_row(row, pressure);
            let (s, reason, msg) = match (t, not_ready) {
                (NodeConditionType::Ready, Some(m)) => {
                    (ConditionStatus::False, "KubeletNotReady", m)
                }
                _ => (s, reason, msg),
            };
            current
                .iter()
                .any(|c| c.type_ == t && c.status == s && c.reason == reason && c.message == msg)
        })
}

/// The conditions a healthy kubelet posts: (type, status, reason, message).
const HEALTHY: [ConditionRow; 4] = {
    use NodeConditionType::*;
    [
        (
            MemoryPressure,
            ConditionStatus::False,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            DiskPressure,
            ConditionStatus::False,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            PIDPressure,
            ConditionStatus::False,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            Ready,
            ConditionStatus::True,
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
};
