//! DefaultPreemption (reference scheduler §5): when no node fits, find nodes where removing
//! lower-priority pods would let the pod fit, choose the victims on each (reprieving the most
//! important first), pick one node by upstream's lexicographic rules, and report it.
//!
//! Deviations, documented: kubesim has no PodDisruptionBudgets (no victim violates one), and
//! the dry run re-runs the filters on the node with the victims removed without updating the
//! PodTopologySpread / InterPodAffinity PreFilter state (upstream's AddPod/RemovePod), so for
//! those two plugins the dry run sees the counts from before the removal.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::framework::{self, CycleState, Profile};
use super::plugins::NodeInfo;
use crate::model::Pod;
use crate::sim::{rng, SimTime};

/// `DefaultPreemptionArgs` defaults.
pub const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
pub const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

/// A node where preemption would work, with its victims (most important first).
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Index into the snapshot order.
    pub index: usize,
    pub victims: Vec<Arc<Pod>>,
}

/// `calculateNumCandidates`: 10 % of the potential nodes, at least 100, at most all.
pub fn num_candidates(potential: usize) -> usize {
    (potential * MIN_CANDIDATE_NODES_PERCENTAGE / 100)
        .max(MIN_CANDIDATE_NODES_ABSOLUTE)
        .min(potential)
}

/// `MoreImportantPod`: higher priority; equal priority → the earlier started one.
fn more_important(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    b.spec.priority.cmp(&a.spec.priority).then_with(|| {
        let t = |p: &Pod| p.status.start_time.unwrap_or(SimTime::MAX);
        t(a).cmp(&t(b))
    })
}

/// `SelectVictimsOnNode`: None when even removing every lower-priority pod does not help.
pub fn select_victims_on_node(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    node: &NodeInfo,
) -> Option<Vec<Arc<Pod>>> {
    let mut potential: Vec<Arc<Pod>> = node
        .pods
        .iter()
        .filter(|p| p.spec.priority < pod.spec.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return None;
    }
    let mut ni = node.clone();
    for p in &potential {
        ni.remove_pod(&p.key());
    }
    if framework::filter(profile, pod, state, &ni).is_err() {
        return None;
    }
    potential.sort_by(|a, b| more_important(a, b));
    let mut victims = Vec::new();
    for p in potential {
        ni.add_pod(p.clone());
        if framework::filter(profile, pod, state, &ni).is_err() {
            ni.remove_pod(&p.key());
            victims.push(p);
        }
    }
    Some(victims)
}

/// The dry run over the potential nodes (`potential`: snapshot indices whose filter failure
/// preemption may resolve), starting at a random offset and wrapping, until enough candidates.
pub fn find_candidates(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    nodes: &[&NodeInfo],
    potential: &[usize],
    r: &mut ChaCha8Rng,
) -> Vec<Candidate> {
    if potential.is_empty() {
        return vec![];
    }
    let want = num_candidates(potential.len());
    let offset = rng::below(r, potential.len() as u64) as usize;
    let mut out = Vec::new();
    for k in 0..potential.len() {
        let idx = potential[(offset + k) % potential.len()];
        if let Some(victims) = select_victims_on_node(profile, pod, state, nodes[idx]) {
            // Without PDBs every candidate is non-violating: stop at the wanted count.
            out.push(Candidate {
                index: idx,
                victims,
            });
            if out.len() >= want {
                break;
            }
        }
    }
    out
}

/// `pickOneNodeForPreemption`: fewest PDB violations (none here), then the lowest highest-victim
/// priority, the smallest sum of victim priorities (each + 2^31), the fewest victims, the
/// latest start among the highest-priority victims, then the first.
pub fn pick_one(cands: &[Candidate]) -> Option<usize> {
    if cands.is_empty() {
        return None;
    }
    let mut keep: Vec<usize> = (0..cands.len()).collect();
    let highest = |c: &Candidate| c.victims.first().map_or(i32::MIN, |v| v.spec.priority);
    let sum = |c: &Candidate| -> i64 {
        c.victims
            .iter()
            .map(|v| v.spec.priority as i64 + (1i64 << 31))
            .sum()
    };
    let earliest_of_highest = |c: &Candidate| -> SimTime {
        let h = highest(c);
        c.victims
            .iter()
            .filter(|v| v.spec.priority == h)
            .map(|v| v.status.start_time.unwrap_or(SimTime::MAX))
            .min()
            .unwrap_or(SimTime::MAX)
    };
    let narrow = |keep: &mut Vec<usize>, key: &dyn Fn(&Candidate) -> i128| {
        let best = keep.iter().map(|&i| key(&cands[i])).min();
        if let Some(b) = best {
            keep.retain(|&i| key(&cands[i]) == b);
        }
    };
    narrow(&mut keep, &|c| highest(c) as i128);
    narrow(&mut keep, &|c| sum(c) as i128);
    narrow(&mut keep, &|c| c.victims.len() as i128);
    // Latest earliest-start wins: minimise its negation.
    narrow(&mut keep, &|c| -(earliest_of_highest(c).as_nanos() as i128));
    keep.first().copied()
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::*;

    fn prio(mut p: Pod, v: i32, started: u64) -> Pod {
        p.spec.priority = v;
        p.status.start_time = Some(SimTime::ZERO + crate::sim::SimDuration::from_secs(started));
        p
    }

    // Reference scheduler §5 steps 4-5.
    #[test]
    fn victims_are_the_least_important_pods_needed() {
        // Node: 4000m; running 3 × 1000m at priorities 0, 0, 5 and one 1000m at 10.
        let running = vec![
            on(prio(pod("low-old", &[&[("cpu", 1000)]]), 0, 1), "n"),
            on(prio(pod("low-new", &[&[("cpu", 1000)]]), 0, 5), "n"),
            on(prio(pod("mid", &[&[("cpu", 1000)]]), 5, 1), "n"),
            on(prio(pod("high", &[&[("cpu", 1000)]]), 10, 1), "n"),
        ];
        let snap = OwnedSnapshot::new(vec![node("n", 4000, 1 << 30, &[])], running);
        let v = snap.view();
        let p = prio(pod("p", &[&[("cpu", 1500)]]), 7, 0);
        let profile = Profile::default();
        let st = framework::pre_filter(&profile, &p, &v);
        let victims = select_victims_on_node(&profile, &p, &st, v.get(0)).unwrap();
        let names: Vec<&str> = victims.iter().map(|x| x.meta.name.as_str()).collect();
        // Reprieve order: mid (5), low-old (0, started earlier), low-new. With all three gone
        // 3000m is free; mid is reprieved (2000m free still fits), low-old and low-new are not.
        assert_eq!(names, vec!["low-old", "low-new"]);
        assert!(!names.contains(&"high"));
    }

    #[test]
    fn pick_one_node_follows_upstream_order() {
        let v = |name: &str, pr: i32, t: u64| Arc::new(prio(pod(name, &[]), pr, t));
        let c = |i: usize, vs: Vec<Arc<Pod>>| Candidate {
            index: i,
            victims: vs,
        };
        // Lowest highest-victim priority wins over fewer victims.
        let cands = vec![
            c(0, vec![v("a", 5, 1)]),
            c(1, vec![v("b", 1, 1), v("c", 1, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // Same highest priority: smaller sum of priorities.
        let cands = vec![
            c(0, vec![v("a", 3, 1), v("b", 2, 1)]),
            c(1, vec![v("c", 3, 1), v("d", 1, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // Same sums: fewer victims.
        let cands = vec![
            c(0, vec![v("a", 0, 1), v("b", 0, 1)]),
            c(1, vec![v("c", 0, 1)]),
        ];
        assert_eq!(pick_one(&cands), Some(1));
        // All equal but start times: the later start among the highest-priority victims.
        let cands = vec![c(0, vec![v("a", 0, 1)]), c(1, vec![v("b", 0, 9)])];
        assert_eq!(pick_one(&cands), Some(1));
        assert_eq!(num_candidates(50), 50);
        assert_eq!(num_candidates(5000), 500);
        assert_eq!(num_candidates(200), 100);
    }
}
