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

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::framework::{Plugin, Profile};
use super::plugins::{NodeInfo, ResKey};
use crate::model::{NodeSelectorTerm, Pod, TaintEffect, Toleration};

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
    /// The profile's filters up to its last NodeUnschedulable / TaintToleration, when they
    /// are only those two and a NodeName that cannot fail: a cordoned or hard-tainted node's
    /// first failure, if any, is among them, and the `TaintMemo` answers it.
    pub gate: Option<Vec<Plugin>>,
}

impl FilterPlan {
    pub fn new(profile: &Profile, pod: &Pod, state: &super::framework::CycleState) -> FilterPlan {
        let mut plan = FilterPlan {
            look_closer: 0,
            fit: None,
            affinity: false,
            spread_by_slot: false,
            slow: Vec::new(),
            gate: gate_of(profile, pod),
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

    /// The columns' whole verdict for this pod, when they decide every filter of the profile
    /// (nothing slow, no required node affinity, no spread verdict by slot): a node that
    /// passes it passes `check_at`; any other node still goes through `check_at`.
    pub fn column_check(&self) -> Option<ColumnCheck> {
        (self.slow.is_empty() && !self.affinity && !self.spread_by_slot).then_some(ColumnCheck {
            look_closer: self.look_closer,
            fit: self.fit,
        })
    }

    /// The node needs the gate's verdict (`TaintMemo`) before the columns can say more.
    pub fn needs_gate(&self, h: &HotNode) -> bool {
        self.gate.is_some() && h.flags & self.look_closer & GATE_FLAGS != 0
    }

    /// True when the columns alone show that every column-decided filter passes; false means
    /// "fails, or look closer". With `gated`, the gate's plugins are known to pass.
    #[inline]
    pub fn passes(&self, h: &HotNode, gated: bool) -> bool {
        let look = if gated {
            self.look_closer & !GATE_FLAGS
        } else {
            self.look_closer
        };
        if h.flags & look != 0 {
            return false;
        }
        match self.fit {
            None => true,
            Some((ask, nothing)) => fits(h, &ask, nothing),
        }
    }
}

/// [`FilterPlan::column_check`]: `FilterPlan::passes` ungated, as a small copy the filter walk
/// keeps in registers.
#[derive(Clone, Copy, Debug)]
pub struct ColumnCheck {
    look_closer: u32,
    fit: Option<([i64; 4], bool)>,
}

impl ColumnCheck {
    /// `FilterPlan::passes(h, false)`: no flag asks for a closer look and the columns fit.
    #[inline]
    pub fn passes(&self, h: &HotNode) -> bool {
        h.flags & self.look_closer == 0
            && match &self.fit {
                None => true,
                Some((ask, nothing)) => fits(h, ask, *nothing),
            }
    }
}

/// `FilterPlan::gate`: the profile's filters up to the last NodeUnschedulable or
/// TaintToleration, if every one of them is either of those or NodeName with no `nodeName` on
/// the pod (it then passes everywhere).
fn gate_of(profile: &Profile, pod: &Pod) -> Option<Vec<Plugin>> {
    let gated = |p: &Plugin| matches!(p, Plugin::NodeUnschedulable | Plugin::TaintToleration);
    let last = profile.filters.iter().rposition(gated)?;
    let prefix = &profile.filters[..=last];
    let ok = prefix
        .iter()
        .all(|p| gated(p) || (*p == Plugin::NodeName && pod.spec.node_name.is_none()));
    ok.then(|| prefix.iter().copied().filter(gated).collect())
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

/// The filters a [`TaintMemo`] verdict stands for: NodeUnschedulable and TaintToleration, and
/// NodeName when it cannot fail (the pod names no node).
const GATE_FLAGS: u32 = UNSCHEDULABLE | HARD_TAINTS;

/// At most this many toleration sets are remembered at once (a new one past it starts over).
const MAX_TOLERATION_SETS: usize = 8;
/// At most this many distinct failure reasons are interned (past it the memo starts over).
const MAX_REASONS: usize = 256;

/// NodeUnschedulable's and TaintToleration's verdict per slot, for a few interned toleration
/// sets (the only pod input either plugin reads): a cordoned or hard-tainted node costs one
/// lookup per cycle instead of the plugins, their reason text and a string-keyed count. A
/// failure is kept as an interned (plugin, reason) id; the cycle counts failures per id in a
/// flat array and turns the counts into the FitError's reason map only when nothing fits.
///
/// The scheduler forgets a slot's verdicts whenever its node's taints or `unschedulable`
/// change (or the node leaves), so a verdict always equals the plugins' answer.
#[derive(Clone, Debug, Default)]
pub struct TaintMemo {
    /// (tolerations, per-slot verdict: 0 unknown, 1 passes, 2 + k fails with reason k).
    sets: Vec<(Vec<Toleration>, Vec<u16>)>,
    /// The set of the current cycle.
    current: usize,
    /// Interned failures: the rejecting plugin and its reason.
    reasons: Vec<(Plugin, Cow<'static, str>)>,
    /// This cycle's failing nodes per reason id.
    counts: Vec<usize>,
}

impl TaintMemo {
    /// Makes the memo stand for this pod's tolerations over `slots` slots, with the cycle's
    /// failure counts at zero.
    pub fn prepare(&mut self, pod: &Pod, slots: usize) {
        if self.reasons.len() > MAX_REASONS {
            // Bounded: past this many distinct reasons, start over.
            self.reasons.clear();
            self.sets.clear();
        }
        let tols = &pod.spec.tolerations;
        self.current = match self.sets.iter().position(|(t, _)| t == tols) {
            Some(i) => i,
            None => {
                if self.sets.len() >= MAX_TOLERATION_SETS {
                    self.sets.clear();
                }
                self.sets.push((tols.clone(), Vec::new()));
                self.sets.len() - 1
            }
        };
        self.sets[self.current].1.resize(slots, 0);
        self.counts.clear();
        self.counts.resize(self.reasons.len(), 0);
    }

    /// The slot's node changed its taints or cordon (or left).
    pub fn forget(&mut self, slot: usize) {
        for (_, v) in &mut self.sets {
            if let Some(x) = v.get_mut(slot) {
                *x = 0;
            }
        }
    }

    /// The verdict for `slot` under the prepared tolerations, from `compute` (the gate's
    /// plugins on the node info, in profile order) the first time: Err is a reason id.
    pub fn verdict(
        &mut self,
        slot: usize,
        compute: impl FnOnce() -> Result<(), (Plugin, Cow<'static, str>)>,
    ) -> Result<(), u16> {
        match self.sets[self.current].1[slot] {
            0 => {}
            1 => return Ok(()),
            v => return Err(v - 2),
        }
        let v = match compute() {
            Ok(()) => 1,
            Err(failure) => {
                let id = match self.reasons.iter().position(|r| *r == failure) {
                    Some(id) => id,
                    None => {
                        self.reasons.push(failure);
                        self.counts.push(0);
                        self.reasons.len() - 1
                    }
                };
                id as u16 + 2
            }
        };
        self.sets[self.current].1[slot] = v;
        if v == 1 {
            Ok(())
        } else {
            Err(v - 2)
        }
    }

    /// Counts one failing node for reason `id`; returns the rejecting plugin.
    pub fn count(&mut self, id: u16) -> Plugin {
        self.counts[id as usize] += 1;
        self.reasons[id as usize].0
    }

    /// Adds this cycle's counts to a FitError reason map.
    pub fn add_counts(&self, failures: &mut BTreeMap<Cow<'static, str>, usize>) {
        for (id, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                *failures.entry(self.reasons[id].1.clone()).or_insert(0) += c;
            }
        }
    }
}

/// `node_resources_fit::filter` without extended resources: true when nothing is reported.
#[inline]
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

    /// The taint memo follows taint and cordon changes: nodes are tainted, untainted,
    /// cordoned and uncordoned between cycles of pods with alternating tolerations, and every
    /// decision (node or FitError message) equals the plain evaluation's.
    #[test]
    fn taint_memo_follows_node_changes() {
        use crate::model::{Taint, Toleration, TolerationOperator};
        use crate::scheduler::{Outcome, Scheduler, SchedulerConfig};
        use std::sync::Arc;
        let shaped = |i: usize, round: usize| {
            let mut n = node(&format!("n{i}"), 4000, 8 << 30, &[]);
            if (i + round) % 3 == 0 {
                n.spec.taints.push(Taint::new(
                    "node.kubernetes.io/unreachable",
                    TaintEffect::NoSchedule,
                ));
            }
            n.spec.unschedulable = (i + 2 * round) % 5 == 0;
            n
        };
        let run = |optimised: bool| {
            let mut s = Scheduler::new(SchedulerConfig::default(), 7);
            s.set_optimised(optimised);
            let mut out = Vec::new();
            for round in 0..6 {
                for i in 0..12 {
                    s.bench_add_node(Arc::new(shaped(i, round)));
                }
                for k in 0..8 {
                    let mut p = pod(&format!("p{round}-{k}"), &[&[("cpu", 100)]]);
                    if k % 2 == 1 {
                        p.spec.tolerations.push(Toleration {
                            key: "node.kubernetes.io/unreachable".into(),
                            operator: TolerationOperator::Exists,
                            value: String::new(),
                            effect: None,
                            toleration_seconds: None,
                        });
                    }
                    if k == 6 {
                        // Fits nowhere: the message counts every node's first failure.
                        p.spec.containers[0].requests.cpu_milli = 64_000;
                    }
                    let p = Arc::new(p);
                    let Some((outcome, _)) = s.decide(&p.key(), &p) else {
                        continue;
                    };
                    out.push(outcome);
                }
            }
            out
        };
        let (fast, plain) = (run(true), run(false));
        let taint_msgs = fast.iter().filter(|o| match o {
            Outcome::Infeasible { message, .. } => message.contains("untolerated taint"),
            _ => false,
        });
        assert!(taint_msgs.count() > 0);
        assert_eq!(fast, plain);
    }

    /// `column_check` only ever answers "passes" where every filter plugin of the default
    /// profile passes on the node info (the walk then skips `check_at`), and answers for the
    /// plain pods (no slow filter, no required node affinity).
    #[test]
    fn column_check_passes_only_where_the_plugins_pass() {
        use crate::scheduler::framework::{self, Profile};
        let nodes: Vec<_> = (0..60).map(mixed_node).collect();
        let snap = OwnedSnapshot::new(nodes, vec![]);
        let view = snap.view();
        let profile = Profile::default();
        let (mut decided, mut passed) = (0, 0);
        for k in 0..60 {
            let pod = mixed_pod(k);
            let state = framework::pre_filter(&profile, &pod, &view);
            let Some(check) = FilterPlan::new(&profile, &pod, &state).column_check() else {
                continue;
            };
            decided += 1;
            for i in 0..view.len() {
                let info = view.get(i);
                if check.passes(&HotNode::of(info)) {
                    passed += 1;
                    let verdict = framework::filter(&profile, &pod, &state, info);
                    assert!(verdict.is_ok(), "pod {k} node {i}: {verdict:?}");
                }
            }
        }
        assert!(decided > 0 && passed > 0, "{decided} pods, {passed} passes");
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
