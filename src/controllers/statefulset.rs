//! The StatefulSet controller: pods with stable names `<set>-<ordinal>`, created in ordinal
//! order and each only once its predecessors are Running and Ready (`OrderedReady`), or all at
//! once (`Parallel`); scale-down from the highest ordinal. A pod that is being deleted is not
//! replaced until its object is gone (the name is reused), so a pod evicted from a partitioned
//! node is not replaced during the partition.
//!
//! Upstream: `pkg/controller/statefulset/stateful_set_control.go` (`updateStatefulSet`:
//! replicas and condemned, `isRunningAndReady`, `isTerminating`, monotonic creation and
//! deletion) and `stateful_pod_control.go` (event texts).
//!
//! Invariant: decisions come from the cache; pod names are fixed, so a creation the cache has
//! not seen yet fails with AlreadyExists instead of creating twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::cache::KcmCache;
use super::replicaset::{is_pod_available, is_pod_ready};
use crate::api::{ApiError, ApiServer};
use crate::cluster::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Engine, Record, SimDuration};

const SOURCE: &str = "statefulset-controller";
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

pub struct StatefulSetController {
    queued: BTreeSet<String>,
    gen: u32,
}

/// The ordinal of a pod named `<set>-<n>`.
pub fn ordinal(set: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

fn running_and_ready(p: &Pod) -> bool {
    p.status.phase == PodPhase::Running && is_pod_ready(p)
}

impl StatefulSetController {
    pub fn new(gen: u32) -> Self {
        StatefulSetController {
            queued: BTreeSet::new(),
            gen,
        }
    }

    pub fn enqueue(&mut self, ctx: &mut Engine<Event>, key: &str) {
        if self.queued.insert(key.to_string()) {
            ctx.schedule_in(
                SimDuration::ZERO,
                Event::StatefulSetSync {
                    gen: self.gen,
                    key: key.to_string(),
                },
            );
        }
    }

    pub fn observe_pod(&mut self, ctx: &mut Engine<Event>, pod: &Pod) {
        if let Some(k) = super::cache::statefulset_of(pod) {
            self.enqueue(ctx, &k);
        }
    }

    pub fn sync(
        &mut self,
        ctx: &mut Engine<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        self.queued.remove(key);
        let Some(set) = cache.statefulsets.get(key).cloned() else {
            return;
        };
        let mut pods: Vec<(i32, Arc<Pod>)> = cache
            .pods_by_statefulset
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|k| cache.pods.get(k))
            .filter_map(|p| ordinal(&set.meta.name, &p.meta.name).map(|o| (o, p.clone())))
            .collect();
        pods.sort_by_key(|(o, _)| *o);
        if set.meta.deletion_timestamp.is_none() {
            self.update(ctx, api, &set, &pods);
        }
        self.update_status(ctx, api, &set, &pods);
    }

    /// `updateStatefulSet` (without revisions): create missing ordinals, replace failed pods,
    /// wait on terminating or unready ones under OrderedReady, then delete condemned ordinals
    /// from the highest.
    fn update(
        &mut self,
        ctx: &mut Engine<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        pods: &[(i32, Arc<Pod>)],
    ) {
        let monotonic = !set.parallel;
        let pod_at = |o: i32| pods.iter().find(|(x, _)| *x == o).map(|(_, p)| p);
        for o in 0..set.replicas.max(0) {
            match pod_at(o) {
                None => {
                    self.create_pod(ctx, api, set, o);
                    if monotonic {
                        return;
                    }
                }
                Some(p) if p.status.phase == PodPhase::Failed && !p.is_terminating() => {
                    // A failed pod is deleted and recreated under the same name.
                    self.delete_pod(ctx, api, set, p);
                    if monotonic {
                        return;
                    }
                }
                Some(p) if p.is_terminating() => {
                    // "StatefulSet is waiting for Pod to be Terminated" (no replacement yet).
                    if monotonic {
                        return;
                    }
                }
                Some(p) if !running_and_ready(p) => {
                    if monotonic {
                        return;
                    }
                }
                Some(_) => {}
            }
        }
        // Condemned: ordinals ≥ replicas, highest first.
        let mut condemned: Vec<&Arc<Pod>> = pods
            .iter()
            .filter(|(o, _)| *o >= set.replicas)
            .map(|(_, p)| p)
            .collect();
        condemned.reverse();
        for p in condemned {
            if p.is_terminating() {
                if monotonic {
                    return;
                }
                continue;
            }
            self.delete_pod(ctx, api, set, p);
            if monotonic {
                return;
            }
        }
    }

    fn create_pod(
        &mut self,
        ctx: &mut Engine<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        o: i32,
    ) {
        let name = format!("{}-{o}", set.meta.name);
        let mut labels = set.template.labels.clone();
        labels.insert(POD_NAME_LABEL.into(), name.clone());
        labels.insert(POD_INDEX_LABEL.into(), o.to_string());
        let pod = Pod {
            meta: ObjectMeta {
                name: name.clone(),
                namespace: set.meta.namespace.clone(),
                labels,
                annotations: set.template.annotations.clone(),
                owner_references: vec![OwnerRef {
                    kind: "StatefulSet".into(),
                    name: set.meta.name.clone(),
                    controller: true,
                }],
                ..Default::default()
            },
            spec: set.template.spec.clone(),
            status: PodStatus::default(),
        };
        match api.create_pod(Caller::ControllerManager, pod) {
            Ok(_) => ctx.record(Record {
                t: ctx.now(),
                reason: "SuccessfulCreate",
                source: SOURCE,
                object: format!("StatefulSet/{}", set.key()),
                message: format!(
                    "create Pod {name} in StatefulSet {} successful",
                    set.meta.name
                ),
                fields: vec![],
            }),
            // Not yet in the cache (or still there, terminating): the next sync sees it.
            Err(ApiError::AlreadyExists(_)) => {}
            Err(_) => {
                if self.queued.insert(set.key()) {
                    ctx.schedule_in(
                        SimDuration::from_secs(1),
                        Event::StatefulSetSync {
                            gen: self.gen,
                            key: set.key(),
                        },
                    );
                }
            }
        }
    }

    fn delete_pod(
        &mut self,
        ctx: &mut Engine<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        p: &Pod,
    ) {
        if api
            .delete_pod(Caller::ControllerManager, &p.key(), None)
            .is_ok()
        {
            ctx.record(Record {
                t: ctx.now(),
                reason: "SuccessfulDelete",
                source: SOURCE,
                object: format!("StatefulSet/{}", set.key()),
                message: format!(
                    "delete Pod {} in StatefulSet {} successful",
                    p.meta.name, set.meta.name
                ),
                fields: vec![],
            });
        }
    }

    fn update_status(
        &mut self,
        ctx: &mut Engine<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        pods: &[(i32, Arc<Pod>)],
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(set.min_ready_seconds.max(0) as u64);
        let mut st = StatefulSetStatus {
            observed_generation: set.meta.generation,
            ..Default::default()
        };
        for (_, p) in pods {
            if p.status.phase.is_terminal() {
                continue;
            }
            st.replicas += 1;
            st.current_replicas += 1;
            if running_and_ready(p) {
                st.ready_replicas += 1;
                if is_pod_available(p, min_ready, now) {
                    st.available_replicas += 1;
                }
            }
        }
        if st != set.status {
            let _ =
                api.update_statefulset(Caller::ControllerManager, &set.key(), |s| s.status = st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_come_from_the_name() {
        assert_eq!(ordinal("web", "web-0"), Some(0));
        assert_eq!(ordinal("web", "web-12"), Some(12));
        assert_eq!(ordinal("web", "web-x"), None);
        assert_eq!(ordinal("web", "webby-1"), None);
    }
}
