//! The generic object store of the API server: one map per kind, walked in name order and
//! found by hash (`NameMap`), and the create / update / delete / finalizer logic every kind
//! shares, written once for any [`ApiObject`].
//!
//! Invariant: every write that changes an object takes the next value of the store-wide
//! `resourceVersion` and emits the kind's watch notifications ([`ApiObject::change`] to
//! [`ApiObject::watchers`]) in the same request; a write that changes nothing writes nothing.
//! `resourceVersion` and `metadata.generation` belong to the store: a mutation cannot set
//! them. Kind-specific rules (admission, pod binding and graceful deletion, indexes) are
//! layered on these primitives by the kinds' own modules.

use std::sync::Arc;

use super::{ApiError, ApiServer, Change, Verb, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;

/// The stored objects of one kind, keyed by `namespace/name` (or the kind's own key): walked
/// in name order, found by hash ([`NameMap`]).
pub(crate) struct Store<T> {
    objects: NameMap<Arc<T>>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            objects: NameMap::new(),
        }
    }
}

impl<T> Store<T> {
    /// The read-only view handed to observers.
    pub(crate) fn map(&self) -> &NameMap<Arc<T>> {
        &self.objects
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Arc<T>> {
        self.objects.get(key)
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.objects.contains_key(key)
    }

    pub(super) fn insert(&mut self, key: String, obj: Arc<T>) {
        self.objects.insert(key, obj);
    }

    /// Stores `obj` under `key`, replacing the stored version in place (no key allocated for
    /// an update, the common write); returns the version replaced.
    pub(super) fn put(&mut self, key: &str, obj: Arc<T>) -> Option<Arc<T>> {
        match self.objects.get_mut(key) {
            Some(slot) => Some(std::mem::replace(slot, obj)),
            None => self.objects.insert(key.to_string(), obj),
        }
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<Arc<T>> {
        self.objects.remove(key)
    }
}

/// The write a watch notification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    Created,
    Updated,
    Deleted,
}

/// Who watches every kind through the controller manager's informers only.
pub(super) const CM: &[Watcher] = &[Watcher::ControllerManager];
/// Kinds the scheduler also lists (spreading selectors, preemption, node state).
pub(super) const CM_AND_SCHEDULER: &[Watcher] = &[Watcher::ControllerManager, Watcher::Scheduler];
/// Services: also every node's kube-proxy.
pub(super) const CM_SCHEDULER_AND_PROXY: &[Watcher] = &[
    Watcher::ControllerManager,
    Watcher::Scheduler,
    Watcher::KubeProxy,
];

/// A kind the API server stores: its key, its metadata, its store, and how its writes are
/// announced.
pub(crate) trait ApiObject: Clone + PartialEq + Sized {
    /// The kind name, as errors and records spell it (`ReplicaSet`, `Pod` ...).
    const KIND: &'static str;
    /// Whether a create takes a uid from the store's counter.
    const TAKES_UID: bool = true;
    /// Whether the kind has `metadata.generation` (1 on create, bumped on spec changes).
    const HAS_GENERATION: bool = false;

    /// The store key (`namespace/name`, or the name for cluster-scoped kinds).
    fn store_key(&self) -> String;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;
    /// The object as `NotFound` / `AlreadyExists` name it.
    fn describe(key: &str) -> String {
        format!("{}/{key}", Self::KIND)
    }
    /// Whether a staged update equals the stored object (so writes nothing): `old == new`, in
    /// whatever field order finds a difference soonest.
    fn unchanged(old: &Self, new: &Self) -> bool {
        old == new
    }
    /// Whether an update changed the spec (so bumps `metadata.generation`).
    fn spec_changed(_old: &Self, _new: &Self) -> bool {
        false
    }
    /// Server-side defaults of a create, after uid, timestamps and versions are set.
    fn on_create(&mut self) {}
    /// The watch notification of a write (None: nobody watches the kind).
    fn change(obj: Arc<Self>, write: Write) -> Option<Change>;
    /// Who receives the notification of a write.
    fn watchers(write: Write) -> &'static [Watcher];
    fn store(api: &ApiServer) -> &Store<Self>;
    fn store_mut(api: &mut ApiServer) -> &mut Store<Self>;
}

/// An update after the mutation, before it is written.
pub(super) enum Staged<T> {
    /// The mutation changed nothing: nothing is written.
    Unchanged(Arc<T>),
    /// The new object, generation already bumped, not shared yet; its resourceVersion is set
    /// on commit.
    Changed { old: Arc<T>, new: Arc<T> },
}

/// Outcome of a DELETE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The object is gone.
    Removed,
    /// Graceful deletion: `deletionTimestamp` set, the object stays until the kubelet finishes.
    Terminating,
}

pub(super) fn finalizer_for(policy: PropagationPolicy) -> Option<&'static str> {
    match policy {
        PropagationPolicy::Background => None,
        PropagationPolicy::Foreground => Some(FINALIZER_FOREGROUND),
        PropagationPolicy::Orphan => Some(FINALIZER_ORPHAN),
    }
}

impl ApiServer {
    /// A checked GET of any stored kind.
    pub(crate) fn get<T: ApiObject>(&self, caller: Caller, key: &str) -> Result<Arc<T>, ApiError> {
        self.check(caller, Verb::Get)?;
        self.stored(key)
    }

    /// The stored object, or `NotFound`.
    pub(super) fn stored<T: ApiObject>(&self, key: &str) -> Result<Arc<T>, ApiError> {
        T::store(self)
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(T::describe(key)))
    }

    /// Sends the kind's notification of `write` to its watchers.
    pub(super) fn notify<T: ApiObject>(&mut self, obj: &Arc<T>, write: Write) {
        if let Some(change) = T::change(obj.clone(), write) {
            if let Some((last, rest)) = T::watchers(write).split_last() {
                for w in rest {
                    self.outbox.push((*w, change.clone()));
                }
                self.outbox.push((*last, change));
            }
        }
    }

    /// POST: `AlreadyExists` on a name conflict; then `admit` (admission, which may refuse);
    /// then uid, `creationTimestamp`, generation 1 and the next resourceVersion.
    pub(super) fn create_object<T: ApiObject>(
        &mut self,
        caller: Caller,
        mut obj: T,
        admit: impl FnOnce(&Self, &mut T) -> Result<(), ApiError>,
    ) -> Result<Arc<T>, ApiError> {
        self.check(caller, Verb::Create)?;
        let key = obj.store_key();
        if T::store(self).contains(&key) {
            return Err(ApiError::AlreadyExists(T::describe(&key)));
        }
        admit(self, &mut obj)?;
        let meta = obj.meta_mut();
        if T::TAKES_UID {
            meta.uid = self.next_uid;
            self.next_uid += 1;
        }
        meta.creation_timestamp = self.now;
        if T::HAS_GENERATION {
            meta.generation = 1;
        }
        meta.resource_version = self.next_rv();
        obj.on_create();
        let obj = Arc::new(obj);
        T::store_mut(self).insert(key, obj.clone());
        self.notify(&obj, Write::Created);
        Ok(obj)
    }

    /// GET + mutate without conflicts (the mutation sees the latest object): the store's
    /// resourceVersion and generation are restored, generation bumped on a spec change.
    pub(super) fn stage_update<T: ApiObject>(
        &self,
        key: &str,
        mutate: impl FnOnce(&mut T),
    ) -> Result<Staged<T>, ApiError> {
        let old: Arc<T> = self.stored(key)?;
        // The store holds `old`, so this clones it, straight into the new allocation.
        let mut new = Arc::clone(&old);
        let x = Arc::make_mut(&mut new);
        mutate(x);
        x.meta_mut().resource_version = old.meta().resource_version;
        x.meta_mut().generation = old.meta().generation;
        if T::unchanged(&old, x) {
            return Ok(Staged::Unchanged(old));
        }
        if T::spec_changed(&old, x) {
            x.meta_mut().generation += 1;
        }
        Ok(Staged::Changed { old, new })
    }

    /// Writes an object with the next resourceVersion (no notification).
    pub(super) fn commit<T: ApiObject>(&mut self, key: &str, new: T) -> Arc<T> {
        self.commit_staged(key, Arc::new(new))
    }

    /// Writes a staged (not yet shared) object with the next resourceVersion (no
    /// notification).
    pub(super) fn commit_staged<T: ApiObject>(&mut self, key: &str, mut new: Arc<T>) -> Arc<T> {
        let rv = self.next_rv();
        Arc::get_mut(&mut new)
            .expect("a staged object is not shared yet")
            .meta_mut()
            .resource_version = rv;
        if let Some(old) = T::store_mut(self).put(key, new.clone()) {
            // Paired with every watcher's cache: a write never moves an object back in time.
            assert!(
                rv > old.meta().resource_version,
                "resourceVersion of {key} went backwards"
            );
        }
        new
    }

    /// PUT (spec, metadata or status): stage, commit, notify.
    pub(super) fn update_object<T: ApiObject>(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut T),
    ) -> Result<Arc<T>, ApiError> {
        self.check(caller, Verb::Update)?;
        match self.stage_update(key, mutate)? {
            Staged::Unchanged(old) => Ok(old),
            Staged::Changed { new, .. } => {
                let new = self.commit_staged(key, new);
                self.notify(&new, Write::Updated);
                Ok(new)
            }
        }
    }

    /// Removes an object at once: the next resourceVersion and the deletion notification.
    pub(super) fn remove_object<T: ApiObject>(&mut self, key: &str) -> Option<Arc<T>> {
        let obj = T::store_mut(self).remove(key)?;
        self.next_rv();
        self.notify(&obj, Write::Deleted);
        Some(obj)
    }

    /// DELETE of a kind without finalizers or graceful deletion: it goes at once.
    pub(super) fn delete_object<T: ApiObject>(
        &mut self,
        caller: Caller,
        key: &str,
    ) -> Result<Arc<T>, ApiError> {
        self.check(caller, Verb::Delete)?;
        self.remove_object(key)
            .ok_or_else(|| ApiError::NotFound(T::describe(key)))
    }

    /// DELETE with a propagation policy: Background removes the object at once (the garbage
    /// collector then deletes its dependents) unless it holds finalizers; Foreground and
    /// Orphan set `deletionTimestamp` and the `foregroundDeletion` / `orphan` finalizer, which
    /// the garbage collector removes when it is done. A second DELETE changes nothing.
    pub(super) fn delete_propagated<T: ApiObject>(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.check(caller, Verb::Delete)?;
        let obj: Arc<T> = self.stored(key)?;
        if obj.meta().deletion_timestamp.is_some() {
            return Ok(Deletion::Terminating);
        }
        match finalizer_for(policy) {
            None if obj.meta().finalizers.is_empty() => {
                self.remove_object::<T>(key);
                Ok(Deletion::Removed)
            }
            f => {
                let now = self.now;
                self.within(|a| {
                    a.update_object::<T>(caller, key, |x| {
                        let m = x.meta_mut();
                        m.deletion_timestamp = Some(now);
                        if let Some(f) = f {
                            if !m.finalizers.iter().any(|y| y == f) {
                                m.finalizers.push(f.to_string());
                            }
                        }
                    })
                })?;
                Ok(Deletion::Terminating)
            }
        }
    }

    /// Removes a finalizer; an object being deleted goes with its last finalizer.
    pub(super) fn remove_finalizer<T: ApiObject>(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        let obj = self.update_object::<T>(caller, key, |x| {
            x.meta_mut().finalizers.retain(|f| f != finalizer)
        })?;
        if obj.meta().deletion_timestamp.is_some() && obj.meta().finalizers.is_empty() {
            self.remove_object::<T>(key);
        }
        Ok(())
    }
}

/// The boilerplate of an [`ApiObject`] impl: metadata in `self.meta`, the store at the given
/// field path of [`ApiServer`].
macro_rules! stored_in {
    ($($field:ident).+) => {
        fn meta(&self) -> &$crate::model::ObjectMeta {
            &self.meta
        }
        fn meta_mut(&mut self) -> &mut $crate::model::ObjectMeta {
            &mut self.meta
        }
        fn store(api: &$crate::api::ApiServer) -> &$crate::api::store::Store<Self> {
            &api.$($field).+
        }
        fn store_mut(api: &mut $crate::api::ApiServer) -> &mut $crate::api::store::Store<Self> {
            &mut api.$($field).+
        }
    };
}
pub(super) use stored_in;
