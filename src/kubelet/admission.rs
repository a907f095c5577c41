//! The kubelet's pod admission, `predicateAdmitHandler.Admit` and `generalFilter` of
//! pkg/kubelet/lifecycle/predicate.go: the scheduler's `AdmissionCheck`
//! (pkg/scheduler/schedule_one.go: NodeResourcesFit's `Fits`, NodeAffinity, NodeName,
//! NodePorts — all failures, in that order) plus the NoExecute taint check, against the pods
//! the kubelet already admitted. The first failure becomes the rejection: `OutOfcpu`,
//! `OutOfmemory`, `OutOfephemeral-storage`, `OutOfpods`, `OutOf<extended resource>` with
//! "Node didn't have enough resource: …", or the predicate's name (`NodeAffinity`, `NodeName`,
//! `NodePorts`, `TaintToleration`) with "Predicate <name> failed: <reason>".
//!
//! Architecture invariant: pure; the pod worker keeps a `NodeUsage` of its admitted pods, calls
//! `admit`, and on rejection fails the pod with the returned reason and message (and records a
//! Warning event with them), as `rejectPod` does. The OS, supplemental-groups and
//! device-plugin checks of `Admit` have nothing to act on in kubesim and are left out.

use crate::model::predicates::{
    host_ports, required_node_affinity_matches, NODE_AFFINITY, NODE_AFFINITY_REASON, NODE_NAME,
    NODE_NAME_REASON, NODE_PORTS, NODE_PORTS_REASON,
};
use crate::model::{Node, Pod, PodSpec, Resources, TaintEffect};

use super::phase::{is_restartable_init_container, is_static_pod};

/// `InsufficientResourcePrefix`.
pub const INSUFFICIENT_RESOURCE_PREFIX: &str = "OutOf";
pub const OUT_OF_CPU: &str = "OutOfcpu";
pub const OUT_OF_MEMORY: &str = "OutOfmemory";
pub const OUT_OF_EPHEMERAL_STORAGE: &str = "OutOfephemeral-storage";
pub const OUT_OF_PODS: &str = "OutOfpods";
/// tainttoleration `Name` and `ErrReasonNotMatch` (the kubelet uses the constant, not the
/// scheduler filter's per-taint message).
pub const TAINT_TOLERATION: &str = "TaintToleration";
pub const TAINT_NOT_MATCH: &str = "node(s) had taints that the pod didn't tolerate";

/// What the pods already admitted to the node use: the `NodeInfo` the kubelet builds from
/// `attrs.OtherPods`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeUsage {
    /// Sum of the pods' requests (`NodeInfo.Requested`; `pods` counts them).
    pub requested: Resources,
    /// Host ports in use as (protocol, hostIP, port).
    pub used_ports: Vec<(String, String, i32)>,
}

impl NodeUsage {
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> NodeUsage {
        let mut u = NodeUsage::default();
        for p in pods {
            u.add(p);
        }
        u
    }
    pub fn add(&mut self, pod: &Pod) {
        self.requested.add(&pod_requests(&pod.spec));
        self.used_ports.extend(host_ports(pod));
    }
    pub fn remove(&mut self, pod: &Pod) {
        self.requested.sub(&pod_requests(&pod.spec));
        for p in host_ports(pod) {
            if let Some(i) = self.used_ports.iter().position(|q| *q == p) {
                self.used_ports.remove(i);
            }
        }
    }
}

/// `resource.PodRequests` (k8s.io/component-helpers): regular containers summed; sidecars add
/// to that sum and to every later init container's need; the pod needs the larger of the sum
/// and the largest init-time need; plus overhead. Counts one pod.
pub fn pod_requests(spec: &PodSpec) -> Resources {
    let mut reqs = Resources::default();
    for c in &spec.containers {
        reqs.add(&c.requests);
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in &spec.init_containers {
        let need = if is_restartable_init_container(c) {
            reqs.add(&c.requests);
            sidecars.add(&c.requests);
            sidecars.clone()
        } else {
            let mut t = c.requests.clone();
            t.add(&sidecars);
            t
        };
        init_max.max_with(&need);
    }
    reqs.max_with(&init_max);
    reqs.add(&spec.overhead);
    reqs.pods = 1;
    reqs
}

/// `IsExtendedResourceName`: a resource in a domain other than `kubernetes.io` (and not a
/// quota `requests.` name), e.g. `nvidia.com/gpu`.
pub fn is_extended_resource_name(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

/// `removeMissingExtendedResources`: extended resources the node does not list at all are not
/// the kubelet's to check (cluster-level or DRA-backed resources).
fn without_missing_extended(mut req: Resources, node: &Node) -> Resources {
    let alloc = &node.status.allocatable.scalar;
    req.scalar
        .retain(|name, _| !is_extended_resource_name(name) || alloc.contains_key(name));
    req
}

/// A `PredicateFailureReason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PredicateFailure {
    /// `InsufficientResourceError` (cpu in millicores, the rest in units).
    InsufficientResource {
        resource: String,
        requested: i64,
        used: i64,
        capacity: i64,
    },
    /// `PredicateFailureError{PredicateName, PredicateDesc}`.
    Predicate { name: String, desc: String },
}

impl PredicateFailure {
    fn predicate(name: &str, desc: &str) -> PredicateFailure {
        PredicateFailure::Predicate {
            name: name.to_string(),
            desc: desc.to_string(),
        }
    }
    fn insufficient(resource: &str, requested: i64, used: i64, capacity: i64) -> Self {
        PredicateFailure::InsufficientResource {
            resource: resource.to_string(),
            requested,
            used,
            capacity,
        }
    }
    /// The pod's `status.reason` on rejection (`Admit`'s switch).
    pub fn admit_reason(&self) -> String {
        match self {
            PredicateFailure::Predicate { name, .. } => name.clone(),
            PredicateFailure::InsufficientResource { resource, .. } => match resource.as_str() {
                "cpu" => OUT_OF_CPU.to_string(),
                "memory" => OUT_OF_MEMORY.to_string(),
                "ephemeral-storage" => OUT_OF_EPHEMERAL_STORAGE.to_string(),
                "pods" => OUT_OF_PODS.to_string(),
                other => format!("{INSUFFICIENT_RESOURCE_PREFIX}{other}"),
            },
        }
    }
    /// The pod's `status.message` on rejection (the error's `Error()` text).
    pub fn message(&self) -> String {
        match self {
            PredicateFailure::Predicate { name, desc } => format!("Predicate {name} failed: {desc}"),
            PredicateFailure::InsufficientResource {
                resource,
                requested,
                used,
                capacity,
            } => format!(
                "Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
            ),
        }
    }
    fn is_node_affinity(&self) -> bool {
        matches!(self, PredicateFailure::Predicate { name, .. } if name == NODE_AFFINITY)
    }
}

/// `noderesources.Fits` / `fitsRequest`: every shortfall, pods first, then cpu, memory,
/// ephemeral storage and extended resources (by name).
pub fn fits(req: &Resources, node: &Node, usage: &NodeUsage) -> Vec<PredicateFailure> {
    let a = &node.status.allocatable;
    let u = &usage.requested;
    let mut out = Vec::new();
    if u.pods + 1 > a.pods {
        out.push(PredicateFailure::insufficient("pods", 1, u.pods, a.pods));
    }
    let asks_nothing = req.cpu_milli == 0
        && req.memory == 0
        && req.ephemeral_storage == 0
        && req.scalar.is_empty();
    if asks_nothing {
        return out;
    }
    for (name, want, used, alloc) in [
        ("cpu", req.cpu_milli, u.cpu_milli, a.cpu_milli),
        ("memory", req.memory, u.memory, a.memory),
        (
            "ephemeral-storage",
            req.ephemeral_storage,
            u.ephemeral_storage,
            a.ephemeral_storage,
        ),
    ] {
        if want > 0 && want > alloc - used {
            out.push(PredicateFailure::insufficient(name, want, used, alloc));
        }
    }
    for (name, want) in &req.scalar {
        let alloc = a.scalar.get(name).copied().unwrap_or(0);
        let used = u.scalar.get(name).copied().unwrap_or(0);
        if *want > 0 && *want > alloc - used {
            out.push(PredicateFailure::insufficient(name, *want, used, alloc));
        }
    }
    out
}

/// A pod's host ports against those in use (`nodeports.Fits` / `HostPortInfo.CheckConflict`):
/// the same protocol and port conflict when either address is 0.0.0.0 or both are equal.
fn ports_fit(pod: &Pod, usage: &NodeUsage) -> bool {
    host_ports(pod).iter().all(|(proto, ip, port)| {
        !usage.used_ports.iter().any(|(p2, ip2, port2)| {
            p2 == proto && port2 == port && (ip == "0.0.0.0" || ip2 == "0.0.0.0" || ip == ip2)
        })
    })
}

/// `generalFilter(pod, nodeInfo, skipIgnorableChecks)`: all failures in upstream's order.
/// `skip_ignorable_checks` (feature NotEvictPodOnKubeletRestart, for pods already running
/// before a kubelet restart) skips the node affinity and taint checks.
pub fn general_filter(
    pod: &Pod,
    node: &Node,
    usage: &NodeUsage,
    skip_ignorable_checks: bool,
) -> Vec<PredicateFailure> {
    let req = without_missing_extended(pod_requests(&pod.spec), node);
    let mut out = fits(&req, node, usage);
    if !skip_ignorable_checks && !required_node_affinity_matches(pod, node) {
        out.push(PredicateFailure::predicate(
            NODE_AFFINITY,
            NODE_AFFINITY_REASON,
        ));
    }
    if pod
        .spec
        .node_name
        .as_ref()
        .is_some_and(|n| n != &node.meta.name)
    {
        out.push(PredicateFailure::predicate(NODE_NAME, NODE_NAME_REASON));
    }
    if !ports_fit(pod, usage) {
        out.push(PredicateFailure::predicate(NODE_PORTS, NODE_PORTS_REASON));
    }
    // The kubelet only cares about NoExecute taints, and not for static pods.
    if !skip_ignorable_checks && !is_static_pod(pod) && has_untolerated_no_execute(pod, node) {
        out.push(PredicateFailure::predicate(
            TAINT_TOLERATION,
            TAINT_NOT_MATCH,
        ));
    }
    out
}

/// `FindMatchingUntoleratedTaint` filtered to NoExecute.
fn has_untolerated_no_execute(pod: &Pod, node: &Node) -> bool {
    node.spec.taints.iter().any(|t| {
        t.effect == TaintEffect::NoExecute
            && !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t))
    })
}

/// `predicateAdmitHandler.generalFilter`: when the only failures are node affinity against the
/// kubelet's cached node, fetch the node afresh (`fetch`, None when that fails) and filter once
/// more — node labels may have just changed.
pub fn general_filter_with_refetch(
    pod: &Pod,
    cached: &Node,
    usage: &NodeUsage,
    skip_ignorable_checks: bool,
    fetch: impl FnOnce() -> Option<Node>,
) -> Vec<PredicateFailure> {
    let reasons = general_filter(pod, cached, usage, skip_ignorable_checks);
    if reasons.is_empty() || !reasons.iter().all(PredicateFailure::is_node_affinity) {
        return reasons;
    }
    match fetch() {
        Some(fresh) => general_filter(pod, &fresh, usage, skip_ignorable_checks),
        None => reasons,
    }
}

/// `PodAdmitResult`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmitResult {
    pub admit: bool,
    pub reason: String,
    pub message: String,
}

impl AdmitResult {
    pub fn admitted() -> AdmitResult {
        AdmitResult {
            admit: true,
            reason: String::new(),
            message: String::new(),
        }
    }
}

/// `predicateAdmitHandler.Admit` (with no admission failure handler able to help: kubesim has
/// no critical-pod preemption on the node): the first failure of `generalFilter` rejects.
pub fn admit(pod: &Pod, node: &Node, usage: &NodeUsage) -> AdmitResult {
    admit_reasons(&general_filter(pod, node, usage, false))
}

/// The admit result for a list of failure reasons.
pub fn admit_reasons(reasons: &[PredicateFailure]) -> AdmitResult {
    match reasons.first() {
        None => AdmitResult::admitted(),
        Some(r) => AdmitResult {
            admit: false,
            reason: r.admit_reason(),
            message: r.message(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Affinity, Container, ContainerPort, NodeAffinity, NodeSelectorOperator,
        NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration, TolerationOperator,
    };

    /// `makeAllocatableResources(milliCPU, memory, pods, extendedA, storage, hugePageA)`.
    fn node(name: &str, cpu: i64, mem: i64, pods: i64) -> Node {
        let mut n = Node::default();
        n.meta.name = name.into();
        n.status.allocatable = Resources {
            cpu_milli: cpu,
            memory: mem,
            pods,
            ..Resources::default()
        };
        n.status.capacity = n.status.allocatable.clone();
        n
    }
    fn machine1() -> Node {
        node("machine1", 10, 20, 32)
    }
    /// `newResourcePod`.
    fn resource_pod(cpu: i64, mem: i64) -> Pod {
        let mut p = Pod::default();
        p.spec.containers = vec![Container {
            requests: Resources {
                cpu_milli: cpu,
                memory: mem,
                ..Resources::default()
            },
            ..Container::default()
        }];
        p
    }
    /// `newPodWithPort`.
    fn port_pod(port: i32) -> Pod {
        let mut p = Pod::default();
        p.spec.containers = vec![Container {
            ports: vec![ContainerPort {
                host_port: port,
                ..ContainerPort::default()
            }],
            ..Container::default()
        }];
        p
    }
    fn static_pod() -> Pod {
        let mut p = Pod::default();
        p.meta.annotations.insert(
            super::super::phase::CONFIG_SOURCE_ANNOTATION.into(),
            super::super::phase::FILE_SOURCE.into(),
        );
        p
    }
    fn foo_exists_affinity(p: &mut Pod) {
        p.spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required: Some(vec![NodeSelectorTerm {
                    match_expressions: vec![NodeSelectorRequirement {
                        key: "foo".into(),
                        operator: NodeSelectorOperator::Exists,
                        values: vec![],
                    }],
                    match_fields: vec![],
                }]),
                preferred: vec![],
            }),
            ..Affinity::default()
        });
    }
    fn taint(key: &str, effect: TaintEffect) -> Taint {
        Taint::new(key, effect)
    }
    fn pred(name: &str, desc: &str) -> PredicateFailure {
        PredicateFailure::predicate(name, desc)
    }
    fn labelled(mut n: Node) -> Node {
        n.meta.labels.insert("foo".into(), "bar".into());
        n
    }

    /// Name, pod, admitted pods, cached node, fresh node, skipIgnorableChecks, reasons.
    type GeneralCase = (
        &'static str,
        Pod,
        NodeUsage,
        Node,
        Option<Node>,
        bool,
        Vec<PredicateFailure>,
    );

    /// predicate_test.go `TestGeneralPredicates`, case by case.
    #[test]
    fn test_general_predicates() {
        let cases: Vec<GeneralCase> = [
            general_cases_fit(),
            general_cases_taints(),
            general_cases_node_affinity(),
        ]
        .concat();
        for (name, pod, usage, cached, fresh, skip, want) in cases {
            let got = general_filter_with_refetch(&pod, &cached, &usage, skip, || fresh);
            assert_eq!(got, want, "{name}");
        }
    }

    /// `TestGeneralPredicates` cases: resources, host name and host ports.
    fn general_cases_fit() -> Vec<GeneralCase> {
        let empty = NodeUsage::default();
        vec![
            (
                "no resources/port/host requested always fits",
                Pod::default(),
                NodeUsage::of([&resource_pod(9, 19)]),
                machine1(),
                None,
                false,
                vec![],
            ),
            (
                "not enough cpu and memory resource",
                resource_pod(8, 10),
                NodeUsage::of([&resource_pod(5, 19)]),
                machine1(),
                None,
                false,
                vec![
                    PredicateFailure::insufficient("cpu", 8, 5, 10),
                    PredicateFailure::insufficient("memory", 10, 19, 20),
                ],
            ),
            (
                "host not match",
                {
                    let mut p = Pod::default();
                    p.spec.node_name = Some("machine2".into());
                    p
                },
                empty.clone(),
                machine1(),
                None,
                false,
                vec![pred(NODE_NAME, NODE_NAME_REASON)],
            ),
            (
                "hostport conflict",
                port_pod(123),
                NodeUsage::of([&port_pod(123)]),
                machine1(),
                None,
                false,
                vec![pred(NODE_PORTS, NODE_PORTS_REASON)],
            ),
        ]
    }

    /// `TestGeneralPredicates` cases: taints and tolerations (static pods ignore them).
    fn general_cases_taints() -> Vec<GeneralCase> {
        let empty = NodeUsage::default();
        vec![
            (
                "taint/toleration match",
                {
                    let mut p = Pod::default();
                    let tol = |k: &str| Toleration {
                        key: k.into(),
                        operator: TolerationOperator::Equal,
                        value: String::new(),
                        effect: None,
                        toleration_seconds: None,
                    };
                    p.spec.tolerations = vec![tol("foo"), tol("bar")];
                    p
                },
                empty.clone(),
                {
                    let mut n = machine1();
                    n.spec.taints = vec![
                        taint("foo", TaintEffect::NoSchedule),
                        taint("bar", TaintEffect::NoExecute),
                    ];
                    n
                },
                None,
                false,
                vec![],
            ),
            (
                "NoSchedule taint/toleration not match",
                Pod::default(),
                empty.clone(),
                {
                    let mut n = machine1();
                    n.spec.taints = vec![taint("foo", TaintEffect::NoSchedule)];
                    n
                },
                None,
                false,
                vec![],
            ),
            (
                "NoExecute taint/toleration not match",
                Pod::default(),
                empty.clone(),
                {
                    let mut n = machine1();
                    n.spec.taints = vec![taint("bar", TaintEffect::NoExecute)];
                    n
                },
                None,
                false,
                vec![pred(TAINT_TOLERATION, TAINT_NOT_MATCH)],
            ),
            (
                "PreferNoSchedule taint/toleration not match",
                Pod::default(),
                empty.clone(),
                {
                    let mut n = machine1();
                    n.spec.taints = vec![taint("baz", TaintEffect::PreferNoSchedule)];
                    n
                },
                None,
                false,
                vec![],
            ),
            (
                "static pods ignore taints",
                static_pod(),
                empty.clone(),
                {
                    let mut n = machine1();
                    n.spec.taints = vec![
                        taint("foo", TaintEffect::NoSchedule),
                        taint("bar", TaintEffect::NoExecute),
                    ];
                    n
                },
                None,
                false,
                vec![],
            ),
        ]
    }

    /// `TestGeneralPredicates` cases: node affinity on the cached and the fresh node.
    fn general_cases_node_affinity() -> Vec<GeneralCase> {
        let empty = NodeUsage::default();
        let aff = || {
            let mut p = static_pod();
            foo_exists_affinity(&mut p);
            p
        };
        vec![
            (
                "node affinity failure",
                aff(),
                empty.clone(),
                machine1(),
                Some(machine1()),
                false,
                vec![pred(NODE_AFFINITY, NODE_AFFINITY_REASON)],
            ),
            (
                "node affinity failure on cached node and node name doesn't match",
                {
                    let mut p = aff();
                    p.spec.node_name = Some("some-node-name".into());
                    p
                },
                empty.clone(),
                machine1(),
                Some(labelled(machine1())),
                false,
                vec![
                    pred(NODE_AFFINITY, NODE_AFFINITY_REASON),
                    pred(NODE_NAME, NODE_NAME_REASON),
                ],
            ),
            (
                "node affinity failure on cached node, but not the fresh one",
                aff(),
                empty.clone(),
                machine1(),
                Some(labelled(machine1())),
                false,
                vec![],
            ),
            (
                "node affinity failure on fresh node, but not the cached one",
                aff(),
                empty.clone(),
                labelled(machine1()),
                Some(machine1()),
                false,
                vec![],
            ),
            (
                "node affinity failure but skip ignorable checks",
                aff(),
                empty.clone(),
                machine1(),
                Some(machine1()),
                true,
                vec![],
            ),
            (
                "node affinity failure on cached node and node name doesn't match but skip ignorable checks",
                {
                    let mut p = aff();
                    p.spec.node_name = Some("some-node-name".into());
                    p
                },
                empty.clone(),
                machine1(),
                Some(labelled(machine1())),
                true,
                vec![pred(NODE_NAME, NODE_NAME_REASON)],
            ),
        ]
    }

    /// predicate_test.go `TestRemoveMissingExtendedResources` (the cases without DRA), seen
    /// through what the kubelet then checks: an extended resource the node does not list is
    /// dropped from the request; one it lists (even at 0) is kept.
    #[test]
    fn test_remove_missing_extended_resources() {
        let ext = "foo.com/bar";
        let pod_req = |name: &str| {
            let mut r = Resources::default();
            r.scalar.insert(name.into(), 1);
            r
        };
        let node_with = |name: Option<(&str, i64)>| {
            let mut n = Node::default();
            if let Some((k, v)) = name {
                n.status.allocatable.scalar.insert(k.into(), v);
            }
            n
        };
        let kept = |r: &Resources| r.scalar.contains_key(ext);
        // "requests for resources available in node should not be removed"
        assert!(kept(&without_missing_extended(
            pod_req(ext),
            &node_with(Some((ext, 1)))
        )));
        // "requests for resources unavailable in node should be removed"
        assert!(!kept(&without_missing_extended(
            pod_req(ext),
            &node_with(Some(("foo.com/baz", 1)))
        )));
        // "requests for extended resources with Allocatable 0 should not be removed"
        assert!(kept(&without_missing_extended(
            pod_req(ext),
            &node_with(Some((ext, 0)))
        )));
        // "requests for extended resources that are not available in node should be removed"
        assert!(!kept(&without_missing_extended(
            pod_req(ext),
            &node_with(None)
        )));
    }

    /// The `Admit` reason/message mapping of predicate.go for each failure kind, with the
    /// message format of `InsufficientResourceError.Error()` and `PredicateFailureError.Error()`.
    #[test]
    fn admit_reason_and_message_formats() {
        let cpu = PredicateFailure::insufficient("cpu", 1000, 3500, 4000);
        assert_eq!(cpu.admit_reason(), "OutOfcpu");
        assert_eq!(
            cpu.message(),
            "Node didn't have enough resource: cpu, requested: 1000, used: 3500, capacity: 4000"
        );
        assert_eq!(
            PredicateFailure::insufficient("memory", 1, 0, 0).admit_reason(),
            "OutOfmemory"
        );
        assert_eq!(
            PredicateFailure::insufficient("ephemeral-storage", 1, 0, 0).admit_reason(),
            "OutOfephemeral-storage"
        );
        assert_eq!(
            PredicateFailure::insufficient("pods", 1, 110, 110).admit_reason(),
            "OutOfpods"
        );
        assert_eq!(
            PredicateFailure::insufficient("example.com/aaa", 1, 0, 0).admit_reason(),
            "OutOfexample.com/aaa"
        );
        let aff = pred(NODE_AFFINITY, NODE_AFFINITY_REASON);
        assert_eq!(aff.admit_reason(), "NodeAffinity");
        assert_eq!(
            aff.message(),
            "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
        );
    }

    /// kubelet_test.go `TestHandleMemExceeded`: two pods each requesting 90 bytes of memory on
    /// a node with 100 allocatable (cpu 10m, pods 40); the older is admitted, the newer fails.
    #[test]
    fn test_handle_mem_exceeded() {
        let n = node("127.0.0.1", 10, 100, 40);
        let spec_pod = || {
            let mut p = resource_pod(0, 90);
            p.spec.node_name = Some("127.0.0.1".into());
            p
        };
        let (old, new) = (spec_pod(), spec_pod());
        let mut usage = NodeUsage::default();
        assert!(admit(&old, &n, &usage).admit);
        usage.add(&old);
        let r = admit(&new, &n, &usage);
        assert!(!r.admit);
        assert_eq!(r.reason, "OutOfmemory");
        assert_eq!(
            r.message,
            "Node didn't have enough resource: memory, requested: 90, used: 90, capacity: 100"
        );
    }

    /// kubelet_test.go `TestHandlePortConflicts`: the second pod asking for the same host port
    /// is rejected; the first is admitted.
    #[test]
    fn test_handle_port_conflicts() {
        let n = node("127.0.0.1", 10, 100, 110);
        let (fitting, not_fitting) = (port_pod(80), port_pod(80));
        let mut usage = NodeUsage::default();
        assert!(admit(&fitting, &n, &usage).admit);
        usage.add(&fitting);
        let r = admit(&not_fitting, &n, &usage);
        assert_eq!((r.admit, r.reason.as_str()), (false, "NodePorts"));
        assert_eq!(
            r.message,
            "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
        );
    }

    /// kubelet_test.go `TestHandleNodeSelector`: node labelled key=B; the pod selecting key=A
    /// fails with NodeAffinity, the one selecting key=B is admitted.
    #[test]
    fn test_handle_node_selector() {
        let mut n = node("127.0.0.1", 0, 0, 110);
        n.meta.labels.insert("key".into(), "B".into());
        let selecting = |v: &str| {
            let mut p = Pod::default();
            p.spec.node_selector.insert("key".into(), v.into());
            p
        };
        let usage = NodeUsage::default();
        let r = admit(&selecting("A"), &n, &usage);
        assert_eq!((r.admit, r.reason.as_str()), (false, "NodeAffinity"));
        assert!(admit(&selecting("B"), &n, &usage).admit);
    }

    /// pkg/api/v1/resource/helpers_test.go `TestPodResourceRequests`, the init-container and
    /// restartable-init-container cases (cpu in cores, memory as given).
    #[test]
    fn test_pod_resource_requests() {
        let c = |name: &str, cpu: i64, mem: i64, sidecar: bool| Container {
            name: name.into(),
            requests: Resources {
                cpu_milli: cpu,
                memory: mem,
                ..Resources::default()
            },
            restart_policy: sidecar.then_some(crate::model::RestartPolicy::Always),
            ..Container::default()
        };
        const G: i64 = 1_000_000_000;
        let spec = |init: Vec<Container>, regular: Vec<Container>| PodSpec {
            init_containers: init,
            containers: regular,
            ..PodSpec::default()
        };
        let cases = [
            (
                "get resource for pod with init containers",
                spec(
                    vec![c("", 2000, 5 * G, false), c("", 2000, G, false)],
                    vec![c("", 1000, G, false), c("", 2000, G, false)],
                ),
                (3000, 5 * G),
            ),
            (
                "restartable init container",
                spec(
                    vec![c("restartable-init-1", 1000, 0, true)],
                    vec![c("container-1", 1000, 0, false)],
                ),
                (2000, 0),
            ),
            (
                "multiple restartable init containers",
                spec(
                    vec![
                        c("init-1", 5000, 0, false),
                        c("restartable-init-1", 1000, 0, true),
                        c("restartable-init-2", 2000, 0, true),
                        c("restartable-init-3", 3000, 0, true),
                    ],
                    vec![c("container-1", 1000, 0, false)],
                ),
                (7000, 0),
            ),
            (
                "multiple restartable and regular init containers",
                spec(
                    vec![
                        c("init-1", 5000, 0, false),
                        c("restartable-init-1", 1000, 0, true),
                        c("restartable-init-2", 2000, 0, true),
                        c("init-2", 5000, 0, false),
                        c("restartable-init-3", 3000, 0, true),
                    ],
                    vec![c("container-1", 1000, 0, false)],
                ),
                (8000, 0),
            ),
            (
                "restartable-init, init and regular",
                spec(
                    vec![
                        c("restartable-init-1", 10_000, 0, true),
                        c("init-1", 200_000, 0, false),
                    ],
                    vec![c("container-1", 100_000, 0, false)],
                ),
                (210_000, 0),
            ),
        ];
        for (name, s, (cpu, mem)) in cases {
            let r = pod_requests(&s);
            assert_eq!((r.cpu_milli, r.memory, r.pods), (cpu, mem, 1), "{name}");
        }
    }
}
