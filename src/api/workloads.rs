//! The API server's `apps/v1` workloads: ReplicaSets (and ReplicationControllers),
//! Deployments, DaemonSets and StatefulSets, as thin wrappers over the generic store.
//!
//! Invariant: `metadata.generation` is 1 on create and bumped exactly when an update changes
//! the kind's spec fields ([`ApiObject::spec_changed`]); ReplicaSets and StatefulSets are also
//! announced to the scheduler on create and delete (its default spreading lists them), never on
//! update.

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Write, CM, CM_AND_SCHEDULER};
use super::{ApiError, ApiServer, Change, Deletion, Watcher};
use crate::model::*;
use crate::network::Caller;

/// Create and delete go to the scheduler too; updates only to the controller manager.
fn scheduler_lists(write: Write) -> &'static [Watcher] {
    match write {
        Write::Updated => CM,
        Write::Created | Write::Deleted => CM_AND_SCHEDULER,
    }
}

impl ApiObject for ReplicaSet {
    const KIND: &'static str = "ReplicaSet";
    const HAS_GENERATION: bool = true;
    stored_in!(replicasets);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
        new.replicas != old.replicas
            || new.template != old.template
            || new.selector != old.selector
            || new.min_ready_seconds != old.min_ready_seconds
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::ReplicaSetDeleted(obj),
            _ => Change::ReplicaSet(obj),
        })
    }
    fn watchers(write: Write) -> &'static [Watcher] {
        scheduler_lists(write)
    }
}

impl ApiObject for Deployment {
    const KIND: &'static str = "Deployment";
    const HAS_GENERATION: bool = true;
    stored_in!(deployments);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
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
        spec(new) != spec(old)
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::DeploymentDeleted(obj),
            _ => Change::Deployment(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiObject for DaemonSet {
    const KIND: &'static str = "DaemonSet";
    const HAS_GENERATION: bool = true;
    stored_in!(daemonsets);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
        new.template != old.template || new.selector != old.selector
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::DaemonSetDeleted(obj),
            _ => Change::DaemonSet(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiObject for StatefulSet {
    const KIND: &'static str = "StatefulSet";
    const HAS_GENERATION: bool = true;
    stored_in!(statefulsets);
    fn store_key(&self) -> String {
        self.key()
    }
    fn spec_changed(old: &Self, new: &Self) -> bool {
        new.replicas != old.replicas || new.template != old.template
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::StatefulSetDeleted(obj),
            _ => Change::StatefulSet(obj),
        })
    }
    fn watchers(write: Write) -> &'static [Watcher] {
        scheduler_lists(write)
    }
}

impl ApiServer {
    pub fn create_replicaset(
        &mut self,
        caller: Caller,
        rs: ReplicaSet,
    ) -> Result<Arc<ReplicaSet>, ApiError> {
        self.create_object(caller, rs, |_, _| Ok(()))
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
        self.update_object(caller, key, mutate)
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
        self.delete_propagated::<ReplicaSet>(caller, key, policy)
    }

    /// Removes a finalizer from a ReplicaSet; a ReplicaSet being deleted goes when its last
    /// finalizer does.
    pub fn remove_replicaset_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        self.remove_finalizer::<ReplicaSet>(caller, key, finalizer)
    }

    pub fn create_deployment(
        &mut self,
        caller: Caller,
        d: Deployment,
    ) -> Result<Arc<Deployment>, ApiError> {
        self.create_object(caller, d, |_, _| Ok(()))
    }

    /// PUT a Deployment (spec, metadata or status); `metadata.generation` is bumped when the
    /// spec changes. A mutation that changes nothing writes nothing.
    pub fn update_deployment(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Deployment),
    ) -> Result<Arc<Deployment>, ApiError> {
        self.update_object(caller, key, mutate)
    }

    /// DELETE a Deployment with a propagation policy (as [`ApiServer::delete_replicaset`]).
    pub fn delete_deployment(
        &mut self,
        caller: Caller,
        key: &str,
        policy: PropagationPolicy,
    ) -> Result<Deletion, ApiError> {
        self.delete_propagated::<Deployment>(caller, key, policy)
    }

    /// Removes a finalizer from a Deployment (which goes with its last finalizer when it is
    /// being deleted).
    pub fn remove_deployment_finalizer(
        &mut self,
        caller: Caller,
        key: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        self.remove_finalizer::<Deployment>(caller, key, finalizer)
    }

    pub fn create_daemonset(
        &mut self,
        caller: Caller,
        d: DaemonSet,
    ) -> Result<Arc<DaemonSet>, ApiError> {
        self.create_object(caller, d, |_, _| Ok(()))
    }

    /// PUT a DaemonSet (its status, as the controller writes it).
    pub fn update_daemonset(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut DaemonSet),
    ) -> Result<Arc<DaemonSet>, ApiError> {
        self.update_object(caller, key, mutate)
    }

    /// DELETE a DaemonSet (background propagation: it goes at once; the namespace controller
    /// deletes its pods).
    pub fn delete_daemonset(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.delete_object::<DaemonSet>(caller, key).map(|_| ())
    }

    pub fn create_statefulset(
        &mut self,
        caller: Caller,
        d: StatefulSet,
    ) -> Result<Arc<StatefulSet>, ApiError> {
        self.create_object(caller, d, |_, _| Ok(()))
    }

    /// PUT a StatefulSet (spec or status).
    pub fn update_statefulset(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut StatefulSet),
    ) -> Result<Arc<StatefulSet>, ApiError> {
        self.update_object(caller, key, mutate)
    }

    /// DELETE a StatefulSet (as [`ApiServer::delete_daemonset`]).
    pub fn delete_statefulset(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.delete_object::<StatefulSet>(caller, key).map(|_| ())
    }
}
