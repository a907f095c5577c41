//! The TTL-after-finished controller: deletes a finished Job (Complete or Failed) once
//! `ttlSecondsAfterFinished` has passed since its terminal condition, with Foreground
//! propagation so the garbage collector removes its pods first.
//!
//! Upstream: `pkg/controller/ttlafterfinished/ttlafterfinished_controller.go` (`processJob`,
//! `needsCleanup`, `timeLeft`, `jobFinishTime`: the terminal condition's lastTransitionTime).
//!
//! Invariant: reads the cache, writes only through a DELETE; a Job not yet due is requeued
//! for exactly its expiry.

use std::collections::BTreeMap;

use super::cache::KcmCache;
use crate::api::ApiServer;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, SimDuration, SimTime};

pub struct TtlAfterFinishedController {
    gen: u32,
    due: BTreeMap<String, SimTime>,
}

/// When a finished Job with a TTL expires (`jobFinishTime + ttl`), if it does.
pub fn expiry(j: &Job) -> Option<SimTime> {
    let ttl = j.ttl_seconds_after_finished?;
    let finished = j.finished_condition()?.last_transition_time;
    Some(finished + SimDuration::from_secs(ttl.max(0) as u64))
}

impl TtlAfterFinishedController {
    pub fn new(gen: u32) -> Self {
        TtlAfterFinishedController {
            gen,
            due: BTreeMap::new(),
        }
    }

    /// `addJob` / `updateJob`: a finished Job with a TTL and no deletionTimestamp is queued.
    pub fn observe_job(&mut self, ctx: &mut dyn Ctx<Event>, j: &Job) {
        if j.meta.deletion_timestamp.is_some() {
            return;
        }
        let Some(at) = expiry(j) else {
            return;
        };
        let at = at.max(ctx.now());
        let key = j.key();
        if self.due.get(&key).is_some_and(|&t| t <= at) {
            return;
        }
        self.due.insert(key.clone(), at);
        ctx.schedule_at(at, Event::JobTtlExpired { gen: self.gen, key });
    }

    /// `processJob`: re-checked against the cache, then DELETE with Foreground.
    pub fn on_fire(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        if self.due.get(key) != Some(&ctx.now()) {
            return;
        }
        self.due.remove(key);
        let Some(j) = cache.jobs.get(key) else {
            return;
        };
        if j.meta.deletion_timestamp.is_some() {
            return;
        }
        match expiry(j) {
            Some(at) if at <= ctx.now() => {
                let _ = api.delete_job(
                    Caller::ControllerManager,
                    key,
                    PropagationPolicy::Foreground,
                );
            }
            Some(_) => self.observe_job(ctx, &j.clone()),
            None => {}
        }
    }
}
