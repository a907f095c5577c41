//! Indexed Jobs: the completion index of a pod, the lowest pending indexes, and
//! `status.completedIndexes` as interval strings (`"0-2,5,7-8"`).
//!
//! Upstream: `pkg/controller/job/indexed_job_utils.go` (`getCompletionIndex`,
//! `firstPendingIndexes`, `calculateSucceededIndexes`, `orderedIntervals`).
//!
//! Invariant: indexes at or above `completions` are never produced or kept.

use std::collections::BTreeSet;

use super::SyncCtx;
use crate::model::*;

/// The completion index annotation of a pod (`getCompletionIndex`), if valid.
pub fn completion_index(p: &Pod) -> Option<i32> {
    p.meta
        .annotations
        .get(JOB_COMPLETION_INDEX)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|i| *i >= 0)
}

/// `firstPendingIndexes`: the lowest indexes neither succeeded nor held by an active pod.
pub(super) fn first_pending_indexes(sc: &SyncCtx, count: usize) -> Vec<i32> {
    let completions = sc.job.completions.unwrap_or(0);
    let busy: BTreeSet<i32> = sc
        .active_pods
        .iter()
        .filter_map(|p| completion_index(p))
        .collect();
    (0..completions)
        .filter(|i| !sc.succeeded_indexes.contains(i) && !busy.contains(i))
        .take(count)
        .collect()
}

/// Parses `completedIndexes` (`"1,3-5"`), keeping indexes below `completions`.
pub fn parse_indexes(text: &str, completions: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|s| !s.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            out.extend((a..=b).filter(|i| *i < completions));
        }
    }
    out
}

/// `orderedIntervals.String()`: `"0-2,5,7-8"`.
pub fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(first) = it.next() {
        let mut last = first;
        while it.peek() == Some(&(last + 1)) {
            last = it.next().unwrap_or(last);
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}
