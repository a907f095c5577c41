//! NodeAffinity (reference scheduler §2.7): `spec.nodeSelector` AND any one of the required
//! node selector terms (In, NotIn, Exists, DoesNotExist, Gt, Lt; `matchFields` on
//! `metadata.name`); score = Σ weights of matching preferred terms, normalised by the maximum.
//! `NodeAffinityArgs.addedAffinity` (upstream `node_affinity.go`, `New`/`Filter`/`Score`):
//! its required terms are checked before, and ANDed with, the pod's own; its preferred terms
//! are scored for every pod on top of the pod's.

use std::borrow::Cow;

use super::{default_normalize, NodeInfo};
use crate::model::{Node, NodeSelectorTerm, Pod, PreferredSchedulingTerm};

pub use crate::model::predicates::{
    required_node_affinity_matches as required_matches, NODE_AFFINITY as NAME,
    NODE_AFFINITY_REASON as REASON,
};
/// `errReasonEnforced`: the profile's added required affinity does not match.
pub const REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";

/// `NodeAffinityArgs.addedAffinity`, applied to every pod the profile schedules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinityArgs {
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed); `None` = no
    /// added requirement. Some(empty) matches no node, as upstream's `NodeSelector`.
    pub added_required: Option<Vec<NodeSelectorTerm>>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub added_preferred: Vec<PreferredSchedulingTerm>,
}

/// `Filter`: the added required terms first (`errReasonEnforced`), then the pod's nodeSelector
/// and required terms (`ErrReasonPod`); both UnschedulableAndUnresolvable.
pub fn filter(
    pod: &Pod,
    node: &NodeInfo,
    args: &NodeAffinityArgs,
) -> Result<(), Cow<'static, str>> {
    if let Some(terms) = &args.added_required {
        if !terms.iter().any(|t| t.matches(&node.node)) {
            return Err(REASON_ENFORCED.into());
        }
    }
    if required_matches(pod, &node.node) {
        Ok(())
    } else {
        Err(REASON.into())
    }
}

/// PreScore: Skip (false) when neither the pod nor the profile's added affinity has
/// preferred terms.
pub fn has_preferred(pod: &Pod, args: &NodeAffinityArgs) -> bool {
    !args.added_preferred.is_empty()
        || pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .is_some_and(|na| !na.preferred.is_empty())
}

fn preferred_sum(terms: &[PreferredSchedulingTerm], node: &Node) -> i64 {
    terms
        .iter()
        .filter(|t| t.weight != 0 && t.preference.matches(node))
        .map(|t| t.weight as i64)
        .sum()
}

/// `Score`: Σ weights of the matching added preferred terms plus the pod's.
pub fn score(pod: &Pod, node: &NodeInfo, args: &NodeAffinityArgs) -> i64 {
    let added = preferred_sum(&args.added_preferred, &node.node);
    let own = pod
        .spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .map_or(0, |na| preferred_sum(&na.preferred, &node.node));
    added + own
}

pub fn normalize(scores: &mut [i64]) {
    default_normalize(scores, false);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::model::{
        Affinity, NodeAffinity, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm,
        PreferredSchedulingTerm,
    };

    fn req(key: &str, op: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn term(exprs: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: exprs,
            match_fields: vec![],
        }
    }
    fn with_required(terms: Vec<NodeSelectorTerm>) -> crate::model::Pod {
        let mut p = pod("p", &[]);
        p.spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required: Some(terms),
                preferred: vec![],
            }),
            ..Affinity::default()
        });
        p
    }
    fn fits(p: &crate::model::Pod, labels_: &[(&str, &str)]) -> bool {
        let mut n = node("node1", 0, 0, &[]);
        for (k, v) in labels_ {
            n = label(n, k, v);
        }
        let snap = OwnedSnapshot::new(vec![n], vec![]);
        filter(p, snap.view().get(0), &NodeAffinityArgs::default()).is_ok()
    }
    use NodeSelectorOperator::*;

    // node_affinity_test.go TestNodeAffinity (names of the upstream cases).
    #[test]
    fn node_affinity_filter_upstream_cases() {
        assert!(fits(&pod("p", &[]), &[]), "no selector");
        let mut sel = pod("p", &[]);
        sel.spec.node_selector.insert("foo".into(), "bar".into());
        assert!(!fits(&sel, &[]), "missing labels");
        assert!(fits(&sel, &[("foo", "bar")]), "same labels");
        assert!(
            fits(&sel, &[("foo", "bar"), ("baz", "blah")]),
            "node labels are superset"
        );
        let mut sel2 = sel.clone();
        sel2.spec.node_selector.insert("baz".into(), "blah".into());
        assert!(!fits(&sel2, &[("foo", "bar")]), "node labels are subset");
        let in_ = with_required(vec![term(vec![req("foo", In, &["bar", "value2"])])]);
        assert!(
            fits(&in_, &[("foo", "bar")]),
            "Pod with matchExpressions using In operator that matches the existing node"
        );
        let gt = with_required(vec![term(vec![req("kernel-version", Gt, &["0204"])])]);
        assert!(
            fits(&gt, &[("kernel-version", "0206")]),
            "Pod with matchExpressions using Gt operator that matches the existing node"
        );
        let notin = with_required(vec![term(vec![req("mem-type", NotIn, &["DDR", "DDR2"])])]);
        assert!(
            fits(&notin, &[("mem-type", "DDR3")]),
            "Pod with matchExpressions using NotIn operator that matches the existing node"
        );
        let exists = with_required(vec![term(vec![req("GPU", Exists, &[])])]);
        assert!(
            fits(&exists, &[("GPU", "NVIDIA-GRID-K1")]),
            "Pod with matchExpressions using Exists operator that matches the existing node"
        );
        let nomatch = with_required(vec![term(vec![req("foo", In, &["value1", "value2"])])]);
        assert!(
            !fits(&nomatch, &[("foo", "bar")]),
            "Pod with affinity that don't match node's labels won't schedule onto the node"
        );
        assert!(
            !fits(&with_required(vec![]), &[("foo", "bar")]),
            "Pod with empty NodeSelectorTerms in affinity can't schedule onto any nodes"
        );
        assert!(!fits(&with_required(vec![term(vec![])]), &[("foo", "bar")]), "Pod with empty MatchExpressions is not a valid value will match no objects and won't schedule onto the node");
        let multi = with_required(vec![term(vec![
            req("foo", In, &["bar"]),
            req("GPU", Exists, &[]),
        ])]);
        assert!(
            !fits(&multi, &[("foo", "bar")]),
            "Pod with multiple matchExpressions ANDed that doesn't match the existing node"
        );
        let ored = with_required(vec![
            term(vec![req("foo", In, &["bar", "value2"])]),
            term(vec![req("diffkey", In, &["wrong", "value2"])]),
        ]);
        assert!(fits(&ored, &[("foo", "bar")]), "Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will schedule onto the node");
        let mut both = in_.clone();
        both.spec.node_selector.insert("foo".into(), "bar".into());
        assert!(fits(&both, &[("foo", "bar")]), "Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) both are satisfied, will schedule onto the node");
        let mut fields = with_required(vec![NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: vec![req("metadata.name", In, &["node1"])],
        }]);
        assert!(
            fits(&fields, &[]),
            "Pod with matchFields using In operator that matches the existing node"
        );
        fields
            .spec
            .affinity
            .as_mut()
            .unwrap()
            .node_affinity
            .as_mut()
            .unwrap()
            .required = Some(vec![NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: vec![req("metadata.name", In, &["node2"])],
        }]);
        assert!(
            !fits(&fields, &[]),
            "Pod with matchFields using In operator that does not match the existing node"
        );
    }

    // node_affinity_test.go TestNodeAffinityPriority: "only machine1 matches the preferred
    // scheduling requirements of pod" and "all machines matches the preferred scheduling
    // requirements of pod but with different priorities".
    #[test]
    fn node_affinity_priority_upstream_cases() {
        let pref = |w: i32, exprs: Vec<NodeSelectorRequirement>| PreferredSchedulingTerm {
            weight: w,
            preference: term(exprs),
        };
        let with_pref = |terms: Vec<PreferredSchedulingTerm>| {
            let mut p = pod("p", &[]);
            p.spec.affinity = Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required: None,
                    preferred: terms,
                }),
                ..Affinity::default()
            });
            p
        };
        let affinity1 = with_pref(vec![pref(2, vec![req("foo", In, &["bar"])])]);
        let affinity2 = with_pref(vec![
            pref(2, vec![req("foo", In, &["bar"])]),
            pref(4, vec![req("key", In, &["value"])]),
            pref(
                5,
                vec![
                    req("foo", In, &["bar"]),
                    req("key", In, &["value"]),
                    req("az", In, &["az1"]),
                ],
            ),
        ]);
        let scores = |p: &crate::model::Pod, nodes: Vec<crate::model::Node>| {
            let snap = OwnedSnapshot::new(nodes, vec![]);
            let mut s: Vec<i64> = snap
                .view()
                .iter()
                .map(|n| score(p, n, &NodeAffinityArgs::default()))
                .collect();
            normalize(&mut s);
            s
        };
        let n1 = label(node("machine1", 0, 0, &[]), "foo", "bar");
        let n2 = label(node("machine2", 0, 0, &[]), "key", "value");
        let n3 = label(node("machine3", 0, 0, &[]), "az", "az1");
        let n4 = label(node("machine1", 0, 0, &[]), "abc", "az11");
        assert_eq!(
            scores(&pod("p", &[]), vec![n1.clone(), n2.clone(), n3.clone()]),
            vec![0, 0, 0]
        );
        assert_eq!(
            scores(&affinity1, vec![n4, n2.clone(), n3.clone()]),
            vec![0, 0, 0]
        );
        assert_eq!(
            scores(&affinity1, vec![n1.clone(), n2.clone(), n3]),
            vec![100, 0, 0]
        );
        let n5 = label(
            label(
                label(node("machine5", 0, 0, &[]), "foo", "bar"),
                "key",
                "value",
            ),
            "az",
            "az1",
        );
        // machine1: 2, machine5: 2+4+5 = 11, machine2: 4 → normalised 18, 100, 36.
        let p = affinity2;
        assert_eq!(scores(&p, vec![n1, n5, n2]), vec![18, 100, 36]);
    }

    fn fields_name_in(name: &str) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: vec![req("metadata.name", In, &[name])],
        }
    }
    fn added_required(terms: Vec<NodeSelectorTerm>) -> NodeAffinityArgs {
        NodeAffinityArgs {
            added_required: Some(terms),
            added_preferred: vec![],
        }
    }
    /// The Filter verdict on `node2` labelled `zone: foo`, with `args`.
    fn filter_node2(p: &crate::model::Pod, args: &NodeAffinityArgs) -> Result<(), String> {
        let n = label(node("node2", 0, 0, &[]), "zone", "foo");
        let snap = OwnedSnapshot::new(vec![n], vec![]);
        filter(p, snap.view().get(0), args).map_err(|r| r.into_owned())
    }

    // node_affinity_test.go TestNodeAffinity: the added-affinity cases.
    #[test]
    fn node_affinity_filter_added_affinity_upstream_cases() {
        let zone = |v: &str| with_required(vec![term(vec![req("zone", In, &[v])])]);
        let by_name = added_required(vec![fields_name_in("node2")]);
        assert_eq!(
            filter_node2(&zone("foo"), &by_name),
            Ok(()),
            "Matches added affinity and Pod's node affinity"
        );
        assert_eq!(
            filter_node2(&zone("bar"), &by_name),
            Err(REASON.to_string()),
            "Matches added affinity but not Pod's node affinity"
        );
        assert_eq!(
            filter_node2(
                &pod("p", &[]),
                &added_required(vec![term(vec![req("zone", In, &["bar"])])])
            ),
            Err(REASON_ENFORCED.to_string()),
            "Doesn't match added affinity"
        );
    }

    // node_affinity_test.go TestNodeAffinityPriority: "added affinity" and "added affinity
    // and pod has default affinity".
    #[test]
    fn node_affinity_priority_added_affinity_upstream_cases() {
        let pref = |w: i32, k: &str, v: &str| PreferredSchedulingTerm {
            weight: w,
            preference: term(vec![req(k, In, &[v])]),
        };
        let scores =
            |p: &crate::model::Pod, nodes: Vec<crate::model::Node>, args: &NodeAffinityArgs| {
                let snap = OwnedSnapshot::new(nodes, vec![]);
                assert!(has_preferred(p, args), "PreScore does not skip");
                let mut s: Vec<i64> = snap.view().iter().map(|n| score(p, n, args)).collect();
                normalize(&mut s);
                s
            };
        let label1 = || label(node("node1", 0, 0, &[]), "foo", "bar");
        let label2 = || label(node("node2", 0, 0, &[]), "key", "value");
        let affinity1 = NodeAffinityArgs {
            added_required: None,
            added_preferred: vec![pref(2, "foo", "bar")],
        };
        assert_eq!(
            scores(&pod("p", &[]), vec![label1(), label2()], &affinity1),
            vec![100, 0],
            "added affinity"
        );
        let mut p = pod("p", &[]);
        p.spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required: None,
                preferred: vec![pref(2, "foo", "bar")],
            }),
            ..Affinity::default()
        });
        let label5 = label(
            label(
                label(node("node3", 0, 0, &[]), "foo", "bar"),
                "key",
                "value",
            ),
            "az",
            "az1",
        );
        let added = NodeAffinityArgs {
            added_required: None,
            added_preferred: vec![pref(3, "key", "value")],
        };
        assert_eq!(
            scores(&p, vec![label1(), label2(), label5], &added),
            vec![40, 60, 100],
            "added affinity and pod has default affinity"
        );
        assert!(
            !has_preferred(&pod("p", &[]), &NodeAffinityArgs::default()),
            "Skip is returned in PreScore when NodeAffinity is nil"
        );
    }
}
