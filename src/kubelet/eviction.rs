//! Node-pressure eviction, the pure parts of pkg/kubelet/eviction (helpers.go, api/types.go,
//! defaults_linux.go): the eviction signals and the node condition each one drives, the
//! `evictionHard` defaults, parsing of `--eviction-hard` / `--eviction-soft` statements
//! (`ParseThresholdConfig`), which thresholds are met (`thresholdsMet`, grace periods, the
//! pressure transition period), the order pods are evicted in (`rankMemoryPressure`,
//! `rankDiskPressureFunc`, `rankPIDPressure`) and the `Evicted` message (`evictionMessage`).
//!
//! Architecture invariant: pure functions of thresholds, observations (available/capacity per
//! signal) and per-pod usage, which the kubelet's eviction loop samples from the behaviour
//! models. Maps are BTreeMaps, so ties and "first threshold" choices are deterministic where
//! upstream iterates Go maps. Percentages are `float32` as upstream parses them, so threshold
//! quantities round exactly as the kubelet computes them.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::duration::parse_go_duration;
use crate::model::quantity::Quantity;
use crate::model::{NodeConditionType, Pod};
use crate::sim::{SimDuration, SimTime};

use super::admission::pod_requests;

/// `Reason`: the pod status reason (and event reason) of an eviction.
pub const REASON_EVICTED: &str = "Evicted";
/// Annotation keys of the eviction event.
pub const OFFENDING_CONTAINERS_KEY: &str = "offending_containers";
pub const OFFENDING_CONTAINERS_USAGE_KEY: &str = "offending_containers_usage";
pub const STARVED_RESOURCE_KEY: &str = "starved_resource";

/// `DefaultEvictionHard` on Linux (pkg/kubelet/eviction/defaults_linux.go).
pub const DEFAULT_EVICTION_HARD: [(&str, &str); 4] = [
    ("memory.available", "100Mi"),
    ("nodefs.available", "10%"),
    ("nodefs.inodesFree", "5%"),
    ("imagefs.available", "15%"),
];

/// `evictionapi.Signal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    MemoryAvailable,
    AllocatableMemoryAvailable,
    NodeFsAvailable,
    NodeFsInodesFree,
    ImageFsAvailable,
    ImageFsInodesFree,
    ContainerFsAvailable,
    ContainerFsInodesFree,
    PidAvailable,
}

/// The resource a signal reclaims (`signalToResource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReclaimResource {
    Memory,
    EphemeralStorage,
    Inodes,
    Pids,
}

impl ReclaimResource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimResource::Memory => "memory",
            ReclaimResource::EphemeralStorage => "ephemeral-storage",
            ReclaimResource::Inodes => "inodes",
            ReclaimResource::Pids => "pids",
        }
    }
}

impl Signal {
    pub const ALL: [Signal; 9] = [
        Signal::MemoryAvailable,
        Signal::AllocatableMemoryAvailable,
        Signal::NodeFsAvailable,
        Signal::NodeFsInodesFree,
        Signal::ImageFsAvailable,
        Signal::ImageFsInodesFree,
        Signal::ContainerFsAvailable,
        Signal::ContainerFsInodesFree,
        Signal::PidAvailable,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory.available",
            Signal::AllocatableMemoryAvailable => "allocatableMemory.available",
            Signal::NodeFsAvailable => "nodefs.available",
            Signal::NodeFsInodesFree => "nodefs.inodesFree",
            Signal::ImageFsAvailable => "imagefs.available",
            Signal::ImageFsInodesFree => "imagefs.inodesFree",
            Signal::ContainerFsAvailable => "containerfs.available",
            Signal::ContainerFsInodesFree => "containerfs.inodesFree",
            Signal::PidAvailable => "pid.available",
        }
    }
    /// `validSignal`: the signals the kubelet supports.
    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// `signalToNodeCondition`.
    pub fn node_condition(self) -> NodeConditionType {
        match self {
            Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable => {
                NodeConditionType::MemoryPressure
            }
            Signal::PidAvailable => NodeConditionType::PIDPressure,
            _ => NodeConditionType::DiskPressure,
        }
    }
    /// `signalToResource`.
    pub fn resource(self) -> ReclaimResource {
        match self {
            Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable => ReclaimResource::Memory,
            Signal::NodeFsAvailable | Signal::ImageFsAvailable | Signal::ContainerFsAvailable => {
                ReclaimResource::EphemeralStorage
            }
            Signal::NodeFsInodesFree
            | Signal::ImageFsInodesFree
            | Signal::ContainerFsInodesFree => ReclaimResource::Inodes,
            Signal::PidAvailable => ReclaimResource::Pids,
        }
    }
}

/// An integer amount and the suffix family it prints in (`resource.Quantity` canonical form:
/// BinarySI for `Ki`/`Mi`/… input and for byte counts the kubelet measures, DecimalSI
/// otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qty {
    pub value: i64,
    pub binary: bool,
}

impl Qty {
    pub fn bytes(value: i64) -> Qty {
        Qty {
            value,
            binary: true,
        }
    }
    /// `Quantity.String()` of the canonical form.
    pub fn format(self) -> String {
        if self.binary && !(-1024 < self.value && self.value < 1024) {
            canonical(self.value, 1024, &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
        } else {
            canonical(self.value, 1000, &["", "k", "M", "G", "T", "P", "E"])
        }
    }
}

/// The value with as many whole factors of `base` taken out as there are suffixes.
fn canonical(v: i64, base: i64, suffixes: &[&str]) -> String {
    let mut m = v;
    let mut i = 0;
    while m != 0 && m % base == 0 && i + 1 < suffixes.len() {
        m /= base;
        i += 1;
    }
    format!("{m}{}", suffixes[i])
}

/// `evictionapi.ThresholdValue`: a quantity or a fraction of capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdValue {
    Quantity(Qty),
    Percentage(f32),
}

impl ThresholdValue {
    /// `GetThresholdQuantity`: a percentage of the observed capacity, truncated.
    pub fn quantity(self, capacity: i64) -> Qty {
        match self {
            ThresholdValue::Quantity(q) => q,
            ThresholdValue::Percentage(p) => Qty::bytes((p as f64 * capacity as f64) as i64),
        }
    }
}

/// `evictionapi.Threshold` (the operator is always `LessThan`).
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub signal: Signal,
    pub value: ThresholdValue,
    /// Zero for a hard threshold.
    pub grace_period: SimDuration,
    pub min_reclaim: Option<ThresholdValue>,
}

impl Threshold {
    /// `isHardEvictionThreshold`.
    pub fn is_hard(&self) -> bool {
        self.grace_period == SimDuration::ZERO
    }
}

fn unsupported(signal: &str) -> String {
    format!("unsupported eviction signal {signal}")
}

/// `parsePercentage`: "10.5%" → 0.105 (float32).
pub fn parse_percentage(input: &str) -> Result<f32, String> {
    let v: f32 = input.trim_end_matches('%').parse().map_err(|_| {
        format!(
            "strconv.ParseFloat: parsing {:?}: invalid syntax",
            input.trim_end_matches('%')
        )
    })?;
    Ok(v / 100.0)
}

fn parse_quantity(val: &str) -> Result<Qty, String> {
    let q = Quantity::parse(val).map_err(|e| e.to_string())?;
    let binary = val.trim_end().ends_with('i');
    Ok(Qty {
        value: q.value(),
        binary,
    })
}

/// `parseThresholdStatement`: None for "0%" and "100%" (which disable the signal).
fn parse_threshold_statement(signal: &str, val: &str) -> Result<Option<Threshold>, String> {
    let sig = Signal::parse(signal).ok_or_else(|| unsupported(signal))?;
    let value = if val.ends_with('%') {
        if val == "0%" || val == "100%" {
            return Ok(None);
        }
        let p = parse_percentage(val)?;
        if p < 0.0 {
            return Err(format!(
                "eviction percentage threshold {signal} must be >= 0%: {val}"
            ));
        }
        if p > 1.0 {
            return Err(format!(
                "eviction percentage threshold {signal} must be <= 100%: {val}"
            ));
        }
        ThresholdValue::Percentage(p)
    } else {
        let q = parse_quantity(val)?;
        if q.value <= 0 {
            return Err(format!(
                "eviction threshold {signal} must be positive: {val}"
            ));
        }
        ThresholdValue::Quantity(q)
    };
    Ok(Some(Threshold {
        signal: sig,
        value,
        grace_period: SimDuration::ZERO,
        min_reclaim: None,
    }))
}

fn parse_statements(statements: &BTreeMap<String, String>) -> Result<Vec<Threshold>, String> {
    let mut out = Vec::new();
    for (signal, val) in statements {
        out.extend(parse_threshold_statement(signal, val)?);
    }
    Ok(out)
}

fn parse_grace_periods(
    statements: &BTreeMap<String, String>,
) -> Result<BTreeMap<Signal, SimDuration>, String> {
    let mut out = BTreeMap::new();
    for (signal, val) in statements {
        let sig = Signal::parse(signal).ok_or_else(|| unsupported(signal))?;
        if val.trim_start().starts_with('-') {
            return Err(format!(
                "invalid eviction grace period specified: {val}, must be a positive value"
            ));
        }
        out.insert(sig, parse_go_duration(val).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn parse_min_reclaims(
    statements: &BTreeMap<String, String>,
) -> Result<BTreeMap<Signal, ThresholdValue>, String> {
    let mut out = BTreeMap::new();
    for (signal, val) in statements {
        let sig = Signal::parse(signal).ok_or_else(|| unsupported(signal))?;
        let v = if val.ends_with('%') {
            let p = parse_percentage(val)?;
            if p <= 0.0 {
                return Err(format!(
                    "eviction percentage minimum reclaim {signal} must be positive: {val}"
                ));
            }
            ThresholdValue::Percentage(p)
        } else {
            let q = parse_quantity(val)?;
            if q.value < 0 {
                return Err(format!(
                    "negative eviction minimum reclaim specified for {signal}"
                ));
            }
            ThresholdValue::Quantity(q)
        };
        out.insert(sig, v);
    }
    Ok(out)
}

/// `ParseThresholdConfig`: hard thresholds, then soft ones (each needs a grace period), with
/// their minimum reclaims; with "pods" in `enforceNodeAllocatable`, every hard
/// `memory.available` threshold is copied to `allocatableMemory.available`.
pub fn parse_threshold_config(
    allocatable_config: &[&str],
    eviction_hard: &BTreeMap<String, String>,
    eviction_soft: &BTreeMap<String, String>,
    eviction_soft_grace_period: &BTreeMap<String, String>,
    eviction_minimum_reclaim: &BTreeMap<String, String>,
) -> Result<Vec<Threshold>, String> {
    let mut results = parse_statements(eviction_hard)?;
    let mut soft = parse_statements(eviction_soft)?;
    let grace = parse_grace_periods(eviction_soft_grace_period)?;
    let min_reclaims = parse_min_reclaims(eviction_minimum_reclaim)?;
    for t in &mut soft {
        t.grace_period = *grace.get(&t.signal).ok_or_else(|| {
            format!(
                "grace period must be specified for the soft eviction threshold {}",
                t.signal.as_str()
            )
        })?;
    }
    results.extend(soft);
    for t in &mut results {
        if let Some(m) = min_reclaims.get(&t.signal) {
            t.min_reclaim = Some(*m);
        }
    }
    if allocatable_config.contains(&"pods") {
        let extra: Vec<Threshold> = results
            .iter()
            .filter(|t| t.signal == Signal::MemoryAvailable && t.is_hard())
            .map(|t| Threshold {
                signal: Signal::AllocatableMemoryAvailable,
                ..t.clone()
            })
            .collect();
        results.extend(extra);
    }
    Ok(results)
}

/// The kubelet's default hard thresholds (`enforceNodeAllocatable` defaults to ["pods"]).
pub fn default_thresholds() -> Vec<Threshold> {
    let hard: BTreeMap<String, String> = DEFAULT_EVICTION_HARD
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let none = BTreeMap::new();
    parse_threshold_config(&["pods"], &hard, &none, &none, &none).unwrap_or_default()
}

/// `signalObservation`: what is available of a signal's resource, out of what capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalObservation {
    pub available: i64,
    pub capacity: i64,
}

pub type Observations = BTreeMap<Signal, SignalObservation>;

/// `thresholdsMet`: the thresholds whose signal is below its threshold (plus the minimum
/// reclaim when `enforce_min_reclaim`, which keeps pressure until enough is reclaimed).
pub fn thresholds_met(
    thresholds: &[Threshold],
    observations: &Observations,
    enforce_min_reclaim: bool,
) -> Vec<Threshold> {
    thresholds
        .iter()
        .filter(|t| {
            let Some(obs) = observations.get(&t.signal) else {
                return false;
            };
            let mut quantity = t.value.quantity(obs.capacity).value;
            if let (true, Some(m)) = (enforce_min_reclaim, t.min_reclaim) {
                quantity += m.quantity(obs.capacity).value;
            }
            quantity > obs.available
        })
        .cloned()
        .collect()
}

/// `thresholdsFirstObservedAt`: when each met threshold was first met.
pub fn thresholds_first_observed_at(
    thresholds: &[Threshold],
    last_observed_at: &[(Threshold, SimTime)],
    now: SimTime,
) -> Vec<(Threshold, SimTime)> {
    thresholds
        .iter()
        .map(|t| {
            let at = last_observed_at
                .iter()
                .find(|(l, _)| l == t)
                .map_or(now, |(_, at)| *at);
            (t.clone(), at)
        })
        .collect()
}

/// `thresholdsMetGracePeriod`: the thresholds met for at least their grace period.
pub fn thresholds_met_grace_period(
    observed_at: &[(Threshold, SimTime)],
    now: SimTime,
) -> Vec<Threshold> {
    observed_at
        .iter()
        .filter(|(t, at)| now.saturating_since(*at) >= t.grace_period)
        .map(|(t, _)| t.clone())
        .collect()
}

/// `nodeConditions`: the pressure conditions of the met thresholds, each once.
pub fn node_conditions(thresholds: &[Threshold]) -> Vec<NodeConditionType> {
    let mut out: Vec<NodeConditionType> = Vec::new();
    for t in thresholds {
        let c = t.signal.node_condition();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// `nodeConditionsLastObservedAt`: conditions seen now are stamped `now`, the others keep
/// their last time.
pub fn node_conditions_last_observed_at(
    conditions: &[NodeConditionType],
    last_observed_at: &BTreeMap<NodeConditionType, SimTime>,
    now: SimTime,
) -> BTreeMap<NodeConditionType, SimTime> {
    let mut out = last_observed_at.clone();
    for c in conditions {
        out.insert(*c, now);
    }
    out
}

/// `nodeConditionsObservedSince`: the conditions seen within the last `period`
/// (`evictionPressureTransitionPeriod`, default 5 m), which the node keeps reporting.
pub fn node_conditions_observed_since(
    observed_at: &BTreeMap<NodeConditionType, SimTime>,
    period: SimDuration,
    now: SimTime,
) -> Vec<NodeConditionType> {
    observed_at
        .iter()
        .filter(|(_, at)| now.saturating_since(**at) < period)
        .map(|(c, _)| *c)
        .collect()
}

/// `byEvictionPriority`: memory signals first (stable otherwise).
pub fn sort_by_eviction_priority(thresholds: &mut [Threshold]) {
    thresholds.sort_by_key(|t| t.signal.resource() != ReclaimResource::Memory);
}

/// One container's measured usage of the resource being reclaimed (`None`: no stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerUsage {
    pub name: String,
    /// Working set bytes (memory) or rootfs + logs bytes (ephemeral storage).
    pub memory: Option<i64>,
    pub ephemeral_storage: Option<i64>,
}

/// A pod's usage as the summary API reports it (`statsapi.PodStats`, the parts eviction reads).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodUsage {
    /// Working set bytes.
    pub memory: i64,
    /// Bytes of the filesystems measured for the signal (rootfs, logs, local volumes).
    pub disk: i64,
    pub inodes: i64,
    pub processes: i64,
    pub containers: Vec<ContainerUsage>,
}

/// Pod usage by pod key (`cachedStatsFunc`; a pod without an entry has no stats).
pub type PodStats = BTreeMap<String, PodUsage>;

/// `cmpBool`: true first.
fn cmp_bool(a: bool, b: bool) -> Ordering {
    b.cmp(&a)
}

/// `v1resource.GetResourceRequestQuantity`: the pod's request, overhead added only when the
/// request is non-zero.
fn request(pod: &Pod, memory: bool) -> i64 {
    let r = pod_requests(&pod.spec);
    let (total, overhead) = if memory {
        (r.memory, pod.spec.overhead.memory)
    } else {
        (r.ephemeral_storage, pod.spec.overhead.ephemeral_storage)
    };
    if total == overhead {
        0
    } else {
        total
    }
}

/// Compares two pods by their stats; pods without stats go first.
fn by_stats(
    stats: &PodStats,
    p1: &Pod,
    p2: &Pod,
    f: impl Fn(&Pod, &PodUsage, &Pod, &PodUsage) -> Ordering,
) -> Ordering {
    match (stats.get(&p1.key()), stats.get(&p2.key())) {
        (Some(s1), Some(s2)) => f(p1, s1, p2, s2),
        (s1, s2) => cmp_bool(s1.is_none(), s2.is_none()),
    }
}

/// `priority`: lower priority first.
pub fn cmp_priority(p1: &Pod, p2: &Pod) -> Ordering {
    p1.spec.priority.cmp(&p2.spec.priority)
}

/// `exceedMemoryRequests`: pods using more memory than they request first.
pub fn cmp_exceed_memory_requests(stats: &PodStats, p1: &Pod, p2: &Pod) -> Ordering {
    by_stats(stats, p1, p2, |p1, s1, p2, s2| {
        cmp_bool(s1.memory > request(p1, true), s2.memory > request(p2, true))
    })
}

/// `memory`: the largest usage above request first.
pub fn cmp_memory(stats: &PodStats, p1: &Pod, p2: &Pod) -> Ordering {
    by_stats(stats, p1, p2, |p1, s1, p2, s2| {
        (s2.memory - request(p2, true)).cmp(&(s1.memory - request(p1, true)))
    })
}

/// `process`: the most processes first.
pub fn cmp_process(stats: &PodStats, p1: &Pod, p2: &Pod) -> Ordering {
    by_stats(stats, p1, p2, |_, s1, _, s2| {
        s2.processes.cmp(&s1.processes)
    })
}

/// The disk resource a disk-pressure signal ranks by.
fn disk_usage(s: &PodUsage, resource: ReclaimResource) -> i64 {
    if resource == ReclaimResource::Inodes {
        s.inodes
    } else {
        s.disk
    }
}

/// `exceedDiskRequests`: pods using more than they request of the disk resource first
/// (nothing can request inodes, so any inode use exceeds).
pub fn cmp_exceed_disk_requests(
    stats: &PodStats,
    resource: ReclaimResource,
    p1: &Pod,
    p2: &Pod,
) -> Ordering {
    let req = |p: &Pod| {
        if resource == ReclaimResource::Inodes {
            0
        } else {
            request(p, false)
        }
    };
    by_stats(stats, p1, p2, |p1, s1, p2, s2| {
        cmp_bool(
            disk_usage(s1, resource) > req(p1),
            disk_usage(s2, resource) > req(p2),
        )
    })
}

/// `disk`: the largest usage above the ephemeral-storage request first (upstream subtracts
/// the ephemeral-storage request for inodes too).
pub fn cmp_disk(stats: &PodStats, resource: ReclaimResource, p1: &Pod, p2: &Pod) -> Ordering {
    by_stats(stats, p1, p2, |p1, s1, p2, s2| {
        (disk_usage(s2, resource) - request(p2, false))
            .cmp(&(disk_usage(s1, resource) - request(p1, false)))
    })
}

/// A `cmpFunc`: how two pods compare for eviction (Less = evict first).
pub type CmpFunc<'a> = &'a dyn Fn(&Pod, &Pod) -> Ordering;

/// `orderedBy(cmp...)`: the first comparison that tells the pods apart decides.
pub fn ordered_by(pods: &mut [&Pod], cmps: &[CmpFunc<'_>]) {
    pods.sort_by(|a, b| {
        cmps.iter()
            .map(|c| c(a, b))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
}

/// `rankMemoryPressure`: usage above requests first, then lower priority, then the largest
/// usage above request.
pub fn rank_memory_pressure(pods: &mut [&Pod], stats: &PodStats) {
    ordered_by(
        pods,
        &[
            &|a, b| cmp_exceed_memory_requests(stats, a, b),
            &cmp_priority,
            &|a, b| cmp_memory(stats, a, b),
        ],
    );
}

/// `rankPIDPressure`: lower priority first, then the most processes.
pub fn rank_pid_pressure(pods: &mut [&Pod], stats: &PodStats) {
    ordered_by(pods, &[&cmp_priority, &|a, b| cmp_process(stats, a, b)]);
}

/// `rankDiskPressureFunc(…, resource)`: usage above requests first, then lower priority, then
/// the largest usage above request. `PodUsage::disk`/`inodes` must hold the filesystems the
/// signal measures (without an imagefs: images, rootfs, logs and local volumes).
pub fn rank_disk_pressure(pods: &mut [&Pod], stats: &PodStats, resource: ReclaimResource) {
    ordered_by(
        pods,
        &[
            &|a, b| cmp_exceed_disk_requests(stats, resource, a, b),
            &cmp_priority,
            &|a, b| cmp_disk(stats, resource, a, b),
        ],
    );
}

/// `getThresholdMetInfo`: the threshold quantity and the available amount of the first met
/// threshold on the resource.
fn threshold_met_info(
    resource: ReclaimResource,
    thresholds: &[Threshold],
    observations: &Observations,
) -> Option<(Qty, Qty)> {
    thresholds
        .iter()
        .filter(|t| t.signal.resource() == resource)
        .find_map(|t| {
            let obs = observations.get(&t.signal)?;
            let available = Qty {
                value: obs.available,
                binary: resource != ReclaimResource::Inodes && resource != ReclaimResource::Pids,
            };
            Some((t.value.quantity(obs.capacity), available))
        })
}

/// A container's request of the resource, printed as `Quantity.String()` does (an absent
/// request is the zero quantity, "0").
fn container_request(c: &crate::model::Container, resource: ReclaimResource) -> Qty {
    let v = match resource {
        ReclaimResource::Memory => c.requests.memory,
        _ => c.requests.ephemeral_storage,
    };
    Qty {
        value: v,
        binary: v % 1024 == 0,
    }
}

/// `evictionMessage`: "The node was low on resource: memory. Threshold quantity: 100Mi,
/// available: 50Mi. Container x was using 200Mi, request is 100Mi, has larger consumption of
/// memory. " and the event annotations (offending containers, their usage, the starved
/// resource). Only memory and ephemeral storage name containers.
pub fn eviction_message(
    resource: ReclaimResource,
    pod: &Pod,
    stats: &PodStats,
    thresholds: &[Threshold],
    observations: &Observations,
) -> (String, BTreeMap<String, String>) {
    let mut annotations = BTreeMap::new();
    let r = resource.as_str();
    let mut message = format!("The node was low on resource: {r}. ");
    if let Some((quantity, available)) = threshold_met_info(resource, thresholds, observations) {
        message += &format!(
            "Threshold quantity: {}, available: {}. ",
            quantity.format(),
            available.format()
        );
    }
    let Some(usage) = stats.get(&pod.key()) else {
        return (message, annotations);
    };
    let mut exceeded = Vec::new();
    let mut exceeded_usage = Vec::new();
    for cs in &usage.containers {
        let spec = pod
            .spec
            .containers
            .iter()
            .chain(&pod.spec.init_containers)
            .find(|c| c.name == cs.name);
        let Some(c) = spec else { continue };
        let used = match resource {
            ReclaimResource::Memory => cs.memory,
            ReclaimResource::EphemeralStorage => cs.ephemeral_storage,
            _ => None,
        };
        let req = container_request(c, resource);
        if let Some(u) = used.filter(|u| *u > req.value) {
            let u = Qty::bytes(u).format();
            message += &format!(
                "Container {} was using {u}, request is {}, has larger consumption of {r}. ",
                c.name,
                req.format()
            );
            exceeded.push(c.name.clone());
            exceeded_usage.push(u);
        }
    }
    annotations.insert(OFFENDING_CONTAINERS_KEY.into(), exceeded.join(","));
    annotations.insert(
        OFFENDING_CONTAINERS_USAGE_KEY.into(),
        exceeded_usage.join(","),
    );
    annotations.insert(STARVED_RESOURCE_KEY.into(), r.to_string());
    (message, annotations)
}

/// `immediateEvictionGracePeriodSeconds`: the grace period of a pod evicted for a hard
/// threshold.
pub const IMMEDIATE_EVICTION_GRACE_PERIOD_SECONDS: i64 = 1;
/// `evictionPressureTransitionPeriod` default (KubeletConfiguration).
pub const DEFAULT_PRESSURE_TRANSITION_PERIOD: SimDuration = SimDuration::from_mins(5);
/// `SystemCriticalPriority`: pods at or above it are critical.
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;
/// `ConfigMirrorAnnotationKey`: the annotation of mirror pods.
pub const CONFIG_MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// `mergeThresholds`: a, then the thresholds of b not already in a (compared without their
/// minimum reclaim, as `hasThreshold` does).
pub fn merge_thresholds(a: Vec<Threshold>, b: Vec<Threshold>) -> Vec<Threshold> {
    let mut out = a;
    for t in b {
        let present = out.iter().any(|x| {
            x.grace_period == t.grace_period && x.signal == t.signal && x.value == t.value
        });
        if !present {
            out.push(t);
        }
    }
    out
}

/// `evictionPod`'s grace period: 1 s for a hard threshold, `evictionMaxPodGracePeriod` for a
/// soft one.
pub fn grace_period_override(threshold: &Threshold, max_pod_grace_period_seconds: i64) -> i64 {
    if threshold.is_hard() {
        IMMEDIATE_EVICTION_GRACE_PERIOD_SECONDS
    } else {
        max_pod_grace_period_seconds
    }
}

/// `IsCriticalPod`: static, mirror, or at system-critical priority. Never evicted, and
/// admitted under pressure.
pub fn is_critical_pod(pod: &Pod) -> bool {
    super::phase::is_static_pod(pod)
        || pod.meta.annotations.contains_key(CONFIG_MIRROR_ANNOTATION)
        || pod.spec.priority >= SYSTEM_CRITICAL_PRIORITY
}

/// The eviction manager's configuration (`eviction.Config`).
#[derive(Clone, Debug)]
pub struct EvictionConfig {
    pub thresholds: Vec<Threshold>,
    pub pressure_transition_period: SimDuration,
    /// `evictionMaxPodGracePeriod` (default 0).
    pub max_pod_grace_period_seconds: i64,
}

impl Default for EvictionConfig {
    fn default() -> Self {
        EvictionConfig {
            thresholds: default_thresholds(),
            pressure_transition_period: DEFAULT_PRESSURE_TRANSITION_PERIOD,
            max_pod_grace_period_seconds: 0,
        }
    }
}

/// The eviction manager's memory between `synchronize` passes (`managerImpl` fields).
#[derive(Clone, Debug, Default)]
pub struct EvictionState {
    /// The pressure conditions the node reports.
    pub node_conditions: Vec<NodeConditionType>,
    pub thresholds_first_observed_at: Vec<(Threshold, SimTime)>,
    pub node_conditions_last_observed_at: BTreeMap<NodeConditionType, SimTime>,
    /// Thresholds met (grace period included) and not yet resolved past their min reclaim.
    pub thresholds_met: Vec<Threshold>,
}

impl EvictionState {
    /// The decision part of `synchronize`: updates the node conditions and returns the
    /// threshold to reclaim now, if any (the caller then ranks its active pods with
    /// `rank_for_signal` and evicts the first non-critical one with `eviction_message` and
    /// `grace_period_override`). Observations are taken as fresh on every pass (kubesim's
    /// stats never lag), so `thresholdsUpdatedStats` keeps them all.
    pub fn synchronize(
        &mut self,
        config: &EvictionConfig,
        observations: &Observations,
        now: SimTime,
    ) -> Option<Threshold> {
        let mut met = thresholds_met(&config.thresholds, observations, false);
        if !self.thresholds_met.is_empty() {
            let unresolved = thresholds_met(&self.thresholds_met, observations, true);
            met = merge_thresholds(met, unresolved);
        }
        let first_observed =
            thresholds_first_observed_at(&met, &self.thresholds_first_observed_at, now);
        let conditions = node_conditions(&met);
        let last_observed = node_conditions_last_observed_at(
            &conditions,
            &self.node_conditions_last_observed_at,
            now,
        );
        self.node_conditions =
            node_conditions_observed_since(&last_observed, config.pressure_transition_period, now);
        let mut ready = thresholds_met_grace_period(&first_observed, now);
        self.thresholds_first_observed_at = first_observed;
        self.node_conditions_last_observed_at = last_observed;
        self.thresholds_met = ready.clone();
        sort_by_eviction_priority(&mut ready);
        ready.into_iter().next()
    }

    pub fn has_condition(&self, c: NodeConditionType) -> bool {
        self.node_conditions.contains(&c)
    }

    /// The eviction manager's `Admit`: under memory pressure only BestEffort pods that do not
    /// tolerate the memory-pressure taint are rejected; under any other pressure every
    /// non-critical pod is, with reason `Evicted` and "The node had condition: [..]. ".
    pub fn admit(&self, pod: &Pod) -> super::admission::AdmitResult {
        use super::admission::AdmitResult;
        if self.node_conditions.is_empty() || is_critical_pod(pod) {
            return AdmitResult::admitted();
        }
        let only_memory = self.node_conditions == [NodeConditionType::MemoryPressure];
        if only_memory {
            if super::qos::pod_qos(pod) != super::qos::QosClass::BestEffort {
                return AdmitResult::admitted();
            }
            let taint = crate::model::Taint::new(
                crate::model::TAINT_MEMORY_PRESSURE,
                crate::model::TaintEffect::NoSchedule,
            );
            if pod.spec.tolerations.iter().any(|t| t.tolerates(&taint)) {
                return AdmitResult::admitted();
            }
        }
        let names: Vec<&str> = self.node_conditions.iter().map(|c| c.as_str()).collect();
        AdmitResult {
            admit: false,
            reason: REASON_EVICTED.to_string(),
            message: format!("The node had condition: [{}]. ", names.join(" ")),
        }
    }
}

/// `buildSignalToRankFunc` for a node without a dedicated image filesystem (kubesim's nodes):
/// memory signals rank by memory, pid by processes, every filesystem signal by disk usage
/// (bytes or inodes).
pub fn rank_for_signal(signal: Signal, pods: &mut [&Pod], stats: &PodStats) {
    match signal.resource() {
        ReclaimResource::Memory => rank_memory_pressure(pods, stats),
        ReclaimResource::Pids => rank_pid_pressure(pods, stats),
        r => rank_disk_pressure(pods, stats, r),
    }
}

#[cfg(test)]
mod tests;
