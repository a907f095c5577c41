//! The capacity columns of `timeseries.csv`: per zone and per node pool, allocatable and
//! requested CPU, memory, pods and each extended resource; pending pods by the scheduler's
//! `FailedScheduling` reason; pods running on machines that are up. Documented in
//! docs/outputs.md ("Capacity columns").
//!
//! Invariant: read-only, and O(nodes + pending pods) per sample, never O(pods): requests and
//! Running pods per node come from the API server's kept node loads; a pending pod's reason is
//! kept from the trace records as they arrive, the rest of the pending count is "awaiting".
//! No node name is compared or hashed in a sample where nothing changed: the nodes are walked
//! in the store's slot order (a sum, so the order cannot show), and an unchanged node object
//! (the same `Arc` in the same store slot) keeps its sampler slot and the allocatable figures
//! read when it was new. The loads are walked in their own slot order too; each load slot
//! keeps the sampler slot of its node (looked up by name once, again only while the node has
//! none yet and sampler slots have been added since). A load's slot keeps its node until a
//! load is removed, which the API server never does (`api/pods.rs`, `move_load` only inserts);
//! a removal ([`crate::sim::namemap::NameMap::removals`]) would empty the kept slots. A sample
//! allocates nothing once the slots exist.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::Cluster;
use crate::model::*;
use crate::sim::Record;

/// Per group (a zone or a pool): allocatable then requested, for CPU (cores), memory (bytes),
/// pods, then each extended resource.
const BASE: &[(&str, &str)] = &[("cpu", "cores"), ("memory", "bytes"), ("pods", "")];

/// The reason of a pending pod no `FailedScheduling` has named yet.
pub const AWAITING: &str = "awaiting scheduler";

/// One column of the capacity block: its wide name, its metric and its labels.
pub struct CapColumn {
    pub column: String,
    pub metric: String,
    pub labels: Vec<(&'static str, String)>,
}

/// A node as the sampler last saw it.
struct Slot {
    node: Arc<Node>,
    zone: Option<usize>,
    pool: usize,
    machine: Option<u32>,
    /// Its allocatable CPU (milli), memory and pods, read from `node`…
    allocatable: [i64; 3],
    /// …then each extended resource's (in `Capacity::extended` order; empty when there are
    /// none, so the common walk reads nothing off the slot).
    extended: Vec<i64>,
}

pub struct Capacity {
    zones: Vec<String>,
    pools: Vec<String>,
    extended: Vec<String>,
    pool_of: BTreeMap<String, usize>,
    slot_of: BTreeMap<String, usize>,
    slots: Vec<Slot>,
    /// Pending pods' latest `FailedScheduling` reason (index into `reasons`), by `ns/name`.
    pending_reason: BTreeMap<String, usize>,
    /// Per slot of the API server's node store: the node object seen there and its slot here.
    by_store_slot: Vec<Option<(Arc<Node>, usize)>>,
    /// Per slot of the API server's node loads: the slot here of the load's node, and the
    /// number of slots here when that was looked up (a load whose node had no slot yet is
    /// looked up again when slots are added).
    load_owner: Vec<Option<(Option<u32>, usize)>>,
    /// The loads' removals when `load_owner` was filled (a removal empties it).
    load_removals: u64,
    /// Per slot, this sample: (zone, pool) if the node exists and its machine is up.
    up: Vec<Option<(Option<u32>, u32)>>,
    /// This sample's sums per group (reused).
    acc: Vec<i64>,

    /// Reasons in the order they first appeared; index 0 is [`AWAITING`].
    pub reasons: Vec<String>,
}

/// Lower-case, every run of other characters than `[a-z0-9]` one `_`, no `_` at either end.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The reason a `FailedScheduling` message gives for the most nodes (the first of equals), e.g.
/// `Insufficient cpu` from `0/15 nodes are available: 10 Insufficient cpu, 5 node(s) had
/// untolerated taint {…}. preemption: …`; a message of another shape is its own reason.
pub fn primary_reason(message: &str) -> &str {
    let body = message
        .split_once("nodes are available: ")
        .map(|(_, b)| b)
        .unwrap_or(message);
    let body = body.split(" preemption:").next().unwrap_or(body);
    let body = body.trim().trim_end_matches('.');
    let mut best: Option<(u64, &str)> = None;
    let (mut depth, mut start) = (0i32, 0usize);
    let mut parts: Vec<&str> = Vec::new();
    for (i, ch) in body.char_indices() {
        match ch {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    for part in parts {
        let part = part.trim();
        if let Some((n, r)) = part.split_once(' ') {
            if let Ok(n) = n.parse::<u64>() {
                if best.is_none_or(|(b, _)| n > b) {
                    best = Some((n, r.trim()));
                }
            }
        }
    }
    best.map(|(_, r)| r).unwrap_or(body)
}

impl Capacity {
    pub fn new(c: &Cluster, zones: &[String], node_pools: &[String]) -> Self {
        let mut pool_names: Vec<String> = node_pools
            .iter()
            .map(|p| {
                if p.is_empty() {
                    "none".into()
                } else {
                    p.clone()
                }
            })
            .collect();
        pool_names.sort();
        pool_names.dedup();
        let mut pool_of = BTreeMap::new();
        for (name, m) in &c.machine_by_name {
            let p = node_pools
                .get(*m as usize)
                .map(|p| if p.is_empty() { "none" } else { p.as_str() })
                .unwrap_or("none");
            let idx = pool_names.iter().position(|x| x == p).unwrap_or(0);
            pool_of.insert(name.clone(), idx);
        }
        if pool_names.is_empty() {
            pool_names.push("none".into());
        }
        let mut extended: Vec<String> = c
            .api
            .nodes()
            .values()
            .flat_map(|n| n.status.allocatable.scalar.keys().cloned())
            .collect();
        extended.sort();
        extended.dedup();
        Capacity {
            zones: zones.to_vec(),
            pools: pool_names,
            extended,
            pool_of,
            slot_of: BTreeMap::new(),
            slots: Vec::new(),
            pending_reason: BTreeMap::new(),
            by_store_slot: Vec::new(),
            load_owner: Vec::new(),
            load_removals: 0,
            up: Vec::new(),
            acc: Vec::new(),
            reasons: vec![AWAITING.to_string()],
        }
    }

    fn per_group(&self) -> usize {
        2 * (BASE.len() + self.extended.len())
    }

    /// The fixed capacity columns, in row order: zones then pools, then
    /// `pods_running_on_up_nodes`.
    pub fn columns(&self) -> Vec<CapColumn> {
        let mut out = Vec::new();
        let groups = [("zone", &self.zones), ("pool", &self.pools)];
        for (kind, names) in groups {
            for raw in names.iter() {
                let name = if kind == "zone" {
                    super::timeseries::zone_column_name(raw)
                } else {
                    raw.clone()
                };
                for (res, unit) in BASE {
                    for what in ["allocatable", "requested"] {
                        let suffix = if unit.is_empty() {
                            format!("{res}_{what}")
                        } else {
                            format!("{res}_{what}_{unit}")
                        };
                        out.push(CapColumn {
                            column: format!("{kind}_{suffix}_{name}"),
                            metric: format!("kubesim_{kind}_{suffix}"),
                            labels: vec![(kind_label(kind), name.clone())],
                        });
                    }
                }
                for res in &self.extended {
                    for what in ["allocatable", "requested"] {
                        out.push(CapColumn {
                            column: format!("{kind}_{}_{what}_{name}", sanitize(res)),
                            metric: format!("kubesim_{kind}_extended_{what}"),
                            labels: vec![
                                (kind_label(kind), name.clone()),
                                ("resource", res.clone()),
                            ],
                        });
                    }
                }
            }
        }
        out.push(CapColumn {
            column: "pods_running_on_up_nodes".into(),
            metric: "kubesim_pods_running_on_up_nodes".into(),
            labels: Vec::new(),
        });
        out
    }

    /// Reads the new trace records: a pod's latest `FailedScheduling` reason, forgotten when
    /// it is `Scheduled`. Returns the index of each reason seen for the first time.
    pub fn observe(&mut self, records: &[Record]) -> Vec<usize> {
        let mut new = Vec::new();
        for r in records {
            let failed = r.reason == "FailedScheduling";
            if !failed && r.reason != "Scheduled" {
                continue;
            }
            let Some(key) = r.object.strip_prefix("Pod/") else {
                continue;
            };
            if !failed {
                self.pending_reason.remove(key);
                continue;
            }
            let reason = primary_reason(&r.message);
            let idx = match self.reasons.iter().position(|x| x == reason) {
                Some(i) => i,
                None => {
                    self.reasons.push(reason.to_string());
                    new.push(self.reasons.len() - 1);
                    self.reasons.len() - 1
                }
            };
            match self.pending_reason.get_mut(key) {
                Some(v) => *v = idx,
                None => {
                    self.pending_reason.insert(key.to_string(), idx);
                }
            }
        }
        new
    }

    /// What a node object adds to its groups' allocatable sums: [`Slot::allocatable`] and
    /// [`Slot::extended`].
    fn allocatable(&self, n: &Node) -> ([i64; 3], Vec<i64>) {
        let a = &n.status.allocatable;
        let extended = self
            .extended
            .iter()
            .map(|r| a.scalar.get(r).copied().unwrap_or(0))
            .collect();
        ([a.cpu_milli, a.memory, a.pods], extended)
    }

    /// The node's slot, refreshed when its object changed.
    fn slot(&mut self, n: &Arc<Node>, c: &Cluster) -> usize {
        if let Some(&i) = self.slot_of.get(n.meta.name.as_str()) {
            if !Arc::ptr_eq(&self.slots[i].node, n) {
                let parts = n.zone_parts();
                self.slots[i].zone = self.zones.iter().position(|x| zone_key_is(x, parts));
                (self.slots[i].allocatable, self.slots[i].extended) = self.allocatable(n);
                self.slots[i].node = n.clone();
            }
            return i;
        }
        let parts = n.zone_parts();
        let i = self.slots.len();
        let (allocatable, extended) = self.allocatable(n);
        self.slots.push(Slot {
            node: n.clone(),
            zone: self.zones.iter().position(|x| zone_key_is(x, parts)),
            pool: self.pool_of.get(n.meta.name.as_str()).copied().unwrap_or(0),
            machine: c.machine_by_name.get(n.meta.name.as_str()).copied(),
            allocatable,
            extended,
        });
        self.slot_of.insert(n.meta.name.clone(), i);
        i
    }

    /// Appends the fixed capacity values to `row`, and returns the pending pods per reason.
    pub fn sample(&mut self, c: &Cluster, row: &mut Vec<f64>) -> Vec<u64> {
        let per = self.per_group();
        let groups = self.zones.len() + self.pools.len();
        let mut acc = std::mem::take(&mut self.acc);
        acc.clear();
        acc.resize(groups * per, 0);
        let nodes = c.api.nodes();
        // Requests and Running pods per node, kept by the API server on every pod write.
        let loads = c.api.node_loads();
        if loads.removals() != self.load_removals {
            self.load_owner.clear();
            self.load_removals = loads.removals();
        }
        self.by_store_slot.resize(nodes.slot_count(), None);
        self.load_owner.resize(loads.slot_count(), None);
        self.up.clear();
        self.up.resize(self.slots.len(), None);
        for (k, n) in nodes.slots() {
            let i = match &self.by_store_slot[k] {
                Some((o, i)) if Arc::ptr_eq(o, n) => *i,
                _ => {
                    let i = self.slot(n, c);
                    self.by_store_slot[k] = Some((n.clone(), i));
                    i
                }
            };
            if self.up.len() <= i {
                self.up.resize(i + 1, None);
            }
            let s = &self.slots[i];
            if !s.machine.is_none_or(|m| c.machine_running(m)) {
                continue;
            }
            self.up[i] = Some((s.zone.map(|z| z as u32), s.pool as u32));
            let mut add = |base: usize| {
                for (j, v) in s.allocatable.iter().chain(&s.extended).enumerate() {
                    acc[base + 2 * j] += v;
                }
            };
            if let Some(z) = s.zone {
                add(z * per);
            }
            add((self.zones.len() + s.pool) * per);
        }
        // The loads in their own slot order (contiguous), each added to its node's groups.
        let mut running_up = 0u64;
        let slots_now = self.slots.len();
        for (j, load) in loads.slots() {
            let owner = match self.load_owner[j] {
                Some((owner, seen)) if owner.is_some() || seen == slots_now => owner,
                _ => {
                    let owner = self.slot_of.get(load.node.as_str()).map(|&i| i as u32);
                    self.load_owner[j] = Some((owner, slots_now));
                    owner
                }
            };
            let Some((zone, pool)) = owner.and_then(|i| self.up[i as usize]) else {
                continue;
            };
            running_up += load.running;
            let req = &load.requested;
            let mut add = |base: usize| {
                acc[base + 1] += req.cpu_milli;
                acc[base + 3] += req.memory;
                acc[base + 5] += req.pods;
                for (r, v) in &req.scalar {
                    if let Some(j) = self.extended.iter().position(|x| x == r) {
                        acc[base + 7 + 2 * j] += v;
                    }
                }
            };
            if let Some(z) = zone {
                add(z as usize * per);
            }
            add((self.zones.len() + pool as usize) * per);
        }
        for g in 0..groups {
            let v = &acc[g * per..(g + 1) * per];
            row.push(v[0] as f64 / 1000.0);
            row.push(v[1] as f64 / 1000.0);
            row.extend(v[2..].iter().map(|x| *x as f64));
        }
        self.acc = acc;
        row.push(running_up as f64);
        self.pending_by_reason(c)
    }

    /// Pending pods per reason: those a `FailedScheduling` named (entries of pods no longer
    /// pending are dropped), the rest of the API server's pending count awaiting.
    fn pending_by_reason(&mut self, c: &Cluster) -> Vec<u64> {
        let mut pending = vec![0u64; self.reasons.len()];
        let pods = c.api.pods();
        self.pending_reason.retain(|key, r| {
            let still = pods.get(key.as_str()).is_some_and(|p| {
                !p.status.phase.is_terminal() && p.spec.node_name.is_none() && !p.is_terminating()
            });
            if still {
                pending[*r] += 1;
            }
            still
        });
        let named: u64 = pending.iter().sum();
        pending[0] += c.api.pod_counts().pending.saturating_sub(named);
        pending
    }
}

fn kind_label(kind: &str) -> &'static str {
    if kind == "zone" {
        "zone"
    } else {
        "pool"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_reason_is_the_one_of_most_nodes() {
        // The message format of upstream's FitError.Error() (pkg/scheduler/framework/types.go).
        let m = "0/15 nodes are available: 5 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 10 Insufficient cpu. preemption: 0/15 nodes are available: 15 No preemption victims found for incoming pod.";
        assert_eq!(primary_reason(m), "Insufficient cpu");
        let m = "0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints.";
        assert_eq!(
            primary_reason(m),
            "node(s) didn't match pod topology spread constraints"
        );
        // Equal counts: the first (upstream sorts the reasons by text).
        let m = "0/4 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.";
        assert_eq!(primary_reason(m), "Insufficient cpu");
        assert_eq!(
            primary_reason("no nodes available to schedule pods"),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn sanitize_makes_prometheus_safe_names() {
        assert_eq!(sanitize("nvidia.com/gpu"), "nvidia_com_gpu");
        assert_eq!(sanitize("Insufficient cpu"), "insufficient_cpu");
        assert_eq!(
            sanitize("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
            "node_s_had_untolerated_taint_node_kubernetes_io_unreachable"
        );
    }
}
