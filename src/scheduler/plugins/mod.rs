//! The scheduling framework's default plugins kubesim has so far, one file each. Every plugin
//! is a pure function of (pod, node snapshot).
//!
//! Architecture invariant: no plugin reads anything but its arguments; filter reasons are
//! Kubernetes' own strings, so `FailedScheduling` messages read like kube-scheduler's.

pub mod balanced_allocation;
pub mod node_affinity;
pub mod node_name;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod taint_toleration;

use crate::model::{Node, Pod, Resources};

/// A node as the scheduler's snapshot holds it: the Node plus the sums of its pods' requests.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: std::sync::Arc<Node>,
    /// Sum of effective requests of pods on the node (assumed pods included); `pods` counts them.
    pub requested: Resources,
    /// The same with the scoring defaults (100m CPU / 200Mi memory for absent requests).
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
}

/// What a pod asks for, computed once per scheduling cycle.
#[derive(Clone, Debug)]
pub struct PodRequest {
    pub request: Resources,
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
}

/// Scoring defaults for absent requests (`DefaultMilliCPURequest`, `DefaultMemoryRequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

impl PodRequest {
    pub fn of(pod: &Pod) -> PodRequest {
        let request = pod.spec.effective_request();
        let nz = |cs: &[crate::model::Container]| -> (i64, i64) {
            cs.iter().fold((0, 0), |(c, m), k| {
                (
                    c + if k.has_cpu_request {
                        k.requests.cpu_milli
                    } else {
                        DEFAULT_MILLI_CPU_REQUEST
                    },
                    m + if k.has_memory_request {
                        k.requests.memory
                    } else {
                        DEFAULT_MEMORY_REQUEST
                    },
                )
            })
        };
        let (mut cpu, mut mem) = nz(&pod.spec.containers);
        for ic in &pod.spec.init_containers {
            let (c, m) = nz(std::slice::from_ref(ic));
            cpu = cpu.max(c);
            mem = mem.max(m);
        }
        cpu += pod.spec.overhead.cpu_milli;
        mem += pod.spec.overhead.memory;
        PodRequest {
            request,
            non_zero_cpu_milli: cpu,
            non_zero_memory: mem,
        }
    }
}

pub const MAX_NODE_SCORE: i64 = 100;
