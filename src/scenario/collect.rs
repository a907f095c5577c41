//! Every independent error of a scenario file at once: the file is read again without each
//! list item that had an error (a node pool, a manifest, a timeline entry, an expectation …,
//! the lists of [`LISTS`]), up to [`MAX_ERRORS`] errors, and each error found by
//! validation (which knows the field path) gets the line and column of that path.
//!
//! A YAML syntax error, an error outside those lists (`duration`, a flag) or in a file a
//! `file:` entry names stops the search: what follows it cannot be read independently. An
//! error outside the lists found once an item was left out is not reported (it may only be a
//! consequence, as "no nodes" once the only pool is left out).
//! Invariant: a file with one error reports exactly what a single pass reports (plus a
//! position found from its path), and a valid file is read once.

use std::path::Path;

use super::error::InputError;
use super::strict::{Skip, LISTS};

/// The most errors reported for one file.
pub const MAX_ERRORS: usize = 20;

/// The search reads at most this many bytes in all (the file once per pass): a large file
/// gets fewer passes, so that a 700 KB scenario with many errors is still reported at once.
pub const MAX_READ_BYTES: usize = 2 << 20;

/// Reads and validates `text` by `read`, which parses with the given items skipped, again
/// after each error in a list item; the errors sorted by position.
pub fn all_errors<T>(
    text: &str,
    file: &Path,
    mut read: impl FnMut(&Skip) -> Result<T, (InputError, bool)>,
) -> Result<T, InputError> {
    let mut skip = Skip::default();
    let mut errors = Vec::new();
    let mut stopped = false;
    loop {
        let (mut err, parsed) = match read(&skip) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(e) => e,
        };
        // Validation saw the items that were read: its indices are renumbered.
        if parsed {
            remap(&mut err, &skip);
        }
        if err.line.is_none() && err.file == file {
            if let Some((l, c)) = err_path(&err).and_then(|p| locate(text, &p)) {
                err.set_position(l, c);
            }
        }
        let item = item_of(&err).filter(|_| err.file == file);
        if item.is_none() && !skip.items.is_empty() {
            // Outside the lists, after an item was left out: maybe only a consequence (a
            // cluster without its only pool has no nodes). Not reported; the search ends.
            break;
        }
        errors.push(err);
        let read = (errors.len() + 1).saturating_mul(text.len().max(1));
        if errors.len() >= MAX_ERRORS || read > MAX_READ_BYTES {
            stopped = item.is_some();
            break;
        }
        match item {
            Some(it) if !skip.items.contains(&it) => {
                skip.items.insert(it);
            }
            _ => break,
        }
    }
    match InputError::many(errors, stopped) {
        Some(e) => Err(e),
        None => read(&Skip::default()).map_err(|(e, _)| e),
    }
}

/// The field path an error names: its own, or one that starts its message (`timeline[2]: …`).
fn err_path(err: &InputError) -> Option<String> {
    if let Some(p) = &err.path {
        return Some(p.clone());
    }
    let (head, _) = err.message.split_once(": ")?;
    let top = head.split(['.', '[']).next()?;
    let known = [
        "cluster",
        "components",
        "runtime",
        "simulation",
        "output",
        "kubeProxy",
    ];
    (LISTS.iter().any(|l| l.starts_with(top)) || known.contains(&top)).then(|| head.to_string())
}

/// The list item an error is in: `("workloads", 3)` for `workloads[3].spec…`.
fn item_of(err: &InputError) -> Option<(String, usize)> {
    let p = err_path(err)?;
    LISTS.iter().find_map(|l| {
        let rest = p.strip_prefix(l)?.strip_prefix('[')?;
        let (n, _) = rest.split_once(']')?;
        Some((l.to_string(), n.parse().ok()?))
    })
}

/// `LIST[k]` at the start of `s`, renumbered as the file numbers the items.
fn renumber(s: &str, skip: &Skip) -> Option<String> {
    LISTS.iter().find_map(|l| {
        let rest = s.strip_prefix(l)?.strip_prefix('[')?;
        let (n, tail) = rest.split_once(']')?;
        let k: usize = n.parse().ok()?;
        Some(format!("{l}[{}]{tail}", skip.original(l, k)))
    })
}

fn remap(err: &mut InputError, skip: &Skip) {
    if skip.items.is_empty() {
        return;
    }
    let mut d = (**err).clone();
    if let Some(p) = d.path.as_deref().and_then(|p| renumber(p, skip)) {
        d.path = Some(p);
    } else if let Some(m) = renumber(&d.message, skip) {
        d.message = m;
    }
    *err = InputError::from_details(d);
}

/// One line of block YAML: its number, the column of its content and the content.
#[derive(Clone)]
struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// The line and column of a field path (`cluster.nodePools[1].count`) in block-style YAML,
/// or of the deepest part of it found (a flow-style `{…}` value is not entered).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut scope: Vec<Line> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            let skip = t.is_empty() || t.starts_with('#') || t.starts_with("---");
            (!skip).then(|| Line {
                no: i + 1,
                indent: l.len() - t.len(),
                text: t,
            })
        })
        .collect();
    let mut found = None;
    for seg in path.split('.') {
        let (key, indices) = match seg.split_once('[') {
            Some((k, rest)) => (k, rest),
            None => (seg, ""),
        };
        if !key.is_empty() {
            let Some((pos, inner)) = child_key(&scope, key) else {
                return found;
            };
            found = Some(pos);
            scope = inner;
        }
        for n in indices.split('[') {
            let Some(Ok(i)) = n.strip_suffix(']').map(str::parse::<usize>) else {
                continue;
            };
            let Some((pos, inner)) = child_index(&scope, i) else {
                return found;
            };
            found = Some(pos);
            scope = inner;
        }
    }
    found
}

type Found<'a> = ((usize, usize), Vec<Line<'a>>);

fn child_key<'a>(scope: &[Line<'a>], key: &str) -> Option<Found<'a>> {
    let base = scope.iter().map(|l| l.indent).min()?;
    let j = scope.iter().position(|l| {
        l.indent == base && !l.text.starts_with('-') && {
            let k = l.text.split(':').next().unwrap_or("").trim();
            k.trim_matches(|c| c == '"' || c == '\'') == key
        }
    })?;
    let l = &scope[j];
    let inner = scope[j + 1..]
        .iter()
        .take_while(|m| m.indent > base || (m.indent == base && m.text.starts_with("- ")))
        .cloned()
        .collect();
    Some(((l.no, l.indent + 1), inner))
}

fn child_index<'a>(scope: &[Line<'a>], i: usize) -> Option<Found<'a>> {
    let base = scope.iter().map(|l| l.indent).min()?;
    let is_item = |l: &Line| l.indent == base && (l.text == "-" || l.text.starts_with("- "));
    let j = scope
        .iter()
        .enumerate()
        .filter(|(_, l)| is_item(l))
        .nth(i)?
        .0;
    let l = &scope[j];
    let after = l.text[1..].trim_start();
    let mut inner = Vec::new();
    if !after.is_empty() {
        inner.push(Line {
            no: l.no,
            indent: base + (l.text.len() - after.len()),
            text: after,
        });
    }
    inner.extend(
        scope[j + 1..]
            .iter()
            .take_while(|m| m.indent > base)
            .cloned(),
    );
    Some(((l.no, l.indent + 1), inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_block_paths() {
        let text = "duration: 1m\ncluster:\n  nodePools:\n    - name: a\n      count: 1\n    - name: b\n      count: -1\nworkloads:\n- kind: Pod\n  spec: {x: 1}\n";
        assert_eq!(locate(text, "duration"), Some((1, 1)));
        assert_eq!(locate(text, "cluster.nodePools[1].count"), Some((7, 7)));
        assert_eq!(locate(text, "cluster.nodePools[0]"), Some((4, 5)));
        assert_eq!(locate(text, "cluster.nodePools[1].name"), Some((6, 7)));
        assert_eq!(locate(text, "workloads[0].spec.x"), Some((10, 3)));
        assert_eq!(locate(text, "workloads[0].kind"), Some((9, 3)));
        assert_eq!(locate(text, "expect[0]"), None);
    }

    #[test]
    fn an_error_path_names_its_item() {
        let e = InputError::at_path(Path::new("s"), "cluster.nodePools[2].count", "bad");
        assert_eq!(item_of(&e), Some(("cluster.nodePools".to_string(), 2)));
        let e = InputError::file(Path::new("s"), "timeline[10]: unknown node");
        assert_eq!(item_of(&e), Some(("timeline".to_string(), 10)));
        let e = InputError::at_path(Path::new("s"), "duration", "must be > 0");
        assert_eq!(item_of(&e), None);
    }
}
