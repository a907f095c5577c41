//! `cluster`: the Nodes of the node pools (and their static pods) and of `cluster.nodes`
//! manifests, with the kubelet's registration labels and taints and image sizes applied.
//!
//! Invariant: node names are unique and the cluster has at least one node; machines are
//! numbered in the order built here (pools in order, zones in order, then `cluster.nodes`).

use crate::scenario::bounds::MAX_NODES;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::kubelet::Registration;
use super::Resolver;
use crate::model::*;
use crate::runtime::RuntimeConfig;
use crate::scenario::convert::{self, Ctx, Object};
use crate::scenario::raw::{RawCluster, RawNodePool};
use crate::scenario::{load_entry, InputError};

/// Nodes, the static pods of each node (by node name), and each node's pool name (by node
/// index; empty for the nodes of `cluster.nodes`).
type NodesAndStaticPods = (Vec<Node>, BTreeMap<String, Vec<Pod>>, Vec<String>);

/// Every Node of the cluster, ready to register.
pub(super) fn nodes(
    r: &mut Resolver,
    cluster: RawCluster,
    runtime: &RuntimeConfig,
    registration: &Registration,
) -> Result<NodesAndStaticPods, InputError> {
    let (mut nodes, static_pods, pools) =
        build_nodes(cluster, r.file, &mut r.warnings, &mut r.dumped)?;
    // Pre-pulled images take their sizes from `runtime.images`.
    for n in &mut nodes {
        for im in &mut n.status.images {
            if im.size_bytes == 0 {
                if let Some(s) = im.names.first().and_then(|x| runtime.catalog.sizes.get(x)) {
                    im.size_bytes = *s;
                }
            }
        }
    }
    for n in &mut nodes {
        for (k, v) in &registration.labels {
            n.meta.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for t in &registration.taints {
            if !n.spec.taints.iter().any(|x| x.matches(t)) {
                n.spec.taints.push(t.clone());
            }
        }
    }
    Ok((nodes, static_pods, pools))
}

fn build_nodes(
    c: RawCluster,
    file: &Path,
    warnings: &mut BTreeSet<String>,
    dumped: &mut Vec<Object>,
) -> Result<NodesAndStaticPods, InputError> {
    // The node count is bounded before any node is built.
    let mut total: u64 = c.nodes.len() as u64;
    for (i, pool) in c.node_pools.iter().enumerate() {
        total += u64::from(pool.count) * pool.zones.len().max(1) as u64;
        if total > MAX_NODES {
            return Err(InputError::at_path(
                file,
                format!("cluster.nodePools[{i}].count"),
                format!(
                    "the cluster would have {total} or more nodes; at most {MAX_NODES} \
                     (kubesim's limit: four times Kubernetes' tested maximum of 5000 nodes)"
                ),
            ));
        }
    }
    let mut nodes = Vec::new();
    let mut static_pods: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    let mut pools: Vec<String> = Vec::new();
    for (i, pool) in c.node_pools.into_iter().enumerate() {
        let name = pool.name.clone();
        pool_nodes(pool, i, file, warnings, &mut nodes, &mut static_pods)?;
        pools.resize(nodes.len(), name);
    }
    for (i, entry) in c.nodes.into_iter().enumerate() {
        for obj in load_entry(entry, file, &format!("cluster.nodes[{i}]"), warnings)? {
            match obj {
                Object::Node(n) => nodes.push(n),
                _ => {
                    return Err(InputError::at_path(
                        file,
                        format!("cluster.nodes[{i}]"),
                        "only Node manifests belong under cluster.nodes",
                    ))
                }
            }
        }
    }
    if !c.from_dump.is_empty() {
        pools.resize(nodes.len(), String::new());
        let (dump_nodes, rest) = crate::scenario::dump::load_cluster(&c.from_dump, file, warnings)?;
        if nodes.len() + dump_nodes.len() > MAX_NODES as usize {
            return Err(InputError::at_path(
                file,
                "cluster.fromDump",
                format!("more than {MAX_NODES} nodes"),
            ));
        }
        for (n, pool) in dump_nodes {
            nodes.push(n);
            pools.push(pool);
        }
        *dumped = rest;
    }
    let mut names = BTreeSet::new();
    for n in &nodes {
        if !names.insert(n.meta.name.clone()) {
            return Err(InputError::at_path(
                file,
                "cluster",
                format!("duplicate node name {:?}", n.meta.name),
            ));
        }
    }
    if nodes.is_empty() {
        return Err(InputError::at_path(
            file,
            "cluster",
            "the cluster has no nodes (add cluster.nodePools, cluster.nodes or cluster.fromDump)",
        ));
    }
    pools.resize(nodes.len(), String::new());
    Ok((nodes, static_pods, pools))
}

/// The nodes of `cluster.nodePools[i]`: `count` per zone (or `count` without zones).
fn pool_nodes(
    mut pool: RawNodePool,
    i: usize,
    file: &Path,
    warnings: &mut BTreeSet<String>,
    nodes: &mut Vec<Node>,
    static_pods: &mut BTreeMap<String, Vec<Pod>>,
) -> Result<(), InputError> {
    let path = format!("cluster.nodePools[{i}]");
    let mut ctx = Ctx {
        file,
        path: path.clone(),
        warnings,
    };
    for (j, z) in pool.zones.iter().enumerate() {
        crate::scenario::names::label_value(z)
            .map_err(|m| InputError::at_path(file, format!("{path}.zones[{j}]"), m))?;
    }
    crate::scenario::names::labels(&pool.labels)
        .map_err(|(k, m)| InputError::at_path(file, format!("{path}.labels.{k}"), m))?;
    let mut capacity = convert::resources(&pool.capacity, &ctx, "capacity", false)?;
    if capacity.pods == 0 {
        capacity.pods = 110;
    }
    // A pool's allocatable falls back to its capacity for every resource it leaves out.
    let allocatable = match &pool.allocatable {
        Some(a) => {
            let mut merged = pool.capacity.clone();
            merged.extend(a.iter().map(|(k, v)| (k.clone(), *v)));
            let mut a = convert::resources(&merged, &ctx, "allocatable", false)?;
            if a.pods == 0 {
                a.pods = capacity.pods;
            }
            a
        }
        None => capacity.clone(),
    };
    let taints = convert::taints(&pool.taints, &mut ctx, "taints")?;
    let images: Vec<ContainerImage> = pool
        .images
        .iter()
        .map(|n| ContainerImage {
            names: vec![n.clone()],
            size_bytes: 0,
        })
        .collect();
    let pool_static = pool_static_pods(&mut pool, &path, file, ctx.warnings)?;
    let zones: Vec<Option<&String>> = if pool.zones.is_empty() {
        vec![None]
    } else {
        pool.zones.iter().map(Some).collect()
    };
    for zone in zones {
        for j in 0..pool.count {
            let name = match zone {
                Some(z) => format!("{}-{}-{}", pool.name, z, j),
                None => format!("{}-{}", pool.name, j),
            };
            let mut labels = pool.labels.clone();
            labels.insert(LABEL_HOSTNAME.into(), name.clone());
            if let Some(z) = zone {
                labels.insert(LABEL_ZONE.into(), z.clone());
            }
            if let Some(rg) = &pool.region {
                labels.insert(LABEL_REGION.into(), rg.clone());
            }
            nodes.push(Node {
                meta: ObjectMeta {
                    name,
                    labels,
                    ..Default::default()
                },
                spec: NodeSpec {
                    unschedulable: false,
                    taints: taints.clone(),
                },
                status: NodeStatus {
                    capacity: capacity.clone(),
                    allocatable: allocatable.clone(),
                    conditions: vec![],
                    images: images.clone(),
                },
            });
            if let (false, Some(n)) = (pool_static.is_empty(), nodes.last()) {
                static_pods.insert(n.meta.name.clone(), pool_static.clone());
            }
        }
    }
    if pool.count == 0 {
        return Err(InputError::at_path(
            file,
            format!("{path}.count"),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// The pool's `staticPods` manifests (Pods only).
fn pool_static_pods(
    pool: &mut RawNodePool,
    path: &str,
    file: &Path,
    warnings: &mut BTreeSet<String>,
) -> Result<Vec<Pod>, InputError> {
    let mut pool_static = Vec::new();
    for (k, entry) in std::mem::take(&mut pool.static_pods)
        .into_iter()
        .enumerate()
    {
        let spath = format!("{path}.staticPods[{k}]");
        for obj in load_entry(entry, file, &spath, warnings)? {
            match obj {
                Object::Pod(p) => pool_static.push(p),
                _ => {
                    return Err(InputError::at_path(
                        file,
                        spath,
                        "only Pod manifests can be static pods",
                    ))
                }
            }
        }
    }
    Ok(pool_static)
}
