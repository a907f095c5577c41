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
pub mod conditions;
pub mod eviction;
pub mod phase;
pub mod qos;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiError, ApiServer, Change};
use crate::cluster::Event;
use crate::model::*;
use crate::network::Caller;
use crate::runtime::{ContainerRuntime, RuntimeConfig};
use crate::sim::{rng, Engine, Record, SimDuration, SimTime};

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
}

impl Default for KubeletConfig {
    fn default() -> Self {
        KubeletConfig {
            node_status_update_frequency: SimDuration::from_secs(10),
            node_status_report_frequency: SimDuration::from_mins(5),
            node_lease_duration_seconds: 40,
            report_jitter: true,
            lazy_heartbeats: true,
        }
    }
}

const JITTER_FACTOR: f64 = 0.04;
const LEASE_RENEW_FRACTION: f64 = 0.25;
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

#[derive(Clone, Debug, PartialEq, Eq)]
enum WorkerState {
    /// Containers are being started; `KubeletPodStarted` will arrive.
    Starting,
    Running,
    /// SIGTERM sent; `KubeletPodStopped` will arrive.
    Stopping,
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
    pods: BTreeMap<String, (Arc<Pod>, WorkerState)>,
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
            runtime: ContainerRuntime::new(runtime, rng::stream(seed, &format!("runtime/{name}"))),
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
        ctx: &mut Engine<Event>,
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
    fn record_killing(&self, ctx: &mut Engine<Event>, key: &str, pod: &Pod) {
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
    pub fn start(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        assert!(!self.running, "kubelet {} started twice", self.node_name);
        self.running = true;
        self.gen += 1;
        self.boots += 1;
        self.registered = false;
        self.register_step = REGISTER_INITIAL_STEP;
        self.lease_cached = false;
        self.lease_parked = None;
        self.last_report = None;
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
        self.pods
            .retain(|_, (_, state)| matches!(state, WorkerState::Running));
        self.pending_status.clear();
    }

    /// The kubelet process starts again and adopts the containers still running.
    pub fn restart_process(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
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

    pub fn on_status_tick(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        if !self.registered {
            // registerWithAPIServer sleeps before each attempt.
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_in(self.register_step, Event::KubeletRegister { machine, gen });
            return;
        }
        // The plan's last tick is this one: the plan is used up.
        self.status_plan = None;
        let healthy = self.update_node_status(ctx, api);
        self.flush_pod_status(api);
        if !self.config.lazy_heartbeats {
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
    fn plan_status_ticks(&mut self, ctx: &mut Engine<Event>, to_deadline: bool) {
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
    pub fn interrupt_status_plan(&mut self, ctx: &mut Engine<Event>, inclusive: bool) {
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

    fn schedule_status_tick(&mut self, ctx: &mut Engine<Event>) {
        let d = rng::jitter(
            &mut self.rng,
            self.config.node_status_update_frequency,
            JITTER_FACTOR,
        );
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_in(d, Event::KubeletStatusTick { machine, gen });
    }

    pub fn on_register(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        let mut node = self.template.clone();
        node.status.conditions = healthy_conditions(now, None);
        match api.create_node(self.caller(), node) {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => {
                self.registered = true;
                api.register_kubelet_watch(&self.node_name, self.machine);
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
    fn update_node_status(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) -> bool {
        let now = ctx.now();
        let Ok(current) = api.get_node(self.caller(), &self.node_name) else {
            return false;
        };
        let changed = !is_healthy_status(&current.status.conditions);
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
        let desired = healthy_conditions(now, Some(&current));
        let result = api.update_node(self.caller(), &self.node_name, |n| {
            n.status.conditions = desired;
        });
        if result.is_ok() {
            self.last_report = Some(now);
            if changed {
                self.draw_report_offset();
            }
            if was_ready != Some(ConditionStatus::True) {
                self.record(
                    ctx,
                    "NodeReady",
                    format!("Node/{}", self.node_name),
                    format!("Node {} status is now: NodeReady", self.node_name),
                );
            }
        }
        result.is_ok()
    }

    // ----- node lease (reference §1.3) -----

    pub fn on_lease_tick(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
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
    pub fn on_lease_ensure(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
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
    pub fn wake_reachable(&mut self, ctx: &mut Engine<Event>) {
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
    pub fn on_lease_landed(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer, sent: SimTime) {
        if self.put_renewal(api, sent) {
            self.schedule_lease_tick(ctx, api);
        } else {
            self.lease_backoff = SimDuration::from_millis(100);
            self.on_lease_ensure(ctx, api);
        }
    }

    /// `retry_update`: up to 5 immediate attempts; all fail at once when unreachable.
    fn renew_lease(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) -> bool {
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

    fn schedule_lease_tick(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
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
    pub fn interrupt_lease_plan(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
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
    pub fn reconnect(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        self.relist(ctx, api);
    }

    /// LIST own pods (after boot or reconnect) and sync each; pods the API server no longer has
    /// are killed (`HandlePodCleanups`).
    fn relist(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer) {
        let Ok(pods) = api.list_pods_on_node(self.caller(), &self.node_name) else {
            return;
        };
        let listed: BTreeSet<String> = pods.iter().map(|p| p.key()).collect();
        let unwanted: Vec<String> = self
            .pods
            .keys()
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        for key in unwanted {
            if let Some((pod, WorkerState::Running)) = self.pods.remove(&key) {
                self.record_killing(ctx, &key, &pod);
            }
        }
        for p in pods {
            self.sync_pod(ctx, api, p);
        }
    }

    pub fn on_watch(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer, change: Change) {
        match change {
            Change::Pod(p) if p.spec.node_name.as_deref() == Some(self.node_name.as_str()) => {
                self.sync_pod(ctx, api, p)
            }
            Change::PodDeleted(p) => {
                self.pods.remove(&p.key());
            }
            _ => {}
        }
    }

    /// The pod worker's sync: start a new pod, kill a deleted one.
    fn sync_pod(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer, pod: Arc<Pod>) {
        let key = pod.key();
        let (machine, gen) = (self.machine, self.gen);
        let state = self.pods.get(&key).map(|(_, s)| s.clone());
        if pod.is_terminating() {
            match state {
                Some(WorkerState::Running) => {
                    self.record_killing(ctx, &key, &pod);
                    let grace =
                        SimDuration::from_secs(pod.meta.deletion_grace_period_seconds.unwrap_or(0));
                    let stop = self.runtime.stop_delay().min(grace);
                    self.pods.insert(key.clone(), (pod, WorkerState::Stopping));
                    ctx.schedule_in(
                        stop,
                        Event::KubeletPodStopped {
                            machine,
                            gen,
                            pod: key,
                        },
                    );
                }
                Some(WorkerState::Stopping) => {
                    self.pods.insert(key, (pod, WorkerState::Stopping));
                }
                // Nothing runs (never started, or the machine rebooted): confirm at once.
                Some(WorkerState::Starting) | None => {
                    self.pods.remove(&key);
                    self.confirm_deleted(api, &key);
                }
            }
            return;
        }
        if pod.status.phase.is_terminal() {
            self.pods.remove(&key);
            return;
        }
        match state {
            Some(_) => {
                let s = self.pods[&key].1.clone();
                self.pods.insert(key, (pod, s));
            }
            None => {
                let delay = self.runtime.start_delay(&pod);
                self.pods.insert(key.clone(), (pod, WorkerState::Starting));
                ctx.schedule_in(
                    delay,
                    Event::KubeletPodStarted {
                        machine,
                        gen,
                        pod: key,
                    },
                );
            }
        }
    }

    pub fn on_pod_started(&mut self, ctx: &mut Engine<Event>, api: &mut ApiServer, key: &str) {
        let Some((pod, state)) = self.pods.get_mut(key) else {
            return;
        };
        if *state != WorkerState::Starting {
            return;
        }
        *state = WorkerState::Running;
        let names: Vec<String> = pod.spec.containers.iter().map(|c| c.name.clone()).collect();
        for n in names {
            self.record(
                ctx,
                "Started",
                format!("Pod/{key}"),
                format!("Started container {n}"),
            );
        }
        self.write_running_status(api, key);
        if !self.pending_status.is_empty() {
            // A failed pod status write is retried by the next status tick.
            self.interrupt_status_plan(ctx, true);
        }
    }

    fn write_running_status(&mut self, api: &mut ApiServer, key: &str) {
        let now = api.now();
        let res = api.update_pod(self.caller(), key, |p| {
            p.status.phase = PodPhase::Running;
            if p.status.start_time.is_none() {
                p.status.start_time = Some(now);
            }
            p.set_condition(
                PodConditionType::Initialized,
                ConditionStatus::True,
                "",
                now,
            );
            p.set_condition(
                PodConditionType::ContainersReady,
                ConditionStatus::True,
                "",
                now,
            );
            p.set_condition(PodConditionType::Ready, ConditionStatus::True, "", now);
        });
        match res {
            Ok(_) => {
                self.pending_status.remove(key);
            }
            Err(ApiError::NotFound(_)) => {}
            Err(_) => {
                self.pending_status.insert(key.to_string());
            }
        }
    }

    fn flush_pod_status(&mut self, api: &mut ApiServer) {
        let keys: Vec<String> = self.pending_status.iter().cloned().collect();
        for k in keys {
            if matches!(self.pods.get(&k), Some((_, WorkerState::Running))) {
                self.write_running_status(api, &k);
            } else {
                self.pending_status.remove(&k);
            }
        }
    }

    pub fn on_pod_stopped(&mut self, api: &mut ApiServer, key: &str) {
        if matches!(self.pods.get(key), Some((_, WorkerState::Stopping))) {
            self.confirm_deleted(api, key);
        }
    }

    /// The status manager's final DELETE with grace 0 once nothing runs any more.
    fn confirm_deleted(&mut self, api: &mut ApiServer, key: &str) {
        if api.delete_pod(self.caller(), key, Some(0)).is_ok() {
            self.pods.remove(key);
        }
    }

    /// Pods this kubelet has started or is starting (for invariant checks).
    pub fn pod_keys(&self) -> impl Iterator<Item = &String> {
        self.pods.keys()
    }
}

/// The conditions a kubelet with a working runtime and no pressure computes at `now`, keeping
/// each `lastTransitionTime` of `existing` whose status is unchanged.
pub fn healthy_conditions(now: SimTime, existing: Option<&Node>) -> Vec<NodeCondition> {
    HEALTHY
        .iter()
        .map(|(t, s, reason, msg)| {
            let prev = existing.and_then(|n| n.condition(*t));
            let ltt = match prev {
                Some(p) if p.status == *s => p.last_transition_time,
                _ => now,
            };
            NodeCondition {
                type_: *t,
                status: *s,
                last_heartbeat_time: now,
                last_transition_time: ltt,
                reason: reason.to_string(),
                message: msg.to_string(),
            }
        })
        .collect()
}

/// Whether `current` already says exactly what a healthy kubelet would post: "changed" ignores
/// `lastHeartbeatTime` and condition order (reference §1.2). Allocation-free, as it runs on
/// every status tick of every node.
fn is_healthy_status(current: &[NodeCondition]) -> bool {
    current.len() == HEALTHY.len()
        && HEALTHY.iter().all(|(t, s, reason, msg)| {
            current.iter().any(|c| {
                c.type_ == *t && c.status == *s && c.reason == *reason && c.message == *msg
            })
        })
}

/// The conditions a healthy kubelet posts: (type, status, reason, message).
const HEALTHY: [(NodeConditionType, ConditionStatus, &str, &str); 4] = {
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
