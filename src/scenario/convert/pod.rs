//! Pod specs: containers (resources, ports, probes, `preStop`), tolerations, priority,
//! scheduling constraints (node selector, affinity, topology spread) with the API defaults
//! and the validation that matters to a simulation.
//!
//! Invariant: a pod spec is converted only after its fields were checked against the PodSpec
//! allow-list; every error names the field path under the caller's prefix.

use super::*;
use crate::scenario::bounds::{check_seconds, MAX_SECONDS};

pub(crate) fn containers(
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
        crate::scenario::names::dns1123_label(&name)
            .map_err(|m| ctx.err(&format!("{f}.name"), m))?;
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
pub(crate) fn probe(
    raw: Option<&RawProbe>,
    ctx: &Ctx,
    field: &str,
) -> Result<Option<Probe>, InputError> {
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
            Some(x) if x > i64::from(i32::MAX) => Err(ctx.err(
                &field_of(name),
                format!("must be between {min} and {} (int32), got {x}", i32::MAX),
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
        Some(x) if x > MAX_SECONDS => {
            let f = field_of("terminationGracePeriodSeconds");
            return Err(ctx.err(&f, check_seconds(x, 1).err().unwrap_or_default()));
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

pub(crate) fn pre_stop(
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
    check_seconds(grace, 0).map_err(|m| ctx.err(&f("terminationGracePeriodSeconds"), m))?;
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
        if let Some(Err(m)) = t.toleration_seconds.map(|x| check_seconds(x.max(0), 0)) {
            // Negative values mean "evict at once" in Kubernetes; only the top is bounded.
            return Err(ctx.err(&format!("{tf}.tolerationSeconds"), m));
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
            Some(x) if x > MAX_SECONDS => {
                let m = check_seconds(x, 1).err().unwrap_or_default();
                return Err(ctx.err(&f("activeDeadlineSeconds"), m));
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

pub(crate) fn container_ports(
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

pub(crate) fn node_selector_term(
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

pub(crate) fn pod_affinity_term(
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

pub(crate) fn pod_affinity(
    raw: &RawPodAffinity,
    ctx: &Ctx,
    field: &str,
) -> Result<PodAffinity, InputError> {
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
pub(crate) fn node_affinity(
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

pub(crate) fn affinity(raw: &RawAffinity, ctx: &Ctx, field: &str) -> Result<Affinity, InputError> {
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
