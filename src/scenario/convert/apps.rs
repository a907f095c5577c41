//! `apps/v1` workloads (ReplicaSet, Deployment, StatefulSet, DaemonSet) and the `v1`
//! ReplicationController: replicas, selector, pod template and update strategies with
//! `SetDefaults_*` and the checks of `Validate*Spec`.
//!
//! Invariant: the template's pod spec is checked against the PodSpec allow-list at
//! `spec.template.spec.` before it is converted.

use super::*;
use crate::scenario::bounds;

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
    ctx.warn_unmodelled(kind, "spec.", spec.unmodelled());
    let replicas = spec.replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(ctx.err("spec.replicas", "must be greater than or equal to 0"));
    }
    bounds::check_pods(i64::from(replicas), 0).map_err(|m| ctx.err("spec.replicas", m))?;
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
    fields::check(&tspec, "Pod", fields::POD, "spec.template.spec.", ctx)?;
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
pub(crate) fn replicaset(
    kind: &str,
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<ReplicaSet, InputError> {
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
pub(crate) fn statefulset(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<StatefulSet, InputError> {
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
pub(crate) fn history_limit(v: Option<i32>, ctx: &Ctx) -> Result<i32, InputError> {
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
pub(crate) fn int_or_percent(
    v: RawIntOrString,
    ctx: &Ctx,
    field: &str,
) -> Result<IntOrString, InputError> {
    match v {
        RawIntOrString::Int(i) => {
            if i < 0 {
                return Err(ctx.err(field, "must be greater than or equal to 0"));
            }
            // A count of pods: `replicas + maxSurge` must not overflow int32.
            bounds::check_pods(i, 0).map_err(|m| ctx.err(field, m))?;
            Ok(IntOrString::Int(i as i32))
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

pub(crate) fn is_zero(v: &IntOrString) -> bool {
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
pub(crate) fn statefulset_strategy(
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
pub(crate) fn daemonset_strategy(
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
pub(crate) fn daemonset(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<DaemonSet, InputError> {
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
pub(crate) fn deployment(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<Deployment, InputError> {
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

pub(crate) fn deployment_strategy(
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
                        // A count of pods: `replicas + maxSurge` must not overflow int32.
                        bounds::check_pods(i, 0).map_err(|m| ctx.err(&field(f), m))?;
                        Ok(IntOrString::Int(i as i32))
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
                        // Above 100% is valid for maxSurge; bounded so that the scaled
                        // value stays far from int32 overflow.
                        let pct = s.trim_end_matches('%').parse::<u64>().unwrap_or(u64::MAX);
                        if pct > 100_000 {
                            return Err(ctx.err(
                                &field(f),
                                format!("must be at most 100000% (kubesim's bound, so that the scaled count fits int32), got {s}"),
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

pub(crate) fn label_selector(
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
