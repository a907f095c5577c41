//! The node lifecycle controller's taint passes: `doNoExecuteTaintingPass` (every 100 ms, each
//! zone's rate-limited queue) and `doNoScheduleTaintingPass` (on every node add/update), and
//! the taint updates they send through the `node-controller` client (`writes.rs`).
//!
//! Invariant: a taint update whose tokens are free is sent at once, exactly as without a
//! limit; one that waits is sent when its last token comes, and a node waits there once.

use super::writes::{self, Writes};
use super::{NodeLifecycleController, CALLER};
use crate::api::ApiServer;
use crate::client::ratelimit::Processed;
use crate::controllers::cache::KcmCache;
use crate::controllers::clients::ControllerClients;
use crate::controllers::Event;
use crate::model::*;
use crate::sim::{Ctx, SimDuration, SimTime};

impl NodeLifecycleController {
    /// `doNoExecuteTaintingPass`, every 100 ms: each zone's queue in key order. A swap whose
    /// tokens are not free runs when they come (the queue counts it done now).
    pub fn tainting_pass(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
    ) {
        let now = ctx.now();
        let mut w = Writes::new(clients);
        for (zone, q) in self.zone_queues.iter_mut() {
            q.try_process(now, |name, queued_at| {
                let Some(node) = cache.nodes.get(name) else {
                    return Processed::Done;
                };
                let Some(ready) = node.ready() else {
                    return Processed::Retry(SimDuration::from_millis(50));
                };
                let key = match ready.status {
                    ConditionStatus::False => TAINT_NOT_READY,
                    ConditionStatus::Unknown => TAINT_UNREACHABLE,
                    ConditionStatus::True => return Processed::Done,
                };
                if let Some(at) = w.reserve(now, writes::swap_tokens(node, key)) {
                    let (zone, name) = (zone.clone(), name.to_string());
                    w.defer(
                        ctx,
                        at,
                        Box::new(move |nlc, ctx, api, _| {
                            nlc.deferred_taint(api, &zone, &name, key, queued_at, now, ctx.now())
                        }),
                    );
                    return Processed::Done;
                }
                if swap_noexecute_taint(api, name, key, now) {
                    self.metrics.count_eviction(zone);
                    note_queue_wait(api, name, now.saturating_since(queued_at), None);
                    Processed::Done
                } else {
                    Processed::Retry(SimDuration::ZERO)
                }
            });
        }
    }

    /// A tainting pass's swap that waited for its client's tokens, now sent. If it fails the
    /// node is queued again.
    #[allow(clippy::too_many_arguments)]
    fn deferred_taint(
        &mut self,
        api: &mut ApiServer,
        zone: &str,
        name: &str,
        key: &'static str,
        queued_at: SimTime,
        dequeued: SimTime,
        now: SimTime,
    ) {
        if swap_noexecute_taint(api, name, key, now) {
            self.metrics.count_eviction(zone);
            let queue_wait = dequeued.saturating_since(queued_at);
            note_queue_wait(api, name, queue_wait, Some(now.saturating_since(dequeued)));
        } else if let Some(q) = self.zone_queues.get_mut(zone) {
            q.remove(name);
            q.add(name, now);
        }
    }

    /// `doNoScheduleTaintingPass` for one node (reference §2.6), on every node add/update:
    /// `SwapNodeControllerTaint`, a GET and a PATCH to add and another two to remove. If its
    /// tokens are not free, the node waits once (the NoSchedule workqueue) and is reconciled
    /// from the API server's object when they come.
    pub fn reconcile_noschedule_taints(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        node: &Node,
    ) {
        let name = &node.meta.name;
        if self.noschedule_pending.contains(name) {
            return;
        }
        let desired = desired_noschedule_taints(node);
        let current = managed_noschedule_taints(node);
        if in_sync(&current, &desired) {
            return;
        }
        let add = desired.iter().any(|d| !current.contains(d));
        let del = current.iter().any(|c| !desired.contains(c));
        let now = ctx.now();
        let mut w = Writes::new(clients);
        match w.reserve(now, (2 * u32::from(add) + 2 * u32::from(del)).max(2)) {
            None => apply_noschedule_taints(api, name, &desired, now),
            Some(at) => {
                self.noschedule_pending.insert(name.clone());
                let name = name.clone();
                w.defer(
                    ctx,
                    at,
                    Box::new(move |nlc, ctx, api, _| {
                        nlc.noschedule_pending.remove(&name);
                        let Some(n) = api.nodes().get(&name).cloned() else {
                            return;
                        };
                        let desired = desired_noschedule_taints(&n);
                        if !in_sync(&managed_noschedule_taints(&n), &desired) {
                            apply_noschedule_taints(api, &name, &desired, ctx.now());
                        }
                    }),
                );
            }
        }
    }
}

const MANAGED_NOSCHEDULE: [&str; 7] = [
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_MEMORY_PRESSURE,
    TAINT_DISK_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_PID_PRESSURE,
    TAINT_UNSCHEDULABLE,
];

fn is_managed_noschedule(t: &Taint) -> bool {
    t.effect == TaintEffect::NoSchedule && MANAGED_NOSCHEDULE.contains(&t.key.as_str())
}

fn in_sync(current: &[&str], desired: &[&str]) -> bool {
    current.len() == desired.len() && desired.iter().all(|d| current.contains(d))
}

/// The node's NoSchedule taints the controller manages.
fn managed_noschedule_taints(node: &Node) -> Vec<&str> {
    node.spec
        .taints
        .iter()
        .filter(|t| is_managed_noschedule(t))
        .map(|t| t.key.as_str())
        .collect()
}

/// Makes the node's managed NoSchedule taints `desired`, in one update.
fn apply_noschedule_taints(api: &mut ApiServer, name: &str, desired: &[&str], now: SimTime) {
    let _ = api.update_node(CALLER, name, |n| {
        n.spec
            .taints
            .retain(|t| !is_managed_noschedule(t) || desired.contains(&t.key.as_str()));
        for key in desired {
            if !n.has_taint(key, TaintEffect::NoSchedule) {
                n.spec.taints.push(Taint {
                    time_added: Some(now),
                    ..Taint::new(key, TaintEffect::NoSchedule)
                });
            }
        }
    });
}

fn desired_noschedule_taints(node: &Node) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in &node.status.conditions {
        let key = match (c.type_, c.status) {
            (NodeConditionType::Ready, ConditionStatus::False) => TAINT_NOT_READY,
            (NodeConditionType::Ready, ConditionStatus::Unknown) => TAINT_UNREACHABLE,
            (NodeConditionType::MemoryPressure, ConditionStatus::True) => TAINT_MEMORY_PRESSURE,
            (NodeConditionType::DiskPressure, ConditionStatus::True) => TAINT_DISK_PRESSURE,
            (NodeConditionType::NetworkUnavailable, ConditionStatus::True) => {
                TAINT_NETWORK_UNAVAILABLE
            }
            (NodeConditionType::PIDPressure, ConditionStatus::True) => TAINT_PID_PRESSURE,
            _ => continue,
        };
        out.push(key);
    }
    if node.spec.unschedulable {
        out.push(TAINT_UNSCHEDULABLE);
    }
    out
}

/// The TaintAdded record is still in the API server's buffer: add how long the node waited in
/// its zone queue for a token, and how long the swap then waited for the client's tokens.
fn note_queue_wait(
    api: &mut ApiServer,
    name: &str,
    queue_wait: SimDuration,
    client_wait: Option<SimDuration>,
) {
    let object = format!("Node/{name}");
    if let Some(r) = api
        .records
        .iter_mut()
        .rev()
        .find(|r| r.reason == "TaintAdded" && r.object == object)
    {
        let secs = |d: SimDuration| crate::sim::time::format_secs(d.as_nanos(), 3);
        r.fields.push(("queue_wait", secs(queue_wait)));
        if let Some(c) = client_wait {
            r.fields.push(("client_wait", secs(c)));
        }
    }
}

/// Adds the NoExecute taint `key` and removes the other NLC NoExecute taint, in one update.
pub(super) fn swap_noexecute_taint(
    api: &mut ApiServer,
    node: &str,
    key: &str,
    now: SimTime,
) -> bool {
    let other = if key == TAINT_NOT_READY {
        TAINT_UNREACHABLE
    } else {
        TAINT_NOT_READY
    };
    api.update_node(CALLER, node, |n| {
        n.spec
            .taints
            .retain(|t| !(t.effect == TaintEffect::NoExecute && t.key == other));
        if !n.has_taint(key, TaintEffect::NoExecute) {
            n.spec.taints.push(Taint {
                time_added: Some(now),
                ..Taint::new(key, TaintEffect::NoExecute)
            });
        }
    })
    .is_ok()
}
