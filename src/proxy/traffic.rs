//! Synthetic Service traffic through each node's kube-proxy rules, counted in aggregate: no
//! event per request.
//!
//! A client sends `requestsPerSecond` requests from **each** of its origin machines, request
//! `k = 0, 1, …` at `start + ⌊k · 10⁹ / rate⌋` ns. A request from a machine that is down is not
//! sent. Otherwise it goes to the origin proxy's programmed endpoints for the Service (the ones
//! used for traffic, in pod order) round-robin: request `k` to endpoint `k mod n` — the exact
//! expected share of upstream's uniform random pick, without a random stream. It fails when the
//! proxy has no endpoint for the Service, or when the chosen endpoint's pod is not running and
//! ready at that instant: its machine is down, or its pod is not `Running` with `Ready=True` in
//! the API server, or the path between the two machines is cut by a fault.
//!
//! The counts are kept exactly and lazily: nothing changes between two events, so before each
//! event the requests since the previous one are counted in closed form (per endpoint, the
//! request indices of one residue class mod `n`). A request at the instant of an event sees the
//! state after every event at that instant. Failed requests are attributed to the last fault
//! of the timeline that started at or before them (`None` before the first).
//!
//! Invariant: reads the cluster's state and never changes it; the counts are a pure function of
//! the states between events.

use std::collections::BTreeMap;

use super::KubeProxy;
use crate::api::ApiServer;
use crate::model::{pod_key, PodPhase};
use crate::sim::{SimDuration, SimTime};

const NS_PER_S: u128 = 1_000_000_000;

/// One `traffic:` entry of the scenario, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficClient {
    /// The Service, `namespace/name`.
    pub service: String,
    /// Requests per second sent from each origin machine.
    pub requests_per_second: u64,
    /// The origin machines, in machine order.
    pub origins: Vec<u32>,
    /// When the first request is sent.
    pub start: SimDuration,
}

/// Requests sent and failed, and the first and last failing request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub sent: u64,
    pub failed: u64,
    pub first_failed: Option<SimTime>,
    pub last_failed: Option<SimTime>,
}

impl Outcome {
    fn add(&mut self, o: &Outcome) {
        self.sent += o.sent;
        self.failed += o.failed;
        self.first_failed = match (self.first_failed, o.first_failed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_failed = self.last_failed.max(o.last_failed);
    }

    fn fail(&mut self, n: u64, first: SimTime, last: SimTime) {
        if n == 0 {
            return;
        }
        self.failed += n;
        self.add(&Outcome {
            sent: 0,
            failed: 0,
            first_failed: Some(first),
            last_failed: Some(last),
        });
    }

    /// `last_failed − first_failed`: the blackhole window.
    pub fn window(&self) -> Option<SimDuration> {
        Some(self.last_failed?.saturating_since(self.first_failed?))
    }
}

/// The counts of a run: per Service over the run, and per Service and fault ordinal (the
/// requests from that fault's start to the next fault's; `None`: before the first fault).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub totals: BTreeMap<String, Outcome>,
    pub per_fault: BTreeMap<(String, Option<usize>), Outcome>,
}

/// What the traffic reads from the cluster between two events.
pub struct View<'a> {
    pub api: &'a ApiServer,
    pub proxies: &'a [KubeProxy],
    /// Per machine: how many faults hold it down (up iff 0).
    pub down: &'a [u32],
    /// The machine of each node name.
    pub machine_by_name: &'a BTreeMap<String, u32>,
}

impl View<'_> {
    fn up(&self, m: u32) -> bool {
        self.down.get(m as usize).is_none_or(|d| *d == 0)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Traffic {
    clients: Vec<TrafficClient>,
    /// Per Service: the whole run.
    totals: BTreeMap<String, Outcome>,
    /// Per (Service, fault ordinal): the requests after that fault started (`None`: before
    /// any fault).
    per_fault: BTreeMap<(String, Option<usize>), Outcome>,
    fault: Option<usize>,
    /// Requests before this instant are counted.
    counted_to: SimTime,
}

impl Traffic {
    pub fn new(clients: Vec<TrafficClient>) -> Self {
        let totals = clients
            .iter()
            .map(|c| (c.service.clone(), Outcome::default()))
            .collect();
        Traffic {
            clients,
            totals,
            per_fault: BTreeMap::new(),
            fault: None,
            counted_to: SimTime::ZERO,
        }
    }

    /// The Services with clients, in key order.
    pub fn services(&self) -> impl Iterator<Item = &String> {
        self.totals.keys()
    }

    /// Counts the requests before `now` (call before the state changes at `now`).
    pub fn advance(&mut self, now: SimTime, view: &View) {
        if now <= self.counted_to {
            return;
        }
        for (svc, o) in self.count(self.counted_to, now, view) {
            if let Some(t) = self.totals.get_mut(&svc) {
                t.add(&o);
            }
            self.per_fault.entry((svc, self.fault)).or_default().add(&o);
        }
        self.counted_to = now;
    }

    /// Fault number `ordinal` (counting the timeline's faults, not its actions) starts now;
    /// call after `advance(now)`.
    pub fn fault_started(&mut self, ordinal: usize) {
        self.fault = Some(ordinal);
    }

    /// Per Service: the requests before `t` (≥ the last `advance`), without counting them.
    pub fn totals_until(&self, t: SimTime, view: &View) -> BTreeMap<String, Outcome> {
        let mut out = self.totals.clone();
        if t > self.counted_to {
            for (svc, o) in self.count(self.counted_to, t, view) {
                if let Some(x) = out.get_mut(&svc) {
                    x.add(&o);
                }
            }
        }
        out
    }

    /// What was counted so far: per Service, and per Service and fault.
    pub fn report(&self) -> Report {
        Report {
            totals: self.totals.clone(),
            per_fault: self.per_fault.clone(),
        }
    }

    /// The requests in `[a, b)`, per Service, in the state of the view.
    fn count(&self, a: SimTime, b: SimTime, view: &View) -> Vec<(String, Outcome)> {
        let mut out = Vec::new();
        for c in &self.clients {
            let mut o = Outcome::default();
            let start = SimTime::ZERO + c.start;
            if b <= start {
                continue;
            }
            let rate = u128::from(c.requests_per_second.max(1));
            let rel = |t: SimTime| u128::from(t.saturating_since(start).as_nanos());
            // Request k is at start + ⌊k·10⁹/rate⌋, so k is in [a, b) iff k ≥ ⌈rel(a)·rate/10⁹⌉
            // and k < ⌈rel(b)·rate/10⁹⌉.
            let k_lo = (rel(a.max(start)) * rate).div_ceil(NS_PER_S);
            let k_hi = (rel(b) * rate).div_ceil(NS_PER_S);
            if k_lo >= k_hi {
                continue;
            }
            let time_of = |k: u128| start + SimDuration::from_nanos((k * NS_PER_S / rate) as u64);
            for &origin in &c.origins {
                if !view.up(origin) {
                    continue;
                }
                o.sent += (k_hi - k_lo) as u64;
                let used: Vec<&crate::model::Endpoint> = view
                    .proxies
                    .get(origin as usize)
                    .and_then(|p| p.programmed(&c.service))
                    .map(|p| p.used().collect())
                    .unwrap_or_default();
                let n = used.len() as u128;
                if n == 0 {
                    o.fail((k_hi - k_lo) as u64, time_of(k_lo), time_of(k_hi - 1));
                    continue;
                }
                for (i, e) in used.iter().enumerate() {
                    if serves(view, origin, &c.service, e) {
                        continue;
                    }
                    let i = i as u128;
                    let first = k_lo + (i + n - k_lo % n) % n;
                    if first >= k_hi {
                        continue;
                    }
                    let last = k_hi - 1 - (k_hi - 1 + n - i) % n;
                    let hits = (last - first) / n + 1;
                    o.fail(hits as u64, time_of(first), time_of(last));
                }
            }
            out.push((c.service.clone(), o));
        }
        out
    }
}

/// Whether a request from `origin` to endpoint `e` of `service` succeeds now.
fn serves(view: &View, origin: u32, service: &str, e: &crate::model::Endpoint) -> bool {
    let ns = service.split_once('/').map_or("default", |(ns, _)| ns);
    let pod_ok = view
        .api
        .pods()
        .get(&pod_key(ns, &e.pod))
        .is_some_and(|p| p.status.phase == PodPhase::Running && p.is_ready());
    let node_ok = match e
        .node_name
        .as_ref()
        .and_then(|n| view.machine_by_name.get(n))
    {
        Some(&m) => view.up(m) && view.api.net.path_open(origin, m),
        None => true,
    };
    pod_ok && node_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_keeps_first_and_last_failure() {
        let mut o = Outcome::default();
        let t = |s| SimTime::ZERO + SimDuration::from_secs(s);
        o.fail(2, t(5), t(7));
        o.fail(1, t(3), t(3));
        o.fail(0, t(1), t(9));
        assert_eq!(
            (o.failed, o.first_failed, o.last_failed),
            (3, Some(t(3)), Some(t(7)))
        );
        assert_eq!(o.window(), Some(SimDuration::from_secs(4)));
    }
}
