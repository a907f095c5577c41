//! The API server's Namespaces, ServiceAccounts and Secrets, and the `NamespaceLifecycle`
//! admission rule: nothing new is created in a namespace that is being terminated.
//!
//! Invariant: a Namespace DELETE only marks it `Terminating` (with the `kubernetes` finalizer);
//! the namespace controller removes it once its content is gone ([`ApiServer::finalize_namespace`]).
//! Namespace objects take no uid from the store's counter, so declaring them does not shift
//! the uids of other objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ApiError, ApiServer, Change, Watcher};
use crate::model::*;
use crate::network::Caller;

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];
/// The finalizer the namespace controller removes (`spec.finalizers: [kubernetes]`).
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

#[derive(Default)]
pub struct NamespaceStore {
    pub namespaces: BTreeMap<String, Arc<Namespace>>,
    /// ServiceAccounts and Secrets by `Kind:namespace/name`.
    pub objects: BTreeMap<String, Arc<NamespacedObject>>,
}

impl ApiServer {
    pub fn namespaces(&self) -> &BTreeMap<String, Arc<Namespace>> {
        &self.ns.namespaces
    }

    pub fn namespaced_objects(&self) -> &BTreeMap<String, Arc<NamespacedObject>> {
        &self.ns.objects
    }

    /// `NamespaceLifecycle` admission: refuse new objects in a terminating namespace.
    pub(super) fn admit_namespace(&self, namespace: &str) -> Result<(), ApiError> {
        match self.ns.namespaces.get(namespace) {
            Some(n) if n.terminating => Err(ApiError::Forbidden(format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ))),
            _ => Ok(()),
        }
    }

    pub fn create_namespace(
        &mut self,
        caller: Caller,
        mut n: Namespace,
    ) -> Result<Arc<Namespace>, ApiError> {
        self.check(caller)?;
        if self.ns.namespaces.contains_key(&n.meta.name) {
            return Err(ApiError::AlreadyExists(format!(
                "Namespace/{}",
                n.meta.name
            )));
        }
        n.meta.namespace = String::new();
        n.meta.creation_timestamp = self.now;
        n.meta.resource_version = self.next_rv();
        n.meta
            .labels
            .insert("kubernetes.io/metadata.name".into(), n.meta.name.clone());
        n.meta.finalizers = vec![NAMESPACE_FINALIZER.into()];
        let n = Arc::new(n);
        self.ns.namespaces.insert(n.meta.name.clone(), n.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Namespace(n.clone())));
        Ok(n)
    }

    /// DELETE a Namespace: it becomes `Terminating` until the namespace controller has
    /// deleted its content.
    pub fn delete_namespace(
        &mut self,
        caller: Caller,
        name: &str,
    ) -> Result<super::Deletion, ApiError> {
        self.check(caller)?;
        let old = self
            .ns
            .namespaces
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Namespace/{name}")))?;
        if old.terminating {
            return Ok(super::Deletion::Terminating);
        }
        let mut n = (*old).clone();
        n.terminating = true;
        n.meta.deletion_timestamp = Some(self.now);
        n.meta.resource_version = self.next_rv();
        let n = Arc::new(n);
        self.ns.namespaces.insert(name.to_string(), n.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Namespace(n)));
        Ok(super::Deletion::Terminating)
    }

    /// The namespace controller's last step: remove the `kubernetes` finalizer, and with it
    /// the Namespace.
    pub fn finalize_namespace(&mut self, caller: Caller, name: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let n = self
            .ns
            .namespaces
            .remove(name)
            .ok_or_else(|| ApiError::NotFound(format!("Namespace/{name}")))?;
        self.next_rv();
        self.outbox
            .push((Watcher::ControllerManager, Change::NamespaceDeleted(n)));
        Ok(())
    }

    pub fn create_namespaced_object(
        &mut self,
        caller: Caller,
        mut o: NamespacedObject,
    ) -> Result<Arc<NamespacedObject>, ApiError> {
        self.check(caller)?;
        self.admit_namespace(&o.meta.namespace)?;
        let key = o.key();
        if self.ns.objects.contains_key(&key) {
            return Err(ApiError::AlreadyExists(key.replacen(':', "/", 1)));
        }
        o.meta.creation_timestamp = self.now;
        o.meta.resource_version = self.next_rv();
        let o = Arc::new(o);
        self.ns.objects.insert(key, o.clone());
        self.outbox.push((
            Watcher::ControllerManager,
            Change::NamespacedObject(o.clone()),
        ));
        Ok(o)
    }

    pub fn delete_namespaced_object(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let o = self
            .ns
            .objects
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(key.replacen(':', "/", 1)))?;
        self.next_rv();
        self.outbox.push((
            Watcher::ControllerManager,
            Change::NamespacedObjectDeleted(o),
        ));
        Ok(())
    }

    /// DELETE a StatefulSet (background propagation: it goes at once; the namespace
    /// controller deletes its pods).
    pub fn delete_statefulset(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let d = self
            .statefulsets
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(format!("StatefulSet/{key}")))?;
        self.next_rv();
        self.outbox.push((
            Watcher::ControllerManager,
            Change::StatefulSetDeleted(d.clone()),
        ));
        // kube-scheduler's StatefulSet lister (default spreading selectors).
        self.outbox
            .push((Watcher::Scheduler, Change::StatefulSetDeleted(d)));
        Ok(())
    }

    /// DELETE a DaemonSet (as [`ApiServer::delete_statefulset`]).
    pub fn delete_daemonset(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let d = self
            .daemonsets
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(format!("DaemonSet/{key}")))?;
        self.next_rv();
        self.outbox
            .push((Watcher::ControllerManager, Change::DaemonSetDeleted(d)));
        Ok(())
    }
}
