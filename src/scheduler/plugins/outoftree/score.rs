//! The FGD study's score plugins (artifact `pkg/simulator/plugin/*_score.go`), each a function
//! of (node GPU state, pod shape) returning the plugin's raw Score (0–100; `BestFitScore`
//! alone has a NormalizeScore, [`normalize`]). `RandomScore` has no per-node formula: its
//! PreScore gives one uniformly drawn feasible node 100 and the rest 0.
//!
//! Invariant: integer arithmetic where the artifact's is integer (Go's truncating division),
//! floats truncated to the score as Go's `int64(...)` does, `libm` for `exp`.

use super::frag::{node_frag_score, TypicalPods};
use super::{exclusive_devices, GpuSel, NodeGpu, PodGpu, MAX_SPEC_CPU, MAX_SPEC_GPU, MILLI};
use crate::scheduler::plugins::MAX_NODE_SCORE;

/// The six policies, by their plugin names (short names accepted too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    Random,
    DotProduct,
    GpuClustering,
    GpuPacking,
    BestFit,
    Fgd,
}

pub const POLICIES: [Policy; 6] = [
    Policy::Random,
    Policy::DotProduct,
    Policy::GpuClustering,
    Policy::GpuPacking,
    Policy::BestFit,
    Policy::Fgd,
];

impl Policy {
    /// The score plugin's name in a `KubeSchedulerConfiguration`.
    pub fn plugin_name(self) -> &'static str {
        match self {
            Policy::Random => "RandomScore",
            Policy::DotProduct => "DotProductScore",
            Policy::GpuClustering => "GpuClusteringScore",
            Policy::GpuPacking => "GpuPackingScore",
            Policy::BestFit => "BestFitScore",
            Policy::Fgd => "FGDScore",
        }
    }

    /// The artifact's short name (`01-Random` … `06-FGD` in its results).
    pub fn short_name(self) -> &'static str {
        match self {
            Policy::Random => "Random",
            Policy::DotProduct => "DotProd",
            Policy::GpuClustering => "GpuClustering",
            Policy::GpuPacking => "GpuPacking",
            Policy::BestFit => "BestFit",
            Policy::Fgd => "FGD",
        }
    }

    pub fn from_name(name: &str) -> Option<Policy> {
        POLICIES
            .into_iter()
            .find(|p| p.plugin_name() == name || p.short_name().eq_ignore_ascii_case(name))
    }

    /// The Open-Gpu-Share device choice the artifact's experiment scripts configure with it.
    pub fn gpu_sel(self) -> GpuSel {
        match self {
            Policy::Random => GpuSel::Random,
            Policy::Fgd => GpuSel::Fgd,
            _ => GpuSel::Best,
        }
    }
}

/// `DotProductScore` (Tetris; `dimExtMethod: merge`, `normMethod: max`): 100 × (1 − ⟨node free,
/// pod request⟩ / 2), both vectors (CPU, total GPU) over (128 CPUs, 8 GPUs); 0 when the CPU left
/// is short.
pub fn dot_product(node: &NodeGpu, pod: &PodGpu) -> i64 {
    if node.cpu_left < pod.cpu_milli {
        return 0;
    }
    let (c, g) = (MAX_SPEC_CPU as f64, MAX_SPEC_GPU as f64);
    let nv = [node.cpu_left as f64 / c, node.total_left() as f64 / g];
    let pv = [pod.cpu_milli as f64 / c, pod.total_milli() as f64 / g];
    let dot = nv[0] * pv[0] + nv[1] * pv[1];
    let cur = 1.0 - dot / 2.0;
    (MAX_NODE_SCORE as f64 * cur) as i64
}

/// `GpuClusteringScore`: GPU pods prefer nodes running only pods of their own GPU tag (75–100),
/// then mixed nodes with it (50–75), idle nodes (25–50), other tags (0–25); within a band, the
/// fuller node. CPU-only pods score 0.
pub fn gpu_clustering(node: &NodeGpu, pod: &PodGpu) -> i64 {
    let tag = pod.affinity();
    if tag == super::Affinity::NoGpu {
        return 0;
    }
    let fill = MAX_NODE_SCORE / 4 * (MAX_SPEC_GPU - node.total_left()) / MAX_SPEC_GPU;
    let band = if node.affinity.get(&tag).copied().unwrap_or(0) > 0 {
        if node.affinity.len() == 1 {
            3
        } else {
            2
        }
    } else if node.affinity.is_empty() {
        1
    } else {
        0
    };
    fill + MAX_NODE_SCORE * band / 4
}

/// `GpuPackingScore`: prefer sharing used GPUs (50–100, the fuller the better), then free GPUs
/// on a used node (33–50), then a free node (≤ 33, fewer GPUs better). CPU-only pods score 0.
pub fn gpu_packing(node: &NodeGpu, pod: &PodGpu) -> i64 {
    if pod.gpu_milli <= 0 {
        return 0;
    }
    let free = node.fully_free() as i64;
    if free == node.gpu_number() as i64 {
        return (MAX_NODE_SCORE / 3 - free).max(free);
    }
    let mut need = pod.gpu_count;
    let (mut free_used, mut use_list) = (0i64, Vec::new());
    for idx in node.sorted_ascending() {
        if need == 0 {
            break;
        }
        let left = node.gpu_left[idx];
        if pod.gpu_milli <= left {
            need -= 1;
            use_list.push(idx);
            if left == MILLI {
                free_used += 1;
            }
        }
    }
    if need != 0 {
        return 0;
    }
    if free_used > 0 {
        return (MAX_NODE_SCORE / 2 - free_used).max(MAX_NODE_SCORE / 3);
    }
    let ratio: i64 = use_list
        .iter()
        .map(|&g| node.gpu_left[g] * 100 / MILLI)
        .sum();
    (MAX_NODE_SCORE - ratio / 10).max(MAX_NODE_SCORE / 2)
}

/// `BestFitScore` before normalisation: 100 × (1 − Σ ½ (free − request) / max spec) over CPU and
/// total GPU; −1 (an error in the artifact) when the node is short.
pub fn best_fit(node: &NodeGpu, pod: &PodGpu) -> i64 {
    let free = [node.cpu_left as f64, node.total_left() as f64];
    let req = [pod.cpu_milli as f64, pod.total_milli() as f64];
    let max = [MAX_SPEC_CPU as f64, MAX_SPEC_GPU as f64];
    let mut s = 0.0;
    for i in 0..2 {
        if free[i] < req[i] {
            return -1;
        }
        s += (free[i] - req[i]) / max[i] * 0.5;
    }
    ((1.0 - s) * MAX_NODE_SCORE as f64) as i64
}

/// The artifact's `NormalizeScore` (min–max onto 0–100, integer division; all 0 when equal).
pub fn normalize(scores: &mut [i64]) {
    let (Some(&hi), Some(&lo)) = (scores.iter().max(), scores.iter().min()) else {
        return;
    };
    let range = hi - lo;
    for s in scores.iter_mut() {
        *s = if range == 0 {
            0
        } else {
            (*s - lo) * MAX_NODE_SCORE / range
        };
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

/// `FGDScore`: 100 × sigmoid((frag before − frag after) / 1000), the fragmentation under the
/// typical pods; for a sharing pod the best device (first on a tie) is tried and returned.
pub fn fgd(node: &NodeGpu, pod: &PodGpu, typical: &TypicalPods) -> (i64, Option<Vec<usize>>) {
    fgd_with(node, pod, &mut |n| node_frag_score(n, typical))
}

/// [`fgd`] with the fragmentation measure supplied (so a caller can memoise it by node state).
pub fn fgd_with(
    node: &NodeGpu,
    pod: &PodGpu,
    frag: &mut dyn FnMut(&NodeGpu) -> f64,
) -> (i64, Option<Vec<usize>>) {
    let before = frag(node);
    let score_of = |after: f64| (sigmoid((before - after) / 1000.0) * MAX_NODE_SCORE as f64) as i64;
    if pod.gpu_count == 1 && pod.gpu_milli < MILLI {
        let (mut best, mut dev) = (0i64, None);
        for i in 0..node.gpu_left.len() {
            if node.gpu_left[i] >= pod.gpu_milli {
                let mut after = node.clone();
                after.cpu_left -= pod.cpu_milli;
                after.gpu_left[i] -= pod.gpu_milli;
                let s = score_of(frag(&after));
                if dev.is_none() || s > best {
                    best = s;
                    dev = Some(vec![i]);
                }
            }
        }
        return (best, dev);
    }
    let after = sub(node, pod);
    (score_of(frag(&after)), exclusive_devices(node, pod))
}

/// `NodeResource.Sub`: CPU off, then each share from the least-free device that holds it; the
/// node unchanged when it is short of CPU or devices (the artifact ignores that error).
pub fn sub(node: &NodeGpu, pod: &PodGpu) -> NodeGpu {
    let mut out = node.clone();
    if out.cpu_left < pod.cpu_milli || (out.gpu_number() as i64) < pod.gpu_count {
        return out;
    }
    out.cpu_left -= pod.cpu_milli;
    let mut need = pod.gpu_count;
    if need == 0 {
        return out;
    }
    for idx in node.sorted_ascending() {
        if pod.gpu_milli <= out.gpu_left[idx] {
            need -= 1;
            out.gpu_left[idx] -= pod.gpu_milli;
            if need <= 0 {
                break;
            }
        }
    }
    out
}
