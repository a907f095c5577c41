//! The API server: the one store of canonical objects, `resourceVersion`, admission, graceful
//! deletion, and watches that feed the components' informer caches.
//!
//! Architecture invariant: only this module writes canonical objects. Every write bumps the
//! store-wide `resourceVersion` and emits watch notifications (delivered by the cluster after
//! the configured propagation delay); components read only their caches. A request from a caller
//! that cannot reach the API server fails with [`ApiError::Unavailable`] and changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::*;
use crate::network::{Caller, Network};
use crate::sim::{Record, SimDuration, SimTime};

mod namespace;
mod policy;
pub use namespace::{NAMESPACE_FINALIZER, SYSTEM_NAMESPACES};
mod service;
pub use policy::{EVICTION_DENIED_MESSAGE, MAX_DISRUPTED_POD_SIZE};
mod batch;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("the API server is unreachable")]
    Unavailable,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Invalid(String),
    /// HTTP 429 (`errors.NewTooManyRequests`): the message, and the `DisruptionBudget` cause
    /// (kept for the record; clients print only the message, as `err.Error()` does).
    #[error("{message}")]
    TooManyRequests { message: String, cause: String },
    /// HTTP 403 (`errors.NewForbidden`), already rendered as upstream renders it.
    #[error("{0}")]
    Forbidden(String),
    /// HTTP 500 returned as a failure status (e.g. a pod with several disruption budgets).
    #[error("{0}")]
    InternalError(String),
}

/// Who receives a watch notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watcher {
    ControllerManager,
    Scheduler,
    /// The kubelet of machine `i`: only pods bound to its node (field selector `spec.nodeName`).
    Kubelet(u32),
}

#[derive(Clone, Debug)]
pub enum Change {
    Node(Arc<Node>),
    NodeDeleted(Arc<Node>),
    Lease(Arc<Lease>),
    /// A kubelet's planned lease renewals (see [`ApiServer::plan_lease_renewals`]); an empty
    /// plan withdraws the previous one.
    LeasePlan {
        name: String,
        times: Arc<Vec<SimTime>>,
    },
    Pod(Arc<Pod>),
    PodDeleted(Arc<Pod>),
    ReplicaSet(Arc<ReplicaSet>),
    ReplicaSetDeleted(Arc<ReplicaSet>),
    Deployment(Arc<Deployment>),
    DeploymentDeleted(Arc<Deployment>),
    DaemonSet(Arc<DaemonSet>),
    StatefulSet(Arc<StatefulSet>),
    PodDisruptionBudget(Arc<PodDisruptionBudget>),
    PodDisruptionBudgetDeleted(Arc<PodDisruptionBudget>),
    Service(Arc<Service>),
    ServiceDeleted(Arc<Service>),
    Namespace(Arc<Namespace>),
    NamespaceDeleted(Arc<Namespace>),
    NamespacedObject(Arc<NamespacedObject>),
    NamespacedObjectDeleted(Arc<NamespacedObject>),
    StatefulSetDeleted(Arc<StatefulSet>),
    DaemonSetDeleted(Arc<DaemonSet>),
    Job(Arc<Job>),
    JobDeleted(Arc<Job>),
    CronJob(Arc<CronJob>),
    CronJobDeleted(Arc<CronJob>),
}

/// A leader-election record (`coordination.k8s.io/v1 Lease` in `kube-system`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderRecord {
    pub holder_identity: String,
    pub lease_duration: SimDuration,
    pub renew_time: SimTime,
    pub resource_version: u64,
}

/// Admission settings of kube-apiserver.
#[derive(Clone, Debug)]
pub struct ApiServerConfig {
    pub default_not_ready_toleration: SimDuration,
    pub default_unreachable_toleration: SimDuration,
}

pub struct ApiServer {
    pub config: ApiServerConfig,
    pub net: Network,
    now: SimTime,
    resource_version: u64,
    next_uid: u64,
    nodes: BTreeMap<String, Arc<Node>>,
    leases: BTreeMap<String, Arc<Lease>>,
    /// Renewals a kubelet has announced and that happen unless withdrawn (lazy heartbeats).
    lease_plans: BTreeMap<String, Arc<Vec<SimTime>>>,
    pods: BTreeMap<String, Arc<Pod>>,
    pods_by_node: BTreeMap<String, BTreeSet<String>>,
    replicasets: BTreeMap<String, Arc<ReplicaSet>>,
    deployments: BTreeMap<String, Arc<Deployment>>,
    daemonsets: BTreeMap<String, Arc<DaemonSet>>,
    statefulsets: BTreeMap<String, Arc<StatefulSet>>,
    pdbs: BTreeMap<String, Arc<PodDisruptionBudget>>,
    svc: service::ServiceStore,
    ns: namespace::NamespaceStore,
    jobs: BTreeMap<String, Arc<Job>>,
    cronjobs: BTreeMap<String, Arc<CronJob>>,
    leader_records: BTreeMap<String, LeaderRecord>,
    /// Pods by phase, terminating and unscheduled, kept up to date on every write so that
    /// samplers need not scan the store.
    pod_counts: PodCounts,
    /// Node name -> machine index, for the kubelets' field-selector watches.
    kubelet_of_node: BTreeMap<String, u32>,
    /// Notifications produced by writes, drained by the cluster after each event.
    pub outbox: Vec<(Watcher, Change)>,
    /// Observable changes (taints added/removed), drained into the trace by the cluster.
    pub records: Vec<Record>,
    /// Fault injection: the next this-many pod updates fail as if the server were unreachable.
    pub inject_pod_write_failures: u32,
    /// Nodes whose conditions someone other than their kubelet changed (lazy heartbeats: the
    /// cluster wakes those kubelets' status loops).
    pub status_wakeups: Vec<String>,
}

/// Pod totals maintained by the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounts {
    /// Indexed by `PodPhase as usize`.
    pub phase: [u64; 5],
    pub terminating: u64,
    pub unscheduled: u64,
    /// Pods whose `Ready` condition is True.
    pub ready: u64,
}

impl PodCounts {
    fn apply(&mut self, p: &Pod, add: bool) {
        let d = |v: &mut u64| if add { *v += 1 } else { *v -= 1 };
        d(&mut self.phase[p.status.phase as usize]);
        if p.is_terminating() {
            d(&mut self.terminating);
        }
        if p.spec.node_name.is_none() {
            d(&mut self.unscheduled);
        }
        if p.is_ready() {
            d(&mut self.ready);
        }
    }
}

/// Outcome of a DELETE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The object is gone.
    Removed,
    /// Graceful deletion: `deletionTimestamp` set, the object stays until the kubelet finishes.
    Terminating,
}

impl ApiServer {
    pub fn new(config: ApiServerConfig) -> Self {
        ApiServer {
            config,
            net: Network::default(),
            now: SimTime::ZERO,
            resource_version: 0,
            next_uid: 1,
            nodes: BTreeMap::new(),
            leases: BTreeMap::new(),
            lease_plans: BTreeMap::new(),
            pods: BTreeMap::new(),
            pods_by_node: BTreeMap::new(),
            replicasets: BTreeMap::new(),
            deployments: BTreeMap::new(),
            daemonsets: BTreeMap::new(),
            statefulsets: BTreeMap::new(),
            pdbs: BTreeMap::new(),
            svc: service::ServiceStore::default(),
            ns: namespace::NamespaceStore::default(),
            jobs: BTreeMap::new(),
            cronjobs: BTreeMap::new(),
            leader_records: BTreeMap::new(),
            pod_counts: PodCounts::default(),
            kubelet_of_node: BTreeMap::new(),
            outbox: Vec::new(),
            records: Vec::new(),
            inject_pod_write_failures: 0,
            status_wakeups: Vec::new(),
        }
    }

    pub fn set_now(&mut self, now: SimTime) {
        self.now = now;
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn register_kubelet_watch(&mut self, node: &str, machine: u32) {
        self.kubelet_of_node.insert(node.to_string(), machine);
    }

    fn check(&self, caller: Caller) -> Result<(), ApiError> {
        if self.net.reachable(caller) {
            Ok(())
        } else {
            Err(ApiError::Unavailable)
        }
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    // ----- read access for observers (checks, output) and for LIST requests -----

    /// The store itself, for read-only observers outside the simulation (checks, samplers).
    pub fn nodes(&self) -> &BTreeMap<String, Arc<Node>> {
        &self.nodes
    }
    pub fn pods(&self) -> &BTreeMap<String, Arc<Pod>> {
        &self.pods
    }
    pub fn leases(&self) -> &BTreeMap<String, Arc<Lease>> {
        &self.leases
    }
    pub fn pod_counts(&self) -> PodCounts {
        self.pod_counts
    }
    pub fn replicasets(&self) -> &BTreeMap<String, Arc<ReplicaSet>> {
        &self.replicasets
    }
    pub fn deployments(&self) -> &BTreeMap<String, Arc<Deployment>> {
        &self.deployments
    }
    pub fn daemonsets(&self) -> &BTreeMap<String, Arc<DaemonSet>> {
        &self.daemonsets
    }

    pub fn statefulsets(&self) -> &BTreeMap<String, Arc<StatefulSet>> {
        &self.statefulsets
    }

    pub fn create_statefulset(
        &mut self,
        caller: Caller,
        mut d: StatefulSet,
    ) -> Result<Arc<StatefulSet>, ApiError> {
        self.check(caller)?;
        let key = d.key();
        if self.statefulsets.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("StatefulSet/{key}")));
        }
        d.meta.uid = self.next_uid;
        self.next_uid += 1;
        d.meta.creation_timestamp = self.now;
        d.meta.generation = 1;
        d.meta.resource_version = self.next_rv();
        let d = Arc::new(d);
        self.statefulsets.insert(key, d.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::StatefulSet(d.clone())));
        // kube-scheduler's StatefulSet lister (default spreading selectors).
        self.outbox
            .push((Watcher::Scheduler, Change::StatefulSet(d.clone())));
        Ok(d)
    }

    /// PUT a StatefulSet (spec or status).
    pub fn update_statefulset(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut StatefulSet),
    ) -> Result<Arc<StatefulSet>, ApiError> {
        self.check(caller)?;
        let old = self
            .statefulsets
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("StatefulSet/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        if new == *old {
            return Ok(old);
        }
        if new.replicas != old.replicas || new.template != old.template {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.statefulsets.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::StatefulSet(new.clone())));
        Ok(new)
    }

    // ----- daemonsets -----

    pub fn create_daemonset(
        &mut self,
        caller: Caller,
        mut d: DaemonSet,
    ) -> Result<Arc<DaemonSet>, ApiError> {
        self.check(caller)?;
        let key = d.key();
        if self.daemonsets.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("DaemonSet/{key}")));
        }
        d.meta.uid = self.next_uid;
        self.next_uid += 1;
        d.meta.creation_timestamp = self.now;
        d.meta.generation = 1;
        d.meta.resource_version = self.next_rv();
        let d = Arc::new(d);
        self.daemonsets.insert(key, d.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::DaemonSet(d.clone())));
        Ok(d)
    }

    /// PUT a DaemonSet (its status, as the controller writes it).
    pub fn update_daemonset(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut DaemonSet),
    ) -> Result<Arc<DaemonSet>, ApiError> {
        self.check(caller)?;
        let old = self
            .daemonsets
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("DaemonSet/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        if new == *old {
            return Ok(old);
        }
        if new.template != old.template || new.selector != old.selector {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.daemonsets.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::DaemonSet(new.clone())));
        Ok(new)
    }

    /// LIST pods with `spec.nodeName=node` (the kubelet's relist).
    pub fn list_pods_on_node(&self, caller: Caller, node: &str) -> Result<Vec<Arc<Pod>>, ApiError> {
        self.check(caller)?;
        Ok(self
            .pods_by_node
            .get(node)
            .map(|keys| keys.iter().map(|k| self.pods[k].clone()).collect())
            .unwrap_or_default())
    }

    pub fn get_node(&self, caller: Caller, name: &str) -> Result<Arc<Node>, ApiError> {
        self.check(caller)?;
        self.nodes
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Node/{name}")))
    }

    // ----- nodes -----

    pub fn create_node(&mut self, caller: Caller, mut node: Node) -> Result<Arc<Node>, ApiError> {
        self.check(caller)?;
        if self.nodes.contains_key(&node.meta.name) {
            return Err(ApiError::AlreadyExists(format!("Node/{}", node.meta.name)));
        }
        node.meta.uid = self.next_uid;
        self.next_uid += 1;
        node.meta.creation_timestamp = self.now;
        node.meta.resource_version = self.next_rv();
        let node = Arc::new(node);
        for t in &node.spec.taints {
            self.taint_record(caller, &node, t, true);
        }
        self.nodes.insert(node.meta.name.clone(), node.clone());
        self.notify_node(Change::Node(node.clone()));
        Ok(node)
    }

    /// GET + mutate + PUT without conflicts (the mutation sees the latest object).
    /// A mutation that changes nothing writes nothing.
    pub fn update_node(
        &mut self,
        caller: Caller,
        name: &str,
        mutate: impl FnOnce(&mut Node),
    ) -> Result<Arc<Node>, ApiError> {
        self.check(caller)?;
        let old = self
            .nodes
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Node/{name}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        new.meta.resource_version = old.meta.resource_version;
        if new == *old {
            return Ok(old);
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        for t in &old.spec.taints {
            if !new.spec.taints.iter().any(|n| n.matches(t)) {
                self.taint_record(caller, &new, t, false);
            }
        }
        for t in &new.spec.taints {
            if !old.spec.taints.iter().any(|o| o.matches(t)) {
                self.taint_record(caller, &new, t, true);
            }
        }
        if old.status.conditions != new.status.conditions {
            let own =
                matches!(caller, Caller::Kubelet(m) if self.kubelet_of_node.get(name) == Some(&m));
            if !own {
                self.status_wakeups.push(name.to_string());
            }
        }
        self.nodes.insert(name.to_string(), new.clone());
        self.notify_node(Change::Node(new.clone()));
        Ok(new)
    }

    /// DELETE a Node object (its pods stay until pod GC collects them).
    pub fn delete_node(&mut self, caller: Caller, name: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let node = self
            .nodes
            .remove(name)
            .ok_or_else(|| ApiError::NotFound(format!("Node/{name}")))?;
        self.next_rv();
        self.notify_node(Change::NodeDeleted(node));
        Ok(())
    }

    fn notify_node(&mut self, change: Change) {
        self.outbox
            .push((Watcher::ControllerManager, change.clone()));
        self.outbox.push((Watcher::Scheduler, change));
    }

    fn taint_record(&mut self, caller: Caller, node: &Node, t: &Taint, added: bool) {
        let (reason, verb) = if added {
            ("TaintAdded", "added")
        } else {
            ("TaintRemoved", "removed")
        };
        self.records.push(Record {
            t: self.now,
            reason,
            source: source_name(caller),
            object: format!("Node/{}", node.meta.name),
            message: format!("Taint {} {verb}", t.to_text()),
            fields: vec![("zone", node.zone_label()), ("taint", t.to_text())],
        });
    }

    // ----- node leases (kube-node-lease) -----

    pub fn get_lease(&self, caller: Caller, name: &str) -> Result<Arc<Lease>, ApiError> {
        self.check(caller)?;
        let lease =
            self.leases.get(name).cloned().ok_or_else(|| {
                ApiError::NotFound(format!("Lease/{NODE_LEASE_NAMESPACE}/{name}"))
            })?;
        Ok(match latest_planned(self.lease_plans.get(name), self.now) {
            Some(t) if t > lease.renew_time => Arc::new(Lease {
                renew_time: t,
                ..(*lease).clone()
            }),
            _ => lease,
        })
    }

    /// Creates the lease if missing (POST) or replaces it (PUT). A PUT supersedes any plan.
    pub fn put_lease(&mut self, caller: Caller, mut lease: Lease) -> Result<Arc<Lease>, ApiError> {
        self.check(caller)?;
        lease.resource_version = self.next_rv();
        let lease = Arc::new(lease);
        self.leases.insert(lease.name.clone(), lease.clone());
        self.lease_plans.remove(&lease.name);
        self.outbox
            .push((Watcher::ControllerManager, Change::Lease(lease.clone())));
        Ok(lease)
    }

    /// Lazy heartbeats: a kubelet in steady state announces its next renewals (each a PUT of
    /// `renewTime = t` at time t) instead of sending them one by one. Readers see exactly what
    /// the eager PUTs would have shown: the latest planned time not after now. The watch
    /// carries the plan once; the kubelet withdraws the unexecuted part with
    /// [`ApiServer::withdraw_lease_plan`] the moment a fault would have made them fail.
    pub fn plan_lease_renewals(&mut self, name: &str, times: Vec<SimTime>) {
        let times = Arc::new(times);
        self.lease_plans.insert(name.to_string(), times.clone());
        self.outbox.push((
            Watcher::ControllerManager,
            Change::LeasePlan {
                name: name.to_string(),
                times,
            },
        ));
    }

    /// The planned renewals before `at` happened: they become the stored lease; the rest are
    /// withdrawn (also from the watchers' view).
    pub fn withdraw_lease_plan(&mut self, name: &str, at: SimTime) {
        let Some(plan) = self.lease_plans.remove(name) else {
            return;
        };
        let kept: Vec<SimTime> = plan.iter().copied().filter(|t| *t < at).collect();
        if let (Some(last), Some(lease)) = (kept.last(), self.leases.get(name)) {
            if *last > lease.renew_time {
                let mut l = (**lease).clone();
                l.renew_time = *last;
                self.leases.insert(name.to_string(), Arc::new(l));
            }
        }
        self.outbox.push((
            Watcher::ControllerManager,
            Change::LeasePlan {
                name: name.to_string(),
                times: Arc::new(kept),
            },
        ));
    }

    // ----- leader election records (kube-system) -----

    pub fn get_leader_record(
        &self,
        caller: Caller,
        name: &str,
    ) -> Result<Option<LeaderRecord>, ApiError> {
        self.check(caller)?;
        Ok(self.leader_records.get(name).cloned())
    }

    /// Writes a leader record if it is still at `expected_rv` (optimistic concurrency).
    pub fn put_leader_record(
        &mut self,
        caller: Caller,
        name: &str,
        expected_rv: Option<u64>,
        mut record: LeaderRecord,
    ) -> Result<LeaderRecord, ApiError> {
        self.check(caller)?;
        let current = self.leader_records.get(name).map(|r| r.resource_version);
        if current != expected_rv {
            return Err(ApiError::Invalid(format!(
                "Lease/kube-system/{name}: conflict"
            )));
        }
        record.resource_version = self.next_rv();
        self.leader_records.insert(name.to_string(), record.clone());
        Ok(record)
    }

    // ----- pods -----

    /// POST a pod: name from `generateName` is chosen by the caller; admission adds the
    /// DefaultTolerationSeconds tolerations (reference §5.2).
    pub fn create_pod(&mut self, caller: Caller, mut pod: Pod) -> Result<Arc<Pod>, ApiError> {
        self.check(caller)?;
        let key = pod.key();
        if self.pods.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("Pod/{key}")));
        }
        self.admit_namespace(&pod.meta.namespace)?;
        add_default_tolerations(
            &mut pod.spec,
            self.config.default_not_ready_toleration,
            self.config.default_unreachable_toleration,
        );
        pod.meta.uid = self.next_uid;
        self.next_uid += 1;
        pod.meta.creation_timestamp = self.now;
        pod.meta.resource_version = self.next_rv();
        let pod = Arc::new(pod);
        if let Some(n) = &pod.spec.node_name {
            self.pods_by_node
                .entry(n.clone())
                .or_default()
                .insert(key.clone());
        }
        self.pod_counts.apply(&pod, true);
        self.pods.insert(key, pod.clone());
        self.notify_pod(Change::Pod(pod.clone()), None);
        Ok(pod)
    }

    pub fn update_pod(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Pod),
    ) -> Result<Arc<Pod>, ApiError> {
        self.check(caller)?;
        if self.inject_pod_write_failures > 0 {
            self.inject_pod_write_failures -= 1;
            return Err(ApiError::Unavailable);
        }
        let old = self
            .pods
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Pod/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        new.meta.resource_version = old.meta.resource_version;
        if new == *old {
            return Ok(old);
        }
        assert_eq!(new.key(), key, "a pod update may not rename the pod");
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        if old.spec.node_name != new.spec.node_name {
            // Binding is the only change of nodeName the API allows, and only once.
            assert!(old.spec.node_name.is_none(), "pod {key} bound twice");
            if let Some(n) = &new.spec.node_name {
                self.pods_by_node
                    .entry(n.clone())
                    .or_default()
                    .insert(key.to_string());
            }
        }
        self.pod_counts.apply(&old, false);
        self.pod_counts.apply(&new, true);
        self.pods.insert(key.to_string(), new.clone());
        self.notify_pod(Change::Pod(new.clone()), old.spec.node_name.as_deref());
        if finalizers_released(&old, &new) {
            self.remove_pod(key);
        }
        Ok(new)
    }

    /// A DELETE that would remove a pod still holding finalizers (the Job controller's
    /// `batch.kubernetes.io/job-tracking`): the object stays, deleted with grace 0, until its
    /// last finalizer is removed (apiserver graceful deletion with finalizers).
    fn hold_for_finalizers(
        &mut self,
        caller: Caller,
        key: &str,
        pod: &Pod,
    ) -> Result<Deletion, ApiError> {
        if pod.meta.deletion_grace_period_seconds == Some(0) {
            return Ok(Deletion::Terminating);
        }
        let now = self.now;
        self.update_pod(caller, key, |p| {
            p.meta.deletion_timestamp = Some(p.meta.deletion_timestamp.unwrap_or(now).min(now));
            p.meta.deletion_grace_period_seconds = Some(0);
        })?;
        Ok(Deletion::Terminating)
    }

    /// The `pods/binding` subresource: sets `spec.nodeName` and `PodScheduled=True`.
    pub fn bind_pod(
        &mut self,
        caller: Caller,
        key: &str,
        node: &str,
    ) -> Result<Arc<Pod>, ApiError> {
        self.check(caller)?;
        match self.pods.get(key) {
            None => return Err(ApiError::NotFound(format!("Pod/{key}"))),
            Some(p) if p.spec.node_name.is_some() => {
                return Err(ApiError::Invalid(format!(
                    "pod {key} is already assigned to a node"
                )))
            }
            Some(p) if p.is_terminating() => {
                return Err(ApiError::Invalid(format!("pod {key} is being deleted")))
            }
            Some(_) => {}
        }
        if !self.nodes.contains_key(node) {
            return Err(ApiError::NotFound(format!("Node/{node}")));
        }
        let now = self.now;
        self.update_pod(caller, key, |p| {
            p.spec.node_name = Some(node.to_string());
            p.set_condition(
                PodConditionType::PodScheduled,
                ConditionStatus::True,
                "",
                now,
            );
        })
    }

    /// DELETE a pod. With `grace` None the pod's `terminationGracePeriodSeconds` applies. A pod
    /// that is not bound to a node, or already terminal, or deleted with grace 0, is removed at
    /// once; otherwise it becomes Terminating (`deletionTimestamp = now + grace`) until its
    /// kubelet confirms with a grace-0 delete (reference §6.1).
    pub fn delete_pod(
        &mut self,
        caller: Caller,
        key: &str,
        grace: Option<u64>,
    ) -> Result<Deletion, ApiError> {
        self.check(caller)?;
        let pod = self
            .pods
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Pod/{key}")))?;
        let grace = grace.unwrap_or(pod.spec.termination_grace_period_seconds);
        if grace == 0 || pod.spec.node_name.is_none() || pod.status.phase.is_terminal() {
            if !pod.meta.finalizers.is_empty() {
                return self.hold_for_finalizers(caller, key, &pod);
            }
            self.remove_pod(key);
            return Ok(Deletion::Removed);
        }
        let deadline = self.now + SimDuration::from_secs(grace);
        if let Some(existing) = pod.meta.deletion_timestamp {
            // A second graceful delete may only shorten the grace period.
            if existing <= deadline {
                return Ok(Deletion::Terminating);
            }
        }
        self.update_pod(caller, key, |p| {
            p.meta.deletion_timestamp = Some(deadline);
            p.meta.deletion_grace_period_seconds = Some(grace);
        })?;
        Ok(Deletion::Terminating)
    }

    fn remove_pod(&mut self, key: &str) {
        let pod = self.pods.remove(key).expect("checked");
        self.pod_counts.apply(&pod, false);
        if let Some(n) = &pod.spec.node_name {
            if let Some(set) = self.pods_by_node.get_mut(n) {
                set.remove(key);
                if set.is_empty() {
                    self.pods_by_node.remove(n);
                }
            }
        }
        self.resource_version += 1;
        self.notify_pod(Change::PodDeleted(pod.clone()), None);
    }

    fn notify_pod(&mut self, change: Change, previous_node: Option<&str>) {
        let node = match &change {
            Change::Pod(p) | Change::PodDeleted(p) => p.spec.node_name.clone(),
            _ => None,
        };
        self.outbox
            .push((Watcher::ControllerManager, change.clone()));
        self.outbox.push((Watcher::Scheduler, change.clone()));
        let target = node.as_deref().or(previous_node);
        if let Some(m) = target.and_then(|n| self.kubelet_of_node.get(n)) {
            self.outbox.push((Watcher::Kubelet(*m), change));
        }
    }

    // ----- replicasets -----

    pub fn create_replicaset(
        &mut self,
        caller: Caller,
        mut rs: ReplicaSet,
    ) -> Result<Arc<ReplicaSet>, ApiError> {
        self.check(caller)?;
        let key = rs.key();
        if self.replicasets.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("ReplicaSet/{key}")));
        }
        rs.meta.uid = self.next_uid;
        self.next_uid += 1;
        rs.meta.creation_timestamp = self.now;
        rs.meta.generation = 1;
        rs.meta.resource_version = self.next_rv();
        let rs = Arc::new(rs);
        self.replicasets.insert(key, rs.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::ReplicaSet(rs.clone())));
        // The scheduler's system default topology spreading selects by ReplicaSet.
        self.outbox
            .push((Watcher::Scheduler, Change::ReplicaSet(rs.clone())));
        Ok(rs)
    }

    /// PUT a ReplicaSet (spec, metadata or the status subresource): GET + mutate + PUT without
    /// conflicts. `metadata.generation` is bumped when the spec changes; a mutation that
    /// changes nothing writes nothing.
    pub fn update_replicaset(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut ReplicaSet),
    ) -> Result<Arc<ReplicaSet>, ApiError> {
        self.check(caller)?;
        let old = self
            .replicasets
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("ReplicaSet/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        new.meta.resource_version = old.meta.resource_version;
        new.meta.generation = old.meta.generation;
        if new == *old {
            return Ok(old);
        }
        if new.replicas != old.replicas
            || new.template != old.template
            || new.selector != old.selector
            || new.min_ready_seconds != old.min_ready_seconds
        {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.replicasets.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::ReplicaSet(new.clone())));
        Ok(new)
    }

    /// DELETE a ReplicaSet (or ReplicationController) with a propagation policy: Background
    /// removes it at once (the garbage collector then deletes its pods); Foreground and Orphan
    /// set `deletionTimestamp` and the `foregroundDeletion` / `orphan` finalizer, which the
    /// garbage collector removes when it is done.
    pub fn delete_replicaset(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.check(caller)?;
        let rs = self
            .replicasets
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("ReplicaSet/{key}")))?;
        if rs.meta.deletion_timestamp.is_some() {
            return Ok(Deletion::Terminating);
        }
        match finalizer_for(policy) {
            None if rs.meta.finalizers.is_empty() => {
                self.remove_replicaset(key);
                Ok(Deletion::Removed)
            }
            f => {
                let now = self.now;
                self.update_replicaset(caller, key, |r| {
                    r.meta.deletion_timestamp = Some(now);
                    if let Some(f) = f {
                        if !r.meta.finalizers.iter().any(|x| x == f) {
                            r.meta.finalizers.push(f.to_string());
                        }
                    }
                })?;
                Ok(Deletion::Terminating)
            }
        }
    }

    fn remove_replicaset(&mut self, key: &str) {
        if let Some(rs) = self.replicasets.remove(key) {
            self.next_rv();
            self.outbox.push((
                Watcher::ControllerManager,
                Change::ReplicaSetDeleted(rs.clone()),
            ));
            self.outbox
                .push((Watcher::Scheduler, Change::ReplicaSetDeleted(rs)));
        }
    }

    /// Removes a finalizer from a ReplicaSet; a ReplicaSet being deleted goes when its last
    /// finalizer does.
    pub fn remove_replicaset_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        let rs = self.update_replicaset(caller, key, |r| {
            r.meta.finalizers.retain(|f| f != finalizer)
        })?;
        if rs.meta.deletion_timestamp.is_some() && rs.meta.finalizers.is_empty() {
            self.remove_replicaset(key);
        }
        Ok(())
    }

    // ----- deployments -----

    pub fn create_deployment(
        &mut self,
        caller: Caller,
        mut d: Deployment,
    ) -> Result<Arc<Deployment>, ApiError> {
        self.check(caller)?;
        let key = d.key();
        if self.deployments.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("Deployment/{key}")));
        }
        d.meta.uid = self.next_uid;
        self.next_uid += 1;
        d.meta.creation_timestamp = self.now;
        d.meta.generation = 1;
        d.meta.resource_version = self.next_rv();
        let d = Arc::new(d);
        self.deployments.insert(key, d.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Deployment(d.clone())));
        Ok(d)
    }

    /// DELETE a Deployment with a propagation policy (as [`ApiServer::delete_replicaset`]).
    pub fn delete_deployment(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.check(caller)?;
        let d = self
            .deployments
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Deployment/{key}")))?;
        if d.meta.deletion_timestamp.is_some() {
            return Ok(Deletion::Terminating);
        }
        match finalizer_for(policy) {
            None if d.meta.finalizers.is_empty() => {
                self.remove_deployment(key);
                Ok(Deletion::Removed)
            }
            f => {
                let now = self.now;
                self.update_deployment(caller, key, |x| {
                    x.meta.deletion_timestamp = Some(now);
                    if let Some(f) = f {
                        if !x.meta.finalizers.iter().any(|y| y == f) {
                            x.meta.finalizers.push(f.to_string());
                        }
                    }
                })?;
                Ok(Deletion::Terminating)
            }
        }
    }

    fn remove_deployment(&mut self, key: &str) {
        if let Some(d) = self.deployments.remove(key) {
            self.next_rv();
            self.outbox
                .push((Watcher::ControllerManager, Change::DeploymentDeleted(d)));
        }
    }

    /// Removes a finalizer from a Deployment (which goes with its last finalizer when it is
    /// being deleted).
    pub fn remove_deployment_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        let d = self.update_deployment(caller, key, |x| {
            x.meta.finalizers.retain(|f| f != finalizer)
        })?;
        if d.meta.deletion_timestamp.is_some() && d.meta.finalizers.is_empty() {
            self.remove_deployment(key);
        }
        Ok(())
    }

    /// PUT a Deployment (spec, metadata or status); `metadata.generation` is bumped when the
    /// spec changes. A mutation that changes nothing writes nothing.
    pub fn update_deployment(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Deployment),
    ) -> Result<Arc<Deployment>, ApiError> {
        self.check(caller)?;
        let old = self
            .deployments
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Deployment/{key}")))?;
        let mut new = (*old).clone();
        mutate(&mut new);
        new.meta.resource_version = old.meta.resource_version;
        new.meta.generation = old.meta.generation;
        if new == *old {
            return Ok(old);
        }
        let spec = |d: &Deployment| {
            (
                d.replicas,
                d.selector.clone(),
                d.template.clone(),
                d.strategy.clone(),
                d.min_ready_seconds,
                d.revision_history_limit,
                d.progress_deadline_seconds,
                d.paused,
            )
        };
        if spec(&new) != spec(&old) {
            new.meta.generation += 1;
        }
        new.meta.resource_version = self.next_rv();
        let new = Arc::new(new);
        self.deployments.insert(key.to_string(), new.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Deployment(new.clone())));
        Ok(new)
    }
}

/// The last finalizer of a pod whose deletion is complete (grace 0) was just removed.
fn finalizers_released(old: &Pod, new: &Pod) -> bool {
    !old.meta.finalizers.is_empty()
        && new.meta.finalizers.is_empty()
        && new.meta.deletion_grace_period_seconds == Some(0)
}

fn finalizer_for(policy: PropagationPolicy) -> Option<&'static str> {
    match policy {
        PropagationPolicy::Background => None,
        PropagationPolicy::Foreground => Some(FINALIZER_FOREGROUND),
        PropagationPolicy::Orphan => Some(FINALIZER_ORPHAN),
    }
}

/// The latest planned renewal not after `now`.
pub fn latest_planned(plan: Option<&Arc<Vec<SimTime>>>, now: SimTime) -> Option<SimTime> {
    let plan = plan?;
    let n = plan.partition_point(|t| *t <= now);
    n.checked_sub(1).map(|i| plan[i])
}

/// The name Kubernetes gives each caller as an event source.
pub fn source_name(caller: Caller) -> &'static str {
    match caller {
        Caller::Kubelet(_) => "kubelet",
        Caller::ControllerManager => "node-controller",
        Caller::Scheduler => "default-scheduler",
        Caller::Operator => "kubectl",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ApiServer {
        ApiServer::new(ApiServerConfig {
            default_not_ready_toleration: SimDuration::from_secs(300),
            default_unreachable_toleration: SimDuration::from_secs(300),
        })
    }

    fn pod(name: &str) -> Pod {
        let mut p = Pod::default();
        p.meta.name = name.into();
        p.meta.namespace = "default".into();
        p
    }

    #[test]
    fn unreachable_api_changes_nothing() {
        let mut a = api();
        a.net.set_api_down(true);
        assert_eq!(
            a.create_pod(Caller::Operator, pod("p")),
            Err(ApiError::Unavailable)
        );
        assert!(a.pods().is_empty());
        assert!(a.outbox.is_empty());
    }

    // Reference §6.1: DELETE of a bound pod only sets deletionTimestamp = now + grace.
    #[test]
    fn graceful_delete_of_bound_pod_leaves_it_terminating() {
        let mut a = api();
        let mut n = Node::default();
        n.meta.name = "n1".into();
        a.create_node(Caller::Operator, n).unwrap();
        a.create_pod(Caller::Operator, pod("p")).unwrap();
        a.bind_pod(Caller::Scheduler, "default/p", "n1").unwrap();
        a.set_now(SimTime::from_secs(10));
        assert_eq!(
            a.delete_pod(Caller::ControllerManager, "default/p", None),
            Ok(Deletion::Terminating)
        );
        let p = &a.pods()["default/p"];
        assert_eq!(p.meta.deletion_timestamp, Some(SimTime::from_secs(40)));
        assert_eq!(p.meta.deletion_grace_period_seconds, Some(30));
        // The kubelet's final grace-0 delete removes it.
        assert_eq!(
            a.delete_pod(Caller::Kubelet(0), "default/p", Some(0)),
            Ok(Deletion::Removed)
        );
        assert!(a.pods().is_empty());
        assert!(a
            .list_pods_on_node(Caller::Operator, "n1")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn unbound_pod_is_removed_at_once_and_resource_versions_increase() {
        let mut a = api();
        let p1 = a.create_pod(Caller::Operator, pod("a")).unwrap();
        let p2 = a.create_pod(Caller::Operator, pod("b")).unwrap();
        assert!(p2.meta.resource_version > p1.meta.resource_version);
        assert_eq!(a.pods()["default/a"].spec.tolerations.len(), 2);
        assert_eq!(
            a.delete_pod(Caller::Operator, "default/a", None),
            Ok(Deletion::Removed)
        );
    }
}
