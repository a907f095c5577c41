//! The progress line of `kubesim run` and `check` on a terminal: simulated time reached of the
//! duration, engine events per wall second, and the estimated wall time left, drawn by
//! `indicatif` on stderr from what [`crate::run::ProgressHook`] reports.
//!
//! Invariant: nothing is drawn unless stderr is a terminal, `-q` is off and the run has taken
//! at least [`SHOW_AFTER`] of wall time; the line is cleared before the run's results print.
//! It only reads what the run reports and never feeds back into it.

// Wall-clock timing belongs to the cli (clippy.toml bans it everywhere else).
#![allow(clippy::disallowed_types)]

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::ProgressHook;
use crate::sim::{SimDuration, SimTime};

/// Runs shorter than this show no progress line at all.
pub const SHOW_AFTER: Duration = Duration::from_secs(1);
/// At most this often the line is recomputed (indicatif limits the redraws itself as well).
const REFRESH: Duration = Duration::from_millis(100);
/// The bar's resolution: its length is the duration in these units.
const BAR_UNIT_NANOS: u64 = 1_000_000;

struct State {
    started: Instant,
    end: SimTime,
    bar: Option<ProgressBar>,
    last: Option<Instant>,
    /// Where the bar draws: stderr (tests: hidden).
    target: fn() -> ProgressDrawTarget,
}

impl State {
    fn update(&mut self, now: SimTime, events: u64) {
        let wall = Instant::now();
        let elapsed = wall.duration_since(self.started);
        if elapsed < SHOW_AFTER || self.last.is_some_and(|l| wall.duration_since(l) < REFRESH) {
            return;
        }
        self.last = Some(wall);
        let msg = line(now, self.end, events, elapsed);
        let pos = now.as_nanos() / BAR_UNIT_NANOS;
        match &self.bar {
            Some(bar) => {
                bar.set_message(msg);
                bar.set_position(pos);
            }
            None => self.bar = Some(new_bar(self.end, (self.target)(), pos, msg)),
        }
    }
}

/// The bar with its first position and text, drawn once both are set (no empty first frame).
fn new_bar(end: SimTime, target: ProgressDrawTarget, pos: u64, msg: String) -> ProgressBar {
    let len = (end.as_nanos() / BAR_UNIT_NANOS).max(1);
    let mut bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("[{bar:20}] {msg}") {
        bar = bar.with_style(style.progress_chars("=> "));
    }
    let bar = bar.with_position(pos).with_message(msg);
    bar.set_draw_target(target);
    bar.tick();
    bar
}

/// The progress line of one run; `None` when none is wanted (`-q`, or stderr not a terminal).
pub struct Progress {
    state: Arc<Mutex<State>>,
}

impl Progress {
    /// Starts the wall clock now; `end` is the run's simulated end.
    pub fn for_terminal(quiet: bool, end: SimTime) -> Option<Progress> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        Some(Progress {
            state: Arc::new(Mutex::new(State {
                started: Instant::now(),
                end,
                bar: None,
                last: None,
                target: ProgressDrawTarget::stderr,
            })),
        })
    }

    /// The callback to hand to [`crate::run::RunOptions::progress`].
    pub fn hook(&self) -> ProgressHook {
        let state = Arc::clone(&self.state);
        ProgressHook::new(move |now, events| {
            state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(now, events)
        })
    }

    /// Removes the line (if it was ever drawn) so the results print on a clean terminal.
    pub fn finish(&self) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The text after the bar, e.g. `sim 12m30s / 1h0m0s · 13.2k events/s · ETA 2m05s` (short
/// enough for 80 columns): simulated time in whole seconds, and an estimate that assumes the
/// rest of the run goes at the average speed so far.
pub fn line(now: SimTime, end: SimTime, events: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        events as f64 / secs
    } else {
        0.0
    };
    let done = now.as_secs_f64();
    let left = end.as_secs_f64() - done;
    let eta = if done > 0.0 && secs > 0.0 {
        format!("ETA {}", wall_duration(secs * left.max(0.0) / done))
    } else {
        "ETA …".to_string()
    };
    format!(
        "sim {} / {} · {} events/s · {eta}",
        whole_secs(now),
        whole_secs(end),
        rate_text(rate)
    )
}

/// Simulated time as a Go duration, truncated to the second (`4m31s`, not `4m31.78s`).
fn whole_secs(t: SimTime) -> SimDuration {
    SimDuration::from_secs(t.as_nanos() / 1_000_000_000)
}

/// `950`, `13.2k`, `1.25M`.
fn rate_text(r: f64) -> String {
    if r < 10_000.0 {
        format!("{r:.0}")
    } else if r < 1_000_000.0 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{:.2}M", r / 1e6)
    }
}

/// Wall seconds as `45s`, `2m05s` or `1h02m`.
fn wall_duration(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    #[test]
    fn line_shows_simulated_time_rate_and_time_left() {
        // A quarter of an hour simulated in 10 s of wall: the other 45 min take 30 s more.
        let l = line(at(900), at(3600), 132_000, Duration::from_secs(10));
        assert_eq!(l, "sim 15m0s / 1h0m0s · 13.2k events/s · ETA 30s");
    }

    #[test]
    fn line_before_any_simulated_time_has_no_estimate() {
        let l = line(SimTime::ZERO, at(60), 5_000, Duration::from_secs(2));
        assert_eq!(l, "sim 0s / 1m0s · 2500 events/s · ETA …");
    }

    #[test]
    fn long_estimates_and_fast_rates_are_compact() {
        let l = line(at(60), at(3600), 3_000_000, Duration::from_secs(2));
        assert_eq!(l, "sim 1m0s / 1h0m0s · 1.50M events/s · ETA 1m58s");
        let l = line(at(10), at(36_000), 100, Duration::from_secs(5));
        assert!(l.ends_with("ETA 4h59m"), "{l}");
    }

    #[test]
    fn simulated_time_shows_whole_seconds() {
        let t = at(271) + SimDuration::from_millis(780);
        let l = line(t, at(3600), 0, Duration::ZERO);
        assert!(l.starts_with("sim 4m31s / 1h0m0s · 0 events/s"), "{l}");
    }

    #[test]
    fn wall_durations_and_rates_round() {
        assert_eq!(wall_duration(0.4), "0s");
        assert_eq!(wall_duration(59.6), "1m00s");
        assert_eq!(wall_duration(3599.0), "59m59s");
        assert_eq!(wall_duration(7260.0), "2h01m");
        assert_eq!(rate_text(9_999.4), "9999");
        assert_eq!(rate_text(10_000.0), "10.0k");
        assert_eq!(rate_text(999_949.0), "999.9k");
    }

    #[test]
    fn nothing_is_drawn_before_show_after() {
        let mut s = State {
            started: Instant::now(),
            end: at(60),
            bar: None,
            last: None,
            target: ProgressDrawTarget::hidden,
        };
        s.update(at(30), 1000);
        assert!(s.bar.is_none(), "a run under {SHOW_AFTER:?} shows no line");
        s.started = Instant::now() - SHOW_AFTER;
        s.update(at(31), 2000);
        let bar = s.bar.as_ref().map(|b| (b.position(), b.message()));
        assert_eq!(
            bar.map(|(p, m)| (p, m.starts_with("sim 31s / 1m0s"))),
            Some((31_000, true))
        );
    }
}
