//! Who can reach the API server. Today: the API server's own availability and the set of
//! machines whose link to it is cut (crashed machines are cut too). Later: partitions of nodes
//! and zones as a petgraph connectivity graph, and latencies.
//!
//! Architecture invariant: messages are dropped only as the scenario (its fault timeline) decides.

use std::collections::BTreeMap;

/// The parties that talk to the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    /// The kubelet of machine `i` (index into the cluster's machines).
    Kubelet(u32),
    ControllerManager,
    Scheduler,
    /// A scenario action (an operator with kubectl); reaches the API whenever it is up.
    Operator,
}

#[derive(Default)]
pub struct Network {
    api_down_reasons: u32,
    /// Machines cut off from the API server, with how many faults cut each (faults may overlap).
    cut: BTreeMap<u32, u32>,
}

impl Network {
    pub fn api_available(&self) -> bool {
        self.api_down_reasons == 0
    }
    pub fn set_api_down(&mut self, down: bool) {
        if down {
            self.api_down_reasons += 1;
        } else {
            self.api_down_reasons = self.api_down_reasons.saturating_sub(1);
        }
    }
    pub fn cut_machine(&mut self, machine: u32, cut: bool) {
        if cut {
            *self.cut.entry(machine).or_insert(0) += 1;
        } else if let Some(n) = self.cut.get_mut(&machine) {
            *n -= 1;
            if *n == 0 {
                self.cut.remove(&machine);
            }
        }
    }
    pub fn reachable(&self, caller: Caller) -> bool {
        if !self.api_available() {
            return false;
        }
        match caller {
            Caller::Kubelet(i) => !self.cut.contains_key(&i),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_faults_heal_only_when_all_end() {
        let mut n = Network::default();
        n.set_api_down(true);
        n.set_api_down(true);
        n.set_api_down(false);
        assert!(!n.reachable(Caller::Scheduler));
        n.set_api_down(false);
        assert!(n.reachable(Caller::Scheduler));
        n.cut_machine(3, true);
        n.cut_machine(3, true);
        n.cut_machine(3, false);
        assert!(!n.reachable(Caller::Kubelet(3)));
        assert!(n.reachable(Caller::Kubelet(2)));
        n.cut_machine(3, false);
        assert!(n.reachable(Caller::Kubelet(3)));
    }
}
