//! The console's analysis watcher (`runner::analysis`) against the demo world on its virtual
//! clock: it resolves what a service runs, backfills history, checks at once and then every
//! interval, and forwards it all as `AppEvent::Analysis` — never acting.

use crate::analysis_support;

use std::sync::Arc;
use std::time::Duration;

use analysis_support::{SandboxTicker, advance_to, demo_world, world_files};
use shipdeck::metrics::analysis::{Decision, Measure, Mode, Verdict};
use shipdeck::metrics::runner::AnalysisEvent;
use shipdeck::metrics::templates::Metric;
use shipdeck::release::{Journal, ReleaseContext};
use shipdeck::runner::analysis::{Watch, spawn};
use shipdeck::sandbox::world::World;
use shipdeck::tui::{AnalysisFeed, AppEvent};
use tokio::sync::mpsc;

/// Watches `service` in `env` until `checks` checks were decided, moving the world's clock
/// to every check the watcher waits for. Returns everything it said.
async fn watch(
    world: &World,
    ctx: &Arc<ReleaseContext>,
    service: &str,
    env: &str,
    checks: usize,
) -> Vec<AnalysisFeed> {
    let (tx, mut rx) = mpsc::channel(1024);
    let watch = Watch {
        id: 7,
        service: service.into(),
        env: env.into(),
    };
    let ticker = Arc::new(SandboxTicker(world.clock.clone()));
    let task = spawn(ctx.clone(), ticker, watch, tx);
    let mut seen = Vec::new();
    let collect = async {
        let mut decided = 0;
        while let Some(event) = rx.recv().await {
            let AppEvent::Analysis { watch, feed } = event else {
                panic!("the watcher sends analysis only, got {event:?}")
            };
            assert_eq!(watch, 7);
            match &feed {
                AnalysisFeed::Event(AnalysisEvent::Waiting { next_check }) => {
                    advance_to(world, *next_check)
                }
                AnalysisFeed::Event(AnalysisEvent::Decided { .. }) => decided += 1,
                AnalysisFeed::Event(AnalysisEvent::Acted { .. }) => {
                    panic!("an observer never acts: {feed:?}")
                }
                _ => {}
            }
            let failed = matches!(feed, AnalysisFeed::Failed(_));
            seen.push(feed);
            if decided == checks || failed {
                return;
            }
        }
    };
    // A guard against a hang only: the clock is virtual, checks are immediate.
    tokio::time::timeout(Duration::from_secs(120), collect)
        .await
        .expect("the watcher kept reporting");
    task.abort();
    seen
}

fn events(feeds: &[AnalysisFeed]) -> Vec<&AnalysisEvent> {
    feeds
        .iter()
        .filter_map(|f| match f {
            AnalysisFeed::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reports_live_checks_and_the_on_call_verdict() {
    let world = demo_world().await;
    let (dir, config) = world_files(&world);
    let journal = Journal::at(dir.path().join("journal.jsonl"));
    let ctx = Arc::new(
        ReleaseContext::connect(config, false, journal)
            .await
            .expect("context"),
    );

    // prod orders: the v1.5.0 canary at 25%, against stable.
    let feeds = watch(&world, &ctx, "orders", "prod", 2).await;
    let all = events(&feeds);
    let Some(AnalysisEvent::Started { target, mode, .. }) = all.first() else {
        panic!("Started first: {feeds:?}")
    };
    assert_eq!(*mode, Mode::Canary);
    assert_eq!(target.candidate.name, "canary");
    assert_eq!(
        target.baseline.as_ref().map(|b| b.name.as_str()),
        Some("stable")
    );
    let history: Vec<&str> = feeds
        .iter()
        .filter_map(|f| match f {
            AnalysisFeed::History { version, series } => {
                assert!(series.contains_key(&Metric::RequestRate), "{series:?}");
                Some(version.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(history, ["canary", "stable"], "history for both versions");
    let checks: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Checked { report, versions } => Some((report, versions)),
            _ => None,
        })
        .collect();
    assert_eq!(checks.len(), 2);
    for (report, versions) in &checks {
        assert_eq!(report.verdict, Verdict::Pass, "{report:?}");
        let names: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(names, ["canary", "stable"]);
        for v in versions.iter() {
            assert!(v.request_rate.is_some_and(|r| r > 0.0), "{v:?}");
            assert!(
                v.error_rate.is_some() && v.latency_p99_ms.is_some(),
                "{v:?}"
            );
        }
    }
    let decisions: Vec<&Decision> = all
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Decided { decision, .. } => Some(decision),
            _ => None,
        })
        .collect();
    assert_eq!(decisions.first(), Some(&&Decision::Advance));

    // prod delivery: v2.3.0 crash-loops while v2.2.1 serves; the first check (at once) says
    // why, the second reaches the failure limit: the guard would roll back.
    let feeds = watch(&world, &ctx, "delivery", "prod", 2).await;
    let all = events(&feeds);
    let Some(AnalysisEvent::Started { target, mode, .. }) = all.first() else {
        panic!("Started first: {feeds:?}")
    };
    assert_eq!(*mode, Mode::Rollout);
    assert_eq!(target.candidate.name, "v2.3.0");
    assert_eq!(
        target.baseline.as_ref().map(|b| b.name.as_str()),
        Some("v2.2.1")
    );
    let first = all.iter().find_map(|e| match e {
        AnalysisEvent::Checked { report, .. } => Some(report),
        _ => None,
    });
    let readiness = first
        .and_then(|r| r.checks.iter().find(|c| c.metric == Measure::Readiness))
        .expect("the candidate's pods are judged");
    match &readiness.verdict {
        Verdict::Fail { reason } => assert!(reason.contains("CrashLoopBackOff"), "{reason}"),
        other => panic!("expected the pods to fail the check, got {other:?}"),
    }
    let last = all.iter().rev().find_map(|e| match e {
        AnalysisEvent::Decided { decision, .. } => Some(decision),
        _ => None,
    });
    match last {
        Some(Decision::Rollback { why }) => {
            assert!(
                why.starts_with("v2.3.0 ") && why.ends_with("for 2 checks"),
                "{why}"
            )
        }
        other => panic!("expected a rollback verdict, got {other:?}"),
    }

    // A service shipdeck does not know: the watch says so instead of showing nothing.
    let feeds = watch(&world, &ctx, "nope", "prod", 1).await;
    match feeds.last() {
        Some(AnalysisFeed::Failed(why)) => assert!(why.contains("nope"), "{why}"),
        other => panic!("expected a failure, got {other:?}"),
    }

    world.shutdown().await;
}
