//! The pod status a worker reports, after `generateAPIPodStatus` of
//! pkg/kubelet/kubelet_pods.go: the phase (`getPhase`, ported in `phase.rs`), the kubelet's
//! conditions (pkg/kubelet/status/generate.go, ported in `conditions.rs`), container statuses,
//! and the reason and message of a pod the kubelet failed.
//!
//! Invariant: a pod the kubelet failed (evicted, past its deadline) is Failed whatever its
//! containers say; every condition keeps its `lastTransitionTime` while its status holds.

use super::super::conditions::{kubelet_conditions, GeneratedCondition, Sandbox};
use super::super::phase::{get_phase, Statuses};
use super::{Ctr, ProbeKind, Worker};
use crate::model::*;
use crate::sim::SimTime;

impl Worker {
    /// Applies a startup probe success to readiness: without a readiness probe the container
    /// becomes ready once started.
    fn settle_ready(&mut self) {
        for c in &mut self.ctrs {
            if c.state.is_running()
                && c.started
                && c.kill.is_none()
                && !c.probes.iter().any(|p| p.kind == ProbeKind::Readiness)
            {
                c.ready = true;
            }
        }
    }

    pub(super) fn terminal_phase(&self) -> Option<PodPhase> {
        if self.failed.is_some() {
            return Some(PodPhase::Failed);
        }
        match self.phase() {
            p @ (PodPhase::Succeeded | PodPhase::Failed) => Some(p),
            _ => None,
        }
    }

    /// Whether the pod worker has decided the pod runs no more (deleted, evicted, past its
    /// deadline): `podIsTerminal` of `generateAPIPodStatus`.
    fn pod_is_terminal(&self) -> bool {
        self.terminating.is_some() || self.failed.is_some()
    }

    fn container_statuses(&self) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
        let to_status = |c: &Ctr| ContainerStatus {
            name: c.spec.name.clone(),
            image: c.spec.image.clone(),
            state: c.state.clone(),
            last_state: c.last.clone(),
            ready: c.ready && c.state.is_running(),
            started: c.started && c.state.is_running(),
            restart_count: c.restarts,
        };
        (
            self.ctrs[..self.n_init].iter().map(to_status).collect(),
            self.ctrs[self.n_init..].iter().map(to_status).collect(),
        )
    }

    /// `getPhase` (pkg/kubelet/kubelet_pods.go, in `phase.rs`) over the worker's containers;
    /// a pod the kubelet failed (evicted, past its deadline) is Failed.
    pub fn phase(&self) -> PodPhase {
        if self.failed.is_some() {
            return PodPhase::Failed;
        }
        let (init, app) = self.container_statuses();
        get_phase(
            &self.pod,
            Statuses::two(&init, &app),
            self.pod_is_terminal(),
        )
    }

    /// Whether the pod's sandbox is up, as the status's `PodReadyToStartContainers` reports it
    /// (`kubelet_running_pods` counts these pods).
    pub fn sandbox_running(&self) -> bool {
        self.sandbox_ready && !(self.pod_is_terminal() && self.all_stopped())
    }

    /// The status the kubelet reports now (`generateAPIPodStatus`): phase, conditions
    /// (`status/generate.go`, in `conditions.rs`), container statuses, reason and message.
    pub fn status(&mut self, now: SimTime) -> PodStatus {
        self.settle_ready();
        let (init, app) = self.container_statuses();
        let statuses = Statuses::two(&init, &app);
        let terminal = self.pod_is_terminal();
        let phase = if self.failed.is_some() {
            PodPhase::Failed
        } else {
            get_phase(&self.pod, statuses, terminal)
        };
        let sandbox = if self.sandbox_ready && !(terminal && self.all_stopped()) {
            Sandbox::Ready
        } else {
            Sandbox::NotReady
        };
        let generated = kubelet_conditions(&self.pod, statuses, phase, sandbox);
        for g in &generated {
            if g.type_ != PodConditionType::PodScheduled {
                set_condition(&mut self.conditions, g, now);
            }
        }
        // The API status as the pod worker last saw it, with the kubelet's parts replaced (the
        // struct is spelled out so that a new status field has to be decided on here).
        let api = &self.pod.status;
        let (reason, message) = match &self.failed {
            Some((r, m)) => (r.clone(), m.clone()),
            None => (api.reason.clone(), api.message.clone()),
        };
        PodStatus {
            phase,
            conditions: self.conditions.clone(),
            start_time: api.start_time.or(Some(self.start_time)),
            nominated_node_name: api.nominated_node_name.clone(),
            reason,
            message,
            init_container_statuses: init,
            container_statuses: app,
        }
    }
}

/// [`Pod::set_condition`] on the worker's own conditions: `lastTransitionTime` is kept while
/// the status holds.
fn set_condition(conditions: &mut Vec<PodCondition>, g: &GeneratedCondition, now: SimTime) {
    match conditions.iter_mut().find(|c| c.type_ == g.type_) {
        Some(c) => {
            if c.status != g.status {
                c.last_transition_time = now;
            }
            c.status = g.status;
            if c.reason != g.reason {
                c.reason.clone_from(&g.reason);
            }
        }
        None => conditions.push(PodCondition {
            type_: g.type_,
            status: g.status,
            reason: g.reason.clone(),
            last_transition_time: now,
        }),
    }
}
