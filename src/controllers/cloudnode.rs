//! The cloud node lifecycle controller (cloud-controller-manager; reference node-lifecycle §6.2
//! "cloud node lifecycle", general knowledge as the reference marks it): every
//! `node-monitor-period` it looks at each node whose Ready condition is not True and asks the
//! cloud about its VM. A VM that no longer exists gets its Node object deleted (event
//! `DeletingNode`). (The `node.cloudprovider.kubernetes.io/shutdown:NoSchedule` taint for VMs
//! stopped in the cloud is not modelled: no fault stops a VM cleanly; a crash is not a shutdown.)
//!
//! Invariant: the cloud's answers come from the scenario's fault timeline (the [`Cloud`]
//! view); the controller acts only through the API. kubesim runs it inside the controller
//! manager's leadership term, where a real cluster runs it in cloud-controller-manager.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::cache::KcmCache;
use crate::api::ApiServer;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record};

pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";

/// What the cloud provider knows about the VMs behind the nodes.
#[derive(Default)]
pub struct Cloud {
    pub deleted: BTreeSet<String>,
}

pub fn monitor(ctx: &mut dyn Ctx<Event>, api: &mut ApiServer, cache: &KcmCache, cloud: &Cloud) {
    if cloud.deleted.is_empty() {
        return;
    }
    let gone: Vec<Arc<Node>> = cloud
        .deleted
        .iter()
        .filter_map(|n| cache.nodes.get(n).cloned())
        .collect();
    for node in gone {
        // Only nodes that are not Ready are checked against the cloud.
        if node.ready_status() == Some(ConditionStatus::True) {
            continue;
        }
        let name = node.meta.name.as_str();
        if api.delete_node(Caller::ControllerManager, name).is_ok() {
            ctx.record(Record {
                t: ctx.now(),
                reason: "DeletingNode",
                source: "cloud-node-lifecycle-controller",
                object: format!("Node/{name}"),
                message: format!(
                    "Deleting node {name} because it does not exist in the cloud provider"
                ),
                fields: vec![("zone", node.zone_label())],
            });
        }
    }
}
