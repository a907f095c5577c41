//! The docs carry the canonical lists of `kubesim::scenario::vocabulary`: each marked section
//! (`<!-- vocabulary:NAME:begin -->` … `end`) of docs/outputs.md and docs/scenario-format.md
//! names exactly the items of its list. Invariant: a name added to or dropped from the code
//! (and so from the list, whose own tests hold it to the code) fails here until the docs follow.

use kubesim::scenario::vocabulary::*;
use std::collections::BTreeSet;

fn doc(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between `<!-- vocabulary:NAME:begin -->` and `…:end -->`.
fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let begin = format!("<!-- vocabulary:{name}:begin -->");
    let end = format!("<!-- vocabulary:{name}:end -->");
    let from = text
        .find(&begin)
        .unwrap_or_else(|| panic!("no `{begin}` marker"));
    let to = text[from..]
        .find(&end)
        .unwrap_or_else(|| panic!("no `{end}` marker"));
    &text[from + begin.len()..from + to]
}

/// The backticked names of a section: of each table row's first cell, or of the whole text
/// when it has no table.
fn names(section: &str) -> BTreeSet<String> {
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| ---") && !l.starts_with("| field"))
        .filter_map(|l| l.split('|').nth(1))
        .collect();
    let text = if rows.is_empty() {
        section.to_string()
    } else {
        rows.join(" ")
    };
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn check(rel: &str, name: &str, want: &[&str], ignore: &[&str]) {
    let got: BTreeSet<String> = names(section(&doc(rel), name))
        .into_iter()
        .filter(|n| !ignore.contains(&n.as_str()))
        .collect();
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{rel} section `{name}`: missing {missing:?}, not in src/scenario/vocabulary.rs {extra:?}"
    );
}

#[test]
fn outputs_lists_every_event_reason() {
    let all: Vec<&str> = EVENT_REASONS
        .iter()
        .chain(ADMISSION_REASONS)
        .copied()
        .collect();
    check("docs/outputs.md", "event-reasons", &all, &[]);
}

#[test]
fn scenario_format_lists_every_timeline_kind() {
    let all: Vec<&str> = FAULTS.iter().chain(ACTIONS).copied().collect();
    check(
        "docs/scenario-format.md",
        "timeline",
        &all,
        &["at", "duration"],
    );
}

#[test]
fn scenario_format_lists_every_expectation_kind() {
    check("docs/scenario-format.md", "expectations", EXPECTATIONS, &[]);
}

#[test]
fn scenario_format_lists_every_manifest_kind() {
    check(
        "docs/scenario-format.md",
        "manifest-kinds",
        MANIFEST_KINDS,
        &[],
    );
}

/// Every expectation kind has its own `### name` section.
#[test]
fn scenario_format_describes_every_expectation_kind() {
    let text = doc("docs/scenario-format.md");
    for kind in EXPECTATIONS {
        assert!(
            text.contains(&format!("\n### {kind}\n")),
            "no `### {kind}` section"
        );
    }
}
