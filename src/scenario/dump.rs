//! Manifests as `kubectl get -o yaml` dumps and Helm bundles come: the fields the API server
//! writes (`status`, `metadata.uid`, `resourceVersion`, `generation`, `creationTimestamp`,
//! `selfLink`, `managedFields`, `ownerReferences`, the `last-applied-configuration` and
//! Deployment revision annotations) are dropped and counted, and objects of kinds kubesim does
//! not model (ConfigMap, Ingress, HorizontalPodAutoscaler, custom resources, …) are skipped and
//! counted, before `convert` sees the manifest.
//!
//! Invariant: each file (or inline manifest) gets at most one warning for its server-populated
//! fields, naming the file and counting each field, and one warning per skipped kind; a
//! misspelt kind of a modelled API group is still an error, never skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::convert::Object;
use super::manifest::RawManifest;
use super::{ClusterSpec, InputError, Workload};
use crate::model::*;

/// `metadata` fields only the API server writes.
pub const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "ownerReferences",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations written by `kubectl apply` or by controllers, not by the user.
pub const SERVER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
];

/// Built-in Kubernetes kinds kubesim does not model (skipped with a warning). StorageClass is
/// not among them: it stays an error (tests/integration/batch.rs pins that), since storage
/// provisioning decides where a pod with volumes may run.
pub const UNMODELLED_KINDS: &[&str] = &[
    "ConfigMap",
    "Endpoints",
    "EndpointSlice",
    "Event",
    "LimitRange",
    "ResourceQuota",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CSIDriver",
    "CSINode",
    "CSIStorageCapacity",
    "VolumeAttachment",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "VerticalPodAutoscaler",
    "CustomResourceDefinition",
    "APIService",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "ControllerRevision",
    "Lease",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "RuntimeClass",
    "PodTemplate",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "DeviceClass",
    "ResourceSlice",
];

/// The API groups built into Kubernetes; any other group is a custom resource.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "extensions",
    "scheduling.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "admissionregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "internal.apiserver.k8s.io",
    "storagemigration.k8s.io",
];

/// Whether an object of this `apiVersion` and `kind` is skipped: a built-in kind kubesim does
/// not model, or a custom resource (an API group not built into Kubernetes). Kinds kubesim
/// reads are never skipped (a wrong `apiVersion` stays an error).
pub fn skipped_kind(api_version: Option<&str>, kind: Option<&str>) -> bool {
    let Some(kind) = kind.filter(|k| !k.is_empty()) else {
        return false;
    };
    if super::Kind::parse(kind).is_some() {
        return false;
    }
    if UNMODELLED_KINDS.contains(&kind) {
        return true;
    }
    let group = api_version
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    !BUILTIN_GROUPS.contains(&group)
}

/// What was dropped from one file.
#[derive(Debug, Default)]
pub struct Tally {
    /// Server-populated field → how many objects carried it.
    pub fields: BTreeMap<String, usize>,
    /// Objects that carried at least one.
    pub objects: usize,
    /// Skipped kind → how many objects.
    pub skipped: BTreeMap<String, usize>,
}

impl Tally {
    /// Drops the server-populated fields of `raw` (and of a List's items) and removes the
    /// items of skipped kinds; `false` if `raw` itself is of a skipped kind.
    pub fn sift(&mut self, raw: &mut RawManifest) -> bool {
        if skipped_kind(raw.api_version.as_deref(), raw.kind.as_deref()) {
            let kind = raw.kind.clone().unwrap_or_default();
            *self.skipped.entry(kind).or_default() += 1;
            return false;
        }
        let mut found: BTreeSet<String> = BTreeSet::new();
        if let Some(meta) = raw.metadata.as_mut() {
            for f in meta.unmodelled() {
                if SERVER_METADATA.contains(&f) {
                    found.insert(format!("metadata.{f}"));
                }
            }
            for a in SERVER_ANNOTATIONS {
                if meta.annotations.remove(*a).is_some() {
                    found.insert(format!("metadata.annotations[{a}]"));
                }
            }
        }
        let node = raw.kind.as_deref() == Some("Node");
        if raw.status.is_some() && !node {
            found.insert("status".into());
        }
        if !found.is_empty() {
            self.objects += 1;
            for f in found {
                *self.fields.entry(f).or_default() += 1;
            }
        }
        if let Some(items) = raw.items.as_mut() {
            items.retain_mut(|i| self.sift(i));
        }
        true
    }

    /// Removes the objects of skipped kinds from a document that did not parse as a
    /// manifest (a custom resource's fields): the document itself, or items of a `List`.
    /// Whether anything was removed.
    pub fn sift_value(&mut self, v: &mut serde_yaml::Value) -> bool {
        let field =
            |v: &serde_yaml::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
        let (api, kind) = (field(v, "apiVersion"), field(v, "kind"));
        if skipped_kind(api.as_deref(), kind.as_deref()) {
            *self.skipped.entry(kind.unwrap_or_default()).or_default() += 1;
            *v = serde_yaml::Value::Null;
            return true;
        }
        let mut removed = false;
        if kind.as_deref() == Some("List") {
            if let Some(items) = v.get_mut("items").and_then(|i| i.as_sequence_mut()) {
                let before = items.len();
                items.retain_mut(|i| {
                    self.sift_value(i);
                    !i.is_null()
                });
                removed = items.len() != before;
            }
        }
        removed
    }

    /// The file's warnings: one for the server-populated fields, one per skipped kind.
    pub fn warn(self, file: &Path, warnings: &mut BTreeSet<String>) {
        let f = file.display();
        if self.objects > 0 {
            let list: Vec<String> = self
                .fields
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            warnings.insert(format!(
                "{f}: ignored the server-populated fields of {} object{} ({}); kubesim creates every object afresh (a Node's status.capacity/allocatable and a Pod's status.phase are read)",
                self.objects,
                plural(self.objects),
                list.join(", ")
            ));
        }
        for (kind, n) in self.skipped {
            warnings.insert(format!(
                "{f}: skipped {n} {kind} object{}: kubesim does not model {kind}",
                plural(n)
            ));
        }
    }
}

/// Labels that name a node's pool, by cloud (GKE, EKS, Karpenter, AKS), first found wins.
pub const POOL_LABELS: &[&str] = &[
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
];

/// The Nodes of a dump with their pool names, and its other objects.
pub type DumpedCluster = (Vec<(Node, String)>, Vec<Object>);

/// `cluster.fromDump`: the dump files' Nodes (with their pool, from [`POOL_LABELS`]) and every
/// other object. The images of a bound pod's containers are on its node already (a running
/// pod's image was pulled), so the pods of the dump start without pulling.
pub fn load_cluster(
    files: &[String],
    scenario: &Path,
    warnings: &mut BTreeSet<String>,
) -> Result<DumpedCluster, InputError> {
    let mut nodes: Vec<(Node, String)> = Vec::new();
    let mut rest = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let mut entry = RawManifest::default();
        entry.file = Some(f.clone());
        for obj in super::load_entry(entry, scenario, &format!("cluster.fromDump[{i}]"), warnings)?
        {
            match obj {
                Object::Node(n) => {
                    let pool = POOL_LABELS
                        .iter()
                        .find_map(|l| n.meta.labels.get(*l))
                        .cloned()
                        .unwrap_or_default();
                    nodes.push((n, pool));
                }
                other => rest.push(other),
            }
        }
    }
    for o in &rest {
        let Object::Pod(p) = o else { continue };
        let Some(node) = &p.spec.node_name else {
            continue;
        };
        let Some((n, _)) = nodes.iter_mut().find(|(n, _)| n.meta.name == *node) else {
            continue;
        };
        for c in p.spec.containers.iter().chain(&p.spec.init_containers) {
            if !n.status.images.iter().any(|im| im.names.contains(&c.image)) {
                n.status.images.push(ContainerImage {
                    names: vec![c.image.clone()],
                    size_bytes: 0,
                });
            }
        }
    }
    Ok((nodes, rest))
}

/// `kubesim validate`'s picture of the cluster it built: nodes per zone, then per node pool
/// the bound pods and their requests against the pool's allocatable.
pub fn cluster_summary(s: &ClusterSpec) -> Vec<String> {
    let mut zones: BTreeMap<String, usize> = BTreeMap::new();
    let first_late = s.nodes.len() - s.late_nodes.min(s.nodes.len());
    for n in &s.nodes[..first_late] {
        let z = zone_key_display(&n.zone_key());
        let z = if z.is_empty() {
            "(none)".to_string()
        } else {
            z
        };
        *zones.entry(z).or_default() += 1;
    }
    let zl: Vec<String> = zones.iter().map(|(z, n)| format!("{z}: {n}")).collect();
    let mut out = vec![format!("nodes per zone: {}", zl.join(", "))];
    // pool → (nodes, pods, requested, allocatable)
    let mut pools: BTreeMap<String, (usize, usize, Resources, Resources)> = BTreeMap::new();
    let pool_of = |m: usize| {
        let p = s.node_pools.get(m).map_or("", |p| p.as_str());
        if p.is_empty() {
            "none".to_string()
        } else {
            p.to_string()
        }
    };
    let mut machine: BTreeMap<&str, usize> = BTreeMap::new();
    for (m, n) in s.nodes[..first_late].iter().enumerate() {
        machine.insert(n.meta.name.as_str(), m);
        let e = pools.entry(pool_of(m)).or_default();
        e.0 += 1;
        e.3.add(&n.status.allocatable);
    }
    for w in &s.workloads {
        let Workload::Pod(p) = w else { continue };
        let Some(m) = p.spec.node_name.as_deref().and_then(|n| machine.get(n)) else {
            continue;
        };
        let e = pools.entry(pool_of(*m)).or_default();
        e.1 += 1;
        e.2.add(&p.spec.effective_request());
    }
    let pending = s
        .workloads
        .iter()
        .filter(|w| matches!(w, Workload::Pod(p) if p.spec.node_name.is_none()))
        .count();
    for (pool, (n, pods, req, alloc)) in pools {
        out.push(format!(
            "pool {pool}: {n} nodes, {pods} bound pods, cpu {}m of {}m, memory {}Mi of {}Mi requested",
            req.cpu_milli,
            alloc.cpu_milli,
            req.memory >> 20,
            alloc.memory >> 20
        ));
    }
    out.push(format!("pods to schedule: {pending}"));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelled_kinds_are_never_skipped_and_custom_resources_are() {
        assert!(!skipped_kind(Some("apps/v1"), Some("Deployment")));
        assert!(!skipped_kind(Some("apps/v2"), Some("Deployment")));
        assert!(skipped_kind(Some("v1"), Some("ConfigMap")));
        assert!(skipped_kind(
            Some("autoscaling/v2"),
            Some("HorizontalPodAutoscaler")
        ));
        assert!(skipped_kind(
            Some("monitoring.coreos.com/v1"),
            Some("ServiceMonitor")
        ));
        // A misspelt kind of a built-in group is an error (convert suggests the kind).
        assert!(!skipped_kind(Some("apps/v1"), Some("Deploymnet")));
        assert!(!skipped_kind(None, None));
    }
}
