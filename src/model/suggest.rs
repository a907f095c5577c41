//! "Did you mean …?" for misspelt fields, flags and names.
//!
//! Invariant: pure string helpers (no I/O, no state); re-exported as `scenario::suggest`.

/// Levenshtein distance over chars.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo (case-insensitive
/// matches and distances up to a third of the length, at least 2).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                distance(&lower, &c.to_lowercase()).max(1)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Pulls the candidate list out of serde's "unknown field `x`, expected one of `a`, `b`"
/// (or "unknown variant …") message and suggests the closest.
pub fn from_serde_message(message: &str) -> Option<String> {
    let (head, tail) = message.split_once("expected")?;
    let unknown = head.split('`').nth(1)?;
    let candidates: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    closest(unknown, candidates.iter().copied()).map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("nodePool", ["nodePools", "nodes"]),
            Some("nodePools")
        );
        assert_eq!(
            closest(
                "node-monitor-grace-preiod",
                ["node-monitor-grace-period", "node-monitor-period"]
            ),
            Some("node-monitor-grace-period")
        );
        assert_eq!(closest("zzzzzz", ["nodePools", "nodes"]), None);
        let m = "unknown field `nodePool`, expected `nodePools` or `nodes`";
        assert_eq!(from_serde_message(m).as_deref(), Some("nodePools"));
        let m = "unknown variant `podcount`, expected one of `nodeCondition`, `podCount`";
        assert_eq!(from_serde_message(m).as_deref(), Some("podCount"));
    }
}
