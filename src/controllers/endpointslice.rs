//! The EndpointSlice controller: for every Service with a selector, EndpointSlices listing the
//! pods it selects, with each endpoint's `ready` / `serving` / `terminating` conditions.
//!
//! Upstream: `pkg/controller/endpointslice` and `k8s.io/endpointslice` — `ShouldPodBeInEndpoints`
//! (terminal pods and pods without an IP are left out; terminating pods stay in, as the
//! controller always includes them), `podToEndpoint` (`serving` = pod Ready, `terminating` =
//! deletionTimestamp set, `ready` = serving and not terminating, or `publishNotReadyAddresses`),
//! at most `maxEndpointsPerSlice` (100) endpoints per slice, new endpoints filling existing
//! slices before a new one is made, one empty placeholder slice for a Service without
//! endpoints, slices named `<service>-<5 random characters>` with the `kubernetes.io/service-name`
//! and `endpointslice.kubernetes.io/managed-by` labels and the Service as controller owner.
//! kubesim models no pod IPs: a pod "has an IP" once it is bound and Running. A pod change
//! queues its Services after `--endpointslice-updates-batch-period` (default 0; upstream
//! `endpointslice_controller.go` `addPod`/`updatePod`: `AddAfter(key,
//! endpointUpdatesBatchPeriod)`), a Service change at once.
//!
//! Invariant: a pod event touches only the Services of its namespace whose selector matches
//! it, and only the slice holding that pod; a sync writes only the slices that changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::cache::KcmCache;
use crate::api::ApiServer;
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Ctx, SimDuration};

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Retry of a sync whose writes failed (the API server was unreachable).
const RETRY: SimDuration = SimDuration::from_secs(1);

/// The controller's view of one Service's slices.
#[derive(Default)]
struct ServiceSlices {
    /// Pod name → the slice holding it.
    slice_of: BTreeMap<String, String>,
    /// Slice name → its endpoints by pod name.
    slices: BTreeMap<String, BTreeMap<String, Endpoint>>,
    /// Slices to write, and slices to delete, at the next sync.
    dirty: BTreeSet<String>,
    removed: BTreeSet<String>,
}

pub struct EndpointSliceController {
    gen: u32,
    /// `--endpointslice-updates-batch-period`: pod changes queue their Service this much later.
    batch_period: SimDuration,
    rng: ChaCha8Rng,
    pub(super) queue: WorkQueue,
    services: BTreeMap<String, ServiceSlices>,
}

/// `ShouldPodBeInEndpoints(pod, includeTerminating=true)` + `podToEndpoint`.
pub fn endpoint_for(p: &Pod, svc: &Service, zone: Option<&String>) -> Option<Endpoint> {
    let has_ip = p.spec.node_name.is_some() && p.status.phase == PodPhase::Running;
    if p.status.phase.is_terminal() || !has_ip {
        return None;
    }
    let serving = p.is_ready();
    let terminating = p.is_terminating();
    Some(Endpoint {
        pod: p.meta.name.clone(),
        node_name: p.spec.node_name.clone(),
        zone: zone.cloned(),
        conditions: EndpointConditions {
            ready: svc.publish_not_ready_addresses || (serving && !terminating),
            serving,
            terminating,
        },
    })
}

impl EndpointSliceController {
    pub fn new(seed: u64, gen: u32, batch_period: SimDuration) -> Self {
        EndpointSliceController {
            gen,
            batch_period,
            rng: rng::stream(seed, &format!("endpointslice-controller/{gen}")),
            queue: WorkQueue::default(),
            services: BTreeMap::new(),
        }
    }

    /// A new term: adopt the slices the API server has (a LIST), then reconcile every Service.
    pub fn start(&mut self, ctx: &mut dyn Ctx<Event>, api: &ApiServer, cache: &KcmCache) {
        let keys: Vec<String> = cache.services.keys().cloned().collect();
        for key in keys {
            let mut st = ServiceSlices::default();
            for s in api.slices_of(&key) {
                let eps: BTreeMap<String, Endpoint> = s
                    .endpoints
                    .iter()
                    .map(|e| (e.pod.clone(), e.clone()))
                    .collect();
                for pod in eps.keys() {
                    st.slice_of.insert(pod.clone(), s.meta.name.clone());
                }
                st.slices.insert(s.meta.name.clone(), eps);
            }
            self.services.insert(key.clone(), st);
            self.reconcile_all(ctx, cache, &key);
        }
    }

    fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        self.enqueue_after(ctx, key, SimDuration::ZERO);
    }

    /// `AddAfter`: a key already queued keeps its earlier sync.
    fn enqueue_after(&mut self, ctx: &mut dyn Ctx<Event>, key: &str, delay: SimDuration) {
        let gen = self.gen;
        self.queue
            .add(ctx, key, delay, |key| Event::EndpointSliceSync { gen, key });
    }

    /// A Service was added or changed: reconcile all its pods.
    pub fn on_service(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, key: &str) {
        self.services.entry(key.to_string()).or_default();
        self.reconcile_all(ctx, cache, key);
    }

    /// A Service was deleted: its slices go (the garbage collector's job upstream, through the
    /// owner reference; done here at once).
    pub fn on_service_deleted(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        if let Some(st) = self.services.get_mut(key) {
            st.removed.extend(st.slices.keys().cloned());
            st.slices.clear();
            st.slice_of.clear();
            st.dirty.clear();
            self.enqueue(ctx, key);
        }
    }

    fn reconcile_all(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, key: &str) {
        let Some(svc) = cache.services.get(key).cloned() else {
            return;
        };
        let prefix = format!("{}/", svc.meta.namespace);
        let mut desired: BTreeMap<String, Endpoint> = BTreeMap::new();
        for (_, p) in cache
            .pods
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            if svc.selects(&p.meta.labels) {
                if let Some(e) = endpoint_for(p, &svc, zone_of(cache, p)) {
                    desired.insert(p.meta.name.clone(), e);
                }
            }
        }
        let st = self.services.entry(key.to_string()).or_default();
        let stale: Vec<String> = st
            .slice_of
            .keys()
            .filter(|p| !desired.contains_key(*p))
            .cloned()
            .collect();
        for p in stale {
            set_endpoint(st, &mut self.rng, &svc.meta.name, &p, None);
        }
        for (p, e) in desired {
            set_endpoint(st, &mut self.rng, &svc.meta.name, &p, Some(e));
        }
        self.enqueue(ctx, key);
    }

    /// A pod was added, changed or deleted: update its endpoint in every Service of its
    /// namespace that selects it (or selected it before).
    pub fn on_pod(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, p: &Pod, deleted: bool) {
        if cache.services.is_empty() {
            return; // no Service selects anything
        }
        let prefix = format!("{}/", p.meta.namespace);
        let mut touched = Vec::new();
        for (key, svc) in cache
            .services
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            let Some(st) = self.services.get_mut(key) else {
                continue;
            };
            let want = if !deleted && svc.selects(&p.meta.labels) {
                endpoint_for(p, svc, zone_of(cache, p))
            } else {
                None
            };
            if set_endpoint(st, &mut self.rng, &svc.meta.name, &p.meta.name, want) {
                touched.push(key.clone());
            }
        }
        // addPod/updatePod/deletePod: `serviceQueue.AddAfter(key, endpointUpdatesBatchPeriod)`.
        for k in touched {
            self.enqueue_after(ctx, &k, self.batch_period);
        }
    }

    /// Writes the changed slices of one Service (and its placeholder when it has none).
    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        self.queue.start(key);
        let svc = cache.services.get(key).cloned();
        let Some(st) = self.services.get_mut(key) else {
            return;
        };
        if let Some(svc) = &svc {
            if svc.selector.as_ref().is_some_and(|s| !s.is_empty()) && st.slices.is_empty() {
                let name = slice_name(&mut self.rng, &svc.meta.name);
                st.slices.insert(name.clone(), BTreeMap::new());
                st.dirty.insert(name);
            }
        }
        let mut failed = false;
        for name in std::mem::take(&mut st.removed) {
            let k = pod_key(key.split_once('/').map_or("", |x| x.0), &name);
            match api.delete_endpointslice(Caller::ControllerManager, &k) {
                Ok(()) | Err(crate::api::ApiError::NotFound(_)) => {}
                Err(_) => {
                    st.removed.insert(name);
                    failed = true;
                }
            }
        }
        if let Some(svc) = svc {
            for name in std::mem::take(&mut st.dirty) {
                let Some(eps) = st.slices.get(&name) else {
                    continue;
                };
                let slice = build_slice(&svc, &name, eps);
                if api
                    .put_endpointslice(Caller::ControllerManager, slice)
                    .is_err()
                {
                    st.dirty.insert(name);
                    failed = true;
                }
            }
        }
        if failed {
            ctx.schedule_in(
                RETRY,
                Event::EndpointSliceSync {
                    gen: self.gen,
                    key: key.to_string(),
                },
            );
        }
    }
}

fn zone_of<'a>(cache: &'a KcmCache, p: &Pod) -> Option<&'a String> {
    let n = cache.nodes.get(p.spec.node_name.as_ref()?)?;
    n.meta.labels.get(LABEL_ZONE).filter(|z| !z.is_empty())
}

fn slice_name(r: &mut ChaCha8Rng, service: &str) -> String {
    let suffix: String = (0..5)
        .map(|_| NAME_ALPHABET[rng::below(r, NAME_ALPHABET.len() as u64) as usize] as char)
        .collect();
    format!("{service}-{suffix}")
}

/// Sets (or removes, with None) one pod's endpoint; true if anything changed. A new endpoint
/// goes into the first slice with room (placeholder slices included), else a new slice; a
/// slice left empty is deleted unless it is the Service's last.
fn set_endpoint(
    st: &mut ServiceSlices,
    r: &mut ChaCha8Rng,
    service: &str,
    pod: &str,
    want: Option<Endpoint>,
) -> bool {
    match (st.slice_of.get(pod).cloned(), want) {
        (None, None) => false,
        (Some(slice), Some(e)) => {
            let eps = st.slices.get_mut(&slice).expect("indexed slice");
            if eps.get(pod) == Some(&e) {
                return false;
            }
            eps.insert(pod.to_string(), e);
            st.dirty.insert(slice);
            true
        }
        (Some(slice), None) => {
            st.slice_of.remove(pod);
            let eps = st.slices.get_mut(&slice).expect("indexed slice");
            eps.remove(pod);
            if eps.is_empty() && st.slices.len() > 1 {
                st.slices.remove(&slice);
                st.dirty.remove(&slice);
                st.removed.insert(slice);
            } else {
                st.dirty.insert(slice);
            }
            true
        }
        (None, Some(e)) => {
            let room = st
                .slices
                .iter()
                .find(|(_, eps)| eps.len() < MAX_ENDPOINTS_PER_SLICE)
                .map(|(n, _)| n.clone());
            let slice = room.unwrap_or_else(|| slice_name(r, service));
            st.slices
                .entry(slice.clone())
                .or_default()
                .insert(pod.to_string(), e);
            st.slice_of.insert(pod.to_string(), slice.clone());
            st.dirty.insert(slice);
            true
        }
    }
}

/// The slice object: labels, owner reference, ports (the target port when it is a number,
/// else the Service port: kubesim does not resolve named container ports).
fn build_slice(svc: &Arc<Service>, name: &str, eps: &BTreeMap<String, Endpoint>) -> EndpointSlice {
    let mut meta = ObjectMeta {
        name: name.to_string(),
        namespace: svc.meta.namespace.clone(),
        ..ObjectMeta::default()
    };
    meta.labels
        .insert(LABEL_SERVICE_NAME.into(), svc.meta.name.clone());
    meta.labels
        .insert(LABEL_MANAGED_BY.into(), CONTROLLER_NAME.into());
    meta.owner_references.push(OwnerRef {
        kind: "Service".into(),
        name: svc.meta.name.clone(),
        controller: true,
    });
    let ports = svc
        .ports
        .iter()
        .map(|p| ServicePort {
            port: match p.target_port {
                IntOrString::Int(n) => n,
                IntOrString::Str(_) => p.port,
            },
            ..p.clone()
        })
        .collect();
    EndpointSlice {
        meta,
        endpoints: eps.values().cloned().collect(),
        ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> Service {
        let mut s = Service::default();
        s.meta.name = "web".into();
        s.meta.namespace = "default".into();
        s.selector = Some([("app".to_string(), "web".to_string())].into());
        s
    }

    fn running(ready: bool, terminating: bool) -> Pod {
        let mut p = Pod::default();
        p.meta.name = "p".into();
        p.spec.node_name = Some("n".into());
        p.status.phase = PodPhase::Running;
        let s = if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        p.set_condition(PodConditionType::Ready, s, "", crate::sim::SimTime::ZERO);
        if terminating {
            p.meta.deletion_timestamp = Some(crate::sim::SimTime::ZERO);
        }
        p
    }

    // podToEndpoint (k8s.io/endpointslice utils): ready = serving && !terminating.
    #[test]
    fn endpoint_conditions_follow_readiness_and_deletion() {
        let s = svc();
        let c = |p: &Pod| endpoint_for(p, &s, None).unwrap().conditions;
        let cond = |ready, serving, terminating| EndpointConditions {
            ready,
            serving,
            terminating,
        };
        assert_eq!(c(&running(true, false)), cond(true, true, false));
        assert_eq!(c(&running(false, false)), cond(false, false, false));
        assert_eq!(c(&running(true, true)), cond(false, true, true));
        assert_eq!(c(&running(false, true)), cond(false, false, true));
        // publishNotReadyAddresses makes every endpoint ready.
        let mut s2 = svc();
        s2.publish_not_ready_addresses = true;
        let e = endpoint_for(&running(false, true), &s2, None).unwrap();
        assert!(e.conditions.ready);
        // ShouldPodBeInEndpoints: terminal pods and pods without an IP are left out.
        let mut p = running(true, false);
        p.status.phase = PodPhase::Succeeded;
        assert!(endpoint_for(&p, &s, None).is_none());
        let mut p = running(true, false);
        p.status.phase = PodPhase::Pending;
        assert!(endpoint_for(&p, &s, None).is_none());
    }

    // maxEndpointsPerSlice = 100: the 101st endpoint opens a second slice; removing endpoints
    // leaves the others where they are.
    #[test]
    fn slices_hold_at_most_100_endpoints() {
        let mut st = ServiceSlices::default();
        let mut r = rng::stream(1, "t");
        for i in 0..250 {
            let e = Endpoint {
                pod: format!("p{i:03}"),
                ..Endpoint::default()
            };
            set_endpoint(&mut st, &mut r, "web", &e.pod.clone(), Some(e));
        }
        let mut sizes: Vec<usize> = st.slices.values().map(|s| s.len()).collect();
        sizes.sort();
        assert_eq!(sizes, vec![50, 100, 100]);
        let home = st.slice_of["p000"].clone();
        set_endpoint(&mut st, &mut r, "web", "p001", None);
        assert_eq!(st.slice_of["p000"], home);
        assert_eq!(st.slices.values().map(|s| s.len()).sum::<usize>(), 249);
        // The freed place is filled before a new slice is made.
        let e = Endpoint {
            pod: "q".into(),
            ..Endpoint::default()
        };
        set_endpoint(&mut st, &mut r, "web", "q", Some(e));
        assert_eq!(st.slices.len(), 3);
    }
}
