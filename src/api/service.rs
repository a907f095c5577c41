//! The API server's Services and EndpointSlices (`v1`, `discovery.k8s.io/v1`).
//!
//! Invariant: slices are indexed by the Service they belong to (their
//! `kubernetes.io/service-name` label), so readers count a Service's endpoints without scanning
//! every slice. Services are watched by the controller manager, the scheduler and kube-proxy;
//! slices by kube-proxy only (the cluster drops those notifications when it runs no proxies).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::store::{stored_in, ApiObject, Store, Write, CM_SCHEDULER_AND_PROXY};
use super::{ApiError, ApiServer, Change, Verb, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;

/// Services, slices and the slice index.
#[derive(Default)]
pub(super) struct ServiceStore {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    slices_by_service: BTreeMap<String, BTreeSet<String>>,
}

impl ApiObject for Service {
    const KIND: &'static str = "Service";
    stored_in!(svc.services);
    fn store_key(&self) -> String {
        self.key()
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::ServiceDeleted(obj),
            _ => Change::Service(obj),
        })
    }
    /// kube-scheduler's Service lister (default spreading selectors) and kube-proxy's.
    fn watchers(_: Write) -> &'static [Watcher] {
        CM_SCHEDULER_AND_PROXY
    }
}

/// kube-proxy watches slices (pkg/proxy/config `EndpointSliceConfig`).
impl ApiObject for EndpointSlice {
    const KIND: &'static str = "EndpointSlice";
    stored_in!(svc.slices);
    fn store_key(&self) -> String {
        self.key()
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::EndpointSliceDeleted(obj),
            _ => Change::EndpointSlice(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        &[Watcher::KubeProxy]
    }
}

impl ApiServer {
    pub fn services(&self) -> &NameMap<Arc<Service>> {
        self.svc.services.map()
    }

    pub fn endpointslices(&self) -> &NameMap<Arc<EndpointSlice>> {
        self.svc.slices.map()
    }

    /// The slices of a Service (by its `namespace/name`), in name order.
    pub fn slices_of(&self, service: &str) -> Vec<Arc<EndpointSlice>> {
        self.svc
            .slices_by_service
            .get(service)
            .into_iter()
            .flatten()
            .filter_map(|k| self.svc.slices.get(k).cloned())
            .collect()
    }

    /// LIST every Service and EndpointSlice (kube-proxy's informers starting or re-listing).
    #[allow(clippy::type_complexity)]
    pub fn list_services_and_slices(
        &self,
        caller: Caller,
    ) -> Result<(Vec<Arc<Service>>, Vec<Arc<EndpointSlice>>), ApiError> {
        self.check(caller, Verb::List)?;
        Ok((
            self.svc.services.map().values().cloned().collect(),
            self.svc.slices.map().values().cloned().collect(),
        ))
    }

    /// Endpoints of a Service whose `ready` condition is true, over all its slices.
    pub fn ready_endpoints(&self, service: &str) -> usize {
        self.slices_of(service)
            .iter()
            .map(|s| s.endpoints.iter().filter(|e| e.conditions.ready).count())
            .sum()
    }

    /// POST a Service (`NamespaceLifecycle` admission comes before the name-conflict check).
    pub fn create_service(&mut self, caller: Caller, s: Service) -> Result<Arc<Service>, ApiError> {
        self.check(caller, Verb::Create)?;
        self.admit_namespace(&s.meta.namespace)?;
        self.create_object(caller, s, |_, _| Ok(()))
    }

    pub fn delete_service(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.delete_object::<Service>(caller, key).map(|_| ())
    }

    /// POST or PUT an EndpointSlice (the controller owns its slices; no conflicts).
    pub fn put_endpointslice(
        &mut self,
        caller: Caller,
        mut s: EndpointSlice,
    ) -> Result<Arc<EndpointSlice>, ApiError> {
        self.check(caller, Verb::Update)?;
        let key = s.key();
        match self.svc.slices.get(&key) {
            Some(old) => {
                s.meta.uid = old.meta.uid;
                s.meta.creation_timestamp = old.meta.creation_timestamp;
                s.meta.resource_version = old.meta.resource_version;
                if **old == s {
                    return Ok(old.clone());
                }
            }
            None => {
                s.meta.uid = self.next_uid;
                self.next_uid += 1;
                s.meta.creation_timestamp = self.now;
            }
        }
        let write = if self.svc.slices.get(&key).is_some() {
            Write::Updated
        } else {
            Write::Created
        };
        let s = self.commit(&key, s);
        self.notify(&s, write);
        if let Some(svc) = s.service_key() {
            self.svc
                .slices_by_service
                .entry(svc)
                .or_default()
                .insert(key);
        }
        Ok(s)
    }

    pub fn delete_endpointslice(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        let s = self.delete_object::<EndpointSlice>(caller, key)?;
        if let Some(svc) = s.service_key() {
            if let Some(set) = self.svc.slices_by_service.get_mut(&svc) {
                set.remove(key);
                if set.is_empty() {
                    self.svc.slices_by_service.remove(&svc);
                }
            }
        }
        Ok(())
    }
}
