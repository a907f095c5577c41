//! `expect`: the run's expectations, one resolver per kind (node condition and taint, pod
//! and event counts, event times, zone state, Deployments, StatefulSets, DaemonSets,
//! endpoints, PDBs, namespaces, Jobs; containers, pod conditions, ReplicaSets and CronJobs in
//! `expect_more.rs`), and `exists` for every kind that names an object.
//!
//! Invariant: every node, zone and workload an expectation names exists in the scenario
//! (Jobs, ReplicaSets and pods excepted: controllers create them), no expectation is after
//! the run's end, and `exists: false` comes with no other asserted field.

use std::collections::BTreeSet;
use std::path::Path;

use super::expect_more as more;
use super::timeline::{find_deployment, find_pod_workload};
use crate::model::*;
use crate::observe::expect::{
    CountSpec, EventFilter, Expectation, Glob, JobExpect, TimedExpectation,
};
use crate::observe::objects::ObjectExpectation;
use crate::scenario::raw::{self, *};
use crate::scenario::values::DurationValue;
use crate::scenario::{InputError, Workload};
use crate::sim::{SimDuration, SimTime};

pub(super) fn resolve(
    file: &Path,
    entries: &[RawExpectEntry],
    duration: SimDuration,
    nodes: &[Node],
    workloads: &[Workload],
) -> Result<Vec<TimedExpectation>, InputError> {
    let node_names: Vec<&str> = nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let zones: BTreeSet<String> = nodes
        .iter()
        .map(|n| zone_key_display(&n.zone_key()))
        .collect();
    let mut expectations = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let c = Ctx {
            file,
            origin: format!("expect[{i}]"),
            duration,
            nodes: &node_names,
            zones: &zones,
            workloads,
        };
        expectations.push(expectation(e, &c)?);
    }
    Ok(expectations)
}

/// What one expectation is checked against; `origin` is its path (`expect[i]`).
pub(super) struct Ctx<'a> {
    pub(super) file: &'a Path,
    pub(super) origin: String,
    pub(super) duration: SimDuration,
    nodes: &'a [&'a str],
    zones: &'a BTreeSet<String>,
    pub(super) workloads: &'a [Workload],
}

pub(super) type Resolved = (Option<SimTime>, Expectation);

/// An expectation's `namespace`: "default" when absent or empty, as kubectl's.
pub(super) fn namespace_or_default(ns: Option<&str>) -> &str {
    ns.filter(|n| !n.is_empty()).unwrap_or("default")
}

impl Ctx<'_> {
    pub(super) fn err(&self, field: &str, m: String) -> InputError {
        InputError::at_path(self.file, format!("{}.{field}", self.origin), m)
    }

    /// `key` must be one of the scenario's workloads of `kind` (their keys by `key_of`); the
    /// error at `field` suggests the closest one.
    pub(super) fn known(
        &self,
        field: &str,
        key: &str,
        kind: &str,
        key_of: impl Fn(&Workload) -> Option<String>,
    ) -> Result<(), InputError> {
        let all: Vec<String> = self.workloads.iter().filter_map(key_of).collect();
        if all.iter().any(|k| k == key) {
            return Ok(());
        }
        Err(self
            .err(field, format!("no {kind} {key} among the workloads"))
            .suggest(key, all.iter().map(|s| s.as_str())))
    }

    pub(super) fn at(&self, a: &Option<DurationValue>) -> Result<Option<SimTime>, InputError> {
        self.time("at", a)
    }

    /// A time of the run (`at`, `from`, a window bound): not after its end.
    pub(super) fn time(
        &self,
        field: &str,
        a: &Option<DurationValue>,
    ) -> Result<Option<SimTime>, InputError> {
        match a {
            Some(d) if d.0 > self.duration => Err(self.err(
                field,
                format!("{} is after the end of the run ({})", d.0, self.duration),
            )),
            Some(d) => Ok(Some(SimTime::ZERO + d.0)),
            None => Ok(None),
        }
    }

    fn node(&self, n: &str) -> Result<String, InputError> {
        if self.nodes.contains(&n) {
            Ok(n.to_string())
        } else {
            Err(self
                .err("node", format!("unknown node {n:?}"))
                .suggest(n, self.nodes.iter().copied()))
        }
    }

    /// `exists` of a kind that names one object (`kind`, `key`): `false` asserts absence and
    /// allows no other asserted field; `true` with no field asserts presence; otherwise
    /// (`None`) the field checks run, and they fail on a missing object.
    pub(super) fn existence(
        &self,
        exists: Option<bool>,
        kind: &'static str,
        key: &str,
        fields: &[(&str, bool)],
    ) -> Result<Option<Expectation>, InputError> {
        let given = fields.iter().find(|(_, g)| *g).map(|(n, _)| *n);
        match (exists, given) {
            (Some(false), Some(f)) => Err(self.err(
                f,
                format!("`exists: false` asserts that {kind} {key} is absent: drop `{f}`"),
            )),
            (Some(present), None) => Ok(Some(Expectation::Object(ObjectExpectation::Exists {
                kind,
                key: key.to_string(),
                present,
            }))),
            _ => Ok(None),
        }
    }

    pub(super) fn count(
        &self,
        c: Option<u64>,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Result<CountSpec, InputError> {
        if c.is_none() && min.is_none() && max.is_none() {
            return Err(self.err("count", "give count, min or max".into()));
        }
        Ok(CountSpec { exact: c, min, max })
    }
}

pub(super) fn filter(
    reason: &str,
    object: &Option<String>,
    message: &Option<String>,
    zone: &Option<String>,
) -> EventFilter {
    EventFilter {
        reason: reason.to_string(),
        object: object.clone().map(Glob),
        message: message.clone().map(Glob),
        zone: zone.clone(),
    }
}

fn expectation(entry: &RawExpectEntry, c: &Ctx) -> Result<TimedExpectation, InputError> {
    let e = entry.only().ok_or_else(|| {
        InputError::at_path(
            c.file,
            &c.origin,
            format!(
                "each expectation needs exactly one of {}",
                crate::scenario::vocabulary::EXPECTATIONS.join(", ")
            ),
        )
    })?;
    let (when, expectation) = match &e {
        RawExpect::NodeCondition(x) => node_condition(x, c)?,
        RawExpect::NodeTaint(x) => node_taint(x, c)?,
        RawExpect::PodCount(x) => pod_count(x, c)?,
        RawExpect::EventCount(x) => more::event_count(x, c)?,
        RawExpect::EventTime(x) => more::event_time(x, c)?,
        RawExpect::Deployment(x) => deployment(x, c)?,
        RawExpect::Endpoints(x) => endpoints(x, c)?,
        RawExpect::Pdb(x) => pdb(x, c)?,
        RawExpect::Namespace(x) => namespace(x, c)?,
        RawExpect::Job(x) => (c.at(&x.at)?, Expectation::Job(job_expect(x, c)?)),
        RawExpect::StatefulSet(x) => stateful_set(x, c)?,
        RawExpect::DaemonSet(x) => daemon_set(x, c)?,
        RawExpect::ZoneState(x) => zone_state(x, c)?,
        RawExpect::Container(x) => more::container(x, c)?,
        RawExpect::PodCondition(x) => more::pod_condition(x, c)?,
        RawExpect::ReplicaSet(x) => more::replica_set(x, c)?,
        RawExpect::CronJob(x) => more::cron_job(x, c)?,
    };
    Ok(TimedExpectation {
        at: when,
        expectation,
        origin: c.origin.clone(),
    })
}

/// A node condition (default `Ready`) has a status.
fn node_condition(x: &RawNodeConditionExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let node = c.node(&x.node)?;
    let fields = [("status", x.status.is_some()), ("type", x.type_.is_some())];
    if let Some(e) = c.existence(x.exists, "Node", &node, &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    let Some(status) = &x.status else {
        return Err(c.err("status", "give `status` (or `exists`)".into()));
    };
    let type_ = match x.type_.as_deref().unwrap_or("Ready") {
        "Ready" => NodeConditionType::Ready,
        "MemoryPressure" => NodeConditionType::MemoryPressure,
        "DiskPressure" => NodeConditionType::DiskPressure,
        "PIDPressure" => NodeConditionType::PIDPressure,
        "NetworkUnavailable" => NodeConditionType::NetworkUnavailable,
        other => {
            return Err(c
                .err("type", format!("unknown node condition {other:?}"))
                .suggest(
                    other,
                    [
                        "Ready",
                        "MemoryPressure",
                        "DiskPressure",
                        "PIDPressure",
                        "NetworkUnavailable",
                    ],
                ))
        }
    };
    let status = match status.0.as_str() {
        "True" | "true" => ConditionStatus::True,
        "False" | "false" => ConditionStatus::False,
        "Unknown" => ConditionStatus::Unknown,
        other => {
            return Err(c.err(
                "status",
                format!("expected True, False or Unknown, found {other:?}"),
            ))
        }
    };
    Ok((
        c.at(&x.at)?,
        Expectation::NodeCondition {
            node,
            type_,
            status,
        },
    ))
}

/// A taint is (or is not) on a node.
fn node_taint(x: &RawNodeTaintExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let (key, eff) = x
        .taint
        .rsplit_once(':')
        .ok_or_else(|| c.err("taint", format!("expected key:Effect, found {:?}", x.taint)))?;
    let effect = match eff {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        other => {
            return Err(c
                .err("taint", format!("unknown taint effect {other:?}"))
                .suggest(other, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
        }
    };
    Ok((
        c.at(&x.at)?,
        Expectation::NodeTaint {
            node: c.node(&x.node)?,
            key: key.to_string(),
            effect,
            present: x.present,
        },
    ))
}

/// How many pods match (phase, readiness, namespace, node, labels).
fn pod_count(x: &RawPodCountExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let phase = match x.phase.as_deref() {
        None => None,
        Some("Pending") => Some(PodPhase::Pending),
        Some("Running") => Some(PodPhase::Running),
        Some("Succeeded") => Some(PodPhase::Succeeded),
        Some("Failed") => Some(PodPhase::Failed),
        Some("Unknown") => Some(PodPhase::Unknown),
        Some(other) => {
            return Err(c
                .err("phase", format!("unknown pod phase {other:?}"))
                .suggest(
                    other,
                    ["Pending", "Running", "Succeeded", "Failed", "Unknown"],
                ))
        }
    };
    let nd = match &x.node {
        Some(n) => Some(c.node(n)?),
        None => None,
    };
    Ok((
        c.at(&x.at)?,
        Expectation::PodCount {
            phase,
            terminating: x.terminating,
            ready: x.ready,
            namespace: x.namespace.clone(),
            node: nd,
            labels: x.labels.clone(),
            count: c.count(x.count, x.min, x.max)?,
        },
    ))
}

/// A Deployment's replica counts and conditions.
fn deployment(x: &RawDeploymentExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let d = find_deployment(
        c.workloads,
        &x.name,
        x.namespace.as_deref(),
        c.file,
        &c.origin,
    )?;
    let fields = [
        ("replicas", x.replicas.is_some()),
        ("updatedReplicas", x.updated_replicas.is_some()),
        ("readyReplicas", x.ready_replicas.is_some()),
        ("availableReplicas", x.available_replicas.is_some()),
        ("progressing", x.progressing.is_some()),
        ("available", x.available.is_some()),
    ];
    if let Some(e) = c.existence(x.exists, "Deployment", &d.key(), &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    let reasons = [
        "NewReplicaSetCreated",
        "FoundNewReplicaSet",
        "ReplicaSetUpdated",
        "NewReplicaSetAvailable",
        "ProgressDeadlineExceeded",
    ];
    if let Some(r) = &x.progressing {
        if !reasons.contains(&r.as_str()) {
            return Err(c
                .err("progressing", format!("unknown Progressing reason {r:?}"))
                .suggest(r, reasons));
        }
    }
    let available = match x.available.as_ref().map(|v| v.0.as_str()) {
        None => None,
        Some("True" | "true") => Some(ConditionStatus::True),
        Some("False" | "false") => Some(ConditionStatus::False),
        Some(other) => {
            return Err(c.err(
                "available",
                format!("expected \"True\" or \"False\", found {other:?}"),
            ))
        }
    };
    Ok((
        c.at(&x.at)?,
        Expectation::Deployment {
            key: d.key(),
            replicas: x.replicas,
            updated: x.updated_replicas,
            ready: x.ready_replicas,
            available_replicas: x.available_replicas,
            progressing: x.progressing.clone(),
            available,
        },
    ))
}

/// A Service's ready endpoints.
fn endpoints(x: &RawEndpointsExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let key = if x.service.contains('/') {
        x.service.clone()
    } else {
        pod_key("default", &x.service)
    };
    c.known("service", &key, "Service", |w| match w {
        Workload::Service(s) => Some(s.key()),
        _ => None,
    })?;
    let fields = [("ready", x.ready.is_some())];
    if let Some(e) = c.existence(x.exists, "Service", &key, &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    let Some(ready) = x.ready else {
        return Err(c.err("ready", "give `ready` (or `exists`)".into()));
    };
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::Endpoints {
            service: key,
            ready,
        }),
    ))
}

/// A PodDisruptionBudget's status.
fn pdb(x: &RawPdbExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let ns = namespace_or_default(x.namespace.as_deref());
    let key = pod_key(ns, &x.name);
    c.known("name", &key, "PodDisruptionBudget", |w| match w {
        Workload::PodDisruptionBudget(b) => Some(b.key()),
        _ => None,
    })?;
    let fields = [
        ("disruptionsAllowed", x.disruptions_allowed.is_some()),
        ("currentHealthy", x.current_healthy.is_some()),
        ("desiredHealthy", x.desired_healthy.is_some()),
        ("expectedPods", x.expected_pods.is_some()),
    ];
    if let Some(e) = c.existence(x.exists, "PodDisruptionBudget", &key, &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::Pdb {
            key,
            disruptions_allowed: x.disruptions_allowed,
            current_healthy: x.current_healthy,
            desired_healthy: x.desired_healthy,
            expected_pods: x.expected_pods,
        }),
    ))
}

/// A StatefulSet's status counts.
fn stateful_set(x: &RawStatefulSetExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let (key, _) = find_pod_workload(
        c.workloads,
        "StatefulSet",
        &["StatefulSet"],
        &x.name,
        x.namespace.as_deref(),
        c.file,
        &format!("{}.statefulSet", c.origin),
    )?;
    let fields = [
        ("replicas", x.replicas),
        ("readyReplicas", x.ready_replicas),
        ("availableReplicas", x.available_replicas),
        ("currentReplicas", x.current_replicas),
        ("updatedReplicas", x.updated_replicas),
    ];
    let given: Vec<(&str, bool)> = fields.iter().map(|(n, v)| (*n, v.is_some())).collect();
    if let Some(e) = c.existence(x.exists, "StatefulSet", &key, &given)? {
        return Ok((c.at(&x.at)?, e));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::SetStatus {
            kind: "StatefulSet",
            key,
            fields: fields
                .into_iter()
                .filter_map(|(n, v)| v.map(|v| (n, v)))
                .collect(),
        }),
    ))
}

/// A DaemonSet's status counts.
fn daemon_set(x: &RawDaemonSetExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let (key, _) = find_pod_workload(
        c.workloads,
        "DaemonSet",
        &["DaemonSet"],
        &x.name,
        x.namespace.as_deref(),
        c.file,
        &format!("{}.daemonSet", c.origin),
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
    let given: Vec<(&str, bool)> = fields.iter().map(|(n, v)| (*n, v.is_some())).collect();
    if let Some(e) = c.existence(x.exists, "DaemonSet", &key, &given)? {
        return Ok((c.at(&x.at)?, e));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::SetStatus {
            kind: "DaemonSet",
            key,
            fields: fields
                .into_iter()
                .filter_map(|(n, v)| v.map(|v| (n, v)))
                .collect(),
        }),
    ))
}

/// A Namespace's phase, or whether it exists.
fn namespace(x: &RawNamespaceExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let fields = [("phase", x.phase.is_some())];
    if let Some(e) = c.existence(x.exists, "Namespace", &x.name, &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    let Some(phase) = &x.phase else {
        return Err(c.err("phase", "give `phase` (or `exists`)".into()));
    };
    let phases = ["Active", "Terminating", "Absent"];
    if !phases.contains(&phase.as_str()) {
        return Err(c
            .err("phase", format!("unknown namespace phase {phase:?}"))
            .suggest(phase, phases));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::Namespace {
            name: x.name.clone(),
            phase: phase.clone(),
        }),
    ))
}

/// The node lifecycle controller's state of a zone.
fn zone_state(x: &RawZoneStateExpect, c: &Ctx) -> Result<Resolved, InputError> {
    if !c.zones.contains(&x.zone) {
        return Err(c
            .err("zone", format!("unknown zone {:?}", x.zone))
            .suggest(&x.zone, c.zones.iter().map(|s| s.as_str())));
    }
    let states = ["Initial", "Normal", "PartialDisruption", "FullDisruption"];
    if !states.contains(&x.state.as_str()) {
        return Err(c
            .err("state", format!("unknown zone state {:?}", x.state))
            .suggest(&x.state, states));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::ZoneState {
            zone: x.zone.clone(),
            state: x.state.clone(),
        },
    ))
}

/// A `job:` expectation: the Job may come from the workloads or from a CronJob, so its name
/// is only checked for form; the condition type must be one of the Job condition types.
fn job_expect(x: &raw::RawJobExpect, c: &Ctx) -> Result<JobExpect, InputError> {
    let ns = namespace_or_default(x.namespace.as_deref());
    let types = [
        JobConditionType::Complete,
        JobConditionType::Failed,
        JobConditionType::FailureTarget,
        JobConditionType::SuccessCriteriaMet,
        JobConditionType::Suspended,
    ];
    let condition = match &x.condition {
        None => None,
        Some(name) => Some(
            types
                .iter()
                .copied()
                .find(|t| t.as_str() == name)
                .ok_or_else(|| {
                    c.err("condition", format!("unknown Job condition type {name:?}"))
                        .suggest(name, types.iter().map(|t| t.as_str()))
                })?,
        ),
    };
    if x.reason.is_some() && condition.is_none() {
        return Err(c.err("reason", "`reason` needs a `condition`".into()));
    }
    let fields = [
        ("active", x.active.is_some()),
        ("succeeded", x.succeeded.is_some()),
        ("failed", x.failed.is_some()),
        ("ready", x.ready.is_some()),
        ("terminating", x.terminating.is_some()),
        ("completedIndexes", x.completed_indexes.is_some()),
        ("condition", x.condition.is_some()),
    ];
    if let (Some(false), Some((f, _))) = (x.exists, fields.iter().find(|(_, g)| *g)) {
        return Err(c.err(
            f,
            format!("`exists: false` asserts that the Job is absent: drop `{f}`"),
        ));
    }
    Ok(JobExpect {
        key: pod_key(ns, &x.name),
        active: x.active,
        succeeded: x.succeeded,
        failed: x.failed,
        ready: x.ready,
        terminating: x.terminating,
        completed_indexes: match &x.completed_indexes {
            Some(t) => Some(more::completed_indexes(t, c)?),
            None => None,
        },
        condition,
        reason: x.reason.clone(),
        exists: x.exists.unwrap_or(true),
    })
}
