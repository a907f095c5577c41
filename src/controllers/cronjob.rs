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

// ----- the controller -----

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cache::KcmCache;
use crate::api::{ApiError, ApiServer};
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Ctx, Record};

const SOURCE: &str = "cronjob-controller";
/// `nextScheduleDelta`: the controller requeues 100 ms after the next schedule time.
pub const NEXT_SCHEDULE_DELTA: SimDuration = SimDuration::from_millis(100);
/// More missed start times than this are reported as `TooManyMissedTimes`.
const MAX_MISSED: usize = 100;

/// The CronJob controller (`cronjob_controllerv2.go`): creates a Job named
/// `<cronjob>-<scheduled time in Unix minutes>` at each schedule time it reaches (requeued
/// [`NEXT_SCHEDULE_DELTA`] after it), honouring `suspend`, `startingDeadlineSeconds` and
/// `concurrencyPolicy`, tracks its active Jobs and keeps `successfulJobsHistoryLimit` /
/// `failedJobsHistoryLimit` finished ones.
///
/// Invariant: decides from the cache, acts through API requests; one workqueue entry per
/// CronJob due at its earliest requested time.
pub struct CronJobController {
    gen: u32,
    due: BTreeMap<String, SimTime>,
}

impl CronJobController {
    pub fn new(gen: u32) -> Self {
        CronJobController {
            gen,
            due: BTreeMap::new(),
        }
    }

    pub fn enqueue_after(&mut self, ctx: &mut dyn Ctx<Event>, key: &str, delay: SimDuration) {
        let at = ctx.now() + delay;
        if self.due.get(key).is_some_and(|&t| t <= at) {
            return;
        }
        self.due.insert(key.to_string(), at);
        ctx.schedule_at(
            at,
            Event::CronJobSync {
                gen: self.gen,
                key: key.to_string(),
            },
        );
    }

    /// `addJob` / `updateJob` / `deleteJob`: the owning CronJob is synced at once.
    pub fn observe_job(&mut self, ctx: &mut dyn Ctx<Event>, j: &Job) {
        if let Some(k) = super::cache::cronjob_of(j) {
            self.enqueue_after(ctx, &k, SimDuration::ZERO);
        }
    }

    pub fn on_fire(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cache: &KcmCache,
        key: &str,
    ) {
        if self.due.get(key) != Some(&ctx.now()) {
            return;
        }
        self.due.remove(key);
        let Some(cj) = cache.cronjobs.get(key).cloned() else {
            return;
        };
        let Ok(sched) = Schedule::parse(&cj.schedule) else {
            return; // validated at load time
        };
        let jobs = children(cache, key);
        let mut status = cj.status.clone();
        self.cleanup_finished(ctx, api, &cj, &jobs, &mut status);
        let requeue = self.sync(ctx, api, &cj, &sched, &jobs, &mut status);
        if status != cj.status {
            let st = status.clone();
            let _ = api.update_cronjob(Caller::ControllerManager, key, |c| c.status = st);
        }
        if let Some(at) = requeue {
            let delay = SimDuration::from_nanos(at.as_nanos().saturating_sub(ctx.now().as_nanos()));
            self.enqueue_after(ctx, key, delay);
        }
    }

    /// `syncCronJob`: returns when to look again (the next schedule time + 100 ms).
    fn sync(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cj: &CronJob,
        sched: &Schedule,
        jobs: &[Arc<Job>],
        status: &mut CronJobStatus,
    ) -> Option<SimTime> {
        let now = ctx.now();
        if cj.meta.deletion_timestamp.is_some() || cj.suspend {
            return None;
        }
        let next = sched.next(now).map(|t| t + NEXT_SCHEDULE_DELTA);
        let (scheduled, missed) = most_recent_schedule_time(cj, sched, now);
        if missed > MAX_MISSED {
            record(ctx, cj, "TooManyMissedTimes", format!("too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"));
        }
        let Some(scheduled) = scheduled else {
            return next;
        };
        let name = job_name(&cj.meta.name, scheduled);
        if let Some(sds) = cj.starting_deadline_seconds {
            if scheduled + SimDuration::from_secs(sds.max(0) as u64) < now {
                record(
                    ctx,
                    cj,
                    "MissedSchedule",
                    format!(
                        "Missed scheduled time to start a job: {}",
                        rfc1123z(scheduled)
                    ),
                );
                return next;
            }
        }
        if status.active.contains(&name) || jobs.iter().any(|j| j.meta.name == name) {
            return next;
        }
        if cj.concurrency_policy == ConcurrencyPolicy::Forbid && !status.active.is_empty() {
            record(
                ctx,
                cj,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            );
            return next;
        }
        if cj.concurrency_policy == ConcurrencyPolicy::Replace {
            for a in std::mem::take(&mut status.active) {
                let key = pod_key(&cj.meta.namespace, &a);
                if api
                    .delete_job(
                        Caller::ControllerManager,
                        &key,
                        PropagationPolicy::Background,
                    )
                    .is_ok()
                {
                    record(ctx, cj, "SuccessfulDelete", format!("Deleted job {a}"));
                }
            }
        }
        match api.create_job(
            Caller::ControllerManager,
            job_from_template(cj, &name, scheduled),
        ) {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => {
                record(ctx, cj, "SuccessfulCreate", format!("Created job {name}"));
                status.active.push(name);
                status.last_schedule_time = Some(scheduled);
            }
            Err(e) => {
                record(ctx, cj, "FailedCreate", format!("Error creating job: {e}"));
            }
        }
        next
    }

    /// Active Jobs that finished or vanished leave `status.active` (`SawCompletedJob`); the
    /// oldest finished Jobs beyond the history limits are deleted.
    fn cleanup_finished(
        &mut self,
        ctx: &mut dyn Ctx<Event>,
        api: &mut ApiServer,
        cj: &CronJob,
        jobs: &[Arc<Job>],
        status: &mut CronJobStatus,
    ) {
        let by_name: BTreeMap<&str, &Arc<Job>> =
            jobs.iter().map(|j| (j.meta.name.as_str(), j)).collect();
        status.active.retain(|n| {
            by_name.get(n.as_str()).is_some_and(|j| !j.is_finished()) || {
                if let Some(j) = by_name.get(n.as_str()) {
                    let c = j
                        .finished_condition()
                        .map(|c| c.type_.as_str())
                        .unwrap_or("");
                    record(
                        ctx,
                        cj,
                        "SawCompletedJob",
                        format!("Saw completed job: {n}, status: {c}"),
                    );
                    if j.condition(JobConditionType::Complete).is_some() {
                        status.last_successful_time = j.status.completion_time;
                    }
                }
                false
            }
        });
        for (complete, limit) in [
            (true, cj.successful_jobs_history_limit),
            (false, cj.failed_jobs_history_limit),
        ] {
            let mut done: Vec<&Arc<Job>> = jobs
                .iter()
                .filter(|j| j.meta.deletion_timestamp.is_none())
                .filter(|j| match j.finished_condition() {
                    Some(c) => (c.type_ == JobConditionType::Complete) == complete,
                    None => false,
                })
                .collect();
            done.sort_by_key(|j| (j.status.start_time, j.meta.name.clone()));
            let excess = done.len().saturating_sub(limit.max(0) as usize);
            for j in done.into_iter().take(excess) {
                if api
                    .delete_job(
                        Caller::ControllerManager,
                        &j.key(),
                        PropagationPolicy::Background,
                    )
                    .is_ok()
                {
                    record(
                        ctx,
                        cj,
                        "SuccessfulDelete",
                        format!("Deleted job {}", j.meta.name),
                    );
                }
            }
        }
    }
}

/// The Jobs a CronJob controls.
fn children(cache: &KcmCache, key: &str) -> Vec<Arc<Job>> {
    cache
        .jobs_by_cronjob
        .get(key)
        .into_iter()
        .flatten()
        .filter_map(|k| cache.jobs.get(k).cloned())
        .collect()
}

/// `mostRecentScheduleTime`: the latest schedule time in (earliest, now], where earliest is
/// the last schedule time (or the creation time), no earlier than now − startingDeadlineSeconds;
/// and how many schedule times that interval holds (`numberOfMissedSchedules`).
pub fn most_recent_schedule_time(
    cj: &CronJob,
    sched: &Schedule,
    now: SimTime,
) -> (Option<SimTime>, usize) {
    let mut earliest = cj
        .status
        .last_schedule_time
        .unwrap_or(cj.meta.creation_timestamp);
    if let Some(sds) = cj.starting_deadline_seconds {
        let deadline = SimTime(
            now.as_nanos()
                .saturating_sub(SimDuration::from_secs(sds.max(0) as u64).as_nanos()),
        );
        earliest = earliest.max(deadline);
    }
    let mut last = None;
    let mut count = 0usize;
    let mut t = earliest;
    while let Some(n) = sched.next(t) {
        if n > now {
            break;
        }
        last = Some(n);
        count += 1;
        t = n;
        if count > 100_000 {
            break; // bounded, as every loop
        }
    }
    (last, count)
}

/// `getJobName`: `<cronjob>-<scheduled time in minutes since the Unix epoch>`.
pub fn job_name(cronjob: &str, scheduled: SimTime) -> String {
    format!("{cronjob}-{}", unix_seconds(scheduled).div_euclid(60))
}

/// `getJobFromTemplate2`: the template's labels and annotations, the scheduled-timestamp
/// annotation and the CronJob as controller.
fn job_from_template(cj: &CronJob, name: &str, scheduled: SimTime) -> Job {
    let mut j = (*cj.job_template).clone();
    j.meta = ObjectMeta {
        name: name.to_string(),
        namespace: cj.meta.namespace.clone(),
        labels: cj.job_labels.clone(),
        annotations: cj.job_annotations.clone(),
        owner_references: vec![OwnerRef {
            kind: "CronJob".into(),
            name: cj.meta.name.clone(),
            controller: true,
        }],
        ..Default::default()
    };
    j.meta.annotations.insert(
        CRONJOB_SCHEDULED_TIMESTAMP.into(),
        Civil::from_unix(unix_seconds(scheduled)).rfc3339(),
    );
    j
}

/// Go's `time.RFC1123Z` in UTC (`Wed, 01 Jan 2025 00:05:00 +0000`).
pub fn rfc1123z(t: SimTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = Civil::from_unix(unix_seconds(t));
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[c.weekday as usize],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

fn record(ctx: &mut dyn Ctx<Event>, cj: &CronJob, reason: &'static str, message: String) {
    ctx.record(Record {
        t: ctx.now(),
        reason,
        source: SOURCE,
        object: cj.object_ref(),
        message,
        fields: vec![],
    });
}

#[cfg(test)]
mod tests {
    //! Cases of robfig/cron `spec_test.go` (`TestNext`, `TestActivation`) and of
    //! `pkg/controller/cronjob/utils_test.go` (`TestMostRecentScheduleTime`, `TestGetJobName`).
    use super::*;

    fn unix(y: i64, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Civil::days(y, mo, d) * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60
    }

    fn next(spec: &str, from: i64) -> i64 {
        Schedule::parse(spec).unwrap().next_unix(from).unwrap()
    }

    #[test]
    fn the_epoch_is_2025_01_01_utc_a_wednesday() {
        let c = Civil::from_unix(EPOCH_UNIX_SECONDS);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.weekday),
            (2025, 1, 1, 0, 3)
        );
        assert_eq!(unix(2025, 1, 1, 0, 0), EPOCH_UNIX_SECONDS);
    }

    #[test]
    fn next_simple_and_stepped_fields() {
        let t = unix(2012, 7, 9, 14, 45);
        assert_eq!(next("* * * * *", t), unix(2012, 7, 9, 14, 46));
        assert_eq!(next("*/15 * * * *", t), unix(2012, 7, 9, 15, 0));
        assert_eq!(next("0 */2 * * *", t), unix(2012, 7, 9, 16, 0));
        assert_eq!(next("@hourly", t), unix(2012, 7, 9, 15, 0));
        assert_eq!(next("@daily", t), unix(2012, 7, 10, 0, 0));
        assert_eq!(next("@monthly", t), unix(2012, 8, 1, 0, 0));
        assert_eq!(next("@yearly", t), unix(2013, 1, 1, 0, 0));
        // Wrap around days, months, years (TestNext).
        assert_eq!(next("0 0 * Feb Mon", t), unix(2013, 2, 4, 0, 0));
        assert_eq!(next("0 0 29 Feb *", t), unix(2016, 2, 29, 0, 0));
        assert_eq!(
            next("0 9 * * mon-fri", unix(2012, 7, 13, 10, 0)),
            unix(2012, 7, 16, 9, 0)
        );
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        // TestActivation: "0 0 1,15 * Mon" fires on the 1st, the 15th and every Monday.
        let s = Schedule::parse("0 0 1,15 * Mon").unwrap();
        // 2012-07-09 is a Monday.
        assert_eq!(
            s.next_unix(unix(2012, 7, 8, 1, 0)).unwrap(),
            unix(2012, 7, 9, 0, 0)
        );
        assert_eq!(
            s.next_unix(unix(2012, 7, 9, 1, 0)).unwrap(),
            unix(2012, 7, 15, 0, 0)
        );
        // "*/2" in day-of-month is not a star: either matches.
        let s = Schedule::parse("0 0 */2 * Sun").unwrap();
        assert_eq!(
            s.next_unix(unix(2012, 7, 1, 1, 0)).unwrap(),
            unix(2012, 7, 3, 0, 0)
        );
    }

    #[test]
    fn bad_schedules_are_rejected() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "@every",
            "5-1 * * * *",
            "TZ=UTC * * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn cronjob(schedule: &str) -> CronJob {
        let mut c = CronJob {
            schedule: schedule.into(),
            ..CronJob::default()
        };
        c.meta.name = "mycronjob".into();
        c.meta.creation_timestamp = SimTime::from_secs(10);
        c
    }

    #[test]
    fn most_recent_schedule_time_cases() {
        let s = Schedule::parse("0 * * * *").unwrap();
        let mut c = cronjob("0 * * * *");
        // "now before next schedule": none.
        assert_eq!(
            most_recent_schedule_time(&c, &s, SimTime::from_secs(1800)),
            (None, 0)
        );
        // "now just after next schedule".
        assert_eq!(
            most_recent_schedule_time(&c, &s, SimTime::from_secs(3600 + 60)),
            (Some(SimTime::from_secs(3600)), 1)
        );
        // "missed several schedules": the latest of the three (1 h, 2 h, 3 h).
        assert_eq!(
            most_recent_schedule_time(&c, &s, SimTime::from_secs(3 * 3600 + 60)),
            (Some(SimTime::from_secs(3 * 3600)), 3)
        );
        // "with startingDeadlineSeconds": only times after now − deadline.
        c.starting_deadline_seconds = Some(600);
        assert_eq!(
            most_recent_schedule_time(&c, &s, SimTime::from_secs(3 * 3600 + 60)),
            (Some(SimTime::from_secs(3 * 3600)), 1)
        );
        c.status.last_schedule_time = Some(SimTime::from_secs(3 * 3600));
        assert_eq!(
            most_recent_schedule_time(&c, &s, SimTime::from_secs(3 * 3600 + 60)),
            (None, 0)
        );
    }

    #[test]
    fn job_names_are_the_scheduled_minute() {
        // 2025-01-01T00:05:00Z = Unix minute 28928165.
        assert_eq!(
            job_name("mycronjob", SimTime::from_secs(300)),
            "mycronjob-28928165"
        );
        assert_eq!(
            rfc1123z(SimTime::from_secs(300)),
            "Wed, 01 Jan 2025 00:05:00 +0000"
        );
    }
}
