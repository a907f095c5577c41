//! Scenario files: YAML → raw serde schema (`raw`, `manifest`) → one validated [`Scenario`]
//! with every default resolved in `resolve` (one resolver per section) and echoed as
//! [`Setting`]s. The validated types live in `crate::cluster::spec` and are re-exported here.
//!
//! Architecture invariant: the only reader of input files. Every error carries the file and
//! either line:column (found while parsing) or the field path (found while validating); paths
//! inside a scenario are relative to the scenario file.

pub mod actions;
pub mod arrivals;
pub mod batch;
pub mod behaviors;
pub mod bounds;
pub mod collect;
pub mod convert;
pub mod dump;
pub mod error;
pub mod failures;
pub mod flags;
pub mod kubernetriks;
pub mod manifest;
pub mod names;
pub mod openb;
pub mod raw;
mod resolve;
pub mod schedconfig;
pub mod simkube;
pub mod strict;
pub mod traffic;
pub mod values;
pub mod vocabulary;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::cluster::spec::{
    ActionKind, ClusterSpec, FaultKind, Setting, TimelineEntry, TimelineKind, Workload,
};
pub use crate::model::suggest;
pub use convert::{Kind, KINDS};
pub use error::InputError;
pub use resolve::parse_taint_text;

use crate::model::*;
use crate::scheduler::SchedulerConfig;
use convert::{Ctx, Object};
use manifest::RawManifest;
use raw::*;

/// A validated scenario: the spec the cluster is built from, and the expectations that observe
/// the run. Derefs to its [`ClusterSpec`], so `scenario.nodes` reads the spec's nodes.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub spec: ClusterSpec,
    pub expectations: Vec<crate::observe::expect::TimedExpectation>,
    /// `failureModels:`; their faults for the current seed follow the fixed timeline.
    pub failure_models: Vec<failures::FailureModel>,
    /// How many timeline entries the file wrote (the rest were drawn from the failure models).
    pub fixed_timeline: usize,
}

impl Scenario {
    /// This scenario at `seed`: the seed set and the failure models' faults drawn again for
    /// it (a model generating more than its `maxFaults` is an input error).
    pub fn with_seed(mut self, seed: u64) -> Result<Scenario, InputError> {
        self.reseed(seed)
            .map_err(|m| InputError::file(&self.spec.file, m))?;
        Ok(self)
    }

    /// As [`Scenario::with_seed`], in place. On an error (the message alone) the scenario
    /// still holds each model's first `maxFaults` faults.
    pub fn reseed(&mut self, seed: u64) -> Result<(), String> {
        let (drawn, exceeded) =
            failures::expand_capped(&self.failure_models, seed, self.spec.duration);
        self.spec.seed = seed;
        self.spec.timeline.truncate(self.fixed_timeline);
        self.spec.timeline.extend(drawn);
        exceeded.map_or(Ok(()), Err)
    }
}

impl std::ops::Deref for Scenario {
    type Target = ClusterSpec;
    fn deref(&self) -> &ClusterSpec {
        &self.spec
    }
}

impl std::ops::DerefMut for Scenario {
    fn deref_mut(&mut self) -> &mut ClusterSpec {
        &mut self.spec
    }
}

/// The Kubernetes minor versions whose behaviour kubesim reproduces.
pub const SUPPORTED_MINORS: std::ops::RangeInclusive<u32> = 27..=34;
pub const DEFAULT_VERSION: &str = "1.34";

/// Loads and validates a scenario file. `overrides` are `component.flag=value` strings
/// (`--set`), applied over the file's flags.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let text = bounds::read_input(path)?;
    load_str(&text, path, overrides)
}

/// Validates scenario text (a leading BOM is dropped; depth and aliases are bounded first),
/// reporting every independent error at once (`collect`).
pub fn load_str(text: &str, path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    bounds::check_text(text, path)?;
    collect::all_errors(text, path, |skip| {
        let raw: RawScenario = strict::from_str_skipping(text, skip)
            .map_err(|e| (yaml_error(path, text, &e), false))?;
        resolve::resolve(raw, path, overrides).map_err(|e| (e, true))
    })
}

/// A serde_yaml error with its position; "more than one document" gets the second one's.
fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> InputError {
    let mut err = InputError::from_yaml(path, e);
    if err.line.is_none() && err.message.contains("more than one document") {
        err = InputError::file(
            path,
            "a second YAML document: a scenario is one document (put manifests under `workloads`)",
        );
        if let Some((l, c)) = bounds::second_document(text) {
            err.set_position(l, c);
        }
    }
    err
}

/// A path written in a scenario is relative to the scenario file.
pub(crate) fn relative(scenario: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        scenario.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Every document of a manifest file (multi-document YAML, `List`s; empty documents skipped;
/// server-populated fields dropped and unmodelled kinds skipped, with the file's warnings).
fn manifest_documents(
    text: &str,
    p: &Path,
    warnings: &mut BTreeSet<String>,
) -> Result<Vec<Object>, InputError> {
    let mut out = Vec::new();
    let mut tally = dump::Tally::default();
    let all = strict::Skip::default();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let mut raw = match RawManifest::deserialize(strict::Strict::new(doc, &all)) {
            Ok(raw) => raw,
            Err(e) => match lenient_document(text, i, &mut tally) {
                Some(Ok(raw)) => raw,
                Some(Err(m)) => return Err(InputError::file(p, format!("document[{i}]: {m}"))),
                None => return Err(InputError::from_yaml(p, &e)),
            },
        };
        if raw.kind.is_none()
            && raw.metadata.is_none()
            && raw.spec.is_none()
            && raw.api_version.is_none()
        {
            continue; // an empty document
        }
        if !tally.sift(&mut raw) {
            continue;
        }
        let mut ctx = Ctx {
            file: p,
            path: format!("document[{i}]"),
            warnings,
        };
        out.extend(convert::convert(raw, &mut ctx)?);
    }
    tally.warn(p, warnings);
    Ok(out)
}

/// Document `i` again, when it did not parse as a manifest: if it is (or its `List` holds)
/// objects of kinds kubesim skips (custom resources have fields of their own), those are
/// removed and the rest parsed; `None` if there was nothing to skip (the parse error stands).
fn lenient_document(
    text: &str,
    i: usize,
    tally: &mut dump::Tally,
) -> Option<Result<RawManifest, String>> {
    let doc = serde_yaml::Deserializer::from_str(text).nth(i)?;
    let mut v = serde_yaml::Value::deserialize(doc).ok()?;
    if !tally.sift_value(&mut v) {
        return None;
    }
    if v.is_null() {
        return Some(Ok(RawManifest::default()));
    }
    Some(serde_yaml::from_value(v).map_err(|e| e.to_string()))
}

/// The objects of plain manifest files, by kind, and the warnings for unmodelled fields.
#[derive(Debug, Default)]
pub struct ManifestObjects {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub replica_sets: Vec<ReplicaSet>,
    /// Services and StatefulSets: only their selectors matter here (default spreading).
    pub services: Vec<Service>,
    pub stateful_sets: Vec<StatefulSet>,
    pub warnings: Vec<String>,
}

/// Objects from plain manifest files (`kubesim explain --cluster/--pod`).
pub fn load_manifest_files(paths: &[PathBuf]) -> Result<ManifestObjects, InputError> {
    let mut warnings = BTreeSet::new();
    let (mut nodes, mut pods, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    let (mut services, mut stateful_sets) = (Vec::new(), Vec::new());
    let mut classes = system_priority_classes();
    // The API server's AlreadyExists: one object per kind, namespace and name.
    let mut seen: std::collections::BTreeMap<(&str, String), &Path> = Default::default();
    for p in paths {
        let text = bounds::read_input(p)?;
        for o in manifest_documents(&text, p, &mut warnings)? {
            let key = match &o {
                Object::Node(n) => Some(("Node", n.meta.name.clone())),
                Object::Pod(x) => Some(("Pod", x.key())),
                _ => None,
            };
            if let Some((kind, name)) = key {
                if let Some(first) = seen.insert((kind, name.clone()), p) {
                    return Err(InputError::file(
                        p,
                        format!(
                            "{kind} {name:?} already exists (in {}): each object once",
                            first.display()
                        ),
                    ));
                }
            }
            match o {
                Object::Node(n) => nodes.push(n),
                Object::Pod(x) => pods.push(x),
                Object::ReplicaSet(r) => rss.push(r),
                Object::PriorityClass(c) => classes.push(c),
                // Their selectors make default spreading apply (helper.DefaultSelector).
                Object::Service(s) => services.push(s),
                Object::StatefulSet(s) => stateful_sets.push(s),
                // Other workload controllers' objects do not take part in a single scheduling
                // decision; `explain` on a scenario sees the pods they create.
                Object::Deployment(_)
                | Object::DaemonSet(_)
                | Object::PodDisruptionBudget(_)
                | Object::Namespace(_)
                | Object::NamespacedObject(_) => {}
                Object::Job(_) | Object::CronJob(_) => {}
            }
        }
    }
    for pod in pods.iter_mut() {
        let key = pod.key();
        resolve_priority(&mut pod.spec, &classes).map_err(|missing| {
            InputError::file(
                paths.first().map_or(Path::new(""), |p| p.as_path()),
                format!("Pod {key}: no PriorityClass with name {missing} was found"),
            )
            .suggest(&missing, classes.iter().map(|c| c.name.as_str()))
        })?;
    }
    Ok(ManifestObjects {
        nodes,
        pods,
        replica_sets: rss,
        services,
        stateful_sets,
        warnings: warnings.into_iter().collect(),
    })
}

/// A `KubeSchedulerConfiguration` file on its own (`--scheduler-config`).
pub fn load_scheduler_config_file(p: &Path) -> Result<(SchedulerConfig, Vec<String>), InputError> {
    let mut warnings = BTreeSet::new();
    let mut cfg = SchedulerConfig::default();
    schedconfig::load(p, &mut cfg, &mut warnings)?;
    Ok((cfg, warnings.into_iter().collect()))
}

/// An inline manifest, or every document of `{file: …}`.
pub(crate) fn load_entry(
    entry: RawManifest,
    file: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<Vec<Object>, InputError> {
    if let Some(f) = &entry.file {
        let only_file = entry.kind.is_none()
            && entry.api_version.is_none()
            && entry.metadata.is_none()
            && entry.spec.is_none();
        if !only_file {
            return Err(InputError::at_path(
                file,
                path,
                "`file` cannot be combined with an inline manifest",
            ));
        }
        let p = relative(file, f);
        let same = match (std::fs::canonicalize(&p), std::fs::canonicalize(file)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(InputError::at_path(
                file,
                format!("{path}.file"),
                "is the scenario file itself; a manifest file holds Kubernetes objects",
            ));
        }
        let why = match std::fs::metadata(&p) {
            Err(e) => Some(e.to_string()),
            Ok(m) if !m.is_file() => Some("not a regular file".to_string()),
            Ok(_) => None,
        };
        if let Some(why) = why {
            return Err(InputError::at_path(
                file,
                format!("{path}.file"),
                format!("cannot read {}: {why}", p.display()),
            ));
        }
        let text = bounds::read_input(&p)?;
        return manifest_documents(&text, &p, warnings);
    }
    let mut entry = entry;
    let mut tally = dump::Tally::default();
    let keep = tally.sift(&mut entry);
    let mut ctx = Ctx {
        file,
        path: path.to_string(),
        warnings,
    };
    let out = if keep {
        convert::convert(entry, &mut ctx)?
    } else {
        Vec::new()
    };
    tally.warn(file, warnings);
    Ok(out)
}
