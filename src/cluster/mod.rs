//! A whole cluster under simulation: the API server, one kubelet per machine, the controller
//! manager and the scheduler, wired to the engine through the closed [`Event`] enum.
//!
//! Architecture invariant: components never hold references to each other. They act through
//! API requests; the API server's writes become watch notifications delivered through the queue
//! after the configured propagation delay. `Cluster::handle` is the one dispatch point.
//!
//! This module builds the cluster and dispatches; `faults` starts and ends the timeline's
//! faults, `cloud` takes machines down and up (crashes, VM deletion), `proxies` runs each
//! machine's kube-proxy and counts the synthetic traffic, `kubectl` makes the
//! operator's requests (apply, scale, set image, rollout undo, delete) and `drain` its
//! cordon, drain and eviction.

pub mod arrivals;
mod cloud;
pub mod drain;
pub mod event;
mod faults;
mod kubectl;
pub mod kubelets;
mod proxies;
pub mod spec;

use std::collections::BTreeMap;

pub use event::Event;
use spec::{ActionKind, ClusterSpec, FaultKind, TimelineKind, Workload};

use crate::api::{ApiServer, Watcher};
use crate::client::tokenbucket::ClientStats;
use crate::controllers::cloudnode::Cloud;
use crate::controllers::{self, ControllerManager};
use crate::kubelet::Kubelet;
use crate::network::Caller;
use crate::scheduler::{self, Scheduler};
use crate::sim::{Engine, SimDuration};

pub struct Cluster {
    pub api: ApiServer,
    pub kubelets: kubelets::Kubelets,
    pub kcm: ControllerManager,
    pub scheduler: Scheduler,
    pub machine_by_name: BTreeMap<String, u32>,
    watch_delay: SimDuration,
    workloads: Vec<Workload>,
    /// What each timeline entry does, by index (`Event::Fault { index, .. }`).
    timeline: Vec<TimelineKind>,
    /// How many active crash faults hold each machine down.
    down: Vec<u32>,
    /// How many active kubeletStop faults hold each kubelet process stopped.
    stopped: Vec<u32>,
    /// The cloud provider's view of the VMs.
    pub cloud: Cloud,
    /// The scenario's Deployments (`namespace/name`), for per-workload outputs.
    pub deployment_keys: Vec<String>,
    /// `kubectl drain` commands started by the timeline, by index.
    drains: Vec<drain::Drain>,
    /// The scenario's Services (`namespace/name`), for their endpoint columns.
    pub service_keys: Vec<String>,
    /// The scenario's StatefulSets and DaemonSets, for their availability columns.
    pub statefulset_keys: Vec<String>,
    pub daemonset_keys: Vec<String>,
    /// kube-proxy of each machine (empty unless the scenario has `kubeProxy:`/`traffic:`).
    pub proxies: Vec<crate::proxy::KubeProxy>,
    /// The synthetic traffic (`traffic:`), counted before every event.
    pub traffic: Option<crate::proxy::traffic::Traffic>,
    /// `taintNodes` edges whose request failed while the API server was down: (machine,
    /// taint, add), retried when it is back.
    taint_retries: Vec<(u32, crate::model::Taint, bool)>,
    /// The `arrivals:` generators and `stopWhen` (None without arrivals).
    arrivals: Option<arrivals::Arrivals>,
    /// The timeline's `apply` manifests.
    applies: Vec<Vec<Workload>>,
}

impl Cluster {
    /// Builds the cluster at t = 0: every Node object already registered (the scenario starts
    /// from a running cluster), then kubelets, the controller manager and the scheduler start,
    /// then the workloads are applied.
    pub fn build(s: &ClusterSpec, ctx: &mut Engine<Event>) -> Cluster {
        let mut api = ApiServer::new(s.apiserver.clone());
        let zone_keys: Vec<String> = s.nodes.iter().map(|n| n.zone_key()).collect();
        let mut zone_index: BTreeMap<&str, usize> = BTreeMap::new();
        for z in &zone_keys {
            let next = zone_index.len();
            zone_index.entry(z.as_str()).or_insert(next);
        }
        let zone_of: Vec<usize> = zone_keys.iter().map(|z| zone_index[z.as_str()]).collect();
        api.net = crate::network::Network::new(&zone_of);
        let mut kubelets = Vec::with_capacity(s.nodes.len());
        let mut machine_by_name = BTreeMap::new();
        // The last `late_nodes` machines are off until an `addNodes` action boots them.
        let first_late = s.nodes.len() - s.late_nodes.min(s.nodes.len());
        for (i, template) in s.nodes.iter().enumerate() {
            let m = i as u32;
            machine_by_name.insert(template.meta.name.clone(), m);
            if i < first_late {
                let mut node = template.clone();
                node.status.conditions =
                    crate::kubelet::healthy_conditions(crate::sim::SimTime::ZERO, None);
                api.create_node(Caller::Operator, node)
                    .expect("node names are validated unique");
                api.register_kubelet_watch(&template.meta.name, m);
            }
            let mut k = Kubelet::new(
                m,
                template.clone(),
                s.kubelet.clone(),
                s.runtime.clone(),
                s.seed,
            );
            if let Some(pods) = s.static_pods.get(&template.meta.name) {
                k.set_static_pods(pods);
            }
            kubelets.push(k);
        }
        let later = s.applies.iter().flatten().cloned();
        let shapes = s
            .arrivals
            .iter()
            .flat_map(|a| a.shapes.iter().map(|x| x.template.clone()));
        if s.applies.is_empty() && s.arrivals.is_empty() {
            create_namespaces(&mut api, &s.workloads);
        } else {
            let all: Vec<Workload> = s
                .workloads
                .iter()
                .cloned()
                .chain(later)
                .chain(shapes)
                .collect();
            create_namespaces(&mut api, &all);
        }
        let (proxies, traffic) = proxies::build(s);
        let mut c = Cluster {
            proxies,
            traffic,
            api,
            kubelets: kubelets::Kubelets::new(kubelets),
            kcm: ControllerManager::new(s.kcm.clone(), s.seed),
            scheduler: Scheduler::new(s.scheduler.clone(), s.seed),
            machine_by_name,
            watch_delay: s.watch_delay,
            workloads: s.workloads.clone(),
            timeline: s.timeline.iter().map(|f| f.kind.clone()).collect(),
            down: (0..s.nodes.len())
                .map(|i| u32::from(i >= first_late))
                .collect(),
            stopped: vec![0; s.nodes.len()],
            cloud: Cloud::default(),
            deployment_keys: s
                .workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::Deployment(d) => Some(d.key()),
                    _ => None,
                })
                .collect(),
            drains: Vec::new(),
            taint_retries: Vec::new(),
            service_keys: s
                .workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::Service(x) => Some(x.key()),
                    _ => None,
                })
                .collect(),
            statefulset_keys: s
                .workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::StatefulSet(x) => Some(x.key()),
                    _ => None,
                })
                .collect(),
            daemonset_keys: s
                .workloads
                .iter()
                .filter_map(|w| match w {
                    Workload::DaemonSet(x) => Some(x.key()),
                    _ => None,
                })
                .collect(),
            arrivals: (!s.arrivals.is_empty())
                .then(|| arrivals::Arrivals::new(&s.arrivals, s.stop_when, s.seed)),
            applies: s.applies.clone(),
        };
        c.kcm.cache.watch_delay = s.watch_delay;
        c.flush(ctx);
        for m in 0..first_late as u32 {
            ctx.schedule_at(
                crate::sim::SimTime::ZERO,
                Event::KubeletStart { machine: m },
            );
        }
        c.kcm.start(ctx, &mut c.api);
        c.scheduler.start(ctx);
        c.start_proxies(ctx);
        ctx.schedule_at(crate::sim::SimTime::ZERO, Event::ApplyWorkloads);
        c.start_arrivals(ctx);
        for (i, f) in s.timeline.iter().enumerate() {
            let start = crate::sim::SimTime::ZERO + f.at;
            ctx.schedule_at(
                start,
                Event::Fault {
                    index: i,
                    start: true,
                },
            );
            if let Some(d) = f.duration {
                ctx.schedule_at(
                    start + d,
                    Event::Fault {
                        index: i,
                        start: false,
                    },
                );
            }
        }
        c.flush(ctx);
        c
    }

    /// Hands the API server's watch notifications to the queue and its records to the trace.
    fn flush(&mut self, ctx: &mut Engine<Event>) {
        for name in std::mem::take(&mut self.api.status_wakeups) {
            if let Some(&m) = self.machine_by_name.get(&name) {
                self.kubelets
                    .get_mut(m as usize)
                    .interrupt_status_plan(ctx, true);
            }
        }
        for r in self.api.records.drain(..) {
            ctx.record(r);
        }
        if self.arrivals.is_some() {
            self.note_arrival_changes(ctx);
        }
        for (w, change) in self.api.outbox.drain(..) {
            if w == Watcher::KubeProxy && self.proxies.is_empty() {
                continue;
            }
            ctx.deliver_in(self.watch_delay, Event::Watch(w, change));
        }
    }

    /// Whether machine `m` is running: no crash fault holds it down and its VM was not deleted.
    /// For observers (the capacity time series).
    /// Per rate-limited client that has sent a request: (component, user agent, statistics);
    /// the kube-controller-manager's controllers one by one, then every kubelet's `KubeClient`
    /// summed as one `kubelet` row (longest: the longest of any kubelet).
    pub fn client_stats(&self) -> Vec<(&'static str, &'static str, ClientStats)> {
        let mut out: Vec<_> = (self.kcm.clients.stats().iter())
            .map(|(a, st)| ("kube-controller-manager", *a, st.clone()))
            .collect();
        let kubelets = self.kubelets.client_stats();
        if kubelets.requests > 0 {
            out.push(("kubelet", "kubelet", kubelets.clone()));
        }
        out
    }

    pub fn machine_running(&self, m: u32) -> bool {
        self.down.get(m as usize).is_none_or(|d| *d == 0)
    }

    pub fn handle(&mut self, ctx: &mut Engine<Event>, ev: Event) {
        self.api.set_now(ctx.now());
        self.advance_traffic(ctx.now());
        let kcm_gen = self.kcm.gen();
        match ev {
            Event::ApplyWorkloads => self.apply_workloads(ctx),
            Event::Arrival { generator } => self.on_arrival(ctx, generator),
            Event::Fault { index, start } => self.fault(ctx, index, start),
            Event::Watch(w, change) => match w {
                Watcher::ControllerManager => self.kcm.on_watch(ctx, &mut self.api, change),
                Watcher::Scheduler => self.scheduler.on_watch(ctx, change),
                Watcher::KubeProxy => self.on_proxy_watch(ctx, change),
                Watcher::Kubelet(m) => {
                    let reachable = self.api.net.reachable(Caller::Kubelet(m));
                    let k = self.kubelets.get_mut(m as usize);
                    if k.running && reachable {
                        k.on_watch(ctx, &mut self.api, change);
                    }
                }
            },
            Event::KubeletStart { machine } => self
                .kubelets
                .get_mut(machine as usize)
                .start(ctx, &mut self.api),
            Event::Kubelet(ev) => {
                let (machine, gen) = ev.target();
                if let Some(k) = live(&mut self.kubelets, machine, gen) {
                    k.handle(ctx, &mut self.api, ev);
                }
            }
            Event::Kcm(ev) => {
                let current = match ev {
                    controllers::Event::KcmLeaderTick { gen } => gen == self.kcm.process(),
                    _ => ev.gen() == kcm_gen,
                };
                if current {
                    self.kcm.handle(ctx, &mut self.api, &self.cloud, ev);
                }
            }
            Event::DrainRetry { drain, pod } => {
                self.on_drain_event(ctx, drain::DrainTimer::Retry(drain, pod))
            }
            Event::DrainPoll { drain, pod } => {
                self.on_drain_event(ctx, drain::DrainTimer::Poll(drain, pod))
            }
            Event::Proxy(ev) => self.on_proxy_event(ctx, ev),
            Event::Scheduler(ev) => {
                let current = match ev {
                    scheduler::Event::SchedulerLeaderTick { .. } => true,
                    _ => ev.gen() == self.scheduler.gen(),
                };
                if current {
                    self.scheduler.handle(ctx, &mut self.api, ev);
                }
            }
        }
        self.flush(ctx);
    }
}

/// The namespaces that exist at t = 0: the system ones, and every namespace a workload uses
/// that no Namespace manifest declares (those are created with the workloads, first).
fn create_namespaces(api: &mut ApiServer, workloads: &[Workload]) {
    let mut names: std::collections::BTreeSet<String> = crate::api::SYSTEM_NAMESPACES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut declared = std::collections::BTreeSet::new();
    for w in workloads {
        let ns = match w {
            Workload::Pod(x) => &x.meta.namespace,
            Workload::ReplicaSet(x) => &x.meta.namespace,
            Workload::Deployment(x) => &x.meta.namespace,
            Workload::DaemonSet(x) => &x.meta.namespace,
            Workload::StatefulSet(x) => &x.meta.namespace,
            Workload::PodDisruptionBudget(x) => &x.meta.namespace,
            Workload::Service(x) => &x.meta.namespace,
            Workload::NamespacedObject(x) => &x.meta.namespace,
            Workload::Job(x) => &x.meta.namespace,
            Workload::CronJob(x) => &x.meta.namespace,
            Workload::Namespace(x) => {
                declared.insert(x.meta.name.clone());
                continue;
            }
        };
        names.insert(ns.clone());
    }
    for n in names.difference(&declared) {
        let mut ns = crate::model::Namespace::default();
        ns.meta.name = n.clone();
        api.create_namespace(Caller::Operator, ns)
            .expect("names are unique");
    }
}

fn pod_key_of(namespace: &str, name: &str) -> String {
    crate::model::pod_key(namespace, name)
}

/// The kubelet of `machine` if it still runs the process generation `gen`.
fn live(kubelets: &mut kubelets::Kubelets, machine: u32, gen: u32) -> Option<&mut Kubelet> {
    let k = kubelets.get_mut(machine as usize);
    (k.running && k.gen() == gen).then_some(k)
}
