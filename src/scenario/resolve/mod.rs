//! Validation of a parsed scenario: raw serde schema → one [`Scenario`] with every default
//! resolved, one resolver per section (components, kubelet, simulation knobs, cluster,
//! workloads, timeline, expectations), in the order the file is checked.
//!
//! Invariant: the sections are resolved in one fixed order, so the first error reported and
//! the order of the echoed [`Setting`]s never change; every error names the field path.

mod cluster;
mod components;
mod expect;
mod expect_more;
mod faults;
pub(in crate::scenario) use faults::resolve_node_set as node_set;
mod kubelet;
mod later;
mod simulation;
mod timeline;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub use faults::parse_taint_text;

use super::flags::{self, Component, ComponentFlags, FlagValue};
use super::raw::*;
use super::{ClusterSpec, InputError, Scenario, Setting, DEFAULT_VERSION, SUPPORTED_MINORS};
use crate::sim::SimDuration;

/// Shared state of one resolution: the file (for errors), the echoed settings, the warnings
/// and the flags `--set` overrode.
pub(super) struct Resolver<'a> {
    file: &'a Path,
    settings: Vec<Setting>,
    warnings: BTreeSet<String>,
    overridden: BTreeMap<&'static str, BTreeSet<String>>,
    /// The Kubernetes minor version, and its settings source (`profile 1.NN`).
    minor: u32,
    profile: String,
    /// The PriorityClasses of `workloads` (and the system ones), for objects created later.
    classes: Vec<crate::model::PriorityClass>,
    /// The objects of `cluster.fromDump` other than Nodes, resolved with the workloads.
    dumped: Vec<crate::scenario::convert::Object>,
}

impl Resolver<'_> {
    /// A flag's effective value (the file's, `--set`'s or `default`), echoed as a setting.
    fn get<C: Component>(
        &mut self,
        flags: &ComponentFlags<C>,
        name: &str,
        default: FlagValue,
        default_source: &str,
    ) -> FlagValue {
        let (v, source) = match flags.get(name) {
            Some(v) => (
                v.clone(),
                if self
                    .overridden
                    .get(C::NAME)
                    .is_some_and(|o| o.contains(name))
                {
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

    fn setting(&mut self, component: &'static str, name: &str, value: String, source: String) {
        self.settings.push(Setting {
            component,
            name: name.into(),
            value,
            source,
        });
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

/// The whole scenario, section by section.
pub(super) fn resolve(
    mut raw: RawScenario,
    file: &Path,
    overrides: &[String],
) -> Result<Scenario, InputError> {
    let overridden = apply_overrides(&mut raw.components, overrides, file)?;
    let (version, minor) = version(&raw, file)?;
    let duration = raw.duration.0;
    if duration == SimDuration::ZERO {
        return Err(InputError::at_path(
            file,
            "duration",
            "must be greater than 0",
        ));
    }
    let mut r = Resolver {
        file,
        settings: Vec::new(),
        warnings: BTreeSet::new(),
        overridden,
        minor,
        profile: format!("profile {version}"),
        classes: Vec::new(),
        dumped: Vec::new(),
    };
    let apiserver = components::apiserver(&mut r, &raw.components.apiserver)?;
    let kcm = components::controller_manager(&mut r, &raw.components.controller_manager)?;
    let scheduler = components::scheduler(&mut r, &raw.components.scheduler)?;
    let (mut kubelet, max_parallel_pulls, registration) =
        kubelet::kubelet(&mut r, &raw.components.kubelet, &raw.simulation)?;
    if apiserver.inflight.active() {
        // A planned (lazy) heartbeat is no request, so it could hold no seat: with service
        // times the kubelets' heartbeats run eagerly, as requests.
        if raw.simulation.lazy_heartbeats == Some(true) {
            return Err(InputError::at_path(
                file,
                "simulation.lazyHeartbeats",
                "cannot be true with components.kube-apiserver.kubesim-service-time: \
                 heartbeats must be requests that hold seats",
            ));
        }
        kubelet.lazy_heartbeats = false;
    }
    let sim = simulation::resolve(&mut r, &raw, max_parallel_pulls, &kubelet, duration)?;
    let (mut nodes, mut static_pods, mut node_pools) = cluster::nodes(
        &mut r,
        std::mem::take(&mut raw.cluster),
        &sim.runtime,
        &registration,
    )?;
    let late = crate::scenario::arrivals::late_nodes(
        &raw.timeline,
        file,
        &mut nodes,
        &mut node_pools,
        &mut static_pods,
    )?;
    let workloads = workloads::resolve(&mut r, raw.workloads, &nodes, &sim.runtime)?;
    let (mut later_actions, applies) = later::actions(
        &mut r,
        &mut raw.timeline,
        &nodes,
        &node_pools,
        &late,
        &sim.runtime,
    )?;
    let arrivals = later::generators(&mut r, std::mem::take(&mut raw.arrivals), &sim.runtime)?;
    let stop_when =
        crate::scenario::arrivals::stop_when(raw.stop_when.as_deref(), file, !arrivals.is_empty())?;
    let timeline = timeline::resolve(
        file,
        &raw.timeline,
        duration,
        &nodes,
        &workloads,
        &static_pods,
        &mut later_actions,
    )?;
    let expectations = expect::resolve(file, &raw.expect, duration, &nodes, &workloads)?;
    let failure_models = crate::scenario::failures::resolve(file, &raw.failure_models, &nodes)?;
    let (kube_proxy, traffic) = crate::scenario::traffic::resolve(
        file,
        raw.kube_proxy.as_ref(),
        &raw.traffic,
        &nodes,
        &workloads,
    )?;
    let fixed_timeline = timeline.len();

    let spec = ClusterSpec {
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
        node_pools,
        workloads,
        apiserver,
        kcm,
        kubelet,
        scheduler,
        runtime: sim.runtime,
        static_pods,
        watch_delay: sim.watch_delay,
        max_events: sim.max_events,
        sample_interval: sim.sample_interval,
        timeline,
        kube_proxy,
        traffic,
        settings: r.settings,
        warnings: r.warnings.into_iter().collect(),
        applies,
        late_nodes: late.values().map(|m| m.len()).sum(),
        arrivals,
        stop_when,
    };
    let seed = spec.seed;
    Scenario {
        spec,
        expectations,
        failure_models,
        fixed_timeline,
    }
    .with_seed(seed)
}

/// `kubernetesVersion` (default [`DEFAULT_VERSION`]) and its minor, which must be supported.
fn version(raw: &RawScenario, file: &Path) -> Result<(String, u32), InputError> {
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
    Ok((version, minor))
}

fn parse_version(v: &str) -> Option<u32> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts = v.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor_text = parts.next()?;
    // Kubernetes versions have no leading zeros: "1.034" is not "1.34".
    if minor_text.len() > 1 && minor_text.starts_with('0') {
        return None;
    }
    let minor: u32 = minor_text.parse().ok()?;
    if let Some(patch) = parts.next() {
        patch.parse::<u32>().ok()?;
    }
    parts.next().is_none().then_some(minor)
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
