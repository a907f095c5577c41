//! The fault entry points of a kubelet, as the cluster calls them: the machine crashes, the
//! kubelet process stops and restarts, the link to the API server returns
//! ([`Kubelet::reconnect`], [`Kubelet::wake_reachable`]), `slowLeaseRenewals`, registry
//! outages and slowdowns, `runtimeHang` (the stalled relist of pkg/kubelet/pleg/generic.go),
//! `crashLoop` and `memoryLeak`. Each names the upstream behaviour it reproduces.
//!
//! Invariant: a crash or a process stop bumps the generation (cancelling every timer) and
//! requires the lazy lease and status plans to have been withdrawn first (the cluster withdraws
//! them, and the lease plan for partitions and slow renewals, when the fault starts);
//! `runtimeHang` and its end interrupt the status plan themselves, as they change what the next
//! status tick posts.

use std::collections::BTreeMap;

use super::pressure::EvictionState;
use super::worker::Outbox;
use super::{matches_labels, Event, Kubelet, BACKOFF_CAP};
use crate::api::ApiServer;
use crate::sim::{Ctx, SimDuration};

impl Kubelet {
    /// The machine crashes: every process and container on it stops; nothing is written.
    /// (The cluster withdraws any lease plan first, see [`Kubelet::interrupt_lease_plan`].)
    pub fn crash(&mut self) {
        assert!(self.lease_plan.is_none(), "lease plan not withdrawn");
        assert!(self.status_plan.is_none(), "status plan not withdrawn");
        self.running = false;
        self.gen += 1;
        self.lease_parked = None;
        self.pods.clear();
        self.runtime.images.reset_pulls();
        self.eviction = EvictionState::default();
        self.pending_status.clear();
        self.reconcile.clear();
        self.reconcile_tick = None;
    }

    /// The kubelet process stops (the machine and its containers keep running). Pods in the
    /// middle of starting or stopping are re-synced from the API server at restart.
    pub fn stop_process(&mut self) {
        assert!(self.lease_plan.is_none(), "lease plan not withdrawn");
        assert!(self.status_plan.is_none(), "status plan not withdrawn");
        self.running = false;
        self.gen += 1;
        self.lease_parked = None;
        // Workers with nothing running are rebuilt from the API server at restart; the pulls
        // the process was making are lost.
        self.pods.retain(|_, e| !e.worker.all_stopped());
        // The status manager dies with the process, and with it the writes it had not got
        // through (failed, or waiting for tokens). The next process's starts with no
        // `apiStatusVersions` (pkg/kubelet/status/status_manager.go `syncPod`: `needsUpdate`
        // is true for a pod it has not written, and the PATCH goes out unless
        // `isPodStatusByKubeletEqual`): it compares each kept pod's API status with its own.
        self.pods.for_each_mut(|_, e| e.unsynced = true);
        self.runtime.images.reset_pulls();
        self.eviction.next_tick = None;
        self.pending_status.clear();
        self.reconcile.clear();
        self.reconcile_tick = None;
    }

    /// The kubelet process starts again and adopts the containers still running.
    pub fn restart_process(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.restarting = true;
        self.start(ctx, api);
        self.restarting = false;
    }

    /// A `slowLeaseRenewals` fault starts (Some) or ends (None); the latest latency applies
    /// while any is active.
    pub fn set_lease_latency(&mut self, latency: Option<SimDuration>) {
        match latency {
            Some(l) => {
                self.slow_lease_faults += 1;
                self.lease_latency = l;
            }
            None => {
                self.slow_lease_faults = self.slow_lease_faults.saturating_sub(1);
                if self.slow_lease_faults == 0 {
                    self.lease_latency = SimDuration::ZERO;
                }
            }
        }
    }

    /// The link to the API server is back after a partition: the pod watch reconnects with a
    /// fresh LIST. (Lease and status loops recover on their own retries.)
    pub fn reconnect(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.relist(ctx, api);
    }

    /// A partition of this machine ended while the API server was down: the pod watch broke
    /// with the link and is re-established (with a LIST) once the API server is back.
    pub fn watch_broken(&mut self) {
        self.listed = false;
    }

    /// The API server is back after an outage. A process whose pod LIST failed (it started
    /// during the outage) or whose watch broke lists now: the kubelet's pod config source is a client-go reflector,
    /// whose `ListAndWatch` is retried until the LIST succeeds (tools/cache/reflector.go
    /// `Run`: `wait.BackoffUntil`); like [`Kubelet::reconnect`], kubesim lists at once
    /// rather than at the reflector's next backoff step. A process that had listed missed
    /// nothing, as no object changes while the API server is down.
    pub fn api_server_back(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.wake_reachable(ctx);
        if !self.listed && api.net.reachable(self.caller()) {
            self.relist(ctx, api);
        }
    }

    /// Lazy heartbeats: the API server may be reachable again (a partition or an outage
    /// ended). The parked lease attempts and the planned status ticks before now failed with
    /// no effect; the loops resume at their first attempt at or after now.
    pub fn wake_reachable(&mut self, ctx: &mut dyn Ctx<Event>) {
        if let Some((mut at, mut backoff)) = self.lease_parked.take() {
            let now = ctx.now();
            // Bounded: the backoff reaches its cap after a few doublings.
            while at < now {
                backoff = (backoff + backoff).min(BACKOFF_CAP);
                at += backoff;
            }
            self.lease_backoff = backoff;
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_at(at, Event::KubeletLeaseEnsure { machine, gen });
        }
        self.interrupt_status_plan(ctx, false);
    }

    /// `registryOutage`/`registrySlow` start or end.
    pub fn registry_fault(&mut self, registry: &str, slow: Option<u32>, start: bool) {
        let f = &mut self.registry_faults;
        match (slow, start) {
            (None, true) => *f.down.entry(registry.to_string()).or_insert(0) += 1,
            (None, false) => {
                if let Some(n) = f.down.get_mut(registry) {
                    *n = n.saturating_sub(1);
                }
            }
            (Some(x), true) => f.slow.entry(registry.to_string()).or_default().push(x),
            (Some(x), false) => {
                if let Some(v) = f.slow.get_mut(registry) {
                    if let Some(i) = v.iter().rposition(|y| *y == x) {
                        v.remove(i);
                    }
                }
            }
        }
    }

    /// `runtimeHang` starts: the runtime stops answering. The generic PLEG's relist stalls, and
    /// once it has not completed for `relistThreshold` (3 min) the kubelet reports the node
    /// NotReady ("PLEG is not healthy: …") at its status ticks.
    pub fn hang_runtime(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.runtime_hung_since.is_none() {
            self.runtime_hung_since = Some(ctx.now());
        }
        self.interrupt_status_plan(ctx, false);
    }

    /// `runtimeHang` ends: workers catch up with what happened meanwhile.
    pub fn resume_runtime(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        if self.runtime_hung_since.take().is_none() || !self.running {
            return;
        }
        self.interrupt_status_plan(ctx, false);
        let now = ctx.now();
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in keys {
            let entry = self.pods.get_mut(&k).expect("listed key");
            entry.worker.resume(now);
            let mut out = Outbox::default();
            entry.worker.step(now, &mut self.runtime, &mut out);
            self.flush(ctx, api, &k, out);
        }
    }

    /// Adds or removes the `crashLoop` fault and sets the matching workers' crash override
    /// from the faults now in force; returns the keys of the matching pods.
    fn set_crash_fault(
        &mut self,
        labels: &BTreeMap<String, String>,
        code: i32,
        after: SimDuration,
        start: bool,
    ) -> Vec<String> {
        if start {
            self.crash_faults.push((labels.clone(), code, after));
        } else if let Some(i) = self
            .crash_faults
            .iter()
            .position(|(l, c, a)| l == labels && *c == code && *a == after)
        {
            self.crash_faults.remove(i);
        }
        let mut matching = Vec::new();
        let faults = &self.crash_faults;
        self.pods.for_each_mut(|k, entry| {
            let pod_labels = &entry.worker.pod.meta.labels;
            if !matches_labels(labels, pod_labels) {
                return;
            }
            entry.worker.crash_override = faults
                .iter()
                .rev()
                .find(|(sel, _, _)| matches_labels(sel, pod_labels))
                .map(|(_, c, a)| (*c, *a));
            matching.push(k.clone());
        });
        matching
    }

    fn set_leak_fault(&mut self, labels: &BTreeMap<String, String>, rate: i64, start: bool) {
        if start {
            self.leak_faults.push((labels.clone(), rate));
        } else if let Some(i) = self
            .leak_faults
            .iter()
            .position(|(l, r)| l == labels && *r == rate)
        {
            self.leak_faults.remove(i);
        }
    }

    /// A `crashLoop` fault starts or ends for pods matching `labels`. A kubelet that is not
    /// running (machine down, kubelet stopped) only records it and its pods' crash behaviour:
    /// the containers' behaviour is the application's, so a kubelet that comes back sees the
    /// faults as they are then.
    pub fn crash_loop(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        labels: &BTreeMap<String, String>,
        code: i32,
        after: SimDuration,
        start: bool,
    ) {
        let matching = self.set_crash_fault(labels, code, after, start);
        if !self.running {
            return;
        }
        let now = ctx.now();
        for k in matching {
            if start && self.runtime_hung_since.is_none() {
                let entry = self.pods.get_mut(&k).expect("listed key");
                entry.worker.crash_now(now, code);
                let mut out = Outbox::default();
                if entry.worker.advance(now, &mut out) {
                    self.write_status(ctx, api, &k);
                }
                let entry = self.pods.get_mut(&k).expect("listed key");
                entry.worker.sync_now(now, &mut self.runtime, &mut out);
                self.flush(ctx, api, &k, out);
            }
        }
    }

    /// A `memoryLeak` fault starts or ends for pods matching `labels` (only recorded by a
    /// kubelet that is not running, as `crash_loop`).
    pub fn memory_leak(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        labels: &BTreeMap<String, String>,
        rate: i64,
        start: bool,
    ) {
        self.set_leak_fault(labels, rate, start);
        if !self.running {
            return;
        }
        let now = ctx.now();
        let delta = if start { rate } else { -rate };
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for k in keys {
            let entry = self.pods.get_mut(&k).expect("listed key");
            if matches_labels(labels, &entry.worker.pod.meta.labels) {
                entry.worker.change_leak(now, delta);
                self.reschedule(ctx, &k);
            }
        }
        let _ = api;
        self.arm_eviction(ctx);
    }
}
