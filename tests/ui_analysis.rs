//! Release analysis in the console: selection changes start, replace and stop the watch;
//! the watcher's events build the panel's state; whole-screen snapshots of a canary under
//! analysis and of the failing rollout the on-call engineer opens, on a fixed clock.

use crate::ui_support;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use shipdeck::metrics::analysis::{
    CheckReport, Decision, Measure, MetricCheck, Mode, Policy, Verdict,
};
use shipdeck::metrics::runner::{AnalysisEvent, VersionSample};
use shipdeck::metrics::setup::{canary_target, rollout_target};
use shipdeck::metrics::templates::Metric;
use shipdeck::tui::state::analysis::SERIES_LEN;
use shipdeck::tui::{AnalysisFeed, AppEvent, Command, State, update};
use ui_support::{demo_state_with, now, options, render};

const ANALYSIS: &str = "\n[service.analysis]\nerror_rate_max = 0.01\nlatency_p99_ms_max = 300\ninterval = \"30s\"\nfailure_limit = 2\n";

/// The UI fixture with analysis for `orders` (canary) and `checkout` (rolling).
fn config() -> shipdeck::config::Config {
    let text = ui_support::CONFIG
        .replace(
            "canary = \"orders-canary\"\n",
            &format!("canary = \"orders-canary\"\n{ANALYSIS}"),
        )
        .replace(
            "command = \"make image TAG={tag}\"\n",
            &format!("command = \"make image TAG={{tag}}\"\n{ANALYSIS}"),
        );
    shipdeck::config::parse_str(&text, std::path::Path::new("shipdeck.toml")).expect("config")
}

fn state(width: u16, height: u16) -> State {
    demo_state_with(config(), options(), width, height)
}

fn keys(state: &mut State, text: &str) -> Vec<Command> {
    text.chars()
        .flat_map(|c| {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            update(state, AppEvent::Input(Event::Key(key)))
        })
        .collect()
}

/// The id of the one `WatchAnalysis` among `commands`, checking what it watches.
fn watch_of(commands: &[Command], service: &str, env: &str) -> u64 {
    let watches: Vec<_> = commands
        .iter()
        .filter_map(|c| match c {
            Command::WatchAnalysis {
                watch,
                service: s,
                env: e,
            } => Some((*watch, s.as_str(), e.as_str())),
            _ => None,
        })
        .collect();
    match watches.as_slice() {
        [(id, s, e)] if *s == service && *e == env => *id,
        other => panic!("expected one watch of {service} in {env}, got {other:?} in {commands:?}"),
    }
}

fn feed(state: &mut State, watch: u64, feeds: Vec<AnalysisFeed>) {
    for feed in feeds {
        assert!(update(state, AppEvent::Analysis { watch, feed }).is_empty());
    }
}

fn policy() -> Policy {
    Policy {
        error_rate_max: Some(0.01),
        latency_p99_ms_max: Some(300.0),
        interval: Duration::from_secs(30),
        failure_limit: 2,
        watch: Duration::from_secs(300),
    }
}

fn at(seconds_ago: i64) -> Timestamp {
    now() - SignedDuration::from_secs(seconds_ago)
}

/// A deterministic wobble around `base`, `n` points 30 s apart, ending now.
fn history(version: &str, n: usize, rate: f64, errors: f64, p99: f64) -> AnalysisFeed {
    let wobble = |i: usize, amp: f64| 1.0 + amp * (((i * 7) % 11) as f64 / 10.0 - 0.5);
    let series = |base: f64, amp: f64| -> Vec<(Timestamp, f64)> {
        (0..n)
            .map(|i| (at(30 * (n - i) as i64), base * wobble(i, amp)))
            .collect()
    };
    let mut map = BTreeMap::new();
    map.insert(Metric::RequestRate, series(rate, 0.3));
    map.insert(Metric::ErrorRate, series(errors, 0.8));
    map.insert(Metric::LatencyP99, series(p99, 0.4));
    AnalysisFeed::History {
        version: version.into(),
        series: map,
    }
}

fn check(
    metric: Measure,
    value: Option<f64>,
    baseline: Option<f64>,
    verdict: Verdict,
) -> MetricCheck {
    let threshold = match metric {
        Measure::ErrorRate => Some(0.01),
        Measure::LatencyP99 => Some(300.0),
        Measure::Readiness => value.map(|_| 4.0),
        _ => None,
    };
    MetricCheck {
        metric,
        value,
        baseline,
        threshold,
        verdict,
    }
}

fn sample(
    version: &str,
    rate: Option<f64>,
    errors: Option<f64>,
    p99: Option<f64>,
) -> VersionSample {
    VersionSample {
        version: version.into(),
        request_rate: rate,
        error_rate: errors,
        latency_p99_ms: p99,
    }
}

fn event(e: AnalysisEvent) -> AnalysisFeed {
    AnalysisFeed::Event(e)
}

/// prod `orders`: canary v1.5.0 at 25% under analysis, its seventh check passed.
fn canary_feed() -> Vec<AnalysisFeed> {
    let mut feeds = vec![
        event(AnalysisEvent::Started {
            target: canary_target("prod", "shop", "orders"),
            mode: Mode::Canary,
            policy: policy(),
        }),
        history("canary", 24, 4.8, 0.0021, 182.0),
        history("stable", 24, 14.6, 0.0012, 171.0),
    ];
    let report = CheckReport {
        number: 7,
        at: at(18),
        checks: vec![
            check(Measure::RequestRate, Some(4.9), Some(14.7), Verdict::Pass),
            check(
                Measure::ErrorRate,
                Some(0.0024),
                Some(0.0011),
                Verdict::Pass,
            ),
            check(Measure::LatencyP99, Some(188.0), Some(169.0), Verdict::Pass),
            MetricCheck {
                metric: Measure::Smoke,
                value: Some(200.0),
                baseline: None,
                threshold: None,
                verdict: Verdict::Pass,
            },
            MetricCheck {
                metric: Measure::Readiness,
                value: Some(1.0),
                baseline: None,
                threshold: Some(1.0),
                verdict: Verdict::Pass,
            },
        ],
        verdict: Verdict::Pass,
    };
    feeds.extend([
        event(AnalysisEvent::Checked {
            report,
            versions: vec![
                sample("canary", Some(4.9), Some(0.0024), Some(188.0)),
                sample("stable", Some(14.7), Some(0.0011), Some(169.0)),
            ],
        }),
        event(AnalysisEvent::Decided {
            at: at(18),
            decision: Decision::Advance,
        }),
        event(AnalysisEvent::Waiting {
            next_check: now() + SignedDuration::from_secs(12),
        }),
    ]);
    feeds
}

const STALLED: &str =
    "v3.1.0 stalled (ProgressDeadlineExceeded): 0/1 pods ready, CrashLoopBackOff (6 restarts)";

/// prod `checkout`: v3.1.0 crash-loops behind v3.0.2, which keeps serving; two checks failed.
fn failing_feed() -> Vec<AnalysisFeed> {
    let mut feeds = vec![
        event(AnalysisEvent::Started {
            target: rollout_target("prod", "shop", "checkout", "v3.1.0", Some("v3.0.2")),
            mode: Mode::Rollout,
            policy: policy(),
        }),
        history("v3.0.2", 30, 42.0, 0.0009, 121.0),
    ];
    for (number, ago) in [(1, 47), (2, 17)] {
        let no_traffic = Verdict::Inconclusive {
            reason: "no traffic to v3.1.0 (no data)".into(),
        };
        let no_data = |m: &str| Verdict::Inconclusive {
            reason: format!("no data for the {m} of v3.1.0"),
        };
        let report = CheckReport {
            number,
            at: at(ago),
            checks: vec![
                check(Measure::RequestRate, None, Some(41.8), no_traffic),
                check(
                    Measure::ErrorRate,
                    None,
                    Some(0.0008),
                    no_data("error rate"),
                ),
                check(
                    Measure::LatencyP99,
                    None,
                    Some(119.0),
                    no_data("p99 latency"),
                ),
                MetricCheck {
                    metric: Measure::Readiness,
                    value: Some(0.0),
                    baseline: None,
                    threshold: Some(1.0),
                    verdict: Verdict::Fail {
                        reason: STALLED.into(),
                    },
                },
            ],
            verdict: Verdict::Fail {
                reason: STALLED.into(),
            },
        };
        let decision = if number == 1 {
            Decision::Continue
        } else {
            Decision::Rollback {
                why: format!("{STALLED} for 2 checks"),
            }
        };
        feeds.extend([
            event(AnalysisEvent::Checked {
                report,
                versions: vec![
                    sample("v3.1.0", None, None, None),
                    sample("v3.0.2", Some(41.8), Some(0.0008), Some(119.0)),
                ],
            }),
            event(AnalysisEvent::Decided {
                at: at(ago),
                decision,
            }),
        ]);
    }
    feeds.push(event(AnalysisEvent::Waiting {
        next_check: now() + SignedDuration::from_secs(13),
    }));
    feeds
}

/// prod orders under analysis, as the console shows it.
fn canary_scene(width: u16, height: u16) -> State {
    let mut state = state(width, height);
    let watch = watch_of(&keys(&mut state, "3"), "orders", "prod");
    feed(&mut state, watch, canary_feed());
    state
}

#[test]
fn selection_changes_start_replace_and_stop_the_watch() {
    let mut state = state(160, 48);
    // The first service (orders) in the first environment is watched from the start.
    let dev = state
        .domain
        .analysis
        .as_ref()
        .expect("watching orders in dev")
        .watch;
    let prod = watch_of(&keys(&mut state, "3"), "orders", "prod");
    assert!(prod > dev, "a new id for a new watch");

    // payments has no [service.analysis]: the watch stops and its state goes.
    feed(&mut state, prod, canary_feed());
    assert!(
        state
            .domain
            .analysis
            .as_ref()
            .is_some_and(|a| a.report.is_some())
    );
    let commands = keys(&mut state, "j");
    assert!(commands.contains(&Command::StopAnalysis), "{commands:?}");
    assert!(state.domain.analysis.is_none());

    // Back on orders: a fresh watch, and the old watch's late answers are dropped.
    let again = watch_of(&keys(&mut state, "k"), "orders", "prod");
    assert!(again > prod);
    feed(&mut state, prod, canary_feed());
    let analysis = state.domain.analysis.as_ref().expect("watching again");
    assert_eq!((analysis.watch, analysis.report.as_ref()), (again, None));

    // checkout (rolling) in prod.
    watch_of(&keys(&mut state, "jjj"), "checkout", "prod");

    // The same versions seen again (a re-list) need no new watch.
    for event in ui_support::listed("prod", ui_support::env_objects("prod")) {
        let commands = update(&mut state, AppEvent::Cluster(event));
        assert!(
            !commands
                .iter()
                .any(|c| matches!(c, Command::WatchAnalysis { .. } | Command::StopAnalysis)),
            "{commands:?}"
        );
    }
}

#[test]
fn watcher_events_build_bounded_series_thresholds_and_verdicts() {
    let state = canary_scene(160, 48);
    let a = state.domain.analysis.as_ref().expect("analysis");
    assert_eq!(a.mode, Some(Mode::Canary));
    assert_eq!(a.policy.as_ref().and_then(|p| p.error_rate_max), Some(0.01));
    let names: Vec<&str> = a.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["canary", "stable"]);
    // 24 points of history, then the check's.
    assert_eq!(a.versions[0].request_rate.points.len(), 25);
    assert_eq!(a.versions[0].request_rate.last(), Some(4.9));
    assert_eq!(a.versions[1].latency_p99_ms.last(), Some(169.0));
    assert_eq!(a.report.as_ref().map(|r| r.number), Some(7));
    assert_eq!(a.decision, Some(Decision::Advance));
    assert_eq!(a.next_check, Some(now() + SignedDuration::from_secs(12)));
    assert_eq!(a.failures, 0);

    // Series stay bounded however long the watch runs.
    let mut state = canary_scene(160, 48);
    let watch = state.domain.analysis.as_ref().expect("analysis").watch;
    feed(
        &mut state,
        watch,
        vec![history("canary", SERIES_LEN + 50, 5.0, 0.001, 150.0)],
    );
    let extra: Vec<AnalysisFeed> = (0..10)
        .map(|_| {
            event(AnalysisEvent::Checked {
                report: CheckReport {
                    number: 8,
                    at: now(),
                    checks: Vec::new(),
                    verdict: Verdict::Fail {
                        reason: "error rate 3% > 1%".into(),
                    },
                },
                versions: vec![sample("canary", Some(5.0), Some(0.03), None)],
            })
        })
        .collect();
    feed(&mut state, watch, extra);
    let a = state.domain.analysis.as_ref().expect("analysis");
    assert_eq!(a.versions[0].error_rate.points.len(), SERIES_LEN);
    assert_eq!(a.versions[0].error_rate.last(), Some(0.03));
    assert_eq!(
        a.versions[0].latency_p99_ms.last(),
        None,
        "no data is kept as such"
    );
    assert_eq!(a.failures, 10);

    // A watch that cannot start says why.
    feed(
        &mut state,
        watch,
        vec![AnalysisFeed::Failed(
            "environment prod has no client".into(),
        )],
    );
    let screen = render(&state, 160, 48);
    assert!(
        screen.contains("analysis unavailable: environment prod has no client"),
        "{screen}"
    );
}

#[test]
fn canary_under_analysis() {
    let state = canary_scene(160, 48);
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn failing_rollout_says_why_it_would_be_rolled_back() {
    let mut state = state(160, 48);
    keys(&mut state, "3");
    let watch = watch_of(&keys(&mut state, "jjj"), "checkout", "prod");
    feed(&mut state, watch, failing_feed());
    let screen = render(&state, 160, 48);
    assert!(
        screen.contains("would roll back to v3.0.2: v3.1.0 stalled"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn canary_under_analysis_in_two_columns() {
    let state = canary_scene(100, 30);
    insta::assert_snapshot!(render(&state, 100, 30));
}

#[test]
fn canary_under_analysis_in_ascii() {
    let mut opts = options();
    opts.ascii = Some(true);
    opts.color_depth = Some(shipdeck::theme::ColorDepth::None);
    let mut state = demo_state_with(config(), opts, 120, 30);
    let watch = watch_of(&keys(&mut state, "3"), "orders", "prod");
    feed(&mut state, watch, canary_feed());
    let screen = render(&state, 120, 30);
    assert!(
        screen.contains("+ check 7 passed") && !screen.contains('▁') && !screen.contains('✓'),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn no_size_panics_with_analysis() {
    let mut state = canary_scene(160, 48);
    for (w, h) in [
        (1, 1),
        (5, 3),
        (20, 5),
        (40, 10),
        (60, 20),
        (79, 15),
        (119, 19),
    ] {
        update(&mut state, AppEvent::Input(Event::Resize(w, h)));
        assert_eq!(render(&state, w, h).lines().count(), h as usize);
    }
}
