//! Which nodes a monitor pass visits (the lazy `monitorNodeHealth`). After a visit that finds
//! a node *steady* — Ready True in its object and not expired, not queued for tainting, no
//! NoExecute taint of the controller's, not to be retried — the node is *parked*: passes skip
//! it until its probe could first expire (`probe + grace`), until its Node object or its lease
//! changes (the controller manager's watch calls [`Lazy::unpark`] through `before_watch`), or
//! until it leaves. A skipped pass would have done nothing for a steady node but read its
//! lease: the record's lease renewal and probe time are brought up to the eager pass's values
//! by replaying those reads over the logged pass times ([`Lazy::reads`]) before the record is
//! next used. Parked nodes are counted into their zone's Ready counts as Ready.
//!
//! The active nodes are a name-sorted `Vec` that a pass walks and rebuilds (moving the names,
//! no copies); nodes unparked between passes wait in `woken` and are merged into it, in name
//! order, when the next pass starts. Each node ever parked has one entry, found by hash (never
//! walked), that says whether it is parked or active and holds its sync mark: parking and
//! unparking rewrite the entry in place (no insert, removal or name copy per park), and the
//! parked nodes' due times are ordered by (time, park number), holding the name.
//!
//! Invariant: a parked node's record, whenever it is read, equals what visiting the node at
//! every pass would have left; every node in the cache is either active (visited every pass:
//! in `active` or `woken`) or parked.

use std::collections::{BTreeMap, VecDeque};

use std::sync::Arc;

use super::uidmap::UidMap;
use super::writes::Writes;
use super::{node_record, HealthRecord, NodeLifecycleController, Observed};
use crate::api::ApiServer;
use crate::controllers::cache::{CachedLease, KcmCache};
use crate::controllers::clients::{ControllerClients, Write};
use crate::controllers::ControllerManager;
use crate::controllers::Event;
use crate::model::*;
use crate::sim::lookup::LookupMap;
use crate::sim::{Ctx, SimDuration, SimTime};

/// Passes kept in the log; a node is never parked for more than `MAX_PARKED_PASSES` passes,
/// so the log always covers every pass a parked node skipped.
const PASS_LOG: usize = 4096;
const MAX_PARKED_PASSES: u64 = 1000;

/// A parked node: when it must be visited again (and its number in `due`), the last pass its
/// record reflects, its zone id and whether it counts toward its zone (not excluded from
/// disruption checks).
#[derive(Clone, Copy, Debug)]
struct Parked {
    due: SimTime,
    number: u64,
    synced: u64,
    zone: usize,
    counted: bool,
}

/// A node's lazy state. A node without an entry is active with its record synced.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Visited every pass; `synced`: the pass its record last reflected, if it skipped passes
    /// since (parked, or unparked by a change and not visited since); None: the previous pass.
    Active {
        synced: Option<u64>,
    },
    Parked(Parked),
}

/// What a visit decided for a steady node: park it until `due` (see [`Lazy::park`]).
pub struct Park {
    due: SimTime,
    zone: usize,
    counted: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Lazy {
    /// (sequence number, time) of the latest passes, oldest first.
    passes: VecDeque<(u64, SimTime)>,
    next_seq: u64,
    /// Nodes visited every pass, in name order (no duplicates).
    active: Vec<String>,
    /// Nodes to visit from the next pass on, in no order (duplicates of `active` allowed):
    /// merged into `active` when the pass starts.
    woken: Vec<String>,
    /// Per node ever parked (and not gone): parked or active, and its sync mark.
    nodes: LookupMap<String, State>,
    /// Parked nodes by (due time, park number).
    due: BTreeMap<(SimTime, u64), String>,
    next_park: u64,
    /// Per zone id, the parked nodes that count toward it (all Ready).
    parked_ready: Vec<usize>,
}

impl Lazy {
    /// Starts a pass at `now`; returns its sequence number. Parked nodes due by now become
    /// active.
    pub fn begin_pass(&mut self, now: SimTime) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.passes.push_back((seq, now));
        if self.passes.len() > PASS_LOG {
            self.passes.pop_front();
        }
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let name = entry.remove();
            if let Some(p) = self.wake(&name) {
                self.woke(name, p);
            }
        }
        seq
    }

    /// Every cached node not parked is active (a new term, or the node set changed).
    pub fn reset_active<'a>(&mut self, names: impl Iterator<Item = &'a String>) {
        for n in names {
            if !matches!(self.nodes.get(n), Some(State::Parked(_))) {
                self.woken.push(n.clone());
            }
        }
    }

    /// The active nodes, in name order, for a pass to walk: the pass puts back the ones that
    /// stay active ([`Lazy::keep`], in the same order) and parks the others.
    pub fn take_active(&mut self) -> Vec<String> {
        let active = std::mem::take(&mut self.active);
        if self.woken.is_empty() {
            return active;
        }
        let mut woken = std::mem::take(&mut self.woken);
        woken.sort_unstable();
        woken.dedup();
        let mut merged = Vec::with_capacity(active.len() + woken.len());
        let mut b = woken.into_iter().peekable();
        for a in active {
            while let Some(w) = b.next_if(|w| *w < a) {
                merged.push(w);
            }
            b.next_if(|w| *w == a);
            merged.push(a);
        }
        merged.extend(b);
        self.active = Vec::with_capacity(merged.len());
        merged
    }

    /// A node the pass visited (or could not) stays active; called in name order.
    pub fn keep(&mut self, name: String) {
        self.active.push(name);
    }

    /// The node left the cache.
    pub fn forget(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Per zone id, the parked nodes counted as Ready.
    pub fn parked_ready(&self) -> &[usize] {
        &self.parked_ready
    }

    /// The pass an active node's record last reflected, if it skipped passes since (parked,
    /// or unparked by a change and not visited since); the mark is cleared (the caller
    /// replays the passes after it, [`Lazy::reads`]).
    pub fn take_synced(&mut self, name: &str) -> Option<u64> {
        match self.nodes.get_mut(name) {
            Some(State::Active { synced }) => synced.take(),
            _ => None,
        }
    }

    /// The pass an active node's record last reflected, if it skipped passes since.
    pub fn synced(&self, name: &str) -> Option<u64> {
        match self.nodes.get(name) {
            Some(State::Active { synced }) => *synced,
            _ => None,
        }
    }

    /// The active node's record now reflects the latest pass.
    pub fn mark_synced(&mut self, name: &str) {
        if let Some(&(last, _)) = self.passes.back() {
            let mark = State::Active { synced: Some(last) };
            match self.nodes.get_mut(name) {
                Some(s @ State::Active { .. }) => *s = mark,
                Some(State::Parked(_)) => {}
                None => {
                    self.nodes.insert(name.to_string(), mark);
                }
            }
        }
    }

    /// The renewals the passes after `synced` (and before `until`) would have seen, in order:
    /// (pass time, renewTime seen).
    pub fn reads<'a>(
        &'a self,
        synced: u64,
        until: Option<u64>,
        lease: &'a CachedLease,
        delay: SimDuration,
    ) -> impl Iterator<Item = (SimTime, SimTime)> + 'a {
        // Sequence numbers in the log are consecutive: start right after `synced`.
        let first = self.passes.front().map_or(0, |p| p.0);
        let skip = (synced + 1).saturating_sub(first) as usize;
        self.passes
            .iter()
            .skip(skip)
            .take_while(move |(seq, _)| until.is_none_or(|u| *seq < u))
            .filter_map(move |&(_, t)| lease.renew_time_at(t, delay).map(|r| (t, r)))
    }

    /// Parks `name`, found steady at pass `seq`: visited again at the first pass at or after
    /// `due` (or after `MAX_PARKED_PASSES` passes).
    pub fn park(&mut self, name: String, seq: u64, park: Park, period: SimDuration) {
        let Park { due, zone, counted } = park;
        let now = self.passes.back().map_or(SimTime::ZERO, |p| p.1);
        // A period near the clock's limit (292 years is valid input) leaves no cap to apply.
        let cap = period
            .as_nanos()
            .checked_mul(MAX_PARKED_PASSES)
            .and_then(|n| now.checked_add(SimDuration::from_nanos(n)));
        let due = cap.map_or(due, |cap| due.min(cap));
        if counted {
            if self.parked_ready.len() <= zone {
                self.parked_ready.resize(zone + 1, 0);
            }
            self.parked_ready[zone] += 1;
        }
        let number = self.next_park;
        self.next_park += 1;
        let state = State::Parked(Parked {
            due,
            number,
            synced: seq,
            zone,
            counted,
        });
        // The name is copied once, when the node is first parked.
        match self.nodes.get_mut(&name) {
            Some(s) => *s = state,
            None => {
                self.nodes.insert(name.clone(), state);
            }
        }
        self.due.insert((due, number), name);
    }

    /// The node's object or lease is about to change (or the node leaves): a parked node is
    /// visited at the next pass.
    pub fn unpark(&mut self, name: &str) {
        let Some(p) = self.wake(name) else {
            return;
        };
        // The name `due` held goes on into `woken`.
        let name = self
            .due
            .remove(&(p.due, p.number))
            .unwrap_or_else(|| name.to_string());
        self.woke(name, p);
    }

    /// A parked node becomes active, its record synced to the pass it was parked at; returns
    /// how it was parked (None: it was not).
    fn wake(&mut self, name: &str) -> Option<Parked> {
        let state = self.nodes.get_mut(name)?;
        let State::Parked(p) = *state else {
            return None;
        };
        *state = State::Active {
            synced: Some(p.synced),
        };
        Some(p)
    }

    fn woke(&mut self, name: String, p: Parked) {
        if p.counted {
            self.parked_ready[p.zone] -= 1;
        }
        self.woken.push(name);
    }
}

/// The latest time a steady node's probe is sure to have reached before it could expire,
/// given the renewals its lease plan announces: the record's probe `probe` moves to the time
/// of the first pass that sees a renewal newer than `lease_renew`, and a renewal planned at
/// `r` is seen from `r + watch delay` on. So at any pass the probe is at least the latest
/// `r + delay` visible by then, and `now > probe + grace` (`tryUpdateNodeHealth`) cannot hold
/// before the first renewal that comes later than `grace` after the one before it (or the
/// plan's end). Returns that anchor (the node is due at anchor + grace), at most about
/// `horizon` (the walk stops there).
fn probe_covered(
    plan: &[SimTime],
    lease_renew: Option<SimTime>,
    probe: SimTime,
    watch_delay: SimDuration,
    grace: SimDuration,
    horizon: SimTime,
) -> SimTime {
    let first = lease_renew.map_or(0, |l| plan.partition_point(|t| *t <= l));
    let mut anchor = probe;
    for &r in &plan[first..] {
        let seen = r.saturating_add(watch_delay);
        if seen > anchor.saturating_add(grace) {
            break;
        }
        anchor = anchor.max(seen);
        if anchor >= horizon {
            break;
        }
    }
    anchor
}

impl NodeLifecycleController {
    /// `monitorNodeHealth` (reference §2.4), visiting the active nodes only (`lazy.rs`: a
    /// parked node is steady and a pass would do nothing for it but read its lease). Its
    /// requests are one stream on the `node-controller` client (`writes.rs`): decided now,
    /// each sent when its token comes; `handleDisruption` runs after the last, and with
    /// `next` (the term) the next pass is scheduled `node-monitor-period` after it.
    pub fn monitor_pass(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        next: Option<u32>,
    ) {
        let now = ctx.now();
        let seq = self.lazy.begin_pass(now);
        self.mark_failed.clear();
        self.pass_failed.clear();
        let mut w = Writes::workers(clients);
        // Registration and removal only when the cache's node set changed.
        if self.known_version != Some(cache.node_set_version) {
            self.known_version = Some(cache.node_set_version);
            let nodes: Vec<Arc<Node>> = cache.nodes.values().cloned().collect();
            self.reconcile_known(&mut w, ctx, api, cache, &nodes);
            self.lazy.reset_active(cache.nodes.keys());
        }
        // (Ready, counted) nodes by zone id; parked nodes are Ready.
        let mut by_zone: Vec<(usize, usize)> =
            self.lazy.parked_ready().iter().map(|&n| (n, n)).collect();
        let period = self.config.node_monitor_period;
        for name in self.lazy.take_active() {
            let Some(n) = cache.nodes.get(&name) else {
                self.lazy.forget(&name);
                continue;
            };
            let cached = cache.leases.get(&name);
            // The lease reads of the passes the node skipped, for its record.
            if let (Some(synced), Some(l)) = (self.lazy.take_synced(&name), cached) {
                let reads = self.lazy.reads(synced, Some(seq), l, cache.watch_delay);
                apply_reads(&mut self.records, n.meta.uid, reads);
            }
            let lease = cached.and_then(|l| l.renew_time_at(now, cache.watch_delay));
            let Some(o) = self.try_update_node_health(&mut w, ctx, api, cache, lease, n) else {
                self.lazy.keep(name);
                continue;
            };
            if !o.excluded {
                if by_zone.len() <= o.zone {
                    by_zone.resize(o.zone + 1, (0, 0));
                }
                by_zone[o.zone].0 += usize::from(o.current == Some(ConditionStatus::True));
                by_zone[o.zone].1 += 1;
            }
            match self.visit_node(&mut w, ctx, api, cache, &o, cached) {
                Some(park) => self.lazy.park(name, seq, park, period),
                None => self.lazy.keep(name),
            }
        }
        let zone_conds: BTreeMap<String, (usize, usize)> = by_zone
            .into_iter()
            .enumerate()
            .filter(|(_, (_, total))| *total > 0)
            .map(|(id, c)| (self.zone_names[id].clone(), c))
            .collect();
        if self.stream.idle() {
            return self.end_pass(&mut w, ctx, api, cache, &zone_conds, next);
        }
        let end: Write = Box::new(move |cm, ctx, api| {
            let ControllerManager {
                nlc,
                cache,
                clients,
                ..
            } = cm;
            let mut w = Writes::workers(clients);
            nlc.end_pass(&mut w, ctx, api, cache, &zone_conds, next);
        });
        w.then(self, ctx, end);
    }

    /// The end of a pass, after its last request: `handleDisruption`, then (with `next`, the
    /// term) the next pass `node-monitor-period` after its own requests are sent
    /// (`wait.UntilWithContext` is sliding).
    fn end_pass(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        zone_conds: &BTreeMap<String, (usize, usize)>,
        next: Option<u32>,
    ) {
        let now = ctx.now();
        self.handle_disruption(w, ctx, api, zone_conds, cache, now);
        let Some(gen) = next else {
            return;
        };
        let period = self.config.node_monitor_period;
        if self.stream.idle() {
            ctx.schedule_in(period, Event::NlcMonitorPass { gen });
            return;
        }
        let schedule: Write = Box::new(move |_, ctx, _| {
            ctx.schedule_in(period, Event::NlcMonitorPass { gen });
        });
        w.then(self, ctx, schedule);
    }

    /// A node's steps after `tryUpdateNodeHealth`: its taint, its NotReady record and pods,
    /// the retry bookkeeping; returns how to park it if it is steady.
    fn visit_node(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        o: &Observed,
        lease: Option<&CachedLease>,
    ) -> Option<Park> {
        let node = &o.node;
        let name = &node.meta.name;
        if let Some(cur) = o.current {
            let decide = if self.config.taint_from_current_condition {
                Some(cur)
            } else {
                o.observed
            };
            if let Some(decide) = decide {
                self.process_taint_based_eviction(w, ctx, api, cache, node, decide, o.queued);
            }
            let needs_retry = !self.nodes_to_retry.is_empty() && self.nodes_to_retry.contains(name);
            let transition =
                cur != ConditionStatus::True && o.observed == Some(ConditionStatus::True);
            if transition {
                let (n, uid) = (node.clone(), node.meta.uid);
                w.send(
                    self,
                    ctx,
                    api,
                    cache,
                    0,
                    Box::new(move |nlc, ctx, _, _| {
                        if !nlc.pass_failed.contains(&uid) {
                            let message =
                                format!("Node {} status is now: NodeNotReady", n.meta.name);
                            node_record(ctx, "NodeNotReady", &n, message);
                        }
                    }),
                );
            }
            if transition || (needs_retry && cur != ConditionStatus::True) {
                let pods: Vec<Arc<Pod>> = cache.pods_on_node(name);
                self.mark_pods_not_ready(w, ctx, api, cache, &pods, name, true);
                // After the pods: a failed update retries the node next pass.
                let (uid, name) = (node.meta.uid, name.clone());
                w.send(
                    self,
                    ctx,
                    api,
                    cache,
                    0,
                    Box::new(move |nlc, _, _, _| {
                        if nlc.pass_failed.contains(&uid) {
                            return;
                        }
                        if nlc.mark_failed.remove(&name) {
                            nlc.nodes_to_retry.insert(name);
                        } else {
                            nlc.nodes_to_retry.remove(&name);
                        }
                    }),
                );
                return None;
            }
        }
        if !self.nodes_to_retry.is_empty() {
            self.nodes_to_retry.remove(name);
        }
        let steady =
            o.observed == Some(ConditionStatus::True) && o.current == Some(ConditionStatus::True);
        self.maybe_park(cache, node, steady, o.zone, !o.excluded, lease)
    }

    /// Parks a node the pass left steady (`lazy.rs`): Ready True and not expired, not queued,
    /// no NoExecute taint of the controller's, not to be retried; due when its probe could
    /// first expire, given the lease renewals its kubelet has announced ([`probe_covered`]).
    /// `lease`: the node's cached lease (the pass has looked it up).
    pub(super) fn maybe_park(
        &self,
        cache: &KcmCache,
        node: &Arc<Node>,
        steady: bool,
        zone: usize,
        counted: bool,
        lease: Option<&CachedLease>,
    ) -> Option<Park> {
        if !steady
            || !self.config.lazy_monitor
            || node.has_taint(TAINT_UNREACHABLE, TaintEffect::NoExecute)
            || node.has_taint(TAINT_NOT_READY, TaintEffect::NoExecute)
            || self.nodes_to_retry.contains(&node.meta.name)
        {
            return None;
        }
        let rec = self.records.get(&node.meta.uid)?;
        if rec.queued.is_some() || rec.saved_ready.is_none() {
            return None;
        }
        let grace = self.config.node_monitor_grace_period;
        let period = self.config.node_monitor_period;
        let plan = lease.and_then(|l| l.plan.as_deref());
        let due = match plan {
            Some(plan) => {
                let cap = period.as_nanos().saturating_mul(MAX_PARKED_PASSES);
                let horizon = rec.probe.saturating_add(SimDuration::from_nanos(cap));
                let covered = probe_covered(
                    plan,
                    rec.lease_renew,
                    rec.probe,
                    cache.watch_delay,
                    grace,
                    horizon,
                );
                covered.saturating_add(grace)
            }
            None => rec.probe + grace,
        };
        Some(Park { due, zone, counted })
    }

    /// The controller manager's watch is about to apply `change` to the cache: a parked node
    /// whose object or lease changes is visited at the next pass (for a lease, after its record
    /// has read the old lease at every pass it skipped).
    pub fn before_watch(&mut self, change: &crate::api::Change, cache: &KcmCache) {
        use crate::api::Change;
        let (name, lease) = match change {
            Change::Node(n) | Change::NodeDeleted(n) => (n.meta.name.as_str(), false),
            Change::Lease(l) => (l.name.as_str(), true),
            Change::LeasePlan { name, .. } => (name.as_str(), true),
            _ => return,
        };
        self.lazy.unpark(name);
        if !lease {
            return;
        }
        // A lease change: the record of a node that has skipped passes (parked, or unparked
        // by an earlier change and not visited since) is first brought up to the last pass
        // with the lease as it was: the passes it skipped read the old lease, so the new
        // renewal is first seen, and the probe time reset, at the next pass
        // (pkg/controller/nodelifecycle/node_lifecycle_controller.go `tryUpdateNodeHealth`:
        // the probe is set when a pass observes a newer lease).
        let Some(synced) = self.lazy.synced(name) else {
            return;
        };
        let Some(l) = cache.leases.get(name) else {
            return;
        };
        if let Some(n) = cache.nodes.get(name) {
            let reads = self.lazy.reads(synced, None, l, cache.watch_delay);
            apply_reads(&mut self.records, n.meta.uid, reads);
        }
        self.lazy.mark_synced(name);
    }
}

/// The lease reads of the passes a parked node skipped, applied to its record as
/// `record_health` would have at each (probe times only move forward: a pass may also have
/// reset them).
fn apply_reads(
    records: &mut UidMap<HealthRecord>,
    uid: u64,
    mut reads: impl Iterator<Item = (SimTime, SimTime)>,
) {
    let Some(first) = reads.next() else {
        return;
    };
    if let Some(rec) = records.get_mut(&uid) {
        for (t, renew) in std::iter::once(first).chain(reads) {
            if rec.lease_renew.is_none_or(|l| l < renew) {
                rec.lease_renew = Some(renew);
                rec.probe = rec.probe.max(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    fn dur(s: u64) -> SimDuration {
        SimDuration::from_nanos(s * 1_000_000_000)
    }

    /// Reference §2.3 (`tryUpdateNodeHealth`: expired when `now > probe + grace`; the probe
    /// moves to the pass that first sees a newer renewal). Renewals every 10 s seen 1 s late
    /// with a 40 s grace: the probe keeps up until the plan ends at 100 s, so the node cannot
    /// expire before 101 s + 40 s.
    #[test]
    fn a_regular_plan_covers_the_probe_to_its_last_renewal() {
        let plan: Vec<SimTime> = (1..=10).map(|i| secs(10 * i)).collect();
        let anchor = probe_covered(
            &plan,
            Some(secs(10)),
            secs(11),
            dur(1),
            dur(40),
            secs(10_000),
        );
        assert_eq!(anchor, secs(101));
    }

    /// A gap of more than the grace between two visible renewals ends the cover at the renewal
    /// before it; a gap of exactly the grace does not (the check is strict). Renewals already
    /// seen (not after `lease_renew`) move nothing.
    #[test]
    fn a_gap_longer_than_the_grace_ends_the_cover() {
        let cover = |plan: &[SimTime], renew| {
            probe_covered(
                plan,
                renew,
                secs(10),
                SimDuration::ZERO,
                dur(40),
                secs(10_000),
            )
        };
        assert_eq!(
            cover(&[secs(20), secs(30), secs(71), secs(80)], None),
            secs(30)
        );
        assert_eq!(
            cover(&[secs(20), secs(30), secs(70), secs(80)], None),
            secs(80)
        );
        assert_eq!(
            cover(&[secs(5), secs(9), secs(60)], Some(secs(9))),
            secs(10)
        );
    }

    /// The active set a pass walks equals the plain set computation (every name reset or
    /// unparked and not parked since, in name order, once), whatever the order of the
    /// unparks, resets and parks between passes.
    #[test]
    fn active_nodes_are_the_plain_set_in_name_order() {
        let names: Vec<String> = (0..40).map(|i| format!("n-{}", (i * 17) % 40)).collect();
        let mut lazy = Lazy::default();
        let mut plain = std::collections::BTreeSet::new();
        lazy.reset_active(names.iter());
        plain.extend(names.iter().cloned());
        let park = |zone| Park {
            due: secs(1_000),
            zone,
            counted: true,
        };
        for pass in 0..12u64 {
            let seq = lazy.begin_pass(secs(pass));
            let walked = lazy.take_active();
            assert_eq!(
                walked,
                plain.iter().cloned().collect::<Vec<_>>(),
                "pass {pass}"
            );
            for (i, name) in walked.into_iter().enumerate() {
                // Park every third node the pass visits, at a varying stride.
                if (i as u64 + pass) % 3 == 0 {
                    plain.remove(&name);
                    lazy.park(name, seq, park(i % 2), dur(5));
                } else {
                    lazy.keep(name);
                }
            }
            // Between passes: unpark some names (parked or not), and reset now and then.
            for (i, n) in names.iter().enumerate().rev() {
                if (i as u64 * 7 + pass) % 5 == 0 {
                    lazy.unpark(n);
                    plain.insert(n.clone());
                }
            }
            // A reset re-adds every name not parked: all active already (duplicates).
            if pass % 4 == 3 {
                lazy.reset_active(names.iter());
            }
            let ready: usize = lazy.parked_ready().iter().sum();
            assert_eq!(ready, names.len() - plain.len());
        }
    }

    /// The walk stops at the horizon (the park cap), even on an endless regular plan.
    #[test]
    fn the_walk_stops_at_the_horizon() {
        let plan: Vec<SimTime> = (1..=1000).map(|i| secs(10 * i)).collect();
        let anchor = probe_covered(&plan, None, secs(0), SimDuration::ZERO, dur(40), secs(95));
        assert_eq!(anchor, secs(100));
    }
}
