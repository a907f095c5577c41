//! kube-controller-manager's shared informer cache: nodes, node leases, pods, the workloads
//! (ReplicaSets, Deployments, DaemonSets, StatefulSets, Jobs, CronJobs), PDBs, Services,
//! Namespaces and namespaced objects, with the indexes the controllers need (pods by node, by
//! owning ReplicaSet, DaemonSet, StatefulSet or Job; ReplicaSets by Deployment; Jobs by
//! CronJob).
//!
//! Invariant: changes only through [`KcmCache::apply`], i.e. through watch notifications; every
//! pod index holds exactly the entries of the cached pods (a pod write moves only the entries
//! that changed, which relies on this); `active_by_owner` counts, per owner, exactly the active
//! pods among its `pods_by_owner` entries. `nodeless` holds exactly the names in `pods_by_node`
//! that `nodes` lacks (`pods_by_node` is a hash map, only searched, never walked).
//!
//! The pod indexes the hot paths fill (by node, by owner, ready, terminal, terminating) hold
//! [`PodKey`]s: one shared allocation per pod write, and a comparison that reads the first 16
//! bytes as integers (all pods of one ReplicaSet share a long `namespace/name-` prefix). They
//! sort exactly as the key strings, so every walk keeps its order.

use std::borrow::Borrow;
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::api::Change;
use crate::model::*;
use crate::sim::lookup::LookupMap;
use crate::sim::namemap::{NameMap, SharedKey};
use crate::sim::{SimDuration, SimTime};

/// A pod's `namespace/name` key as the pod indexes hold it (sorts as the string).
pub type PodKey = SharedKey;

#[derive(Default)]
pub struct KcmCache {
    pub nodes: NameMap<Arc<Node>>,
    pub leases: BTreeMap<String, CachedLease>,
    pub pods: NameMap<Arc<Pod>>,
    /// Pods by the node they are bound to (found by name only, never walked: a hash lookup,
    /// not a string search down a tree of every node's name at each bind and deletion).
    pub pods_by_node: LookupMap<String, BTreeSet<PodKey>>,
    /// The names in `pods_by_node` that `nodes` lacks (pod GC's orphan candidates).
    pub nodeless: BTreeSet<String>,
    pub replicasets: BTreeMap<String, Arc<ReplicaSet>>,
    pub deployments: BTreeMap<String, Arc<Deployment>>,
    pub daemonsets: BTreeMap<String, Arc<DaemonSet>>,
    pub statefulsets: BTreeMap<String, Arc<StatefulSet>>,
    /// PodDisruptionBudgets by `namespace/name`.
    pub pdbs: BTreeMap<String, Arc<PodDisruptionBudget>>,
    /// Services by `namespace/name`.
    pub services: BTreeMap<String, Arc<Service>>,
    /// Namespaces by name; ServiceAccounts and Secrets by `Kind:namespace/name`.
    pub namespaces: BTreeMap<String, Arc<Namespace>>,
    pub namespaced_objects: BTreeMap<String, Arc<NamespacedObject>>,
    /// Every pod controlled by a StatefulSet, by StatefulSet key.
    pub pods_by_statefulset: BTreeMap<String, BTreeSet<String>>,
    pub jobs: BTreeMap<String, Arc<Job>>,
    pub cronjobs: BTreeMap<String, Arc<CronJob>>,
    /// Every pod controlled by a Job, by Job key.
    pub pods_by_job: BTreeMap<String, BTreeSet<String>>,
    /// Jobs controlled by a CronJob, by CronJob key.
    pub jobs_by_cronjob: BTreeMap<String, BTreeSet<String>>,
    /// Every pod controlled by a DaemonSet, by DaemonSet key, then by (the node it is tied
    /// to, pod key): the DaemonSet controller reads them all every sync, node by node in name
    /// order, next to the nodes (a merge, no lookups). Pods tied to no node are left out.
    pub pods_by_daemonset: BTreeMap<String, BTreeMap<(String, String), Arc<Pod>>>,
    /// ReplicaSets by the Deployment that controls them (`namespace/name` keys).
    pub rs_by_deployment: BTreeMap<String, BTreeSet<String>>,
    /// Active pods whose Ready condition is True, by owning ReplicaSet, ordered by the
    /// condition's lastTransitionTime (ReplicaSet status in O(log n), availability with
    /// minReadySeconds by a range).
    pub ready_by_owner: BTreeMap<String, BTreeSet<(SimTime, PodKey)>>,
    /// Every pod (terminating and terminal too) by owning ReplicaSet.
    pub pods_by_owner: BTreeMap<String, BTreeSet<PodKey>>,
    /// Active pods without a controller, by (namespace, label key, label value), for
    /// adoption by a ReplicaSet whose selector matches.
    pub orphans_by_label: BTreeMap<(String, String, String), BTreeSet<String>>,
    /// The same pods by namespace (selectors with only matchExpressions).
    pub orphans_by_ns: BTreeMap<String, BTreeSet<String>>,
    /// How many active pods (no deletionTimestamp, phase not terminal) each ReplicaSet owns,
    /// so a sync costs O(1) to count, not O(pods). Only a count: the pods themselves are the
    /// active ones among the owner's `pods_by_owner` entries ([`KcmCache::active_pods_of`]),
    /// which only a scale-down walks; a pod write pays no second set of 1 M entries.
    pub active_by_owner: BTreeMap<String, usize>,
    /// Pods in a terminal phase, and pods with a deletionTimestamp (for pod GC).
    pub terminal: BTreeSet<PodKey>,
    pub terminating: BTreeSet<PodKey>,
    /// Bumped whenever a node is added to or removed from `nodes`.
    pub node_set_version: u64,
    /// The watch propagation delay: a planned renewal at t is seen from t + this on.
    pub watch_delay: SimDuration,
}

/// A node lease as the informer has it: the last object written, plus the kubelet's announced
/// renewals (lazy heartbeats).
#[derive(Clone, Debug, Default)]
pub struct CachedLease {
    pub renew_time: Option<SimTime>,
    pub plan: Option<Arc<Vec<SimTime>>>,
}

impl CachedLease {
    /// The renewTime this informer shows at `now`: what the eager PUTs, each delivered after
    /// the watch delay, would have shown.
    pub fn renew_time_at(&self, now: SimTime, watch_delay: SimDuration) -> Option<SimTime> {
        let seen = if now.as_nanos() >= watch_delay.as_nanos() {
            crate::api::latest_planned(
                self.plan.as_ref(),
                SimTime(now.as_nanos() - watch_delay.as_nanos()),
            )
        } else {
            None
        };
        match (self.renew_time, seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The previous cached version of whatever a change touched.
pub enum Previous {
    /// A DaemonSet update that changed only what its controller writes (`status`).
    DaemonSetStatusOnly,
    Node(Option<Arc<Node>>),
    Pod(Option<Arc<Pod>>),
    Job(Option<Arc<Job>>),
    /// A ReplicaSet update whose owner references equal the cached version's (a status
    /// write): the garbage collector's graph stays.
    OwnersKept,
    None,
}

/// Counts toward its ReplicaSet's replicas (reference node-lifecycle §6.1: pods with a
/// deletionTimestamp do not).
pub fn is_active(p: &Pod) -> bool {
    !p.is_terminating() && !p.status.phase.is_terminal()
}

/// The key of the ReplicaSet (or ReplicationController) controlling a pod.
pub fn owner_key(p: &Pod) -> Option<String> {
    let o = p.meta.controller_ref()?;
    ReplicaSetKind::from_owner_kind(&o.kind).map(|k| k.key(&p.meta.namespace, &o.name))
}

/// The DaemonSet controlling a pod, as a `namespace/name` key.
pub fn daemonset_of(p: &Pod) -> Option<String> {
    p.meta
        .controller_ref()
        .filter(|o| o.kind == "DaemonSet")
        .map(|o| pod_key(&p.meta.namespace, &o.name))
}

/// The node a daemon pod is bound to, or the one its node affinity names
/// (`ReplaceDaemonSetPodNodeNameNodeAffinity`'s `metadata.name` field selector).
pub fn daemon_pod_node(p: &Pod) -> Option<&str> {
    if let Some(n) = &p.spec.node_name {
        return Some(n);
    }
    p.spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .iter()
        .flat_map(|t| t.match_fields.iter())
        .find(|r| r.key == "metadata.name" && r.operator == NodeSelectorOperator::In)
        .and_then(|r| r.values.first().map(|s| s.as_str()))
}

/// The StatefulSet controlling a pod, as a `namespace/name` key.
pub fn statefulset_of(p: &Pod) -> Option<String> {
    p.meta
        .controller_ref()
        .filter(|o| o.kind == "StatefulSet")
        .map(|o| pod_key(&p.meta.namespace, &o.name))
}

/// The Job controlling a pod, as a `namespace/name` key.
pub fn job_of(p: &Pod) -> Option<String> {
    p.meta
        .controller_ref()
        .filter(|o| o.kind == "Job")
        .map(|o| pod_key(&p.meta.namespace, &o.name))
}

/// The CronJob controlling a Job, as a `namespace/name` key.
pub fn cronjob_of(j: &Job) -> Option<String> {
    j.meta
        .controller_ref()
        .filter(|o| o.kind == "CronJob")
        .map(|o| pod_key(&j.meta.namespace, &o.name))
}

/// The Deployment controlling a ReplicaSet, as a `namespace/name` key.
pub fn deployment_of(rs: &ReplicaSet) -> Option<String> {
    rs.meta
        .controller_ref()
        .filter(|o| o.kind == "Deployment")
        .map(|o| pod_key(&rs.meta.namespace, &o.name))
}

impl KcmCache {
    /// Applies one watch notification; returns what the cache held before, where a
    /// controller's handler needs it.
    pub fn apply(&mut self, change: &Change) -> Previous {
        match change {
            Change::Node(n) => {
                // Most are status writes of a cached node: replaced in place, no name cloned.
                let old = match self.nodes.get_mut(&n.meta.name) {
                    Some(slot) => Some(std::mem::replace(slot, n.clone())),
                    None => self.nodes.insert(n.meta.name.clone(), n.clone()),
                };
                if old.is_none() {
                    self.node_set_version += 1;
                    self.nodeless.remove(&n.meta.name);
                }
                Previous::Node(old)
            }
            Change::NodeDeleted(n) => {
                let old = self.nodes.remove(&n.meta.name);
                if old.is_some() {
                    self.node_set_version += 1;
                    if self.pods_by_node.contains_key(&n.meta.name) {
                        self.nodeless.insert(n.meta.name.clone());
                    }
                }
                Previous::Node(old)
            }
            Change::Lease(l) => {
                let e = self.leases.entry(l.name.clone()).or_default();
                e.renew_time = Some(l.renew_time);
                e.plan = None;
                Previous::None
            }
            Change::LeasePlan { name, times } => {
                let e = self.leases.entry(name.clone()).or_default();
                e.plan = (!times.is_empty()).then(|| times.clone());
                Previous::None
            }
            Change::Pod(p) => self.apply_pod(p),
            Change::PodDeleted(p) => self.remove_pod(p),
            Change::ReplicaSet(rs) => self.apply_replicaset(rs),
            Change::ReplicaSetDeleted(rs) => {
                let key = rs.key();
                if let Some(d) = deployment_of(rs) {
                    remove_index(&mut self.rs_by_deployment, &d, &key);
                }
                self.replicasets.remove(&key);
                Previous::None
            }
            Change::Deployment(d) => put(&mut self.deployments, d.key(), d),
            Change::DaemonSet(d) => self.apply_daemonset(d),
            Change::StatefulSet(d) => put(&mut self.statefulsets, d.key(), d),
            Change::DeploymentDeleted(d) => drop_key(&mut self.deployments, &d.key()),
            Change::PodDisruptionBudget(b) => put(&mut self.pdbs, b.key(), b),
            Change::PodDisruptionBudgetDeleted(b) => drop_key(&mut self.pdbs, &b.key()),
            Change::StatefulSetDeleted(d) => drop_key(&mut self.statefulsets, &d.key()),
            Change::DaemonSetDeleted(d) => drop_key(&mut self.daemonsets, &d.key()),
            Change::Namespace(n) => put(&mut self.namespaces, n.meta.name.clone(), n),
            Change::NamespaceDeleted(n) => drop_key(&mut self.namespaces, &n.meta.name),
            Change::NamespacedObject(o) => put(&mut self.namespaced_objects, o.key(), o),
            Change::NamespacedObjectDeleted(o) => drop_key(&mut self.namespaced_objects, &o.key()),
            Change::Service(s) => put(&mut self.services, s.key(), s),
            Change::ServiceDeleted(s) => drop_key(&mut self.services, &s.key()),
            Change::Job(j) => {
                if let Some(c) = cronjob_of(j) {
                    self.jobs_by_cronjob.entry(c).or_default().insert(j.key());
                }
                Previous::Job(self.jobs.insert(j.key(), j.clone()))
            }
            Change::JobDeleted(j) => {
                if let Some(c) = cronjob_of(j) {
                    remove_index(&mut self.jobs_by_cronjob, &c, &j.key());
                }
                Previous::Job(self.jobs.remove(&j.key()))
            }
            Change::CronJob(c) => put(&mut self.cronjobs, c.key(), c),
            Change::CronJobDeleted(c) => drop_key(&mut self.cronjobs, &c.key()),
            // kube-proxy's kinds: the controller manager never receives them.
            Change::EndpointSlice(_) | Change::EndpointSliceDeleted(_) => Previous::None,
        }
    }

    /// A pod added or updated: every index moves from the old version to the new one. Each
    /// index is touched only where the pod's entry in it changes (most updates are status
    /// writes that move none), and no key is cloned for an entry already present.
    fn apply_pod(&mut self, p: &Arc<Pod>) -> Previous {
        let key = p.key();
        let k = KeyCell::new(&key);
        // The new version goes in first (one search of the map); the indexes below read the
        // versions they are given, never the map.
        let Some(old) = self
            .pods
            .get_mut(&key)
            .map(|slot| std::mem::replace(slot, p.clone()))
        else {
            if is_orphan(p) {
                self.index_orphan(p, &key, true);
            }
            self.index_ready(p, &k, true);
            self.index_daemon_pod(p, &key, true);
            if let Some(o) = owner_key(p) {
                if is_active(p) {
                    count_up(&mut self.active_by_owner, &o);
                }
                add_index(&mut self.pods_by_owner, o, k.get().clone());
            }
            self.index_pod_buckets(p, &k, None);
            return Previous::Pod(self.pods.insert(key, p.clone()));
        };
        self.move_daemon_pod(&old, p, &key);
        if old.meta.controller_ref() == p.meta.controller_ref() {
            // The same owner (most updates): its key is built only if an entry moves.
            let owned = p
                .meta
                .controller_ref()
                .is_some_and(|o| ReplicaSetKind::from_owner_kind(&o.kind).is_some());
            if owned && ready_time(&old) != ready_time(p) {
                self.index_ready(&old, &k, false);
                self.index_ready(p, &k, true);
            }
            if owned && is_active(&old) != is_active(p) {
                if let Some(o) = owner_key(p) {
                    if is_active(p) {
                        count_up(&mut self.active_by_owner, &o);
                    } else {
                        count_down(&mut self.active_by_owner, &o);
                    }
                }
            }
        } else {
            self.move_owner(&old, p, &k);
        }
        // Only an orphan is in the orphan indexes (under its own labels).
        let same_orphan = is_orphan(&old) == is_orphan(p)
            && (!is_orphan(p)
                || (old.meta.namespace == p.meta.namespace && old.meta.labels == p.meta.labels));
        if !same_orphan {
            if is_orphan(&old) {
                self.index_orphan(&old, &key, false);
            }
            if is_orphan(p) {
                self.index_orphan(p, &key, true);
            }
        }
        self.index_pod_buckets(p, &k, Some(&old));
        Previous::Pod(Some(old))
    }

    /// A pod update that changed its controller reference (orphaning, adoption): its entries
    /// in the owner indexes (`ready_by_owner`, `active_by_owner`, `pods_by_owner`) move.
    fn move_owner(&mut self, old: &Pod, p: &Pod, key: &KeyCell) {
        let owner = owner_key(p);
        let old_owner = owner_key(old);
        if let Some(o) = old_owner.as_ref().filter(|o| Some(*o) != owner.as_ref()) {
            // `old` counted under its owner exactly when it was active.
            if is_active(old) {
                count_down(&mut self.active_by_owner, o);
            }
            remove_index(&mut self.pods_by_owner, o, key.get());
        }
        if ready_entry(old, old_owner.as_ref()) != ready_entry(p, owner.as_ref()) {
            self.index_ready(old, key, false);
            self.index_ready(p, key, true);
        }
        if let Some(o) = owner {
            let same_owner = old_owner.as_ref() == Some(&o);
            let was_active = same_owner && is_active(old);
            // Under another owner before, the pod was not counted under this one.
            if is_active(p) {
                if !was_active {
                    count_up(&mut self.active_by_owner, &o);
                }
            } else if was_active {
                count_down(&mut self.active_by_owner, &o);
            }
            if !same_owner {
                add_index(&mut self.pods_by_owner, o, key.get().clone());
            }
        }
    }

    /// The pod's entries in the indexes keyed by what it belongs to (StatefulSet, Job, node)
    /// and the terminal/terminating sets. With the cached version `old`, an entry `old`
    /// already has is known to be present (only a removal or an owner change takes one out)
    /// and is not looked up again.
    fn index_pod_buckets(&mut self, p: &Arc<Pod>, key: &KeyCell, old: Option<&Arc<Pod>>) {
        let old = old.map(|o| &**o);
        if let Some(d) = statefulset_of(p) {
            if old.and_then(statefulset_of).as_ref() != Some(&d) {
                add_index(&mut self.pods_by_statefulset, d, key.key.to_string());
            }
        }
        if let Some(j) = job_of(p) {
            if old.and_then(job_of).as_ref() != Some(&j) {
                add_index(&mut self.pods_by_job, j, key.key.to_string());
            }
        }
        if let Some(n) = &p.spec.node_name {
            if old.and_then(|o| o.spec.node_name.as_ref()) != Some(n) {
                self.add_to_node(n, key.get().clone());
            }
        }
        // A new pod is in neither set (the indexes hold exactly the cached pods): only a
        // flag that is on needs a write.
        let terminal = p.status.phase.is_terminal();
        if old.map_or(terminal, |o| o.status.phase.is_terminal() != terminal) {
            set_flag(&mut self.terminal, key, terminal);
        }
        let terminating = p.is_terminating();
        if old.map_or(terminating, |o| o.is_terminating() != terminating) {
            set_flag(&mut self.terminating, key, terminating);
        }
    }

    /// A pod deleted: out of every index.
    fn remove_pod(&mut self, p: &Arc<Pod>) -> Previous {
        let key = p.key();
        let k = KeyCell::new(&key);
        // The cached version leaves the map first (one search); the indexes below read it.
        let old = self.pods.remove(&key);
        // Only an orphan has entries in the orphan indexes (the others would build a bucket
        // key per label to find nothing).
        if let Some(old) = &old {
            if is_orphan(old) {
                self.index_orphan(old, &key, false);
            }
            self.index_ready(old, &k, false);
        }
        if is_orphan(p) {
            self.index_orphan(p, &key, false);
        }
        if let Some(old) = &old {
            self.index_daemon_pod(old, &key, false);
        }
        self.index_daemon_pod(p, &key, false);
        if let Some(d) = statefulset_of(p) {
            remove_index(&mut self.pods_by_statefulset, &d, &key);
        }
        if let Some(j) = job_of(p) {
            remove_index(&mut self.pods_by_job, &j, &key);
        }
        if let Some(n) = &p.spec.node_name {
            self.remove_from_node(n, k.get());
        }
        if let Some(o) = owner_key(p) {
            // The cached version was counted under its own owner, if active.
            let counted = old
                .as_deref()
                .is_some_and(|old| is_active(old) && owner_key(old).as_ref() == Some(&o));
            if counted {
                count_down(&mut self.active_by_owner, &o);
            }
            remove_index(&mut self.pods_by_owner, &o, k.get());
        }
        self.terminal.remove(k.get());
        self.terminating.remove(k.get());
        Previous::Pod(old)
    }

    /// A pod into its node's bucket; a new bucket of a node the cache lacks is `nodeless`.
    fn add_to_node(&mut self, node: &str, key: PodKey) {
        match self.pods_by_node.get_mut(node) {
            Some(set) => {
                set.insert(key);
            }
            None => {
                self.pods_by_node
                    .insert(node.to_string(), BTreeSet::from([key]));
                if !self.nodes.contains_key(node) {
                    self.nodeless.insert(node.to_string());
                }
            }
        }
    }

    /// A pod out of its node's bucket; an emptied bucket leaves `nodeless` too.
    fn remove_from_node(&mut self, node: &str, key: &PodKey) {
        if let Some(set) = self.pods_by_node.get_mut(node) {
            set.remove(key);
            if set.is_empty() {
                self.pods_by_node.remove(node);
                self.nodeless.remove(node);
            }
        }
    }

    /// A ReplicaSet added or updated, indexed by its controlling Deployment.
    fn apply_replicaset(&mut self, rs: &Arc<ReplicaSet>) -> Previous {
        let key = rs.key();
        // A write that keeps the controller reference (a status write): the same Deployment
        // (same namespace, same reference), already indexed; replaced in place.
        if let Some(slot) = self.replicasets.get_mut(&key) {
            if slot.meta.controller_ref() == rs.meta.controller_ref() {
                let kept = slot.meta.owner_references == rs.meta.owner_references;
                *slot = rs.clone();
                return if kept {
                    Previous::OwnersKept
                } else {
                    Previous::None
                };
            }
        }
        let new_d = deployment_of(rs);
        let old_d = self.replicasets.get(&key).map(|old| deployment_of(old));
        // A cached version under the same Deployment (a status write): already indexed.
        if old_d.as_ref() != Some(&new_d) {
            if let Some(d) = old_d.flatten() {
                remove_index(&mut self.rs_by_deployment, &d, &key);
            }
            if let Some(d) = new_d {
                self.rs_by_deployment
                    .entry(d)
                    .or_default()
                    .insert(key.clone());
            }
        }
        self.replicasets.insert(key, rs.clone());
        Previous::None
    }

    /// A DaemonSet added or updated; tells whether only its status changed.
    fn apply_daemonset(&mut self, d: &Arc<DaemonSet>) -> Previous {
        let old = self.daemonsets.insert(d.key(), d.clone());
        let status_only = old.is_some_and(|o| {
            let mut o = (*o).clone();
            o.status = d.status.clone();
            o.meta.resource_version = d.meta.resource_version;
            o == **d
        });
        if status_only {
            Previous::DaemonSetStatusOnly
        } else {
            Previous::None
        }
    }

    /// A daemon pod's entry from its cached version to the new one: replaced in place when
    /// it stays under the same DaemonSet and node (a status write), else moved.
    fn move_daemon_pod(&mut self, old: &Arc<Pod>, p: &Arc<Pod>, key: &str) {
        let (Some(od), Some(on)) = (daemonset_of(old), daemon_pod_node(old)) else {
            self.index_daemon_pod(p, key, true);
            return;
        };
        let same = daemon_pod_node(p) == Some(on) && daemonset_of(p).as_ref() == Some(&od);
        if same {
            let k = (on.to_string(), key.to_string());
            if let Some(slot) = self
                .pods_by_daemonset
                .get_mut(&od)
                .and_then(|m| m.get_mut(&k))
            {
                *slot = p.clone();
                return;
            }
        }
        self.index_daemon_pod(old, key, false);
        self.index_daemon_pod(p, key, true);
    }

    fn index_daemon_pod(&mut self, p: &Arc<Pod>, key: &str, add: bool) {
        let (Some(d), Some(n)) = (daemonset_of(p), daemon_pod_node(p)) else {
            return;
        };
        let k = (n.to_string(), key.to_string());
        if add {
            self.pods_by_daemonset
                .entry(d)
                .or_default()
                .insert(k, p.clone());
        } else if let Some(m) = self.pods_by_daemonset.get_mut(&d) {
            m.remove(&k);
            if m.is_empty() {
                self.pods_by_daemonset.remove(&d);
            }
        }
    }

    fn index_ready(&mut self, p: &Pod, key: &KeyCell, add: bool) {
        // The condition first: most pods it is called for are not Ready, and their owner's
        // key is then never built.
        let Some(c) = p
            .condition(PodConditionType::Ready)
            .filter(|c| c.status == ConditionStatus::True)
        else {
            return;
        };
        if !is_active(p) {
            return;
        }
        let Some(o) = owner_key(p) else {
            return;
        };
        let entry = (c.last_transition_time, key.get().clone());
        if add {
            self.ready_by_owner.entry(o).or_default().insert(entry);
        } else if let Some(set) = self.ready_by_owner.get_mut(&o) {
            set.remove(&entry);
            if set.is_empty() {
                self.ready_by_owner.remove(&o);
            }
        }
    }

    fn index_orphan(&mut self, p: &Pod, key: &str, add: bool) {
        let orphan = add && p.meta.controller_ref().is_none() && is_active(p);
        let ns = &p.meta.namespace;
        for (k, v) in &p.meta.labels {
            let bucket = (ns.clone(), k.clone(), v.clone());
            if orphan {
                self.orphans_by_label
                    .entry(bucket)
                    .or_default()
                    .insert(key.to_string());
            } else if let Some(set) = self.orphans_by_label.get_mut(&bucket) {
                set.remove(key);
                if set.is_empty() {
                    self.orphans_by_label.remove(&bucket);
                }
            }
        }
        if orphan {
            self.orphans_by_ns
                .entry(ns.clone())
                .or_default()
                .insert(key.to_string());
        } else {
            remove_index(&mut self.orphans_by_ns, ns, key);
        }
    }

    /// Orphan pods in `namespace` that `selector` matches (`ClaimPods` candidates).
    pub fn orphans_matching(&self, namespace: &str, selector: &LabelSelector) -> Vec<Arc<Pod>> {
        // Every orphan is in `orphans_by_ns` (next to its label buckets): a namespace without
        // one (every sync of a ReplicaSet whose pods are all owned) needs no bucket key built.
        if !self.orphans_by_ns.contains_key(namespace) {
            return Vec::new();
        }
        let candidates = match selector.match_labels.iter().next() {
            Some((k, v)) => {
                self.orphans_by_label
                    .get(&(namespace.to_string(), k.clone(), v.clone()))
            }
            None => self.orphans_by_ns.get(namespace),
        };
        candidates
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k))
            .filter(|p| selector.matches(&p.meta.labels))
            .cloned()
            .collect()
    }

    /// The ReplicaSets a Deployment controls, oldest first.
    pub fn replicasets_of(&self, deployment: &str) -> Vec<Arc<ReplicaSet>> {
        let mut v: Vec<Arc<ReplicaSet>> = self
            .rs_by_deployment
            .get(deployment)
            .into_iter()
            .flatten()
            .filter_map(|k| self.replicasets.get(k).cloned())
            .collect();
        v.sort_by_key(|r| (r.meta.creation_timestamp, r.meta.name.clone()));
        v
    }

    /// How many active pods `owner` has (`active_by_owner`).
    pub fn active_count(&self, owner: &str) -> usize {
        self.active_by_owner.get(owner).copied().unwrap_or(0)
    }

    /// The active pods of `owner`, in key order: its `pods_by_owner` entries that are active.
    pub fn active_pods_of<'a>(&'a self, owner: &str) -> impl Iterator<Item = &'a Arc<Pod>> + 'a {
        self.pods_by_owner
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k))
            .filter(|p| is_active(p))
    }

    pub fn pods_on_node(&self, node: &str) -> Vec<Arc<Pod>> {
        self.pods_by_node
            .get(node)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| self.pods.get(k).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A pod's key for one watch notification: the [`PodKey`] the indexes hold is built (one
/// allocation) the first time an index needs it, then shared by every index it enters.
struct KeyCell<'a> {
    key: &'a str,
    shared: OnceCell<PodKey>,
}

impl<'a> KeyCell<'a> {
    fn new(key: &'a str) -> Self {
        KeyCell {
            key,
            shared: OnceCell::new(),
        }
    }

    fn get(&self) -> &PodKey {
        self.shared.get_or_init(|| PodKey::shared(self.key))
    }
}

fn set_flag(set: &mut BTreeSet<PodKey>, key: &KeyCell, on: bool) {
    if on {
        set.insert(key.get().clone());
    } else {
        set.remove(key.get());
    }
}

/// Adds `key` to `bucket`. Callers add a key only where it is not yet (the indexes hold
/// exactly the cached pods, and a pod is added when it enters a bucket), so the key is
/// inserted with one search, not looked for first.
fn add_index<K: Ord>(index: &mut BTreeMap<String, BTreeSet<K>>, bucket: String, key: K) {
    index.entry(bucket).or_default().insert(key);
}

/// One more in `bucket`'s count: the bucket's name is cloned only when new.
fn count_up(counts: &mut BTreeMap<String, usize>, bucket: &str) {
    match counts.get_mut(bucket) {
        Some(n) => *n += 1,
        None => {
            counts.insert(bucket.to_string(), 1);
        }
    }
}

/// One less in `bucket`'s count; a count that reaches 0 goes (as an emptied set would).
fn count_down(counts: &mut BTreeMap<String, usize>, bucket: &str) {
    if let Some(n) = counts.get_mut(bucket) {
        *n -= 1;
        if *n == 0 {
            counts.remove(bucket);
        }
    }
}

/// An active pod without a controller: in the orphan indexes, for adoption.
fn is_orphan(p: &Pod) -> bool {
    p.meta.controller_ref().is_none() && is_active(p)
}

/// The Ready condition's lastTransitionTime of an active pod whose Ready is True: with its
/// owner, its entry in `ready_by_owner`.
fn ready_time(p: &Pod) -> Option<SimTime> {
    let c = p
        .condition(PodConditionType::Ready)
        .filter(|c| c.status == ConditionStatus::True)?;
    is_active(p).then_some(c.last_transition_time)
}

/// A pod's entry in `ready_by_owner`, if it has one: its owner and the Ready condition's
/// lastTransitionTime (`owner` is `owner_key(p)`).
fn ready_entry<'a>(p: &Pod, owner: Option<&'a String>) -> Option<(&'a String, SimTime)> {
    let o = owner?;
    let c = p
        .condition(PodConditionType::Ready)
        .filter(|c| c.status == ConditionStatus::True)?;
    is_active(p).then_some((o, c.last_transition_time))
}

fn remove_index<K, Q>(index: &mut BTreeMap<String, BTreeSet<K>>, bucket: &str, key: &Q)
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    if let Some(set) = index.get_mut(bucket) {
        set.remove(key);
        if set.is_empty() {
            index.remove(bucket);
        }
    }
}

/// Stores an object under its key (an informer's add or update).
fn put<T>(map: &mut BTreeMap<String, Arc<T>>, key: String, v: &Arc<T>) -> Previous {
    map.insert(key, v.clone());
    Previous::None
}

/// Forgets an object (an informer's delete).
fn drop_key<T>(map: &mut BTreeMap<String, Arc<T>>, key: &str) -> Previous {
    map.remove(key);
    Previous::None
}
