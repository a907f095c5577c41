//! The node lifecycle controller's per-zone `RateLimitedTimedQueue` and its token bucket
//! (reference node-lifecycle §4), modelled on `golang.org/x/time/rate` and client-go's
//! `flowcontrol` so that token timing matches to the nanosecond.
//!
//! Invariant: one token buys one head-of-queue attempt, whatever its outcome; a name leaves the
//! queue's set only through `remove`. Rates are float32 as upstream, widened to float64. The
//! set is only searched (a `LookupMap`, never walked): the heap alone gives the order.

use std::collections::BTreeMap;

use crate::sim::lookup::LookupMap;
use crate::sim::{SimDuration, SimTime};

/// `Duration.Seconds()` as Go computes it.
fn go_seconds(d: SimDuration) -> f64 {
    let ns = d.as_nanos();
    (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
}

#[derive(Clone, Debug)]
enum Limiter {
    /// `NewTokenBucketRateLimiter(qps, burst 1)`: x/time/rate with a zero-initialised limiter,
    /// so the first call finds the bucket full.
    Bucket {
        qps: f32,
        tokens: f64,
        last: Option<SimTime>,
        /// x/time/rate with limit 0 allows `burst` events in total, then none.
        zero_budget: u32,
    },
    /// `NewFakeNeverRateLimiter`: never accepts; its QPS() reports 1.
    Never,
}

impl Limiter {
    fn bucket(qps: f32) -> Limiter {
        Limiter::Bucket {
            qps,
            tokens: 0.0,
            last: None,
            zero_budget: 1,
        }
    }

    fn qps(&self) -> f32 {
        match self {
            Limiter::Bucket { qps, .. } => *qps,
            Limiter::Never => 1.0,
        }
    }

    /// `AllowN(now, 1)` with burst 1.
    fn try_accept(&mut self, now: SimTime) -> bool {
        match self {
            Limiter::Never => false,
            Limiter::Bucket {
                qps,
                tokens,
                last,
                zero_budget,
            } => {
                let limit = *qps as f64;
                // x/time/rate: an infinite limit allows every event.
                if limit.is_infinite() {
                    return true;
                }
                if limit == 0.0 {
                    if *zero_budget >= 1 {
                        *zero_budget -= 1;
                        return true;
                    }
                    return false;
                }
                let burst = 1.0;
                let elapsed = last.map(|l| now.saturating_since(l));
                let available = match elapsed {
                    // A zero `last` is decades ago: the bucket is full.
                    None => burst,
                    Some(e) => (*tokens + go_seconds(e) * limit).min(burst),
                };
                let after = available - 1.0;
                if after < 0.0 {
                    return false;
                }
                *tokens = after;
                *last = Some(now);
                true
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Item {
    name: String,
    added_at: SimTime,
    seq: u64,
}

/// Result of processing one queued node.
pub enum Processed {
    Done,
    /// Not done: retry after this wait (`ProcessAt = now + wait + 1ns`).
    Retry(SimDuration),
}

#[derive(Clone, Debug)]
pub struct RateLimitedQueue {
    limiter: Limiter,
    /// Heap ordered by (process_at, seq); a BTreeMap keeps it deterministic and removable.
    heap: BTreeMap<(SimTime, u64), Item>,
    /// The queue's set: every name added and not removed, with its heap key while it is
    /// still queued (so `Remove` costs O(log n), not a scan of the heap). Found by hash: a
    /// zone's outage re-adds every node of the zone at every pass.
    set: LookupMap<String, Option<(SimTime, u64)>>,
    next_seq: u64,
}

impl RateLimitedQueue {
    pub fn new(qps: f32) -> Self {
        RateLimitedQueue {
            limiter: Limiter::bucket(qps),
            heap: BTreeMap::new(),
            set: LookupMap::new(),
            next_seq: 0,
        }
    }

    /// `Add`: no-op (false) if the name is in the set, whether queued or already processed.
    pub fn add(&mut self, name: &str, now: SimTime) -> bool {
        if self.set.contains_key(name) {
            return false;
        }
        let seq = self.next_seq;
        self.set.insert(name.to_string(), Some((now, seq)));
        self.next_seq += 1;
        self.heap.insert(
            (now, seq),
            Item {
                name: name.to_string(),
                added_at: now,
                seq,
            },
        );
        true
    }

    /// `Remove` then `Add` (the name goes to the back of the queue, re-armed), in one search
    /// of the set and without copying the name again when it was queued.
    pub fn readd(&mut self, name: &str, now: SimTime) {
        let Some(key) = self.set.get_mut(name) else {
            self.add(name, now);
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let old = key.replace((now, seq));
        let mut item = match old.and_then(|k| self.heap.remove(&k)) {
            Some(item) => item,
            None => Item {
                name: name.to_string(),
                added_at: now,
                seq,
            },
        };
        item.added_at = now;
        item.seq = seq;
        self.heap.insert((now, seq), item);
    }

    /// `Remove`: forget the name entirely (the only way to re-arm it).
    pub fn remove(&mut self, name: &str) -> bool {
        match self.set.remove(name) {
            None => false,
            Some(key) => {
                if let Some(key) = key {
                    self.heap.remove(&key);
                }
                true
            }
        }
    }

    pub fn queued(&self) -> usize {
        self.heap.len()
    }

    pub fn qps(&self) -> f32 {
        self.limiter.qps()
    }

    /// Tokens in the bucket at `now` (0 while paused), without taking any.
    pub fn tokens_at(&self, now: SimTime) -> f64 {
        match &self.limiter {
            Limiter::Never => 0.0,
            Limiter::Bucket {
                qps, tokens, last, ..
            } => {
                let limit = *qps as f64;
                if limit.is_infinite() {
                    return 1.0;
                }
                match last {
                    None => 1.0,
                    Some(l) => (*tokens + go_seconds(now.saturating_since(*l)) * limit).min(1.0),
                }
            }
        }
    }

    /// The rate actually applied: 0 while paused (where `qps()` reports the never-limiter's 1).
    pub fn effective_qps(&self) -> f32 {
        match self.limiter {
            Limiter::Never => 0.0,
            Limiter::Bucket { qps, .. } => qps,
        }
    }

    /// `SwapLimiter` (reference §4.1).
    pub fn swap_limiter(&mut self, now: SimTime, qps: f32) {
        if self.limiter.qps() == qps {
            return;
        }
        if qps <= 0.0 {
            self.limiter = Limiter::Never;
            return;
        }
        let mut fresh = Limiter::bucket(qps);
        if !self.limiter.try_accept(now) {
            fresh.try_accept(now);
        }
        self.limiter = fresh;
    }

    /// `Try`: while there is a head, spend a token on it; stop when no token or not yet due.
    /// `f` gets the name and the time it was queued.
    pub fn try_process(&mut self, now: SimTime, mut f: impl FnMut(&str, SimTime) -> Processed) {
        let mut guard = 0usize;
        while let Some((&key, _)) = self.heap.iter().next() {
            guard += 1;
            assert!(
                guard <= 1_000_000,
                "rate-limited queue loop without progress"
            );
            if !self.limiter.try_accept(now) {
                break;
            }
            if now < key.0 {
                break;
            }
            let item = self.heap.remove(&key).expect("head exists");
            match f(&item.name, item.added_at) {
                Processed::Done => {
                    if let Some(k) = self.set.get_mut(&item.name) {
                        *k = None;
                    }
                }
                Processed::Retry(wait) => {
                    let at = now + wait + SimDuration::from_nanos(1);
                    if let Some(k) = self.set.get_mut(&item.name) {
                        *k = Some((at, item.seq));
                    }
                    self.heap.insert((at, item.seq), item);
                }
            }
        }
    }
}

#[cfg(test)]
impl RateLimitedQueue {
    /// Names in heap order, and the set in name order (for the upstream queue tests; the set
    /// is not walkable, so it is probed for the tests' names, and its size must match).
    fn snapshot(&self) -> (Vec<String>, Vec<String>) {
        let set: Vec<String> = TEST_NAMES
            .iter()
            .filter(|n| self.set.contains_key(**n))
            .map(|n| n.to_string())
            .collect();
        assert_eq!(set.len(), self.set.len(), "a name outside TEST_NAMES");
        (self.heap.values().map(|i| i.name.clone()).collect(), set)
    }

    /// The set's entries (name, heap key), in name order.
    fn set_entries(&self) -> Vec<(String, Option<(SimTime, u64)>)> {
        let (_, names) = self.snapshot();
        names
            .into_iter()
            .map(|n| {
                let k = self.set.get(&n).copied().expect("in the set");
                (n, k)
            })
            .collect()
    }
}

/// Every name the tests queue, in name order.
#[cfg(test)]
const TEST_NAMES: [&str; 7] = ["a", "b", "fifth", "first", "fourth", "second", "third"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Unlimited (x/time/rate's `Inf`), as the upstream tests' always-accepting fake limiter.
    const ALWAYS: f32 = f32::INFINITY;

    fn queue3(now: SimTime) -> RateLimitedQueue {
        let mut q = RateLimitedQueue::new(ALWAYS);
        for (i, n) in ["first", "second", "third"].iter().enumerate() {
            q.add(n, now + SimDuration::from_nanos(i as u64));
        }
        q
    }

    // Reference §7.6 Q1 (TestAddNode).
    #[test]
    fn q1_add_node_keeps_fifo_order_and_the_set() {
        let q = queue3(SimTime(0));
        let (heap, set) = q.snapshot();
        assert_eq!(heap, vec!["first", "second", "third"]);
        assert_eq!(set.len(), 3);
    }

    // Reference §7.6 Q2 (TestDelNode).
    #[test]
    fn q2_del_node_removes_from_heap_and_set() {
        for (gone, rest) in [
            ("first", ["second", "third"]),
            ("second", ["first", "third"]),
            ("third", ["first", "second"]),
        ] {
            let mut q = queue3(SimTime(0));
            assert!(q.remove(gone));
            let (heap, set) = q.snapshot();
            assert_eq!(heap, rest.to_vec());
            assert_eq!(set, {
                let mut r = rest.to_vec();
                r.sort();
                r
            });
        }
    }

    // Reference §7.6 Q3 (TestTry).
    #[test]
    fn q3_try_processes_what_is_left() {
        let mut q = queue3(SimTime(0));
        q.remove("second");
        let mut seen = vec![];
        q.try_process(SimTime(10), |n, _| {
            seen.push(n.to_string());
            Processed::Done
        });
        assert_eq!(seen, vec!["first", "third"]);
        assert_eq!(q.queued(), 0);
    }

    // Reference §7.6 Q5 (TestTryRemovingWhileTry): a Remove that lands while "second" is
    // being processed (here: right after its attempt asked for a retry) prevents the retry.
    #[test]
    fn q5_remove_while_trying_prevents_the_retry() {
        let mut q = queue3(SimTime(0));
        let mut done = vec![];
        q.try_process(SimTime(10), |n, _| {
            if n == "second" {
                return Processed::Retry(SimDuration::ZERO);
            }
            done.push(n.to_string());
            Processed::Done
        });
        assert!(q.remove("second"));
        let mut later = 0;
        q.try_process(SimTime(1_000_000), |_, _| {
            later += 1;
            Processed::Done
        });
        assert_eq!(done, vec!["first", "third"]);
        assert_eq!(later, 0, "the retry was dropped with the name");
    }

    // Reference §7.6 Q4 (TestTryOrdering): a retry goes to now + wait + 1 ns.
    #[test]
    fn q4_try_ordering_with_a_retry() {
        let mut q = queue3(SimTime(0));
        let now = SimTime(1_000);
        let mut seen = vec![];
        q.try_process(now, |n, _| {
            seen.push(n.to_string());
            if n == "second" {
                Processed::Retry(SimDuration::from_millis(2))
            } else {
                Processed::Done
            }
        });
        assert_eq!(seen, vec!["first", "second", "third"], "three calls");
        let retry_at = q.heap.keys().next().map(|k| k.0);
        assert_eq!(
            retry_at,
            Some(now + SimDuration::from_millis(2) + SimDuration::from_nanos(1))
        );
        let done: Vec<&String> = seen.iter().filter(|n| *n != "second").collect();
        assert_eq!(done, vec!["first", "third"]);
    }

    /// `readd` leaves the queue as `remove` then `add` would: for a queued name, a processed
    /// one (in the set, not in the heap), a retried one and an absent one.
    #[test]
    fn readd_is_remove_then_add() {
        let mut a = queue3(SimTime(0));
        a.try_process(SimTime(10), |n, _| match n {
            "first" => Processed::Done,
            "second" => Processed::Retry(SimDuration::from_nanos(5)),
            _ => Processed::Done,
        });
        a.add("fourth", SimTime(11));
        let mut b = a.clone();
        for (i, n) in ["second", "first", "fifth", "fourth", "third", "second"]
            .iter()
            .enumerate()
        {
            let now = SimTime(20 + i as u64);
            a.readd(n, now);
            b.remove(n);
            b.add(n, now);
            let heap = |q: &RateLimitedQueue| {
                q.heap
                    .iter()
                    .map(|(k, i)| (*k, i.name.clone(), i.added_at, i.seq))
                    .collect::<Vec<_>>()
            };
            assert_eq!(heap(&a), heap(&b));
            assert_eq!(a.set_entries(), b.set_entries());
            assert_eq!(a.next_seq, b.next_seq);
        }
    }

    // Reference §7.6 Q6 (TestSwapLimiter).
    #[test]
    fn q6_swap_limiter_reports_qps() {
        let mut q = RateLimitedQueue::new(0.1);
        q.swap_limiter(SimTime(0), 0.0);
        assert_eq!(q.qps(), 1.0, "the never-limiter reports 1");
        q.swap_limiter(SimTime(0), 5.5);
        assert_eq!(q.qps(), 5.5);
    }

    fn secs(s: f64) -> SimTime {
        SimTime((s * 1e9).round() as u64)
    }

    // Reference §4.1: bucket starts full, 0.1 qps gives one token per ~10 s (float32 0.1).
    #[test]
    fn token_bucket_starts_full_and_refills_at_float32_rate() {
        let mut l = Limiter::bucket(0.1);
        assert!(l.try_accept(secs(100.0)));
        assert!(!l.try_accept(secs(100.0)));
        // 0.1f32 = 0.100000001490116…: after 9.99999985 s the bucket holds exactly ~1 token.
        assert!(!l.try_accept(secs(109.9999)));
        assert!(l.try_accept(SimTime(secs(100.0).0 + 9_999_999_851)));
    }

    // Reference §7.6 Q7 (TestAddAfterTry): a processed name stays in the set until Remove.
    #[test]
    fn q7_processed_names_are_not_requeued_until_removed() {
        let mut q = RateLimitedQueue::new(100_000.0);
        q.add("a", secs(0.0));
        q.try_process(secs(0.0), |_, _| Processed::Done);
        assert_eq!(q.queued(), 0);
        assert!(!q.add("a", secs(1.0)));
        assert!(q.remove("a"));
        assert!(q.add("a", secs(1.0)));
    }

    // Reference §4.2: one token per head attempt, including a failed one.
    #[test]
    fn a_token_is_spent_per_head_attempt() {
        let mut q = RateLimitedQueue::new(0.1);
        q.add("a", secs(0.0));
        q.add("b", secs(0.0));
        let mut seen = vec![];
        q.try_process(secs(0.0), |n, _| {
            seen.push(n.to_string());
            Processed::Retry(SimDuration::from_millis(50))
        });
        assert_eq!(seen, vec!["a"]);
        // 5 s later there is no token yet.
        q.try_process(secs(5.0), |n, _| {
            seen.push(n.to_string());
            Processed::Done
        });
        assert_eq!(seen, vec!["a"]);
        // 10 s after the first token: the head (b, since a was requeued later) goes.
        q.try_process(secs(10.0), |n, _| {
            seen.push(n.to_string());
            Processed::Done
        });
        assert_eq!(seen, vec!["a", "b"]);
    }

    // Reference §4.1 SwapLimiter: swapping from a drained bucket (or the never-limiter)
    // drains the new one, so the first item after a resume waits a full 1/qps.
    #[test]
    fn swap_from_paused_waits_a_full_interval() {
        let mut q = RateLimitedQueue::new(0.1);
        q.swap_limiter(secs(0.0), 0.0);
        assert_eq!(q.qps(), 1.0);
        q.add("a", secs(1.0));
        q.try_process(secs(1.0), |_, _| panic!("paused"));
        q.swap_limiter(secs(20.0), 0.1);
        let mut done = None;
        for i in 0..=200 {
            let t = secs(20.0 + i as f64 * 0.1);
            q.try_process(t, |_, _| {
                done.get_or_insert(t);
                Processed::Done
            });
        }
        assert_eq!(done, Some(secs(30.0)));
    }

    #[test]
    fn swap_with_same_qps_is_a_no_op() {
        let mut q = RateLimitedQueue::new(0.1);
        q.swap_limiter(secs(0.0), 0.1);
        q.add("a", secs(0.0));
        let mut n = 0;
        q.try_process(secs(0.0), |_, _| {
            n += 1;
            Processed::Done
        });
        assert_eq!(n, 1, "the bucket must still be full");
    }
}
