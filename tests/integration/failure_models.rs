//! `failureModels:` end to end: the drawn faults follow the fixed timeline, start in the
//! event log at their drawn times, change with `--seed` and are checked like the rest of the
//! scenario (docs/failure-models.md).

use kubesim::run::{run, RunOptions};
use kubesim::scenario::{self, FaultKind, TimelineKind};

use crate::support::*;

const TEXT: &str = "name: mc
seed: 3
duration: 2h
cluster:
  nodePools:
  - name: worker
    count: 2
    zones: [zone-a, zone-b]
    capacity: {cpu: \"4\", memory: 16Gi}
timeline:
- at: 10m
  duration: 1m
  kubeletStop: {nodes: [worker-zone-b-1]}
failureModels:
- target: node
  select: {zones: [zone-a]}
  fault: nodeCrash
  failures: {distribution: exponential, mtbf: 40m}
  repairs: {distribution: fixed, mttr: 5m}
- target: apiServer
  failures: {distribution: weibull, shape: 2, scale: 1h}
  repairs: {distribution: exponential, mttr: 30s}
";

/// The timeline is the fixed entry, then every drawn fault; each starts (`FaultStarted` on
/// `Fault/<index>`) exactly at its drawn time, and a crash drawn on a zone-a node ends after
/// the fixed 5 min repair.
#[test]
fn drawn_faults_start_at_their_drawn_times() {
    let s = from_yaml("mc", TEXT);
    assert_eq!(s.fixed_timeline, 1);
    assert!(s.timeline.len() > 1, "seed 3 draws some faults in 2 h");
    let out = run(&s, &RunOptions::default());
    for (i, e) in s.timeline.iter().enumerate() {
        let obj = format!("Fault/{i}");
        let starts: Vec<u64> = out
            .records
            .iter()
            .filter(|r| r.reason == "FaultStarted" && r.object == obj)
            .map(|r| r.t.as_nanos())
            .collect();
        assert_eq!(starts, vec![e.at.as_nanos()], "{obj} {}", e.label);
        if i >= s.fixed_timeline {
            if let TimelineKind::Fault(FaultKind::NodeCrash { machines }) = &e.kind {
                assert_eq!(machines.len(), 1);
                assert!(s.nodes[machines[0] as usize].meta.name.contains("zone-a"));
                assert_eq!(e.duration, Some(kubesim::sim::SimDuration::from_secs(300)));
            }
        }
    }
    assert!(out.faults.len() == s.timeline.len());
}

/// `--seed` draws the faults again (the run and `Scenario::with_seed` agree); the file's own
/// seed gives the faults it loaded with.
#[test]
fn another_seed_draws_other_faults() {
    let s = from_yaml("mc-seed", TEXT);
    let reseeded = s.clone().with_seed(11).expect("under the cap");
    let times = |s: &scenario::Scenario| -> Vec<u64> {
        s.timeline.iter().map(|e| e.at.as_nanos()).collect()
    };
    assert_ne!(times(&s), times(&reseeded));
    assert_eq!(
        times(&s),
        times(&s.clone().with_seed(3).expect("under the cap"))
    );
    let out = run(
        &s,
        &RunOptions {
            seed: Some(11),
            ..Default::default()
        },
    );
    let started: Vec<u64> = out
        .records
        .iter()
        .filter(|r| r.reason == "FaultStarted")
        .map(|r| r.t.as_nanos())
        .collect();
    let mut want = times(&reseeded);
    want.sort();
    assert_eq!(started, want);
}

fn error_of(text: &str) -> String {
    let p = scratch("mc-err").join("s.yaml");
    std::fs::write(&p, text).expect("write");
    scenario::load(&p, &[]).expect_err("must fail").to_string()
}

#[test]
fn bad_failure_models_are_input_errors() {
    let e = error_of(&TEXT.replace("target: node", "target: nodes"));
    assert!(
        e.contains("failureModels[0].target") && e.contains("did you mean `node`?"),
        "{e}"
    );
    let e = error_of(&TEXT.replace("exponential, mtbf", "exponentail, mtbf"));
    assert!(e.contains("failureModels[0].failures.distribution"), "{e}");
    let e = error_of(&TEXT.replace("mtbf: 40m", "mttr: 40m"));
    assert!(e.contains("failureModels[0].failures.mttr"), "{e}");
    let e = error_of(&TEXT.replace("fault: nodeCrash", "fault: apiServerUnavailable"));
    assert!(e.contains("failureModels[0].fault"), "{e}");
    let e = error_of(&TEXT.replace("shape: 2", "shape: 0"));
    assert!(e.contains("failureModels[1].failures.shape"), "{e}");
    let e = error_of(&TEXT.replace("zones: [zone-a]}", "zones: [zone-q]}"));
    assert!(e.contains("failureModels[0].select.zones"), "{e}");
    // A misspelt field: serde's line and column (of the model's mapping) and a suggestion.
    let e = error_of(&TEXT.replace(
        "  repairs: {distribution: fixed",
        "  repair: {distribution: fixed",
    ));
    assert!(
        e.contains("s.yaml:19:3") && e.contains("did you mean `repairs`?"),
        "{e}"
    );
    // Too many faults for the cap.
    let e = error_of(&TEXT.replace("mtbf: 40m}", "mtbf: 40m}\n  maxFaults: 1"));
    assert!(e.contains("maxFaults (1)"), "{e}");
}
