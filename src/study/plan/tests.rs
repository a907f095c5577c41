//! Parsing of cases and goals, and which times a goal judges.

use super::*;
use crate::sim::SimTime;

fn pools() -> Vec<PoolInfo> {
    vec![PoolInfo {
        name: "worker".into(),
        zones: vec!["a".into(), "b".into()],
        scenario_count: 3,
    }]
}

fn zones() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

#[test]
fn cases_parse_and_each_zone_down_expands_per_zone() {
    let c = parse_case("each-zone-down:10m", &zones(), &pools()).expect("valid");
    let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["zone-down:a:10m0s", "zone-down:b:10m0s"]);
    assert_eq!(
        parse_case("nodes-down:worker:2", &zones(), &pools()).expect("valid")[0].kind,
        CaseKind::NodesDown {
            pool: "worker".into(),
            k: 2,
            duration: None
        }
    );
    assert_eq!(
        parse_case("timeline", &zones(), &pools()).expect("valid")[0].kind,
        CaseKind::Timeline
    );
    for bad in [
        "zone-down:c",
        "nodes-down:gpu:1",
        "nodes-down:worker:0",
        "zone-down:a:10x",
        "meteor",
    ] {
        assert!(parse_case(bad, &zones(), &pools()).is_err(), "{bad}");
    }
    let e = parse_case("zone-down:aa", &zones(), &pools()).expect_err("unknown zone");
    assert!(e.contains("did you mean `a`"), "{e}");
}

#[test]
fn goals_parse_and_never_below_is_available_without_grace() {
    let g = parse_goal("web:available>=100%:within=10m").expect("valid");
    assert_eq!(
        (g.workload.as_str(), g.min_percent, g.within),
        ("web", 100.0, SimDuration::from_mins(10))
    );
    let n = parse_goal("prod/api:never-below=66%").expect("valid");
    assert_eq!((n.min_percent, n.within), (66.0, SimDuration::ZERO));
    for bad in [
        "web",
        "web:available>=101%",
        "web:available>=50",
        "web:never-below=50%:within=1m",
        "web:available>=50%:after=1m",
        ":never-below=5%",
    ] {
        assert!(parse_goal(bad).is_err(), "{bad}");
    }
}

#[test]
fn judged_times_skip_the_grace_after_each_fault() {
    let t = |s: u64| SimTime::from_secs(s);
    let w = SimDuration::from_secs(100);
    let end = t(1000);
    // One fault at 200 s: judged from 300 s to the end.
    assert_eq!(judged(&[t(200)], w, end), vec![(t(300), end)]);
    // A second fault at 500 s: 300 s up to just before 500 s, then from 600 s.
    assert_eq!(
        judged(&[t(200), t(500)], w, end),
        vec![(t(300), SimTime(t(500).as_nanos() - 1)), (t(600), end)]
    );
    // Overlapping graces merge; no grace judges from the first fault on.
    assert_eq!(judged(&[t(200), t(250)], w, end), vec![(t(350), end)]);
    assert_eq!(
        judged(&[t(200), t(250)], SimDuration::ZERO, end),
        vec![(t(200), end)]
    );
    assert!(judged(&[], w, end).is_empty());
}

#[test]
fn nodes_down_takes_the_first_nodes_in_build_order() {
    assert_eq!(
        pool_node_names(&pools()[0], 2),
        ["worker-a-0", "worker-a-1", "worker-b-0", "worker-b-1"]
    );
}

#[test]
fn a_variant_sets_the_counts_drops_expect_and_replaces_the_timeline() {
    let base: Value = serde_yaml::from_str(
        "name: t\ncluster:\n  nodePools:\n  - {name: worker, count: 3, zones: [a, b]}\n\
         timeline:\n- {at: 1m, nodeCrash: {zones: [a]}}\nexpect:\n- podCount: {count: 1}\n",
    )
    .expect("yaml");
    let case = Case {
        name: "nodes-down:worker:3:5m".into(),
        kind: CaseKind::NodesDown {
            pool: "worker".into(),
            k: 3,
            duration: Some(SimDuration::from_mins(5)),
        },
    };
    let text = eval::variant_text(&base, &pools(), &[2], &case, SimDuration::from_secs(90))
        .expect("variant");
    let v: Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(v["cluster"]["nodePools"][0]["count"], 2);
    assert!(v.get("expect").is_none());
    let t = &v["timeline"][0];
    assert_eq!(
        (t["at"].as_str(), t["duration"].as_str()),
        (Some("1m30s"), Some("5m0s"))
    );
    let nodes: Vec<&str> = t["nodeCrash"]["nodes"]
        .as_sequence()
        .expect("nodes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(nodes, ["worker-a-0", "worker-a-1", "worker-b-0"]);
    let own = Case {
        name: "timeline".into(),
        kind: CaseKind::Timeline,
    };
    let text = eval::variant_text(&base, &pools(), &[4], &own, SimDuration::ZERO).expect("variant");
    let v: Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(v["timeline"][0]["nodeCrash"]["zones"][0], "a");
    assert_eq!(v["cluster"]["nodePools"][0]["count"], 4);
}

/// `failure-models` keeps the models and drops the fixed timeline; a synthetic case drops the
/// models (it is its one fault); `timeline` keeps both as written.
#[test]
fn failure_models_case_keeps_the_models_and_synthetic_cases_drop_them() {
    let base: Value = serde_yaml::from_str(
        "name: t\ncluster:\n  nodePools:\n  - {name: worker, count: 3, zones: [a, b]}\n\
         timeline:\n- {at: 1m, nodeCrash: {zones: [a]}}\nfailureModels:\n\
         - {target: zone, failures: {distribution: fixed, mtbf: 2m}}\n",
    )
    .expect("yaml");
    let models = parse_case("failure-models", &zones(), &pools()).expect("valid");
    assert_eq!(models[0].kind, CaseKind::FailureModels);
    let v = |case: &Case| -> Value {
        let text = eval::variant_text(&base, &pools(), &[3], case, SimDuration::from_secs(90))
            .expect("variant");
        serde_yaml::from_str(&text).expect("yaml")
    };
    let m = v(&models[0]);
    assert!(m.get("timeline").is_none());
    assert_eq!(m["failureModels"][0]["target"], "zone");
    let zone = &parse_case("zone-down:b", &zones(), &pools()).expect("valid")[0];
    let z = v(zone);
    assert!(z.get("failureModels").is_none());
    assert_eq!(z["timeline"][0]["nodeCrash"]["zones"][0], "b");
    let own = v(&parse_case("timeline", &zones(), &pools()).expect("valid")[0]);
    assert!(own.get("failureModels").is_some() && own.get("timeline").is_some());
}

/// Over seeds: passed only if every seed passed; the lowest goal metric and its worst point
/// (named by seed); the first error; engine events summed.
#[test]
fn seeds_combine_into_the_worst_one() {
    let o = |passed, pct: f64, worst: &str, error: Option<&str>| Outcome {
        passed,
        min_available_percent: pct,
        goal: "g".into(),
        worst: worst.into(),
        nodes: 4,
        engine_events: 10,
        error: error.map(String::from),
    };
    let c = eval::combine_seeds(vec![
        (1, o(true, 100.0, "w1", None)),
        (2, o(false, 50.0, "w2", None)),
        (3, o(false, 50.0, "w3", Some("stopped"))),
    ]);
    assert!(!c.passed);
    assert_eq!(c.min_available_percent, 50.0);
    assert_eq!(c.worst, "seed 2: w2");
    assert_eq!(c.error.as_deref(), Some("seed 3: stopped"));
    assert_eq!((c.engine_events, c.nodes), (30, 4));
    let all = eval::combine_seeds(vec![(5, o(true, 100.0, "w", None))]);
    assert!(all.passed && all.error.is_none());
}
