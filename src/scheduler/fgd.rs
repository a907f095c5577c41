//! `kubesim bench fgd`: the FGD paper's experiment (USENIX ATC'23 "Beware of Fragmentation",
//! artifact `hkust-adsl/kubernetes-scheduler-simulator`) on kubesim's scheduler pieces. The
//! workload's pods are sorted by name and shuffled with the seed, then tuned — pods drawn
//! with replacement from the workload are appended while the total GPU request stays within
//! `tune` × the cluster's GPUs (`TunePodsByNodeTotalResource`) — and scheduled one by one,
//! never departing: upstream `NodeResourcesFit` (CPU, memory, pod count) and the out-of-tree
//! `Open-Gpu-Share` filter, one score plugin, `selectHost` over the top scores, Open-Gpu-Share's
//! Reserve picking the devices. After every pod the arrived and allocated milli-GPU are recorded
//! and binned as the artifact's `merge_alloc_discrete.py` does ([`FgdRun::alloc_at`]).
//!
//! Invariant: no I/O and no wall clock; a run depends only on (nodes, pods, policy, seed,
//! tune), with the workload's draws and the scheduler's draws from separate named streams.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::cycle::select_host;
use super::plugins::node_resources_fit::{self as fit, FitArgs};
use super::plugins::outoftree::frag::{FragMemo, TypicalPods, POPULARITY_THRESHOLD};
use super::plugins::outoftree::score::{self, Policy};
use super::plugins::outoftree::{self as gpu, GpuSel, NodeGpu, PodGpu};
use super::plugins::{NodeInfo, PodRequest};
use crate::model::{Node, Pod};
use crate::sim::rng;

/// After one pod: the GPU request that has arrived and the milli-GPU allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub arrived_milli: i64,
    pub used_milli: i64,
}

/// One run's result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FgdRun {
    /// The cluster's milli-GPU.
    pub total_milli: i64,
    /// Pods after tuning, and how many found no node.
    pub pods: usize,
    pub failed: usize,
    /// One sample before the first pod, then one per pod.
    pub samples: Vec<Sample>,
    /// (pod name, node name, devices) of every placed pod, in order.
    pub placements: Vec<(String, String, Vec<usize>)>,
}

impl FgdRun {
    /// GPU allocation (% of the cluster's GPUs) at `pct` % of its GPU capacity arrived, as the
    /// artifact bins it: every sample whose arrived share rounds (half to even) to `pct`,
    /// else those within ±1, averaged (each first rounded to 0.01); None when there is none.
    pub fn alloc_at(&self, pct: i64) -> Option<f64> {
        let gpus = self.total_milli as f64 / 1000.0;
        if gpus <= 0.0 {
            return None;
        }
        let rows: Vec<(f64, f64)> = self
            .samples
            .iter()
            .map(|s| {
                let arrive = (s.arrived_milli as f64 / gpus / 10.0).round_ties_even();
                let alloc = (s.used_milli as f64 / gpus / 10.0 * 100.0).round_ties_even() / 100.0;
                (arrive, alloc)
            })
            .collect();
        let p = pct as f64;
        let mut pick: Vec<f64> = rows.iter().filter(|r| r.0 == p).map(|r| r.1).collect();
        if pick.is_empty() {
            pick = rows
                .iter()
                .filter(|r| r.0 >= p - 1.0 && r.0 <= p + 1.0)
                .map(|r| r.1)
                .collect();
        }
        if pick.is_empty() {
            return None;
        }
        let mean = pick.iter().sum::<f64>() / pick.len() as f64;
        Some((mean * 100.0).round_ties_even() / 100.0)
    }
}

/// The pods of a run: sorted by name, shuffled (Fisher–Yates) if `shuffle`, tuned to `tune` ×
/// the cluster's milli-GPU (`tune` ≤ 0: untouched). Tuned copies are named `<name>-tuned-<i>`.
pub fn tuned_pods(
    workload: &[Pod],
    total_milli: i64,
    tune: f64,
    shuffle: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<Pod> {
    let mut by_name: Vec<&Pod> = workload.iter().collect();
    by_name.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let mut pods: Vec<Pod> = by_name.iter().map(|p| (*p).clone()).collect();
    if shuffle {
        for i in (1..pods.len()).rev() {
            let j = rng::below(rng, i as u64 + 1) as usize;
            pods.swap(i, j);
        }
    }
    if tune <= 0.0 || by_name.is_empty() {
        return pods;
    }
    let shape = |p: &Pod| PodGpu::of(p, PodRequest::of(p).non_zero_cpu_milli);
    let mut total: i64 = pods.iter().map(|p| shape(p).total_milli()).sum();
    let target = tune * total_milli as f64;
    if (total as f64) > target {
        while (total as f64) > target && !pods.is_empty() {
            let idx = rng::below(rng, pods.len() as u64) as usize;
            total -= shape(&pods.remove(idx)).total_milli();
        }
        return pods;
    }
    let mut i = 0usize;
    loop {
        let src = by_name[rng::below(rng, by_name.len() as u64) as usize];
        let s = shape(src);
        // The artifact compares with the per-device milli, not the pod's total.
        if (total + s.gpu_milli) as f64 > target {
            break;
        }
        total += s.total_milli();
        let mut p = src.clone();
        p.meta.name = format!("{}-tuned-{i}", src.meta.name);
        pods.push(p);
        i += 1;
    }
    pods
}

/// One run's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    pub policy: Policy,
    /// Open-Gpu-Share's device choice for sharing pods (`policy.gpu_sel()` in the paper).
    pub sel: GpuSel,
    pub seed: u64,
    /// Total GPU request as a multiple of the cluster's GPUs (≤ 0: no tuning).
    pub tune: f64,
    /// Shuffle the pods (the paper does); else they keep name order.
    pub shuffle: bool,
    /// How `selectHost` breaks ties among the top scores.
    pub ties: Ties,
}

/// `selectHost`'s tie-break. Upstream draws uniformly among the top-scored nodes; the
/// artifact's kube-scheduler fork (`mental2008/kubernetes` v1.20.5-minor,
/// `core/generic_scheduler.go`) picks the lexicographically smallest node name instead, and its
/// simulator prefixes every node name with a seeded random permutation index (`%04d-`,
/// `syncClusterResourceList`): every tie goes to the same seeded node order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    Uniform,
    SeededNodeOrder,
}

impl Options {
    /// The paper's set-up for a policy: its device choice, shuffled, tuned to 130 %.
    pub fn paper(policy: Policy, seed: u64) -> Options {
        Options {
            policy,
            sel: policy.gpu_sel(),
            seed,
            tune: 1.3,
            shuffle: true,
            ties: Ties::SeededNodeOrder,
        }
    }
}

/// Schedules one run. `workload` is the trace's pods (typical pods and tuning draw from it).
pub fn run(nodes: &[Node], workload: &[Pod], o: Options) -> FgdRun {
    let (policy, sel) = (o.policy, o.sel);
    let shapes: Vec<PodGpu> = workload
        .iter()
        .map(|p| PodGpu::of(p, PodRequest::of(p).non_zero_cpu_milli))
        .collect();
    let typical = TypicalPods::of(&shapes, POPULARITY_THRESHOLD);
    let mut infos: Vec<NodeInfo> = nodes
        .iter()
        .map(|n| NodeInfo::new(Arc::new(n.clone())))
        .collect();
    let mut gpus: Vec<NodeGpu> = nodes.iter().map(NodeGpu::of_node).collect();
    let total_milli: i64 = gpus
        .iter()
        .map(|g| g.gpu_number() as i64 * gpu::MILLI)
        .sum();
    let mut wrng = rng::stream(o.seed, "fgd/workload");
    let pods = tuned_pods(workload, total_milli, o.tune, o.shuffle, &mut wrng);
    let mut srng = rng::stream(o.seed, "kube-scheduler/select-host");
    let rank = node_ranks(nodes, &mut rng::stream(o.seed, "fgd/node-names"));
    let mut memo = FragMemo::default();
    let args = FitArgs::default();
    let mut out = FgdRun {
        total_milli,
        pods: pods.len(),
        samples: vec![Sample::default()],
        ..FgdRun::default()
    };
    let (mut arrived, mut used) = (0i64, 0i64);
    let mut feasible: Vec<usize> = Vec::with_capacity(nodes.len());
    let mut totals: Vec<i64> = Vec::with_capacity(nodes.len());
    for pod in pods {
        let req = PodRequest::of(&pod);
        let pg = PodGpu::of(&pod, req.non_zero_cpu_milli);
        arrived += pg.total_milli();
        feasible.clear();
        for i in 0..nodes.len() {
            if fit::filter(&req, &infos[i], &args).is_ok() && gpu::filter(&gpus[i], &pg).is_ok() {
                feasible.push(i);
            }
        }
        let ctx = Choice {
            policy,
            ties: o.ties,
            rank: &rank,
            typical: &typical,
        };
        let chosen = ctx.choose(&pg, &feasible, &gpus, &mut memo, &mut totals, &mut srng);
        let placed = chosen.and_then(|i| {
            gpu::assign_devices(&gpus[i], &pg, sel, &typical, &mut srng).map(|d| (i, d))
        });
        match placed {
            Some((i, devices)) => {
                let mut bound = pod;
                bound.spec.node_name = Some(infos[i].node.meta.name.clone());
                if !devices.is_empty() {
                    bound
                        .meta
                        .annotations
                        .insert(gpu::GPU_INDEX.into(), gpu::index_annotation(&devices));
                }
                gpus[i].add_pod(&pg, req.request.cpu_milli, &devices);
                used += pg.gpu_milli * devices.len() as i64;
                out.placements.push((
                    bound.meta.name.clone(),
                    infos[i].node.meta.name.clone(),
                    devices,
                ));
                infos[i].add_pod(Arc::new(bound));
            }
            None => out.failed += 1,
        }
        out.samples.push(Sample {
            arrived_milli: arrived,
            used_milli: used,
        });
    }
    out
}

/// Each node's place in the seeded name order (the artifact's `%04d-` prefix): nodes sorted by
/// name get a random permutation of 0..n.
fn node_ranks(nodes: &[Node], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut by_name: Vec<usize> = (0..nodes.len()).collect();
    by_name.sort_by(|&a, &b| nodes[a].meta.name.cmp(&nodes[b].meta.name));
    let mut perm: Vec<usize> = (0..nodes.len()).collect();
    for i in (1..perm.len()).rev() {
        let j = rng::below(rng, i as u64 + 1) as usize;
        perm.swap(i, j);
    }
    let mut rank = vec![0; nodes.len()];
    for (k, &i) in by_name.iter().enumerate() {
        rank[i] = perm[k];
    }
    rank
}

/// What picks a node for a pod.
struct Choice<'a> {
    policy: Policy,
    ties: Ties,
    rank: &'a [usize],
    typical: &'a TypicalPods,
}

impl Choice<'_> {
    /// Score and selectHost over the feasible nodes (None: none fits, or a score errs).
    fn choose(
        &self,
        pg: &PodGpu,
        feasible: &[usize],
        gpus: &[NodeGpu],
        memo: &mut FragMemo,
        totals: &mut Vec<i64>,
        rng: &mut ChaCha8Rng,
    ) -> Option<usize> {
        if feasible.is_empty() {
            return None;
        }
        if self.policy == Policy::Random {
            // PreScore draws one feasible node: it alone scores 100.
            return Some(feasible[rng::below(rng, feasible.len() as u64) as usize]);
        }
        totals.clear();
        for &i in feasible {
            let g = &gpus[i];
            let s = match self.policy {
                Policy::DotProduct => score::dot_product(g, pg),
                Policy::GpuClustering => score::gpu_clustering(g, pg),
                Policy::GpuPacking => score::gpu_packing(g, pg),
                Policy::BestFit => score::best_fit(g, pg),
                Policy::Fgd => score::fgd_with(g, pg, &mut |n| memo.frag(n, self.typical)).0,
                Policy::Random => 0,
            };
            if s < 0 {
                return None;
            }
            totals.push(s);
        }
        if self.policy == Policy::BestFit {
            score::normalize(totals);
        }
        let k = match self.ties {
            Ties::Uniform => select_host(totals, rng),
            Ties::SeededNodeOrder => {
                let mut best = 0;
                for k in 1..totals.len() {
                    let better = totals[k] > totals[best]
                        || (totals[k] == totals[best]
                            && self.rank[feasible[k]] < self.rank[feasible[best]]);
                    if better {
                        best = k;
                    }
                }
                best
            }
        };
        Some(feasible[k])
    }
}

#[cfg(test)]
mod tests;
