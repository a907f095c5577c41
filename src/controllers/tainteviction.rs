//! The taint eviction controller (reference node-lifecycle §5.4): per-pod timers that start
//! when it *observes* a NoExecute taint, fire at the minimum matching `tolerationSeconds`,
//! are never lengthened or shortened by re-evaluation, and are cancelled when the taints go.
//!
//! Invariant: a timer's start is this controller's clock at observation; deletion goes through
//! the API (GET, DisruptionTarget condition, then a graceful DELETE, each after its client
//! token);
//! nothing is deleted directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cache::KcmCache;
use super::clients::{ControllerClients, Write};
use crate::api::{ApiServer, Verb};
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, EventId, Record, SimDuration, SimTime};

const SOURCE: &str = "taint-eviction-controller";

#[derive(Clone, Debug)]
struct Timer {
    id: u64,
    created_at: SimTime,
    fire_at: SimTime,
    event: EventId,
    /// Why: the taint(s) and the toleration that set the time.
    cause: String,
}

#[derive(Default)]
pub struct TaintEvictionController {
    tainted_nodes: BTreeMap<String, Vec<Taint>>,
    timers: BTreeMap<String, Timer>,
    next_timer: u64,
    gen: u32,
}

fn noexecute_taints(node: &Node) -> Vec<Taint> {
    node.spec
        .taints
        .iter()
        .filter(|t| t.effect == TaintEffect::NoExecute)
        .cloned()
        .collect()
}

/// For each taint the first toleration (in pod order) that tolerates it; None if some taint
/// is not tolerated.
fn used_tolerations<'a>(pod: &'a Pod, taints: &[Taint]) -> Option<Vec<&'a Toleration>> {
    taints
        .iter()
        .map(|t| pod.spec.tolerations.iter().find(|tol| tol.tolerates(t)))
        .collect()
}

/// `getMinTolerationTime`: 0 if none used or any <= 0; None (forever) if none has seconds.
fn min_toleration_time(used: &[&Toleration]) -> Option<SimDuration> {
    if used.is_empty() {
        return Some(SimDuration::ZERO);
    }
    let mut min: Option<i64> = None;
    for t in used {
        if let Some(s) = t.toleration_seconds {
            if s <= 0 {
                return Some(SimDuration::ZERO);
            }
            min = Some(min.map_or(s, |m| m.min(s)));
        }
    }
    min.map(|s| SimDuration::from_secs(s as u64))
}

impl TaintEvictionController {
    pub fn new(gen: u32) -> Self {
        TaintEvictionController {
            gen,
            ..Default::default()
        }
    }

    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Start-up: the informers' initial list delivers every node and pod.
    pub fn resync(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache) {
        let nodes: Vec<Arc<Node>> = cache.nodes.values().cloned().collect();
        for n in nodes {
            self.on_node_update(ctx, cache, &n);
        }
    }

    /// `handleNodeUpdate`, called when a node's NoExecute taints may have changed.
    pub fn on_node_update(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache, node: &Node) {
        let taints = noexecute_taints(node);
        let name = &node.meta.name;
        let previous = self.tainted_nodes.get(name).cloned().unwrap_or_default();
        if previous == taints && !taints.is_empty() {
            return;
        }
        if taints.is_empty() {
            if self.tainted_nodes.remove(name).is_none() {
                return;
            }
            for pod in cache.pods_on_node(name) {
                self.cancel(ctx, &pod.key());
            }
            return;
        }
        self.tainted_nodes.insert(name.clone(), taints.clone());
        for pod in cache.pods_on_node(name) {
            self.process_pod(ctx, &pod, &taints);
        }
    }

    pub fn on_node_deleted(&mut self, node: &str) {
        // Pending timers are NOT cancelled (reference §5.4).
        self.tainted_nodes.remove(node);
    }

    /// `handlePodUpdate`: a pod was added, bound, or its tolerations changed.
    pub fn on_pod_update(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod) {
        let Some(node) = &pod.spec.node_name else {
            return;
        };
        if let Some(taints) = self.tainted_nodes.get(node).cloned() {
            self.process_pod(ctx, pod, &taints);
        }
    }

    pub fn on_pod_deleted(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        if let Some(t) = self.timers.remove(key) {
            ctx.cancel(t.event);
        }
    }

    fn process_pod(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod, taints: &[Taint]) {
        let now = ctx.now();
        let key = pod.key();
        let taint_text: Vec<String> = taints.iter().map(|t| t.to_text()).collect();
        let Some(used) = used_tolerations(pod, taints) else {
            self.cancel(ctx, &key);
            self.schedule(
                ctx,
                &key,
                now,
                now,
                format!("untolerated taint {}", taint_text.join(",")),
            );
            return;
        };
        let Some(wait) = min_toleration_time(&used) else {
            self.cancel(ctx, &key);
            return;
        };
        let created_at = match self.timers.get(&key) {
            // An earlier-started timer is kept as it is.
            Some(t) if t.created_at < now => return,
            Some(t) => t.created_at,
            None => now,
        };
        if let Some(t) = self.timers.remove(&key) {
            ctx.cancel(t.event);
        }
        let secs = wait.as_nanos() / 1_000_000_000;
        let cause = format!("taint {} tolerated for {secs}s", taint_text.join(","));
        self.schedule(ctx, &key, created_at, created_at + wait, cause);
    }

    fn schedule(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        key: &str,
        created_at: SimTime,
        fire_at: SimTime,
        cause: String,
    ) {
        self.next_timer += 1;
        let id = self.next_timer;
        let at = fire_at.max(ctx.now());
        let event = ctx.schedule_at(
            at,
            Event::TaintEvictionFire {
                gen: self.gen,
                pod: key.to_string(),
                timer: id,
            },
        );
        self.timers.insert(
            key.to_string(),
            Timer {
                id,
                created_at,
                fire_at,
                event,
                cause,
            },
        );
    }

    fn cancel(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        if let Some(t) = self.timers.remove(key) {
            ctx.cancel(t.event);
            ctx.record(Record {
                t: ctx.now(),
                reason: "TaintManagerEviction",
                source: SOURCE,
                object: format!("Pod/{key}"),
                message: format!("Cancelling deletion of Pod {key}"),
                fields: vec![(
                    "timer_started",
                    crate::sim::time::format_secs(t.created_at.as_nanos(), 3),
                )],
            });
        }
    }

    /// A timer fired: `addConditionAndDeletePod` — GET the pod, PATCH its DisruptionTarget
    /// condition, then DELETE it with its own grace period. Each of the three requests waits
    /// for the client's token, and each reserves its token only once the previous one is done,
    /// as upstream's worker goroutine does (pkg/controller/tainteviction/taint_eviction.go).
    pub fn on_fire(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        key: &str,
        timer: u64,
    ) {
        let Some(t) = self.timers.get(key) else {
            return;
        };
        if t.id != timer {
            return;
        }
        let t = self.timers.remove(key).expect("present");
        assert!(ctx.now() >= t.fire_at, "taint eviction timer fired early");
        let e = Eviction {
            key: key.to_string(),
            timer: t,
            node: String::new(),
            zone: String::new(),
        };
        send(ctx, api, clients, e, Step::Get);
    }
}

/// The requests of one eviction, in order.
#[derive(Clone, Copy, Debug)]
enum Step {
    Get,
    Patch,
    Delete,
}

impl Step {
    /// The request's verb, for the API server's inflight limits.
    fn verb(self) -> Verb {
        match self {
            Step::Get => Verb::Get,
            Step::Patch => Verb::Update,
            Step::Delete => Verb::Delete,
        }
    }
}

/// One pod's eviction in progress.
struct Eviction {
    key: String,
    timer: Timer,
    node: String,
    zone: String,
}

/// Sends `step` at once if the client has a token, else at the token's instant.
fn send(
    ctx: &mut dyn Ctx<Event>,
    api: &mut ApiServer,
    clients: &mut ControllerClients,
    e: Eviction,
    step: Step,
) {
    let client = clients.taint_eviction();
    match clients.admit(ctx.now(), client, api, step.verb()) {
        None => run(ctx, api, clients, e, step),
        Some(at) => {
            let write: Write =
                Box::new(move |cm, ctx, api| run(ctx, api, &mut cm.clients, e, step));
            clients.defer(ctx, client, at, write);
        }
    }
}

/// One request of an eviction, then the next one's token.
fn run(
    ctx: &mut dyn Ctx<Event>,
    api: &mut ApiServer,
    clients: &mut ControllerClients,
    mut e: Eviction,
    step: Step,
) {
    let now = ctx.now();
    let caller = Caller::ControllerManager;
    let next = match step {
        Step::Get => {
            if api.get_pod(caller, &e.key).is_err() {
                return;
            }
            Step::Patch
        }
        Step::Patch => {
            let patched = api.update_pod(caller, &e.key, |p| {
                p.set_condition(
                    PodConditionType::DisruptionTarget,
                    ConditionStatus::True,
                    "DeletionByTaintManager",
                    now,
                )
            });
            let Ok(patched) = patched else {
                return;
            };
            e.node = patched.spec.node_name.clone().unwrap_or_default();
            e.zone = api
                .nodes()
                .get(&e.node)
                .map(|n| n.zone_label())
                .unwrap_or_default();
            Step::Delete
        }
        Step::Delete => return delete_evicted(ctx, api, e),
    };
    send(ctx, api, clients, e, next);
}

/// The graceful DELETE of an evicted pod, logged at the instant it is sent.
fn delete_evicted(ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, e: Eviction) {
    let key = &e.key;
    if api.delete_pod(Caller::ControllerManager, key, None).is_ok() {
        ctx.record(Record {
            t: ctx.now(),
            reason: "TaintManagerEviction",
            source: SOURCE,
            object: format!("Pod/{key}"),
            message: format!("Marking for deletion Pod {key}"),
            fields: vec![
                ("node", e.node),
                ("zone", e.zone),
                ("cause", e.timer.cause),
                (
                    "timer_started",
                    crate::sim::time::format_secs(e.timer.created_at.as_nanos(), 3),
                ),
            ],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tol(secs: Option<i64>) -> Toleration {
        Toleration {
            key: TAINT_UNREACHABLE.into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: secs,
        }
    }

    // Reference §7.5 K7 (TestGetMinTolerationTime) and §5.4.
    #[test]
    fn k7_min_toleration_time_rules() {
        assert_eq!(min_toleration_time(&[]), Some(SimDuration::ZERO));
        let (a, b, forever, zero) = (tol(Some(300)), tol(Some(25)), tol(None), tol(Some(0)));
        assert_eq!(
            min_toleration_time(&[&a, &b]),
            Some(SimDuration::from_secs(25))
        );
        assert_eq!(min_toleration_time(&[&forever]), None);
        assert_eq!(
            min_toleration_time(&[&forever, &a]),
            Some(SimDuration::from_secs(300))
        );
        assert_eq!(min_toleration_time(&[&a, &zero]), Some(SimDuration::ZERO));
        // K7's [1, nil] and [nil, 1] both give 1 s.
        let one = tol(Some(1));
        assert_eq!(
            min_toleration_time(&[&one, &forever]),
            Some(SimDuration::from_secs(1))
        );
        assert_eq!(
            min_toleration_time(&[&forever, &one]),
            Some(SimDuration::from_secs(1))
        );
    }
}
