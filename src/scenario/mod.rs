//! Scenario files: YAML → raw serde schema (`raw`, `manifest`) → one validated [`Scenario`]
//! with every default resolved here, in one place, and echoed as [`Setting`]s.
//!
//! Architecture invariant: the only reader of input files. Every error carries the file and
//! either line:column (found while parsing) or the field path (found while validating); paths
//! inside a scenario are relative to the scenario file.

pub mod actions;
pub mod batch;
pub mod behaviors;
pub mod convert;
pub mod error;
pub mod flags;
pub mod manifest;
pub mod raw;
pub mod schedconfig;
pub mod simkube;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::cluster::spec::{FaultKind, Scenario, Setting, TimedFault, Workload};
pub use crate::model::suggest;
pub use error::InputError;

use crate::api::ApiServerConfig;
use crate::check::expect::{CountSpec, EventFilter, Expectation, Glob, TimedExpectation};
use crate::controllers::leader::LeaderElectionConfig;
use crate::controllers::nodelifecycle::NodeLifecycleConfig;
use crate::controllers::KcmConfig;
use crate::kubelet::KubeletConfig;
use crate::model::*;
use crate::runtime::RuntimeConfig;
use crate::scheduler::SchedulerConfig;
use crate::sim::{SimDuration, SimTime};
use convert::{Ctx, Object};
use flags::{Component, ComponentFlags, FlagValue};
use manifest::RawManifest;
use raw::*;

/// The Kubernetes minor versions whose behaviour kubesim reproduces.
pub const SUPPORTED_MINORS: std::ops::RangeInclusive<u32> = 27..=34;
pub const DEFAULT_VERSION: &str = "1.34";

/// Loads and validates a scenario file. `overrides` are `component.flag=value` strings
/// (`--set`), applied over the file's flags.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read scenario: {e}")))?;
    load_str(&text, path, overrides)
}

pub fn load_str(text: &str, path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let raw: RawScenario =
        serde_yaml::from_str(text).map_err(|e| InputError::from_yaml(path, &e))?;
    resolve(raw, path, overrides)
}

fn parse_version(v: &str) -> Option<u32> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts = v.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor: u32 = parts.next()?.parse().ok()?;
    if let Some(patch) = parts.next() {
        patch.parse::<u32>().ok()?;
    }
    parts.next().is_none().then_some(minor)
}

struct Resolver {
    settings: Vec<Setting>,
}

impl Resolver {
    fn get<C: Component>(
        &mut self,
        flags: &ComponentFlags<C>,
        overridden: &BTreeSet<String>,
        name: &str,
        default: FlagValue,
        default_source: &str,
    ) -> FlagValue {
        let (v, source) = match flags.get(name) {
            Some(v) => (
                v.clone(),
                if overridden.contains(name) {
                    "--set".to_string()
                } else {
                    "scenario".to_string()
                },
            ),
            None => (default, default_source.to_string()),
        };
        self.settings.push(Setting {
            component: C::NAME,
            name: name.to_string(),
            value: v.to_string(),
            source,
        });
        v
    }
}

fn dur(v: FlagValue) -> SimDuration {
    match v {
        FlagValue::Duration(d) => d,
        other => unreachable!("flag table kind mismatch: {other:?}"),
    }
}
fn f32v(v: FlagValue) -> f32 {
    match v {
        FlagValue::Float32(x) => x,
        other => unreachable!("flag table kind mismatch: {other:?}"),
    }
}
fn intv(v: FlagValue) -> i64 {
    match v {
        FlagValue::Int(x) => x,
        other => unreachable!("flag table kind mismatch: {other:?}"),
    }
}
fn boolv(v: FlagValue) -> bool {
    match v {
        FlagValue::Bool(x) => x,
        other => unreachable!("flag table kind mismatch: {other:?}"),
    }
}

/// Applies `--set component.flag=value` overrides; returns the names set per component.
fn apply_overrides(
    c: &mut RawComponents,
    overrides: &[String],
    file: &Path,
) -> Result<BTreeMap<&'static str, BTreeSet<String>>, InputError> {
    let mut set: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let names = [
        flags::ApiServer::NAME,
        flags::ControllerManager::NAME,
        flags::Scheduler::NAME,
        flags::Kubelet::NAME,
    ];
    for o in overrides {
        let bad = |m: String| InputError::file(file, format!("--set {o}: {m}")).split_help();
        let (lhs, value) = o
            .split_once('=')
            .ok_or_else(|| bad("expected component.flag=value".into()))?;
        let (comp, name) = lhs
            .split_once('.')
            .ok_or_else(|| bad("expected component.flag=value".into()))?;
        let result = match comp {
            "kube-apiserver" => c.apiserver.set(name, value),
            "kube-controller-manager" => c.controller_manager.set(name, value),
            "kube-scheduler" => c.scheduler.set(name, value),
            "kubelet" => c.kubelet.set(name, value),
            other => {
                return Err(bad(format!(
                    "unknown component `{other}` (one of {})",
                    names.join(", ")
                ))
                .suggest(other, names))
            }
        };
        result.map_err(bad)?;
        let canonical = match comp {
            "kube-apiserver" => canonical::<flags::ApiServer>(name),
            "kube-controller-manager" => canonical::<flags::ControllerManager>(name),
            "kube-scheduler" => canonical::<flags::Scheduler>(name),
            _ => canonical::<flags::Kubelet>(name),
        };
        if let Some(comp_name) = names.into_iter().find(|n| *n == comp) {
            set.entry(comp_name).or_default().insert(canonical);
        }
    }
    Ok(set)
}

fn canonical<C: Component>(name: &str) -> String {
    match flags::lookup::<C>(name) {
        flags::Lookup::Known(s) => s.canonical.to_string(),
        _ => name.to_string(),
    }
}

fn resolve(
    mut raw: RawScenario,
    file: &Path,
    overrides: &[String],
) -> Result<Scenario, InputError> {
    let mut warnings: BTreeSet<String> = BTreeSet::new();
    let overridden = apply_overrides(&mut raw.components, overrides, file)?;
    let empty = BTreeSet::new();
    let ov = |c: &str| overridden.get(c).unwrap_or(&empty);

    let version = raw
        .kubernetes_version
        .as_ref()
        .map(|v| v.0.clone())
        .unwrap_or_else(|| DEFAULT_VERSION.to_string());
    let minor = parse_version(&version)
        .filter(|m| SUPPORTED_MINORS.contains(m))
        .ok_or_else(|| {
            InputError::at_path(
                file,
                "kubernetesVersion",
                format!(
                    "unsupported Kubernetes version {version:?}: kubesim reproduces 1.{}–1.{}",
                    SUPPORTED_MINORS.start(),
                    SUPPORTED_MINORS.end()
                ),
            )
        })?;
    let profile = format!("profile {version}");
    let duration = raw.duration.0;
    if duration == SimDuration::ZERO {
        return Err(InputError::at_path(
            file,
            "duration",
            "must be greater than 0",
        ));
    }

    let mut r = Resolver {
        settings: Vec::new(),
    };
    // kube-apiserver (reference §2.1: DefaultTolerationSeconds 300/300).
    let a = &raw.components.apiserver;
    let nr = intv(r.get(
        a,
        ov(flags::ApiServer::NAME),
        "default-not-ready-toleration-seconds",
        FlagValue::Int(300),
        "default",
    ));
    let ur = intv(r.get(
        a,
        ov(flags::ApiServer::NAME),
        "default-unreachable-toleration-seconds",
        FlagValue::Int(300),
        "default",
    ));
    for (n, v) in [
        ("default-not-ready-toleration-seconds", nr),
        ("default-unreachable-toleration-seconds", ur),
    ] {
        if v < 0 {
            return Err(InputError::at_path(
                file,
                format!("components.kube-apiserver.{n}"),
                "must be greater than or equal to 0",
            ));
        }
    }
    let apiserver = ApiServerConfig {
        default_not_ready_toleration: SimDuration::from_secs(nr as u64),
        default_unreachable_toleration: SimDuration::from_secs(ur as u64),
    };

    // kube-controller-manager (reference §2.1; grace 40 s up to 1.31, 50 s from 1.32).
    let k = &raw.components.controller_manager;
    let kov = ov(flags::ControllerManager::NAME);
    let grace_default = if minor <= 31 { 40 } else { 50 };
    let node_lifecycle = NodeLifecycleConfig {
        node_monitor_period: dur(r.get(
            k,
            kov,
            "node-monitor-period",
            FlagValue::Duration(SimDuration::from_secs(5)),
            "default",
        )),
        node_monitor_grace_period: dur(r.get(
            k,
            kov,
            "node-monitor-grace-period",
            FlagValue::Duration(SimDuration::from_secs(grace_default)),
            &profile,
        )),
        node_startup_grace_period: dur(r.get(
            k,
            kov,
            "node-startup-grace-period",
            FlagValue::Duration(SimDuration::from_secs(60)),
            "default",
        )),
        node_eviction_rate: f32v(r.get(
            k,
            kov,
            "node-eviction-rate",
            FlagValue::Float32(0.1),
            "default",
        )),
        secondary_node_eviction_rate: f32v(r.get(
            k,
            kov,
            "secondary-node-eviction-rate",
            FlagValue::Float32(0.01),
            "default",
        )),
        unhealthy_zone_threshold: f32v(r.get(
            k,
            kov,
            "unhealthy-zone-threshold",
            FlagValue::Float32(0.55),
            "default",
        )),
        large_cluster_size_threshold: intv(r.get(
            k,
            kov,
            "large-cluster-size-threshold",
            FlagValue::Int(50),
            "default",
        )) as i32,
        taint_from_current_condition: minor >= 34,
    };
    if node_lifecycle.node_monitor_period == SimDuration::ZERO {
        return Err(InputError::at_path(
            file,
            "components.kube-controller-manager.node-monitor-period",
            "must be greater than 0",
        ));
    }
    r.settings.push(Setting {
        component: "kube-controller-manager",
        name: "(NoExecute taint decided from)".into(),
        value: if minor >= 34 {
            "current Ready condition".into()
        } else {
            "observed Ready condition (one pass later)".into()
        },
        source: profile.clone(),
    });
    let leader_election =
        |r: &mut Resolver, f: &dyn Fn(&mut Resolver, &str, FlagValue) -> FlagValue| {
            LeaderElectionConfig {
                leader_elect: boolv(f(r, "leader-elect", FlagValue::Bool(true))),
                lease_duration: dur(f(
                    r,
                    "leader-elect-lease-duration",
                    FlagValue::Duration(SimDuration::from_secs(15)),
                )),
                renew_deadline: dur(f(
                    r,
                    "leader-elect-renew-deadline",
                    FlagValue::Duration(SimDuration::from_secs(10)),
                )),
                retry_period: dur(f(
                    r,
                    "leader-elect-retry-period",
                    FlagValue::Duration(SimDuration::from_secs(2)),
                )),
            }
        };
    let kcm_le = leader_election(&mut r, &|r, n, d| r.get(k, kov, n, d, "default"));
    let terminated_pod_gc_threshold = intv(r.get(
        k,
        kov,
        "terminated-pod-gc-threshold",
        FlagValue::Int(12500),
        "default",
    )) as i32;
    let kcm = KcmConfig {
        node_lifecycle,
        leader_election: kcm_le,
        terminated_pod_gc_threshold,
    };
    for w in &k.unmodelled {
        warnings.insert(format!(
            "kube-controller-manager flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }

    // kube-scheduler.
    let s = &raw.components.scheduler;
    let sov = ov(flags::Scheduler::NAME);
    let sched_le = leader_election(&mut r, &|r, n, d| r.get(s, sov, n, d, "default"));
    let mut scheduler = SchedulerConfig {
        leader_election: sched_le,
        ..SchedulerConfig::default()
    };
    if let Some(FlagValue::Str(cfg)) = s.get("config") {
        let p = relative(file, cfg);
        schedconfig::load(&p, &mut scheduler, &mut warnings)?;
        r.settings.push(Setting {
            component: "kube-scheduler",
            name: "config".into(),
            value: cfg.clone(),
            source: "scenario".into(),
        });
    }
    // Version profile: NodeResourcesBalancedAllocation skips best-effort pods from v1.33
    // (PR #130260).
    for prof in scheduler.profiles.iter_mut() {
        prof.balanced.skip_best_effort = minor >= 33;
    }
    r.settings.push(Setting {
        component: "kube-scheduler",
        name: "percentageOfNodesToScore".into(),
        value: if scheduler.percentage_of_nodes_to_score == 0 {
            "0 (adaptive)".into()
        } else {
            scheduler.percentage_of_nodes_to_score.to_string()
        },
        source: "KubeSchedulerConfiguration".into(),
    });
    for w in &s.unmodelled {
        warnings.insert(format!(
            "kube-scheduler flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }

    // kubelet (reference §1.1): the report frequency follows an explicitly set update frequency.
    let kl = &raw.components.kubelet;
    let klov = ov(flags::Kubelet::NAME);
    let update_set = kl.get("nodeStatusUpdateFrequency").is_some();
    let update = dur(r.get(
        kl,
        klov,
        "nodeStatusUpdateFrequency",
        FlagValue::Duration(SimDuration::from_secs(10)),
        "default",
    ));
    let report_default = if update_set {
        update
    } else {
        SimDuration::from_mins(5)
    };
    let report_source = if update_set {
        "follows nodeStatusUpdateFrequency"
    } else {
        "default"
    };
    let report = dur(r.get(
        kl,
        klov,
        "nodeStatusReportFrequency",
        FlagValue::Duration(report_default),
        report_source,
    ));
    let lease = intv(r.get(
        kl,
        klov,
        "nodeLeaseDurationSeconds",
        FlagValue::Int(40),
        "default",
    ));
    if lease <= 0 {
        return Err(InputError::at_path(
            file,
            "components.kubelet.nodeLeaseDurationSeconds",
            "must be greater than 0",
        ));
    }
    // Image pulls: one at a time unless `serializeImagePulls: false`; then at most
    // `maxParallelImagePulls` (unlimited when unset). Validation as KubeletConfiguration's.
    let serialize = matches!(
        r.get(
            kl,
            klov,
            "serializeImagePulls",
            FlagValue::Bool(true),
            "default"
        ),
        FlagValue::Bool(true)
    );
    let max_parallel = intv(r.get(
        kl,
        klov,
        "maxParallelImagePulls",
        FlagValue::Int(0),
        "default",
    ));
    if max_parallel < 0 {
        return Err(InputError::at_path(
            file,
            "components.kubelet.maxParallelImagePulls",
            "must be greater than 0",
        ));
    }
    if serialize && max_parallel > 1 {
        return Err(InputError::at_path(
            file,
            "components.kubelet.maxParallelImagePulls",
            "maxParallelImagePulls must be unset or 1 when serializeImagePulls is true",
        ));
    }
    let max_parallel_pulls = match (serialize, max_parallel) {
        (true, _) => 1,
        (false, 0) => usize::MAX,
        (false, n) => n as usize,
    };
    if update == SimDuration::ZERO {
        return Err(InputError::at_path(
            file,
            "components.kubelet.nodeStatusUpdateFrequency",
            "must be greater than 0",
        ));
    }
    r.settings.push(Setting {
        component: "kubelet",
        name: "(status report jitter ±50%)".into(),
        value: (minor >= 34).to_string(),
        source: profile.clone(),
    });
    // `--node-labels` and `--register-with-taints`: what every kubelet registers its Node
    // with (a node pool's own labels and taints come on top).
    let strv = |v: FlagValue| match v {
        FlagValue::Str(s) => s,
        _ => String::new(),
    };
    let node_labels_text = strv(r.get(
        kl,
        klov,
        "node-labels",
        FlagValue::Str(String::new()),
        "default",
    ));
    let mut register_labels: Vec<(String, String)> = Vec::new();
    for pair in node_labels_text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(InputError::at_path(
                file,
                "components.kubelet.node-labels",
                format!("expected `key=value[,key=value…]`; {pair:?} has no `=`"),
            ));
        };
        register_labels.push((k.trim().to_string(), v.trim().to_string()));
    }
    let taints_text = strv(r.get(
        kl,
        klov,
        "register-with-taints",
        FlagValue::Str(String::new()),
        "default",
    ));
    let mut register_taints = Vec::new();
    for t in taints_text.split(',').filter(|p| !p.trim().is_empty()) {
        register_taints.push(parse_taint_text(t.trim()).map_err(|msg| {
            InputError::at_path(file, "components.kubelet.register-with-taints", msg)
        })?);
    }
    let eviction_hard = match r.get(kl, klov, "evictionHard", FlagValue::Str("memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%,imagefs.inodesFree<5%".into()), "default") {
        FlagValue::Str(s) => s,
        _ => String::new(),
    };
    let (memory_available, nodefs_available, pid_available) =
        crate::kubelet::pressure::parse_eviction_hard(&eviction_hard)
            .map_err(|m| InputError::at_path(file, "components.kubelet.evictionHard", m))?;
    let transition = dur(r.get(
        kl,
        klov,
        "evictionPressureTransitionPeriod",
        FlagValue::Duration(SimDuration::from_mins(5)),
        "default",
    ));
    // `evictionSoft` with `evictionSoftGracePeriod` (ParseThresholdConfig: every soft
    // threshold needs a grace period) and `evictionMaxPodGracePeriod`.
    let mut text =
        |name: &str| match r.get(kl, klov, name, FlagValue::Str(String::new()), "default") {
            FlagValue::Str(s) => s,
            _ => String::new(),
        };
    let soft_text = text("evictionSoft");
    let (soft_mem, soft_fs, soft_pid) =
        crate::kubelet::pressure::parse_eviction_hard(&soft_text)
            .map_err(|m| InputError::at_path(file, "components.kubelet.evictionSoft", m))?;
    let graces = crate::kubelet::pressure::parse_grace_periods(&text("evictionSoftGracePeriod"))
        .map_err(|m| InputError::at_path(file, "components.kubelet.evictionSoftGracePeriod", m))?;
    let mut soft = [None; 3];
    for (i, (t, name)) in [
        (soft_mem, "memory.available"),
        (soft_fs, "nodefs.available"),
        (soft_pid, "pid.available"),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(t) = t {
            let Some(g) = graces[i] else {
                return Err(InputError::at_path(
                    file,
                    "components.kubelet.evictionSoftGracePeriod",
                    format!(
                        "grace period must be specified for the soft eviction threshold {name}"
                    ),
                ));
            };
            soft[i] = Some((t, g));
        }
    }
    let max_pod_grace = match r.get(
        kl,
        klov,
        "evictionMaxPodGracePeriod",
        FlagValue::Int(0),
        "default",
    ) {
        FlagValue::Int(v) => v,
        _ => 0,
    };
    let kubelet = KubeletConfig {
        eviction: crate::kubelet::pressure::EvictionConfig {
            soft,
            max_pod_grace_period: max_pod_grace,
            memory_available,
            nodefs_available,
            pid_available,
            pressure_transition_period: transition,
        },
        node_status_update_frequency: update,
        node_status_report_frequency: report,
        node_lease_duration_seconds: lease as u64,
        report_jitter: minor >= 34,
        lazy_heartbeats: raw.simulation.lazy_heartbeats.unwrap_or(true),
        lazy_probes: raw.simulation.lazy_probes.unwrap_or(true),
    };
    for w in &kl.unmodelled {
        warnings.insert(format!(
            "kubelet setting `{w}` is not modelled by kubesim; it is ignored"
        ));
    }
    for w in &raw.components.apiserver.unmodelled {
        warnings.insert(format!(
            "kube-apiserver flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }

    // Simulation knobs of kubesim's own.
    let sim = &raw.simulation;
    let mut runtime = RuntimeConfig::default();
    if let Some(rg) = &sim.container_start_delay {
        if rg.min.0 > rg.max.0 {
            return Err(InputError::at_path(
                file,
                "simulation.containerStartDelay",
                "min must not exceed max",
            ));
        }
        runtime.start_delay_min = rg.min.0;
        runtime.start_delay_max = rg.max.0;
    }
    if let Some(d) = sim.container_stop_delay {
        runtime.stop_delay = d.0;
    }
    runtime.max_parallel_pulls = max_parallel_pulls;
    let (behaviors, catalog) = behaviors::resolve(&raw.runtime, file)?;
    runtime.behaviors = std::sync::Arc::new(behaviors);
    runtime.catalog = std::sync::Arc::new(catalog);
    let watch_delay = sim.watch_delay.map(|d| d.0).unwrap_or(SimDuration::ZERO);
    let max_events = sim.max_events.unwrap_or(2_000_000_000);
    let sample_interval = raw
        .output
        .sample_interval
        .map(|d| d.0)
        .unwrap_or(SimDuration::from_secs(10));
    if sample_interval == SimDuration::ZERO {
        return Err(InputError::at_path(
            file,
            "output.sampleInterval",
            "must be greater than 0",
        ));
    }
    for (n, v) in [
        (
            "watchDelay",
            crate::sim::time::format_go_duration(watch_delay),
        ),
        (
            "containerStartDelay",
            format!("{}..{}", runtime.start_delay_min, runtime.start_delay_max),
        ),
        ("containerStopDelay", runtime.stop_delay.to_string()),
        ("maxEvents", max_events.to_string()),
        ("sampleInterval", sample_interval.to_string()),
        ("lazyHeartbeats", kubelet.lazy_heartbeats.to_string()),
        ("lazyProbes", kubelet.lazy_probes.to_string()),
    ] {
        r.settings.push(Setting {
            component: "kubesim",
            name: n.into(),
            value: v,
            source: "scenario or default".into(),
        });
    }

    // Cluster.
    let (mut nodes, static_pods) =
        build_nodes(std::mem::take(&mut raw.cluster), file, &mut warnings)?;
    // Pre-pulled images take their sizes from `runtime.images`.
    for n in &mut nodes {
        for im in &mut n.status.images {
            if im.size_bytes == 0 {
                if let Some(s) = im.names.first().and_then(|x| runtime.catalog.sizes.get(x)) {
                    im.size_bytes = *s;
                }
            }
        }
    }
    for n in &mut nodes {
        for (k, v) in &register_labels {
            n.meta.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for t in &register_taints {
            if !n.spec.taints.iter().any(|x| x.matches(t)) {
                n.spec.taints.push(t.clone());
            }
        }
    }
    let node_names: Vec<&str> = nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let zones: BTreeSet<String> = nodes
        .iter()
        .map(|n| zone_key_display(&n.zone_key()))
        .collect();

    // Workloads.
    let mut workloads = Vec::new();
    let mut classes = system_priority_classes();
    let mut seen = BTreeSet::new();
    for (i, entry) in raw.workloads.into_iter().enumerate() {
        for obj in load_entry(entry, file, &format!("workloads[{i}]"), &mut warnings)? {
            let (kind, key, w) = match obj {
                Object::Pod(p) => ("Pod", p.key(), Workload::Pod(p)),
                Object::ReplicaSet(rs) => (rs.kind.as_str(), rs.key(), Workload::ReplicaSet(rs)),
                Object::PriorityClass(pc) => {
                    if classes.iter().any(|c| c.name == pc.name) {
                        return Err(InputError::at_path(
                            file,
                            format!("workloads[{i}]"),
                            format!("duplicate PriorityClass {}", pc.name),
                        ));
                    }
                    if pc.global_default && classes.iter().any(|c| c.global_default) {
                        return Err(InputError::at_path(
                            file,
                            format!("workloads[{i}]"),
                            format!(
                                "PriorityClass {}: only one class may be globalDefault",
                                pc.name
                            ),
                        ));
                    }
                    classes.push(pc);
                    continue;
                }
                Object::Deployment(d) => ("Deployment", d.key(), Workload::Deployment(d)),
                Object::DaemonSet(d) => ("DaemonSet", d.key(), Workload::DaemonSet(d)),
                Object::StatefulSet(d) => ("StatefulSet", d.key(), Workload::StatefulSet(d)),
                Object::PodDisruptionBudget(b) => (
                    "PodDisruptionBudget",
                    b.key(),
                    Workload::PodDisruptionBudget(b),
                ),
                Object::Service(x) => ("Service", x.key(), Workload::Service(x)),
                Object::Namespace(x) => ("Namespace", x.meta.name.clone(), Workload::Namespace(x)),
                Object::NamespacedObject(x) => {
                    let kind = if x.kind == "Secret" {
                        "Secret"
                    } else {
                        "ServiceAccount"
                    };
                    (
                        kind,
                        pod_key(&x.meta.namespace, &x.meta.name),
                        Workload::NamespacedObject(x),
                    )
                }
                Object::Job(j) => ("Job", j.key(), Workload::Job(j)),
                Object::CronJob(c) => ("CronJob", c.key(), Workload::CronJob(c)),
                Object::Node(n) => {
                    return Err(InputError::at_path(
                        file,
                        format!("workloads[{i}]"),
                        format!("Node {} belongs under cluster.nodes", n.meta.name),
                    ))
                }
            };
            if let Workload::Pod(p) = &w {
                if let Some(n) = &p.spec.node_name {
                    if !node_names.contains(&n.as_str()) {
                        return Err(InputError::at_path(
                            file,
                            format!("workloads[{i}]"),
                            format!("Pod {key} names node {n:?}, which the cluster does not have"),
                        )
                        .suggest(n, node_names.iter().copied()));
                    }
                }
            }
            if !seen.insert((kind, key.clone())) {
                return Err(InputError::at_path(
                    file,
                    format!("workloads[{i}]"),
                    format!("duplicate {kind} {key}"),
                ));
            }
            workloads.push(w);
        }
    }

    // `kubesim.io/behavior[.<container>]` annotations must name a behaviour of `runtime`.
    for (i, w) in workloads.iter().enumerate() {
        let annotations = match w {
            Workload::Pod(p) => &p.meta.annotations,
            Workload::ReplicaSet(rs) => &rs.template.annotations,
            Workload::Deployment(d) => &d.template.annotations,
            Workload::DaemonSet(d) => &d.template.annotations,
            Workload::StatefulSet(d) => &d.template.annotations,
            _ => continue,
        };
        for (k, v) in annotations {
            if k != crate::runtime::BEHAVIOR_ANNOTATION
                && !k.starts_with(&format!("{}.", crate::runtime::BEHAVIOR_ANNOTATION))
            {
                continue;
            }
            if !runtime.behaviors.iter().any(|b| b.name == *v) {
                return Err(InputError::at_path(
                    file,
                    format!("workloads[{i}]"),
                    format!("annotation {k}: no behavior {v:?} in runtime.behaviors"),
                )
                .suggest(v, runtime.behaviors.iter().map(|b| b.name.as_str())));
            }
        }
    }

    // Priority admission: priorityClassName → priority (classes may come after their pods).
    for (i, w) in workloads.iter_mut().enumerate() {
        let (spec, what) = match w {
            Workload::Pod(p) => (&mut p.spec, format!("Pod {}", p.meta.name)),
            Workload::ReplicaSet(rs) => (
                &mut rs.template.spec,
                format!("{} {}", rs.kind.as_str(), rs.meta.name),
            ),
            Workload::Deployment(d) => {
                (&mut d.template.spec, format!("Deployment {}", d.meta.name))
            }
            Workload::DaemonSet(d) => (&mut d.template.spec, format!("DaemonSet {}", d.meta.name)),
            Workload::StatefulSet(d) => {
                (&mut d.template.spec, format!("StatefulSet {}", d.meta.name))
            }
            Workload::PodDisruptionBudget(_)
            | Workload::Service(_)
            | Workload::Namespace(_)
            | Workload::NamespacedObject(_) => continue,
            Workload::Job(j) => (&mut j.template.spec, format!("Job {}", j.meta.name)),
            Workload::CronJob(c) => (
                &mut c.job_template.template.spec,
                format!("CronJob {}", c.meta.name),
            ),
        };
        resolve_priority(spec, &classes).map_err(|missing| {
            InputError::at_path(
                file,
                format!("workloads[{i}]"),
                format!("{what}: no PriorityClass with name {missing} was found"),
            )
            .suggest(&missing, classes.iter().map(|c| c.name.as_str()))
        })?;
    }

    // Timeline.
    let mut timeline = Vec::new();
    for (i, t) in raw.timeline.iter().enumerate() {
        let path = format!("timeline[{i}]");
        if t.at.0 > duration {
            return Err(InputError::at_path(
                file,
                format!("{path}.at"),
                format!("{} is after the end of the run ({})", t.at.0, duration),
            ));
        }
        let mut kinds = Vec::new();
        let set_of = |set: &RawNodeSet, key: &str| {
            resolve_node_set(set, file, &format!("{path}.{key}"), &nodes)
        };
        if let Some(set) = &t.node_crash {
            let (machines, label) = set_of(set, "nodeCrash")?;
            kinds.push((
                FaultKind::NodeCrash { machines },
                format!("node crash {label}"),
            ));
        }
        if let Some(set) = &t.kubelet_stop {
            let (machines, label) = set_of(set, "kubeletStop")?;
            kinds.push((
                FaultKind::KubeletStop { machines },
                format!("kubelet stopped {label}"),
            ));
        }
        if let Some(set) = &t.vm_deleted {
            if t.duration.is_some() {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.duration"),
                    "a deleted VM does not come back; remove `duration`",
                ));
            }
            let (machines, label) = set_of(set, "vmDeleted")?;
            kinds.push((
                FaultKind::VmDeleted { machines },
                format!("VM deleted {label}"),
            ));
        }
        if let Some(set) = &t.network_partition {
            let (machines, label) = set_of(set, "networkPartition")?;
            kinds.push((
                FaultKind::NetworkPartition { machines },
                format!("partition {label}"),
            ));
        }
        if let Some(slow) = &t.slow_lease_renewals {
            let (machines, label) = set_of(&slow.set(), "slowLeaseRenewals")?;
            if slow.latency.0 == SimDuration::ZERO {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.slowLeaseRenewals.latency"),
                    "latency must be more than 0s",
                ));
            }
            kinds.push((
                FaultKind::SlowLeaseRenewals {
                    machines,
                    latency: slow.latency.0,
                },
                format!("lease renewals +{} {label}", slow.latency.0),
            ));
        }
        if let Some(tn) = &t.taint_nodes {
            let (machines, label) = set_of(&tn.set(), "taintNodes")?;
            let taint = parse_taint_text(&tn.taint).map_err(|msg| {
                InputError::at_path(file, format!("{path}.taintNodes.taint"), msg)
            })?;
            kinds.push((
                FaultKind::TaintNodes { machines, taint },
                format!("taint {} on {label}", tn.taint),
            ));
        }
        if let Some(r) = &t.registry_outage {
            if r.factor.is_some() {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.registryOutage.factor"),
                    "`factor` belongs to registrySlow",
                ));
            }
            kinds.push((
                FaultKind::RegistryOutage {
                    registry: r.registry.clone(),
                },
                format!("registry {} down", r.registry),
            ));
        }
        if let Some(r) = &t.registry_slow {
            let factor = match r.factor {
                Some(f) if f >= 1 => f,
                _ => {
                    return Err(InputError::at_path(
                        file,
                        format!("{path}.registrySlow.factor"),
                        "registrySlow needs `factor`, a whole number of at least 1",
                    ))
                }
            };
            kinds.push((
                FaultKind::RegistrySlow {
                    registry: r.registry.clone(),
                    factor,
                },
                format!("registry {} {factor}x slower", r.registry),
            ));
        }
        if let Some(set) = &t.runtime_hang {
            let (machines, label) = set_of(set, "runtimeHang")?;
            kinds.push((
                FaultKind::RuntimeHang { machines },
                format!("container runtime hung {label}"),
            ));
        }
        if let Some(c) = &t.crash_loop {
            kinds.push((
                FaultKind::CrashLoop {
                    labels: c.labels.clone(),
                    exit_code: c.exit_code.unwrap_or(1),
                    after: c.after.map(|d| d.0).unwrap_or(SimDuration::from_secs(1)),
                },
                format!("crash loop of pods {:?}", c.labels),
            ));
        }
        if let Some(m) = &t.memory_leak {
            if m.rate.0.is_negative() {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.memoryLeak.rate"),
                    "must not be negative",
                ));
            }
            kinds.push((
                FaultKind::MemoryLeak {
                    labels: m.labels.clone(),
                    rate: m.rate.0.value(),
                },
                format!("memory leak of pods {:?}", m.labels),
            ));
        }
        if t.controller_manager_restart.is_some() {
            if t.duration.is_some() {
                return Err(InputError::at_path(
                    file,
                    format!("{path}.duration"),
                    "a controllerManagerRestart is instantaneous; remove `duration`",
                ));
            }
            kinds.push((
                FaultKind::ControllerManagerRestart,
                "kube-controller-manager restart".to_string(),
            ));
        }
        if t.api_server_unavailable.is_some() {
            kinds.push((
                FaultKind::ApiServerUnavailable,
                "API server unreachable".to_string(),
            ));
        }
        if (t.scale_deployment.is_some()
            || t.set_image.is_some()
            || t.delete_object.is_some()
            || t.rollback_deployment.is_some()
            || t.cordon.is_some()
            || t.uncordon.is_some()
            || t.drain.is_some()
            || t.evict_pod.is_some())
            && t.duration.is_some()
        {
            return Err(InputError::at_path(
                file,
                format!("{path}.duration"),
                "an action is instantaneous; remove `duration`",
            ));
        }
        if let Some(a) = &t.scale_deployment {
            let f = format!("{path}.scaleDeployment");
            let kind = a.kind.as_deref().unwrap_or("Deployment");
            let (key, _) = find_pod_workload(
                &workloads,
                kind,
                &["Deployment", "StatefulSet"],
                &a.name,
                a.namespace.as_deref(),
                file,
                &f,
            )?;
            if a.replicas < 0 {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.replicas"),
                    "must be greater than or equal to 0",
                ));
            }
            kinds.push((
                FaultKind::ScaleDeployment {
                    kind: kind.to_string(),
                    deployment: key,
                    replicas: a.replicas,
                },
                format!("scale {}/{} to {}", kind.to_lowercase(), a.name, a.replicas),
            ));
        }
        if let Some(a) = &t.rollback_deployment {
            let f = format!("{path}.rollbackDeployment");
            let d = find_deployment(&workloads, &a.name, a.namespace.as_deref(), file, &f)?;
            if a.to_revision < 0 {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.toRevision"),
                    "must be greater than or equal to 0 (0: the previous revision)",
                ));
            }
            kinds.push((
                FaultKind::RollbackDeployment {
                    deployment: d.key(),
                    to_revision: a.to_revision,
                },
                format!("rollout undo deployment/{}", d.meta.name),
            ));
        }
        if let Some(a) = &t.delete_object {
            let f = format!("{path}.deleteObject");
            let allowed = [
                "Deployment",
                "ReplicaSet",
                "ReplicationController",
                "Pod",
                "PodDisruptionBudget",
                "Service",
                "Namespace",
                "ServiceAccount",
                "Secret",
                "Job",
            ];
            if !allowed.contains(&a.kind.as_str()) {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.kind"),
                    format!("kubesim deletes a Deployment, ReplicaSet, ReplicationController, Pod, PodDisruptionBudget, Service, Namespace, ServiceAccount or Secret, not {:?}", a.kind),
                )
                .suggest(&a.kind, allowed));
            }
            let policies = ["Background", "Foreground", "Orphan"];
            let policy = match a.propagation_policy.as_deref().unwrap_or("Background") {
                "Background" => PropagationPolicy::Background,
                "Foreground" => PropagationPolicy::Foreground,
                "Orphan" => PropagationPolicy::Orphan,
                other => {
                    return Err(InputError::at_path(
                        file,
                        format!("{f}.propagationPolicy"),
                        format!("unsupported value {other:?} (Background, Foreground or Orphan)"),
                    )
                    .suggest(other, policies))
                }
            };
            let ns = a
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            let mut names: Vec<(String, String)> = Vec::new();
            for w in &workloads {
                let (k, meta, key) = match w {
                    Workload::Pod(p) => ("Pod", &p.meta, p.key()),
                    Workload::ReplicaSet(r) => (r.kind.as_str(), &r.meta, r.key()),
                    Workload::Deployment(d) => ("Deployment", &d.meta, d.key()),
                    Workload::DaemonSet(d) => ("DaemonSet", &d.meta, d.key()),
                    Workload::StatefulSet(d) => ("StatefulSet", &d.meta, d.key()),
                    Workload::PodDisruptionBudget(b) => ("PodDisruptionBudget", &b.meta, b.key()),
                    Workload::Service(x) => ("Service", &x.meta, x.key()),
                    Workload::Namespace(x) => ("Namespace", &x.meta, x.meta.name.clone()),
                    Workload::NamespacedObject(x) => (x.kind.as_str(), &x.meta, x.key()),
                    Workload::Job(j) => ("Job", &j.meta, j.key()),
                    Workload::CronJob(c) => ("CronJob", &c.meta, c.key()),
                };
                if a.kind == "Namespace" {
                    // Declared Namespaces and the namespaces workloads use (created
                    // implicitly); the system namespaces may not be deleted.
                    let n = if k == "Namespace" {
                        &meta.name
                    } else {
                        &meta.namespace
                    };
                    let system = crate::api::SYSTEM_NAMESPACES.contains(&n.as_str());
                    if !system && !names.iter().any(|(x, _)| x == n) {
                        names.push((n.clone(), n.clone()));
                    }
                } else if k == a.kind && meta.namespace == ns {
                    names.push((meta.name.clone(), key));
                }
            }
            // Mirror pods of static pods (`<name>-<node>`) exist in the API too.
            if a.kind == "Pod" {
                for (node, pods) in &static_pods {
                    for p in pods.iter().filter(|p| p.meta.namespace == ns) {
                        let name = format!("{}-{node}", p.meta.name);
                        names.push((name.clone(), pod_key(ns, &name)));
                    }
                }
            }
            let Some((_, key)) = names.iter().find(|(n, _)| *n == a.name) else {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.name"),
                    format!(
                        "no {} {:?} in namespace {ns:?} among the workloads",
                        a.kind, a.name
                    ),
                )
                .suggest(&a.name, names.iter().map(|(n, _)| n.as_str())));
            };
            let cascade = policy.as_str().to_lowercase();
            kinds.push((
                FaultKind::DeleteObject {
                    kind: a.kind.clone(),
                    key: key.clone(),
                    policy,
                },
                format!("delete {}/{} --cascade={cascade}", a.kind, a.name),
            ));
        }
        if let Some(a) = &t.set_image {
            let f = format!("{path}.setImage");
            let kind = a.kind.as_deref().unwrap_or("Deployment");
            let (key, template) = find_pod_workload(
                &workloads,
                kind,
                &["Deployment", "StatefulSet", "DaemonSet"],
                &a.name,
                a.namespace.as_deref(),
                file,
                &f,
            )?;
            let names: Vec<&str> = template
                .spec
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            if !names.contains(&a.container.as_str()) {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.container"),
                    format!(
                        "{} {} has no container {:?} (it has {})",
                        kind.to_lowercase(),
                        a.name,
                        a.container,
                        names.join(", ")
                    ),
                )
                .suggest(&a.container, names.iter().copied()));
            }
            if a.image.is_empty() {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.image"),
                    "an image is required",
                ));
            }
            kinds.push((
                FaultKind::SetImage {
                    kind: kind.to_string(),
                    deployment: key,
                    container: a.container.clone(),
                    image: a.image.clone(),
                },
                format!(
                    "set image {}/{} {}={}",
                    kind.to_lowercase(),
                    a.name,
                    a.container,
                    a.image
                ),
            ));
        }
        kinds.extend(actions::resolve(
            t.cordon.as_ref(),
            t.uncordon.as_ref(),
            t.drain.as_ref(),
            t.evict_pod.as_ref(),
            file,
            &path,
            &node_names,
        )?);
        let (kind, label) = match (kinds.pop(), kinds.is_empty()) {
            (Some(one), true) => one,
            _ => return Err(InputError::at_path(
                file,
                path,
                "each timeline entry needs exactly one fault or action (nodeCrash, kubeletStop, vmDeleted, networkPartition, slowLeaseRenewals, taintNodes, apiServerUnavailable, controllerManagerRestart, registryOutage, registrySlow, runtimeHang, crashLoop, memoryLeak, scaleDeployment, setImage, rollbackDeployment, deleteObject, cordon, uncordon, drain or evictPod)",
            )),
        };
        timeline.push(TimedFault {
            at: t.at.0,
            duration: t.duration.map(|d| d.0),
            kind,
            label,
        });
    }

    // Expectations.
    let mut expectations = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        expectations.push(expectation(
            e,
            file,
            i,
            duration,
            &node_names,
            &zones,
            &workloads,
        )?);
    }

    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| {
            file.file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        }),
        description: raw.description,
        file: file.to_path_buf(),
        seed: raw.seed.unwrap_or(1),
        duration,
        kubernetes_version: version,
        nodes,
        workloads,
        apiserver,
        kcm,
        kubelet,
        scheduler,
        runtime,
        static_pods,
        watch_delay,
        max_events,
        sample_interval,
        timeline,
        expectations,
        settings: r.settings,
        warnings: warnings.into_iter().collect(),
    })
}

/// The Deployment a timeline action names, among the scenario's workloads.
/// A Deployment, StatefulSet or DaemonSet of the workloads (`kind` one of `allowed`): its
/// key and pod template.
fn find_pod_workload<'a>(
    workloads: &'a [Workload],
    kind: &str,
    allowed: &[&str],
    name: &str,
    namespace: Option<&str>,
    file: &Path,
    field: &str,
) -> Result<(String, &'a PodTemplate), InputError> {
    if !allowed.contains(&kind) {
        return Err(InputError::at_path(
            file,
            format!("{field}.kind"),
            format!(
                "unsupported kind {kind:?} (expected {})",
                allowed.join(", ")
            ),
        )
        .suggest(kind, allowed.iter().copied()));
    }
    let ns = namespace.filter(|n| !n.is_empty()).unwrap_or("default");
    let all: Vec<(&ObjectMeta, &PodTemplate)> = workloads
        .iter()
        .filter_map(|w| match w {
            Workload::Deployment(d) if kind == "Deployment" => Some((&d.meta, &d.template)),
            Workload::StatefulSet(d) if kind == "StatefulSet" => Some((&d.meta, &d.template)),
            Workload::DaemonSet(d) if kind == "DaemonSet" => Some((&d.meta, &d.template)),
            _ => None,
        })
        .collect();
    if let Some((m, t)) = all
        .iter()
        .find(|(m, _)| m.name == name && m.namespace == ns)
    {
        return Ok((pod_key(&m.namespace, &m.name), t));
    }
    let names: Vec<&str> = all
        .iter()
        .filter(|(m, _)| m.namespace == ns)
        .map(|(m, _)| m.name.as_str())
        .collect();
    Err(InputError::at_path(
        file,
        format!("{field}.name"),
        format!("no {kind} {name:?} in namespace {ns:?} among the workloads"),
    )
    .suggest(name, names.iter().copied()))
}

fn find_deployment<'a>(
    workloads: &'a [Workload],
    name: &str,
    namespace: Option<&str>,
    file: &Path,
    field: &str,
) -> Result<&'a Deployment, InputError> {
    let ns = namespace.filter(|n| !n.is_empty()).unwrap_or("default");
    let all: Vec<&Deployment> = workloads
        .iter()
        .filter_map(|w| match w {
            Workload::Deployment(d) => Some(d),
            _ => None,
        })
        .collect();
    if let Some(d) = all
        .iter()
        .find(|d| d.meta.name == name && d.meta.namespace == ns)
    {
        return Ok(d);
    }
    let names: Vec<&str> = all
        .iter()
        .filter(|d| d.meta.namespace == ns)
        .map(|d| d.meta.name.as_str())
        .collect();
    Err(InputError::at_path(
        file,
        format!("{field}.name"),
        format!("no Deployment {name:?} in namespace {ns:?} among the workloads"),
    )
    .suggest(name, names.iter().copied()))
}

/// A `job:` expectation: the Job may come from the workloads or from a CronJob, so its name
/// is only checked for form; the condition type must be one of the Job condition types.
fn job_expect(
    x: &raw::RawJobExpect,
    err: &dyn Fn(&str, String) -> InputError,
) -> Result<crate::check::expect::JobExpect, InputError> {
    let ns = x
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    let types = [
        JobConditionType::Complete,
        JobConditionType::Failed,
        JobConditionType::FailureTarget,
        JobConditionType::SuccessCriteriaMet,
        JobConditionType::Suspended,
    ];
    let condition = match &x.condition {
        None => None,
        Some(c) => Some(
            types
                .iter()
                .copied()
                .find(|t| t.as_str() == c)
                .ok_or_else(|| {
                    err("condition", format!("unknown Job condition type {c:?}"))
                        .suggest(c, types.iter().map(|t| t.as_str()))
                })?,
        ),
    };
    if x.reason.is_some() && condition.is_none() {
        return Err(err("reason", "`reason` needs a `condition`".into()));
    }
    Ok(crate::check::expect::JobExpect {
        key: pod_key(ns, &x.name),
        active: x.active,
        succeeded: x.succeeded,
        failed: x.failed,
        ready: x.ready,
        terminating: x.terminating,
        condition,
        reason: x.reason.clone(),
        exists: x.exists.unwrap_or(true),
    })
}

/// `key[=value]:Effect`, as `kubectl taint` writes a taint.
pub fn parse_taint_text(text: &str) -> Result<Taint, String> {
    let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    let Some((kv, effect)) = text.rsplit_once(':') else {
        return Err(format!(
            "expected `key[=value]:Effect`, e.g. `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute`; found {text:?}"
        ));
    };
    let effect = match effect {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        other => {
            let hint = suggest::closest(other, effects.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "unsupported taint effect {other:?}{hint}; expected one of NoSchedule, PreferNoSchedule, NoExecute"
            ));
        }
    };
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    if key.is_empty() {
        return Err(format!("the taint {text:?} has no key"));
    }
    let mut t = Taint::new(key, effect);
    t.value = value.to_string();
    Ok(t)
}

/// The machines a fault names, by node name, by zone and by label selector, in machine
/// order, without repeats; and a label for plots and summaries.
fn resolve_node_set(
    set: &RawNodeSet,
    file: &Path,
    path: &str,
    nodes: &[Node],
) -> Result<(Vec<u32>, String), InputError> {
    if set.nodes.is_empty() && set.zones.is_empty() && set.selector.is_empty() {
        return Err(InputError::at_path(
            file,
            path,
            "name at least one node (nodes: [...]), zone (zones: [...]) or label (selector: {key: value})",
        ));
    }
    let names: Vec<&str> = nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let mut chosen = BTreeSet::new();
    for n in &set.nodes {
        let m = names.iter().position(|x| x == n).ok_or_else(|| {
            InputError::at_path(file, format!("{path}.nodes"), format!("unknown node {n:?}"))
                .suggest(n, names.iter().copied())
        })?;
        chosen.insert(m as u32);
    }
    let zones: BTreeSet<String> = nodes.iter().map(|n| n.zone_label()).collect();
    for z in &set.zones {
        if !zones.contains(z) {
            return Err(InputError::at_path(
                file,
                format!("{path}.zones"),
                format!("unknown zone {z:?}"),
            )
            .suggest(z, zones.iter().map(|s| s.as_str())));
        }
        for (i, n) in nodes.iter().enumerate() {
            if n.zone_label() == *z {
                chosen.insert(i as u32);
            }
        }
    }
    if !set.selector.is_empty() {
        let mut matched = 0;
        for (i, n) in nodes.iter().enumerate() {
            if set
                .selector
                .iter()
                .all(|(k, v)| n.meta.labels.get(k) == Some(v))
            {
                chosen.insert(i as u32);
                matched += 1;
            }
        }
        if matched == 0 {
            let keys: BTreeSet<&str> = nodes
                .iter()
                .flat_map(|n| n.meta.labels.keys().map(|k| k.as_str()))
                .collect();
            let first = set.selector.keys().next().map(|k| k.as_str()).unwrap_or("");
            return Err(InputError::at_path(
                file,
                format!("{path}.selector"),
                "the selector matches no node",
            )
            .suggest(first, keys));
        }
    }
    let mut label: Vec<String> = set.nodes.clone();
    label.extend(set.zones.iter().map(|z| format!("zone {z}")));
    if !set.selector.is_empty() {
        let sel: Vec<String> = set
            .selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        label.push(format!("selector {}", sel.join(",")));
    }
    Ok((chosen.into_iter().collect(), label.join(",")))
}

/// A path written in a scenario is relative to the scenario file.
fn relative(scenario: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        scenario.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Every document of a manifest file (multi-document YAML, `List`s; empty documents skipped).
fn manifest_documents(
    text: &str,
    p: &Path,
    warnings: &mut BTreeSet<String>,
) -> Result<Vec<Object>, InputError> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let raw = RawManifest::deserialize(doc).map_err(|e| InputError::from_yaml(p, &e))?;
        if raw.kind.is_none()
            && raw.metadata.is_none()
            && raw.spec.is_none()
            && raw.api_version.is_none()
        {
            continue; // an empty document
        }
        let mut ctx = Ctx {
            file: p,
            path: format!("document[{i}]"),
            warnings,
        };
        out.extend(convert::convert(raw, &mut ctx)?);
    }
    Ok(out)
}

/// The objects of plain manifest files, by kind, and the warnings for unmodelled fields.
#[derive(Debug, Default)]
pub struct ManifestObjects {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub replica_sets: Vec<ReplicaSet>,
    /// Services and StatefulSets: only their selectors matter here (default spreading).
    pub services: Vec<Service>,
    pub stateful_sets: Vec<StatefulSet>,
    pub warnings: Vec<String>,
}

/// Objects from plain manifest files (`kubesim explain --cluster/--pod`).
pub fn load_manifest_files(paths: &[PathBuf]) -> Result<ManifestObjects, InputError> {
    let mut warnings = BTreeSet::new();
    let (mut nodes, mut pods, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    let (mut services, mut stateful_sets) = (Vec::new(), Vec::new());
    let mut classes = system_priority_classes();
    for p in paths {
        let text = std::fs::read_to_string(p)
            .map_err(|e| InputError::file(p, format!("cannot read: {e}")))?;
        for o in manifest_documents(&text, p, &mut warnings)? {
            match o {
                Object::Node(n) => nodes.push(n),
                Object::Pod(x) => pods.push(x),
                Object::ReplicaSet(r) => rss.push(r),
                Object::PriorityClass(c) => classes.push(c),
                // Their selectors make default spreading apply (helper.DefaultSelector).
                Object::Service(s) => services.push(s),
                Object::StatefulSet(s) => stateful_sets.push(s),
                // Other workload controllers' objects do not take part in a single scheduling
                // decision; `explain` on a scenario sees the pods they create.
                Object::Deployment(_)
                | Object::DaemonSet(_)
                | Object::PodDisruptionBudget(_)
                | Object::Namespace(_)
                | Object::NamespacedObject(_) => {}
                Object::Job(_) | Object::CronJob(_) => {}
            }
        }
    }
    for pod in pods.iter_mut() {
        let key = pod.key();
        resolve_priority(&mut pod.spec, &classes).map_err(|missing| {
            InputError::file(
                paths.first().map_or(Path::new(""), |p| p.as_path()),
                format!("Pod {key}: no PriorityClass with name {missing} was found"),
            )
            .suggest(&missing, classes.iter().map(|c| c.name.as_str()))
        })?;
    }
    Ok(ManifestObjects {
        nodes,
        pods,
        replica_sets: rss,
        services,
        stateful_sets,
        warnings: warnings.into_iter().collect(),
    })
}

/// A `KubeSchedulerConfiguration` file on its own (`--scheduler-config`).
pub fn load_scheduler_config_file(p: &Path) -> Result<(SchedulerConfig, Vec<String>), InputError> {
    let mut warnings = BTreeSet::new();
    let mut cfg = SchedulerConfig::default();
    schedconfig::load(p, &mut cfg, &mut warnings)?;
    Ok((cfg, warnings.into_iter().collect()))
}

/// An inline manifest, or every document of `{file: …}`.
fn load_entry(
    entry: RawManifest,
    file: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<Vec<Object>, InputError> {
    if let Some(f) = &entry.file {
        let only_file = entry.kind.is_none()
            && entry.api_version.is_none()
            && entry.metadata.is_none()
            && entry.spec.is_none();
        if !only_file {
            return Err(InputError::at_path(
                file,
                path,
                "`file` cannot be combined with an inline manifest",
            ));
        }
        let p = relative(file, f);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            InputError::at_path(
                file,
                format!("{path}.file"),
                format!("cannot read {}: {e}", p.display()),
            )
        })?;
        return manifest_documents(&text, &p, warnings);
    }
    let mut ctx = Ctx {
        file,
        path: path.to_string(),
        warnings,
    };
    convert::convert(entry, &mut ctx)
}

/// Nodes, and the static pods of each node (by node name).
type NodesAndStaticPods = (Vec<Node>, BTreeMap<String, Vec<Pod>>);

fn build_nodes(
    c: RawCluster,
    file: &Path,
    warnings: &mut BTreeSet<String>,
) -> Result<NodesAndStaticPods, InputError> {
    let mut nodes = Vec::new();
    let mut static_pods: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for (i, mut pool) in c.node_pools.into_iter().enumerate() {
        let path = format!("cluster.nodePools[{i}]");
        let mut ctx = Ctx {
            file,
            path: path.clone(),
            warnings,
        };
        let mut capacity = convert::resources(&pool.capacity, &ctx, "capacity", false)?;
        if capacity.pods == 0 {
            capacity.pods = 110;
        }
        // A pool's allocatable falls back to its capacity for every resource it leaves out.
        let allocatable = match &pool.allocatable {
            Some(a) => {
                let mut merged = pool.capacity.clone();
                merged.extend(a.iter().map(|(k, v)| (k.clone(), *v)));
                let mut a = convert::resources(&merged, &ctx, "allocatable", false)?;
                if a.pods == 0 {
                    a.pods = capacity.pods;
                }
                a
            }
            None => capacity.clone(),
        };
        let taints = convert::taints(&pool.taints, &mut ctx, "taints")?;
        let images: Vec<ContainerImage> = pool
            .images
            .iter()
            .map(|n| ContainerImage {
                names: vec![n.clone()],
                size_bytes: 0,
            })
            .collect();
        let mut pool_static = Vec::new();
        for (k, entry) in std::mem::take(&mut pool.static_pods)
            .into_iter()
            .enumerate()
        {
            let spath = format!("{path}.staticPods[{k}]");
            for obj in load_entry(entry, file, &spath, ctx.warnings)? {
                match obj {
                    Object::Pod(p) => pool_static.push(p),
                    _ => {
                        return Err(InputError::at_path(
                            file,
                            spath,
                            "only Pod manifests can be static pods",
                        ))
                    }
                }
            }
        }
        let zones: Vec<Option<&String>> = if pool.zones.is_empty() {
            vec![None]
        } else {
            pool.zones.iter().map(Some).collect()
        };
        for zone in zones {
            for j in 0..pool.count {
                let name = match zone {
                    Some(z) => format!("{}-{}-{}", pool.name, z, j),
                    None => format!("{}-{}", pool.name, j),
                };
                let mut labels = pool.labels.clone();
                labels.insert(LABEL_HOSTNAME.into(), name.clone());
                if let Some(z) = zone {
                    labels.insert(LABEL_ZONE.into(), z.clone());
                }
                if let Some(rg) = &pool.region {
                    labels.insert(LABEL_REGION.into(), rg.clone());
                }
                nodes.push(Node {
                    meta: ObjectMeta {
                        name,
                        labels,
                        ..Default::default()
                    },
                    spec: NodeSpec {
                        unschedulable: false,
                        taints: taints.clone(),
                    },
                    status: NodeStatus {
                        capacity: capacity.clone(),
                        allocatable: allocatable.clone(),
                        conditions: vec![],
                        images: images.clone(),
                    },
                });
                if let (false, Some(n)) = (pool_static.is_empty(), nodes.last()) {
                    static_pods.insert(n.meta.name.clone(), pool_static.clone());
                }
            }
        }
        if pool.count == 0 {
            return Err(InputError::at_path(
                file,
                format!("{path}.count"),
                "must be at least 1",
            ));
        }
    }
    for (i, entry) in c.nodes.into_iter().enumerate() {
        for obj in load_entry(entry, file, &format!("cluster.nodes[{i}]"), warnings)? {
            match obj {
                Object::Node(n) => nodes.push(n),
                _ => {
                    return Err(InputError::at_path(
                        file,
                        format!("cluster.nodes[{i}]"),
                        "only Node manifests belong under cluster.nodes",
                    ))
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    for n in &nodes {
        if !names.insert(n.meta.name.clone()) {
            return Err(InputError::at_path(
                file,
                "cluster",
                format!("duplicate node name {:?}", n.meta.name),
            ));
        }
    }
    if nodes.is_empty() {
        return Err(InputError::at_path(
            file,
            "cluster",
            "the cluster has no nodes (add cluster.nodePools or cluster.nodes)",
        ));
    }
    Ok((nodes, static_pods))
}

fn expectation(
    entry: &RawExpectEntry,
    file: &Path,
    i: usize,
    duration: SimDuration,
    nodes: &[&str],
    zones: &BTreeSet<String>,
    workloads: &[Workload],
) -> Result<TimedExpectation, InputError> {
    let origin = format!("expect[{i}]");
    let e = entry.only().ok_or_else(|| {
        InputError::at_path(file, &origin, "each expectation needs exactly one of nodeCondition, nodeTaint, podCount, eventCount, eventTime, zoneState, deployment, statefulSet, daemonSet, endpoints, pdb, namespace, job")
    })?;
    let err = |field: &str, m: String| InputError::at_path(file, format!("{origin}.{field}"), m);
    let at = |a: &Option<values::DurationValue>| -> Result<Option<SimTime>, InputError> {
        match a {
            Some(d) if d.0 > duration => Err(err(
                "at",
                format!("{} is after the end of the run ({duration})", d.0),
            )),
            Some(d) => Ok(Some(SimTime::ZERO + d.0)),
            None => Ok(None),
        }
    };
    let node = |n: &str| -> Result<String, InputError> {
        if nodes.contains(&n) {
            Ok(n.to_string())
        } else {
            Err(err("node", format!("unknown node {n:?}")).suggest(n, nodes.iter().copied()))
        }
    };
    let count =
        |c: Option<u64>, min: Option<u64>, max: Option<u64>| -> Result<CountSpec, InputError> {
            if c.is_none() && min.is_none() && max.is_none() {
                return Err(err("count", "give count, min or max".into()));
            }
            Ok(CountSpec { exact: c, min, max })
        };
    let filter = |reason: &str,
                  object: &Option<String>,
                  message: &Option<String>,
                  zone: &Option<String>| EventFilter {
        reason: reason.to_string(),
        object: object.clone().map(Glob),
        message: message.clone().map(Glob),
        zone: zone.clone(),
    };
    let (when, expectation) = match &e {
        RawExpect::NodeCondition(x) => {
            let type_ = match x.type_.as_deref().unwrap_or("Ready") {
                "Ready" => NodeConditionType::Ready,
                "MemoryPressure" => NodeConditionType::MemoryPressure,
                "DiskPressure" => NodeConditionType::DiskPressure,
                "PIDPressure" => NodeConditionType::PIDPressure,
                "NetworkUnavailable" => NodeConditionType::NetworkUnavailable,
                other => {
                    return Err(
                        err("type", format!("unknown node condition {other:?}")).suggest(
                            other,
                            [
                                "Ready",
                                "MemoryPressure",
                                "DiskPressure",
                                "PIDPressure",
                                "NetworkUnavailable",
                            ],
                        ),
                    )
                }
            };
            let status = match x.status.0.as_str() {
                "True" | "true" => ConditionStatus::True,
                "False" | "false" => ConditionStatus::False,
                "Unknown" => ConditionStatus::Unknown,
                other => {
                    return Err(err(
                        "status",
                        format!("expected True, False or Unknown, found {other:?}"),
                    ))
                }
            };
            (
                at(&x.at)?,
                Expectation::NodeCondition {
                    node: node(&x.node)?,
                    type_,
                    status,
                },
            )
        }
        RawExpect::NodeTaint(x) => {
            let (key, eff) = x
                .taint
                .rsplit_once(':')
                .ok_or_else(|| err("taint", format!("expected key:Effect, found {:?}", x.taint)))?;
            let effect = match eff {
                "NoSchedule" => TaintEffect::NoSchedule,
                "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
                "NoExecute" => TaintEffect::NoExecute,
                other => {
                    return Err(err("taint", format!("unknown taint effect {other:?}"))
                        .suggest(other, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
                }
            };
            (
                at(&x.at)?,
                Expectation::NodeTaint {
                    node: node(&x.node)?,
                    key: key.to_string(),
                    effect,
                    present: x.present,
                },
            )
        }
        RawExpect::PodCount(x) => {
            let phase = match x.phase.as_deref() {
                None => None,
                Some("Pending") => Some(PodPhase::Pending),
                Some("Running") => Some(PodPhase::Running),
                Some("Succeeded") => Some(PodPhase::Succeeded),
                Some("Failed") => Some(PodPhase::Failed),
                Some("Unknown") => Some(PodPhase::Unknown),
                Some(other) => {
                    return Err(
                        err("phase", format!("unknown pod phase {other:?}")).suggest(
                            other,
                            ["Pending", "Running", "Succeeded", "Failed", "Unknown"],
                        ),
                    )
                }
            };
            let nd = match &x.node {
                Some(n) => Some(node(n)?),
                None => None,
            };
            (
                at(&x.at)?,
                Expectation::PodCount {
                    phase,
                    terminating: x.terminating,
                    ready: x.ready,
                    namespace: x.namespace.clone(),
                    node: nd,
                    labels: x.labels.clone(),
                    count: count(x.count, x.min, x.max)?,
                },
            )
        }
        RawExpect::EventCount(x) => (
            at(&x.at)?,
            Expectation::EventCount {
                filter: filter(&x.reason, &x.object, &x.message, &x.zone),
                count: count(x.count, x.min, x.max)?,
            },
        ),
        RawExpect::EventTime(x) => {
            let t = at(&Some(x.at))?.unwrap_or(SimTime::ZERO + x.at.0);
            if x.nth == Some(0) {
                return Err(err("nth", "counts from 1".into()));
            }
            (
                None,
                Expectation::EventTime {
                    filter: filter(&x.reason, &x.object, &x.message, &x.zone),
                    nth: x.nth.unwrap_or(1),
                    at: t,
                    tolerance: x.tolerance.map(|d| d.0).unwrap_or(SimDuration::ZERO),
                },
            )
        }
        RawExpect::Deployment(x) => {
            let d = find_deployment(
                workloads,
                &x.name,
                x.namespace.as_deref(),
                file,
                &origin.clone(),
            )?;
            let reasons = [
                "NewReplicaSetCreated",
                "FoundNewReplicaSet",
                "ReplicaSetUpdated",
                "NewReplicaSetAvailable",
                "ProgressDeadlineExceeded",
            ];
            if let Some(r) = &x.progressing {
                if !reasons.contains(&r.as_str()) {
                    return Err(
                        err("progressing", format!("unknown Progressing reason {r:?}"))
                            .suggest(r, reasons),
                    );
                }
            }
            let available = match x.available.as_ref().map(|v| v.0.as_str()) {
                None => None,
                Some("True" | "true") => Some(ConditionStatus::True),
                Some("False" | "false") => Some(ConditionStatus::False),
                Some(other) => {
                    return Err(err(
                        "available",
                        format!("expected \"True\" or \"False\", found {other:?}"),
                    ))
                }
            };
            (
                at(&x.at)?,
                Expectation::Deployment {
                    key: d.key(),
                    replicas: x.replicas,
                    updated: x.updated_replicas,
                    ready: x.ready_replicas,
                    available_replicas: x.available_replicas,
                    progressing: x.progressing.clone(),
                    available,
                },
            )
        }
        RawExpect::Endpoints(x) => {
            let key = if x.service.contains('/') {
                x.service.clone()
            } else {
                pod_key("default", &x.service)
            };
            let services: Vec<String> = workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::Service(s) => Some(s.key()),
                    _ => None,
                })
                .collect();
            if !services.contains(&key) {
                return Err(
                    err("service", format!("no Service {key} among the workloads"))
                        .suggest(&key, services.iter().map(|s| s.as_str())),
                );
            }
            (
                at(&x.at)?,
                Expectation::Object(crate::check::objects::ObjectExpectation::Endpoints {
                    service: key,
                    ready: x.ready,
                }),
            )
        }
        RawExpect::Pdb(x) => {
            let ns = x
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            let key = pod_key(ns, &x.name);
            let pdbs: Vec<String> = workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::PodDisruptionBudget(b) => Some(b.key()),
                    _ => None,
                })
                .collect();
            if !pdbs.contains(&key) {
                return Err(err(
                    "name",
                    format!("no PodDisruptionBudget {key} among the workloads"),
                )
                .suggest(&key, pdbs.iter().map(|s| s.as_str())));
            }
            (
                at(&x.at)?,
                Expectation::Object(crate::check::objects::ObjectExpectation::Pdb {
                    key,
                    disruptions_allowed: x.disruptions_allowed,
                    current_healthy: x.current_healthy,
                    desired_healthy: x.desired_healthy,
                    expected_pods: x.expected_pods,
                }),
            )
        }
        RawExpect::Namespace(x) => {
            let phases = ["Active", "Terminating", "Absent"];
            if !phases.contains(&x.phase.as_str()) {
                return Err(
                    err("phase", format!("unknown namespace phase {:?}", x.phase))
                        .suggest(&x.phase, phases),
                );
            }
            (
                at(&x.at)?,
                Expectation::Object(crate::check::objects::ObjectExpectation::Namespace {
                    name: x.name.clone(),
                    phase: x.phase.clone(),
                }),
            )
        }
        RawExpect::Job(x) => (at(&x.at)?, Expectation::Job(job_expect(x, &err)?)),
        RawExpect::StatefulSet(x) => {
            let (key, _) = find_pod_workload(
                workloads,
                "StatefulSet",
                &["StatefulSet"],
                &x.name,
                x.namespace.as_deref(),
                file,
                &format!("{origin}.statefulSet"),
            )?;
            let fields = [
                ("replicas", x.replicas),
                ("readyReplicas", x.ready_replicas),
                ("availableReplicas", x.available_replicas),
                ("currentReplicas", x.current_replicas),
                ("updatedReplicas", x.updated_replicas),
            ];
            (
                at(&x.at)?,
                Expectation::Object(crate::check::objects::ObjectExpectation::SetStatus {
                    kind: "StatefulSet",
                    key,
                    fields: fields
                        .into_iter()
                        .filter_map(|(n, v)| v.map(|v| (n, v)))
                        .collect(),
                }),
            )
        }
        RawExpect::DaemonSet(x) => {
            let (key, _) = find_pod_workload(
                workloads,
                "DaemonSet",
                &["DaemonSet"],
                &x.name,
                x.namespace.as_deref(),
                file,
                &format!("{origin}.daemonSet"),
            )?;
            let fields = [
                ("desiredNumberScheduled", x.desired_number_scheduled),
                ("currentNumberScheduled", x.current_number_scheduled),
                ("updatedNumberScheduled", x.updated_number_scheduled),
                ("numberReady", x.number_ready),
                ("numberAvailable", x.number_available),
                ("numberUnavailable", x.number_unavailable),
                ("numberMisscheduled", x.number_misscheduled),
            ];
            (
                at(&x.at)?,
                Expectation::Object(crate::check::objects::ObjectExpectation::SetStatus {
                    kind: "DaemonSet",
                    key,
                    fields: fields
                        .into_iter()
                        .filter_map(|(n, v)| v.map(|v| (n, v)))
                        .collect(),
                }),
            )
        }
        RawExpect::ZoneState(x) => {
            if !zones.contains(&x.zone) {
                return Err(err("zone", format!("unknown zone {:?}", x.zone))
                    .suggest(&x.zone, zones.iter().map(|s| s.as_str())));
            }
            let states = ["Initial", "Normal", "PartialDisruption", "FullDisruption"];
            if !states.contains(&x.state.as_str()) {
                return Err(err("state", format!("unknown zone state {:?}", x.state))
                    .suggest(&x.state, states));
            }
            (
                at(&x.at)?,
                Expectation::ZoneState {
                    zone: x.zone.clone(),
                    state: x.state.clone(),
                },
            )
        }
    };
    Ok(TimedExpectation {
        at: when,
        expectation,
        origin,
    })
}
