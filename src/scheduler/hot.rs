//! The scheduler's flat per-node columns: for each node slot, the few numbers and flags the
//! filters and scores read for a plain pod (allocatable and requested resources, non-zero
//! requests, cordon / taint / image flags), packed in one `Vec` so that a scheduling cycle
//! walks a few cache lines per node instead of chasing `NodeInfo` → `Arc<Node>` → label maps.
//!
//! The columns decide only what they can decide exactly; whenever a flag says "look closer"
//! (a cordoned or tainted node, an image list, a pod with scalar requests, ports, affinity…)
//! the framework runs the plugin itself on the `NodeInfo`, and every failing node is
//! re-filtered by the plain framework so its reasons are the plugins' own. Formulas are shared
//! with the plugins (`score_with`), never copied.
//!
//! Architecture invariant: `HotNode::of(info)` is the only writer; the scheduler refreshes a
//! slot's row after every change to its `NodeInfo`, so a row never disagrees with its node.

use std::collections::BTreeMap;

use super::framework::{Plugin, Profile};
use super::plugins::{NodeInfo, ResKey};
use crate::model::{NodeSelectorTerm, Pod, TaintEffect};

/// The node is cordoned (`spec.unschedulable`).
pub const UNSCHEDULABLE: u32 = 1;
/// The node has a NoSchedule or NoExecute taint.
pub const HARD_TAINTS: u32 = 1 << 1;
/// The node has a PreferNoSchedule taint.
pub const PREFER_TAINTS: u32 = 1 << 2;
/// The node reports images (`status.images`).
pub const IMAGES: u32 = 1 << 3;

/// One node's hot columns. Resource arrays are indexed cpu (milli), memory, ephemeral
/// storage, pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HotNode {
    pub allocatable: [i64; 4],
    pub requested: [i64; 4],
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
    pub flags: u32,
}

impl HotNode {
    pub fn of(info: &NodeInfo) -> HotNode {
        let a = &info.node.status.allocatable;
        let r = &info.requested;
        let mut flags = 0;
        if info.node.spec.unschedulable {
            flags |= UNSCHEDULABLE;
        }
        for t in &info.node.spec.taints {
            flags |= if t.effect == TaintEffect::PreferNoSchedule {
                PREFER_TAINTS
            } else {
                HARD_TAINTS
            };
        }
        if !info.images.is_empty() {
            flags |= IMAGES;
        }
        HotNode {
            allocatable: [a.cpu_milli, a.memory, a.ephemeral_storage, a.pods],
            requested: [r.cpu_milli, r.memory, r.ephemeral_storage, r.pods],
            non_zero_cpu_milli: info.non_zero_cpu_milli,
            non_zero_memory: info.non_zero_memory,
            flags,
        }
    }

    /// `node_resources_fit::allocatable_and_requested` from the columns; None for an extended
    /// resource the pod requests (only the `NodeInfo` has those).
    pub fn alloc_reqd(
        &self,
        key: &ResKey,
        pod_request: i64,
        use_requested: bool,
    ) -> Option<(i64, i64)> {
        let i = match key {
            ResKey::Cpu => 0,
            ResKey::Memory => 1,
            ResKey::EphemeralStorage => 2,
            ResKey::Pods => 3,
            ResKey::Scalar(_) if pod_request == 0 => return Some((0, 0)),
            ResKey::Scalar(_) => return None,
        };
        let used = match (i, use_requested) {
            (0, false) => self.non_zero_cpu_milli,
            (1, false) => self.non_zero_memory,
            _ => self.requested[i],
        };
        Some((self.allocatable[i], used + pod_request))
    }
}

/// Rows with a PreferNoSchedule taint: while there are none, TaintToleration scores every
/// node alike and a plain pod's cycle can choose its node while filtering.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    rows: Vec<HotNode>,
    soft_tainted: usize,
}

impl Rows {
    pub fn set(&mut self, slot: usize, row: HotNode) {
        let soft = |h: &HotNode| usize::from(h.flags & PREFER_TAINTS != 0);
        self.soft_tainted -= soft(&self.rows[slot]);
        self.soft_tainted += soft(&row);
        self.rows[slot] = row;
    }

    pub fn push(&mut self, row: HotNode) {
        self.rows.push(HotNode::default());
        self.set(self.rows.len() - 1, row);
    }

    pub fn as_slice(&self) -> &[HotNode] {
        &self.rows
    }

    /// Some node has a PreferNoSchedule taint.
    pub fn any_soft_taint(&self) -> bool {
        self.soft_tainted > 0
    }
}

/// What the columns can tell about one pod's filters, decided once per cycle.
#[derive(Clone, Debug)]
pub struct FilterPlan {
    /// Flags that send a node to the plugins themselves.
    look_closer: u32,
    /// NodeResourcesFit from the columns: the pod's request (cpu, memory, ephemeral, pods)
    /// and whether it asks for nothing.
    fit: Option<([i64; 4], bool)>,
    /// NodeAffinity's required part, answered through the `AffinityMemo`.
    pub affinity: bool,
    /// PodTopologySpread answered by slot (`pod_topology_spread::SlotVerdicts`).
    pub spread_by_slot: bool,
    /// Filter plugins the columns cannot decide for this pod, run on the `NodeInfo`, in the
    /// profile's order (so the first failure among them is the framework's).
    pub slow: Vec<Plugin>,
}

impl FilterPlan {
    pub fn new(profile: &Profile, pod: &Pod, state: &super::framework::CycleState) -> FilterPlan {
        let mut plan = FilterPlan {
            look_closer: 0,
            fit: None,
            affinity: false,
            spread_by_slot: false,
            slow: Vec::new(),
        };
        for &p in &profile.filters {
            match p {
                Plugin::NodeUnschedulable => plan.look_closer |= UNSCHEDULABLE,
                Plugin::TaintToleration => plan.look_closer |= HARD_TAINTS,
                Plugin::NodeName if pod.spec.node_name.is_some() => plan.slow.push(p),
                // The profile's added required affinity is checked by the plugin itself.
                Plugin::NodeAffinity if profile.node_affinity.added_required.is_some() => {
                    plan.slow.push(p)
                }
                Plugin::NodeAffinity => plan.affinity = super::has_required_node_affinity(pod),
                Plugin::NodePorts if !state.ports.is_empty() => plan.slow.push(p),
                Plugin::NodeResourcesFit => {
                    let q = &state.req.request;
                    if q.scalar.values().any(|v| *v != 0) {
                        plan.slow.push(p);
                    } else {
                        let ask = [q.cpu_milli, q.memory, q.ephemeral_storage, q.pods];
                        let nothing = ask[..3].iter().all(|v| *v == 0);
                        plan.fit = Some((ask, nothing));
                    }
                }
                Plugin::PodTopologySpread => match &state.spread {
                    Some(s) if s.by_slot.is_some() => plan.spread_by_slot = true,
                    Some(_) => plan.slow.push(p),
                    None => {}
                },
                Plugin::InterPodAffinity if state.ipa.is_some() => plan.slow.push(p),
                // Open-Gpu-Share reads the node's devices from its pods.
                Plugin::OpenGpuShare if state.gpu.is_some() => plan.slow.push(p),
                // The rest pass without a look (nothing to check for this pod, or no filter).
                _ => {}
            }
        }
        plan
    }

    /// True when the columns alone show that every column-decided filter passes; false means
    /// "fails, or look closer".
    pub fn passes(&self, h: &HotNode) -> bool {
        if h.flags & self.look_closer != 0 {
            return false;
        }
        match self.fit {
            None => true,
            Some((ask, nothing)) => fits(h, &ask, nothing),
        }
    }
}

/// NodeAffinity's required verdict per slot (`node_affinity::required_matches`: the pod's
/// nodeSelector and required terms against the node's labels and name) for one pod shape; a
/// cycle computes a slot's verdict at most once per shape, and the scheduler forgets a slot's
/// verdict whenever its node's labels change.
#[derive(Clone, Debug, Default)]
pub struct AffinityMemo {
    key: Option<(BTreeMap<String, String>, Vec<NodeSelectorTerm>)>,
    /// Per slot: 0 unknown, 1 matches, 2 does not.
    verdict: Vec<u8>,
}

fn required_terms(pod: &Pod) -> &[NodeSelectorTerm] {
    pod.spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required.as_deref())
        .unwrap_or(&[])
}

impl AffinityMemo {
    /// Makes the memo stand for this pod's selector and terms, over `slots` slots.
    pub fn prepare(&mut self, pod: &Pod, slots: usize) {
        self.verdict.resize(slots, 0);
        let terms = required_terms(pod);
        let same = self
            .key
            .as_ref()
            .is_some_and(|(s, t)| *s == pod.spec.node_selector && t.as_slice() == terms);
        if !same {
            self.verdict.iter_mut().for_each(|v| *v = 0);
            self.key = Some((pod.spec.node_selector.clone(), terms.to_vec()));
        }
    }

    /// The slot's node changed its labels (or left).
    pub fn forget(&mut self, slot: usize) {
        if let Some(v) = self.verdict.get_mut(slot) {
            *v = 0;
        }
    }

    /// The verdict for `slot`, from `compute` the first time.
    pub fn matches(&mut self, slot: usize, compute: impl FnOnce() -> bool) -> bool {
        match self.verdict[slot] {
            1 => true,
            2 => false,
            _ => {
                let m = compute();
                self.verdict[slot] = if m { 1 } else { 2 };
                m
            }
        }
    }
}

/// `node_resources_fit::filter` without extended resources: true when nothing is reported.
fn fits(h: &HotNode, ask: &[i64; 4], nothing: bool) -> bool {
    let (a, r) = (&h.allocatable, &h.requested);
    if r[3] + 1 > a[3] {
        return false;
    }
    if nothing {
        return true;
    }
    (0..3).all(|i| ask[i] <= 0 || ask[i] <= a[i] - r[i])
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::*;

    /// A mixed cluster: cordoned, tainted (hard and PreferNoSchedule), image-holding, GPU and
    /// small nodes in two zones.
    fn mixed_node(i: usize) -> crate::model::Node {
        use crate::model::{ContainerImage, Taint, LABEL_ZONE};
        let gpu: &[(&str, i64)] = if i % 7 == 0 {
            &[("nvidia.com/gpu", 2)]
        } else {
            &[]
        };
        let cpu = [4000, 2000, 8000][i % 3];
        let mut n = label(
            node(&format!("n{i}"), cpu, (8 + (i % 4) as i64) << 30, gpu),
            LABEL_ZONE,
            ["a", "b"][i % 2],
        );
        n.spec.unschedulable = i % 11 == 3;
        if i % 5 == 1 {
            n.spec
                .taints
                .push(Taint::new("dedicated", TaintEffect::NoSchedule));
        }
        if i % 6 == 2 {
            n.spec
                .taints
                .push(Taint::new("soft", TaintEffect::PreferNoSchedule));
        }
        if i % 4 == 0 {
            n.status.images.push(ContainerImage {
                names: vec!["web:1".into()],
                size_bytes: 300 << 20,
            });
        }
        n
    }

    /// Pods of several classes: plain, big, GPU, tolerating, with an image, a host port, a
    /// nodeSelector, and requests-free.
    fn mixed_pod(k: usize) -> crate::model::Pod {
        use crate::model::{ContainerPort, Toleration, TolerationOperator, LABEL_ZONE};
        let mut p = match k % 6 {
            0 => pod(&format!("p{k}"), &[&[("cpu", 100), ("memory", 500 << 20)]]),
            1 => pod(&format!("p{k}"), &[&[("cpu", 1500), ("memory", 3 << 30)]]),
            2 => pod(&format!("p{k}"), &[&[("cpu", 200), ("nvidia.com/gpu", 1)]]),
            3 => pod(&format!("p{k}"), &[&[]]),
            _ => pod(&format!("p{k}"), &[&[("cpu", 300), ("memory", 1 << 30)]]),
        };
        if k % 4 == 1 {
            p.spec.tolerations.push(Toleration {
                key: String::new(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: None,
                toleration_seconds: None,
            });
        }
        if k % 3 == 0 {
            p.spec.containers[0].image = "web:1".into();
        }
        if k % 13 == 5 {
            p.spec.containers[0].ports.push(ContainerPort {
                container_port: 80,
                host_port: 8080,
                protocol: String::new(),
                host_ip: String::new(),
            });
        }
        if k % 9 == 4 {
            p.spec.node_selector.insert(LABEL_ZONE.into(), "b".into());
        }
        p
    }

    /// Every decision (node, or the FitError message) of a run with the columns and the memo
    /// equals the plain evaluation's, through fits, failures, fallbacks and a full cluster;
    /// with and without PreferNoSchedule taints (without, plain pods take the fused
    /// filter-and-select walk).
    #[test]
    fn columns_decide_exactly_as_the_plugins() {
        use crate::scheduler::{Outcome, Scheduler, SchedulerConfig};
        use std::sync::Arc;
        let run = |optimised: bool, soft_taints: bool| {
            let mut s = Scheduler::new(SchedulerConfig::default(), 3);
            s.set_optimised(optimised);
            for i in 0..150 {
                let mut n = mixed_node(i);
                if !soft_taints {
                    // No PreferNoSchedule taint anywhere: plain pods choose while filtering.
                    n.spec
                        .taints
                        .retain(|t| t.effect != TaintEffect::PreferNoSchedule);
                }
                s.bench_add_node(Arc::new(n));
            }
            let mut out = Vec::new();
            for k in 0..1200 {
                let p = Arc::new(mixed_pod(k));
                let Some((outcome, _)) = s.decide(&p.key(), &p) else {
                    continue;
                };
                if let Outcome::Feasible { node } = &outcome {
                    let mut b = (*p).clone();
                    b.spec.node_name = Some(node.clone());
                    s.bench_assume(&Arc::new(b), node);
                }
                out.push(outcome);
            }
            out
        };
        for soft_taints in [true, false] {
            let (fast, plain) = (run(true, soft_taints), run(false, soft_taints));
            assert!(fast.iter().any(|o| matches!(o, Outcome::Infeasible { .. })));
            assert_eq!(fast, plain, "soft taints: {soft_taints}");
        }
    }

    #[test]
    fn columns_follow_the_node_info() {
        let mut n = node("a", 4000, 8 << 30, &[]);
        n.spec.unschedulable = true;
        let snap = OwnedSnapshot::new(vec![n], vec![on(pod("p", &[&[("cpu", 500)]]), "a")]);
        let h = HotNode::of(snap.view().get(0));
        assert_eq!(h.requested[0], 500);
        assert_eq!(h.requested[3], 1);
        assert_eq!(h.allocatable[0], 4000);
        // The memory request is absent: scoring counts 200Mi for it.
        assert_eq!(h.non_zero_memory, 200 << 20);
        assert_eq!(h.flags, UNSCHEDULABLE);
    }
}
