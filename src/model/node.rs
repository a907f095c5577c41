//! Nodes and node leases: well-known node labels, node conditions, spec and status, images,
//! the zone key (`GetZoneKey`), and the `kube-node-lease` Lease.
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks.

use super::meta::{ConditionStatus, ObjectMeta, Resources};
use super::taints::{Taint, TaintEffect};
use crate::sim::SimTime;

pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
pub const LABEL_REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";

pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeConditionType {
    Ready,
    MemoryPressure,
    DiskPressure,
    PIDPressure,
    NetworkUnavailable,
}

impl NodeConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeConditionType::Ready => "Ready",
            NodeConditionType::MemoryPressure => "MemoryPressure",
            NodeConditionType::DiskPressure => "DiskPressure",
            NodeConditionType::PIDPressure => "PIDPressure",
            NodeConditionType::NetworkUnavailable => "NetworkUnavailable",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCondition {
    pub type_: NodeConditionType,
    pub status: ConditionStatus,
    pub last_heartbeat_time: SimTime,
    pub last_transition_time: SimTime,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSpec {
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    pub capacity: Resources,
    pub allocatable: Resources,
    pub conditions: Vec<NodeCondition>,
    /// Container images the kubelet reports as present (`status.images`), for ImageLocality.
    pub images: Vec<ContainerImage>,
}

/// A `v1.ContainerImage`: the names an image is known by and its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerImage {
    pub names: Vec<String>,
    pub size_bytes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub meta: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

impl Node {
    pub fn condition(&self, t: NodeConditionType) -> Option<&NodeCondition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
    pub fn ready(&self) -> Option<&NodeCondition> {
        self.condition(NodeConditionType::Ready)
    }
    pub fn ready_status(&self) -> Option<ConditionStatus> {
        self.ready().map(|c| c.status)
    }
    pub fn has_taint(&self, key: &str, effect: TaintEffect) -> bool {
        self.spec
            .taints
            .iter()
            .any(|t| t.key == key && t.effect == effect)
    }
    /// The zone key the node lifecycle controller uses (`GetZoneKey`, reference §2.4): region
    /// and zone from the beta labels first, then the GA ones, joined by ":\0:"; "" if both empty.
    pub fn zone_key(&self) -> String {
        match self.zone_parts() {
            ("", "") => String::new(),
            (region, zone) => format!("{region}:\0:{zone}"),
        }
    }
    /// The region and zone [`Node::zone_key`] joins, borrowed from the labels.
    pub fn zone_parts(&self) -> (&str, &str) {
        let l = &self.meta.labels;
        let pick = |beta: &str, ga: &str| -> &str {
            match l.get(beta).filter(|v| !v.is_empty()).or_else(|| l.get(ga)) {
                Some(v) => v.as_str(),
                None => "",
            }
        };
        (
            pick(LABEL_REGION_BETA, LABEL_REGION),
            pick(LABEL_ZONE_BETA, LABEL_ZONE),
        )
    }
    /// Whether `key` is this node's [`Node::zone_key`], without building it.
    pub fn has_zone_key(&self, key: &str) -> bool {
        zone_key_is(key, self.zone_parts())
    }
    /// The zone as shown in events and columns: the zone key in readable form (`zone`, or
    /// `region/zone` when a region label is set; "" when unlabelled).
    pub fn zone_label(&self) -> String {
        zone_key_display(&self.zone_key())
    }
}

/// Whether `key` is the zone key [`Node::zone_key`] makes of these (region, zone) parts.
pub fn zone_key_is(key: &str, parts: (&str, &str)) -> bool {
    match parts {
        ("", "") => key.is_empty(),
        (region, zone) => key
            .strip_prefix(region)
            .and_then(|k| k.strip_prefix(":\0:"))
            .is_some_and(|z| z == zone),
    }
}

/// Printable form of a zone key ("region/zone", or the zone alone).
pub fn zone_key_display(key: &str) -> String {
    match key.split_once(":\0:") {
        Some(("", z)) => z.to_string(),
        Some((r, z)) => format!("{r}/{z}"),
        None => key.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder_identity: String,
    pub lease_duration_seconds: u64,
    pub renew_time: SimTime,
    pub resource_version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference §2.4 (GetZoneKey): beta labels first, then GA.
    #[test]
    fn zone_key_prefers_beta_labels() {
        let mut n = Node::default();
        assert_eq!(n.zone_key(), "");
        n.meta.labels.insert(LABEL_ZONE.into(), "ga".into());
        assert_eq!(n.zone_key(), ":\0:ga");
        n.meta.labels.insert(LABEL_ZONE_BETA.into(), "beta".into());
        assert_eq!(n.zone_key(), ":\0:beta");
        n.meta.labels.insert(LABEL_REGION.into(), "r".into());
        assert_eq!(n.zone_key(), "r:\0:beta");
        assert_eq!(zone_key_display(&n.zone_key()), "r/beta");
        assert!(n.has_zone_key("r:\0:beta"));
        assert!(!n.has_zone_key(":\0:beta") && !n.has_zone_key("r:\0:bet") && !n.has_zone_key(""));
    }
}
