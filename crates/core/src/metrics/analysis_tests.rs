//! The analysis engine, table-driven: check verdicts and decision sequences.

use super::*;

fn policy() -> Policy {
    Policy {
        error_rate_max: Some(0.01),
        latency_p99_ms_max: Some(300.0),
        interval: Duration::from_secs(30),
        failure_limit: 2,
        watch: Duration::from_secs(300),
    }
}

fn m(rate: Reading, errors: Reading, p99: Reading) -> Measurements {
    Measurements {
        request_rate: rate,
        error_rate: errors,
        latency_p99_ms: p99,
    }
}

use Reading::{NoData, Unavailable, Value as V};

fn input(candidate: Measurements, smoke: Option<bool>) -> CheckInput {
    CheckInput {
        candidate_name: "canary".into(),
        candidate,
        baseline: Some(m(V(90.0), V(0.001), V(110.0))),
        smoke: smoke.map(|ok| SmokeResult {
            target: "GET /healthz via service shop/orders-canary".into(),
            status: Some(if ok { 200 } else { 500 }),
            ok,
            detail: if ok { "ok".into() } else { "HTTP 500".into() },
        }),
        health: None,
    }
}

fn reason(v: &Verdict) -> &str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail { reason } | Verdict::Inconclusive { reason } => reason,
    }
}

#[test]
fn checks_judge_each_metric() {
    let table: &[(Measurements, Option<bool>, &str, &str)] = &[
        (m(V(10.0), V(0.002), V(120.0)), Some(true), "pass", "pass"),
        (
            m(V(10.0), V(0.184), V(120.0)),
            None,
            "fail",
            "error rate 18.4% > 1%",
        ),
        (
            m(V(10.0), V(0.0), V(1020.0)),
            None,
            "fail",
            "p99 latency 1020 ms > 300 ms",
        ),
        (
            m(V(10.0), V(0.3), V(1020.0)),
            None,
            "fail",
            "error rate 30% > 1%; p99 latency 1020 ms > 300 ms",
        ),
        (
            m(V(10.0), V(0.002), V(120.0)),
            Some(false),
            "fail",
            "smoke check failed: GET /healthz via service shop/orders-canary: HTTP 500",
        ),
        (
            m(V(0.0), NoData, NoData),
            None,
            "inconclusive",
            "no traffic to canary (0 requests/s)",
        ),
        (
            m(NoData, NoData, NoData),
            None,
            "inconclusive",
            "no traffic to canary (no data)",
        ),
        (
            m(V(5.0), V(0.0), NoData),
            None,
            "inconclusive",
            "no data for the p99 latency of canary",
        ),
        (
            m(
                Unavailable("cannot reach Prometheus at http://x".into()),
                Unavailable("same".into()),
                NoData,
            ),
            None,
            "inconclusive",
            "metrics unavailable: cannot reach Prometheus at http://x",
        ),
        // A failing smoke check fails even when the metrics cannot say anything.
        (
            m(NoData, NoData, NoData),
            Some(false),
            "fail",
            "smoke check failed: GET /healthz via service shop/orders-canary: HTTP 500",
        ),
        // Exactly at the threshold passes.
        (m(V(1.0), V(0.01), V(300.0)), None, "pass", "pass"),
    ];
    for (candidate, smoke, kind, want) in table {
        let (checks, verdict) = evaluate(&policy(), &input(candidate.clone(), *smoke));
        let got_kind = match verdict {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Inconclusive { .. } => "inconclusive",
        };
        assert_eq!(
            (got_kind, reason(&verdict)),
            (*kind, *want),
            "{candidate:?}"
        );
        assert_eq!(checks.len(), 3 + usize::from(smoke.is_some()));
        assert_eq!(checks[1].threshold, Some(0.01));
        assert_eq!(checks[1].baseline, Some(0.001));
    }
}

#[test]
fn a_crash_looping_candidate_fails_though_its_metrics_say_nothing() {
    let mut i = input(m(NoData, NoData, NoData), None);
    i.candidate_name = "v2.3.0".into();
    i.health = Some(Ok(RolloutHealth {
        ready: 0,
        desired: 4,
        problem: Some("CrashLoopBackOff".into()),
        restarts: 9,
        stalled: Some("ProgressDeadlineExceeded".into()),
    }));
    let (checks, verdict) = evaluate(&policy(), &i);
    assert_eq!(
        verdict,
        Verdict::Fail {
            reason: "v2.3.0 stalled (ProgressDeadlineExceeded): 0/4 pods ready, CrashLoopBackOff (9 restarts)".into()
        }
    );
    let readiness = checks.last().expect("readiness");
    assert_eq!(
        (readiness.metric, readiness.value, readiness.threshold),
        (Measure::Readiness, Some(0.0), Some(4.0))
    );
    i.health = Some(Err("cannot read deployment shop/delivery: forbidden".into()));
    let (_, verdict) = evaluate(&policy(), &i);
    assert!(
        matches!(verdict, Verdict::Inconclusive { .. }),
        "{verdict:?}"
    );
}

#[test]
fn thresholds_left_out_are_not_judged() {
    let p = Policy {
        error_rate_max: None,
        latency_p99_ms_max: None,
        ..policy()
    };
    let (_, verdict) = evaluate(&p, &input(m(V(1.0), V(0.9), V(9000.0)), None));
    assert_eq!(verdict, Verdict::Pass);
}

fn run(mode: Mode, verdicts: &[&str], window_over_at: usize) -> Vec<Decision> {
    let mut a = Analysis::new(policy(), mode);
    let good = input(m(V(10.0), V(0.001), V(100.0)), None);
    let bad = input(m(V(10.0), V(0.184), V(100.0)), None);
    let empty = input(m(V(0.0), NoData, NoData), None);
    verdicts
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let inp = match *v {
                "pass" => &good,
                "fail" => &bad,
                _ => &empty,
            };
            let report = a.check(Timestamp::UNIX_EPOCH, inp);
            assert_eq!(report.number, i as u32 + 1);
            a.decide(&report, i + 1 >= window_over_at)
        })
        .collect()
}

#[test]
fn decisions_over_a_sequence_of_checks() {
    use Decision::*;
    let why = "error rate 18.4% > 1% for 2 checks".to_string();
    let pause = Pause {
        why: "no traffic to canary (0 requests/s)".into(),
    };
    let table: Vec<(Mode, Vec<&str>, usize, Vec<Decision>)> = vec![
        (Mode::Canary, vec!["pass"], 99, vec![Advance]),
        (
            Mode::Canary,
            vec!["fail", "fail"],
            99,
            vec![Continue, Abort { why: why.clone() }],
        ),
        // Failures count across steps, even with passes in between.
        (
            Mode::Canary,
            vec!["fail", "pass", "fail"],
            99,
            vec![Continue, Advance, Abort { why: why.clone() }],
        ),
        (
            Mode::Canary,
            vec!["none", "none", "pass"],
            99,
            vec![pause.clone(), pause.clone(), Advance],
        ),
        (
            Mode::Rollout,
            vec!["pass", "pass", "pass"],
            3,
            vec![Continue, Continue, Promote],
        ),
        (
            Mode::Rollout,
            vec!["pass", "fail", "fail"],
            99,
            vec![Continue, Continue, Rollback { why: why.clone() }],
        ),
        // A failure at the end of the window holds the promotion until the next check.
        (
            Mode::Rollout,
            vec!["pass", "fail", "pass"],
            2,
            vec![Continue, Continue, Promote],
        ),
        // No data at the end of the window: paused, not promoted.
        (
            Mode::Rollout,
            vec!["pass", "none"],
            2,
            vec![Continue, pause],
        ),
    ];
    for (mode, verdicts, window, want) in table {
        assert_eq!(run(mode, &verdicts, window), want, "{mode:?} {verdicts:?}");
    }
    let single = Analysis::new(
        Policy {
            failure_limit: 0,
            ..policy()
        },
        Mode::Rollout,
    );
    let mut single = single;
    let report = single.check(
        Timestamp::UNIX_EPOCH,
        &input(m(V(10.0), V(0.184), V(100.0)), None),
    );
    assert_eq!(
        single.decide(&report, false),
        Rollback {
            why: "error rate 18.4% > 1%".into()
        }
    );
}

#[test]
fn values_read_like_people_write_them() {
    assert_eq!(show(Metric::ErrorRate, 0.184), "18.4%");
    assert_eq!(show(Metric::ErrorRate, 0.01), "1%");
    assert_eq!(show(Metric::ErrorRate, 0.0004), "0.04%");
    assert_eq!(show(Metric::ErrorRate, 0.0), "0%");
    assert_eq!(show(Metric::LatencyP99, 312.4), "312 ms");
    assert_eq!(show(Metric::RequestRate, 42.0), "42.0 req/s");
}
