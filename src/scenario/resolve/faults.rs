//! Faults of the timeline: node faults (crash, kubelet stop, VM deletion, network partition,
//! slow lease renewals, taints, runtime hang) on a resolved set of machines, and
//! cluster-wide ones (registry outage/slowness, crash loops, memory leaks, API server
//! unavailability, controller-manager restart).
//!
//! Invariant: a fault names machines by index in the cluster's node order, resolved here
//! from node names, zones and label selectors; an empty or unknown set is an input error.

use std::collections::BTreeSet;
use std::path::Path;

use crate::model::*;
use crate::scenario::raw::{RawNodeSet, RawTimelineEntry};
use crate::scenario::{suggest, FaultKind, InputError};
use crate::sim::SimDuration;

/// A fault and its label for plots and summaries.
pub(super) type Labelled = (FaultKind, String);

/// The node faults of one timeline entry (`path`), in a fixed order.
pub(super) fn node_faults(
    t: &RawTimelineEntry,
    file: &Path,
    path: &str,
    nodes: &[Node],
) -> Result<Vec<Labelled>, InputError> {
    let mut kinds = Vec::new();
    let set_of =
        |set: &RawNodeSet, key: &str| resolve_node_set(set, file, &format!("{path}.{key}"), nodes);
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
        let taint = parse_taint_text(&tn.taint)
            .map_err(|msg| InputError::at_path(file, format!("{path}.taintNodes.taint"), msg))?;
        kinds.push((
            FaultKind::TaintNodes { machines, taint },
            format!("taint {} on {label}", tn.taint),
        ));
    }
    Ok(kinds)
}

/// The other faults of one timeline entry, checked after [`node_faults`].
pub(super) fn other_faults(
    t: &RawTimelineEntry,
    file: &Path,
    path: &str,
    nodes: &[Node],
) -> Result<Vec<Labelled>, InputError> {
    let mut kinds = Vec::new();
    let set_of =
        |set: &RawNodeSet, key: &str| resolve_node_set(set, file, &format!("{path}.{key}"), nodes);
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
    Ok(kinds)
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
pub(in crate::scenario) fn resolve_node_set(
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
