//! `report.html` in a real browser (issue 16 item 4) and `--output json` (item 5).
//!
//! The browser test runs headless Chromium (Debian's `chromium`) on the report of every
//! bundled scenario: no console message at all (the page has no script, so any message is an
//! error), no resource fetched from the network, and the sections and plots in the DOM it
//! loaded. Without Chromium it is skipped with a message, except under CI (`CI` set), where
//! it fails: `.ci/run` installs Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use kubesim::output;

use crate::support::{bundled_scenarios, load, quick_start, root, run_with, scratch};

const SECTIONS: [&str; 6] = [
    "settings",
    "summary",
    "expectations",
    "plots",
    "faults",
    "events",
];

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let ok = Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(PathBuf::from(name));
        }
    }
    None
}

/// Loads `page` headless: returns the DOM after load and the console lines of its log.
fn load_in_chromium(browser: &Path, page: &Path, screenshot: &Path) -> (String, Vec<String>) {
    let url = format!("file://{}", page.display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1600",
        ])
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed on {url}: {out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

fn check_dom(name: &str, dom: &str) {
    for id in SECTIONS {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "{name}: section {id} missing"
        );
    }
    for stem in output::charts::STEMS {
        let fig = format!("<figure id=\"plot-{stem}\" class=\"plot\"><svg");
        assert!(dom.contains(&fig), "{name}: plot {stem} missing");
    }
    for bad in ["src=\"http", "href=\"http", "<script", "<link"] {
        assert!(!dom.contains(bad), "{name}: {bad} in the report");
    }
}

#[test]
fn every_bundled_report_opens_in_chromium_without_console_errors() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium is missing (.ci/run installs it)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = scratch("report-browser");
    let scenarios = bundled_scenarios();
    // Two at a time: each run and each browser is single-threaded enough.
    let chunks: Vec<&[PathBuf]> = scenarios.chunks(scenarios.len().div_ceil(2)).collect();
    std::thread::scope(|scope| {
        for chunk in chunks {
            let (dir, browser) = (&dir, &browser);
            scope.spawn(move || {
                for path in chunk {
                    let name = path.file_stem().unwrap().to_string_lossy().to_string();
                    let s = load(path, &[]);
                    let out = kubesim::run::run(&s, &Default::default());
                    let charts = output::charts::svg_all(&s, &out).unwrap();
                    let page = dir.join(format!("{name}.html"));
                    std::fs::write(&page, output::report_page(&s, &out, &charts)).unwrap();
                    let shot = dir.join(format!("{name}.png"));
                    let (dom, console) = load_in_chromium(browser, &page, &shot);
                    assert!(console.is_empty(), "{name}: console: {console:#?}");
                    check_dom(&name, &dom);
                    assert!(shot.metadata().is_ok_and(|m| m.len() > 10_000), "{name}");
                }
            });
        }
    });
}

/// `kubesim run --output json`: stdout is one JSON document with the summary, the
/// expectations and the paths written, and every path exists.
#[test]
fn run_output_json_is_one_document_with_the_paths_written() {
    let dir = scratch("output-json").join("r");
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("check")
        .arg(quick_start())
        .args(["--no-plots", "--output", "json", "--out"])
        .arg(&dir)
        .current_dir(root())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    let run = run_with(&quick_start(), &[], None);
    assert_eq!(doc["command"], "check");
    assert_eq!(doc["exit_code"].as_i64(), out.status.code().map(i64::from));
    assert_eq!(doc["digest"], run.digest.as_str());
    assert_eq!(doc["summary"]["digest"], run.digest.as_str());
    assert_eq!(
        doc["expectations"].as_array().unwrap().len(),
        run.expectations.len()
    );
    let paths = doc["paths"].as_array().unwrap();
    for f in ["events.jsonl", "metrics.csv", "summary.json", "report.html"] {
        assert!(
            paths.iter().any(|p| p.as_str().unwrap().ends_with(f)),
            "{f}"
        );
    }
    for p in paths {
        assert!(Path::new(p.as_str().unwrap()).is_file(), "{p}");
    }
}
