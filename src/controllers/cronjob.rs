//! Cron schedules in virtual time: the standard 5-field syntax (minute hour day-of-month month
//! day-of-week; lists, ranges, steps, month and weekday names, `?`) and the descriptors
//! (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`) as the
//! `robfig/cron/v3` standard parser that the CronJob controller uses reads them.
//!
//! Clock: a scenario's t = 0 is the wall-clock instant [`EPOCH_UNIX_SECONDS`]
//! (2025-01-01T00:00:00Z, a Wednesday), in UTC. Schedules are evaluated in UTC (`timeZone`
//! may only name UTC: kubesim carries no time zone database).
//!
//! Upstream: `robfig/cron/v3` `parser.go` (`getRange`, `starBit`), `spec.go` (`Next`,
//! `dayMatches`: when both day fields are restricted either may match).
//!
//! Invariant: pure functions of the schedule and the instant; no wall clock.

use crate::sim::{SimDuration, SimTime};

/// Unix seconds of the scenario's t = 0: 2025-01-01T00:00:00Z.
pub const EPOCH_UNIX_SECONDS: i64 = 1_735_689_600;

/// `timeZone` values kubesim accepts (all mean UTC).
pub fn is_utc(tz: &str) -> bool {
    matches!(
        tz,
        "UTC"
            | "Etc/UTC"
            | "Etc/UCT"
            | "UCT"
            | "Etc/Universal"
            | "Universal"
            | "Etc/Zulu"
            | "Zulu"
            | "Etc/GMT"
            | "GMT"
    )
}

/// A parsed schedule: one bit per allowed value of each field; the star flags of the two
/// day fields decide how they combine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field: its bits and whether it was written as `*` / `?` (without a step > 1).
fn field(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (b, s) = range(part, min, max, names, name_base)?;
        bits |= b;
        star |= s;
    }
    Ok((bits, star))
}

fn value(s: &str, names: &[&str], name_base: u32) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + name_base);
    }
    s.parse::<u32>().map_err(|_| {
        format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
    })
}

/// `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`; `N/step` means `N-max/step`.
fn range(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let (lh, step) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let (mut start, mut end, mut star) = if lh == "*" || lh == "?" {
        (min, max, true)
    } else {
        match lh.split_once('-') {
            Some((a, b)) => (
                value(a, names, name_base)?,
                value(b, names, name_base)?,
                false,
            ),
            None => {
                let v = value(lh, names, name_base)?;
                (v, v, false)
            }
        }
    };
    let step = match step {
        None => 1,
        Some(s) => {
            let n = s.parse::<u32>().map_err(|_| {
                format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
            })?;
            if !lh.contains('-') && !star {
                end = max;
            }
            if n > 1 {
                star = false;
            }
            n
        }
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    while start <= end {
        bits |= 1 << start;
        start += step;
    }
    Ok((bits, star))
}

impl Schedule {
    /// `cron.ParseStandard`.
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            return Err("time zones in the schedule are not supported; use spec.timeZone".into());
        }
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {s}")),
            s => s,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: {spec}",
                f.len()
            ));
        }
        let (minute, _) = field(f[0], 0, 59, &[], 0)?;
        let (hour, _) = field(f[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(f[2], 1, 31, &[], 0)?;
        let (month, _) = field(f[3], 1, 12, &MONTHS, 1)?;
        let (dow, dow_star) = field(f[4], 0, 6, &DAYS, 0)?;
        Ok(Schedule {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        })
    }

    /// `dayMatches`: both day fields must match if either is a star, else either.
    fn day_matches(&self, c: &Civil) -> bool {
        let dom = self.dom & (1 << c.day) != 0;
        let dow = self.dow & (1 << c.weekday) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn matches(&self, c: &Civil) -> bool {
        self.month & (1 << c.month) != 0
            && self.day_matches(c)
            && self.hour & (1 << c.hour) != 0
            && self.minute & (1 << c.minute) != 0
    }

    /// The first activation strictly after `t` (Unix seconds), or None within five years
    /// (`Next` gives up after five years too).
    pub fn next_unix(&self, t: i64) -> Option<i64> {
        // The next whole minute after t.
        let mut m = t.div_euclid(60) + 1;
        let limit = m + 5 * 366 * 24 * 60;
        while m <= limit {
            let c = Civil::from_unix(m * 60);
            if self.month & (1 << c.month) == 0 {
                m = Civil::first_of_next_month(&c) / 60;
                continue;
            }
            if !self.day_matches(&c) {
                m = (m.div_euclid(1440) + 1) * 1440;
                continue;
            }
            if self.hour & (1 << c.hour) == 0 {
                m = (m.div_euclid(60) + 1) * 60;
                continue;
            }
            if self.matches(&c) {
                return Some(m * 60);
            }
            m += 1;
        }
        None
    }

    /// The first activation strictly after the simulated instant `t`.
    pub fn next(&self, t: SimTime) -> Option<SimTime> {
        let unix = to_unix(t);
        let next = self.next_unix(unix.div_euclid(1_000_000_000))?;
        from_unix(next)
    }
}

/// Unix nanoseconds of a simulated instant.
fn to_unix(t: SimTime) -> i64 {
    EPOCH_UNIX_SECONDS * 1_000_000_000 + t.as_nanos() as i64
}

/// The simulated instant of a Unix time (None before t = 0).
pub fn from_unix(secs: i64) -> Option<SimTime> {
    let rel = secs - EPOCH_UNIX_SECONDS;
    (rel >= 0).then(|| SimTime::ZERO + SimDuration::from_secs(rel as u64))
}

/// Unix seconds of a simulated instant (whole seconds).
pub fn unix_seconds(t: SimTime) -> i64 {
    to_unix(t).div_euclid(1_000_000_000)
}

/// A UTC calendar time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

impl Civil {
    /// Howard Hinnant's `civil_from_days`.
    pub fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// `days_from_civil`.
    pub fn days(year: i64, month: u32, day: u32) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn first_of_next_month(c: &Civil) -> i64 {
        let (y, m) = if c.month == 12 {
            (c.year + 1, 1)
        } else {
            (c.year, c.month + 1)
        };
        Civil::days(y, m, 1) * 86_400
    }

    /// RFC 3339 (`2025-01-01T00:05:00Z`).
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}
