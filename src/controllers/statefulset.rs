//! The StatefulSet controller: pods with stable names `<set>-<ordinal>`, created in ordinal
//! order and each only once its predecessors are Running and Available (`OrderedReady`), or
//! all at once (`Parallel`); scale-down from the highest ordinal. A pod that is being deleted
//! is not replaced until its object is gone (the name is reused), so a pod evicted from a
//! partitioned node is not replaced during the partition.
//!
//! Template changes are rolled out through revisions (`ControllerRevision`s named
//! `<set>-<hash>`, kept on the set): each pod carries its revision in the
//! `controller-revision-hash` label; under `RollingUpdate` the pod with the highest ordinal
//! ≥ `partition` that is not at the update revision is deleted, one at a time, each only once
//! every other pod is Running and Available, and recreated from the update revision (ordinals
//! below the partition are recreated from the current revision). `OnDelete` replaces nothing
//! by itself. The update completes (current revision := update revision) when every pod is
//! updated and ready.
//!
//! Upstream: `pkg/controller/statefulset/stateful_set_control.go` (`getStatefulSetRevisions`,
//! `updateStatefulSet`, `processReplica`, `processCondemned`, `computeReplicaStatus`,
//! `completeRollingUpdate`, `truncateHistory`), `stateful_set_utils.go`
//! (`newVersionedStatefulSetPod`, `isRunningAndAvailable`) and `stateful_pod_control.go`
//! (event texts). MaxUnavailableStatefulSet (alpha through 1.34) is off.
//!
//! Invariant: decisions come from the cache; pod names are fixed, so a creation the cache has
//! not seen yet fails with AlreadyExists instead of creating twice. The history is computed
//! from the cached set and its template only, so a repeated computation on a stale cache
//! writes the same revisions.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::cache::KcmCache;
use super::clients::{self, ControllerClients};
use super::deployment_util::compute_hash;
use super::replicaset::{becomes_available_at, is_pod_available, Rechecks};
use crate::api::{ApiError, ApiServer, Verb};
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record, SimDuration, SimTime};

const SOURCE: &str = "statefulset-controller";
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// `apps.ControllerRevisionHashLabelKey`.
pub const REVISION_LABEL: &str = "controller-revision-hash";

pub struct StatefulSetController {
    pub(super) queue: WorkQueue,
    /// Pending availability re-checks (minReadySeconds).
    recheck: Rechecks,
    /// Pods (`namespace/name`) with a create or delete waiting for the client's token.
    in_flight: BTreeSet<String>,
    gen: u32,
}

/// The ordinal of a pod named `<set>-<n>`.
pub fn ordinal(set: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

fn running_and_ready(p: &Pod) -> bool {
    p.status.phase == PodPhase::Running && p.is_ready()
}

/// `isRunningAndAvailable`.
fn running_and_available(p: &Pod, min_ready: SimDuration, now: SimTime) -> bool {
    p.status.phase == PodPhase::Running && is_pod_available(p, min_ready, now)
}

/// `isUnavailable`: not running and available, or terminating.
fn unavailable(p: &Pod, min_ready: SimDuration, now: SimTime) -> bool {
    !running_and_available(p, min_ready, now) || p.is_terminating()
}

fn pod_revision(p: &Pod) -> &str {
    p.meta.labels.get(REVISION_LABEL).map_or("", |s| s.as_str())
}

/// `getStatefulSetRevisions` over the set's history (sorted by revision number): the update
/// revision is the set's template — the newest revision if equal, an older equal one moved to
/// the next number (a rollback), or a new revision; the current one is `status.currentRevision`
/// (the update revision when the set has none yet). Returns (history, current, update).
pub fn revisions(set: &StatefulSet) -> (Vec<ControllerRevision>, String, String) {
    let mut history = set.history.clone();
    history.sort_by_key(|r| r.revision);
    let next = history.last().map_or(1, |r| r.revision + 1);
    let update = match history.iter().rposition(|r| r.template == set.template) {
        Some(i) if i + 1 == history.len() => history[i].name.clone(),
        Some(i) => {
            let mut r = history.remove(i);
            r.revision = next;
            let name = r.name.clone();
            history.push(r);
            name
        }
        None => {
            let name = format!("{}-{}", set.meta.name, compute_hash(&set.template, None));
            // A hash collision with a different template: upstream bumps collisionCount.
            let name = if history.iter().any(|r| r.name == name) {
                format!(
                    "{}-{}",
                    set.meta.name,
                    compute_hash(&set.template, Some(history.len() as i32))
                )
            } else {
                name
            };
            history.push(ControllerRevision {
                name: name.clone(),
                revision: next,
                template: set.template.clone(),
            });
            name
        }
    };
    let current = if history
        .iter()
        .any(|r| r.name == set.status.current_revision)
    {
        set.status.current_revision.clone()
    } else {
        update.clone()
    };
    (history, current, update)
}

/// `truncateHistory`: revisions that are neither current, update nor any pod's are deleted,
/// oldest first, until `revisionHistoryLimit` remain.
fn truncate_history(history: &mut Vec<ControllerRevision>, live: &BTreeSet<&str>, limit: i32) {
    let dead: Vec<String> = history
        .iter()
        .filter(|r| !live.contains(r.name.as_str()))
        .map(|r| r.name.clone())
        .collect();
    let excess = dead.len().saturating_sub(limit.max(0) as usize);
    let drop: BTreeSet<&String> = dead.iter().take(excess).collect();
    history.retain(|r| !drop.contains(&r.name));
}

impl StatefulSetController {
    pub fn new(gen: u32) -> Self {
        StatefulSetController {
            queue: WorkQueue::default(),
            recheck: Rechecks::default(),
            in_flight: BTreeSet::new(),
            gen,
        }
    }

    pub fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let gen = self.gen;
        self.queue
            .add(ctx, key, SimDuration::ZERO, |key| Event::StatefulSetSync {
                gen,
                key,
            });
    }

    pub fn observe_pod(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod) {
        if let Some(k) = super::cache::statefulset_of(pod) {
            self.enqueue(ctx, &k);
        }
    }

    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        key: &str,
    ) {
        self.queue.start(key);
        self.recheck.synced(key, ctx.now());
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
        let (mut history, current, update) = revisions(&set);
        let mut status = StatefulSetStatus {
            observed_generation: set.meta.generation,
            current_revision: current.clone(),
            update_revision: update.clone(),
            ..Default::default()
        };
        if set.meta.deletion_timestamp.is_none() {
            let template = |name: &str| {
                history
                    .iter()
                    .find(|r| r.name == name)
                    .map_or(&set.template, |r| &r.template)
                    .clone()
            };
            let revs = Revs {
                current: &current,
                current_template: template(&current),
                update: &update,
            };
            self.update(ctx, api, clients, &set, &pods, &revs, &mut status);
        }
        self.count_status(ctx, &set, &pods, &mut status);
        // completeRollingUpdate.
        if matches!(
            set.update_strategy,
            StatefulSetUpdateStrategy::RollingUpdate { .. }
        ) && status.updated_replicas == status.replicas
            && status.ready_replicas == status.replicas
        {
            status.current_replicas = status.updated_replicas;
            status.current_revision = status.update_revision.clone();
        }
        let mut live: BTreeSet<&str> = pods.iter().map(|(_, p)| pod_revision(p)).collect();
        live.insert(&status.current_revision);
        live.insert(&status.update_revision);
        truncate_history(&mut history, &live, set.revision_history_limit);
        if history != set.history || status != set.status {
            let _ = api.update_statefulset(Caller::ControllerManager, key, |s| {
                s.history = history;
                s.status = status;
            });
        }
    }

    /// `updateStatefulSet`: create missing ordinals, replace failed or succeeded pods, wait
    /// on terminating or unavailable ones under OrderedReady, delete condemned ordinals from
    /// the highest, then (RollingUpdate) replace the highest outdated ordinal ≥ partition.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        set: &StatefulSet,
        pods: &[(i32, Arc<Pod>)],
        revs: &Revs,
        status: &mut StatefulSetStatus,
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(set.min_ready_seconds.max(0) as u64);
        let monotonic = !set.parallel;
        let pod_at = |o: i32| pods.iter().find(|(x, _)| *x == o).map(|(_, p)| p);
        let condemned: Vec<&Arc<Pod>> = pods
            .iter()
            .rev()
            .filter(|(o, _)| *o >= set.replicas)
            .map(|(_, p)| p)
            .collect();
        // The first unavailable pod: among the replicas (a missing one counts), else among
        // the condemned from the lowest ordinal.
        let first_unavailable: Option<&Arc<Pod>> = {
            let missing = (0..set.replicas.max(0)).any(|o| pod_at(o).is_none());
            let rep = (0..set.replicas.max(0))
                .filter_map(pod_at)
                .find(|p| unavailable(p, min_ready, now));
            if rep.is_some() || missing {
                rep
            } else {
                condemned
                    .iter()
                    .rev()
                    .find(|p| unavailable(p, min_ready, now))
                    .copied()
            }
        };
        for o in 0..set.replicas.max(0) {
            let Some(p) = pod_at(o) else {
                self.send_create(ctx, api, clients, set, o, revs);
                if monotonic {
                    return;
                }
                continue;
            };
            if p.status.phase.is_terminal() {
                // A failed or succeeded pod is deleted and recreated under the same name on
                // a sync after its object is gone.
                if !p.is_terminating() {
                    self.send_delete(ctx, api, clients, set, p, "");
                }
                if monotonic {
                    return;
                }
                continue;
            }
            // "StatefulSet is waiting for Pod to Terminate / be Running and Ready / be
            // Available".
            if monotonic && (p.is_terminating() || !running_and_available(p, min_ready, now)) {
                self.recheck(ctx, set, p, min_ready);
                return;
            }
        }
        for p in &condemned {
            if p.is_terminating() {
                if monotonic {
                    return;
                }
                continue;
            }
            let is_first = first_unavailable.is_some_and(|f| Arc::ptr_eq(f, p));
            if monotonic && !running_and_available(p, min_ready, now) && !is_first {
                self.recheck(ctx, set, p, min_ready);
                return;
            }
            self.send_delete(ctx, api, clients, set, p, "");
            if monotonic {
                return;
            }
        }
        let StatefulSetUpdateStrategy::RollingUpdate { partition, .. } = set.update_strategy else {
            return;
        };
        // One pod at a time (MaxUnavailableStatefulSet off): the highest ordinal ≥ partition
        // not at the update revision, unless a higher one is still unavailable.
        for o in (partition.max(0)..set.replicas.max(0)).rev() {
            let Some(p) = pod_at(o) else {
                return;
            };
            if pod_revision(p) != revs.update && !p.is_terminating() {
                self.send_delete(ctx, api, clients, set, p, " for update");
                status.current_replicas -= 1;
                return;
            }
            if unavailable(p, min_ready, now) {
                self.recheck(ctx, set, p, min_ready);
                return;
            }
        }
    }

    /// A pod that is Ready but not yet available becomes available after `minReadySeconds`
    /// without any event: sync again then (upstream enqueues after `minReadySeconds`).
    fn recheck(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        set: &StatefulSet,
        p: &Pod,
        min_ready: SimDuration,
    ) {
        let Some(at) = becomes_available_at(p, min_ready, ctx.now()) else {
            return;
        };
        if self.recheck.want(&set.key(), at) {
            ctx.schedule_at(
                at,
                Event::StatefulSetSync {
                    gen: self.gen,
                    key: set.key(),
                },
            );
        }
    }

    /// A creation through the `statefulset-controller` client: at once with a free token,
    /// else at the token's instant; a pod with a request in flight is not asked for again.
    fn send_create(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        set: &StatefulSet,
        o: i32,
        revs: &Revs,
    ) {
        let name = format!("{}/{}-{o}", set.meta.namespace, set.meta.name);
        if self.in_flight.contains(&name) {
            return;
        }
        let Some(at) = clients.admit(ctx.now(), clients::STATEFULSET, api, Verb::Create) else {
            return self.create_pod(ctx, api, set, o, revs);
        };
        self.in_flight.insert(name.clone());
        let set = set.clone();
        let (current, template, update) = (
            revs.current.to_string(),
            revs.current_template.clone(),
            revs.update.to_string(),
        );
        let write: clients::Write = Box::new(move |cm, ctx, api| {
            let c = &mut cm.statefulset;
            c.in_flight.remove(&name);
            let revs = Revs {
                current: &current,
                current_template: template,
                update: &update,
            };
            c.create_pod(ctx, api, &set, o, &revs);
        });
        clients.defer(ctx, clients::STATEFULSET, at, write);
    }

    /// A deletion through the client, as `send_create`.
    fn send_delete(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        set: &StatefulSet,
        p: &Pod,
        why: &'static str,
    ) {
        let name = p.key();
        if self.in_flight.contains(&name) {
            return;
        }
        let Some(at) = clients.admit(ctx.now(), clients::STATEFULSET, api, Verb::Delete) else {
            return self.delete_pod(ctx, api, set, p, why);
        };
        self.in_flight.insert(name.clone());
        let (set, p) = (set.clone(), p.clone());
        let write: clients::Write = Box::new(move |cm, ctx, api| {
            cm.statefulset.in_flight.remove(&name);
            cm.statefulset.delete_pod(ctx, api, &set, &p, why);
        });
        clients.defer(ctx, clients::STATEFULSET, at, write);
    }

    /// `newVersionedStatefulSetPod`: ordinals below the partition come from the current
    /// revision, the others from the update revision.
    fn create_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        o: i32,
        revs: &Revs,
    ) {
        let (revision, template) = match set.update_strategy {
            StatefulSetUpdateStrategy::RollingUpdate { partition, .. } if o < partition => {
                (revs.current, &revs.current_template)
            }
            _ => (revs.update, &set.template),
        };
        let name = format!("{}-{o}", set.meta.name);
        let mut labels = template.labels.clone();
        labels.insert(POD_NAME_LABEL.into(), name.clone());
        labels.insert(POD_INDEX_LABEL.into(), o.to_string());
        labels.insert(REVISION_LABEL.into(), revision.to_string());
        let pod = Pod {
            meta: ObjectMeta {
                name: name.clone(),
                namespace: set.meta.namespace.clone(),
                labels,
                annotations: template.annotations.clone(),
                owner_references: vec![OwnerRef {
                    kind: "StatefulSet".into(),
                    name: set.meta.name.clone(),
                    controller: true,
                }],
                ..Default::default()
            },
            spec: template.spec.clone(),
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
                fields: vec![("revision", revision.to_string())],
            }),
            // Not yet in the cache (or still there, terminating): the next sync sees it.
            Err(ApiError::AlreadyExists(_)) => {}
            Err(_) => {
                let gen = self.gen;
                self.queue
                    .add(ctx, &set.key(), SimDuration::from_secs(1), |key| {
                        Event::StatefulSetSync { gen, key }
                    });
            }
        }
    }

    fn delete_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        set: &StatefulSet,
        p: &Pod,
        why: &str,
    ) {
        if api
            .delete_pod(Caller::ControllerManager, &p.key(), None)
            .is_ok()
        {
            let fields = if why.is_empty() {
                vec![]
            } else {
                vec![("cause", why.trim().to_string())]
            };
            ctx.record(Record {
                t: ctx.now(),
                reason: "SuccessfulDelete",
                source: SOURCE,
                object: format!("StatefulSet/{}", set.key()),
                message: format!(
                    "delete Pod {} in StatefulSet {} successful",
                    p.meta.name, set.meta.name
                ),
                fields,
            });
        }
    }

    /// `computeReplicaStatus` over every pod of the set (terminating and finished ones count
    /// in `replicas`, as upstream's `isCreated`); current/updated count live pods by revision.
    fn count_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        set: &StatefulSet,
        pods: &[(i32, Arc<Pod>)],
        st: &mut StatefulSetStatus,
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(set.min_ready_seconds.max(0) as u64);
        for (_, p) in pods {
            st.replicas += 1;
            if running_and_ready(p) {
                st.ready_replicas += 1;
                if running_and_available(p, min_ready, now) {
                    st.available_replicas += 1;
                } else {
                    self.recheck(ctx, set, p, min_ready);
                }
            }
            if !p.is_terminating() {
                let r = pod_revision(p);
                if r == st.current_revision {
                    st.current_replicas += 1;
                }
                if r == st.update_revision {
                    st.updated_replicas += 1;
                }
            }
        }
    }
}

/// The revisions a sync works with.
struct Revs<'a> {
    current: &'a str,
    current_template: PodTemplate,
    update: &'a str,
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

    fn set_with(image: &str) -> StatefulSet {
        let mut s = StatefulSet::default();
        s.meta.name = "web".into();
        s.template.spec.containers.push(Container {
            name: "c".into(),
            image: image.into(),
            ..Default::default()
        });
        s
    }

    // getStatefulSetRevisions: a new template makes a new revision (number + 1); the same
    // template again keeps the newest; going back to an older template (a rollback) moves that
    // revision to the next number instead of creating a third.
    #[test]
    fn revisions_follow_get_stateful_set_revisions() {
        let mut s = set_with("a");
        let (h, cur, upd) = revisions(&s);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].revision, cur.as_str()), (1, upd.as_str()));
        assert!(upd.starts_with("web-"));
        s.history = h;
        s.status.current_revision = cur.clone();
        let (h, _, upd1) = revisions(&s);
        assert_eq!(
            (h.len(), upd1.as_str()),
            (1, upd.as_str()),
            "unchanged template"
        );
        s.template = set_with("b").template;
        let (h, cur2, upd2) = revisions(&s);
        assert_eq!(h.len(), 2);
        assert_eq!(cur2, cur, "current stays until the update completes");
        assert_ne!(upd2, upd);
        assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2]);
        s.history = h;
        s.template = set_with("a").template;
        let (h, _, upd3) = revisions(&s);
        assert_eq!(upd3, upd, "rollback reuses the old revision");
        assert_eq!(
            h.iter()
                .map(|r| (r.name.clone(), r.revision))
                .collect::<Vec<_>>(),
            vec![(upd2, 2), (upd, 3)]
        );
    }

    // truncateHistory: only revisions that no pod and neither status revision uses count
    // against revisionHistoryLimit; the oldest go first.
    #[test]
    fn truncate_history_keeps_live_revisions() {
        let rev = |n: &str, r: i64| ControllerRevision {
            name: n.into(),
            revision: r,
            template: PodTemplate::default(),
        };
        let mut h = vec![rev("a", 1), rev("b", 2), rev("c", 3), rev("d", 4)];
        let live: BTreeSet<&str> = ["a", "d"].into_iter().collect();
        truncate_history(&mut h, &live, 1);
        assert_eq!(
            h.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["a", "c", "d"]
        );
        truncate_history(&mut h, &live, 0);
        assert_eq!(
            h.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["a", "d"]
        );
    }
}
