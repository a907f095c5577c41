//! Object metadata shared by every kind: `ObjectMeta`, owner references, finalizers and the
//! deletion propagation policy, the condition status, resource amounts, and `namespace/name`
//! keys.
//!
//! Invariant: plain data plus pure helpers; objects refer to one another only by name.

use std::collections::BTreeMap;

use crate::sim::SimTime;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Assigned by the API server on create (a counter, so deterministic).
    pub uid: u64,
    pub resource_version: u64,
    pub creation_timestamp: SimTime,
    pub deletion_timestamp: Option<SimTime>,
    pub deletion_grace_period_seconds: Option<u64>,
    pub owner_references: Vec<OwnerRef>,
    /// `metadata.generation`: bumped by the API server on every spec change of a workload.
    pub generation: i64,
    /// `metadata.finalizers` (kubesim uses `foregroundDeletion` and `orphan`).
    pub finalizers: Vec<String>,
}

pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";
pub const FINALIZER_ORPHAN: &str = "orphan";

/// `DeleteOptions.propagationPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PropagationPolicy {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl PropagationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

impl ObjectMeta {
    pub fn controller_ref(&self) -> Option<&OwnerRef> {
        self.owner_references.iter().find(|o| o.controller)
    }
}

/// Resource amounts in Kubernetes' scheduler units: CPU in millicores, the rest in whole units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources such as `nvidia.com/gpu`, by name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    pub fn add(&mut self, o: &Resources) {
        self.cpu_milli += o.cpu_milli;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.pods += o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) += v;
        }
    }
    pub fn sub(&mut self, o: &Resources) {
        self.cpu_milli -= o.cpu_milli;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.pods -= o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) -= v;
        }
    }
    pub fn max_with(&mut self, o: &Resources) {
        self.cpu_milli = self.cpu_milli.max(o.cpu_milli);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// `namespace/name` (built with one exact allocation: keys are made on every watch event).
pub fn pod_key(namespace: &str, name: &str) -> String {
    let mut k = String::with_capacity(namespace.len() + 1 + name.len());
    k.push_str(namespace);
    k.push('/');
    k.push_str(name);
    k
}

/// `pod_key(namespace, name) == key`, without building the key.
#[inline]
pub fn is_pod_key(key: &str, namespace: &str, name: &str) -> bool {
    key.len() == namespace.len() + 1 + name.len()
        && key.as_bytes()[namespace.len()] == b'/'
        && key.starts_with(namespace)
        && key.ends_with(name)
}
