//! Out-of-tree scheduler plugins for GPU sharing, kept apart from the upstream defaults: the
//! GPU model of the FGD paper's simulator ("Beware of Fragmentation", USENIX ATC'23, artifact
//! `hkust-adsl/kubernetes-scheduler-simulator`), the `Open-Gpu-Share` filter with its device
//! assignment (Reserve), and the six score plugins `RandomScore`, `DotProductScore`,
//! `GpuClusteringScore`, `GpuPackingScore`, `BestFitScore` and `FGDScore` (`score.rs`), with the
//! fragmentation measure FGD descends (`frag.rs`), and their state inside `kubesim run`'s
//! scheduler (`state.rs`: a node's devices read from its pods' `gpu-index`).
//!
//! A GPU node carries N devices of 1000 milli-GPU each (`alibabacloud.com/gpu-count` in
//! `status.capacity`, the model in the `alibabacloud.com/gpu-card-model` label); a pod asks, by
//! annotation, for `gpu-count` devices of `gpu-milli` each (a fraction only when the count is 1)
//! and optionally a `|`-separated list of allowed models; the device(s) it is placed on are
//! recorded in `alibabacloud.com/gpu-index` ("2" or "0-1-2-3").
//!
//! Invariant: every function here is pure — (pod shape, node GPU state) in, a verdict, score
//! or device list out; randomness comes only from the caller's seeded stream.

pub mod frag;
pub mod score;
pub mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;

use crate::model::{Node, Pod};
use crate::sim::rng;

/// Milli-GPU of one device.
pub const MILLI: i64 = 1000;
/// The largest node the artifact normalises by: 128 CPUs and 8 GPUs.
pub const MAX_SPEC_CPU: i64 = 128_000;
pub const MAX_SPEC_GPU: i64 = 8000;

/// Annotations (pods) and capacity/label keys (nodes), as the artifact names them.
pub const GPU_MILLI: &str = "alibabacloud.com/gpu-milli";
pub const GPU_COUNT: &str = "alibabacloud.com/gpu-count";
pub const GPU_INDEX: &str = "alibabacloud.com/gpu-index";
pub const GPU_MODEL: &str = "alibabacloud.com/gpu-card-model";

/// The filter plugin's name in a `KubeSchedulerConfiguration`.
pub const OPEN_GPU_SHARE: &str = "Open-Gpu-Share";

/// A pod's resource shape as the GPU plugins see it (the artifact's `PodResource`): CPU with the
/// scheduler's non-zero default, per-device milli-GPU, device count, allowed models (`A|B`, empty
/// for any). Ordered as the artifact orders typical pods on equal frequency.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodGpu {
    pub cpu_milli: i64,
    pub gpu_milli: i64,
    pub gpu_count: i64,
    pub gpu_model: String,
}

impl PodGpu {
    /// Reads the annotations; `cpu_milli` is the pod's non-zero CPU request.
    pub fn of(pod: &Pod, non_zero_cpu_milli: i64) -> PodGpu {
        let a = &pod.meta.annotations;
        let count = a
            .get(GPU_COUNT)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| *v >= 0)
            .unwrap_or(0);
        let milli = a
            .get(GPU_MILLI)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        PodGpu {
            cpu_milli: non_zero_cpu_milli,
            gpu_milli: milli,
            gpu_count: count,
            gpu_model: a.get(GPU_MODEL).cloned().unwrap_or_default(),
        }
    }

    /// milli × count.
    pub fn total_milli(&self) -> i64 {
        self.gpu_milli * self.gpu_count
    }

    /// A GPU-sharing pod: one device, a fraction of it.
    pub fn is_share(&self) -> bool {
        self.gpu_count == 1 && self.gpu_milli < MILLI
    }

    /// `GetGpuAffinityFromPodAnnotation`: "no-gpu", "share-gpu" or "<n>-gpu".
    pub fn affinity(&self) -> Affinity {
        if self.gpu_count == 0 {
            Affinity::NoGpu
        } else if self.is_share() {
            Affinity::Share
        } else {
            Affinity::Whole(self.gpu_count)
        }
    }
}

/// The GPU-clustering tag of a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Affinity {
    NoGpu,
    Share,
    Whole(i64),
}

/// A node's GPU state (the artifact's `NodeResource`): CPU left and allocatable, milli-GPU left
/// per device (index = device id), the model, and how many pods of each GPU tag it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeGpu {
    pub cpu_left: i64,
    pub cpu_capacity: i64,
    pub gpu_left: Vec<i64>,
    pub gpu_model: String,
    pub affinity: BTreeMap<Affinity, usize>,
}

impl NodeGpu {
    /// Devices from the node's `alibabacloud.com/gpu-count` capacity and model label, all free;
    /// CPU from its allocatable.
    pub fn of_node(node: &Node) -> NodeGpu {
        let count = node
            .status
            .capacity
            .scalar
            .get(GPU_COUNT)
            .copied()
            .unwrap_or(0)
            .max(0);
        NodeGpu {
            cpu_left: node.status.allocatable.cpu_milli,
            cpu_capacity: node.status.allocatable.cpu_milli,
            gpu_left: vec![MILLI; count as usize],
            gpu_model: node.meta.labels.get(GPU_MODEL).cloned().unwrap_or_default(),
            affinity: BTreeMap::new(),
        }
    }

    pub fn gpu_number(&self) -> usize {
        self.gpu_left.len()
    }

    pub fn total_left(&self) -> i64 {
        self.gpu_left.iter().sum()
    }

    pub fn fully_free(&self) -> usize {
        self.gpu_left.iter().filter(|&&l| l == MILLI).count()
    }

    /// Device indices by milli left, ascending (stable: equal ones keep index order).
    pub fn sorted_ascending(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.gpu_left.len()).collect();
        idx.sort_by_key(|&i| self.gpu_left[i]);
        idx
    }

    /// Takes the pod off the devices it was assigned (and its CPU), as Reserve records it.
    pub fn add_pod(&mut self, pod: &PodGpu, cpu_request: i64, devices: &[usize]) {
        self.cpu_left -= cpu_request;
        for &d in devices {
            self.gpu_left[d] -= pod.gpu_milli;
        }
        if pod.affinity() != Affinity::NoGpu {
            *self.affinity.entry(pod.affinity()).or_insert(0) += 1;
        }
    }
}

/// `IsNodeAccessibleToPodByType`: a pod without models fits any node; a typed pod needs a GPU
/// node whose model is one of its `|`-separated list (empty entries ignored).
pub fn accessible(node_model: &str, pod_models: &str) -> bool {
    if pod_models.is_empty() {
        return true;
    }
    if node_model.is_empty() {
        return false;
    }
    let mut any = false;
    for m in pod_models.split('|').filter(|m| !m.is_empty()) {
        any = true;
        if m == node_model {
            return true;
        }
    }
    !any
}

/// The `Open-Gpu-Share` filter: a pod asking for GPUs needs a GPU node of an allowed model with
/// devices for it (`GpuNodeInfo.AllocateGpuId` finds some).
pub fn filter(node: &NodeGpu, pod: &PodGpu) -> Result<(), &'static str> {
    if pod.gpu_milli <= 0 {
        return Ok(());
    }
    if node.gpu_number() == 0 {
        return Err("node(s) had no GPU");
    }
    if !accessible(&node.gpu_model, &pod.gpu_model) {
        return Err("node(s) didn't match the GPU model");
    }
    if tightest_devices(node, pod).is_none() {
        return Err("node(s) didn't have enough free GPU");
    }
    Ok(())
}

/// `AllocateGpuId` of the filter's cache: one device, the tightest fit (lowest index on a tie);
/// several, greedily packed from device 0 (a device may take more than one share while it has
/// room). None when they do not fit.
pub fn tightest_devices(node: &NodeGpu, pod: &PodGpu) -> Option<Vec<usize>> {
    if pod.gpu_milli <= 0 || pod.gpu_count <= 0 {
        return None;
    }
    let idle: Vec<i64> = node.gpu_left.clone();
    if pod.gpu_count == 1 {
        let mut best: Option<usize> = None;
        for (d, &left) in idle.iter().enumerate() {
            if left > 0 && left >= pod.gpu_milli && best.is_none_or(|b| left < idle[b]) {
                best = Some(d);
            }
        }
        return best.map(|d| vec![d]);
    }
    let mut left = idle;
    let (mut d, mut got) = (0usize, Vec::new());
    while d < left.len() && (got.len() as i64) < pod.gpu_count {
        if left[d] > 0 && left[d] >= pod.gpu_milli {
            got.push(d);
            left[d] -= pod.gpu_milli;
        } else {
            d += 1;
        }
    }
    ((got.len() as i64) == pod.gpu_count).then_some(got)
}

/// `AllocateExclusiveGpuId`: the first fully free devices in index order, enough for the pod's
/// total milli-GPU.
pub fn exclusive_devices(node: &NodeGpu, pod: &PodGpu) -> Option<Vec<usize>> {
    let mut need = pod.total_milli();
    let mut out = Vec::new();
    for (d, &left) in node.gpu_left.iter().enumerate() {
        if need <= 0 {
            break;
        }
        if left == MILLI {
            out.push(d);
            need -= MILLI;
        }
    }
    (need <= 0).then_some(out)
}

/// `gpuSelMethod` of the Open-Gpu-Share Reserve: how a sharing pod's device is chosen (whole-GPU
/// pods always take the first free devices). The artifact's experiments use `best` for
/// GpuClustering, GpuPacking, BestFit and DotProduct (`merge` dimension), `random` for Random,
/// and the FGD score itself for FGD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuSel {
    Best,
    Worst,
    Random,
    Fgd,
}

impl GpuSel {
    pub fn from_name(name: &str) -> Option<GpuSel> {
        Some(match name {
            "best" => GpuSel::Best,
            "worst" => GpuSel::Worst,
            "random" => GpuSel::Random,
            "FGDScore" => GpuSel::Fgd,
            _ => return None,
        })
    }
}

/// Reserve: the device(s) the pod is placed on, recorded as its `gpu-index` annotation. Sharing
/// pods by `sel` (`Fgd` needs the typical pods), others on the first fully free devices.
pub fn assign_devices(
    node: &NodeGpu,
    pod: &PodGpu,
    sel: GpuSel,
    typical: &frag::TypicalPods,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<usize>> {
    if pod.gpu_milli <= 0 || pod.gpu_count <= 0 {
        return Some(Vec::new());
    }
    if pod.gpu_milli >= MILLI {
        return exclusive_devices(node, pod);
    }
    let fits = |l: i64| l >= pod.gpu_milli;
    match sel {
        GpuSel::Best | GpuSel::Worst => {
            let mut cand: Option<usize> = None;
            for (d, &l) in node.gpu_left.iter().enumerate() {
                let better = match cand {
                    None => true,
                    Some(c) if sel == GpuSel::Best => l < node.gpu_left[c],
                    Some(c) => l > node.gpu_left[c],
                };
                if fits(l) && better {
                    cand = Some(d);
                }
            }
            cand.map(|d| vec![d])
        }
        GpuSel::Random => {
            let (mut n, mut pick) = (0u64, None);
            for (d, &l) in node.gpu_left.iter().enumerate() {
                if fits(l) {
                    n += 1;
                    if rng::below(rng, n) == 0 {
                        pick = Some(d);
                    }
                }
            }
            pick.map(|d| vec![d])
        }
        GpuSel::Fgd => score::fgd(node, pod, typical).1,
    }
}

/// The `gpu-index` annotation value for devices: "2", "0-1-2-3".
pub fn index_annotation(devices: &[usize]) -> String {
    devices
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("-")
}
