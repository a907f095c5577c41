//! Pods: phase, containers, the pod spec and status, pod conditions (`Pod::is_ready` is
//! `podutil.IsPodReady`), and PriorityClasses with the Priority admission.
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks.

use std::collections::BTreeMap;

use super::container::{ContainerStatus, Probes, PullPolicy};
use super::meta::{is_pod_key, pod_key, ConditionStatus, ObjectMeta, Resources};
use super::selectors::{Affinity, TopologySpreadConstraint};
use super::taints::Toleration;
use crate::sim::SimTime;

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
    /// A pod `namespace/name` with everything else defaulted: the starting point of test and
    /// bench fixtures (scenario pods come from manifests through `scenario::convert`).
    pub fn named(namespace: &str, name: &str) -> Pod {
        let mut p = Pod::default();
        p.meta.namespace = namespace.into();
        p.meta.name = name.into();
        p
    }

    /// The pod with these init and regular containers (fixtures).
    pub fn with_containers(mut self, init: Vec<Container>, regular: Vec<Container>) -> Pod {
        self.spec.init_containers = init;
        self.spec.containers = regular;
        self
    }

    /// `namespace/name`, the key of a pod everywhere in kubesim.
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    /// `self.key() == key`, without building the key.
    #[inline]
    pub fn has_key(&self, key: &str) -> bool {
        is_pod_key(key, &self.meta.namespace, &self.meta.name)
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
