//! The analysis loop against the sandbox's own metrics and service proxy, on the demo world's
//! virtual clock: a faulty canary fails its checks, a healthy one passes, and no data or no
//! provider pauses (and says why) instead of passing.

use crate::analysis_support;

use std::sync::Arc;

use analysis_support::{SandboxTicker, channel, demo_world, drive, kube_client, reports};
use shipdeck::metrics::analysis::{Decision, Measure, Mode, Policy, Verdict};
use shipdeck::metrics::runner::{AnalysisEvent, Goal, Probe, Runner};
use shipdeck::metrics::setup::{self, canary_target};
use shipdeck::sandbox::scenario::demo_analysis;
use shipdeck::sandbox::world::World;

fn runner(
    world: &World,
    env: &str,
    service: &str,
    smoke: bool,
    sink: shipdeck::metrics::Sink,
) -> Runner {
    let analysis = demo_analysis();
    let smoke = smoke.then(|| {
        let client = kube_client(world, env);
        setup::smoke_check(
            &analysis,
            Some(&client),
            "shop",
            &format!("{service}-canary"),
        )
        .expect("smoke")
        .expect("configured")
    });
    let probe = setup::probe(&world.config(), &analysis, smoke).expect("probe");
    Runner::new(
        probe,
        canary_target(env, "shop", service),
        Policy::from_config(&analysis),
        Mode::Canary,
        Arc::new(SandboxTicker(world.clock.clone())),
        sink,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_canary_fails_twice_and_a_healthy_one_passes() {
    let world = demo_world().await;

    // dev search: canary v3.2.0 is labelled errors=0.2 and gets 10% of the traffic.
    let (sink, events) = channel();
    let mut search = runner(&world, "dev", "search", true, sink);
    let (decision, events) =
        drive(&world, events, async move { search.run(Goal::Step).await }).await;
    let Decision::Abort { why } = &decision else {
        panic!("expected an abort, got {decision:?}")
    };
    assert!(
        why.starts_with("error rate ") && why.contains("% > 1%") && why.contains("p99 latency"),
        "{why}"
    );
    assert!(why.ends_with("for 2 checks"), "{why}");
    let checks = reports(&events);
    assert_eq!(checks.len(), 2);
    assert!(
        checks
            .iter()
            .all(|r| matches!(r.verdict, Verdict::Fail { .. }))
    );
    let errors = checks[0]
        .checks
        .iter()
        .find(|c| c.metric == Measure::ErrorRate)
        .expect("error rate");
    let (value, baseline) = (
        errors.value.expect("value"),
        errors.baseline.expect("baseline"),
    );
    assert!(
        (0.15..=0.25).contains(&value) && baseline < 0.002,
        "{value} vs {baseline}"
    );
    assert_eq!(errors.threshold, Some(0.01));
    // The smoke check passed: the canary answers, it just fails a share of requests.
    let smoke = checks[0]
        .checks
        .iter()
        .find(|c| c.metric == Measure::Smoke)
        .expect("smoke");
    assert_eq!((smoke.value, &smoke.verdict), (Some(200.0), &Verdict::Pass));
    // The countdown: every check was announced at the instant it ran.
    let waits: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Waiting { next_check } => Some(*next_check),
            _ => None,
        })
        .collect();
    assert_eq!(waits, checks.iter().map(|r| r.at).collect::<Vec<_>>());

    // prod orders: the healthy v1.5.0 canary at 25% passes its first check.
    let (sink, events) = channel();
    let mut orders = runner(&world, "prod", "orders", true, sink);
    let (decision, events) =
        drive(&world, events, async move { orders.run(Goal::Step).await }).await;
    assert_eq!(decision, Decision::Advance);
    let checks = reports(&events);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].verdict, Verdict::Pass, "{:?}", checks[0]);
    let versions = events.iter().find_map(|e| match e {
        AnalysisEvent::Checked { versions, .. } => Some(versions.clone()),
        _ => None,
    });
    let versions = versions.expect("checked");
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["canary", "stable"]
    );
    let (canary, stable) = (
        versions[0].request_rate.expect("rate"),
        versions[1].request_rate.expect("rate"),
    );
    assert!(
        (canary / (canary + stable) - 0.25).abs() < 1e-6,
        "{canary} {stable}"
    );

    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_or_no_provider_pauses_and_says_why() {
    let world = demo_world().await;

    // prod inventory: the canary is scaled to zero, so there is nothing to judge.
    let (sink, events) = channel();
    let mut idle = runner(&world, "prod", "inventory", false, sink);
    idle.pause_limit = 3;
    let (decision, events) = drive(&world, events, async move { idle.run(Goal::Step).await }).await;
    assert_eq!(
        decision,
        Decision::Pause {
            why: "no traffic to canary (no data)".into()
        }
    );
    let pauses = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                AnalysisEvent::Decided {
                    decision: Decision::Pause { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(pauses, 3);

    // A provider nobody answers at: inconclusive, never a pass.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let (sink, events) = channel();
    let mut blind = runner(&world, "prod", "orders", false, sink);
    blind.probe = Probe {
        provider: shipdeck::metrics::Prometheus::new(&dead, std::time::Duration::from_secs(2))
            .expect("client"),
        ..blind.probe.clone()
    };
    blind.pause_limit = 2;
    let (decision, _) = drive(&world, events, async move { blind.run(Goal::Step).await }).await;
    let why = decision.why().expect("a reason").to_string();
    assert!(matches!(decision, Decision::Pause { .. }), "{decision:?}");
    assert!(
        why.starts_with("metrics unavailable: cannot reach Prometheus at") && why.contains(&dead),
        "{why}"
    );

    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failing_prod_rollout_says_why_it_would_be_rolled_back() {
    use shipdeck::metrics::health::DeploymentHealth;
    use shipdeck::metrics::setup::rollout_target;

    // The demo's on-call story: prod delivery rolled out v2.3.0, which crash-loops, while
    // v2.2.1 keeps serving. The new version gets no traffic, so its metrics say nothing; its
    // pods say everything.
    let world = demo_world().await;
    let analysis = demo_analysis();
    let client = kube_client(&world, "prod");
    let mut probe = setup::probe(&world.config(), &analysis, None).expect("probe");
    probe.health = Some(Arc::new(DeploymentHealth {
        client,
        namespace: "shop".into(),
        deployment: "delivery".into(),
        tag: "v2.3.0".into(),
    }));
    let (sink, _events) = channel();
    let mut runner = Runner::new(
        probe,
        rollout_target("prod", "shop", "delivery", "v2.3.0", Some("v2.2.1")),
        Policy::from_config(&analysis),
        Mode::Rollout,
        Arc::new(SandboxTicker(world.clock.clone())),
        sink,
    );
    let report = runner.check(world.clock.now()).await;
    let Verdict::Fail { reason } = &report.verdict else {
        panic!("expected a failed check, got {report:?}")
    };
    assert!(
        reason.starts_with("v2.3.0 stalled (ProgressDeadlineExceeded): ")
            && reason.contains("CrashLoopBackOff"),
        "{reason}"
    );
    let rate = report
        .checks
        .iter()
        .find(|c| c.metric == Measure::RequestRate)
        .expect("rate");
    assert_eq!(rate.value, None, "v2.3.0 serves nothing");
    assert!(
        rate.baseline.is_some_and(|r| r > 0.0),
        "v2.2.1 serves: {rate:?}"
    );
    // A second failed check reaches the limit: the decision is a rollback, with that reason.
    let again = runner.check(world.clock.now()).await;
    runner.analysis.decide(&report, false);
    match runner.analysis.decide(&again, false) {
        Decision::Rollback { why } => assert!(why.ends_with("for 2 checks"), "{why}"),
        other => panic!("expected a rollback, got {other:?}"),
    }

    world.shutdown().await;
}
