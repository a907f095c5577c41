//! The operator's node-maintenance commands as `kubectl` runs them against the API server:
//! `kubectl cordon` / `uncordon`, `kubectl drain` and a bare eviction request.
//!
//! Upstream: `k8s.io/kubectl/pkg/drain` — `RunCordonOrUncordon`, `GetPodsForDeletion` with its
//! filters in order (DaemonSet, mirror pod, unreplicated), `evictPods` (one goroutine per pod:
//! print "evicting pod …", check the `--timeout` context, evict; on 429 print "… (will retry
//! after 5s): …" and sleep 5 s; on NotFound stop; on any other error fail) and `waitForDelete` (poll every 1 s, immediately first, until the pod is
//! gone or replaced by another with the same name). The goroutines of one drain start at the
//! same instant; here they run in pod-name order.
//!
//! Invariant: kubectl is a client — every effect is an API request with `Caller::Operator`,
//! and every line kubectl would print becomes a trace record with source `kubectl`.

use std::collections::BTreeMap;

use super::spec::DrainOptions;
use super::{Cluster, Event};
use crate::api::ApiError;
use crate::model::*;
use crate::network::Caller;
use crate::sim::time::format_go_duration;
use crate::sim::{Engine, Record, SimDuration, SimTime};

/// kubectl's fixed retry interval after a 429 from the Eviction API.
pub const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);
/// `waitForDelete`'s poll interval.
pub const DELETE_POLL: SimDuration = SimDuration::from_secs(1);
/// The annotation of a static pod's mirror (`kubetypes.ConfigMirrorAnnotationKey`).
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// One `kubectl drain` in progress.
pub struct Drain {
    node: String,
    opts: DrainOptions,
    /// Pods still being evicted or waited for, with the UID seen at the start.
    pending: BTreeMap<String, u64>,
    errors: Vec<String>,
    finished: bool,
    /// `--timeout`: the goroutines' context is done from then on.
    deadline: Option<SimTime>,
}

impl Cluster {
    fn kubectl(
        &self,
        ctx: &mut Engine<Event>,
        reason: &'static str,
        object: String,
        message: String,
    ) {
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubectl",
            object,
            message,
            fields: vec![],
        });
    }

    /// `kubectl cordon|uncordon NODE`: PATCH `spec.unschedulable`.
    pub(super) fn cordon(
        &mut self,
        ctx: &mut Engine<Event>,
        node: &str,
        unschedulable: bool,
    ) -> bool {
        let verb = if unschedulable {
            "cordoned"
        } else {
            "uncordoned"
        };
        let already = self
            .api
            .nodes()
            .get(node)
            .is_some_and(|n| n.spec.unschedulable == unschedulable);
        let res = self.api.update_node(Caller::Operator, node, |n| {
            n.spec.unschedulable = unschedulable
        });
        let object = format!("Node/{node}");
        match res {
            Ok(_) => {
                let msg = if already {
                    format!("node/{node} already {verb}")
                } else {
                    format!("node/{node} {verb}")
                };
                let reason = if unschedulable {
                    "Cordoned"
                } else {
                    "Uncordoned"
                };
                self.kubectl(ctx, reason, object, msg);
                true
            }
            Err(e) => {
                let cmd = if unschedulable { "cordon" } else { "uncordon" };
                self.kubectl(
                    ctx,
                    "ActionFailed",
                    object,
                    format!("kubectl {cmd} {node}: {e}"),
                );
                false
            }
        }
    }

    /// `kubectl drain NODE`: cordon, pick the pods, evict them all at once.
    pub(super) fn drain(&mut self, ctx: &mut Engine<Event>, node: &str, opts: &DrainOptions) {
        self.kubectl(
            ctx,
            "ActionApplied",
            format!("Node/{node}"),
            drain_command(node, opts),
        );
        if !self.cordon(ctx, node, true) {
            return;
        }
        let pods = match self.api.list_pods_on_node(Caller::Operator, node) {
            Ok(p) => p,
            Err(e) => return self.drain_failed(ctx, node, vec![e.to_string()]),
        };
        let (delete, warnings, errors) = self.pods_for_deletion(&pods, opts);
        for w in warnings {
            self.kubectl(
                ctx,
                "DrainWarning",
                format!("Node/{node}"),
                format!("Warning: {w}"),
            );
        }
        if !errors.is_empty() {
            return self.drain_failed(ctx, node, errors);
        }
        let index = self.drains.len();
        let mut pending = BTreeMap::new();
        for p in &delete {
            pending.insert(p.key(), p.meta.uid);
        }
        self.drains.push(Drain {
            node: node.to_string(),
            opts: opts.clone(),
            pending,
            errors: Vec::new(),
            finished: false,
            deadline: opts.timeout.map(|t| ctx.now() + t),
        });
        for p in delete {
            self.drain_evict(ctx, index, &p.key());
        }
        self.drain_maybe_done(ctx, index);
    }

    /// `GetPodsForDeletion`: (pods to evict, warnings, errors), each filter's pods listed
    /// together as kubectl groups them.
    fn pods_for_deletion(
        &self,
        pods: &[std::sync::Arc<Pod>],
        opts: &DrainOptions,
    ) -> (Vec<std::sync::Arc<Pod>>, Vec<String>, Vec<String>) {
        // Keyed by (filter position, message) so that output follows kubectl's filter order.
        let mut groups: BTreeMap<(u8, bool, &'static str), Vec<String>> = BTreeMap::new();
        let mut delete = Vec::new();
        for p in pods {
            let name = p.key();
            let terminal = p.status.phase.is_terminal();
            let ds = p
                .meta
                .controller_ref()
                .is_some_and(|o| o.kind == "DaemonSet");
            if ds && !terminal {
                let msg = if opts.ignore_daemonsets {
                    (0, false, "ignoring DaemonSet-managed Pods")
                } else {
                    (
                        0,
                        true,
                        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
                    )
                };
                groups.entry(msg).or_default().push(name);
                continue;
            }
            if p.meta.annotations.contains_key(MIRROR_ANNOTATION) {
                continue;
            }
            if p.meta.controller_ref().is_none() && !terminal {
                if !opts.force {
                    let m =
                        "cannot delete Pods that declare no controller (use --force to override)";
                    groups.entry((2, true, m)).or_default().push(name);
                    continue;
                }
                let m = "deleting Pods that declare no controller";
                groups.entry((2, false, m)).or_default().push(name);
            }
            delete.push(p.clone());
        }
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        for ((_, is_error, msg), names) in groups {
            let line = format!("{msg}: {}", names.join(", "));
            if is_error {
                errors.push(line);
            } else {
                warnings.push(line);
            }
        }
        (delete, warnings, errors)
    }

    /// One eviction attempt of a drain's goroutine (or a DELETE with `--disable-eviction`).
    fn drain_evict(&mut self, ctx: &mut Engine<Event>, index: usize, key: &str) {
        let d = &self.drains[index];
        if d.finished || !d.pending.contains_key(key) {
            return;
        }
        let (grace, disable) = (d.opts.grace_period, d.opts.disable_eviction);
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        // kubectl prints "evicting pod …" at the top of every attempt, then looks at its
        // context (it sleeps 5 s between attempts, so a timeout is noticed at the next retry).
        if !disable {
            self.kubectl(
                ctx,
                "Evicting",
                format!("Pod/{key}"),
                format!("evicting pod {key}"),
            );
        }
        if let Some(t) = self.timed_out(index, ctx.now()) {
            let d = &mut self.drains[index];
            d.pending.remove(key);
            d.errors.push(format!(
                "error when evicting pods/{name:?} -n {ns:?}: global timeout reached: {t}"
            ));
            return;
        }
        let res = if disable {
            self.api.delete_pod(Caller::Operator, key, grace)
        } else {
            self.api.evict_pod(Caller::Operator, key, grace)
        };
        match res {
            Ok(_) => {
                if disable {
                    self.kubectl(
                        ctx,
                        "Deleting",
                        format!("Pod/{key}"),
                        format!("deleting pod {key}"),
                    );
                }
                self.drain_poll(ctx, index, key);
            }
            Err(ApiError::NotFound(_)) => {
                self.drains[index].pending.remove(key);
            }
            Err(e @ ApiError::TooManyRequests { .. }) => {
                let msg = format!(
                    "error when evicting pods/{name:?} -n {ns:?} (will retry after 5s): {e}"
                );
                self.kubectl(ctx, "EvictionRetry", format!("Pod/{key}"), msg);
                ctx.schedule_in(
                    EVICTION_RETRY,
                    Event::DrainRetry {
                        drain: index,
                        pod: key.to_string(),
                    },
                );
            }
            Err(e) => {
                let d = &mut self.drains[index];
                d.pending.remove(key);
                d.errors
                    .push(format!("error when evicting pods/{name:?} -n {ns:?}: {e}"));
            }
        }
    }

    /// `waitForDelete`: the pod is gone (or a new pod has its name) — kubectl prints
    /// "pod/NAME evicted"; otherwise look again in 1 s.
    fn drain_poll(&mut self, ctx: &mut Engine<Event>, index: usize, key: &str) {
        let d = &self.drains[index];
        let Some(&uid) = d.pending.get(key) else {
            return;
        };
        if d.finished {
            return;
        }
        let verb = if d.opts.disable_eviction {
            "deleted"
        } else {
            "evicted"
        };
        let gone = match self.api.pods().get(key) {
            None => true,
            Some(p) => p.meta.uid != uid,
        };
        if !self.api.net.reachable(Caller::Operator) {
            let d = &mut self.drains[index];
            d.pending.remove(key);
            d.errors.push(ApiError::Unavailable.to_string());
        } else if let (false, Some(t)) = (gone, self.timed_out(index, ctx.now())) {
            let name = key.split_once('/').map_or(key, |x| x.1);
            let d = &mut self.drains[index];
            d.pending.remove(key);
            let ns = key.split_once('/').map_or("", |x| x.0);
            d.errors.push(format!(
                "error when waiting for pod {name:?} in namespace {ns:?} to terminate: global timeout reached: {t}"
            ));
        } else if gone {
            self.drains[index].pending.remove(key);
            let name = key.split_once('/').map_or(key, |x| x.1);
            self.kubectl(
                ctx,
                "PodEvicted",
                format!("Pod/{key}"),
                format!("pod/{name} {verb}"),
            );
        } else {
            ctx.schedule_in(
                DELETE_POLL,
                Event::DrainPoll {
                    drain: index,
                    pod: key.to_string(),
                },
            );
            return;
        }
        self.drain_maybe_done(ctx, index);
    }

    /// The `--timeout` text once the drain's deadline has passed.
    fn timed_out(&self, index: usize, now: SimTime) -> Option<String> {
        let d = &self.drains[index];
        d.deadline
            .filter(|t| now >= *t)
            .map(|_| format_go_duration(d.opts.timeout.unwrap_or(SimDuration::ZERO)))
    }

    /// Timers of a drain: a retry after a 429, or a delete poll.
    pub(super) fn on_drain_event(&mut self, ctx: &mut Engine<Event>, ev: DrainTimer) {
        match ev {
            DrainTimer::Retry(i, pod) => {
                self.drain_evict(ctx, i, &pod);
                self.drain_maybe_done(ctx, i);
            }
            DrainTimer::Poll(i, pod) => self.drain_poll(ctx, i, &pod),
        }
    }

    fn drain_maybe_done(&mut self, ctx: &mut Engine<Event>, index: usize) {
        let d = &mut self.drains[index];
        if d.finished || !d.pending.is_empty() {
            return;
        }
        d.finished = true;
        let node = d.node.clone();
        let errors = std::mem::take(&mut d.errors);
        if errors.is_empty() {
            self.kubectl(
                ctx,
                "Drained",
                format!("Node/{node}"),
                format!("node/{node} drained"),
            );
        } else {
            self.drain_failed(ctx, &node, errors);
        }
    }

    fn drain_failed(&mut self, ctx: &mut Engine<Event>, node: &str, errors: Vec<String>) {
        let joined = if errors.len() == 1 {
            errors[0].clone()
        } else {
            format!("[{}]", errors.join(", "))
        };
        let msg = format!(
            "error: unable to drain node {node:?} due to error: {joined}, continuing command..."
        );
        self.kubectl(ctx, "DrainFailed", format!("Node/{node}"), msg);
    }

    /// A bare eviction request (`evictPod`): recorded as `ActionApplied` or `ActionFailed`
    /// with the API server's answer.
    pub(super) fn evict(
        &mut self,
        ctx: &mut Engine<Event>,
        namespace: &str,
        name: Option<&str>,
        labels: &BTreeMap<String, String>,
        grace: Option<u64>,
    ) {
        let key = match name {
            Some(n) => Some(pod_key(namespace, n)),
            None => self.first_running(namespace, labels),
        };
        let Some(key) = key else {
            let msg = format!("evict: no Running pod in namespace {namespace} matches {labels:?}");
            return self.kubectl(ctx, "ActionFailed", format!("Pod/{namespace}/*"), msg);
        };
        let command = format!(
            "POST pods/{}/eviction",
            key.split_once('/').map_or("", |x| x.1)
        );
        let (reason, message) = match self.api.evict_pod(Caller::Operator, &key, grace) {
            Ok(_) => ("ActionApplied", command),
            Err(e) => ("ActionFailed", format!("{command}: {e}")),
        };
        self.kubectl(ctx, reason, format!("Pod/{key}"), message);
    }

    /// The first Running pod (by key) of `namespace` whose labels contain `labels`.
    fn first_running(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Option<String> {
        let prefix = format!("{namespace}/");
        self.api
            .pods()
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .find(|(_, p)| {
                p.status.phase == PodPhase::Running
                    && !p.is_terminating()
                    && labels.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v))
            })
            .map(|(k, _)| k.clone())
    }
}

/// A drain timer, unpacked from its [`Event`].
pub enum DrainTimer {
    Retry(usize, String),
    Poll(usize, String),
}

/// The command line, for the record.
fn drain_command(node: &str, o: &DrainOptions) -> String {
    let mut s = format!("kubectl drain {node}");
    if o.ignore_daemonsets {
        s.push_str(" --ignore-daemonsets");
    }
    if o.force {
        s.push_str(" --force");
    }
    if let Some(g) = o.grace_period {
        s.push_str(&format!(" --grace-period={g}"));
    }
    if let Some(t) = o.timeout {
        s.push_str(&format!(" --timeout={}", format_go_duration(t)));
    }
    if o.disable_eviction {
        s.push_str(" --disable-eviction");
    }
    s
}
