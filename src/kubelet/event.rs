//! The kubelet's own timers. The cluster wraps them in its event and hands each back to
//! the kubelet of `machine` only while `gen` is that kubelet's current process generation.

use crate::sim::SimTime;

#[derive(Clone, Debug)]
pub enum Event {
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
        sent: SimTime,
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
    /// The status manager's `syncBatch(all)` tick (every 10 s from process start), scheduled
    /// only while a pod's API status disagrees with what the kubelet last wrote.
    KubeletPodStatusSync {
        machine: u32,
        gen: u32,
    },
    /// An image pull on the machine finishes.
    KubeletPullDone {
        machine: u32,
        gen: u32,
        id: u64,
    },
    /// A write that waited for the kubelet client's token (`client.rs`) is sent.
    KubeletClientWrite {
        machine: u32,
        gen: u32,
        id: u64,
    },
}

impl Event {
    /// The kubelet (machine) and process generation the timer belongs to.
    pub fn target(&self) -> (u32, u32) {
        match *self {
            Event::KubeletStatusTick { machine, gen }
            | Event::KubeletRegister { machine, gen }
            | Event::KubeletLeaseTick { machine, gen }
            | Event::KubeletLeaseEnsure { machine, gen }
            | Event::KubeletLeaseLanded { machine, gen, .. }
            | Event::KubeletPodWake { machine, gen, .. }
            | Event::KubeletEvictionTick { machine, gen }
            | Event::KubeletPodStatusSync { machine, gen }
            | Event::KubeletPullDone { machine, gen, .. }
            | Event::KubeletClientWrite { machine, gen, .. } => (machine, gen),
        }
    }
}
