//! Objects over time, as written: the `arrivals:` section (generators of Pods or Jobs from
//! weighted shapes by a Poisson process, an interval or a trace CSV), `stopWhen:`, and the
//! timeline actions `apply`, `addNodes` and `deleteNodes`; resolved into
//! `crate::cluster::arrivals` types (docs/inputs.md).
//!
//! Invariant: every generator creates a bounded number of objects (`count`, or a trace's rows)
//! from shapes that exist; the machines an `addNodes` boots are appended to the cluster's nodes
//! once, named after their pool, and booted by exactly one action.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::raw::RawManifestEntry;
use super::values::DurationValue;
use super::{names, InputError, Workload};
use crate::cluster::arrivals::{ArrivalProcess, ArrivalSpec, Shape, StopWhen};
use crate::model::*;
use crate::sim::SimDuration;

/// One `arrivals:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawArrivals {
    /// Objects are named `<name>-<n>` (n from 0) and labelled `kubesim.io/arrivals: <name>`.
    pub name: String,
    /// `{rate: R}`: a Poisson process of R arrivals per second.
    pub poisson: Option<RawPoisson>,
    /// One arrival every interval.
    pub interval: Option<DurationValue>,
    /// A CSV file (`time,shape` header; time in seconds or a Go duration, from `start`).
    pub trace: Option<String>,
    /// How many objects (required for `poisson` and `interval`; a trace has its rows).
    pub count: Option<u64>,
    /// When the first arrival may come (default 0s).
    pub start: Option<DurationValue>,
    pub shapes: Vec<RawShape>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPoisson {
    pub rate: f64,
}

/// A shape: a Pod or Job manifest (its `metadata.name` names the shape) and its weight.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawShape {
    pub weight: Option<u64>,
    pub template: RawManifestEntry,
}

/// `addNodes`: `count` new machines of node pool `pool` (spread over its zones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAddNodes {
    pub pool: String,
    pub count: u32,
}

/// `deleteNodes`: Node objects by name, or the last `count` nodes of `pool`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDeleteNodes {
    #[serde(default)]
    pub names: Vec<String>,
    pub pool: Option<String>,
    pub count: Option<u32>,
}

/// The most objects one generator may create.
pub const MAX_ARRIVALS: u64 = 10_000_000;

/// `stopWhen:`.
pub fn stop_when(
    v: Option<&str>,
    file: &Path,
    has_arrivals: bool,
) -> Result<Option<StopWhen>, InputError> {
    match v {
        None => Ok(None),
        Some("arrivalsFinished") if has_arrivals => Ok(Some(StopWhen::ArrivalsFinished)),
        Some("arrivalsFinished") => Err(InputError::at_path(
            file,
            "stopWhen",
            "arrivalsFinished needs an `arrivals:` section",
        )),
        Some(other) => Err(InputError::at_path(
            file,
            "stopWhen",
            format!("unknown condition {other:?} (arrivalsFinished)"),
        )
        .suggest(other, ["arrivalsFinished"])),
    }
}

/// Machines `addNodes` entries boot: appended to `nodes` (and `pools`, `static_pods`), by
/// timeline index.
pub fn late_nodes(
    entries: &[super::raw::RawTimelineEntry],
    file: &Path,
    nodes: &mut Vec<Node>,
    pools: &mut Vec<String>,
    static_pods: &mut BTreeMap<String, Vec<Pod>>,
) -> Result<BTreeMap<usize, Vec<u32>>, InputError> {
    let mut out = BTreeMap::new();
    for (i, t) in entries.iter().enumerate() {
        let Some(a) = &t.add_nodes else { continue };
        let path = format!("timeline[{i}].addNodes");
        let members: Vec<usize> = (0..nodes.len()).filter(|m| pools[*m] == a.pool).collect();
        if members.is_empty() {
            let mut known: Vec<&str> = pools
                .iter()
                .map(|p| p.as_str())
                .filter(|p| !p.is_empty())
                .collect();
            known.dedup();
            return Err(InputError::at_path(
                file,
                format!("{path}.pool"),
                format!("no node pool {:?}", a.pool),
            )
            .suggest(&a.pool, known));
        }
        if a.count == 0 {
            return Err(InputError::at_path(
                file,
                format!("{path}.count"),
                "must be at least 1",
            ));
        }
        let total = nodes.len() as u64 + u64::from(a.count);
        if total > super::bounds::MAX_NODES {
            return Err(InputError::at_path(
                file,
                format!("{path}.count"),
                format!(
                    "the cluster would have {total} nodes; at most {}",
                    super::bounds::MAX_NODES
                ),
            ));
        }
        // The pool's zones, each with its template node and its next index.
        let mut zones: Vec<(String, usize, usize)> = Vec::new();
        for &m in &members {
            let z = nodes[m]
                .meta
                .labels
                .get(LABEL_ZONE)
                .cloned()
                .unwrap_or_default();
            match zones.iter_mut().find(|(x, _, _)| *x == z) {
                Some(e) => e.2 += 1,
                None => zones.push((z, m, 1)),
            }
        }
        let mut machines = Vec::new();
        for k in 0..a.count as usize {
            let zi = k % zones.len();
            let (zone, template, _) = zones[zi].clone();
            zones[zi].2 += 1;
            let name = loop {
                let n = if zone.is_empty() {
                    format!("{}-{}", a.pool, zones[zi].2 - 1)
                } else {
                    format!("{}-{zone}-{}", a.pool, zones[zi].2 - 1)
                };
                if !nodes.iter().any(|x| x.meta.name == n) {
                    break n;
                }
                zones[zi].2 += 1;
            };
            let mut n = nodes[template].clone();
            n.meta.labels.insert(LABEL_HOSTNAME.into(), name.clone());
            if let Some(sp) = static_pods.get(&n.meta.name).cloned() {
                static_pods.insert(name.clone(), sp);
            }
            n.meta.name = name;
            machines.push(nodes.len() as u32);
            nodes.push(n);
            pools.push(a.pool.clone());
        }
        out.insert(i, machines);
    }
    Ok(out)
}

/// `deleteNodes`: the node names it deletes.
pub fn delete_nodes(
    a: &RawDeleteNodes,
    file: &Path,
    path: &str,
    nodes: &[Node],
    pools: &[String],
) -> Result<Vec<String>, InputError> {
    let f = format!("{path}.deleteNodes");
    let mut out = Vec::new();
    for n in &a.names {
        if !nodes.iter().any(|x| x.meta.name == *n) {
            return Err(
                InputError::at_path(file, format!("{f}.names"), format!("no node {n:?}"))
                    .suggest(n, nodes.iter().map(|x| x.meta.name.as_str())),
            );
        }
        out.push(n.clone());
    }
    match (&a.pool, a.count) {
        (Some(p), Some(c)) => {
            let members: Vec<&str> = nodes
                .iter()
                .zip(pools)
                .filter(|(_, q)| *q == p)
                .map(|(n, _)| n.meta.name.as_str())
                .collect();
            if members.len() < c as usize {
                return Err(InputError::at_path(
                    file,
                    format!("{f}.count"),
                    format!("pool {p:?} has {} nodes, fewer than {c}", members.len()),
                ));
            }
            out.extend(
                members[members.len() - c as usize..]
                    .iter()
                    .map(|s| s.to_string()),
            );
        }
        (None, None) => {}
        _ => {
            return Err(InputError::at_path(
                file,
                f,
                "`pool` and `count` go together",
            ));
        }
    }
    if out.is_empty() {
        return Err(InputError::at_path(
            file,
            path,
            "deleteNodes names no node (names, or pool and count)",
        ));
    }
    Ok(out)
}

/// One `arrivals:` entry, its shapes already converted (`shapes[i]` a Pod or a Job).
pub fn resolve(
    a: &RawArrivals,
    shapes: Vec<(u64, Workload)>,
    file: &Path,
    path: &str,
) -> Result<ArrivalSpec, InputError> {
    let err = |f: &str, m: String| InputError::at_path(file, format!("{path}.{f}"), m);
    names::dns1123_label(&a.name).map_err(|m| err("name", m))?;
    if shapes.is_empty() {
        return Err(err("shapes", "needs at least one shape".into()));
    }
    let mut shape_list = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, (weight, w)) in shapes.into_iter().enumerate() {
        let (name, restart) = match &w {
            Workload::Pod(p) => (p.meta.name.clone(), Some(p.spec.restart_policy)),
            Workload::Job(j) => (j.meta.name.clone(), None),
            _ => {
                return Err(err(
                    &format!("shapes[{i}].template"),
                    "a shape is a Pod or a Job".into(),
                ))
            }
        };
        if restart == Some(RestartPolicy::Always) {
            return Err(err(
                &format!("shapes[{i}].template.spec.restartPolicy"),
                "an arriving Pod runs to completion: restartPolicy Never or OnFailure".into(),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(err(
                &format!("shapes[{i}]"),
                format!("duplicate shape {name:?}"),
            ));
        }
        if weight == 0 {
            return Err(err(
                &format!("shapes[{i}].weight"),
                "must be at least 1".into(),
            ));
        }
        shape_list.push(Shape {
            name,
            weight,
            template: w,
        });
    }
    let set = [a.poisson.is_some(), a.interval.is_some(), a.trace.is_some()];
    if set.iter().filter(|x| **x).count() != 1 {
        return Err(InputError::at_path(
            file,
            path,
            "needs exactly one of poisson, interval or trace",
        ));
    }
    let (process, count) = if let Some(p) = &a.poisson {
        if !(p.rate.is_finite() && p.rate > 0.0 && p.rate <= 1e6) {
            return Err(err(
                "poisson.rate",
                "must be a number of arrivals per second in (0, 1000000]".into(),
            ));
        }
        (
            ArrivalProcess::Poisson { rate: p.rate },
            need_count(a, &err)?,
        )
    } else if let Some(d) = &a.interval {
        if d.0 == SimDuration::ZERO {
            return Err(err("interval", "must be greater than 0".into()));
        }
        (ArrivalProcess::Interval(d.0), need_count(a, &err)?)
    } else {
        let t = a.trace.as_deref().unwrap_or_default();
        let p = super::relative(file, t);
        let text = super::bounds::read_input(&p)?;
        let rows = trace_rows(&text, &p, &shape_list)?;
        if a.count.is_some_and(|c| c != rows.len() as u64) {
            return Err(err(
                "count",
                format!("the trace has {} rows; leave count out", rows.len()),
            ));
        }
        let n = rows.len() as u64;
        (ArrivalProcess::Trace(rows), n)
    };
    Ok(ArrivalSpec {
        name: a.name.clone(),
        process,
        count,
        start: a.start.as_ref().map_or(SimDuration::ZERO, |d| d.0),
        shapes: shape_list,
    })
}

fn need_count(
    a: &RawArrivals,
    err: &dyn Fn(&str, String) -> InputError,
) -> Result<u64, InputError> {
    match a.count {
        None => Err(err(
            "count",
            "poisson and interval need a count (how many objects)".into(),
        )),
        Some(0) => Err(err("count", "must be at least 1".into())),
        Some(c) if c > MAX_ARRIVALS => Err(err("count", format!("at most {MAX_ARRIVALS}"))),
        Some(c) => Ok(c),
    }
}

/// A trace CSV: a header with `time` and `shape` columns (any order; other columns ignored),
/// then one row per arrival; times (seconds, or Go durations such as `90s`) never decrease.
pub fn trace_rows(
    text: &str,
    p: &Path,
    shapes: &[Shape],
) -> Result<Vec<(SimDuration, usize)>, InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err(InputError::file(
            p,
            "an empty trace (a `time,shape` header, then one row per arrival)",
        ));
    };
    let cols: Vec<&str> = header.split(',').map(|c| c.trim()).collect();
    let col = |name: &str| {
        cols.iter().position(|c| *c == name).ok_or_else(|| {
            InputError::file(
                p,
                format!("the header {header:?} has no `{name}` column (time,shape)"),
            )
        })
    };
    let (ti, si) = (col("time")?, col("shape")?);
    let mut rows = Vec::new();
    let mut last = SimDuration::ZERO;
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(|c| c.trim()).collect();
        let at = |m: String| {
            let mut e = InputError::file(p, m);
            e.set_position(i + 1, 1);
            e
        };
        let (Some(t), Some(s)) = (cells.get(ti), cells.get(si)) else {
            return Err(at(format!(
                "expected {} columns, found {}",
                cols.len(),
                cells.len()
            )));
        };
        let t = parse_time(t).map_err(at)?;
        if t < last {
            return Err(at(format!("time {t} is before the previous row's {last}")));
        }
        last = t;
        let Some(k) = shapes.iter().position(|x| x.name == *s) else {
            return Err(
                at(format!("no shape {s:?}")).suggest(s, shapes.iter().map(|x| x.name.as_str()))
            );
        };
        rows.push((t, k));
        if rows.len() as u64 > MAX_ARRIVALS {
            return Err(at(format!("more than {MAX_ARRIVALS} rows")));
        }
    }
    Ok(rows)
}

/// Seconds (`12.5`) or a Go duration (`12.5s`, `3m`).
fn parse_time(s: &str) -> Result<SimDuration, String> {
    if let Ok(x) = s.parse::<f64>() {
        if x.is_finite() && (0.0..=1e9).contains(&x) {
            return Ok(SimDuration::from_nanos((x * 1e9).round() as u64));
        }
        return Err(format!("time {s:?} must be between 0 and 1e9 seconds"));
    }
    crate::model::duration::parse_go_duration(s).map_err(|e| format!("time {s:?}: {e}"))
}
