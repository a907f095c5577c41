//! Tests of the timeline renderer: an example chart in PNG and SVG, and degenerate inputs.

use super::*;
use std::path::PathBuf;

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-plot-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Step function sampled every 5 s over 0..=900 s.
fn steps(f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    (0..=180)
        .map(|i| i as f64 * 5.0)
        .map(|t| (t, f(t)))
        .collect()
}

struct Example {
    names: Vec<String>,
    nodes: Vec<Vec<(f64, f64)>>,
    pods: Vec<(&'static str, Vec<(f64, f64)>)>,
    windows: Vec<Window>,
}

fn example() -> Example {
    let mut names = Vec::new();
    let mut nodes = Vec::new();
    for zone in ["zone-a", "zone-b", "zone-c"] {
        let hit = zone == "zone-a";
        let down = move |t: f64| hit && (110.0..605.0).contains(&t);
        names.push(format!("{zone} Ready"));
        nodes.push(steps(move |t| if down(t) { 1.0 } else { 2.0 }));
        names.push(format!("{zone} NotReady"));
        nodes.push(steps(|_| 0.0));
        names.push(format!("{zone} Unknown"));
        nodes.push(steps(move |t| if down(t) { 1.0 } else { 0.0 }));
    }
    let pods = vec![
        (
            "Pending",
            steps(|t| {
                if t < 20.0 {
                    14.0
                } else if (400.0..620.0).contains(&t) {
                    4.0
                } else {
                    0.0
                }
            }),
        ),
        (
            "Running",
            steps(|t| {
                if t < 20.0 {
                    0.0
                } else if (400.0..620.0).contains(&t) {
                    10.0
                } else {
                    14.0
                }
            }),
        ),
        (
            "Terminating",
            steps(|t| {
                if (400.0..650.0).contains(&t) {
                    4.0
                } else {
                    0.0
                }
            }),
        ),
    ];
    let windows = vec![Window {
        start_s: 58.0,
        end_s: 600.0,
        label: "node crash worker-zone-a-0".into(),
    }];
    Example {
        names,
        nodes,
        pods,
        windows,
    }
}

fn chart_of(ex: &Example) -> Chart<'_> {
    Chart {
        title: "kubesim timeline: zone-a node crash",
        duration_s: 900.0,
        panels: vec![
            Panel {
                title: "Nodes by Ready status",
                y_label: "nodes",
                stacked: false,
                series: ex
                    .names
                    .iter()
                    .zip(&ex.nodes)
                    .map(|(n, p)| Series { name: n, points: p })
                    .collect(),
            },
            Panel {
                title: "Pods by phase",
                y_label: "pods",
                stacked: false,
                series: ex
                    .pods
                    .iter()
                    .map(|(n, p)| Series { name: n, points: p })
                    .collect(),
            },
        ],
        windows: &ex.windows,
    }
}

#[test]
fn renders_example_png_and_deterministic_svg() {
    let dir = scratch_dir("example");
    let ex = example();
    let chart = chart_of(&ex);
    let png = dir.join("timeline.png");
    render_png(&chart, &png).unwrap();
    let png_bytes = std::fs::read(&png).unwrap();
    assert!(png_bytes.len() > 1000 && png_bytes.starts_with(b"\x89PNG"));

    let (a, b) = (dir.join("a.svg"), dir.join("b.svg"));
    render_svg(&chart, &a).unwrap();
    render_svg(&chart, &b).unwrap();
    let (sa, sb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(sa, sb, "SVG output must be byte-deterministic");
    let text = String::from_utf8(sa).unwrap();
    assert!(text.contains("kubesim timeline: zone-a node crash"));
    assert!(text.contains("Nodes by Ready status"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let dir = scratch_dir("degenerate");
    let nan = [
        (f64::NAN, 1.0),
        (1.0, f64::NAN),
        (2.0, f64::INFINITY),
        (3.0, 2.0),
        (f64::NAN, f64::NAN),
    ];
    let all_nan = [(f64::NAN, f64::NAN)];
    let outside = [(-50.0, 3.0), (-10.0, 5.0), (5000.0, 7.0)];
    let windows = [
        Window {
            start_s: -100.0,
            end_s: 1e9,
            label: "everything".into(),
        },
        Window {
            start_s: f64::NAN,
            end_s: 5.0,
            label: "nan".into(),
        },
        Window {
            start_s: 50.0,
            end_s: 10.0,
            label: "reversed".into(),
        },
        Window {
            start_s: 1e6,
            end_s: 2e6,
            label: String::new(),
        },
    ];
    for duration_s in [0.0, -5.0, f64::NAN, f64::INFINITY, 100.0, 1e6] {
        let chart = Chart {
            title: "degenerate",
            duration_s,
            panels: vec![
                Panel {
                    title: "empty",
                    y_label: "",
                    stacked: false,
                    series: vec![],
                },
                Panel {
                    title: "odd",
                    y_label: "v",
                    stacked: true,
                    series: vec![
                        Series {
                            name: "none",
                            points: &[],
                        },
                        Series {
                            name: "nan",
                            points: &nan,
                        },
                        Series {
                            name: "all nan",
                            points: &all_nan,
                        },
                        Series {
                            name: "outside",
                            points: &outside,
                        },
                    ],
                },
            ],
            windows: &windows,
        };
        if duration_s == 0.0 || duration_s == 1e6 {
            // PNG is slow in debug builds; two layouts are enough here.
            render_png(&chart, &dir.join("d.png")).unwrap();
        }
        render_svg(&chart, &dir.join("d.svg")).unwrap();
    }
    let no_panels = Chart {
        title: "nothing",
        duration_s: 0.0,
        panels: vec![],
        windows: &[],
    };
    render_png(&no_panels, &dir.join("e.png")).unwrap();
    render_svg(&no_panels, &dir.join("e.svg")).unwrap();
    // Unwritable destination is an error carrying the path, not a panic.
    let bad = dir.join("missing-dir").join("x.png");
    let err = render_png(&no_panels, &bad).unwrap_err();
    assert!(err.to_string().contains("missing-dir"));
    let _ = std::fs::remove_dir_all(&dir);
}
