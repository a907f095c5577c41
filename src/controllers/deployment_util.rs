//! The Deployment controller's arithmetic, as pure functions over model objects: fenceposts
//! (`maxSurge` rounds up, `maxUnavailable` rounds down), replica counts over ReplicaSets, the
//! Progressing/Available conditions, revisions and the replicas annotations, the pod template
//! hash, and the rolling-update planning steps.
//!
//! Upstream: `pkg/controller/deployment/util/deployment_util.go`, `rolling.go`, `sync.go`,
//! `recreate.go`, `progress.go` (kubernetes/kubernetes); the tests below port its tables and
//! keep each upstream case name.
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
mod tests {
    use super::*;

    fn pct(s: &str) -> IntOrString {
        IntOrString::Str(s.into())
    }

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            replicas,
            strategy: DeploymentStrategy::RollingUpdate {
                max_surge: Some(surge),
                max_unavailable: Some(unavailable),
            },
            ..Default::default()
        }
    }

    fn rs(name: &str, replicas: i32, available: i32, created_s: u64) -> ReplicaSet {
        let mut r = ReplicaSet {
            replicas,
            ..Default::default()
        };
        r.meta.name = name.into();
        r.meta.creation_timestamp = SimTime::from_secs(created_s);
        r.status.replicas = replicas;
        r.status.available_replicas = available;
        r
    }

    // deployment_util_test.go TestResolveFenceposts, cases 0-6.
    #[test]
    #[allow(clippy::type_complexity)]
    fn test_resolve_fenceposts() {
        let cases: &[(Option<&str>, Option<&str>, i32, i32, i32, bool)] = &[
            (Some("0%"), Some("0%"), 0, 0, 1, false),
            (Some("39%"), Some("39%"), 10, 4, 3, false),
            (Some("oops"), Some("39%"), 10, 0, 0, true),
            (Some("55%"), Some("urg"), 10, 0, 0, true),
            (None, Some("39%"), 10, 0, 3, false),
            (Some("39%"), None, 10, 4, 0, false),
            (None, None, 10, 0, 1, false),
        ];
        for (i, (s, u, desired, es, eu, err)) in cases.iter().enumerate() {
            let s = s.map(pct);
            let u = u.map(pct);
            let got = resolve_fenceposts(s.as_ref(), u.as_ref(), *desired);
            match got {
                Ok((gs, gu)) => {
                    assert!(!err, "case {i}: expected an error");
                    assert_eq!((gs, gu), (*es, *eu), "case {i}");
                }
                Err(_) => assert!(err, "case {i}: unexpected error"),
            }
        }
    }

    // deployment_util_test.go TestNewRSNewReplicas.
    #[test]
    fn test_new_rs_new_replicas() {
        let cases = [
            ("can not scale up - to newRSReplicas", true, 1, 5, 1, 5),
            ("scale up - to depReplicas", true, 6, 2, 10, 6),
            ("recreate - to depReplicas", false, 3, 1, 1, 3),
        ];
        for (name, rolling, dep, new_replicas, surge, expected) in cases {
            let mut d = deployment(dep, IntOrString::Int(surge), IntOrString::Int(1));
            if !rolling {
                d.strategy = DeploymentStrategy::Recreate;
            }
            let rs5 = rs("rs5", 5, 0, 0);
            let new_rc = rs("new", new_replicas, 0, 0);
            assert_eq!(
                new_rs_new_replicas(&d, &[&rs5], &new_rc),
                expected,
                "{name}"
            );
        }
    }

    // deployment_util_test.go TestMaxUnavailable.
    #[test]
    fn test_max_unavailable() {
        let i = IntOrString::Int;
        let cases = [
            ("maxUnavailable less than replicas", 10, i(5), 5),
            ("maxUnavailable equal replicas", 10, i(10), 10),
            ("maxUnavailable greater than replicas", 5, i(10), 5),
            ("maxUnavailable with replicas is 0", 0, i(10), 0),
            (
                "maxUnavailable less than replicas with percents",
                10,
                pct("50%"),
                5,
            ),
            (
                "maxUnavailable equal replicas with percents",
                10,
                pct("100%"),
                10,
            ),
            (
                "maxUnavailable greater than replicas with percents",
                5,
                pct("100%"),
                5,
            ),
        ];
        for (name, replicas, mu, expected) in cases {
            let d = deployment(replicas, IntOrString::Int(1), mu);
            assert_eq!(max_unavailable(&d), expected, "{name}");
        }
        let recreate = Deployment {
            strategy: DeploymentStrategy::Recreate,
            ..Default::default()
        };
        assert_eq!(
            max_unavailable(&recreate),
            0,
            "maxUnavailable with Recreate deployment strategy"
        );
    }

    // deployment_util_test.go TestMinAvailable.
    #[test]
    fn test_min_available() {
        let i = IntOrString::Int;
        let cases = [
            ("replicas greater than maxUnavailable", 10, i(5), 5),
            ("replicas equal maxUnavailable", 10, i(10), 0),
            ("replicas less than maxUnavailable", 5, i(10), 0),
            ("replicas is 0", 0, i(10), 0),
            (
                "replicas greater than maxUnavailable with percents",
                10,
                pct("60%"),
                4,
            ),
            (
                "replicas equal maxUnavailable with percents",
                10,
                pct("100%"),
                0,
            ),
            (
                "replicas less than maxUnavailable with percents",
                5,
                pct("100%"),
                0,
            ),
        ];
        for (name, replicas, mu, expected) in cases {
            let d = deployment(replicas, IntOrString::Int(1), mu);
            assert_eq!(min_available(&d), expected, "{name}");
        }
        let recreate = Deployment {
            replicas: 10,
            strategy: DeploymentStrategy::Recreate,
            ..Default::default()
        };
        assert_eq!(
            min_available(&recreate),
            0,
            "minAvailable with Recreate deployment strategy"
        );
    }

    // deployment_util_test.go TestDeploymentComplete.
    #[test]
    fn test_deployment_complete() {
        let dep = |desired, current, updated, available, mu, ms| {
            let mut d = deployment(desired, IntOrString::Int(ms), IntOrString::Int(mu));
            d.status.replicas = current;
            d.status.updated_replicas = updated;
            d.status.available_replicas = available;
            d
        };
        let cases = [
            (
                "not complete: min but not all pods become available",
                dep(5, 5, 5, 4, 1, 0),
                false,
            ),
            (
                "not complete: min availability is not honored",
                dep(5, 5, 5, 3, 1, 0),
                false,
            ),
            ("complete", dep(5, 5, 5, 5, 0, 0), true),
            (
                "not complete: all pods are available but not updated",
                dep(5, 5, 4, 5, 0, 0),
                false,
            ),
            (
                "not complete: still running old pods",
                dep(1, 2, 1, 1, 0, 1),
                false,
            ),
            (
                "not complete: one replica deployment never comes up",
                dep(1, 1, 1, 0, 1, 1),
                false,
            ),
        ];
        for (name, d, expected) in cases {
            assert_eq!(deployment_complete(&d, &d.status), expected, "{name}");
        }
    }

    // deployment_util_test.go TestDeploymentProgressing.
    #[test]
    fn test_deployment_progressing() {
        let st = |current, updated, ready, available| DeploymentStatus {
            replicas: current,
            updated_replicas: updated,
            ready_replicas: ready,
            available_replicas: available,
            ..Default::default()
        };
        let cases = [
            (
                "progressing: updated pods",
                st(10, 4, 4, 4),
                st(10, 6, 4, 4),
                true,
            ),
            ("not progressing", st(10, 4, 4, 4), st(10, 4, 4, 4), false),
            (
                "progressing: old pods removed",
                st(10, 4, 6, 6),
                st(8, 4, 6, 6),
                true,
            ),
            (
                "not progressing: less new pods",
                st(10, 7, 3, 3),
                st(10, 6, 3, 3),
                false,
            ),
            (
                "progressing: less overall but more new pods",
                st(10, 4, 7, 7),
                st(8, 8, 5, 5),
                true,
            ),
            (
                "progressing: more ready pods",
                st(10, 10, 9, 8),
                st(10, 10, 10, 8),
                true,
            ),
            (
                "progressing: more available pods",
                st(10, 10, 10, 9),
                st(10, 10, 10, 10),
                true,
            ),
        ];
        for (name, old, new, expected) in cases {
            let d = Deployment {
                status: old,
                ..Default::default()
            };
            assert_eq!(deployment_progressing(&d, &new), expected, "{name}");
        }
    }

    // deployment_util_test.go TestDeploymentTimedOut (times as minutes:seconds of the test).
    #[test]
    fn test_deployment_timed_out() {
        let t = |m: u64, s: u64| SimTime::from_secs(m * 60 + s);
        let dep = |reason: &str, pds: Option<i32>, from: SimTime| {
            let mut d = Deployment {
                progress_deadline_seconds: pds,
                ..Default::default()
            };
            d.status.conditions.push(DeploymentCondition {
                type_: PROGRESSING.into(),
                status: ConditionStatus::True,
                reason: reason.into(),
                message: String::new(),
                last_update_time: from,
                last_transition_time: from,
            });
            d
        };
        let cases = [
            (
                "nil progressDeadlineSeconds specified - no timeout",
                dep("", None, t(1, 9)),
                t(1, 20),
                false,
            ),
            (
                "infinite progressDeadlineSeconds specified - no timeout",
                dep("", Some(i32::MAX), t(1, 9)),
                t(1, 20),
                false,
            ),
            (
                "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s",
                dep("", Some(10), t(1, 9)),
                t(1, 20),
                true,
            ),
            (
                "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s",
                dep("", Some(10), t(1, 11)),
                t(1, 20),
                false,
            ),
            (
                "previous status was a complete deployment",
                dep(NEW_RS_AVAILABLE_REASON, None, SimTime::ZERO),
                t(1, 20),
                false,
            ),
        ];
        for (name, d, now, expected) in cases {
            assert_eq!(deployment_timed_out(&d, &d.status, now), expected, "{name}");
        }
    }

    // deployment_util_test.go TestReplicasAnnotationsNeedUpdate.
    #[test]
    fn test_replicas_annotations_need_update() {
        let with = |desired: Option<&str>, max: Option<&str>| {
            let mut r = ReplicaSet::default();
            if let Some(v) = desired {
                r.meta
                    .annotations
                    .insert(DESIRED_REPLICAS_ANNOTATION.into(), v.into());
            }
            if let Some(v) = max {
                r.meta
                    .annotations
                    .insert(MAX_REPLICAS_ANNOTATION.into(), v.into());
            }
            r
        };
        let cases = [
            ("test Annotations nil", with(None, None), true),
            (
                "test desiredReplicas update",
                with(Some("8"), Some("20")),
                true,
            ),
            (
                "test maxReplicas update",
                with(Some("10"), Some("16")),
                true,
            ),
            ("test needn't update", with(Some("10"), Some("20")), false),
        ];
        for (name, r, expected) in cases {
            assert_eq!(
                replicas_annotations_need_update(&r, 10, 20),
                expected,
                "{name}"
            );
        }
    }

    // deployment_util_test.go TestAnnotationUtils (SetNewReplicaSetAnnotations, SetReplicasAnnotations, IsSaturated).
    #[test]
    fn test_annotation_utils() {
        let mut d = deployment(1, IntOrString::Int(1), IntOrString::Int(1));
        d.meta
            .annotations
            .insert(REVISION_ANNOTATION.into(), "1".into());
        let mut r = ReplicaSet::default();
        for i in 10..20 {
            let next = i + 1;
            set_new_replica_set_annotations(&d, &mut r, next, true);
            assert_eq!(r.meta.annotations[REVISION_ANNOTATION], next.to_string());
        }
        assert!(set_replicas_annotations(&mut r, 10, 11));
        assert_eq!(r.meta.annotations[DESIRED_REPLICAS_ANNOTATION], "10");
        assert_eq!(r.meta.annotations[MAX_REPLICAS_ANNOTATION], "11");
        r.meta
            .annotations
            .insert(DESIRED_REPLICAS_ANNOTATION.into(), "1".into());
        r.status.available_replicas = 1;
        r.replicas = 1;
        assert!(is_saturated(&d, Some(&r)), "IsSaturated");
    }

    // deployment_util_test.go TestGetReplicaSetFraction (the cases without the
    // DeploymentReplicaSetTerminatingReplicas feature gate).
    #[test]
    #[allow(clippy::type_complexity)]
    fn test_get_replica_set_fraction() {
        let cases: &[(&str, i32, i32, i32, Option<&str>, i32)] = &[
            ("empty deployment always scales to 0", 0, 0, 10, None, -10),
            ("unsynced deployment does not scale when max-replicas annotation is missing (removed by a 3rd party)", 10, 0, 5, None, 0),
            ("unsynced deployment does not scale when max-replicas annotation is incorrectly set to 0 (by a 3rd party)", 10, 0, 5, Some("0"), 0),
            ("scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is missing (removed by a 3rd party)", 120, 100, 50, None, 10),
        ];
        for (name, dep, status, replicas, ann, expected) in cases {
            let mut d = deployment(*dep, IntOrString::Int(0), IntOrString::Int(1));
            d.status.replicas = *status;
            let mut r = rs("r", *replicas, 0, 0);
            if let Some(a) = ann {
                r.meta
                    .annotations
                    .insert(MAX_REPLICAS_ANNOTATION.into(), a.to_string());
            }
            assert_eq!(replica_set_fraction(&r, &d), *expected, "{name}");
        }
    }

    // rolling_test.go TestDeploymentController_reconcileNewReplicaSet, scenarios 0-4.
    #[test]
    fn test_reconcile_new_replica_set() {
        let cases = [
            (10, 0, 10, 0, None),
            (10, 2, 10, 0, Some(2)),
            (10, 2, 5, 0, Some(7)),
            (10, 2, 10, 2, None),
            (10, 2, 2, 11, Some(10)),
        ];
        for (i, (dep, surge, old, new, expected)) in cases.into_iter().enumerate() {
            let d = deployment(dep, IntOrString::Int(surge), IntOrString::Int(0));
            let mut new_rs = rs("foo-v2", new, 0, 0);
            let old_rs = rs("foo-v2", old, 0, 0);
            let all_new = new_rs.clone();
            let mut ops = Vec::new();
            let scaled = reconcile_new_replica_set(&[&all_new, &old_rs], &mut new_rs, &d, &mut ops);
            match expected {
                None => {
                    assert!(
                        !scaled && ops.is_empty(),
                        "scenario {i}: unexpected scaling"
                    );
                }
                Some(e) => {
                    assert!(scaled, "scenario {i}: expected scaling");
                    assert_eq!(ops.len(), 1, "scenario {i}");
                    assert_eq!(ops[0].to, e, "scenario {i}");
                }
            }
        }
    }

    // rolling_test.go TestDeploymentController_reconcileOldReplicaSets, scenarios 0-4.
    #[test]
    fn test_reconcile_old_replica_sets() {
        let cases = [
            (10, 0, 10, 0, 10, 0, true, 9),
            (10, 2, 10, 0, 10, 0, true, 8),
            (10, 2, 10, 0, 8, 0, true, 8),
            (10, 2, 10, 0, 9, 0, true, 8),
            (10, 2, 8, 2, 8, 0, false, 0),
        ];
        for (i, (dep, mu, old, new, ready_old, ready_new, scale, expected_old)) in
            cases.into_iter().enumerate()
        {
            let d = deployment(dep, IntOrString::Int(0), IntOrString::Int(mu));
            let new_rs = rs("foo-new", new, ready_new, 1);
            let mut olds = vec![rs("foo-old", old, ready_old, 0)];
            let mut ops = Vec::new();
            let scaled = reconcile_old_replica_sets(&mut olds, Some(&new_rs), &d, &mut ops);
            assert_eq!(scaled, scale, "scenario {i}");
            if scale {
                assert_eq!(olds[0].replicas, expected_old, "scenario {i}");
            }
        }
    }

    // rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas, scenarios 0-3.
    #[test]
    fn test_cleanup_unhealthy_replicas() {
        let cases = [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)];
        for (i, (old, ready, max_cleanup, expected)) in cases.into_iter().enumerate() {
            let d = deployment(10, IntOrString::Int(2), IntOrString::Int(2));
            let mut olds = vec![rs("foo-v2", old, ready, 0)];
            let mut ops = Vec::new();
            let n = cleanup_unhealthy_replicas(&mut olds, &d, max_cleanup, &mut ops);
            assert_eq!(n, expected, "scenario {i}");
        }
    }

    // rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate, 0-4.
    #[test]
    fn test_scale_down_old_replica_sets_for_rolling_update() {
        let cases = [
            (10, 0, 10, 10, Some(9)),
            (10, 2, 10, 10, Some(8)),
            (10, 2, 8, 10, None),
            (10, 2, 10, 0, None),
            (10, 2, 1, 10, None),
        ];
        for (i, (dep, mu, ready, old, expected)) in cases.into_iter().enumerate() {
            let d = deployment(dep, IntOrString::Int(0), IntOrString::Int(mu));
            let mut olds = vec![rs("foo-v2", old, ready, 0)];
            let mut ops = Vec::new();
            let n = scale_down_old_replica_sets_for_rolling_update(&mut olds, None, &d, &mut ops);
            match expected {
                None => assert_eq!(n, 0, "scenario {i}: unexpected scaling"),
                Some(e) => {
                    assert!(n > 0, "scenario {i}: expected scaling");
                    assert_eq!(ops.len(), 1, "scenario {i}");
                    assert_eq!(ops[0].to, e, "scenario {i}");
                }
            }
        }
    }

    #[test]
    fn pod_template_hash_is_stable_and_safe() {
        let t = PodTemplate::default();
        let h = compute_hash(&t, None);
        assert_eq!(h, compute_hash(&t, None));
        assert_ne!(h, compute_hash(&t, Some(1)));
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }
}
