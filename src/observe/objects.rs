//! Expectations about single objects: a Service's ready endpoints, a PodDisruptionBudget's
//! status, a Namespace's phase, a StatefulSet's, DaemonSet's or ReplicaSet's status, a
//! CronJob's status, and whether an object of any kind an expectation names exists.
//!
//! Invariant: read-only, like every expectation; a state expectation at time t sees the state
//! after every event at or before t.

use crate::cluster::Cluster;
use crate::controllers::deployment_util::REVISION_ANNOTATION;
use crate::model::ReplicaSet;
use crate::sim::time::format_secs;
use crate::sim::SimTime;

/// One of the object expectations (all evaluated against the API server's store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectExpectation {
    /// Endpoints of a Service (`namespace/name`) whose `ready` condition is true, summed over
    /// its EndpointSlices.
    Endpoints { service: String, ready: u64 },
    /// Fields of a PodDisruptionBudget's status (each `None` is not checked).
    Pdb {
        key: String,
        disruptions_allowed: Option<i32>,
        current_healthy: Option<i32>,
        desired_healthy: Option<i32>,
        expected_pods: Option<i32>,
    },
    /// A Namespace's `status.phase`: `Active`, `Terminating`, or `Absent` (deleted).
    Namespace { name: String, phase: String },
    /// Status fields of a StatefulSet or DaemonSet, by their Kubernetes names.
    SetStatus {
        kind: &'static str,
        key: String,
        fields: Vec<(&'static str, i32)>,
    },
    /// An object of `kind` (`Node`, `Deployment`, `Service`, …; see [`object_exists`]) named
    /// `key` exists (`present`) or not.
    Exists {
        kind: &'static str,
        key: String,
        present: bool,
    },
    /// A ReplicaSet's status fields, by its Kubernetes names.
    ReplicaSet {
        which: ReplicaSetRef,
        fields: Vec<(&'static str, i32)>,
    },
    /// A ReplicaSet exists (`present`) or not.
    ReplicaSetExists { which: ReplicaSetRef, present: bool },
    /// A CronJob's status (each `None` is not checked).
    CronJob {
        key: String,
        last_schedule_time: Option<SimTime>,
        last_successful_time: Option<SimTime>,
        active: Option<u64>,
    },
}

/// How a `replicaSet` expectation names its ReplicaSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaSetRef {
    /// `namespace/name`.
    Name(String),
    /// The ReplicaSet a Deployment controls whose `deployment.kubernetes.io/revision` is
    /// `revision`.
    Revision {
        namespace: String,
        deployment: String,
        revision: i64,
    },
}

impl ReplicaSetRef {
    fn describe(&self) -> String {
        match self {
            ReplicaSetRef::Name(k) => format!("ReplicaSet/{k}"),
            ReplicaSetRef::Revision {
                namespace,
                deployment,
                revision,
            } => format!("ReplicaSet of Deployment/{namespace}/{deployment} revision {revision}"),
        }
    }

    fn find<'a>(&self, c: &'a Cluster) -> Option<&'a ReplicaSet> {
        let rs = c.api.replicasets().values().map(|r| &**r);
        match self {
            ReplicaSetRef::Name(k) => c.api.replicasets().get(k).map(|r| &**r),
            ReplicaSetRef::Revision {
                namespace,
                deployment,
                revision,
            } => {
                rs.filter(|r| r.meta.namespace == *namespace)
                    .filter(|r| {
                        r.meta.owner_references.iter().any(|o| {
                            o.controller && o.kind == "Deployment" && o.name == *deployment
                        })
                    })
                    .find(|r| {
                        r.meta
                            .annotations
                            .get(REVISION_ANNOTATION)
                            .is_some_and(|v| v.parse::<i64>() == Ok(*revision))
                    })
            }
        }
    }
}

/// Whether the API server holds an object of `kind` keyed `key` (`namespace/name`; a plain
/// name for Nodes and Namespaces).
pub fn object_exists(c: &Cluster, kind: &str, key: &str) -> bool {
    match kind {
        "Node" => c.api.nodes().contains_key(key),
        "Deployment" => c.api.deployments().contains_key(key),
        "ReplicaSet" => c.api.replicasets().contains_key(key),
        "StatefulSet" => c.api.statefulsets().contains_key(key),
        "DaemonSet" => c.api.daemonsets().contains_key(key),
        "Service" => c.api.services().contains_key(key),
        "PodDisruptionBudget" => c.api.pdbs().contains_key(key),
        "Namespace" => c.api.namespaces().contains_key(key),
        "Job" => c.api.jobs().contains_key(key),
        "CronJob" => c.api.cronjobs().contains_key(key),
        _ => false,
    }
}

/// `fields` (name, expected) against `got(name)`, as (expected, observed, passed).
fn compare(
    fields: &[(&'static str, i32)],
    got: impl Fn(&str) -> Option<i32>,
) -> (String, String, bool) {
    let (mut exp, mut obs, mut ok) = (Vec::new(), Vec::new(), true);
    for (name, want) in fields {
        let g = got(name);
        exp.push(format!("{name}={want}"));
        obs.push(format!(
            "{name}={}",
            g.map_or("<none>".to_string(), |g| g.to_string())
        ));
        ok &= g == Some(*want);
    }
    (exp.join(" "), obs.join(" "), ok)
}

fn replica_set(
    which: &ReplicaSetRef,
    fields: &[(&'static str, i32)],
    c: &Cluster,
    when: &str,
) -> (String, String, String, bool) {
    let desc = format!("{} status {when}", which.describe());
    let Some(rs) = which.find(c) else {
        let (exp, _, _) = compare(fields, |_| None);
        return (desc, exp, "<no such replicaset>".into(), false);
    };
    let s = &rs.status;
    let (exp, obs, ok) = compare(fields, |f| match f {
        "replicas" => Some(s.replicas),
        "readyReplicas" => Some(s.ready_replicas),
        "availableReplicas" => Some(s.available_replicas),
        _ => None,
    });
    (desc, exp, obs, ok)
}

fn time_text(t: Option<SimTime>) -> String {
    t.map_or("<none>".into(), |t| {
        format!("{}s", format_secs(t.as_nanos(), 3))
    })
}

fn cron_job(
    key: &str,
    schedule: Option<SimTime>,
    successful: Option<SimTime>,
    active: Option<u64>,
    c: &Cluster,
    when: &str,
) -> (String, String, String, bool) {
    let desc = format!("CronJob/{key} status {when}");
    let cj = c.api.cronjobs().get(key);
    let st = cj.map(|j| &j.status);
    let (mut exp, mut obs, mut ok) = (Vec::new(), Vec::new(), cj.is_some());
    for (name, want, got) in [
        (
            "lastScheduleTime",
            schedule,
            st.and_then(|s| s.last_schedule_time),
        ),
        (
            "lastSuccessfulTime",
            successful,
            st.and_then(|s| s.last_successful_time),
        ),
    ] {
        if let Some(w) = want {
            exp.push(format!("{name}={}", time_text(Some(w))));
            obs.push(format!("{name}={}", time_text(got)));
            ok &= got == Some(w);
        }
    }
    if let Some(w) = active {
        let got = st.map(|s| s.active.len() as u64);
        exp.push(format!("active={w}"));
        obs.push(format!(
            "active={}",
            got.map_or("<none>".into(), |g| g.to_string())
        ));
        ok &= got == Some(w);
    }
    let observed = if cj.is_none() {
        "<no such cronjob>".to_string()
    } else {
        obs.join(" ")
    };
    (desc, exp.join(" "), observed, ok)
}

/// A status field of a StatefulSet or DaemonSet by its Kubernetes name.
fn set_status_field(c: &Cluster, kind: &str, key: &str, field: &str) -> Option<i32> {
    if kind == "StatefulSet" {
        let s = &c.api.statefulsets().get(key)?.status;
        return Some(match field {
            "replicas" => s.replicas,
            "readyReplicas" => s.ready_replicas,
            "availableReplicas" => s.available_replicas,
            "currentReplicas" => s.current_replicas,
            "updatedReplicas" => s.updated_replicas,
            _ => return None,
        });
    }
    let s = &c.api.daemonsets().get(key)?.status;
    Some(match field {
        "desiredNumberScheduled" => s.desired_number_scheduled,
        "currentNumberScheduled" => s.current_number_scheduled,
        "updatedNumberScheduled" => s.updated_number_scheduled,
        "numberReady" => s.number_ready,
        "numberAvailable" => s.number_available,
        "numberUnavailable" => s.number_unavailable,
        "numberMisscheduled" => s.number_misscheduled,
        _ => return None,
    })
}

/// (description, expected, observed, passed).
pub fn evaluate(e: &ObjectExpectation, c: &Cluster, when: &str) -> (String, String, String, bool) {
    match e {
        ObjectExpectation::Exists { kind, key, present } => {
            let got = object_exists(c, kind, key);
            let word = |b: bool| if b { "exists" } else { "absent" };
            (
                format!("{kind}/{key} {when}"),
                word(*present).into(),
                word(got).into(),
                got == *present,
            )
        }
        ObjectExpectation::ReplicaSet { which, fields } => replica_set(which, fields, c, when),
        ObjectExpectation::ReplicaSetExists { which, present } => {
            let got = which.find(c).is_some();
            let word = |b: bool| if b { "exists" } else { "absent" };
            (
                format!("{} {when}", which.describe()),
                word(*present).into(),
                word(got).into(),
                got == *present,
            )
        }
        ObjectExpectation::CronJob {
            key,
            last_schedule_time,
            last_successful_time,
            active,
        } => cron_job(
            key,
            *last_schedule_time,
            *last_successful_time,
            *active,
            c,
            when,
        ),
        ObjectExpectation::SetStatus { kind, key, fields } => {
            let mut exp = Vec::new();
            let mut obs = Vec::new();
            let mut ok = true;
            for (name, want) in fields {
                let got = set_status_field(c, kind, key, name);
                exp.push(format!("{name}={want}"));
                obs.push(format!(
                    "{name}={}",
                    got.map_or("<none>".to_string(), |g| g.to_string())
                ));
                ok &= got == Some(*want);
            }
            (
                format!("{kind}/{key} status {when}"),
                exp.join(" "),
                obs.join(" "),
                ok,
            )
        }
        ObjectExpectation::Endpoints { service, ready } => {
            let exists = c.api.services().contains_key(service);
            let got = c.api.ready_endpoints(service) as u64;
            (
                format!("ready endpoints of Service/{service} {when}"),
                ready.to_string(),
                if exists {
                    got.to_string()
                } else {
                    format!("{got} (no such service)")
                },
                got == *ready,
            )
        }
        ObjectExpectation::Pdb {
            key,
            disruptions_allowed,
            current_healthy,
            desired_healthy,
            expected_pods,
        } => {
            let st = c.api.pdbs().get(key).map(|b| b.status.clone());
            let mut exp = Vec::new();
            let mut obs = Vec::new();
            let mut ok = st.is_some();
            for (name, want, got) in [
                (
                    "disruptionsAllowed",
                    disruptions_allowed,
                    st.as_ref().map(|s| s.disruptions_allowed),
                ),
                (
                    "currentHealthy",
                    current_healthy,
                    st.as_ref().map(|s| s.current_healthy),
                ),
                (
                    "desiredHealthy",
                    desired_healthy,
                    st.as_ref().map(|s| s.desired_healthy),
                ),
                (
                    "expectedPods",
                    expected_pods,
                    st.as_ref().map(|s| s.expected_pods),
                ),
            ] {
                if let Some(w) = want {
                    exp.push(format!("{name}={w}"));
                    obs.push(format!(
                        "{name}={}",
                        got.map_or("<none>".to_string(), |g| g.to_string())
                    ));
                    ok &= got == Some(*w);
                }
            }
            (
                format!("PodDisruptionBudget/{key} status {when}"),
                exp.join(" "),
                if st.is_none() {
                    "<no such budget>".to_string()
                } else {
                    obs.join(" ")
                },
                ok,
            )
        }
        ObjectExpectation::Namespace { name, phase } => {
            let got = c.api.namespaces().get(name).map_or("Absent", |n| n.phase());
            (
                format!("Namespace/{name} phase {when}"),
                phase.clone(),
                got.to_string(),
                got == phase,
            )
        }
    }
}
