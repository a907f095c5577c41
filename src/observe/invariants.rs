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
    if let Some(node) = node_load_mismatch(c) {
        out.push(format!(
            "API server's load of node {node} disagrees with its pods"
        ));
    }
    // The garbage collector's graph holds every cached object's owners as they are (a status
    // write that keeps them skips the graph on that ground).
    if c.kcm.is_leading() {
        if let Some(key) = c.kcm.gc.unrecorded_owners(&c.kcm.cache) {
            out.push(format!(
                "the garbage collector's graph lacks the owners of {key}"
            ));
        }
    }
    // The fleet's kept totals (`kubelet_running_pods`, the kubelets' client row) are a walk's.
    if !c.kubelets.totals_match_walk() {
        out.push("the kubelets' kept totals disagree with a walk of the kubelets".to_string());
    }
    // A kubelet never runs a pod the API server bound elsewhere. (A pod the API server has
    // already removed may still run until the kubelet's watch tells it: that lag is real.)
    for k in &c.kubelets {
        // The kept `kubelet_running_pods` count is the scan's.
        if !k.running_pods_kept_matches_scan() {
            out.push(format!(
                "kubelet {}'s kept running-pod count disagrees with its workers",
                k.node_name
            ));
        }
        // The eviction manager's one-walk arming check is the per-signal scans'.
        if !k.eviction_walk_matches_scans(c.api.now()) {
            out.push(format!(
                "kubelet {}'s eviction arming walk disagrees with the per-signal scans",
                k.node_name
            ));
        }
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

/// The first node whose kept load differs from a scan of the pods (zero entries and absent
/// ones are equal).
fn node_load_mismatch(c: &Cluster) -> Option<String> {
    let mut scanned: BTreeMap<&str, crate::api::NodeLoad> = BTreeMap::new();
    for p in c.api.pods().values() {
        let Some(node) = p.spec.node_name.as_deref() else {
            continue;
        };
        if p.status.phase.is_terminal() {
            continue;
        }
        let l = scanned.entry(node).or_default();
        l.requested.add(&p.spec.effective_request());
        l.running += u64::from(p.status.phase == PodPhase::Running);
    }
    let zero = |l: &crate::api::NodeLoad| {
        let r = &l.requested;
        l.running == 0
            && r.cpu_milli == 0
            && r.memory == 0
            && r.ephemeral_storage == 0
            && r.pods == 0
            && r.scalar.values().all(|v| *v == 0)
    };
    let same = |a: &crate::api::NodeLoad, b: &crate::api::NodeLoad| {
        let (x, y) = (&a.requested, &b.requested);
        a.running == b.running
            && (x.cpu_milli, x.memory, x.ephemeral_storage, x.pods)
                == (y.cpu_milli, y.memory, y.ephemeral_storage, y.pods)
            && x.scalar
                .iter()
                .chain(&y.scalar)
                .all(|(k, _)| x.scalar.get(k).unwrap_or(&0) == y.scalar.get(k).unwrap_or(&0))
    };
    for (node, kept) in c.api.node_loads() {
        if kept.node != *node {
            return Some(node.clone());
        }
        match scanned.get(node.as_str()) {
            Some(s) if same(s, kept) => {}
            None if zero(kept) => {}
            _ => return Some(node.clone()),
        }
    }
    scanned
        .iter()
        .find(|(n, l)| !zero(l) && !c.api.node_loads().contains_key(n))
        .map(|(n, _)| n.to_string())
}

fn scanned_pod_counts(c: &Cluster) -> crate::api::PodCounts {
    let mut k = crate::api::PodCounts::default();
    for p in c.api.pods().values() {
        k.phase[p.status.phase as usize] += 1;
        k.terminating += u64::from(p.is_terminating());
        k.unscheduled += u64::from(p.spec.node_name.is_none());
        k.ready += u64::from(p.is_ready());
        k.pending += u64::from(
            !p.status.phase.is_terminal() && p.spec.node_name.is_none() && !p.is_terminating(),
        );
    }
    k
}
