//! Unit tests of `deployment_util`: upstream `deployment_util_test.go`, `rolling_test.go`,
//! `sync_test.go` and `progress_test.go` tables (fenceposts, conditions, annotations, scaling).

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
