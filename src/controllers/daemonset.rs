//! The DaemonSet controller: one pod per eligible node, placed through the scheduler with a
//! required node affinity on `metadata.name` (upstream since 1.12), with the tolerations the
//! controller adds to every daemon pod; new nodes get pods, pods on nodes that no longer qualify
//! (an untolerated NoExecute taint, a node selector that stops matching) are deleted.
//!
//! A template change is rolled out as upstream's `RollingUpdate` does: each pod carries the
//! template's hash in `controller-revision-hash`; without surge, old pods are deleted (at most
//! `maxUnavailable` unavailable at once, old pods that are already unavailable always) and the
//! manage loop creates their replacements; with `maxSurge`, a new pod is started next to an old
//! one on up to `maxSurge` nodes and the old one is deleted once the new one is available.
//! `OnDelete` replaces a pod only once something else deletes it.
//!
//! Upstream: `pkg/controller/daemon/daemon_controller.go` (`manage`, `podsShouldBeOnNode`,
//! `NodeShouldRunDaemonPod`, `updateDaemonSetStatus`), `update.go` (`rollingUpdate`,
//! `findUpdatedPodsOnNode`, `updatedDesiredNodeCounts`) and `util/daemonset_util.go`
//! (`AddOrUpdateDaemonPodTolerations`, `ReplaceDaemonSetPodNodeNameNodeAffinity`,
//! `UnavailableCount`, `SurgeCount`). Upstream walks nodes in Go's random map order; kubesim
//! walks them by name, so which nodes update first is deterministic.
//!
//! Invariant: decisions come from the cache; creations are expectations until the cache has
//! seen them, so one sync never creates twice for the same node.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::cache::KcmCache;
use super::clients::{self, ControllerClients};
use super::deployment_util::{compute_hash, scaled_value};
use super::podranking::slow_start_batch;
use super::replicaset::{becomes_available_at, is_pod_available, Rechecks};
use crate::api::{ApiError, ApiServer, Verb};
use crate::client::expectations::CreateExpectations;
use crate::client::workqueue::WorkQueue;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;
use crate::sim::{rng, Ctx, Record, SimDuration};

const SOURCE: &str = "daemonset-controller";
/// `BurstReplicas` of the DaemonSet controller.
const BURST_REPLICAS: usize = 250;
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// `apps.ControllerRevisionHashLabelKey`.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// `extensions.DaemonSetTemplateGenerationKey`.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// The hash a DaemonSet's current template is known by.
pub fn template_hash(ds: &DaemonSet) -> String {
    compute_hash(&ds.template, None)
}

fn is_updated(p: &Pod, hash: &str) -> bool {
    p.meta.labels.get(REVISION_LABEL).map(|s| s.as_str()) == Some(hash)
}

/// `podByCreationTimestampAndPhase`: oldest first (then by name).
fn oldest_first(pods: &mut [&Arc<Pod>]) {
    pods.sort_by_key(|p| (p.meta.creation_timestamp, p.meta.name.clone()));
}

/// A node's live (new, old) daemon pods.
type NewAndOld<'a> = (Option<&'a Arc<Pod>>, Option<&'a Arc<Pod>>);

/// `findUpdatedPodsOnNode`: the node's live new and old pod; `None` if it has more than one
/// of either (the manage loop will clean up first).
fn updated_pods_on_node<'a>(pods: &[&'a Arc<Pod>], hash: &str) -> Option<NewAndOld<'a>> {
    let (mut new, mut old) = (None, None);
    for p in pods.iter().filter(|p| !p.is_terminating()) {
        let slot = if is_updated(p, hash) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*p);
    }
    Some((new, old))
}

/// `AddOrUpdateDaemonPodTolerations`: NoExecute not-ready and unreachable without
/// tolerationSeconds (tolerated forever), and the NoSchedule condition taints. The
/// network-unavailable toleration is added only for `hostNetwork` pods, which kubesim does not
/// model yet.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let add = |spec: &mut PodSpec, key: &str, effect: TaintEffect| {
        let t = Toleration {
            key: key.to_string(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: Some(effect),
            toleration_seconds: None,
        };
        // `AddOrUpdateTolerationInPodSpec`: replace one with the same key and effect.
        match spec
            .tolerations
            .iter_mut()
            .find(|x| x.key == t.key && x.effect == t.effect)
        {
            Some(x) => *x = t,
            None => spec.tolerations.push(t),
        }
    };
    add(spec, TAINT_NOT_READY, TaintEffect::NoExecute);
    add(spec, TAINT_UNREACHABLE, TaintEffect::NoExecute);
    add(spec, TAINT_DISK_PRESSURE, TaintEffect::NoSchedule);
    add(spec, TAINT_MEMORY_PRESSURE, TaintEffect::NoSchedule);
    add(spec, TAINT_PID_PRESSURE, TaintEffect::NoSchedule);
    add(spec, TAINT_UNSCHEDULABLE, TaintEffect::NoSchedule);
}

/// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the pod may only go to `node`.
pub fn node_name_affinity(node: &str) -> Vec<NodeSelectorTerm> {
    vec![NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: NodeSelectorOperator::In,
            values: vec![node.to_string()],
        }],
    }]
}

/// `NodeShouldRunDaemonPod`: (should run, should continue running). The pod must fit the
/// node selector and tolerate the node's NoSchedule and NoExecute taints to run there; to keep
/// running only the NoExecute taints matter.
pub fn node_should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    node_should_run_with(&daemon_pod_spec(ds), node)
}

/// The template's pod spec with the daemon tolerations added (once per sync).
fn daemon_pod_spec(ds: &DaemonSet) -> PodSpec {
    let mut spec = ds.template.spec.clone();
    add_daemon_tolerations(&mut spec);
    spec
}

/// `NodeShouldRunDaemonPod` for a spec that already carries the daemon tolerations.
fn node_should_run_with(spec: &PodSpec, node: &Node) -> (bool, bool) {
    if let Some(n) = &spec.node_name {
        if *n != node.meta.name {
            return (false, false);
        }
    }
    let selects = spec
        .node_selector
        .iter()
        .all(|(k, v)| node.meta.labels.get(k) == Some(v));
    if !selects {
        return (false, false);
    }
    let tolerated = |effect: TaintEffect| {
        node.spec
            .taints
            .iter()
            .filter(|t| t.effect == effect)
            .all(|t| spec.tolerations.iter().any(|tol| tol.tolerates(t)))
    };
    let no_execute = tolerated(TaintEffect::NoExecute);
    let no_schedule = tolerated(TaintEffect::NoSchedule);
    (no_execute && no_schedule, no_execute)
}

/// One sync's view: every cache node (in name order) with (should run, should continue
/// running), and the DaemonSet's pods grouped by the node their affinity (or binding) ties
/// them to — an index range per node, so each node's pods are read without a lookup.
struct View<'a> {
    nodes: Vec<(&'a Node, bool, bool)>,
    /// Pods sorted by node index; node `i`'s are `pods[start[i]..start[i + 1]]`.
    pods: Vec<&'a Arc<Pod>>,
    start: Vec<usize>,
    /// Pods whose node is not in the cache (left to pod GC; the rolling update counts them).
    elsewhere: BTreeMap<&'a str, Vec<&'a Arc<Pod>>>,
}

impl<'a> View<'a> {
    fn new(
        spec: &PodSpec,
        nodes: &'a NameMap<Arc<Node>>,
        pods: Option<&'a BTreeMap<(String, String), Arc<Pod>>>,
    ) -> Self {
        // A merge of the nodes (by name) with the pods (by node name, then key).
        let mut view = View {
            nodes: Vec::with_capacity(nodes.len()),
            pods: Vec::new(),
            start: Vec::with_capacity(nodes.len() + 1),
            elsewhere: BTreeMap::new(),
        };
        let mut pods = pods.into_iter().flatten().peekable();
        for (name, n) in nodes.iter() {
            while let Some(((pn, _), p)) = pods.next_if(|((pn, _), _)| pn < name) {
                view.elsewhere.entry(pn.as_str()).or_default().push(p);
            }
            view.start.push(view.pods.len());
            while let Some((_, p)) = pods.next_if(|((pn, _), _)| pn == name) {
                view.pods.push(p);
            }
            let (run, cont) = node_should_run_with(spec, n);
            view.nodes.push((&**n, run, cont));
        }
        for ((pn, _), p) in pods {
            view.elsewhere.entry(pn.as_str()).or_default().push(p);
        }
        view.start.push(view.pods.len());
        view
    }

    /// The pods on node `i` of `nodes`.
    fn pods_at(&self, i: usize) -> &[&'a Arc<Pod>] {
        &self.pods[self.start[i]..self.start[i + 1]]
    }
}

pub struct DaemonSetController {
    rng: ChaCha8Rng,
    expected_creates: CreateExpectations,
    /// Pods deleted and not yet seen terminating or gone (upstream's deletion expectations).
    expected_deletes: CreateExpectations,
    pub(super) queue: WorkQueue,
    /// Pending availability re-checks (minReadySeconds).
    recheck: Rechecks,
    gen: u32,
}

impl DaemonSetController {
    pub fn new(seed: u64, gen: u32) -> Self {
        DaemonSetController {
            rng: rng::stream(seed, &format!("daemonset-controller/{gen}")),
            expected_creates: CreateExpectations::default(),
            expected_deletes: CreateExpectations::default(),
            queue: WorkQueue::default(),
            recheck: Rechecks::default(),
            gen,
        }
    }

    pub fn enqueue(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let gen = self.gen;
        self.queue
            .add(ctx, key, SimDuration::ZERO, |key| Event::DaemonSetSync {
                gen,
                key,
            });
    }

    pub fn enqueue_all(&mut self, ctx: &mut dyn Ctx<Event>, cache: &KcmCache) {
        let keys: Vec<String> = cache.daemonsets.keys().cloned().collect();
        for k in keys {
            self.enqueue(ctx, &k);
        }
    }

    /// A pod of a DaemonSet was added, changed or deleted.
    pub fn observe_pod(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod) {
        let Some(ds) = super::cache::daemonset_of(pod) else {
            return;
        };
        self.expected_creates.observe(&ds, &pod.meta.name);
        if pod.is_terminating() {
            self.expected_deletes.observe(&ds, &pod.meta.name);
        }
        self.enqueue(ctx, &ds);
    }

    /// A pod of a DaemonSet was added or changed. Upstream's `updatePod` enqueues its
    /// DaemonSet on every change; a change that no sync reads (the binding, a condition other
    /// than Ready, container details) cannot change a sync's decisions or status, so it only
    /// counts for the expectations.
    pub fn observe_pod_update(&mut self, ctx: &mut dyn Ctx<Event>, old: Option<&Pod>, pod: &Pod) {
        let ready = |p: &Pod| {
            p.condition(PodConditionType::Ready)
                .map(|c| (c.status, c.last_transition_time))
        };
        let read_by_sync = |o: &Pod| {
            o.meta.deletion_timestamp != pod.meta.deletion_timestamp
                || o.status.phase != pod.status.phase
                || ready(o) != ready(pod)
                || o.meta.labels != pod.meta.labels
                || o.meta.owner_references != pod.meta.owner_references
                || super::cache::daemon_pod_node(o) != super::cache::daemon_pod_node(pod)
        };
        match old {
            Some(o) if !read_by_sync(o) => {
                if let Some(ds) = super::cache::daemonset_of(pod) {
                    self.expected_creates.observe(&ds, &pod.meta.name);
                }
            }
            _ => self.observe_pod(ctx, pod),
        }
    }

    /// A pod of a DaemonSet is gone.
    pub fn observe_pod_deleted(&mut self, ctx: &mut dyn Ctx<Event>, pod: &Pod) {
        if let Some(ds) = super::cache::daemonset_of(pod) {
            self.expected_deletes.observe(&ds, &pod.meta.name);
        }
        self.observe_pod(ctx, pod);
    }

    /// Every creation and deletion of the DaemonSet has been seen (`SatisfiedExpectations`).
    fn satisfied(&self, key: &str) -> bool {
        self.expected_creates.satisfied(key) && self.expected_deletes.satisfied(key)
    }

    pub fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        clients: &mut ControllerClients,
        key: &str,
    ) {
        self.queue.start(key);
        self.recheck.synced(key, ctx.now());
        let Some(ds) = cache.daemonsets.get(key).cloned() else {
            self.expected_creates.forget(key);
            self.expected_deletes.forget(key);
            return;
        };
        let spec = daemon_pod_spec(&ds);
        let view = View::new(&spec, &cache.nodes, cache.pods_by_daemonset.get(key));
        let hash = template_hash(&ds);
        // `updateDaemonSet`: the rolling update only runs when manage changed nothing.
        if self.satisfied(key) && ds.meta.deletion_timestamp.is_none() {
            self.manage(ctx, api, clients, &ds, &view, &hash);
        }
        if self.satisfied(key) && ds.meta.deletion_timestamp.is_none() {
            if let DaemonSetUpdateStrategy::RollingUpdate {
                max_unavailable,
                max_surge,
            } = &ds.update_strategy
            {
                self.rolling_update(
                    ctx,
                    api,
                    clients,
                    &ds,
                    &view,
                    &hash,
                    (max_unavailable, max_surge),
                );
            }
        }
        self.update_status(ctx, api, &ds, &view, &hash);
    }

    /// `manage` + `podsShouldBeOnNode`: which nodes need a pod and which pods must go.
    fn manage(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        ds: &DaemonSet,
        view: &View,
        hash: &str,
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(ds.min_ready_seconds.max(0) as u64);
        let surge = allows_surge(ds);
        let mut create_on: Vec<String> = Vec::new();
        let mut delete: Vec<Arc<Pod>> = Vec::new();
        for (i, &(node, should_run, should_continue)) in view.nodes.iter().enumerate() {
            let on_node = view.pods_at(i);
            // The common cases without allocating: no live pod, or one.
            let mut live = on_node.iter().filter(|p| !p.is_terminating());
            let (first, second) = (live.next(), live.next());
            if second.is_none() {
                match first {
                    None if should_run => create_on.push(node.meta.name.clone()),
                    None => {}
                    Some(p) if !should_continue => delete.push((*p).clone()),
                    Some(p) if p.status.phase == PodPhase::Failed => {
                        delete.push((*p).clone());
                        if surge && should_run {
                            create_on.push(node.meta.name.clone());
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            let active: Vec<&Arc<Pod>> = on_node
                .iter()
                .filter(|p| !p.is_terminating())
                .copied()
                .collect();
            if should_continue {
                // Failed daemon pods are deleted (and replaced on a later sync).
                let mut running: Vec<&Arc<Pod>> = Vec::new();
                for p in active {
                    if p.status.phase == PodPhase::Failed {
                        delete.push(p.clone());
                    } else {
                        running.push(p);
                    }
                }
                oldest_first(&mut running);
                if !surge {
                    // Of several pods on one node, the oldest is kept.
                    delete.extend(running.iter().skip(1).map(|p| (*p).clone()));
                    continue;
                }
                if running.len() <= 1 {
                    if running.is_empty() && should_run {
                        create_on.push(node.meta.name.clone());
                    }
                    continue;
                }
                // Surging: keep the oldest new and the oldest old pod; the old one goes once
                // it is not ready or the new one is available.
                let (mut oldest_new, mut oldest_old) = (None, None);
                for p in running {
                    let slot = if is_updated(p, hash) {
                        &mut oldest_new
                    } else {
                        &mut oldest_old
                    };
                    if slot.is_none() {
                        *slot = Some(p);
                    } else {
                        delete.push(p.clone());
                    }
                }
                if let (Some(new), Some(old)) = (oldest_new, oldest_old) {
                    if !old.is_ready() || is_pod_available(new, min_ready, now) {
                        delete.push(old.clone());
                    }
                }
            } else {
                delete.extend(active.into_iter().cloned());
            }
        }
        // Pods whose node is gone are left to pod GC, as upstream.
        self.sync_nodes(ctx, api, clients, ds, delete, create_on, hash);
    }

    /// `rollingUpdate` (update.go): choose old pods to delete (no surge) or nodes to start a
    /// new pod on next to the old one (surge).
    #[allow(clippy::too_many_arguments)]
    fn rolling_update(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        ds: &DaemonSet,
        view: &View,
        hash: &str,
        (max_unavailable, max_surge): (&IntOrString, &IntOrString),
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(ds.min_ready_seconds.max(0) as u64);
        // `updatedDesiredNodeCounts`: every node with pods, plus every node that wants one, in
        // name order.
        let mut node_pods: Vec<(&str, &[&Arc<Pod>])> = Vec::new();
        let mut desired = 0;
        for (i, &(node, should_run, _)) in view.nodes.iter().enumerate() {
            if should_run {
                desired += 1;
            }
            if should_run || !view.pods_at(i).is_empty() {
                node_pods.push((node.meta.name.as_str(), view.pods_at(i)));
            }
        }
        if !view.elsewhere.is_empty() {
            node_pods.extend(view.elsewhere.iter().map(|(n, p)| (*n, p.as_slice())));
            node_pods.sort_by_key(|(n, _)| *n);
        }
        let mut max_unavailable = scaled_value(max_unavailable, desired, true).unwrap_or(1);
        let max_surge = scaled_value(max_surge, desired, true).unwrap_or(0);
        if desired > 0 && max_unavailable == 0 && max_surge == 0 {
            max_unavailable = 1;
        }
        let available = |p: &Pod| is_pod_available(p, min_ready, now);
        if max_surge == 0 {
            let mut unavailable = 0;
            let mut replace: Vec<Arc<Pod>> = Vec::new();
            let mut candidates: Vec<Arc<Pod>> = Vec::new();
            for (_, pods) in &node_pods {
                let Some((new, old)) = updated_pods_on_node(pods, hash) else {
                    unavailable += 1;
                    continue;
                };
                match (new, old) {
                    (None, None) | (Some(_), Some(_)) => unavailable += 1,
                    (Some(new), None) => {
                        if !available(new) {
                            unavailable += 1;
                        }
                    }
                    (None, Some(old)) => {
                        if !available(old) {
                            replace.push(old.clone());
                        } else if unavailable < max_unavailable {
                            candidates.push(old.clone());
                        }
                    }
                }
            }
            let room = (max_unavailable - unavailable).clamp(0, candidates.len() as i32);
            replace.extend(candidates.into_iter().take(room as usize));
            self.sync_nodes(ctx, api, clients, ds, replace, Vec::new(), hash);
            return;
        }
        let mut surging = 0;
        let mut old_to_delete: Vec<Arc<Pod>> = Vec::new();
        let mut allowed_new: Vec<String> = Vec::new();
        let mut candidate_new: Vec<String> = Vec::new();
        for (node, pods) in &node_pods {
            let Some((new, old)) = updated_pods_on_node(pods, hash) else {
                continue;
            };
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) => {
                    if !available(old) {
                        allowed_new.push(node.to_string());
                    } else if surging < max_surge {
                        candidate_new.push(node.to_string());
                    }
                }
                (Some(new), Some(old)) => {
                    if !available(new) {
                        surging += 1;
                        self.recheck(ctx, ds, new, min_ready);
                    } else {
                        old_to_delete.push(old.clone());
                    }
                }
            }
        }
        let room = (max_surge - surging).clamp(0, candidate_new.len() as i32);
        allowed_new.extend(candidate_new.into_iter().take(room as usize));
        self.sync_nodes(ctx, api, clients, ds, old_to_delete, allowed_new, hash);
    }

    /// `syncNodes`: create pods on `create_on` (slow-start batches, at most `BurstReplicas`)
    /// and delete `delete`.
    #[allow(clippy::too_many_arguments)]
    fn sync_nodes(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        clients: &mut ControllerClients,
        ds: &DaemonSet,
        mut delete: Vec<Arc<Pod>>,
        mut create_on: Vec<String>,
        hash: &str,
    ) {
        create_on.truncate(BURST_REPLICAS);
        delete.truncate(BURST_REPLICAS);
        let mut nodes = create_on.into_iter();
        let n = nodes.len();
        let key = ds.key();
        let shared = Arc::new(ds.clone());
        // Each request waits for the `daemon-set-controller` client's token; one that cannot go
        // now is deferred and counted as expected until it is sent.
        let created = slow_start_batch(n, 1, || match nodes.next() {
            Some(node) => match clients.admit(ctx.now(), clients::DAEMONSET, api, Verb::Create) {
                None => self.create_pod(ctx, api, ds, &node, hash),
                Some(at) => {
                    self.expected_creates.expect_later(&key);
                    let (d, h) = (Arc::clone(&shared), hash.to_string());
                    let write: clients::Write = Box::new(move |cm, ctx, api| {
                        let dsc = &mut cm.daemonset;
                        dsc.expected_creates.sent(&d.key());
                        if !dsc.create_pod(ctx, api, &d, &node, &h) {
                            dsc.retry(ctx, &d.key());
                        }
                    });
                    clients.defer(ctx, clients::DAEMONSET, at, write);
                    true
                }
            },
            None => true,
        });
        if created < n {
            self.retry(ctx, &key);
        }
        for p in delete {
            match clients.admit(ctx.now(), clients::DAEMONSET, api, Verb::Delete) {
                None => self.delete_pod(ctx, api, ds, &p),
                Some(at) => {
                    self.expected_deletes.expect_later(&key);
                    let d = Arc::clone(&shared);
                    let write: clients::Write = Box::new(move |cm, ctx, api| {
                        cm.daemonset.expected_deletes.sent(&d.key());
                        cm.daemonset.delete_pod(ctx, api, &d, &p);
                    });
                    clients.defer(ctx, clients::DAEMONSET, at, write);
                }
            }
        }
    }

    /// The rate-limited requeue of a sync whose creations failed.
    fn retry(&mut self, ctx: &mut dyn Ctx<Event>, key: &str) {
        let gen = self.gen;
        self.queue.add(ctx, key, SimDuration::from_secs(1), |key| {
            Event::DaemonSetSync { gen, key }
        });
    }

    /// One DELETE of `syncNodes`, logged when it succeeds.
    fn delete_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        ds: &DaemonSet,
        p: &Pod,
    ) {
        if api
            .delete_pod(Caller::ControllerManager, &p.key(), None)
            .is_ok()
        {
            self.expected_deletes.expect(ds.key(), &p.meta.name);
            ctx.record(Record {
                t: ctx.now(),
                reason: "SuccessfulDelete",
                source: SOURCE,
                object: format!("DaemonSet/{}", ds.key()),
                message: format!("Deleted pod: {}", p.meta.name),
                fields: vec![],
            });
        }
    }

    /// A pod that is Ready but not yet available becomes available after `minReadySeconds`
    /// without any event: sync again then (upstream enqueues after `minReadySeconds`).
    fn recheck(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        ds: &DaemonSet,
        p: &Pod,
        min_ready: SimDuration,
    ) {
        let Some(at) = becomes_available_at(p, min_ready, ctx.now()) else {
            return;
        };
        if self.recheck.want(&ds.key(), at) {
            ctx.schedule_at(
                at,
                Event::DaemonSetSync {
                    gen: self.gen,
                    key: ds.key(),
                },
            );
        }
    }

    fn create_pod(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        ds: &DaemonSet,
        node: &str,
        hash: &str,
    ) -> bool {
        let mut labels = ds.template.labels.clone();
        labels.insert(REVISION_LABEL.into(), hash.to_string());
        labels.insert(
            TEMPLATE_GENERATION_LABEL.into(),
            ds.meta.generation.to_string(),
        );
        let mut spec = ds.template.spec.clone();
        add_daemon_tolerations(&mut spec);
        // The required terms are replaced (the DaemonSet controller has already checked the
        // template's own terms against this node); preferred terms and pod affinity stay.
        let affinity = spec.affinity.get_or_insert_with(Affinity::default);
        affinity
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .required = Some(node_name_affinity(node));
        for _attempt in 0..8 {
            let suffix: String = (0..5)
                .map(|_| {
                    NAME_ALPHABET[rng::below(&mut self.rng, NAME_ALPHABET.len() as u64) as usize]
                        as char
                })
                .collect();
            let name = format!("{}-{suffix}", ds.meta.name);
            let pod = Pod {
                meta: ObjectMeta {
                    name: name.clone(),
                    namespace: ds.meta.namespace.clone(),
                    labels: labels.clone(),
                    annotations: ds.template.annotations.clone(),
                    owner_references: vec![OwnerRef {
                        kind: "DaemonSet".into(),
                        name: ds.meta.name.clone(),
                        controller: true,
                    }],
                    ..Default::default()
                },
                spec: spec.clone(),
                status: PodStatus::default(),
            };
            match api.create_pod(Caller::ControllerManager, pod) {
                Ok(_) => {
                    self.expected_creates.expect(ds.key(), &name);
                    ctx.record(Record {
                        t: ctx.now(),
                        reason: "SuccessfulCreate",
                        source: SOURCE,
                        object: format!("DaemonSet/{}", ds.key()),
                        message: format!("Created pod: {name}"),
                        fields: vec![("node", node.to_string())],
                    });
                    return true;
                }
                Err(ApiError::AlreadyExists(_)) => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// `updateDaemonSetStatus`: per node that should run the pod, its oldest pod counts
    /// (scheduled, ready, available, updated).
    fn update_status(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        ds: &DaemonSet,
        view: &View,
        hash: &str,
    ) {
        let now = ctx.now();
        let min_ready = SimDuration::from_secs(ds.min_ready_seconds.max(0) as u64);
        let mut st = DaemonSetStatus {
            observed_generation: ds.meta.generation,
            ..Default::default()
        };
        for (i, &(_, should_run, _)) in view.nodes.iter().enumerate() {
            // `podByCreationTimestampAndPhase`: the oldest live pod of the node counts.
            let oldest = view
                .pods_at(i)
                .iter()
                .filter(|p| !p.is_terminating())
                .min_by_key(|p| (p.meta.creation_timestamp, &p.meta.name));
            if should_run {
                st.desired_number_scheduled += 1;
                if let Some(p) = oldest {
                    st.current_number_scheduled += 1;
                    if p.is_ready() {
                        st.number_ready += 1;
                        if is_pod_available(p, min_ready, now) {
                            st.number_available += 1;
                        } else {
                            self.recheck(ctx, ds, p, min_ready);
                        }
                    }
                    if is_updated(p, hash) {
                        st.updated_number_scheduled += 1;
                    }
                }
            } else if oldest.is_some() {
                st.number_misscheduled += 1;
            }
        }
        st.number_unavailable = st.desired_number_scheduled - st.number_available;
        if st != ds.status {
            let _ = api.update_daemonset(Caller::ControllerManager, &ds.key(), |d| d.status = st);
        }
    }
}

/// `util.AllowsSurge`: a RollingUpdate whose maxSurge is not zero.
fn allows_surge(ds: &DaemonSet) -> bool {
    match &ds.update_strategy {
        DaemonSetUpdateStrategy::RollingUpdate { max_surge, .. } => {
            scaled_value(max_surge, 1, true).unwrap_or(0) != 0
        }
        DaemonSetUpdateStrategy::OnDelete => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // daemonset_util.go AddOrUpdateDaemonPodTolerations: the set a daemon pod gets.
    #[test]
    fn daemon_pods_tolerate_the_node_condition_taints() {
        let mut spec = PodSpec::default();
        add_daemon_tolerations(&mut spec);
        let keys: Vec<(String, Option<TaintEffect>, Option<i64>)> = spec
            .tolerations
            .iter()
            .map(|t| (t.key.clone(), t.effect, t.toleration_seconds))
            .collect();
        assert_eq!(
            keys,
            vec![
                (TAINT_NOT_READY.into(), Some(TaintEffect::NoExecute), None),
                (TAINT_UNREACHABLE.into(), Some(TaintEffect::NoExecute), None),
                (
                    TAINT_DISK_PRESSURE.into(),
                    Some(TaintEffect::NoSchedule),
                    None
                ),
                (
                    TAINT_MEMORY_PRESSURE.into(),
                    Some(TaintEffect::NoSchedule),
                    None
                ),
                (
                    TAINT_PID_PRESSURE.into(),
                    Some(TaintEffect::NoSchedule),
                    None
                ),
                (
                    TAINT_UNSCHEDULABLE.into(),
                    Some(TaintEffect::NoSchedule),
                    None
                ),
            ]
        );
        // DefaultTolerationSeconds then adds nothing: the NoExecute keys are already there.
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 6);
    }

    #[test]
    fn node_should_run_follows_taints_and_selector() {
        let mut ds = DaemonSet::default();
        ds.template
            .spec
            .node_selector
            .insert("role".into(), "edge".into());
        let mut n = Node::default();
        n.meta.name = "n".into();
        assert_eq!(node_should_run(&ds, &n), (false, false));
        n.meta.labels.insert("role".into(), "edge".into());
        assert_eq!(node_should_run(&ds, &n), (true, true));
        n.spec
            .taints
            .push(Taint::new(TAINT_UNSCHEDULABLE, TaintEffect::NoSchedule));
        assert_eq!(node_should_run(&ds, &n), (true, true), "tolerated");
        n.spec
            .taints
            .push(Taint::new("dedicated", TaintEffect::NoSchedule));
        assert_eq!(node_should_run(&ds, &n), (false, true));
        n.spec
            .taints
            .push(Taint::new("evict", TaintEffect::NoExecute));
        assert_eq!(node_should_run(&ds, &n), (false, false));
    }
}
