//! GPU fragmentation as the FGD paper measures it (artifact `pkg/utils/frag.go`): the workload's
//! typical pod shapes with their frequencies, and a node's expected fragmented milli-GPU under
//! them. FGD scores a placement by how much it reduces that measure.
//!
//! Invariant: sums run in the artifact's order (typical pods by decreasing frequency, then the
//! seven categories in order), so equal inputs give bit-equal floats.

use std::collections::BTreeMap;

use super::{accessible, NodeGpu, PodGpu};

/// The artifact's defaults for the experiments: CPU-only pods included, the most popular shapes
/// covering 95 % of pods, added one at a time.
pub const POPULARITY_THRESHOLD: f64 = 95.0;

/// Typical pod shapes with their frequencies (summing to 1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypicalPods(pub Vec<(PodGpu, f64)>);

impl TypicalPods {
    /// `GetTypicalPods` (isInvolvedCpuPods true, gpuResWeight 0, podIncreaseStep 1): count each
    /// shape, order by count descending (ties: the larger shape first), keep the most popular
    /// until they cover `threshold` % of pods, renormalise.
    pub fn of(pods: &[PodGpu], threshold: f64) -> TypicalPods {
        let mut counts: BTreeMap<&PodGpu, f64> = BTreeMap::new();
        for p in pods {
            *counts.entry(p).or_insert(0.0) += 1.0;
        }
        let total = pods.len() as f64;
        let mut list: Vec<(PodGpu, f64)> =
            counts.into_iter().map(|(p, c)| (p.clone(), c)).collect();
        // sort.Reverse of (Percentage, then PodResource.Less).
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        let expected = threshold * total / 100.0;
        let mut cum = 0.0;
        let mut i = 0;
        while cum < expected && i < list.len() {
            cum += list[i].1;
            list[i].1 /= total;
            i += 1;
        }
        if i < list.len() {
            list.truncate(i);
            for e in &mut list {
                e.1 /= cum / total;
            }
        }
        TypicalPods(list)
    }
}

/// The seven categories of `FragRatioDataMap`, in their index order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragKind {
    Q1LackBoth = 0,
    Q2LackGpu = 1,
    Q3Satisfied = 2,
    Q4LackCpu = 3,
    XlSatisfied = 4,
    XrLackCpu = 5,
    NoAccess = 6,
}

/// `CanNodeHostPodOnGpuMemory`: enough devices with room for one share each.
pub fn can_host_on_gpu(node: &NodeGpu, pod: &PodGpu) -> bool {
    let mut need = pod.gpu_count;
    for &left in &node.gpu_left {
        if left >= pod.gpu_milli {
            need -= 1;
            if need <= 0 {
                return true;
            }
        }
    }
    false
}

/// `GetNodePodFrag`: which quadrant a typical pod puts the node's idle GPUs in.
pub fn node_pod_frag(node: &NodeGpu, pod: &PodGpu) -> FragKind {
    if pod.gpu_milli == 0 {
        return if node.cpu_left >= pod.cpu_milli {
            FragKind::XlSatisfied
        } else {
            FragKind::XrLackCpu
        };
    }
    if !accessible(&node.gpu_model, &pod.gpu_model) {
        return FragKind::NoAccess;
    }
    match (can_host_on_gpu(node, pod), node.cpu_left >= pod.cpu_milli) {
        (true, true) => FragKind::Q3Satisfied,
        (true, false) => FragKind::Q4LackCpu,
        (false, true) => FragKind::Q2LackGpu,
        (false, false) => FragKind::Q1LackBoth,
    }
}

/// `NodeGpuShareFragAmount`: per category, the expected idle milli-GPU under the typical pods;
/// for a pod that fits, the devices too small for it count as lacking GPU.
pub fn node_frag_amount(node: &NodeGpu, typical: &TypicalPods) -> [f64; 7] {
    let mut data = [0.0f64; 7];
    let left_total = node.total_left();
    for (pod, freq) in &typical.0 {
        let kind = node_pod_frag(node, pod);
        if kind == FragKind::Q3Satisfied {
            let frag: i64 = node.gpu_left.iter().filter(|&&l| l < pod.gpu_milli).sum();
            data[FragKind::Q2LackGpu as usize] += freq * frag as f64;
            data[FragKind::Q3Satisfied as usize] += freq * (left_total - frag) as f64;
        } else {
            data[kind as usize] += freq * left_total as f64;
        }
    }
    data
}

/// `NodeGpuShareFragAmountScore`: the fragmented milli-GPU (every category but Q3).
pub fn node_frag_score(node: &NodeGpu, typical: &TypicalPods) -> f64 {
    let data = node_frag_amount(node, typical);
    let mut out = 0.0;
    for (i, v) in data.iter().enumerate() {
        if i != FragKind::Q3Satisfied as usize {
            out += v;
        }
    }
    out
}

/// A node's fragmentation memoised by what it depends on: the GPU model, the CPU left and the
/// multiset of device milli left (one typical-pod set per memo). Shared by the scheduler's
/// FGDScore state and `kubesim bench fgd`.
#[derive(Debug, Default)]
pub struct FragMemo {
    models: BTreeMap<String, u32>,
    memo: BTreeMap<(u32, i64, Vec<i64>), f64>,
}

impl FragMemo {
    pub fn frag(&mut self, n: &NodeGpu, typical: &TypicalPods) -> f64 {
        let next = self.models.len() as u32;
        let model = *self.models.entry(n.gpu_model.clone()).or_insert(next);
        let mut left = n.gpu_left.clone();
        left.sort_unstable();
        let key = (model, n.cpu_left, left);
        if let Some(v) = self.memo.get(&key) {
            return *v;
        }
        let v = node_frag_score(n, typical);
        self.memo.insert(key, v);
        v
    }
}
