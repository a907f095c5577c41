//! Raw manifests → model objects, with Kubernetes' defaulting and the validation rules that
//! matter to a simulation. Errors name the field path; unmodelled fields become warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
    pub(super) fn warn_unmodelled(&mut self, kind: &str, prefix: &str, fields: Vec<&'static str>) {
        for f in fields {
            self.warnings.insert(format!(
                "{kind} field `{prefix}{f}` is not modelled by kubesim; it is ignored"
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

/// Converts one manifest (a `List` expands to its items).
pub fn convert(raw: RawManifest, ctx: &mut Ctx) -> Result<Vec<Object>, InputError> {
    let kind = raw.kind.clone().ok_or_else(|| {
        ctx.err(
            "kind",
            "missing `kind` (Node, Pod, ReplicaSet, Deployment or List)",
        )
    })?;
    let api_version = raw.api_version.clone().unwrap_or_default();
    let want_api = match kind.as_str() {
        "Node" | "Pod" | "List" | "ReplicationController" | "Service" | "Namespace"
        | "ServiceAccount" | "Secret" => "v1",
        "ReplicaSet" | "Deployment" | "DaemonSet" | "StatefulSet" => "apps/v1",
        "PriorityClass" => "scheduling.k8s.io/v1",
        "PodDisruptionBudget" => "policy/v1",
        "Job" | "CronJob" => "batch/v1",
        other => {
            return Err(ctx
                .err(
                    "kind",
                    format!(
                        "unsupported kind `{other}` (kubesim reads Node, Pod, ReplicaSet, ReplicationController, Deployment, DaemonSet, StatefulSet, PriorityClass, Job, CronJob, PodDisruptionBudget, Service, Namespace, ServiceAccount, Secret and List)"
                    ),
                )
                .suggest(other, KINDS.iter().copied()))
        }
    };
    if api_version != want_api {
        return Err(ctx.err(
            "apiVersion",
            format!("{kind} needs apiVersion `{want_api}`, found `{api_version}`"),
        ));
    }
    if raw.file.is_some() {
        return Err(ctx.err("file", "`file` cannot be combined with an inline manifest"));
    }
    if kind == "List" {
        let items = raw.items.unwrap_or_default();
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
        return Err(ctx.err("items", format!("`items` belongs to a List, not a {kind}")));
    }
    let pc_fields =
        raw.value.is_some() || raw.global_default.is_some() || raw.preemption_policy.is_some();
    if kind != "PriorityClass" && pc_fields {
        return Err(ctx.err(
            "value",
            format!("`value`, `globalDefault` and `preemptionPolicy` belong to a PriorityClass, not a {kind}"),
        ));
    }
    reject_top_level(&raw, &kind, ctx)?;
    let meta = raw.metadata.unwrap_or_default();
    ctx.warn_unmodelled(&kind, "metadata.", meta.unmodelled());
    if matches!(kind.as_str(), "ServiceAccount" | "Secret") {
        if raw.spec.is_some() {
            return Err(ctx.err("spec", format!("a {kind} has no spec")));
        }
        let name = object_name(&meta, ctx)?;
        return Ok(vec![Object::NamespacedObject(NamespacedObject {
            kind: kind.clone(),
            meta: object_meta(meta, name),
        })]);
    }
    if kind == "PriorityClass" {
        if raw.spec.is_some() {
            return Err(ctx.err("spec", "a PriorityClass has no spec"));
        }
        let name = object_name(&meta, ctx)?;
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
        return Ok(vec![Object::PriorityClass(PriorityClass {
            name,
            value: value as i32,
            global_default: raw.global_default.unwrap_or(false),
            preemption_never,
        })]);
    }
    let spec = raw.spec.unwrap_or_default();
    let status = raw.status.unwrap_or_default();
    ctx.warn_unmodelled(&kind, "status.", status.unmodelled());
    if kind != "PodDisruptionBudget" {
        reject_foreign(&spec, &kind, ctx, PDB_ONLY_FIELDS)?;
    }
    if kind != "Service" {
        reject_foreign(&spec, &kind, ctx, SERVICE_ONLY_FIELDS)?;
    }
    match kind.as_str() {
        "Service" => service(meta, spec, ctx).map(|s| vec![Object::Service(s)]),
        "Namespace" => namespace(meta, spec, ctx).map(|n| vec![Object::Namespace(n)]),
        "PodDisruptionBudget" => {
            pod_disruption_budget(meta, spec, ctx).map(|b| vec![Object::PodDisruptionBudget(b)])
        }
        "Node" => node(meta, spec, status, ctx).map(|n| vec![Object::Node(n)]),
        "Pod" => {
            reject_foreign(&spec, &kind, ctx, NOT_POD_SPEC_FIELDS)?;
            reject_foreign(&spec, &kind, ctx, BATCH_FIELDS)?;
            let name = object_name(&meta, ctx)?;
            let mut pod = Pod {
                meta: object_meta(meta, name),
                ..Default::default()
            };
            pod.spec = pod_spec(spec, &kind, "spec.", ctx)?;
            if let Some(phase) = status.phase.as_deref() {
                pod.status.phase = pod_phase(phase, ctx)?;
            }
            Ok(vec![Object::Pod(pod)])
        }
        "ReplicaSet" | "ReplicationController" => {
            replicaset(&kind, meta, spec, ctx).map(|r| vec![Object::ReplicaSet(r)])
        }
        "Deployment" => deployment(meta, spec, ctx).map(|d| vec![Object::Deployment(d)]),
        "DaemonSet" => daemonset(meta, spec, ctx).map(|d| vec![Object::DaemonSet(d)]),
        "StatefulSet" => statefulset(meta, spec, ctx).map(|d| vec![Object::StatefulSet(d)]),
        "Job" => super::batch::job(meta, spec, ctx).map(|j| vec![Object::Job(j)]),
        "CronJob" => super::batch::cronjob(meta, spec, ctx).map(|c| vec![Object::CronJob(c)]),
        _ => unreachable!(),
    }
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

pub(super) fn reject_foreign(
    spec: &RawSpec,
    kind: &str,
    ctx: &Ctx,
    fields: &[&str],
) -> Result<(), InputError> {
    let set = |f: &str| match f {
        "replicas" => spec.replicas.is_some(),
        "selector" => spec.selector.is_some(),
        "template" => spec.template.is_some(),
        "taints" => spec.taints.is_some(),
        "unschedulable" => spec.unschedulable.is_some(),
        "containers" => spec.containers.is_some(),
        "initContainers" => spec.init_containers.is_some(),
        "nodeName" => spec.node_name.is_some(),
        "nodeSelector" => spec.node_selector.is_some(),
        "tolerations" => spec.tolerations.is_some(),
        "priority" => spec.priority.is_some(),
        "priorityClassName" => spec.priority_class_name.is_some(),
        "restartPolicy" => spec.restart_policy.is_some(),
        "terminationGracePeriodSeconds" => spec.termination_grace_period_seconds.is_some(),
        "overhead" => spec.overhead.is_some(),
        "schedulerName" => spec.scheduler_name.is_some(),
        "affinity" => spec.affinity.is_some(),
        "topologySpreadConstraints" => spec.topology_spread_constraints.is_some(),
        "preemptionPolicy" => spec.preemption_policy.is_some(),
        "imagePullSecrets" => spec.image_pull_secrets.is_some(),
        "activeDeadlineSeconds" => spec.active_deadline_seconds.is_some(),
        "minReadySeconds" => spec.min_ready_seconds.is_some(),
        "strategy" => spec.strategy.is_some(),
        "revisionHistoryLimit" => spec.revision_history_limit.is_some(),
        "progressDeadlineSeconds" => spec.progress_deadline_seconds.is_some(),
        "paused" => spec.paused.is_some(),
        "serviceName" => spec.service_name.is_some(),
        "podManagementPolicy" => spec.pod_management_policy.is_some(),
        "updateStrategy" => spec.update_strategy.is_some(),
        "minAvailable" => spec.min_available.is_some(),
        "maxUnavailable" => spec.max_unavailable.is_some(),
        "unhealthyPodEvictionPolicy" => spec.unhealthy_pod_eviction_policy.is_some(),
        "ports" => spec.ports.is_some(),
        "type" => spec.service_type.is_some(),
        "publishNotReadyAddresses" => spec.publish_not_ready_addresses.is_some(),
        "completions" => spec.completions.is_some(),
        "parallelism" => spec.parallelism.is_some(),
        "backoffLimit" => spec.backoff_limit.is_some(),
        "completionMode" => spec.completion_mode.is_some(),
        "ttlSecondsAfterFinished" => spec.ttl_seconds_after_finished.is_some(),
        "suspend" => spec.suspend.is_some(),
        "manualSelector" => spec.manual_selector.is_some(),
        "podFailurePolicy" => spec.pod_failure_policy.is_some(),
        "podReplacementPolicy" => spec.pod_replacement_policy.is_some(),
        "schedule" => spec.schedule.is_some(),
        "timeZone" => spec.time_zone.is_some(),
        "startingDeadlineSeconds" => spec.starting_deadline_seconds.is_some(),
        "concurrencyPolicy" => spec.concurrency_policy.is_some(),
        "successfulJobsHistoryLimit" => spec.successful_jobs_history_limit.is_some(),
        "failedJobsHistoryLimit" => spec.failed_jobs_history_limit.is_some(),
        "jobTemplate" => spec.job_template.is_some(),
        _ => false,
    };
    for f in fields {
        if set(f) {
            return Err(ctx.err(
                &format!("spec.{f}"),
                format!("`{f}` is not a field of a {kind} spec"),
            ));
        }
    }
    Ok(())
}

/// Fields of the spec union that a Pod spec does not have.
pub(super) const NOT_POD_SPEC_FIELDS: &[&str] = &[
    "minAvailable",
    "maxUnavailable",
    "unhealthyPodEvictionPolicy",
    "ports",
    "type",
    "publishNotReadyAddresses",
    "replicas",
    "selector",
    "template",
    "taints",
    "unschedulable",
    "minReadySeconds",
    "strategy",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
];

/// Fields of Job and CronJob specs, foreign to every other kind.
pub(super) const BATCH_FIELDS: &[&str] = &[
    "completions",
    "parallelism",
    "backoffLimit",
    "completionMode",
    "ttlSecondsAfterFinished",
    "suspend",
    "manualSelector",
    "podFailurePolicy",
    "podReplacementPolicy",
    "schedule",
    "timeZone",
    "startingDeadlineSeconds",
    "concurrencyPolicy",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "jobTemplate",
];

/// Fields of a Deployment spec that a ReplicaSet spec does not have.
const DEPLOYMENT_ONLY_FIELDS: &[&str] = &[
    "strategy",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
];

const POD_SPEC_FIELDS: &[&str] = &[
    "containers",
    "initContainers",
    "nodeName",
    "nodeSelector",
    "tolerations",
    "priority",
    "priorityClassName",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "overhead",
    "schedulerName",
    "affinity",
    "topologySpreadConstraints",
    "preemptionPolicy",
    "imagePullSecrets",
    "activeDeadlineSeconds",
];

pub(super) fn object_name(meta: &RawObjectMeta, ctx: &Ctx) -> Result<String, InputError> {
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

fn node(
    meta: RawObjectMeta,
    spec: RawSpec,
    status: RawStatus,
    ctx: &mut Ctx,
) -> Result<Node, InputError> {
    reject_foreign(&spec, "Node", ctx, &["replicas", "selector", "template"])?;
    reject_foreign(&spec, "Node", ctx, &["minReadySeconds"])?;
    reject_foreign(&spec, "Node", ctx, DEPLOYMENT_ONLY_FIELDS)?;
    reject_foreign(&spec, "Node", ctx, POD_SPEC_FIELDS)?;
    ctx.warn_unmodelled("Node", "spec.", spec.unmodelled());
    if status.phase.is_some() {
        ctx.warn_unmodelled("Node", "status.", vec!["phase"]);
    }
    let name = object_name(&meta, ctx)?;
    let capacity = status.capacity.as_ref().ok_or_else(|| {
        ctx.err(
            "status.capacity",
            "a Node needs status.capacity (at least cpu and memory) so kubesim knows its size",
        )
    })?;
    let mut capacity = resources(capacity, ctx, "status.capacity", false)?;
    if capacity.pods == 0 {
        capacity.pods = 110; // the kubelet's default maxPods
    }
    let allocatable = match &status.allocatable {
        Some(a) => {
            let mut a = resources(a, ctx, "status.allocatable", false)?;
            if a.pods == 0 {
                a.pods = capacity.pods;
            }
            a
        }
        None => capacity.clone(),
    };
    let mut meta = object_meta(meta, name.clone());
    meta.namespace = String::new();
    meta.labels.entry(LABEL_HOSTNAME.into()).or_insert(name);
    Ok(Node {
        meta,
        spec: NodeSpec {
            unschedulable: spec.unschedulable.unwrap_or(false),
            taints: taints(spec.taints.as_deref().unwrap_or(&[]), ctx, "spec.taints")?,
        },
        status: NodeStatus {
            capacity,
            allocatable,
            conditions: Vec::new(),
            images: status
                .images
                .iter()
                .flatten()
                .map(|i| ContainerImage {
                    names: i.names.clone(),
                    size_bytes: i.size_bytes.unwrap_or(0),
                })
                .collect(),
        },
    })
}

fn containers(
    list: &[RawContainer],
    kind: &str,
    field: &str,
    ctx: &mut Ctx,
) -> Result<Vec<Container>, InputError> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let f = format!("{field}[{i}]");
        ctx.warn_unmodelled(kind, &format!("{field}[]."), c.unmodelled());
        let name = c
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ctx.err(&format!("{f}.name"), "a container needs a name"))?;
        if !names.insert(name.clone()) {
            return Err(ctx.err(
                &format!("{f}.name"),
                format!("duplicate container name {name:?}"),
            ));
        }
        let image = c
            .image
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ctx.err(&format!("{f}.image"), "a container needs an image"))?;
        let res = c.resources.as_ref();
        if let Some(r) = res {
            ctx.warn_unmodelled(kind, &format!("{field}[].resources."), r.unmodelled());
        }
        let empty = BTreeMap::new();
        let req_map = res.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
        let lim_map = res.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
        let limits = resources(lim_map, ctx, &format!("{f}.resources.limits"), false)?;
        let mut requests = resources(req_map, ctx, &format!("{f}.resources.requests"), false)?;
        // Kubernetes defaults a missing request to the limit.
        let mut has_cpu = req_map.contains_key("cpu");
        let mut has_mem = req_map.contains_key("memory");
        if !has_cpu && lim_map.contains_key("cpu") {
            requests.cpu_milli = limits.cpu_milli;
            has_cpu = true;
        }
        if !has_mem && lim_map.contains_key("memory") {
            requests.memory = limits.memory;
            has_mem = true;
        }
        out.push(Container {
            name,
            requests,
            has_cpu_request: has_cpu,
            has_memory_request: has_mem,
            limits,
            ports: container_ports(c.ports.as_deref().unwrap_or(&[]), ctx, &f)?,
            image_pull_policy: match c.image_pull_policy.as_deref() {
                None | Some("") => PullPolicy::default_for(&image),
                Some("Always") => PullPolicy::Always,
                Some("IfNotPresent") => PullPolicy::IfNotPresent,
                Some("Never") => PullPolicy::Never,
                Some(other) => {
                    return Err(ctx
                        .err(
                            &format!("{f}.imagePullPolicy"),
                            format!("unsupported value {other:?}"),
                        )
                        .suggest(other, ["Always", "IfNotPresent", "Never"]))
                }
            },
            image,
            probes: Probes {
                startup: probe(c.startup_probe.as_ref(), ctx, &format!("{f}.startupProbe"))?,
                readiness: probe(
                    c.readiness_probe.as_ref(),
                    ctx,
                    &format!("{f}.readinessProbe"),
                )?,
                liveness: probe(
                    c.liveness_probe.as_ref(),
                    ctx,
                    &format!("{f}.livenessProbe"),
                )?,
            },
            restart_policy: match c.restart_policy.as_deref() {
                None => None,
                Some("Always") => Some(RestartPolicy::Always),
                Some(other) => {
                    return Err(ctx
                        .err(
                            &format!("{f}.restartPolicy"),
                            format!(
                                "unsupported value {other:?}: a container's restartPolicy may \
                                 only be \"Always\" (a sidecar init container)"
                            ),
                        )
                        .suggest(other, ["Always"]))
                }
            },
            pre_stop: pre_stop(c.lifecycle.as_ref(), ctx, &format!("{f}.lifecycle.preStop"))?,
        });
    }
    Ok(out)
}

/// `v1.Probe` with the API defaults (pkg/apis/core/v1/defaults.go `SetDefaults_Probe`) and
/// validation (`validateProbe`: non-negative; thresholds and period at least 1).
fn probe(raw: Option<&RawProbe>, ctx: &Ctx, field: &str) -> Result<Option<Probe>, InputError> {
    let Some(p) = raw else {
        return Ok(None);
    };
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
        p.grpc.is_some(),
    ];
    if handlers.iter().filter(|h| **h).count() != 1 {
        return Err(ctx.err(
            field,
            "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc",
        ));
    }
    let d = Probe::default();
    let field_of = |name: &str| format!("{field}.{name}");
    let at_least = |v: Option<i64>, name: &str, min: i64, def: u64| -> Result<u64, InputError> {
        match v {
            None | Some(0) if min > 0 => Ok(def),
            None => Ok(def),
            Some(x) if x < min => Err(ctx.err(
                &field_of(name),
                format!("must be greater than or equal to {min}"),
            )),
            Some(x) => Ok(x as u64),
        }
    };
    let grace = match p.termination_grace_period_seconds {
        None => None,
        Some(x) if x < 1 => {
            return Err(ctx.err(
                &field_of("terminationGracePeriodSeconds"),
                "must be greater than 0",
            ))
        }
        Some(x) => Some(x as u64),
    };
    Ok(Some(Probe {
        initial_delay_seconds: at_least(p.initial_delay_seconds, "initialDelaySeconds", 0, 0)?,
        period_seconds: at_least(p.period_seconds, "periodSeconds", 1, d.period_seconds)?,
        timeout_seconds: at_least(p.timeout_seconds, "timeoutSeconds", 1, d.timeout_seconds)?,
        success_threshold: at_least(
            p.success_threshold,
            "successThreshold",
            1,
            d.success_threshold as u64,
        )? as u32,
        failure_threshold: at_least(
            p.failure_threshold,
            "failureThreshold",
            1,
            d.failure_threshold as u64,
        )? as u32,
        termination_grace_period_seconds: grace,
    }))
}

fn pre_stop(
    raw: Option<&RawLifecycle>,
    ctx: &Ctx,
    field: &str,
) -> Result<Option<PreStopHook>, InputError> {
    let Some(h) = raw.and_then(|l| l.pre_stop.as_ref()) else {
        return Ok(None);
    };
    if let Some(sleep) = &h.sleep {
        return match sleep.seconds {
            Some(s) if s >= 0 => Ok(Some(PreStopHook::Sleep { seconds: s as u64 })),
            _ => Err(ctx.err(
                &format!("{field}.sleep.seconds"),
                "must be a non-negative number of seconds",
            )),
        };
    }
    if h.exec.is_some() || h.http_get.is_some() || h.tcp_socket.is_some() {
        return Ok(Some(PreStopHook::Handler));
    }
    Err(ctx.err(
        field,
        "a preStop hook needs one handler: exec, httpGet, sleep or tcpSocket",
    ))
}

pub fn pod_spec(
    spec: RawSpec,
    kind: &str,
    prefix: &str,
    ctx: &mut Ctx,
) -> Result<PodSpec, InputError> {
    ctx.warn_unmodelled(kind, prefix, spec.unmodelled());
    let f = |x: &str| format!("{prefix}{x}");
    let conts = spec.containers.as_deref().unwrap_or(&[]);
    if conts.is_empty() {
        return Err(ctx.err(&f("containers"), "a pod needs at least one container"));
    }
    let containers_ = containers(conts, kind, &f("containers"), ctx)?;
    let init = containers(
        spec.init_containers.as_deref().unwrap_or(&[]),
        kind,
        &f("initContainers"),
        ctx,
    )?;
    let restart_policy = match spec.restart_policy.as_deref().unwrap_or("Always") {
        "Always" => RestartPolicy::Always,
        "OnFailure" => RestartPolicy::OnFailure,
        "Never" => RestartPolicy::Never,
        other => {
            return Err(ctx
                .err(&f("restartPolicy"), format!("unsupported value {other:?}"))
                .suggest(other, ["Always", "OnFailure", "Never"]))
        }
    };
    let grace = spec.termination_grace_period_seconds.unwrap_or(30);
    if grace < 0 {
        return Err(ctx.err(
            &f("terminationGracePeriodSeconds"),
            "must be greater than or equal to 0",
        ));
    }
    let mut tolerations = Vec::new();
    for (i, t) in spec
        .tolerations
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let tf = f(&format!("tolerations[{i}]"));
        let operator = match t.operator.as_deref().unwrap_or("Equal") {
            "Equal" | "" => TolerationOperator::Equal,
            "Exists" => TolerationOperator::Exists,
            other => {
                return Err(ctx
                    .err(
                        &format!("{tf}.operator"),
                        format!("unsupported value {other:?}"),
                    )
                    .suggest(other, ["Equal", "Exists"]))
            }
        };
        let key = t.key.clone().unwrap_or_default();
        let value = t.value.clone().unwrap_or_default();
        if operator == TolerationOperator::Exists && !value.is_empty() {
            return Err(ctx.err(
                &format!("{tf}.value"),
                "value must be empty when `operator` is 'Exists'",
            ));
        }
        if key.is_empty() && operator != TolerationOperator::Exists {
            return Err(ctx.err(&format!("{tf}.operator"), "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
        }
        let eff = effect(t.effect.as_deref(), ctx, &format!("{tf}.effect"))?;
        if t.toleration_seconds.is_some() && eff != Some(TaintEffect::NoExecute) {
            return Err(ctx.err(
                &format!("{tf}.effect"),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        tolerations.push(Toleration {
            key,
            operator,
            value,
            effect: eff,
            toleration_seconds: t.toleration_seconds,
        });
    }
    let overhead = match &spec.overhead {
        Some(o) => resources(o, ctx, &f("overhead"), false)?,
        None => Resources::default(),
    };
    Ok(PodSpec {
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        tolerations,
        priority: spec.priority.unwrap_or(0),
        priority_class_name: spec.priority_class_name.clone().unwrap_or_default(),
        restart_policy,
        termination_grace_period_seconds: grace as u64,
        containers: containers_,
        init_containers: init,
        overhead,
        scheduler_name: spec
            .scheduler_name
            .clone()
            .unwrap_or_else(|| "default-scheduler".into()),
        affinity: match &spec.affinity {
            Some(a) => Some(affinity(a, ctx, &f("affinity"))?),
            None => None,
        },
        topology_spread_constraints: spread_constraints(
            spec.topology_spread_constraints.as_deref().unwrap_or(&[]),
            ctx,
            &f("topologySpreadConstraints"),
        )?,
        image_pull_secrets: spec
            .image_pull_secrets
            .iter()
            .flatten()
            .filter_map(|r| r.name.clone())
            .collect(),
        active_deadline_seconds: match spec.active_deadline_seconds {
            None => None,
            Some(x) if x < 1 => {
                return Err(ctx.err(&f("activeDeadlineSeconds"), "must be greater than 0"))
            }
            Some(x) => Some(x as u64),
        },
        preemption_never: match spec.preemption_policy.as_deref() {
            None | Some("PreemptLowerPriority") => false,
            Some("Never") => true,
            Some(other) => {
                return Err(ctx
                    .err(
                        &f("preemptionPolicy"),
                        format!("unsupported value {other:?}"),
                    )
                    .suggest(other, ["PreemptLowerPriority", "Never"]))
            }
        },
    })
}

fn container_ports(
    raw: &[RawContainerPort],
    ctx: &Ctx,
    field: &str,
) -> Result<Vec<ContainerPort>, InputError> {
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let pf = format!("{field}.ports[{i}]");
        let port_ok = |v: i32| (1..=65535).contains(&v);
        let container_port = p.container_port.unwrap_or(0);
        if !port_ok(container_port) {
            return Err(ctx.err(
                &format!("{pf}.containerPort"),
                "must be between 1 and 65535, inclusive",
            ));
        }
        let host_port = p.host_port.unwrap_or(0);
        if host_port != 0 && !port_ok(host_port) {
            return Err(ctx.err(
                &format!("{pf}.hostPort"),
                "must be between 1 and 65535, inclusive",
            ));
        }
        let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".into());
        if !["TCP", "UDP", "SCTP"].contains(&protocol.as_str()) {
            return Err(ctx
                .err(
                    &format!("{pf}.protocol"),
                    format!("unsupported value {protocol:?}"),
                )
                .suggest(&protocol, ["TCP", "UDP", "SCTP"]));
        }
        out.push(ContainerPort {
            container_port,
            host_port,
            protocol,
            host_ip: p.host_ip.clone().unwrap_or_default(),
        });
    }
    Ok(out)
}

fn node_selector_term(
    raw: &RawNodeSelectorTerm,
    ctx: &Ctx,
    field: &str,
) -> Result<NodeSelectorTerm, InputError> {
    let reqs = |list: &[RawSelectorRequirement], sub: &str| {
        let mut out = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let rf = format!("{field}.{sub}[{i}]");
            let op = match r.operator.as_str() {
                "In" => NodeSelectorOperator::In,
                "NotIn" => NodeSelectorOperator::NotIn,
                "Exists" => NodeSelectorOperator::Exists,
                "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
                "Gt" => NodeSelectorOperator::Gt,
                "Lt" => NodeSelectorOperator::Lt,
                other => {
                    return Err(ctx
                        .err(
                            &format!("{rf}.operator"),
                            format!("{other:?} is not a valid node selector operator"),
                        )
                        .suggest(other, ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
                }
            };
            let values: Vec<String> = r.values.iter().map(|v| v.0.clone()).collect();
            let ok = match op {
                NodeSelectorOperator::In | NodeSelectorOperator::NotIn => !values.is_empty(),
                NodeSelectorOperator::Exists | NodeSelectorOperator::DoesNotExist => {
                    values.is_empty()
                }
                NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                    values.len() == 1 && values[0].parse::<i64>().is_ok()
                }
            };
            if !ok {
                return Err(ctx.err(
                    &format!("{rf}.values"),
                    format!(
                        "wrong number or form of values for operator {:?} (In/NotIn need at least one, Exists/DoesNotExist none, Gt/Lt one integer)",
                        r.operator
                    ),
                ));
            }
            out.push(NodeSelectorRequirement {
                key: r.key.clone(),
                operator: op,
                values,
            });
        }
        Ok(out)
    };
    let match_fields = reqs(&raw.match_fields, "matchFields")?;
    if let Some(bad) = match_fields.iter().find(|r| r.key != "metadata.name") {
        return Err(ctx.err(
            &format!("{field}.matchFields"),
            format!(
                "{:?} is not a supported field selector (only metadata.name)",
                bad.key
            ),
        ));
    }
    Ok(NodeSelectorTerm {
        match_expressions: reqs(&raw.match_expressions, "matchExpressions")?,
        match_fields,
    })
}

fn pod_affinity_term(
    raw: &RawPodAffinityTerm,
    ctx: &Ctx,
    field: &str,
) -> Result<PodAffinityTerm, InputError> {
    if raw.topology_key.is_empty() {
        return Err(ctx.err(&format!("{field}.topologyKey"), "can not be empty"));
    }
    Ok(PodAffinityTerm {
        label_selector: match &raw.label_selector {
            Some(s) => Some(label_selector(s, ctx, &format!("{field}.labelSelector"))?),
            None => None,
        },
        namespaces: raw.namespaces.clone(),
        namespace_selector: match &raw.namespace_selector {
            Some(s) => Some(label_selector(
                s,
                ctx,
                &format!("{field}.namespaceSelector"),
            )?),
            None => None,
        },
        topology_key: raw.topology_key.clone(),
    })
}

fn pod_affinity(raw: &RawPodAffinity, ctx: &Ctx, field: &str) -> Result<PodAffinity, InputError> {
    let mut out = PodAffinity::default();
    let req_f = format!("{field}.requiredDuringSchedulingIgnoredDuringExecution");
    for (i, t) in raw
        .required_during_scheduling_ignored_during_execution
        .iter()
        .enumerate()
    {
        out.required
            .push(pod_affinity_term(t, ctx, &format!("{req_f}[{i}]"))?);
    }
    let pref_f = format!("{field}.preferredDuringSchedulingIgnoredDuringExecution");
    for (i, t) in raw
        .preferred_during_scheduling_ignored_during_execution
        .iter()
        .enumerate()
    {
        if !(1..=100).contains(&t.weight) {
            return Err(ctx.err(
                &format!("{pref_f}[{i}].weight"),
                "must be in the range 1-100",
            ));
        }
        out.preferred.push(WeightedPodAffinityTerm {
            weight: t.weight,
            term: pod_affinity_term(
                &t.pod_affinity_term,
                ctx,
                &format!("{pref_f}[{i}].podAffinityTerm"),
            )?,
        });
    }
    Ok(out)
}

/// A `v1.NodeAffinity` (a pod's, or `NodeAffinityArgs.addedAffinity`) at `nf`.
pub(super) fn node_affinity(
    na: &RawNodeAffinity,
    ctx: &Ctx,
    nf: &str,
) -> Result<NodeAffinity, InputError> {
    let required = match &na.required_during_scheduling_ignored_during_execution {
        None => None,
        Some(sel) => {
            let mut terms = Vec::new();
            for (i, t) in sel.node_selector_terms.iter().enumerate() {
                terms.push(node_selector_term(
                    t,
                    ctx,
                    &format!("{nf}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"),
                )?);
            }
            Some(terms)
        }
    };
    let mut preferred = Vec::new();
    for (i, t) in na
        .preferred_during_scheduling_ignored_during_execution
        .iter()
        .enumerate()
    {
        let pf = format!("{nf}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
        if !(1..=100).contains(&t.weight) {
            return Err(ctx.err(&format!("{pf}.weight"), "must be in the range 1-100"));
        }
        preferred.push(PreferredSchedulingTerm {
            weight: t.weight,
            preference: node_selector_term(&t.preference, ctx, &format!("{pf}.preference"))?,
        });
    }
    Ok(NodeAffinity {
        required,
        preferred,
    })
}

fn affinity(raw: &RawAffinity, ctx: &Ctx, field: &str) -> Result<Affinity, InputError> {
    let node_affinity = match &raw.node_affinity {
        None => None,
        Some(na) => Some(node_affinity(na, ctx, &format!("{field}.nodeAffinity"))?),
    };
    Ok(Affinity {
        node_affinity,
        pod_affinity: match &raw.pod_affinity {
            Some(a) => Some(pod_affinity(a, ctx, &format!("{field}.podAffinity"))?),
            None => None,
        },
        pod_anti_affinity: match &raw.pod_anti_affinity {
            Some(a) => Some(pod_affinity(a, ctx, &format!("{field}.podAntiAffinity"))?),
            None => None,
        },
    })
}

pub(crate) fn spread_constraints(
    raw: &[RawTopologySpreadConstraint],
    ctx: &Ctx,
    field: &str,
) -> Result<Vec<TopologySpreadConstraint>, InputError> {
    let mut out = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let cf = format!("{field}[{i}]");
        let max_skew = c.max_skew.unwrap_or(0);
        if max_skew < 1 {
            return Err(ctx.err(&format!("{cf}.maxSkew"), "must be greater than zero"));
        }
        let topology_key = c.topology_key.clone().unwrap_or_default();
        if topology_key.is_empty() {
            return Err(ctx.err(&format!("{cf}.topologyKey"), "can not be empty"));
        }
        let when = match c.when_unsatisfiable.as_deref().unwrap_or("") {
            "DoNotSchedule" => WhenUnsatisfiable::DoNotSchedule,
            "ScheduleAnyway" => WhenUnsatisfiable::ScheduleAnyway,
            other => {
                return Err(ctx
                    .err(
                        &format!("{cf}.whenUnsatisfiable"),
                        format!("unsupported value {other:?}"),
                    )
                    .suggest(other, ["DoNotSchedule", "ScheduleAnyway"]))
            }
        };
        if let Some(md) = c.min_domains {
            if md < 1 {
                return Err(ctx.err(&format!("{cf}.minDomains"), "must be greater than zero"));
            }
            if when != WhenUnsatisfiable::DoNotSchedule {
                return Err(ctx.err(
                    &format!("{cf}.minDomains"),
                    "can only use minDomains if whenUnsatisfiable=DoNotSchedule",
                ));
            }
        }
        let policy = |v: &Option<String>, name: &str, default: bool| match v.as_deref() {
            None => Ok(default),
            Some("Honor") => Ok(true),
            Some("Ignore") => Ok(false),
            Some(other) => Err(ctx
                .err(
                    &format!("{cf}.{name}"),
                    format!("unsupported value {other:?}"),
                )
                .suggest(other, ["Honor", "Ignore"])),
        };
        out.push(TopologySpreadConstraint {
            max_skew,
            topology_key,
            when_unsatisfiable: when,
            label_selector: match &c.label_selector {
                Some(s) => Some(label_selector(s, ctx, &format!("{cf}.labelSelector"))?),
                None => None,
            },
            min_domains: c.min_domains,
            node_affinity_honor: policy(&c.node_affinity_policy, "nodeAffinityPolicy", true)?,
            node_taints_honor: policy(&c.node_taints_policy, "nodeTaintsPolicy", false)?,
            match_label_keys: c.match_label_keys.clone(),
        });
    }
    Ok(out)
}

/// The parts a ReplicaSet and a Deployment share: replicas, selector, pod template and
/// `minReadySeconds`, validated as the API server does.
struct WorkloadParts {
    replicas: i32,
    selector: LabelSelector,
    template: PodTemplate,
    min_ready_seconds: i32,
}

fn workload_parts(
    kind: &str,
    spec: &mut RawSpec,
    ctx: &mut Ctx,
) -> Result<WorkloadParts, InputError> {
    reject_foreign(spec, kind, ctx, &["taints", "unschedulable"])?;
    reject_foreign(spec, kind, ctx, POD_SPEC_FIELDS)?;
    reject_foreign(spec, kind, ctx, BATCH_FIELDS)?;
    ctx.warn_unmodelled(kind, "spec.", spec.unmodelled());
    let replicas = spec.replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(ctx.err("spec.replicas", "must be greater than or equal to 0"));
    }
    let min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
    if min_ready_seconds < 0 {
        return Err(ctx.err("spec.minReadySeconds", "must be greater than or equal to 0"));
    }
    let template = spec
        .template
        .take()
        .ok_or_else(|| ctx.err("spec.template", format!("a {kind} needs a pod template")))?;
    let tmeta = template.metadata.unwrap_or_default();
    let selector = if kind == "ReplicationController" {
        // A plain label map; empty or absent defaults to the template's labels
        // (SetDefaults_ReplicationController).
        let map: BTreeMap<String, String> = match spec.selector.take() {
            None => BTreeMap::new(),
            Some(v) => serde_yaml::from_value(v).map_err(|e| {
                ctx.err(
                    "spec.selector",
                    format!("a ReplicationController selector is a map of label values: {e}"),
                )
            })?,
        };
        LabelSelector {
            match_labels: if map.is_empty() {
                tmeta.labels.clone()
            } else {
                map
            },
            match_expressions: Vec::new(),
        }
    } else {
        let v = spec
            .selector
            .take()
            .ok_or_else(|| ctx.err("spec.selector", format!("a {kind} needs a selector")))?;
        let sel: RawLabelSelector = serde_yaml::from_value(v)
            .map_err(|e| ctx.err("spec.selector", format!("not a label selector: {e}")))?;
        label_selector(&sel, ctx, "spec.selector")?
    };
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return Err(ctx.err(
            "spec.selector",
            format!("empty selector is invalid for {kind}"),
        ));
    }
    ctx.warn_unmodelled(kind, "spec.template.metadata.", tmeta.unmodelled());
    if !selector.matches(&tmeta.labels) {
        return Err(ctx.err(
            "spec.template.metadata.labels",
            "`selector` does not match template `labels`",
        ));
    }
    let tspec = template.spec.map(|b| *b).unwrap_or_default();
    reject_foreign(&tspec, "Pod", ctx, NOT_POD_SPEC_FIELDS)?;
    reject_foreign(&tspec, "Pod", ctx, BATCH_FIELDS)?;
    let pod_spec = pod_spec(tspec, kind, "spec.template.spec.", ctx)?;
    Ok(WorkloadParts {
        replicas,
        selector,
        template: PodTemplate {
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            spec: pod_spec,
        },
        min_ready_seconds,
    })
}

/// An `apps/v1` ReplicaSet or a `v1` ReplicationController.
fn replicaset(
    kind: &str,
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<ReplicaSet, InputError> {
    reject_foreign(&spec, kind, ctx, DEPLOYMENT_ONLY_FIELDS)?;
    let name = object_name(&meta, ctx)?;
    let w = workload_parts(kind, &mut spec, ctx)?;
    Ok(ReplicaSet {
        kind: ReplicaSetKind::from_owner_kind(kind).unwrap_or_default(),
        meta: object_meta(meta, name),
        replicas: w.replicas,
        selector: w.selector,
        template: w.template,
        min_ready_seconds: w.min_ready_seconds,
        status: ReplicaSetStatus::default(),
    })
}

/// An `apps/v1` StatefulSet: `podManagementPolicy` OrderedReady (default) or Parallel,
/// `updateStrategy` (RollingUpdate with `partition`, or OnDelete) and `revisionHistoryLimit`
/// with `SetDefaults_StatefulSet` and `ValidateStatefulSetSpec`; `volumeClaimTemplates` warns.
fn statefulset(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<StatefulSet, InputError> {
    reject_foreign(
        &spec,
        "StatefulSet",
        ctx,
        &["strategy", "progressDeadlineSeconds", "paused"],
    )?;
    let name = object_name(&meta, ctx)?;
    let parallel = match spec.pod_management_policy.take().as_deref().unwrap_or("OrderedReady") {
        "OrderedReady" => false,
        "Parallel" => true,
        other => {
            return Err(ctx
                .err(
                    "spec.podManagementPolicy",
                    format!("Unsupported value: {other:?}: supported values: \"OrderedReady\", \"Parallel\""),
                )
                .suggest(other, ["OrderedReady", "Parallel"]))
        }
    };
    let service_name = spec.service_name.take().unwrap_or_default();
    let update_strategy = statefulset_strategy(spec.update_strategy.take(), ctx)?;
    let revision_history_limit = history_limit(spec.revision_history_limit.take(), ctx)?;
    let w = workload_parts("StatefulSet", &mut spec, ctx)?;
    Ok(StatefulSet {
        meta: object_meta(meta, name),
        replicas: w.replicas,
        selector: w.selector,
        template: w.template,
        service_name,
        parallel,
        min_ready_seconds: w.min_ready_seconds,
        update_strategy,
        revision_history_limit,
        history: Vec::new(),
        status: StatefulSetStatus::default(),
    })
}

/// `revisionHistoryLimit`, default 10, non-negative.
fn history_limit(v: Option<i32>, ctx: &Ctx) -> Result<i32, InputError> {
    let v = v.unwrap_or(10);
    if v < 0 {
        return Err(ctx.err(
            "spec.revisionHistoryLimit",
            "must be greater than or equal to 0",
        ));
    }
    Ok(v)
}

/// An `IntOrString` of an update strategy: a non-negative integer or a `[0-9]+%` percentage
/// of at most 100% (`ValidatePositiveIntOrPercent`, `IsNotMoreThan100Percent`).
fn int_or_percent(v: RawIntOrString, ctx: &Ctx, field: &str) -> Result<IntOrString, InputError> {
    match v {
        RawIntOrString::Int(i) => {
            if i < 0 {
                return Err(ctx.err(field, "must be greater than or equal to 0"));
            }
            Ok(IntOrString::Int(i.min(i32::MAX as i64) as i32))
        }
        RawIntOrString::Str(s) => {
            let n = s
                .strip_suffix('%')
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let Some(n) = n else {
                return Err(ctx.err(
                    field,
                    format!("{s:?}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
                ));
            };
            if n.parse::<u64>().map_or(true, |n| n > 100) {
                return Err(ctx.err(field, "must not be greater than 100%"));
            }
            Ok(IntOrString::Str(s))
        }
    }
}

fn is_zero(v: &IntOrString) -> bool {
    match v {
        IntOrString::Int(i) => *i == 0,
        IntOrString::Str(s) => s.trim_end_matches('%').parse::<i64>().ok() == Some(0),
    }
}

/// `StatefulSetUpdateStrategy`: type `RollingUpdate` (default) or `OnDelete`;
/// `rollingUpdate.partition` ≥ 0 (default 0); `rollingUpdate.maxUnavailable` a positive int
/// or percentage. MaxUnavailableStatefulSet is alpha (off) in every version kubesim
/// reproduces, so the API server drops `maxUnavailable`: kubesim validates it, warns and
/// updates one pod at a time.
fn statefulset_strategy(
    raw: Option<RawUpdateStrategy>,
    ctx: &mut Ctx,
) -> Result<StatefulSetUpdateStrategy, InputError> {
    let raw = raw.unwrap_or_default();
    let ru = raw.rolling_update;
    match raw.type_.as_deref().unwrap_or("RollingUpdate") {
        "OnDelete" => {
            if ru.is_some() {
                return Err(ctx.err(
                    "spec.updateStrategy.rollingUpdate",
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
            Ok(StatefulSetUpdateStrategy::OnDelete)
        }
        "RollingUpdate" => {
            let ru = ru.unwrap_or_default();
            if ru.max_surge.is_some() {
                return Err(ctx.err(
                    "spec.updateStrategy.rollingUpdate.maxSurge",
                    "`maxSurge` is not a field of a StatefulSet's rolling update (a DaemonSet has it)",
                ));
            }
            let partition = ru.partition.unwrap_or(0);
            if partition < 0 {
                return Err(ctx.err(
                    "spec.updateStrategy.rollingUpdate.partition",
                    "must be greater than or equal to 0",
                ));
            }
            let field = "spec.updateStrategy.rollingUpdate.maxUnavailable";
            let max_unavailable = match ru.max_unavailable {
                None => None,
                Some(v) => {
                    let v = int_or_percent(v, ctx, field)?;
                    if is_zero(&v) {
                        return Err(ctx.err(field, "cannot be 0"));
                    }
                    ctx.warnings.insert(format!(
                        "StatefulSet field `{field}` needs the MaxUnavailableStatefulSet feature gate, which is off in the Kubernetes versions kubesim reproduces; it is ignored (one pod at a time)"
                    ));
                    Some(v)
                }
            };
            Ok(StatefulSetUpdateStrategy::RollingUpdate {
                partition,
                max_unavailable,
            })
        }
        other => Err(ctx
            .err(
                "spec.updateStrategy.type",
                format!("Unsupported value: {other:?}: supported values: \"OnDelete\", \"RollingUpdate\""),
            )
            .suggest(other, ["OnDelete", "RollingUpdate"])),
    }
}

/// `DaemonSetUpdateStrategy` with `SetDefaults_DaemonSet` (RollingUpdate, maxUnavailable 1,
/// maxSurge 0) and `ValidateRollingUpdateDaemonSet` (non-negative, at most 100%, not both 0).
fn daemonset_strategy(
    raw: Option<RawUpdateStrategy>,
    ctx: &mut Ctx,
) -> Result<DaemonSetUpdateStrategy, InputError> {
    let raw = raw.unwrap_or_default();
    let ru = raw.rolling_update;
    match raw.type_.as_deref().unwrap_or("RollingUpdate") {
        "OnDelete" => Ok(DaemonSetUpdateStrategy::OnDelete),
        "RollingUpdate" => {
            let ru = ru.unwrap_or_default();
            if ru.partition.is_some() {
                return Err(ctx.err(
                    "spec.updateStrategy.rollingUpdate.partition",
                    "`partition` is not a field of a DaemonSet's rolling update (a StatefulSet has it)",
                ));
            }
            let f = |n: &str| format!("spec.updateStrategy.rollingUpdate.{n}");
            let max_unavailable = match ru.max_unavailable {
                None => IntOrString::Int(1),
                Some(v) => int_or_percent(v, ctx, &f("maxUnavailable"))?,
            };
            let max_surge = match ru.max_surge {
                None => IntOrString::Int(0),
                Some(v) => int_or_percent(v, ctx, &f("maxSurge"))?,
            };
            if is_zero(&max_unavailable) && is_zero(&max_surge) {
                return Err(ctx.err(&f("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
            }
            if !is_zero(&max_unavailable) && !is_zero(&max_surge) {
                return Err(ctx.err(
                    &f("maxSurge"),
                    "may not be set when maxUnavailable is non-zero",
                ));
            }
            Ok(DaemonSetUpdateStrategy::RollingUpdate {
                max_unavailable,
                max_surge,
            })
        }
        other => Err(ctx
            .err(
                "spec.updateStrategy.type",
                format!("Unsupported value: {other:?}: supported values: \"OnDelete\", \"RollingUpdate\""),
            )
            .suggest(other, ["OnDelete", "RollingUpdate"])),
    }
}

/// An `apps/v1` DaemonSet: `updateStrategy` RollingUpdate (maxUnavailable / maxSurge) or
/// OnDelete; `revisionHistoryLimit` is validated (kubesim keeps no DaemonSet history).
fn daemonset(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<DaemonSet, InputError> {
    reject_foreign(
        &spec,
        "DaemonSet",
        ctx,
        &["replicas", "strategy", "progressDeadlineSeconds", "paused"],
    )?;
    let name = object_name(&meta, ctx)?;
    let update_strategy = daemonset_strategy(spec.update_strategy.take(), ctx)?;
    history_limit(spec.revision_history_limit.take(), ctx)?;
    let w = workload_parts("DaemonSet", &mut spec, ctx)?;
    Ok(DaemonSet {
        meta: object_meta(meta, name),
        selector: w.selector,
        template: w.template,
        min_ready_seconds: w.min_ready_seconds,
        update_strategy,
        status: DaemonSetStatus::default(),
    })
}

/// An `apps/v1` Deployment with `SetDefaults_Deployment`: replicas 1, RollingUpdate with
/// 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600; validated as
/// `ValidateDeploymentSpec` (percentages, not both fenceposts 0, maxUnavailable ≤ 100%,
/// deadline > minReadySeconds).
fn deployment(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<Deployment, InputError> {
    reject_foreign(
        &spec,
        "Deployment",
        ctx,
        &["serviceName", "podManagementPolicy", "updateStrategy"],
    )?;
    let name = object_name(&meta, ctx)?;
    let strategy = deployment_strategy(spec.strategy.take(), ctx)?;
    let w = workload_parts("Deployment", &mut spec, ctx)?;
    let revision_history_limit = spec.revision_history_limit.unwrap_or(10);
    if revision_history_limit < 0 {
        return Err(ctx.err(
            "spec.revisionHistoryLimit",
            "must be greater than or equal to 0",
        ));
    }
    let pds = spec.progress_deadline_seconds.unwrap_or(600);
    if pds < 0 {
        return Err(ctx.err(
            "spec.progressDeadlineSeconds",
            "must be greater than or equal to 0",
        ));
    }
    if pds <= w.min_ready_seconds {
        return Err(ctx.err(
            "spec.progressDeadlineSeconds",
            "must be greater than minReadySeconds",
        ));
    }
    Ok(Deployment {
        meta: object_meta(meta, name),
        replicas: w.replicas,
        selector: w.selector,
        template: w.template,
        strategy,
        min_ready_seconds: w.min_ready_seconds,
        revision_history_limit: Some(revision_history_limit),
        progress_deadline_seconds: Some(pds),
        paused: spec.paused.unwrap_or(false),
        status: DeploymentStatus::default(),
    })
}

fn deployment_strategy(
    raw: Option<RawDeploymentStrategy>,
    ctx: &mut Ctx,
) -> Result<DeploymentStrategy, InputError> {
    let raw = raw.unwrap_or_default();
    match raw.type_.as_deref().unwrap_or("RollingUpdate") {
        "Recreate" => {
            if raw.rolling_update.is_some() {
                return Err(ctx.err(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
            Ok(DeploymentStrategy::Recreate)
        }
        "RollingUpdate" => {
            let ru = raw.rolling_update.unwrap_or_default();
            let field = |f: &str| format!("spec.strategy.rollingUpdate.{f}");
            let conv = |v: Option<RawIntOrString>, f: &str| -> Result<IntOrString, InputError> {
                match v {
                    None => Ok(IntOrString::Str("25%".into())),
                    Some(RawIntOrString::Int(i)) => {
                        if i < 0 {
                            return Err(ctx.err(&field(f), "must be greater than or equal to 0"));
                        }
                        Ok(IntOrString::Int(i.min(i32::MAX as i64) as i32))
                    }
                    Some(RawIntOrString::Str(s)) => {
                        let ok = s
                            .strip_suffix('%')
                            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                        if !ok {
                            return Err(ctx.err(
                                &field(f),
                                format!("{s:?}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
                            ));
                        }
                        Ok(IntOrString::Str(s))
                    }
                }
            };
            let surge = conv(ru.max_surge, "maxSurge")?;
            let unavailable = conv(ru.max_unavailable, "maxUnavailable")?;
            let is_zero = |v: &IntOrString| match v {
                IntOrString::Int(i) => *i == 0,
                IntOrString::Str(s) => s.trim_end_matches('%').parse::<i64>().ok() == Some(0),
            };
            if is_zero(&surge) && is_zero(&unavailable) {
                return Err(ctx.err(
                    &field("maxUnavailable"),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            if let IntOrString::Str(s) = &unavailable {
                if s.trim_end_matches('%').parse::<i64>().unwrap_or(0) > 100 {
                    return Err(ctx.err(&field("maxUnavailable"), "must not be greater than 100%"));
                }
            }
            Ok(DeploymentStrategy::RollingUpdate {
                max_surge: Some(surge),
                max_unavailable: Some(unavailable),
            })
        }
        other => Err(ctx
            .err(
                "spec.strategy.type",
                format!("Unsupported value: {other:?}: supported values: \"Recreate\", \"RollingUpdate\""),
            )
            .suggest(other, ["Recreate", "RollingUpdate"])),
    }
}

pub(super) fn label_selector(
    raw: &RawLabelSelector,
    ctx: &Ctx,
    field: &str,
) -> Result<LabelSelector, InputError> {
    let mut exprs = Vec::new();
    for (i, r) in raw.match_expressions.iter().enumerate() {
        let op = match r.operator.as_str() {
            "In" => SelectorOperator::In,
            "NotIn" => SelectorOperator::NotIn,
            "Exists" => SelectorOperator::Exists,
            "DoesNotExist" => SelectorOperator::DoesNotExist,
            other => {
                return Err(ctx
                    .err(
                        &format!("{field}.matchExpressions[{i}].operator"),
                        format!("{other:?} is not a valid label selector operator"),
                    )
                    .suggest(other, ["In", "NotIn", "Exists", "DoesNotExist"]))
            }
        };
        exprs.push(SelectorRequirement {
            key: r.key.clone(),
            operator: op,
            values: r.values.iter().map(|v| v.0.clone()).collect(),
        });
    }
    Ok(LabelSelector {
        match_labels: raw.match_labels.clone(),
        match_expressions: exprs,
    })
}

/// Fields only a PodDisruptionBudget spec has.
const PDB_ONLY_FIELDS: &[&str] = &[
    "minAvailable",
    "maxUnavailable",
    "unhealthyPodEvictionPolicy",
];

/// Fields of the spec union that a PodDisruptionBudget spec does not have.
const NOT_PDB_SPEC_FIELDS: &[&str] = &[
    "replicas",
    "template",
    "taints",
    "unschedulable",
    "containers",
    "initContainers",
    "nodeName",
    "nodeSelector",
    "tolerations",
    "priority",
    "priorityClassName",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "overhead",
    "schedulerName",
    "affinity",
    "topologySpreadConstraints",
    "preemptionPolicy",
    "minReadySeconds",
    "strategy",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
];

/// A `policy/v1` PodDisruptionBudget, validated as `ValidatePodDisruptionBudgetSpec`:
/// `minAvailable` and `maxUnavailable` exclusive, each a non-negative integer or a percentage
/// of at most 100%, a valid selector, `unhealthyPodEvictionPolicy` `IfHealthyBudget` or
/// `AlwaysAllow`. No defaults: an absent selector selects nothing.
fn pod_disruption_budget(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<PodDisruptionBudget, InputError> {
    reject_foreign(&spec, "PodDisruptionBudget", ctx, NOT_PDB_SPEC_FIELDS)?;
    let name = object_name(&meta, ctx)?;
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        return Err(ctx.err("spec", "minAvailable and maxUnavailable cannot be both set"));
    }
    let min_available = pdb_int_or_percent(spec.min_available.take(), "spec.minAvailable", ctx)?;
    let max_unavailable =
        pdb_int_or_percent(spec.max_unavailable.take(), "spec.maxUnavailable", ctx)?;
    let selector = match spec.selector.take() {
        None => None,
        Some(v) => {
            let sel: RawLabelSelector = serde_yaml::from_value(v)
                .map_err(|e| ctx.err("spec.selector", format!("not a label selector: {e}")))?;
            Some(label_selector(&sel, ctx, "spec.selector")?)
        }
    };
    const POLICIES: [&str; 2] = ["AlwaysAllow", "IfHealthyBudget"];
    let policy = match spec.unhealthy_pod_eviction_policy.take().as_deref() {
        None => None,
        Some("IfHealthyBudget") => Some(UnhealthyPodEvictionPolicy::IfHealthyBudget),
        Some("AlwaysAllow") => Some(UnhealthyPodEvictionPolicy::AlwaysAllow),
        Some(other) => {
            return Err(ctx
                .err(
                    "spec.unhealthyPodEvictionPolicy",
                    format!("Unsupported value: {other:?}: supported values: \"AlwaysAllow\", \"IfHealthyBudget\""),
                )
                .suggest(other, POLICIES))
        }
    };
    Ok(PodDisruptionBudget {
        meta: object_meta(meta, name),
        min_available,
        max_unavailable,
        selector,
        unhealthy_pod_eviction_policy: policy,
        status: PdbStatus::default(),
    })
}

/// `ValidatePositiveIntOrPercent` + `IsNotMoreThan100Percent` of an optional field.
fn pdb_int_or_percent(
    v: Option<RawIntOrString>,
    field: &str,
    ctx: &Ctx,
) -> Result<Option<IntOrString>, InputError> {
    v.map(|v| int_or_percent(v, ctx, field)).transpose()
}

/// Fields only a Service spec has.
const SERVICE_ONLY_FIELDS: &[&str] = &["ports", "type", "publishNotReadyAddresses"];

/// Fields of the spec union that a Service spec does not have (PodDisruptionBudget-only
/// fields are rejected before).
const NOT_SERVICE_SPEC_FIELDS: &[&str] = &[
    "replicas",
    "template",
    "taints",
    "unschedulable",
    "containers",
    "initContainers",
    "nodeName",
    "nodeSelector",
    "tolerations",
    "priority",
    "priorityClassName",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "overhead",
    "schedulerName",
    "affinity",
    "topologySpreadConstraints",
    "preemptionPolicy",
    "minReadySeconds",
    "strategy",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
];

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

/// A `v1` Service: `spec.selector` (a label map), `spec.ports` (port required; targetPort
/// defaults to the port, protocol to TCP), `spec.type` (ClusterIP by default; NodePort,
/// LoadBalancer and ExternalName are accepted), `spec.publishNotReadyAddresses`.
fn service(meta: RawObjectMeta, mut spec: RawSpec, ctx: &mut Ctx) -> Result<Service, InputError> {
    reject_foreign(&spec, "Service", ctx, NOT_SERVICE_SPEC_FIELDS)?;
    let name = object_name(&meta, ctx)?;
    ctx.warn_unmodelled("Service", "spec.", spec.unmodelled());
    let selector: Option<BTreeMap<String, String>> = match spec.selector.take() {
        None => None,
        Some(v) => Some(serde_yaml::from_value(v).map_err(|e| {
            ctx.err(
                "spec.selector",
                format!("a Service selector is a map of label values: {e}"),
            )
        })?),
    };
    const TYPES: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    let type_ = spec
        .service_type
        .take()
        .unwrap_or_else(|| "ClusterIP".into());
    if !TYPES.contains(&type_.as_str()) {
        return Err(ctx
            .err(
                "spec.type",
                format!("Unsupported value: {type_:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
            )
            .suggest(&type_, TYPES));
    }
    let mut ports = Vec::new();
    for (i, p) in spec
        .ports
        .take()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let field = format!("spec.ports[{i}]");
        ctx.warn_unmodelled("Service", "spec.ports[].", p.unmodelled());
        let port = p
            .port
            .ok_or_else(|| ctx.err(&format!("{field}.port"), "Required value"))?;
        if !(1..=65535).contains(&port) {
            return Err(ctx.err(
                &format!("{field}.port"),
                "must be between 1 and 65535, inclusive",
            ));
        }
        let protocol = p.protocol.unwrap_or_else(|| "TCP".into());
        if !["TCP", "UDP", "SCTP"].contains(&protocol.as_str()) {
            return Err(ctx
                .err(
                    &format!("{field}.protocol"),
                    format!("Unsupported value: {protocol:?}: supported values: \"SCTP\", \"TCP\", \"UDP\""),
                )
                .suggest(&protocol, ["TCP", "UDP", "SCTP"]));
        }
        let target_port = match p.target_port {
            None => IntOrString::Int(port),
            Some(RawIntOrString::Int(n)) => IntOrString::Int(n as i32),
            Some(RawIntOrString::Str(s)) => IntOrString::Str(s),
        };
        ports.push(ServicePort {
            name: p.name.unwrap_or_default(),
            protocol,
            port,
            target_port,
        });
    }
    Ok(Service {
        meta: object_meta(meta, name),
        selector,
        ports,
        type_,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.take().unwrap_or(false),
    })
}

/// A `v1` Namespace (cluster-scoped; `spec.finalizers` is accepted with a warning).
fn namespace(meta: RawObjectMeta, spec: RawSpec, ctx: &mut Ctx) -> Result<Namespace, InputError> {
    reject_foreign(&spec, "Namespace", ctx, NOT_SERVICE_SPEC_FIELDS)?;
    if spec.selector.is_some() {
        return Err(ctx.err(
            "spec.selector",
            "`selector` is not a field of a Namespace spec",
        ));
    }
    ctx.warn_unmodelled("Namespace", "spec.", spec.unmodelled());
    let name = object_name(&meta, ctx)?;
    let mut meta = object_meta(meta, name);
    meta.namespace = String::new();
    meta.labels
        .insert("kubernetes.io/metadata.name".into(), meta.name.clone());
    Ok(Namespace {
        meta,
        terminating: false,
    })
}
