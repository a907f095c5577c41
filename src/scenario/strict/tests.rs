//! YAML null in every section: generated from the bundled scenarios, the scenario examples of
//! the docs, and one scenario with the sections the bundled ones do not use. Every mapping
//! entry of each (manifests of `file:` entries inlined) is set to null in turn: the load must
//! either fail with a position or a field path, or give exactly the scenario without that key
//! (null = unset, as Kubernetes' API reads null for an optional field). Every list item set
//! to null must fail. One case per field pattern (`workloads[].spec.replicas`), so a field a
//! new scenario uses is covered without a list to maintain.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::scenario::load_str;

/// List items where null is documented as allowed (`within: [300s, null]`), by suffix.
const NULL_ITEMS_ALLOWED: &[&str] = &[".within[]"];

/// Sections the bundled scenarios do not use.
const EXTRA: &str = r#"
duration: 10m
cluster:
  nodePools:
    - name: pool
      count: 2
      zones: [a, b]
      region: r
      capacity: {cpu: "4", memory: 8Gi, pods: "50"}
      labels: {tier: web}
      taints: [{key: k, value: v, effect: NoSchedule}]
      images: [nginx]
kubeProxy:
  syncPeriod: 30s
  minSyncPeriod: 1s
workloads:
  - apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: default}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 8080}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, labels: {app: web}}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: c
              image: nginx
              resources: {requests: {cpu: 100m}}
traffic:
  - service: web
    rate: 10
failureModels:
  - name: crashes
    target: nodes
    label: node
    timeToFailure: {distribution: exponential, mean: 1h}
    repair: {distribution: fixed, value: 5m}
    fault: nodeCrash
arrivals:
  - name: batch
    every: 1m
    pods:
      - apiVersion: v1
        kind: Pod
        metadata: {name: job}
        spec:
          containers: [{name: c, image: busybox}]
"#;

#[derive(Clone, Debug)]
enum Seg {
    Key(Value),
    Index(usize),
}

fn pattern(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(serde_yaml::to_string(k).unwrap_or_default().trim());
            }
            Seg::Index(_) => s.push_str("[]"),
        }
    }
    s
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Seg::Key(k) => cur.as_mapping_mut()?.get_mut(k)?,
            Seg::Index(i) => cur.as_sequence_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Every path to a mapping value or a list item, depth first.
fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter().enumerate() {
                prefix.push(Seg::Index(i));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// `{file: F}` list items replaced by F's documents (relative to `base`).
fn inline_files(v: &mut Value, base: &Path) {
    match v {
        Value::Mapping(m) => m.values_mut().for_each(|x| inline_files(x, base)),
        Value::Sequence(s) => {
            let mut out = Vec::new();
            for mut x in std::mem::take(s) {
                let file = x
                    .as_mapping()
                    .filter(|m| m.len() == 1)
                    .and_then(|m| m.get("file"))
                    .and_then(Value::as_str)
                    .map(|f| crate::scenario::relative(base, f));
                match file.and_then(|f| std::fs::read_to_string(f).ok()) {
                    Some(text) => {
                        for d in serde_yaml::Deserializer::from_str(&text) {
                            if let Ok(d) = serde::Deserialize::deserialize(d) {
                                if !matches!(d, Value::Null) {
                                    out.push(d);
                                }
                            }
                        }
                    }
                    None => {
                        inline_files(&mut x, base);
                        out.push(x);
                    }
                }
            }
            *s = out;
        }
        _ => {}
    }
}

fn outcome(v: &Value, file: &Path) -> Result<String, String> {
    let text = serde_yaml::to_string(v).map_err(|e| e.to_string())?;
    load_str(&text, file, &[])
        .map(|s| format!("{:?}\n{:?}", s.spec, s.expectations))
        .map_err(|e| e.to_string())
}

fn corpus() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        out.push((f.clone(), std::fs::read_to_string(f).unwrap_or_default()));
    }
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    docs.sort();
    for f in docs
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for block in text.split("```yaml\n").skip(1) {
            let block = block.split("```").next().unwrap_or("");
            out.push((f.clone(), block.to_string()));
        }
    }
    out.push((root.join("scenarios/extra.yaml"), EXTRA.to_string()));
    out
}

#[test]
fn null_is_an_error_or_unset_in_every_section() {
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    let mut loaded = 0;
    for (file, text) in corpus() {
        if load_str(&text, &file, &[]).is_err() {
            continue; // a fragment of the docs, or an example of an error
        }
        loaded += 1;
        let Ok(mut base) = serde_yaml::from_str::<Value>(&text) else {
            continue;
        };
        inline_files(&mut base, &file);
        // A list item that changes nothing is in a field kubesim does not read (warned about).
        let unchanged = outcome(&base, &file);
        let mut all = Vec::new();
        paths(&base, &mut Vec::new(), &mut all);
        for path in all {
            let pat = pattern(&path);
            if !seen.insert(pat.clone()) {
                continue;
            }
            let mut with_null = base.clone();
            if let Some(x) = get_mut(&mut with_null, &path) {
                *x = Value::Null;
            }
            let null = outcome(&with_null, &file);
            let item = matches!(path.last(), Some(Seg::Index(_)));
            let verdict = match (&null, item) {
                (Err(e), _) if e.contains(": error: ") => None,
                (Err(e), _) => Some(format!("error without position or path: {e}")),
                (Ok(_), true) if NULL_ITEMS_ALLOWED.iter().any(|a| pat.ends_with(a)) => None,
                (Ok(got), true) if Ok(got) == unchanged.as_ref() => None,
                (Ok(_), true) => Some("a null list item was accepted".to_string()),
                (Ok(got), false) => {
                    let mut absent = base.clone();
                    if let (Some(Seg::Key(k)), Some(parent)) =
                        (path.last(), get_mut(&mut absent, &path[..path.len() - 1]))
                    {
                        parent.as_mapping_mut().map(|m: &mut Mapping| m.remove(k));
                    }
                    match outcome(&absent, &file) {
                        Ok(want) if &want == got => None,
                        Ok(_) => Some("null is read differently from the key left out".into()),
                        Err(e) => Some(format!("null accepted where leaving it out is: {e}")),
                    }
                }
            };
            if let Some(v) = verdict {
                failures.push(format!("{}: {pat}: {v}", file.display()));
            }
        }
    }
    assert!(loaded >= 25, "only {loaded} scenarios loaded");
    assert!(seen.len() > 300, "only {} field patterns", seen.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
