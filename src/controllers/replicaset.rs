//! The ReplicaSet controller: keeps `spec.replicas` active pods per ReplicaSet. Pods with a
//! `deletionTimestamp` or a terminal phase do not count (reference node-lifecycle §6.1), so a
//! pod marked for deletion on an unreachable node is replaced at once.
//!
//! Invariant: decisions come from the cache; creations are tracked as "expectations" until the
//! cache has seen them, so a sync never creates twice for the same gap (as upstream's
//! `ControllerExpectations`).

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;

use super::cache::{KcmCache, PodKey};
use super::clients::{self, ControllerClients};
use super::podranking::{compare, slow_start_batch, RankedPod};
use crate::api::{ApiError, ApiServer, Verb};
use crate::client::expectations::CreateExpectations;
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Ctx, Record, SimDuration, SimTime};

/// The event source of each kind's controller.
fn source(rs: &ReplicaSet) -> &'static str {
    match rs.kind {
        ReplicaSetKind::ReplicaSet => "replicaset-controller",
        ReplicaSetKind::ReplicationController => "replication-controller",
    }
}
/// `BurstReplicas`: at most this many creations or deletions per sync.
const BURST_REPLICAS: usize = 500;
/// `SlowStartInitialBatchSize`.
const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;
/// The apiserver's `generateName` suffix alphabet (no vowels, no confusable digits).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub struct ReplicaSetController {
    rng: ChaCha8Rng,
    /// Creations not yet seen in the cache, per ReplicaSet.
    expected_creates: CreateExpectations,
    pub(super) queue: WorkQueue,
    gen: u32,
}

impl ReplicaSetController {
    pub fn new(rng: ChaCha8Rng, gen: u32) -> Self {
        ReplicaSetController {
            rng,
            expected_creates: CreateExpectations::default(),
            queue: WorkQueue::default(),
            gen,
        }
    }

    /// Queue a sync of `rs` (deduplicated, like a workqueue).
    pub fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, rs: &str) {
        let gen = self.gen;
        self.queue
            .add(ctx, rs, crate::sim::SimDuration::ZERO, |rs| {
                Event::ReplicaSetSync { gen, rs }
            });
    }

    pub fn observe_pod(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod) {
        let Some(rs) = super::cache::owner_key(pod) else {
            return;
        };
        self.expected_creates.observe(&rs, &pod.meta.name);
        self.enqueue(ctx, &rs);
    }

    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        rs_key: &str,
    ) {
        self.queue.start(rs_key);
        let Some(rs) = cache.replicasets.get(rs_key).cloned() else {
            self.expected_creates.forget(rs_key);
            return;
        };
        let adopted = if rs.meta.deletion_timestamp.is_none() {
            self.adopt_orphans(api, cache, &rs)
        } else {
            Vec::new()
        };
        // `rsNeedsSync`: only once the cache has seen every creation of the last sync; the
        // status is written either way (replica_set.go `syncReplicaSet`).
        if self.expected_creates.satisfied(rs_key) && rs.meta.deletion_timestamp.is_none() {
            self.manage_replicas(ctx, api, cache, clients, &rs, &adopted);
        }
        self.update_status(ctx, cache, api, &rs, &adopted);
    }

    /// `calculateReplicaSetStatus` + `updateReplicaSetStatus`: replicas, ready and available
    /// among the active pods (from the cache's counters, not a scan); with `minReadySeconds`,
    /// a resync once every replica is ready but not all are available yet.
    fn update_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        cache: &KcmCache,
        api: &mut ApiServer,
        rs: &ReplicaSet,
        adopted: &[std::sync::Arc<Pod>],
    ) {
        let now = ctx.now();
        let key = rs.key();
        let min_ready = SimDuration::from_secs(rs.min_ready_seconds.max(0) as u64);
        let ready_set = cache.ready_by_owner.get(&key);
        let adopted_ready: Vec<&std::sync::Arc<Pod>> =
            adopted.iter().filter(|p| p.is_ready()).collect();
        let ready = ready_set.map_or(0, |s| s.len()) + adopted_ready.len();
        let available = if min_ready == SimDuration::ZERO {
            ready
        } else {
            let cutoff = SimTime(now.as_nanos().saturating_sub(min_ready.as_nanos()));
            let ok_before = now.as_nanos() >= min_ready.as_nanos();
            let cached = match (ready_set, ok_before) {
                (Some(s), true) => s.range(..=(cutoff, PodKey::shared("\u{10FFFF}"))).count(),
                _ => 0,
            };
            cached
                + adopted_ready
                    .iter()
                    .filter(|p| is_pod_available(p, min_ready, now))
                    .count()
        };
        let status = ReplicaSetStatus {
            replicas: (cache.active_count(&key) + adopted.len()) as i32,
            ready_replicas: ready as i32,
            available_replicas: available as i32,
            observed_generation: rs.meta.generation,
        };
        if status != rs.status {
            let st = status.clone();
            // A failed status write is retried by the next sync.
            let _ = api.update_replicaset(Caller::ControllerManager, &key, |r| r.status = st);
        }
        if rs.min_ready_seconds > 0
            && status.ready_replicas == rs.replicas
            && status.available_replicas != rs.replicas
        {
            ctx.schedule_in(
                min_ready,
                Event::ReplicaSetSync {
                    gen: self.gen,
                    rs: key,
                },
            );
        }
    }

    /// `ClaimPods` (adoption half): active pods without a controller whose labels the
    /// selector matches get this ReplicaSet as their controller owner reference, and count
    /// from this sync on.
    fn adopt_orphans(
        &mut self,
        api: &mut ApiServer,
        cache: &KcmCache,
        rs: &ReplicaSet,
    ) -> Vec<std::sync::Arc<Pod>> {
        let mut adopted = Vec::new();
        for p in cache.orphans_matching(&rs.meta.namespace, &rs.selector) {
            let owner = OwnerRef {
                kind: rs.kind.as_str().into(),
                name: rs.meta.name.clone(),
                controller: true,
            };
            let res = api.update_pod(Caller::ControllerManager, &p.key(), |x| {
                if x.meta.controller_ref().is_none() {
                    x.meta.owner_references.push(owner);
                }
            });
            if let Ok(np) = res {
                let ours = np
                    .meta
                    .controller_ref()
                    .is_some_and(|o| o.kind == rs.kind.as_str() && o.name == rs.meta.name);
                if ours && super::cache::is_active(&np) {
                    adopted.push(np);
                }
            }
        }
        adopted
    }

    /// `manageReplicas`: create the difference in slow-start batches, or delete the
    /// surplus in `ActivePodsWithRanks` order (at most the burst per sync). Each request waits
    /// for the controller's client token: one that cannot go now is deferred to its token's
    /// instant and counted as expected, so no later sync repeats it (upstream's worker blocks
    /// in client-go's `Wait`; a deferred creation is assumed to succeed for the slow-start
    /// accounting, and a failure at its instant requeues the sync).
    fn manage_replicas(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        rs: &std::sync::Arc<ReplicaSet>,
        adopted: &[std::sync::Arc<Pod>],
    ) {
        let client = client_of(rs);
        let rs_key = rs.key();
        let rs_key = rs_key.as_str();
        let count = cache.active_count(rs_key) + adopted.len();
        let want = rs.replicas.max(0) as usize;
        if count < want {
            let n = (want - count).min(BURST_REPLICAS);
            let created = slow_start_batch(n, SLOW_START_INITIAL_BATCH_SIZE, || {
                match clients.admit(ctx.now(), client, api, Verb::Create) {
                    None => self.create_pod(ctx, api, rs),
                    Some(at) => {
                        self.expected_creates.expect_later(rs_key);
                        let r = std::sync::Arc::clone(rs);
                        let write: clients::Write =
                            Box::new(move |cm, ctx, api| cm.rs.create_deferred(ctx, api, &r));
                        clients.defer(ctx, client, at, write);
                        true
                    }
                }
            });
            if created < n {
                // The workqueue retries a failed sync later (rate-limited requeue).
                let gen = self.gen;
                let retry = crate::sim::SimDuration::from_secs(1);
                self.queue
                    .add(ctx, rs_key, retry, |rs| Event::ReplicaSetSync { gen, rs });
            }
        } else if count > want {
            let n = (count - want).min(BURST_REPLICAS);
            // Only a scale-down looks at every pod (as upstream `getPodsToDelete`).
            let mut all: Vec<&std::sync::Arc<Pod>> = cache.active_pods_of(rs_key).collect();
            all.extend(adopted.iter());
            let victims = pods_to_delete(cache, rs, &all, n, ctx.now());
            for p in victims {
                let (key, name) = (p.key(), p.meta.name.clone());
                match clients.admit(ctx.now(), client, api, Verb::Delete) {
                    None => delete_pod(ctx, api, rs, &key, &name),
                    Some(at) => {
                        self.expected_creates.expect_later(rs_key);
                        let r = std::sync::Arc::clone(rs);
                        let write: clients::Write = Box::new(move |cm, ctx, api| {
                            cm.rs.expected_creates.sent(&r.key());
                            delete_pod(ctx, api, &r, &key, &name);
                        });
                        clients.defer(ctx, client, at, write);
                    }
                }
            }
        }
    }

    /// A creation whose client token has come.
    fn create_deferred(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        rs: &std::sync::Arc<ReplicaSet>,
    ) {
        let key = rs.key();
        self.expected_creates.sent(&key);
        if !self.create_pod(ctx, api, rs) {
            let gen = self.gen;
            let retry = crate::sim::SimDuration::from_secs(1);
            self.queue
                .add(ctx, &key, retry, |rs| Event::ReplicaSetSync { gen, rs });
        }
    }

    fn create_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        rs: &ReplicaSet,
    ) -> bool {
        for _attempt in 0..8 {
            // `{rs name}-{5 random characters}`, built without `format!`.
            let mut name = String::with_capacity(rs.meta.name.len() + 6);
            name.push_str(&rs.meta.name);
            name.push('-');
            for _ in 0..5 {
                let i = rng::below(&mut self.rng, NAME_ALPHABET.len() as u64) as usize;
                name.push(NAME_ALPHABET[i] as char);
            }
            let pod = Pod {
                meta: ObjectMeta {
                    name: name.clone(),
                    namespace: rs.meta.namespace.clone(),
                    labels: rs.template.labels.clone(),
                    annotations: rs.template.annotations.clone(),
                    owner_references: vec![OwnerRef {
                        kind: rs.kind.as_str().into(),
                        name: rs.meta.name.clone(),
                        controller: true,
                    }],
                    ..Default::default()
                },
                spec: rs.template.spec.clone(),
                status: PodStatus::default(),
            };
            match api.create_pod(Caller::ControllerManager, pod) {
                Ok(_) => {
                    self.expected_creates.expect(rs.key(), &name);
                    ctx.record(Record {
                        t: ctx.now(),
                        reason: "SuccessfulCreate",
                        source: source(rs),
                        object: object_ref(rs),
                        message: ["Created pod: ", &name].concat(),
                        fields: vec![],
                    });
                    return true;
                }
                Err(ApiError::AlreadyExists(_)) => continue,
                Err(_) => return false,
            }
        }
        false
    }
}

/// `rs.object_ref()` (`Kind/namespace/name`), built without `format!` (one per created pod).
fn object_ref(rs: &ReplicaSet) -> String {
    [
        rs.kind.as_str(),
        "/",
        &rs.meta.namespace,
        "/",
        &rs.meta.name,
    ]
    .concat()
}

/// The controller's client: ReplicaSets and ReplicationControllers each have their own.
fn client_of(rs: &ReplicaSet) -> &'static str {
    match rs.kind {
        ReplicaSetKind::ReplicaSet => clients::REPLICASET,
        ReplicaSetKind::ReplicationController => clients::REPLICATION,
    }
}

/// A DELETE of one surplus pod, logged when it succeeds.
fn delete_pod(
    ctx: &mut dyn Ctx<Event>,
    api: &mut ApiServer,
    rs: &ReplicaSet,
    key: &str,
    name: &str,
) {
    if api.delete_pod(Caller::ControllerManager, key, None).is_ok() {
        ctx.record(Record {
            t: ctx.now(),
            reason: "SuccessfulDelete",
            source: source(rs),
            object: object_ref(rs),
            message: format!("Deleted pod: {name}"),
            fields: vec![],
        });
    }
}

/// `getPodsToDelete`: all of them when every pod goes, otherwise the first `n` in
/// `ActivePodsWithRanks` order, ranked by the active related pods (those of every ReplicaSet of
/// the same Deployment) on the same node.
fn pods_to_delete<'a>(
    cache: &KcmCache,
    rs: &ReplicaSet,
    active: &[&'a std::sync::Arc<Pod>],
    n: usize,
    now: SimTime,
) -> Vec<&'a std::sync::Arc<Pod>> {
    if n >= active.len() {
        return active.to_vec();
    }
    let siblings: Vec<String> = match super::cache::deployment_of(rs) {
        Some(d) => cache
            .rs_by_deployment
            .get(&d)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
        None => vec![rs.key()],
    };
    let mut on_node: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for k in &siblings {
        for p in cache.active_pods_of(k) {
            *on_node.entry(p.spec.node_name.as_deref()).or_default() += 1;
        }
    }
    let mut ranked: Vec<(RankedPod, &std::sync::Arc<Pod>)> = active
        .iter()
        .map(|p| {
            let rank = on_node
                .get(&p.spec.node_name.as_deref())
                .copied()
                .unwrap_or(0);
            (RankedPod::of(p, rank), *p)
        })
        .collect();
    ranked.sort_by(|a, b| compare(&a.0, &b.0, now).then_with(|| a.1.meta.name.cmp(&b.1.meta.name)));
    ranked.into_iter().take(n).map(|(_, p)| p).collect()
}

/// When a pod that is Ready but not yet available becomes available (`minReadySeconds` after
/// it turned Ready), if that is after `now`: no event marks that instant, so a controller
/// that counts available pods must look again then.
pub fn becomes_available_at(p: &Pod, min_ready: SimDuration, now: SimTime) -> Option<SimTime> {
    if min_ready == SimDuration::ZERO || p.is_terminating() {
        return None;
    }
    let c = p
        .condition(PodConditionType::Ready)
        .filter(|c| c.status == ConditionStatus::True)?;
    let at = c.last_transition_time + min_ready;
    (at > now).then_some(at)
}

/// Pending availability re-checks per owner: at most one timer per owner, the earliest.
#[derive(Default)]
pub struct Rechecks {
    at: std::collections::BTreeMap<String, SimTime>,
}

impl Rechecks {
    /// The owner's sync ran at `now`: a re-check due by then is spent.
    pub fn synced(&mut self, key: &str, now: SimTime) {
        if self.at.get(key).is_some_and(|t| *t <= now) {
            self.at.remove(key);
        }
    }

    /// Whether a re-check of `key` at `at` must be scheduled (none is pending by then).
    pub fn want(&mut self, key: &str, at: SimTime) -> bool {
        if self.at.get(key).is_some_and(|t| *t <= at) {
            return false;
        }
        self.at.insert(key.to_string(), at);
        true
    }
}

/// `podutil.IsPodAvailable`: ready for at least `minReadySeconds`. Upstream compares
/// `lastTransitionTime + minReadySeconds` strictly before now, and real controllers look again
/// some milliseconds after the requeue; with kubesim's exact clock (and a watch delay that may
/// be 0) the check is made at that instant, so the pod counts as available from exactly
/// `lastTransitionTime + minReadySeconds`.
pub fn is_pod_available(p: &Pod, min_ready: SimDuration, now: SimTime) -> bool {
    match p.condition(PodConditionType::Ready) {
        Some(c) if c.status == ConditionStatus::True => {
            min_ready == SimDuration::ZERO || c.last_transition_time + min_ready <= now
        }
        _ => false,
    }
}
