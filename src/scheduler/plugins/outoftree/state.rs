//! The GPU plugins inside `kubesim run`'s scheduler: a node's device state read from its
//! `NodeInfo` (the pods on it and their `alibabacloud.com/gpu-index` annotations), the pod's
//! shape for one cycle, and the state the plugins keep across cycles — the workload's typical
//! pods (FGD), the fragmentation memo, and the stream RandomScore and `gpuSelMethod: random`
//! draw from.
//!
//! Invariant: a node's device accounting is a function of its `NodeInfo` alone — a pod holds
//! the devices its `gpu-index` names while it is in the node's info (assumed or bound), so a
//! deleted pod frees them; nothing here is written except the memo and the stream.

use std::sync::{Arc, Mutex, MutexGuard};

use rand_chacha::ChaCha8Rng;

use super::frag::{FragMemo, TypicalPods, POPULARITY_THRESHOLD};
use super::{NodeGpu, PodGpu, GPU_INDEX, MILLI};
use crate::model::Pod;
use crate::scheduler::plugins::{NodeInfo, PodRequest};

/// The devices a pod's `gpu-index` annotation names ("2", "0-1-2-3"); none when absent or
/// malformed.
pub fn devices_of(pod: &Pod) -> Vec<usize> {
    let Some(v) = pod.meta.annotations.get(GPU_INDEX) else {
        return Vec::new();
    };
    let parsed: Option<Vec<usize>> = v.split('-').map(|d| d.trim().parse().ok()).collect();
    parsed.unwrap_or_default()
}

impl NodeGpu {
    /// The node's GPU state from its info: CPU left after the pods' requests, each device's
    /// milli-GPU less the pods placed on it (by `gpu-index`; devices out of range ignored), and
    /// the GPU tags of its pods.
    pub fn of_info(info: &NodeInfo) -> NodeGpu {
        let mut g = NodeGpu::of_node(&info.node);
        g.cpu_left -= info.requested.cpu_milli;
        for p in &info.pods {
            let shape = PodGpu::of(p, 0);
            if shape.gpu_count <= 0 && shape.gpu_milli <= 0 {
                continue;
            }
            for d in devices_of(p) {
                if let Some(left) = g.gpu_left.get_mut(d) {
                    *left -= shape.gpu_milli.min(MILLI);
                }
            }
            let tag = shape.affinity();
            if tag != super::Affinity::NoGpu {
                *g.affinity.entry(tag).or_insert(0) += 1;
            }
        }
        g
    }
}

/// The GPU plugins' view of one pod for one cycle (PreFilter), with the scheduler's shared state
/// when the cycle runs inside `kubesim run` (None in `kubesim explain`: RandomScore then scores
/// every node 0 and FGDScore sees no typical pods).
#[derive(Clone, Debug)]
pub struct GpuCycle {
    pub pod: PodGpu,
    pub shared: Option<Arc<Mutex<GpuShared>>>,
}

impl GpuCycle {
    pub fn of(pod: &Pod, req: &PodRequest) -> GpuCycle {
        GpuCycle {
            pod: PodGpu::of(pod, req.non_zero_cpu_milli),
            shared: None,
        }
    }

    /// The shared state, locked (None outside the scheduler).
    pub fn lock(&self) -> Option<MutexGuard<'_, GpuShared>> {
        self.shared
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What the GPU plugins keep across cycles.
#[derive(Debug)]
pub struct GpuShared {
    /// The workload's typical pods, fixed at the first cycle that needs them.
    pub typical: Option<TypicalPods>,
    memo: FragMemo,
    /// RandomScore's PreScore and `gpuSelMethod: random` draw from this stream.
    pub rng: ChaCha8Rng,
}

impl GpuShared {
    pub fn new(rng: ChaCha8Rng) -> GpuShared {
        GpuShared {
            typical: None,
            memo: FragMemo::default(),
            rng,
        }
    }

    /// Fixes the typical pods from `pods` (the artifact's `GetTypicalPods` over the workload)
    /// unless they are already fixed.
    pub fn ensure_typical<P: std::borrow::Borrow<Pod>>(&mut self, pods: impl Iterator<Item = P>) {
        if self.typical.is_none() {
            let shapes: Vec<PodGpu> = pods
                .map(|p| {
                    let p = p.borrow();
                    PodGpu::of(p, PodRequest::of(p).non_zero_cpu_milli)
                })
                .collect();
            self.typical = Some(TypicalPods::of(&shapes, POPULARITY_THRESHOLD));
        }
    }

    /// The node's fragmentation under the typical pods, memoised by (model, CPU left, sorted
    /// device milli left) — all it depends on.
    pub fn frag(&mut self, n: &NodeGpu) -> f64 {
        let empty = TypicalPods::default();
        self.memo.frag(n, self.typical.as_ref().unwrap_or(&empty))
    }
}
