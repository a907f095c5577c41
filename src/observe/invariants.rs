//! Safety invariants, checked from outside the components after every event (`--invariants`).
//!
//! Invariant: read-only; each check names what broke.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::model::*;

pub fn check(c: &Cluster) -> Vec<String> {
    let mut out = Vec::new();
    // Reference §9.6: a node never carries both NLC NoExecute taints.
    for n in c.api.nodes().values() {
        if n.has_taint(TAINT_NOT_READY, TaintEffect::NoExecute)
            && n.has_taint(TAINT_UNREACHABLE, TaintEffect::NoExecute)
        {
            out.push(format!(
                "Node/{} carries both not-ready and unreachable NoExecute taints",
                n.meta.name
            ));
        }
    }
    // The scheduler never over-commits a node: bound pods' requests fit allocatable. Pods in
    // a terminal phase hold nothing (kube-scheduler and kubelet admission ignore them).
    let mut used: BTreeMap<&str, Resources> = BTreeMap::new();
    for p in c.api.pods().values() {
        if p.status.phase.is_terminal() {
            continue;
        }
        if let Some(n) = &p.spec.node_name {
            used.entry(n.as_str())
                .or_default()
                .add(&p.spec.effective_request());
        }
    }
    for (n, u) in used {
        if let Some(node) = c.api.nodes().get(n) {
            let a = &node.status.allocatable;
            if u.cpu_milli > a.cpu_milli || u.memory > a.memory || u.pods > a.pods {
                out.push(format!("Node/{n} over-committed: requests {}m cpu / {} memory / {} pods exceed allocatable", u.cpu_milli, u.memory, u.pods));
            }
        }
    }
    // The store's running pod totals agree with a full scan.
    if scanned_pod_counts(c) != c.api.pod_counts() {
        out.push("API server pod counters disagree with its store".to_string());
    }
    // A kubelet never runs a pod the API server bound elsewhere. (A pod the API server has
    // already removed may still run until the kubelet's watch tells it: that lag is real.)
    for k in &c.kubelets {
        for key in k.pod_keys() {
            if let Some(p) = c.api.pods().get(key) {
                if p.spec.node_name.as_deref() != Some(k.node_name.as_str()) {
                    out.push(format!(
                        "kubelet {} runs Pod/{key}, which is bound to {:?}",
                        k.node_name, p.spec.node_name
                    ));
                }
            }
        }
    }
    out
}

fn scanned_pod_counts(c: &Cluster) -> crate::api::PodCounts {
    let mut k = crate::api::PodCounts::default();
    for p in c.api.pods().values() {
        k.phase[p.status.phase as usize] += 1;
        k.terminating += u64::from(p.is_terminating());
        k.unscheduled += u64::from(p.spec.node_name.is_none());
        k.ready += u64::from(p.is_ready());
    }
    k
}
