use super::table::{self, stats, t_975};
use super::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn grid_arguments_parse_with_set_syntax_and_reject_ambiguity() {
    let axes = parse_axes(
        &strings(&[
            "kube-controller-manager.node-eviction-rate=0.05,0.1, 0.2",
            "kubelet.nodeStatusUpdateFrequency=10s",
        ]),
        &strings(&["kube-controller-manager.node-monitor-grace-period=40s"]),
    )
    .expect("valid grid");
    assert_eq!(axes.len(), 2);
    assert_eq!(axes[0].flag, "kube-controller-manager.node-eviction-rate");
    assert_eq!(axes[0].values, strings(&["0.05", "0.1", "0.2"]));
    assert_eq!(axes[1].values, strings(&["10s"]));
    let bad = |g: &[&str], f: &[&str]| parse_axes(&strings(g), &strings(f)).unwrap_err();
    assert!(bad(&["node-eviction-rate=1"], &[]).contains("COMPONENT.FLAG"));
    assert!(bad(&["a.b=1,,2"], &[]).contains("empty value"));
    assert!(bad(&["a.b=1,1"], &[]).contains("twice"));
    assert!(bad(&["a.b=1", "a.b=2"], &[]).contains("swept twice"));
    assert!(bad(&["a.b=1"], &["a.b=3"]).contains("both set"));
}

#[test]
fn seeds_and_shards_parse() {
    assert_eq!(parse_seeds("3"), Ok(vec![1, 2, 3]));
    assert_eq!(parse_seeds("5..7"), Ok(vec![5, 6, 7]));
    assert!(parse_seeds("7..5").is_err());
    assert!(parse_seeds("x").is_err());
    assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
    for bad in ["4/4", "1/0", "1", "a/b", "-1/3"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn combinations_turn_like_an_odometer_first_flag_slowest() {
    let axes = vec![
        Axis {
            flag: "a.x".into(),
            values: strings(&["1", "2"]),
        },
        Axis {
            flag: "b.y".into(),
            values: strings(&["p", "q", "r"]),
        },
    ];
    let got: Vec<String> = assignments(&axes)
        .iter()
        .map(|a| {
            a.iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .collect();
    assert_eq!(got, strings(&["1p", "1q", "1r", "2p", "2q", "2r"]));
    assert_eq!(assignments(&[]), vec![Vec::new()]);
}

#[test]
fn shards_partition_the_cells() {
    let n = 11;
    for count in 1..5 {
        let mut seen = vec![0; n];
        for index in 0..count {
            let s = Shard { index, count };
            for (i, c) in seen.iter_mut().enumerate() {
                if s.holds(i) {
                    *c += 1;
                }
            }
        }
        assert!(seen.iter().all(|c| *c == 1), "{count} shards: {seen:?}");
    }
}

#[test]
fn keys_change_with_every_input_and_only_with_them() {
    let a = vec![("k.f".to_string(), "1".to_string())];
    let b = vec![("k.f".to_string(), "2".to_string())];
    let k = cell_key("fnv1a64:1", &a, 1);
    assert_eq!(k, cell_key("fnv1a64:1", &a, 1));
    assert_eq!(k.len(), 16);
    assert_ne!(k, cell_key("fnv1a64:2", &a, 1));
    assert_ne!(k, cell_key("fnv1a64:1", &b, 1));
    assert_ne!(k, cell_key("fnv1a64:1", &a, 2));
}

#[test]
fn summaries_flatten_to_numeric_leaves_by_dotted_path() {
    let v: serde_json::Value = serde_json::from_str(
        r#"{"seed": 3, "digest": "fnv1a64:00", "scenario": "s", "evictions_total": 4,
            "evictions_by_zone": {"zone-a": 4},
            "faults": [{"label": "x", "start_s": "58.000", "time_to_taint_s": null,
                        "nodes": 1, "flag": true}],
            "expectations": [{"expected": "5", "observed": "5", "passed": true}],
            "ratio": -0.25}"#,
    )
    .expect("json");
    let got = flatten_metrics(&v);
    let want: Vec<(String, Option<String>)> = vec![
        ("evictions_by_zone.zone-a".into(), Some("4".into())),
        ("evictions_total".into(), Some("4".into())),
        ("faults.0.nodes".into(), Some("1".into())),
        ("faults.0.start_s".into(), Some("58.000".into())),
        ("faults.0.time_to_taint_s".into(), None),
        ("ratio".into(), Some("-0.25".into())),
    ];
    assert_eq!(got, want);
    for (s, ok) in [
        ("1", true),
        ("-2.50", true),
        ("1.", false),
        (".5", false),
        ("NaN", false),
        ("inf", false),
        ("1e5", false),
        ("", false),
    ] {
        assert_eq!(is_decimal(s), ok, "{s:?}");
    }
}

#[test]
fn t_quantiles_come_from_the_table_conservatively_between_rows() {
    assert_eq!(t_975(1), 12.706);
    assert_eq!(t_975(19), 2.093);
    assert_eq!(t_975(30), 2.042);
    // Between rows 30 and 40 the smaller df's (wider) value.
    assert_eq!(t_975(35), 2.042);
    assert_eq!(t_975(100_000), 1.962);
}

#[test]
fn statistics_use_the_sample_deviation_and_students_t() {
    // 2,4,4,4,5,5,7,9: mean 5, sum of squares 32, sample variance 32/7;
    // half width t(0.975, 7) = 2.365 × sqrt(32/7) / sqrt(8).
    let s = stats(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("values");
    let sd = (32.0_f64 / 7.0).sqrt();
    let half = 2.365 * sd / 8.0_f64.sqrt();
    assert_eq!((s.n, s.mean, s.min, s.max), (8, 5.0, 2.0, 9.0));
    assert!((s.std.expect("n > 1") - sd).abs() < 1e-12);
    let (lo, hi) = s.ci95.expect("n > 1");
    assert!((lo - (5.0 - half)).abs() < 1e-12 && (hi - (5.0 + half)).abs() < 1e-12);
    let one = stats(&[3.0]).expect("one value");
    assert_eq!((one.std, one.ci95), (None, None));
    assert!(stats(&[]).is_none());
}

fn rec(v: &str, seed: u64, metrics: &[(&str, Option<&str>)]) -> CellRecord {
    CellRecord {
        key: format!("{v}-{seed}"),
        assignment: vec![("k.rate".into(), v.into())],
        seed,
        digest: format!("fnv1a64:{seed:016x}"),
        events: 10 * seed,
        metrics: metrics
            .iter()
            .map(|(k, x)| (k.to_string(), x.map(str::to_string)))
            .collect(),
    }
}

#[test]
fn tables_have_one_row_per_cell_and_per_combination_and_metric() {
    let axes = vec![Axis {
        flag: "k.rate".into(),
        values: strings(&["0.1", "0.2"]),
    }];
    let records = vec![
        rec(
            "0.1",
            1,
            &[("faults.10.t", Some("1.000")), ("faults.2.t", None)],
        ),
        rec(
            "0.1",
            2,
            &[("faults.10.t", Some("3.000")), ("faults.2.t", Some("7"))],
        ),
        rec("0.2", 1, &[("faults.10.t", Some("5.5"))]),
    ];
    let cells = String::from_utf8(table::cells_csv(&axes, &records)).expect("utf8");
    assert_eq!(
        cells,
        "k.rate,seed,digest,events,faults.2.t,faults.10.t\n\
         0.1,1,fnv1a64:0000000000000001,10,,1.000\n\
         0.1,2,fnv1a64:0000000000000002,20,7,3.000\n\
         0.2,1,fnv1a64:0000000000000001,10,,5.5\n"
    );
    let agg = String::from_utf8(table::aggregate_csv(&axes, &records)).expect("utf8");
    // 1 and 3: mean 2, sample std sqrt(2), half width 12.706 × sqrt(2) / sqrt(2) = 12.706.
    assert_eq!(
        agg,
        "k.rate,metric,n,mean,std,min,max,ci95_low,ci95_high\n\
         0.1,events,2,15,7.071068,10,20,-48.53,78.53\n\
         0.1,faults.2.t,1,7,,7,7,,\n\
         0.1,faults.10.t,2,2,1.414214,1,3,-10.706,14.706\n\
         0.2,events,1,10,,10,10,,\n\
         0.2,faults.2.t,0,,,,,,\n\
         0.2,faults.10.t,1,5.5,,5.5,5.5,,\n"
    );
}

#[test]
fn the_default_metric_prefers_the_last_taint_then_evictions() {
    let r = rec("1", 1, &[("a", Some("1")), ("evictions_total", Some("2"))]);
    assert_eq!(table::default_metric(&[r]), Some("evictions_total".into()));
    let r = rec(
        "1",
        1,
        &[
            ("evictions_total", Some("2")),
            ("faults.0.time_to_last_taint_s", Some("30.000")),
        ],
    );
    assert_eq!(
        table::default_metric(&[r]),
        Some("faults.0.time_to_last_taint_s".into())
    );
}

#[test]
fn the_emitted_job_is_an_indexed_job_with_the_shard_from_the_completion_index() {
    let req = job::JobRequest {
        name: "kubesim-sweep-demo",
        image: "example.com/kubesim:1",
        shards: 3,
        files: vec![
            ("demo.yaml".into(), "name: demo\nduration: 1m\n".into()),
            ("manifests/web.yaml".into(), "kind: Pod\n".into()),
        ],
        grid: strings(&["kube-controller-manager.node-eviction-rate=0.05,0.1"]),
        fixed: vec![],
        seeds: "1..4".into(),
        jobs: 1,
        metric: None,
        results_pvc: Some("sweep-results"),
        results_path: "/results",
    };
    let text = job::render(&req).expect("renders");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("yaml"))
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["kind"].as_str(), Some("ConfigMap"));
    assert_eq!(
        docs[0]["data"]["manifests__web.yaml"].as_str(),
        Some("kind: Pod\n")
    );
    let j = &docs[1];
    assert_eq!(j["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(j["spec"]["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(j["spec"]["completions"].as_u64(), Some(3));
    assert_eq!(j["spec"]["parallelism"].as_u64(), Some(3));
    let pod = &j["spec"]["template"]["spec"];
    let args: Vec<&str> = pod["containers"][0]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(&args[..2], &["sweep", "/scenario/demo.yaml"]);
    let after = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
    assert_eq!(after("--shard"), Some("$(JOB_COMPLETION_INDEX)/3"));
    assert_eq!(
        after("--out"),
        Some("/results/shard-$(JOB_COMPLETION_INDEX)")
    );
    assert_eq!(after("--seeds"), Some("1..4"));
    assert_eq!(
        pod["volumes"][1]["persistentVolumeClaim"]["claimName"].as_str(),
        Some("sweep-results")
    );
    assert_eq!(
        pod["volumes"][0]["configMap"]["items"][1]["path"].as_str(),
        Some("manifests/web.yaml")
    );
    assert!(job::config_key("a b.yaml").is_err());
    assert_eq!(job::job_name("Zone Full!"), "kubesim-sweep-zone-full");
}
