//! The API server's Namespaces, ServiceAccounts and Secrets, and the `NamespaceLifecycle`
//! admission rule: nothing new is created in a namespace that is being terminated.
//!
//! Invariant: a Namespace DELETE only marks it `Terminating` (with the `kubernetes` finalizer);
//! the namespace controller removes it once its content is gone ([`ApiServer::finalize_namespace`]).
//! Namespace objects take no uid from the store's counter, so declaring them does not shift
//! the uids of other objects. All writes go through the generic store ([`super::store`]).

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Store, Write, CM};
use super::{ApiError, ApiServer, Change, Deletion, Verb, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];
/// The finalizer the namespace controller removes (`spec.finalizers: [kubernetes]`).
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

#[derive(Default)]
pub(super) struct NamespaceStore {
    namespaces: Store<Namespace>,
    /// ServiceAccounts and Secrets by `Kind:namespace/name`.
    objects: Store<NamespacedObject>,
}

impl ApiObject for Namespace {
    const KIND: &'static str = "Namespace";
    /// Namespaces take no uid, so declaring them does not shift other objects' uids.
    const TAKES_UID: bool = false;
    stored_in!(ns.namespaces);
    fn store_key(&self) -> String {
        self.meta.name.clone()
    }
    /// Cluster-scoped, labelled with its name, finalized by the namespace controller.
    fn on_create(&mut self) {
        self.meta.namespace = String::new();
        self.meta
            .labels
            .insert("kubernetes.io/metadata.name".into(), self.meta.name.clone());
        self.meta.finalizers = vec![NAMESPACE_FINALIZER.into()];
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::NamespaceDeleted(obj),
            _ => Change::Namespace(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiObject for NamespacedObject {
    const KIND: &'static str = "NamespacedObject";
    const TAKES_UID: bool = false;
    stored_in!(ns.objects);
    fn store_key(&self) -> String {
        self.key()
    }
    /// `Kind:namespace/name` is shown as `Kind/namespace/name`.
    fn describe(key: &str) -> String {
        key.replacen(':', "/", 1)
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::NamespacedObjectDeleted(obj),
            _ => Change::NamespacedObject(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM
    }
}

impl ApiServer {
    pub fn namespaces(&self) -> &NameMap<Arc<Namespace>> {
        self.ns.namespaces.map()
    }

    pub fn namespaced_objects(&self) -> &NameMap<Arc<NamespacedObject>> {
        self.ns.objects.map()
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
        n: Namespace,
    ) -> Result<Arc<Namespace>, ApiError> {
        self.create_object(caller, n, |_, _| Ok(()))
    }

    /// DELETE a Namespace: it becomes `Terminating` until the namespace controller has
    /// deleted its content.
    pub fn delete_namespace(&mut self, caller: Caller, name: &str) -> Result<Deletion, ApiError> {
        self.check(caller, Verb::Delete)?;
        let old: Arc<Namespace> = self.stored(name)?;
        if old.terminating {
            return Ok(Deletion::Terminating);
        }
        let now = self.now;
        self.within(|a| {
            a.update_object::<Namespace>(caller, name, |n| {
                n.terminating = true;
                n.meta.deletion_timestamp = Some(now);
            })
        })?;
        Ok(Deletion::Terminating)
    }

    /// The namespace controller's last step: remove the `kubernetes` finalizer, and with it
    /// the Namespace.
    pub fn finalize_namespace(&mut self, caller: Caller, name: &str) -> Result<(), ApiError> {
        self.delete_object::<Namespace>(caller, name).map(|_| ())
    }

    /// POST a ServiceAccount or Secret (`NamespaceLifecycle` admission comes first).
    pub fn create_namespaced_object(
        &mut self,
        caller: Caller,
        o: NamespacedObject,
    ) -> Result<Arc<NamespacedObject>, ApiError> {
        self.check(caller, Verb::Create)?;
        self.admit_namespace(&o.meta.namespace)?;
        self.create_object(caller, o, |_, _| Ok(()))
    }

    pub fn delete_namespaced_object(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.delete_object::<NamespacedObject>(caller, key)
            .map(|_| ())
    }
}
