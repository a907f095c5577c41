//! The kubelet's registration and node status loop, after pkg/kubelet/kubelet_node_status.go
//! (`registerWithAPIServer`, `syncNodeStatus`/`tryUpdateNodeStatus`, `setNodeStatusImages`)
//! and the condition setters of pkg/kubelet/nodestatus/setters.go (`ReadyCondition`,
//! `MemoryPressureCondition`, `DiskPressureCondition`, `PIDPressureCondition`).
//!
//! Timings follow reference node-lifecycle §1: status loop every `nodeStatusUpdateFrequency`
//! (jitter 0.04, sliding), writes only on change or when the report period expired (±50 %
//! jitter from 1.34 on); registration backoff 100 ms → 7 s. With lazy heartbeats a run of
//! ticks that would each write nothing is drawn ahead and only its last is an event.
//!
//! Invariant: the status stream `rng` is drawn exactly as the eager loop would draw it; a
//! status plan is taken only while every planned tick would write nothing, and anything that
//! could make one write withdraws the plan ([`Kubelet::interrupt_status_plan`]), replaying the
//! stream to where the eager loop would have it, so the event log is the eager loop's.

use rand_chacha::ChaCha8Rng;

use super::pressure::Signal;
use super::{Event, Kubelet, BACKOFF_CAP, JITTER_FACTOR};
use crate::api::{ApiError, ApiServer};
use crate::model::*;
use crate::sim::{rng, Ctx, SimDuration, SimTime};

/// `nodeStatusMaxImages` default.
const NODE_STATUS_MAX_IMAGES: usize = 50;
/// Status ticks per status plan at most (the plan also ends at the report deadline).
const STATUS_PLAN_MAX: usize = 64;

/// Lazy heartbeats, status loop: the ticks until the next report deadline, all of which would
/// find nothing to write as long as nothing changes. Only the last is a real event.
pub(super) struct StatusPlan {
    rng_before: ChaCha8Rng,
    times: Vec<SimTime>,
    event: crate::sim::EventId,
}

impl Kubelet {
    pub(super) fn draw_report_offset(&mut self) {
        self.report_offset_ns = if self.config.report_jitter {
            let f = self.config.node_status_report_frequency.as_nanos() as f64;
            (f * (rng::unit_f64(&mut self.rng) - 0.5)).round() as i64
        } else {
            0
        };
    }

    pub fn on_status_tick(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        if !self.registered {
            // registerWithAPIServer sleeps before each attempt.
            let (machine, gen) = (self.machine, self.gen);
            ctx.schedule_in(self.register_step, Event::KubeletRegister { machine, gen });
            return;
        }
        // The plan's last tick is this one: the plan is used up.
        self.status_plan = None;
        let healthy = self.update_node_status(ctx, api);
        self.flush_pod_status(ctx, api);
        if !self.config.lazy_heartbeats || self.runtime_hung_since.is_some() {
            self.schedule_status_tick(ctx);
        } else if healthy && self.pending_status.is_empty() {
            self.plan_status_ticks(ctx, true);
        } else if !api.net.reachable(self.caller()) {
            // Cut off: every tick fails, with no effect, until `wake_reachable`.
            self.plan_status_ticks(ctx, false);
        } else {
            self.schedule_status_tick(ctx);
        }
    }

    /// Lazy heartbeats: the node status in the API is what this kubelet would post and no pod
    /// status is pending, so every tick until the report deadline would do nothing. Draw their
    /// times as the eager loop would and schedule only the one at the deadline.
    /// (`to_deadline` false: the kubelet is cut off, so every tick until it is woken fails;
    /// plan a fixed number of them.)
    fn plan_status_ticks(&mut self, ctx: &mut dyn Ctx<Event>, to_deadline: bool) {
        let last = match self.last_report {
            Some(last) => last,
            None if !to_deadline => SimTime::ZERO,
            None => {
                self.schedule_status_tick(ctx);
                return;
            }
        };
        let period = if to_deadline {
            self.config.node_status_report_frequency.as_nanos() as i64 + self.report_offset_ns
        } else {
            i64::MAX
        };
        let rng_before = self.rng.clone();
        // Ticks are at least 0.96 of the update period apart: room for them all at once.
        let step = self.config.node_status_update_frequency.as_nanos().max(1) as i64;
        let expected = (period.saturating_sub(1) / step).saturating_add(3);
        let mut times = Vec::with_capacity((expected as usize).min(STATUS_PLAN_MAX));
        let mut t = ctx.now();
        loop {
            t += rng::jitter(
                &mut self.rng,
                self.config.node_status_update_frequency,
                JITTER_FACTOR,
            );
            times.push(t);
            if t.since(last).as_nanos() as i64 >= period || times.len() == STATUS_PLAN_MAX {
                break;
            }
        }
        let (machine, gen) = (self.machine, self.gen);
        let event = ctx.schedule_at(t, Event::KubeletStatusTick { machine, gen });
        self.status_plan = Some(StatusPlan {
            rng_before,
            times,
            event,
        });
    }

    /// Something that could make a planned tick do something happened now: the Node's
    /// conditions changed under the kubelet, a pod status write failed, or the process stops.
    /// Ticks up to now (`inclusive`: at now too) were no-ops; the loop goes back to one event
    /// per tick from the next, with the stream replayed to where the eager loop would have it.
    pub fn interrupt_status_plan(&mut self, ctx: &mut dyn Ctx<Event>, inclusive: bool) {
        let Some(plan) = self.status_plan.take() else {
            return;
        };
        let now = ctx.now();
        let done = if inclusive {
            plan.times.partition_point(|t| *t <= now)
        } else {
            plan.times.partition_point(|t| *t < now)
        };
        let next = done.min(plan.times.len() - 1);
        ctx.cancel(plan.event);
        self.rng = plan.rng_before;
        for _ in 0..=next {
            rng::jitter(
                &mut self.rng,
                self.config.node_status_update_frequency,
                JITTER_FACTOR,
            );
        }
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(plan.times[next], Event::KubeletStatusTick { machine, gen });
    }

    fn schedule_status_tick(&mut self, ctx: &mut dyn Ctx<Event>) {
        let d = rng::jitter(
            &mut self.rng,
            self.config.node_status_update_frequency,
            JITTER_FACTOR,
        );
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_in(d, Event::KubeletStatusTick { machine, gen });
    }

    pub fn on_register(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) {
        let now = ctx.now();
        // The POST goes through the rate-limited client: wait for its token first.
        if !std::mem::take(&mut self.register_token) {
            if let Some(at) = self.reserve_tokens(now, 1) {
                self.register_token = true;
                let (machine, gen) = (self.machine, self.gen);
                ctx.schedule_at(at, Event::KubeletRegister { machine, gen });
                return;
            }
        }
        let mut node = self.template.clone();
        node.status.conditions = healthy_conditions(now, None);
        match api.create_node(self.caller(), node) {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => {
                self.registered = true;
                api.register_kubelet_watch(&self.node_name, self.machine);
                self.ensure_mirror_pods(ctx, api);
                let _ = self.update_node_status(ctx, api);
                self.schedule_status_tick(ctx);
            }
            Err(_) => {
                self.register_step = (self.register_step + self.register_step).min(BACKOFF_CAP);
                let (machine, gen) = (self.machine, self.gen);
                ctx.schedule_in(self.register_step, Event::KubeletRegister { machine, gen });
            }
        }
    }

    /// `tryUpdateNodeStatus`: PATCH only if something other than heartbeat times changed, or
    /// the report period (with its 1.34 jitter) expired.
    /// Returns whether the API now holds the status this kubelet would post (reachable, and
    /// either nothing to write or the write succeeded).
    fn update_node_status(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer) -> bool {
        let now = ctx.now();
        let Ok(current) = api.get_node(self.caller(), &self.node_name) else {
            return false;
        };
        let pleg = self.pleg_error(now);
        // `setNodeStatusImages`: the images on the machine, largest first, at most
        // `nodeStatusMaxImages` (50); a pulled image changes the status. (The list is kept by
        // the store until an image lands; when it is what the API holds, the write keeps the
        // API's list, which is the same.)
        let images = if self.runtime.images.pulled_any() {
            let listed = self.runtime.images.node_images_kept(NODE_STATUS_MAX_IMAGES);
            (listed != current.status.images.as_slice()).then(|| listed.to_vec())
        } else {
            None
        };
        let changed = !is_current_status(
            &current.status.conditions,
            self.eviction.pressure,
            pleg.as_deref(),
        ) || images.is_some();
        let expired = match self.last_report {
            None => true,
            Some(last) => {
                let period = self.config.node_status_report_frequency.as_nanos() as i64
                    + self.report_offset_ns;
                now.since(last).as_nanos() as i64 >= period
            }
        };
        if !changed && !expired {
            return true;
        }
        let was_ready = current.ready_status();
        let desired = node_conditions(now, Some(&current), self.eviction.pressure, pleg.as_deref());
        let result = api.update_node_status(self.caller(), &self.node_name, desired, images);
        if result.is_ok() {
            self.last_report = Some(now);
            if changed {
                self.draw_report_offset();
            }
            // `recordNodeStatusEvent` when the Ready status the kubelet posts changes.
            let (ready_now, what) = if pleg.is_none() {
                (ConditionStatus::True, "NodeReady")
            } else {
                (ConditionStatus::False, "NodeNotReady")
            };
            if was_ready != Some(ready_now) && !(what == "NodeNotReady" && was_ready.is_none()) {
                self.record(
                    ctx,
                    what,
                    format!("Node/{}", self.node_name),
                    format!("Node {} status is now: {what}", self.node_name),
                );
            }
        }
        result.is_ok() && pleg.is_none()
    }

    /// `GenericPLEG.Healthy`: unhealthy once the relist has not completed for more than
    /// `relistThreshold` (3 min); the Ready condition then carries its error.
    fn pleg_error(&self, now: SimTime) -> Option<String> {
        const THRESHOLD: SimDuration = SimDuration::from_mins(3);
        let since = self.runtime_hung_since?;
        let elapsed = now.since(since);
        (elapsed > THRESHOLD).then(|| {
            format!(
                "PLEG is not healthy: pleg was last seen active {} ago; threshold is {}",
                elapsed, THRESHOLD
            )
        })
    }
}

/// The conditions a kubelet with a working runtime and no pressure computes at `now`, keeping
/// each `lastTransitionTime` of `existing` whose status is unchanged.
pub fn healthy_conditions(now: SimTime, existing: Option<&Node>) -> Vec<NodeCondition> {
    node_conditions(now, existing, [false; 3], None)
}

/// The conditions a kubelet posts at `now`, with `MemoryPressure` True when
/// `memory_pressure` (`setNodeMemoryPressureCondition`).
pub fn node_conditions(
    now: SimTime,
    existing: Option<&Node>,
    pressure: [bool; 3],
    not_ready: Option<&str>,
) -> Vec<NodeCondition> {
    HEALTHY
        .iter()
        .map(|row| {
            let (t, s, reason, msg) = condition_row(row, pressure);
            let (s, reason, msg) = match (t, not_ready) {
                (NodeConditionType::Ready, Some(m)) => {
                    (ConditionStatus::False, "KubeletNotReady", m)
                }
                _ => (s, reason, msg),
            };
            let prev = existing.and_then(|n| n.condition(t));
            let ltt = match prev {
                Some(p) if p.status == s => p.last_transition_time,
                _ => now,
            };
            NodeCondition {
                type_: t,
                status: s,
                last_heartbeat_time: now,
                last_transition_time: ltt,
                reason: reason.to_string(),
                message: msg.to_string(),
            }
        })
        .collect()
}

type ConditionRow = (
    NodeConditionType,
    ConditionStatus,
    &'static str,
    &'static str,
);

/// The row of a condition under pressure (`setNodeMemoryPressureCondition`,
/// `setNodeDiskPressureCondition`, `setNodePIDPressureCondition`), indexed by [`Signal`].
fn condition_row(row: &ConditionRow, pressure: [bool; 3]) -> ConditionRow {
    use NodeConditionType::*;
    match row.0 {
        MemoryPressure if pressure[Signal::Memory.index()] => (
            MemoryPressure,
            ConditionStatus::True,
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        DiskPressure if pressure[Signal::NodeFs.index()] => (
            DiskPressure,
            ConditionStatus::True,
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        ),
        PIDPressure if pressure[Signal::Pid.index()] => (
            PIDPressure,
            ConditionStatus::True,
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
        _ => *row,
    }
}

/// Whether `current` already says exactly what this kubelet would post: "changed" ignores
/// `lastHeartbeatTime` and condition order (reference §1.2). Allocation-free, as it runs on
/// every status tick of every node.
fn is_current_status(
    current: &[NodeCondition],
    pressure: [bool; 3],
    not_ready: Option<&str>,
) -> bool {
    current.len() == HEALTHY.len()
        && HEALTHY.iter().all(|row| {
            let (t, s, reason, msg) = condition_row(row, pressure);
            let (s, reason, msg) = match (t, not_ready) {
                (NodeConditionType::Ready, Some(m)) => {
                    (ConditionStatus::False, "KubeletNotReady", m)
                }
                _ => (s, reason, msg),
            };
            current
                .iter()
                .any(|c| c.type_ == t && c.status == s && c.reason == reason && c.message == msg)
        })
}

/// The conditions a healthy kubelet posts: (type, status, reason, message).
const HEALTHY: [ConditionRow; 4] = {
    use NodeConditionType::*;
    [
        (
            MemoryPressure,
            ConditionStatus::False,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            DiskPressure,
            ConditionStatus::False,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            PIDPressure,
            ConditionStatus::False,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            Ready,
            ConditionStatus::True,
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
};
