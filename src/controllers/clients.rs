//! kube-controller-manager's API clients and their request budgets (`--kube-api-qps`,
//! `--kube-api-burst`). Upstream builds one clientset per controller from the same rest config
//! (cmd/kube-controller-manager/app/controllermanager.go: `ControllerClientBuilder`, and each
//! `start…Controller` in cmd/kube-controller-manager/app/{apps,core,batch}.go calls
//! `ClientBuilder.ClientOrDie("<controller>-controller")`), and client-go gives every clientset
//! its own `flowcontrol.NewTokenBucketRateLimiter(qps, burst)` (k8s.io/client-go/rest/config.go
//! `RESTClientForConfigAndClient`: qps 0 means `DefaultQPS` 5, burst 0 `DefaultBurst` 10, a
//! negative qps no limiter). So each controller waits for its own tokens, at the same qps/burst.
//!
//! A write that finds its client's bucket empty is *deferred*: it runs as its own engine event at
//! the instant its token comes, in reservation order (client-go's `Wait`), so the event log shows
//! the write (a pod created, a pod deleted, a taint) at the delayed time. A write with a free
//! token runs inline, exactly as without a limit.
//!
//! With kube-apiserver service times (`kubesim-service-time`), a request that would find every
//! seat of its class busy is answered 429 with `Retry-After: 1` (maxinflight.go); client-go
//! sleeps the Retry-After (k8s.io/client-go/rest/with_retry.go `BeforeNextRetry`), takes a new
//! token (`tryThrottle` before every attempt) and sends again, at most `maxRetries` = 10 times
//! (rest/request.go `NewRequest`) before the caller sees the error. kubesim asks the server
//! before each attempt ([`ApiServer::seat_free`]) and defers the write to its retry; after the
//! last retry the write runs and meets the 429 like any failed request.
//!
//! Invariant: a client's writes leave in the order they reserved their tokens, and never before
//! the token's instant; a new leadership term drops every deferred write with the old buckets.

use std::collections::BTreeMap;

use super::{ControllerManager, Event};
use crate::api::{ApiServer, Verb};
pub use crate::client::tokenbucket::ClientStats;
use crate::client::tokenbucket::TokenBucket;
use crate::network::Caller;
use crate::sim::{Ctx, SimDuration, SimTime};

/// maxinflight.go `retryAfter = "1"`: the seconds client-go sleeps after a 429.
pub const RETRY_AFTER: SimDuration = SimDuration::from_secs(1);
/// client-go rest/request.go: `maxRetries: 10` for every request.
pub const MAX_RETRIES: u32 = 10;

/// A deferred write: runs at its token's instant against the controller manager.
pub type Write = Box<dyn FnOnce(&mut ControllerManager, &mut dyn Ctx<Event>, &mut ApiServer)>;

/// The controllers' user agents (`ClientOrDie` names), as upstream spells them.
pub const REPLICASET: &str = "replicaset-controller";
pub const REPLICATION: &str = "replication-controller";
pub const JOB: &str = "job-controller";
pub const DAEMONSET: &str = "daemon-set-controller";
pub const STATEFULSET: &str = "statefulset-controller";
pub const NODE: &str = "node-controller";
pub const TAINT_EVICTION: &str = "taint-eviction-controller";
pub const GARBAGE_COLLECTOR: &str = "generic-garbage-collector";

/// `--kube-api-qps` / `--kube-api-burst` as given (defaults 20 / 30).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientLimits {
    pub qps: f32,
    pub burst: i32,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            qps: 20.0,
            burst: 30,
        }
    }
}

impl ClientLimits {
    /// client-go's reading of a rest config: 0 means the default 5 qps / burst 10, a negative
    /// qps means no rate limiter at all (`None`).
    pub fn bucket(self) -> Option<TokenBucket> {
        let qps = if self.qps == 0.0 { 5.0 } else { self.qps };
        let burst = if self.burst == 0 { 10 } else { self.burst };
        (qps > 0.0).then(|| TokenBucket::new(f64::from(qps), burst.max(1) as u32))
    }
}

/// A write waiting for its token or for its retry after a 429.
struct Deferred {
    client: &'static str,
    /// None: a write with no 429 retries of its own (the node lifecycle controller's, which
    /// meets a 429 like any failed request).
    verb: Option<Verb>,
    /// Reserved tokens this write still counts as waiting.
    waiting: u64,
    /// Attempts the server has already answered 429.
    rejected: u32,
    write: Write,
}

/// One client's bucket (None: unlimited).
struct Client {
    bucket: Option<TokenBucket>,
}

pub struct ControllerClients {
    limits: ClientLimits,
    /// Which user agent the taint-eviction deletions go through (`node-controller` before 1.29,
    /// when the taint manager ran inside the node lifecycle controller).
    taint_eviction: &'static str,
    clients: BTreeMap<&'static str, Client>,
    stats: BTreeMap<&'static str, ClientStats>,
    deferred: BTreeMap<u64, Deferred>,
    /// The verb and attempts of the request `admit` just deferred, for the `defer` that follows.
    pending: Option<(Verb, u32)>,
    next: u64,
    gen: u32,
}

impl ControllerClients {
    pub fn new(limits: ClientLimits, taint_eviction_own_client: bool) -> Self {
        ControllerClients {
            limits,
            taint_eviction: if taint_eviction_own_client {
                TAINT_EVICTION
            } else {
                NODE
            },
            clients: BTreeMap::new(),
            stats: BTreeMap::new(),
            deferred: BTreeMap::new(),
            pending: None,
            next: 0,
            gen: 0,
        }
    }

    pub fn limits(&self) -> ClientLimits {
        self.limits
    }

    /// The user agent of the taint-eviction deletions.
    pub fn taint_eviction(&self) -> &'static str {
        self.taint_eviction
    }

    /// A new leadership term, or the end of one (a new process upstream): fresh buckets,
    /// nothing deferred.
    pub fn begin_term(&mut self, gen: u32) {
        self.clients.clear();
        self.deferred.clear();
        self.gen = gen;
        for s in self.stats.values_mut() {
            s.waiting = 0;
        }
    }

    /// Reserves a token of `client` for a request of `verb` issued now: `None` if it goes at
    /// once, otherwise the instant it may go (pass it to `defer` next): its token's instant, or
    /// its retry after a 429 when the server has no free seat now.
    pub fn admit(
        &mut self,
        now: SimTime,
        client: &'static str,
        api: &ApiServer,
        verb: Verb,
    ) -> Option<SimTime> {
        let at = self.reserve(now, client);
        if at > now {
            self.pending = Some((verb, 0));
            return Some(at);
        }
        if api.seat_free(Caller::ControllerManager, verb) {
            return None;
        }
        self.pending = Some((verb, 1));
        Some(self.reserve_retry(now, client))
    }

    /// The token of a retry after a 429 at `now`: client-go sleeps `RETRY_AFTER`, then waits
    /// for a token. Its wait counts from the 429.
    fn reserve_retry(&mut self, now: SimTime, client: &'static str) -> SimTime {
        let after = now + RETRY_AFTER;
        let at = self.reserve(after, client);
        if let Some(s) = self.stats.get_mut(client) {
            s.waited = s.waited + RETRY_AFTER;
            s.longest = s.longest.max(at.saturating_since(now));
            if at <= after {
                s.waiting += 1;
            }
        }
        at
    }

    fn reserve(&mut self, now: SimTime, client: &'static str) -> SimTime {
        let limits = self.limits;
        let c = self.clients.entry(client).or_insert_with(|| Client {
            bucket: limits.bucket(),
        });
        let at = match c.bucket.as_mut() {
            Some(b) => b.reserve(now),
            None => now,
        };
        self.stats.entry(client).or_default().count(now, at);
        at
    }

    /// Whether `client`'s bucket has a token at `now` (without taking it).
    pub fn token_free(&self, now: SimTime, client: &'static str) -> bool {
        match self.clients.get(client) {
            Some(c) => c.bucket.as_ref().is_none_or(|b| b.wait(now).is_none()),
            None => true,
        }
    }

    /// Reserves one token of `client` for a request issued at `now` (no 429 retries: the
    /// caller meets a rejection as a failed request); returns the instant it is sent.
    pub fn reserve_token(&mut self, now: SimTime, client: &'static str) -> SimTime {
        self.reserve(now, client)
    }

    /// Runs `write` at `at`, a later instant than now, as one of `client`'s deferred writes
    /// (dropped with the term); `waiting` is how many of its reserved tokens it counts as
    /// waiting until then. No seat check: see `reserve_token`.
    pub fn run_at(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        client: &'static str,
        at: SimTime,
        waiting: u64,
        write: Write,
    ) {
        let d = Deferred {
            client,
            verb: None,
            waiting,
            rejected: 0,
            write,
        };
        self.push_deferred(ctx, at, d);
    }

    /// Keeps `d` until `at`, when its `ClientWrite` event runs it.
    fn push_deferred(&mut self, ctx: &mut dyn Ctx<Event>, at: SimTime, d: Deferred) {
        let id = self.next;
        self.next += 1;
        self.deferred.insert(id, d);
        ctx.schedule_in(
            at.saturating_since(ctx.now()),
            Event::ClientWrite { gen: self.gen, id },
        );
    }

    /// Runs `write` at `at` (from the `admit` just before), after every earlier reservation of
    /// its client.
    pub fn defer(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        client: &'static str,
        at: SimTime,
        write: Write,
    ) {
        let (verb, rejected) = self.pending.take().unwrap_or((Verb::Create, 0));
        self.defer_attempt(ctx, client, at, verb, rejected, write);
    }

    fn defer_attempt(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        client: &'static str,
        at: SimTime,
        verb: Verb,
        rejected: u32,
        write: Write,
    ) {
        let d = Deferred {
            client,
            verb: Some(verb),
            waiting: 1,
            rejected,
            write,
        };
        self.push_deferred(ctx, at, d);
    }

    /// The deferred write `id`, now due; `None` if it is gone, or if the server would answer
    /// 429 and client-go retries it (deferred again, `RETRY_AFTER` and a token later).
    pub fn take(&mut self, ctx: &mut dyn Ctx<Event>, api: &ApiServer, id: u64) -> Option<Write> {
        let d = self.deferred.remove(&id)?;
        if let Some(s) = self.stats.get_mut(d.client) {
            s.waiting = s.waiting.saturating_sub(d.waiting);
        }
        if let Some(verb) = d.verb {
            if d.rejected < MAX_RETRIES && !api.seat_free(Caller::ControllerManager, verb) {
                let at = self.reserve_retry(ctx.now(), d.client);
                self.defer_attempt(ctx, d.client, at, verb, d.rejected + 1, d.write);
                return None;
            }
        }
        Some(d.write)
    }

    /// Per client that has sent or reserved a request: its statistics.
    pub fn stats(&self) -> &BTreeMap<&'static str, ClientStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;

    // client-go rest/config.go: qps 0 → DefaultQPS 5 / burst 0 → DefaultBurst 10; qps < 0 → no
    // limiter.
    #[test]
    fn zero_means_client_go_default_and_negative_unlimited() {
        let t0 = SimTime::ZERO;
        let mut d = ClientLimits { qps: 0.0, burst: 0 }
            .bucket()
            .expect("limited");
        for _ in 0..10 {
            assert_eq!(d.reserve(t0), t0);
        }
        assert_eq!(d.reserve(t0), t0 + SimDuration::from_millis(200));
        assert!(ClientLimits {
            qps: -1.0,
            burst: 30
        }
        .bucket()
        .is_none());
    }

    // Input is never a panic: a vanishing qps only makes the tokens never come.
    #[test]
    fn a_tiny_qps_saturates_instead_of_overflowing() {
        let t0 = SimTime::ZERO;
        for burst in [1, i32::MAX] {
            let mut b = ClientLimits { qps: 1e-30, burst }
                .bucket()
                .expect("limited");
            for _ in 0..3 {
                assert!(b.reserve(t0) >= t0);
            }
        }
    }

    fn api(inflight: crate::api::InflightConfig) -> ApiServer {
        ApiServer::new(crate::api::ApiServerConfig {
            default_not_ready_toleration: SimDuration::from_secs(300),
            default_unreachable_toleration: SimDuration::from_secs(300),
            inflight,
        })
    }

    // kube-api-qps 20 / burst 30: 30 requests at once, then one per 50 ms, FIFO.
    #[test]
    fn defaults_send_thirty_then_one_per_fifty_ms() {
        let mut c = ControllerClients::new(ClientLimits::default(), true);
        let a = api(Default::default());
        let t0 = SimTime::ZERO;
        for _ in 0..30 {
            assert_eq!(c.admit(t0, REPLICASET, &a, Verb::Create), None);
        }
        assert_eq!(
            c.admit(t0, REPLICASET, &a, Verb::Create),
            Some(t0 + SimDuration::from_millis(50))
        );
        // Another controller has its own bucket.
        assert_eq!(c.admit(t0, JOB, &a, Verb::Create), None);
        let s = &c.stats()[REPLICASET];
        assert_eq!((s.requests, s.waiting), (31, 1));
        assert_eq!(s.longest, SimDuration::from_millis(50));
    }

    // maxinflight.go: 429 with Retry-After 1; client-go sleeps 1 s, takes a new token, retries.
    #[test]
    fn a_full_server_defers_the_request_by_retry_after() {
        let mut cfg = crate::api::InflightConfig {
            max_mutating_requests_inflight: 1,
            ..Default::default()
        };
        cfg.service_time = crate::api::InflightConfig::parse_service_times("create=5s").unwrap();
        let mut a = api(cfg);
        let mut c = ControllerClients::new(ClientLimits::default(), true);
        let t0 = SimTime::ZERO;
        assert_eq!(c.admit(t0, JOB, &a, Verb::Create), None);
        a.create_pod(
            Caller::ControllerManager,
            crate::model::Pod::named("default", "p"),
        )
        .unwrap();
        assert_eq!(
            c.admit(t0, JOB, &a, Verb::Create),
            Some(t0 + SimDuration::from_secs(1))
        );
        // Deletions have their own service time (none here): they go at once.
        assert_eq!(c.admit(t0, JOB, &a, Verb::Delete), None);
        assert_eq!(a.inflight_rejections(), (0, 1));
        let s = &c.stats()[JOB];
        assert_eq!((s.requests, s.waiting), (4, 1));
        assert_eq!(s.longest, SimDuration::from_secs(1));
    }
}
