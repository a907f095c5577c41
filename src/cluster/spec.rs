//! The validated, resolved spec of one run: what the cluster is built from. The `scenario`
//! module parses and checks input files and builds these types; the cluster only reads them.
//! The timeline is split by type: each entry is a [`FaultKind`] (a window the cluster
//! suffers) or an [`ActionKind`] (an operator's instantaneous request).
//!
//! Invariant: plain data with every default resolved — no parsing, no I/O, no reference to
//! `crate::scenario` (the dependency points from the input layer to the cluster, never back).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::api::ApiServerConfig;
use crate::controllers::KcmConfig;
use crate::kubelet::KubeletConfig;
use crate::model::*;
use crate::runtime::RuntimeConfig;
use crate::scheduler::SchedulerConfig;
use crate::sim::SimDuration;

#[derive(Clone, Debug)]
pub enum Workload {
    Pod(Pod),
    ReplicaSet(ReplicaSet),
    Deployment(Deployment),
    DaemonSet(DaemonSet),
    StatefulSet(StatefulSet),
    PodDisruptionBudget(PodDisruptionBudget),
    Service(Service),
    Namespace(Namespace),
    /// A ServiceAccount or a Secret.
    NamespacedObject(NamespacedObject),
    Job(Job),
    CronJob(CronJob),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The machines stop: kubelet, containers and network; recovery reboots them (a reboot
    /// is a crash with a `duration`).
    NodeCrash { machines: Vec<u32> },
    /// The kubelet process stops; containers keep running and the machine stays on the
    /// network. At the end the kubelet starts again and adopts its running pods.
    KubeletStop { machines: Vec<u32> },
    /// The cloud VM is deleted: the machine is gone for good, and the cloud node lifecycle
    /// controller deletes its Node object once it is not Ready.
    VmDeleted { machines: Vec<u32> },
    /// The machines lose their link to the API server but keep running their pods; when the
    /// link returns their kubelets re-list and catch up.
    NetworkPartition { machines: Vec<u32> },
    /// The machines' lease renewals reach the API server `latency` late.
    SlowLeaseRenewals {
        machines: Vec<u32>,
        latency: SimDuration,
    },
    /// An operator taints the nodes (e.g. `node.kubernetes.io/out-of-service:NoExecute`) and
    /// removes the taint when the fault ends.
    TaintNodes { machines: Vec<u32>, taint: Taint },
    /// Nobody can reach the API server.
    ApiServerUnavailable,
    /// kube-controller-manager's process restarts: a new leader-election candidate, fresh
    /// controllers (reference §2.7).
    ControllerManagerRestart,
    /// Image pulls from `registry` (`*`: all) fail while the fault lasts.
    RegistryOutage { registry: String },
    /// Image pulls from `registry` take `factor` times longer.
    RegistrySlow { registry: String, factor: u32 },
    /// The machines' container runtime stops answering: the kubelet starts and stops
    /// nothing, and after the PLEG threshold (3 min) reports the node NotReady.
    RuntimeHang { machines: Vec<u32> },
    /// Containers of matching pods crash now and crash `after` each start while it lasts.
    CrashLoop {
        labels: BTreeMap<String, String>,
        exit_code: i32,
        after: SimDuration,
    },
    /// Running containers of matching pods leak `rate` bytes per second while it lasts.
    MemoryLeak {
        labels: BTreeMap<String, String>,
        rate: i64,
    },
}

/// An operator action of the timeline: instantaneous, no window, no end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// `kubectl scale KIND/NAME --replicas=N` (a Deployment or a
    /// StatefulSet, `namespace/name`).
    ScaleDeployment {
        kind: String,
        deployment: String,
        replicas: i32,
    },
    /// `kubectl set image KIND/NAME CONTAINER=IMAGE` (a Deployment,
    /// StatefulSet or DaemonSet, `namespace/name`).
    SetImage {
        kind: String,
        deployment: String,
        container: String,
        image: String,
    },
    /// `kubectl delete KIND/NAME --cascade=…` (a DELETE with
    /// `propagationPolicy`). `key` is the API server's key of the object.
    DeleteObject {
        kind: String,
        key: String,
        policy: PropagationPolicy,
    },
    /// `kubectl rollout undo deployment/NAME --to-revision=N`.
    RollbackDeployment {
        deployment: String,
        to_revision: i64,
    },
    /// `kubectl cordon NODE` (`unschedulable`) or `kubectl uncordon NODE`.
    Cordon { node: String, unschedulable: bool },
    /// `kubectl drain NODE` (cordon, then evict every pod through the Eviction API,
    /// retrying denied evictions every 5 s, and wait for the pods to be gone).
    Drain { node: String, opts: DrainOptions },
    /// POST `pods/NAME/eviction` for a pod named, or for the first Running pod
    /// whose labels contain `labels`.
    EvictPod {
        namespace: String,
        name: Option<String>,
        labels: BTreeMap<String, String>,
        grace: Option<u64>,
    },
    /// `kubectl apply` of manifests at a time: creates `ClusterSpec::applies[index]`.
    Apply { index: usize },
    /// New machines of a pool boot and their kubelets register their Nodes (the machines are
    /// the last `ClusterSpec::late_nodes` of `nodes`, off until this action).
    AddNodes { machines: Vec<u32> },
    /// `kubectl delete node NAME…`: the Node objects go away at once (the machines run on).
    DeleteNodes { nodes: Vec<String> },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::NodeCrash { .. } => "nodeCrash",
            FaultKind::KubeletStop { .. } => "kubeletStop",
            FaultKind::VmDeleted { .. } => "vmDeleted",
            FaultKind::NetworkPartition { .. } => "networkPartition",
            FaultKind::SlowLeaseRenewals { .. } => "slowLeaseRenewals",
            FaultKind::TaintNodes { .. } => "taintNodes",
            FaultKind::ApiServerUnavailable => "apiServerUnavailable",
            FaultKind::ControllerManagerRestart => "controllerManagerRestart",
            FaultKind::RegistryOutage { .. } => "registryOutage",
            FaultKind::RegistrySlow { .. } => "registrySlow",
            FaultKind::RuntimeHang { .. } => "runtimeHang",
            FaultKind::CrashLoop { .. } => "crashLoop",
            FaultKind::MemoryLeak { .. } => "memoryLeak",
        }
    }

    /// The machines the fault hits (empty for cluster-wide faults).
    pub fn machines(&self) -> &[u32] {
        match self {
            FaultKind::NodeCrash { machines }
            | FaultKind::KubeletStop { machines }
            | FaultKind::VmDeleted { machines }
            | FaultKind::NetworkPartition { machines }
            | FaultKind::SlowLeaseRenewals { machines, .. }
            | FaultKind::RuntimeHang { machines }
            | FaultKind::TaintNodes { machines, .. } => machines,
            FaultKind::RegistryOutage { .. }
            | FaultKind::RegistrySlow { .. }
            | FaultKind::CrashLoop { .. }
            | FaultKind::MemoryLeak { .. } => &[],
            FaultKind::ApiServerUnavailable | FaultKind::ControllerManagerRestart => &[],
        }
    }
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::ScaleDeployment { .. } => "scaleDeployment",
            ActionKind::SetImage { .. } => "setImage",
            ActionKind::DeleteObject { .. } => "deleteObject",
            ActionKind::RollbackDeployment { .. } => "rollbackDeployment",
            ActionKind::Cordon {
                unschedulable: true,
                ..
            } => "cordon",
            ActionKind::Cordon { .. } => "uncordon",
            ActionKind::Drain { .. } => "drain",
            ActionKind::EvictPod { .. } => "evictPod",
            ActionKind::Apply { .. } => "apply",
            ActionKind::AddNodes { .. } => "addNodes",
            ActionKind::DeleteNodes { .. } => "deleteNodes",
        }
    }
}

/// What one timeline entry does: a fault (a window with a start and usually an end) or an
/// operator action (one instant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineKind {
    Fault(FaultKind),
    Action(ActionKind),
}

impl TimelineKind {
    /// The name a scenario writes (`nodeCrash`, `drain`, …).
    pub fn name(&self) -> &'static str {
        match self {
            TimelineKind::Fault(f) => f.name(),
            TimelineKind::Action(a) => a.name(),
        }
    }

    pub fn is_action(&self) -> bool {
        matches!(self, TimelineKind::Action(_))
    }

    /// The machines a fault hits (empty for cluster-wide faults and for actions).
    pub fn machines(&self) -> &[u32] {
        match self {
            TimelineKind::Fault(f) => f.machines(),
            TimelineKind::Action(_) => &[],
        }
    }
}

impl From<FaultKind> for TimelineKind {
    fn from(f: FaultKind) -> Self {
        TimelineKind::Fault(f)
    }
}

impl From<ActionKind> for TimelineKind {
    fn from(a: ActionKind) -> Self {
        TimelineKind::Action(a)
    }
}

#[derive(Clone, Debug)]
pub struct TimelineEntry {
    pub at: SimDuration,
    pub duration: Option<SimDuration>,
    pub kind: TimelineKind,
    pub label: String,
}

/// One effective setting, for the run header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub component: &'static str,
    pub name: String,
    pub value: String,
    pub source: String,
}

/// Everything a cluster run is built from (a scenario without its expectations, which observe
/// the run from the layer above).
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    pub seed: u64,
    pub duration: SimDuration,
    pub kubernetes_version: String,
    pub nodes: Vec<Node>,
    /// The `cluster.nodePools` entry each node came from, by node index (empty for the nodes
    /// of `cluster.nodes`); read by the capacity time series only.
    pub node_pools: Vec<String>,
    /// Static pods of each node (its `staticPodPath` manifests), by node name.
    pub static_pods: BTreeMap<String, Vec<Pod>>,
    pub workloads: Vec<Workload>,
    pub apiserver: ApiServerConfig,
    pub kcm: KcmConfig,
    pub kubelet: KubeletConfig,
    pub scheduler: SchedulerConfig,
    pub runtime: RuntimeConfig,
    pub watch_delay: SimDuration,
    pub max_events: u64,
    pub sample_interval: SimDuration,
    /// Faults and operator actions in the scenario's order (same-time entries keep it).
    pub timeline: Vec<TimelineEntry>,
    /// kube-proxy on every node (`kubeProxy:`, or implied by `traffic:`); None: no proxies,
    /// and no proxy event in the run (docs/traffic.md).
    pub kube_proxy: Option<crate::proxy::ProxyConfig>,
    /// The synthetic traffic clients (`traffic:`).
    pub traffic: Vec<crate::proxy::traffic::TrafficClient>,
    pub settings: Vec<Setting>,
    pub warnings: Vec<String>,
    /// The manifests of the timeline's `apply` actions, by `ActionKind::Apply::index`.
    pub applies: Vec<Vec<Workload>>,
    /// How many of `nodes` (the last ones) are machines that `addNodes` actions boot later.
    pub late_nodes: usize,
    /// `arrivals:` generators (pods or Jobs created over time).
    pub arrivals: Vec<super::arrivals::ArrivalSpec>,
    /// `stopWhen:`: end the run before `duration` when this holds.
    pub stop_when: Option<super::arrivals::StopWhen>,
}

/// `kubectl drain` options, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrainOptions {
    pub ignore_daemonsets: bool,
    pub force: bool,
    /// None: the pods' own grace periods.
    pub grace_period: Option<u64>,
    /// None: no timeout.
    pub timeout: Option<SimDuration>,
    pub disable_eviction: bool,
}
