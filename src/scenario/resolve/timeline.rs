//! The timeline: each entry's one fault or operator action (`kubectl scale`, `set image`,
//! `rollout undo`, `delete`, and the node-maintenance actions of `scenario::actions`), checked
//! against the cluster's nodes and the workloads.
//!
//! Invariant: each entry holds exactly one fault or action, at or before the end of the run;
//! an action is instantaneous (no `duration`) and names a workload that exists.

use std::collections::BTreeMap;
use std::path::Path;

use super::faults;
use crate::model::*;
use crate::scenario::raw::*;
use crate::scenario::{actions, ActionKind, InputError, TimelineEntry, TimelineKind, Workload};

/// An action and its label for the event log.
type LabelledAction = (ActionKind, String);
use crate::sim::SimDuration;

pub(super) fn resolve(
    file: &Path,
    entries: &[RawTimelineEntry],
    duration: SimDuration,
    nodes: &[Node],
    workloads: &[Workload],
    static_pods: &BTreeMap<String, Vec<Pod>>,
    later: &mut BTreeMap<usize, LabelledAction>,
) -> Result<Vec<TimelineEntry>, InputError> {
    let node_names: Vec<&str> = nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let mut timeline = Vec::new();
    for (i, t) in entries.iter().enumerate() {
        let path = format!("timeline[{i}]");
        if t.at.0 > duration {
            return Err(InputError::at_path(
                file,
                format!("{path}.at"),
                format!("{} is after the end of the run ({})", t.at.0, duration),
            ));
        }
        let mut faults = faults::node_faults(t, file, &path, nodes)?;
        faults.extend(faults::other_faults(t, file, &path, nodes)?);
        let mut actions = workload_actions(t, file, &path, workloads, static_pods)?;
        // `apply`, `addNodes`, `deleteNodes` (resolved first: `resolve::later`).
        actions.extend(later.remove(&i));
        actions.extend(actions::resolve(
            t.cordon.as_ref(),
            t.uncordon.as_ref(),
            t.drain.as_ref(),
            t.evict_pod.as_ref(),
            file,
            &path,
            &node_names,
        )?);
        let mut kinds: Vec<(TimelineKind, String)> = faults
            .into_iter()
            .map(|(k, l)| (k.into(), l))
            .chain(actions.into_iter().map(|(k, l)| (k.into(), l)))
            .collect();
        let (kind, label) = match (kinds.pop(), kinds.is_empty()) {
            (Some(one), true) => one,
            _ => return Err(InputError::at_path(
                file,
                path,
                "each timeline entry needs exactly one fault or action (nodeCrash, kubeletStop, vmDeleted, networkPartition, slowLeaseRenewals, taintNodes, apiServerUnavailable, controllerManagerRestart, registryOutage, registrySlow, runtimeHang, crashLoop, memoryLeak, scaleDeployment, setImage, rollbackDeployment, deleteObject, cordon, uncordon, drain, evictPod, apply, addNodes or deleteNodes)",
            )),
        };
        timeline.push(TimelineEntry {
            at: t.at.0,
            duration: t.duration.map(|d| d.0),
            kind,
            label,
        });
    }
    Ok(timeline)
}

/// The workload actions of one entry: scale, rollback, delete, set image.
fn workload_actions(
    t: &RawTimelineEntry,
    file: &Path,
    path: &str,
    workloads: &[Workload],
    static_pods: &BTreeMap<String, Vec<Pod>>,
) -> Result<Vec<LabelledAction>, InputError> {
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
    let mut kinds = Vec::new();
    if let Some(a) = &t.scale_deployment {
        kinds.push(scale(a, file, path, workloads)?);
    }
    if let Some(a) = &t.rollback_deployment {
        kinds.push(rollback(a, file, path, workloads)?);
    }
    if let Some(a) = &t.delete_object {
        kinds.push(delete_object(a, file, path, workloads, static_pods)?);
    }
    if let Some(a) = &t.set_image {
        kinds.push(set_image(a, file, path, workloads)?);
    }
    Ok(kinds)
}

/// `kubectl scale KIND/NAME --replicas=N`.
fn scale(
    a: &RawScaleDeployment,
    file: &Path,
    path: &str,
    workloads: &[Workload],
) -> Result<LabelledAction, InputError> {
    let f = format!("{path}.scaleDeployment");
    let kind = a.kind.as_deref().unwrap_or("Deployment");
    let (key, _) = find_pod_workload(
        workloads,
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
    if let Err(m) = crate::scenario::bounds::check_pods(i64::from(a.replicas), 0) {
        return Err(InputError::at_path(file, format!("{f}.replicas"), m));
    }
    Ok((
        ActionKind::ScaleDeployment {
            kind: kind.to_string(),
            deployment: key,
            replicas: a.replicas,
        },
        format!("scale {}/{} to {}", kind.to_lowercase(), a.name, a.replicas),
    ))
}

/// `kubectl rollout undo deployment/NAME --to-revision=N`.
fn rollback(
    a: &RawRollbackDeployment,
    file: &Path,
    path: &str,
    workloads: &[Workload],
) -> Result<LabelledAction, InputError> {
    let f = format!("{path}.rollbackDeployment");
    let d = find_deployment(workloads, &a.name, a.namespace.as_deref(), file, &f)?;
    if a.to_revision < 0 {
        return Err(InputError::at_path(
            file,
            format!("{f}.toRevision"),
            "must be greater than or equal to 0 (0: the previous revision)",
        ));
    }
    Ok((
        ActionKind::RollbackDeployment {
            deployment: d.key(),
            to_revision: a.to_revision,
        },
        format!("rollout undo deployment/{}", d.meta.name),
    ))
}

/// `kubectl set image KIND/NAME CONTAINER=IMAGE`.
fn set_image(
    a: &RawSetImage,
    file: &Path,
    path: &str,
    workloads: &[Workload],
) -> Result<LabelledAction, InputError> {
    let f = format!("{path}.setImage");
    let kind = a.kind.as_deref().unwrap_or("Deployment");
    let (key, template) = find_pod_workload(
        workloads,
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
    Ok((
        ActionKind::SetImage {
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
    ))
}

/// `kubectl delete KIND/NAME --cascade=…`.
fn delete_object(
    a: &RawDeleteObject,
    file: &Path,
    path: &str,
    workloads: &[Workload],
    static_pods: &BTreeMap<String, Vec<Pod>>,
) -> Result<LabelledAction, InputError> {
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
    let names = deletable(&a.kind, ns, workloads, static_pods);
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
    Ok((
        ActionKind::DeleteObject {
            kind: a.kind.clone(),
            key: key.clone(),
            policy,
        },
        format!("delete {}/{} --cascade={cascade}", a.kind, a.name),
    ))
}

/// The objects of `kind` in namespace `ns` a delete may name: (name, API key).
fn deletable(
    kind: &str,
    ns: &str,
    workloads: &[Workload],
    static_pods: &BTreeMap<String, Vec<Pod>>,
) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = Vec::new();
    for w in workloads {
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
        if kind == "Namespace" {
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
        } else if k == kind && meta.namespace == ns {
            names.push((meta.name.clone(), key));
        }
    }
    // Mirror pods of static pods (`<name>-<node>`) exist in the API too.
    if kind == "Pod" {
        for (node, pods) in static_pods {
            for p in pods.iter().filter(|p| p.meta.namespace == ns) {
                let name = format!("{}-{node}", p.meta.name);
                names.push((name.clone(), pod_key(ns, &name)));
            }
        }
    }
    names
}

/// A Deployment, StatefulSet or DaemonSet of the workloads (`kind` one of `allowed`): its
/// key and pod template.
pub(super) fn find_pod_workload<'a>(
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

pub(super) fn find_deployment<'a>(
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
