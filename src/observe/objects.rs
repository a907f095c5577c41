//! Expectations about the objects of issue 6's later kinds: a Service's ready endpoints, a
//! PodDisruptionBudget's status, a Namespace's phase, a StatefulSet's or DaemonSet's status.
//!
//! Invariant: read-only, like every expectation; a state expectation at time t sees the state
//! after every event at or before t.

use crate::cluster::Cluster;

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
