//! The API server's Services and EndpointSlices (`v1`, `discovery.k8s.io/v1`).
//!
//! Invariant: slices are indexed by the Service they belong to (their
//! `kubernetes.io/service-name` label), so readers count a Service's endpoints without scanning
//! every slice. Services are watched by the controller manager; slices by nobody (kube-proxy is
//! not modelled), so writing one emits no notification.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{ApiError, ApiServer, Change, Watcher};
use crate::model::*;
use crate::network::Caller;

/// Services, slices and the slice index.
#[derive(Default)]
pub struct ServiceStore {
    pub services: BTreeMap<String, Arc<Service>>,
    pub slices: BTreeMap<String, Arc<EndpointSlice>>,
    pub slices_by_service: BTreeMap<String, BTreeSet<String>>,
}

impl ApiServer {
    pub fn services(&self) -> &BTreeMap<String, Arc<Service>> {
        &self.svc.services
    }

    pub fn endpointslices(&self) -> &BTreeMap<String, Arc<EndpointSlice>> {
        &self.svc.slices
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

    /// Endpoints of a Service whose `ready` condition is true, over all its slices.
    pub fn ready_endpoints(&self, service: &str) -> usize {
        self.slices_of(service)
            .iter()
            .map(|s| s.endpoints.iter().filter(|e| e.conditions.ready).count())
            .sum()
    }

    pub fn create_service(
        &mut self,
        caller: Caller,
        mut s: Service,
    ) -> Result<Arc<Service>, ApiError> {
        self.check(caller)?;
        self.admit_namespace(&s.meta.namespace)?;
        let key = s.key();
        if self.svc.services.contains_key(&key) {
            return Err(ApiError::AlreadyExists(format!("Service/{key}")));
        }
        s.meta.uid = self.next_uid;
        self.next_uid += 1;
        s.meta.creation_timestamp = self.now;
        s.meta.resource_version = self.next_rv();
        let s = Arc::new(s);
        self.svc.services.insert(key, s.clone());
        self.outbox
            .push((Watcher::ControllerManager, Change::Service(s.clone())));
        // kube-scheduler's Service lister (default spreading selectors).
        self.outbox
            .push((Watcher::Scheduler, Change::Service(s.clone())));
        Ok(s)
    }

    pub fn delete_service(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let s = self
            .svc
            .services
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(format!("Service/{key}")))?;
        self.next_rv();
        self.outbox.push((
            Watcher::ControllerManager,
            Change::ServiceDeleted(s.clone()),
        ));
        self.outbox
            .push((Watcher::Scheduler, Change::ServiceDeleted(s)));
        Ok(())
    }

    /// POST or PUT an EndpointSlice (the controller owns its slices; no conflicts).
    pub fn put_endpointslice(
        &mut self,
        caller: Caller,
        mut s: EndpointSlice,
    ) -> Result<Arc<EndpointSlice>, ApiError> {
        self.check(caller)?;
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
        s.meta.resource_version = self.next_rv();
        let s = Arc::new(s);
        if let Some(svc) = s.service_key() {
            self.svc
                .slices_by_service
                .entry(svc)
                .or_default()
                .insert(key.clone());
        }
        self.svc.slices.insert(key, s.clone());
        Ok(s)
    }

    pub fn delete_endpointslice(&mut self, caller: Caller, key: &str) -> Result<(), ApiError> {
        self.check(caller)?;
        let s = self
            .svc
            .slices
            .remove(key)
            .ok_or_else(|| ApiError::NotFound(format!("EndpointSlice/{key}")))?;
        if let Some(svc) = s.service_key() {
            if let Some(set) = self.svc.slices_by_service.get_mut(&svc) {
                set.remove(key);
                if set.is_empty() {
                    self.svc.slices_by_service.remove(&svc);
                }
            }
        }
        self.next_rv();
        Ok(())
    }
}
