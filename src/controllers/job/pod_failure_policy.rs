//! The Job pod failure policy: the first rule matching a failed pod (by exit codes or pod
//! conditions) and the FailJob message.
//!
//! Upstream: `pkg/controller/job/pod_failure_policy.go` (`matchPodFailurePolicy`,
//! `getFailJobMessage`).
//!
//! Invariant: rules are tried in order and the first match wins; exit code 0 never matches.

use std::sync::Arc;

use super::is_pod_failed;
use crate::model::*;

/// The result of `matchPodFailurePolicy` for a failed pod: the first rule that matches.
pub fn match_pod_failure_policy(
    rules: &[PodFailurePolicyRule],
    p: &Pod,
) -> Option<(usize, PodFailurePolicyAction)> {
    rules.iter().enumerate().find_map(|(i, r)| {
        let hit = match &r.on_exit_codes {
            Some(e) => exit_codes_match(e, p),
            None => r.on_pod_conditions.iter().any(|c| {
                p.status
                    .conditions
                    .iter()
                    .any(|pc| pc.type_.as_str() == c.type_ && pc.status == c.status)
            }),
        };
        hit.then_some((i, r.action))
    })
}

/// `onExitCodes`: some terminated container (of the named one, if given) exited with a code
/// `In` / `NotIn` the values; exit code 0 never matches `NotIn`... as upstream it is excluded.
fn exit_codes_match(e: &OnExitCodes, p: &Pod) -> bool {
    p.status.container_statuses.iter().any(|c| {
        if e.container_name.as_ref().is_some_and(|n| *n != c.name) {
            return false;
        }
        match c.state.terminated() {
            Some(t) if t.exit_code != 0 => e.values.contains(&t.exit_code) == e.in_,
            _ => false,
        }
    })
}

/// `getFailJobMessage`: the first failed pod matching a FailJob rule.
pub(super) fn fail_job_message(job: &Job, pods: &[Arc<Pod>]) -> Option<String> {
    let rules = job.pod_failure_policy.as_ref()?;
    pods.iter().filter(|p| is_pod_failed(p, job)).find_map(|p| {
        match match_pod_failure_policy(rules, p) {
            Some((i, PodFailurePolicyAction::FailJob)) => Some(fail_job_text(job, p, &rules[i], i)),
            _ => None,
        }
    })
}

/// The messages of `matchPodFailurePolicy` for a FailJob rule.
pub(super) fn fail_job_text(job: &Job, p: &Pod, rule: &PodFailurePolicyRule, i: usize) -> String {
    let _ = job;
    if let Some(e) = &rule.on_exit_codes {
        let hit = p.status.container_statuses.iter().find_map(|c| {
            let t = c.state.terminated()?;
            (t.exit_code != 0
                && e.values.contains(&t.exit_code) == e.in_
                && e.container_name.as_ref().is_none_or(|n| *n == c.name))
            .then(|| (c.name.clone(), t.exit_code))
        });
        let (name, code) = hit.unwrap_or_default();
        return format!(
            "Container {name} for pod {}/{} failed with exit code {code} matching FailJob rule at index {i}",
            p.meta.namespace, p.meta.name
        );
    }
    let t = rule
        .on_pod_conditions
        .first()
        .map(|c| c.type_.clone())
        .unwrap_or_default();
    format!(
        "Pod {}/{} has condition {t} matching FailJob rule at index {i}",
        p.meta.namespace, p.meta.name
    )
}
