//! `kubesim diff`: the first divergence of two quick-start runs with different grace periods
//! is where the reference puts it; result directories compare like scenario runs; `--fail-on`
//! sets the exit code (docs/diff.md).

use std::process::Command;

use kubesim::output::diff;

use crate::support::*;

fn kubesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .output()
        .expect("runs")
}

const GRACE_40: &str = "kube-controller-manager.node-monitor-grace-period=40s";

/// The quick start crashes worker-zone-a-0 at 58 s; its last lease renewal before that lands
/// in [50 s, 52 s) and is observed by the monitor pass at 55 s (probe = 55 s; reference §1.3,
/// §2.3). Nothing before the NotReady decision depends on the grace period (the kubelets, the
/// scheduler and the monitor passes every 5 s run the same), so the logs agree up to it. The
/// node goes NotReady at the first pass strictly after 55 s + grace: with 40 s, 95 s is a pass
/// time but not strictly after, so 100 s; with 50 s, 110 s. The first divergence is therefore
/// at 100 s: B's `NodeNotReady` for Node/worker-zone-a-0, where A logs its own at 110 s.
#[test]
fn diff_names_the_first_divergence_of_two_grace_periods() {
    let qs = quick_start();
    let qs = qs.to_str().expect("utf-8 path");
    let out = scratch("diff-grace");
    let o = kubesim(&[
        "diff",
        qs,
        qs,
        "--set-b",
        GRACE_40,
        "--out",
        out.join("d").to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("event logs diverge at record"), "{text}");
    assert!(text.contains("(t = 100.000s)"), "{text}");
    let b_line = text
        .lines()
        .find(|l| l.starts_with("  B: "))
        .expect("B's record");
    assert!(
        b_line.contains("\"t_ns\":100000000000")
            && b_line.contains("\"reason\":\"NodeNotReady\"")
            && b_line.contains("Node/worker-zone-a-0"),
        "{b_line}"
    );
    let a_line = text
        .lines()
        .find(|l| l.starts_with("  A: "))
        .expect("A's record");
    assert!(a_line.contains("\"t_ns\":110000000000"), "{a_line}");
    // Detection 10 s earlier, side by side.
    assert!(
        text.lines()
            .any(|l| l.starts_with("metrics.time_to_detect_s")
                && l.split_whitespace().collect::<Vec<_>>()[1..] == ["52", "42", "-10"]),
        "{text}"
    );
    for f in ["diff.txt", "diff.png", "diff.svg"] {
        assert!(out.join("d").join(f).is_file(), "{f}");
    }
}

/// Two results directories compare as the runs that wrote them; `--fail-on` exits 1 only when
/// violated, on the difference or on one side.
#[test]
fn diff_of_result_directories_and_fail_on() {
    let qs = quick_start();
    let qs = qs.to_str().expect("utf-8 path");
    let dir = scratch("diff-dirs");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (a, b) = (a.to_str().expect("utf-8"), b.to_str().expect("utf-8"));
    assert_eq!(
        kubesim(&["run", "-q", "--no-plots", qs, "--out", a])
            .status
            .code(),
        Some(0)
    );
    let o = kubesim(&["run", "-q", "--no-plots", qs, "--out", b, "--set", GRACE_40]);
    assert_eq!(o.status.code(), Some(0));
    let same = kubesim(&["diff", a, a]);
    assert!(String::from_utf8_lossy(&same.stdout).contains("event logs: identical"));
    // B detects 10 s earlier: B − A = −10.
    let held = kubesim(&["diff", "-q", a, b, "--fail-on", "time_to_detect_s>0"]);
    assert_eq!(
        held.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&held.stdout)
    );
    let broke = kubesim(&["diff", "-q", a, b, "--fail-on", "time_to_detect_s<-5"]);
    assert_eq!(
        broke.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&broke.stdout)
    );
    let side = kubesim(&["diff", "-q", a, b, "--fail-on", "B:pods_evicted>1"]);
    assert_eq!(side.status.code(), Some(1));
    // The library sees the same divergence from the directories.
    let (x, y) = (
        diff::read_dir("a", std::path::Path::new(a)).expect("result"),
        diff::read_dir("b", std::path::Path::new(b)).expect("result"),
    );
    assert_eq!(
        diff::first_divergence(&x, &y).map(|d| d.t_ns),
        Some(100 * S)
    );
    // Usage errors exit 2: an unknown metric, --set on a directory.
    assert_eq!(
        kubesim(&["diff", a, b, "--fail-on", "nope>1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kubesim(&["diff", a, b, "--set-a", GRACE_40]).status.code(),
        Some(2)
    );
}
