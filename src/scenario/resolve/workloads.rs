//! `workloads`: the objects the run starts with, their PriorityClasses (resolved into pod
//! priorities) and their `kubesim.io/behavior` annotations.
//!
//! Invariant: no two workloads share kind and key; a pod's node, priority class and
//! behaviour name all exist, or the scenario is rejected with a suggestion.

use std::collections::BTreeSet;
use std::path::Path;

use super::Resolver;
use crate::model::*;
use crate::runtime::RuntimeConfig;
use crate::scenario::convert::Object;
use crate::scenario::raw::RawManifestEntry;
use crate::scenario::{load_entry, InputError, Workload};

pub(super) fn resolve(
    r: &mut Resolver,
    entries: Vec<RawManifestEntry>,
    nodes: &[Node],
    runtime: &RuntimeConfig,
) -> Result<Vec<Workload>, InputError> {
    let file = r.file;
    let node_names: Vec<&str> = nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let mut workloads = Vec::new();
    let mut classes = system_priority_classes();
    let mut seen = BTreeSet::new();
    // The objects of `cluster.fromDump` come first, as `workloads[0]`… of their own.
    let dumped = std::mem::take(&mut r.dumped);
    let mut groups: Vec<Vec<Object>> = if dumped.is_empty() {
        Vec::new()
    } else {
        vec![dumped]
    };
    for (i, entry) in entries.into_iter().enumerate() {
        groups.push(load_entry(
            entry,
            file,
            &format!("workloads[{i}]"),
            &mut r.warnings,
        )?);
    }
    for (i, objs) in groups.into_iter().enumerate() {
        for obj in objs {
            let Some((kind, key, w)) = classify(obj, &mut classes, file, i)? else {
                continue;
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
    check_behaviors(&workloads, runtime, file, &|i| format!("workloads[{i}]"))?;
    resolve_priorities(&mut workloads, &classes, file, &|i| {
        format!("workloads[{i}]")
    })?;
    r.classes = classes;
    Ok(workloads)
}

/// Objects created after t = 0 (an `apply`, an arrival shape), checked as workloads are;
/// PriorityClasses and Nodes belong under `workloads` and `cluster`.
pub(super) fn later(
    r: &mut Resolver,
    entry: RawManifestEntry,
    path: &str,
    runtime: &RuntimeConfig,
) -> Result<Vec<Workload>, InputError> {
    let file = r.file;
    let mut out = Vec::new();
    for obj in load_entry(entry, file, path, &mut r.warnings)? {
        if let Object::PriorityClass(pc) = &obj {
            return Err(InputError::at_path(
                file,
                path,
                format!(
                    "PriorityClass {} belongs under workloads (it exists from t = 0)",
                    pc.name
                ),
            ));
        }
        let mut classes = r.classes.clone();
        if let Some((_, _, w)) = classify(obj, &mut classes, file, 0)? {
            out.push(w);
        }
    }
    check_behaviors(&out, runtime, file, &|_| path.to_string())?;
    resolve_priorities(&mut out, &r.classes, file, &|_| path.to_string())?;
    Ok(out)
}

/// A workload with its kind and key; `None` for a PriorityClass (added to `classes`).
fn classify(
    obj: Object,
    classes: &mut Vec<PriorityClass>,
    file: &Path,
    i: usize,
) -> Result<Option<(&'static str, String, Workload)>, InputError> {
    Ok(Some(match obj {
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
            return Ok(None);
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
    }))
}

/// `kubesim.io/behavior[.<container>]` annotations must name a behaviour of `runtime`.
fn check_behaviors(
    workloads: &[Workload],
    runtime: &RuntimeConfig,
    file: &Path,
    path_of: &dyn Fn(usize) -> String,
) -> Result<(), InputError> {
    for (i, w) in workloads.iter().enumerate() {
        let annotations = match w {
            Workload::Pod(p) => &p.meta.annotations,
            Workload::ReplicaSet(rs) => &rs.template.annotations,
            Workload::Deployment(d) => &d.template.annotations,
            Workload::DaemonSet(d) => &d.template.annotations,
            Workload::StatefulSet(d) => &d.template.annotations,
            Workload::Job(j) => &j.template.annotations,
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
                    path_of(i),
                    format!("annotation {k}: no behavior {v:?} in runtime.behaviors"),
                )
                .suggest(v, runtime.behaviors.iter().map(|b| b.name.as_str())));
            }
        }
    }
    Ok(())
}

/// Priority admission: priorityClassName → priority (classes may come after their pods).
fn resolve_priorities(
    workloads: &mut [Workload],
    classes: &[PriorityClass],
    file: &Path,
    path_of: &dyn Fn(usize) -> String,
) -> Result<(), InputError> {
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
        resolve_priority(spec, classes).map_err(|missing| {
            InputError::at_path(
                file,
                path_of(i),
                format!("{what}: no PriorityClass with name {missing} was found"),
            )
            .suggest(&missing, classes.iter().map(|c| c.name.as_str()))
        })?;
    }
    Ok(())
}
