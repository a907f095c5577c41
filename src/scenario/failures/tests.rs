use super::*;

const DAY: f64 = 86_400.0;

fn nodes_model(index: usize, n: u32, failures: Dist, repairs: Option<Dist>) -> FailureModel {
    FailureModel {
        index,
        targets: (0..n)
            .map(|i| Target {
                name: format!("node-{i}"),
                fault: FaultKind::NodeCrash { machines: vec![i] },
                label: format!("node crash node-{i}"),
            })
            .collect(),
        failures,
        repairs,
        max_faults: MAX_FAULTS_LIMIT,
    }
}

fn days(d: u64) -> SimDuration {
    SimDuration::from_secs(d * 86_400)
}

type Key = (SimDuration, Option<SimDuration>, String);

fn keys(e: &[TimelineEntry]) -> Vec<Key> {
    e.iter()
        .map(|x| (x.at, x.duration, x.label.clone()))
        .collect()
}

/// Mean and standard error of the mean.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Exponential times between failures with mean M and (practically) no repair time: each
/// node's failures form a Poisson process of rate 1/M, so the n nodes' count in T is
/// Poisson with mean n·T/M and variance n·T/M. Over S seeds the sample mean has standard
/// error √(n·T/M / S); it must lie within 4 of them (a false alarm less than once in 15,000).
/// n = 10, T = 30 days, M = 5 days: 60 failures expected per seed, S = 400.
#[test]
fn mean_node_failures_match_the_poisson_rate() {
    let (n, t, m, seeds) = (10u32, 30u64, 5.0 * DAY, 400u64);
    let model = nodes_model(
        0,
        n,
        Dist::Exponential { mean: m },
        Some(Dist::Fixed { value: 1e-9 }),
    );
    let counts: Vec<f64> = (0..seeds)
        .map(|seed| {
            expand(std::slice::from_ref(&model), seed, days(t))
                .expect("under the cap")
                .len() as f64
        })
        .collect();
    let expected = f64::from(n) * (t as f64 * DAY) / m;
    let (mean, _) = mean_se(&counts);
    let se = (expected / seeds as f64).sqrt();
    assert!(
        (mean - expected).abs() < 4.0 * se,
        "mean {mean}, expected {expected} ± {}",
        4.0 * se
    );
}

/// With exponential repairs of mean R as well, each node is a two-state Markov chain (up → down
/// at λ = 1/M, down → up at μ = 1/R) that starts up: P(up at t) = μ/(λ+μ) + λ/(λ+μ)·e^{−(λ+μ)t},
/// and failures happen at rate λ while up, so E[N(T)] = λ∫₀ᵀ P(up) dt
/// = λ·[μT/(λ+μ) + λ(1 − e^{−(λ+μ)T})/(λ+μ)²] per node. The sample mean over 400 seeds must lie
/// within 4 standard errors (estimated from the sample) of n·E[N(T)].
#[test]
fn mean_node_failures_match_the_alternating_renewal_with_repairs() {
    let (n, t, m, r, seeds) = (10u32, 30u64, 5.0 * DAY, 2.0 * DAY, 400u64);
    let model = nodes_model(
        0,
        n,
        Dist::Exponential { mean: m },
        Some(Dist::Exponential { mean: r }),
    );
    let counts: Vec<f64> = (0..seeds)
        .map(|seed| {
            expand(std::slice::from_ref(&model), seed, days(t))
                .expect("under the cap")
                .len() as f64
        })
        .collect();
    let (l, mu, tt) = (1.0 / m, 1.0 / r, t as f64 * DAY);
    let s = l + mu;
    let per_node = l * (mu * tt / s + l * (1.0 - libm::exp(-s * tt)) / (s * s));
    let expected = f64::from(n) * per_node;
    let (mean, se) = mean_se(&counts);
    assert!(
        (mean - expected).abs() < 4.0 * se,
        "mean {mean}, expected {expected} ± {}",
        4.0 * se
    );
    // No node fails again while it is down: a node's faults never overlap.
    let entries = expand(std::slice::from_ref(&model), 3, days(t)).expect("under the cap");
    for node in 0..n {
        let mine: Vec<&TimelineEntry> = entries
            .iter()
            .filter(|e| e.label == format!("node crash node-{node}"))
            .collect();
        for w in mine.windows(2) {
            let end = w[0]
                .at
                .checked_add(w[0].duration.expect("repaired"))
                .expect("fits");
            assert!(w[1].at >= end, "{w:?}");
        }
    }
}

/// A Weibull draw has mean scale·Γ(1 + 1/shape); 20,000 draws' mean lies within 4 standard
/// errors of it (shape 1.5, scale 10 days: mean 9.0275 days).
#[test]
fn weibull_draws_have_the_weibull_mean() {
    let d = Dist::Weibull {
        shape: 1.5,
        scale: 10.0 * DAY,
    };
    let mut r = rng::stream(1, "test/weibull");
    let xs: Vec<f64> = (0..20_000).map(|_| d.draw(&mut r)).collect();
    let (mean, se) = mean_se(&xs);
    assert!((d.mean() / DAY - 9.0275).abs() < 1e-3, "{}", d.mean() / DAY);
    assert!((mean - d.mean()).abs() < 4.0 * se, "{mean} vs {}", d.mean());
}

/// The same seed gives the same faults; adding a model leaves the first one's draws alone, and
/// its faults come after them; another seed gives other faults.
#[test]
fn draws_are_per_seed_and_per_model_streams() {
    let a = nodes_model(
        0,
        3,
        Dist::Exponential { mean: DAY },
        Some(Dist::Fixed { value: 600.0 }),
    );
    let b = nodes_model(1, 2, Dist::Exponential { mean: DAY }, None);
    let one = keys(&expand(std::slice::from_ref(&a), 9, days(10)).expect("under the cap"));
    let again = keys(&expand(std::slice::from_ref(&a), 9, days(10)).expect("under the cap"));
    assert_eq!(one, again);
    let two = keys(&expand(&[a.clone(), b], 9, days(10)).expect("under the cap"));
    assert_eq!(&two[..one.len()], &one[..]);
    // Never repaired: at most one failure per node.
    assert!(two.len() - one.len() <= 2);
    let other = keys(&expand(std::slice::from_ref(&a), 10, days(10)).expect("under the cap"));
    assert_ne!(one, other);
    // Every failure is inside the run.
    assert!(one.iter().all(|e| e.0 <= days(10)));
}

/// More than `maxFaults` is an error naming the model, and the capped draw keeps exactly
/// `maxFaults` of them.
#[test]
fn too_many_faults_is_an_error() {
    let mut m = nodes_model(
        2,
        4,
        Dist::Fixed { value: 60.0 },
        Some(Dist::Fixed { value: 1.0 }),
    );
    m.max_faults = 10;
    let e = expand(std::slice::from_ref(&m), 1, days(1)).expect_err("over the cap");
    assert!(
        e.contains("failureModels[2]") && e.contains("maxFaults (10)"),
        "{e}"
    );
    let (kept, err) = expand_capped(std::slice::from_ref(&m), 1, days(1));
    assert_eq!(kept.len(), 10);
    assert!(err.is_some());
}

/// Fixed up-times and repairs give failures exactly at k·(up + repair) − repair… i.e. at 100 s,
/// 100 + 10 + 100 = 210 s, 320 s, …; a restart (instantaneous) recurs every up-time.
#[test]
fn fixed_processes_give_exact_times() {
    let m = nodes_model(
        0,
        1,
        Dist::Fixed { value: 100.0 },
        Some(Dist::Fixed { value: 10.0 }),
    );
    let e =
        expand(std::slice::from_ref(&m), 1, SimDuration::from_secs(330)).expect("under the cap");
    let at: Vec<u64> = e.iter().map(|x| x.at.as_nanos() / 1_000_000_000).collect();
    assert_eq!(at, vec![100, 210, 320]);
    assert!(e
        .iter()
        .all(|x| x.duration == Some(SimDuration::from_secs(10))));
    let restart = FailureModel {
        index: 0,
        targets: vec![Target {
            name: "controllerManager".into(),
            fault: FaultKind::ControllerManagerRestart,
            label: "controller-manager restart".into(),
        }],
        failures: Dist::Fixed { value: 100.0 },
        repairs: None,
        max_faults: 10,
    };
    let e = expand(&[restart], 1, SimDuration::from_secs(350)).expect("under the cap");
    assert_eq!(e.len(), 3);
}
