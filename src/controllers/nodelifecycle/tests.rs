//! Unit tests of the node lifecycle controller's zone states (`ComputeZoneState`); the
//! upstream controller test ports are in `controllers/reference_tests.rs`.

use super::*;
use ConditionStatus::*;

fn conds(ready: usize, not_ready: usize) -> Vec<Option<ConditionStatus>> {
    let mut v = vec![Some(True); ready];
    v.extend(vec![Some(Unknown); not_ready]);
    v
}

// Reference §7.1 (Z3–Z5) and §7.8 (D1, D2, D4, D5, D7): ComputeZoneState boundaries.
#[test]
fn compute_zone_state_reference_cases() {
    let th = 0.55;
    // Z3 pass 1: nodes with no Ready condition count as not ready.
    assert_eq!(
        compute_zone_state(&[None, None, None, None], th),
        ZoneState::FullDisruption
    );
    // Z3 pass 2: U,U,U,R -> Partial (0.75).
    assert_eq!(
        compute_zone_state(&conds(1, 3), th),
        ZoneState::PartialDisruption
    );
    // Z4: 2 not-ready of 5 -> Normal; 3 of 5 -> Partial.
    assert_eq!(compute_zone_state(&conds(3, 2), th), ZoneState::Normal);
    assert_eq!(
        compute_zone_state(&conds(2, 3), th),
        ZoneState::PartialDisruption
    );
    // Z5: U,U,R -> Normal; U,U,U -> Full.
    assert_eq!(compute_zone_state(&conds(1, 2), th), ZoneState::Normal);
    assert_eq!(
        compute_zone_state(&conds(0, 3), th),
        ZoneState::FullDisruption
    );
    // D1: 5 of 10 -> Normal. D2: 6 of 10 -> Partial. D4: 2 of 3 -> Normal.
    assert_eq!(compute_zone_state(&conds(5, 5), th), ZoneState::Normal);
    assert_eq!(
        compute_zone_state(&conds(4, 6), th),
        ZoneState::PartialDisruption
    );
    assert_eq!(compute_zone_state(&conds(1, 2), th), ZoneState::Normal);
    // D5: 2 of 2 -> Full.
    assert_eq!(
        compute_zone_state(&conds(0, 2), th),
        ZoneState::FullDisruption
    );
    // D7: float32 11/20 = 0.55 >= 0.55 -> Partial.
    assert_eq!(
        compute_zone_state(&conds(9, 11), th),
        ZoneState::PartialDisruption
    );
}
