//! A whole cluster under simulation: the API server, one kubelet per machine, the controller
//! manager and the scheduler, wired to the engine through the closed [`Event`] enum.
//!
//! Architecture invariant: components never hold references to each other. They act through
//! API requests; the API server's writes become watch notifications delivered through the queue
//! after the configured propagation delay. `Cluster::handle` is the one dispatch point.

pub mod drain;
pub mod event;
pub mod spec;

use std::collections::BTreeMap;

pub use event::Event;
use spec::{ClusterSpec, FaultKind, Workload};

use crate::api::{ApiServer, Watcher};
use crate::controllers::cloudnode::Cloud;
use crate::controllers::{self, ControllerManager};
use crate::kubelet::Kubelet;
use crate::network::Caller;
use crate::scheduler::{self, Scheduler};
use crate::sim::{Engine, Record, SimDuration};

pub struct Cluster {
    pub api: ApiServer,
    pub kubelets: Vec<Kubelet>,
    pub kcm: ControllerManager,
    pub scheduler: Scheduler,
    pub machine_by_name: BTreeMap<String, u32>,
    watch_delay: SimDuration,
    workloads: Vec<Workload>,
    faults: Vec<FaultKind>,
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
        for (i, template) in s.nodes.iter().enumerate() {
            let m = i as u32;
            machine_by_name.insert(template.meta.name.clone(), m);
            let mut node = template.clone();
            node.status.conditions =
                crate::kubelet::healthy_conditions(crate::sim::SimTime::ZERO, None);
            api.create_node(Caller::Operator, node)
                .expect("node names are validated unique");
            api.register_kubelet_watch(&template.meta.name, m);
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
        create_namespaces(&mut api, &s.workloads);
        let mut c = Cluster {
            api,
            kubelets,
            kcm: ControllerManager::new(s.kcm.clone(), s.seed),
            scheduler: Scheduler::new(s.scheduler.clone(), s.seed),
            machine_by_name,
            watch_delay: s.watch_delay,
            workloads: s.workloads.clone(),
            faults: s.timeline.iter().map(|f| f.kind.clone()).collect(),
            down: vec![0; s.nodes.len()],
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
        };
        c.kcm.cache.watch_delay = s.watch_delay;
        c.flush(ctx);
        for m in 0..c.kubelets.len() as u32 {
            ctx.schedule_at(
                crate::sim::SimTime::ZERO,
                Event::KubeletStart { machine: m },
            );
        }
        c.kcm.start(ctx, &mut c.api);
        c.scheduler.start(ctx);
        ctx.schedule_at(crate::sim::SimTime::ZERO, Event::ApplyWorkloads);
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
                self.kubelets[m as usize].interrupt_status_plan(ctx, true);
            }
        }
        for r in self.api.records.drain(..) {
            ctx.record(r);
        }
        for (w, change) in self.api.outbox.drain(..) {
            ctx.deliver_in(self.watch_delay, Event::Watch(w, change));
        }
    }

    pub fn handle(&mut self, ctx: &mut Engine<Event>, ev: Event) {
        self.api.set_now(ctx.now());
        let kcm_gen = self.kcm.gen();
        match ev {
            Event::ApplyWorkloads => self.apply_workloads(ctx),
            Event::Fault { index, start } => self.fault(ctx, index, start),
            Event::Watch(w, change) => match w {
                Watcher::ControllerManager => self.kcm.on_watch(ctx, &mut self.api, change),
                Watcher::Scheduler => self.scheduler.on_watch(ctx, change),
                Watcher::Kubelet(m) => {
                    let reachable = self.api.net.reachable(Caller::Kubelet(m));
                    let k = &mut self.kubelets[m as usize];
                    if k.running && reachable {
                        k.on_watch(ctx, &mut self.api, change);
                    }
                }
            },
            Event::KubeletStart { machine } => {
                self.kubelets[machine as usize].start(ctx, &mut self.api)
            }
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

    fn apply_workloads(&mut self, ctx: &mut Engine<Event>) {
        // Namespaces first, as `kubectl apply` of a directory orders them.
        let mut ws = std::mem::take(&mut self.workloads);
        ws.sort_by_key(|w| !matches!(w, Workload::Namespace(_)));
        for w in ws {
            let (kind, key, res) = match w {
                Workload::Pod(p) => (
                    "Pod",
                    p.key(),
                    self.api.create_pod(Caller::Operator, p).map(|_| ()),
                ),
                Workload::ReplicaSet(rs) => (
                    rs.kind.as_str(),
                    pod_key_of(&rs.meta.namespace, &rs.meta.name),
                    self.api.create_replicaset(Caller::Operator, rs).map(|_| ()),
                ),
                Workload::Deployment(d) => (
                    "Deployment",
                    d.key(),
                    self.api.create_deployment(Caller::Operator, d).map(|_| ()),
                ),
                Workload::DaemonSet(d) => (
                    "DaemonSet",
                    d.key(),
                    self.api.create_daemonset(Caller::Operator, d).map(|_| ()),
                ),
                Workload::StatefulSet(d) => (
                    "StatefulSet",
                    d.key(),
                    self.api.create_statefulset(Caller::Operator, d).map(|_| ()),
                ),
                Workload::PodDisruptionBudget(b) => (
                    "PodDisruptionBudget",
                    b.key(),
                    self.api.create_pdb(Caller::Operator, b).map(|_| ()),
                ),
                Workload::Service(x) => (
                    "Service",
                    x.key(),
                    self.api.create_service(Caller::Operator, x).map(|_| ()),
                ),
                Workload::Namespace(x) => (
                    "Namespace",
                    x.meta.name.clone(),
                    self.api.create_namespace(Caller::Operator, x).map(|_| ()),
                ),
                Workload::NamespacedObject(x) => (
                    if x.kind == "Secret" {
                        "Secret"
                    } else {
                        "ServiceAccount"
                    },
                    pod_key_of(&x.meta.namespace, &x.meta.name),
                    self.api
                        .create_namespaced_object(Caller::Operator, x)
                        .map(|_| ()),
                ),
                Workload::Job(j) => (
                    "Job",
                    j.key(),
                    self.api.create_job(Caller::Operator, j).map(|_| ()),
                ),
                Workload::CronJob(c) => (
                    "CronJob",
                    c.key(),
                    self.api.create_cronjob(Caller::Operator, c).map(|_| ()),
                ),
            };
            if let Err(e) = res {
                ctx.record(Record {
                    t: ctx.now(),
                    reason: "FailedCreate",
                    source: "kubectl",
                    object: format!("{kind}/{key}"),
                    message: e.to_string(),
                    fields: vec![],
                });
            }
        }
    }

    fn fault(&mut self, ctx: &mut Engine<Event>, index: usize, start: bool) {
        let kind = self.faults[index].clone();
        if kind.is_action() {
            self.action(ctx, &kind);
            return;
        }
        // Lazy heartbeats: planned lease renewals stop where this fault would make them fail.
        if start {
            match &kind {
                FaultKind::ApiServerUnavailable => {
                    for k in &mut self.kubelets {
                        k.interrupt_lease_plan(ctx, &mut self.api);
                    }
                }
                FaultKind::NodeCrash { machines }
                | FaultKind::VmDeleted { machines }
                | FaultKind::KubeletStop { machines } => {
                    for &m in machines {
                        let k = &mut self.kubelets[m as usize];
                        k.interrupt_lease_plan(ctx, &mut self.api);
                        // The process stops before any tick at this instant runs.
                        k.interrupt_status_plan(ctx, false);
                    }
                }
                FaultKind::NetworkPartition { machines }
                | FaultKind::SlowLeaseRenewals { machines, .. } => {
                    for &m in machines {
                        self.kubelets[m as usize].interrupt_lease_plan(ctx, &mut self.api);
                    }
                }
                FaultKind::TaintNodes { .. }
                | FaultKind::RegistryOutage { .. }
                | FaultKind::RegistrySlow { .. }
                | FaultKind::RuntimeHang { .. }
                | FaultKind::CrashLoop { .. }
                | FaultKind::MemoryLeak { .. }
                | FaultKind::ControllerManagerRestart
                | FaultKind::ScaleDeployment { .. }
                | FaultKind::SetImage { .. }
                | FaultKind::DeleteObject { .. }
                | FaultKind::RollbackDeployment { .. }
                | FaultKind::Cordon { .. }
                | FaultKind::Drain { .. }
                | FaultKind::EvictPod { .. } => {}
            }
        }
        let (reason, message) = match &kind {
            FaultKind::NodeCrash { machines } => {
                for &m in machines {
                    if start {
                        self.machine_down(m);
                    } else {
                        self.machine_up(ctx, m);
                    }
                }
                let names = self.names(machines);
                if start {
                    ("FaultStarted", format!("node crash: {names}"))
                } else {
                    ("FaultEnded", format!("node recovered: {names}"))
                }
            }
            FaultKind::VmDeleted { machines } => {
                // For good: the machine never comes back (no end event is scheduled).
                for &m in machines {
                    self.machine_down(m);
                    let name = self.kubelets[m as usize].node_name.clone();
                    self.cloud.deleted.insert(name);
                }
                (
                    "FaultStarted",
                    format!("VM deleted in the cloud: {}", self.names(machines)),
                )
            }
            FaultKind::KubeletStop { machines } => {
                for &m in machines {
                    let i = m as usize;
                    if start {
                        self.stopped[i] += 1;
                        if self.stopped[i] == 1 && self.kubelets[i].running {
                            self.kubelets[i].stop_process();
                        }
                    } else {
                        self.stopped[i] -= 1;
                        if self.stopped[i] == 0 && self.down[i] == 0 && !self.kubelets[i].running {
                            self.kubelets[i].restart_process(ctx, &mut self.api);
                        }
                    }
                }
                let names = self.names(machines);
                if start {
                    ("FaultStarted", format!("kubelet stopped: {names}"))
                } else {
                    ("FaultEnded", format!("kubelet restarted: {names}"))
                }
            }
            FaultKind::SlowLeaseRenewals { machines, latency } => {
                for &m in machines {
                    let l = start.then_some(*latency);
                    self.kubelets[m as usize].set_lease_latency(l);
                }
                let names = self.names(machines);
                if start {
                    (
                        "FaultStarted",
                        format!("lease renewals delayed by {latency}: {names}"),
                    )
                } else {
                    ("FaultEnded", format!("lease renewals on time: {names}"))
                }
            }
            FaultKind::TaintNodes { machines, taint } => {
                let now = ctx.now();
                for &m in machines {
                    let name = self.kubelets[m as usize].node_name.clone();
                    let _ = self.api.update_node(Caller::Operator, &name, |n| {
                        if start {
                            if !n.spec.taints.iter().any(|t| t.matches(taint)) {
                                n.spec.taints.push(crate::model::Taint {
                                    time_added: Some(now),
                                    ..taint.clone()
                                });
                            }
                        } else {
                            n.spec.taints.retain(|t| !t.matches(taint));
                        }
                    });
                }
                let names = self.names(machines);
                let t = taint.to_text();
                if start {
                    ("FaultStarted", format!("operator tainted {t}: {names}"))
                } else {
                    ("FaultEnded", format!("operator removed {t}: {names}"))
                }
            }
            FaultKind::NetworkPartition { machines } => {
                self.api.net.cut_machines(machines, start);
                if !start {
                    // The link is back: the kubelet's watch reconnects and it re-lists its pods.
                    for &m in machines {
                        if self.api.net.reachable(Caller::Kubelet(m)) {
                            let k = &mut self.kubelets[m as usize];
                            if k.running {
                                k.wake_reachable(ctx);
                                k.reconnect(ctx, &mut self.api);
                            }
                        }
                    }
                }
                let verb = if start {
                    "partitioned from the API server"
                } else {
                    "reconnected"
                };
                (
                    if start { "FaultStarted" } else { "FaultEnded" },
                    format!("{verb}: {}", self.names(machines)),
                )
            }
            FaultKind::RegistryOutage { registry } | FaultKind::RegistrySlow { registry, .. } => {
                let slow = match &kind {
                    FaultKind::RegistrySlow { factor, .. } => Some(*factor),
                    _ => None,
                };
                for k in &mut self.kubelets {
                    k.registry_fault(registry, slow, start);
                }
                let what = match slow {
                    Some(f) => format!("registry {registry} {f}x slower"),
                    None => format!("registry {registry} unavailable"),
                };
                if start {
                    ("FaultStarted", what)
                } else {
                    ("FaultEnded", format!("registry {registry} back to normal"))
                }
            }
            FaultKind::RuntimeHang { machines } => {
                for &m in machines {
                    let k = &mut self.kubelets[m as usize];
                    if !k.running {
                        continue;
                    }
                    if start {
                        k.hang_runtime(ctx);
                    } else {
                        k.resume_runtime(ctx, &mut self.api);
                    }
                }
                let names = self.names(machines);
                if start {
                    ("FaultStarted", format!("container runtime hung: {names}"))
                } else {
                    (
                        "FaultEnded",
                        format!("container runtime answering: {names}"),
                    )
                }
            }
            FaultKind::CrashLoop {
                labels,
                exit_code,
                after,
            } => {
                for k in &mut self.kubelets {
                    if k.running {
                        k.crash_loop(ctx, &mut self.api, labels, *exit_code, *after, start);
                    }
                }
                if start {
                    (
                        "FaultStarted",
                        format!("containers of pods {labels:?} crash-looping"),
                    )
                } else {
                    (
                        "FaultEnded",
                        format!("containers of pods {labels:?} healthy again"),
                    )
                }
            }
            FaultKind::MemoryLeak { labels, rate } => {
                for k in &mut self.kubelets {
                    if k.running {
                        k.memory_leak(ctx, &mut self.api, labels, *rate, start);
                    }
                }
                if start {
                    (
                        "FaultStarted",
                        format!("containers of pods {labels:?} leaking {rate} bytes/s"),
                    )
                } else {
                    (
                        "FaultEnded",
                        format!("containers of pods {labels:?} stopped leaking"),
                    )
                }
            }
            FaultKind::ControllerManagerRestart => {
                if start {
                    self.kcm.restart(ctx, &mut self.api);
                }
                (
                    "FaultStarted",
                    "kube-controller-manager restarted".to_string(),
                )
            }
            FaultKind::ScaleDeployment { .. }
            | FaultKind::SetImage { .. }
            | FaultKind::DeleteObject { .. }
            | FaultKind::RollbackDeployment { .. }
            | FaultKind::Cordon { .. }
            | FaultKind::Drain { .. }
            | FaultKind::EvictPod { .. } => {
                unreachable!("actions are handled by Cluster::action")
            }
            FaultKind::ApiServerUnavailable => {
                self.api.net.set_api_down(start);
                if !start && self.api.net.api_available() {
                    for k in self.kubelets.iter_mut().filter(|k| k.running) {
                        k.wake_reachable(ctx);
                    }
                }
                if start {
                    ("FaultStarted", "API server unreachable".to_string())
                } else {
                    ("FaultEnded", "API server reachable again".to_string())
                }
            }
        };
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubesim",
            object: format!("Fault/{index}"),
            message,
            fields: vec![("fault", kind.name().to_string())],
        });
    }
}

impl Cluster {
    /// A timeline action: the operator's kubectl request (which fails, and is recorded as
    /// failed, while the API server is unreachable).
    fn action(&mut self, ctx: &mut Engine<Event>, kind: &FaultKind) {
        let (key, command, res) = match kind {
            FaultKind::ScaleDeployment {
                kind,
                deployment,
                replicas,
            } => {
                let n = *replicas;
                let res = match kind.as_str() {
                    "StatefulSet" => self
                        .api
                        .update_statefulset(Caller::Operator, deployment, |d| d.replicas = n)
                        .map(|_| ()),
                    _ => self
                        .api
                        .update_deployment(Caller::Operator, deployment, |d| d.replicas = n)
                        .map(|_| ()),
                };
                let name = deployment.split_once('/').map_or("", |x| x.1);
                (
                    deployment.clone(),
                    format!(
                        "kubectl scale {}/{name} --replicas={n}",
                        kind.to_lowercase()
                    ),
                    res,
                )
            }
            FaultKind::SetImage {
                kind,
                deployment,
                container,
                image,
            } => {
                let set = |t: &mut crate::model::PodTemplate| {
                    for c in &mut t.spec.containers {
                        if c.name == *container {
                            c.image = image.clone();
                        }
                    }
                };
                let res = match kind.as_str() {
                    "StatefulSet" => self
                        .api
                        .update_statefulset(Caller::Operator, deployment, |d| set(&mut d.template))
                        .map(|_| ()),
                    "DaemonSet" => self
                        .api
                        .update_daemonset(Caller::Operator, deployment, |d| set(&mut d.template))
                        .map(|_| ()),
                    _ => self
                        .api
                        .update_deployment(Caller::Operator, deployment, |d| set(&mut d.template))
                        .map(|_| ()),
                };
                let name = deployment.split_once('/').map_or("", |x| x.1);
                (
                    deployment.clone(),
                    format!(
                        "kubectl set image {}/{name} {container}={image}",
                        kind.to_lowercase()
                    ),
                    res,
                )
            }
            FaultKind::RollbackDeployment {
                deployment,
                to_revision,
            } => {
                let name = deployment.split_once('/').map_or("", |x| x.1);
                let mut command = format!("kubectl rollout undo deployment/{name}");
                if *to_revision > 0 {
                    command.push_str(&format!(" --to-revision={to_revision}"));
                }
                let res = self.rollback(deployment, *to_revision).map(|_| ());
                (deployment.clone(), command, res)
            }
            FaultKind::Cordon {
                node,
                unschedulable,
            } => {
                self.cordon(ctx, node, *unschedulable);
                return;
            }
            FaultKind::Drain { node, opts } => {
                self.drain(ctx, node, opts);
                return;
            }
            FaultKind::EvictPod {
                namespace,
                name,
                labels,
                grace,
            } => {
                self.evict(ctx, namespace, name.as_deref(), labels, *grace);
                return;
            }
            FaultKind::DeleteObject { kind, key, policy } => {
                let res = match kind.as_str() {
                    "Deployment" => self.api.delete_deployment(Caller::Operator, key, *policy),
                    "Pod" => self.api.delete_pod(Caller::Operator, key, None),
                    "PodDisruptionBudget" => self
                        .api
                        .delete_pdb(Caller::Operator, key)
                        .map(|_| crate::api::Deletion::Removed),
                    "Service" => self
                        .api
                        .delete_service(Caller::Operator, key)
                        .map(|_| crate::api::Deletion::Removed),
                    "Namespace" => self.api.delete_namespace(Caller::Operator, key),
                    "ServiceAccount" | "Secret" => self
                        .api
                        .delete_namespaced_object(Caller::Operator, key)
                        .map(|_| crate::api::Deletion::Removed),
                    "Job" => self.api.delete_job(Caller::Operator, key, *policy),
                    _ => self.api.delete_replicaset(Caller::Operator, key, *policy),
                };
                // Keys: `ns/name`, `rc:ns/name`, `Kind:ns/name`, or a Namespace's bare name.
                let plain = key
                    .split_once(':')
                    .map_or(key.as_str(), |x| x.1)
                    .to_string();
                let name = plain
                    .split_once('/')
                    .map_or(plain.as_str(), |x| x.1)
                    .to_string();
                let command = format!(
                    "kubectl delete {}/{name} --cascade={}",
                    kind.to_lowercase(),
                    policy.as_str().to_lowercase()
                );
                let (reason, message) = match res {
                    Ok(_) => ("ActionApplied", command),
                    Err(e) => ("ActionFailed", format!("{command}: {e}")),
                };
                ctx.record(Record {
                    t: ctx.now(),
                    reason,
                    source: "kubectl",
                    object: format!("{kind}/{plain}"),
                    message,
                    fields: vec![("action", "deleteObject".to_string())],
                });
                return;
            }
            _ => return,
        };
        let (reason, message) = match res {
            Ok(_) => ("ActionApplied", command),
            Err(e) => ("ActionFailed", format!("{command}: {e}")),
        };
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubectl",
            object: format!("{}/{key}", action_kind(kind)),
            message,
            fields: vec![("action", kind.name().to_string())],
        });
    }

    /// `kubectl rollout undo` (kubectl's DeploymentRollbacker): the template of the
    /// ReplicaSet with the requested revision (0: the highest below the current one), without
    /// its pod-template-hash label, becomes the Deployment's template.
    fn rollback(
        &mut self,
        key: &str,
        to_revision: i64,
    ) -> Result<std::sync::Arc<crate::model::Deployment>, crate::api::ApiError> {
        use crate::api::ApiError;
        use crate::controllers::deployment_util::{revision, POD_TEMPLATE_HASH_LABEL};
        let d = self
            .api
            .deployments()
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Deployment/{key}")))?;
        if d.paused {
            return Err(ApiError::Invalid("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into()));
        }
        let name = d.meta.name.clone();
        let mut history: Vec<(i64, crate::model::PodTemplate)> = self
            .api
            .replicasets()
            .values()
            .filter(|r| {
                r.meta.namespace == d.meta.namespace
                    && r.meta
                        .controller_ref()
                        .is_some_and(|o| o.kind == "Deployment" && o.name == name)
            })
            .map(|r| (revision(r), r.template.clone()))
            .collect();
        history.sort_by_key(|(r, _)| *r);
        let current: i64 = d
            .meta
            .annotations
            .get(crate::controllers::deployment_util::REVISION_ANNOTATION)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let target = if to_revision == 0 {
            history.iter().rev().find(|(r, _)| *r < current)
        } else {
            history.iter().find(|(r, _)| *r == to_revision)
        };
        let Some((rev, template)) = target.cloned() else {
            return Err(ApiError::Invalid(if to_revision == 0 {
                format!("no rollout history found for deployment {name:?}")
            } else {
                format!("unable to find specified revision {to_revision} in history")
            }));
        };
        let mut template = template;
        template.labels.remove(POD_TEMPLATE_HASH_LABEL);
        if template == d.template {
            return Err(ApiError::Invalid(format!(
                "skipped rollback (current template already matches revision {rev})"
            )));
        }
        self.api
            .update_deployment(Caller::Operator, key, |x| x.template = template)
    }

    fn names(&self, machines: &[u32]) -> String {
        let names: Vec<&str> = machines
            .iter()
            .map(|m| self.kubelets[*m as usize].node_name.as_str())
            .collect();
        names.join(", ")
    }

    /// A crash (or VM deletion) takes the machine down: every process and container stops.
    fn machine_down(&mut self, m: u32) {
        let i = m as usize;
        self.down[i] += 1;
        if self.down[i] == 1 {
            self.kubelets[i].crash();
            self.api.net.cut_machine(m, true);
        }
    }

    /// The last crash fault on the machine ends: it boots (the kubelet starts unless a
    /// kubeletStop fault still holds it).
    fn machine_up(&mut self, ctx: &mut Engine<Event>, m: u32) {
        let i = m as usize;
        self.down[i] -= 1;
        if self.down[i] == 0 {
            self.api.net.cut_machine(m, false);
            if self.stopped[i] == 0 {
                self.kubelets[i].start(ctx, &mut self.api);
            }
        }
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
fn live(kubelets: &mut [Kubelet], machine: u32, gen: u32) -> Option<&mut Kubelet> {
    let k = &mut kubelets[machine as usize];
    (k.running && k.gen() == gen).then_some(k)
}

/// The kind of object a workload action addresses.
fn action_kind(kind: &FaultKind) -> &str {
    match kind {
        FaultKind::ScaleDeployment { kind, .. } | FaultKind::SetImage { kind, .. } => kind,
        _ => "Deployment",
    }
}
