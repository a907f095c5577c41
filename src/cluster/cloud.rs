//! The machines under the cluster: a node crash takes a machine down and its end boots it; a
//! VM deleted in the cloud provider never comes back (the cloud node controller then deletes
//! its Node).
//!
//! Invariant: a machine is down while any crash fault holds it (`down` counts them); it boots
//! only when the last one ends, and its kubelet starts only if no kubeletStop fault holds it.

use super::faults::edge;
use super::{Cluster, Event};
use crate::sim::Engine;

impl Cluster {
    /// `nodeCrash`: the machines go down, and boot when the fault ends.
    pub(super) fn node_crash(
        &mut self,
        ctx: &mut Engine<Event>,
        machines: &[u32],
        start: bool,
    ) -> (&'static str, String) {
        for &m in machines {
            if start {
                self.machine_down(m);
            } else {
                self.machine_up(ctx, m);
            }
        }
        let names = self.names(machines);
        edge(
            start,
            format!("node crash: {names}"),
            format!("node recovered: {names}"),
        )
    }

    /// `vmDeleted`: for good, the machine never comes back (no end event is scheduled).
    pub(super) fn vm_deleted(&mut self, machines: &[u32]) -> (&'static str, String) {
        for &m in machines {
            self.machine_down(m);
            let name = self.kubelets[m as usize].node_name.clone();
            self.cloud.deleted.insert(name);
        }
        (
            "FaultStarted",
            format!("VM deleted in the cloud: {}", self.names(machines)),
        )
    }

    /// A crash (or VM deletion) takes the machine down: every process and container stops.
    fn machine_down(&mut self, m: u32) {
        let i = m as usize;
        self.down[i] += 1;
        if self.down[i] == 1 {
            self.kubelets.get_mut(i).crash();
            self.api.net.cut_machine(m, true);
        }
    }

    /// The last crash fault on the machine ends: it boots (the kubelet starts unless a
    /// kubeletStop fault still holds it).
    fn machine_up(&mut self, ctx: &mut Engine<Event>, m: u32) {
        let i = m as usize;
        self.down[i] -= 1;
        if self.down[i] == 0 {
            self.api.net.cut_machine(m, false);
            if self.stopped[i] == 0 {
                self.kubelets.get_mut(i).start(ctx, &mut self.api);
            }
        }
    }
}
