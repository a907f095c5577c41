//! The garbage collector: owner references as a graph (owner → dependent) whose nodes live in a
//! `petgraph` `StableGraph` and whose edges are kept on both ends (a node's owners, and its
//! dependents as a set: petgraph's edge lists are singly linked, so removing one edge walks the
//! owner's whole list, O(dependents) for each deleted pod of a large ReplicaSet), and
//! cascading deletion — Background (the owner goes at once, dependents whose owners are all gone
//! are deleted), Foreground (the owner waits with the `foregroundDeletion` finalizer until every
//! dependent is gone) and Orphan (the owner's references are removed from its dependents, then
//! the `orphan` finalizer).
//!
//! Upstream: `pkg/controller/garbagecollector/{garbagecollector,graph_builder}.go`
//! (`attemptToDeleteItem`: solid / dangling / waitingForDependentsDeletion owners;
//! `processDeletingDependentsItem`; `attemptToOrphan`).
//!
//! Invariant: the graph changes only from watch notifications (and a rebuild from the cache at
//! the start of a leadership term); every deletion is an API request.

use std::collections::BTreeSet;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};

use super::cache::KcmCache;
use super::clients::{self, ControllerClients};
use super::Event;
use crate::api::{ApiServer, Change, Verb};
use crate::model::*;
use crate::network::Caller;
use crate::sim::lookup::LookupMap;
use crate::sim::Ctx;

/// The kinds that own or are owned in kubesim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjKind {
    Deployment,
    ReplicaSet,
    ReplicationController,
    Pod,
    Job,
}

/// An object in the graph: its kind and its store key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjId {
    pub kind: ObjKind,
    pub key: String,
}

impl ObjId {
    fn owner(namespace: &str, o: &OwnerRef) -> Option<ObjId> {
        let kind = match o.kind.as_str() {
            "Deployment" => ObjKind::Deployment,
            "ReplicaSet" => ObjKind::ReplicaSet,
            "ReplicationController" => ObjKind::ReplicationController,
            "Job" => ObjKind::Job,
            _ => return None,
        };
        let key = match kind {
            ObjKind::ReplicationController => {
                ReplicaSetKind::ReplicationController.key(namespace, &o.name)
            }
            _ => pod_key(namespace, &o.name),
        };
        Some(ObjId { kind, key })
    }
}

#[derive(Clone, Debug)]
struct GraphNode {
    id: ObjId,
    /// Observed in the cache (false: a virtual node, an owner referenced but absent).
    present: bool,
    owners: Vec<ObjId>,
    /// The nodes whose `owners` name this one (the edges owner → dependent; only searched and
    /// tested for emptiness: a walk sorts them by id first).
    dependents: BTreeSet<NodeIndex>,
}

#[derive(Default)]
pub struct GarbageCollector {
    graph: StableDiGraph<GraphNode, ()>,
    /// Graph node of each object (found by id only: never walked).
    index: LookupMap<ObjId, NodeIndex>,
    /// DELETEs waiting for the `generic-garbage-collector` client's token.
    deferred: BTreeSet<ObjId>,
}

/// What the collector needs of an object.
struct Seen<'a> {
    id: ObjId,
    meta: &'a ObjectMeta,
}

fn seen(change: &Change) -> Option<(Seen<'_>, bool)> {
    let (id, meta, present) = match change {
        Change::Pod(p) => (
            ObjId {
                kind: ObjKind::Pod,
                key: p.key(),
            },
            &p.meta,
            true,
        ),
        Change::PodDeleted(p) => (
            ObjId {
                kind: ObjKind::Pod,
                key: p.key(),
            },
            &p.meta,
            false,
        ),
        Change::ReplicaSet(r) | Change::ReplicaSetDeleted(r) => (
            ObjId {
                kind: match r.kind {
                    ReplicaSetKind::ReplicaSet => ObjKind::ReplicaSet,
                    ReplicaSetKind::ReplicationController => ObjKind::ReplicationController,
                },
                key: r.key(),
            },
            &r.meta,
            matches!(change, Change::ReplicaSet(_)),
        ),
        Change::Deployment(d) | Change::DeploymentDeleted(d) => (
            ObjId {
                kind: ObjKind::Deployment,
                key: d.key(),
            },
            &d.meta,
            matches!(change, Change::Deployment(_)),
        ),
        Change::Job(j) | Change::JobDeleted(j) => (
            ObjId {
                kind: ObjKind::Job,
                key: j.key(),
            },
            &j.meta,
            matches!(change, Change::Job(_)),
        ),
        _ => return None,
    };
    Some((Seen { id, meta }, present))
}

/// The owners an object's ownerReferences name, sorted and without repeats (as the graph keeps
/// them).
fn owner_ids(meta: &ObjectMeta) -> Vec<ObjId> {
    let mut owners: Vec<ObjId> = meta
        .owner_references
        .iter()
        .filter_map(|o| ObjId::owner(&meta.namespace, o))
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// Whether `meta`'s owner references map, in their order, exactly onto `owners` (sorted and
/// without duplicates, as `upsert_edges` keeps them). False when unsure (e.g. references not in
/// sorted order): the caller then builds the list and compares it.
fn owners_unchanged(owners: &[ObjId], meta: &ObjectMeta) -> bool {
    let mut it = owners.iter();
    let mut prev: Option<&ObjId> = None;
    for o in &meta.owner_references {
        let kind = match o.kind.as_str() {
            "Deployment" => ObjKind::Deployment,
            "ReplicaSet" => ObjKind::ReplicaSet,
            "Job" => ObjKind::Job,
            // `rc:` keys: not worth an in-place comparison.
            "ReplicationController" => return false,
            _ => continue,
        };
        let Some(want) = it.next() else {
            return false;
        };
        if want.kind != kind || !is_pod_key(&want.key, &meta.namespace, &o.name) {
            return false;
        }
        if prev.is_some_and(|p| p >= want) {
            return false;
        }
        prev = Some(want);
    }
    it.next().is_none()
}

fn meta_of<'a>(cache: &'a KcmCache, id: &ObjId) -> Option<&'a ObjectMeta> {
    match id.kind {
        ObjKind::Deployment => cache.deployments.get(&id.key).map(|d| &d.meta),
        ObjKind::ReplicaSet | ObjKind::ReplicationController => {
            cache.replicasets.get(&id.key).map(|r| &r.meta)
        }
        ObjKind::Pod => cache.pods.get(&id.key).map(|p| &p.meta),
        ObjKind::Job => cache.jobs.get(&id.key).map(|j| &j.meta),
    }
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.iter().any(|x| x == f)
}

impl GarbageCollector {
    /// A new leadership term: the graph from the cache, then every object checked once.
    pub fn rebuild(
        ctx: &mut dyn Ctx<Event>,
        clients: &mut ControllerClients,
        api: &mut ApiServer,
        cache: &KcmCache,
    ) -> GarbageCollector {
        let mut gc = GarbageCollector::default();
        let mut changes: Vec<Change> = Vec::new();
        changes.extend(cache.deployments.values().cloned().map(Change::Deployment));
        changes.extend(cache.replicasets.values().cloned().map(Change::ReplicaSet));
        changes.extend(cache.jobs.values().cloned().map(Change::Job));
        changes.extend(
            cache
                .pods
                .values()
                .filter(|p| !p.meta.owner_references.is_empty())
                .cloned()
                .map(Change::Pod),
        );
        for c in &changes {
            if let Some((s, _)) = seen(c) {
                gc.upsert_edges(&s);
            }
        }
        for c in &changes {
            gc.observe(ctx, clients, api, cache, c, false);
        }
        gc
    }

    fn ensure(&mut self, id: &ObjId) -> NodeIndex {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        self.add_virtual(id)
    }

    /// A node for an id the graph lacks (virtual until observed).
    fn add_virtual(&mut self, id: &ObjId) -> NodeIndex {
        let i = self.graph.add_node(GraphNode {
            id: id.clone(),
            present: false,
            owners: Vec::new(),
            dependents: BTreeSet::new(),
        });
        self.index.insert(id.clone(), i);
        i
    }

    /// Records the object and its owner edges; true if they changed (or it is new).
    fn upsert_edges(&mut self, s: &Seen) -> bool {
        // Most notifications are status writes of an object already in the graph: its owner
        // list is compared in place, without building it.
        let found = self.index.get(&s.id).copied();
        if let Some(i) = found {
            let node = &self.graph[i];
            if node.present && owners_unchanged(&node.owners, s.meta) {
                return false;
            }
        }
        let owners = owner_ids(s.meta);
        // A new object (a pod just created): added without searching for it again.
        let i = match found {
            Some(i) => i,
            None => self.add_virtual(&s.id),
        };
        let node = &self.graph[i];
        if node.present && node.owners == owners {
            return false;
        }
        let old = std::mem::take(&mut self.graph[i].owners);
        for o in &old {
            if let Some(&oi) = self.index.get(o) {
                self.remove_owner_edge(oi, i);
                self.drop_if_unused(oi);
            }
        }
        for o in &owners {
            let oi = self.ensure(o);
            self.graph[oi].dependents.insert(i);
        }
        let node = &mut self.graph[i];
        node.owners = owners;
        node.present = true;
        true
    }

    /// Removes the edge owner → dependent (a search of the owner's set of dependents).
    fn remove_owner_edge(&mut self, owner: NodeIndex, dependent: NodeIndex) {
        self.graph[owner].dependents.remove(&dependent);
    }

    /// A virtual node that nobody depends on any more leaves the graph.
    fn drop_if_unused(&mut self, i: NodeIndex) {
        let unused = !self.graph[i].present && self.graph[i].dependents.is_empty();
        if unused {
            let id = self.graph[i].id.clone();
            self.graph.remove_node(i);
            self.index.remove(&id);
        }
    }

    fn dependents(&self, id: &ObjId) -> Vec<ObjId> {
        let Some(&i) = self.index.get(id) else {
            return Vec::new();
        };
        let mut v: Vec<ObjId> = self.graph[i]
            .dependents
            .iter()
            .map(|&d| self.graph[d].id.clone())
            .collect();
        v.sort();
        v
    }

    /// A watch notification (after the cache has applied it). `owners_kept`: the change is a
    /// pod or ReplicaSet update whose owner references equal those of the version the cache
    /// held before it.
    ///
    /// Why that version is the one this collector last recorded: the collector observes every
    /// change while leading, and a term starts with a [`GarbageCollector::rebuild`] from the
    /// cache, so every cached pod's and ReplicaSet's version was recorded (its owners, or
    /// nothing for a bare pod, which `observe` skips). With the same owner references
    /// `upsert_edges` would find no change (no `attemptToDelete`), and without a waiting
    /// finalizer nothing else runs: such a status write leaves the graph alone without
    /// building the object's id or searching for it.
    pub fn observe(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        clients: &mut ControllerClients,
        api: &mut ApiServer,
        cache: &KcmCache,
        change: &Change,
        owners_kept: bool,
    ) {
        let kept = match (owners_kept, change) {
            (true, Change::Pod(p)) => Some(&p.meta),
            (true, Change::ReplicaSet(r)) => Some(&r.meta),
            _ => None,
        };
        if let Some(meta) = kept {
            if !has_finalizer(meta, FINALIZER_FOREGROUND) && !has_finalizer(meta, FINALIZER_ORPHAN)
            {
                debug_assert!(self.records_owners_of(change));
                return;
            }
        }
        let Some((s, present)) = seen(change) else {
            return;
        };
        if s.meta.owner_references.is_empty()
            && s.id.kind == ObjKind::Pod
            && !self.index.contains_key(&s.id)
        {
            return; // a bare pod: nothing owns it and it owns nothing
        }
        if !present {
            self.on_deleted(ctx, clients, api, cache, &s.id);
            return;
        }
        if self.upsert_edges(&s) {
            self.attempt_to_delete(ctx, clients, api, cache, &s.id);
        }
        if has_finalizer(s.meta, FINALIZER_FOREGROUND) {
            self.process_deleting_dependents(ctx, clients, api, cache, &s.id, true);
        }
        if has_finalizer(s.meta, FINALIZER_ORPHAN) {
            self.orphan_dependents(api, cache, &s.id);
        }
    }

    /// The first cached pod or ReplicaSet whose owners the graph does not hold as they are
    /// (for the invariant checker, while the controller manager leads): `observe`'s
    /// `owners_kept` shortcut relies on there being none.
    pub fn unrecorded_owners(&self, cache: &KcmCache) -> Option<String> {
        let pods = cache.pods.values().map(|p| Change::Pod(p.clone()));
        let sets = cache
            .replicasets
            .values()
            .map(|r| Change::ReplicaSet(r.clone()));
        pods.chain(sets)
            .find(|c| !self.records_owners_of(c))
            .and_then(|c| seen(&c).map(|(s, _)| s.id.key))
    }

    /// Whether the graph holds the changed object's owners as they are (or, for a bare pod,
    /// nothing): `upsert_edges` would change nothing (the invariant `observe`'s `owners_kept`
    /// relies on).
    fn records_owners_of(&self, change: &Change) -> bool {
        let Some((s, _)) = seen(change) else {
            return false;
        };
        let Some(&i) = self.index.get(&s.id) else {
            return s.id.kind == ObjKind::Pod && s.meta.owner_references.is_empty();
        };
        self.graph[i].present && self.graph[i].owners == owner_ids(s.meta)
    }

    fn on_deleted(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        clients: &mut ControllerClients,
        api: &mut ApiServer,
        cache: &KcmCache,
        id: &ObjId,
    ) {
        let Some(&i) = self.index.get(id) else {
            return;
        };
        let owners = std::mem::take(&mut self.graph[i].owners);
        self.graph[i].present = false;
        for o in &owners {
            if let Some(&oi) = self.index.get(o) {
                self.remove_owner_edge(oi, i);
            }
        }
        // Dependents whose owners may now all be gone.
        for d in self.dependents(id) {
            self.attempt_to_delete(ctx, clients, api, cache, &d);
        }
        self.drop_if_unused(i);
        // An owner waiting for its dependents may now be free to go.
        for o in &owners {
            if meta_of(cache, o).is_some_and(|m| has_finalizer(m, FINALIZER_FOREGROUND)) {
                self.process_deleting_dependents(ctx, clients, api, cache, o, false);
            }
            if let Some(&oi) = self.index.get(o) {
                self.drop_if_unused(oi);
            }
        }
    }

    /// `attemptToDeleteItem`: an object with owner references none of which is solid (present
    /// and not waiting for its dependents) is deleted — with Foreground when an owner is
    /// waiting for its dependents and it has dependents of its own, else Background.
    fn attempt_to_delete(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        clients: &mut ControllerClients,
        api: &mut ApiServer,
        cache: &KcmCache,
        id: &ObjId,
    ) {
        let Some(&i) = self.index.get(id) else {
            return;
        };
        let node = &self.graph[i];
        if !node.present || node.owners.is_empty() {
            return;
        }
        let Some(meta) = meta_of(cache, id) else {
            return;
        };
        if meta.deletion_timestamp.is_some() && id.kind != ObjKind::Pod {
            return;
        }
        let mut solid = false;
        let mut waiting = false;
        for o in &node.owners {
            match meta_of(cache, o) {
                None => {} // dangling
                Some(m) if has_finalizer(m, FINALIZER_FOREGROUND) => waiting = true,
                Some(_) => solid = true,
            }
        }
        if solid {
            return;
        }
        let has_dependents = !node.dependents.is_empty();
        let policy = if waiting && has_dependents {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        // A DELETE already waiting for the client's token is not asked for twice.
        if self.deferred.contains(id) {
            return;
        }
        match clients.admit(ctx.now(), clients::GARBAGE_COLLECTOR, api, Verb::Delete) {
            None => delete(api, id, policy),
            Some(at) => {
                self.deferred.insert(id.clone());
                let id = id.clone();
                let write: clients::Write = Box::new(move |cm, _, api| {
                    cm.gc.deferred.remove(&id);
                    delete(api, &id, policy);
                });
                clients.defer(ctx, clients::GARBAGE_COLLECTOR, at, write);
            }
        }
    }

    /// `processDeletingDependentsItem`: delete the dependents (once, when the owner is first
    /// seen waiting), and remove `foregroundDeletion` when none is left.
    fn process_deleting_dependents(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        clients: &mut ControllerClients,
        api: &mut ApiServer,
        cache: &KcmCache,
        id: &ObjId,
        delete_them: bool,
    ) {
        let deps = self.dependents(id);
        if deps.is_empty() {
            remove_finalizer(api, id, FINALIZER_FOREGROUND);
            return;
        }
        if delete_them {
            for d in deps {
                self.attempt_to_delete(ctx, clients, api, cache, &d);
            }
        }
    }

    /// `attemptToOrphan`: remove the owner reference from every dependent, then the finalizer.
    fn orphan_dependents(&mut self, api: &mut ApiServer, cache: &KcmCache, id: &ObjId) {
        let Some(owner) = meta_of(cache, id) else {
            return;
        };
        let kind = match id.kind {
            ObjKind::Deployment => "Deployment",
            ObjKind::ReplicaSet => "ReplicaSet",
            ObjKind::ReplicationController => "ReplicationController",
            ObjKind::Pod => "Pod",
            ObjKind::Job => "Job",
        };
        let name = owner.name.clone();
        let strip = |refs: &mut Vec<OwnerRef>| refs.retain(|o| !(o.kind == kind && o.name == name));
        for d in self.dependents(id) {
            let _ = match d.kind {
                ObjKind::Pod => api
                    .update_pod(Caller::ControllerManager, &d.key, |p| {
                        strip(&mut p.meta.owner_references)
                    })
                    .map(|_| ()),
                ObjKind::ReplicaSet | ObjKind::ReplicationController => api
                    .update_replicaset(Caller::ControllerManager, &d.key, |r| {
                        strip(&mut r.meta.owner_references)
                    })
                    .map(|_| ()),
                ObjKind::Deployment => api
                    .update_deployment(Caller::ControllerManager, &d.key, |x| {
                        strip(&mut x.meta.owner_references)
                    })
                    .map(|_| ()),
                ObjKind::Job => api
                    .update_job(Caller::ControllerManager, &d.key, |x| {
                        strip(&mut x.meta.owner_references)
                    })
                    .map(|_| ()),
            };
        }
        remove_finalizer(api, id, FINALIZER_ORPHAN);
    }
}

/// A DELETE request for `id` (pods: a graceful delete).
pub fn delete(api: &mut ApiServer, id: &ObjId, policy: PropagationPolicy) {
    let c = Caller::ControllerManager;
    let _ = match id.kind {
        ObjKind::Deployment => api.delete_deployment(c, &id.key, policy).map(|_| ()),
        ObjKind::ReplicaSet | ObjKind::ReplicationController => {
            api.delete_replicaset(c, &id.key, policy).map(|_| ())
        }
        ObjKind::Pod => api.delete_pod(c, &id.key, None).map(|_| ()),
        ObjKind::Job => api.delete_job(c, &id.key, policy).map(|_| ()),
    };
}

fn remove_finalizer(api: &mut ApiServer, id: &ObjId, f: &str) {
    let c = Caller::ControllerManager;
    let _ = match id.kind {
        ObjKind::Deployment => api.remove_deployment_finalizer(c, &id.key, f),
        ObjKind::ReplicaSet | ObjKind::ReplicationController => {
            api.remove_replicaset_finalizer(c, &id.key, f)
        }
        ObjKind::Pod => Ok(()),
        ObjKind::Job => api.remove_job_finalizer(c, &id.key, f),
    };
}
