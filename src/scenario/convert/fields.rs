//! One allow-list of `spec` fields per kind, after the Kubernetes API types (core/v1 PodSpec,
//! NodeSpec, ServiceSpec, NamespaceSpec; apps/v1 ReplicaSetSpec, DeploymentSpec,
//! StatefulSetSpec, DaemonSetSpec; batch/v1 JobSpec, CronJobSpec; policy/v1
//! PodDisruptionBudgetSpec), with the fields kubesim reads and those it accepts and ignores
//! with a warning.
//!
//! Invariant: the manifest schema's `spec` is the union of every kind's spec, so a misspelt
//! field fails while parsing (line:column, suggestion); a real field of another kind fails
//! here, always, with its path. [`SPEC_FIELDS`] names every field of the union (a test checks
//! it against the schema), and every allow-listed name is one of them.

use super::{Ctx, Kind};
use crate::scenario::error::InputError;
use crate::scenario::manifest::RawSpec;

/// The union's fields kubesim reads, by API name, with whether a spec sets them. The fields
/// it accepts without modelling come from `RawSpec::unmodelled`.
/// Whether a spec sets one field.
type IsSet = fn(&RawSpec) -> bool;

#[rustfmt::skip]
pub(crate) const SPEC_FIELDS: &[(&str, IsSet)] = &[
    ("containers", |s| s.containers.is_some()),
    ("initContainers", |s| s.init_containers.is_some()),
    ("nodeName", |s| s.node_name.is_some()),
    ("nodeSelector", |s| s.node_selector.is_some()),
    ("tolerations", |s| s.tolerations.is_some()),
    ("priority", |s| s.priority.is_some()),
    ("priorityClassName", |s| s.priority_class_name.is_some()),
    ("restartPolicy", |s| s.restart_policy.is_some()),
    ("terminationGracePeriodSeconds", |s| s.termination_grace_period_seconds.is_some()),
    ("overhead", |s| s.overhead.is_some()),
    ("schedulerName", |s| s.scheduler_name.is_some()),
    ("affinity", |s| s.affinity.is_some()),
    ("topologySpreadConstraints", |s| s.topology_spread_constraints.is_some()),
    ("preemptionPolicy", |s| s.preemption_policy.is_some()),
    ("imagePullSecrets", |s| s.image_pull_secrets.is_some()),
    ("activeDeadlineSeconds", |s| s.active_deadline_seconds.is_some()),
    ("replicas", |s| s.replicas.is_some()),
    ("selector", |s| s.selector.is_some()),
    ("template", |s| s.template.is_some()),
    ("minReadySeconds", |s| s.min_ready_seconds.is_some()),
    ("strategy", |s| s.strategy.is_some()),
    ("revisionHistoryLimit", |s| s.revision_history_limit.is_some()),
    ("progressDeadlineSeconds", |s| s.progress_deadline_seconds.is_some()),
    ("paused", |s| s.paused.is_some()),
    ("serviceName", |s| s.service_name.is_some()),
    ("podManagementPolicy", |s| s.pod_management_policy.is_some()),
    ("updateStrategy", |s| s.update_strategy.is_some()),
    ("ports", |s| s.ports.is_some()),
    ("type", |s| s.service_type.is_some()),
    ("publishNotReadyAddresses", |s| s.publish_not_ready_addresses.is_some()),
    ("minAvailable", |s| s.min_available.is_some()),
    ("maxUnavailable", |s| s.max_unavailable.is_some()),
    ("unhealthyPodEvictionPolicy", |s| s.unhealthy_pod_eviction_policy.is_some()),
    ("completions", |s| s.completions.is_some()),
    ("parallelism", |s| s.parallelism.is_some()),
    ("backoffLimit", |s| s.backoff_limit.is_some()),
    ("completionMode", |s| s.completion_mode.is_some()),
    ("ttlSecondsAfterFinished", |s| s.ttl_seconds_after_finished.is_some()),
    ("suspend", |s| s.suspend.is_some()),
    ("manualSelector", |s| s.manual_selector.is_some()),
    ("podFailurePolicy", |s| s.pod_failure_policy.is_some()),
    ("podReplacementPolicy", |s| s.pod_replacement_policy.is_some()),
    ("schedule", |s| s.schedule.is_some()),
    ("timeZone", |s| s.time_zone.is_some()),
    ("startingDeadlineSeconds", |s| s.starting_deadline_seconds.is_some()),
    ("concurrencyPolicy", |s| s.concurrency_policy.is_some()),
    ("successfulJobsHistoryLimit", |s| s.successful_jobs_history_limit.is_some()),
    ("failedJobsHistoryLimit", |s| s.failed_jobs_history_limit.is_some()),
    ("jobTemplate", |s| s.job_template.is_some()),
    ("taints", |s| s.taints.is_some()),
    ("unschedulable", |s| s.unschedulable.is_some()),
];

/// core/v1 PodSpec (the read fields, then the accepted-but-ignored ones).
pub(crate) const POD: &[&str] = &[
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
    // ignored with a warning
    "volumes",
    "securityContext",
    "serviceAccountName",
    "serviceAccount",
    "deprecatedServiceAccount",
    "automountServiceAccountToken",
    "dnsPolicy",
    "dnsConfig",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "enableServiceLinks",
    "runtimeClassName",
    "hostname",
    "subdomain",
    "hostAliases",
    "readinessGates",
    "shareProcessNamespace",
    "ephemeralContainers",
    "os",
    "schedulingGates",
    "resourceClaims",
    "resources",
    "setHostnameAsFQDN",
    "hostUsers",
];

/// apps/v1 ReplicaSetSpec and core/v1 ReplicationControllerSpec.
const REPLICA_SET: &[&str] = &["replicas", "selector", "template", "minReadySeconds"];

/// apps/v1 DeploymentSpec.
const DEPLOYMENT: &[&str] = &[
    "replicas",
    "selector",
    "template",
    "minReadySeconds",
    "strategy",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
];

/// apps/v1 StatefulSetSpec.
const STATEFUL_SET: &[&str] = &[
    "replicas",
    "selector",
    "template",
    "minReadySeconds",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
    "revisionHistoryLimit",
    // ignored with a warning
    "volumeClaimTemplates",
    "persistentVolumeClaimRetentionPolicy",
    "ordinals",
];

/// apps/v1 DaemonSetSpec.
const DAEMON_SET: &[&str] = &[
    "selector",
    "template",
    "minReadySeconds",
    "updateStrategy",
    "revisionHistoryLimit",
];

/// batch/v1 JobSpec (also a CronJob's `jobTemplate.spec`).
pub(crate) const JOB: &[&str] = &[
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "podFailurePolicy",
    "backoffLimit",
    "selector",
    "manualSelector",
    "template",
    "ttlSecondsAfterFinished",
    "completionMode",
    "suspend",
    "podReplacementPolicy",
    // ignored with a warning
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "successPolicy",
    "managedBy",
];

/// batch/v1 CronJobSpec.
const CRON_JOB: &[&str] = &[
    "schedule",
    "timeZone",
    "startingDeadlineSeconds",
    "concurrencyPolicy",
    "suspend",
    "jobTemplate",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
];

/// policy/v1 PodDisruptionBudgetSpec.
const PDB: &[&str] = &[
    "minAvailable",
    "selector",
    "maxUnavailable",
    "unhealthyPodEvictionPolicy",
];

/// core/v1 ServiceSpec.
const SERVICE: &[&str] = &[
    "ports",
    "selector",
    "type",
    "publishNotReadyAddresses",
    // ignored with a warning
    "clusterIP",
    "clusterIPs",
    "externalIPs",
    "sessionAffinity",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "externalName",
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "sessionAffinityConfig",
    "ipFamilies",
    "ipFamilyPolicy",
    "allocateLoadBalancerNodePorts",
    "loadBalancerClass",
    "internalTrafficPolicy",
    "trafficDistribution",
];

/// core/v1 NamespaceSpec (`finalizers`, ignored with a warning).
const NAMESPACE: &[&str] = &["finalizers"];

/// core/v1 NodeSpec.
const NODE: &[&str] = &[
    "taints",
    "unschedulable",
    // ignored with a warning
    "podCIDR",
    "podCIDRs",
    "providerID",
    "configSource",
    "externalID",
];

/// The `spec` fields of `kind`; `None` for kinds without a spec.
pub(crate) fn spec_fields(kind: Kind) -> Option<&'static [&'static str]> {
    Some(match kind {
        Kind::Node => NODE,
        Kind::Pod => POD,
        Kind::ReplicaSet | Kind::ReplicationController => REPLICA_SET,
        Kind::Deployment => DEPLOYMENT,
        Kind::DaemonSet => DAEMON_SET,
        Kind::StatefulSet => STATEFUL_SET,
        Kind::Job => JOB,
        Kind::CronJob => CRON_JOB,
        Kind::PodDisruptionBudget => PDB,
        Kind::Service => SERVICE,
        Kind::Namespace => NAMESPACE,
        Kind::PriorityClass | Kind::ServiceAccount | Kind::Secret | Kind::List => return None,
    })
}

/// The union's fields `spec` sets, in schema order (read fields, then unmodelled ones).
pub(crate) fn present(spec: &RawSpec) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = SPEC_FIELDS
        .iter()
        .filter(|(_, set)| set(spec))
        .map(|(name, _)| *name)
        .collect();
    out.extend(spec.unmodelled());
    out
}

/// Every field `spec` sets must be one of `allowed` (the spec of a `what`, e.g. "Pod",
/// at `prefix`, e.g. `spec.template.spec.`).
pub(crate) fn check(
    spec: &RawSpec,
    what: &str,
    allowed: &[&str],
    prefix: &str,
    ctx: &Ctx,
) -> Result<(), InputError> {
    match present(spec).into_iter().find(|f| !allowed.contains(f)) {
        None => Ok(()),
        Some(f) => Err(ctx
            .err(
                &format!("{prefix}{f}"),
                format!("`{f}` is not a field of a {what} spec"),
            )
            .suggest(f, allowed.iter().copied())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of the schema's `spec`, from serde's own "expected one of" list.
    fn schema_fields() -> Vec<String> {
        let e = serde_yaml::from_str::<RawSpec>("zzzNotAField: 1")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let tail = e.split_once("expected").map(|(_, t)| t).unwrap_or("");
        tail.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_field_table_covers_the_schema() {
        let schema = schema_fields();
        assert!(schema.len() > 50, "{schema:?}");
        let read: Vec<&str> = SPEC_FIELDS.iter().map(|(n, _)| *n).collect();
        let all_kinds = [
            Kind::Node,
            Kind::Pod,
            Kind::ReplicaSet,
            Kind::Deployment,
            Kind::DaemonSet,
            Kind::StatefulSet,
            Kind::Job,
            Kind::CronJob,
            Kind::PodDisruptionBudget,
            Kind::Service,
            Kind::Namespace,
        ];
        for f in &schema {
            let yaml = format!("{f}: null");
            // A field the table does not read must be one `unmodelled()` reports.
            if !read.contains(&f.as_str()) {
                let spec: RawSpec = serde_yaml::from_str(&format!("{f}: 1")).unwrap_or_default();
                assert!(spec.unmodelled().contains(&f.as_str()), "{f} ({yaml})");
            }
            assert!(
                all_kinds
                    .iter()
                    .any(|k| spec_fields(*k).unwrap_or(&[]).contains(&f.as_str())),
                "no kind has spec.{f}"
            );
        }
        for k in all_kinds {
            for f in spec_fields(k).unwrap_or(&[]) {
                assert!(
                    schema.iter().any(|s| s == f),
                    "{k:?}: {f} is not in the schema"
                );
            }
        }
    }
}
