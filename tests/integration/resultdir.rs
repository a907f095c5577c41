//! `--out`: kubesim writes only a new path, an empty directory or one of its own results, leaves
//! everything else untouched (exit 2), and replaces a result so that a killed run leaves the old
//! result or the new one, complete (fault injection by `KUBESIM_TEST_ABORT_AT`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

/// The write stages of src/output/resultdir.rs, in order.
const STAGES: [&str; 7] = [
    "staging-created",
    "marker-written",
    "events-written",
    "files-written",
    "synced",
    "swapped",
    "done",
];
/// A pid no process has (above Linux's largest `pid_max`).
const DEAD_PID: u32 = 999_999_999;

fn kubesim_in(cwd: &Path, out: &Path, extra: &[&str], abort_at: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    c.current_dir(cwd)
        .args(["run", "-q", "--no-plots"])
        .arg(quick_start())
        .arg("--out")
        .arg(out)
        .args(extra);
    c.env_remove("KUBESIM_TEST_ABORT_AT");
    if let Some(s) = abort_at {
        c.env("KUBESIM_TEST_ABORT_AT", s);
    }
    c.output().expect("runs")
}

fn kubesim(out: &Path, extra: &[&str]) -> Output {
    kubesim_in(&root(), out, extra, None)
}

/// Every path under `dir` (not following symlinks) with its kind and content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(base: &Path, p: &Path, m: &mut BTreeMap<PathBuf, String>) {
        let meta = std::fs::symlink_metadata(p).unwrap();
        let rel = p.strip_prefix(base).unwrap().to_path_buf();
        if meta.file_type().is_symlink() {
            m.insert(rel, format!("link {:?}", std::fs::read_link(p).unwrap()));
        } else if meta.is_dir() {
            m.insert(rel, "dir".into());
            for e in std::fs::read_dir(p).unwrap() {
                walk(base, &e.unwrap().path(), m);
            }
        } else {
            let bytes = std::fs::read(p).unwrap();
            m.insert(rel, format!("file {}", String::from_utf8_lossy(&bytes)));
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn digest_of(dir: &Path) -> String {
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    s["digest"].as_str().unwrap().to_string()
}

/// Exit 2 with a reason and a way out, the run not started, and `scratch` unchanged.
fn assert_refused(out: &Output, scratch: &Path, before: &BTreeMap<PathBuf, String>, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(
        stderr.contains("choose a new or empty directory"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("digest:"));
    assert_eq!(&snapshot(scratch), before, "nothing on disk changed");
}

/// A fresh result at `dir` (seed 1) and its digest.
fn previous_result(dir: &Path) -> String {
    let out = kubesim(dir, &["--seed", "1"]);
    assert!(out.status.success(), "{out:?}");
    digest_of(dir)
}

fn assert_complete(dir: &Path) {
    for f in [
        ".kubesim-result",
        "events.jsonl",
        "timeseries.csv",
        "summary.json",
        "perf.json",
        "metrics.csv",
        "report.html",
    ] {
        assert!(dir.join(f).is_file(), "{f} in {}", dir.display());
    }
    assert_eq!(names(dir).len(), 7, "{:?}", names(dir));
}

#[test]
fn a_directory_of_other_files_is_refused_and_untouched() {
    let s = scratch("out-notes");
    let notes = s.join("notes");
    std::fs::create_dir_all(notes.join("sub")).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep me").unwrap();
    std::fs::write(notes.join("sub/summary.json"), "{}").unwrap();
    let before = snapshot(&s);
    assert_refused(&kubesim(&notes, &[]), &s, &before, "not a kubesim results");
    // `--out ..` from a project folder.
    let project = notes.join("sub");
    let out = kubesim_in(&project, Path::new(".."), &[], None);
    assert_refused(&out, &s, &before, "not a kubesim results");
    // `--out .` inside it.
    let out = kubesim_in(&project, Path::new("."), &[], None);
    assert_refused(&out, &s, &before, "not a kubesim results");
}

#[test]
fn an_old_style_result_with_a_foreign_file_is_refused() {
    let s = scratch("out-legacy-foreign");
    let dir = s.join("qs");
    std::fs::create_dir(&dir).unwrap();
    for f in ["events.jsonl", "timeseries.csv", "summary.json"] {
        std::fs::copy(root().join("results/quick-start").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("notes.md"), "mine").unwrap();
    let before = snapshot(&s);
    assert_refused(&kubesim(&dir, &[]), &s, &before, "notes.md");
}

#[test]
fn files_links_and_devices_are_refused_and_untouched() {
    let s = scratch("out-file");
    let file = s.join("report.txt");
    std::fs::write(&file, "precious").unwrap();
    let other = s.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("x"), "y").unwrap();
    std::os::unix::fs::symlink(&other, s.join("to-other")).unwrap();
    std::os::unix::fs::symlink(&file, s.join("to-file")).unwrap();
    std::os::unix::fs::symlink(s.join("nowhere"), s.join("dangling")).unwrap();
    let before = snapshot(&s);
    assert_refused(&kubesim(&file, &[]), &s, &before, "regular file");
    assert_refused(
        &kubesim(&s.join("to-other"), &[]),
        &s,
        &before,
        "symbolic link",
    );
    assert_refused(
        &kubesim(&s.join("to-file"), &[]),
        &s,
        &before,
        "symbolic link",
    );
    assert_refused(
        &kubesim(&s.join("dangling"), &[]),
        &s,
        &before,
        "symbolic link",
    );
    assert_refused(
        &kubesim(&file.join("sub"), &[]),
        &s,
        &before,
        "not a directory",
    );
    let out = kubesim(Path::new("/dev/null"), &[]);
    assert_refused(&out, &s, &before, "not a directory");
    let out = kubesim(Path::new("/dev/shm/kubesim-test-results"), &[]);
    assert_refused(&out, &s, &before, "system location");
}

#[test]
fn new_paths_empty_directories_and_previous_results_are_written() {
    let s = scratch("out-ok");
    // A new path, parents created.
    let new = s.join("a/b/res");
    let first = previous_result(&new);
    assert_complete(&new);
    // A previous result is replaced.
    let again = kubesim(&new, &["--seed", "2"]);
    assert!(again.status.success(), "{again:?}");
    assert_ne!(digest_of(&new), first);
    assert_complete(&new);
    assert_eq!(names(&s.join("a/b")), ["res"]);
    // An empty directory.
    let empty = s.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(kubesim(&empty, &[]).status.success());
    assert_complete(&empty);
    // A symlink to a result: the result it points to is replaced, the link kept.
    let link = s.join("link");
    std::os::unix::fs::symlink(&new, &link).unwrap();
    assert!(kubesim(&link, &["--seed", "3"]).status.success());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_ne!(digest_of(&new), first);
    assert_complete(&new);
}

#[test]
fn an_old_style_result_is_replaced() {
    let s = scratch("out-legacy");
    let dir = s.join("quick-start");
    std::fs::create_dir(&dir).unwrap();
    // A result of a kubesim that predates the marker: the checked-in files it wrote too
    // (not the later metrics.csv, capacity charts and report.html), without the marker.
    let legacy = [
        "events.jsonl",
        "timeseries.csv",
        "summary.json",
        "timeline.png",
        "timeline.svg",
    ];
    for f in names(&root().join("results/quick-start")) {
        if !legacy.contains(&f.as_str()) {
            continue;
        }
        std::fs::copy(root().join("results/quick-start").join(&f), dir.join(&f)).unwrap();
    }
    assert!(!dir.join(".kubesim-result").exists());
    let out = kubesim(&dir, &["--seed", "9"]);
    assert!(out.status.success(), "{out:?}");
    assert_complete(&dir);
    assert_eq!(names(&s), ["quick-start"]);
}

#[test]
fn a_run_killed_at_any_stage_leaves_the_old_result_or_the_new_one() {
    let s = scratch("out-killed");
    let dir = s.join("res");
    let old = previous_result(&dir);
    for (i, stage) in STAGES.iter().enumerate() {
        let out = kubesim_in(&root(), &dir, &["--seed", "2"], Some(stage));
        assert_eq!(out.status.code(), Some(137), "{stage}: {out:?}");
        assert_complete(&dir);
        let swapped = i >= STAGES.iter().position(|x| *x == "swapped").unwrap();
        assert_eq!(digest_of(&dir) == old, !swapped, "{stage}");
        let leftovers: Vec<String> = names(&s).into_iter().filter(|n| n != "res").collect();
        if *stage == "done" {
            assert!(leftovers.is_empty(), "{stage}: {leftovers:?}");
        } else {
            assert_eq!(leftovers.len(), 1, "{stage}: {leftovers:?}");
            assert!(
                leftovers[0].starts_with(".res.kubesim-stage-"),
                "{leftovers:?}"
            );
        }
        // The next run completes and deletes the leftover.
        let next = kubesim(&dir, &["--seed", "1"]);
        assert!(next.status.success(), "{stage}: {next:?}");
        assert_eq!(digest_of(&dir), old);
        assert_eq!(names(&s), ["res"], "{stage}");
    }
}

#[test]
fn only_leftovers_that_kubesim_wrote_are_cleaned() {
    let s = scratch("out-leftovers");
    let dir = s.join("res");
    previous_result(&dir);
    let put = |name: String, files: &[(&str, &str)]| {
        let d = s.join(name);
        std::fs::create_dir(&d).unwrap();
        for (f, text) in files {
            std::fs::write(d.join(f), text).unwrap();
        }
    };
    // Leftovers of dead processes: of earlier kubesim versions, and an empty staging directory.
    put(format!(".res.tmp-{DEAD_PID}"), &[("events.jsonl", "{}\n")]);
    put(format!(".res.old-{DEAD_PID}"), &[]);
    put(format!(".res.kubesim-stage-{}", DEAD_PID - 1), &[]);
    // Not kubesim's: a foreign file, a live process, another target's name.
    put(
        format!(".res.tmp-{}", DEAD_PID - 2),
        &[("diary.txt", "mine")],
    );
    put(
        format!(".res.kubesim-stage-{}", DEAD_PID - 3),
        &[("a", "b")],
    );
    put(format!(".res.kubesim-stage-{}", std::process::id()), &[]);
    put(format!(".other.tmp-{DEAD_PID}"), &[]);
    assert!(kubesim(&dir, &[]).status.success());
    let kept = [
        format!(".other.tmp-{DEAD_PID}"),
        format!(".res.kubesim-stage-{}", std::process::id()),
        format!(".res.kubesim-stage-{}", DEAD_PID - 3),
        format!(".res.tmp-{}", DEAD_PID - 2),
        "res".to_string(),
    ];
    let mut kept = kept.to_vec();
    kept.sort();
    assert_eq!(names(&s), kept);
}

#[test]
fn an_unknown_abort_stage_is_a_usage_error() {
    let s = scratch("out-bad-stage");
    let out = kubesim_in(&root(), &s.join("r"), &[], Some("nowhere"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("staging-created"));
    assert!(names(&s).is_empty());
}
