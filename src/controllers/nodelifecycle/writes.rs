//! The node lifecycle controller's requests through its `node-controller` client (upstream:
//! cmd/kube-controller-manager/app/core.go `startNodeLifecycleController` builds it with
//! `controllerContext.ClientBuilder.ClientOrDie("node-controller")`, so it has its own
//! `kube-api-qps` / `kube-api-burst` bucket). A [`Writes`] is one goroutine's sequence of
//! steps: each step reserves its tokens, and runs inline when they are all free now and
//! nothing of its sequence waits — exactly as without a limit — or else as a deferred write
//! at its last token's instant, after the sequence's earlier steps. Local bookkeeping that
//! follows a request (a queue add, a record) is a step of no tokens, so it runs after the
//! request it follows.
//!
//! The monitor pass's steps go through the controller's [`Stream`]: upstream's
//! `nodeUpdateWorkerSize` = 8 workers each wait for one token at a time, so at most 8 of the
//! pass's tokens are reserved at any instant and a request of another goroutine (the
//! tainting pass, a NoSchedule update) is served after at most those 8. kubesim runs the
//! pass's steps in node-name order with that window of 8 tokens, and reserves the next
//! step's tokens when an earlier one is sent. The other goroutines reserve at once.
//!
//! Invariant: a sequence's steps run in the order they were sent, none before its tokens have
//! come; while no token of a sequence has had to wait, every step runs inline at once; the
//! stream never holds more than `WORKERS` reserved tokens (or one step's, if it needs more).

use std::collections::VecDeque;
use std::sync::Arc;

use super::NodeLifecycleController;
use crate::api::ApiServer;
use crate::controllers::cache::KcmCache;
use crate::controllers::clients::{ControllerClients, Write, NODE};
use crate::controllers::Event;
use crate::model::*;
use crate::sim::{Ctx, Record, SimTime};

/// A step of the controller: a request's effect and the local work that follows it.
pub type Step =
    Box<dyn FnOnce(&mut NodeLifecycleController, &mut dyn Ctx<Event>, &mut ApiServer, &KcmCache)>;

/// `nodeUpdateWorkerSize`: the monitor pass's parallel workers (node_lifecycle_controller.go).
pub const WORKERS: u32 = 8;

/// A step of the monitor pass's stream, waiting for its tokens to be reserved.
enum Item {
    Step(u32, Step),
    /// A step of no tokens that needs the whole controller manager (the pass's end).
    Write(Write),
}

/// The monitor pass's steps: reserved in order, at most `WORKERS` tokens at a time.
#[derive(Default)]
pub struct Stream {
    pending: VecDeque<Item>,
    /// Tokens reserved by steps that have not run yet, and how many such steps.
    outstanding: u32,
    in_flight: usize,
    /// The instant the latest reserved step runs.
    last: Option<SimTime>,
}

impl Stream {
    /// Nothing of the stream waits.
    pub fn idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight == 0
    }
}

/// One goroutine's requests through the `node-controller` client.
pub struct Writes<'a> {
    clients: &'a mut ControllerClients,
    /// The monitor pass's workers: steps go through the controller's `Stream`.
    windowed: bool,
    /// The instant the stream's latest deferred step runs (None: every step ran inline).
    behind: Option<SimTime>,
    /// Tokens of the step being reserved that had to wait.
    waiting: u64,
}

impl<'a> Writes<'a> {
    pub fn new(clients: &'a mut ControllerClients) -> Writes<'a> {
        Writes {
            clients,
            windowed: false,
            behind: None,
            waiting: 0,
        }
    }

    /// The monitor pass's workers (`Stream`).
    pub fn workers(clients: &'a mut ControllerClients) -> Writes<'a> {
        Writes {
            windowed: true,
            ..Writes::new(clients)
        }
    }

    /// Reserves `tokens` requests issued at `now`: None if the step runs inline now, else the
    /// instant it must run (pass it to `defer` next).
    pub fn reserve(&mut self, now: SimTime, tokens: u32) -> Option<SimTime> {
        let at = self
            .reserve_tokens(now, tokens)
            .max(self.behind.unwrap_or(now));
        if at == now && self.behind.is_none() {
            return None;
        }
        self.behind = Some(at);
        Some(at)
    }

    /// Runs `step` at `at` (from the `reserve` just before).
    pub fn defer(&mut self, ctx: &mut dyn Ctx<Event>, at: SimTime, step: Step) {
        self.defer_write(
            ctx,
            at,
            Box::new(move |cm, ctx, api| step(&mut cm.nlc, ctx, api, &cm.cache)),
        );
    }

    /// Runs a controller-manager-level `write` at `at` (from the `reserve` just before).
    pub fn defer_write(&mut self, ctx: &mut dyn Ctx<Event>, at: SimTime, write: Write) {
        let waiting = std::mem::take(&mut self.waiting);
        self.clients.run_at(ctx, NODE, at, waiting, write);
    }

    /// Sends a step of `tokens` requests: inline now, or deferred to its instant.
    pub fn send(
        &mut self,
        nlc: &mut NodeLifecycleController,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        tokens: u32,
        step: Step,
    ) {
        if self.windowed {
            return self.send_windowed(nlc, ctx, api, cache, tokens, step);
        }
        match self.reserve(ctx.now(), tokens) {
            None => step(nlc, ctx, api, cache),
            Some(at) => self.defer(ctx, at, step),
        }
    }

    fn send_windowed(
        &mut self,
        nlc: &mut NodeLifecycleController,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        tokens: u32,
        step: Step,
    ) {
        let s = &mut nlc.stream;
        if s.idle() {
            let now = ctx.now();
            let at = self.reserve_tokens(now, tokens);
            if at == now {
                return step(nlc, ctx, api, cache);
            }
            return schedule(
                &mut nlc.stream,
                self,
                ctx,
                at,
                tokens,
                Item::Step(tokens, step),
            );
        }
        s.pending.push_back(Item::Step(tokens, step));
        refill(&mut nlc.stream, self, ctx);
    }

    /// Runs `write` after the stream's steps (the caller runs it inline if none waits).
    pub fn then(
        &mut self,
        nlc: &mut NodeLifecycleController,
        ctx: &mut dyn Ctx<Event>,
        write: Write,
    ) {
        nlc.stream.pending.push_back(Item::Write(write));
        refill(&mut nlc.stream, self, ctx);
    }

    /// Whether a request sent now gets its token at once.
    pub fn token_free(&self, now: SimTime) -> bool {
        self.clients.token_free(now, NODE)
    }

    /// Reserves `tokens` at `now`: the instant the last comes (`now` if none).
    fn reserve_tokens(&mut self, now: SimTime, tokens: u32) -> SimTime {
        let mut at = now;
        self.waiting = 0;
        for _ in 0..tokens {
            let t = self.clients.reserve_token(now, NODE);
            if t > now {
                self.waiting += 1;
            }
            at = at.max(t);
        }
        at
    }
}

/// Reserves the stream's pending steps while the window allows (a step needing more tokens
/// than the window goes alone).
fn refill(s: &mut Stream, w: &mut Writes, ctx: &mut dyn Ctx<Event>) {
    while let Some(head) = s.pending.front() {
        let tokens = match head {
            Item::Step(t, _) => *t,
            Item::Write(_) => 0,
        };
        if s.in_flight > 0 && s.outstanding + tokens > WORKERS {
            return;
        }
        let Some(item) = s.pending.pop_front() else {
            return;
        };
        let now = ctx.now();
        let at = w.reserve_tokens(now, tokens).max(s.last.unwrap_or(now));
        schedule(s, w, ctx, at, tokens, item);
    }
}

/// Schedules a reserved step at `at`; when it runs, the stream reserves what the window then
/// allows.
fn schedule(
    s: &mut Stream,
    w: &mut Writes,
    ctx: &mut dyn Ctx<Event>,
    at: SimTime,
    tokens: u32,
    item: Item,
) {
    s.in_flight += 1;
    s.outstanding += tokens;
    s.last = Some(at);
    let waiting = std::mem::take(&mut w.waiting);
    let write: Write = Box::new(move |cm, ctx, api| {
        let s = &mut cm.nlc.stream;
        s.in_flight = s.in_flight.saturating_sub(1);
        s.outstanding = s.outstanding.saturating_sub(tokens);
        match item {
            Item::Step(_, step) => step(&mut cm.nlc, ctx, api, &cm.cache),
            Item::Write(write) => write(cm, ctx, api),
        }
        let mut w = Writes::workers(&mut cm.clients);
        refill(&mut cm.nlc.stream, &mut w, ctx);
    });
    w.clients.run_at(ctx, NODE, at, waiting, write);
}

/// Requests of a `RemoveTaintOffNode` for each NLC NoExecute taint the node has: a GET and a
/// PATCH each (`markNodeAsReachable` removes the two taints in two calls, and each call
/// short-circuits when the node passed in lacks its taint).
pub fn reachable_tokens(node: &Node) -> u32 {
    let n = [TAINT_UNREACHABLE, TAINT_NOT_READY]
        .iter()
        .filter(|k| node.has_taint(k, TaintEffect::NoExecute))
        .count();
    2 * n as u32
}

/// Requests of `SwapNodeControllerTaint` adding NoExecute `key`: `AddOrUpdateTaintOnNode`'s
/// GET and PATCH, and `RemoveTaintOffNode`'s GET and PATCH when the node has the other taint.
pub fn swap_tokens(node: &Node, key: &str) -> u32 {
    let other = if key == TAINT_NOT_READY {
        TAINT_UNREACHABLE
    } else {
        TAINT_NOT_READY
    };
    2 + if node.has_taint(other, TaintEffect::NoExecute) {
        2
    } else {
        0
    }
}

impl NodeLifecycleController {
    /// `MarkPodsNotReady`: each pod with a Ready condition that is not False gets Ready=False
    /// (one `UpdateStatus` each, one after the other), with an event. A failed update (other
    /// than NotFound) marks the node to be retried on the next pass (`mark_failed`) if `track`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn mark_pods_not_ready(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        pods: &[Arc<Pod>],
        node: &str,
        track: bool,
    ) {
        for pod in pods {
            let Some(c) = pod.condition(PodConditionType::Ready) else {
                continue;
            };
            if c.status == ConditionStatus::False {
                continue;
            }
            let key = pod.key();
            let node = node.to_string();
            w.send(
                self,
                ctx,
                api,
                cache,
                1,
                Box::new(move |nlc, ctx, api, _| {
                    let now = ctx.now();
                    let res = api.update_pod(super::CALLER, &key, |p| {
                        p.set_condition(PodConditionType::Ready, ConditionStatus::False, "", now)
                    });
                    match res {
                        Ok(_) => ctx.record(Record {
                            t: now,
                            reason: "NodeNotReady",
                            source: "node-controller",
                            object: format!("Pod/{key}"),
                            message: "Node is not ready".into(),
                            fields: vec![("node", node)],
                        }),
                        // A pod deleted meanwhile needs nothing more.
                        Err(crate::api::ApiError::NotFound(_)) => {}
                        Err(_) => {
                            if track {
                                nlc.mark_failed.insert(node);
                            }
                        }
                    }
                }),
            );
        }
    }

    /// `markNodeAsReachable`: remove both NoExecute taints and forget the node in its queue.
    pub(super) fn mark_node_as_reachable(
        &mut self,
        w: &mut Writes,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        node: &Arc<Node>,
    ) {
        let tokens = reachable_tokens(node);
        let node = node.clone();
        w.send(
            self,
            ctx,
            api,
            cache,
            tokens,
            Box::new(move |nlc, _, api, _| nlc.reachable_now(api, &node, tokens > 0)),
        );
    }

    /// `markNodeAsReachable`'s effect: the taint removal (when the node had one) and the
    /// queue's `Remove`.
    fn reachable_now(&mut self, api: &mut ApiServer, node: &Arc<Node>, tainted: bool) {
        if tainted {
            let _ = api.update_node(super::CALLER, &node.meta.name, |n| {
                n.spec.taints.retain(|t| {
                    !(t.effect == TaintEffect::NoExecute
                        && (t.key == TAINT_UNREACHABLE || t.key == TAINT_NOT_READY))
                })
            });
        }
        let queued = match self.records.get_mut(&node.meta.uid) {
            Some(rec) => rec.queued.take().is_some(),
            // No record yet (a node seen for the first time): ask the queue.
            None => true,
        };
        if queued {
            let zone = self.zone_of(node);
            if let Some(q) = self.zone_queues.get_mut(&zone) {
                q.remove(&node.meta.name);
            }
        }
    }
}
