//! The closed set of events of a cluster run. Dispatch is one exhaustive `match` in
//! `cluster::Cluster::handle`, so a new kind makes the compiler point at every decision.
//!
//! `gen` fields carry the generation of the process instance that scheduled the event: when a
//! kubelet, controller manager or scheduler restarts its generation changes and stale timers
//! of the old instance are ignored (cancellation by generation).

use crate::api::{Change, Watcher};

#[derive(Clone, Debug)]
pub enum Event {
    /// Bring the initial workloads in (scenario manifests), at time 0.
    ApplyWorkloads,
    /// A fault of the scenario timeline starts (`start = true`) or ends.
    Fault {
        index: usize,
        start: bool,
    },
    /// A watch notification reaches a component's informer cache.
    Watch(Watcher, Change),

    KubeletStart {
        machine: u32,
    },
    KubeletStatusTick {
        machine: u32,
        gen: u32,
    },
    KubeletRegister {
        machine: u32,
        gen: u32,
    },
    KubeletLeaseTick {
        machine: u32,
        gen: u32,
    },
    KubeletLeaseEnsure {
        machine: u32,
        gen: u32,
    },
    /// A lease renewal slowed by the `slowLeaseRenewals` fault reaches the API server.
    KubeletLeaseLanded {
        machine: u32,
        gen: u32,
        sent: crate::sim::SimTime,
    },
    /// A pod worker has something due (a sandbox, an exit, a probe, a restart, a kill).
    KubeletPodWake {
        machine: u32,
        gen: u32,
        pod: String,
    },
    /// The kubelet's eviction manager checks node pressure.
    KubeletEvictionTick {
        machine: u32,
        gen: u32,
    },
    /// An image pull on the machine finishes.
    KubeletPullDone {
        machine: u32,
        gen: u32,
        id: u64,
    },

    /// kube-controller-manager's leader election loop.
    KcmLeaderTick {
        gen: u32,
    },
    NlcMonitorPass {
        gen: u32,
    },
    NlcTaintPass {
        gen: u32,
    },
    TaintEvictionFire {
        gen: u32,
        pod: String,
        timer: u64,
    },
    ReplicaSetSync {
        gen: u32,
        rs: String,
    },
    DeploymentSync {
        gen: u32,
        key: String,
    },
    DaemonSetSync {
        gen: u32,
        key: String,
    },
    StatefulSetSync {
        gen: u32,
        key: String,
    },
    /// The disruption controller syncs one PodDisruptionBudget.
    PdbSync {
        gen: u32,
        key: String,
    },
    /// `kubectl drain`: retry a denied eviction (every 5 s).
    DrainRetry {
        drain: usize,
        pod: String,
    },
    /// `kubectl drain`: look whether an evicted pod is gone yet (every 1 s).
    DrainPoll {
        drain: usize,
        pod: String,
    },
    /// The EndpointSlice controller syncs one Service's slices.
    EndpointSliceSync {
        gen: u32,
        key: String,
    },
    /// The namespace controller syncs one Namespace.
    NamespaceSync {
        gen: u32,
        name: String,
    },
    /// A Job controller workqueue item (stale ones are ignored by the controller).
    JobSync {
        gen: u32,
        key: String,
    },
    /// The TTL-after-finished controller's requeue at a Job's expiry.
    JobTtlExpired {
        gen: u32,
        key: String,
    },
    /// A CronJob controller workqueue item.
    CronJobSync {
        gen: u32,
        key: String,
    },
    /// The pod garbage collector's 20 s loop.
    PodGcPass {
        gen: u32,
    },
    /// The cloud node lifecycle controller's monitor loop.
    CloudNodeMonitor {
        gen: u32,
    },

    SchedulerLeaderTick {
        gen: u32,
    },
    SchedulerCycle {
        gen: u32,
    },
    /// Backoff of some unschedulable pod expired: move due pods back to the active queue.
    SchedulerFlush {
        gen: u32,
    },
}
