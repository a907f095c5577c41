//! `kubesim import simkube TRACE`: a SimKube trace (format version 2, as YAML: `events[{ts,
//! applied_objs, deleted_objs}]`) turned into a scenario. The objects applied at the first
//! timestamp become `workloads` (manifests unchanged); a later apply of a Deployment that
//! changes only `spec.replicas` becomes a `scaleDeployment` action at its offset from the
//! first timestamp, a deletion a `deleteObject` action. Every recorded replica count becomes a
//! `deployment:` expectation at the instant of the scale, and each Deployment's last count an
//! expectation on `replicas` and `readyReplicas` at the end. The trace records no nodes, so
//! the importer sizes one node pool to hold the peak requests with a quarter to spare.
//!
//! Invariant: reads only the text it is given and returns scenario text; anything the replay
//! cannot express (another kind applied later, a template change) is an error naming the
//! event and the object.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::model::quantity::Quantity;

/// Node size of the generated pool.
const NODE_CPU_MILLI: i64 = 32_000;
const NODE_MEMORY_BYTES: i64 = 128 * (1 << 30);
const NODE_PODS: i64 = 110;
/// Simulated time after the last event, for the last scale to settle.
const SETTLE_SECS: i64 = 120;

/// One object of the trace.
struct Obj {
    kind: String,
    namespace: String,
    name: String,
    value: Value,
}

fn obj(v: &Value, at: &str) -> Result<Obj, String> {
    let s = |path: &[&str]| -> Option<String> {
        let mut cur = v;
        for p in path {
            cur = cur.get(*p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let kind = s(&["kind"]).ok_or_else(|| format!("{at}: an object without `kind`"))?;
    let name = s(&["metadata", "name"])
        .ok_or_else(|| format!("{at}: a {kind} without `metadata.name`"))?;
    Ok(Obj {
        kind,
        namespace: s(&["metadata", "namespace"]).unwrap_or_else(|| "default".into()),
        name,
        value: v.clone(),
    })
}

/// `spec.replicas` (default 1), within kubesim's pods-per-workload bound.
fn replicas(v: &Value) -> Result<i64, String> {
    let Some(r) = v.get("spec").and_then(|s| s.get("replicas")) else {
        return Ok(1);
    };
    let n = r
        .as_i64()
        .ok_or_else(|| format!("spec.replicas: expected an integer, got {r:?}"))?;
    super::bounds::check_pods(n, 0).map_err(|m| format!("spec.replicas: {m}"))?;
    Ok(n)
}

/// The object without `spec.replicas` and the server-populated metadata, to compare applies.
fn shape(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_mapping_mut) {
        spec.remove("replicas");
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_mapping_mut) {
        for k in [
            "resourceVersion",
            "generation",
            "managedFields",
            "uid",
            "creationTimestamp",
        ] {
            m.remove(k);
        }
    }
    if let Some(m) = v.as_mapping_mut() {
        m.remove("status");
    }
    v
}

/// (CPU millicores, memory bytes) one pod of a workload requests.
fn pod_requests(v: &Value) -> (i64, i64) {
    let containers = v
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let mut out = (0, 0);
    for c in containers {
        let req = |r: &str| -> i64 {
            let q = c
                .get("resources")
                .and_then(|x| x.get("requests"))
                .and_then(|x| x.get(r));
            let text = match q {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return 0,
            };
            Quantity::parse(&text).map_or(0, |q| {
                if r == "cpu" {
                    q.milli_value()
                } else {
                    q.value()
                }
            })
        };
        out.0 = req("cpu").saturating_add(out.0);
        out.1 = req("memory").saturating_add(out.1);
    }
    out
}

/// Images of init containers that no app container uses: they get a behaviour model that
/// exits 0 after 1 s (the trace records no durations; an init container that never exits
/// would keep its pod from starting).
fn init_only_images(workloads: &[Value]) -> Vec<String> {
    let images = |v: &Value, field: &str| -> Vec<String> {
        v.get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"))
            .and_then(|s| s.get(field))
            .and_then(Value::as_sequence)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let app: Vec<String> = workloads
        .iter()
        .flat_map(|w| images(w, "containers"))
        .collect();
    let mut init: Vec<String> = workloads
        .iter()
        .flat_map(|w| images(w, "initContainers"))
        .filter(|i| !app.contains(i))
        .collect();
    init.sort();
    init.dedup();
    init
}

struct Replay {
    workloads: Vec<Value>,
    timeline: Vec<Value>,
    expect: Vec<Value>,
    duration: i64,
    nodes: i64,
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::String(k.to_string()), v);
    }
    Value::Mapping(m)
}

fn secs(n: i64) -> Value {
    Value::String(format!("{n}s"))
}

/// Walks the events: workloads at the first timestamp, actions and expectations after.
fn replay(trace: &Value) -> Result<Replay, String> {
    let events = trace
        .get("events")
        .and_then(Value::as_sequence)
        .ok_or("not a SimKube trace: no `events` list")?;
    let ts0 = events
        .first()
        .and_then(|e| e.get("ts"))
        .and_then(Value::as_i64)
        .ok_or("the first event has no `ts`")?;
    let mut current: BTreeMap<(String, String, String), Value> = BTreeMap::new();
    let (mut r, mut peak) = (
        Replay {
            workloads: Vec::new(),
            timeline: Vec::new(),
            expect: Vec::new(),
            duration: 0,
            nodes: 1,
        },
        (0i64, 0i64, 0i64),
    );
    for (i, e) in events.iter().enumerate() {
        let t = e
            .get("ts")
            .and_then(Value::as_i64)
            .ok_or(format!("events[{i}]: no `ts`"))?
            .checked_sub(ts0)
            .filter(|t| *t >= r.duration && *t <= super::bounds::MAX_SECONDS)
            .ok_or(format!(
                "events[{i}].ts: timestamps must not decrease (and must fit i64 seconds)"
            ))?;
        r.duration = r.duration.max(t);
        let applied = e
            .get("applied_objs")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (j, v) in applied.iter().enumerate() {
            let at = format!("events[{i}].applied_objs[{j}]");
            let o = obj(v, &at)?;
            let key = (o.kind.clone(), o.namespace.clone(), o.name.clone());
            match current.get(&key) {
                None if t == 0 => {
                    replicas(&o.value).map_err(|m| format!("{at}: {m}"))?;
                    r.workloads.push(o.value.clone())
                }
                None => {
                    return Err(format!(
                        "{at}: {} {}/{} first appears at +{t}s; kubesim applies workloads only at t = 0",
                        o.kind, o.namespace, o.name
                    ))
                }
                Some(old) if shape(old) != shape(&o.value) => {
                    return Err(format!(
                        "{at}: {} {}/{} changes more than spec.replicas at +{t}s, which the replay cannot express",
                        o.kind, o.namespace, o.name
                    ))
                }
                Some(_) if o.kind != "Deployment" => {
                    return Err(format!("{at}: only Deployments can be re-scaled, not {}", o.kind))
                }
                Some(_) => {
                    let n = replicas(&o.value).map_err(|m| format!("{at}: {m}"))?;
                    let target = map(vec![
                        ("name", Value::String(o.name.clone())),
                        ("namespace", Value::String(o.namespace.clone())),
                        ("replicas", Value::Number(n.into())),
                    ]);
                    r.timeline.push(map(vec![("at", secs(t)), ("scaleDeployment", target.clone())]));
                    let mut exp = target.as_mapping().cloned().unwrap_or_default();
                    exp.insert(Value::String("at".into()), secs(t));
                    r.expect.push(map(vec![("deployment", Value::Mapping(exp))]));
                }
            }
            current.insert(key, o.value);
        }
        let deleted = e
            .get("deleted_objs")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (j, v) in deleted.iter().enumerate() {
            let at = format!("events[{i}].deleted_objs[{j}]");
            let o = obj(v, &at)?;
            if ![
                "Deployment",
                "ReplicaSet",
                "ReplicationController",
                "Pod",
                "Job",
            ]
            .contains(&o.kind.as_str())
            {
                return Err(format!(
                    "{at}: deleting a {} ({}/{}) at +{t}s is not an action kubesim can replay",
                    o.kind, o.namespace, o.name
                ));
            }
            current.remove(&(o.kind.clone(), o.namespace.clone(), o.name.clone()));
            r.timeline.push(map(vec![
                ("at", secs(t)),
                (
                    "deleteObject",
                    map(vec![
                        ("kind", Value::String(o.kind)),
                        ("name", Value::String(o.name)),
                        ("namespace", Value::String(o.namespace)),
                    ]),
                ),
            ]));
        }
        // Peak requests of everything alive after this event.
        let mut sum = (0i64, 0i64, 0i64);
        for v in current.values() {
            let (c, m) = pod_requests(v);
            // Bounded at t = 0 or when re-scaled (`replicas` above); saturating for the rest.
            let n = replicas(v).unwrap_or(0);
            sum = (
                sum.0.saturating_add(c.saturating_mul(n)),
                sum.1.saturating_add(m.saturating_mul(n)),
                sum.2.saturating_add(n),
            );
        }
        peak = (peak.0.max(sum.0), peak.1.max(sum.1), peak.2.max(sum.2));
    }
    let need = |total: i64, per: i64| (total.saturating_mul(5) / 4).saturating_add(per - 1) / per;
    r.nodes = need(peak.0, NODE_CPU_MILLI)
        .max(need(peak.1, NODE_MEMORY_BYTES))
        .max(need(peak.2, NODE_PODS))
        .max(1);
    for ((kind, ns, name), v) in &current {
        if kind == "Deployment" {
            let n = Value::Number(replicas(v).unwrap_or(0).into());
            r.expect.push(map(vec![(
                "deployment",
                map(vec![
                    ("name", Value::String(name.clone())),
                    ("namespace", Value::String(ns.clone())),
                    ("replicas", n.clone()),
                    ("readyReplicas", n),
                ]),
            )]));
        }
    }
    r.duration += SETTLE_SECS;
    Ok(r)
}

/// The scenario text for a trace (`source` names it in the header comment). An error reads
/// like every input error: `SOURCE:LINE:COL: error: …` for YAML syntax, `SOURCE: error: …`
/// with the field path for what the trace says.
pub fn import(trace_text: &str, source: &str, name: &str) -> Result<String, String> {
    let file = std::path::Path::new(source);
    let trace_text = trace_text.strip_prefix('\u{feff}').unwrap_or(trace_text);
    super::bounds::check_text(trace_text, file).map_err(|e| e.to_string())?;
    let trace: Value = serde_yaml::from_str(trace_text)
        .map_err(|e| super::InputError::from_yaml(file, &e).to_string())?;
    let r = replay(&trace).map_err(|e| super::InputError::file(file, e).to_string())?;
    let pool = map(vec![
        ("name", Value::String("worker".into())),
        ("count", Value::Number(r.nodes.into())),
        (
            "capacity",
            map(vec![
                ("cpu", Value::String(format!("{}", NODE_CPU_MILLI / 1000))),
                (
                    "memory",
                    Value::String(format!("{}Gi", NODE_MEMORY_BYTES >> 30)),
                ),
                ("pods", Value::String(NODE_PODS.to_string())),
            ]),
        ),
    ]);
    let behaviors: Vec<Value> = init_only_images(&r.workloads)
        .into_iter()
        .enumerate()
        .map(|(i, image)| {
            map(vec![
                ("name", Value::String(format!("init-{i}"))),
                ("image", Value::String(image)),
                ("run", secs(1)),
                ("exitCode", Value::Number(0.into())),
            ])
        })
        .collect();
    let doc = map(vec![
        ("name", Value::String(name.to_string())),
        (
            "description",
            Value::String(format!(
                "SimKube trace {source} replayed ({} actions)",
                r.timeline.len()
            )),
        ),
        ("seed", Value::Number(1.into())),
        ("duration", secs(r.duration)),
        (
            "cluster",
            map(vec![("nodePools", Value::Sequence(vec![pool]))]),
        ),
        (
            "runtime",
            map(vec![("behaviors", Value::Sequence(behaviors))]),
        ),
        ("workloads", Value::Sequence(r.workloads)),
        ("timeline", Value::Sequence(r.timeline)),
        ("expect", Value::Sequence(r.expect)),
    ]);
    let body = serde_yaml::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Generated by `kubesim import simkube {source}`: the objects applied at the first\n\
         # timestamp are the workloads; each later re-apply of a Deployment is a scaleDeployment at\n\
         # its offset from that timestamp, expected to show the recorded replicas at once (the\n\
         # Deployment and ReplicaSet controllers act on the scale in the same instant); at the end\n\
         # every Deployment has its last recorded replicas, all ready. {} nodes hold the peak\n\
         # requests with a quarter to spare. The trace records no container run times: images\n\
         # used only by init containers exit 0 after 1 s, app containers run on.\n{body}",
        r.nodes
    ))
}
