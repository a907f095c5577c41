//! The API server's Pods: DefaultTolerationSeconds and NamespaceLifecycle admission, the
//! `pods/binding` subresource, graceful deletion (reference §6.1) with finalizers, the
//! by-node index of the kubelets' field-selector watches, and the pod totals.
//!
//! Invariant: `pods_by_node`, `pod_counts` and `node_loads` always match the stored pods; every pod write is
//! announced to the controller manager, the scheduler and — when bound, or bound before — the
//! kubelet of its node.

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Deletion, Staged, Write, CM_AND_SCHEDULER};
use super::{ApiError, ApiServer, Change, Verb, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;
use crate::sim::SimDuration;

/// Pod totals maintained by the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounts {
    /// Indexed by `PodPhase as usize`.
    pub phase: [u64; 5],
    pub terminating: u64,
    pub unscheduled: u64,
    /// Pods whose `Ready` condition is True.
    pub ready: u64,
    /// Pods waiting for the scheduler: not terminal, not bound, not being deleted.
    pub pending: u64,
}

/// What the non-terminal pods bound to one node hold (the store keeps one per node name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeLoad {
    /// The node's name (the entry's key), for readers that walk the loads in slot order.
    pub node: String,
    /// Sum of the pods' effective requests (`PodSpec::effective_request`).
    pub requested: Resources,
    /// Pods in phase Running.
    pub running: u64,
}

/// A pod's share of its node's load: (node, running, request), None when it holds nothing.
fn load_share(p: &Pod) -> Option<(&str, bool)> {
    if p.status.phase.is_terminal() {
        return None;
    }
    let node = p.spec.node_name.as_deref()?;
    Some((node, p.status.phase == PodPhase::Running))
}

/// The containers' requests are equal (so are the effective requests).
fn same_requests(a: &Pod, b: &Pod) -> bool {
    let eq = |x: &[Container], y: &[Container]| {
        x.len() == y.len() && x.iter().zip(y).all(|(c, d)| c.requests == d.requests)
    };
    eq(&a.spec.containers, &b.spec.containers)
        && eq(&a.spec.init_containers, &b.spec.init_containers)
}

impl PodCounts {
    fn apply(&mut self, p: &Pod, add: bool) {
        let d = |v: &mut u64| if add { *v += 1 } else { *v -= 1 };
        d(&mut self.phase[p.status.phase as usize]);
        if p.is_terminating() {
            d(&mut self.terminating);
        }
        if p.spec.node_name.is_none() {
            d(&mut self.unscheduled);
        }
        if p.is_ready() {
            d(&mut self.ready);
        }
        if !p.status.phase.is_terminal() && p.spec.node_name.is_none() && !p.is_terminating() {
            d(&mut self.pending);
        }
    }
}

/// The controller manager and the scheduler; the node's kubelet is added per pod
/// ([`ApiServer::notify_kubelet`]).
impl ApiObject for Pod {
    const KIND: &'static str = "Pod";
    stored_in!(pods);
    fn store_key(&self) -> String {
        self.key()
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::PodDeleted(obj),
            _ => Change::Pod(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM_AND_SCHEDULER
    }
    /// Most pod writes are status writes: the status is compared first.
    fn unchanged(old: &Self, new: &Self) -> bool {
        // Every field, so that a new one cannot be forgotten.
        let Pod { meta, spec, status } = old;
        *status == new.status && *spec == new.spec && *meta == new.meta
    }
}

/// The last finalizer of a pod whose deletion is complete (grace 0) was just removed.
fn finalizers_released(old: &Pod, new: &Pod) -> bool {
    !old.meta.finalizers.is_empty()
        && new.meta.finalizers.is_empty()
        && new.meta.deletion_grace_period_seconds == Some(0)
}

impl ApiServer {
    pub fn pods(&self) -> &NameMap<Arc<Pod>> {
        self.pods.map()
    }

    pub fn pod_counts(&self) -> PodCounts {
        self.pod_counts
    }

    /// Per node name, what its non-terminal pods hold; a node without such pods may be absent.
    pub fn node_loads(&self) -> &NameMap<NodeLoad> {
        &self.node_loads
    }

    /// Moves the node loads from `old`'s share to `new`'s (either may be absent).
    fn move_load(&mut self, old: Option<&Pod>, new: Option<&Pod>) {
        let (a, b) = (old.and_then(load_share), new.and_then(load_share));
        if let (Some((on, or)), Some((nn, nr)), Some(op), Some(np)) = (a, b, old, new) {
            if on == nn && same_requests(op, np) {
                // The request leaves and comes back to the same node: only Running can move.
                if or != nr {
                    let load = self
                        .node_loads
                        .get_mut(nn)
                        .expect("a node holding a pod has a load");
                    load.running = if nr {
                        load.running + 1
                    } else {
                        load.running - 1
                    };
                }
                return;
            }
        }
        for (p, share, sign) in [(old, a, -1i64), (new, b, 1)] {
            let (Some(p), Some((node, running))) = (p, share) else {
                continue;
            };
            let load = match self.node_loads.get_mut(node) {
                Some(l) => l,
                None => {
                    let load = NodeLoad {
                        node: node.to_string(),
                        ..NodeLoad::default()
                    };
                    self.node_loads.insert(node.to_string(), load);
                    self.node_loads.get_mut(node).expect("the load just added")
                }
            };
            let req = p.spec.effective_request();
            if sign > 0 {
                load.requested.add(&req);
            } else {
                load.requested.sub(&req);
            }
            if running {
                load.running = (load.running as i64 + sign) as u64;
            }
        }
    }

    /// GET a pod.
    pub fn get_pod(&self, caller: Caller, key: &str) -> Result<Arc<Pod>, ApiError> {
        self.get(caller, key)
    }

    /// LIST pods with `spec.nodeName=node` (the kubelet's relist).
    pub fn list_pods_on_node(&self, caller: Caller, node: &str) -> Result<Vec<Arc<Pod>>, ApiError> {
        self.check(caller, Verb::List)?;
        Ok(self
            .pods_by_node
            .get(node)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| self.pods.get(k).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The kubelet's field-selector watch: the pod's node, or the node it was bound to.
    fn notify_kubelet(&mut self, pod: &Arc<Pod>, write: Write, previous_node: Option<&str>) {
        let target = pod.spec.node_name.as_deref().or(previous_node);
        if let Some(m) = target.and_then(|n| self.kubelet_of_node.get(n)).copied() {
            if let Some(change) = Pod::change(pod.clone(), write) {
                self.outbox.push((Watcher::Kubelet(m), change));
            }
        }
    }

    fn index_pod(&mut self, node: &str, key: &str) {
        let set = match self.pods_by_node.get_mut(node) {
            Some(set) => set,
            None => self
                .pods_by_node
                .get_or_insert_with(node.to_string(), |_| Default::default())
                .unwrap_or_else(|added| added),
        };
        set.insert(key.to_string());
    }

    /// POST a pod: name from `generateName` is chosen by the caller; admission adds the
    /// DefaultTolerationSeconds tolerations (reference §5.2).
    pub fn create_pod(&mut self, caller: Caller, pod: Pod) -> Result<Arc<Pod>, ApiError> {
        let pod = self.create_object(caller, pod, |api, pod| {
            api.admit_namespace(&pod.meta.namespace)?;
            add_default_tolerations(
                &mut pod.spec,
                api.config.default_not_ready_toleration,
                api.config.default_unreachable_toleration,
            );
            Ok(())
        })?;
        if let Some(node) = &pod.spec.node_name {
            self.index_pod(node, &pod.key());
        }
        self.pod_counts.apply(&pod, true);
        self.move_load(None, Some(&pod));
        self.notify_kubelet(&pod, Write::Created, None);
        Ok(pod)
    }

    pub fn update_pod(
        &mut self,
        caller: Caller,
        key: &str,
        mutate: impl FnOnce(&mut Pod),
    ) -> Result<Arc<Pod>, ApiError> {
        self.check(caller, Verb::Update)?;
        if self.inject_pod_write_failures > 0 {
            self.inject_pod_write_failures -= 1;
            return Err(ApiError::Unavailable);
        }
        let (old, new) = match self.stage_update(key, mutate)? {
            Staged::Unchanged(old) => return Ok(old),
            Staged::Changed { old, new } => (old, new),
        };
        assert!(
            new.has_key(key),
            "a pod update may not rename the pod ({key})"
        );
        let new = self.commit_staged(key, new);
        if old.spec.node_name != new.spec.node_name {
            // Binding is the only change of nodeName the API allows, and only once.
            assert!(old.spec.node_name.is_none(), "pod {key} bound twice");
            if let Some(node) = &new.spec.node_name {
                self.index_pod(node, key);
            }
        }
        self.pod_counts.apply(&old, false);
        self.pod_counts.apply(&new, true);
        self.move_load(Some(&old), Some(&new));
        self.notify(&new, Write::Updated);
        self.notify_kubelet(&new, Write::Updated, old.spec.node_name.as_deref());
        if finalizers_released(&old, &new) {
            self.remove_pod(key);
        }
        Ok(new)
    }

    /// A DELETE that would remove a pod still holding finalizers (the Job controller's
    /// `batch.kubernetes.io/job-tracking`): the object stays, deleted with grace 0, until its
    /// last finalizer is removed (apiserver graceful deletion with finalizers).
    fn hold_for_finalizers(
        &mut self,
        caller: Caller,
        key: &str,
        pod: &Pod,
    ) -> Result<Deletion, ApiError> {
        if pod.meta.deletion_grace_period_seconds == Some(0) {
            return Ok(Deletion::Terminating);
        }
        let now = self.now;
        self.update_pod(caller, key, |p| {
            p.meta.deletion_timestamp = Some(p.meta.deletion_timestamp.unwrap_or(now).min(now));
            p.meta.deletion_grace_period_seconds = Some(0);
        })?;
        Ok(Deletion::Terminating)
    }

    /// The `pods/binding` subresource: sets `spec.nodeName` and `PodScheduled=True`.
    pub fn bind_pod(
        &mut self,
        caller: Caller,
        key: &str,
        node: &str,
    ) -> Result<Arc<Pod>, ApiError> {
        self.check(caller, Verb::Create)?;
        match self.pods.get(key) {
            None => return Err(ApiError::NotFound(format!("Pod/{key}"))),
            Some(p) if p.spec.node_name.is_some() => {
                return Err(ApiError::Invalid(format!(
                    "pod {key} is already assigned to a node"
                )))
            }
            Some(p) if p.is_terminating() => {
                return Err(ApiError::Invalid(format!("pod {key} is being deleted")))
            }
            Some(_) => {}
        }
        if !self.nodes.contains(node) {
            return Err(ApiError::NotFound(format!("Node/{node}")));
        }
        let now = self.now;
        self.within(|a| {
            a.update_pod(caller, key, |p| {
                p.spec.node_name = Some(node.to_string());
                p.set_condition(
                    PodConditionType::PodScheduled,
                    ConditionStatus::True,
                    "",
                    now,
                );
            })
        })
    }

    /// DELETE a pod. With `grace` None the pod's `terminationGracePeriodSeconds` applies. A pod
    /// that is not bound to a node, or already terminal, or deleted with grace 0, is removed at
    /// once; otherwise it becomes Terminating (`deletionTimestamp = now + grace`) until its
    /// kubelet confirms with a grace-0 delete (reference §6.1).
    pub fn delete_pod(
        &mut self,
        caller: Caller,
        key: &str,
        grace: Option<u64>,
    ) -> Result<Deletion, ApiError> {
        self.check(caller, Verb::Delete)?;
        let pod: Arc<Pod> = self.stored(key)?;
        let grace = grace.unwrap_or(pod.spec.termination_grace_period_seconds);
        if grace == 0 || pod.spec.node_name.is_none() || pod.status.phase.is_terminal() {
            if !pod.meta.finalizers.is_empty() {
                return self.within(|a| a.hold_for_finalizers(caller, key, &pod));
            }
            self.remove_pod(key);
            return Ok(Deletion::Removed);
        }
        let deadline = self.now + SimDuration::from_secs(grace);
        if let Some(existing) = pod.meta.deletion_timestamp {
            // A second graceful delete may only shorten the grace period.
            if existing <= deadline {
                return Ok(Deletion::Terminating);
            }
        }
        self.within(|a| {
            a.update_pod(caller, key, |p| {
                p.meta.deletion_timestamp = Some(deadline);
                p.meta.deletion_grace_period_seconds = Some(grace);
            })
        })?;
        Ok(Deletion::Terminating)
    }

    fn remove_pod(&mut self, key: &str) {
        let Some(pod) = self.remove_object::<Pod>(key) else {
            return;
        };
        self.notify_kubelet(&pod, Write::Deleted, None);
        self.pod_counts.apply(&pod, false);
        self.move_load(Some(&pod), None);
        if let Some(n) = &pod.spec.node_name {
            if let Some(set) = self.pods_by_node.get_mut(n) {
                set.remove(key);
                if set.is_empty() {
                    self.pods_by_node.remove(n);
                }
            }
        }
    }
}
