//! What a scenario creates after t = 0: the timeline's `apply`, `addNodes` and `deleteNodes`
//! actions (resolved before the rest of the timeline, by entry index) and the `arrivals:`
//! generators with their shapes, all converted like `workloads` (priority classes, behaviour
//! annotations checked).
//!
//! Invariant: an object created later is converted and checked exactly as a workload at t = 0
//! is; an entry with one of these actions has no other fault or action and no `duration`.

use std::collections::BTreeMap;

use super::{workloads, Resolver};
use crate::cluster::arrivals::ArrivalSpec;
use crate::model::*;
use crate::runtime::RuntimeConfig;
use crate::scenario::arrivals::{self, RawArrivals};
use crate::scenario::raw::RawTimelineEntry;
use crate::scenario::{ActionKind, InputError, Workload};

/// The new actions by timeline index (with their labels), and the `apply` manifests.
pub(super) type Later = (BTreeMap<usize, (ActionKind, String)>, Vec<Vec<Workload>>);

pub(super) fn actions(
    r: &mut Resolver,
    entries: &mut [RawTimelineEntry],
    nodes: &[Node],
    pools: &[String],
    late: &BTreeMap<usize, Vec<u32>>,
    runtime: &RuntimeConfig,
) -> Result<Later, InputError> {
    let file = r.file;
    let mut out = BTreeMap::new();
    let mut applies = Vec::new();
    for (i, t) in entries.iter_mut().enumerate() {
        let path = format!("timeline[{i}]");
        let n = usize::from(t.apply.is_some())
            + usize::from(t.add_nodes.is_some())
            + usize::from(t.delete_nodes.is_some());
        if n == 0 {
            continue;
        }
        if t.duration.is_some() {
            return Err(InputError::at_path(
                file,
                format!("{path}.duration"),
                "an action is instantaneous; remove `duration`",
            ));
        }
        if n > 1 {
            return Err(InputError::at_path(
                file,
                path,
                "each timeline entry needs exactly one fault or action",
            ));
        }
        let action = if let Some(entry) = t.apply.take() {
            let ws = workloads::later(r, *entry, &format!("{path}.apply"), runtime)?;
            let label = format!("kubectl apply ({} objects)", ws.len());
            applies.push(ws);
            (
                ActionKind::Apply {
                    index: applies.len() - 1,
                },
                label,
            )
        } else if let Some(a) = &t.add_nodes {
            let machines = late.get(&i).cloned().unwrap_or_default();
            (
                ActionKind::AddNodes { machines },
                format!("add {} nodes to pool {}", a.count, a.pool),
            )
        } else if let Some(a) = &t.delete_nodes {
            let names = arrivals::delete_nodes(a, file, &path, nodes, pools)?;
            let label = format!("kubectl delete node ({} nodes)", names.len());
            (ActionKind::DeleteNodes { nodes: names }, label)
        } else {
            continue;
        };
        out.insert(i, action);
    }
    Ok((out, applies))
}

/// The `arrivals:` generators.
pub(super) fn generators(
    r: &mut Resolver,
    raw: Vec<RawArrivals>,
    runtime: &RuntimeConfig,
) -> Result<Vec<ArrivalSpec>, InputError> {
    let mut out: Vec<ArrivalSpec> = Vec::new();
    for (i, mut a) in raw.into_iter().enumerate() {
        let path = format!("arrivals[{i}]");
        let mut shapes = Vec::new();
        for (j, s) in std::mem::take(&mut a.shapes).into_iter().enumerate() {
            let spath = format!("{path}.shapes[{j}].template");
            let mut ws = workloads::later(r, s.template, &spath, runtime)?;
            if ws.len() != 1 {
                return Err(InputError::at_path(
                    r.file,
                    spath,
                    format!("a shape is one Pod or Job, found {} objects", ws.len()),
                ));
            }
            shapes.push((s.weight.unwrap_or(1), ws.remove(0)));
        }
        let spec = arrivals::resolve(&a, shapes, r.file, &path)?;
        if out.iter().any(|x| x.name == spec.name) {
            return Err(InputError::at_path(
                r.file,
                format!("{path}.name"),
                format!("duplicate arrivals name {:?}", spec.name),
            ));
        }
        out.push(spec);
    }
    Ok(out)
}
