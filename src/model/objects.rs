//! Kubernetes API objects as plain data: the subset of Node, Pod, Lease and ReplicaSet that
//! kubesim models, with Kubernetes' field meanings and names.
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks, no references between objects
//! other than by name.

use std::collections::BTreeMap;

use super::container::{ContainerStatus, Probes, PullPolicy};
use crate::sim::{SimDuration, SimTime};

pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
pub const LABEL_REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Assigned by the API server on create (a counter, so deterministic).
    pub uid: u64,
    pub resource_version: u64,
    pub creation_timestamp: SimTime,
    pub deletion_timestamp: Option<SimTime>,
    pub deletion_grace_period_seconds: Option<u64>,
    pub owner_references: Vec<OwnerRef>,
    /// `metadata.generation`: bumped by the API server on every spec change of a workload.
    pub generation: i64,
    /// `metadata.finalizers` (kubesim uses `foregroundDeletion` and `orphan`).
    pub finalizers: Vec<String>,
}

pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";
pub const FINALIZER_ORPHAN: &str = "orphan";

/// `DeleteOptions.propagationPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PropagationPolicy {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl PropagationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

impl ObjectMeta {
    pub fn controller_ref(&self) -> Option<&OwnerRef> {
        self.owner_references.iter().find(|o| o.controller)
    }
}

/// Resource amounts in Kubernetes' scheduler units: CPU in millicores, the rest in whole units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources such as `nvidia.com/gpu`, by name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    pub fn add(&mut self, o: &Resources) {
        self.cpu_milli += o.cpu_milli;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.pods += o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) += v;
        }
    }
    pub fn sub(&mut self, o: &Resources) {
        self.cpu_milli -= o.cpu_milli;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.pods -= o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) -= v;
        }
    }
    pub fn max_with(&mut self, o: &Resources) {
        self.cpu_milli = self.cpu_milli.max(o.cpu_milli);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
    pub time_added: Option<SimTime>,
}

impl Taint {
    pub fn new(key: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.to_string(),
            value: String::new(),
            effect,
            time_added: None,
        }
    }
    /// `key=value:Effect` (or `key:Effect`), as kubectl prints taints.
    pub fn to_text(&self) -> String {
        if self.value.is_empty() {
            format!("{}:{}", self.key, self.effect.as_str())
        } else {
            format!("{}={}:{}", self.key, self.value, self.effect.as_str())
        }
    }
    /// Same key and effect (the identity Kubernetes uses for taints on one node).
    pub fn matches(&self, other: &Taint) -> bool {
        self.key == other.key && self.effect == other.effect
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    pub operator: TolerationOperator,
    pub value: String,
    /// `None` = empty effect, which matches every effect.
    pub effect: Option<TaintEffect>,
    /// `None` = tolerate forever.
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// `ToleratesTaint`: effect matches (or empty), key matches (or empty with Exists),
    /// and value matches for Equal.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(e) = self.effect {
            if e != taint.effect {
                return false;
            }
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value && !self.key.is_empty(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeConditionType {
    Ready,
    MemoryPressure,
    DiskPressure,
    PIDPressure,
    NetworkUnavailable,
}

impl NodeConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeConditionType::Ready => "Ready",
            NodeConditionType::MemoryPressure => "MemoryPressure",
            NodeConditionType::DiskPressure => "DiskPressure",
            NodeConditionType::PIDPressure => "PIDPressure",
            NodeConditionType::NetworkUnavailable => "NetworkUnavailable",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCondition {
    pub type_: NodeConditionType,
    pub status: ConditionStatus,
    pub last_heartbeat_time: SimTime,
    pub last_transition_time: SimTime,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSpec {
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    pub capacity: Resources,
    pub allocatable: Resources,
    pub conditions: Vec<NodeCondition>,
    /// Container images the kubelet reports as present (`status.images`), for ImageLocality.
    pub images: Vec<ContainerImage>,
}

/// A `v1.ContainerImage`: the names an image is known by and its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerImage {
    pub names: Vec<String>,
    pub size_bytes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub meta: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

impl Node {
    pub fn condition(&self, t: NodeConditionType) -> Option<&NodeCondition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
    pub fn ready(&self) -> Option<&NodeCondition> {
        self.condition(NodeConditionType::Ready)
    }
    pub fn ready_status(&self) -> Option<ConditionStatus> {
        self.ready().map(|c| c.status)
    }
    pub fn has_taint(&self, key: &str, effect: TaintEffect) -> bool {
        self.spec
            .taints
            .iter()
            .any(|t| t.key == key && t.effect == effect)
    }
    /// The zone key the node lifecycle controller uses (`GetZoneKey`, reference §2.4): region
    /// and zone from the beta labels first, then the GA ones, joined by ":\0:"; "" if both empty.
    pub fn zone_key(&self) -> String {
        let l = &self.meta.labels;
        let pick = |beta: &str, ga: &str| {
            l.get(beta)
                .filter(|v| !v.is_empty())
                .or_else(|| l.get(ga))
                .cloned()
                .unwrap_or_default()
        };
        let region = pick(LABEL_REGION_BETA, LABEL_REGION);
        let zone = pick(LABEL_ZONE_BETA, LABEL_ZONE);
        if region.is_empty() && zone.is_empty() {
            String::new()
        } else {
            format!("{region}:\0:{zone}")
        }
    }
    /// The zone as shown in events and columns: the zone key in readable form (`zone`, or
    /// `region/zone` when a region label is set; "" when unlabelled).
    pub fn zone_label(&self) -> String {
        zone_key_display(&self.zone_key())
    }
}

/// Printable form of a zone key ("region/zone", or the zone alone).
pub fn zone_key_display(key: &str) -> String {
    match key.split_once(":\0:") {
        Some(("", z)) => z.to_string(),
        Some((r, z)) => format!("{r}/{z}"),
        None => key.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder_identity: String,
    pub lease_duration_seconds: u64,
    pub renew_time: SimTime,
    pub resource_version: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub requests: Resources,
    /// Which request keys were given (the scheduler's non-zero defaults apply only to absent keys).
    pub has_cpu_request: bool,
    pub has_memory_request: bool,
    pub limits: Resources,
    /// Ports; only those with a `hostPort` matter to the scheduler (NodePorts).
    pub ports: Vec<ContainerPort>,
    /// `imagePullPolicy`, defaulted from the image tag when absent.
    pub image_pull_policy: PullPolicy,
    pub probes: Probes,
    /// `restartPolicy` of an init container: `Always` makes it a sidecar.
    pub restart_policy: Option<RestartPolicy>,
    /// `lifecycle.preStop`, if any.
    pub pre_stop: Option<PreStopHook>,
}

/// `lifecycle.preStop`: a `sleep` action lasts its seconds; an `exec` or `httpGet` handler
/// lasts as long as the container's behaviour model says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreStopHook {
    Sleep { seconds: u64 },
    Handler,
}

/// A `v1.ContainerPort` as far as the scheduler reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerPort {
    pub container_port: i32,
    /// 0 = no host port.
    pub host_port: i32,
    /// "TCP" (default), "UDP" or "SCTP".
    pub protocol: String,
    /// "" = all addresses (0.0.0.0).
    pub host_ip: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpec {
    pub node_name: Option<String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub priority: i32,
    pub priority_class_name: String,
    pub restart_policy: RestartPolicy,
    pub termination_grace_period_seconds: u64,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub overhead: Resources,
    pub scheduler_name: String,
    pub affinity: Option<Affinity>,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// `preemptionPolicy`: true for `Never`.
    pub preemption_never: bool,
    /// `imagePullSecrets[].name`.
    pub image_pull_secrets: Vec<String>,
    /// `activeDeadlineSeconds`: the kubelet fails the pod this long after its start time.
    pub active_deadline_seconds: Option<u64>,
}

impl Default for PodSpec {
    fn default() -> Self {
        PodSpec {
            node_name: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            priority: 0,
            priority_class_name: String::new(),
            restart_policy: RestartPolicy::Always,
            termination_grace_period_seconds: 30,
            containers: Vec::new(),
            init_containers: Vec::new(),
            overhead: Resources::default(),
            scheduler_name: "default-scheduler".into(),
            affinity: None,
            topology_spread_constraints: Vec::new(),
            preemption_never: false,
            image_pull_secrets: Vec::new(),
            active_deadline_seconds: None,
        }
    }
}

/// `v1.Affinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Affinity {
    pub node_affinity: Option<NodeAffinity>,
    pub pod_affinity: Option<PodAffinity>,
    pub pod_anti_affinity: Option<PodAffinity>,
}

/// `v1.NodeAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed); `None` = no
    /// requirement.
    pub required: Option<Vec<NodeSelectorTerm>>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred: Vec<PreferredSchedulingTerm>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferredSchedulingTerm {
    pub weight: i32,
    pub preference: NodeSelectorTerm,
}

/// A `v1.NodeSelectorTerm`: its requirements are ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<NodeSelectorRequirement>,
    pub match_fields: Vec<NodeSelectorRequirement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorRequirement {
    pub key: String,
    pub operator: NodeSelectorOperator,
    pub values: Vec<String>,
}

impl NodeSelectorRequirement {
    /// Whether a label (or field) value satisfies the requirement (`None` = absent).
    pub fn matches(&self, value: Option<&String>) -> bool {
        match self.operator {
            NodeSelectorOperator::In => value.is_some_and(|v| self.values.contains(v)),
            NodeSelectorOperator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            NodeSelectorOperator::Exists => value.is_some(),
            NodeSelectorOperator::DoesNotExist => value.is_none(),
            NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                let (Some(v), [bound]) = (value, self.values.as_slice()) else {
                    return false;
                };
                match (v.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(v), Ok(b)) => {
                        if self.operator == NodeSelectorOperator::Gt {
                            v > b
                        } else {
                            v < b
                        }
                    }
                    _ => false,
                }
            }
        }
    }
}

impl NodeSelectorTerm {
    /// A term with no requirements matches nothing (Kubernetes' `nodeSelectorTerm.match`).
    pub fn matches(&self, node: &Node) -> bool {
        if self.match_expressions.is_empty() && self.match_fields.is_empty() {
            return false;
        }
        self.match_expressions
            .iter()
            .all(|r| r.matches(node.meta.labels.get(&r.key)))
            && self.match_fields.iter().all(|r| {
                // Only `metadata.name` is a supported field.
                r.key == "metadata.name" && r.matches(Some(&node.meta.name))
            })
    }
}

/// `v1.PodAffinity` / `v1.PodAntiAffinity` (same shape).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    pub required: Vec<PodAffinityTerm>,
    pub preferred: Vec<WeightedPodAffinityTerm>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedPodAffinityTerm {
    pub weight: i32,
    pub term: PodAffinityTerm,
}

/// `v1.PodAffinityTerm`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// `None` matches no pod.
    pub label_selector: Option<LabelSelector>,
    pub namespaces: Vec<String>,
    /// `None` = only `namespaces` (or the pod's own namespace when that is empty too);
    /// an empty selector matches every namespace.
    pub namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenUnsatisfiable {
    DoNotSchedule,
    ScheduleAnyway,
}

/// `v1.TopologySpreadConstraint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    pub label_selector: Option<LabelSelector>,
    pub min_domains: Option<i32>,
    /// `nodeAffinityPolicy`: true = Honor (the default).
    pub node_affinity_honor: bool,
    /// `nodeTaintsPolicy`: true = Honor (default Ignore).
    pub node_taints_honor: bool,
    pub match_label_keys: Vec<String>,
}

impl PodSpec {
    /// The effective request used by the scheduler's fit filter (reference scheduler §2.1):
    /// max(sum of containers, max of each init container) + overhead; pods count 1.
    pub fn effective_request(&self) -> Resources {
        let mut sum = Resources::default();
        for c in &self.containers {
            sum.add(&c.requests);
        }
        for c in &self.init_containers {
            sum.max_with(&c.requests);
        }
        sum.add(&self.overhead);
        sum.pods = 1;
        sum
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodConditionType {
    PodScheduled,
    PodReadyToStartContainers,
    Initialized,
    ContainersReady,
    Ready,
    DisruptionTarget,
}

impl PodConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            PodConditionType::PodScheduled => "PodScheduled",
            PodConditionType::PodReadyToStartContainers => "PodReadyToStartContainers",
            PodConditionType::Initialized => "Initialized",
            PodConditionType::ContainersReady => "ContainersReady",
            PodConditionType::Ready => "Ready",
            PodConditionType::DisruptionTarget => "DisruptionTarget",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodCondition {
    pub type_: PodConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub last_transition_time: SimTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodStatus {
    pub phase: PodPhase,
    pub conditions: Vec<PodCondition>,
    pub start_time: Option<SimTime>,
    /// Set by the scheduler when it preempted pods for this one (`status.nominatedNodeName`).
    pub nominated_node_name: Option<String>,
    /// `reason` and `message` of a pod the kubelet rejected, evicted or failed
    /// (`OutOfcpu`, `Evicted`, `DeadlineExceeded`, …); empty otherwise.
    pub reason: String,
    pub message: String,
    pub init_container_statuses: Vec<ContainerStatus>,
    pub container_statuses: Vec<ContainerStatus>,
}

impl Default for PodStatus {
    fn default() -> Self {
        PodStatus {
            phase: PodPhase::Pending,
            conditions: Vec::new(),
            start_time: None,
            nominated_node_name: None,
            reason: String::new(),
            message: String::new(),
            init_container_statuses: Vec::new(),
            container_statuses: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pod {
    pub meta: ObjectMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

impl Pod {
    /// `namespace/name`, the key of a pod everywhere in kubesim.
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    pub fn is_terminating(&self) -> bool {
        self.meta.deletion_timestamp.is_some()
    }
    pub fn condition(&self, t: PodConditionType) -> Option<&PodCondition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
    /// Whether the `Ready` condition is True (`podutil.IsPodReady`).
    pub fn is_ready(&self) -> bool {
        self.condition(PodConditionType::Ready)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }
    /// Sets a condition, keeping `lastTransitionTime` when the status is unchanged.
    pub fn set_condition(
        &mut self,
        t: PodConditionType,
        s: ConditionStatus,
        reason: &str,
        now: SimTime,
    ) {
        match self.status.conditions.iter_mut().find(|c| c.type_ == t) {
            Some(c) => {
                if c.status != s {
                    c.last_transition_time = now;
                }
                c.status = s;
                c.reason = reason.to_string();
            }
            None => self.status.conditions.push(PodCondition {
                type_: t,
                status: s,
                reason: reason.to_string(),
                last_transition_time: now,
            }),
        }
    }
}

pub fn pod_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    pub values: Vec<String>,
}

/// A `metav1.LabelSelector`: all requirements must hold (an empty selector matches everything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<SelectorRequirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let v = labels.get(&r.key);
                match r.operator {
                    SelectorOperator::In => v.is_some_and(|v| r.values.contains(v)),
                    SelectorOperator::NotIn => v.is_none_or(|v| !r.values.contains(v)),
                    SelectorOperator::Exists => v.is_some(),
                    SelectorOperator::DoesNotExist => v.is_none(),
                }
            })
    }
}

/// The labels every namespace carries (`kubernetes.io/metadata.name`), which is all kubesim
/// knows of namespaces; namespace selectors are matched against them.
pub fn namespace_labels(namespace: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert(
        "kubernetes.io/metadata.name".to_string(),
        namespace.to_string(),
    );
    m
}

/// `scheduling.k8s.io/v1 PriorityClass`: resolved into pods' `spec.priority` at admission.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriorityClass {
    pub name: String,
    pub value: i32,
    pub global_default: bool,
    /// `preemptionPolicy: Never`.
    pub preemption_never: bool,
}

/// The built-in classes every cluster has (`system-cluster-critical`, `system-node-critical`).
pub fn system_priority_classes() -> Vec<PriorityClass> {
    vec![
        PriorityClass {
            name: "system-cluster-critical".into(),
            value: 2_000_000_000,
            ..PriorityClass::default()
        },
        PriorityClass {
            name: "system-node-critical".into(),
            value: 2_000_001_000,
            ..PriorityClass::default()
        },
    ]
}

/// The Priority admission plugin: a pod naming a class gets its value (and its preemption
/// policy); a pod naming none gets the global default class, if there is one. Err names the
/// missing class.
pub fn resolve_priority(spec: &mut PodSpec, classes: &[PriorityClass]) -> Result<(), String> {
    if spec.priority_class_name.is_empty() {
        if let Some(d) = classes.iter().find(|c| c.global_default) {
            spec.priority_class_name = d.name.clone();
            spec.priority = d.value;
            spec.preemption_never |= d.preemption_never;
        }
        return Ok(());
    }
    match classes.iter().find(|c| c.name == spec.priority_class_name) {
        Some(c) => {
            spec.priority = c.value;
            spec.preemption_never |= c.preemption_never;
            Ok(())
        }
        None => Err(spec.priority_class_name.clone()),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTemplate {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: PodSpec,
}

/// A ReplicaSet, or a `v1` ReplicationController (the same controller runs both, as upstream's
/// ReplicationManager wraps the ReplicaSet controller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplicaSetKind {
    #[default]
    ReplicaSet,
    ReplicationController,
}

impl ReplicaSetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaSetKind::ReplicaSet => "ReplicaSet",
            ReplicaSetKind::ReplicationController => "ReplicationController",
        }
    }
    /// The key of the object named `namespace/name` of this kind: ReplicationControllers are
    /// keyed `rc:namespace/name`, so that a ReplicaSet of the same name is another object.
    pub fn key(self, namespace: &str, name: &str) -> String {
        match self {
            ReplicaSetKind::ReplicaSet => pod_key(namespace, name),
            ReplicaSetKind::ReplicationController => format!("rc:{}", pod_key(namespace, name)),
        }
    }
    pub fn from_owner_kind(kind: &str) -> Option<ReplicaSetKind> {
        match kind {
            "ReplicaSet" => Some(ReplicaSetKind::ReplicaSet),
            "ReplicationController" => Some(ReplicaSetKind::ReplicationController),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSet {
    pub kind: ReplicaSetKind,
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub min_ready_seconds: i32,
    pub status: ReplicaSetStatus,
}

/// `ReplicaSetStatus`, written by the ReplicaSet controller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
}

/// `apps/v1` StatefulSet: pod management, stable names, revisions and update strategies (no
/// volume claims).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSet {
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub service_name: String,
    /// `Parallel` (else `OrderedReady`, the default).
    pub parallel: bool,
    pub min_ready_seconds: i32,
    pub update_strategy: StatefulSetUpdateStrategy,
    /// `spec.revisionHistoryLimit` (default 10).
    pub revision_history_limit: i32,
    /// The set's ControllerRevisions, oldest revision number first. kubesim keeps them on the
    /// set (written only by the StatefulSet controller) instead of as separate objects; they
    /// hold what upstream's do: a name `<set>-<hash>`, a revision number and the pod template.
    pub history: Vec<ControllerRevision>,
    pub status: StatefulSetStatus,
}

impl StatefulSet {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

/// `apps/v1` ControllerRevision as the StatefulSet controller uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerRevision {
    pub name: String,
    pub revision: i64,
    pub template: PodTemplate,
}

/// `spec.updateStrategy` of a StatefulSet (`SetDefaults_StatefulSet`: RollingUpdate with
/// partition 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatefulSetUpdateStrategy {
    /// Pods with ordinal ≥ `partition` are replaced, highest ordinal first. `maxUnavailable`
    /// needs the MaxUnavailableStatefulSet gate, alpha (off) in every version kubesim
    /// reproduces: it is validated and kept, and the update goes one pod at a time.
    RollingUpdate {
        partition: i32,
        max_unavailable: Option<IntOrString>,
    },
    /// Pods are only replaced once something else deletes them.
    OnDelete,
}

impl Default for StatefulSetUpdateStrategy {
    fn default() -> Self {
        StatefulSetUpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
    pub current_revision: String,
    pub update_revision: String,
    pub observed_generation: i64,
}

/// `apps/v1` DaemonSet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSet {
    pub meta: ObjectMeta,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub min_ready_seconds: i32,
    pub update_strategy: DaemonSetUpdateStrategy,
    pub status: DaemonSetStatus,
}

impl DaemonSet {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

/// `spec.updateStrategy` of a DaemonSet (`SetDefaults_DaemonSet`: RollingUpdate with
/// maxUnavailable 1 and maxSurge 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonSetUpdateStrategy {
    RollingUpdate {
        max_unavailable: IntOrString,
        max_surge: IntOrString,
    },
    /// Old pods are replaced only once something else deletes them.
    OnDelete,
}

impl Default for DaemonSetUpdateStrategy {
    fn default() -> Self {
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrString::Int(1),
            max_surge: IntOrString::Int(0),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSetStatus {
    pub desired_number_scheduled: i32,
    pub current_number_scheduled: i32,
    pub updated_number_scheduled: i32,
    pub number_misscheduled: i32,
    pub number_ready: i32,
    pub number_available: i32,
    pub number_unavailable: i32,
    pub observed_generation: i64,
}

/// `intstr.IntOrString` as `maxSurge`/`maxUnavailable` take it: an integer or a percentage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrString {
    Int(i32),
    Str(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    Recreate,
    /// `nil` fields are resolved as 0 by `ResolveFenceposts` (the API server defaults both to
    /// 25% before that).
    RollingUpdate {
        max_surge: Option<IntOrString>,
        max_unavailable: Option<IntOrString>,
    },
}

impl Default for DeploymentStrategy {
    fn default() -> Self {
        DeploymentStrategy::RollingUpdate {
            max_surge: Some(IntOrString::Str("25%".into())),
            max_unavailable: Some(IntOrString::Str("25%".into())),
        }
    }
}

/// `apps/v1` Deployment with the defaults of `SetDefaults_Deployment` applied at input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    pub meta: ObjectMeta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub strategy: DeploymentStrategy,
    pub min_ready_seconds: i32,
    /// `None`: keep every old ReplicaSet (the apps/v1 default is 10).
    pub revision_history_limit: Option<i32>,
    /// `None` or `i32::MAX`: no deadline (the apps/v1 default is 600).
    pub progress_deadline_seconds: Option<i32>,
    pub paused: bool,
    pub status: DeploymentStatus,
}

impl Deployment {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub observed_generation: i64,
    pub replicas: i32,
    pub updated_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub unavailable_replicas: i32,
    pub conditions: Vec<DeploymentCondition>,
    pub collision_count: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentCondition {
    /// `Available`, `Progressing` or `ReplicaFailure`.
    pub type_: String,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
    pub last_update_time: SimTime,
    pub last_transition_time: SimTime,
}

impl ReplicaSet {
    pub fn key(&self) -> String {
        self.kind.key(&self.meta.namespace, &self.meta.name)
    }
    /// `Kind/namespace/name`, as records name objects.
    pub fn object_ref(&self) -> String {
        format!(
            "{}/{}",
            self.kind.as_str(),
            pod_key(&self.meta.namespace, &self.meta.name)
        )
    }
}

/// `DefaultTolerationSeconds` (reference §5.2): for each of not-ready and unreachable, add
/// `{key, Exists, NoExecute, seconds}` unless a toleration with that key (or an empty key) and
/// effect NoExecute (or empty) is already there. The operator is not inspected.
pub fn add_default_tolerations(
    spec: &mut PodSpec,
    not_ready: SimDuration,
    unreachable: SimDuration,
) {
    for (key, d) in [
        (TAINT_NOT_READY, not_ready),
        (TAINT_UNREACHABLE, unreachable),
    ] {
        let present = spec.tolerations.iter().any(|t| {
            (t.key == key || t.key.is_empty())
                && (t.effect.is_none() || t.effect == Some(TaintEffect::NoExecute))
        });
        if !present {
            spec.tolerations.push(Toleration {
                key: key.to_string(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some((d.as_nanos() / 1_000_000_000) as i64),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tol(
        key: &str,
        op: TolerationOperator,
        value: &str,
        effect: Option<TaintEffect>,
    ) -> Toleration {
        Toleration {
            key: key.into(),
            operator: op,
            value: value.into(),
            effect,
            toleration_seconds: None,
        }
    }

    #[test]
    fn toleration_matching_rules() {
        let t = Taint {
            key: "k".into(),
            value: "v".into(),
            effect: TaintEffect::NoExecute,
            time_added: None,
        };
        use TolerationOperator::*;
        assert!(tol("k", Equal, "v", Some(TaintEffect::NoExecute)).tolerates(&t));
        assert!(!tol("k", Equal, "w", Some(TaintEffect::NoExecute)).tolerates(&t));
        assert!(tol("k", Exists, "", None).tolerates(&t));
        assert!(tol("", Exists, "", None).tolerates(&t));
        assert!(!tol("k", Exists, "", Some(TaintEffect::NoSchedule)).tolerates(&t));
        assert!(!tol("other", Exists, "", None).tolerates(&t));
    }

    // Reference §5.2 (DefaultTolerationSeconds admission).
    #[test]
    fn default_toleration_seconds_admission() {
        let mut spec = PodSpec::default();
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 2);
        assert!(spec
            .tolerations
            .iter()
            .all(|t| t.toleration_seconds == Some(300)));
        // An existing NoExecute toleration for a key, whatever its operator, blocks the default.
        let mut spec = PodSpec::default();
        spec.tolerations.push(Toleration {
            key: TAINT_UNREACHABLE.into(),
            operator: TolerationOperator::Equal,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: Some(10),
        });
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 2);
        assert_eq!(spec.tolerations[0].toleration_seconds, Some(10));
        // An empty-key Exists toleration (tolerates everything) blocks both.
        let mut spec = PodSpec::default();
        spec.tolerations
            .push(tol("", TolerationOperator::Exists, "", None));
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 1);
    }

    // Reference §2.4 (GetZoneKey): beta labels first, then GA.
    #[test]
    fn zone_key_prefers_beta_labels() {
        let mut n = Node::default();
        assert_eq!(n.zone_key(), "");
        n.meta.labels.insert(LABEL_ZONE.into(), "ga".into());
        assert_eq!(n.zone_key(), ":\0:ga");
        n.meta.labels.insert(LABEL_ZONE_BETA.into(), "beta".into());
        assert_eq!(n.zone_key(), ":\0:beta");
        n.meta.labels.insert(LABEL_REGION.into(), "r".into());
        assert_eq!(n.zone_key(), "r:\0:beta");
        assert_eq!(zone_key_display(&n.zone_key()), "r/beta");
    }
}
