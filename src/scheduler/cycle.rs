//! One scheduling cycle (upstream's `scheduleOne` and `schedulingCycle`, reference scheduler
//! §3): the next pod from the active queue once the client rate limiter allows, then
//! `schedulePod` — PreFilter (with the kept spread and affinity indexes brought up to date),
//! `findNodesThatFitPod` (the nominated node first, then the sampled walk from the rotating
//! start with the adaptive `percentageOfNodesToScore`), `prioritizeNodes` and `selectHost` —
//! or, when nothing fits, the FitError message and DefaultPreemption's plan (PostFilter).
//!
//! Invariant: `decide` changes nothing the cluster sees — only the rotating start, the random
//! streams and its caches (kept indexes, memos, reusable buffers); the caller (`binding.rs`,
//! the bench) binds or requeues. `selectHost` draws over the feasible nodes in the walk's
//! order whether they are scored during the walk or after it, so both routes pick alike.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::framework::{self, CycleState, Failure, Profile};
use super::plugins::*;
use super::queue::QueuedInfo;
use super::snapshot::cache_snapshot;
use super::{cost, hints, hot, preemption, ties, Event, Scheduler};
use crate::api::ApiServer;
use crate::model::*;
use crate::sim::{rng, Ctx, SimDuration};

const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// `numFeasibleNodesToFind` (reference scheduler §3.2).
pub fn num_feasible_nodes_to_find(n: usize, percentage: u32) -> usize {
    if n < MIN_FEASIBLE_NODES_TO_FIND {
        return n;
    }
    let pct = if percentage == 0 {
        (50usize.saturating_sub(n / 125)).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    } else {
        percentage as usize
    };
    (n * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// What `findNodesThatFitPod` found.
struct Fit {
    /// Feasible nodes, as snapshot indices in the order found.
    feasible: Vec<usize>,
    /// Nodes the sampled walk filtered.
    examined: usize,
    /// Whether the pod had a nominated node (filtered once more, before the walk).
    nominated: bool,
    /// The fused `selectHost`'s pick (plain pods scored while filtering).
    best: Option<(i64, usize)>,
    /// PodTopologySpread's weight when the walk computed every feasible node's total but
    /// for that plugin (`Scheduler::bases`, in `feasible`'s order).
    spread: Option<i64>,
    /// Failing nodes per reason, for the FitError message (the `TaintMemo`'s counts are
    /// added only when nothing fits: only the message reads them).
    failures: BTreeMap<Cow<'static, str>, usize>,
    /// Nodes whose failure preemption might resolve (not UnschedulableAndUnresolvable).
    potential: Vec<usize>,
    /// The plugins that rejected some node (`QueuedPodInfo.UnschedulablePlugins`), as
    /// `hints::bit`s.
    rejectors: u16,
}

/// The Filter step for one node: the flat columns decide the plain nodes; the rest, and every
/// node that may fail, go through `check` (the plugins on the node info, with their reasons).
struct NodeFilter<'c> {
    profile: &'c Profile,
    pod: &'c Pod,
    state: &'c CycleState,
    snap: Snapshot<'c>,
    /// Pods nominated elsewhere with at least this pod's priority, by node name.
    reserved: &'c [(String, Arc<Pod>)],
    /// The slots of the nodes those pods are nominated to.
    reserved_slots: Vec<usize>,
    plan: Option<hot::FilterPlan>,
    hot_rows: &'c [hot::HotNode],
    affinity_memo: &'c mut hot::AffinityMemo,
    taint_memo: &'c mut hot::TaintMemo,
}

/// Why `NodeFilter::check_at` rejected a node: the plugins' own failure, or the `TaintMemo`'s
/// interned one (NodeUnschedulable / TaintToleration, both UnschedulableAndUnresolvable).
enum Rejected {
    Failure(Failure),
    Gate(u16),
}

impl From<Failure> for Rejected {
    fn from(f: Failure) -> Rejected {
        Rejected::Failure(f)
    }
}

impl NodeFilter<'_> {
    /// The plugins on the node info, then — if pods are nominated to the node — again with
    /// them added (reference scheduler §3.3 step 4, "filters run with nominated pods").
    fn check(&self, ni: &NodeInfo) -> Result<(), Failure> {
        framework::filter(self.profile, self.pod, self.state, ni)?;
        let mine: Vec<&Arc<Pod>> = self
            .reserved
            .iter()
            .filter(|(n, _)| *n == ni.node.meta.name)
            .map(|(_, p)| p)
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        framework::filter_with_nominated(self.profile, self.pod, self.state, ni, &mine)
    }

    /// `check` on the idx-th node of the snapshot, through the columns where they decide:
    /// a cordoned or hard-tainted node's NodeUnschedulable / TaintToleration verdict comes
    /// from the `TaintMemo` (nodes with nominated pods excepted: they take `check`).
    fn check_at(&mut self, idx: usize) -> Result<(), Rejected> {
        let (snap, pod, state, profile) = (self.snap, self.pod, self.state, self.profile);
        if let Some(plan) = &self.plan {
            let slot = snap.order[idx];
            let reserved = self.reserved_slots.contains(&slot);
            let h = &self.hot_rows[slot];
            let gated = !reserved && plan.needs_gate(h);
            if gated {
                let gate = plan.gate.as_deref().unwrap_or(&[]);
                self.taint_memo
                    .verdict(slot, || {
                        gate.iter().try_for_each(|&p| {
                            framework::filter_one(p, profile, pod, state, snap.get(idx)).map_err(
                                |f| (f.plugin, f.reasons.into_iter().next().unwrap_or_default()),
                            )
                        })
                    })
                    .map_err(Rejected::Gate)?;
            }
            if !reserved
                && plan.passes(h, gated)
                && (!plan.spread_by_slot
                    || state
                        .spread
                        .as_ref()
                        .is_some_and(|s| s.by_slot.as_ref().is_some_and(|v| v.passes(slot))))
            {
                let ni = || snap.get(idx);
                let affinity_ok = !plan.affinity
                    || self
                        .affinity_memo
                        .matches(slot, || node_affinity::required_matches(pod, &ni().node));
                if affinity_ok {
                    // Every filter before a slow one passed (columns, memo, or nothing to
                    // do for this pod), so the first slow failure is `framework::filter`'s.
                    for &p in &plan.slow {
                        framework::filter_one_at(p, self.profile, pod, state, slot, ni())?;
                    }
                    return Ok(());
                }
            }
        }
        Ok(self.check(snap.get(idx))?)
    }
}

impl Scheduler {
    /// Runs one of the scheduler's cycles: the next pod of the active queue, once the client
    /// rate limiter has a token; the scheduler is then busy for the cycle's modelled cost.
    pub fn on_cycle(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.cycle_scheduled = false;
        if self.active.is_empty() {
            return;
        }
        let now = ctx.now();
        // The client rate limit (clientConnection qps/burst): a cycle that may bind waits for
        // a token.
        if let Some(wait) = self.limiter.wait(now) {
            self.cycle_scheduled = true;
            ctx.schedule_in(wait, Event::SchedulerCycle { gen: self.gen });
            return;
        }
        let Some(entry) = self.active.pop_first() else {
            return;
        };
        self.active_index.remove(&entry.3);
        let key = entry.3;
        let mut cost = SimDuration::ZERO;
        if let Some(pod) = self.pending.get(&key).cloned() {
            let (stats, bound) = self.schedule_one(ctx, api, &key, &pod);
            cost = cost::cycle_cost(&stats, has_required_node_affinity(&pod));
            if bound {
                self.limiter.take(now);
            }
        }
        self.busy_until = now + cost;
        if !self.active.is_empty() {
            self.cycle_scheduled = true;
            ctx.schedule_in(cost, Event::SchedulerCycle { gen: self.gen });
        }
    }

    /// Runs one cycle for `pod` and applies it; returns what the cycle did and whether the pod
    /// was bound.
    fn schedule_one(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        pod: &Arc<Pod>,
    ) -> (CycleStats, bool) {
        let now = ctx.now();
        // One probe: most pods come here once (a retry only drops the key copy).
        let fresh = QueuedInfo {
            attempts: 0,
            last_attempt: now,
            timestamp: now,
            rejectors: 0,
        };
        let info = match self.info.get_or_insert_with(key.to_string(), |_| fresh) {
            Ok(info) | Err(info) => info,
        };
        info.attempts += 1;
        info.last_attempt = now;
        let Some((outcome, stats)) = self.decide(key, pod) else {
            return (CycleStats::default(), false);
        };
        let (bound, result) = match outcome {
            Outcome::Infeasible {
                message,
                preemption,
            } => {
                self.handle_failure(ctx, api, key, pod, message, preemption);
                (false, "unschedulable")
            }
            Outcome::Feasible { node } => match self.reserve_gpu(api, key, pod, &node) {
                Err(()) => {
                    self.retry_after_error(ctx.now(), key);
                    (false, "error")
                }
                Ok(devices) => match self.bind(ctx, api, key, node, devices) {
                    true => (true, "scheduled"),
                    false => (false, "error"),
                },
            },
        };
        if let Some(pi) = self.profile_index(pod) {
            let cost = cost::cycle_cost(&stats, has_required_node_affinity(pod));
            let profile = &self.config.profiles[pi].scheduler_name;
            self.metrics.observe(result, profile, cost);
        }
        (stats, bound)
    }

    /// One scheduling cycle's decision for `pod` (`schedulePod`, reference scheduler §3):
    /// PreFilter, the sampled filter walk from the rotating start (nominated node first), Score
    /// and selectHost, or — when nothing fits — the FitError message and DefaultPreemption's
    /// plan. Mutates only the rotating start, the random streams and the kept indexes; the
    /// caller binds or requeues. `kubesim run` and `kubesim bench scheduler` both use it.
    pub fn decide(&mut self, key: &str, pod: &Arc<Pod>) -> Option<(Outcome, CycleStats)> {
        self.rebuild_order();
        let pi = self.profile_index(pod)?;
        self.prepare_indexes(pi, pod);
        let mut state = framework::pre_filter(
            &self.config.profiles[pi],
            pod,
            &cache_snapshot!(self, indexed),
        );
        if let Some(g) = state.gpu.as_mut() {
            g.shared = Some(self.gpu_shared());
        }
        let fit = self.find_nodes_that_fit(pi, key, pod, &state);
        let (spread_pods_scanned, affinity_pods_scanned) =
            upstream_scan(pod, &cache_snapshot!(self, indexed), state.spread.is_some());
        let mut stats = CycleStats {
            filtered: fit.examined + usize::from(fit.nominated),
            scored: 0,
            spread_pods_scanned,
            affinity_pods_scanned,
        };
        if fit.feasible.is_empty() {
            self.last_rejectors = fit.rejectors;
            let message = fit_error_message(self.order.len(), &fit.failures);
            let preemption = self.post_filter(pi, key, pod, &state, &fit.potential);
            self.feasible = fit.feasible;
            let outcome = Outcome::Infeasible {
                message,
                preemption,
            };
            return Some((outcome, stats));
        }
        let chosen = if fit.feasible.len() == 1 {
            fit.feasible[0]
        } else if let Some((_, idx)) = fit.best {
            stats.scored = fit.feasible.len();
            idx
        } else {
            stats.scored = fit.feasible.len();
            self.prioritize_and_select(pi, pod, &state, &fit.feasible, fit.spread)
        };
        let node = cache_snapshot!(self).get(chosen).node.meta.name.clone();
        self.feasible = fit.feasible;
        Some((Outcome::Feasible { node }, stats))
    }

    /// Brings the kept PodTopologySpread counts and InterPodAffinity index up to date for what
    /// this pod's cycle reads (kube-scheduler counts them in PreFilter/PreScore instead).
    fn prepare_indexes(&mut self, pi: usize, pod: &Pod) {
        let profile = &self.config.profiles[pi];
        if profile.uses(framework::Plugin::PodTopologySpread) && self.use_spread_index {
            let plain = cache_snapshot!(self);
            let keys = pod_topology_spread::filter_keys(pod, &plain, &profile.spread);
            for k in keys {
                self.spread_index.ensure_domains(&k, &self.slots);
            }
            let (index, slots) = (&mut self.spread_index, &self.slots);
            pod_topology_spread::index_requests(pod, &plain, &profile.spread, |sel, k| {
                index.ensure(&pod.meta.namespace, sel, k, slots)
            });
        }
        if profile.uses(framework::Plugin::InterPodAffinity) && self.use_ipa_index {
            self.ipa_index.ensure(pod, &self.slots);
        }
    }

    /// The score memo's class for this pod's score inputs: a new class whenever they differ
    /// from the last pod's (so every slot's memo is stale).
    fn memo_class_for(&mut self, pi: usize, req: &PodRequest) -> u64 {
        // Compared in place: a new key is built only when the class changes.
        if !self.memo_key.as_ref().is_some_and(|k| k.matches(pi, req)) {
            self.memo_class += 1;
            self.memo_key = Some(MemoKey::of(pi, req));
        }
        self.memo_class
    }

    /// Pods nominated to other nodes with at least this pod's priority: they hold their place
    /// (reference scheduler §3.3 step 4).
    fn reserved_for(&self, key: &str, pod: &Pod) -> Vec<(String, Arc<Pod>)> {
        self.nominated
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .filter_map(|(k, n)| self.pending.get(k).map(|p| (n.clone(), p.clone())))
            .filter(|(_, p)| p.spec.priority >= pod.spec.priority)
            .collect()
    }

    /// `findNodesThatFitPod`: the nominated node first (§3.3 step 3), else the walk from the
    /// rotating start until `numFeasibleNodesToFind` nodes fit; plain pods are scored as they
    /// are found (`PlainScorer`, with `selectHost`'s reservoir), others later.
    fn find_nodes_that_fit(&mut self, pi: usize, key: &str, pod: &Pod, state: &CycleState) -> Fit {
        let n = self.order.len();
        let profile = &self.config.profiles[pi];
        let pct = profile
            .percentage_of_nodes_to_score
            .unwrap_or(self.config.percentage_of_nodes_to_score);
        let to_find = num_feasible_nodes_to_find(n, pct);
        let reserved = self.reserved_for(key, pod);
        let reserved_slots: Vec<usize> = reserved
            .iter()
            .filter_map(|(n, _)| self.slot_of.get(n).copied())
            .collect();
        let plan = self
            .use_hot
            .then(|| hot::FilterPlan::new(profile, pod, state));
        if plan.as_ref().is_some_and(|p| p.affinity) {
            self.affinity_memo.prepare(pod, self.slots.len());
        }
        if plan.as_ref().is_some_and(|p| p.gate.is_some()) {
            self.taint_memo.prepare(pod, self.slots.len());
        }
        let gate_on = plan.as_ref().is_some_and(|p| p.gate.is_some());
        let (fused, memo_class) = self.fused_scorer(pi, key, pod, state, &reserved_slots);
        let mut fit = Fit {
            feasible: std::mem::take(&mut self.feasible),
            examined: 0,
            nominated: false,
            best: None,
            spread: fused.as_ref().and_then(|sc| sc.spread),
            failures: BTreeMap::new(),
            potential: Vec::new(),
            rejectors: 0,
        };
        fit.feasible.clear();
        let snap = cache_snapshot!(self, indexed);
        let mut filter = NodeFilter {
            profile: &self.config.profiles[pi],
            pod,
            state,
            snap,
            reserved: &reserved,
            reserved_slots,
            plan,
            hot_rows: self.hot.as_slice(),
            affinity_memo: &mut self.affinity_memo,
            taint_memo: &mut self.taint_memo,
        };
        // A pod nominated by an earlier preemption tries its node first (§3.3 step 3).
        let nominated_idx = self
            .nominated
            .get(key)
            .and_then(|name| (0..n).find(|&i| snap.get(i).node.meta.name == *name));
        fit.nominated = nominated_idx.is_some();
        if let Some(i) = nominated_idx.filter(|&i| filter.check(snap.get(i)).is_ok()) {
            fit.feasible.push(i);
        }
        // When the columns decide every filter for this pod, a node they pass needs no
        // `check_at` (which would answer the same); the others still go through it.
        let columns = filter
            .plan
            .as_ref()
            .and_then(hot::FilterPlan::column_check)
            .filter(|_| filter.reserved_slots.is_empty());
        let (memo, ties, rng) = (&mut self.memo, &mut self.ties, &mut self.rng);
        let bases = &mut self.bases;
        bases.clear();
        let mut reservoir = ties::Reservoir::default();
        // (next_start + i) mod n, advanced without a division per node.
        let mut next_idx = if n > 0 { self.next_start % n } else { 0 };
        for _ in 0..n {
            if (!fit.feasible.is_empty() && fit.nominated) || fit.feasible.len() >= to_find {
                break;
            }
            fit.examined += 1;
            let idx = next_idx;
            next_idx = if idx + 1 == n { 0 } else { idx + 1 };
            let verdict = match &columns {
                Some(c) if c.passes(&filter.hot_rows[snap.order[idx]]) => Ok(()),
                _ => filter.check_at(idx),
            };
            match verdict {
                Ok(()) => {
                    fit.feasible.push(idx);
                    if let Some(sc) = &fused {
                        let slot = snap.order[idx];
                        let total = sc.total(
                            filter.profile,
                            pod,
                            &snap,
                            &filter.hot_rows[slot],
                            slot,
                            || snap.get(idx),
                            &mut memo[slot],
                            memo_class,
                        );
                        if fit.spread.is_some() {
                            bases.push(total);
                        } else {
                            reservoir.offer(total, idx, ties, rng);
                        }
                    }
                }
                Err(Rejected::Gate(id)) => {
                    fit.rejectors |= hints::bit(filter.taint_memo.count(id));
                }
                Err(Rejected::Failure(Failure {
                    plugin,
                    reasons,
                    unresolvable,
                })) => {
                    fit.rejectors |= hints::bit(plugin);
                    if !unresolvable {
                        fit.potential.push(idx);
                    }
                    for r in reasons {
                        *fit.failures.entry(r).or_insert(0) += 1;
                    }
                }
            }
        }
        if n > 0 {
            self.next_start = (self.next_start + fit.examined) % n;
        }
        if gate_on && fit.feasible.is_empty() {
            filter.taint_memo.add_counts(&mut fit.failures);
        }
        fit.best = reservoir.best;
        fit
    }

    /// Plain pods whose scores the columns decide pick their node while filtering: each
    /// feasible node's total is computed as it is found and `selectHost`'s reservoir runs over
    /// the same nodes in the same order, drawing the same numbers (no score vectors, no second
    /// pass). Not with a nominated node or reserved places. Returns the scorer, if any, and
    /// the score memo's class.
    fn fused_scorer(
        &mut self,
        pi: usize,
        key: &str,
        pod: &Pod,
        state: &CycleState,
        reserved_slots: &[usize],
    ) -> (Option<framework::PlainScorer>, u64) {
        let profile = &self.config.profiles[pi];
        let fused =
            if self.use_hot && !self.nominated.contains_key(key) && reserved_slots.is_empty() {
                let snap = cache_snapshot!(self, indexed);
                let soft = self.hot.any_soft_taint();
                framework::PlainScorer::new(profile, pod, state, &snap, soft, true)
            } else {
                None
            };
        let memo_class = match fused {
            Some(_) => self.memo_class_for(pi, &state.req),
            None => self.memo_class,
        };
        (fused, memo_class)
    }

    /// PostFilter: DefaultPreemption's plan (reference scheduler §5) — the node and the
    /// victims — unless preemption is off for the profile or the pod, or the pod already waits
    /// for lower-priority victims terminating on its nominated node.
    fn post_filter(
        &mut self,
        pi: usize,
        key: &str,
        pod: &Pod,
        state: &CycleState,
        potential: &[usize],
    ) -> Option<(String, Vec<Arc<Pod>>)> {
        let profile = &self.config.profiles[pi];
        if !profile.preemption || pod.spec.preemption_never {
            return None;
        }
        let snap = cache_snapshot!(self, indexed);
        let n = snap.len();
        let waiting = self.nominated.get(key).is_some_and(|name| {
            (0..n).any(|i| {
                let ni = snap.get(i);
                ni.node.meta.name == *name
                    && ni
                        .pods
                        .iter()
                        .any(|p| p.is_terminating() && p.spec.priority < pod.spec.priority)
            })
        });
        if waiting {
            return None;
        }
        let nodes: Vec<&NodeInfo> = (0..n).map(|i| snap.get(i)).collect();
        let cands = preemption::find_candidates(
            profile,
            pod,
            state,
            &nodes,
            potential,
            &self.pdb_list,
            &mut self.preempt_rng,
        );
        preemption::pick_one(&cands).map(|c| {
            (
                nodes[cands[c].index].node.meta.name.clone(),
                cands[c].victims.clone(),
            )
        })
    }

    /// `prioritizeNodes` and `selectHost` over the feasible nodes (when the walk did not score
    /// them already): the scores from the columns and memo, or the plain plugins; returns the
    /// chosen snapshot index.
    // Kept out of `decide`: inlined, it changed the code of the plain pods' path too
    // (SchedulingBasic's bench medians fell ~8 % with its buffer below).
    #[inline(never)]
    fn prioritize_and_select(
        &mut self,
        pi: usize,
        pod: &Pod,
        state: &CycleState,
        feasible: &[usize],
        spread: Option<i64>,
    ) -> usize {
        let j = if self.use_hot {
            let mut slots = std::mem::take(&mut self.scored_slots);
            slots.clear();
            slots.extend(feasible.iter().map(|&i| self.order[i]));
            let snap = cache_snapshot!(self, indexed);
            let profile = &self.config.profiles[pi];
            let picked = spread
                .filter(|_| self.bases.len() == slots.len())
                .and_then(|w| {
                    let (ties, rng) = (&mut self.ties, &mut self.rng);
                    let table = &mut self.table;
                    framework::spread::select(
                        profile,
                        pod,
                        &snap,
                        &slots,
                        &self.bases,
                        w,
                        table,
                        ties,
                        rng,
                    )
                });
            if let Some(j) = picked {
                self.scored_slots = slots;
                return feasible[j];
            }
            let class = self.memo_class_for(pi, &state.req);
            let snap = cache_snapshot!(self, indexed);
            let nodes = framework::ScoredNodes::Slots {
                slots: &slots,
                hot: self.hot.as_slice(),
            };
            let memo = Some((self.memo.as_mut_slice(), class));
            let profile = &self.config.profiles[pi];
            framework::score_nodes(
                profile,
                pod,
                state,
                &snap,
                nodes,
                &mut self.table,
                false,
                memo,
            );
            self.scored_slots = slots;
            self.ties.select_host(&self.table.total, &mut self.rng)
        } else {
            let snap = cache_snapshot!(self, indexed);
            let nodes: Vec<&NodeInfo> = feasible.iter().map(|&i| snap.get(i)).collect();
            let profile = &self.config.profiles[pi];
            framework::score(profile, pod, state, &snap, &nodes, &mut self.table);
            select_host(&self.table.total, &mut self.rng)
        };
        feasible[j]
    }
}

/// What the memoised part of a node's score depends on besides the node: the profile and
/// the pod's requests (NodeResourcesFit, BalancedAllocation). ImageLocality is not memoised:
/// its spreads move with any node's images and the node count.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct MemoKey {
    profile: usize,
    request: Resources,
    non_zero: (i64, i64),
}

impl MemoKey {
    /// `*self == MemoKey::of(profile, req)`, without building the key.
    fn matches(&self, profile: usize, req: &PodRequest) -> bool {
        self.profile == profile
            && self.non_zero == (req.non_zero_cpu_milli, req.non_zero_memory)
            && self.request == req.request
    }

    fn of(profile: usize, req: &PodRequest) -> MemoKey {
        MemoKey {
            profile,
            request: req.request.clone(),
            non_zero: (req.non_zero_cpu_milli, req.non_zero_memory),
        }
    }
}

/// Required node affinity or a nodeSelector (the cost model's per-node surcharge).
pub fn has_required_node_affinity(pod: &Pod) -> bool {
    !pod.spec.node_selector.is_empty()
        || pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .is_some_and(|na| na.required.is_some())
}

/// What one scheduling cycle decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Feasible {
        node: String,
    },
    Infeasible {
        /// kube-scheduler's FitError message.
        message: String,
        /// DefaultPreemption's plan: the node and the victims.
        preemption: Option<(String, Vec<Arc<Pod>>)>,
    },
}

/// What one cycle did, for the cost model (docs/scheduler-model.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleStats {
    /// Nodes the filters ran on.
    pub filtered: usize,
    /// Nodes scored (0 when exactly one node was feasible).
    pub scored: usize,
    /// Existing pods kube-scheduler's PodTopologySpread PreFilter/PreScore would walk this
    /// cycle (kubesim reads its cache instead).
    pub spread_pods_scanned: usize,
    /// The same for InterPodAffinity.
    pub affinity_pods_scanned: usize,
}

/// The existing pods upstream's PodTopologySpread and InterPodAffinity walk for this pod: all
/// pods once per PodTopologySpread pass (PreFilter with hard constraints, PreScore with soft or
/// default ones); for InterPodAffinity the pods with required anti-affinity (PreFilter's
/// existing-pod check) plus all pods twice when the pod has terms (PreFilter, PreScore), else
/// the pods that have affinity terms themselves (PreScore).
fn upstream_scan(pod: &Pod, snap: &Snapshot, hard_spread: bool) -> (usize, usize) {
    let total = snap.totals.pods;
    let soft_spread = pod
        .spec
        .topology_spread_constraints
        .iter()
        .any(|c| c.when_unsatisfiable == crate::model::WhenUnsatisfiable::ScheduleAnyway)
        || (pod.spec.topology_spread_constraints.is_empty()
            && pod_topology_spread::has_default_selector(pod, snap));
    let spread = total * (usize::from(hard_spread) + usize::from(soft_spread));
    // PreFilter always walks the pods with required anti-affinity (existingAntiAffinityCounts).
    let affinity = snap.totals.with_required_anti_affinity
        + if has_pod_affinity(pod) {
            2 * total
        } else {
            snap.totals.with_affinity
        };
    (spread, affinity)
}

/// kube-scheduler's `FitError` message: "0/N nodes are available: " and the per-reason node
/// counts, each "count reason", sorted as strings.
pub fn fit_error_message(n: usize, failures: &BTreeMap<Cow<'static, str>, usize>) -> String {
    let mut detail: Vec<String> = failures.iter().map(|(r, c)| format!("{c} {r}")).collect();
    detail.sort();
    let mut message = format!("0/{n} nodes are available");
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail.join(", "));
    }
    message.push('.');
    message
}

/// `selectHost`: a uniform choice among the nodes with the top total score (reservoir
/// sampling, reference scheduler §3.4), drawn from the scheduler's seeded stream.
pub fn select_host(totals: &[i64], rng: &mut ChaCha8Rng) -> usize {
    let mut best: Option<(i64, usize)> = None;
    let mut ties = 0u64;
    for (j, &total) in totals.iter().enumerate() {
        match best {
            Some((b, _)) if total < b => {}
            Some((b, _)) if total == b => {
                ties += 1;
                if rng::below(rng, ties) == 0 {
                    best = Some((total, j));
                }
            }
            _ => {
                best = Some((total, j));
                ties = 1;
            }
        }
    }
    best.map_or(0, |b| b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // kube-scheduler's FitError: "count reason" strings sorted as strings.
    #[test]
    fn fit_error_message_sorts_like_kube_scheduler() {
        let mut f: BTreeMap<Cow<'static, str>, usize> = BTreeMap::new();
        f.insert("Insufficient cpu".into(), 4);
        f.insert("node(s) had untolerated taint {dedicated: batch}".into(), 2);
        f.insert("Insufficient memory".into(), 10);
        assert_eq!(
            fit_error_message(16, &f),
            "0/16 nodes are available: 10 Insufficient memory, 2 node(s) had untolerated taint {dedicated: batch}, 4 Insufficient cpu."
        );
        assert_eq!(
            fit_error_message(0, &BTreeMap::new()),
            "0/0 nodes are available."
        );
    }

    // Reference scheduler §3.2 table.
    #[test]
    fn num_feasible_nodes_to_find_reference_table() {
        let cases = [
            (50, 50),
            (100, 100),
            (200, 100),
            (500, 230),
            (1000, 420),
            (2000, 680),
            (3000, 780),
            (5000, 500),
            (5625, 281),
            (6000, 300),
            (10000, 500),
            (15000, 750),
        ];
        for (n, k) in cases {
            assert_eq!(num_feasible_nodes_to_find(n, 0), k, "N={n}");
        }
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
    }
}
