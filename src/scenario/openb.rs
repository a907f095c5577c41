//! The Alibaba GPU cluster trace "openb" (cluster-trace-gpu-v2023, the FGD paper's input):
//! `openb_node_list_*.csv` (`sn,cpu_milli,memory_mib,gpu,model`) and `openb_pod_list_*.csv`
//! (`name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,pod_phase,creation_time,…]`)
//! read into records, turned into model objects for `kubesim bench fgd`, and written as
//! Kubernetes YAML plus a scenario by `kubesim import alibaba-openb` (with `--replay-times`, the
//! pods as an `arrivals:` trace by `creation_time`, run until `deletion_time`) — in the shape of the
//! artifact's `pod_csv_to_yaml.py` and node YAML: GPU nodes with `alibabacloud.com/gpu-count`
//! and `gpu-milli` capacity, the model label and 1001 pods; GPU pods with the `gpu-milli`,
//! `gpu-count` and (when constrained) `gpu-card-model` annotations. Whole GPUs are also given
//! as the `nvidia.com/gpu` extended resource (node capacity, and the request of pods that take
//! whole devices), so the default scheduler honours them with upstream semantics.
//!
//! Invariant: reads only the text it is given; a malformed row is an error naming the file,
//! the line and the column, never a panic.

use std::collections::BTreeMap;

use crate::model::{Container, Node, Pod};
use crate::scheduler::plugins::outoftree::score::{Policy, POLICIES};
use crate::scheduler::plugins::outoftree::{
    GpuSel, GPU_COUNT, GPU_MILLI, GPU_MODEL, OPEN_GPU_SHARE,
};

/// Pods per node in the artifact's node YAML (no 110-pod cap).
pub const NODE_PODS: i64 = 1001;
/// The upstream whole-GPU extended resource.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";
const NAMESPACE: &str = "openb";
const IMAGE: &str = "tensorflow:latest";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenbNode {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_mib: i64,
    pub gpu: i64,
    pub model: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenbPod {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_mib: i64,
    pub num_gpu: i64,
    pub gpu_milli: i64,
    pub gpu_spec: String,
    /// Seconds from the trace's start, when the file has the column.
    pub creation_time: Option<i64>,
    /// Seconds from the trace's start, when the file has the column and the pod ended.
    pub deletion_time: Option<i64>,
}

/// A CSV row: its line and column name → value.
type Row = (u64, BTreeMap<String, String>);

/// Rows of a CSV as (line, column name → value).
fn rows(text: &str, source: &str, required: &[&str]) -> Result<Vec<Row>, String> {
    let mut rd = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = rd
        .headers()
        .map_err(|e| format!("{source}: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err(format!(
                "{source}:1: missing column `{r}` (header: {})",
                headers.join(",")
            ));
        }
    }
    let mut out = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| format!("{source}: {e}"))?;
        let line = rec.position().map_or(0, |p| p.line());
        let map = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(|v| v.trim().to_string()))
            .collect();
        out.push((line, map));
    }
    Ok(out)
}

fn int(row: &BTreeMap<String, String>, col: &str, source: &str, line: u64) -> Result<i64, String> {
    let v = row.get(col).map(String::as_str).unwrap_or("");
    let n: i64 = v
        .parse()
        .map_err(|_| format!("{source}:{line}: column `{col}`: `{v}` is not a whole number"))?;
    if n < 0 {
        return Err(format!("{source}:{line}: column `{col}`: {n} is negative"));
    }
    Ok(n)
}

/// `openb_node_list_*.csv`.
pub fn parse_nodes(text: &str, source: &str) -> Result<Vec<OpenbNode>, String> {
    let mut out = Vec::new();
    for (line, r) in rows(
        text,
        source,
        &["sn", "cpu_milli", "memory_mib", "gpu", "model"],
    )? {
        let name = r.get("sn").cloned().unwrap_or_default();
        if name.is_empty() {
            return Err(format!("{source}:{line}: column `sn`: empty node name"));
        }
        out.push(OpenbNode {
            name,
            cpu_milli: int(&r, "cpu_milli", source, line)?,
            memory_mib: int(&r, "memory_mib", source, line)?,
            gpu: int(&r, "gpu", source, line)?,
            model: r.get("model").cloned().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `openb_pod_list_*.csv` (the multi-GPU variants lack `gpu_spec` and the times).
pub fn parse_pods(text: &str, source: &str) -> Result<Vec<OpenbPod>, String> {
    let mut out = Vec::new();
    let req = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"];
    for (line, r) in rows(text, source, &req)? {
        let name = r.get("name").cloned().unwrap_or_default();
        if name.is_empty() {
            return Err(format!("{source}:{line}: column `name`: empty pod name"));
        }
        let num_gpu = int(&r, "num_gpu", source, line)?;
        let gpu_milli = int(&r, "gpu_milli", source, line)?;
        if num_gpu > 0 && !(1..=1000).contains(&gpu_milli) {
            return Err(format!(
                "{source}:{line}: column `gpu_milli`: {gpu_milli} is not in 1..1000 for a GPU pod"
            ));
        }
        if num_gpu > 1 && gpu_milli < 1000 {
            return Err(format!(
                "{source}:{line}: a pod of {num_gpu} GPUs must take whole GPUs (gpu_milli 1000), not {gpu_milli}"
            ));
        }
        let creation_time = match r.get("creation_time").map(String::as_str) {
            None | Some("") => None,
            Some(_) => Some(int(&r, "creation_time", source, line)?),
        };
        let deletion_time = match r.get("deletion_time").map(String::as_str) {
            None | Some("") => None,
            Some(_) => Some(int(&r, "deletion_time", source, line)?),
        };
        out.push(OpenbPod {
            name,
            deletion_time,
            cpu_milli: int(&r, "cpu_milli", source, line)?,
            memory_mib: int(&r, "memory_mib", source, line)?,
            num_gpu,
            gpu_milli: if num_gpu > 0 { gpu_milli } else { 0 },
            gpu_spec: r
                .get("gpu_spec")
                .map(|s| {
                    s.split('|')
                        .filter(|m| !m.is_empty())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .unwrap_or_default(),
            creation_time,
        });
    }
    Ok(out)
}

/// A GPU node's name as a Kubernetes name (the trace's are already lowercase DNS labels).
pub fn node_object(n: &OpenbNode) -> Node {
    let mut node = Node::default();
    node.meta.name = n.name.clone();
    node.meta
        .labels
        .insert("kubernetes.io/hostname".into(), n.name.clone());
    let cap = &mut node.status.capacity;
    cap.cpu_milli = n.cpu_milli;
    cap.memory = n.memory_mib * 1024 * 1024;
    cap.pods = NODE_PODS;
    if n.gpu > 0 {
        node.meta.labels.insert(GPU_MODEL.into(), n.model.clone());
        cap.scalar.insert(GPU_COUNT.into(), n.gpu);
        cap.scalar.insert(GPU_MILLI.into(), n.gpu * 1000);
        cap.scalar.insert(NVIDIA_GPU.into(), n.gpu);
    }
    node.status.allocatable = node.status.capacity.clone();
    node
}

/// A trace pod as the artifact's YAML has it (requests = limits; GPU by annotation).
pub fn pod_object(p: &OpenbPod) -> Pod {
    let mut pod = Pod::named(NAMESPACE, &p.name);
    let mut c = Container {
        name: "main".into(),
        image: IMAGE.into(),
        has_cpu_request: true,
        has_memory_request: true,
        ..Container::default()
    };
    c.requests.cpu_milli = p.cpu_milli;
    c.requests.memory = p.memory_mib * 1024 * 1024;
    if p.num_gpu > 0 {
        let a = &mut pod.meta.annotations;
        a.insert(GPU_MILLI.into(), p.gpu_milli.to_string());
        a.insert(GPU_COUNT.into(), p.num_gpu.to_string());
        if !p.gpu_spec.is_empty() {
            a.insert(GPU_MODEL.into(), p.gpu_spec.clone());
        }
    }
    c.limits = c.requests.clone();
    pod.spec.containers.push(c);
    pod
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The nodes as one multi-document YAML file of `v1` Nodes.
pub fn nodes_yaml(nodes: &[OpenbNode]) -> String {
    let mut out = String::new();
    for n in nodes {
        let mut caps = format!(
            "    cpu: {}m\n    memory: {}Mi\n    pods: \"{NODE_PODS}\"\n",
            n.cpu_milli, n.memory_mib
        );
        let mut labels = format!("    kubernetes.io/hostname: {}\n", q(&n.name));
        if n.gpu > 0 {
            caps += &format!(
                "    {GPU_COUNT}: \"{g}\"\n    {GPU_MILLI}: \"{m}\"\n    {NVIDIA_GPU}: \"{g}\"\n",
                g = n.gpu,
                m = n.gpu * 1000
            );
            labels += &format!("    {GPU_MODEL}: {}\n", q(&n.model));
        }
        out += &format!(
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {}\n  labels:\n{labels}status:\n  capacity:\n{caps}",
            q(&n.name)
        );
    }
    out
}

/// The pods as one multi-document YAML file of `v1` Pods in namespace `openb`.
pub fn pods_yaml(pods: &[OpenbPod]) -> String {
    let mut out = String::new();
    for p in pods {
        let mut res = format!("cpu: {}m, memory: {}Mi", p.cpu_milli, p.memory_mib);
        let mut anno = String::new();
        if p.num_gpu > 0 {
            if p.gpu_milli >= 1000 {
                res += &format!(", {NVIDIA_GPU}: \"{}\"", p.num_gpu);
            }
            anno += &format!(
                "  annotations:\n    {GPU_MILLI}: \"{}\"\n    {GPU_COUNT}: \"{}\"\n",
                p.gpu_milli, p.num_gpu
            );
            if !p.gpu_spec.is_empty() {
                anno += &format!("    {GPU_MODEL}: {}\n", q(&p.gpu_spec));
            }
        }
        out += &format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {}\n  namespace: {NAMESPACE}\n{anno}spec:\n  restartPolicy: OnFailure\n  containers:\n  - name: main\n    image: {IMAGE}\n    resources:\n      requests: {{{res}}}\n      limits: {{{res}}}\n",
            q(&p.name)
        );
    }
    out
}

/// `--replay-times`: the pods as a trace-driven `arrivals:` generator `openb` — its section,
/// the behaviours it names, and the trace CSV (`time,shape,name`, by `creation_time`, stable).
/// One shape per distinct pod (requests, GPU annotations, run time); the run time is
/// `deletion_time − creation_time` as a fixed-run behaviour (a pod without one runs on).
pub fn arrivals(pods: &[OpenbPod], source: &str) -> Result<(String, String), String> {
    let mut order: Vec<(i64, usize)> = Vec::with_capacity(pods.len());
    for (i, p) in pods.iter().enumerate() {
        let c = p
            .creation_time
            .ok_or_else(|| format!("{source}: pod {}: no creation_time to replay", p.name))?;
        order.push((c, i));
    }
    order.sort_by_key(|&(c, i)| (c, i));
    let mut shapes: Vec<String> = Vec::new();
    let mut runs: Vec<i64> = Vec::new();
    let mut csv = String::from("time,shape,name\n");
    for &(c, i) in &order {
        let p = &pods[i];
        let run = p.deletion_time.filter(|d| *d >= c).map(|d| d - c);
        let mut anno = String::new();
        if let Some(r) = run {
            anno += &format!("kubesim.io/behavior: run-{r}, ");
            if !runs.contains(&r) {
                runs.push(r);
            }
        }
        let mut res = format!("cpu: {}m, memory: {}Mi", p.cpu_milli, p.memory_mib);
        if p.num_gpu > 0 {
            if p.gpu_milli >= 1000 {
                res += &format!(", {NVIDIA_GPU}: \"{}\"", p.num_gpu);
            }
            anno += &format!(
                "{GPU_MILLI}: \"{}\", {GPU_COUNT}: \"{}\", ",
                p.gpu_milli, p.num_gpu
            );
            if !p.gpu_spec.is_empty() {
                anno += &format!("{GPU_MODEL}: {}, ", q(&p.gpu_spec));
            }
        }
        let body = format!(
            "namespace: {NAMESPACE}, annotations: {{{}}}}}, spec: {{restartPolicy: OnFailure, containers: [{{name: main, image: {}, resources: {{requests: {{{res}}}, limits: {{{res}}}}}}}]}}}}",
            anno.trim_end_matches(", "),
            q(IMAGE)
        );
        let si = match shapes.iter().position(|s| *s == body) {
            Some(s) => s,
            None => {
                shapes.push(body);
                shapes.len() - 1
            }
        };
        csv += &format!("{c},s{si},{}\n", p.name);
    }
    let mut section = String::from("runtime:\n  behaviors:\n");
    for r in &runs {
        section += &format!("  - {{name: run-{r}, run: {r}s, exitCode: 0}}\n");
    }
    if runs.is_empty() {
        section = String::new();
    }
    section += "arrivals:\n- name: openb\n  trace: arrivals.csv\n  shapes:\n";
    for (i, body) in shapes.iter().enumerate() {
        section +=
            &format!("  - template: {{apiVersion: v1, kind: Pod, metadata: {{name: s{i}, {body}\n");
    }
    Ok((section, csv))
}

/// The scenario that runs the imported files: every pod created at t = 0 (the trace's
/// creation times are not replayed here), `duration` long, with the kube-scheduler
/// configuration `sched_file` (the GPU plugins, [`scheduler_config_yaml`]) or, without one,
/// the default scheduler (whole GPUs only, as `nvidia.com/gpu`).
pub fn scenario_yaml(
    name: &str,
    nodes_file: &str,
    pods_file: &str,
    duration: &str,
    sched_file: Option<&str>,
) -> String {
    scenario_yaml_with(
        name,
        nodes_file,
        &format!("- file: {pods_file}\n"),
        duration,
        sched_file,
    )
}

/// The scenario with `tail` after the Namespace workload (the pods file, or `arrivals()`'s
/// sections for `--replay-times`).
pub fn scenario_yaml_with(
    name: &str,
    nodes_file: &str,
    tail: &str,
    duration: &str,
    sched_file: Option<&str>,
) -> String {
    let (how, components) = match sched_file {
        Some(f) => (
            format!("# sharing is placed on devices by the GPU plugins {f} enables (docs/gpu.md).\n"),
            format!("components:\n  kube-scheduler: {{config: {f}}}\n"),
        ),
        None => (
            "# sharing (the gpu-milli annotations) is modelled by `kubesim bench fgd` (docs/gpu.md).\n"
                .to_string(),
            String::new(),
        ),
    };
    format!(
        "# Imported by `kubesim import alibaba-openb` (Alibaba cluster-trace-gpu-v2023, Weng et al.,\n\
         # USENIX ATC'23). Whole GPUs are also the nvidia.com/gpu extended resource; GPU\n\
         {how}name: {name}\nseed: 42\nduration: {duration}\n{components}cluster:\n  nodes:\n  - file: {nodes_file}\n\
         workloads:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {{name: {NAMESPACE}}}\n{tail}"
    )
}

/// A `KubeSchedulerConfiguration` for `kubesim run` in the FGD study's set-up (docs/gpu.md):
/// the default profile filters with `Open-Gpu-Share` as well, scores with `policy`'s plugin
/// alone (every upstream score plugin disabled), examines every node, and chooses devices with
/// the `gpuSelMethod` the artifact's scripts pair with the policy.
pub fn scheduler_config_yaml(policy: Policy) -> String {
    let sel = match policy.gpu_sel() {
        GpuSel::Best => "best",
        GpuSel::Worst => "worst",
        GpuSel::Random => "random",
        GpuSel::Fgd => "FGDScore",
    };
    format!(
        "# Written by `kubesim import alibaba-openb --policy {short}` (docs/gpu.md).\n\
         apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
         percentageOfNodesToScore: 100\nprofiles:\n- schedulerName: default-scheduler\n  plugins:\n\
         \x20   filter:\n      enabled:\n      - name: {OPEN_GPU_SHARE}\n\
         \x20   score:\n      disabled:\n      - name: \"*\"\n      enabled:\n      - name: {plugin}\n        weight: 1\n\
         \x20 pluginConfig:\n  - name: {OPEN_GPU_SHARE}\n    args:\n      gpuSelMethod: {sel}\n",
        short = policy.short_name(),
        plugin = policy.plugin_name(),
    )
}

/// The policy a `KubeSchedulerConfiguration` in the artifact's shape selects: its first profile
/// must enable the `Open-Gpu-Share` filter and one of the six score plugins (the one with the
/// largest weight, as the artifact's scripts pick it); `pluginConfig` of `Open-Gpu-Share` may
/// set `gpuSelMethod` (best, worst, random, FGDScore), else the policy's own.
pub fn policy_from_scheduler_config(text: &str, source: &str) -> Result<(Policy, GpuSel), String> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("{source}: {e}"))?;
    if v.get("kind").and_then(|k| k.as_str()) != Some("KubeSchedulerConfiguration") {
        return Err(format!(
            "{source}: kind: expected KubeSchedulerConfiguration"
        ));
    }
    let profile = v
        .get("profiles")
        .and_then(|p| p.get(0))
        .ok_or_else(|| format!("{source}: profiles: at least one profile is required"))?;
    let names = |point: &str| -> Vec<(String, i64)> {
        profile
            .get("plugins")
            .and_then(|p| p.get(point))
            .and_then(|p| p.get("enabled"))
            .and_then(|e| e.as_sequence())
            .map(|seq| {
                seq.iter()
                    .filter_map(|e| {
                        let n = e.get("name")?.as_str()?.to_string();
                        let w = e.get("weight").and_then(|w| w.as_i64()).unwrap_or(1);
                        Some((n, w))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if !names("filter").iter().any(|(n, _)| n == OPEN_GPU_SHARE) {
        return Err(format!(
            "{source}: profiles[0].plugins.filter.enabled: `{OPEN_GPU_SHARE}` must be enabled"
        ));
    }
    let mut best: Option<(Policy, i64)> = None;
    for (n, w) in names("score") {
        match POLICIES.into_iter().find(|p| p.plugin_name() == n) {
            Some(p) if best.is_none_or(|(_, bw)| w > bw) => best = Some((p, w)),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{source}: profiles[0].plugins.score.enabled: `{n}` is not one of {}",
                    POLICIES.map(|p| p.plugin_name()).join(", ")
                ))
            }
        }
    }
    let (policy, _) = best.ok_or_else(|| {
        format!("{source}: profiles[0].plugins.score.enabled: enable one of the GPU score plugins")
    })?;
    let mut sel = policy.gpu_sel();
    let configs = profile.get("pluginConfig").and_then(|c| c.as_sequence());
    for c in configs.into_iter().flatten() {
        if c.get("name").and_then(|n| n.as_str()) != Some(OPEN_GPU_SHARE) {
            continue;
        }
        if let Some(m) = c.get("args").and_then(|a| a.get("gpuSelMethod")) {
            let m = m.as_str().unwrap_or("");
            sel = GpuSel::from_name(m).ok_or_else(|| {
                format!("{source}: pluginConfig[{OPEN_GPU_SHARE}].args.gpuSelMethod: `{m}` is not best, worst, random or FGDScore")
            })?;
        }
    }
    Ok((policy, sel))
}
