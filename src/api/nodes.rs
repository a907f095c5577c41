//! The API server's Nodes, node Leases (`kube-node-lease`, with the kubelets' lazy renewal
//! plans) and leader-election records (`kube-system`).
//!
//! Invariant: every taint a Node write adds or removes is recorded (`TaintAdded` /
//! `TaintRemoved`), and a change of a Node's conditions by anyone but its own kubelet wakes
//! that kubelet's status loop; a Lease read shows the latest planned renewal not after now,
//! exactly what the eager PUTs would have written.

use std::sync::Arc;

use super::store::{stored_in, ApiObject, Staged, Write, CM_AND_SCHEDULER};
use super::{
    latest_planned, source_name, ApiError, ApiServer, Change, LeaderRecord, Verb, Watcher,
};
use crate::model::*;
use crate::network::Caller;
use crate::sim::namemap::NameMap;
use crate::sim::{Record, SimTime};

impl ApiObject for Node {
    const KIND: &'static str = "Node";
    stored_in!(nodes);
    fn store_key(&self) -> String {
        self.meta.name.clone()
    }
    fn change(obj: Arc<Self>, write: Write) -> Option<Change> {
        Some(match write {
            Write::Deleted => Change::NodeDeleted(obj),
            _ => Change::Node(obj),
        })
    }
    fn watchers(_: Write) -> &'static [Watcher] {
        CM_AND_SCHEDULER
    }
    /// Most node writes are status writes (heartbeats, conditions): the status is compared
    /// first.
    fn unchanged(old: &Self, new: &Self) -> bool {
        // Every field, so that a new one cannot be forgotten.
        let Node { meta, spec, status } = old;
        *status == new.status && *spec == new.spec && *meta == new.meta
    }
}

impl ApiServer {
    pub fn get_node(&self, caller: Caller, name: &str) -> Result<Arc<Node>, ApiError> {
        self.get(caller, name)
    }

    pub fn create_node(&mut self, caller: Caller, node: Node) -> Result<Arc<Node>, ApiError> {
        let node = self.create_object(caller, node, |_, _| Ok(()))?;
        for t in &node.spec.taints {
            self.taint_record(caller, &node, t, true);
        }
        Ok(node)
    }

    /// GET + mutate + PUT without conflicts (the mutation sees the latest object).
    /// A mutation that changes nothing writes nothing.
    pub fn update_node(
        &mut self,
        caller: Caller,
        name: &str,
        mutate: impl FnOnce(&mut Node),
    ) -> Result<Arc<Node>, ApiError> {
        self.check(caller, Verb::Update)?;
        let (old, new) = match self.stage_update(name, mutate)? {
            Staged::Unchanged(old) => return Ok(old),
            Staged::Changed { old, new } => (old, self.commit_staged(name, new)),
        };
        self.node_updated(caller, name, &old, &new);
        Ok(new)
    }

    /// A status write that replaces the Node's conditions (and its images, when given): the
    /// same as [`ApiServer::update_node`] with a mutation that sets them, but the new object is
    /// built from the stored one's other fields, so the conditions and images it replaces are
    /// never copied (the kubelets' status loop writes one on every change and report).
    pub fn update_node_status(
        &mut self,
        caller: Caller,
        name: &str,
        conditions: Vec<NodeCondition>,
        images: Option<Vec<ContainerImage>>,
    ) -> Result<Arc<Node>, ApiError> {
        self.check(caller, Verb::Update)?;
        let old: Arc<Node> = self.stored(name)?;
        // Every field, so that a new one cannot be forgotten.
        let Node { meta, spec, status } = &*old;
        let NodeStatus {
            capacity,
            allocatable,
            conditions: _,
            images: old_images,
        } = status;
        let new = Node {
            meta: meta.clone(),
            spec: spec.clone(),
            status: NodeStatus {
                capacity: capacity.clone(),
                allocatable: allocatable.clone(),
                conditions,
                images: images.unwrap_or_else(|| old_images.clone()),
            },
        };
        // A status write changes no spec: no generation bump (`spec_changed` is false).
        if Node::unchanged(&old, &new) {
            return Ok(old);
        }
        let new = self.commit_staged(name, Arc::new(new));
        self.node_updated(caller, name, &old, &new);
        Ok(new)
    }

    /// What follows a committed Node write: its taint records, the wake-up of its kubelet's
    /// status loop when someone else changed its conditions, the watch notification.
    fn node_updated(&mut self, caller: Caller, name: &str, old: &Node, new: &Arc<Node>) {
        for t in &old.spec.taints {
            if !new.spec.taints.iter().any(|n| n.matches(t)) {
                self.taint_record(caller, new, t, false);
            }
        }
        for t in &new.spec.taints {
            if !old.spec.taints.iter().any(|o| o.matches(t)) {
                self.taint_record(caller, new, t, true);
            }
        }
        if old.status.conditions != new.status.conditions {
            let own =
                matches!(caller, Caller::Kubelet(m) if self.kubelet_of_node.get(name) == Some(&m));
            if !own {
                self.status_wakeups.push(name.to_string());
            }
        }
        self.notify(new, Write::Updated);
    }

    /// DELETE a Node object (its pods stay until pod GC collects them).
    pub fn delete_node(&mut self, caller: Caller, name: &str) -> Result<(), ApiError> {
        self.delete_object::<Node>(caller, name).map(|_| ())
    }

    fn taint_record(&mut self, caller: Caller, node: &Node, t: &Taint, added: bool) {
        let (reason, verb) = if added {
            ("TaintAdded", "added")
        } else {
            ("TaintRemoved", "removed")
        };
        self.records.push(Record {
            t: self.now,
            reason,
            source: source_name(caller),
            object: format!("Node/{}", node.meta.name),
            message: format!("Taint {} {verb}", t.to_text()),
            fields: vec![("zone", node.zone_label()), ("taint", t.to_text())],
        });
    }

    // ----- node leases (kube-node-lease) -----

    pub fn leases(&self) -> &NameMap<Arc<Lease>> {
        self.leases.map()
    }

    pub fn get_lease(&self, caller: Caller, name: &str) -> Result<Arc<Lease>, ApiError> {
        self.check(caller, Verb::Get)?;
        let lease =
            self.leases.get(name).cloned().ok_or_else(|| {
                ApiError::NotFound(format!("Lease/{NODE_LEASE_NAMESPACE}/{name}"))
            })?;
        Ok(match latest_planned(self.lease_plans.get(name), self.now) {
            Some(t) if t > lease.renew_time => Arc::new(Lease {
                renew_time: t,
                ..(*lease).clone()
            }),
            _ => lease,
        })
    }

    /// Creates the lease if missing (POST) or replaces it (PUT). A PUT supersedes any plan.
    pub fn put_lease(&mut self, caller: Caller, mut lease: Lease) -> Result<Arc<Lease>, ApiError> {
        self.check(caller, Verb::Update)?;
        lease.resource_version = self.next_rv();
        let lease = Arc::new(lease);
        self.leases.insert(lease.name.clone(), lease.clone());
        self.lease_plans.remove(&lease.name);
        self.outbox
            .push((Watcher::ControllerManager, Change::Lease(lease.clone())));
        Ok(lease)
    }

    /// Lazy heartbeats: a kubelet in steady state announces its next renewals (each a PUT of
    /// `renewTime = t` at time t) instead of sending them one by one. Readers see exactly what
    /// the eager PUTs would have shown: the latest planned time not after now. The watch
    /// carries the plan once; the kubelet withdraws the unexecuted part with
    /// [`ApiServer::withdraw_lease_plan`] the moment a fault would have made them fail.
    pub fn plan_lease_renewals(&mut self, name: &str, times: Vec<SimTime>) {
        let times = Arc::new(times);
        self.lease_plans.insert(name.to_string(), times.clone());
        self.outbox.push((
            Watcher::ControllerManager,
            Change::LeasePlan {
                name: name.to_string(),
                times,
            },
        ));
    }

    /// The planned renewals before `at` happened: they become the stored lease; the rest are
    /// withdrawn (also from the watchers' view).
    pub fn withdraw_lease_plan(&mut self, name: &str, at: SimTime) {
        let Some(plan) = self.lease_plans.remove(name) else {
            return;
        };
        let kept: Vec<SimTime> = plan.iter().copied().filter(|t| *t < at).collect();
        if let (Some(last), Some(lease)) = (kept.last(), self.leases.get(name)) {
            if *last > lease.renew_time {
                let mut l = (**lease).clone();
                l.renew_time = *last;
                self.leases.insert(name.to_string(), Arc::new(l));
            }
        }
        self.outbox.push((
            Watcher::ControllerManager,
            Change::LeasePlan {
                name: name.to_string(),
                times: Arc::new(kept),
            },
        ));
    }

    // ----- leader election records (kube-system) -----

    pub fn get_leader_record(
        &self,
        caller: Caller,
        name: &str,
    ) -> Result<Option<LeaderRecord>, ApiError> {
        self.check(caller, Verb::Get)?;
        Ok(self.leader_records.get(name).cloned())
    }

    /// Writes a leader record if it is still at `expected_rv` (optimistic concurrency).
    pub fn put_leader_record(
        &mut self,
        caller: Caller,
        name: &str,
        expected_rv: Option<u64>,
        mut record: LeaderRecord,
    ) -> Result<LeaderRecord, ApiError> {
        self.check(caller, Verb::Update)?;
        let current = self.leader_records.get(name).map(|r| r.resource_version);
        if current != expected_rv {
            return Err(ApiError::Invalid(format!(
                "Lease/kube-system/{name}: conflict"
            )));
        }
        record.resource_version = self.next_rv();
        self.leader_records.insert(name.to_string(), record.clone());
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two conditions as a kubelet posts them at `secs` (all `ready`, with `reason`).
    fn conditions(secs: u64, ready: bool, reason: &str) -> Vec<NodeCondition> {
        let t = SimTime::from_secs(secs);
        let status = if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        [NodeConditionType::MemoryPressure, NodeConditionType::Ready]
            .map(|type_| NodeCondition {
                type_,
                status,
                last_heartbeat_time: t,
                last_transition_time: SimTime::ZERO,
                reason: reason.into(),
                message: format!("{reason} message"),
            })
            .to_vec()
    }

    fn api() -> ApiServer {
        let mut a = crate::api::test_server();
        let mut n = Node::default();
        n.meta.name = "n1".into();
        n.meta
            .labels
            .insert("topology.kubernetes.io/zone".into(), "z1".into());
        n.spec.taints = vec![Taint::new("dedicated", TaintEffect::NoSchedule)];
        n.status.conditions = conditions(0, true, "KubeletReady");
        n.status.images = vec![ContainerImage {
            names: vec!["app:1".into()],
            size_bytes: 7,
        }];
        a.create_node(Caller::Operator, n).unwrap();
        a.register_kubelet_watch("n1", 1);
        a
    }

    /// `update_node_status` writes, returns and announces exactly what `update_node` with the
    /// equivalent mutation does: changed and unchanged conditions, with and without images,
    /// by the node's own kubelet and by someone else.
    #[test]
    fn status_write_is_the_mutation_write() {
        let images = vec![ContainerImage {
            names: vec!["app:2".into(), "app@sha".into()],
            size_bytes: 9,
        }];
        let writes: Vec<(Caller, Vec<NodeCondition>, Option<Vec<ContainerImage>>)> = vec![
            (
                Caller::Kubelet(1),
                conditions(0, true, "KubeletReady"),
                None,
            ),
            (
                Caller::Kubelet(1),
                conditions(10, true, "KubeletReady"),
                None,
            ),
            (
                Caller::Kubelet(1),
                conditions(20, true, "Pressure"),
                Some(images.clone()),
            ),
            (
                Caller::Kubelet(1),
                conditions(20, true, "Pressure"),
                Some(images),
            ),
            (
                Caller::Kubelet(2),
                conditions(30, false, "NotReady"),
                Some(Vec::new()),
            ),
        ];
        let (mut by_status, mut by_mutation) = (api(), api());
        for (caller, conds, images) in writes {
            let a = by_status.update_node_status(caller, "n1", conds.clone(), images.clone());
            let b = by_mutation.update_node(caller, "n1", |n| {
                n.status.conditions = conds;
                if let Some(i) = images {
                    n.status.images = i;
                }
            });
            assert_eq!(a, b);
            assert_eq!(
                by_status.get_node(caller, "n1"),
                by_mutation.get_node(caller, "n1")
            );
            assert_eq!(
                format!("{:?}", by_status.outbox),
                format!("{:?}", by_mutation.outbox)
            );
            assert_eq!(by_status.records, by_mutation.records);
            assert_eq!(by_status.status_wakeups, by_mutation.status_wakeups);
        }
        assert!(
            by_status.status_wakeups == ["n1"],
            "the other writer woke the kubelet"
        );
        assert_eq!(
            by_status.update_node_status(Caller::Kubelet(1), "n2", Vec::new(), None),
            Err(ApiError::NotFound(Node::describe("n2")))
        );
    }
}
