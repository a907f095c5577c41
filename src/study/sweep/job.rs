//! `kubesim sweep … --emit-job`: a sweep as a Kubernetes Indexed Job, rendered as one
//! multi-document YAML: a ConfigMap holding the scenario (and the manifest files it names),
//! then a `batch/v1` Job with `completionMode: Indexed`, `completions` and `parallelism` N,
//! whose pod `I` runs `kubesim sweep /scenario/FILE … --shard I/N --out RESULTS/shard-I`.
//!
//! The shard index comes from `JOB_COMPLETION_INDEX`: the Job controller adds that variable
//! to every container of an Indexed Job's pods (upstream `addCompletionIndexEnvVariable`,
//! pkg/controller/job/indexed_job_utils.go: a `fieldRef` to the pod's
//! `batch.kubernetes.io/job-completion-index` annotation), and the kubelet expands `$(VAR)`
//! in `args` from the container's environment.
//!
//! Invariant: pure rendering (serde_yaml quotes every value), no I/O; the caller reads the
//! files and writes the text.

use serde_yaml::{Mapping, Value};

/// What the Job is built from.
pub struct JobRequest<'a> {
    /// The Job's name (the ConfigMap is `<name>-scenario`).
    pub name: &'a str,
    pub image: &'a str,
    pub shards: usize,
    /// The scenario's path relative to its directory (its file name) and text, then every
    /// manifest file it names, by its path relative to the scenario's directory.
    pub files: Vec<(String, String)>,
    /// `--set-grid` and `--set` arguments, as the shards must pass them.
    pub grid: Vec<String>,
    pub fixed: Vec<String>,
    /// `A..B`.
    pub seeds: String,
    /// `--jobs` of each pod (also its CPU request).
    pub jobs: usize,
    pub metric: Option<&'a str>,
    /// A PersistentVolumeClaim for the results (else an emptyDir, gone with the pod).
    pub results_pvc: Option<&'a str>,
    /// Where the results volume is mounted; shard `I` writes `<path>/shard-I`.
    pub results_path: &'a str,
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(s(k), v);
    }
    Value::Mapping(m)
}

fn list(items: Vec<Value>) -> Value {
    Value::Sequence(items)
}

/// The ConfigMap key of a file path: `/` becomes `__` (keys allow `[-._a-zA-Z0-9]`).
pub fn config_key(path: &str) -> Result<String, String> {
    let key = path.replace('/', "__");
    if key.is_empty()
        || key.len() > 253
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(format!(
            "{path:?} cannot be a ConfigMap key (letters, digits, `-`, `_`, `.` and `/` only)"
        ));
    }
    Ok(key)
}

/// The container's arguments (after the image's `kubesim` entry point).
fn args(r: &JobRequest, scenario: &str) -> Vec<Value> {
    let mut a = vec![s("sweep"), s(&format!("/scenario/{scenario}"))];
    for g in &r.grid {
        a.extend([s("--set-grid"), s(g)]);
    }
    for f in &r.fixed {
        a.extend([s("--set"), s(f)]);
    }
    a.extend([s("--seeds"), s(&r.seeds)]);
    a.extend([s("--jobs"), s(&r.jobs.to_string())]);
    if let Some(m) = r.metric {
        a.extend([s("--metric"), s(m)]);
    }
    a.extend([
        s("--quiet"),
        s("--shard"),
        s(&format!("$(JOB_COMPLETION_INDEX)/{}", r.shards)),
        s("--out"),
        s(&format!(
            "{}/shard-$(JOB_COMPLETION_INDEX)",
            r.results_path.trim_end_matches('/')
        )),
    ]);
    a
}

fn pod_spec(r: &JobRequest, items: Vec<Value>, scenario: &str) -> Value {
    let results = match r.results_pvc {
        Some(claim) => map(vec![
            ("name", s("results")),
            ("persistentVolumeClaim", map(vec![("claimName", s(claim))])),
        ]),
        None => map(vec![("name", s("results")), ("emptyDir", map(vec![]))]),
    };
    let cpu = r.jobs.max(1).to_string();
    let container = map(vec![
        ("name", s("kubesim")),
        ("image", s(r.image)),
        ("args", list(args(r, scenario))),
        (
            "resources",
            map(vec![
                (
                    "requests",
                    map(vec![("cpu", s(&cpu)), ("memory", s("1Gi"))]),
                ),
                ("limits", map(vec![("cpu", s(&cpu)), ("memory", s("2Gi"))])),
            ]),
        ),
        (
            "volumeMounts",
            list(vec![
                map(vec![
                    ("name", s("scenario")),
                    ("mountPath", s("/scenario")),
                    ("readOnly", Value::Bool(true)),
                ]),
                map(vec![
                    ("name", s("results")),
                    ("mountPath", s(r.results_path)),
                ]),
            ]),
        ),
    ]);
    map(vec![
        // A failed container restarts in the same pod and resumes its shard from the
        // committed cells (an emptyDir survives container restarts).
        ("restartPolicy", s("OnFailure")),
        // The image runs as uid 10001 (Dockerfile); fsGroup makes a claim writable to it.
        (
            "securityContext",
            map(vec![("fsGroup", Value::Number(10001.into()))]),
        ),
        ("containers", list(vec![container])),
        (
            "volumes",
            list(vec![
                map(vec![
                    ("name", s("scenario")),
                    (
                        "configMap",
                        map(vec![
                            ("name", s(&format!("{}-scenario", r.name))),
                            ("items", list(items)),
                        ]),
                    ),
                ]),
                results,
            ]),
        ),
    ])
}

/// The two documents, with a comment on how to apply and collect them.
pub fn render(r: &JobRequest) -> Result<String, String> {
    let Some((scenario, _)) = r.files.first() else {
        return Err("no scenario file".into());
    };
    if r.shards == 0 {
        return Err("--shards must be at least 1".into());
    }
    let mut data = Mapping::new();
    let mut items = Vec::new();
    for (path, text) in &r.files {
        let key = config_key(path)?;
        data.insert(s(&key), s(text));
        items.push(map(vec![("key", s(&key)), ("path", s(path))]));
    }
    let labels = || map(vec![("app.kubernetes.io/name", s("kubesim-sweep"))]);
    let config = map(vec![
        ("apiVersion", s("v1")),
        ("kind", s("ConfigMap")),
        (
            "metadata",
            map(vec![
                ("name", s(&format!("{}-scenario", r.name))),
                ("labels", labels()),
            ]),
        ),
        ("data", Value::Mapping(data)),
    ]);
    let n = Value::Number(r.shards.into());
    let job = map(vec![
        ("apiVersion", s("batch/v1")),
        ("kind", s("Job")),
        (
            "metadata",
            map(vec![("name", s(r.name)), ("labels", labels())]),
        ),
        (
            "spec",
            map(vec![
                ("completionMode", s("Indexed")),
                ("completions", n.clone()),
                ("parallelism", n),
                (
                    "template",
                    map(vec![
                        ("metadata", map(vec![("labels", labels())])),
                        ("spec", pod_spec(r, items, scenario)),
                    ]),
                ),
            ]),
        ),
    ]);
    let yaml = |v: &Value| serde_yaml::to_string(v).map_err(|e| e.to_string());
    let results = match r.results_pvc {
        Some(c) => format!("the PersistentVolumeClaim {c}"),
        None => "an emptyDir (copy the results out before the pods are deleted)".into(),
    };
    Ok(format!(
        "# kubesim sweep as an Indexed Job ({} shards), written by kubesim {}.\n\
         # Apply: kubectl apply -f THIS_FILE; wait: kubectl wait --for=condition=complete job/{}\n\
         # Results: shard I in {}/shard-I on {results};\n\
         # then: kubesim sweep merge shard-0 … shard-{} --out merged (docs/sweep.md)\n\
         {}---\n{}",
        r.shards,
        env!("CARGO_PKG_VERSION"),
        r.name,
        r.results_path.trim_end_matches('/'),
        r.shards - 1,
        yaml(&config)?,
        yaml(&job)?
    ))
}

/// A Job name from a scenario name: lowercase letters, digits and `-`, at most 52
/// characters with the `kubesim-sweep-` prefix (so `<name>-scenario` and the pods' names
/// stay within Kubernetes' limits).
pub fn job_name(scenario: &str) -> String {
    let mut n: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    n = n.trim_matches('-').to_string();
    let mut name = format!("kubesim-sweep-{n}");
    name.truncate(52);
    name.trim_end_matches('-').to_string()
}
