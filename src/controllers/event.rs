//! kube-controller-manager's own timers and workqueue items. The cluster wraps them in its
//! event and hands them back only while `gen` is the current generation (the leader tick: the
//! current process), so a restart or a lost leadership cancels them all at once.

#[derive(Clone, Debug)]
pub enum Event {
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
    /// A controller's write whose client-side token has come (`clients::ControllerClients`).
    ClientWrite {
        gen: u32,
        id: u64,
    },
}

impl Event {
    /// The generation the item was scheduled under (the process, for the leader tick).
    pub fn gen(&self) -> u32 {
        match *self {
            Event::KcmLeaderTick { gen }
            | Event::NlcMonitorPass { gen }
            | Event::NlcTaintPass { gen }
            | Event::TaintEvictionFire { gen, .. }
            | Event::ReplicaSetSync { gen, .. }
            | Event::DeploymentSync { gen, .. }
            | Event::DaemonSetSync { gen, .. }
            | Event::StatefulSetSync { gen, .. }
            | Event::PdbSync { gen, .. }
            | Event::EndpointSliceSync { gen, .. }
            | Event::NamespaceSync { gen, .. }
            | Event::JobSync { gen, .. }
            | Event::JobTtlExpired { gen, .. }
            | Event::CronJobSync { gen, .. }
            | Event::PodGcPass { gen }
            | Event::CloudNodeMonitor { gen }
            | Event::ClientWrite { gen, .. } => gen,
        }
    }
}
