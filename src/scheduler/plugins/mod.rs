//! The scheduling framework's default plugins, one file each (reference scheduler §1–2). Every
//! plugin is a pure function of (pod, snapshot): per-pod work happens once in its PreFilter or
//! PreScore and is kept in the cycle state; Filter and Score then read one node.
//!
//! Architecture invariant: no plugin reads anything but its arguments; filter reasons are
//! Kubernetes' own strings, so `FailedScheduling` messages read like kube-scheduler's.

pub mod balanced_allocation;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod outoftree;
pub mod pod_topology_spread;
pub mod taint_toleration;

#[cfg(test)]
pub(crate) mod testutil;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{LabelSelector, Node, Pod, Resources};

pub const MAX_NODE_SCORE: i64 = 100;

/// A node as the scheduler's snapshot holds it: the Node, its pods (assumed ones included) and
/// the aggregates the plugins read.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    /// Sum of effective requests of pods on the node; `pods` counts them.
    pub requested: Resources,
    /// The same with the scoring defaults (100m CPU / 200Mi memory for absent requests).
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
    pub pods: Vec<Arc<Pod>>,
    /// How many of `pods` have any pod (anti-)affinity, and required anti-affinity.
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    /// Host ports in use: (protocol, hostIP, port).
    pub used_ports: Vec<(String, String, i32)>,
    /// Image name → size, from `status.images` (every name of every image).
    pub images: BTreeMap<String, i64>,
}

impl NodeInfo {
    pub fn new(node: Arc<Node>) -> NodeInfo {
        let mut ni = NodeInfo {
            node: node.clone(),
            requested: Resources::default(),
            non_zero_cpu_milli: 0,
            non_zero_memory: 0,
            pods: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            used_ports: Vec::new(),
            images: BTreeMap::new(),
        };
        ni.set_node(node);
        ni
    }

    pub fn set_node(&mut self, node: Arc<Node>) {
        self.images.clear();
        for img in &node.status.images {
            for n in &img.names {
                self.images.insert(n.clone(), img.size_bytes);
            }
        }
        self.node = node;
    }

    pub fn add_pod(&mut self, pod: Arc<Pod>) {
        let req = PodRequest::of(&pod);
        self.requested.add(&req.request);
        self.non_zero_cpu_milli += req.non_zero_cpu_milli;
        self.non_zero_memory += req.non_zero_memory;
        if has_pod_affinity(&pod) {
            self.pods_with_affinity += 1;
        }
        if has_required_anti_affinity(&pod) {
            self.pods_with_required_anti_affinity += 1;
        }
        for p in host_ports(&pod) {
            self.used_ports.push(p);
        }
        self.pods.push(pod);
    }

    /// Removes the pod with this key and returns it; None if it is not here.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<Pod>> {
        let i = self.pods.iter().position(|p| p.has_key(key))?;
        Some(self.remove_pod_at(i))
    }

    /// Removes the i-th of `pods` and returns it.
    pub fn remove_pod_at(&mut self, i: usize) -> Arc<Pod> {
        let pod = self.pods.remove(i);
        let req = PodRequest::of(&pod);
        self.requested.sub(&req.request);
        self.non_zero_cpu_milli -= req.non_zero_cpu_milli;
        self.non_zero_memory -= req.non_zero_memory;
        if has_pod_affinity(&pod) {
            self.pods_with_affinity -= 1;
        }
        if has_required_anti_affinity(&pod) {
            self.pods_with_required_anti_affinity -= 1;
        }
        for p in host_ports(&pod) {
            if let Some(j) = self.used_ports.iter().position(|u| *u == p) {
                self.used_ports.remove(j);
            }
        }
        pod
    }
}

pub fn has_pod_affinity(pod: &Pod) -> bool {
    pod.spec
        .affinity
        .as_ref()
        .is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some())
}

pub fn has_required_anti_affinity(pod: &Pod) -> bool {
    pod.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .is_some_and(|a| !a.required.is_empty())
}

pub use crate::model::predicates::host_ports;

/// The cluster as one scheduling cycle sees it: node infos in the snapshot's zone-interleaved
/// order (`order` indexes `slots`), plus the cluster-wide summaries some plugins need.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    pub slots: &'a [Option<NodeInfo>],
    pub order: &'a [usize],
    /// Image name → number of nodes that have it (ImageLocality's spread).
    pub image_nodes: &'a BTreeMap<String, usize>,
    /// The same names' per-slot size columns (None: ImageLocality reads each node's map).
    pub image_sizes: Option<&'a image_locality::ImageSizes>,
    /// The Services and controllers `helper.DefaultSelector` derives default spreading
    /// selectors from (PodTopologySpread's default constraints).
    pub spread_selectors: &'a pod_topology_spread::SelectorSources,
    /// Cached PodTopologySpread counts (None: count every time, as upstream does).
    pub spread_index: Option<&'a pod_topology_spread::index::SpreadIndex>,
    /// Kept InterPodAffinity counts (None: walk every pod, as upstream does).
    pub ipa_index: Option<&'a inter_pod_affinity::index::IpaIndex>,
    /// Cluster-wide pod counts (so plugins can skip work without walking every node).
    pub totals: PodTotals,
}

/// Pods on all nodes, and how many of them carry (anti-)affinity terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodTotals {
    pub pods: usize,
    pub with_affinity: usize,
    pub with_required_anti_affinity: usize,
}

impl PodTotals {
    pub fn of<'a>(nodes: impl Iterator<Item = &'a NodeInfo>) -> PodTotals {
        let mut t = PodTotals::default();
        for n in nodes {
            t.pods += n.pods.len();
            t.with_affinity += n.pods_with_affinity;
            t.with_required_anti_affinity += n.pods_with_required_anti_affinity;
        }
        t
    }
    pub fn add(&mut self, pod: &Pod, sign: isize) {
        let f = |x: &mut usize, on: bool| {
            if on {
                *x = x.saturating_add_signed(sign);
            }
        };
        f(&mut self.pods, true);
        f(&mut self.with_affinity, has_pod_affinity(pod));
        f(
            &mut self.with_required_anti_affinity,
            has_required_anti_affinity(pod),
        );
    }
}

impl<'a> Snapshot<'a> {
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    /// The i-th node in snapshot order.
    pub fn get(&self, i: usize) -> &'a NodeInfo {
        match &self.slots[self.order[i]] {
            Some(n) => n,
            None => unreachable!("snapshot order names only live slots"),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &'a NodeInfo> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// What a pod asks for, computed once per scheduling cycle.
#[derive(Clone, Debug, Default)]
pub struct PodRequest {
    pub request: Resources,
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
}

/// Scoring defaults for absent requests (`DefaultMilliCPURequest`, `DefaultMemoryRequest`,
/// reference scheduler §2.1).
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

/// A resource amount by its Kubernetes name.
pub fn resource_by_name(r: &Resources, name: &str) -> i64 {
    ResKey::of(name).get(r)
}

/// A resource name resolved once (scoring reads it for every node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResKey {
    Cpu,
    Memory,
    EphemeralStorage,
    Pods,
    /// Extended ("scarce") resources such as `nvidia.com/gpu`.
    Scalar(String),
}

impl ResKey {
    pub fn of(name: &str) -> ResKey {
        match name {
            "cpu" => ResKey::Cpu,
            "memory" => ResKey::Memory,
            "ephemeral-storage" => ResKey::EphemeralStorage,
            "pods" => ResKey::Pods,
            other => ResKey::Scalar(other.to_string()),
        }
    }
    pub fn get(&self, r: &Resources) -> i64 {
        match self {
            ResKey::Cpu => r.cpu_milli,
            ResKey::Memory => r.memory,
            ResKey::EphemeralStorage => r.ephemeral_storage,
            ResKey::Pods => r.pods,
            ResKey::Scalar(n) => r.scalar.get(n).copied().unwrap_or(0),
        }
    }
}

/// `DefaultNormalizeScore` (reference scheduler §2.6–2.7): scale to [0, 100] by the maximum,
/// optionally reversed; all-zero scores stay 0 (or become 100 when reversed).
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0).max(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}

/// `a / b` as integer division, computed through the floating-point divider when both fit in
/// 53 bits: x86-64's 64-bit `idiv` takes 40–90 cycles, and the resource scores divide three
/// times per node. The float quotient of exact operands is within one of the true quotient, so
/// one correction step makes the result exact; other operands take the integer division.
pub fn div_floor(a: i64, b: i64) -> i64 {
    const EXACT: i64 = 1 << 53;
    if !(0..EXACT).contains(&a) || !(1..EXACT).contains(&b) {
        return a / b;
    }
    let q = (a as f64 / b as f64) as i64;
    if q * b > a {
        q - 1
    } else if (q + 1) * b <= a {
        q + 1
    } else {
        q
    }
}

/// Go's `math.Round`: half away from zero; `x.round() as i64` without the libm call
/// (`round` is a function call on x86-64 without SSE4.1, and scoring rounds once per node).
/// Below 2^52 the integer part `t` and the fraction `x − t` are exact; from 2^52 on (and for
/// infinities and NaN) `x` is already integral and the cast alone gives `round`'s result.
#[inline]
pub fn round_half_away(x: f64) -> i64 {
    const INTEGRAL_FROM: f64 = 4_503_599_627_370_496.0; // 2^52
    if x.is_nan() || x.abs() >= INTEGRAL_FROM {
        return x as i64;
    }
    let t = x as i64;
    let f = x - t as f64;
    if f >= 0.5 {
        t + 1
    } else if f <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// A label selector that may be absent: `None` matches nothing (`labels.Nothing()`).
pub fn selector_matches(
    sel: Option<&LabelSelector>,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    sel.is_some_and(|s| s.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::div_floor;

    // The float route must agree with integer division everywhere, including quotients just
    // below an integer, operands near 2^53 and the fallbacks (negative, zero-free, huge).
    #[test]
    fn div_floor_is_integer_division() {
        let big = (1i64 << 53) - 1;
        let mut cases = vec![
            (0, 1),
            (99, 100),
            (100, 100),
            (big, 1),
            (big, 3),
            (big - 1, big),
            (big, big),
            (big, 2),
            (-7, 2),
            (i64::MAX, 7),
            (3_435_973_836_800, 34_359_738_368),
            (3_435_973_836_700, 34_359_738_368),
        ];
        // Products that sit exactly on, just below and just above multiples.
        for b in [3i64, 7, 4000, 34_359_738_368, (1 << 40) + 1, big / 3] {
            for q in [1i64, 99, 100, 12_345, big / b] {
                for d in [-1i64, 0, 1] {
                    if let Some(a) = q.checked_mul(b).and_then(|p| p.checked_add(d)) {
                        cases.push((a.max(0), b));
                    }
                }
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = (x >> 11) as i64;
            let b = ((x.rotate_left(29) >> (11 + (x % 40))) as i64).max(1);
            cases.push((a, b));
        }
        for (a, b) in cases {
            assert_eq!(div_floor(a, b), a / b, "{a} / {b}");
        }
    }

    // Go's math.Round (half away from zero) as `f64::round` computes it, at the halves, just
    // beside them, at 2^52 and 2^53, beyond i64, and for infinities and NaN.
    #[test]
    fn round_half_away_is_math_round() {
        use super::round_half_away;
        let mut cases = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            1e19,
            -1e19,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for k in -2000i32..2000 {
            let x = f64::from(k) / 4.0;
            cases.extend([x, x.next_up(), x.next_down()]);
        }
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(f64::from_bits(x));
            cases.push((x >> 11) as f64 / 1024.0 - 4e12);
        }
        for x in cases {
            assert_eq!(round_half_away(x), x.round() as i64, "{x:e}");
        }
    }
}
