//! kube-apiserver's `--max-requests-inflight` / `--max-mutating-requests-inflight` with a
//! kubesim-specific service time per verb: the seats a request holds while it is served.
//!
//! Upstream (k8s.io/apiserver pkg/server/filters/maxinflight.go, the filter used when API
//! Priority and Fairness is disabled) keeps one channel of `limit` slots per class, mutating
//! (POST, PUT, PATCH, DELETE) and read-only (GET, LIST); a request that finds no free slot is
//! answered at once with 429 and `Retry-After: 1`; a limit of 0 means no limit for that class;
//! a request of `system:masters` (kubesim's operator) takes a free slot but is never rejected. kubesim serves a request
//! in zero virtual time, so the time a request holds its slot is a setting (default 0 for every
//! verb: a request holds no seat and nothing is ever rejected).
//!
//! Invariant: with every service time 0 no seat is ever taken, so requests are admitted exactly
//! as without this module; otherwise a seat taken at `t` is free again at `t + service time`
//! (released lazily when the next request of its class arrives: no event is scheduled).

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use crate::sim::{SimDuration, SimTime};

/// The verbs whose service time can be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Create,
    Update,
    Delete,
}

impl Verb {
    pub const ALL: [Verb; 5] = [
        Verb::Get,
        Verb::List,
        Verb::Create,
        Verb::Update,
        Verb::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
        }
    }

    /// maxinflight.go: `nonMutatingRequestVerbs` are get, list and watch.
    pub fn mutating(self) -> bool {
        !matches!(self, Verb::Get | Verb::List)
    }
}

/// The limits and service times (kube-apiserver defaults 400 / 200, service times 0).
#[derive(Clone, Debug, PartialEq)]
pub struct InflightConfig {
    pub max_requests_inflight: u32,
    pub max_mutating_requests_inflight: u32,
    /// Service time per verb, in [`Verb::ALL`] order.
    pub service_time: [SimDuration; 5],
}

impl Default for InflightConfig {
    fn default() -> Self {
        InflightConfig {
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
            service_time: [SimDuration::ZERO; 5],
        }
    }
}

impl InflightConfig {
    pub fn service(&self, verb: Verb) -> SimDuration {
        self.service_time[verb as usize]
    }

    /// Whether any request can hold a seat.
    pub fn active(&self) -> bool {
        self.service_time.iter().any(|d| *d > SimDuration::ZERO)
    }

    /// Parses `verb=duration,…` (e.g. `create=20ms,update=10ms`); unnamed verbs keep 0.
    pub fn parse_service_times(text: &str) -> Result<[SimDuration; 5], String> {
        let mut out = [SimDuration::ZERO; 5];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((verb, d)) = part.split_once('=') else {
                return Err(format!("`{part}` is not verb=duration"));
            };
            let Some(v) = Verb::ALL.iter().find(|v| v.name() == verb.trim()) else {
                return Err(format!(
                    "unknown verb `{}` (expected get, list, create, update or delete)",
                    verb.trim()
                ));
            };
            let d = crate::model::duration::parse_go_duration(d.trim())
                .map_err(|e| format!("{verb}: {e}"))?;
            out[*v as usize] = d;
        }
        Ok(out)
    }
}

/// The seats in use: per class, the instants at which they become free.
#[derive(Debug, Default)]
pub struct Seats {
    busy: RefCell<[BinaryHeap<Reverse<SimTime>>; 2]>,
    /// Requests rejected with 429, per (component, verb).
    rejected: RefCell<BTreeMap<(&'static str, Verb), u64>>,
    /// Depth of internal steps of one request (a bind's or a delete's pod update, an
    /// eviction's writes): they are part of the request that holds the seat.
    nested: Cell<u32>,
}

impl Seats {
    /// Admits a request of `verb` arriving at `now`, or rejects it (all seats of its class
    /// busy). An `exempt` request (`system:masters`) is served even without a free seat.
    /// `who` is the component sending it (for the rejection counts).
    pub fn admit(
        &self,
        config: &InflightConfig,
        verb: Verb,
        now: SimTime,
        exempt: bool,
        who: &'static str,
    ) -> bool {
        let service = config.service(verb);
        if service == SimDuration::ZERO || self.nested.get() > 0 {
            return true;
        }
        let (class, limit) = if verb.mutating() {
            (1, config.max_mutating_requests_inflight)
        } else {
            (0, config.max_requests_inflight)
        };
        if limit == 0 {
            return true;
        }
        let mut busy = self.busy.borrow_mut();
        let heap = &mut busy[class];
        while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
            heap.pop();
        }
        if heap.len() >= limit as usize {
            if !exempt {
                self.reject(who, verb);
            }
            return exempt;
        }
        heap.push(Reverse(now + service));
        true
    }

    /// Whether a request of `verb` sent at `now` would find a free seat (a client that asks
    /// before it sends; a refusal counts as a rejected request, as the 429 it stands for).
    pub fn free(
        &self,
        config: &InflightConfig,
        verb: Verb,
        now: SimTime,
        who: &'static str,
    ) -> bool {
        let (class, limit) = if verb.mutating() {
            (1, config.max_mutating_requests_inflight)
        } else {
            (0, config.max_requests_inflight)
        };
        if config.service(verb) == SimDuration::ZERO || limit == 0 {
            return true;
        }
        let mut busy = self.busy.borrow_mut();
        let heap = &mut busy[class];
        while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
            heap.pop();
        }
        let free = heap.len() < limit as usize;
        if !free {
            self.reject(who, verb);
        }
        free
    }

    /// Marks the start / end of a request's internal steps.
    pub fn enter(&self) {
        self.nested.set(self.nested.get() + 1);
    }
    pub fn leave(&self) {
        self.nested.set(self.nested.get().saturating_sub(1));
    }

    fn reject(&self, who: &'static str, verb: Verb) {
        *self.rejected.borrow_mut().entry((who, verb)).or_default() += 1;
    }

    /// Requests rejected so far: (read-only, mutating).
    pub fn rejected(&self) -> (u64, u64) {
        let r = self.rejected.borrow();
        let of = |m: bool| {
            r.iter()
                .filter(|((_, v), _)| v.mutating() == m)
                .map(|(_, n)| n)
                .sum()
        };
        (of(false), of(true))
    }

    /// Requests rejected so far, per (component, verb), in key order.
    pub fn rejections(&self) -> BTreeMap<(&'static str, Verb), u64> {
        self.rejected.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(n)
    }

    // maxinflight.go: with 2 mutating slots and a 100 ms service time, the third write at
    // t = 0 finds both busy and is rejected; at 100 ms both slots are free again.
    #[test]
    fn a_full_class_rejects_until_a_seat_frees() {
        let mut c = InflightConfig {
            max_requests_inflight: 1,
            max_mutating_requests_inflight: 2,
            ..Default::default()
        };
        c.service_time = InflightConfig::parse_service_times("create=100ms, get=1s").unwrap();
        let s = Seats::default();
        assert!(s.admit(&c, Verb::Create, ms(0), false, "t"));
        assert!(s.admit(&c, Verb::Create, ms(0), false, "t"));
        assert!(!s.admit(&c, Verb::Create, ms(99), false, "t"));
        // Updates take no time here: they hold no seat and always pass.
        assert!(s.admit(&c, Verb::Update, ms(99), false, "t"));
        // Read-only requests have their own seats.
        assert!(s.admit(&c, Verb::Get, ms(99), false, "t"));
        assert!(!s.admit(&c, Verb::Get, ms(500), false, "t"));
        assert!(s.admit(&c, Verb::Create, ms(100), false, "t"));
        assert!(s.admit(&c, Verb::Create, ms(100), false, "t"));
        assert!(!s.admit(&c, Verb::Create, ms(150), false, "t"));
        // system:masters is served without a seat; it takes none when none is free.
        assert!(s.admit(&c, Verb::Create, ms(150), true, "t"));
        assert!(s.admit(&c, Verb::Create, ms(200), true, "t"));
        assert!(s.admit(&c, Verb::Create, ms(200), false, "t"));
        assert!(!s.admit(&c, Verb::Create, ms(200), false, "t"));
        assert_eq!(s.rejected(), (1, 3));
    }

    #[test]
    fn zero_service_times_and_zero_limits_never_reject() {
        let c = InflightConfig::default();
        assert!(!c.active());
        let s = Seats::default();
        for _ in 0..1000 {
            assert!(s.admit(&c, Verb::Create, ms(0), false, "t"));
        }
        let c = InflightConfig {
            max_mutating_requests_inflight: 0,
            service_time: [SimDuration::from_secs(1); 5],
            ..Default::default()
        };
        for _ in 0..1000 {
            assert!(s.admit(&c, Verb::Delete, ms(0), false, "t"));
        }
        assert_eq!(s.rejected(), (0, 0));
        assert!(InflightConfig::parse_service_times("patch=1s").is_err());
        assert!(InflightConfig::parse_service_times("create").is_err());
        assert!(InflightConfig::parse_service_times("create=fast").is_err());
    }
}
