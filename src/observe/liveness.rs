//! Liveness properties of a settled cluster, for the swarm (`kubesim swarm`,
//! src/study/swarm.rs): checked once, after every fault has healed and a bound derived from the
//! flags has passed (the bound is documented in src/study/swarm.rs).
//!
//! What must hold on a cluster that has had time to recover:
//! - every node is Ready (`True`);
//! - no node carries a NoExecute taint (the node lifecycle controller's, or any other);
//! - no pod is left Terminating;
//! - every ReplicaSet, Deployment, StatefulSet and DaemonSet has its desired replicas available;
//! - every Job has finished (Complete or Failed).
//!
//! Narrowed by design for machines that never come back (`nodeCrash` without a `duration`,
//! `vmDeleted`), passed as `dead`: their nodes are exempt from the node checks, pods bound to
//! them may stay Terminating (Kubernetes never confirms their deletion: reference §6.1), and
//! StatefulSets and DaemonSets are exempt while such a node still exists (a StatefulSet's pod on
//! it is never replaced until it is gone; a DaemonSet still wants a pod there), and a Job whose
//! success or failure criteria are met may wait for its pods Terminating there.
//!
//! Invariant: read-only; each message names the object and what it shows.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::model::*;

/// The liveness violations of `c` (empty: the cluster has recovered).
pub fn check(c: &Cluster, dead: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    nodes(c, dead, &mut out);
    let dead_node_exists = c.api.nodes().keys().any(|n| dead.contains(n));
    for p in c.api.pods().values() {
        let on_dead = p.spec.node_name.as_ref().is_some_and(|n| dead.contains(n));
        if p.meta.deletion_timestamp.is_some() && !on_dead {
            out.push(format!(
                "Pod/{}/{} is still Terminating (on {:?})",
                p.meta.namespace, p.meta.name, p.spec.node_name
            ));
        }
    }
    for (k, rs) in c.api.replicasets() {
        if rs.status.available_replicas < rs.replicas {
            out.push(format!(
                "ReplicaSet/{k}: {} of {} replicas available",
                rs.status.available_replicas, rs.replicas
            ));
        }
    }
    for (k, d) in c.api.deployments() {
        if d.status.available_replicas < d.replicas || d.status.updated_replicas < d.replicas {
            out.push(format!(
                "Deployment/{k}: {} available, {} updated, of {} replicas",
                d.status.available_replicas, d.status.updated_replicas, d.replicas
            ));
        }
    }
    if !dead_node_exists {
        for (k, s) in c.api.statefulsets() {
            if s.status.available_replicas < s.replicas {
                out.push(format!(
                    "StatefulSet/{k}: {} of {} replicas available",
                    s.status.available_replicas, s.replicas
                ));
            }
        }
        for (k, d) in c.api.daemonsets() {
            let st = &d.status;
            if st.number_available < st.desired_number_scheduled || st.number_unavailable > 0 {
                out.push(format!(
                    "DaemonSet/{k}: {} of {} available",
                    st.number_available, st.desired_number_scheduled
                ));
            }
        }
    }
    for (k, j) in c.api.jobs() {
        if !j.is_finished() && !waits_for_dead_node(c, dead, j) {
            out.push(format!(
                "Job/{k} has not finished ({} active, {} succeeded, {} failed)",
                j.status.active, j.status.succeeded, j.status.failed
            ));
        }
    }
    out
}

/// A Job whose interim condition (SuccessCriteriaMet or FailureTarget) is set but whose
/// terminal one waits for a pod Terminating on a machine that never comes back: upstream's
/// `enactJobFinished` delays the terminal condition while any pod terminates (JobManagedBy /
/// JobPodReplacementPolicy, on in 1.34), and such a pod's deletion is never confirmed.
fn waits_for_dead_node(c: &Cluster, dead: &BTreeSet<String>, j: &Job) -> bool {
    let interim = j.status.conditions.iter().any(|x| {
        matches!(
            x.type_,
            JobConditionType::SuccessCriteriaMet | JobConditionType::FailureTarget
        ) && x.status == ConditionStatus::True
    });
    interim
        && c.api.pods().values().any(|p| {
            p.meta.namespace == j.meta.namespace
                && p.meta.deletion_timestamp.is_some()
                && p.spec.node_name.as_ref().is_some_and(|n| dead.contains(n))
                && p.meta
                    .owner_references
                    .iter()
                    .any(|o| o.kind == "Job" && o.name == j.meta.name)
        })
}

fn nodes(c: &Cluster, dead: &BTreeSet<String>, out: &mut Vec<String>) {
    for (name, n) in c.api.nodes() {
        if dead.contains(name) {
            continue;
        }
        let ready = n.ready_status();
        if ready != Some(ConditionStatus::True) {
            out.push(format!("Node/{name} is not Ready ({ready:?})"));
        }
        for t in &n.spec.taints {
            if t.effect == TaintEffect::NoExecute {
                out.push(format!(
                    "Node/{name} still carries the NoExecute taint {}",
                    t.key
                ));
            }
        }
    }
}
