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
//! Architecture invariant: decides from the workers' memory and the node's capacity only; the
//! kubelet carries out evictions and status writes.

use crate::sim::{SimDuration, SimTime};

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
