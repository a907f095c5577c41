//! Node-maintenance and eviction actions of the timeline: `cordon`, `uncordon`, `drain` (the
//! `kubectl` commands, with kubectl's own flag names and defaults) and `evictPod` (a POST to
//! a pod's `eviction` subresource, as `kubectl`'s drain helper and the e2e tests send it).
//!
//! Invariant: every name is checked here (a misspelt node gets a suggestion); the cluster
//! receives only resolved [`ActionKind`]s.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::error::InputError;
use super::values::DurationValue;
use super::ActionKind;
pub use crate::cluster::spec::DrainOptions;
use crate::sim::SimDuration;

/// `kubectl cordon NODE` / `kubectl uncordon NODE`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCordon {
    pub node: String,
}

/// `kubectl drain NODE` with its flags (kubectl's defaults when absent).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDrain {
    pub node: String,
    /// `--ignore-daemonsets` (default false: DaemonSet pods make the drain fail).
    #[serde(default)]
    pub ignore_daemonsets: bool,
    /// `--force` (default false: pods without a controller make the drain fail).
    #[serde(default)]
    pub force: bool,
    /// `--grace-period` in seconds (default -1: each pod's own).
    pub grace_period: Option<i64>,
    /// `--timeout` (default 0s: wait forever).
    pub timeout: Option<DurationValue>,
    /// `--disable-eviction` (default false): DELETE instead of evicting, bypassing budgets.
    #[serde(default)]
    pub disable_eviction: bool,
}

/// One eviction request: a pod by name, or the first Running pod (by name) whose labels
/// contain `labels` (how the e2e tests pick "a running pod").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEvictPod {
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `deleteOptions.gracePeriodSeconds` (default: the pod's own).
    pub grace_period_seconds: Option<i64>,
}

fn check_node(node: &str, file: &Path, path: &str, nodes: &[&str]) -> Result<(), InputError> {
    if nodes.contains(&node) {
        return Ok(());
    }
    Err(InputError::at_path(
        file,
        format!("{path}.node"),
        format!("unknown node {node:?}"),
    )
    .suggest(node, nodes.iter().copied()))
}

/// The actions of this module in one timeline entry, with their labels.
pub fn resolve(
    cordon: Option<&RawCordon>,
    uncordon: Option<&RawCordon>,
    drain: Option<&RawDrain>,
    evict: Option<&RawEvictPod>,
    file: &Path,
    path: &str,
    nodes: &[&str],
) -> Result<Vec<(ActionKind, String)>, InputError> {
    let mut out = Vec::new();
    for (raw, unschedulable, verb) in [(cordon, true, "cordon"), (uncordon, false, "uncordon")] {
        if let Some(c) = raw {
            check_node(&c.node, file, &format!("{path}.{verb}"), nodes)?;
            out.push((
                ActionKind::Cordon {
                    node: c.node.clone(),
                    unschedulable,
                },
                format!("{verb} {}", c.node),
            ));
        }
    }
    if let Some(d) = drain {
        let p = format!("{path}.drain");
        check_node(&d.node, file, &p, nodes)?;
        let grace_period = match d.grace_period {
            None | Some(-1) => None,
            Some(g) if g < 0 => {
                return Err(InputError::at_path(
                    file,
                    format!("{p}.gracePeriod"),
                    "must be -1 (each pod's own) or greater than or equal to 0",
                ))
            }
            Some(g) if g > super::bounds::MAX_SECONDS => {
                let m = super::bounds::check_seconds(g, 0).err().unwrap_or_default();
                return Err(InputError::at_path(file, format!("{p}.gracePeriod"), m));
            }
            Some(g) => Some(g as u64),
        };
        let timeout = d
            .timeout
            .as_ref()
            .map(|t| t.0)
            .filter(|t| *t > SimDuration::ZERO);
        out.push((
            ActionKind::Drain {
                node: d.node.clone(),
                opts: DrainOptions {
                    ignore_daemonsets: d.ignore_daemonsets,
                    force: d.force,
                    grace_period,
                    timeout,
                    disable_eviction: d.disable_eviction,
                },
            },
            format!("drain {}", d.node),
        ));
    }
    if let Some(e) = evict {
        let p = format!("{path}.evictPod");
        if e.name.is_some() != e.labels.is_empty() {
            return Err(InputError::at_path(
                file,
                p,
                "give exactly one of `name` (a pod) or `labels` (the first Running pod matching them)",
            ));
        }
        let grace = match e.grace_period_seconds {
            None => None,
            Some(g) if g < 0 => {
                return Err(InputError::at_path(
                    file,
                    format!("{p}.gracePeriodSeconds"),
                    "must be greater than or equal to 0",
                ))
            }
            Some(g) if g > super::bounds::MAX_SECONDS => {
                let m = super::bounds::check_seconds(g, 0).err().unwrap_or_default();
                return Err(InputError::at_path(
                    file,
                    format!("{p}.gracePeriodSeconds"),
                    m,
                ));
            }
            Some(g) => Some(g as u64),
        };
        let namespace = e
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let label = match &e.name {
            Some(n) => format!("evict pod {namespace}/{n}"),
            None => format!("evict a running pod in {namespace}"),
        };
        out.push((
            ActionKind::EvictPod {
                namespace,
                name: e.name.clone(),
                labels: e.labels.clone(),
                grace,
            },
            label,
        ));
    }
    Ok(out)
}
