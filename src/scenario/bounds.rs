//! Input bounds: what is checked about an input file before the YAML parser sees it (regular
//! file, size, UTF-8, byte-order mark, nesting depth, aliases), and the numeric limits the
//! resolvers apply (node and pod counts, seconds that fit the simulation clock, the shortest
//! periods). `docs/scenario-format.md` ("Bounds") lists every limit and why.
//!
//! Invariant: nothing larger than [`MAX_FILE_BYTES`] is read and nothing deeper than
//! [`MAX_DEPTH`] is parsed; every error names the file and a position or field path.

use std::io::Read;
use std::path::Path;

use super::InputError;
use crate::sim::SimDuration;

/// The largest input file kubesim reads (16 MiB): a 5,000-node scenario with every manifest
/// inline is well under 1 MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The deepest nesting of YAML collections (block indentation levels plus flow brackets). A
/// Deployment with affinity terms is about 15 deep.
pub const MAX_DEPTH: usize = 64;
/// The most YAML aliases (`*name`) in one file.
pub const MAX_ALIASES: usize = 256;
/// Nodes in a cluster: twice the 100,000-node bench (`benches/scenarios/zone-outage-100k.yaml`,
/// issue 14), far beyond Kubernetes' tested 5,000; an idle node costs about 18 KB, so the
/// limit stays under 4 GB before any pod.
pub const MAX_NODES: u64 = 200_000;
/// Pods one workload may ask for (replicas, completions, parallelism, `scale` actions):
/// Kubernetes' tested limit of 150,000 pods per cluster.
pub const MAX_PODS_PER_WORKLOAD: i64 = 150_000;
/// The most whole seconds a seconds field may hold: Go's largest `time.Duration` in seconds
/// (about 292 years), so that it can be converted to nanoseconds and added to any instant.
pub const MAX_SECONDS: i64 = SimDuration::MAX_INPUT_SECS as i64;
/// The longest `nodeLeaseDurationSeconds` (one year; Kubernetes' own bound is int32): with lazy
/// heartbeats the kubelet plans 60 renewals of a quarter lease each ahead, and that plan must
/// fit the clock from any instant of a run.
pub const MAX_NODE_LEASE_SECONDS: i64 = 365 * 24 * 3600;
/// The shortest period of a repeating component loop (node monitor, node status, leader
/// election retry) and of the sampler: below it a period only burns the event budget.
pub const MIN_PERIOD: SimDuration = SimDuration::from_millis(1);
/// The most `timeseries.csv` rows a run may ask for (`duration / sampleInterval`).
pub const MAX_SAMPLES: u64 = 1_000_000;

/// "must be between MIN and MAX_SECONDS (…)" for a seconds field, or `Ok`.
pub fn check_seconds(v: i64, min: i64) -> Result<(), String> {
    if v < min || v > MAX_SECONDS {
        Err(format!(
            "must be between {min} and {MAX_SECONDS} (seconds must fit the simulation clock: \
             at most Go's maximum time.Duration, about 292 years), got {v}"
        ))
    } else {
        Ok(())
    }
}

/// "must be between MIN and MAX_PODS_PER_WORKLOAD" for a pod count, or `Ok`.
pub fn check_pods(v: i64, min: i64) -> Result<(), String> {
    if v < min || v > MAX_PODS_PER_WORKLOAD {
        Err(format!(
            "must be between {min} and {MAX_PODS_PER_WORKLOAD} (kubesim's limit on pods per \
             workload: Kubernetes' tested maximum of pods per cluster), got {v}"
        ))
    } else {
        Ok(())
    }
}

/// "must be at least 1ms" for a repeating period, or `Ok`. Zero keeps its own message.
pub fn check_period(d: SimDuration) -> Result<(), String> {
    if d == SimDuration::ZERO {
        Err("must be greater than 0".into())
    } else if d < MIN_PERIOD {
        Err(format!(
            "must be at least {MIN_PERIOD} (kubesim's shortest period: a shorter one only \
             burns the event budget), got {d}"
        ))
    } else {
        Ok(())
    }
}

/// Reads an input file: a regular file of at most [`MAX_FILE_BYTES`], UTF-8 (a leading BOM is
/// dropped), nested at most [`MAX_DEPTH`] deep, with at most [`MAX_ALIASES`] aliases.
pub fn read_input(path: &Path) -> Result<String, InputError> {
    let meta =
        std::fs::metadata(path).map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(InputError::file(path, "cannot read: not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(path, meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path, bytes.len() as u64));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let (line, col) = position(std::str::from_utf8(good).unwrap_or_default());
            return Err(at(
                path,
                line,
                col,
                "invalid UTF-8: input files must be UTF-8 text",
            ));
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    };
    check_text(&text, path)?;
    Ok(text)
}

fn too_big(path: &Path, len: u64) -> InputError {
    InputError::file(
        path,
        format!("file too large: {len} bytes (at most {MAX_FILE_BYTES} bytes, 16 MiB)"),
    )
}

fn at(path: &Path, line: usize, column: usize, message: &str) -> InputError {
    let mut e = InputError::file(path, message);
    e.set_position(line, column);
    e
}

/// Line and column (1-based) just after `prefix`.
fn position(prefix: &str) -> (usize, usize) {
    let line = prefix.matches('\n').count() + 1;
    let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The nesting depth and alias count of YAML text, checked line by line without parsing:
/// block depth from the stack of indentations (and `- ` items opened on one line), flow depth
/// from brackets outside quotes and comments.
pub fn check_text(text: &str, path: &Path) -> Result<(), InputError> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut aliases = 0usize;
    let mut block_scalar: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        match block_scalar {
            Some(d) if indent > d => continue,
            _ => block_scalar = None,
        }
        if flow == 0 {
            while indents.last().is_some_and(|&d| d >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut depth = indents.len() + flow;
        let mut rest = body;
        while let Some(r) = rest.strip_prefix("- ") {
            depth += 1;
            rest = r.trim_start_matches(' ');
        }
        // `prev` is the previous character, `opened` whether it opened a flow collection
        // (a bracket inside a plain scalar such as `x[[` opens nothing).
        let (mut quote, mut prev, mut opened) = (None, ' ', false);
        let mut comment = body.len();
        for (j, c) in body.char_indices() {
            match (quote, c) {
                (Some('"'), '"') if prev == '\\' => {}
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if matches!(prev, ' ' | '[' | '{' | ',' | ':') => {
                    quote = Some(c)
                }
                (None, '#') if prev == ' ' => {
                    comment = j;
                    break;
                }
                (None, '[' | '{') if matches!(prev, ' ' | ',' | ':') || opened => {
                    flow += 1;
                    depth += 1;
                    prev = c;
                    opened = true;
                    if depth > MAX_DEPTH {
                        let m =
                            format!("nesting too deep (at most {MAX_DEPTH} levels of collections)");
                        return Err(at(path, i + 1, indent + j + 1, &m));
                    }
                    continue;
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                (None, '*') if matches!(prev, ' ' | '[' | '{' | ',') => aliases += 1,
                _ => {}
            }
            prev = c;
            opened = false;
            if aliases > MAX_ALIASES {
                let m = format!("too many YAML aliases (at most {MAX_ALIASES} per file)");
                return Err(at(path, i + 1, indent + j + 1, &m));
            }
        }
        if depth > MAX_DEPTH {
            let m = format!("nesting too deep (at most {MAX_DEPTH} levels of collections)");
            return Err(at(path, i + 1, indent + 1, &m));
        }
        let value = body[..comment].trim_end();
        let last = value.rsplit([' ', ':']).next().unwrap_or("");
        if quote.is_none() && (last.starts_with('|') || last.starts_with('>')) && last.len() <= 3 {
            block_scalar = Some(indent);
        }
    }
    Ok(())
}

/// The position of a second YAML document (`---` after content), for serde_yaml's
/// position-less "more than one document" error.
pub fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut seen = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        let is_start = t == "---" || t.starts_with("--- ") || t == "...";
        if is_start && seen {
            return Some((i + 1, 1));
        }
        if !is_start && !t.is_empty() && !t.trim_start().starts_with('#') {
            seen = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_err(text: &str) -> Option<String> {
        check_text(text, Path::new("f.yaml"))
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn depth_is_bounded_for_flow_and_block_nesting() {
        assert!(depth_err("a: [[[1]]]\nb:\n  c:\n    d: 1\n").is_none());
        let deep = format!("a: {}{}", "[".repeat(100), "]".repeat(100));
        let e = depth_err(&deep).unwrap_or_default();
        assert!(e.starts_with("f.yaml:1:"), "{e}");
        assert!(e.contains("nesting too deep"), "{e}");
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&format!("{}k:\n", " ".repeat(i)));
        }
        assert!(depth_err(&block).is_some_and(|e| e.contains("nesting too deep")));
        let dashes = format!("a:\n{}x\n", "- ".repeat(100));
        assert!(depth_err(&dashes).is_some_and(|e| e.contains("nesting too deep")));
        // Brackets in quotes and comments do not count.
        let quoted = format!("a: \"{}\" # {}\n", "[".repeat(100), "{".repeat(100));
        assert!(depth_err(&quoted).is_none());
        // Nor do brackets inside plain scalars or block scalars.
        let plain = format!(
            "a: x{}\nb: |\n  {}\nc: 1\n",
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(depth_err(&plain).is_none());
    }

    #[test]
    fn second_document_position() {
        assert_eq!(second_document("---\na: 1\n---\nb: 2\n"), Some((3, 1)));
        assert_eq!(second_document("# c\n---\na: 1\n"), None);
    }

    #[test]
    fn seconds_and_pod_bounds() {
        assert!(check_seconds(MAX_SECONDS, 0).is_ok());
        assert!(check_seconds(MAX_SECONDS + 1, 0).is_err());
        assert!(check_seconds(-1, 0).is_err());
        assert!(check_pods(150_000, 0).is_ok());
        assert!(check_pods(2_147_483_647, 0).is_err_and(|e| e.contains("between 0 and 150000")));
    }
}
