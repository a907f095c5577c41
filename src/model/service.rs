//! `v1` Service and `discovery.k8s.io/v1` EndpointSlice as plain data, plus the `v1`
//! Namespace, ServiceAccount and Secret kubesim accepts.
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks. Field names, labels and
//! condition semantics are Kubernetes' own (`k8s.io/api/core/v1`, `k8s.io/api/discovery/v1`).

use std::collections::BTreeMap;

use super::meta::{pod_key, ObjectMeta};
use super::workloads::IntOrString;

/// `kubernetes.io/service-name`: the label tying a slice to its Service.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `endpointslice.kubernetes.io/managed-by`.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The value the EndpointSlice controller sets.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// A `v1.ServicePort`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: String,
    pub protocol: String,
    pub port: i32,
    pub target_port: IntOrString,
}

/// A `v1` Service: what the EndpointSlice controller reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub meta: ObjectMeta,
    /// `spec.selector` (a plain label map); None or empty: the controller manages no slices.
    pub selector: Option<BTreeMap<String, String>>,
    pub ports: Vec<ServicePort>,
    /// `spec.type` (`ClusterIP` by default).
    pub type_: String,
    pub publish_not_ready_addresses: bool,
}

impl Service {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    /// Whether the Service selects pods with `labels` (a non-empty selector, all pairs equal).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector
            .as_ref()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }
}

/// `discovery.k8s.io/v1` EndpointConditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointConditions {
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// One endpoint: a pod (kubesim models no pod IPs; the pod is the address).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `targetRef.name` (the pod, in the slice's namespace).
    pub pod: String,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    pub conditions: EndpointConditions,
}

/// `discovery.k8s.io/v1` EndpointSlice (`addressType: IPv4`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSlice {
    pub meta: ObjectMeta,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<ServicePort>,
}

impl EndpointSlice {
    pub fn key(&self) -> String {
        pod_key(&self.meta.namespace, &self.meta.name)
    }
    /// The `namespace/name` of the Service this slice belongs to (its service-name label).
    pub fn service_key(&self) -> Option<String> {
        self.meta
            .labels
            .get(LABEL_SERVICE_NAME)
            .map(|s| pod_key(&self.meta.namespace, s))
    }
}

/// `v1` Namespace: `status.phase` is `Active` or `Terminating`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespace {
    pub meta: ObjectMeta,
    pub terminating: bool,
}

impl Namespace {
    pub fn phase(&self) -> &'static str {
        if self.terminating {
            "Terminating"
        } else {
            "Active"
        }
    }
}

/// `v1` ServiceAccount or Secret: kubesim keeps them as named objects of a namespace (their
/// data plays no part in a simulation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespacedObject {
    /// `ServiceAccount` or `Secret`.
    pub kind: String,
    pub meta: ObjectMeta,
}

impl NamespacedObject {
    pub fn key(&self) -> String {
        format!(
            "{}:{}",
            self.kind,
            pod_key(&self.meta.namespace, &self.meta.name)
        )
    }
}
