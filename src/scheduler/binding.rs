//! Applying a scheduling cycle's outcome (upstream's `handleSchedulingFailure` and binding
//! cycle): a feasible pod is bound through the API server and assumed in the cache; an
//! infeasible one gets its `FailedScheduling` event, its preemption executed, and waits as
//! unschedulable; a failed bind goes back through backoff. Before the bind, the out-of-tree
//! `Open-Gpu-Share` Reserve/PreBind records the pod's GPU devices on it (docs/gpu.md).
//!
//! Invariant: the cache assumes a pod on a node only after the API server accepted the bind.

use std::sync::{Arc, Mutex};

use super::framework::Plugin;
use super::plugins::outoftree::state::GpuShared;
use super::plugins::outoftree::{self as gpu, NodeGpu, PodGpu};
use super::plugins::PodRequest;
use super::{Event, Scheduler};
use crate::api::ApiServer;
use crate::model::Pod;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimTime};

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
    /// the cache and `Scheduled` recorded, with the `gpu-index` Reserve chose if any), false
    /// when it goes back through backoff.
    pub(super) fn bind(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        node: String,
        gpu_index: Option<String>,
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
                    fields: std::iter::once(("node", node.clone()))
                        .chain(gpu_index.map(|d| ("gpu-index", d)))
                        .collect(),
                });
                true
            }
            Err(_) => {
                self.retry_after_error(now, key);
                false
            }
        }
    }

    /// A failed bind (or Reserve) goes back through backoff.
    pub(super) fn retry_after_error(&mut self, now: SimTime, key: &str) {
        let expiry = now + self.backoff_duration(self.info.get(key).map_or(1, |i| i.attempts));
        self.push_backoff(expiry, key.to_string());
    }

    /// The GPU plugins' shared state for a cycle, with the workload's typical pods fixed at
    /// the first GPU cycle from every pod the scheduler knows then (queued and assigned).
    pub(super) fn gpu_shared(&mut self) -> Arc<Mutex<GpuShared>> {
        {
            let mut g = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
            // The pending pods in key order, walked only if the typical pods are not fixed yet.
            let pending = &self.pending;
            let queued = std::iter::once(())
                .flat_map(|()| pending.walk())
                .map(|(_, p)| p);
            let assigned = self
                .slots
                .iter()
                .flatten()
                .flat_map(|ni| ni.pods.iter().cloned());
            g.ensure_typical(queued.chain(assigned));
        }
        self.gpu.clone()
    }

    /// `Open-Gpu-Share`'s Reserve and PreBind: for a pod asking for GPUs under a profile that
    /// filters with it, the devices on `node` chosen by the profile's `gpuSelMethod`, written
    /// to the pod's `alibabacloud.com/gpu-index` annotation before the bind (so the cache's
    /// assumed pod, and the node's device accounting, carry them). The annotation written
    /// (None: nothing to reserve); Err when no device fits or the write fails.
    pub(super) fn reserve_gpu(
        &mut self,
        api: &mut ApiServer,
        key: &str,
        pod: &Pod,
        node: &str,
    ) -> Result<Option<String>, ()> {
        let Some(pi) = self.profile_index(pod) else {
            return Ok(None);
        };
        let profile = &self.config.profiles[pi];
        if !profile.filters.contains(&Plugin::OpenGpuShare) {
            return Ok(None);
        }
        let shape = PodGpu::of(pod, PodRequest::of(pod).non_zero_cpu_milli);
        if shape.gpu_milli <= 0 || shape.gpu_count <= 0 {
            return Ok(None);
        }
        let sel = profile.gpu_sel();
        let Some(info) = self.slot_of.get(node).and_then(|&s| self.slots[s].as_ref()) else {
            return Err(());
        };
        let ng = NodeGpu::of_info(info);
        let devices = {
            let mut g = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
            let typical = g.typical.clone().unwrap_or_default();
            gpu::assign_devices(&ng, &shape, sel, &typical, &mut g.rng)
        };
        let value = gpu::index_annotation(&devices.ok_or(())?);
        let v = value.clone();
        api.update_pod(Caller::Scheduler, key, |p| {
            p.meta.annotations.insert(gpu::GPU_INDEX.into(), v);
        })
        .map_err(|_| ())?;
        Ok(Some(value))
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
                        .get(k)
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
