//! The Deployment controller's arithmetic, as pure functions over model objects: fenceposts
//! (`maxSurge` rounds up, `maxUnavailable` rounds down), replica counts over ReplicaSets, the
//! Progressing/Available conditions, revisions and the replicas annotations, the pod template
//! hash, and the rolling-update planning steps.
//!
//! Upstream: `pkg/controller/deployment/util/deployment_util.go`, `rolling.go`, `sync.go`,
//! `recreate.go`, `progress.go` (kubernetes/kubernetes); `deployment_util/tests.rs` ports
//! its tables, keeping each upstream case name.
//!
//! Invariant: no I/O and no clock; the planning functions only change the local copies they
//! are given and return the ReplicaSet writes to make ([`ScaleOp`]).

use crate::model::*;
use crate::sim::{SimDuration, SimTime};

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";
/// Condition reasons (`deployment_util.go`).
pub const NEW_RS_AVAILABLE_REASON: &str = "NewReplicaSetAvailable";
pub const NEW_REPLICA_SET_REASON: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS_REASON: &str = "FoundNewReplicaSet";
pub const REPLICA_SET_UPDATED_REASON: &str = "ReplicaSetUpdated";
pub const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percentage of `total` rounded up
/// or down; any other string is an error (same text as upstream).
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::Str(s) => {
            let Some(num) = s.strip_suffix('%') else {
                return Err(
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .to_string(),
                );
            };
            let pct: i64 = num
                .parse()
                .map_err(|_| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            let x = pct * total as i64;
            let v = if round_up {
                (x + 99).div_euclid(100)
            } else {
                x.div_euclid(100)
            };
            Ok(v as i32)
        }
    }
}

/// `ResolveFenceposts`: surge rounds up, unavailable rounds down; if both come to 0,
/// unavailable becomes 1 ("if we can't update a single pod, we're fine with disrupting one").
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let zero = IntOrString::Int(0);
    let surge = scaled_value(max_surge.unwrap_or(&zero), desired, true)?;
    let mut unavailable = scaled_value(max_unavailable.unwrap_or(&zero), desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

fn fenceposts(d: &Deployment) -> Option<(i32, i32)> {
    match &d.strategy {
        DeploymentStrategy::Recreate => None,
        DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => Some(
            resolve_fenceposts(max_surge.as_ref(), max_unavailable.as_ref(), d.replicas)
                .unwrap_or((0, 0)),
        ),
    }
}

pub fn is_rolling_update(d: &Deployment) -> bool {
    matches!(d.strategy, DeploymentStrategy::RollingUpdate { .. })
}

/// `MaxUnavailable`: 0 for Recreate or 0 replicas; never more than the replicas.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if d.replicas == 0 {
        return 0;
    }
    match fenceposts(d) {
        None => 0,
        Some((_, u)) => u.min(d.replicas),
    }
}

/// `MinAvailable`.
pub fn min_available(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    d.replicas - max_unavailable(d)
}

/// `MaxSurge`.
pub fn max_surge(d: &Deployment) -> i32 {
    fenceposts(d).map_or(0, |(s, _)| s)
}

/// `GetReplicaCountForReplicaSets`: the sum of `spec.replicas`.
pub fn replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(|r| r.replicas).sum()
}

/// `GetActualReplicaCountForReplicaSets`: the sum of `status.replicas`.
pub fn actual_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(|r| r.status.replicas).sum()
}

pub fn ready_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(|r| r.status.ready_replicas).sum()
}

pub fn available_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(|r| r.status.available_replicas).sum()
}

/// `NewRSNewReplicas`: how many replicas the new ReplicaSet may have now.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs: &ReplicaSet) -> i32 {
    match &d.strategy {
        DeploymentStrategy::Recreate => d.replicas,
        DeploymentStrategy::RollingUpdate { max_surge, .. } => {
            let zero = IntOrString::Int(0);
            let surge =
                scaled_value(max_surge.as_ref().unwrap_or(&zero), d.replicas, true).unwrap_or(0);
            let current = replica_count(all.iter().copied());
            let max_total = d.replicas + surge;
            if current >= max_total {
                return new_rs.replicas;
            }
            let up = (max_total - current).min(d.replicas - new_rs.replicas);
            new_rs.replicas + up
        }
    }
}

pub fn get_condition<'a>(s: &'a DeploymentStatus, t: &str) -> Option<&'a DeploymentCondition> {
    s.conditions.iter().find(|c| c.type_ == t)
}

pub fn new_condition(
    t: &str,
    status: ConditionStatus,
    reason: &str,
    message: String,
    now: SimTime,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: t.to_string(),
        status,
        reason: reason.to_string(),
        message,
        last_update_time: now,
        last_transition_time: now,
    }
}

/// `SetDeploymentCondition`: no change for the same status and reason; keeps
/// `lastTransitionTime` when only the reason changes; the condition moves to the end.
pub fn set_condition(s: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = get_condition(s, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time;
        }
    }
    s.conditions.retain(|x| x.type_ != c.type_);
    s.conditions.push(c);
}

pub fn remove_condition(s: &mut DeploymentStatus, t: &str) {
    s.conditions.retain(|x| x.type_ != t);
}

/// `DeploymentComplete`.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    s.updated_replicas == d.replicas
        && s.replicas == d.replicas
        && s.available_replicas == d.replicas
        && s.observed_generation >= d.meta.generation
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available replicas.
pub fn deployment_progressing(d: &Deployment, s: &DeploymentStatus) -> bool {
    let old = &d.status;
    let old_old = old.replicas - old.updated_replicas;
    let new_old = s.replicas - s.updated_replicas;
    s.updated_replicas > old.updated_replicas
        || new_old < old_old
        || s.ready_replicas > old.ready_replicas
        || s.available_replicas > old.available_replicas
}

/// `HasProgressDeadline`.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.progress_deadline_seconds.is_some_and(|p| p != i32::MAX)
}

/// `DeploymentTimedOut`: the Progressing condition's lastUpdateTime + deadline is strictly
/// before now.
pub fn deployment_timed_out(d: &Deployment, s: &DeploymentStatus, now: SimTime) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(c) = get_condition(s, PROGRESSING) else {
        return false;
    };
    if c.reason == NEW_RS_AVAILABLE_REASON {
        return false;
    }
    if c.reason == TIMED_OUT_REASON {
        return true;
    }
    let pds = d.progress_deadline_seconds.unwrap_or(0).max(0) as u64;
    c.last_update_time + SimDuration::from_secs(pds) < now
}

/// The revision annotation as a number (0 when absent or unparsable, as upstream `Revision`).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.meta
        .annotations
        .get(REVISION_ANNOTATION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter().map(revision).max().unwrap_or(0)
}

fn annotation_i32(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.meta
        .annotations
        .get(key)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v >= 0)
}

/// `ReplicasAnnotationsNeedUpdate`.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    rs.meta.annotations.get(DESIRED_REPLICAS_ANNOTATION) != Some(&desired.to_string())
        || rs.meta.annotations.get(MAX_REPLICAS_ANNOTATION) != Some(&max.to_string())
}

/// `SetReplicasAnnotations`: true if anything changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (k, v) in [
        (DESIRED_REPLICAS_ANNOTATION, desired),
        (MAX_REPLICAS_ANNOTATION, max),
    ] {
        let v = v.to_string();
        if rs.meta.annotations.get(k) != Some(&v) {
            rs.meta.annotations.insert(k.to_string(), v);
            changed = true;
        }
    }
    changed
}

/// `IsSaturated`: the new ReplicaSet has the desired size, annotated, all available.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    annotation_i32(rs, DESIRED_REPLICAS_ANNOTATION) == Some(d.replicas)
        && rs.replicas == d.replicas
        && rs.status.available_replicas == d.replicas
}

/// `skipCopyAnnotation` + `copyDeploymentAnnotationsToReplicaSet`.
fn copy_deployment_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let skip = [
        LAST_APPLIED_ANNOTATION,
        REVISION_ANNOTATION,
        REVISION_HISTORY_ANNOTATION,
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        "deprecated.deployment.rollback.to",
    ];
    let mut changed = false;
    for (k, v) in &d.meta.annotations {
        if skip.contains(&k.as_str()) || rs.meta.annotations.get(k) == Some(v) {
            continue;
        }
        rs.meta.annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// `SetNewReplicaSetAnnotations` (revision history kept as a comma list of earlier
/// revisions, without the length limit).
pub fn set_new_replica_set_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_deployment_annotations(d, rs);
    let old = rs.meta.annotations.get(REVISION_ANNOTATION).cloned();
    let old_n: i64 = old.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
    if old_n < new_revision {
        rs.meta
            .annotations
            .insert(REVISION_ANNOTATION.into(), new_revision.to_string());
        changed = true;
        if let Some(o) = old.filter(|o| !o.is_empty()) {
            let hist = match rs.meta.annotations.get(REVISION_HISTORY_ANNOTATION) {
                Some(h) if !h.is_empty() => format!("{h},{o}"),
                _ => o,
            };
            rs.meta
                .annotations
                .insert(REVISION_HISTORY_ANNOTATION.into(), hist);
        }
    }
    if !exists && set_replicas_annotations(rs, d.replicas, d.replicas + max_surge(d)) {
        changed = true;
    }
    changed
}

/// `rand.SafeEncodeString`: every byte mapped onto the consonant-and-digit alphabet.
pub fn safe_encode_string(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// `controller.ComputeHash`: FNV-32a of the pod template (and the collision count), printed
/// in decimal and safe-encoded, as the `pod-template-hash` label. Upstream hashes Go's
/// `spew` dump of the template; kubesim hashes its own canonical rendering, so the value has
/// the same form but not the same digits.
pub fn compute_hash(t: &PodTemplate, collision_count: Option<i32>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(format!("{t:?}").as_bytes());
    if let Some(c) = collision_count {
        feed(&(c as u32).to_le_bytes());
    }
    safe_encode_string(&h.to_string())
}

/// `EqualIgnoreHash`: templates equal once the pod-template-hash label is dropped.
pub fn equal_ignore_hash(a: &PodTemplate, b: &PodTemplate) -> bool {
    let strip = |t: &PodTemplate| {
        let mut t = t.clone();
        t.labels.remove(POD_TEMPLATE_HASH_LABEL);
        t
    };
    strip(a) == strip(b)
}

/// Sort key of `controller.ReplicaSetsByCreationTimestamp` (then by name).
pub fn by_creation(rs: &ReplicaSet) -> (SimTime, String) {
    (rs.meta.creation_timestamp, rs.meta.name.clone())
}

/// One ReplicaSet write decided by a planning step: new `spec.replicas` and the replicas
/// annotations of the deployment; `from != to` means a `ScalingReplicaSet` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleOp {
    pub name: String,
    pub from: i32,
    pub to: i32,
    /// "up" or "down".
    pub direction: &'static str,
    pub desired_annotation: i32,
    pub max_annotation: i32,
}

/// `scaleReplicaSet`: writes when the size or the replicas annotations differ; changes the
/// local copy as the returned object would.
pub fn scale_replica_set(
    rs: &mut ReplicaSet,
    new_scale: i32,
    d: &Deployment,
    direction: &'static str,
    ops: &mut Vec<ScaleOp>,
) -> bool {
    let size_changed = rs.replicas != new_scale;
    let max = d.replicas + max_surge(d);
    let ann = replicas_annotations_need_update(rs, d.replicas, max);
    if !size_changed && !ann {
        return false;
    }
    ops.push(ScaleOp {
        name: rs.meta.name.clone(),
        from: rs.replicas,
        to: new_scale,
        direction,
        desired_annotation: d.replicas,
        max_annotation: max,
    });
    rs.replicas = new_scale;
    set_replicas_annotations(rs, d.replicas, max);
    size_changed
}

/// `scaleReplicaSetAndRecordEvent`: nothing when the size is already right.
pub fn scale_and_record(
    rs: &mut ReplicaSet,
    new_scale: i32,
    d: &Deployment,
    ops: &mut Vec<ScaleOp>,
) -> bool {
    if rs.replicas == new_scale {
        return false;
    }
    let dir = if rs.replicas < new_scale {
        "up"
    } else {
        "down"
    };
    scale_replica_set(rs, new_scale, d, dir, ops)
}

/// `reconcileNewReplicaSet` (rolling.go): scale the new ReplicaSet up within the surge, or
/// down to the desired count.
pub fn reconcile_new_replica_set(
    all: &[&ReplicaSet],
    new_rs: &mut ReplicaSet,
    d: &Deployment,
    ops: &mut Vec<ScaleOp>,
) -> bool {
    if new_rs.replicas == d.replicas {
        return false;
    }
    if new_rs.replicas > d.replicas {
        return scale_and_record(new_rs, d.replicas, d, ops);
    }
    let n = new_rs_new_replicas(d, all, new_rs);
    scale_and_record(new_rs, n, d, ops)
}

/// `reconcileOldReplicaSets` (rolling.go): first drop unhealthy old replicas, then scale old
/// ReplicaSets down as far as `minAvailable` allows. `old` holds the active old ReplicaSets.
pub fn reconcile_old_replica_sets(
    old: &mut [ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    ops: &mut Vec<ScaleOp>,
) -> bool {
    let old_pods = replica_count(old.iter());
    if old_pods == 0 {
        return false;
    }
    let all_pods = old_pods + new_rs.map_or(0, |r| r.replicas);
    let min_avail = d.replicas - max_unavailable(d);
    let new_unavailable = new_rs.map_or(0, |r| r.replicas - r.status.available_replicas);
    let max_scaled_down = all_pods - min_avail - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    let cleanup = cleanup_unhealthy_replicas(old, d, max_scaled_down, ops);
    let scaled = scale_down_old_replica_sets_for_rolling_update(old, new_rs, d, ops);
    cleanup + scaled > 0
}

/// `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable replicas,
/// oldest first, at most `max_cleanup` in all. Returns how many were removed.
pub fn cleanup_unhealthy_replicas(
    old: &mut [ReplicaSet],
    d: &Deployment,
    max_cleanup: i32,
    ops: &mut Vec<ScaleOp>,
) -> i32 {
    old.sort_by_key(by_creation);
    let mut total = 0;
    for rs in old.iter_mut() {
        if total >= max_cleanup {
            break;
        }
        if rs.replicas == 0 || rs.replicas == rs.status.available_replicas {
            continue;
        }
        let n = (max_cleanup - total).min(rs.replicas - rs.status.available_replicas);
        let new_count = rs.replicas - n;
        scale_and_record(rs, new_count, d, ops);
        total += n;
    }
    total
}

/// `scaleDownOldReplicaSetsForRollingUpdate`: scale old ReplicaSets down, oldest first, by
/// the available replicas above `minAvailable`. Returns how many were removed.
pub fn scale_down_old_replica_sets_for_rolling_update(
    old: &mut [ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    ops: &mut Vec<ScaleOp>,
) -> i32 {
    let min_avail = d.replicas - max_unavailable(d);
    let available =
        available_replica_count(old.iter()) + new_rs.map_or(0, |r| r.status.available_replicas);
    if available <= min_avail {
        return 0;
    }
    old.sort_by_key(by_creation);
    let target = available - min_avail;
    let mut total = 0;
    for rs in old.iter_mut() {
        if total >= target {
            break;
        }
        if rs.replicas == 0 {
            continue;
        }
        let n = rs.replicas.min(target - total);
        let new_count = rs.replicas - n;
        scale_and_record(rs, new_count, d, ops);
        total += n;
    }
    total
}

/// `getReplicaSetFraction`: this ReplicaSet's share of a resize, by the max-replicas
/// annotation it was last scaled for (proportional scaling).
pub fn replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if d.replicas == 0 {
        return -rs.replicas;
    }
    let deployment_replicas = d.replicas + max_surge(d);
    let annotated = match annotation_i32(rs, MAX_REPLICAS_ANNOTATION) {
        Some(m) if m != 0 => m,
        _ => {
            if d.status.replicas == 0 {
                return 0;
            }
            d.status.replicas
        }
    };
    let new_size = rs.replicas as f64 * deployment_replicas as f64 / annotated as f64;
    // integer.RoundToInt32: math.Round, half away from zero.
    new_size.round() as i32 - rs.replicas
}

/// `GetProportion`.
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let frac = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        frac.min(allowed)
    } else {
        frac.max(allowed)
    }
}

#[cfg(test)]
mod tests;
