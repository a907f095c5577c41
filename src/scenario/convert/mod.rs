//! Raw manifests → model objects, with Kubernetes' defaulting and the validation rules that
//! matter to a simulation: the [`Kind`] is parsed once (from `kind` and `apiVersion`), its
//! `spec` checked against the kind's allow-list (`fields`), then converted by the kind's
//! converter (`pod`, `apps`, `objects`, `super::batch`).
//!
//! Invariant: errors name the field path; a field a kind does not have is an error, and a
//! field it has but kubesim does not model is a warning.

mod apps;
mod fields;
mod objects;
mod pod;

use crate::scenario::names;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub(crate) use apps::label_selector;
pub(crate) use fields::{check as check_fields, JOB as JOB_FIELDS, POD as POD_FIELDS};
pub use pod::pod_spec;
pub(crate) use pod::{node_affinity, spread_constraints};

use super::error::InputError;
use super::manifest::*;
use super::values::QuantityValue;
use crate::model::*;

/// Where a manifest came from, for messages, plus the warnings collected so far.
pub struct Ctx<'a> {
    pub file: &'a Path,
    pub path: String,
    pub warnings: &'a mut BTreeSet<String>,
}

impl Ctx<'_> {
    pub(super) fn err(&self, field: &str, message: impl Into<String>) -> InputError {
        let p = if field.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{field}", self.path)
        };
        InputError::at_path(self.file, p, message)
    }
    /// One warning per unmodelled field per file; the server-populated metadata fields are
    /// left to the file's one summary (`scenario::dump`).
    pub(super) fn warn_unmodelled(&mut self, kind: &str, prefix: &str, fields: Vec<&'static str>) {
        for f in fields {
            if prefix.ends_with("metadata.") && crate::scenario::dump::SERVER_METADATA.contains(&f)
            {
                continue;
            }
            self.warnings.insert(format!(
                "{}: {kind} field `{prefix}{f}` is not modelled by kubesim; it is ignored",
                self.file.display()
            ));
        }
    }
}

pub enum Object {
    Node(Node),
    Pod(Pod),
    ReplicaSet(ReplicaSet),
    PriorityClass(PriorityClass),
    PodDisruptionBudget(PodDisruptionBudget),
    Service(Service),
    Namespace(Namespace),
    /// A ServiceAccount or a Secret.
    NamespacedObject(NamespacedObject),
    Deployment(Deployment),
    DaemonSet(DaemonSet),
    StatefulSet(StatefulSet),
    Job(Job),
    CronJob(CronJob),
}

/// A kind kubesim reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Node,
    Pod,
    ReplicaSet,
    ReplicationController,
    Deployment,
    DaemonSet,
    StatefulSet,
    Job,
    CronJob,
    PriorityClass,
    PodDisruptionBudget,
    Service,
    Namespace,
    ServiceAccount,
    Secret,
    List,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::Node,
        Kind::Pod,
        Kind::ReplicaSet,
        Kind::ReplicationController,
        Kind::Deployment,
        Kind::DaemonSet,
        Kind::StatefulSet,
        Kind::Job,
        Kind::CronJob,
        Kind::PriorityClass,
        Kind::PodDisruptionBudget,
        Kind::Service,
        Kind::Namespace,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::List,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::Deployment => "Deployment",
            Kind::DaemonSet => "DaemonSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::PriorityClass => "PriorityClass",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::Service => "Service",
            Kind::Namespace => "Namespace",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::List => "List",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The `apiVersion` the kind needs.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Node
            | Kind::Pod
            | Kind::List
            | Kind::ReplicationController
            | Kind::Service
            | Kind::Namespace
            | Kind::ServiceAccount
            | Kind::Secret => "v1",
            Kind::ReplicaSet | Kind::Deployment | Kind::DaemonSet | Kind::StatefulSet => "apps/v1",
            Kind::PriorityClass => "scheduling.k8s.io/v1",
            Kind::PodDisruptionBudget => "policy/v1",
            Kind::Job | Kind::CronJob => "batch/v1",
        }
    }
}

/// The kinds kubesim reads, by name (as [`Kind::ALL`]).
pub const KINDS: &[&str] = &[
    "Node",
    "Pod",
    "ReplicaSet",
    "ReplicationController",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "PriorityClass",
    "PodDisruptionBudget",
    "Service",
    "Namespace",
    "ServiceAccount",
    "Secret",
    "List",
];

/// The manifest's kind, checked against its `apiVersion`.
fn kind_of(raw: &RawManifest, ctx: &Ctx) -> Result<Kind, InputError> {
    let name = raw.kind.clone().ok_or_else(|| {
        ctx.err(
            "kind",
            "missing `kind` (Node, Pod, ReplicaSet, Deployment or List)",
        )
    })?;
    let Some(kind) = Kind::parse(&name) else {
        return Err(ctx
            .err(
                "kind",
                format!(
                    "unsupported kind `{name}` (kubesim reads Node, Pod, ReplicaSet, ReplicationController, Deployment, DaemonSet, StatefulSet, PriorityClass, Job, CronJob, PodDisruptionBudget, Service, Namespace, ServiceAccount, Secret and List)"
                ),
            )
            .suggest(&name, KINDS.iter().copied()));
    };
    let api_version = raw.api_version.clone().unwrap_or_default();
    let want_api = kind.api_version();
    if api_version != want_api {
        return Err(ctx.err(
            "apiVersion",
            format!("{name} needs apiVersion `{want_api}`, found `{api_version}`"),
        ));
    }
    Ok(kind)
}

/// Converts one manifest (a `List` expands to its items).
pub fn convert(mut raw: RawManifest, ctx: &mut Ctx) -> Result<Vec<Object>, InputError> {
    let kind = kind_of(&raw, ctx)?;
    let name = kind.as_str();
    if raw.file.is_some() {
        return Err(ctx.err("file", "`file` cannot be combined with an inline manifest"));
    }
    if kind == Kind::List {
        let items = raw
            .items
            .ok_or_else(|| ctx.err("items", "a List needs `items` (an empty list: `items: []`)"))?;
        let base = ctx.path.clone();
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            ctx.path = format!("{base}.items[{i}]");
            out.extend(convert(item, ctx)?);
        }
        ctx.path = base;
        return Ok(out);
    }
    if raw.items.is_some() {
        return Err(ctx.err("items", format!("`items` belongs to a List, not a {name}")));
    }
    let pc_fields =
        raw.value.is_some() || raw.global_default.is_some() || raw.preemption_policy.is_some();
    if kind != Kind::PriorityClass && pc_fields {
        return Err(ctx.err(
            "value",
            format!("`value`, `globalDefault` and `preemptionPolicy` belong to a PriorityClass, not a {name}"),
        ));
    }
    reject_top_level(&raw, name, ctx)?;
    let meta = raw.metadata.take().unwrap_or_default();
    ctx.warn_unmodelled(name, "metadata.", meta.unmodelled());
    let Some(allowed) = fields::spec_fields(kind) else {
        if raw.spec.is_some() {
            return Err(ctx.err("spec", format!("a {name} has no spec")));
        }
        let name = object_name(&meta, ctx)?;
        if kind == Kind::PriorityClass {
            return priority_class(&raw, name, ctx).map(|pc| vec![Object::PriorityClass(pc)]);
        }
        return Ok(vec![Object::NamespacedObject(NamespacedObject {
            kind: kind.as_str().to_string(),
            meta: object_meta(meta, name),
        })]);
    };
    let spec = raw.spec.take().unwrap_or_default();
    let status = raw.status.take().unwrap_or_default();
    fields::check(&spec, name, allowed, "spec.", ctx)?;
    convert_kind(kind, meta, spec, status, ctx)
}

/// The object of a kind with a spec, its fields already checked.
fn convert_kind(
    kind: Kind,
    meta: RawObjectMeta,
    spec: RawSpec,
    status: RawStatus,
    ctx: &mut Ctx,
) -> Result<Vec<Object>, InputError> {
    let one = |o: Object| vec![o];
    Ok(one(match kind {
        Kind::Service => Object::Service(objects::service(meta, spec, ctx)?),
        Kind::Namespace => Object::Namespace(objects::namespace(meta, spec, ctx)?),
        Kind::PodDisruptionBudget => {
            Object::PodDisruptionBudget(objects::pod_disruption_budget(meta, spec, ctx)?)
        }
        Kind::Node => Object::Node(objects::node(meta, spec, status, ctx)?),
        Kind::Pod => {
            let name = object_name(&meta, ctx)?;
            let mut pod = Pod {
                meta: object_meta(meta, name),
                ..Default::default()
            };
            pod.spec = pod_spec(spec, "Pod", "spec.", ctx)?;
            if let Some(phase) = status.phase.as_deref() {
                pod.status.phase = pod_phase(phase, ctx)?;
            }
            Object::Pod(pod)
        }
        Kind::ReplicaSet | Kind::ReplicationController => {
            Object::ReplicaSet(apps::replicaset(kind.as_str(), meta, spec, ctx)?)
        }
        Kind::Deployment => Object::Deployment(apps::deployment(meta, spec, ctx)?),
        Kind::DaemonSet => Object::DaemonSet(apps::daemonset(meta, spec, ctx)?),
        Kind::StatefulSet => Object::StatefulSet(apps::statefulset(meta, spec, ctx)?),
        Kind::Job => Object::Job(super::batch::job(meta, spec, ctx)?),
        Kind::CronJob => Object::CronJob(super::batch::cronjob(meta, spec, ctx)?),
        Kind::PriorityClass | Kind::ServiceAccount | Kind::Secret | Kind::List => {
            unreachable!("kinds without a spec are converted by `convert`")
        }
    }))
}

/// A `scheduling.k8s.io/v1` PriorityClass (top-level `value`, `globalDefault`,
/// `preemptionPolicy`).
fn priority_class(raw: &RawManifest, name: String, ctx: &Ctx) -> Result<PriorityClass, InputError> {
    let value = raw
        .value
        .ok_or_else(|| ctx.err("value", "a PriorityClass needs a value"))?;
    if value > 1_000_000_000 || value < i32::MIN as i64 {
        return Err(ctx.err(
            "value",
            "must be no greater than 1000000000 (larger values are reserved for system classes)",
        ));
    }
    let preemption_never = match raw.preemption_policy.as_deref() {
        None | Some("PreemptLowerPriority") => false,
        Some("Never") => true,
        Some(other) => {
            return Err(ctx
                .err("preemptionPolicy", format!("unsupported value {other:?}"))
                .suggest(other, ["PreemptLowerPriority", "Never"]))
        }
    };
    Ok(PriorityClass {
        name,
        value: value as i32,
        global_default: raw.global_default.unwrap_or(false),
        preemption_never,
    })
}

/// `status.phase` of a Pod manifest.
fn pod_phase(s: &str, ctx: &Ctx) -> Result<PodPhase, InputError> {
    const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
    match s {
        "Pending" => Ok(PodPhase::Pending),
        "Running" => Ok(PodPhase::Running),
        "Succeeded" => Ok(PodPhase::Succeeded),
        "Failed" => Ok(PodPhase::Failed),
        "Unknown" => Ok(PodPhase::Unknown),
        other => Err(ctx
            .err("status.phase", format!("unknown pod phase {other:?}"))
            .suggest(other, PHASES)),
    }
}

pub(super) fn object_name(meta: &RawObjectMeta, ctx: &Ctx) -> Result<String, InputError> {
    if let Some(ns) = meta.namespace.as_deref().filter(|n| !n.is_empty()) {
        names::dns1123_label(ns).map_err(|m| ctx.err("metadata.namespace", m))?;
    }
    names::labels(&meta.labels).map_err(|(k, m)| ctx.err(&format!("metadata.labels.{k}"), m))?;
    match (&meta.name, &meta.generate_name) {
        (Some(n), _) if !n.is_empty() => {
            validate_dns_name(n).map_err(|m| ctx.err("metadata.name", m))?;
            Ok(n.clone())
        }
        (_, Some(prefix)) if !prefix.is_empty() => {
            // The API server appends 5 random characters; ours come from a hash of where the
            // manifest was written, so the name is stable across runs and seeds.
            const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let mut h = crate::sim::trace::fnv1a64(
                format!("{}#{}", ctx.file.display(), ctx.path).as_bytes(),
            );
            let suffix: String = (0..5)
                .map(|_| {
                    let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
                    h /= ALPHABET.len() as u64;
                    c
                })
                .collect();
            let n = format!("{prefix}{suffix}");
            validate_dns_name(&n).map_err(|m| ctx.err("metadata.generateName", m))?;
            Ok(n)
        }
        _ => Err(ctx.err(
            "metadata.name",
            "missing metadata.name (or metadata.generateName)",
        )),
    }
}

/// RFC 1123 subdomain, as Kubernetes requires for most object names.
fn validate_dns_name(n: &str) -> Result<(), String> {
    let ok = n.len() <= 253
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid name {n:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"))
    }
}

pub(super) fn object_meta(meta: RawObjectMeta, name: String) -> ObjectMeta {
    ObjectMeta {
        name,
        namespace: meta
            .namespace
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
        labels: meta.labels,
        annotations: meta.annotations,
        ..Default::default()
    }
}

pub fn resources(
    map: &BTreeMap<String, QuantityValue>,
    ctx: &Ctx,
    field: &str,
    allow_negative: bool,
) -> Result<Resources, InputError> {
    let mut r = Resources::default();
    for (k, q) in map {
        let q = q.0;
        if q.is_negative() && !allow_negative {
            return Err(ctx.err(
                &format!("{field}.{k}"),
                format!("must be greater than or equal to 0, found {q}"),
            ));
        }
        match k.as_str() {
            "cpu" => r.cpu_milli = q.milli_value(),
            "memory" => r.memory = q.value(),
            "ephemeral-storage" => r.ephemeral_storage = q.value(),
            "pods" if q.milli_value() % 1000 != 0 => {
                return Err(ctx.err(
                    &format!("{field}.{k}"),
                    format!("must be a whole number of pods, found {q}"),
                ))
            }
            "pods" => r.pods = q.value(),
            other if other.contains('/') || other.starts_with("hugepages-") => {
                r.scalar.insert(other.to_string(), q.value());
            }
            other => {
                return Err(ctx
                    .err(&format!("{field}.{other}"), format!("unknown resource name `{other}` (standard resources are cpu, memory, ephemeral-storage, pods; extended resources look like example.com/gpu)"))
                    .suggest(other, ["cpu", "memory", "ephemeral-storage", "pods"]))
            }
        }
    }
    Ok(r)
}

fn taint(raw: &RawTaint, ctx: &mut Ctx, field: &str) -> Result<Taint, InputError> {
    ctx.warn_unmodelled("Node", "spec.taints[].", raw.unmodelled());
    let key = raw
        .key
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ctx.err(&format!("{field}.key"), "a taint needs a key"))?;
    let effect =
        effect(raw.effect.as_deref(), ctx, &format!("{field}.effect"))?.ok_or_else(|| {
            ctx.err(
                &format!("{field}.effect"),
                "a taint needs an effect (NoSchedule, PreferNoSchedule or NoExecute)",
            )
        })?;
    Ok(Taint {
        key,
        value: raw.value.clone().unwrap_or_default(),
        effect,
        time_added: None,
    })
}

pub fn taints(list: &[RawTaint], ctx: &mut Ctx, field: &str) -> Result<Vec<Taint>, InputError> {
    list.iter()
        .enumerate()
        .map(|(i, t)| taint(t, ctx, &format!("{field}[{i}]")))
        .collect()
}

fn effect(s: Option<&str>, ctx: &Ctx, field: &str) -> Result<Option<TaintEffect>, InputError> {
    match s.unwrap_or("") {
        "" => Ok(None),
        "NoSchedule" => Ok(Some(TaintEffect::NoSchedule)),
        "PreferNoSchedule" => Ok(Some(TaintEffect::PreferNoSchedule)),
        "NoExecute" => Ok(Some(TaintEffect::NoExecute)),
        other => Err(ctx
            .err(field, format!("unsupported taint effect {other:?}"))
            .suggest(other, ["NoSchedule", "PreferNoSchedule", "NoExecute"])),
    }
}

/// Top-level fields of a Secret or ServiceAccount are accepted (they change nothing in a
/// simulation); on any other kind they are errors.
fn reject_top_level(raw: &RawManifest, kind: &str, ctx: &Ctx) -> Result<(), InputError> {
    let secret = [
        ("data", raw.data.is_some()),
        ("stringData", raw.string_data.is_some()),
        ("type", raw.secret_type.is_some()),
        ("immutable", raw.immutable.is_some()),
    ];
    let sa = [
        ("secrets", raw.secrets.is_some()),
        ("imagePullSecrets", raw.image_pull_secrets.is_some()),
        (
            "automountServiceAccountToken",
            raw.automount_service_account_token.is_some(),
        ),
    ];
    for (owner, fields) in [("Secret", &secret[..]), ("ServiceAccount", &sa[..])] {
        if kind == owner {
            continue;
        }
        if let Some((f, _)) = fields.iter().find(|(_, set)| *set) {
            return Err(ctx.err(f, format!("`{f}` belongs to a {owner}, not a {kind}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_every_kind_once() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, KINDS);
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
    }
}
