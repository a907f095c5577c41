//! Behaviour models: what a simulated container's process does, since no real process runs.
//!
//! A [`Behavior`] is defined in the scenario (`runtime.behaviors`) and chosen per container by
//! annotation (`kubesim.io/behavior` for the whole pod, `kubesim.io/behavior.<container>` for
//! one container) or else by the first behaviour whose `image` pattern matches. At every
//! container start the runtime draws a [`RunPlan`] from it: when the process answers probes,
//! when it is ready, when (and how) it exits, when it hangs, and how its memory grows. All
//! probe outcomes and exits follow from the plan, so the kubelet can compute the next instant
//! that matters instead of simulating every probe.
//!
//! Architecture invariant: pure data and draws from the caller's stream; knows no API objects.

use rand_chacha::ChaCha8Rng;

use crate::sim::{rng, SimDuration, SimTime};

/// A duration that is fixed or drawn at each container start.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Fixed(SimDuration),
    /// Uniform in [min, max].
    Uniform(SimDuration, SimDuration),
    /// Exponential with this mean (memoryless failures).
    Exponential(SimDuration),
}

impl Dist {
    pub const ZERO: Dist = Dist::Fixed(SimDuration::ZERO);

    /// Draws a value. A fixed value draws nothing, so adding a fixed field to a behaviour does
    /// not shift the stream.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> SimDuration {
        match self {
            Dist::Fixed(d) => *d,
            Dist::Uniform(lo, hi) => rng::duration_between(rng, *lo, *hi),
            Dist::Exponential(mean) => {
                // Inverse CDF on (0, 1]; capped at 50 means to keep times finite.
                let u = 1.0 - rng::unit_f64(rng);
                // libm, not the platform libm: the digest must not depend on the machine.
                mean.mul_f64((-libm::log(u)).min(50.0))
            }
        }
    }
}

/// A crash that may end a run early: at each start, with `probability`, the process exits
/// with `exit_code` after `after`.
#[derive(Clone, Debug, PartialEq)]
pub struct Crash {
    pub probability: f64,
    pub after: Dist,
    pub exit_code: i32,
}

/// The behaviour of a container's process. Times are from the container's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    pub name: String,
    /// Image pattern (`*` matches any run of characters) selecting containers by image.
    pub image: Option<String>,
    /// Until then the process answers no probe (startup, liveness and readiness fail).
    pub startup_time: Dist,
    /// From then readiness succeeds (never before `startup_time`); default `startup_time`.
    pub ready_after: Option<Dist>,
    /// How long the process runs before exiting by itself (`None`: forever).
    pub run: Option<Dist>,
    /// Exit code of a natural exit (0: `Completed`, else `Error`).
    pub exit_code: i32,
    /// Exit codes of successive runs (run 0 first; the last repeats), overriding `exit_code`.
    pub exit_codes: Vec<i32>,
    pub crash: Option<Crash>,
    /// Windows (start, length) during which readiness fails.
    pub not_ready: Vec<(SimDuration, SimDuration)>,
    /// From then the process hangs: every probe times out, it never exits by itself.
    pub hang_after: Option<Dist>,
    /// Memory in use at start (`None`: the container's memory request).
    pub memory: Option<i64>,
    /// Memory growth in bytes per second (a leak); OOMKilled when it passes the limit.
    pub memory_growth_per_sec: i64,
    /// Ephemeral storage written at start and per second, in bytes (node `nodefs` usage).
    pub disk: i64,
    pub disk_growth_per_sec: i64,
    /// Processes the container runs (node PID usage).
    pub pids: i64,
    /// Time to exit after SIGTERM (`None`: `simulation.containerStopDelay`).
    pub stop_time: Option<SimDuration>,
    /// Duration of an `exec`/`httpGet` preStop hook.
    pub pre_stop_time: SimDuration,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            name: "default".into(),
            image: None,
            startup_time: Dist::ZERO,
            ready_after: None,
            run: None,
            exit_code: 0,
            exit_codes: Vec::new(),
            crash: None,
            not_ready: Vec::new(),
            hang_after: None,
            memory: None,
            memory_growth_per_sec: 0,
            disk: 0,
            disk_growth_per_sec: 0,
            pids: 1,
            stop_time: None,
            pre_stop_time: SimDuration::ZERO,
        }
    }
}

/// How a run ends by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub at: SimTime,
    pub exit_code: i32,
    /// `Completed`, `Error` or `OOMKilled`.
    pub reason: &'static str,
}

/// One run of a container, drawn at its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPlan {
    pub started: SimTime,
    /// Startup and liveness probes succeed from here (until `hang`).
    pub live_at: SimTime,
    /// Readiness succeeds from here (outside `not_ready`, until `hang`).
    pub ready_at: SimTime,
    pub not_ready: Vec<(SimTime, SimTime)>,
    pub hang: Option<SimTime>,
    pub exit: Option<Exit>,
    /// Memory at start and growth per second, in bytes.
    pub memory: i64,
    pub memory_growth_per_sec: i64,
    /// Ephemeral storage at start and growth per second, in bytes; process count.
    pub disk: i64,
    pub disk_growth_per_sec: i64,
    pub pids: i64,
}

impl RunPlan {
    /// Whether the process answers liveness and startup probes at `t`.
    pub fn live(&self, t: SimTime) -> bool {
        t >= self.live_at && self.hang.is_none_or(|h| t < h)
    }
    /// Whether the process answers the readiness probe at `t`.
    pub fn ready(&self, t: SimTime) -> bool {
        self.live(t) && t >= self.ready_at && !self.not_ready.iter().any(|(a, b)| t >= *a && t < *b)
    }
    /// Whether a failed probe at `t` is a timeout (the process hangs) rather than a refusal.
    pub fn hung(&self, t: SimTime) -> bool {
        self.hang.is_some_and(|h| t >= h)
    }
    /// The first instant after `t` at which a probe outcome may change (a breakpoint of
    /// `live`/`ready`), if any.
    pub fn next_change_after(&self, t: SimTime) -> Option<SimTime> {
        let mut points = vec![self.live_at, self.ready_at];
        points.extend(self.hang);
        for (a, b) in &self.not_ready {
            points.push(*a);
            points.push(*b);
        }
        points.into_iter().filter(|p| *p > t).min()
    }
    /// From `now`, memory grows `extra` bytes per second more (a leak starts, or ends when
    /// negative); usage stays continuous and an OOM kill is re-planned against `limit`.
    pub fn rebase_growth(&mut self, now: SimTime, extra: i64, limit: i64) {
        let at_now = self.memory_at(now);
        let secs = now.saturating_since(self.started).as_nanos() / 1_000_000_000;
        self.memory_growth_per_sec += extra;
        self.memory = at_now - self.memory_growth_per_sec * secs as i64;
        if limit > 0 {
            if self.exit.as_ref().is_some_and(|e| e.reason == "OOMKilled") {
                self.exit = None;
            }
            if let Some(oom) = oom_time(now, at_now, self.memory_growth_per_sec, limit) {
                if self.exit.as_ref().is_none_or(|e| oom < e.at) {
                    self.exit = Some(Exit {
                        at: oom,
                        exit_code: 137,
                        reason: "OOMKilled",
                    });
                }
            }
        }
    }

    /// Ephemeral storage in use at `t`, in bytes (whole seconds, as memory).
    pub fn disk_at(&self, t: SimTime) -> i64 {
        let secs = t.saturating_since(self.started).as_nanos() / 1_000_000_000;
        self.disk
            .saturating_add(self.disk_growth_per_sec.saturating_mul(secs as i64))
    }

    /// Memory in use at `t`, in bytes.
    pub fn memory_at(&self, t: SimTime) -> i64 {
        let secs = t.saturating_since(self.started).as_nanos() / 1_000_000_000;
        self.memory
            .saturating_add(self.memory_growth_per_sec.saturating_mul(secs as i64))
    }
}

impl Behavior {
    /// The exit code of run number `run` (0 for the first).
    pub fn exit_code_of(&self, run: u32) -> i32 {
        match self.exit_codes.as_slice() {
            [] => self.exit_code,
            codes => codes[(run as usize).min(codes.len() - 1)],
        }
    }

    /// Draws the plan of run number `run` starting at `now`. `memory_request` and
    /// `memory_limit` are the container's (0 when unset). Draw order is fixed: startup, ready,
    /// run, crash, hang.
    pub fn plan(
        &self,
        rng: &mut ChaCha8Rng,
        now: SimTime,
        run_index: u32,
        memory_request: i64,
        memory_limit: i64,
    ) -> RunPlan {
        let exit_code = self.exit_code_of(run_index);
        let live_at = now + self.startup_time.draw(rng);
        let ready_at = match &self.ready_after {
            Some(d) => (now + d.draw(rng)).max(live_at),
            None => live_at,
        };
        let mut exit = self.run.as_ref().map(|d| Exit {
            at: now + d.draw(rng),
            exit_code,
            reason: if exit_code == 0 { "Completed" } else { "Error" },
        });
        if let Some(c) = &self.crash {
            if c.probability > 0.0 && rng::unit_f64(rng) < c.probability {
                let at = now + c.after.draw(rng);
                if exit.as_ref().is_none_or(|e| at < e.at) {
                    exit = Some(Exit {
                        at,
                        exit_code: c.exit_code,
                        reason: if c.exit_code == 0 {
                            "Completed"
                        } else {
                            "Error"
                        },
                    });
                }
            }
        }
        let hang = self.hang_after.as_ref().map(|d| now + d.draw(rng));
        if let Some(h) = hang {
            // A hung process never exits by itself.
            exit = exit.filter(|e| e.at < h);
        }
        let memory = self.memory.unwrap_or(memory_request);
        let growth = self.memory_growth_per_sec;
        if memory_limit > 0 {
            if let Some(oom) = oom_time(now, memory, growth, memory_limit) {
                if exit.as_ref().is_none_or(|e| oom < e.at) {
                    exit = Some(Exit {
                        at: oom,
                        exit_code: 137,
                        reason: "OOMKilled",
                    });
                }
            }
        }
        RunPlan {
            started: now,
            live_at,
            ready_at,
            not_ready: self
                .not_ready
                .iter()
                .map(|(a, len)| (now + *a, now + *a + *len))
                .collect(),
            hang,
            exit,
            memory,
            memory_growth_per_sec: growth,
            disk: self.disk,
            disk_growth_per_sec: self.disk_growth_per_sec,
            pids: self.pids,
        }
    }
}

/// When usage `memory + growth·s` first exceeds `limit` (whole seconds; the kernel's OOM
/// killer acts as soon as the cgroup passes its limit), or `None` if it never does.
fn oom_time(now: SimTime, memory: i64, growth: i64, limit: i64) -> Option<SimTime> {
    if memory > limit {
        return Some(now);
    }
    if growth <= 0 {
        return None;
    }
    let secs = (limit - memory) / growth + 1;
    Some(now + SimDuration::from_secs(secs as u64))
}

/// `*` matches any run of characters; everything else literally.
pub fn image_matches(pattern: &str, image: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), image.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimDuration {
        SimDuration::from_secs(x)
    }

    #[test]
    fn oom_when_usage_passes_the_limit() {
        let b = Behavior {
            memory: Some(100),
            memory_growth_per_sec: 10,
            ..Behavior::default()
        };
        let mut r = rng::stream(1, "t");
        let p = b.plan(&mut r, SimTime::ZERO + s(5), 0, 0, 150);
        // 100 + 10·s > 150 first at s = 6.
        let e = p.exit.clone().unwrap();
        assert_eq!(
            (e.at, e.exit_code, e.reason),
            (SimTime::ZERO + s(11), 137, "OOMKilled")
        );
        assert_eq!(p.memory_at(SimTime::ZERO + s(8)), 130);
    }

    #[test]
    fn readiness_windows_and_hang() {
        let b = Behavior {
            startup_time: Dist::Fixed(s(2)),
            ready_after: Some(Dist::Fixed(s(5))),
            not_ready: vec![(s(20), s(10))],
            hang_after: Some(Dist::Fixed(s(60))),
            run: Some(Dist::Fixed(s(100))),
            ..Behavior::default()
        };
        let mut r = rng::stream(1, "t");
        let p = b.plan(&mut r, SimTime::ZERO, 0, 0, 0);
        let at = |x| SimTime::ZERO + s(x);
        assert!(!p.live(at(1)) && p.live(at(2)));
        assert!(!p.ready(at(4)) && p.ready(at(5)));
        assert!(!p.ready(at(20)) && !p.ready(at(29)) && p.ready(at(30)));
        assert!(!p.live(at(60)) && p.hung(at(60)));
        assert_eq!(p.exit, None, "a hung process does not exit by itself");
        assert_eq!(p.next_change_after(at(5)), Some(at(20)));
    }

    #[test]
    fn patterns() {
        assert!(image_matches("nginx*", "nginx:1.25"));
        assert!(image_matches("*/app:*", "registry.example.com/app:v1"));
        assert!(!image_matches("nginx", "nginx:1.25"));
    }
}
