//! The Deployment controller: one new ReplicaSet per pod template (`<deployment>-<hash>`),
//! RollingUpdate within `maxSurge`/`maxUnavailable` or Recreate, proportional scaling,
//! revision history, and the Progressing/Available conditions with `progressDeadlineSeconds`.
//!
//! Upstream: `pkg/controller/deployment/{deployment_controller,sync,rolling,recreate,progress}.go`.
//! The arithmetic lives in [`super::deployment_util`] with the ported upstream tests.
//!
//! The workqueue is modelled as far as syncs' timing needs: an immediate add is deduplicated
//! while queued; a delayed add (`AddAfter`) keeps the earlier ready time of one waiting per
//! key (client-go's delaying queue); a rate-limited add (`AddRateLimited`) waits the larger of
//! the per-item 5 ms (reset by `Forget` after every successful sync) and the queue-wide
//! 10 qps / burst 100 bucket (`DefaultControllerRateLimiter`).
//!
//! Invariant: decisions come from the cache; within one sync the controller works on local
//! copies of the objects it has written (as upstream works on the objects the API returned),
//! and every change goes through an API request.

use std::collections::{BTreeMap, BTreeSet};

use super::cache::KcmCache;
use super::deployment_util::*;
use crate::api::{ApiError, ApiServer};
use crate::client::tokenbucket::TokenBucket;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, EventId, Record, SimDuration, SimTime};

const SOURCE: &str = "deployment-controller";

pub struct DeploymentController {
    queued: BTreeSet<String>,
    /// Delayed adds waiting, one per key: ready time and the engine event.
    waiting: BTreeMap<String, (SimTime, EventId)>,
    /// `DefaultControllerRateLimiter`'s `BucketRateLimiter` (10 qps, burst 100).
    bucket: TokenBucket,
    gen: u32,
}

/// How a sync asks to be looked at again.
#[derive(Clone, Copy)]
enum Requeue {
    /// `enqueueAfter`.
    After(SimDuration),
    /// `enqueueRateLimited`.
    RateLimited,
}

/// A sync stopped by a failed request; the workqueue retries it.
struct Failed;

impl DeploymentController {
    pub fn new(gen: u32) -> Self {
        DeploymentController {
            queued: BTreeSet::new(),
            waiting: BTreeMap::new(),
            bucket: TokenBucket::new(10.0, 100),
            gen,
        }
    }

    /// Queue a sync of deployment `key` (deduplicated, like a workqueue).
    pub fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        if self.queued.insert(key.to_string()) {
            ctx.schedule_in(
                SimDuration::ZERO,
                Event::DeploymentSync {
                    gen: self.gen,
                    key: key.to_string(),
                },
            );
        }
    }

    /// `enqueueAfter` (`AddAfter`): the delaying queue keeps one waiting entry per key, at the
    /// earlier ready time.
    fn enqueue_after(&mut self, ctx: &mut dyn Ctx<Event>, key: &str, after: SimDuration) {
        let at = ctx.now() + after;
        if let Some(&(t, id)) = self.waiting.get(key) {
            if t <= at {
                return;
            }
            ctx.cancel(id);
        }
        let id = ctx.schedule_in(
            after,
            Event::DeploymentSync {
                gen: self.gen,
                key: key.to_string(),
            },
        );
        self.waiting.insert(key.to_string(), (at, id));
    }

    /// `enqueueRateLimited` (`AddRateLimited`) after a successful sync: the per-item
    /// exponential limiter was reset by `Forget`, so it asks 5 ms; the bucket may ask more.
    fn enqueue_rate_limited(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let now = ctx.now();
        let bucket = self.bucket.wait(now).unwrap_or(SimDuration::ZERO);
        self.bucket.take(now);
        self.enqueue_after(ctx, key, bucket.max(SimDuration::from_millis(5)));
    }

    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        self.queued.remove(key);
        let now = ctx.now();
        if self.waiting.get(key).is_some_and(|(t, _)| *t <= now) {
            self.waiting.remove(key);
        }
        let Some(d0) = cache.deployments.get(key).cloned() else {
            return;
        };
        let mut d = (*d0).clone();
        let mut rss: Vec<ReplicaSet> = cache
            .replicasets_of(key)
            .iter()
            .filter(|r| r.meta.deletion_timestamp.is_none())
            .map(|r| (**r).clone())
            .collect();
        if d.meta.deletion_timestamp.is_none() {
            rss.extend(adopt_orphans(api, cache, &d));
        }
        let mut s = Sync {
            ctx,
            api,
            cache,
            d_key: key.to_string(),
            requeue: None,
        };
        let res = if d.meta.deletion_timestamp.is_some() {
            s.sync_status_only(&mut d, rss)
        } else if d.paused || is_scaling_event(&d, &rss) {
            s.sync_scale(&mut d, rss)
        } else {
            match d.strategy {
                DeploymentStrategy::Recreate => s.rollout_recreate(&mut d, rss),
                DeploymentStrategy::RollingUpdate { .. } => s.rollout_rolling(&mut d, rss),
            }
        };
        let requeue = s.requeue;
        match res {
            Ok(()) => match requeue {
                Some(Requeue::After(after)) => self.enqueue_after(ctx, key, after),
                Some(Requeue::RateLimited) => self.enqueue_rate_limited(ctx, key),
                None => {}
            },
            Err(Failed) => {
                // Rate-limited requeue of a failed sync.
                if self.queued.insert(key.to_string()) {
                    ctx.schedule_in(
                        SimDuration::from_secs(1),
                        Event::DeploymentSync {
                            gen: self.gen,
                            key: key.to_string(),
                        },
                    );
                }
            }
        }
    }
}

/// `ClaimReplicaSets` (adoption half): ReplicaSets in the namespace without a controller whose
/// labels the selector matches become the Deployment's (its old revisions, or its new one if
/// the template is the same).
fn adopt_orphans(api: &mut ApiServer, cache: &KcmCache, d: &Deployment) -> Vec<ReplicaSet> {
    let candidates: Vec<String> = cache
        .replicasets
        .values()
        .filter(|r| {
            r.kind == ReplicaSetKind::ReplicaSet
                && r.meta.namespace == d.meta.namespace
                && r.meta.controller_ref().is_none()
                && r.meta.deletion_timestamp.is_none()
                && d.selector.matches(&r.meta.labels)
        })
        .map(|r| r.key())
        .collect();
    let mut adopted = Vec::new();
    for key in candidates {
        let owner = OwnerRef {
            kind: "Deployment".into(),
            name: d.meta.name.clone(),
            controller: true,
        };
        let res = api.update_replicaset(Caller::ControllerManager, &key, |r| {
            if r.meta.controller_ref().is_none() {
                r.meta.owner_references.push(owner);
            }
        });
        if let Ok(r) = res {
            if r.meta
                .controller_ref()
                .is_some_and(|o| o.kind == "Deployment" && o.name == d.meta.name)
            {
                adopted.push((*r).clone());
            }
        }
    }
    adopted
}

/// `isScalingEvent`: an active ReplicaSet was last sized for another replica count.
fn is_scaling_event(d: &Deployment, rss: &[ReplicaSet]) -> bool {
    rss.iter().filter(|r| r.replicas > 0).any(|r| {
        r.meta
            .annotations
            .get(DESIRED_REPLICAS_ANNOTATION)
            .and_then(|v| v.parse::<i32>().ok())
            .is_some_and(|desired| desired != d.replicas)
    })
}

struct Sync<'a, 'b> {
    ctx: &'a mut dyn Ctx<Event>,
    api: &'a mut ApiServer,
    cache: &'b KcmCache,
    d_key: String,
    requeue: Option<Requeue>,
}

impl Sync<'_, '_> {
    fn now(&self) -> SimTime {
        self.ctx.now()
    }

    fn rs_key(&self, d: &Deployment, name: &str) -> String {
        pod_key(&d.meta.namespace, name)
    }

    fn record(
        &mut self,
        reason: &'static str,
        message: String,
        fields: Vec<(&'static str, String)>,
    ) {
        let r = Record {
            t: self.ctx.now(),
            reason,
            source: SOURCE,
            object: format!("Deployment/{}", self.d_key),
            message,
            fields,
        };
        self.ctx.record(r);
    }

    /// Sends the ReplicaSet writes a planning step decided, in order; `ScalingReplicaSet`
    /// for each size change ("Scaled up replica set web-5d8f7 from 0 to 3").
    fn apply(&mut self, d: &Deployment, ops: &mut Vec<ScaleOp>) -> Result<(), Failed> {
        for op in std::mem::take(ops) {
            let key = self.rs_key(d, &op.name);
            let (to, desired, max) = (op.to, op.desired_annotation, op.max_annotation);
            let res = self
                .api
                .update_replicaset(Caller::ControllerManager, &key, |r| {
                    r.replicas = to;
                    set_replicas_annotations(r, desired, max);
                });
            match res {
                Ok(_) => {
                    if op.from != op.to {
                        self.record(
                            "ScalingReplicaSet",
                            format!(
                                "Scaled {} replica set {} from {} to {}",
                                op.direction, op.name, op.from, op.to
                            ),
                            vec![],
                        );
                    }
                }
                Err(ApiError::NotFound(_)) => {}
                Err(_) => return Err(Failed),
            }
        }
        Ok(())
    }

    /// `getAllReplicaSetsAndSyncRevision` + `getNewReplicaSet`: the new ReplicaSet (created
    /// when `create` and missing) and the old ones.
    fn new_and_old(
        &mut self,
        d: &mut Deployment,
        mut rss: Vec<ReplicaSet>,
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>), Failed> {
        rss.sort_by_key(by_creation);
        let new_idx = rss
            .iter()
            .position(|r| equal_ignore_hash(&r.template, &d.template));
        let existing = new_idx.map(|i| rss.remove(i));
        let old = rss;
        let new_revision = max_revision(old.iter()) + 1;
        if let Some(rs) = existing {
            let rs = self.sync_new_rs(d, rs, new_revision)?;
            return Ok((Some(rs), old));
        }
        if !create {
            return Ok((None, old));
        }
        let created = self.create_new_rs(d, &old, new_revision)?;
        Ok((Some(created), old))
    }

    /// `getNewReplicaSet` for an existing new ReplicaSet: its revision annotations and
    /// `minReadySeconds` brought up to date, the Deployment's revision and its Progressing
    /// condition (`FoundNewReplicaSet`) set.
    fn sync_new_rs(
        &mut self,
        d: &mut Deployment,
        mut rs: ReplicaSet,
        new_revision: i64,
    ) -> Result<ReplicaSet, Failed> {
        let mut copy = rs.clone();
        let ann = set_new_replica_set_annotations(d, &mut copy, new_revision, true);
        let mrs = copy.min_ready_seconds != d.min_ready_seconds;
        if ann || mrs {
            copy.min_ready_seconds = d.min_ready_seconds;
            let key = self.rs_key(d, &rs.meta.name);
            let (anns, mr) = (copy.meta.annotations.clone(), copy.min_ready_seconds);
            match self
                .api
                .update_replicaset(Caller::ControllerManager, &key, |r| {
                    r.meta.annotations = anns;
                    r.min_ready_seconds = mr;
                }) {
                Ok(r) => rs = (*r).clone(),
                Err(_) => return Err(Failed),
            }
        }
        let rev = rs
            .meta
            .annotations
            .get(REVISION_ANNOTATION)
            .cloned()
            .unwrap_or_default();
        d.meta.annotations.insert(REVISION_ANNOTATION.into(), rev);
        if get_condition(&d.status, PROGRESSING).is_none() {
            let msg = format!("Found new replica set {:?}", rs.meta.name);
            let c = new_condition(
                PROGRESSING,
                ConditionStatus::True,
                FOUND_NEW_RS_REASON,
                msg,
                self.now(),
            );
            set_condition(&mut d.status, c);
        }
        Ok(rs)
    }

    /// `getNewReplicaSet` creating the new ReplicaSet (`<deployment>-<pod-template-hash>`),
    /// scaled per `NewRSNewReplicas`; a name collision bumps `collisionCount`.
    fn create_new_rs(
        &mut self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new_revision: i64,
    ) -> Result<ReplicaSet, Failed> {
        let hash = compute_hash(&d.template, d.status.collision_count);
        let mut template = d.template.clone();
        template
            .labels
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let mut selector = d.selector.clone();
        selector
            .match_labels
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let mut rs = ReplicaSet {
            kind: ReplicaSetKind::ReplicaSet,
            meta: ObjectMeta {
                name: format!("{}-{hash}", d.meta.name),
                namespace: d.meta.namespace.clone(),
                labels: template.labels.clone(),
                owner_references: vec![OwnerRef {
                    kind: "Deployment".into(),
                    name: d.meta.name.clone(),
                    controller: true,
                }],
                ..Default::default()
            },
            replicas: 0,
            selector,
            template,
            min_ready_seconds: d.min_ready_seconds,
            status: ReplicaSetStatus::default(),
        };
        let all: Vec<&ReplicaSet> = old.iter().chain(std::iter::once(&rs)).collect();
        let replicas = new_rs_new_replicas(d, &all, &rs);
        rs.replicas = replicas;
        set_new_replica_set_annotations(d, &mut rs, new_revision, false);
        let created = match self
            .api
            .create_replicaset(Caller::ControllerManager, rs.clone())
        {
            Ok(r) => (*r).clone(),
            Err(ApiError::AlreadyExists(_)) => {
                // A hash collision (or a ReplicaSet the cache has not seen yet): upstream
                // bumps `collisionCount` when the templates differ and retries.
                let key = self.rs_key(d, &rs.meta.name);
                let same = self
                    .api
                    .replicasets()
                    .get(&key)
                    .is_some_and(|r| equal_ignore_hash(&r.template, &d.template));
                if !same {
                    let c = d.status.collision_count.unwrap_or(0) + 1;
                    let _ =
                        self.api
                            .update_deployment(Caller::ControllerManager, &self.d_key, |x| {
                                x.status.collision_count = Some(c)
                            });
                }
                return Err(Failed);
            }
            Err(_) => return Err(Failed),
        };
        if replicas > 0 {
            self.record(
                "ScalingReplicaSet",
                format!(
                    "Scaled up replica set {} from 0 to {replicas}",
                    created.meta.name
                ),
                vec![],
            );
        }
        d.meta
            .annotations
            .insert(REVISION_ANNOTATION.into(), new_revision.to_string());
        let msg = format!("Created new replica set {:?}", created.meta.name);
        let c = new_condition(
            PROGRESSING,
            ConditionStatus::True,
            NEW_REPLICA_SET_REASON,
            msg,
            self.now(),
        );
        set_condition(&mut d.status, c);
        Ok(created)
    }

    /// `rolloutRolling`.
    fn rollout_rolling(&mut self, d: &mut Deployment, rss: Vec<ReplicaSet>) -> Result<(), Failed> {
        let (new, mut old) = self.new_and_old(d, rss, true)?;
        let mut new = new;
        let mut ops = Vec::new();
        if let Some(n) = new.as_mut() {
            let snapshot = n.clone();
            let all: Vec<&ReplicaSet> = old.iter().chain(std::iter::once(&snapshot)).collect();
            let up = reconcile_new_replica_set(&all, n, d, &mut ops);
            self.apply(d, &mut ops)?;
            if up {
                return self.sync_rollout_status(d, &old, new.as_ref());
            }
        }
        let mut active_old: Vec<ReplicaSet> =
            old.iter().filter(|r| r.replicas > 0).cloned().collect();
        let down = reconcile_old_replica_sets(&mut active_old, new.as_ref(), d, &mut ops);
        self.apply(d, &mut ops)?;
        for a in active_old {
            if let Some(o) = old.iter_mut().find(|o| o.meta.name == a.meta.name) {
                *o = a;
            }
        }
        if down {
            return self.sync_rollout_status(d, &old, new.as_ref());
        }
        if deployment_complete(d, &d.status) {
            self.cleanup(d, &old)?;
        }
        self.sync_rollout_status(d, &old, new.as_ref())
    }

    /// `rolloutRecreate`: old ReplicaSets to 0, wait until no old pod runs, then the new one
    /// to full size.
    fn rollout_recreate(&mut self, d: &mut Deployment, rss: Vec<ReplicaSet>) -> Result<(), Failed> {
        let (mut new, mut old) = self.new_and_old(d, rss.clone(), false)?;
        let mut ops = Vec::new();
        let mut scaled = false;
        for rs in old.iter_mut().filter(|r| r.replicas > 0) {
            scaled |= scale_and_record(rs, 0, d, &mut ops);
        }
        self.apply(d, &mut ops)?;
        if scaled {
            return self.sync_rollout_status(d, &old, new.as_ref());
        }
        if self.old_pods_running(d, &old) {
            return self.sync_rollout_status(d, &old, new.as_ref());
        }
        if new.is_none() {
            let (n, o) = self.new_and_old(d, rss, true)?;
            new = n;
            old = o;
        }
        if let Some(n) = new.as_mut() {
            scale_and_record(n, d.replicas, d, &mut ops);
            self.apply(d, &mut ops)?;
        }
        if deployment_complete(d, &d.status) {
            self.cleanup(d, &old)?;
        }
        self.sync_rollout_status(d, &old, new.as_ref())
    }

    /// `oldPodsRunning` (recreate.go): old ReplicaSets still report replicas, or one of their
    /// pods (terminating ones too) is not Succeeded or Failed.
    fn old_pods_running(&self, d: &Deployment, old: &[ReplicaSet]) -> bool {
        if actual_replica_count(old.iter()) > 0 {
            return true;
        }
        old.iter().any(|rs| {
            self.cache
                .pods_by_owner
                .get(&pod_key(&d.meta.namespace, &rs.meta.name))
                .into_iter()
                .flatten()
                .filter_map(|k| self.cache.pods.get(k))
                .any(|p| !p.status.phase.is_terminal())
        })
    }

    /// `sync` (sync.go): a scaling event or a paused deployment — resize, no rollout.
    fn sync_scale(&mut self, d: &mut Deployment, rss: Vec<ReplicaSet>) -> Result<(), Failed> {
        let (mut new, mut old) = self.new_and_old(d, rss, false)?;
        self.scale(d, new.as_mut(), &mut old)?;
        if d.paused {
            self.cleanup(d, &old)?;
        }
        self.sync_deployment_status(d, &old, new.as_ref())
    }

    fn sync_status_only(&mut self, d: &mut Deployment, rss: Vec<ReplicaSet>) -> Result<(), Failed> {
        let (new, old) = self.new_and_old(d, rss, false)?;
        self.sync_deployment_status(d, &old, new.as_ref())
    }

    /// `scale` (sync.go), with proportional scaling across the active ReplicaSets.
    fn scale(
        &mut self,
        d: &Deployment,
        mut new: Option<&mut ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Result<(), Failed> {
        let mut ops = Vec::new();
        // `FindActiveOrLatest`.
        let active_count = old.iter().filter(|r| r.replicas > 0).count()
            + new.as_ref().map_or(0, |n| (n.replicas > 0) as usize);
        if active_count <= 1 && (new.is_some() || !old.is_empty()) {
            let target: &mut ReplicaSet = if active_count == 1 {
                match old.iter_mut().find(|r| r.replicas > 0) {
                    Some(r) => r,
                    None => new
                        .as_deref_mut()
                        .expect("the one active set is the new one"),
                }
            } else if let Some(n) = new.as_deref_mut() {
                n
            } else {
                old.iter_mut()
                    .max_by_key(|r| by_creation(r))
                    .expect("old is not empty")
            };
            if target.replicas == d.replicas {
                return Ok(());
            }
            scale_and_record(target, d.replicas, d, &mut ops);
            return self.apply(d, &mut ops);
        }
        if is_saturated(d, new.as_deref()) {
            for rs in old.iter_mut().filter(|r| r.replicas > 0) {
                scale_and_record(rs, 0, d, &mut ops);
            }
            return self.apply(d, &mut ops);
        }
        if !is_rolling_update(d) {
            return Ok(());
        }
        let mut all: Vec<&mut ReplicaSet> = old
            .iter_mut()
            .chain(new)
            .filter(|r| r.replicas > 0)
            .collect();
        let all_replicas: i32 = all.iter().map(|r| r.replicas).sum();
        let allowed = if d.replicas > 0 {
            d.replicas + max_surge(d)
        } else {
            0
        };
        let to_add = allowed - all_replicas;
        let direction = if to_add > 0 {
            // ReplicaSetsBySizeNewer: larger first, then newer first.
            all.sort_by(|a, b| {
                b.replicas
                    .cmp(&a.replicas)
                    .then_with(|| by_creation(b).cmp(&by_creation(a)))
            });
            "up"
        } else {
            // ReplicaSetsBySizeOlder: larger first, then older first.
            all.sort_by(|a, b| {
                b.replicas
                    .cmp(&a.replicas)
                    .then_with(|| by_creation(a).cmp(&by_creation(b)))
            });
            "down"
        };
        let mut added = 0;
        let mut sizes = Vec::with_capacity(all.len());
        for rs in &all {
            if to_add != 0 {
                let p = proportion(rs, d, to_add, added);
                sizes.push(rs.replicas + p);
                added += p;
            } else {
                sizes.push(rs.replicas);
            }
        }
        for (i, rs) in all.into_iter().enumerate() {
            let mut size = sizes[i];
            if i == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            scale_replica_set(rs, size, d, direction, &mut ops);
        }
        self.apply(d, &mut ops)
    }

    /// `cleanupDeployment`: delete the oldest old ReplicaSets beyond `revisionHistoryLimit`
    /// that have no replicas left.
    fn cleanup(&mut self, d: &Deployment, old: &[ReplicaSet]) -> Result<(), Failed> {
        let Some(limit) = d.revision_history_limit else {
            return Ok(());
        };
        let mut cleanable: Vec<&ReplicaSet> = old
            .iter()
            .filter(|r| r.meta.deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - limit.max(0) as i64;
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by_key(|r| (revision(r), by_creation(r)));
        for rs in cleanable.into_iter().take(diff as usize) {
            if rs.status.replicas != 0
                || rs.replicas != 0
                || rs.meta.generation > rs.status.observed_generation
            {
                continue;
            }
            let key = self.rs_key(d, &rs.meta.name);
            match self.api.delete_replicaset(
                Caller::ControllerManager,
                &key,
                PropagationPolicy::Background,
            ) {
                Ok(_) | Err(ApiError::NotFound(_)) => {}
                Err(_) => return Err(Failed),
            }
        }
        Ok(())
    }

    /// `calculateStatus` (sync.go), with the Available condition.
    fn calculate_status(
        &self,
        d: &Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> DeploymentStatus {
        let all = || old.iter().chain(new);
        let available = available_replica_count(all());
        let total = replica_count(all());
        let mut s = DeploymentStatus {
            observed_generation: d.meta.generation,
            replicas: actual_replica_count(all()),
            updated_replicas: new.map_or(0, |n| n.status.replicas),
            ready_replicas: ready_replica_count(all()),
            available_replicas: available,
            unavailable_replicas: (total - available).max(0),
            conditions: d.status.conditions.clone(),
            collision_count: d.status.collision_count,
        };
        let c = if available >= d.replicas - max_unavailable(d) {
            new_condition(
                AVAILABLE,
                ConditionStatus::True,
                MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.".into(),
                self.now(),
            )
        } else {
            new_condition(
                AVAILABLE,
                ConditionStatus::False,
                MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.".into(),
                self.now(),
            )
        };
        set_condition(&mut s, c);
        s
    }

    /// `syncDeploymentStatus`.
    fn sync_deployment_status(
        &mut self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<(), Failed> {
        let s = self.calculate_status(d, old, new);
        self.write_status(d, s)
    }

    /// `syncRolloutStatus` (progress.go): the Progressing condition, and a resync at the
    /// progress deadline (`requeueStuckDeployment`).
    fn sync_rollout_status(
        &mut self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<(), Failed> {
        let now = self.now();
        let mut s = self.calculate_status(d, old, new);
        if !has_progress_deadline(d) {
            remove_condition(&mut s, PROGRESSING);
        }
        let current = get_condition(&d.status, PROGRESSING).cloned();
        let complete = s.replicas == s.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason == NEW_RS_AVAILABLE_REASON);
        if has_progress_deadline(d) && !complete {
            let what = match new {
                Some(n) => format!("ReplicaSet {:?}", n.meta.name),
                None => format!("Deployment {:?}", d.meta.name),
            };
            if deployment_complete(d, &s) {
                let c = new_condition(
                    PROGRESSING,
                    ConditionStatus::True,
                    NEW_RS_AVAILABLE_REASON,
                    format!("{what} has successfully progressed."),
                    now,
                );
                set_condition(&mut s, c);
            } else if deployment_progressing(d, &s) {
                let mut c = new_condition(
                    PROGRESSING,
                    ConditionStatus::True,
                    REPLICA_SET_UPDATED_REASON,
                    format!("{what} is progressing."),
                    now,
                );
                if let Some(cur) = &current {
                    if cur.status == ConditionStatus::True {
                        c.last_transition_time = cur.last_transition_time;
                    }
                }
                remove_condition(&mut s, PROGRESSING);
                set_condition(&mut s, c);
            } else if deployment_timed_out(d, &s, now) {
                let c = new_condition(
                    PROGRESSING,
                    ConditionStatus::False,
                    TIMED_OUT_REASON,
                    format!("{what} has timed out progressing."),
                    now,
                );
                set_condition(&mut s, c);
            }
        }
        remove_condition(&mut s, REPLICA_FAILURE);
        if s == d.status {
            self.requeue_stuck(d, &s, now);
            return self.write_status(d, s);
        }
        self.write_status(d, s)
    }

    /// `requeueStuckDeployment`: look again one second after the deadline would pass.
    fn requeue_stuck(&mut self, d: &Deployment, s: &DeploymentStatus, now: SimTime) {
        let Some(cur) = get_condition(&d.status, PROGRESSING) else {
            return;
        };
        if !has_progress_deadline(d) || deployment_complete(d, s) || cur.reason == TIMED_OUT_REASON
        {
            return;
        }
        let pds = SimDuration::from_secs(d.progress_deadline_seconds.unwrap_or(0).max(0) as u64);
        let deadline = cur.last_update_time + pds;
        let after = if deadline > now {
            SimDuration::from_nanos(deadline.as_nanos() - now.as_nanos())
        } else {
            SimDuration::ZERO
        };
        if after < SimDuration::from_secs(1) {
            // `enqueueRateLimited`: the workqueue's 5 ms base delay.
            self.requeue = Some(Requeue::RateLimited);
        } else {
            self.requeue = Some(Requeue::After(after + SimDuration::from_secs(1)));
        }
    }

    /// Writes the deployment (revision annotation and status) if it changed, and records each
    /// condition that changed status or reason.
    fn write_status(&mut self, d: &mut Deployment, s: DeploymentStatus) -> Result<(), Failed> {
        let Some(stored) = self.cache.deployments.get(&self.d_key).cloned() else {
            return Ok(());
        };
        if s == stored.status && d.meta.annotations == stored.meta.annotations {
            d.status = s;
            return Ok(());
        }
        let anns = d.meta.annotations.clone();
        let st = s.clone();
        match self
            .api
            .update_deployment(Caller::ControllerManager, &self.d_key, |x| {
                x.meta.annotations = anns;
                x.status = st;
            }) {
            Ok(_) => {}
            Err(ApiError::NotFound(_)) => return Ok(()),
            Err(_) => return Err(Failed),
        }
        for c in &s.conditions {
            let before = get_condition(&stored.status, &c.type_);
            if before.is_none_or(|b| b.status != c.status || b.reason != c.reason) {
                let reason: &'static str = match c.reason.as_str() {
                    NEW_RS_AVAILABLE_REASON => NEW_RS_AVAILABLE_REASON,
                    NEW_REPLICA_SET_REASON => NEW_REPLICA_SET_REASON,
                    FOUND_NEW_RS_REASON => FOUND_NEW_RS_REASON,
                    REPLICA_SET_UPDATED_REASON => REPLICA_SET_UPDATED_REASON,
                    TIMED_OUT_REASON => TIMED_OUT_REASON,
                    MINIMUM_REPLICAS_AVAILABLE => MINIMUM_REPLICAS_AVAILABLE,
                    MINIMUM_REPLICAS_UNAVAILABLE => MINIMUM_REPLICAS_UNAVAILABLE,
                    _ => "DeploymentCondition",
                };
                self.record(
                    reason,
                    c.message.clone(),
                    vec![
                        ("condition", c.type_.clone()),
                        ("status", c.status.as_str().to_string()),
                    ],
                );
            }
        }
        d.status = s;
        Ok(())
    }
}
