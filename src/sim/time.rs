//! Simulated time: integer nanoseconds, never floats, never the wall clock.
//!
//! Invariant: every instant and span in a run is a `SimTime`/`SimDuration` holding whole
//! nanoseconds; arithmetic is checked (overflow is a bug and panics, also in release).
//! Input never reaches that panic: the scenario reader bounds every span by
//! [`SimDuration::MAX_INPUT`] (Go's largest `time.Duration`) with the checked constructors here,
//! so an instant within a run plus any one span fits `u64` nanoseconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant on the simulated clock, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

pub const NANOS_PER_MILLI: u64 = 1_000_000;
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest span an input may give: Go's `time.Duration` maximum, 2^63 − 1 ns
    /// (about 292 years). Any two such spans add up without overflowing `u64`.
    pub const MAX_INPUT: SimDuration = SimDuration(i64::MAX as u64);
    /// The most whole seconds that fit [`Self::MAX_INPUT`] (9223372036).
    pub const MAX_INPUT_SECS: u64 = i64::MAX as u64 / NANOS_PER_SEC;
    /// `s` seconds, or `None` if that is more than [`Self::MAX_INPUT`].
    pub const fn checked_from_secs(s: u64) -> Option<SimDuration> {
        if s > Self::MAX_INPUT_SECS {
            None
        } else {
            Some(SimDuration(s * NANOS_PER_SEC))
        }
    }
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * NANOS_PER_MILLI)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NANOS_PER_SEC)
    }
    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m * 60 * NANOS_PER_SEC)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds as a float, for reporting only (never fed back into the model).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Scales by a non-negative factor and rounds to the nearest nanosecond. Used where
    /// Kubernetes multiplies a `time.Duration` by a float (jitter); the float is turned into
    /// integer nanoseconds at once.
    pub fn mul_f64(self, factor: f64) -> SimDuration {
        assert!(
            factor.is_finite() && factor >= 0.0,
            "bad duration factor {factor}"
        );
        let ns = (self.0 as f64 * factor).round();
        assert!(ns < u64::MAX as f64, "duration overflow");
        SimDuration(ns as u64)
    }
    pub fn checked_add(self, other: SimDuration) -> Option<SimDuration> {
        self.0.checked_add(other.0).map(SimDuration)
    }
    pub fn saturating_sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
    pub fn min(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.min(other.0))
    }
}

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * NANOS_PER_SEC)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Time elapsed since `earlier`; panics if `earlier` is later (a bug).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(
            self.0
                .checked_sub(earlier.0)
                .expect("SimTime::since: earlier is after self"),
        )
    }
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// `self + d`, or `None` past the end of the clock.
    pub fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        self.0.checked_add(d.0).map(SimTime)
    }
    /// `self + d`, or the end of the clock.
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.checked_add(d.0).expect("SimTime overflow"))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.checked_sub(d.0).expect("SimTime underflow"))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.checked_add(d.0).expect("SimDuration overflow"))
    }
}

/// Formats whole seconds with exactly `places` decimals, from integer nanoseconds (no float
/// rounding, so the text is the same on every machine).
pub fn format_secs(ns: u64, places: u32) -> String {
    assert!(places <= 9);
    let secs = ns / NANOS_PER_SEC;
    let frac = ns % NANOS_PER_SEC;
    if places == 0 {
        return secs.to_string();
    }
    let frac = frac / 10u64.pow(9 - places);
    format!("{secs}.{frac:0width$}", width = places as usize)
}

/// Go-style duration text (`1m50s`, `100ms`, `0s`) for headers and messages.
pub fn format_go_duration(d: SimDuration) -> String {
    let ns = d.0;
    if ns == 0 {
        return "0s".into();
    }
    if ns < NANOS_PER_SEC {
        return if ns % NANOS_PER_MILLI == 0 {
            format!("{}ms", ns / NANOS_PER_MILLI)
        } else if ns % 1000 == 0 {
            format!("{}µs", ns / 1000)
        } else {
            format!("{ns}ns")
        };
    }
    let h = ns / (3600 * NANOS_PER_SEC);
    let m = (ns / (60 * NANOS_PER_SEC)) % 60;
    let s_ns = ns % (60 * NANOS_PER_SEC);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let secs = s_ns / NANOS_PER_SEC;
    let frac = s_ns % NANOS_PER_SEC;
    if frac == 0 {
        out.push_str(&format!("{secs}s"));
    } else {
        let f = format!("{frac:09}");
        out.push_str(&format!("{secs}.{}s", f.trim_end_matches('0')));
    }
    out
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", format_secs(self.0, 3))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_exactly() {
        assert_eq!(format_secs(110_000_000_000, 3), "110.000");
        assert_eq!(format_secs(1_234_567_891, 3), "1.234");
        assert_eq!(format_secs(5, 9), "0.000000005");
    }

    #[test]
    fn go_duration_text() {
        assert_eq!(format_go_duration(SimDuration::from_secs(50)), "50s");
        assert_eq!(format_go_duration(SimDuration::from_secs(110)), "1m50s");
        assert_eq!(format_go_duration(SimDuration::from_millis(100)), "100ms");
        assert_eq!(format_go_duration(SimDuration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(SimDuration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn checked_conversions_stop_at_go_max_duration() {
        assert_eq!(SimDuration::MAX_INPUT_SECS, 9_223_372_036);
        assert_eq!(
            SimDuration::checked_from_secs(9_223_372_036),
            Some(SimDuration(9_223_372_036_000_000_000))
        );
        assert_eq!(SimDuration::checked_from_secs(9_223_372_037), None);
        assert_eq!(SimDuration::checked_from_secs(u64::MAX), None);
        let end = SimTime(SimDuration::MAX_INPUT.0);
        assert!(end.checked_add(SimDuration::MAX_INPUT).is_some());
        assert_eq!(SimTime::MAX.checked_add(SimDuration(1)), None);
    }

    #[test]
    #[should_panic]
    fn since_panics_on_reversed_order() {
        let _ = SimTime(1).since(SimTime(2));
    }
}
