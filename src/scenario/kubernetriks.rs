//! `kubesim import kubernetriks TRACE…`: the Kubernetriks generic trace (github
//! jellythefish/kubernetriks, `src/trace/generic.rs`; examples in `src/data/generic_*_trace_example.yaml`:
//! `events[{timestamp, event_type}]` with the YAML tags `!CreateNode {node}`, `!RemoveNode
//! {node_name}`, `!CreatePod {pod}`, `!RemovePod {pod_name}`; CPU in millicores, RAM in bytes,
//! `running_duration` in seconds, absent for a pod that runs on) turned into a scenario and an
//! arrivals trace CSV. Nodes created before the first pod arrives are node pools at t = 0 (one
//! pool per distinct capacity and labels); a later node is an `addNodes` of its shape's pool, a
//! removal a `deleteNodes` by name; pods are a trace-driven `arrivals:` generator (one shape per
//! distinct requests, limits and run time, each run time a fixed-run behaviour). A `RemovePod`
//! of a finished pod is dropped (it holds no resources); of a running pod, an error.
//!
//! Invariant: reads only the texts it is given and returns file texts; the times of the written
//! arrivals and actions are the trace's timestamps, and anything it cannot express exactly is an
//! error naming the event.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

/// Simulated time after the last event ends.
const SETTLE_SECS: f64 = 120.0;
const ARRIVALS: &str = "pods";
/// Pods per node: Kubernetriks has no pod-count limit, so one far above any trace's need.
const NODE_PODS: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Trace {
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    timestamp: f64,
    event_type: EventType,
}

#[derive(Deserialize)]
enum EventType {
    CreateNode { node: TNode },
    RemoveNode { node_name: String },
    CreatePod { pod: TPod },
    RemovePod { pod_name: String },
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Res {
    cpu: u32,
    ram: u64,
}

#[derive(Deserialize)]
struct NodeStatus {
    capacity: Res,
}

#[derive(Deserialize)]
struct TNode {
    metadata: Meta,
    status: NodeStatus,
}

#[derive(Deserialize)]
struct Resources {
    requests: Res,
    limits: Res,
}

#[derive(Deserialize)]
struct PodSpec {
    resources: Resources,
    running_duration: Option<f64>,
}

#[derive(Deserialize)]
struct TPod {
    metadata: Meta,
    spec: PodSpec,
}

/// What the import writes: `scenario.yaml` and the arrivals trace `pods.csv`.
pub struct Imported {
    pub scenario: String,
    pub pods_csv: String,
    pub nodes: usize,
    pub pods: usize,
}

/// Seconds as a Go duration, exact to the millisecond.
fn dur(s: f64) -> Value {
    let ms = (s * 1000.0).round() as i64;
    Value::String(if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    })
}

fn map(kv: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in kv {
        m.insert(Value::String(k.into()), v);
    }
    Value::Mapping(m)
}

fn s(x: impl Into<String>) -> Value {
    Value::String(x.into())
}

type NodeShape = (Res, BTreeMap<String, String>);
type PodShape = (Res, Res, Option<i64>);

/// Parses each `(source, text)` and merges their events, stably sorted by timestamp.
fn events(files: &[(String, String)]) -> Result<Vec<(f64, String, EventType)>, String> {
    let mut all = Vec::new();
    for (source, text) in files {
        let file = std::path::Path::new(source);
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        super::bounds::check_text(text, file).map_err(|e| e.to_string())?;
        let t: Trace = super::strict::from_str(text)
            .map_err(|e| super::InputError::from_yaml(file, &e).to_string())?;
        for (i, e) in t.events.into_iter().enumerate() {
            if !e.timestamp.is_finite() || e.timestamp < 0.0 {
                return Err(format!(
                    "{source}: error: events[{i}].timestamp: must be a number of seconds ≥ 0"
                ));
            }
            all.push((
                e.timestamp,
                format!("{source}: error: events[{i}]"),
                e.event_type,
            ));
        }
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(all)
}

/// The scenario for the trace files `(source, text)`; `name` names it.
pub fn import(files: &[(String, String)], name: &str) -> Result<Imported, String> {
    let evs = events(files)?;
    let first_pod = evs
        .iter()
        .find(|e| matches!(e.2, EventType::CreatePod { .. }))
        .map_or(f64::INFINITY, |e| e.0);
    let mut node_shapes: Vec<(NodeShape, u32)> = Vec::new(); // shape, nodes so far
    let mut at_zero: Vec<u32> = Vec::new(); // nodes per pool at t = 0
    let mut node_names: BTreeMap<String, String> = BTreeMap::new(); // trace → kubesim
    let mut pod_shapes: Vec<PodShape> = Vec::new();
    let mut pod_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut pod_runs: Vec<(f64, Option<i64>)> = Vec::new(); // creation time, run in ms
    let mut removed_finished = 0usize;
    let mut csv = String::from("time,shape,name\n");
    let mut timeline = Vec::new();
    let mut end = 0.0f64;
    for (t, at, ev) in evs {
        end = end.max(t);
        match ev {
            EventType::CreateNode { node } => {
                let n = &node.metadata.name;
                if node_names.contains_key(n) {
                    return Err(format!("{at}: node {n:?} created twice"));
                }
                if node.status.capacity.cpu == 0 || node.status.capacity.ram == 0 {
                    return Err(format!(
                        "{at}: node {n:?}: status.capacity.cpu and ram must be > 0"
                    ));
                }
                let shape = (node.status.capacity, node.metadata.labels);
                let pi = match node_shapes.iter().position(|(x, _)| *x == shape) {
                    Some(p) => p,
                    None if t <= first_pod => {
                        node_shapes.push((shape, 0));
                        at_zero.push(0);
                        node_shapes.len() - 1
                    }
                    None => {
                        return Err(format!(
                            "{at}: node {n:?} at {t} s: kubesim adds nodes to a pool with a \
                             node at t = 0, and no node of this capacity and labels exists before \
                             the first pod"
                        ))
                    }
                };
                let k = node_shapes[pi].1;
                node_shapes[pi].1 += 1;
                node_names.insert(n.clone(), format!("pool-{pi}-{k}"));
                if t <= first_pod {
                    at_zero[pi] += 1;
                } else {
                    timeline.push(map(vec![
                        ("at", dur(t)),
                        (
                            "addNodes",
                            map(vec![
                                ("pool", s(format!("pool-{pi}"))),
                                ("count", Value::Number(1.into())),
                            ]),
                        ),
                    ]));
                }
            }
            EventType::RemoveNode { node_name } => {
                let Some(k) = node_names.get(&node_name) else {
                    return Err(format!(
                        "{at}: RemoveNode of {node_name:?}, which no earlier event creates"
                    ));
                };
                timeline.push(map(vec![
                    ("at", dur(t.max(0.0))),
                    (
                        "deleteNodes",
                        map(vec![("names", Value::Sequence(vec![s(k)]))]),
                    ),
                ]));
            }
            EventType::CreatePod { pod } => {
                let n = pod.metadata.name.clone();
                if pod_names.contains_key(&n) {
                    return Err(format!("{at}: pod {n:?} created twice"));
                }
                let run = match pod.spec.running_duration {
                    Some(d) if !d.is_finite() || d < 0.0 => {
                        return Err(format!(
                            "{at}: pod {n:?}: spec.running_duration must be seconds ≥ 0"
                        ))
                    }
                    Some(d) => Some((d * 1000.0).round() as i64),
                    None => None,
                };
                end = end.max(t + run.map_or(0.0, |ms| ms as f64 / 1000.0));
                let r = &pod.spec.resources;
                let shape = (r.requests, r.limits, run);
                let si = match pod_shapes.iter().position(|x| *x == shape) {
                    Some(p) => p,
                    None => {
                        pod_shapes.push(shape);
                        pod_shapes.len() - 1
                    }
                };
                pod_names.insert(n.clone(), pod_names.len());
                pod_runs.push((t, run));
                let time = dur(t);
                let time = time.as_str().unwrap_or_default().to_string();
                csv.push_str(&format!("{time},shape-{si},{}\n", csv_field(&n)));
            }
            EventType::RemovePod { pod_name } => {
                let Some(&(created, run)) = pod_names.get(&pod_name).map(|i| &pod_runs[*i]) else {
                    return Err(format!(
                        "{at}: RemovePod of {pod_name:?}, which no earlier event creates"
                    ));
                };
                // A finished pod holds no resources: its removal changes no placement. A running
                // pod's removal would need a deletion of an arrival, which `deleteObject` (workloads
                // only) cannot name yet.
                match run {
                    Some(ms) if created + ms as f64 / 1000.0 <= t => removed_finished += 1,
                    _ => {
                        return Err(format!(
                            "{at}: RemovePod of {pod_name:?} at {t} s while it runs: kubesim \
                             cannot delete an arriving pod before it finishes yet"
                        ))
                    }
                }
            }
        }
    }
    if node_shapes.is_empty() {
        return Err(format!(
            "{}: error: the trace creates no node before its first pod",
            files.first().map_or("trace", |f| f.0.as_str())
        ));
    }
    let pools: Vec<(NodeShape, u32)> = node_shapes
        .into_iter()
        .zip(at_zero)
        .map(|((shape, _), n)| (shape, n))
        .collect();
    let scenario = scenario_text(name, &pools, &pod_shapes, &pod_names, timeline, end)?;
    let nodes = node_names.len();
    Ok(Imported {
        scenario: format!("{}{scenario}", names_comment(&node_names, removed_finished)),
        pods_csv: csv,
        nodes,
        pods: pod_names.len(),
    })
}

fn csv_field(x: &str) -> String {
    if x.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", x.replace('"', "\"\""))
    } else {
        x.to_string()
    }
}

fn names_comment(node_names: &BTreeMap<String, String>, removed_finished: usize) -> String {
    let mut out = format!(
        "# Generated by `kubesim import kubernetriks`: nodes created before the first pod are node\n\
         # pools at t = 0, later ones addNodes, removals deleteNodes; pods arrive as pods.csv says\n\
         # (the trace's timestamps; pod i of the trace in time order is pods-i, its name in the CSV).\n\
         # {removed_finished} RemovePod events of finished pods are not replayed (they hold nothing).\n\
         # Trace node → kubesim node:\n",
    );
    for (t, k) in node_names {
        out.push_str(&format!("#   {t} → {k}\n"));
    }
    out
}

fn res(r: Res) -> Value {
    map(vec![
        ("cpu", s(format!("{}m", r.cpu))),
        ("memory", s(r.ram.to_string())),
    ])
}

fn scenario_text(
    name: &str,
    node_shapes: &[(NodeShape, u32)],
    pod_shapes: &[PodShape],
    pod_names: &BTreeMap<String, usize>,
    timeline: Vec<Value>,
    end: f64,
) -> Result<String, String> {
    // A pool's count is its nodes at t = 0; addNodes names the later ones after them.
    let pools: Vec<Value> = node_shapes
        .iter()
        .enumerate()
        .map(|(i, ((cap, labels), count))| {
            let mut l = Mapping::new();
            for (k, v) in labels {
                l.insert(s(k), s(v));
            }
            let mut c = res(*cap);
            if let Value::Mapping(m) = &mut c {
                m.insert(s("pods"), s(NODE_PODS.to_string()));
            }
            map(vec![
                ("name", s(format!("pool-{i}"))),
                ("count", Value::Number((*count).into())),
                ("capacity", c),
                ("labels", Value::Mapping(l)),
            ])
        })
        .collect();
    let mut behaviors = Vec::new();
    let mut shapes = Vec::new();
    for (i, (req, lim, run)) in pod_shapes.iter().enumerate() {
        let mut ann = Mapping::new();
        if let Some(ms) = run {
            ann.insert(s("kubesim.io/behavior"), s(format!("run-{i}")));
            behaviors.push(map(vec![
                ("name", s(format!("run-{i}"))),
                ("run", dur(*ms as f64 / 1000.0)),
                ("exitCode", Value::Number(0.into())),
            ]));
        }
        let container = map(vec![
            ("name", s("main")),
            ("image", s("kubernetriks:1")),
            (
                "resources",
                map(vec![("requests", res(*req)), ("limits", res(*lim))]),
            ),
        ]);
        shapes.push(map(vec![(
            "template",
            map(vec![
                ("apiVersion", s("v1")),
                ("kind", s("Pod")),
                (
                    "metadata",
                    map(vec![
                        ("name", s(format!("shape-{i}"))),
                        ("annotations", Value::Mapping(ann)),
                    ]),
                ),
                (
                    "spec",
                    map(vec![
                        ("restartPolicy", s("Never")),
                        ("containers", Value::Sequence(vec![container])),
                    ]),
                ),
            ]),
        )]));
    }
    let mut doc = vec![
        ("name", s(name)),
        ("seed", Value::Number(1.into())),
        ("duration", dur(end.ceil() + SETTLE_SECS)),
        ("cluster", map(vec![("nodePools", Value::Sequence(pools))])),
        (
            "runtime",
            map(vec![("behaviors", Value::Sequence(behaviors))]),
        ),
    ];
    if !pod_names.is_empty() {
        doc.push((
            "arrivals",
            Value::Sequence(vec![map(vec![
                ("name", s(ARRIVALS)),
                ("trace", s("pods.csv")),
                ("shapes", Value::Sequence(shapes)),
            ])]),
        ));
    }
    doc.push(("timeline", Value::Sequence(timeline)));
    let v = map(doc);
    serde_yaml::to_string(&v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
