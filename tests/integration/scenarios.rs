//! Every bundled scenario passes its own `expect:` block, under its own seed, under other
//! seeds, and with same-time events shuffled (`--perturb-ties`).

use kubesim::run::{run, RunOptions};

use crate::support::*;

fn assert_passes(out: &kubesim::run::RunOutput, what: &str) {
    let failed: Vec<String> = out
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| {
            format!(
                "{} {}: expected {}, observed {}",
                e.origin, e.description, e.expected, e.observed
            )
        })
        .collect();
    assert!(failed.is_empty(), "{what}:\n{}", failed.join("\n"));
    assert!(out.stop.completed(), "{what}: stopped early");
}

#[test]
fn every_bundled_scenario_passes_its_expectations() {
    for path in bundled_scenarios() {
        let s = load(&path, &[]);
        assert!(
            !s.expectations.is_empty(),
            "{} has no expectations",
            path.display()
        );
        let out = run(
            &s,
            &RunOptions {
                check_invariants: true,
                ..Default::default()
            },
        );
        assert_passes(&out, &path.display().to_string());
        assert!(
            out.invariant_violations.is_empty(),
            "{}: {:?}",
            path.display(),
            out.invariant_violations
        );
    }
}

#[test]
fn bundled_expectations_hold_for_other_seeds_and_shuffled_ties() {
    for path in bundled_scenarios() {
        let s = load(&path, &[]);
        for seed in [1, 2, 3, 1000] {
            let out = run(
                &s,
                &RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            );
            assert_passes(&out, &format!("{} seed {seed}", path.display()));
            let out = run(
                &s,
                &RunOptions {
                    seed: Some(seed),
                    perturb_ties: true,
                    ..Default::default()
                },
            );
            assert_passes(
                &out,
                &format!("{} seed {seed} --perturb-ties", path.display()),
            );
        }
    }
}
