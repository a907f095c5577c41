//! The kubelet's API client budget (KubeletConfiguration `kubeAPIQPS` / `kubeAPIBurst`, 50 / 100
//! in every supported version: kubernetes PR #116121 raised them from 5 / 10 in 1.27).
//!
//! cmd/kubelet/app/server.go `run` builds three clients from one rest config: `KubeClient`, whose
//! QPS and burst are `kubeAPIQPS` / `kubeAPIBurst` (`kubeClientConfigOverrides`); `EventClient`
//! (`eventRecordQPS` / `eventBurst`); and `HeartbeatClient`, with `QPS = -1`, no limiter at all.
//! The node status PATCH (kubelet_node_status.go `patchNodeStatus` uses `heartbeatClient`) and the
//! Lease (pkg/kubelet/kubelet.go hands `heartbeatClient` to the node lease controller) therefore
//! never wait, and the lazy heartbeat plans stay exact. What waits for a `KubeClient` token: the
//! status manager's GET + PATCH of each pod status sync (pkg/kubelet/status/status_manager.go
//! `syncPod`) and its final DELETE of a terminated pod, a rejected pod's status, mirror pod
//! creations and deletions (pkg/kubelet/pod/mirror_client.go), and registration's POST
//! (`registerWithAPIServer`).
//!
//! A write that finds the bucket empty runs as its own engine event at its last token's instant
//! (client-go's `Wait`, FIFO in reservation order). A pod whose status sync is waiting does not
//! reserve again when its status changes: the waiting sync writes the pod's status as it is when
//! its tokens come.
//!
//! Invariant: the kubelet's rate-limited writes leave in reservation order and never before their
//! token; a new kubelet process starts with a full bucket and nothing deferred.

use std::collections::{BTreeMap, BTreeSet};

use super::{Event, Kubelet};
use crate::api::ApiServer;
use crate::client::tokenbucket::{ClientStats, TokenBucket};
use crate::sim::{Ctx, SimTime};

/// A deferred write: runs at its token's instant against the kubelet.
pub(super) type Write = Box<dyn FnOnce(&mut Kubelet, &mut dyn Ctx<Event>, &mut ApiServer)>;

/// `kubeAPIQPS` / `kubeAPIBurst` as given (validated non-negative; defaults 50 / 100).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KubeletClientLimits {
    pub qps: i32,
    pub burst: i32,
}

impl Default for KubeletClientLimits {
    fn default() -> Self {
        KubeletClientLimits {
            qps: 50,
            burst: 100,
        }
    }
}

impl KubeletClientLimits {
    /// The `KubeClient` limiter. `kubeAPIQPS` is a pointer in KubeletConfiguration v1beta1, so an
    /// explicit 0 survives defaulting and reaches client-go, which reads a 0 qps as its
    /// `DefaultQPS` 5 (k8s.io/client-go/rest/config.go); `kubeAPIBurst` 0 is defaulted to 100
    /// (pkg/kubelet/apis/config/v1beta1/defaults.go `if obj.KubeAPIBurst == 0`).
    pub fn bucket(self) -> TokenBucket {
        let qps = if self.qps == 0 { 5 } else { self.qps };
        let burst = if self.burst == 0 { 100 } else { self.burst };
        TokenBucket::new(f64::from(qps), burst.max(1) as u32)
    }
}

/// What a deferred write is, for a pod: a later request of the same kind for the same pod waits
/// for it instead of reserving again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    Status,
    Delete,
    MirrorCreate,
    MirrorDelete,
}

pub(super) struct KubeletClient {
    bucket: TokenBucket,
    deferred: BTreeMap<u64, Write>,
    next: u64,
    queued: BTreeSet<(Op, String)>,
    stats: ClientStats,
}

impl KubeletClient {
    pub(super) fn new(limits: KubeletClientLimits) -> Self {
        KubeletClient {
            bucket: limits.bucket(),
            deferred: BTreeMap::new(),
            next: 0,
            queued: BTreeSet::new(),
            stats: ClientStats::default(),
        }
    }

    /// A new process: a full bucket, nothing deferred (the statistics stay, per machine).
    pub(super) fn restart(&mut self, limits: KubeletClientLimits) {
        self.bucket = limits.bucket();
        self.deferred.clear();
        self.queued.clear();
        self.stats.waiting = 0;
    }

    /// Reserves `n` tokens for requests sent one after the other from `now`: `None` if all go at
    /// once, otherwise the instant of the last (and one more write waits).
    pub(super) fn reserve(&mut self, now: SimTime, n: u32) -> Option<SimTime> {
        // Each request reserves its token when the one before it returns (one goroutine).
        let mut last = now;
        for _ in 0..n {
            let at = self.bucket.reserve(last);
            let s = &mut self.stats;
            s.requests += 1;
            let wait = at.saturating_since(last);
            s.waited = s.waited + wait;
            s.longest = s.longest.max(wait);
            last = at;
        }
        if last > now {
            self.stats.waiting += 1;
        }
        (last > now).then_some(last)
    }

    pub(super) fn is_queued(&self, op: Op, key: &str) -> bool {
        self.queued.contains(&(op, key.to_string()))
    }

    pub(super) fn stats(&self) -> &ClientStats {
        &self.stats
    }
}

impl Kubelet {
    /// Reserves `n` of the kubelet client's tokens for a request sequence issued now (`None`:
    /// it goes at once).
    pub(super) fn reserve_tokens(&mut self, now: SimTime, n: u32) -> Option<SimTime> {
        self.client.reserve(now, n)
    }

    /// Runs `write` for `key` at `at` (from `reserve_tokens`), after every earlier reservation.
    pub(super) fn defer_write(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        op: Op,
        key: &str,
        at: SimTime,
        write: Write,
    ) {
        let id = self.client.next;
        self.client.next += 1;
        self.client.queued.insert((op, key.to_string()));
        let key = key.to_string();
        self.client.deferred.insert(
            id,
            Box::new(
                move |k: &mut Kubelet, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer| {
                    k.client.queued.remove(&(op, key));
                    write(k, ctx, api)
                },
            ),
        );
        let (machine, gen) = (self.machine, self.gen);
        ctx.schedule_at(at, Event::KubeletClientWrite { machine, gen, id });
    }

    /// A deferred write is due.
    pub fn on_client_write(&mut self, ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, id: u64) {
        let Some(w) = self.client.deferred.remove(&id) else {
            return;
        };
        self.client.stats.waiting = self.client.stats.waiting.saturating_sub(1);
        w(self, ctx, api);
    }

    /// What this kubelet's rate-limited requests have waited.
    pub fn client_stats(&self) -> &ClientStats {
        self.client.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;

    // KubeletConfiguration defaults (PR #116121, ≥ 1.27): 100 at once, then one per 20 ms; a
    // status sync (GET + PATCH) takes two.
    #[test]
    fn defaults_send_one_hundred_then_one_per_twenty_ms() {
        let mut c = KubeletClient::new(KubeletClientLimits::default());
        let t0 = SimTime::ZERO;
        for _ in 0..50 {
            assert_eq!(c.reserve(t0, 2), None);
        }
        assert_eq!(c.reserve(t0, 2), Some(t0 + SimDuration::from_millis(40)));
        let s = c.stats();
        // The GET waits 20 ms, the PATCH reserves when it returns and waits 20 ms more.
        assert_eq!(s.requests, 102);
        assert_eq!(s.longest, SimDuration::from_millis(20));
        assert_eq!(s.waiting, 1);
    }

    // qps 0 reaches client-go as 0, its DefaultQPS 5; burst 0 is defaulted to 100.
    #[test]
    fn zero_qps_is_client_go_default_and_zero_burst_the_kubelet_default() {
        let mut b = KubeletClientLimits { qps: 0, burst: 0 }.bucket();
        let t0 = SimTime::ZERO;
        for _ in 0..100 {
            assert_eq!(b.reserve(t0), t0);
        }
        assert_eq!(b.reserve(t0), t0 + SimDuration::from_millis(200));
    }
}
