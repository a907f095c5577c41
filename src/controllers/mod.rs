//! kube-controller-manager: leader election, one shared informer cache, and the controllers
//! kubesim models — node lifecycle, taint eviction, ReplicaSet, Deployment, DaemonSet,
//! StatefulSet, garbage collector, pod GC (one file each).
//!
//! Architecture invariant: controllers observe the cache, decide, and send API requests; they
//! never mutate objects in place. They run only while this process leads; a new leadership
//! term starts every controller from scratch (fresh health records and eviction timers), as a
//! restarted kube-controller-manager does (reference node-lifecycle §2.7).

pub mod cache;
#[cfg(test)]
mod cache_tests;
pub mod clients;
pub mod event;
pub use event::Event;
pub mod cloudnode;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod deployment_util;
pub mod disruption;
pub mod endpointslice;
pub mod garbagecollector;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod podgc;
pub mod podranking;
#[cfg(test)]
mod reference_tests;
pub mod replicaset;
pub mod statefulset;
pub mod tainteviction;
#[cfg(test)]
pub mod testkit;
pub mod ttlafterfinished;

use crate::api::{ApiServer, Change};
use crate::client::leader::{LeaderElectionConfig, LeaderElector, Outcome};
use crate::network::Caller;
use crate::sim::{rng, Ctx, SimDuration};
use cache::{KcmCache, Previous};
use cloudnode::Cloud;
use deployment::DeploymentController;
use nodelifecycle::{NodeLifecycleConfig, NodeLifecycleController, NODE_EVICTION_PERIOD};
use podgc::{PodGc, GC_CHECK_PERIOD};
use replicaset::ReplicaSetController;
use tainteviction::TaintEvictionController;

#[derive(Clone, Debug)]
pub struct KcmConfig {
    pub node_lifecycle: NodeLifecycleConfig,
    pub leader_election: LeaderElectionConfig,
    /// `--terminated-pod-gc-threshold` (<= 0 disables collecting terminated pods).
    pub terminated_pod_gc_threshold: i32,
    /// `--kube-api-qps` / `--kube-api-burst`: every controller's client budget.
    pub client_limits: clients::ClientLimits,
    /// Whether taint-based eviction has its own client (`taint-eviction-controller`, 1.29+);
    /// before, the taint manager used the node lifecycle controller's.
    pub taint_eviction_own_client: bool,
    /// `--endpointslice-updates-batch-period` (default 0): how long a pod change waits in the
    /// EndpointSlice controller's queue to join later ones.
    pub endpoint_updates_batch_period: SimDuration,
}

pub struct ControllerManager {
    config: KcmConfig,
    pub cache: KcmCache,
    elector: LeaderElector,
    seed: u64,
    /// Generation of the current leadership term; events of older terms are ignored.
    gen: u32,
    /// Generation of the process (its leader-election loop); bumped by a restart.
    process: u32,
    leading: bool,
    /// The controllers' API clients and their token buckets.
    pub clients: clients::ControllerClients,
    pub nlc: NodeLifecycleController,
    pub taint: TaintEvictionController,
    pub rs: ReplicaSetController,
    pub deployment: DeploymentController,
    pub daemonset: daemonset::DaemonSetController,
    pub statefulset: statefulset::StatefulSetController,
    pub gc: garbagecollector::GarbageCollector,
    pub pod_gc: PodGc,
    pub disruption: disruption::DisruptionController,
    pub endpointslice: endpointslice::EndpointSliceController,
    pub namespace: namespace::NamespaceController,
    pub job: job::JobController,
    pub ttl: ttlafterfinished::TtlAfterFinishedController,
    pub cronjob: cronjob::CronJobController,
}

impl ControllerManager {
    pub fn new(config: KcmConfig, seed: u64) -> Self {
        let elector = LeaderElector::new(
            "kube-controller-manager",
            Caller::ControllerManager,
            config.leader_election.clone(),
            rng::stream(seed, "kube-controller-manager/leader-election"),
        );
        ControllerManager {
            clients: clients::ControllerClients::new(
                config.client_limits,
                config.taint_eviction_own_client,
            ),
            nlc: NodeLifecycleController::new(config.node_lifecycle.clone()),
            taint: TaintEvictionController::new(0),
            rs: ReplicaSetController::new(rng::stream(seed, "replicaset-controller/1"), 0),
            deployment: DeploymentController::new(0),
            daemonset: daemonset::DaemonSetController::new(seed, 0),
            statefulset: statefulset::StatefulSetController::new(0),
            gc: garbagecollector::GarbageCollector::default(),
            pod_gc: PodGc::new(config.terminated_pod_gc_threshold),
            disruption: disruption::DisruptionController::new(0),
            endpointslice: endpointslice::EndpointSliceController::new(
                seed,
                0,
                config.endpoint_updates_batch_period,
            ),
            namespace: namespace::NamespaceController::new(0),
            job: job::JobController::new(seed, 0),
            ttl: ttlafterfinished::TtlAfterFinishedController::new(0),
            cronjob: cronjob::CronJobController::new(0),
            config,
            cache: KcmCache::default(),
            elector,
            seed,
            gen: 0,
            process: 0,
            leading: false,
        }
    }

    pub fn gen(&self) -> u32 {
        self.gen
    }

    /// The controllers' work queues under upstream's queue names (`workqueue_*{name}`), in a
    /// fixed order. The ReplicaSet controller's queue also holds ReplicationControllers
    /// (upstream's second instance, `replicationmanager`, has its own).
    pub fn workqueues(&self) -> [(&'static str, &crate::client::workqueue::WorkQueue); 6] {
        [
            ("daemonset", &self.daemonset.queue),
            ("disruption", &self.disruption.queue),
            ("endpoint_slice", &self.endpointslice.queue),
            ("namespace", &self.namespace.queue),
            ("replicaset", &self.rs.queue),
            ("statefulset", &self.statefulset.queue),
        ]
    }

    pub fn is_leading(&self) -> bool {
        self.leading
    }

    pub fn process(&self) -> u32 {
        self.process
    }

    pub fn config(&self) -> &KcmConfig {
        &self.config
    }

    /// Process start: begin the leader-election loop (or lead at once without it).
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        if self.elector.enabled() {
            ctx.schedule_in(
                SimDuration::ZERO,
                Event::KcmLeaderTick { gen: self.process },
            );
        } else {
            self.begin_term(ctx, api);
        }
    }

    /// Runs one timer or workqueue item (the cluster has checked its generation).
    pub fn handle(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cloud: &cloudnode::Cloud,
        ev: Event,
    ) {
        match ev {
            Event::KcmLeaderTick { .. } => self.on_leader_tick(ctx, api),
            Event::NlcMonitorPass { .. } => self.on_monitor_pass(ctx, api),
            Event::NlcTaintPass { .. } => self.on_taint_pass(ctx, api),
            Event::TaintEvictionFire { pod, timer, .. } => {
                self.on_taint_fire(ctx, api, &pod, timer)
            }
            Event::ReplicaSetSync { rs, .. } => self.on_rs_sync(ctx, api, &rs),
            Event::DeploymentSync { key, .. } => self.on_deployment_sync(ctx, api, &key),
            Event::DaemonSetSync { key, .. } => self.on_daemonset_sync(ctx, api, &key),
            Event::StatefulSetSync { key, .. } => self.on_statefulset_sync(ctx, api, &key),
            Event::EndpointSliceSync { key, .. } => self.on_endpointslice_sync(ctx, api, &key),
            Event::NamespaceSync { name, .. } => self.on_namespace_sync(ctx, api, &name),
            Event::PdbSync { key, .. } => self.on_pdb_sync(ctx, api, &key),
            Event::JobSync { key, .. } => self.on_job_sync(ctx, api, &key),
            Event::JobTtlExpired { key, .. } => self.on_job_ttl(ctx, api, &key),
            Event::CronJobSync { key, .. } => self.on_cronjob_sync(ctx, api, &key),
            Event::PodGcPass { .. } => self.on_pod_gc_pass(ctx, api),
            Event::CloudNodeMonitor { .. } => self.on_cloud_monitor(ctx, api, cloud),
            Event::ClientWrite { id, .. } => {
                if let Some(write) = self.clients.take(ctx, api, id) {
                    write(self, ctx, api);
                }
            }
        }
    }

    pub fn on_leader_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let (outcome, next) = self.elector.tick(ctx.now(), api);
        if let Some(r) = self
            .elector
            .record(&outcome, ctx.now(), "kube-controller-manager")
        {
            ctx.record(r);
        }
        match outcome {
            Outcome::Acquired => {
                self.begin_term(ctx, api);
            }
            Outcome::Lost => {
                // The process exits; its successor must first wait out the old lease.
                self.leading = false;
                self.gen += 1;
                self.clients.begin_term(self.gen);
            }
            Outcome::Nothing => {}
        }
        ctx.schedule_in(next, Event::KcmLeaderTick { gen: self.process });
    }

    /// The process is restarted (a fault): it stops leading at once, keeps nothing, and starts
    /// over as a new candidate, which must wait out the old leader lease (reference §2.7).
    pub fn restart(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.elector.restart();
        self.leading = false;
        self.gen += 1;
        self.clients.begin_term(self.gen);
        self.process += 1;
        self.start(ctx, api);
    }

    /// A new leadership term: every controller starts from scratch.
    fn begin_term(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.leading = true;
        self.gen += 1;
        let gen = self.gen;
        self.clients.begin_term(gen);
        self.nlc = NodeLifecycleController::new(self.config.node_lifecycle.clone());
        self.taint = TaintEvictionController::new(gen);
        self.rs = ReplicaSetController::new(
            rng::stream(self.seed, &format!("replicaset-controller/{gen}")),
            gen,
        );
        self.deployment = DeploymentController::new(gen);
        self.daemonset = daemonset::DaemonSetController::new(self.seed, gen);
        self.daemonset.enqueue_all(ctx, &self.cache);
        self.statefulset = statefulset::StatefulSetController::new(gen);
        let sts: Vec<String> = self.cache.statefulsets.keys().cloned().collect();
        for k in sts {
            self.statefulset.enqueue(ctx, &k);
        }
        self.begin_batch_term(ctx, gen);
        self.gc =
            garbagecollector::GarbageCollector::rebuild(ctx, &mut self.clients, api, &self.cache);
        self.pod_gc = PodGc::new(self.config.terminated_pod_gc_threshold);
        self.disruption = disruption::DisruptionController::new(gen);
        self.disruption.start(ctx, &self.cache);
        self.endpointslice = endpointslice::EndpointSliceController::new(
            self.seed,
            gen,
            self.config.endpoint_updates_batch_period,
        );
        self.endpointslice.start(ctx, api, &self.cache);
        self.namespace = namespace::NamespaceController::new(gen);
        self.namespace.start(ctx, api, &self.cache);
        ctx.schedule_in(SimDuration::ZERO, Event::NlcMonitorPass { gen });
        ctx.schedule_in(SimDuration::ZERO, Event::NlcTaintPass { gen });
        ctx.schedule_in(SimDuration::ZERO, Event::PodGcPass { gen });
        ctx.schedule_in(SimDuration::ZERO, Event::CloudNodeMonitor { gen });
        self.taint.resync(ctx, &self.cache);
        let rss: Vec<String> = self.cache.replicasets.keys().cloned().collect();
        for rs in rss {
            self.rs.enqueue(ctx, &rs);
        }
        let ds: Vec<String> = self.cache.deployments.keys().cloned().collect();
        for d in ds {
            self.deployment.enqueue(ctx, &d);
        }
    }

    pub fn on_monitor_pass(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let gen = self.gen;
        self.nlc
            .monitor_pass(ctx, api, &self.cache, &mut self.clients, Some(gen));
    }

    pub fn on_taint_pass(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.nlc
            .tainting_pass(ctx, api, &self.cache, &mut self.clients);
        let gen = self.gen;
        ctx.schedule_in(NODE_EVICTION_PERIOD, Event::NlcTaintPass { gen });
    }

    pub fn on_pod_gc_pass(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        self.pod_gc.pass(ctx, api, &self.cache);
        let gen = self.gen;
        ctx.schedule_in(GC_CHECK_PERIOD, Event::PodGcPass { gen });
    }

    pub fn on_cloud_monitor(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cloud: &Cloud,
    ) {
        cloudnode::monitor(ctx, api, &self.cache, cloud);
        let gen = self.gen;
        ctx.schedule_in(
            self.config.node_lifecycle.node_monitor_period,
            Event::CloudNodeMonitor { gen },
        );
    }

    pub fn on_taint_fire(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        pod: &str,
        timer: u64,
    ) {
        self.taint.on_fire(ctx, api, &mut self.clients, pod, timer);
    }

    pub fn on_rs_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, rs: &str) {
        self.rs.sync(ctx, api, &self.cache, &mut self.clients, rs);
    }

    pub fn on_statefulset_sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
    ) {
        self.statefulset
            .sync(ctx, api, &self.cache, &mut self.clients, key);
    }

    pub fn on_daemonset_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.daemonset
            .sync(ctx, api, &self.cache, &mut self.clients, key);
    }

    pub fn on_endpointslice_sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        key: &str,
    ) {
        self.endpointslice.sync(ctx, api, &self.cache, key);
    }

    pub fn on_namespace_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, name: &str) {
        self.namespace.sync(ctx, api, &self.cache, name);
    }

    pub fn on_pdb_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.disruption.sync(ctx, api, &self.cache, key);
    }

    /// The batch controllers of a new term: every Job and CronJob synced from scratch.
    fn begin_batch_term(&mut self, ctx: &mut dyn Ctx<Event>, gen: u32) {
        self.job = job::JobController::new(self.seed, gen);
        self.ttl = ttlafterfinished::TtlAfterFinishedController::new(gen);
        self.cronjob = cronjob::CronJobController::new(gen);
        let cjs: Vec<String> = self.cache.cronjobs.keys().cloned().collect();
        for k in cjs {
            self.cronjob.enqueue_after(ctx, &k, SimDuration::ZERO);
        }
        let jobs: Vec<std::sync::Arc<crate::model::Job>> =
            self.cache.jobs.values().cloned().collect();
        for j in jobs {
            self.job.observe_job(ctx, None, &j);
            self.ttl.observe_job(ctx, &j);
        }
    }

    pub fn on_job_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.job
            .on_fire(ctx, api, &self.cache, &mut self.clients, key);
    }

    pub fn on_job_ttl(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.ttl.on_fire(ctx, api, &self.cache, key);
    }

    pub fn on_cronjob_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.cronjob.on_fire(ctx, api, &self.cache, key);
    }

    pub fn on_deployment_sync(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, key: &str) {
        self.deployment.sync(ctx, api, &self.cache, key);
    }

    /// `deletePod` of the Deployment controller: a Recreate rollout waits for the old pods to
    /// be gone, so their deletion wakes it.
    fn pod_gone_for_recreate(&mut self, ctx: &mut dyn Ctx<Event>, p: &crate::model::Pod) {
        let Some(rs_key) = cache::owner_key(p) else {
            return;
        };
        let Some(d_key) = self
            .cache
            .replicasets
            .get(&rs_key)
            .and_then(|r| cache::deployment_of(r))
        else {
            return;
        };
        let recreate = self
            .cache
            .deployments
            .get(&d_key)
            .is_some_and(|d| d.strategy == crate::model::DeploymentStrategy::Recreate);
        if recreate {
            self.deployment.enqueue(ctx, &d_key);
        }
    }

    /// A watch notification: update the cache, then let the event handlers react.
    pub fn on_watch(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, change: Change) {
        self.nlc.before_watch(&change, &self.cache);
        let previous = self.cache.apply(&change);
        if !self.leading {
            return;
        }
        // A pod or ReplicaSet update that keeps its owner references: the garbage
        // collector's graph stays.
        let owners_kept = match (&change, &previous) {
            (Change::Pod(p), Previous::Pod(Some(o))) => {
                o.meta.owner_references == p.meta.owner_references
            }
            (Change::ReplicaSet(_), Previous::OwnersKept) => true,
            _ => false,
        };
        match (&change, previous) {
            (Change::Node(n), Previous::Node(old)) => {
                self.nlc
                    .reconcile_noschedule_taints(ctx, api, &mut self.clients, n);
                // Compared in place (a node status write changes neither): no copies.
                fn noexec(node: &crate::model::Node) -> impl Iterator<Item = &crate::model::Taint> {
                    node.spec
                        .taints
                        .iter()
                        .filter(|t| t.effect == crate::model::TaintEffect::NoExecute)
                }
                if old.as_deref().is_none_or(|o| !noexec(o).eq(noexec(n))) {
                    self.taint.on_node_update(ctx, &self.cache, n);
                }
                // The DaemonSet controller's addNode/updateNode: a new node, or one whose
                // labels, taints or schedulability changed.
                let moved = |x: &crate::model::Node| {
                    x.meta.labels != n.meta.labels
                        || x.spec.taints != n.spec.taints
                        || x.spec.unschedulable != n.spec.unschedulable
                };
                if old.as_deref().is_none_or(moved) {
                    self.daemonset.enqueue_all(ctx, &self.cache);
                }
            }
            (Change::NodeDeleted(n), _) => {
                self.taint.on_node_deleted(&n.meta.name);
                self.daemonset.enqueue_all(ctx, &self.cache);
            }
            (Change::Pod(p), Previous::Pod(old)) => {
                let relevant = match &old {
                    None => true,
                    Some(o) => {
                        o.spec.node_name != p.spec.node_name
                            || o.spec.tolerations != p.spec.tolerations
                    }
                };
                if relevant {
                    self.taint.on_pod_update(ctx, p);
                }
                // The NLC's `podUpdated`: only a pod newly bound (or first seen bound).
                if old
                    .as_ref()
                    .is_none_or(|o| o.spec.node_name != p.spec.node_name)
                {
                    self.nlc
                        .on_pod_update(ctx, api, &self.cache, &mut self.clients, p);
                }
                self.rs.observe_pod(ctx, p);
                self.daemonset.observe_pod_update(ctx, old.as_deref(), p);
                self.statefulset.observe_pod(ctx, p);
                self.disruption.on_pod(ctx, &self.cache, p, false);
                self.endpointslice.on_pod(ctx, &self.cache, p, false);
                self.job.observe_pod(ctx, api, &self.cache, p, false);
                // `addPod`/`updatePod` of an orphan: every ReplicaSet that might adopt it.
                if p.meta.controller_ref().is_none() && cache::is_active(p) {
                    let matching: Vec<String> = self
                        .cache
                        .replicasets
                        .values()
                        .filter(|r| {
                            r.meta.namespace == p.meta.namespace
                                && r.selector.matches(&p.meta.labels)
                        })
                        .map(|r| r.key())
                        .collect();
                    for k in matching {
                        self.rs.enqueue(ctx, &k);
                    }
                }
            }
            (Change::PodDeleted(p), _) => {
                self.taint.on_pod_deleted(ctx, &p.key());
                self.rs.observe_pod(ctx, p);
                self.daemonset.observe_pod_deleted(ctx, p);
                self.statefulset.observe_pod(ctx, p);
                self.disruption.on_pod(ctx, &self.cache, p, true);
                self.endpointslice.on_pod(ctx, &self.cache, p, true);
                self.namespace.on_pod_deleted(ctx, &self.cache, p);
                self.job.observe_pod(ctx, api, &self.cache, p, true);
                self.pod_gone_for_recreate(ctx, p);
            }
            (Change::ReplicaSet(rs), _) => {
                self.rs.enqueue(ctx, &rs.key());
                if let Some(d) = cache::deployment_of(rs) {
                    self.deployment.enqueue(ctx, &d);
                }
            }
            (Change::ReplicaSetDeleted(rs), _) => {
                if let Some(d) = cache::deployment_of(rs) {
                    self.deployment.enqueue(ctx, &d);
                }
            }
            (Change::Deployment(d), _) => self.deployment.enqueue(ctx, &d.key()),
            // `updateDaemonset` enqueues on every update; one that only carries the status the
            // controller itself wrote cannot change a sync's decisions (they read the spec,
            // pods and nodes), so it is not synced again.
            (Change::DaemonSet(_), Previous::DaemonSetStatusOnly) => {}
            (Change::DaemonSet(d), _) => self.daemonset.enqueue(ctx, &d.key()),
            (Change::StatefulSet(d), _) => self.statefulset.enqueue(ctx, &d.key()),
            (Change::PodDisruptionBudget(b), _) => {
                self.disruption.on_pdb(ctx, &self.cache, &b.key())
            }
            (Change::PodDisruptionBudgetDeleted(b), _) => self.disruption.on_pdb_deleted(&b.key()),
            (Change::Service(s), _) => self.endpointslice.on_service(ctx, &self.cache, &s.key()),
            (Change::ServiceDeleted(s), _) => self.endpointslice.on_service_deleted(ctx, &s.key()),
            (Change::Namespace(n), _) => self.namespace.on_namespace(ctx, api, &self.cache, n),
            (Change::NamespacedObjectDeleted(o), _) => {
                self.namespace.on_object_deleted(api, &self.cache, o)
            }
            (Change::Job(j), Previous::Job(old)) => {
                self.job.observe_job(ctx, old.as_deref(), j);
                self.ttl.observe_job(ctx, j);
                self.cronjob.observe_job(ctx, j);
            }
            (Change::JobDeleted(j), _) => {
                self.job.observe_job_deleted(ctx, &j.key());
                self.cronjob.observe_job(ctx, j);
            }
            (Change::CronJob(c), _) => self.cronjob.enqueue_after(ctx, &c.key(), SimDuration::ZERO),

            _ => {}
        }
        self.gc.observe(
            ctx,
            &mut self.clients,
            api,
            &self.cache,
            &change,
            owners_kept,
        );
    }
}
