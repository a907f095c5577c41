//! The kubelet's node Lease heartbeat, after the lease controller of
//! k8s.io/component-helpers/apimachinery/lease/controller.go (`Run`, `backoffEnsureLease`,
//! `retryUpdateLease`) that pkg/kubelet/nodelease starts.
//!
//! Timings follow reference node-lifecycle §1.3: the Lease is renewed every 0.25 ×
//! `nodeLeaseDurationSeconds` (jitter 0.04, sliding), with the 200 ms → 7 s ensure backoff on
//! failure. With lazy heartbeats the loop plans its next renewals ahead ([`LeasePlan`]) and
//! announces all but the last to the API server instead of running one event per renewal.
//!
//! Invariant: the lease stream `lease_rng` is drawn exactly as the eager loop would draw it;
//! when anything interferes with a plan, its renewals from now on are withdrawn from the API
//! server and the stream replayed ([`Kubelet::interrupt_lease_plan`]), so the event log is the
//! eager loop's.

use rand_chacha::ChaCha8Rng;

use super::{Event, Kubelet, BACKOFF_CAP, JITTER_FACTOR};
use crate::api::{ApiError, ApiServer};
use crate::model::*;
use crate::sim::{rng, Ctx, SimDuration, SimTime};

const LEASE_RENEW_FRACTION: f64 = 0.25;
/// Renewals per lease plan (about 10 minutes at the default 10 s interval).
const LEASE_PLAN_LEN: usize = 60;

/// Lazy heartbeats: the renewals the lease loop will make if nothing interferes. They are
/// drawn from the lease stream exactly as the eager loop would draw them (one jitter per
/// renewal); all but the last are announced to the API server, the last is a real tick.
pub(super) struct LeasePlan {
    /// The lease stream before the plan's draws, to replay exactly as many as were used.
    rng_before: ChaCha8Rng,
    times: Vec<SimTime>,
    event: crate::sim::EventId,
}

impl Kubelet {
    pub fn on_lease_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        // The plan's last renewal is this tick: the plan is used up.
        self.lease_plan = None;
        if self.lease_cached && self.lease_latency > SimDuration::ZERO {
            // The renewal (renewTime = now, the kubelet's clock) is in flight; the loop waits
            // for it, so the next renewal is timed from its arrival.
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_in(
                self.lease_latency,
                Event::KubeletLeaseLanded {
                    machine,
                    gen,
                    sent: ctx.now(),
                },
            );
            return;
        }
        if self.lease_cached && self.renew_lease(ctx, api) {
            self.schedule_lease_tick(ctx, api);
            return;
        }
        self.lease_backoff = SimDuration::from_millis(100);
        self.on_lease_ensure(ctx, api);
    }

    /// One `backoff_ensure` attempt: GET, CREATE if missing; on failure sleep 200 ms, 400 ms …
    /// capped at 7 s.
    pub fn on_lease_ensure(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        let ok = match api.get_lease(self.caller(), &self.node_name) {
            Ok(_) => {
                self.lease_cached = true;
                self.renew_lease(ctx, api);
                true
            }
            Err(ApiError::NotFound(_)) => {
                let lease = Lease {
                    name: self.node_name.clone(),
                    holder_identity: self.node_name.clone(),
                    lease_duration_seconds: self.config.node_lease_duration_seconds,
                    renew_time: now,
                    resource_version: 0,
                };
                let created = api.put_lease(self.caller(), lease).is_ok();
                self.lease_cached = created;
                created
            }
            Err(_) => false,
        };
        if ok {
            self.schedule_lease_tick(ctx, api);
        } else {
            self.lease_backoff = (self.lease_backoff + self.lease_backoff).min(BACKOFF_CAP);
            let next = now + self.lease_backoff;
            if self.config.lazy_heartbeats && !api.net.reachable(self.caller()) {
                // Cut off: every attempt fails, with no effect, until the link returns;
                // `wake_reachable` schedules the first attempt after that.
                self.lease_parked = Some((next, self.lease_backoff));
                return;
            }
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_at(next, Event::KubeletLeaseEnsure { machine, gen });
        }
    }

    /// A slow renewal reaches the API server (reference §1.3; the `slowLeaseRenewals` fault).
    pub fn on_lease_landed(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        sent: SimTime,
    ) {
        if self.put_renewal(api, sent) {
            self.schedule_lease_tick(ctx, api);
        } else {
            self.lease_backoff = SimDuration::from_millis(100);
            self.on_lease_ensure(ctx, api);
        }
    }

    /// `retry_update`: up to 5 immediate attempts; all fail at once when unreachable.
    fn renew_lease(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) -> bool {
        self.put_renewal(api, ctx.now())
    }

    fn put_renewal(&mut self, api: &mut ApiServer, renew_time: SimTime) -> bool {
        let lease = Lease {
            name: self.node_name.clone(),
            holder_identity: self.node_name.clone(),
            lease_duration_seconds: self.config.node_lease_duration_seconds,
            renew_time,
            resource_version: 0,
        };
        api.put_lease(self.caller(), lease).is_ok()
    }

    fn schedule_lease_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let interval = SimDuration::from_secs(self.config.node_lease_duration_seconds)
            .mul_f64(LEASE_RENEW_FRACTION);
        let (machine, gen) = (self.machine, self.gen);
        if !self.config.lazy_heartbeats || self.lease_latency > SimDuration::ZERO {
            let d = rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
            ctx.schedule_in(d, Event::KubeletLeaseTick { machine, gen });
            return;
        }
        // Steady state (the renewal just succeeded, no added latency): plan ahead.
        let rng_before = self.lease_rng.clone();
        let mut times = Vec::with_capacity(LEASE_PLAN_LEN);
        let mut t = ctx.now();
        for _ in 0..LEASE_PLAN_LEN {
            t += rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
            times.push(t);
        }
        let last = times[LEASE_PLAN_LEN - 1];
        api.plan_lease_renewals(&self.node_name, times[..LEASE_PLAN_LEN - 1].to_vec());
        let event = ctx.schedule_at(last, Event::KubeletLeaseTick { machine, gen });
        self.lease_plan = Some(LeasePlan {
            rng_before,
            times,
            event,
        });
    }

    /// Something that would make renewals fail or change starts now (a fault on this machine
    /// or the API server): the planned renewals before now happened, the rest are withdrawn,
    /// and the loop goes back to one event per renewal from the first withdrawn one, with the
    /// lease stream exactly where the eager loop would have it.
    pub fn interrupt_lease_plan(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let Some(plan) = self.lease_plan.take() else {
            return;
        };
        let now = ctx.now();
        let kept = plan.times.partition_point(|t| *t < now);
        api.withdraw_lease_plan(&self.node_name, now);
        ctx.cancel(plan.event);
        // The tick at times[kept] was scheduled by draw number kept + 1.
        self.lease_rng = plan.rng_before;
        let interval = SimDuration::from_secs(self.config.node_lease_duration_seconds)
            .mul_f64(LEASE_RENEW_FRACTION);
        for _ in 0..=kept {
            rng::jitter(&mut self.lease_rng, interval, JITTER_FACTOR);
        }
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(plan.times[kept], Event::KubeletLeaseTick { machine, gen });
    }
}
