//! The scheduling framework (reference scheduler §1, §2.11): the default profile's plugins in
//! their upstream order, per-profile weights and plugin args, and the extension points a
//! scheduling cycle runs — PreFilter, Filter, PreScore, Score, NormalizeScore — as plain
//! functions over a [`CycleState`] and a [`Snapshot`].
//!
//! Scores are read from the scheduler's flat per-node columns (`hot.rs`) where those decide
//! them exactly, and the column part of a node's total may come from the caller's per-slot
//! memo; the plain path (node infos only) is what `kubesim explain` and the bench's check use.
//!
//! Architecture invariant: the same code path serves `kubesim run`, `kubesim explain` and the
//! bench; nothing here holds state between cycles except reusable buffers and the memo the
//! caller owns (and clears for a slot whenever its node info changes).

use std::borrow::Cow;

use super::hot::{self, HotNode};
use super::plugins::balanced_allocation as balanced;
use super::plugins::inter_pod_affinity as ipa;
use super::plugins::node_resources_fit as fit;
use super::plugins::outoftree::score::{self as gpu_score, Policy};
use super::plugins::outoftree::state::GpuCycle;
use super::plugins::outoftree::{self as gpu, NodeGpu};
use super::plugins::pod_topology_spread as pts;
use super::plugins::*;
use crate::model::{Pod, Toleration, WhenUnsatisfiable};

pub use super::profile::{Plugin, Profile};

/// Why a node failed: the first failing plugin (filters stop there) and its reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub plugin: Plugin,
    pub reasons: Vec<Cow<'static, str>>,
    /// UnschedulableAndUnresolvable: preemption cannot help on this node.
    pub unresolvable: bool,
}

/// What PreFilter computed for one pod.
#[derive(Clone, Debug, Default)]
pub struct CycleState {
    pub req: PodRequest,
    pub ports: node_ports::PreState,
    pub spread: Option<pts::FilterState>,
    pub ipa: Option<ipa::FilterState>,
    /// The out-of-tree GPU plugins' view of the pod (profiles that use them).
    pub gpu: Option<GpuCycle>,
}

/// `RunPreFilterExtensionAddPod` (`delta` 1) / `RemovePod` (−1): the PreFilter states of
/// PodTopologySpread and InterPodAffinity updated for `other` added to or removed from `node`
/// (its info already updated), as preemption's dry run and the nominated-pods filter pass do
/// on their own copy of the cycle state.
pub fn update_state_with_pod(
    state: &mut CycleState,
    incoming: &Pod,
    other: &Pod,
    node: &NodeInfo,
    delta: i64,
) {
    if let Some(s) = state.spread.as_mut() {
        s.update_with_pod(other, incoming, node, delta);
    }
    if let Some(s) = state.ipa.as_mut() {
        s.update_with_pod(other, incoming, node, delta);
    }
}

/// The second filter pass of `RunFilterPluginsWithNominatedPods`: `addNominatedPods` puts the
/// pods nominated to the node (with at least the pod's priority) on a copy of its info and,
/// through the AddPod extensions, into a copy of the cycle state, then the filters run again.
pub fn filter_with_nominated(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    node: &NodeInfo,
    nominated: &[&std::sync::Arc<Pod>],
) -> Result<(), Failure> {
    let mut with = node.clone();
    let mut st = state.clone();
    for p in nominated {
        with.add_pod((*p).clone());
        update_state_with_pod(&mut st, pod, p, &with, 1);
    }
    filter(profile, pod, &st, &with)
}

pub fn pre_filter(profile: &Profile, pod: &Pod, snap: &Snapshot) -> CycleState {
    let on = |p| profile.filters.contains(&p);
    let req = PodRequest::of(pod);
    CycleState {
        gpu: profile.uses_gpu().then(|| GpuCycle::of(pod, &req)),
        req,
        ports: if on(Plugin::NodePorts) {
            host_ports(pod)
        } else {
            Vec::new()
        },
        spread: if on(Plugin::PodTopologySpread) {
            pts::pre_filter(pod, snap, &profile.spread)
        } else {
            None
        },
        ipa: if on(Plugin::InterPodAffinity) {
            ipa::pre_filter(pod, snap)
        } else {
            None
        },
    }
}

/// Runs the profile's filters in order, stopping at the first failure.
pub fn filter(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    node: &NodeInfo,
) -> Result<(), Failure> {
    for &p in &profile.filters {
        filter_one(p, profile, pod, state, node)?;
    }
    Ok(())
}

/// One filter plugin on one node.
pub fn filter_one(
    p: Plugin,
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    node: &NodeInfo,
) -> Result<(), Failure> {
    let one = |r: Result<(), Cow<'static, str>>, unresolvable: bool| {
        r.map_err(|reason| Failure {
            plugin: p,
            reasons: vec![reason],
            unresolvable,
        })
    };
    match p {
        Plugin::NodeUnschedulable => one(node_unschedulable::filter(pod, node), true),
        Plugin::NodeName => one(node_name::filter(pod, node), true),
        Plugin::TaintToleration => one(taint_toleration::filter(pod, node), true),
        Plugin::NodeAffinity => one(
            node_affinity::filter(pod, node, &profile.node_affinity),
            true,
        ),
        Plugin::NodePorts => {
            if state.ports.is_empty() {
                Ok(())
            } else {
                one(node_ports::filter(&state.ports, node), false)
            }
        }
        Plugin::NodeResourcesFit => {
            fit::filter(&state.req, node, &profile.fit).map_err(|reasons| Failure {
                plugin: p,
                reasons,
                unresolvable: false,
            })
        }
        Plugin::PodTopologySpread => match &state.spread {
            Some(st) => pts::filter(st, node).map_err(|(r, u)| Failure {
                plugin: p,
                reasons: vec![r],
                unresolvable: u,
            }),
            None => Ok(()),
        },
        Plugin::InterPodAffinity => match &state.ipa {
            Some(st) => ipa::filter(st, node).map_err(|(r, u)| Failure {
                plugin: p,
                reasons: vec![r],
                unresolvable: u,
            }),
            None => Ok(()),
        },
        Plugin::OpenGpuShare => match &state.gpu {
            Some(g) => one(
                gpu::filter(&NodeGpu::of_info(node), &g.pod).map_err(Cow::Borrowed),
                false,
            ),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `filter_one` for the node in snapshot slot `slot` (`node` is that slot's info): the
/// plugins that keep counts by slot read them directly.
pub fn filter_one_at(
    p: Plugin,
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    slot: usize,
    node: &NodeInfo,
) -> Result<(), Failure> {
    match (p, &state.ipa) {
        (Plugin::InterPodAffinity, Some(st)) => {
            ipa::filter_at(st, slot, node).map_err(|(r, u)| Failure {
                plugin: p,
                reasons: vec![r],
                unresolvable: u,
            })
        }
        _ => filter_one(p, profile, pod, state, node),
    }
}

/// Per-plugin PreScore results for one cycle.
#[derive(Clone, Debug)]
enum PreScored {
    Skip,
    Taint(Vec<Toleration>),
    Affinity,
    Fit(fit::ScoreState),
    Spread(pts::ScoreState),
    Ipa(ipa::ScoreState),
    Balanced(balanced::ScoreState),
    Images(image_locality::Images),
    /// RandomScore: the one node PreScore drew (None outside the scheduler).
    Random(Option<String>),
    /// The other GPU score plugins.
    Gpu(Policy, Box<GpuCycle>),
}

/// Scores of the nodes of one cycle: per score plugin its raw and normalised scores, and each
/// node's weighted total. Buffers are reused across cycles.
#[derive(Clone, Debug, Default)]
pub struct ScoreTable {
    /// (plugin, weight, skipped by PreScore).
    pub plugins: Vec<(Plugin, i64, bool)>,
    pub raw: Vec<Vec<i64>>,
    pub normalized: Vec<Vec<i64>>,
    pub total: Vec<i64>,
    /// Per score plugin its PreScore result (empty between cycles: the states may hold
    /// shares of the indexes' counts).
    pres: Vec<PreScored>,
    /// PodTopologySpread's ignored nodes, for its normalisation.
    ignored: Vec<bool>,
    /// Raw scores of the plugin `add_normalized_by_slot` adds (no rows kept).
    raw_buf: Vec<i64>,
    /// `spread::select`'s weighted normalised score per raw score from the minimum.
    norm_buf: Vec<i64>,
}

/// The nodes a cycle scores: node infos, or slots of the snapshot with the scheduler's flat
/// columns (`hot`), from which plain pods' scores are read without touching the `NodeInfo`.
#[derive(Clone, Copy)]
pub enum ScoredNodes<'s> {
    Infos(&'s [&'s NodeInfo]),
    Slots {
        slots: &'s [usize],
        hot: &'s [HotNode],
    },
}

impl<'s> ScoredNodes<'s> {
    fn len(&self) -> usize {
        match self {
            ScoredNodes::Infos(v) => v.len(),
            ScoredNodes::Slots { slots, .. } => slots.len(),
        }
    }
    fn info<'a: 's>(&self, j: usize, snap: &Snapshot<'a>) -> &'s NodeInfo {
        match self {
            ScoredNodes::Infos(v) => v[j],
            ScoredNodes::Slots { slots, .. } => match &snap.slots[slots[j]] {
                Some(n) => n,
                None => unreachable!("scored slots are live"),
            },
        }
    }
    fn slot(&self, j: usize) -> Option<usize> {
        match self {
            ScoredNodes::Infos(_) => None,
            ScoredNodes::Slots { slots, .. } => Some(slots[j]),
        }
    }
    fn slots(&self) -> Option<&'s [usize]> {
        match self {
            ScoredNodes::Infos(_) => None,
            ScoredNodes::Slots { slots, .. } => Some(slots),
        }
    }
    fn hot(&self, j: usize) -> Option<&'s HotNode> {
        match self {
            ScoredNodes::Infos(_) => None,
            ScoredNodes::Slots { slots, hot } => Some(&hot[slots[j]]),
        }
    }
}

/// PreScore, Score and NormalizeScore of every score plugin over `nodes`, then the weighted
/// totals (reference scheduler §2.11).
pub fn score(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    snap: &Snapshot,
    nodes: &[&NodeInfo],
    table: &mut ScoreTable,
) {
    score_nodes(
        profile,
        pod,
        state,
        snap,
        ScoredNodes::Infos(nodes),
        table,
        true,
        None,
    );
}

/// A node's memoised sum of the weighted scores that need no normalisation, for one class of
/// pods (`class`: the scheduler numbers the distinct score inputs; 0 = nothing memoised). The
/// scheduler clears a slot's memo whenever its node info changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memo {
    pub class: u64,
    pub total: i64,
}

/// `score` over any node source; with `keep_rows` false only `table.total` is filled (a
/// scheduling cycle needs nothing else), and with `memo` the column-computed part of each
/// slot's total is remembered for the next pod of the same class.
#[allow(clippy::too_many_arguments)]
pub fn score_nodes(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    snap: &Snapshot,
    nodes: ScoredNodes,
    table: &mut ScoreTable,
    keep_rows: bool,
    memo: Option<(&mut [Memo], u64)>,
) {
    let n = nodes.len();
    table.plugins.clear();
    table.total.clear();
    table.total.resize(n, 0);
    // PodTopologySpread's PreScore reads the scored nodes' infos; built only when it runs.
    let mut infos: Vec<&NodeInfo> = Vec::new();
    let mut pres = std::mem::take(&mut table.pres);
    pres.clear();
    pres.extend(
        profile
            .scores
            .iter()
            .map(|&(p, _)| pre_score_one(p, profile, pod, state, snap, nodes, &mut infos)),
    );
    if !keep_rows {
        // Scores without NormalizeScore go straight into the totals.
        let direct: Vec<(i64, &PreScored)> = profile
            .scores
            .iter()
            .zip(&pres)
            .filter(|(_, pre)| !matches!(pre, PreScored::Skip) && !normalizes(pre))
            .map(|(&(_, w), pre)| (w, pre))
            .collect();
        add_direct(&direct, profile, pod, snap, nodes, &mut table.total, memo);
    }
    for (k, (&(p, w), pre)) in profile.scores.iter().zip(&pres).enumerate() {
        if table.raw.len() <= k {
            table.raw.push(Vec::new());
            table.normalized.push(Vec::new());
        }
        let skipped = matches!(pre, PreScored::Skip);
        table.plugins.push((p, w, skipped));
        let raw = &mut table.raw[k];
        raw.clear();
        let norm = &mut table.normalized[k];
        norm.clear();
        if !keep_rows && (skipped || !normalizes(pre)) {
            continue;
        }
        if !keep_rows && add_normalized_by_slot(pre, w, snap, nodes, table) {
            continue;
        }
        let raw = &mut table.raw[k];
        let norm = &mut table.normalized[k];
        raw.extend((0..n).map(|j| raw_score(pre, profile, pod, snap, nodes, j)));
        norm.extend_from_slice(raw);
        match pre {
            PreScored::Taint(_) => taint_toleration::normalize(norm),
            PreScored::Affinity => node_affinity::normalize(norm),
            PreScored::Spread(s) => {
                let ignored = &mut table.ignored;
                ignored.clear();
                ignored.extend((0..n).map(|j| {
                    nodes
                        .slot(j)
                        .and_then(|slot| pts::is_ignored_at(s, slot))
                        .unwrap_or_else(|| pts::is_ignored(s, nodes.info(j, snap)))
                }));
                pts::normalize(norm, ignored)
            }
            PreScored::Ipa(_) => ipa::normalize(norm),
            PreScored::Gpu(Policy::BestFit, _) => gpu_score::normalize(norm),
            _ => {}
        }
        for (t, s) in table.total.iter_mut().zip(norm.iter()) {
            *t += s * w;
        }
    }
    table.raw.truncate(profile.scores.len());
    table.normalized.truncate(profile.scores.len());
    pres.clear();
    table.pres = pres;
}

/// Σ weight × normalised score of one normalising plugin added to the totals in a pass or two
/// over the slots, without its rows, where the columns or the spread index decide every raw
/// score: TaintToleration when no scored node has a PreferNoSchedule taint (every raw score
/// 0, reverse-normalised to 100), PodTopologySpread in its slot form (`pts::score_slots`, the
/// same arithmetic as `raw_score` then `pts::normalize`). False: nothing added, the caller
/// takes the general path.
fn add_normalized_by_slot(
    pre: &PreScored,
    w: i64,
    snap: &Snapshot,
    nodes: ScoredNodes,
    table: &mut ScoreTable,
) -> bool {
    let ScoredNodes::Slots { slots, hot } = nodes else {
        return false;
    };
    match pre {
        PreScored::Taint(_) => {
            if slots
                .iter()
                .any(|&s| hot[s].flags & hot::PREFER_TAINTS != 0)
            {
                return false;
            }
            table
                .total
                .iter_mut()
                .for_each(|t| *t += MAX_NODE_SCORE * w);
            true
        }
        PreScored::Spread(s) => {
            let (raw, ignored) = (&mut table.raw_buf, &mut table.ignored);
            let Some((min, max)) = pts::score_slots(s, slots, snap, raw, ignored) else {
                return false;
            };
            for ((t, &v), &ig) in table.total.iter_mut().zip(raw.iter()).zip(ignored.iter()) {
                if !ig {
                    *t += pts::normalized(v, min, max) * w;
                }
            }
            true
        }
        _ => false,
    }
}

fn normalizes(pre: &PreScored) -> bool {
    matches!(
        pre,
        PreScored::Taint(_)
            | PreScored::Affinity
            | PreScored::Spread(_)
            | PreScored::Ipa(_)
            | PreScored::Gpu(Policy::BestFit, _)
    )
}

/// A plain pod's scoring decided before its nodes are filtered: every score plugin either
/// skips, needs no normalisation (its weighted raw score goes straight into the total, as in
/// `score_nodes`), or is TaintToleration while no node has a PreferNoSchedule taint (every raw
/// score 0, reverse-normalised to 100 on every node). A node's total then depends on the node
/// alone, so the scheduler can compute it as the filter walk finds the node.
pub struct PlainScorer {
    /// The memoised part: NodeResourcesFit and BalancedAllocation.
    direct: Vec<(i64, PreScored)>,
    /// ImageLocality (weight, PreScore), computed for every node (`image_raw`).
    images: Vec<(i64, image_locality::Images)>,
    /// Σ weight × normalised score of the plugins that score every node alike.
    offset: i64,
    /// PodTopologySpread's weight when its soft (or default) constraints score the pod and
    /// the scorer was asked to leave them out (`new`'s `spread_apart`): `total` is then the
    /// rest, and `spread::select` adds the spread part once the feasible nodes are known.
    pub spread: Option<i64>,
}

impl PlainScorer {
    /// None when some plugin's scores need the other nodes (normalisation) or the pod's
    /// PreScore does not skip where the columns cannot help (preferred node affinity, soft
    /// spread constraints, inter-pod affinity scores). `soft_taints`: some node has a
    /// PreferNoSchedule taint. With `spread_apart`, soft spread constraints do not make it
    /// None: PodTopologySpread is left out of `total` and its weight kept in `spread`.
    pub fn new(
        profile: &Profile,
        pod: &Pod,
        state: &CycleState,
        snap: &Snapshot,
        soft_taints: bool,
        spread_apart: bool,
    ) -> Option<PlainScorer> {
        const SOFT: WhenUnsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
        let mut sc = PlainScorer {
            direct: Vec::new(),
            images: Vec::new(),
            offset: 0,
            spread: None,
        };
        for &(p, w) in &profile.scores {
            match p {
                // The GPU plugins read the node's devices from its pods (and RandomScore
                // draws in PreScore): never from the columns.
                p if p.is_out_of_tree() => return None,
                Plugin::TaintToleration if soft_taints => return None,
                Plugin::TaintToleration => sc.offset += w * MAX_NODE_SCORE,
                Plugin::NodeAffinity
                    if node_affinity::has_preferred(pod, &profile.node_affinity) =>
                {
                    return None
                }
                Plugin::PodTopologySpread
                    if !pts::constraints(pod, snap, &profile.spread, SOFT).is_empty() =>
                {
                    if !spread_apart || sc.spread.is_some() {
                        return None;
                    }
                    sc.spread = Some(w);
                }
                Plugin::InterPodAffinity if ipa::pre_score(pod, snap, &profile.ipa).is_some() => {
                    return None
                }
                Plugin::NodeResourcesFit
                | Plugin::NodeResourcesBalancedAllocation
                | Plugin::ImageLocality => {
                    let mut none = Vec::new();
                    let nodes = ScoredNodes::Infos(&[]);
                    match pre_score_one(p, profile, pod, state, snap, nodes, &mut none) {
                        PreScored::Skip => {}
                        PreScored::Images(i) => sc.images.push((w, i)),
                        pre => sc.direct.push((w, pre)),
                    }
                }
                _ => {}
            }
        }
        Some(sc)
    }

    /// The node's total score (`score_nodes`' total), with the direct part from the slot's
    /// memo or computed and memoised as `add_direct` does, and ImageLocality's from the
    /// columns (`image_raw`).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn total<'n>(
        &self,
        profile: &Profile,
        pod: &Pod,
        snap: &Snapshot,
        h: &HotNode,
        slot: usize,
        info: impl FnOnce() -> &'n NodeInfo,
        memo: &mut Memo,
        class: u64,
    ) -> i64 {
        let mut info = Some(info);
        let mut node: Option<&NodeInfo> = None;
        let mut node_info = || *node.get_or_insert_with(|| (info.take().expect("once"))());
        let mut sum = if memo.class == class {
            memo.total
        } else {
            let mut sum = 0;
            let mut memoise = true;
            for (w, pre) in &self.direct {
                let v = match fast_raw(pre, profile, h) {
                    Some(v) => v,
                    None => {
                        memoise = false;
                        full_raw(pre, profile, pod, snap, node_info())
                    }
                };
                sum += v * w;
            }
            if memoise {
                *memo = Memo { class, total: sum };
            }
            sum
        };
        for (w, i) in &self.images {
            sum += w * image_raw(i, snap, h, slot, &mut node_info);
        }
        sum + self.offset
    }
}

/// Adds Σ weight × raw of the plugins without normalisation to each node's total; a sum the
/// columns decided entirely is memoised per slot, ImageLocality aside (its spreads move with
/// every node's images: it is computed for every node, from the columns where they exist).
fn add_direct(
    direct: &[(i64, &PreScored)],
    profile: &Profile,
    pod: &Pod,
    snap: &Snapshot,
    nodes: ScoredNodes,
    total: &mut [i64],
    mut memo: Option<(&mut [Memo], u64)>,
) {
    let is_images = |&&(_, pre): &&(i64, &PreScored)| matches!(pre, PreScored::Images(_));
    let images: Vec<(i64, &PreScored)> = direct.iter().filter(is_images).copied().collect();
    let direct: Vec<(i64, &PreScored)> = direct.iter().filter(|e| !is_images(e)).copied().collect();
    for (j, t) in total.iter_mut().enumerate() {
        let slot = nodes.slot(j);
        for &(w, pre) in &images {
            if let PreScored::Images(i) = pre {
                let v = match (nodes.hot(j), slot) {
                    (Some(h), Some(slot)) => image_raw(i, snap, h, slot, || nodes.info(j, snap)),
                    _ => image_locality::score(i, nodes.info(j, snap)),
                };
                *t += v * w;
            }
        }
        if let (Some((m, class)), Some(slot)) = (&memo, slot) {
            let e = m[slot];
            if e.class == *class {
                *t += e.total;
                continue;
            }
        }
        let mut sum = 0;
        let mut memoise = true;
        for &(w, pre) in &direct {
            let v = match nodes.hot(j).and_then(|h| fast_raw(pre, profile, h)) {
                Some(v) => v,
                None => {
                    memoise = false;
                    full_raw(pre, profile, pod, snap, nodes.info(j, snap))
                }
            };
            sum += v * w;
        }
        *t += sum;
        if let (Some((m, class)), Some(slot)) = (&mut memo, slot) {
            if memoise {
                m[slot] = Memo {
                    class: *class,
                    total: sum,
                };
            }
        }
    }
}

/// ImageLocality's raw score of the node in `slot` (`h` its columns): the floor for a node
/// without images, else from the size columns (`image_locality::score_at`), else from the
/// node's image map.
#[inline]
fn image_raw<'n>(
    i: &image_locality::Images,
    snap: &Snapshot,
    h: &HotNode,
    slot: usize,
    info: impl FnOnce() -> &'n NodeInfo,
) -> i64 {
    if h.flags & hot::IMAGES == 0 {
        return i.floor;
    }
    match snap
        .image_sizes
        .and_then(|s| image_locality::score_at(i, s, slot))
    {
        Some(v) => v,
        None => image_locality::score(i, info()),
    }
}

fn pre_score_one<'s, 'a: 's>(
    p: Plugin,
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    snap: &Snapshot<'a>,
    nodes: ScoredNodes<'s>,
    infos: &mut Vec<&'s NodeInfo>,
) -> PreScored {
    match p {
        Plugin::TaintToleration => PreScored::Taint(taint_toleration::pre_score(pod)),
        Plugin::NodeAffinity => {
            if node_affinity::has_preferred(pod, &profile.node_affinity) {
                PreScored::Affinity
            } else {
                PreScored::Skip
            }
        }
        Plugin::NodeResourcesFit => PreScored::Fit(fit::pre_score(&state.req, &profile.fit)),
        Plugin::PodTopologySpread => {
            if nodes.len() == 0
                || pts::constraints(
                    pod,
                    snap,
                    &profile.spread,
                    WhenUnsatisfiable::ScheduleAnyway,
                )
                .is_empty()
            {
                return PreScored::Skip;
            }
            // The infos are built only if the slot form cannot be used.
            let scored = move || -> &[&'s NodeInfo] {
                let infos = infos; // moved: the closure is FnOnce and may return the borrow
                if infos.is_empty() {
                    infos.extend((0..nodes.len()).map(|j| nodes.info(j, snap)));
                }
                infos
            };
            pts::pre_score_lazy(
                pod,
                snap,
                nodes.len(),
                scored,
                nodes.slots(),
                &profile.spread,
            )
            .map_or(PreScored::Skip, PreScored::Spread)
        }
        Plugin::InterPodAffinity => {
            ipa::pre_score(pod, snap, &profile.ipa).map_or(PreScored::Skip, PreScored::Ipa)
        }
        Plugin::NodeResourcesBalancedAllocation => {
            balanced::pre_score(&state.req, &profile.balanced)
                .map_or(PreScored::Skip, PreScored::Balanced)
        }
        Plugin::ImageLocality => PreScored::Images(image_locality::pre_score(pod, snap)),
        Plugin::RandomScore => match &state.gpu {
            Some(g) if nodes.len() > 0 => {
                let n = nodes.len() as u64;
                let pick = g.lock().map(|mut s| {
                    let j = crate::sim::rng::below(&mut s.rng, n) as usize;
                    nodes.info(j, snap).node.meta.name.clone()
                });
                PreScored::Random(pick)
            }
            _ => PreScored::Skip,
        },
        p => match (p.gpu_policy(), &state.gpu) {
            (Some(policy), Some(g)) => PreScored::Gpu(policy, Box::new(g.clone())),
            _ => PreScored::Skip,
        },
    }
}

/// One plugin's raw score of the j-th node: from the flat columns where they decide it
/// exactly, else from the plugin on the `NodeInfo`.
#[inline]
fn raw_score(
    pre: &PreScored,
    profile: &Profile,
    pod: &Pod,
    snap: &Snapshot,
    nodes: ScoredNodes,
    j: usize,
) -> i64 {
    if let Some(v) = nodes.hot(j).and_then(|h| fast_raw(pre, profile, h)) {
        return v;
    }
    if let (PreScored::Ipa(s), Some(slot)) = (pre, nodes.slot(j)) {
        return ipa::score_at(s, slot, nodes.info(j, snap));
    }
    if let (PreScored::Spread(s), Some(slot)) = (pre, nodes.slot(j)) {
        if let Some(v) = pts::score_at(s, slot, snap) {
            return v;
        }
    }
    full_raw(pre, profile, pod, snap, nodes.info(j, snap))
}

/// The raw score from the columns, when they decide it.
#[inline]
fn fast_raw(pre: &PreScored, profile: &Profile, h: &HotNode) -> Option<i64> {
    match pre {
        PreScored::Skip => Some(0),
        PreScored::Taint(_) if h.flags & hot::PREFER_TAINTS == 0 => Some(0),
        PreScored::Images(i) if h.flags & hot::IMAGES == 0 => Some(i.floor),
        PreScored::Fit(s) => fit::try_score_with(s, &profile.fit, |k, r| h.alloc_reqd(k, r, false)),
        PreScored::Balanced(s) => balanced::try_score_with(s, |k, r| h.alloc_reqd(k, r, true)),
        _ => None,
    }
}

fn full_raw(
    pre: &PreScored,
    profile: &Profile,
    pod: &Pod,
    snap: &Snapshot,
    node: &NodeInfo,
) -> i64 {
    match pre {
        PreScored::Skip => 0,
        PreScored::Taint(t) => taint_toleration::score(t, node),
        PreScored::Affinity => node_affinity::score(pod, node, &profile.node_affinity),
        PreScored::Fit(s) => fit::score(s, node, &profile.fit),
        PreScored::Spread(s) => pts::score(s, node, snap),
        PreScored::Ipa(s) => ipa::score(s, node),
        PreScored::Balanced(s) => balanced::score(s, node, &profile.balanced),
        PreScored::Images(i) => image_locality::score(i, node),
        PreScored::Random(pick) => match pick {
            Some(name) if *name == node.node.meta.name => MAX_NODE_SCORE,
            _ => 0,
        },
        PreScored::Gpu(policy, g) => gpu_raw(*policy, g, node),
    }
}

/// A GPU score plugin's raw score of a node (RandomScore aside).
fn gpu_raw(policy: Policy, g: &GpuCycle, node: &NodeInfo) -> i64 {
    let n = NodeGpu::of_info(node);
    match policy {
        Policy::DotProduct => gpu_score::dot_product(&n, &g.pod),
        Policy::GpuClustering => gpu_score::gpu_clustering(&n, &g.pod),
        Policy::GpuPacking => gpu_score::gpu_packing(&n, &g.pod),
        Policy::BestFit => gpu_score::best_fit(&n, &g.pod),
        Policy::Fgd => match g.lock() {
            Some(mut s) => gpu_score::fgd_with(&n, &g.pod, &mut |x| s.frag(x)).0,
            None => gpu_score::fgd(&n, &g.pod, &Default::default()).0,
        },
        Policy::Random => 0,
    }
}

pub mod spread;
#[cfg(test)]
mod tests;
