//! Pure predicates that both the kubelet's admission (`kubelet::admission`, upstream
//! pkg/kubelet/lifecycle/predicate.go) and the scheduler's filter plugins evaluate, with the
//! plugin names and reasons both report. Upstream the kubelet imports the scheduler's plugins;
//! here they live below both so that neither component imports the other.
//!
//! Invariant: functions of (pod, node) only; no state.

use super::{Node, Pod};

/// NodeName (scheduler plugin `nodename`).
pub const NODE_NAME: &str = "NodeName";
pub const NODE_NAME_REASON: &str = "node(s) didn't match the requested node name";

/// NodePorts (scheduler plugin `nodeports`).
pub const NODE_PORTS: &str = "NodePorts";
pub const NODE_PORTS_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// NodeAffinity (scheduler plugin `nodeaffinity`).
pub const NODE_AFFINITY: &str = "NodeAffinity";
/// `ErrReasonPod`.
pub const NODE_AFFINITY_REASON: &str = "node(s) didn't match Pod's node affinity/selector";

/// `GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector and required terms.
pub fn required_node_affinity_matches(pod: &Pod, node: &Node) -> bool {
    let labels = &node.meta.labels;
    if !pod
        .spec
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    match pod
        .spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required.as_ref())
    {
        Some(terms) => terms.iter().any(|t| t.matches(node)),
        None => true,
    }
}

/// Whether [`host_ports`] would list anything, without building the list.
pub fn has_host_ports(pod: &Pod) -> bool {
    pod.spec
        .init_containers
        .iter()
        .chain(&pod.spec.containers)
        .any(|c| c.ports.iter().any(|p| p.host_port > 0))
}

/// The pod's host ports as (protocol, hostIP, port), with Kubernetes' defaults (TCP, 0.0.0.0).
pub fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
    let mut out = Vec::new();
    for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
        for p in &c.ports {
            if p.host_port <= 0 {
                continue;
            }
            let proto = if p.protocol.is_empty() {
                "TCP".to_string()
            } else {
                p.protocol.clone()
            };
            let ip = if p.host_ip.is_empty() {
                "0.0.0.0".to_string()
            } else {
                p.host_ip.clone()
            };
            out.push((proto, ip, p.host_port));
        }
    }
    out
}
