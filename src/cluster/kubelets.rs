//! The cluster's kubelets, one per machine, with the fleet-wide figures the samplers read
//! (`kubelet_running_pods` summed over the kubelets, and the kubelets' client totals) kept
//! between changes instead of summed over every kubelet at every sample.
//!
//! Invariant: every mutable access goes through [`Kubelets::get_mut`] or
//! [`Kubelets::iter_mut`], which mark the kubelets touched (each once); [`Kubelets::settle`]
//! folds the touched kubelets' figures into the totals. The run settles before it observes
//! (a sample, an expectation, an invariant check), so a sample costs O(kubelets touched since
//! the last one), not O(kubelets). Read unsettled, the totals panic (an `assert!`, on in
//! release builds), so a stale total can never reach an output; settled, they are exactly the
//! sums a walk of all kubelets gives ([`Kubelets::totals_match_walk`], checked by the
//! invariant checker after every event).

use std::ops::Index;

use crate::client::tokenbucket::ClientStats;
use crate::kubelet::Kubelet;
use crate::sim::SimDuration;

/// What one kubelet contributed to the totals when it was last settled.
#[derive(Clone, Debug, Default)]
struct Kept {
    running_pods: u64,
    stats: ClientStats,
}

pub struct Kubelets {
    list: Vec<Kubelet>,
    kept: Vec<Kept>,
    /// Kubelets touched since the last settle (each once; `marked` says which).
    touched: Vec<u32>,
    marked: Vec<bool>,
    running_pods: u64,
    /// The sum of the kept client statistics (`longest` is their maximum).
    stats: ClientStats,
}

impl Kubelets {
    /// All kubelets, settled.
    pub fn new(list: Vec<Kubelet>) -> Kubelets {
        let n = list.len();
        let mut k = Kubelets {
            list,
            kept: vec![Kept::default(); n],
            touched: (0..n as u32).collect(),
            marked: vec![true; n],
            running_pods: 0,
            stats: ClientStats::default(),
        };
        k.settle();
        k
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Kubelet> {
        self.list.iter()
    }

    /// The kubelet of machine `m`, marked touched.
    pub fn get_mut(&mut self, m: usize) -> &mut Kubelet {
        if !self.marked[m] {
            self.marked[m] = true;
            self.touched.push(m as u32);
        }
        &mut self.list[m]
    }

    /// Every kubelet, all marked touched (whole-fleet faults).
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Kubelet> {
        for m in 0..self.list.len() {
            if !self.marked[m] {
                self.marked[m] = true;
                self.touched.push(m as u32);
            }
        }
        self.list.iter_mut()
    }

    /// Folds the touched kubelets' figures into the totals.
    pub fn settle(&mut self) {
        let mut longest_fell = false;
        for m in std::mem::take(&mut self.touched) {
            let m = m as usize;
            self.marked[m] = false;
            let k = &self.list[m];
            let now = Kept {
                running_pods: k.running_pods() as u64,
                stats: k.client_stats().clone(),
            };
            let old = &self.kept[m];
            self.running_pods = self.running_pods - old.running_pods + now.running_pods;
            let s = &mut self.stats;
            s.requests = s.requests - old.stats.requests + now.stats.requests;
            s.waiting = s.waiting - old.stats.waiting + now.stats.waiting;
            s.waited = SimDuration::from_nanos(
                s.waited.as_nanos() - old.stats.waited.as_nanos() + now.stats.waited.as_nanos(),
            );
            if now.stats.longest >= old.stats.longest {
                s.longest = s.longest.max(now.stats.longest);
            } else {
                longest_fell = true;
            }
            self.kept[m] = now;
        }
        if longest_fell {
            self.stats.longest = (self.kept.iter().map(|k| k.stats.longest))
                .max()
                .unwrap_or(SimDuration::ZERO);
        }
    }

    /// `kubelet_running_pods` summed over the kubelets (settled first).
    pub fn running_pods(&self) -> u64 {
        assert!(self.touched.is_empty(), "kubelet totals read unsettled");
        self.running_pods
    }

    /// The kubelets' client statistics added up (settled first).
    pub fn client_stats(&self) -> &ClientStats {
        assert!(self.touched.is_empty(), "kubelet totals read unsettled");
        &self.stats
    }

    /// Whether the kept totals are what a walk of every kubelet gives now (for the invariant
    /// checker, after a settle; false while unsettled).
    pub fn totals_match_walk(&self) -> bool {
        let mut stats = ClientStats::default();
        let mut running = 0u64;
        for k in &self.list {
            stats.add(k.client_stats());
            running += k.running_pods() as u64;
        }
        self.touched.is_empty() && running == self.running_pods && stats == self.stats
    }
}

impl Index<usize> for Kubelets {
    type Output = Kubelet;
    fn index(&self, m: usize) -> &Kubelet {
        &self.list[m]
    }
}

impl<'a> IntoIterator for &'a Kubelets {
    type Item = &'a Kubelet;
    type IntoIter = std::slice::Iter<'a, Kubelet>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::KubeletConfig;
    use crate::model::Node;
    use crate::runtime::RuntimeConfig;

    fn fleet(n: u32) -> Kubelets {
        Kubelets::new(
            (0..n)
                .map(|m| {
                    let mut node = Node::default();
                    node.meta.name = format!("n{m}");
                    let config = KubeletConfig::default();
                    Kubelet::new(m, node, config, RuntimeConfig::default(), 1)
                })
                .collect(),
        )
    }

    #[test]
    fn a_new_fleet_is_settled_and_matches_the_walk() {
        let mut f = fleet(3);
        assert!(f.totals_match_walk());
        assert_eq!(f.running_pods(), 0);
        f.get_mut(2);
        f.get_mut(2);
        assert_eq!(f.touched, vec![2], "a kubelet is touched once");
        assert!(
            !f.totals_match_walk(),
            "unsettled totals are never called a match"
        );
        f.settle();
        assert!(f.totals_match_walk());
    }

    // Reading a total that a touched kubelet may have changed is a bug in the caller.
    #[test]
    #[should_panic(expected = "kubelet totals read unsettled")]
    fn unsettled_totals_are_never_read() {
        let mut f = fleet(2);
        f.get_mut(0);
        f.running_pods();
    }
}
