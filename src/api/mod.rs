//! The API server: the one store of canonical objects, `resourceVersion`, admission, graceful
//! deletion, and watches that feed the components' informer caches.
//!
//! Architecture invariant: only this module writes canonical objects. Every write bumps the
//! store-wide `resourceVersion` and emits watch notifications (delivered by the cluster after
//! the configured propagation delay); components read only their caches. A request from a caller
//! that cannot reach the API server fails with [`ApiError::Unavailable`] and changes nothing;
//! with a service time (`inflight`), one that finds every seat of its class busy fails with 429
//! ([`ApiError::TooManyRequests`]) and changes nothing.
//!
//! Layout: `store` holds the generic `Store<T: ApiObject>` and the create / update / delete /
//! finalizer logic shared by every kind; the kinds' modules (`nodes`, `pods`, `workloads`,
//! `batch`, `policy`, `service`, `namespace`) implement `ApiObject` and keep only their own
//! rules (admission, binding, graceful deletion, indexes, lease plans). The stores are private
//! to this module: observers read them through the read-only views (`nodes()`, `pods()` ...),
//! components through the network-checked `get_*` / `list_*` requests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::*;
use crate::network::{Caller, Network};
use crate::sim::lookup::LookupMap;
use crate::sim::namemap::NameMap;
use crate::sim::{Record, SimDuration, SimTime};

mod batch;
mod inflight;
mod namespace;
mod nodes;
mod pods;
mod policy;
mod service;
mod store;
mod workloads;

pub use inflight::{InflightConfig, Verb};
pub use namespace::{NAMESPACE_FINALIZER, SYSTEM_NAMESPACES};
pub use pods::{NodeLoad, PodCounts};
pub use policy::{EVICTION_DENIED_MESSAGE, MAX_DISRUPTED_POD_SIZE};
pub use store::Deletion;
use store::Store;

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

/// maxinflight.go `tooManyRequests`: the body of the 429 (sent with `Retry-After: 1`).
pub const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.";

/// Who receives a watch notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watcher {
    ControllerManager,
    Scheduler,
    /// The kubelet of machine `i`: only pods bound to its node (field selector `spec.nodeName`).
    Kubelet(u32),
    /// Every node's kube-proxy (Services and EndpointSlices): one notification, which the
    /// cluster hands to each proxy whose machine reaches the API server when it arrives, and
    /// drops when the scenario runs no proxies.
    KubeProxy,
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
    EndpointSlice(Arc<EndpointSlice>),
    EndpointSliceDeleted(Arc<EndpointSlice>),
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
    /// `max-requests-inflight` / `max-mutating-requests-inflight` and the service times.
    pub inflight: InflightConfig,
}

pub struct ApiServer {
    pub config: ApiServerConfig,
    pub net: Network,
    now: SimTime,
    resource_version: u64,
    next_uid: u64,
    nodes: Store<Node>,
    leases: Store<Lease>,
    /// Renewals a kubelet has announced and that happen unless withdrawn (lazy heartbeats).
    lease_plans: BTreeMap<String, Arc<Vec<SimTime>>>,
    pods: Store<Pod>,
    /// Node name -> keys of the pods bound to it (searched by node, walked in key order).
    pods_by_node: LookupMap<String, BTreeSet<String>>,
    replicasets: Store<ReplicaSet>,
    deployments: Store<Deployment>,
    daemonsets: Store<DaemonSet>,
    statefulsets: Store<StatefulSet>,
    pdbs: Store<PodDisruptionBudget>,
    svc: service::ServiceStore,
    ns: namespace::NamespaceStore,
    jobs: Store<Job>,
    cronjobs: Store<CronJob>,
    leader_records: BTreeMap<String, LeaderRecord>,
    /// Pods by phase, terminating and unscheduled, kept up to date on every write so that
    /// samplers need not scan the store.
    pod_counts: PodCounts,
    /// Per node: requests and Running pods of its non-terminal pods, kept on every write.
    node_loads: NameMap<NodeLoad>,
    /// Node name -> machine index, for the kubelets' field-selector watches (only searched).
    kubelet_of_node: LookupMap<String, u32>,
    /// Notifications produced by writes, drained by the cluster after each event.
    pub outbox: Vec<(Watcher, Change)>,
    /// Observable changes (taints added/removed), drained into the trace by the cluster.
    pub records: Vec<Record>,
    /// Fault injection: the next this-many pod updates fail as if the server were unreachable.
    pub inject_pod_write_failures: u32,
    /// Nodes whose conditions someone other than their kubelet changed (lazy heartbeats: the
    /// cluster wakes those kubelets' status loops).
    pub status_wakeups: Vec<String>,
    /// The seats requests hold while served (only with a service time > 0).
    seats: inflight::Seats,
}

impl ApiServer {
    pub fn new(config: ApiServerConfig) -> Self {
        ApiServer {
            config,
            net: Network::default(),
            now: SimTime::ZERO,
            resource_version: 0,
            next_uid: 1,
            nodes: Store::default(),
            leases: Store::default(),
            lease_plans: BTreeMap::new(),
            pods: Store::default(),
            pods_by_node: LookupMap::new(),
            replicasets: Store::default(),
            deployments: Store::default(),
            daemonsets: Store::default(),
            statefulsets: Store::default(),
            pdbs: Store::default(),
            svc: service::ServiceStore::default(),
            ns: namespace::NamespaceStore::default(),
            jobs: Store::default(),
            cronjobs: Store::default(),
            leader_records: BTreeMap::new(),
            pod_counts: PodCounts::default(),
            node_loads: NameMap::new(),
            kubelet_of_node: LookupMap::new(),
            outbox: Vec::new(),
            records: Vec::new(),
            inject_pod_write_failures: 0,
            status_wakeups: Vec::new(),
            seats: inflight::Seats::default(),
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

    /// The entry check of every component request: the caller must reach the server, and a
    /// seat of the verb's class must be free (maxinflight.go; `system:masters`, kubesim's
    /// operator, is never rejected).
    fn check(&self, caller: Caller, verb: Verb) -> Result<(), ApiError> {
        if !self.net.reachable(caller) {
            return Err(ApiError::Unavailable);
        }
        let exempt = caller == Caller::Operator;
        if !self.seats.admit(
            &self.config.inflight,
            verb,
            self.now,
            exempt,
            component_name(caller),
        ) {
            return Err(ApiError::TooManyRequests {
                message: TOO_MANY_REQUESTS.to_string(),
                cause: String::new(),
            });
        }
        Ok(())
    }

    /// Runs the internal steps of an admitted request (e.g. a bind's pod update): they hold
    /// no seat of their own.
    fn within<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.seats.enter();
        let r = f(self);
        self.seats.leave();
        r
    }

    /// Whether a request of `verb` from `caller` sent now would be served rather than
    /// rejected with 429 (always true without service times, for the operator, or when the
    /// caller cannot reach the server — that request fails otherwise). A `false` counts as a
    /// rejected request.
    pub fn seat_free(&self, caller: Caller, verb: Verb) -> bool {
        caller == Caller::Operator
            || !self.net.reachable(caller)
            || self.seats.free(
                &self.config.inflight,
                verb,
                self.now,
                component_name(caller),
            )
    }

    /// Requests rejected with 429 by the inflight limits: (read-only, mutating).
    pub fn inflight_rejections(&self) -> (u64, u64) {
        self.seats.rejected()
    }

    /// Requests rejected with 429 by the inflight limits, per (component, verb).
    pub fn inflight_rejections_by(&self) -> BTreeMap<(&'static str, Verb), u64> {
        self.seats.rejections()
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    // ----- read access for observers (checks, output) -----
    // The stores themselves, read-only, for observers outside the simulation (checks,
    // samplers); components read through the network-checked `get_*` / `list_*` requests.

    pub fn replicasets(&self) -> &NameMap<Arc<ReplicaSet>> {
        self.replicasets.map()
    }
    pub fn deployments(&self) -> &NameMap<Arc<Deployment>> {
        self.deployments.map()
    }
    pub fn daemonsets(&self) -> &NameMap<Arc<DaemonSet>> {
        self.daemonsets.map()
    }
    pub fn statefulsets(&self) -> &NameMap<Arc<StatefulSet>> {
        self.statefulsets.map()
    }
    pub fn nodes(&self) -> &NameMap<Arc<Node>> {
        self.nodes.map()
    }
}

/// The latest planned renewal not after `now`.
pub fn latest_planned(plan: Option<&Arc<Vec<SimTime>>>, now: SimTime) -> Option<SimTime> {
    let plan = plan?;
    let n = plan.partition_point(|t| *t <= now);
    n.checked_sub(1).map(|i| plan[i])
}

/// The component a caller belongs to (the 429 counts' `component`).
pub fn component_name(caller: Caller) -> &'static str {
    match caller {
        Caller::Kubelet(_) => "kubelet",
        Caller::ControllerManager => "kube-controller-manager",
        Caller::Scheduler => "kube-scheduler",
        Caller::Operator => "kubectl",
    }
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

/// An API server with kube-apiserver's default tolerations (300 s) and in-flight limits, for
/// the api module's unit tests.
#[cfg(test)]
pub(crate) fn test_server() -> ApiServer {
    ApiServer::new(ApiServerConfig {
        default_not_ready_toleration: SimDuration::from_secs(300),
        default_unreachable_toleration: SimDuration::from_secs(300),
        inflight: InflightConfig::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ApiServer {
        test_server()
    }

    fn pod(name: &str) -> Pod {
        Pod::named("default", name)
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
