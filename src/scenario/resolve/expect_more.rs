//! `expect`, continued: event windows (`eventCount` `from`/`to`, `eventTime` `within`), and
//! the kinds that read objects controllers create — `container`, `podCondition`,
//! `replicaSet`, `cronJob` — plus an Indexed Job's `completedIndexes`.
//!
//! Invariant: as in `expect.rs` — every name that must be among the scenario's workloads is
//! (with a suggestion otherwise), every time is within the run, and a resolved expectation
//! asserts exactly what the entry wrote.

use std::collections::BTreeSet;

use super::expect::{filter, namespace_or_default, Ctx, Resolved};
use super::timeline::find_deployment;
use crate::model::*;
use crate::observe::expect::{Expectation, TimeWindow};
use crate::observe::objects::{ObjectExpectation, ReplicaSetRef};
use crate::observe::pods::{ContainerExpect, PodConditionExpect, PodSelector};
use crate::scenario::raw::*;
use crate::scenario::{InputError, Workload};
use crate::sim::{SimDuration, SimTime};

/// The waiting reasons the kubelet writes (`kubelet/worker`), as upstream names them.
pub const WAITING_REASONS: &[&str] = &[
    "ContainerCreating",
    "PodInitializing",
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
];

/// The pod condition types kubesim's kubelet and API server write.
const POD_CONDITIONS: &[PodConditionType] = &[
    PodConditionType::PodScheduled,
    PodConditionType::PodReadyToStartContainers,
    PodConditionType::Initialized,
    PodConditionType::ContainersReady,
    PodConditionType::Ready,
    PodConditionType::DisruptionTarget,
];

/// Records matching a filter, from `from` to `to` (or `at`), both inclusive.
pub(super) fn event_count(x: &RawEventCountExpect, c: &Ctx) -> Result<Resolved, InputError> {
    if x.at.is_some() && x.to.is_some() {
        return Err(c.err("to", "give `to` or `at`, not both".into()));
    }
    let to = c.time("to", &x.to)?;
    let at = if to.is_some() { to } else { c.at(&x.at)? };
    let from = c.time("from", &x.from)?;
    if let (Some(f), Some(t)) = (from, at) {
        if f > t {
            return Err(c.err("from", format!("{} is after `to` ({})", f, t)));
        }
    }
    Ok((
        at,
        Expectation::EventCount {
            filter: filter(&x.reason, &x.object, &x.message, &x.zone),
            count: c.count(x.count, x.min, x.max)?,
            from,
        },
    ))
}

/// When the n-th matching record was logged: `at` ± `tolerance`, or `within: [min, max]`.
pub(super) fn event_time(x: &RawEventTimeExpect, c: &Ctx) -> Result<Resolved, InputError> {
    if x.nth == Some(0) {
        return Err(c.err("nth", "counts from 1".into()));
    }
    let window = match (&x.at, &x.within) {
        (Some(_), Some(_)) => return Err(c.err("within", "give `at` or `within`, not both".into())),
        (None, None) => return Err(c.err("at", "give `at` (or `within: [min, max]`)".into())),
        (Some(_), None) => TimeWindow::At {
            at: c.at(&x.at)?.unwrap_or(SimTime::ZERO),
            tolerance: x.tolerance.map(|d| d.0).unwrap_or(SimDuration::ZERO),
        },
        (None, Some(w)) => within(w, x.tolerance.is_some(), c)?,
    };
    Ok((
        None,
        Expectation::EventTime {
            filter: filter(&x.reason, &x.object, &x.message, &x.zone),
            nth: x.nth.unwrap_or(1),
            window,
        },
    ))
}

fn within(
    w: &[Option<crate::scenario::values::DurationValue>],
    tolerance: bool,
    c: &Ctx,
) -> Result<TimeWindow, InputError> {
    if tolerance {
        return Err(c.err(
            "tolerance",
            "`tolerance` goes with `at`; widen `within` instead".into(),
        ));
    }
    let [min, max] = w else {
        return Err(c.err(
            "within",
            format!(
                "expected [min, max] (either may be null), found {} items",
                w.len()
            ),
        ));
    };
    if min.is_none() && max.is_none() {
        return Err(c.err("within", "give at least one bound".into()));
    }
    let (lo, hi) = (c.time("within", min)?, c.time("within", max)?);
    if let (Some(l), Some(h)) = (lo, hi) {
        if l > h {
            return Err(c.err("within", format!("min {l} is after max {h}")));
        }
    }
    Ok(TimeWindow::Within { min: lo, max: hi })
}

/// Container names of every pod template among the workloads.
fn container_names(workloads: &[Workload]) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for w in workloads {
        let spec = match w {
            Workload::Pod(p) => &p.spec,
            Workload::ReplicaSet(r) => &r.template.spec,
            Workload::Deployment(d) => &d.template.spec,
            Workload::DaemonSet(d) => &d.template.spec,
            Workload::StatefulSet(s) => &s.template.spec,
            Workload::Job(j) => &j.template.spec,
            Workload::CronJob(j) => &j.job_template.template.spec,
            _ => continue,
        };
        for ct in spec.containers.iter().chain(&spec.init_containers) {
            out.insert(ct.name.as_str());
        }
    }
    out
}

/// `pod` (a name or `namespace/name`), `namespace`, `labels`: at least `pod` or `labels`.
fn selector(
    pod: &Option<String>,
    namespace: &Option<String>,
    labels: &std::collections::BTreeMap<String, String>,
    c: &Ctx,
) -> Result<PodSelector, InputError> {
    let ns = namespace.clone().filter(|n| !n.is_empty());
    let (name, ns) = match pod.as_deref().map(|p| p.split_once('/')) {
        Some(Some((pns, name))) => {
            if ns.as_deref().is_some_and(|n| n != pns) {
                return Err(c.err("namespace", format!("{pns:?} in `pod` differs")));
            }
            (Some(name.to_string()), Some(pns.to_string()))
        }
        Some(None) => (pod.clone(), Some(ns.unwrap_or_else(|| "default".into()))),
        None => (None, ns),
    };
    if name.is_none() && labels.is_empty() {
        return Err(c.err("pod", "select pods with `pod` or `labels`".into()));
    }
    Ok(PodSelector {
        name,
        namespace: ns,
        labels: labels.clone(),
    })
}

/// A container's status in the selected pods.
pub(super) fn container(x: &RawContainerExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let pods = selector(&x.pod, &x.namespace, &x.labels, c)?;
    let names = container_names(c.workloads);
    if !names.contains(x.container.as_str()) {
        return Err(c
            .err(
                "container",
                format!("no container {:?} in any pod template", x.container),
            )
            .suggest(&x.container, names.iter().copied()));
    }
    let states = ["waiting", "running", "terminated"];
    if let Some(s) = x.state.as_deref().filter(|s| !states.contains(s)) {
        return Err(c
            .err("state", format!("unknown container state {s:?}"))
            .suggest(s, states));
    }
    if let Some(r) = x
        .waiting_reason
        .as_deref()
        .filter(|r| !WAITING_REASONS.contains(r))
    {
        return Err(c
            .err("waitingReason", format!("unknown waiting reason {r:?}"))
            .suggest(r, WAITING_REASONS.iter().copied()));
    }
    let e = ContainerExpect {
        pods,
        container: x.container.clone(),
        state: x.state.clone(),
        waiting_reason: x.waiting_reason.clone(),
        restart_count: x.restart_count,
        last_exit_code: x.last_exit_code,
        started: x.started,
        ready: x.ready,
    };
    let fields = [
        ("state", e.state.is_some()),
        ("waitingReason", e.waiting_reason.is_some()),
        ("restartCount", e.restart_count.is_some()),
        ("lastExitCode", e.last_exit_code.is_some()),
        ("started", e.started.is_some()),
        ("ready", e.ready.is_some()),
    ];
    pod_existence(x.exists, &e.pods, &fields, c)?
        .map_or(Ok((c.at(&x.at)?, Expectation::Container(e))), |r| {
            Ok((c.at(&x.at)?, r))
        })
}

/// `exists` of a pod selector, as `Ctx::existence` for one object.
fn pod_existence(
    exists: Option<bool>,
    pods: &PodSelector,
    fields: &[(&str, bool)],
    c: &Ctx,
) -> Result<Option<Expectation>, InputError> {
    let given = fields.iter().find(|(_, g)| *g).map(|(n, _)| *n);
    match (exists, given) {
        (Some(false), Some(f)) => Err(c.err(
            f,
            format!("`exists: false` asserts that no pod matches: drop `{f}`"),
        )),
        (Some(present), None) => Ok(Some(Expectation::PodsExist {
            pods: pods.clone(),
            present,
        })),
        (None, None) => Err(c.err("exists", "assert at least one field".into())),
        _ => Ok(None),
    }
}

/// A pod condition of the selected pods.
pub(super) fn pod_condition(x: &RawPodConditionExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let pods = selector(&x.pod, &x.namespace, &x.labels, c)?;
    let fields = [
        ("type", x.type_.is_some()),
        ("status", x.status.is_some()),
        ("reason", x.reason.is_some()),
    ];
    if let Some(e) = pod_existence(x.exists, &pods, &fields, c)? {
        return Ok((c.at(&x.at)?, e));
    }
    let Some(name) = &x.type_ else {
        return Err(c.err("type", "give the condition `type`".into()));
    };
    let type_ = POD_CONDITIONS
        .iter()
        .copied()
        .find(|t| t.as_str() == name)
        .ok_or_else(|| {
            c.err("type", format!("unknown pod condition {name:?}"))
                .suggest(name, POD_CONDITIONS.iter().map(|t| t.as_str()))
        })?;
    let status = match x.status.as_ref().map(|s| s.0.as_str()) {
        Some("True" | "true") => ConditionStatus::True,
        Some("False" | "false") => ConditionStatus::False,
        Some("Unknown") => ConditionStatus::Unknown,
        Some(other) => {
            return Err(c.err(
                "status",
                format!("expected True, False or Unknown, found {other:?}"),
            ))
        }
        None => return Err(c.err("status", "give `status`".into())),
    };
    Ok((
        c.at(&x.at)?,
        Expectation::PodCondition(PodConditionExpect {
            pods,
            type_,
            status,
            reason: x.reason.clone(),
        }),
    ))
}

/// A ReplicaSet by name, or by owner Deployment and revision.
pub(super) fn replica_set(x: &RawReplicaSetExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let ns = x
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let which = match (&x.name, &x.deployment, x.revision) {
        (Some(_), Some(_), _) => {
            return Err(c.err("deployment", "give `name` or `deployment`, not both".into()))
        }
        (Some(n), None, None) => ReplicaSetRef::Name(pod_key(&ns, n)),
        (Some(_), None, Some(_)) => {
            return Err(c.err("revision", "`revision` goes with `deployment`".into()))
        }
        (None, Some(d), Some(revision)) => {
            let d = find_deployment(c.workloads, d, Some(&ns), c.file, &c.origin)?;
            if revision < 1 {
                return Err(c.err("revision", "revisions count from 1".into()));
            }
            ReplicaSetRef::Revision {
                namespace: ns,
                deployment: d.meta.name.clone(),
                revision,
            }
        }
        (None, Some(_), None) => {
            return Err(c.err("revision", "give the Deployment's `revision`".into()))
        }
        (None, None, _) => return Err(c.err("name", "give `name` or `deployment`".into())),
    };
    let fields: Vec<(&'static str, i32)> = [
        ("replicas", x.replicas),
        ("readyReplicas", x.ready_replicas),
        ("availableReplicas", x.available_replicas),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n, v)))
    .collect();
    if let (Some(false), Some((f, _))) = (x.exists, fields.first()) {
        return Err(c.err(
            f,
            format!("`exists: false` asserts that the ReplicaSet is absent: drop `{f}`"),
        ));
    }
    let e = match x.exists {
        Some(present) if fields.is_empty() => {
            Expectation::Object(ObjectExpectation::ReplicaSetExists { which, present })
        }
        _ => Expectation::Object(ObjectExpectation::ReplicaSet { which, fields }),
    };
    Ok((c.at(&x.at)?, e))
}

/// A CronJob's status.
pub(super) fn cron_job(x: &RawCronJobExpect, c: &Ctx) -> Result<Resolved, InputError> {
    let ns = namespace_or_default(x.namespace.as_deref());
    let key = pod_key(ns, &x.name);
    c.known("name", &key, "CronJob", |w| match w {
        Workload::CronJob(j) => Some(j.key()),
        _ => None,
    })?;
    let fields = [
        ("lastScheduleTime", x.last_schedule_time.is_some()),
        ("lastSuccessfulTime", x.last_successful_time.is_some()),
        ("active", x.active.is_some()),
    ];
    if let Some(e) = c.existence(x.exists, "CronJob", &key, &fields)? {
        return Ok((c.at(&x.at)?, e));
    }
    Ok((
        c.at(&x.at)?,
        Expectation::Object(ObjectExpectation::CronJob {
            key,
            last_schedule_time: c.time("lastScheduleTime", &x.last_schedule_time)?,
            last_successful_time: c.time("lastSuccessfulTime", &x.last_successful_time)?,
            active: x.active,
        }),
    ))
}

/// An Indexed Job's `completedIndexes` as upstream writes it (`orderedIntervals.String()`):
/// ascending, adjacent indexes merged (`"0-2,4"`); "" for none.
pub(super) fn completed_indexes(text: &str, c: &Ctx) -> Result<String, InputError> {
    let bad = |m: String| c.err("completedIndexes", m);
    let mut set = BTreeSet::new();
    for part in text
        .split(',')
        .filter(|p| !text.is_empty() || !p.is_empty())
    {
        let num = |s: &str| {
            s.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad(format!("{part:?} is not an index or a range a-b")))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if a > b {
            return Err(bad(format!("range {part:?} is backwards")));
        }
        set.extend(a..=b);
    }
    let canonical = crate::controllers::job::format_indexes(&set);
    if canonical != text {
        return Err(bad(format!(
            "write {text:?} as upstream compresses it: {canonical:?}"
        )));
    }
    Ok(canonical)
}
