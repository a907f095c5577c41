//! The crate's layering (ARCHITECTURE.md "Layers"), enforced: every `crate::MODULE` path in a
//! source file under `src/` must name its own top-level module or one of a strictly lower
//! layer. Components of one layer (kubelet, proxy, controllers, scheduler; client and runtime) never
//! import each other. Also the size rules: no non-test source file over 1,000 lines.

use std::path::{Path, PathBuf};

/// Bottom to top. A module may import only modules of a lower rank (or itself).
const LAYERS: &[(&str, u32)] = &[
    ("sim", 0),
    ("model", 1),
    ("network", 2),
    ("api", 3),
    ("client", 4),
    ("runtime", 4),
    ("kubelet", 5),
    ("proxy", 5),
    ("controllers", 5),
    ("scheduler", 5),
    ("cluster", 6),
    ("observe", 7),
    ("scenario", 8),
    ("run", 9),
    ("study", 10),
    ("output", 11),
    ("cli", 12),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file under `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Every `crate::NAME` in code (comments skipped).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((i + 1, name));
            }
            rest = tail;
        }
    }
    out
}

#[test]
fn every_module_is_in_a_layer() {
    let top: Vec<String> = std::fs::read_dir(src())
        .expect("read src")
        .filter_map(|e| module_of(&e.expect("entry").path()))
        .collect();
    for m in &top {
        assert!(
            rank(m).is_some(),
            "src/{m} is in no layer of ARCHITECTURE.md"
        );
    }
}

#[test]
fn no_module_imports_a_layer_above_or_beside_it() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let Some(m) = module_of(f) else { continue };
        let Some(r) = rank(&m) else { continue };
        let text = std::fs::read_to_string(f).expect("read source");
        for (line, target) in crate_paths(&text) {
            if target == m {
                continue;
            }
            match rank(&target) {
                Some(t) if t < r => {}
                _ => bad.push(format!("{}:{line}: {m} -> {target}", f.display())),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "edges against the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_layer_check_catches_an_upward_edge() {
    // The scanner itself: a component naming the cluster is found, a comment is not.
    let found = crate_paths("use crate::cluster::Event;\n// crate::run is fine here\n");
    assert_eq!(found, vec![(1, "cluster".to_string())]);
    assert!(rank("cluster") > rank("kubelet"));
}

#[test]
fn no_source_file_over_1000_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut big = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.contains("test") {
            continue; // ported upstream tables live in sibling tests.rs files
        }
        let n = std::fs::read_to_string(f).expect("read").lines().count();
        if n > 1000 {
            big.push(format!("{} ({n} lines)", f.display()));
        }
    }
    assert!(
        big.is_empty(),
        "split these along their seams:\n{}",
        big.join("\n")
    );
}

/// Function length (ARCHITECTURE.md "Size"): no function body over 150 lines, except the ported
/// upstream test tables (named `…_upstream_table` / `…_upstream_cases`), which keep upstream's
/// shape so they can be compared case by case. Relies on rustfmt's layout: a function ends at
/// the first `}` line with the indentation of its `fn` line.
#[test]
fn no_function_over_150_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let Some(name) = fn_name(trimmed) else {
                continue;
            };
            if name.contains("upstream") {
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
                if end + 2 > 150 {
                    long.push(format!(
                        "{}:{} {name} ({} lines)",
                        f.display(),
                        i + 1,
                        end + 2
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these functions:\n{}",
        long.join("\n")
    );
}

/// The name of the function a line declares, if it does.
fn fn_name(trimmed: &str) -> Option<&str> {
    let mut rest = trimmed;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

/// ARCHITECTURE.md maps every file: each `src/MODULE/…/NAME.rs` is named (as `NAME`, a whole
/// word) in the `### \`MODULE…\`` section of that module.
#[test]
fn architecture_md_names_every_source_file() {
    let arch = std::fs::read_to_string(src().join("../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut sections: Vec<(String, String)> = Vec::new();
    for part in arch.split("\n### ").skip(1) {
        let head = part.lines().next().unwrap_or("");
        let module = head
            .trim_start_matches('`')
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_string();
        sections.push((module, part.to_string()));
    }
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut missing = Vec::new();
    for f in &files {
        let Some(m) = module_of(f) else { continue };
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let named = sections
            .iter()
            .filter(|(module, _)| *module == m)
            .any(|(_, text)| has_word(text, stem));
        if !named {
            missing.push(format!("{} (section `{m}`)", f.display()));
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not map:\n{}",
        missing.join("\n")
    );
}

fn has_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_none_or(|c| !is_word(c));
        let after = text[i + word.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_word(c));
        before && after
    })
}
