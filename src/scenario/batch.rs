//! `batch/v1` Job and CronJob manifests → model objects, with `SetDefaults_Job` /
//! `SetDefaults_CronJob` and the checks of `ValidateJobSpec` / `ValidateCronJobSpec`
//! (pkg/apis/batch/{v1/defaults.go,validation/validation.go}) that matter to a simulation.
//!
//! Invariant: errors name the field path; the cron schedule is parsed here once so a bad one
//! fails at load time with the parser's message.

use super::bounds;
use super::convert::{
    check_fields, label_selector, object_meta, object_name, pod_spec, Ctx, JOB_FIELDS, POD_FIELDS,
};
use super::error::InputError;
use super::manifest::*;
use crate::model::*;

fn non_negative(v: Option<i64>, ctx: &Ctx, field: &str) -> Result<(), InputError> {
    match v {
        Some(x) if x < 0 => Err(ctx.err(field, "must be greater than or equal to 0")),
        _ => Ok(()),
    }
}

/// A `batch/v1` Job.
pub fn job(meta: RawObjectMeta, spec: RawSpec, ctx: &mut Ctx) -> Result<Job, InputError> {
    let name = object_name(&meta, ctx)?;
    let mut j = job_spec(spec, "Job", "spec.", ctx)?;
    j.meta = object_meta(meta, name);
    Ok(j)
}

/// The JobSpec of a Job or of a CronJob's `jobTemplate` (`prefix` is its path).
fn job_spec(mut spec: RawSpec, kind: &str, prefix: &str, ctx: &mut Ctx) -> Result<Job, InputError> {
    let f = |x: &str| format!("{prefix}{x}");
    check_fields(&spec, "Job", JOB_FIELDS, prefix, ctx)?;
    ctx.warn_unmodelled(kind, prefix, spec.unmodelled());
    for (v, name) in [
        (spec.completions.map(i64::from), "completions"),
        (spec.parallelism.map(i64::from), "parallelism"),
        (spec.backoff_limit.map(i64::from), "backoffLimit"),
        (
            spec.ttl_seconds_after_finished.map(i64::from),
            "ttlSecondsAfterFinished",
        ),
    ] {
        non_negative(v, ctx, &f(name))?;
    }
    for (v, name) in [
        (spec.completions, "completions"),
        (spec.parallelism, "parallelism"),
    ] {
        if let Some(Err(m)) = v.map(|x| bounds::check_pods(i64::from(x), 0)) {
            return Err(ctx.err(&f(name), m));
        }
    }
    if let Some(a) = spec.active_deadline_seconds {
        if a <= 0 {
            return Err(ctx.err(&f("activeDeadlineSeconds"), "must be greater than 0"));
        }
        bounds::check_seconds(a, 1).map_err(|m| ctx.err(&f("activeDeadlineSeconds"), m))?;
    }
    // SetDefaults_Job: both unset → 1 and 1; parallelism alone defaults to 1.
    let (completions, parallelism) = match (spec.completions, spec.parallelism) {
        (None, None) => (Some(1), 1),
        (c, p) => (c, p.unwrap_or(1)),
    };
    let indexed = match spec.completion_mode.as_deref().unwrap_or("NonIndexed") {
        "NonIndexed" => false,
        "Indexed" => true,
        other => {
            return Err(ctx
                .err(
                    &f("completionMode"),
                    format!(
                    "Unsupported value: {other:?}: supported values: \"NonIndexed\", \"Indexed\""
                ),
                )
                .suggest(other, ["NonIndexed", "Indexed"]))
        }
    };
    if indexed && completions.is_none() {
        return Err(ctx.err(
            &f("completions"),
            "Required value: when completion mode is Indexed",
        ));
    }
    let manual_selector = spec.manual_selector.unwrap_or(false);
    let selector = match spec.selector.take() {
        Some(v) if manual_selector => {
            let sel: RawLabelSelector = serde_yaml::from_value(v)
                .map_err(|e| ctx.err(&f("selector"), format!("not a label selector: {e}")))?;
            label_selector(&sel, ctx, &f("selector"))?
        }
        Some(_) => {
            return Err(ctx.err(
                &f("selector"),
                "`selector` not auto-generated (set `manualSelector: true` to give one)",
            ))
        }
        None if manual_selector => {
            return Err(ctx.err(
                &f("selector"),
                "Required value: with `manualSelector: true`",
            ))
        }
        None => LabelSelector::default(),
    };
    let pod_failure_policy = match spec.pod_failure_policy.take() {
        Some(p) => Some(pod_failure_policy(p, ctx, &f("podFailurePolicy"))?),
        None => None,
    };
    let pod_replacement_policy = match spec.pod_replacement_policy.as_deref() {
        None if pod_failure_policy.is_some() => PodReplacementPolicy::Failed,
        None | Some("TerminatingOrFailed") => PodReplacementPolicy::TerminatingOrFailed,
        Some("Failed") => PodReplacementPolicy::Failed,
        Some(other) => {
            return Err(ctx
                .err(
                    &f("podReplacementPolicy"),
                    format!("Unsupported value: {other:?}: supported values: \"Failed\", \"TerminatingOrFailed\""),
                )
                .suggest(other, ["Failed", "TerminatingOrFailed"]))
        }
    };
    if pod_failure_policy.is_some() && pod_replacement_policy != PodReplacementPolicy::Failed {
        return Err(ctx.err(
            &f("podReplacementPolicy"),
            "Not supported: \"TerminatingOrFailed\": must be 'Failed' when podFailurePolicy is used",
        ));
    }
    let template = job_template(&mut spec, kind, prefix, ctx)?;
    if manual_selector && !selector.matches(&template.labels) {
        return Err(ctx.err(
            &f("template.metadata.labels"),
            "`selector` does not match template `labels`",
        ));
    }
    Ok(Job {
        meta: ObjectMeta::default(),
        parallelism,
        completions,
        active_deadline_seconds: spec.active_deadline_seconds,
        backoff_limit: spec.backoff_limit.unwrap_or(6),
        indexed,
        ttl_seconds_after_finished: spec.ttl_seconds_after_finished,
        suspend: spec.suspend.unwrap_or(false),
        selector,
        manual_selector,
        template,
        pod_failure_policy,
        pod_replacement_policy,
        status: JobStatus::default(),
    })
}

/// The pod template: required, and its `restartPolicy` must be `OnFailure` or `Never`.
fn job_template(
    spec: &mut RawSpec,
    kind: &str,
    prefix: &str,
    ctx: &mut Ctx,
) -> Result<PodTemplate, InputError> {
    let template = spec.template.take().ok_or_else(|| {
        ctx.err(
            &format!("{prefix}template"),
            format!("a {kind} needs a pod template"),
        )
    })?;
    let tmeta = template.metadata.unwrap_or_default();
    ctx.warn_unmodelled(
        kind,
        &format!("{prefix}template.metadata."),
        tmeta.unmodelled(),
    );
    let tspec = template.spec.map(|b| *b).unwrap_or_default();
    let tprefix = format!("{prefix}template.spec.");
    check_fields(&tspec, "Pod", POD_FIELDS, &tprefix, ctx)?;
    let pod = pod_spec(tspec, kind, &tprefix, ctx)?;
    if pod.restart_policy == RestartPolicy::Always {
        return Err(ctx.err(
            &format!("{tprefix}restartPolicy"),
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\" (a Job's pods must not restart forever; the default is Always)",
        ));
    }
    Ok(PodTemplate {
        labels: tmeta.labels,
        annotations: tmeta.annotations,
        spec: pod,
    })
}

fn pod_failure_policy(
    raw: RawPodFailurePolicy,
    ctx: &Ctx,
    field: &str,
) -> Result<Vec<PodFailurePolicyRule>, InputError> {
    let mut rules = Vec::new();
    for (i, r) in raw.rules.into_iter().enumerate() {
        let rf = format!("{field}.rules[{i}]");
        let action = match r.action.as_str() {
            "FailJob" => PodFailurePolicyAction::FailJob,
            "Ignore" => PodFailurePolicyAction::Ignore,
            "Count" => PodFailurePolicyAction::Count,
            "FailIndex" => PodFailurePolicyAction::FailIndex,
            other => {
                return Err(ctx
                    .err(
                        &format!("{rf}.action"),
                        format!("Unsupported value: {other:?}"),
                    )
                    .suggest(other, ["FailJob", "Ignore", "Count", "FailIndex"]))
            }
        };
        let on_exit_codes = match r.on_exit_codes {
            Some(e) => {
                let in_ = match e.operator.as_str() {
                    "In" => true,
                    "NotIn" => false,
                    other => {
                        return Err(ctx
                            .err(
                                &format!("{rf}.onExitCodes.operator"),
                                format!(
                                "Unsupported value: {other:?}: supported values: \"In\", \"NotIn\""
                            ),
                            )
                            .suggest(other, ["In", "NotIn"]))
                    }
                };
                Some(OnExitCodes {
                    container_name: e.container_name,
                    in_,
                    values: e.values,
                })
            }
            None => None,
        };
        let conds = r.on_pod_conditions.unwrap_or_default();
        if on_exit_codes.is_some() != conds.is_empty() {
            return Err(ctx.err(
                &rf,
                "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
            ));
        }
        let mut on_pod_conditions = Vec::new();
        for c in conds {
            let status = match c.status.as_deref().unwrap_or("True") {
                "True" => ConditionStatus::True,
                "False" => ConditionStatus::False,
                "Unknown" => ConditionStatus::Unknown,
                other => {
                    return Err(ctx.err(
                        &format!("{rf}.onPodConditions.status"),
                        format!("Unsupported value: {other:?}: supported values: \"True\", \"False\", \"Unknown\""),
                    ))
                }
            };
            on_pod_conditions.push(OnPodCondition {
                type_: c.type_,
                status,
            });
        }
        rules.push(PodFailurePolicyRule {
            action,
            on_exit_codes,
            on_pod_conditions,
        });
    }
    Ok(rules)
}

/// A `batch/v1` CronJob.
pub fn cronjob(
    meta: RawObjectMeta,
    mut spec: RawSpec,
    ctx: &mut Ctx,
) -> Result<CronJob, InputError> {
    let name = object_name(&meta, ctx)?;
    let schedule = spec
        .schedule
        .take()
        .ok_or_else(|| ctx.err("spec.schedule", "Required value"))?;
    crate::controllers::cronjob::Schedule::parse(&schedule)
        .map_err(|m| ctx.err("spec.schedule", format!("Invalid value: {schedule:?}: {m}")))?;
    let time_zone = spec.time_zone.take();
    if let Some(tz) = &time_zone {
        if !crate::controllers::cronjob::is_utc(tz) {
            return Err(ctx.err(
                "spec.timeZone",
                format!("time zone {tz:?} is not modelled by kubesim (no time zone database); use \"UTC\" or \"Etc/UTC\""),
            ));
        }
    }
    non_negative(
        spec.starting_deadline_seconds,
        ctx,
        "spec.startingDeadlineSeconds",
    )?;
    if let Some(Err(m)) = spec
        .starting_deadline_seconds
        .map(|x| bounds::check_seconds(x, 0))
    {
        return Err(ctx.err("spec.startingDeadlineSeconds", m));
    }
    let concurrency_policy = match spec.concurrency_policy.as_deref().unwrap_or("Allow") {
        "Allow" => ConcurrencyPolicy::Allow,
        "Forbid" => ConcurrencyPolicy::Forbid,
        "Replace" => ConcurrencyPolicy::Replace,
        other => {
            return Err(ctx
                .err(
                    "spec.concurrencyPolicy",
                    format!("Unsupported value: {other:?}: supported values: \"Allow\", \"Forbid\", \"Replace\""),
                )
                .suggest(other, ["Allow", "Forbid", "Replace"]))
        }
    };
    let successful = spec.successful_jobs_history_limit.unwrap_or(3);
    let failed = spec.failed_jobs_history_limit.unwrap_or(1);
    non_negative(
        Some(successful.into()),
        ctx,
        "spec.successfulJobsHistoryLimit",
    )?;
    non_negative(Some(failed.into()), ctx, "spec.failedJobsHistoryLimit")?;
    let tmpl = spec
        .job_template
        .take()
        .ok_or_else(|| ctx.err("spec.jobTemplate", "Required value"))?;
    let tmeta = tmpl.metadata.unwrap_or_default();
    ctx.warn_unmodelled("CronJob", "spec.jobTemplate.metadata.", tmeta.unmodelled());
    let jspec = tmpl.spec.map(|b| *b).unwrap_or_default();
    let job_template = job_spec(jspec, "CronJob", "spec.jobTemplate.spec.", ctx)?;
    Ok(CronJob {
        meta: object_meta(meta, name),
        schedule,
        time_zone,
        starting_deadline_seconds: spec.starting_deadline_seconds,
        concurrency_policy,
        suspend: spec.suspend.unwrap_or(false),
        successful_jobs_history_limit: successful,
        failed_jobs_history_limit: failed,
        job_labels: tmeta.labels,
        job_annotations: tmeta.annotations,
        job_template: Box::new(job_template),
        status: CronJobStatus::default(),
    })
}
