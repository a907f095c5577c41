//! Monte Carlo failure models (`failureModels:`): random faults next to the fixed timeline.
//! Each model names a target (every selected node, every zone, the API server or
//! kube-controller-manager), a fault kind of the timeline, a failure process (time between
//! failures: exponential with `mtbf`, Weibull with `shape` and `scale`, or fixed) and a repair
//! process (the same families with `mttr`). Each target alternates up-time and repair
//! (an alternating renewal process) and draws from its own stream
//! `failure-model/<model index>/<target>`; [`expand`] turns the models into timeline entries,
//! appended after the fixed ones. See docs/failure-models.md.
//!
//! Invariant: the expansion is a pure function of (models, seed, duration): the same seed
//! gives the same faults, a model or target added never shifts another's draws, and it is
//! bounded: [`expand`] makes more than a model's `maxFaults` an error (what `load`, the CLI's
//! `--seed` and `Scenario::with_seed` report); only [`expand_capped`], which `run::run` uses
//! for a seed the caller did not check, keeps the first `maxFaults`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use super::raw::RawNodeSet;
use super::values::DurationValue;
use super::{FaultKind, InputError, TimelineEntry};
use crate::model::Node;
use crate::sim::{rng, SimDuration, SimTime};

/// Faults one model may generate unless it says otherwise, and the most it may say.
pub const DEFAULT_MAX_FAULTS: u32 = 1_000;
pub const MAX_FAULTS_LIMIT: u32 = 100_000;

/// One entry of `failureModels:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFailureModel {
    /// `node`, `zone`, `apiServer` or `controllerManager`.
    pub target: String,
    /// Which nodes (for `node`) or the zones of which nodes (for `zone`); default: all.
    pub select: Option<RawNodeSet>,
    /// The fault kind each failure is (a timeline fault name); default per target.
    pub fault: Option<String>,
    pub failures: RawProcess,
    /// Absent: a failure is never repaired (one per target at most).
    pub repairs: Option<RawProcess>,
    pub max_faults: Option<u32>,
}

/// A distribution of durations: `exponential` (`mtbf`/`mttr`: the mean), `weibull` (`shape`,
/// `scale`) or `fixed` (`mtbf`/`mttr`: the value).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawProcess {
    pub distribution: String,
    pub mtbf: Option<DurationValue>,
    pub mttr: Option<DurationValue>,
    pub shape: Option<f64>,
    pub scale: Option<DurationValue>,
}

/// A validated distribution of durations, in seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Exponential { mean: f64 },
    Weibull { shape: f64, scale: f64 },
    Fixed { value: f64 },
}

impl Dist {
    /// One draw, in seconds (inverse transform of one uniform; libm, so portable).
    pub fn draw(&self, r: &mut rand_chacha::ChaCha8Rng) -> f64 {
        let u = rng::unit_f64(r);
        match *self {
            // 1 − u is in (0, 1], so the log is finite.
            Dist::Exponential { mean } => -mean * libm::log(1.0 - u),
            Dist::Weibull { shape, scale } => scale * libm::pow(-libm::log(1.0 - u), 1.0 / shape),
            Dist::Fixed { value } => value,
        }
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Exponential { mean } => mean,
            Dist::Weibull { shape, scale } => scale * libm::tgamma(1.0 + 1.0 / shape),
            Dist::Fixed { value } => value,
        }
    }
}

/// One target of a model: its stream's name, the fault it suffers and that fault's label.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub name: String,
    pub fault: FaultKind,
    pub label: String,
}

/// A validated failure model.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureModel {
    pub index: usize,
    pub targets: Vec<Target>,
    pub failures: Dist,
    pub repairs: Option<Dist>,
    pub max_faults: u32,
}

const TARGETS: &[&str] = &[
    "node",
    "zone",
    "apiServer",
    "controllerManager",
    "scheduler",
];

/// The faults a target may use; the first is the default.
fn faults_for(target: &str) -> &'static [&'static str] {
    match target {
        "node" => &[
            "nodeCrash",
            "kubeletStop",
            "networkPartition",
            "runtimeHang",
        ],
        "zone" => &["networkPartition", "nodeCrash", "kubeletStop"],
        "apiServer" => &["apiServerUnavailable"],
        _ => &["controllerManagerRestart"],
    }
}

/// Validates `failureModels:` against the cluster's nodes.
pub(crate) fn resolve(
    file: &Path,
    raw: &[RawFailureModel],
    nodes: &[Node],
) -> Result<Vec<FailureModel>, InputError> {
    raw.iter()
        .enumerate()
        .map(|(i, m)| resolve_one(file, i, m, nodes))
        .collect()
}

fn resolve_one(
    file: &Path,
    index: usize,
    m: &RawFailureModel,
    nodes: &[Node],
) -> Result<FailureModel, InputError> {
    let path = format!("failureModels[{index}]");
    let err = |field: &str, msg: String| InputError::at_path(file, format!("{path}.{field}"), msg);
    if !TARGETS.contains(&m.target.as_str()) {
        return Err(err(
            "target",
            format!(
                "unknown target {:?} (node, zone, apiServer or controllerManager)",
                m.target
            ),
        )
        .suggest(&m.target, TARGETS.iter().copied()));
    }
    if m.target == "scheduler" {
        return Err(err(
            "target",
            "kubesim has no scheduler fault yet (a failure model reuses a timeline fault): use apiServer or controllerManager".into(),
        ));
    }
    let allowed = faults_for(&m.target);
    let fault = m.fault.as_deref().unwrap_or(allowed[0]);
    if !allowed.contains(&fault) {
        return Err(err(
            "fault",
            format!(
                "a {} target fails with {}, not {fault:?}",
                m.target,
                allowed.join(", ")
            ),
        )
        .suggest(fault, allowed.iter().copied()));
    }
    if m.select.is_some() && !matches!(m.target.as_str(), "node" | "zone") {
        return Err(err(
            "select",
            "only node and zone targets select nodes".into(),
        ));
    }
    let failures = process(file, &format!("{path}.failures"), &m.failures, "mtbf")?;
    let repairs = match &m.repairs {
        Some(_) if fault == "controllerManagerRestart" => {
            return Err(err(
                "repairs",
                "a controller-manager restart is instantaneous; remove `repairs`".into(),
            ))
        }
        Some(r) => Some(process(file, &format!("{path}.repairs"), r, "mttr")?),
        None => None,
    };
    let max_faults = m.max_faults.unwrap_or(DEFAULT_MAX_FAULTS);
    if max_faults == 0 || max_faults > MAX_FAULTS_LIMIT {
        return Err(err(
            "maxFaults",
            format!("must be between 1 and {MAX_FAULTS_LIMIT}"),
        ));
    }
    let targets = targets(file, index, &m.target, fault, m.select.as_ref(), nodes)?;
    Ok(FailureModel {
        index,
        targets,
        failures,
        repairs,
        max_faults,
    })
}

/// The named targets of a model, in node order (zones in the order of their first node).
fn targets(
    file: &Path,
    index: usize,
    target: &str,
    fault: &str,
    select: Option<&RawNodeSet>,
    nodes: &[Node],
) -> Result<Vec<Target>, InputError> {
    let chosen: Vec<u32> = match select {
        Some(set) => {
            let path = format!("failureModels[{index}].select");
            super::resolve::node_set(set, file, &path, nodes)?.0
        }
        None => (0..nodes.len() as u32).collect(),
    };
    let machines_of = |pick: &dyn Fn(&Node) -> bool| -> Vec<u32> {
        chosen
            .iter()
            .copied()
            .filter(|m| pick(&nodes[*m as usize]))
            .collect()
    };
    let kind = |machines: Vec<u32>| match fault {
        "nodeCrash" => FaultKind::NodeCrash { machines },
        "kubeletStop" => FaultKind::KubeletStop { machines },
        "runtimeHang" => FaultKind::RuntimeHang { machines },
        _ => FaultKind::NetworkPartition { machines },
    };
    let verb = match fault {
        "nodeCrash" => "node crash",
        "kubeletStop" => "kubelet stopped",
        "runtimeHang" => "runtime hang",
        "apiServerUnavailable" => "API server unreachable",
        "controllerManagerRestart" => "controller-manager restart",
        _ => "partition",
    };
    let label = |what: &str| {
        let sep = if what.is_empty() { "" } else { " " };
        format!("{verb}{sep}{what} (failure model {index})")
    };
    Ok(match target {
        "node" => chosen
            .iter()
            .map(|m| {
                let name = nodes[*m as usize].meta.name.clone();
                Target {
                    fault: kind(vec![*m]),
                    label: label(&name),
                    name,
                }
            })
            .collect(),
        "zone" => {
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            for m in &chosen {
                let z = nodes[*m as usize].zone_label();
                if seen.insert(z.clone()) {
                    let machines = machines_of(&|n: &Node| n.zone_label() == z);
                    let name = if z.is_empty() { "none".to_string() } else { z };
                    out.push(Target {
                        fault: kind(machines),
                        label: label(&format!("zone {name}")),
                        name,
                    });
                }
            }
            out
        }
        "apiServer" => vec![Target {
            name: "apiServer".into(),
            fault: FaultKind::ApiServerUnavailable,
            label: label(""),
        }],
        _ => vec![Target {
            name: "controllerManager".into(),
            fault: FaultKind::ControllerManagerRestart,
            label: label(""),
        }],
    })
}

/// A validated `failures:` / `repairs:` process; `mean_key` is `mtbf` or `mttr`.
fn process(file: &Path, path: &str, p: &RawProcess, mean_key: &str) -> Result<Dist, InputError> {
    let err = |field: &str, msg: &str| InputError::at_path(file, format!("{path}.{field}"), msg);
    let other = if mean_key == "mtbf" { "mttr" } else { "mtbf" };
    let wrong = if mean_key == "mtbf" { &p.mttr } else { &p.mtbf };
    if wrong.is_some() {
        return Err(err(
            other,
            &format!("this process takes `{mean_key}`, not `{other}`"),
        ));
    }
    let mean = if mean_key == "mtbf" { &p.mtbf } else { &p.mttr };
    let positive = |d: &Option<DurationValue>, field: &str| match d {
        Some(d) if d.0 > SimDuration::ZERO => Ok(d.0.as_secs_f64()),
        Some(_) => Err(err(field, "must be more than 0s")),
        None => Err(err(field, &format!("`{field}` is required"))),
    };
    let families = ["exponential", "weibull", "fixed"];
    match p.distribution.as_str() {
        "exponential" | "fixed" => {
            if p.shape.is_some() || p.scale.is_some() {
                return Err(err(
                    "shape",
                    &format!(
                        "`shape` and `scale` belong to weibull; {} takes `{mean_key}`",
                        p.distribution
                    ),
                ));
            }
            let v = positive(mean, mean_key)?;
            Ok(if p.distribution == "fixed" {
                Dist::Fixed { value: v }
            } else {
                Dist::Exponential { mean: v }
            })
        }
        "weibull" => {
            if mean.is_some() {
                return Err(err(
                    mean_key,
                    &format!("weibull takes `shape` and `scale`, not `{mean_key}`"),
                ));
            }
            let shape = match p.shape {
                Some(s) if s.is_finite() && (0.1..=100.0).contains(&s) => s,
                Some(_) => return Err(err("shape", "must be between 0.1 and 100")),
                None => return Err(err("shape", "`shape` is required")),
            };
            let scale = positive(&p.scale, "scale")?;
            Ok(Dist::Weibull { shape, scale })
        }
        other => Err(InputError::at_path(
            file,
            format!("{path}.distribution"),
            format!("unknown distribution {other:?} (exponential, weibull or fixed)"),
        )
        .suggest(other, families)),
    }
}

/// Seconds as a duration, `None` past what the clock holds.
fn duration(secs: f64) -> Option<SimDuration> {
    let ns = secs * 1e9;
    (ns.is_finite() && ns >= 0.0 && ns < u64::MAX as f64 / 2.0)
        .then(|| SimDuration::from_nanos(ns as u64))
}

/// The timeline entries of every model for `seed` over `[0, end]`: per target, failures at
/// up-time draws, each lasting a repair draw, the next up-time counted from the repair (no
/// failure while one is being repaired). A failure after `end` ends the target's process.
/// More than a model's `maxFaults` is an error.
pub fn expand(
    models: &[FailureModel],
    seed: u64,
    end: SimDuration,
) -> Result<Vec<TimelineEntry>, String> {
    match expand_capped(models, seed, end) {
        (out, None) => Ok(out),
        (_, Some(e)) => Err(e),
    }
}

/// As [`expand`], keeping each model's first `maxFaults` faults (in target order) and saying
/// which model had more.
pub fn expand_capped(
    models: &[FailureModel],
    seed: u64,
    end: SimDuration,
) -> (Vec<TimelineEntry>, Option<String>) {
    let mut out = Vec::new();
    let mut exceeded = None;
    for m in models {
        let mut count = 0u32;
        'targets: for t in &m.targets {
            let mut r = rng::stream(seed, &format!("failure-model/{}/{}", m.index, t.name));
            let mut now = SimTime::ZERO;
            while let Some(at) = duration(m.failures.draw(&mut r)).and_then(|d| now.checked_add(d))
            {
                if at.since(SimTime::ZERO) > end {
                    break;
                }
                // At least 1 ns: a fault ends after it starts.
                let repair = m.repairs.as_ref().map(|d| {
                    duration(d.draw(&mut r))
                        .unwrap_or(end)
                        .max(SimDuration::from_nanos(1))
                });
                count += 1;
                if count > m.max_faults {
                    exceeded.get_or_insert(format!(
                        "failureModels[{}] generates more than its maxFaults ({}) faults at seed {seed} within {}: raise maxFaults (up to {MAX_FAULTS_LIMIT}) or lengthen the time between failures",
                        m.index, m.max_faults, crate::sim::time::format_go_duration(end)
                    ));
                    break 'targets;
                }
                out.push(TimelineEntry {
                    at: at.since(SimTime::ZERO),
                    duration: repair,
                    kind: t.fault.clone().into(),
                    label: t.label.clone(),
                });
                // An instantaneous fault (a restart) recurs from its own time; a fault that is
                // never repaired ends the process.
                now = match (&t.fault, repair) {
                    (FaultKind::ControllerManagerRestart, _) => at,
                    (_, Some(d)) => match at.checked_add(d) {
                        Some(next) => next,
                        None => break,
                    },
                    (_, None) => break,
                };
            }
        }
    }
    (out, exceeded)
}

#[cfg(test)]
mod tests;
