//! client-go's workqueue as the controllers use it (`k8s.io/client-go/util/workqueue`): a key
//! waits in the queue at most once — adding a key that is already queued does nothing — and
//! leaves it when its sync starts (`Get`), after which it may be queued again. The queue is
//! the engine's: a queued key is a scheduled sync event of the controller's own type.
//!
//! It keeps upstream's two cheapest metrics (component-base's workqueue provider):
//! `workqueue_depth` (keys waiting for their sync) and `workqueue_adds_total` (adds that
//! queued a key, not the deduplicated ones), read by observers only.
//!
//! Invariant: at most one pending sync per key through this queue.

use std::collections::BTreeSet;

use crate::sim::{Ctx, SimDuration};

#[derive(Debug, Default)]
pub struct WorkQueue {
    queued: BTreeSet<String>,
    adds: u64,
}

impl WorkQueue {
    /// `Add` (with a `delay`: the rate-limited requeue of a failed sync as the controller
    /// models it): schedules `sync(key)` unless the key is already queued.
    pub fn add<E>(
        &mut self,
        ctx: &mut dyn Ctx<E>,
        key: &str,
        delay: SimDuration,
        sync: impl FnOnce(String) -> E,
    ) {
        // Most adds find the key queued: it is cloned only when it goes in.
        if !self.queued.contains(key) {
            self.queued.insert(key.to_string());
            self.adds += 1;
            ctx.schedule_in(delay, sync(key.to_string()));
        }
    }

    /// `Get`: the key's sync starts, so a new `add` queues it again.
    pub fn start(&mut self, key: &str) {
        self.queued.remove(key);
    }

    /// `workqueue_depth`: keys queued and not yet started (a rate-limited requeue counts from
    /// its `add`, where upstream's delaying queue counts it once its delay is over).
    pub fn depth(&self) -> usize {
        self.queued.len()
    }

    /// `workqueue_adds_total`: adds that queued a key.
    pub fn adds_total(&self) -> u64 {
        self.adds
    }
}
