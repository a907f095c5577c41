//! Who can reach the API server: a `petgraph` topology of the control plane, one switch per
//! zone and one machine per node (machine — zone switch — control plane). Faults cut links,
//! counted so that overlapping faults heal only when the last one ends; the API server's own
//! availability is a separate count. Reachability is recomputed (one BFS from the control plane)
//! only when a link changes, so a request costs one lookup.
//!
//! Architecture invariant: messages are dropped only as the scenario (its fault timeline) decides.

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::{Bfs, EdgeFiltered, EdgeRef};

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

pub struct Network {
    api_down_reasons: u32,
    graph: UnGraph<(), ()>,
    control_plane: NodeIndex,
    /// The machine's link to its zone switch, by machine index.
    machine_link: Vec<EdgeIndex>,
    machine_vertex: Vec<NodeIndex>,
    /// How many active faults cut each link, by edge index.
    cuts: Vec<u32>,
    /// Whether each machine reaches the control plane (kept up to date on every cut).
    reach: Vec<bool>,
}

impl Default for Network {
    fn default() -> Self {
        Network::new(&[])
    }
}

impl Network {
    /// `zone_of[m]` is machine m's zone index (any dense numbering).
    pub fn new(zone_of: &[usize]) -> Network {
        let mut graph = UnGraph::new_undirected();
        let control_plane = graph.add_node(());
        let zones = zone_of.iter().copied().max().map_or(0, |z| z + 1);
        let switches: Vec<NodeIndex> = (0..zones).map(|_| graph.add_node(())).collect();
        for &s in &switches {
            graph.add_edge(control_plane, s, ());
        }
        let mut machine_link = Vec::with_capacity(zone_of.len());
        let mut machine_vertex = Vec::with_capacity(zone_of.len());
        for &z in zone_of {
            let v = graph.add_node(());
            machine_vertex.push(v);
            machine_link.push(graph.add_edge(v, switches[z], ()));
        }
        let cuts = vec![0; graph.edge_count()];
        Network {
            api_down_reasons: 0,
            control_plane,
            machine_link,
            machine_vertex,
            cuts,
            reach: vec![true; zone_of.len()],
            graph,
        }
    }

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

    /// Cuts (or, for one fault, heals) the links of these machines.
    pub fn cut_machines(&mut self, machines: &[u32], cut: bool) {
        for &m in machines {
            let Some(e) = self.machine_link.get(m as usize) else {
                continue;
            };
            let c = &mut self.cuts[e.index()];
            if cut {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
        }
        self.recompute();
    }

    pub fn cut_machine(&mut self, machine: u32, cut: bool) {
        self.cut_machines(&[machine], cut);
    }

    fn recompute(&mut self) {
        let cuts = &self.cuts;
        let up = EdgeFiltered::from_fn(&self.graph, |e| cuts[e.id().index()] == 0);
        let mut seen = vec![false; self.graph.node_count()];
        let mut bfs = Bfs::new(&up, self.control_plane);
        while let Some(v) = bfs.next(&up) {
            seen[v.index()] = true;
        }
        for (m, v) in self.machine_vertex.iter().enumerate() {
            self.reach[m] = seen[v.index()];
        }
    }

    /// Whether machines `a` and `b` reach each other (the data path of a Service request):
    /// a machine always reaches itself; otherwise neither machine's link may be cut (two
    /// machines meet at their zone switch or through the control plane's, whose links no
    /// fault cuts). The API server's availability plays no part.
    pub fn path_open(&self, a: u32, b: u32) -> bool {
        if a == b {
            return true;
        }
        let open = |m: u32| {
            self.machine_link
                .get(m as usize)
                .is_none_or(|e| self.cuts[e.index()] == 0)
        };
        open(a) && open(b)
    }

    pub fn reachable(&self, caller: Caller) -> bool {
        if !self.api_available() {
            return false;
        }
        match caller {
            Caller::Kubelet(i) => self.reach.get(i as usize).copied().unwrap_or(true),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_faults_heal_only_when_all_end() {
        let mut n = Network::new(&[0, 0, 1, 1]);
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

    #[test]
    fn a_cut_link_closes_the_data_path_of_its_machine_only() {
        let mut n = Network::new(&[0, 0, 1]);
        assert!(n.path_open(0, 2));
        n.cut_machine(1, true);
        assert!(!n.path_open(0, 1) && !n.path_open(1, 2));
        assert!(n.path_open(0, 2) && n.path_open(1, 1));
        n.set_api_down(true);
        assert!(n.path_open(0, 2));
    }

    #[test]
    fn cutting_a_zone_cuts_only_its_machines() {
        let mut n = Network::new(&[0, 0, 1, 1, 2]);
        n.cut_machines(&[2, 3], true);
        let r: Vec<bool> = (0..5).map(|m| n.reachable(Caller::Kubelet(m))).collect();
        assert_eq!(r, vec![true, true, false, false, true]);
        n.cut_machines(&[2, 3], false);
        assert!((0..5).all(|m| n.reachable(Caller::Kubelet(m))));
    }
}
