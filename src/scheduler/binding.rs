//! Applying a scheduling cycle's outcome (upstream's `handleSchedulingFailure` and binding
//! cycle): a feasible pod is bound through the API server and assumed in the cache; an
//! infeasible one gets its `FailedScheduling` event, its preemption executed, and waits as
//! unschedulable; a failed bind goes back through backoff.
//!
//! Invariant: the cache assumes a pod on a node only after the API server accepted the bind.

use std::sync::Arc;

use super::{Event, Scheduler};
use crate::api::ApiServer;
use crate::model::Pod;
use crate::network::Caller;
use crate::sim::{Ctx, Record};

impl Scheduler {
    /// An infeasible pod: `FailedScheduling`, DefaultPreemption's plan executed if there is
    /// one, and the pod waits in the unschedulable set.
    pub(super) fn handle_failure(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        pod: &Pod,
        message: String,
        preemption: Option<(String, Vec<Arc<Pod>>)>,
    ) {
        let now = ctx.now();
        ctx.record(Record {
            t: now,
            reason: "FailedScheduling",
            source: "default-scheduler",
            object: format!("Pod/{key}"),
            message,
            fields: vec![],
        });
        if let Some((node, victims)) = preemption {
            self.preempt(ctx, api, key, pod, &node, &victims);
        }
        // `AddUnschedulableIfNotPresent`: the pod waits in unschedulablePods with the plugins
        // that rejected it, and its timestamp is refreshed ("the pod is re-added").
        self.unschedulable.insert(key.to_string());
        let rejectors = self.last_rejectors;
        if let Some(i) = self.info.get_mut(key) {
            i.timestamp = now;
            i.rejectors = rejectors;
        }
    }

    /// Binds the pod to `node`; true when the API server accepted (the pod is then assumed in
    /// the cache and `Scheduled` recorded), false when it goes back through backoff.
    pub(super) fn bind(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        node: String,
    ) -> bool {
        let now = ctx.now();
        match api.bind_pod(Caller::Scheduler, key, &node) {
            Ok(bound) => {
                self.pending.remove(key);
                self.forget_queued(key);
                self.assign(key, &node, &bound);
                ctx.record(Record {
                    t: now,
                    reason: "Scheduled",
                    source: "default-scheduler",
                    object: format!("Pod/{key}"),
                    message: format!("Successfully assigned {key} to {node}"),
                    fields: vec![("node", node.clone())],
                });
                true
            }
            Err(_) => {
                // A failed bind goes back through backoff.
                let expiry =
                    now + self.backoff_duration(self.info.get(key).map_or(1, |i| i.attempts));
                self.push_backoff(expiry, key.to_string());
                false
            }
        }
    }

    /// Executes a preemption: victims are deleted gracefully (a `Preempted` event each), lower
    /// priority pods nominated to the node lose their nomination, and the preemptor is
    /// nominated (`status.nominatedNodeName`) and waits as unschedulable for the deletions.
    fn preempt(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        pod: &Pod,
        node: &str,
        victims: &[Arc<Pod>],
    ) {
        let now = ctx.now();
        for v in victims {
            if api.delete_pod(Caller::Scheduler, &v.key(), None).is_ok() {
                ctx.record(Record {
                    t: now,
                    reason: "Preempted",
                    source: "default-scheduler",
                    object: format!("Pod/{}", v.key()),
                    message: format!("Preempted by pod {} on node {node}", pod.meta.uid),
                    fields: vec![("node", node.to_string())],
                });
            }
        }
        let lower: Vec<String> = self
            .nominated
            .iter()
            .filter(|(k, n)| {
                n.as_str() == node
                    && self
                        .pending
                        .get(*k)
                        .is_some_and(|p| p.spec.priority < pod.spec.priority)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in lower {
            self.nominated.remove(&k);
            let _ = api.update_pod(Caller::Scheduler, &k, |p| {
                p.status.nominated_node_name = None
            });
        }
        self.nominated.insert(key.to_string(), node.to_string());
        let n = node.to_string();
        let _ = api.update_pod(Caller::Scheduler, key, |p| {
            p.status.nominated_node_name = Some(n)
        });
    }
}
