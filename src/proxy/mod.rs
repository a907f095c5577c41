//! kube-proxy, one per machine: it watches Services and EndpointSlices through the API server
//! (a notification reaches it only while its machine reaches the API server; a partitioned
//! node keeps its stale rules and re-lists when the link returns) and programs, per Service,
//! the endpoints of its informer cache as of its last sync. `traffic` counts the synthetic
//! requests that go through those rules.
//!
//! Sync schedule, iptables mode (the default), from upstream kubernetes/kubernetes at commit
//! 0b467ff5 (the v1.34+ runner):
//! - `pkg/proxy/apis/config/v1alpha1/defaults.go`: `iptables.minSyncPeriod` 1 s,
//!   `iptables.syncPeriod` 30 s (`nftables` has the same two defaults).
//! - `pkg/proxy/iptables/proxier.go`: `runner.NewBoundedFrequencyRunner("sync-runner",
//!   proxier.syncProxyRules, minSyncPeriod, syncPeriod, proxyutil.FullSyncPeriod)`, so
//!   `syncPeriod` is only the *retry* interval of a failed sync and the periodic run comes
//!   every `FullSyncPeriod` (1 h).
//! - `pkg/proxy/runner/bounded_frequency_runner.go`: a `Run()` (any informer change) starts a
//!   sync at once unless one ran less than `minInterval` ago, then at the end of that interval;
//!   requests in between coalesce into that one run; no bursts. Every run restarts both timers.
//!
//! kubesim's model is exact and lazy: a sync takes no simulated time and never fails (so the
//! 30 s retry never fires); a sync event is scheduled only when a watched change arrives, at
//! `max(now, last run + minSyncPeriod)`, where "last run" also counts the hourly periodic runs
//! that would have happened since (they change no rule, so they are computed, not simulated).
//!
//! Endpoints used for a Service (`pkg/proxy/topology.go` `CategorizeEndpoints`, terminating
//! endpoints GA in 1.28): the `ready` ones; if none is ready, the ones `serving` and
//! `terminating`. Slices of one Service are merged by pod (`EndpointSliceCache`).
//!
//! Invariant: a proxy's programmed view changes only in its own sync events, and every timer
//! carries its process generation, so a node crash cancels them all.

pub mod traffic;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::api::{ApiServer, Change};
use crate::model::{Endpoint, EndpointSlice};
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimDuration, SimTime};

/// `KubeProxyConfiguration` as far as kubesim models it (iptables mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `iptables.minSyncPeriod` (default 1 s).
    pub min_sync_period: SimDuration,
    /// `iptables.syncPeriod` (default 30 s): the retry interval of a failed sync; syncs never
    /// fail in kubesim, so it is reported but changes nothing.
    pub sync_period: SimDuration,
    /// `proxyutil.FullSyncPeriod` (1 h): the periodic run.
    pub full_sync_period: SimDuration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            min_sync_period: SimDuration::from_secs(1),
            sync_period: SimDuration::from_secs(30),
            full_sync_period: SimDuration::from_secs(3600),
        }
    }
}

/// A kube-proxy timer.
#[derive(Clone, Debug)]
pub enum Event {
    /// The bounded-frequency runner runs `syncProxyRules`.
    Sync { machine: u32, gen: u32 },
}

impl Event {
    pub fn target(&self) -> (u32, u32) {
        match self {
            Event::Sync { machine, gen } => (*machine, *gen),
        }
    }
}

/// One Service's endpoints as programmed on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Programmed {
    /// Every endpoint of the Service's slices at the sync (merged by pod, in pod order).
    pub endpoints: Vec<Endpoint>,
    /// The indices into `endpoints` that get traffic: ready ones, or serving-terminating
    /// ones when none is ready.
    pub used: Vec<usize>,
}

impl Programmed {
    fn of(endpoints: Vec<Endpoint>) -> Programmed {
        let pick = |f: &dyn Fn(&Endpoint) -> bool| -> Vec<usize> {
            (0..endpoints.len()).filter(|&i| f(&endpoints[i])).collect()
        };
        let mut used = pick(&|e| e.conditions.ready);
        if used.is_empty() {
            used = pick(&|e| e.conditions.serving && e.conditions.terminating);
        }
        Programmed { endpoints, used }
    }

    /// The endpoints that get traffic, in pod order.
    pub fn used(&self) -> impl Iterator<Item = &Endpoint> {
        self.used.iter().map(|&i| &self.endpoints[i])
    }
}

pub struct KubeProxy {
    pub machine: u32,
    pub node_name: String,
    pub running: bool,
    gen: u32,
    config: ProxyConfig,
    /// The informer caches: Services by key, slices by their Service's key then slice key.
    services: BTreeSet<String>,
    slices: BTreeMap<String, BTreeMap<String, Arc<EndpointSlice>>>,
    /// Whether the watch stream was connected at the last check (a re-list follows a gap).
    connected: bool,
    /// Per Service key: what the last sync programmed.
    programmed: BTreeMap<String, Programmed>,
    last_sync: Option<SimTime>,
    pending: Option<SimTime>,
    syncs: u64,
}

impl KubeProxy {
    pub fn new(machine: u32, node_name: String, config: ProxyConfig) -> Self {
        KubeProxy {
            machine,
            node_name,
            running: false,
            gen: 0,
            config,
            services: BTreeSet::new(),
            slices: BTreeMap::new(),
            connected: false,
            programmed: BTreeMap::new(),
            last_sync: None,
            pending: None,
            syncs: 0,
        }
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    /// The time of the last sync (`kubeproxy_sync_proxy_rules_last_timestamp_seconds`).
    pub fn last_sync(&self) -> Option<SimTime> {
        self.last_sync
    }

    /// Syncs run so far by this machine's proxies.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// The endpoints programmed for traffic over all Services (one `KUBE-SEP-…` chain each).
    pub fn rules(&self) -> usize {
        self.programmed.values().map(|p| p.used.len()).sum()
    }

    /// What the last sync programmed for a Service (`namespace/name`).
    pub fn programmed(&self, service: &str) -> Option<&Programmed> {
        self.programmed.get(service)
    }

    /// The process starts (cluster start or machine boot): list everything, sync at once.
    /// Its programmed rules are gone with the old process (the machine rebooted).
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, api: &ApiServer) {
        self.gen += 1;
        self.running = true;
        self.pending = None;
        self.last_sync = None;
        self.programmed.clear();
        self.services.clear();
        self.slices.clear();
        self.connected = false;
        self.relist(ctx, api);
    }

    /// The machine went down: every timer of this process is void.
    pub fn crash(&mut self) {
        self.running = false;
        self.gen += 1;
        self.pending = None;
        self.connected = false;
    }

    /// After a network change: a proxy whose machine reaches the API server again re-lists
    /// (its watches reconnect); one that lost it just notes the gap.
    pub fn check_connection(&mut self, ctx: &mut dyn Ctx<Event>, api: &ApiServer) {
        if !self.running {
            return;
        }
        let reachable = api.net.reachable(Caller::Kubelet(self.machine));
        if reachable && !self.connected {
            self.relist(ctx, api);
        } else if !reachable {
            self.connected = false;
        }
    }

    /// LIST Services and slices: the caches become the API server's, and a sync is asked
    /// for when anything differs from what the caches held.
    fn relist(&mut self, ctx: &mut dyn Ctx<Event>, api: &ApiServer) {
        let Ok((services, slices)) = api.list_services_and_slices(Caller::Kubelet(self.machine))
        else {
            self.connected = false;
            return;
        };
        self.connected = true;
        let services: BTreeSet<String> = services.iter().map(|s| s.key()).collect();
        let mut by_service: BTreeMap<String, BTreeMap<String, Arc<EndpointSlice>>> =
            BTreeMap::new();
        for s in slices {
            if let Some(svc) = s.service_key() {
                by_service.entry(svc).or_default().insert(s.key(), s);
            }
        }
        let first = self.last_sync.is_none() && self.pending.is_none();
        if first || services != self.services || by_service != self.slices {
            self.services = services;
            self.slices = by_service;
            self.request_sync(ctx);
        }
    }

    /// A watch notification (the cluster delivers it only while the machine is reachable).
    pub fn on_watch(&mut self, ctx: &mut dyn Ctx<Event>, change: &Change) {
        if !self.running || !self.connected {
            return;
        }
        match change {
            Change::Service(s) => {
                self.services.insert(s.key());
            }
            Change::ServiceDeleted(s) => {
                self.services.remove(&s.key());
            }
            Change::EndpointSlice(s) => {
                let Some(svc) = s.service_key() else { return };
                self.slices
                    .entry(svc)
                    .or_default()
                    .insert(s.key(), s.clone());
            }
            Change::EndpointSliceDeleted(s) => {
                let Some(svc) = s.service_key() else { return };
                if let Some(m) = self.slices.get_mut(&svc) {
                    m.remove(&s.key());
                    if m.is_empty() {
                        self.slices.remove(&svc);
                    }
                }
            }
            _ => return,
        }
        self.request_sync(ctx);
    }

    /// The runner's `Run()`: a sync now, or at the end of the minimum interval since the last
    /// run (counting the periodic runs since); coalesced with one already pending.
    fn request_sync(&mut self, ctx: &mut dyn Ctx<Event>) {
        if self.pending.is_some() {
            return;
        }
        let now = ctx.now();
        let at = match self.last_sync {
            None => now,
            Some(last) => {
                let full = self.config.full_sync_period.as_nanos().max(1);
                let since = now.saturating_since(last).as_nanos();
                let periodic = last + SimDuration::from_nanos(since / full * full);
                (periodic + self.config.min_sync_period).max(now)
            }
        };
        self.pending = Some(at);
        ctx.schedule_at(
            at,
            Event::Sync {
                machine: self.machine,
                gen: self.gen,
            },
        );
    }

    /// `syncProxyRules`: program every Service of the cache from its slices.
    pub fn sync(&mut self, ctx: &mut dyn Ctx<Event>) {
        let now = ctx.now();
        self.pending = None;
        self.last_sync = Some(now);
        self.syncs += 1;
        let mut programmed = BTreeMap::new();
        for svc in &self.services {
            let mut by_pod: BTreeMap<&str, &Endpoint> = BTreeMap::new();
            for s in self.slices.get(svc).into_iter().flat_map(|m| m.values()) {
                for e in &s.endpoints {
                    by_pod.entry(e.pod.as_str()).or_insert(e);
                }
            }
            let eps: Vec<Endpoint> = by_pod.into_values().cloned().collect();
            programmed.insert(svc.clone(), Programmed::of(eps));
        }
        if programmed != self.programmed {
            self.programmed = programmed;
            ctx.record(Record {
                t: now,
                reason: "SyncProxyRules",
                source: "kube-proxy",
                object: format!("Node/{}", self.node_name),
                message: format!(
                    "programmed {} endpoints of {} services",
                    self.rules(),
                    self.programmed.len()
                ),
                fields: vec![],
            });
        }
    }
}

/// A Service object, for tests.
#[cfg(test)]
fn service(ns: &str, name: &str) -> Arc<crate::model::Service> {
    let mut s = crate::model::Service::default();
    s.meta.namespace = ns.into();
    s.meta.name = name.into();
    Arc::new(s)
}

#[cfg(test)]
mod tests;
