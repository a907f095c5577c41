//! The kubelet's eviction manager for node pressure (pkg/kubelet/eviction): every
//! `monitoringInterval` (10 s) it observes `memory.available` (capacity minus the memory the
//! running containers use), `nodefs.available` (ephemeral-storage capacity minus what the
//! containers wrote and the images on the node take: no separate image filesystem) and
//! `pid.available` (the node's PID limit minus the containers' processes), all from the
//! behaviour models; compares them with the hard thresholds (`evictionHard`, default
//! `memory.available<100Mi,nodefs.available<10%`, no PID threshold) and the soft ones
//! (`evictionSoft`, acted on only after their `evictionSoftGracePeriod`); reports `MemoryPressure`,
//! `DiskPressure`, `PIDPressure` until the signal's threshold was not met for
//! `evictionPressureTransitionPeriod` (default 5m); and evicts one pod per interval for the
//! first met signal (memory, then disk, then PIDs), ranked by the upstream functions ported in
//! `eviction.rs` (`rankMemoryPressure`, `rankDiskPressure`, `rankPIDPressure`).
//!
//! Lazily evaluated: the loop ticks only while some container's memory grows, a threshold is
//! met, or the pressure condition is still on; otherwise no tick could change anything. Ticks
//! keep the loop's phase (kubelet start + k·10 s), so skipping idle ones changes no outcome.
//!
//! The loop itself (`impl Kubelet` below, after `synchronize` and `evictPod` of
//! pkg/kubelet/eviction/eviction_manager.go) sits after the signal and threshold types.
//!
//! Architecture invariant: decides from the workers' usage and the node's capacity only; the
//! eviction itself goes through the pod worker ([`Worker::evict`](super::worker::Worker::evict))
//! and the kubelet's common flush, and a pressure change reaches the API server only through
//! the next node status tick.

use super::worker::Outbox;
use super::{eviction, Event, Kubelet};
use crate::api::ApiServer;
use crate::model::Pod;
use crate::sim::{Ctx, SimDuration, SimTime};

/// A node-pressure signal kubesim simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    Memory,
    NodeFs,
    Pid,
}

impl Signal {
    /// In eviction priority order (`sortByEvictionPriority`: memory first).
    pub const ALL: [Signal; 3] = [Signal::Memory, Signal::NodeFs, Signal::Pid];

    pub fn index(self) -> usize {
        self as usize
    }
    /// The resource named in the `Evicted` message.
    pub fn resource(self) -> &'static str {
        match self {
            Signal::Memory => "memory",
            Signal::NodeFs => "ephemeral-storage",
            Signal::Pid => "pids",
        }
    }
    /// The quantity as the message prints it.
    pub fn text(self, v: i64) -> String {
        match self {
            Signal::Pid => v.to_string(),
            _ => bytes_text(v),
        }
    }
}

/// The node's PID limit (`pid_max` of a 64-bit Linux node with systemd: 4194304).
pub const NODE_PID_MAX: i64 = 4_194_304;

/// `monitoringInterval` of the eviction manager.
pub const MONITORING_INTERVAL: SimDuration = SimDuration::from_secs(10);

/// A threshold value: a quantity of bytes or a percentage of capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    Bytes(i64),
    Percent(f64),
}

impl Threshold {
    pub fn bytes_of(self, capacity: i64) -> i64 {
        match self {
            Threshold::Bytes(b) => b,
            Threshold::Percent(p) => (capacity as f64 * p / 100.0).round() as i64,
        }
    }
}

/// Eviction settings (KubeletConfiguration `evictionHard`, `evictionSoft`,
/// `evictionSoftGracePeriod`, `evictionMaxPodGracePeriod`, `evictionPressureTransitionPeriod`).
#[derive(Clone, Debug, PartialEq)]
pub struct EvictionConfig {
    /// Soft thresholds by [`Signal::index`] (none by default), each with its grace period.
    pub soft: [Option<(Threshold, SimDuration)>; 3],
    /// `evictionMaxPodGracePeriod` in seconds (default 0).
    pub max_pod_grace_period: i64,
    /// `memory.available` hard threshold (default 100Mi; `None` when `evictionHard` is set
    /// without it, as a given map replaces the defaults).
    pub memory_available: Option<Threshold>,
    /// `nodefs.available` (default 10%).
    pub nodefs_available: Option<Threshold>,
    /// `pid.available` (no default).
    pub pid_available: Option<Threshold>,
    pub pressure_transition_period: SimDuration,
}

impl EvictionConfig {
    pub fn threshold(&self, s: Signal) -> Option<Threshold> {
        match s {
            Signal::Memory => self.memory_available,
            Signal::NodeFs => self.nodefs_available,
            Signal::Pid => self.pid_available,
        }
    }
}

impl Default for EvictionConfig {
    fn default() -> Self {
        EvictionConfig {
            soft: [None; 3],
            max_pod_grace_period: 0,
            memory_available: Some(Threshold::Bytes(100 << 20)),
            nodefs_available: Some(Threshold::Percent(10.0)),
            pid_available: None,
            pressure_transition_period: SimDuration::from_mins(5),
        }
    }
}

/// The thresholds kubesim simulates: memory.available, nodefs.available, pid.available.
pub type HardThresholds = (Option<Threshold>, Option<Threshold>, Option<Threshold>);

/// Every eviction signal the kubelet knows.
const SIGNALS: [&str; 7] = [
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "containerfs.available",
    "pid.available",
];

fn check_signal(signal: &str) -> Result<(), String> {
    if SIGNALS.contains(&signal) {
        return Ok(());
    }
    let hint = crate::model::suggest::closest(signal, SIGNALS)
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    Err(format!("unknown eviction signal {signal:?}{hint}"))
}

/// Parses `--eviction-soft-grace-period` text (`memory.available=1m30s,…`) into the grace
/// periods of the signals kubesim simulates (memory, nodefs, pid); the others are checked for
/// syntax and ignored.
pub fn parse_grace_periods(text: &str) -> Result<[Option<SimDuration>; 3], String> {
    let mut out = [None; 3];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((signal, value)) = part.split_once('=') else {
            return Err(format!("expected `signal=duration` in {part:?}"));
        };
        let signal = signal.trim();
        check_signal(signal)?;
        let d = crate::model::duration::parse_go_duration(value.trim())
            .map_err(|e| format!("grace period for {signal}: {e}"))?;
        if let Some(i) = simulated_index(signal) {
            out[i] = Some(d);
        }
    }
    Ok(out)
}

fn simulated_index(signal: &str) -> Option<usize> {
    match signal {
        "memory.available" => Some(Signal::Memory.index()),
        "nodefs.available" => Some(Signal::NodeFs.index()),
        "pid.available" => Some(Signal::Pid.index()),
        _ => None,
    }
}

/// Parses `--eviction-hard` (or `--eviction-soft`) text
/// (`memory.available<100Mi,nodefs.available<10%`): the signals kubesim simulates are
/// returned, the others are checked for syntax and ignored.
pub fn parse_eviction_hard(text: &str) -> Result<HardThresholds, String> {
    let (mut memory, mut nodefs, mut pid) = (None, None, None);
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((signal, value)) = part.split_once('<') else {
            return Err(format!(
                "expected `signal<value` in {part:?} (only `<` is supported)"
            ));
        };
        let signal = signal.trim();
        check_signal(signal)?;
        let value = value.trim();
        let t = if let Some(p) = value.strip_suffix('%') {
            let p: f64 = p
                .parse()
                .map_err(|_| format!("invalid percentage {value:?} for {signal}"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("percentage {value:?} for {signal} must be 0–100"));
            }
            Threshold::Percent(p)
        } else {
            let q = crate::model::quantity::Quantity::parse(value)
                .map_err(|e| format!("invalid quantity {value:?} for {signal}: {e:?}"))?;
            Threshold::Bytes(q.value())
        };
        match signal {
            "memory.available" => memory = Some(t),
            "nodefs.available" => nodefs = Some(t),
            "pid.available" => pid = Some(t),
            _ => {}
        }
    }
    Ok((memory, nodefs, pid))
}

/// The manager's state on one node.
#[derive(Clone, Debug, Default)]
pub struct EvictionState {
    /// Whether the node reports Memory/Disk/PIDPressure (indexed by [`Signal::index`]).
    pub pressure: [bool; 3],
    /// When each signal's threshold was last observed met.
    pub last_met: [Option<SimTime>; 3],
    /// Since when each signal's soft threshold has been met without interruption
    /// (`thresholdsFirstObservedAt`).
    pub soft_since: [Option<SimTime>; 3],
    /// The next scheduled tick, if any.
    pub next_tick: Option<(SimTime, crate::sim::EventId)>,
}

/// The first tick of the loop (ticking from `origin` every interval) at or after `t`.
pub fn tick_at_or_after(origin: SimTime, t: SimTime) -> SimTime {
    if t <= origin {
        return origin;
    }
    let p = MONITORING_INTERVAL.as_nanos();
    let k = t.since(origin).as_nanos().div_ceil(p);
    origin + SimDuration::from_nanos(k * p)
}

/// Quantity text of bytes as the eviction message prints it (`resource.Quantity` in binary SI).
pub fn bytes_text(b: i64) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (u, n) in UNITS {
        if b != 0 && b % n == 0 {
            return format!("{}{u}", b / n);
        }
    }
    b.to_string()
}

// ----- the kubelet's eviction loop (pkg/kubelet/eviction/eviction_manager.go) -----

impl Kubelet {
    /// The node's total for a signal (0: not simulated on this node).
    fn signal_capacity(&self, s: Signal) -> i64 {
        match s {
            Signal::Memory => self.template.status.capacity.memory,
            Signal::NodeFs => self.template.status.capacity.ephemeral_storage,
            Signal::Pid => NODE_PID_MAX,
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
            Signal::Memory => self
                .pods
                .values()
                .map(|e| e.used_at(Signal::Memory, now))
                .sum(),
            Signal::NodeFs => {
                self.pods
                    .values()
                    .map(|e| e.used_at(Signal::NodeFs, now))
                    .sum::<i64>()
                    + self.runtime.images.total_size()
            }
            Signal::Pid => self
                .pods
                .values()
                .map(|e| e.used_at(Signal::Pid, now))
                .sum(),
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
    pub(super) fn arm_eviction(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.eviction.next_tick.is_some() || !self.running {
            return;
        }
        let now = ctx.now();
        let needed = self.eviction.pressure.iter().any(|p| *p) || self.usage_needs_tick(now);
        debug_assert!(
            self.eviction_walk_matches_scans(now),
            "one walk says what the per-signal scans say"
        );
        if !needed {
            return;
        }
        let mut at = tick_at_or_after(self.started_at, now);
        if at == now && self.eviction_ticked_at(now) {
            at += MONITORING_INTERVAL;
        }
        let (machine, gen) = (self.machine, self.gen);
        let ev = ctx.schedule_at(at, Event::KubeletEvictionTick { machine, gen });
        self.eviction.next_tick = Some((at, ev));
    }

    /// Whether a running container's usage grows or a threshold (hard or soft) is met at
    /// `now`: what `signal_met` and `soft_met` of every signal would say, in one walk of the
    /// pods instead of one per signal and threshold (each asks `signal_available`).
    fn usage_needs_tick(&self, now: SimTime) -> bool {
        let limits = Signal::ALL.map(|s| {
            let hard = self.signal_threshold(s);
            let soft = self.soft_threshold(s).map(|(t, _)| t);
            hard.into_iter().chain(soft).max()
        });
        // Slot order: the answer is an `any` and integer sums, the same in any order.
        let mut used = [0i64; 3];
        for (_, e) in self.pods.slots() {
            if e.usage_growing() {
                return true;
            }
            for s in Signal::ALL {
                if limits[s.index()].is_some() {
                    used[s.index()] += e.used_at(s, now);
                }
            }
        }
        Signal::ALL.iter().any(|&s| {
            let i = s.index();
            let images = match s {
                Signal::NodeFs => self.runtime.images.total_size(),
                _ => 0,
            };
            limits[i].is_some_and(|t| self.signal_capacity(s) - (used[i] + images) < t)
        })
    }

    /// Whether [`Kubelet::usage_needs_tick`]'s one walk says what the plain per-signal scans
    /// say at `now`: some running container's usage grows, or some signal's hard or soft
    /// threshold is met (checked by the invariant checker after every event).
    pub fn eviction_walk_matches_scans(&self, now: SimTime) -> bool {
        let scans = self.pods.values().any(|e| e.usage_growing())
            || Signal::ALL
                .iter()
                .any(|s| self.signal_met(*s, now) || self.soft_met(*s, now));
        self.usage_needs_tick(now) == scans
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_in_binary_units() {
        assert_eq!(bytes_text(100 << 20), "100Mi");
        assert_eq!(bytes_text(3 << 30), "3Gi");
        assert_eq!(bytes_text(1000), "1000");
    }
}
