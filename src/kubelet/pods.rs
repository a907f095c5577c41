//! The kubelet's side of its pods, after pkg/kubelet/kubelet.go (`HandlePodAdditions`,
//! `HandlePodUpdates`, `HandlePodCleanups`, `rejectPod`), the static-pod file source and mirror
//! pods (pkg/kubelet/config/file.go, pkg/kubelet/pod/mirror_client.go), and the status manager
//! (pkg/kubelet/status/status_manager.go): admission, pod sync, pod wake-ups, image-pull
//! completions and pod status writes. The pod worker itself is `worker.rs`.
//!
//! Invariant: every worker step ends in [`Kubelet::flush`], which records the worker's events,
//! starts its pulls, writes its status if it changed (at once, or at its client tokens'
//! instant when the kubelet's `kubeAPIQPS` budget makes it wait; a failed write is retried by the
//! next status tick), confirms a terminated pod's deletion, and keeps exactly one wake-up event
//! per pod at the worker's next instant. A pod whose API status another writer changed is
//! written again at the status manager's next 10 s tick (`needsReconcile`).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::admission::{admit, NodeUsage};
use super::client::{Op, Write};
use super::worker::{Outbox, Worker};
use super::{intern, matches_labels, Event, Kubelet, PodEntry};
use crate::api::{ApiError, ApiServer};
use crate::model::*;
use crate::network::Caller;
use crate::runtime::images::InFlight;
use crate::sim::rng::StreamName;
use crate::sim::{Ctx, SimDuration, SimTime};

impl Kubelet {
    /// LIST own pods (after boot or reconnect) and sync each; pods the API server no longer has
    /// are killed (`HandlePodCleanups`).
    pub(super) fn relist(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let Ok(pods) = api.list_pods_on_node(self.caller(), &self.node_name) else {
            self.listed = false;
            return;
        };
        self.listed = true;
        let listed: BTreeSet<String> = pods.iter().map(|p| p.key()).collect();
        let unwanted: Vec<String> = self
            .pods
            .keys()
            .filter(|k| !listed.contains(*k) && !self.static_pods.contains_key(*k))
            .cloned()
            .collect();
        for key in unwanted {
            if let Some(w) = self.pods.remove(&key) {
                if let Some((_, ev)) = w.wake {
                    ctx.cancel(ev);
                }
                if !w.worker.all_stopped() {
                    self.record_killing(ctx, &key, &w.worker.pod);
                }
            }
        }
        for p in pods {
            self.sync_pod(ctx, api, p);
        }
        if self.registered {
            self.ensure_mirror_pods(ctx, api);
        }
    }

    /// `HandlePodAdditions`/`HandlePodUpdates`: admit and start a new pod, terminate a deleted
    /// one, keep a running one's object current.
    pub(super) fn sync_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        pod: Arc<Pod>,
    ) {
        let key = pod.key();
        let now = ctx.now();
        // Paired with the scheduler's bind and the API server's watch filter: a kubelet only
        // ever sees, admits and runs pods bound to its own node.
        assert_eq!(
            pod.spec.node_name.as_deref(),
            Some(self.node_name.as_str()),
            "kubelet {} handed pod {key} bound elsewhere",
            self.node_name
        );
        if self.static_pods.contains_key(&key) {
            // The mirror of a static pod: deleting it deletes only the mirror (recreated on the
            // delete notification); the static pod keeps running.
            if pod.is_terminating() && !self.client.is_queued(Op::MirrorDelete, &key) {
                let caller = self.caller();
                let k = key.clone();
                let w: Write = Box::new(move |_, _, api| {
                    let _ = api.delete_pod(caller, &k, Some(0));
                });
                match self.reserve_tokens(now, 1) {
                    Some(at) => self.defer_write(ctx, Op::MirrorDelete, &key, at, w),
                    None => w(self, ctx, api),
                }
            }
            return;
        }
        if pod.is_terminating() {
            let Some(entry) = self.pods.get_mut(&key) else {
                // Nothing runs (never started, or the machine rebooted): confirm at once.
                self.confirm_deleted(ctx, api, &key);
                return;
            };
            let grace = SimDuration::from_secs(pod.meta.deletion_grace_period_seconds.unwrap_or(0));
            entry.update_pod(pod);
            let mut out = Outbox::default();
            entry.worker.terminate(now, grace, &mut out);
            self.flush(ctx, api, &key, out);
            return;
        }
        if let Some(entry) = self.pods.get_mut(&key) {
            let stale = if entry.unsynced {
                !status_matches(&pod, &entry.worker.status(now))
            } else {
                entry
                    .written
                    .as_ref()
                    .is_some_and(|w| !status_matches(&pod, w))
            };
            entry.update_pod(pod);
            if stale {
                self.schedule_reconcile(ctx, key);
            }
            return;
        }
        if pod.status.phase.is_terminal() {
            return;
        }
        // `canAdmitPod`: the pod must fit next to the pods already admitted.
        let node = api
            .get_node(self.caller(), &self.node_name)
            .unwrap_or_else(|_| Arc::new(self.template.clone()));
        let verdict = admit(&pod, &node, &self.admitted_usage());
        if !verdict.admit {
            self.reject(ctx, api, &pod, &verdict.reason, verdict.message);
            return;
        }
        let mut worker = self.new_worker(pod, now);
        let labels = &worker.pod.meta.labels;
        worker.crash_override = self
            .crash_faults
            .iter()
            .rev()
            .find(|(sel, _, _)| matches_labels(sel, labels))
            .map(|(_, code, after)| (*code, *after));
        worker.leak_rate = self
            .leak_faults
            .iter()
            .filter(|(sel, _)| matches_labels(sel, labels))
            .map(|(_, r)| r)
            .sum();
        self.pods.insert(key.clone(), PodEntry::new(worker));
        self.reschedule(ctx, &key);
    }

    /// The pod worker's own named streams, `kubelet/<node>/podworker/<key>/<uid>` for the
    /// requeue jitter and the same with `/resync` for the regular resync, so one pod's jitter
    /// never shifts another's and a resync draw never shifts a requeue. (The names are hashed
    /// in pieces: no string is built per pod.)
    fn pod_worker_streams(&self, pod: &Pod) -> (rand_chacha::ChaCha8Rng, rand_chacha::ChaCha8Rng) {
        let name = StreamName::new()
            .push("kubelet/")
            .push(&self.node_name)
            .push("/podworker/")
            .push(&pod.meta.namespace)
            .push("/")
            .push(&pod.meta.name)
            .push("/")
            .push_u64(pod.meta.uid);
        (
            name.stream(self.seed),
            name.push("/resync").stream(self.seed),
        )
    }

    /// The node's static pods: named `<name>-<node>`, bound to this node, marked as coming
    /// from a file source (`kubernetes.io/config.source: file`).
    pub fn set_static_pods(&mut self, pods: &[Pod]) {
        for p in pods {
            let mut p = p.clone();
            p.meta.name = format!("{}-{}", p.meta.name, self.node_name);
            p.spec.node_name = Some(self.node_name.clone());
            p.meta
                .annotations
                .insert("kubernetes.io/config.source".into(), "file".into());
            let hash = crate::sim::trace::fnv1a64(format!("{:?}", p.spec).as_bytes());
            p.meta
                .annotations
                .insert("kubernetes.io/config.hash".into(), format!("{hash:016x}"));
            self.static_pods.insert(p.key(), Arc::new(p));
        }
    }

    /// What the admitted pods that have not finished use (`canAdmitPod`'s view of the node).
    /// The sum is in slot order, not key order: integer sums and the port list (only ever
    /// searched with `any`) do not depend on it, and the slot walk reads no ordered index.
    fn admitted_usage(&self) -> NodeUsage {
        let mut u = NodeUsage::default();
        for (_, e) in self.pods.slots().filter(|(_, e)| !e.finished()) {
            u.requested.add(&e.usage.requested);
            u.used_ports.extend(e.usage.used_ports.iter().cloned());
        }
        u
    }

    /// The pod worker of an admitted pod: its sandbox delay (drawn from the runtime's stream)
    /// and its own sync and resync streams.
    fn new_worker(&mut self, pod: Arc<Pod>, now: SimTime) -> Worker {
        let delay = self.runtime.start_delay();
        let (sync_rng, resync_rng) = self.pod_worker_streams(&pod);
        let mut worker = Worker::new(
            pod,
            now,
            delay,
            self.started_at,
            &mut self.runtime,
            sync_rng,
            resync_rng,
        );
        worker.eager_probes = !self.config.lazy_probes;
        worker
    }

    /// Static pods run at kubelet start without the API server (the file source).
    pub(super) fn start_static_pods(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        let pods: Vec<Arc<Pod>> = self.static_pods.values().cloned().collect();
        for pod in pods {
            let key = pod.key();
            if self.pods.contains_key(&key) {
                continue;
            }
            if !admit(&pod, &self.template, &self.admitted_usage()).admit {
                continue;
            }
            let worker = self.new_worker(pod, now);
            self.pods.insert(key.clone(), PodEntry::new(worker));
            self.reschedule(ctx, &key);
        }
    }

    /// Mirror pods (`kubernetes.io/config.mirror`) for static pods the API server lacks (each
    /// POST one token of the rate-limited client).
    pub(super) fn ensure_mirror_pods(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let keys: Vec<String> = self.static_pods.keys().cloned().collect();
        for key in keys {
            // A checked GET (unreachable: skipped, as the POST would fail all the same).
            let in_api = !matches!(api.get_pod(self.caller(), &key), Err(ApiError::NotFound(_)));
            if !self.pods.contains_key(&key)
                || in_api
                || self.client.is_queued(Op::MirrorCreate, &key)
            {
                continue;
            }
            if let Some(at) = self.reserve_tokens(ctx.now(), 1) {
                let k = key.clone();
                let w: Write = Box::new(move |kl, ctx, api| kl.create_mirror_pod(ctx, api, &k));
                self.defer_write(ctx, Op::MirrorCreate, &key, at, w);
                continue;
            }
            self.create_mirror_pod(ctx, api, &key);
        }
    }

    /// The mirror pod's POST (its token is spent).
    fn create_mirror_pod(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        let Some(static_pod) = self.static_pods.get(key) else {
            return;
        };
        if !self.pods.contains_key(key) {
            return;
        }
        let mut mirror = (**static_pod).clone();
        let hash = mirror.meta.annotations["kubernetes.io/config.hash"].clone();
        mirror
            .meta
            .annotations
            .insert("kubernetes.io/config.mirror".into(), hash);
        mirror.meta.owner_references = vec![OwnerRef {
            kind: "Node".into(),
            name: self.node_name.clone(),
            controller: true,
        }];
        if api.create_pod(self.caller(), mirror).is_ok() {
            if let Some(e) = self.pods.get_mut(key) {
                e.written = None;
            }
            self.write_status(ctx, api, key);
        }
    }

    /// `rejectPod`: a Warning event with the reason, and the pod Failed with it.
    fn reject(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        pod: &Pod,
        reason: &str,
        message: String,
    ) {
        let key = pod.key();
        if self.client.is_queued(Op::Status, &key) {
            return;
        }
        self.record(ctx, intern(reason), format!("Pod/{key}"), message.clone());
        let caller = self.caller();
        let reason = reason.to_string();
        // Through the status manager: a GET and a PATCH.
        let k = key.clone();
        let w: Write = Box::new(move |_, _, api| {
            let _ = api.update_pod(caller, &k, |p| {
                p.status.phase = PodPhase::Failed;
                p.status.reason = reason;
                p.status.message = message;
            });
        });
        match self.reserve_tokens(ctx.now(), 2) {
            Some(at) => self.defer_write(ctx, Op::Status, &key, at, w),
            None => w(self, ctx, api),
        }
    }

    /// A pod worker's wake-up: do what is due and sync.
    pub fn on_pod_wake(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        entry.wake = None;
        if self.runtime_hung_since.is_some() {
            // Nothing moves until the runtime answers again (`resume_runtime`).
            return;
        }
        let now = ctx.now();
        let mut out = Outbox::default();
        if entry.worker.advance(now, &mut out) {
            self.write_status(ctx, api, key);
        }
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        entry.worker.sync_now(now, &mut self.runtime, &mut out);
        self.flush(ctx, api, key, out);
    }

    /// An image pull finished on this machine.
    pub fn on_pull_done(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, id: u64) {
        let now = ctx.now();
        let catalog = self.runtime.catalog().clone();
        let Some((done, next)) =
            self.runtime
                .images
                .complete(id, now, &catalog, &self.registry_faults)
        else {
            return;
        };
        self.schedule_pulls(ctx, next);
        let key = done.request.pod.clone();
        if done.outcome == crate::runtime::images::PullOutcome::Pulled {
            // The next status tick reports the image (ImageLocality reads it).
            self.interrupt_status_plan(ctx, false);
        }
        let Some(entry) = self.pods.get_mut(&key) else {
            return;
        };
        let mut out = Outbox::default();
        if let crate::runtime::images::PullOutcome::Pulled = done.outcome {
            let took = now.since(done.started);
            let waited = now.since(done.request.requested);
            out.events.push((
                "Pulled",
                format!(
                    "Successfully pulled image \"{}\" in {} ({} including waiting). Image size: {} bytes.",
                    done.request.image,
                    crate::sim::time::format_go_duration(took),
                    crate::sim::time::format_go_duration(waited),
                    done.size
                ),
            ));
        }
        entry
            .worker
            .on_pulled(&done.request.container, done.outcome);
        if entry.worker.deadline_queued(now) {
            // The sync blocked in `EnsureImageExists` completes first (pod_workers.go runs
            // one sync per pod at a time); the deadline's sync was queued behind it.
            entry.worker.sync_now(now, &mut self.runtime, &mut out);
        }
        entry.worker.step(now, &mut self.runtime, &mut out);
        self.flush(ctx, api, &key, out);
    }

    fn schedule_pulls(&mut self, ctx: &mut dyn Ctx<Event>, flights: Vec<InFlight>) {
        let (machine, gen) = (self.machine, self.gen);
        for f in flights {
            ctx.schedule_at(
                f.done,
                Event::KubeletPullDone {
                    machine,
                    gen,
                    id: f.id,
                },
            );
        }
    }

    /// After a worker step: record its events, start its pulls, write its status if it
    /// changed, confirm a terminated pod's deletion, and schedule its next wake-up.
    pub(super) fn flush(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        out: Outbox,
    ) {
        let now = ctx.now();
        for (reason, message) in out.events {
            self.record(ctx, reason, format!("Pod/{key}"), message);
        }
        for req in out.pulls {
            let catalog = self.runtime.catalog().clone();
            let started = self
                .runtime
                .images
                .request(req, now, &catalog, &self.registry_faults);
            self.schedule_pulls(ctx, started);
        }
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        if entry.worker.is_terminating() && entry.worker.all_stopped() {
            if let Some((_, ev)) = entry.wake.take() {
                ctx.cancel(ev);
            }
            self.confirm_deleted(ctx, api, key);
            return;
        }
        self.write_status(ctx, api, key);
        self.reschedule(ctx, key);
        self.arm_eviction(ctx);
    }

    pub(super) fn reschedule(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        let next = entry.worker.next_wake().map(|t| t.max(ctx.now()));
        if entry.wake.map(|(t, _)| t) == next {
            return;
        }
        if let Some((_, ev)) = entry.wake.take() {
            ctx.cancel(ev);
        }
        if let Some(t) = next {
            let (machine, gen) = (self.machine, self.gen);
            let ev = ctx.schedule_at(
                t,
                Event::KubeletPodWake {
                    machine,
                    gen,
                    pod: key.to_string(),
                },
            );
            entry.wake = Some((t, ev));
        }
    }

    /// The status manager: write the worker's status if it differs from the last written.
    /// A sync is a GET and a PATCH of the rate-limited client (`syncPod`); one that must wait
    /// writes the status as it is when its tokens come, and meanwhile absorbs later changes.
    pub(super) fn write_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
    ) {
        let now = ctx.now();
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        let st = entry.worker.status(now);
        if entry.written.as_ref() == Some(&st) || self.client.is_queued(Op::Status, key) {
            return;
        }
        // A static pod's status is synced only through its mirror pod: none yet, no request
        // (status_manager.go "Static pod does not have a corresponding mirror pod; skipping").
        if self.static_pods.contains_key(key)
            && matches!(api.get_pod(self.caller(), key), Err(ApiError::NotFound(_)))
        {
            return;
        }
        if let Some(at) = self.reserve_tokens(now, 2) {
            let k = key.to_string();
            let w: Write = Box::new(move |kl, ctx, api| kl.send_status(ctx, api, &k));
            self.defer_write(ctx, Op::Status, key, at, w);
            return;
        }
        // Nothing moved the worker since `st` was generated (same instant): it is what
        // `send_status` would generate again.
        self.patch_status(ctx, api, key, st);
    }

    /// The status PATCH itself (its tokens are spent): the status as it is now.
    fn send_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        let now = ctx.now();
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        let st = entry.worker.status(now);
        self.patch_status(ctx, api, key, st);
    }

    /// PATCHes `st` (the worker's status now) unless it is what was last written.
    fn patch_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
        st: PodStatus,
    ) {
        let Some(entry) = self.pods.get_mut(key) else {
            return;
        };
        if entry.written.as_ref() == Some(&st) {
            return;
        }
        let caller = Caller::Kubelet(self.machine);
        let res = api.update_pod(caller, key, |p| apply_status(p, &st));
        match res {
            Ok(_) => {
                entry.written = Some(st);
                entry.unsynced = false;
                self.pending_status.remove(key);
            }
            Err(ApiError::NotFound(_)) => {}
            Err(_) => {
                self.pending_status.insert(key.to_string());
                // A failed pod status write is retried by the next status tick.
                self.interrupt_status_plan(ctx, true);
            }
        }
    }

    pub(super) fn flush_pod_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let keys: Vec<String> = self.pending_status.iter().cloned().collect();
        for k in keys {
            self.pending_status.remove(&k);
            self.write_status(ctx, api, &k);
        }
    }

    /// `needsReconcile` (status_manager.go): the API pod's kubelet-owned status differs from
    /// what this kubelet last wrote (another writer changed it, e.g. the node lifecycle
    /// controller's `MarkPodsNotReady` while the kubelet was stopped or cut off). The status
    /// manager's `syncBatch(all)` runs on a 10 s ticker started with the process; the first
    /// tick after now re-checks the pod and writes the kubelet's status again.
    fn schedule_reconcile(&mut self, ctx: &mut dyn Ctx<Event>, key: String) {
        self.reconcile.insert(key);
        if self.reconcile_tick.is_some() {
            return;
        }
        let now = ctx.now();
        let period = STATUS_SYNC_PERIOD.as_nanos();
        let ticks = now.since(self.started_at).as_nanos() / period + 1;
        let at = self.started_at + SimDuration::from_nanos(ticks * period);
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(at, Event::KubeletPodStatusSync { machine, gen });
        self.reconcile_tick = Some(at);
    }

    /// The status manager tick: every pod still out of step with the API (as the watch last
    /// delivered it) gets the kubelet's status written again.
    pub(super) fn on_pod_status_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.reconcile_tick = None;
        let keys = std::mem::take(&mut self.reconcile);
        for key in keys {
            let Some(entry) = self.pods.get_mut(&key) else {
                continue;
            };
            let stale = if entry.unsynced {
                let st = entry.worker.status(ctx.now());
                !status_matches(&entry.worker.pod, &st)
            } else {
                entry
                    .written
                    .as_ref()
                    .is_some_and(|w| !status_matches(&entry.worker.pod, w))
            };
            if stale {
                // Upstream deletes `apiStatusVersions[uid]` to force the update.
                entry.written = None;
                self.write_status(ctx, api, &key);
            }
        }
    }

    /// The status manager's final DELETE with grace 0 once nothing runs any more (one token).
    fn confirm_deleted(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        if self.client.is_queued(Op::Delete, key) {
            return;
        }
        if let Some(at) = self.reserve_tokens(ctx.now(), 1) {
            let k = key.to_string();
            let w: Write = Box::new(move |kl, _, api| kl.send_delete(api, &k));
            self.defer_write(ctx, Op::Delete, key, at, w);
            return;
        }
        self.send_delete(api, key);
    }

    fn send_delete(&mut self, api: &mut ApiServer, key: &str) {
        if api.delete_pod(self.caller(), key, Some(0)).is_ok() {
            self.pods.remove(key);
        }
    }
}

/// `syncBatch`'s period (`syncPeriod`, pkg/kubelet/status/status_manager.go).
const STATUS_SYNC_PERIOD: SimDuration = SimDuration::from_secs(10);

/// Whether `pod` already holds the kubelet-owned part of `st` (what [`apply_status`] writes):
/// `isPodStatusByKubeletEqual`, which compares the kubelet's conditions by status and reason
/// (kubesim's pod conditions carry no message), and the rest of the status as a whole.
fn status_matches(pod: &Pod, st: &PodStatus) -> bool {
    let p = &pod.status;
    p.phase == st.phase
        && p.start_time == st.start_time
        && p.reason == st.reason
        && p.message == st.message
        && p.init_container_statuses == st.init_container_statuses
        && p.container_statuses == st.container_statuses
        && st
            .conditions
            .iter()
            .filter(|c| kubelet_owned(c.type_))
            .all(|c| {
                p.conditions
                    .iter()
                    .any(|x| x.type_ == c.type_ && x.status == c.status && x.reason == c.reason)
            })
}

/// The pod conditions the kubelet owns (`PodConditionByKubelet`, pkg/kubelet/types).
fn kubelet_owned(t: PodConditionType) -> bool {
    matches!(
        t,
        PodConditionType::PodReadyToStartContainers
            | PodConditionType::Initialized
            | PodConditionType::ContainersReady
            | PodConditionType::Ready
    )
}

/// The kubelet's part of a pod status PATCH: phase, times, reason, container statuses and the
/// conditions it owns (others, such as `PodScheduled` or `DisruptionTarget`, are kept).
fn apply_status(p: &mut Pod, st: &PodStatus) {
    p.status.phase = st.phase;
    p.status.start_time = st.start_time;
    p.status.reason = st.reason.clone();
    p.status.message = st.message.clone();
    p.status.init_container_statuses = st.init_container_statuses.clone();
    p.status.container_statuses = st.container_statuses.clone();
    for c in &st.conditions {
        if kubelet_owned(c.type_) {
            match p.status.conditions.iter_mut().find(|x| x.type_ == c.type_) {
                Some(x) => *x = c.clone(),
                None => p.status.conditions.push(c.clone()),
            }
        }
    }
}
