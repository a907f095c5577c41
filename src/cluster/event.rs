//! The closed set of events of a cluster run. Dispatch is one exhaustive `match` in
//! `cluster::Cluster::handle`, so a new kind makes the compiler point at every decision.
//!
//! `gen` fields carry the generation of the process instance that scheduled the event: when a
//! kubelet, controller manager or scheduler restarts its generation changes and stale timers
//! of the old instance are ignored (cancellation by generation).

use crate::api::{Change, Watcher};
use crate::{controllers, kubelet, proxy, scheduler};

#[derive(Clone, Debug)]
pub enum Event {
    /// Bring the initial workloads in (scenario manifests), at time 0.
    ApplyWorkloads,
    /// The next object of `arrivals[generator]` is created (one pending per generator).
    Arrival {
        generator: usize,
    },
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
    /// A kubelet's own timer (see `kubelet::Event`).
    Kubelet(kubelet::Event),
    /// A kube-controller-manager timer or workqueue item (see `controllers::Event`).
    Kcm(controllers::Event),
    /// A kube-scheduler timer (see `scheduler::Event`).
    Scheduler(scheduler::Event),
    /// A kube-proxy timer (see `proxy::Event`).
    Proxy(proxy::Event),
}

impl From<proxy::Event> for Event {
    fn from(e: proxy::Event) -> Self {
        Event::Proxy(e)
    }
}

impl From<kubelet::Event> for Event {
    fn from(e: kubelet::Event) -> Self {
        Event::Kubelet(e)
    }
}

impl From<controllers::Event> for Event {
    fn from(e: controllers::Event) -> Self {
        Event::Kcm(e)
    }
}

impl From<scheduler::Event> for Event {
    fn from(e: scheduler::Event) -> Self {
        Event::Scheduler(e)
    }
}
