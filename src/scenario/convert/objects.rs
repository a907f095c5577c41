//! Nodes, Services, Namespaces and PodDisruptionBudgets.
//!
//! Invariant: called with a spec already checked against the kind's allow-list; fields the
//! kind has but kubesim does not model are warnings.

use super::apps::int_or_percent;
use super::*;

pub(crate) fn node(
    meta: RawObjectMeta,
    spec: RawSpec,
    status: RawStatus,
    ctx: &mut Ctx,
) -> Result<Node, InputError> {
    ctx.warn_unmodelled("Node", "spec.", spec.unmodelled());
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

/// A `policy/v1` PodDisruptionBudget, validated as `ValidatePodDisruptionBudgetSpec`:
/// `minAvailable` and `maxUnavailable` exclusive, each a non-negative integer or a percentage
/// of at most 100%, a valid selector, `unhealthyPodEvictionPolicy` `IfHealthyBudget` or
/// `AlwaysAllow`. No defaults: an absent selector selects nothing.
pub(crate) fn pod_disruption_budget(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<PodDisruptionBudget, InputError> {
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
pub(crate) fn pdb_int_or_percent(
    v: Option<RawIntOrString>,
    field: &str,
    ctx: &Ctx,
) -> Result<Option<IntOrString>, InputError> {
    v.map(|v| int_or_percent(v, ctx, field)).transpose()
}

/// A `v1` Service: `spec.selector` (a label map), `spec.ports` (port required; targetPort
/// defaults to the port, protocol to TCP), `spec.type` (ClusterIP by default; NodePort,
/// LoadBalancer and ExternalName are accepted), `spec.publishNotReadyAddresses`.
pub(crate) fn service(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<Service, InputError> {
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
pub(crate) fn namespace(
    meta: RawObjectMeta,
    spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<Namespace, InputError> {
    ctx.warn_unmodelled("Namespace", "spec.", spec.unmodelled());
    let name = object_name(&meta, ctx)?;
    crate::scenario::names::dns1123_label(&name).map_err(|m| ctx.err("metadata.name", m))?;
    let mut meta = object_meta(meta, name);
    meta.namespace = String::new();
    meta.labels
        .insert("kubernetes.io/metadata.name".into(), meta.name.clone());
    Ok(Namespace {
        meta,
        terminating: false,
    })
}
