//! The capacity time series (issue 16): per-zone requested CPU against the placed pods, the
//! drop when a zone goes down, pending pods by the scheduler's reason, and `metrics.csv`.

use kubesim::model::PodPhase;
use kubesim::run::state_at;
use kubesim::sim::SimTime;

use crate::support::{load, root, run_with};

fn zone_of(node: &str) -> &str {
    // capacity-zone-loss's pool `worker` names its nodes worker-<zone>-<i>.
    node.split('-').nth(1).unwrap_or("")
}

/// capacity-zone-loss: 3 zones × 5 nodes × 4 CPU, 60 one-CPU pods, zone a crashes for good at
/// 120 s (the scenario's header derives 20 pods per zone and 20 replacements left Pending).
#[test]
fn zone_requested_cpu_is_the_placed_pods_requests_and_drops_with_the_zone() {
    let path = root().join("scenarios/capacity-zone-loss.yaml");
    let out = run_with(&path, &[], None);
    let ts = &out.timeseries;
    let crash = 120.0;
    for zone in ["a", "b", "c"] {
        let req = ts
            .column(&format!("zone_cpu_requested_cores_{zone}"))
            .unwrap();
        let alloc = ts
            .column(&format!("zone_cpu_allocatable_cores_{zone}"))
            .unwrap();
        for ((t, r), (_, a)) in req.iter().zip(&alloc) {
            // From the event log: every pod the scheduler bound to a node of the zone up to
            // the sample (none is deleted from b or c; a's stay, Terminating, on dead machines),
            // one CPU each; nothing of zone a once its machines are down.
            let placed = out
                .records
                .iter()
                .filter(|x| x.reason == "Scheduled" && x.t.as_secs_f64() <= *t)
                .filter(|x| {
                    x.fields
                        .iter()
                        .any(|(k, v)| *k == "node" && zone_of(v) == zone)
                })
                .count() as f64;
            let down = zone == "a" && *t >= crash;
            assert_eq!(*r, if down { 0.0 } else { placed }, "zone {zone} at {t}s");
            // 5 nodes × 4 CPU while the machines run.
            assert_eq!(*a, if down { 0.0 } else { 20.0 }, "zone {zone} at {t}s");
        }
        // Full before the crash: 20 pods per zone (the zone spread and the default spreading).
        let at = |x: f64| req.iter().find(|(t, _)| *t == x).unwrap().1;
        assert_eq!(at(110.0), 20.0, "zone {zone}");
        assert_eq!(at(1790.0), if zone == "a" { 0.0 } else { 20.0 });
    }
    // The 20 replacements stay Pending: every node is full (10 of 15: Insufficient cpu) or
    // tainted (5), so their reason is Insufficient cpu.
    let pending = ts.column("pending_insufficient_cpu").unwrap();
    assert_eq!(pending.last().unwrap().1, 20.0);
    assert_eq!(
        ts.column("pods_running_on_up_nodes")
            .unwrap()
            .last()
            .unwrap()
            .1,
        40.0
    );
}

/// The same figures computed from the cluster's state at a few sample times, independently of
/// the sampler: the sum of the containers' CPU requests of the non-terminal pods bound to a
/// running machine of the zone.
#[test]
fn zone_requested_cpu_matches_the_state() {
    let path = root().join("scenarios/capacity-zone-loss.yaml");
    let s = load(&path, &[]);
    let out = run_with(&path, &[], None);
    for t in [60u64, 120, 600] {
        let c = state_at(&s, SimTime::from_secs(t));
        let mut by_zone = std::collections::BTreeMap::new();
        for p in c.api.pods().values() {
            if matches!(p.status.phase, PodPhase::Succeeded | PodPhase::Failed) {
                continue;
            }
            let Some(node) = p.spec.node_name.as_deref() else {
                continue;
            };
            let m = c.machine_by_name[node];
            if !c.machine_running(m) {
                continue;
            }
            let cpu: i64 = p.spec.containers.iter().map(|k| k.requests.cpu_milli).sum();
            *by_zone.entry(zone_of(node).to_string()).or_insert(0i64) += cpu;
        }
        for zone in ["a", "b", "c"] {
            let series = out
                .timeseries
                .column(&format!("zone_cpu_requested_cores_{zone}"))
                .unwrap();
            let sampled = series.iter().find(|(x, _)| *x == t as f64).unwrap().1;
            let want = *by_zone.get(zone).unwrap_or(&0) as f64 / 1000.0;
            assert_eq!(sampled, want, "zone {zone} at {t}s");
        }
    }
}

/// `metrics.csv` holds every value of `timeseries.csv` under a valid Prometheus metric name
/// and label set (https://prometheus.io/docs/concepts/data_model/).
#[test]
fn metrics_csv_is_the_wide_table_in_prometheus_names() {
    let out = run_with(&crate::support::quick_start(), &[], None);
    let ts = &out.timeseries;
    let text = String::from_utf8(ts.to_metrics_csv()).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["timestamp_s", "metric", "labels", "value"]
    );
    let name_ok = |s: &str| {
        let mut c = s.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), ts.rows.len() * (ts.columns.len() - 1));
    for (k, r) in rows.iter().enumerate() {
        assert!(name_ok(&r[1]), "{}", &r[1]);
        for pair in r[2].split("\",").filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once("=\"").unwrap();
            assert!(name_ok(name) && !name.starts_with("__"), "{pair}");
            assert!(!value.is_empty());
        }
        let (row, col) = (k / (ts.columns.len() - 1), 1 + k % (ts.columns.len() - 1));
        let v: f64 = r[3].parse().unwrap();
        assert!((v - ts.rows[row][col]).abs() < 1e-3, "{:?}", r);
        assert_eq!(r[0].parse::<f64>().unwrap(), ts.rows[row][0]);
    }
    let zone = rows
        .iter()
        .find(|r| &r[1] == "kubesim_zone_cpu_requested_cores")
        .unwrap();
    assert!(zone[2].starts_with("zone=\""), "{:?}", zone);
}
