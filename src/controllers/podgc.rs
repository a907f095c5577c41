//! The pod garbage collector (reference node-lifecycle §6.2): every 20 s it force-deletes
//! terminated pods above `terminated-pod-gc-threshold`, terminating pods on not-Ready nodes with
//! the `node.kubernetes.io/out-of-service` taint, orphans of deleted nodes after a 40 s
//! quarantine and a live check, and unscheduled terminating pods — in that order.
//!
//! Invariant: it decides from the informer cache (plus the one live GET upstream makes for
//! orphans) and acts only through the API ("force delete" = phase Failed, then DELETE with
//! grace 0). A pass costs O(terminated + terminating pods + vanished nodes with pods), never
//! O(pods) nor O(nodes).

use std::collections::BTreeMap;

use super::cache::KcmCache;
use crate::api::ApiServer;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimDuration, SimTime};

/// `gcCheckPeriod`.
pub const GC_CHECK_PERIOD: SimDuration = SimDuration::from_secs(20);
/// `quarantineTime`: how long a vanished node's name waits before its pods are collected.
pub const QUARANTINE: SimDuration = SimDuration::from_secs(40);
pub const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

const CALLER: Caller = Caller::ControllerManager;
const SOURCE: &str = "pod-garbage-collector";

#[derive(Default)]
pub struct PodGc {
    threshold: i32,
    /// The delaying queue of vanished node names: when each becomes ready.
    quarantine: BTreeMap<String, SimTime>,
}

impl PodGc {
    pub fn new(threshold: i32) -> Self {
        PodGc {
            threshold,
            quarantine: BTreeMap::new(),
        }
    }

    /// One `gc` run.
    pub fn pass(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, cache: &KcmCache) {
        let now = ctx.now();
        if self.threshold > 0 {
            self.gc_terminated(ctx, api, cache);
        }
        // Terminating pods on out-of-service, not-Ready nodes (non-graceful node shutdown), and
        // unscheduled terminating pods: both found in one walk (the cache does not change
        // during a pass), deleted in that order around the orphans.
        let mut out_of_service: Vec<String> = Vec::new();
        let mut unscheduled: Vec<String> = Vec::new();
        for k in &cache.terminating {
            let Some(p) = cache.pods.get(k) else {
                continue;
            };
            let Some(name) = p.spec.node_name.as_ref() else {
                unscheduled.push(k.to_string());
                continue;
            };
            let Some(n) = cache.nodes.get(name) else {
                continue;
            };
            if n.spec.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE)
                && n.ready_status() != Some(ConditionStatus::True)
            {
                out_of_service.push(k.to_string());
            }
        }
        for key in out_of_service {
            force_delete(ctx, api, &key, "out-of-service node", None);
        }
        self.gc_orphaned(ctx, api, cache, now);
        for key in unscheduled {
            force_delete(ctx, api, &key, "unscheduled terminating pod", None);
        }
    }

    /// Terminated pods above the threshold, oldest first (then by name).
    fn gc_terminated(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, cache: &KcmCache) {
        let excess = cache.terminal.len() as i64 - self.threshold as i64;
        if excess <= 0 {
            return;
        }
        let mut pods: Vec<(SimTime, String)> = cache
            .terminal
            .iter()
            .filter_map(|k| {
                cache
                    .pods
                    .get(k)
                    .map(|p| (p.meta.creation_timestamp, k.to_string()))
            })
            .collect();
        pods.sort();
        for (_, key) in pods.into_iter().take(excess as usize) {
            force_delete(ctx, api, &key, "terminated pods above the threshold", None);
        }
    }

    /// Orphans: pods bound to a node the cache does not have. The node name waits 40 s in
    /// quarantine; then a live GET must confirm it is gone.
    fn gc_orphaned(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        now: SimTime,
    ) {
        // The names in `pods_by_node` that `nodes` lacks, kept by the cache (not a walk of
        // every node with pods).
        for node in &cache.nodeless {
            if !self.quarantine.contains_key(node) {
                self.quarantine.insert(node.clone(), now + QUARANTINE);
            }
        }
        let due: Vec<String> = self
            .quarantine
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for node in due {
            self.quarantine.remove(&node);
            match api.get_node(CALLER, &node) {
                Err(crate::api::ApiError::NotFound(_)) => {}
                // Exists again, or the check failed: not deleted.
                _ => continue,
            }
            let keys: Vec<String> = cache
                .pods_by_node
                .get(&node)
                .map(|s| s.iter().map(|k| k.to_string()).collect())
                .unwrap_or_default();
            for key in keys {
                force_delete(ctx, api, &key, "orphaned pod", Some(&node));
            }
        }
    }
}

/// Phase Failed (with `DisruptionTarget` for orphans, reason `DeletionByPodGC`), then DELETE
/// with grace 0.
fn force_delete(
    ctx: &mut dyn Ctx<Event>,
    api: &mut ApiServer,
    key: &str,
    why: &str,
    orphan_of: Option<&str>,
) {
    let now = ctx.now();
    let marked = api.update_pod(CALLER, key, |p| {
        if orphan_of.is_some() {
            p.set_condition(
                PodConditionType::DisruptionTarget,
                ConditionStatus::True,
                "DeletionByPodGC",
                now,
            );
        }
        if !p.status.phase.is_terminal() {
            p.status.phase = PodPhase::Failed;
        }
    });
    if marked.is_err() {
        return;
    }
    if api.delete_pod(CALLER, key, Some(0)).is_ok() {
        let mut message = format!("Forced deletion of Pod {key}: {why}");
        if let Some(n) = orphan_of {
            message.push_str(&format!(" (node {n} is gone)"));
        }
        ctx.record(Record {
            t: now,
            reason: "PodGCForceDeleted",
            source: SOURCE,
            object: format!("Pod/{key}"),
            message,
            fields: vec![],
        });
    }
}
