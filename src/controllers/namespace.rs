//! The namespace controller and the serviceaccounts controller.
//!
//! Upstream: `pkg/controller/namespace` (`NamespacedResourcesDeleter.Delete`: a namespace with
//! a deletionTimestamp has all its content deleted — workloads with background propagation,
//! pods gracefully, everything else at once — and once nothing is left the `kubernetes`
//! finalizer is removed and the Namespace goes) and `pkg/controller/serviceaccount`
//! (`ServiceAccountsController.syncNamespace`: every Active namespace has a `default`
//! ServiceAccount, recreated if deleted). StatefulSets and DaemonSets are removed at once and
//! their pods deleted with the namespace's other pods.
//!
//! Invariant: decisions from the cache; every deletion is an API request; a terminating
//! namespace is re-examined when one of its pods goes, so finalization costs no polling.

use std::collections::BTreeSet;

use super::cache::KcmCache;
use crate::api::{ApiError, ApiServer};
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, SimDuration};

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Retry of a namespace sync whose requests failed.
const RETRY: SimDuration = SimDuration::from_secs(1);

pub struct NamespaceController {
    gen: u32,
    pub(super) queue: WorkQueue,
    /// Terminating namespaces whose content has been deleted: later syncs (one per pod that
    /// goes) only look whether a pod is left, in O(log pods), not O(pods of the namespace).
    cleaned: BTreeSet<String>,
}

/// The keys of a cache map whose keys start with `namespace/` (after an optional prefix such
/// as `rc:`).
fn keys_in<V>(map: &std::collections::BTreeMap<String, V>, prefix: &str) -> Vec<String> {
    map.range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

impl NamespaceController {
    pub fn new(gen: u32) -> Self {
        NamespaceController {
            gen,
            queue: WorkQueue::default(),
            cleaned: BTreeSet::new(),
        }
    }

    /// A new term: every namespace gets its default ServiceAccount; terminating ones are
    /// synced.
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, cache: &KcmCache) {
        let all: Vec<std::sync::Arc<Namespace>> = cache.namespaces.values().cloned().collect();
        for n in all {
            self.on_namespace(ctx, api, cache, &n);
        }
    }

    fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, name: &str) {
        let gen = self.gen;
        self.queue
            .add(ctx, name, SimDuration::ZERO, |name| Event::NamespaceSync {
                gen,
                name,
            });
    }

    /// Namespace added or updated.
    pub fn on_namespace(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        n: &Namespace,
    ) {
        if n.terminating {
            self.enqueue(ctx, &n.meta.name);
        } else {
            ensure_default_service_account(api, cache, &n.meta.name);
        }
    }

    /// A ServiceAccount or Secret was deleted: the default ServiceAccount of an Active
    /// namespace is recreated (`serviceAccountDeleted`).
    pub fn on_object_deleted(
        &mut self,
        api: &mut ApiServer,
        cache: &KcmCache,
        o: &NamespacedObject,
    ) {
        let active = cache
            .namespaces
            .get(&o.meta.namespace)
            .is_some_and(|n| !n.terminating);
        if o.kind == "ServiceAccount" && o.meta.name == DEFAULT_SERVICE_ACCOUNT && active {
            ensure_default_service_account(api, cache, &o.meta.namespace);
        }
    }

    /// A pod went: its namespace may now be empty.
    pub fn on_pod_deleted(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, p: &Pod) {
        if cache
            .namespaces
            .get(&p.meta.namespace)
            .is_some_and(|n| n.terminating)
        {
            self.enqueue(ctx, &p.meta.namespace);
        }
    }

    /// `syncNamespaceFromKey`: delete the content of a terminating namespace; finalize it when
    /// no pod is left.
    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        name: &str,
    ) {
        self.queue.start(name);
        if !cache.namespaces.get(name).is_some_and(|n| n.terminating) {
            self.cleaned.remove(name);
            return;
        }
        let p = format!("{name}/");
        if !self.cleaned.contains(name) {
            if !self.delete_content(ctx, api, cache, name) {
                return;
            }
            self.cleaned.insert(name.to_string());
        }
        // Pods deleted just now may already be gone from the store (unbound ones are).
        let left = api
            .pods()
            .range(p.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&p));
        if !left {
            self.cleaned.remove(name);
            let _ = api.finalize_namespace(Caller::ControllerManager, name);
        }
    }

    /// `deleteAllContent`: one DELETE per object of the namespace. False (and a retry
    /// scheduled) if a request failed.
    fn delete_content(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        name: &str,
    ) -> bool {
        let p = format!("{name}/");
        let c = Caller::ControllerManager;
        let bg = PropagationPolicy::Background;
        let mut results: Vec<Result<(), ApiError>> = Vec::new();
        for k in keys_in(&cache.deployments, &p) {
            results.push(api.delete_deployment(c, &k, bg).map(|_| ()));
        }
        let rs = keys_in(&cache.replicasets, &p);
        let rc = keys_in(&cache.replicasets, &format!("rc:{p}"));
        for k in rs.into_iter().chain(rc) {
            results.push(api.delete_replicaset(c, &k, bg).map(|_| ()));
        }
        for k in keys_in(&cache.statefulsets, &p) {
            results.push(api.delete_statefulset(c, &k));
        }
        for k in keys_in(&cache.daemonsets, &p) {
            results.push(api.delete_daemonset(c, &k));
        }
        for k in keys_in(&cache.pdbs, &p) {
            results.push(api.delete_pdb(c, &k));
        }
        for k in keys_in(&cache.services, &p) {
            results.push(api.delete_service(c, &k));
        }
        for kind in ["Secret", "ServiceAccount"] {
            for k in keys_in(&cache.namespaced_objects, &format!("{kind}:{p}")) {
                results.push(api.delete_namespaced_object(c, &k));
            }
        }
        let pods: Vec<String> = cache.pods.with_prefix(&p).map(|(k, _)| k.clone()).collect();
        for k in &pods {
            if !cache.pods[k].is_terminating() {
                results.push(api.delete_pod(c, k, None).map(|_| ()));
            }
        }
        let failed = results
            .iter()
            .any(|r| matches!(r, Err(e) if !matches!(e, ApiError::NotFound(_))));
        if failed {
            ctx.schedule_in(
                RETRY,
                Event::NamespaceSync {
                    gen: self.gen,
                    name: name.to_string(),
                },
            );
        }
        !failed
    }
}

/// `syncNamespace`: create the `default` ServiceAccount if the namespace lacks it.
fn ensure_default_service_account(api: &mut ApiServer, cache: &KcmCache, ns: &str) {
    let key = format!("ServiceAccount:{ns}/{DEFAULT_SERVICE_ACCOUNT}");
    if cache.namespaced_objects.contains_key(&key) || api.namespaced_objects().contains_key(&key) {
        return;
    }
    let sa = NamespacedObject {
        kind: "ServiceAccount".into(),
        meta: ObjectMeta {
            name: DEFAULT_SERVICE_ACCOUNT.into(),
            namespace: ns.to_string(),
            ..ObjectMeta::default()
        },
    };
    let _ = api.create_namespaced_object(Caller::ControllerManager, sa);
}
