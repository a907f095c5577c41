//! The timeline's faults as they start and end: each fault kind acts on the kubelets, the
//! network or the controller manager and leaves one `FaultStarted` / `FaultEnded` record.
//! Machine crashes and VM deletion live in `cloud.rs`; operator actions in `kubectl.rs`.
//!
//! Invariant: a fault starting first stops the lazy lease and status plans it would make fail,
//! so no planned heartbeat is ever delivered past the instant the fault cuts it off.

use std::collections::BTreeMap;

use super::{Cluster, Event, FaultKind, TimelineKind};
use crate::model::Taint;
use crate::network::Caller;
use crate::sim::{Engine, Record, SimDuration};

/// The record of a fault edge: `FaultStarted` with `on`, or `FaultEnded` with `off`.
pub(super) fn edge(start: bool, on: String, off: String) -> (&'static str, String) {
    if start {
        reason_message("FaultStarted", on)
    } else {
        reason_message("FaultEnded", off)
    }
}

/// A record's reason and message (a function, so the vocabulary's source scan sees the reason).
fn reason_message(reason: &'static str, message: String) -> (&'static str, String) {
    (reason, message)
}

impl Cluster {
    /// Entry `index` of the timeline starts (or ends): a fault here, an action in
    /// `Cluster::action`.
    pub(super) fn fault(&mut self, ctx: &mut Engine<Event>, index: usize, start: bool) {
        let kind = match &self.timeline[index] {
            TimelineKind::Action(a) => {
                let a = a.clone();
                return self.action(ctx, &a);
            }
            TimelineKind::Fault(f) => f.clone(),
        };
        if start {
            self.interrupt_plans(ctx, &kind);
        }
        let (reason, message) = match &kind {
            FaultKind::NodeCrash { machines } => self.node_crash(ctx, machines, start),
            FaultKind::VmDeleted { machines } => self.vm_deleted(machines),
            FaultKind::KubeletStop { machines } => self.kubelet_stop(ctx, machines, start),
            FaultKind::SlowLeaseRenewals { machines, latency } => {
                self.slow_lease_renewals(machines, *latency, start)
            }
            FaultKind::TaintNodes { machines, taint } => {
                self.taint_nodes(ctx, machines, taint, start)
            }
            FaultKind::NetworkPartition { machines } => {
                self.network_partition(ctx, machines, start)
            }
            FaultKind::RegistryOutage { registry } => self.registry_fault(registry, None, start),
            FaultKind::RegistrySlow { registry, factor } => {
                self.registry_fault(registry, Some(*factor), start)
            }
            FaultKind::RuntimeHang { machines } => self.runtime_hang(ctx, machines, start),
            FaultKind::CrashLoop {
                labels,
                exit_code,
                after,
            } => self.crash_loop(ctx, labels, *exit_code, *after, start),
            FaultKind::MemoryLeak { labels, rate } => self.memory_leak(ctx, labels, *rate, start),
            FaultKind::ControllerManagerRestart => {
                if start {
                    self.kcm.restart(ctx, &mut self.api);
                }
                (
                    "FaultStarted",
                    "kube-controller-manager restarted".to_string(),
                )
            }
            FaultKind::ApiServerUnavailable => self.api_server_unavailable(ctx, start),
        };
        if !self.proxies.is_empty() {
            self.proxies_after_fault(ctx, index, start);
        }
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubesim",
            object: format!("Fault/{index}"),
            message,
            fields: vec![("fault", kind.name().to_string())],
        });
    }

    /// Lazy heartbeats: planned lease renewals stop where this fault would make them fail.
    fn interrupt_plans(&mut self, ctx: &mut Engine<Event>, kind: &FaultKind) {
        match kind {
            FaultKind::ApiServerUnavailable => {
                for k in self.kubelets.iter_mut() {
                    k.interrupt_lease_plan(ctx, &mut self.api);
                }
            }
            FaultKind::NodeCrash { machines }
            | FaultKind::VmDeleted { machines }
            | FaultKind::KubeletStop { machines } => {
                for &m in machines {
                    let k = self.kubelets.get_mut(m as usize);
                    k.interrupt_lease_plan(ctx, &mut self.api);
                    // The process stops before any tick at this instant runs.
                    k.interrupt_status_plan(ctx, false);
                }
            }
            FaultKind::NetworkPartition { machines }
            | FaultKind::SlowLeaseRenewals { machines, .. } => {
                for &m in machines {
                    self.kubelets
                        .get_mut(m as usize)
                        .interrupt_lease_plan(ctx, &mut self.api);
                }
            }
            FaultKind::TaintNodes { .. }
            | FaultKind::RegistryOutage { .. }
            | FaultKind::RegistrySlow { .. }
            | FaultKind::RuntimeHang { .. }
            | FaultKind::CrashLoop { .. }
            | FaultKind::MemoryLeak { .. }
            | FaultKind::ControllerManagerRestart => {}
        }
    }

    /// `kubeletStop`: the kubelet process stops while the first such fault holds it, and
    /// restarts when the last ends (unless the machine is down).
    fn kubelet_stop(
        &mut self,
        ctx: &mut Engine<Event>,
        machines: &[u32],
        start: bool,
    ) -> (&'static str, String) {
        for &m in machines {
            let i = m as usize;
            if start {
                self.stopped[i] += 1;
                if self.stopped[i] == 1 && self.kubelets[i].running {
                    self.kubelets.get_mut(i).stop_process();
                }
            } else {
                self.stopped[i] -= 1;
                if self.stopped[i] == 0 && self.down[i] == 0 && !self.kubelets[i].running {
                    self.kubelets.get_mut(i).restart_process(ctx, &mut self.api);
                }
            }
        }
        let names = self.names(machines);
        edge(
            start,
            format!("kubelet stopped: {names}"),
            format!("kubelet restarted: {names}"),
        )
    }

    /// `slowLeaseRenewals`: the kubelets' lease renewals take `latency` while it lasts.
    fn slow_lease_renewals(
        &mut self,
        machines: &[u32],
        latency: SimDuration,
        start: bool,
    ) -> (&'static str, String) {
        for &m in machines {
            let l = start.then_some(latency);
            self.kubelets.get_mut(m as usize).set_lease_latency(l);
        }
        let names = self.names(machines);
        edge(
            start,
            format!("lease renewals delayed by {latency}: {names}"),
            format!("lease renewals on time: {names}"),
        )
    }

    /// `taintNodes`: the operator adds the taint (stamped now) and removes it at the end.
    fn taint_nodes(
        &mut self,
        ctx: &mut Engine<Event>,
        machines: &[u32],
        taint: &Taint,
        start: bool,
    ) -> (&'static str, String) {
        for &m in machines {
            self.edit_taint(ctx, m, taint, start);
        }
        let names = self.names(machines);
        let t = taint.to_text();
        edge(
            start,
            format!("operator tainted {t}: {names}"),
            format!("operator removed {t}: {names}"),
        )
    }

    /// The operator adds (`add`) or removes a taint on a machine's node; a request the API
    /// server refused because it was down is retried when it is back (the operator keeps
    /// trying, so the fault's window ends as the scenario says).
    fn edit_taint(&mut self, ctx: &mut Engine<Event>, m: u32, taint: &Taint, add: bool) {
        let now = ctx.now();
        let name = self.kubelets[m as usize].node_name.clone();
        let res = self.api.update_node(Caller::Operator, &name, |n| {
            if add {
                if !n.spec.taints.iter().any(|t| t.matches(taint)) {
                    n.spec.taints.push(Taint {
                        time_added: Some(now),
                        ..taint.clone()
                    });
                }
            } else {
                n.spec.taints.retain(|t| !t.matches(taint));
            }
        });
        if matches!(res, Err(crate::api::ApiError::Unavailable)) {
            self.taint_retries.push((m, taint.clone(), add));
        }
    }

    /// `networkPartition`: the machines lose the API server; when the link is back each
    /// running kubelet's watch reconnects and re-lists its pods.
    fn network_partition(
        &mut self,
        ctx: &mut Engine<Event>,
        machines: &[u32],
        start: bool,
    ) -> (&'static str, String) {
        self.api.net.cut_machines(machines, start);
        if !start {
            for &m in machines {
                let reachable = self.api.net.reachable(Caller::Kubelet(m));
                let k = self.kubelets.get_mut(m as usize);
                if k.running && reachable {
                    k.wake_reachable(ctx);
                    k.reconnect(ctx, &mut self.api);
                } else if k.running && !self.api.net.api_available() {
                    // Its link is back but the API server is down: it lists when that is back.
                    k.watch_broken();
                }
            }
        }
        let names = self.names(machines);
        edge(
            start,
            format!("partitioned from the API server: {names}"),
            format!("reconnected: {names}"),
        )
    }

    /// `registryOutage` (`slow` None) and `registrySlow`: every kubelet's pulls from the
    /// registry fail or take `slow` times longer.
    fn registry_fault(
        &mut self,
        registry: &str,
        slow: Option<u32>,
        start: bool,
    ) -> (&'static str, String) {
        for k in self.kubelets.iter_mut() {
            k.registry_fault(registry, slow, start);
        }
        let what = match slow {
            Some(f) => format!("registry {registry} {f}x slower"),
            None => format!("registry {registry} unavailable"),
        };
        edge(start, what, format!("registry {registry} back to normal"))
    }

    /// `runtimeHang`: the running kubelets' container runtimes stop answering, then resume
    /// (on every machine it hung, also one whose kubelet stopped or crashed meanwhile, so
    /// that it does not come back to a runtime it believes hung).
    fn runtime_hang(
        &mut self,
        ctx: &mut Engine<Event>,
        machines: &[u32],
        start: bool,
    ) -> (&'static str, String) {
        for &m in machines {
            let k = self.kubelets.get_mut(m as usize);
            if start && !k.running {
                continue;
            }
            if start {
                k.hang_runtime(ctx);
            } else {
                k.resume_runtime(ctx, &mut self.api);
            }
        }
        let names = self.names(machines);
        edge(
            start,
            format!("container runtime hung: {names}"),
            format!("container runtime answering: {names}"),
        )
    }

    /// `crashLoop`: the containers of matching pods exit with `exit_code` after `after`.
    fn crash_loop(
        &mut self,
        ctx: &mut Engine<Event>,
        labels: &BTreeMap<String, String>,
        exit_code: i32,
        after: SimDuration,
        start: bool,
    ) -> (&'static str, String) {
        // Every kubelet, running or not (a stopped one only records the fault).
        for k in self.kubelets.iter_mut() {
            k.crash_loop(ctx, &mut self.api, labels, exit_code, after, start);
        }
        edge(
            start,
            format!("containers of pods {labels:?} crash-looping"),
            format!("containers of pods {labels:?} healthy again"),
        )
    }

    /// `memoryLeak`: the containers of matching pods grow by `rate` bytes per second.
    fn memory_leak(
        &mut self,
        ctx: &mut Engine<Event>,
        labels: &BTreeMap<String, String>,
        rate: i64,
        start: bool,
    ) -> (&'static str, String) {
        // Every kubelet, running or not (a stopped one only records the fault).
        for k in self.kubelets.iter_mut() {
            k.memory_leak(ctx, &mut self.api, labels, rate, start);
        }
        edge(
            start,
            format!("containers of pods {labels:?} leaking {rate} bytes/s"),
            format!("containers of pods {labels:?} stopped leaking"),
        )
    }

    /// `apiServerUnavailable`: every client loses the API server; when it is back the
    /// running kubelets wake up (and one whose pod LIST failed lists again).
    fn api_server_unavailable(
        &mut self,
        ctx: &mut Engine<Event>,
        start: bool,
    ) -> (&'static str, String) {
        self.api.net.set_api_down(start);
        if !start && self.api.net.api_available() {
            for k in self.kubelets.iter_mut().filter(|k| k.running) {
                k.api_server_back(ctx, &mut self.api);
            }
            for (m, taint, add) in std::mem::take(&mut self.taint_retries) {
                self.edit_taint(ctx, m, &taint, add);
            }
        }
        edge(
            start,
            "API server unreachable".to_string(),
            "API server reachable again".to_string(),
        )
    }

    /// The machines' node names, comma-separated, for messages.
    pub(super) fn names(&self, machines: &[u32]) -> String {
        let names: Vec<&str> = machines
            .iter()
            .map(|m| self.kubelets[*m as usize].node_name.as_str())
            .collect();
        names.join(", ")
    }
}
