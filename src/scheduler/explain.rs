//! `kubesim explain`: one pod's scheduling cycle laid open — every node's filter verdict with
//! the failing plugin and Kubernetes' reason string, every score plugin's raw, normalised and
//! weighted score, the totals, and the node chosen (reference scheduler §2.11, §3.4).
//!
//! Sampling (`percentageOfNodesToScore`) is off: every node is filtered. With `all_nodes`,
//! nodes that fail a filter are scored too, as the plugins' own unit tests score them, and the
//! normalisation then runs over every node; the choice is still made among feasible nodes only.
//! The JSON form is documented in docs/explain.md and kept stable. `Scheduler::explain_pod`
//! runs it on a live scheduler's cache.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::framework::{self, Profile, ScoreTable};
use super::plugins::{NodeInfo, PodTotals, Snapshot};
use super::Scheduler;
use crate::model::Pod;
use crate::sim::rng;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub pod: String,
    pub selected: Option<String>,
    pub nodes: Vec<NodeExplanation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeExplanation {
    pub name: String,
    pub feasible: bool,
    pub filters: Vec<FilterVerdict>,
    /// Score plugins in profile order (serialised as an object keyed by plugin name).
    #[serde(serialize_with = "scores_as_map")]
    pub scores: Vec<(String, PluginScore)>,
    /// Σ weighted; `None` when the node was not scored.
    pub total: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FilterVerdict {
    pub plugin: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PluginScore {
    pub raw: i64,
    pub normalized: i64,
    pub weight: i64,
    pub weighted: i64,
}

fn scores_as_map<S: serde::Serializer>(
    v: &[(String, PluginScore)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, x) in v {
        m.serialize_entry(k, x)?;
    }
    m.end()
}

/// Explains scheduling `pod` onto `snap` with `profile`; ties among the top totals are broken
/// by `rng` as the scheduler breaks them.
pub fn explain(
    profile: &Profile,
    pod: &Pod,
    snap: &Snapshot,
    all_nodes: bool,
    rng: &mut ChaCha8Rng,
) -> Explanation {
    let state = framework::pre_filter(profile, pod, snap);
    let mut nodes: Vec<NodeExplanation> = Vec::with_capacity(snap.len());
    let mut feasible_idx = Vec::new();
    for (i, ni) in snap.iter().enumerate() {
        let filters = match framework::filter(profile, pod, &state, ni) {
            Ok(()) => {
                feasible_idx.push(i);
                vec![]
            }
            Err(f) => f
                .reasons
                .iter()
                .map(|r| FilterVerdict {
                    plugin: f.plugin.name().to_string(),
                    reason: r.to_string(),
                })
                .collect(),
        };
        nodes.push(NodeExplanation {
            name: ni.node.meta.name.clone(),
            feasible: filters.is_empty(),
            filters,
            scores: vec![],
            total: None,
        });
    }
    let scored: Vec<usize> = if all_nodes {
        (0..snap.len()).collect()
    } else {
        feasible_idx.clone()
    };
    let mut selected = None;
    if !scored.is_empty() {
        let infos: Vec<&NodeInfo> = scored.iter().map(|&i| snap.get(i)).collect();
        let mut table = ScoreTable::default();
        framework::score(profile, pod, &state, snap, &infos, &mut table);
        for (j, &i) in scored.iter().enumerate() {
            let n = &mut nodes[i];
            n.total = Some(table.total[j]);
            n.scores = table
                .plugins
                .iter()
                .enumerate()
                .map(|(k, (p, w, _))| {
                    let norm = table.normalized[k][j];
                    (
                        p.name().to_string(),
                        PluginScore {
                            raw: table.raw[k][j],
                            normalized: norm,
                            weight: *w,
                            weighted: norm * w,
                        },
                    )
                })
                .collect();
        }
        // The choice is among feasible nodes, by total, ties broken by the seeded draw.
        let cand: Vec<(usize, i64)> = scored
            .iter()
            .enumerate()
            .filter(|(_, &i)| nodes[i].feasible)
            .map(|(j, &i)| (i, table.total[j]))
            .collect();
        if cand.len() == 1 {
            selected = Some(nodes[cand[0].0].name.clone());
        } else if !cand.is_empty() {
            let totals: Vec<i64> = cand.iter().map(|c| c.1).collect();
            let j = super::select_host(&totals, rng);
            selected = Some(nodes[cand[j].0].name.clone());
        }
    }
    Explanation {
        pod: pod.key(),
        selected,
        nodes,
    }
}

/// The human-readable form: one line per node, then the choice.
pub fn render_text(e: &Explanation) -> String {
    let mut out = format!("pod {}\n", e.pod);
    let plugins: Vec<String> = e
        .nodes
        .iter()
        .find(|n| !n.scores.is_empty())
        .map(|n| n.scores.iter().map(|(p, _)| p.clone()).collect())
        .unwrap_or_default();
    let width = e
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!("{:<width$}  {:<8}", "NODE", "FEASIBLE"));
    for p in &plugins {
        out.push_str(&format!("  {p}"));
    }
    out.push_str("  TOTAL  FILTER\n");
    for n in &e.nodes {
        out.push_str(&format!(
            "{:<width$}  {:<8}",
            n.name,
            if n.feasible { "yes" } else { "no" }
        ));
        for p in &plugins {
            let cell = n
                .scores
                .iter()
                .find(|(q, _)| q == p)
                .map(|(_, s)| format!("{}→{}×{}={}", s.raw, s.normalized, s.weight, s.weighted))
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!("  {cell:>w$}", w = p.len()));
        }
        let total = n.total.map_or("-".to_string(), |t| t.to_string());
        let reasons: Vec<String> = n
            .filters
            .iter()
            .map(|f| format!("{}: {}", f.plugin, f.reason))
            .collect();
        out.push_str(&format!("  {total:>5}  {}\n", reasons.join("; ")));
    }
    out.push_str(&format!(
        "selected: {}\n",
        e.selected.as_deref().unwrap_or("none (no feasible node)")
    ));
    out
}

impl Scheduler {
    /// `kubesim explain` on the scheduler's own cache: the pod as if it were scheduled now
    /// (a bound pod is taken off its node for the explanation and put back).
    pub fn explain_pod(
        &mut self,
        pod: &Arc<Pod>,
        all_nodes: bool,
        seed: u64,
    ) -> Option<Explanation> {
        let key = pod.key();
        let pi = self.profile_index(pod)?;
        self.rebuild_order();
        let bound_to = self
            .assigned
            .get(&key)
            .and_then(|(s, _)| self.slots[*s].as_ref())
            .map(|n| n.node.meta.name.clone());
        self.unassign(&key);
        let mut unbound = (**pod).clone();
        unbound.spec.node_name = None;
        let snap = Snapshot {
            slots: &self.slots,
            order: &self.order,
            image_nodes: &self.image_nodes,
            image_sizes: None,
            spread_selectors: &self.spread_selectors,
            spread_index: None,
            ipa_index: None,
            totals: PodTotals::of(self.slots.iter().flatten()),
        };
        let mut r = rng::stream(seed, "kubesim-explain/select-host");
        let e = explain(
            &self.config.profiles[pi],
            &unbound,
            &snap,
            all_nodes,
            &mut r,
        );
        if let Some(n) = bound_to {
            self.assign(&key, &n, pod);
        }
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::plugins::testutil::*;
    use super::*;
    use crate::model::{Taint, TaintEffect};
    use crate::sim::rng;

    #[test]
    fn explains_filters_scores_and_choice() {
        let mut tainted = node("c", 4000, 8 << 30, &[]);
        tainted.spec.taints.push(Taint {
            key: "dedicated".into(),
            value: "gpu".into(),
            effect: TaintEffect::NoSchedule,
            time_added: None,
        });
        let snap = OwnedSnapshot::new(
            vec![
                node("a", 4000, 8 << 30, &[]),
                node("b", 500, 8 << 30, &[]),
                tainted,
            ],
            vec![],
        );
        let p = pod("p", &[&[("cpu", 1000), ("memory", 1 << 30)]]);
        let mut r = rng::stream(1, "explain");
        let e = explain(&Profile::default(), &p, &snap.view(), false, &mut r);
        assert_eq!(e.selected.as_deref(), Some("a"));
        assert!(e.nodes[0].feasible && e.nodes[0].total.is_some());
        assert_eq!(
            e.nodes[1].filters,
            vec![FilterVerdict {
                plugin: "NodeResourcesFit".into(),
                reason: "Insufficient cpu".into()
            }]
        );
        assert_eq!(e.nodes[1].total, None);
        assert_eq!(e.nodes[2].filters[0].plugin, "TaintToleration");
        assert_eq!(
            e.nodes[2].filters[0].reason,
            "node(s) had untolerated taint {dedicated: gpu}"
        );
        // One feasible node: it is chosen, scored alone.
        let s = &e.nodes[0].scores;
        assert_eq!(s[0].0, "TaintToleration");
        assert_eq!(
            s[0].1,
            PluginScore {
                raw: 0,
                normalized: 100,
                weight: 3,
                weighted: 300
            }
        );
        let total: i64 = s.iter().map(|(_, x)| x.weighted).sum();
        assert_eq!(e.nodes[0].total, Some(total));
        // --all-nodes scores the infeasible ones too, but never chooses them.
        let e2 = explain(&Profile::default(), &p, &snap.view(), true, &mut r);
        assert!(e2.nodes.iter().all(|n| n.total.is_some()));
        assert_eq!(e2.selected.as_deref(), Some("a"));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["pod"], "default/p");
        assert_eq!(
            json["nodes"][0]["scores"]["TaintToleration"]["weighted"],
            300
        );
        assert_eq!(json["nodes"][1]["feasible"], false);
        assert!(render_text(&e).contains("selected: a"));
    }
}
