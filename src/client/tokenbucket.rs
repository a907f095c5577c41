//! client-go's client-side rate limiter (`flowcontrol.NewTokenBucketRateLimiter(qps, burst)`,
//! as `clientConnection.qps` / `burst` configure it for kube-scheduler), in the GCRA form of a
//! token bucket: one theoretical arrival time instead of a token count, in whole nanoseconds;
//! and `ClientStats`, what a client's requests waited (every rate-limited client reports it).
//!
//! Invariant: a request is allowed at `now` exactly when at most `burst - 1` intervals of
//! `1/qps` are still owed; only `take` advances the bucket, and a qps of 0 or less means no limit.

use crate::sim::{SimDuration, SimTime};

/// A token bucket: `burst` requests at once, then one per `1/qps`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Nanoseconds per token (None: unlimited).
    interval: Option<u64>,
    burst: u64,
    /// The theoretical arrival time of the next request.
    tat: SimTime,
}

impl TokenBucket {
    pub fn new(qps: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            interval: (qps > 0.0).then(|| (1e9 / qps).round().max(1.0) as u64),
            burst: u64::from(burst.max(1)),
            tat: SimTime::ZERO,
        }
    }

    /// How long until the bucket allows a request (None: now).
    pub fn wait(&self, now: SimTime) -> Option<SimDuration> {
        let interval = self.interval?;
        let allow_at = self
            .tat
            .as_nanos()
            .saturating_sub((self.burst - 1).saturating_mul(interval));
        (allow_at > now.as_nanos()).then(|| SimDuration::from_nanos(allow_at - now.as_nanos()))
    }

    /// client-go's `Wait`: reserves the next token for a request issued at `now` and returns
    /// the instant it is sent (`now` if a token is free). Reservations are served in call order
    /// (x/time/rate's `Reserve`), so a client's requests leave FIFO.
    pub fn reserve(&mut self, now: SimTime) -> SimTime {
        let at = now + self.wait(now).unwrap_or(SimDuration::ZERO);
        self.take(at);
        at
    }

    /// Spends one token at `now`.
    pub fn take(&mut self, now: SimTime) {
        if let Some(interval) = self.interval {
            // Saturating: a tiny qps cannot overflow the clock, its tokens just never come.
            let base = self.tat.max(now);
            self.tat = SimTime(base.as_nanos().saturating_add(interval));
        }
    }
}

/// What a client's requests waited, for the time series and the summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientStats {
    /// Requests sent through the bucket.
    pub requests: u64,
    /// Requests reserved and not yet sent.
    pub waiting: u64,
    /// Sum of the waits of the reserved requests (a request's whole wait counts from the
    /// instant it reserves its token).
    pub waited: SimDuration,
    /// The longest single wait.
    pub longest: SimDuration,
}

impl ClientStats {
    /// Counts one request issued at `now` whose token comes at `at`.
    pub fn count(&mut self, now: SimTime, at: SimTime) {
        self.requests += 1;
        let wait = at.saturating_since(now);
        self.waited = self.waited + wait;
        self.longest = self.longest.max(wait);
        if at > now {
            self.waiting += 1;
        }
    }

    /// Adds another client's statistics (the kubelets' total, as one row).
    pub fn add(&mut self, other: &ClientStats) {
        self.requests += other.requests;
        self.waiting += other.waiting;
        self.waited = self.waited + other.waited;
        self.longest = self.longest.max(other.longest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // burst requests pass at once; the next waits one interval after the first.
    #[test]
    fn burst_then_qps() {
        let mut b = TokenBucket::new(10.0, 3);
        let t0 = SimTime::ZERO;
        for _ in 0..3 {
            assert_eq!(b.wait(t0), None);
            b.take(t0);
        }
        assert_eq!(b.wait(t0), Some(SimDuration::from_millis(100)));
        // Reservations queue: qps 20 / burst 30 sends the k-th request at (k - 30) * 50 ms.
        let mut c = TokenBucket::new(20.0, 30);
        let times: Vec<SimTime> = (0..32).map(|_| c.reserve(t0)).collect();
        assert_eq!(times[29], t0);
        assert_eq!(times[30], SimTime::ZERO + SimDuration::from_millis(50));
        assert_eq!(times[31], SimTime::ZERO + SimDuration::from_millis(100));
        let unlimited = TokenBucket::new(0.0, 1);
        assert_eq!(unlimited.wait(t0), None);
    }
}
