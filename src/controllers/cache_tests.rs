//! The informer cache's pod indexes against the plain computation from the cached pods and
//! nodes, under random churn (adds, status writes, binds, owner changes, deletions, node
//! arrivals and departures): every index holds exactly what a walk of the pods would give,
//! in the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::cache::{is_active, owner_key, KcmCache};
use crate::api::Change;
use crate::model::*;
use crate::sim::SimTime;

/// Every pod index (as strings, in walk order) recomputed from `cache.pods` and `cache.nodes`.
fn plain(c: &KcmCache) -> Vec<(String, BTreeMap<String, Vec<String>>)> {
    let mut by_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut active: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ready: BTreeMap<String, Vec<(SimTime, String)>> = BTreeMap::new();
    let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, p) in c.pods.iter() {
        if let Some(n) = &p.spec.node_name {
            by_node.entry(n.clone()).or_default().push(k.clone());
        }
        if let Some(o) = owner_key(p) {
            all.entry(o.clone()).or_default().push(k.clone());
            if is_active(p) {
                active.entry(o.clone()).or_default().push(k.clone());
                if let Some(c) = p
                    .condition(PodConditionType::Ready)
                    .filter(|c| c.status == ConditionStatus::True)
                {
                    ready
                        .entry(o)
                        .or_default()
                        .push((c.last_transition_time, k.clone()));
                }
            }
        }
        if p.status.phase.is_terminal() {
            flags.entry("terminal".into()).or_default().push(k.clone());
        }
        if p.is_terminating() {
            flags
                .entry("terminating".into())
                .or_default()
                .push(k.clone());
        }
    }
    let nodeless: Vec<String> = by_node
        .keys()
        .filter(|n| !c.nodes.contains_key(n))
        .cloned()
        .collect();
    let ready = ready
        .into_iter()
        .map(|(o, mut v)| {
            v.sort();
            (
                o,
                v.iter()
                    .map(|(t, k)| format!("{}:{k}", t.as_nanos()))
                    .collect(),
            )
        })
        .collect();
    vec![
        ("pods_by_node".into(), by_node),
        (
            "nodeless".into(),
            BTreeMap::from([(String::new(), nodeless)]),
        ),
        ("active_by_owner".into(), active),
        ("pods_by_owner".into(), all),
        ("ready_by_owner".into(), ready),
        ("flags".into(), flags),
    ]
}

/// The same, read from the cache's indexes.
fn indexed(c: &KcmCache) -> Vec<(String, BTreeMap<String, Vec<String>>)> {
    fn strings<K: std::ops::Deref<Target = str>>(
        m: &BTreeMap<String, BTreeSet<K>>,
    ) -> BTreeMap<String, Vec<String>> {
        m.iter()
            .map(|(b, s)| (b.clone(), s.iter().map(|k| k.to_string()).collect()))
            .collect()
    }
    let ready = c
        .ready_by_owner
        .iter()
        .map(|(o, s)| {
            let v = s
                .iter()
                .map(|(t, k)| format!("{}:{}", t.as_nanos(), &**k))
                .collect();
            (o.clone(), v)
        })
        .collect();
    // The counts, each with the walk that stands for its members.
    let active = c
        .active_by_owner
        .iter()
        .map(|(o, &n)| {
            let v: Vec<String> = c.active_pods_of(o).map(|p| p.key()).collect();
            assert_eq!(n, v.len(), "active_by_owner[{o}] counts its active pods");
            (o.clone(), v)
        })
        .collect();
    // `pods_by_node` is never walked: each bucket the pods name, and no other.
    let mut by_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in c.pods.values() {
        if let Some(n) = &p.spec.node_name {
            let set = c
                .pods_by_node
                .get(n.as_str())
                .expect("a bound pod's node has a bucket");
            by_node
                .entry(n.clone())
                .or_insert_with(|| set.iter().map(|k| k.to_string()).collect());
        }
    }
    assert_eq!(
        by_node.len(),
        c.pods_by_node.len(),
        "no empty or stray bucket"
    );
    let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, set) in [("terminal", &c.terminal), ("terminating", &c.terminating)] {
        if !set.is_empty() {
            flags.insert(name.into(), set.iter().map(|k| k.to_string()).collect());
        }
    }
    vec![
        ("pods_by_node".into(), by_node),
        (
            "nodeless".into(),
            BTreeMap::from([(String::new(), c.nodeless.iter().cloned().collect())]),
        ),
        ("active_by_owner".into(), active),
        ("pods_by_owner".into(), strings(&c.pods_by_owner)),
        ("ready_by_owner".into(), ready),
        ("flags".into(), flags),
    ]
}

fn node(name: &str) -> Arc<Node> {
    Arc::new(Node {
        meta: ObjectMeta {
            name: name.into(),
            ..Default::default()
        },
        ..Default::default()
    })
}

#[test]
fn pod_indexes_agree_with_a_walk_of_the_pods() {
    let mut c = KcmCache::default();
    let mut r = crate::sim::rng::stream(7, "test/cache_tests");
    let mut next = |m: u64| {
        let x = rand::RngCore::next_u64(&mut r);
        (x >> 33) % m
    };
    // Names sharing long prefixes, shorter and longer than 16 bytes.
    let names = |i: u64| match i % 3 {
        0 => format!("web-{i:05}"),
        1 => format!("web-abcdefgh-{i}"),
        _ => format!("w{i}"),
    };
    for step in 0..6000u64 {
        let t = SimTime::from_secs(step);
        match next(10) {
            0 => {
                c.apply(&Change::Node(node(&format!("node-{}", next(6)))));
            }
            1 => {
                c.apply(&Change::NodeDeleted(node(&format!("node-{}", next(6)))));
            }
            2 => {
                let name = names(next(60));
                let ns = ["default", "ns"][next(2) as usize];
                if let Some(p) = c.pods.get(&pod_key(ns, &name)).cloned() {
                    c.apply(&Change::PodDeleted(p));
                }
            }
            _ => {
                let name = names(next(60));
                let ns = ["default", "ns"][next(2) as usize];
                let mut p = c
                    .pods
                    .get(&pod_key(ns, &name))
                    .map(|p| (**p).clone())
                    .unwrap_or_else(|| Pod {
                        meta: ObjectMeta {
                            name: name.clone(),
                            namespace: ns.into(),
                            ..Default::default()
                        },
                        ..Default::default()
                    });
                match next(6) {
                    // A binding is final (`spec.nodeName` is immutable once set).
                    0 if p.spec.node_name.is_none() => {
                        p.spec.node_name = Some(format!("node-{}", next(8)))
                    }
                    1 => {
                        p.meta.owner_references = match next(3) {
                            0 => vec![],
                            r => vec![OwnerRef {
                                kind: "ReplicaSet".into(),
                                name: format!("rs-{r}"),
                                controller: true,
                            }],
                        }
                    }
                    2 => {
                        let s = [ConditionStatus::True, ConditionStatus::False][next(2) as usize];
                        p.set_condition(PodConditionType::Ready, s, "", t);
                    }
                    // A terminal phase is final.
                    3 if !p.status.phase.is_terminal() => {
                        p.status.phase = [PodPhase::Running, PodPhase::Succeeded, PodPhase::Failed]
                            [next(3) as usize]
                    }
                    4 if p.meta.deletion_timestamp.is_none() => p.meta.deletion_timestamp = Some(t),
                    _ => {}
                }
                c.apply(&Change::Pod(Arc::new(p)));
            }
        }
        if step % 7 == 0 {
            assert_eq!(indexed(&c), plain(&c), "step {step}");
        }
    }
    assert_eq!(indexed(&c), plain(&c));
    assert!(!c.pods.is_empty());
}
