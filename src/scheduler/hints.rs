//! QueueingHints: which cluster events may make an unschedulable pod schedulable.
//!
//! Upstream (kube-scheduler 1.34, `SchedulerQueueingHints` on by default) moves a pod out of
//! `unschedulablePods` only when an event matches a `ClusterEvent` registered by one of the
//! plugins that rejected it (`EventsToRegister`) and that plugin's `QueueingHintFn` answers
//! `Queue` (`PriorityQueue.isPodWorthRequeuing`, pkg/scheduler/backend/queue/scheduling_queue.go).
//! A Node update is first reduced to the scheduling properties it changed
//! (`NodeSchedulingPropertiesChange`, pkg/scheduler/framework/events.go): a status write that
//! only moves heartbeat times, conditions or images changes none of them, so nothing moves.
//!
//! Invariant: a hint never answers `Skip` where upstream's would answer `Queue` for the
//! modelled fields; where kubesim does not model a hint's finer test (NodePorts,
//! PodTopologySpread, InterPodAffinity, NodeName) it answers `Queue` for every registered event.

use std::sync::Arc;

use super::framework::{Plugin, Profile};
use super::plugins::{node_affinity, node_resources_fit as fit, node_unschedulable};
use super::plugins::{taint_toleration, NodeInfo, PodRequest};
use crate::model::{Node, Pod, Resources};

/// `ActionType` bits of a Node event (pkg/scheduler/framework/types.go, `fwk.ActionType`).
pub(super) mod action {
    pub const ADD: u8 = 1;
    pub const UPDATE_ALLOCATABLE: u8 = 1 << 1;
    pub const UPDATE_LABEL: u8 = 1 << 2;
    pub const UPDATE_TAINT: u8 = 1 << 3;
    pub const UPDATE_UNSCHEDULABLE: u8 = 1 << 4;
}

/// A cluster event the scheduler's informers deliver (`fwk.ClusterEvent` with its objects).
pub(super) enum ClusterEvent<'a> {
    /// Node/Add (`old` is `None`) or Node/Update with the changed properties in `actions`.
    Node {
        old: Option<Arc<Node>>,
        new: &'a Arc<Node>,
        actions: u8,
    },
    /// AssignedPod/Delete (a terminal pod leaves the scheduler's view the same way).
    AssignedPodDelete,
}

/// `NodeSchedulingPropertiesChange`: the `ActionType`s a Node update carries. Condition,
/// heartbeat, image and annotation changes carry none that a modelled plugin registers.
pub(super) fn node_actions(old: &Node, new: &Node) -> u8 {
    let mut a = 0;
    if old.spec.unschedulable != new.spec.unschedulable {
        a |= action::UPDATE_UNSCHEDULABLE;
    }
    if old.status.allocatable != new.status.allocatable {
        a |= action::UPDATE_ALLOCATABLE;
    }
    if old.meta.labels != new.meta.labels {
        a |= action::UPDATE_LABEL;
    }
    if old.spec.taints != new.spec.taints {
        a |= action::UPDATE_TAINT;
    }
    a
}

/// The Node actions each plugin registers with `SchedulerQueueingHints` on (each plugin's
/// `EventsToRegister`): NodeResourcesFit `Add|UpdateNodeAllocatable`; TaintToleration
/// `Add|UpdateNodeTaint`; NodeAffinity `Add|UpdateNodeLabel`; NodeUnschedulable
/// `Add|UpdateNodeUnschedulable|UpdateNodeTaint`; NodeName and NodePorts `Add`;
/// PodTopologySpread `Add|Delete|UpdateNodeLabel|UpdateNodeTaint`; InterPodAffinity
/// `Add|UpdateNodeLabel`.
fn node_registration(p: Plugin) -> u8 {
    use action::*;
    match p {
        Plugin::NodeResourcesFit => ADD | UPDATE_ALLOCATABLE,
        Plugin::TaintToleration => ADD | UPDATE_TAINT,
        Plugin::NodeAffinity | Plugin::InterPodAffinity => ADD | UPDATE_LABEL,
        Plugin::NodeUnschedulable => ADD | UPDATE_UNSCHEDULABLE | UPDATE_TAINT,
        Plugin::NodeName | Plugin::NodePorts => ADD,
        Plugin::PodTopologySpread => ADD | UPDATE_LABEL | UPDATE_TAINT,
        // Open-Gpu-Share (out of tree): a new node, or more allocatable, may bring devices.
        Plugin::OpenGpuShare => ADD | UPDATE_ALLOCATABLE,
        _ => 0,
    }
}

/// Whether `p` registers AssignedPod/Delete: NodeResourcesFit (`isSchedulableAfterPodEvent`:
/// Queue for any deleted scheduled pod), NodePorts, PodTopologySpread, InterPodAffinity, and
/// the out-of-tree Open-Gpu-Share (a deleted pod frees its devices).
fn registers_pod_delete(p: Plugin) -> bool {
    matches!(
        p,
        Plugin::NodeResourcesFit
            | Plugin::NodePorts
            | Plugin::PodTopologySpread
            | Plugin::InterPodAffinity
            | Plugin::OpenGpuShare
    )
}

/// Bit of a plugin in a rejector set (`QueuedPodInfo.UnschedulablePlugins`). Only filter
/// plugins reject, and they all fit in 16 bits (the out-of-tree score plugins get none).
pub(super) fn bit(p: Plugin) -> u16 {
    1u16.checked_shl(p as u32).unwrap_or(0)
}

/// `isPodWorthRequeuing` for one pod: no rejector plugins (an unexpected failure) → Queue;
/// otherwise Queue when some rejector registers the event and its hint says Queue.
pub(super) fn worth_requeuing(
    profile: &Profile,
    pod: &Pod,
    rejectors: u16,
    ev: &ClusterEvent,
) -> bool {
    if rejectors == 0 {
        return true;
    }
    Plugin::registry()
        .filter(|&p| rejectors & bit(p) != 0)
        .any(|p| match ev {
            ClusterEvent::AssignedPodDelete => registers_pod_delete(p),
            ClusterEvent::Node { old, new, actions } => {
                node_registration(p) & actions != 0 && node_hint(p, profile, pod, old, new)
            }
        })
}

/// The plugins' Node `QueueingHintFn`s, each evaluated on the node alone (an empty node
/// info, as upstream's hints build one with `NewNodeInfo` + `SetNode`).
fn node_hint(
    p: Plugin,
    profile: &Profile,
    pod: &Pod,
    old: &Option<Arc<Node>>,
    new: &Arc<Node>,
) -> bool {
    let passes = |n: &Arc<Node>| {
        let ni = NodeInfo::new(n.clone());
        match p {
            Plugin::TaintToleration => taint_toleration::filter(pod, &ni).is_ok(),
            Plugin::NodeAffinity => node_affinity::filter(pod, &ni, &profile.node_affinity).is_ok(),
            Plugin::NodeUnschedulable => node_unschedulable::filter(pod, &ni).is_ok(),
            Plugin::NodeResourcesFit => {
                fit::filter(&PodRequest::of(pod), &ni, &profile.fit).is_ok()
            }
            _ => true,
        }
    };
    match p {
        // `Fit.isSchedulableAfterNodeChange`: the pod must fit the empty node (`isFit`);
        // an added node queues it, an updated one only if a requested resource's
        // allocatable (or the pod count) grew (`haveAnyRequestedResourcesIncreased`).
        Plugin::NodeResourcesFit => {
            passes(new)
                && old.as_ref().is_none_or(|o| {
                    requested_increased(
                        &PodRequest::of(pod).request,
                        &o.status.allocatable,
                        &new.status.allocatable,
                    )
                })
        }
        // TaintToleration, NodeAffinity, NodeUnschedulable `isSchedulableAfterNodeChange`:
        // Queue when the new node passes and the old one did not (or the node is new).
        Plugin::TaintToleration | Plugin::NodeAffinity | Plugin::NodeUnschedulable => {
            passes(new) && old.as_ref().is_none_or(|o| !passes(o))
        }
        _ => true,
    }
}

/// `haveAnyRequestedResourcesIncreased`.
fn requested_increased(req: &Resources, old: &Resources, new: &Resources) -> bool {
    if new.pods > old.pods {
        return true;
    }
    (req.cpu_milli > 0 && new.cpu_milli > old.cpu_milli)
        || (req.memory > 0 && new.memory > old.memory)
        || (req.ephemeral_storage > 0 && new.ephemeral_storage > old.ephemeral_storage)
        || req.scalar.iter().any(|(k, v)| {
            *v > 0 && new.scalar.get(k).unwrap_or(&0) > old.scalar.get(k).unwrap_or(&0)
        })
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::*;
    use crate::model::{ConditionStatus, NodeCondition, NodeConditionType, Taint, TaintEffect};
    use crate::sim::SimTime;

    fn update(p: Plugin, pod: &Pod, old: &Node, new: &Node) -> bool {
        let new = Arc::new(new.clone());
        let ev = ClusterEvent::Node {
            old: Some(Arc::new(old.clone())),
            new: &new,
            actions: node_actions(old, &new),
        };
        worth_requeuing(&Profile::default(), pod, bit(p), &ev)
    }

    fn tainted(mut n: Node) -> Node {
        n.spec.taints.push(Taint {
            key: "node.kubernetes.io/unreachable".into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
            time_added: None,
        });
        n
    }

    // A status write that only moves a heartbeat or a condition carries no ActionType.
    #[test]
    fn heartbeats_and_conditions_are_no_scheduling_change() {
        let old = node("n", 4000, 1 << 30, &[]);
        let mut new = old.clone();
        new.status.conditions.push(NodeCondition {
            type_: NodeConditionType::Ready,
            status: ConditionStatus::Unknown,
            last_heartbeat_time: SimTime::from_secs(60),
            last_transition_time: SimTime::from_secs(60),
            reason: "NodeStatusUnknown".into(),
            message: String::new(),
        });
        assert_eq!(node_actions(&old, &new), 0);
        let pod = pod("p", &[&[("cpu", 1000)]]);
        assert!(!update(Plugin::NodeResourcesFit, &pod, &old, &new));
        assert!(!update(Plugin::TaintToleration, &pod, &old, &new));
    }

    // Fit.isSchedulableAfterNodeChange and isSchedulableAfterPodEvent.
    #[test]
    fn node_resources_fit_hints() {
        let pod = pod("p", &[&[("cpu", 1000)]]);
        let old = node("n", 4000, 1 << 30, &[]);
        assert!(!update(
            Plugin::NodeResourcesFit,
            &pod,
            &old,
            &tainted(old.clone())
        ));
        let bigger = node("n", 8000, 1 << 30, &[]);
        assert!(update(Plugin::NodeResourcesFit, &pod, &old, &bigger));
        let more_memory = node("n", 4000, 2 << 30, &[]);
        assert!(!update(Plugin::NodeResourcesFit, &pod, &old, &more_memory));
        let too_small = node("n", 500, 1 << 30, &[]);
        let ev = ClusterEvent::Node {
            old: None,
            new: &Arc::new(too_small),
            actions: action::ADD,
        };
        assert!(!worth_requeuing(
            &Profile::default(),
            &pod,
            bit(Plugin::NodeResourcesFit),
            &ev
        ));
        let ev = ClusterEvent::AssignedPodDelete;
        assert!(worth_requeuing(
            &Profile::default(),
            &pod,
            bit(Plugin::NodeResourcesFit),
            &ev
        ));
        assert!(!worth_requeuing(
            &Profile::default(),
            &pod,
            bit(Plugin::TaintToleration),
            &ev
        ));
        assert!(
            worth_requeuing(&Profile::default(), &pod, 0, &ev),
            "no rejector: Queue"
        );
    }

    // TaintToleration.isSchedulableAfterNodeChange: only a change to tolerated taints queues.
    #[test]
    fn taint_toleration_hints() {
        let pod = pod("p", &[&[("cpu", 1000)]]);
        let clean = node("n", 4000, 1 << 30, &[]);
        let dirty = tainted(clean.clone());
        assert!(!update(Plugin::TaintToleration, &pod, &clean, &dirty));
        assert!(update(Plugin::TaintToleration, &pod, &dirty, &clean));
    }
}
