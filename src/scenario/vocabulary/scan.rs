//! Test-only source scan: the event-log reasons `src/**/*.rs` can put into a `sim::Record`.
//! Invariant: a reason is found only where the code builds a record — a `reason:` field of a
//! `Record { … }`, an argument in the `reason: &'static str` position of a function that takes
//! one, or a `let` binding later used in either place — so the scan reads code, not prose.

use std::collections::BTreeSet;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Str(String),
    Ident(String),
    Punct(char),
}

/// Rust source to tokens: comments dropped, string literals unescaped only as far as reasons
/// need (they never contain escapes), lifetimes and char literals reduced to punctuation.
pub fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if ch == 'r' && matches!(c.get(i + 1), Some('"') | Some('#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(Tok::Ident("r".into()));
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut k = start;
            while k < c.len()
                && !(c[k] == '"' && (0..hashes).all(|h| c.get(k + 1 + h) == Some(&'#')))
            {
                k += 1;
            }
            out.push(Tok::Str(c[start..k.min(c.len())].iter().collect()));
            i = k + 1 + hashes;
        } else if ch == '"' {
            let mut s = String::new();
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if let Some(&x) = c.get(i) {
                    s.push(x);
                }
                i += 1;
            }
            out.push(Tok::Str(s));
            i += 1;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\'') or a lifetime ('static).
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(Tok::Punct('\''));
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// The tokens without `#[cfg(test)]` items (a `mod tests { … }`, a test-only fn, `mod tests;`).
pub fn strip_tests(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = toks[i] == Tok::Punct('#')
            && toks.get(i + 2) == Some(&Tok::Ident("cfg".into()))
            && toks.get(i + 4) == Some(&Tok::Ident("test".into()));
        if !cfg_test {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        i += 6; // # [ cfg ( test ) — then `]` and the item
        while i < toks.len() && toks[i] != Tok::Punct(';') && toks[i] != Tok::Punct('{') {
            i += 1;
        }
        if toks.get(i) == Some(&Tok::Punct('{')) {
            i = close(&toks, i);
        }
        i += 1;
    }
    out
}

/// Index of the bracket closing the one at `open`.
pub fn close(t: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, tok) in t.iter().enumerate().skip(open) {
        match tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    t.len().saturating_sub(1)
}

/// Splits `t[from..to]` at commas outside brackets.
pub fn split_commas(t: &[Tok], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, from);
    for (k, tok) in t.iter().enumerate().take(to).skip(from) {
        match tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                out.push((start, k));
                start = k + 1;
            }
            _ => {}
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

/// Every `.rs` file under `dir`, sorted, with its test items stripped.
pub fn sources(dir: &Path) -> Vec<(String, Vec<Tok>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_none_or(|n| n != "tests.rs")
                && !p.components().any(|c| c.as_os_str() == "tests")
            {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                files.push((p.display().to_string(), strip_tests(lex(&text))));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

pub fn is_reason_text(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What the scan found: the reasons, and how many reason positions pass a run-time string
/// through `intern` (reasons not in the source, such as the kubelet's admission reasons).
#[derive(Default, Debug)]
pub struct Found {
    pub reasons: BTreeSet<String>,
    pub interned: usize,
}

struct Ctx<'a> {
    t: &'a [Tok],
    consts: &'a std::collections::BTreeMap<String, BTreeSet<String>>,
    found: Found,
}

fn is_const_name(s: &str) -> bool {
    s.len() > 1
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}

fn module_of(path: &str) -> String {
    let p = Path::new(path);
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem == "mod" {
        let parent = p.parent().and_then(|d| d.file_name());
        return parent
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    stem
}

/// `const NAME: &str = "value";` (also `&'static str`), keyed `NAME` and `module::NAME`.
fn consts(files: &[(String, Vec<Tok>)]) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (path, t) in files {
        let m = module_of(path);
        for i in 0..t.len() {
            let (Tok::Ident(kw), Some(Tok::Ident(name))) = (&t[i], t.get(i + 1)) else {
                continue;
            };
            if kw != "const" {
                continue;
            }
            let Some(eq) = (i..t.len().min(i + 10)).find(|&k| t[k] == Tok::Punct('=')) else {
                continue;
            };
            let is_str = t[i..eq].contains(&Tok::Ident("str".into()));
            if let (true, Some(Tok::Str(v)), Some(Tok::Punct(';'))) =
                (is_str, t.get(eq + 1), t.get(eq + 2))
            {
                out.entry(name.clone()).or_default().insert(v.clone());
                out.entry(format!("{m}::{name}"))
                    .or_default()
                    .insert(v.clone());
            }
        }
    }
    out
}

/// Functions with a `reason: &'static str` parameter: name → argument index (self excluded).
fn helpers(t: &[Tok]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for i in 0..t.len().saturating_sub(2) {
        let (Tok::Ident(kw), Tok::Ident(name)) = (&t[i], &t[i + 1]) else {
            continue;
        };
        if kw != "fn" || t[i + 2] != Tok::Punct('(') {
            continue;
        }
        let end = close(t, i + 2);
        let params: Vec<_> = split_commas(t, i + 3, end)
            .into_iter()
            .filter(|&(a, b)| !t[a..b].contains(&Tok::Ident("self".into())))
            .collect();
        for (k, &(a, b)) in params.iter().enumerate() {
            let ty: Vec<&Tok> = t[a..b].iter().skip(2).collect();
            let static_str = ty.len() == 4
                && ty[2] == &Tok::Ident("static".into())
                && ty[3] == &Tok::Ident("str".into());
            if t[a] == Tok::Ident("reason".into()) && static_str {
                out.push((name.clone(), k));
            }
        }
    }
    out
}

impl Ctx<'_> {
    fn add_const(&mut self, key: &str) {
        if let Some(vs) = self.consts.get(key) {
            for v in vs.iter().filter(|v| is_reason_text(v)) {
                self.found.reasons.insert(v.clone());
            }
        }
    }

    fn is_arm_pattern(&self, k: usize) -> bool {
        self.t.get(k + 1) == Some(&Tok::Punct('=')) && self.t.get(k + 2) == Some(&Tok::Punct('>'))
    }

    /// A reason in an argument or field: a literal, a constant, a variable, `if … else …`.
    fn simple(&mut self, a: usize, b: usize) {
        let t = self.t;
        match &t[a..b] {
            [Tok::Str(s)] if is_reason_text(s) => {
                self.found.reasons.insert(s.clone());
            }
            [Tok::Ident(c)] if is_const_name(c) => self.add_const(c),
            [Tok::Ident(v)] => self.var(v, a),
            [Tok::Ident(m), Tok::Punct(':'), Tok::Punct(':'), Tok::Ident(c)] => {
                self.add_const(&format!("{m}::{c}"))
            }
            [Tok::Ident(kw), ..] if kw == "if" => self.broad(a, b),
            [Tok::Ident(kw), ..] if kw == "intern" => self.found.interned += 1,
            _ => {}
        }
    }

    /// Every reason-shaped literal or constant of an expression that is not a match pattern.
    fn broad(&mut self, a: usize, b: usize) {
        let t = self.t;
        for k in a..b {
            if self.is_arm_pattern(k) {
                continue;
            }
            match &t[k] {
                Tok::Str(s) if is_reason_text(s) => {
                    let compared =
                        k >= 2 && t[k - 1] == Tok::Punct('=') && t[k - 2] == Tok::Punct('=');
                    if !compared {
                        self.found.reasons.insert(s.clone());
                    }
                }
                Tok::Ident(c) if is_const_name(c) => {
                    if let (true, Tok::Ident(m)) = (
                        k >= 3 && t[k - 1] == Tok::Punct(':'),
                        &t[k.saturating_sub(3)],
                    ) {
                        self.add_const(&format!("{m}::{c}"));
                    } else {
                        self.add_const(c);
                    }
                }
                _ => {}
            }
        }
    }

    /// The values a `let` binding of `v` before `pos` (in the same fn) gives it.
    fn var(&mut self, v: &str, pos: usize) {
        let t = self.t;
        let fn_start = (0..pos)
            .rev()
            .find(|&k| t[k] == Tok::Ident("fn".into()))
            .unwrap_or(0);
        for j in (fn_start..pos).rev() {
            if t[j] != Tok::Ident("let".into()) {
                continue;
            }
            let Some(eq) = (j..pos).find(|&k| {
                t[k] == Tok::Punct('=')
                    && t[k + 1] != Tok::Punct('=')
                    && !matches!(t[k - 1], Tok::Punct('=' | '!' | '<' | '>'))
            }) else {
                continue;
            };
            let end = (eq..t.len())
                .scan(0i32, |d, k| {
                    match t[k] {
                        Tok::Punct('(' | '[' | '{') => *d += 1,
                        Tok::Punct(')' | ']' | '}') => *d -= 1,
                        _ => {}
                    }
                    Some((k, *d))
                })
                .find(|&(k, d)| d == 0 && t[k] == Tok::Punct(';'))
                .map_or(t.len(), |(k, _)| k);
            let name = |toks: &[Tok]| {
                toks.iter()
                    .filter(|x| **x != Tok::Ident("mut".into()))
                    .cloned()
                    .collect::<Vec<_>>()
                    == [Tok::Ident(v.into())]
            };
            if t[j + 1] == Tok::Punct('(') {
                let parts = split_commas(t, j + 2, close(t, j + 1));
                if let Some(k) = parts.iter().position(|&(a, b)| name(&t[a..b])) {
                    self.tuple_elems(eq + 1, end, parts.len(), k);
                    return;
                }
            } else if name(&t[j + 1..j + 2]) || name(&t[j + 1..j + 3]) {
                self.broad(eq + 1, end);
                return;
            }
        }
    }

    /// Element `k` of every `n`-tuple expression in `t[a..b]`.
    fn tuple_elems(&mut self, a: usize, b: usize, n: usize, k: usize) {
        let t = self.t;
        for p in a..b {
            let call = p > 0 && matches!(t[p - 1], Tok::Ident(_) | Tok::Punct('!'));
            if t[p] != Tok::Punct('(') || call {
                continue;
            }
            let parts = split_commas(t, p + 1, close(t, p));
            if parts.len() == n {
                let (x, y) = parts[k];
                self.broad(x, y);
            }
        }
    }
}

/// The reasons `files` can log (see the module header for where they are looked for).
pub fn scan(files: &[(String, Vec<Tok>)]) -> Found {
    let consts = consts(files);
    let all: Vec<(String, usize)> = files.iter().flat_map(|(_, t)| helpers(t)).collect();
    let mut found = Found::default();
    for (_, t) in files {
        let local = helpers(t);
        let mut cx = Ctx {
            t,
            consts: &consts,
            found: std::mem::take(&mut found),
        };
        for i in 0..t.len().saturating_sub(1) {
            let prev_fn = i > 0 && matches!(&t[i - 1], Tok::Ident(k) if k == "fn" || k == "struct");
            let Tok::Ident(name) = &t[i] else { continue };
            if prev_fn {
                continue;
            }
            if name == "Record" && t[i + 1] == Tok::Punct('{') {
                for (a, b) in split_commas(t, i + 2, close(t, i + 1)) {
                    if t[a] != Tok::Ident("reason".into()) {
                        continue;
                    }
                    if b - a == 1 {
                        cx.var("reason", a);
                    } else if t[a + 1] == Tok::Punct(':') {
                        cx.simple(a + 2, b);
                    }
                }
            } else if t[i + 1] == Tok::Punct('(') {
                let pick = |defs: &[(String, usize)]| -> Vec<usize> {
                    defs.iter()
                        .filter(|(n, _)| n == name)
                        .map(|&(_, k)| k)
                        .collect()
                };
                let mut idx = pick(&local);
                if idx.is_empty() {
                    idx = pick(&all);
                }
                if idx.is_empty() {
                    continue;
                }
                let args = split_commas(t, i + 2, close(t, i + 1));
                for k in idx {
                    if let Some(&(a, b)) = args.get(k) {
                        cx.simple(a, b);
                    }
                }
            }
        }
        found = cx.found;
    }
    found
}

/// The reason-shaped first arguments of the calls of `callee` in `files` (constants resolved
/// against `all`).
pub fn first_args(
    all: &[(String, Vec<Tok>)],
    files: &[(String, Vec<Tok>)],
    callee: &str,
) -> BTreeSet<String> {
    let consts = consts(all);
    let mut found = Found::default();
    for (_, t) in files {
        let mut cx = Ctx {
            t,
            consts: &consts,
            found: std::mem::take(&mut found),
        };
        for i in 0..t.len().saturating_sub(1) {
            if t[i] == Tok::Ident(callee.into()) && t[i + 1] == Tok::Punct('(') {
                if let Some(&(a, b)) = split_commas(t, i + 2, close(t, i + 1)).first() {
                    cx.simple(a, b);
                }
            }
        }
        found = cx.found;
    }
    found.reasons
}
