//! Guarded releases end to end on the demo world's virtual clock: a deploy applied through
//! the release layer, then analysis driving the strategy through the same planners, executor
//! and journal. Cluster state is checked with kubectl.

use crate::analysis_support;

use std::path::Path;
use std::sync::Arc;

use analysis_support::{
    SandboxTicker, channel, demo_world, drive_release, kubectl, reports, world_files,
};
use shipdeck::config::Config;
use shipdeck::metrics::analysis::{Decision, Verdict};
use shipdeck::metrics::guard::{self, Guard, GuardOutcome, GuardReport};
use shipdeck::metrics::runner::AnalysisEvent;
use shipdeck::release::audit::Record;
use shipdeck::release::{
    Action, Journal, Outcome, ReleaseContext, ReleaseRequest, execute, plan_request,
};
use shipdeck::sandbox::images::FAULT_LABEL;
use shipdeck::sandbox::registry::ImageSpec;
use shipdeck::sandbox::world::World;

/// Deploys `tag` of `service` in staging like `shipdeck deploy`, then lets the guard finish it.
async fn guarded_deploy(
    world: &World,
    dir: &Path,
    config: Config,
    service: &str,
    tag: &str,
) -> (GuardReport, Vec<AnalysisEvent>) {
    let journal = Journal::at(dir.join("journal.jsonl"));
    let ctx = Arc::new(
        ReleaseContext::connect(config, false, journal)
            .await
            .expect("context"),
    );
    let before = guard::baseline(&ctx, service, "staging")
        .await
        .expect("baseline");
    let req = ReleaseRequest {
        service: service.into(),
        env: "staging".into(),
        action: Action::Deploy {
            tag: tag.into(),
            digest: None,
        },
    };
    let plan = plan_request(&req, &ctx).await.expect("plan");
    let applied = match execute(&plan, &ctx, &mut |_| {}).await.expect("deploy") {
        Outcome::Applied { plan } => plan,
        other => panic!("deploy: {other:?}"),
    };
    let (sink, events) = channel();
    let ticker = Arc::new(SandboxTicker(world.clock.clone()));
    let tag = tag.to_string();
    let (result, events) = drive_release(world, events, async move {
        let mut guard = Guard::new(&ctx, ticker, sink);
        guard.run(&applied, &tag, &before).await
    })
    .await;
    (result.expect("guarded release"), events)
}

fn actions(report: &GuardReport) -> Vec<&str> {
    report.actions.iter().map(|a| a.action.as_str()).collect()
}

fn journal(dir: &Path) -> Vec<Record> {
    Journal::at(dir.join("journal.jsonl"))
        .read()
        .expect("journal")
}

fn seed(world: &World, repo: &str, tag: &str, fault: Option<&str>) {
    let mut spec = ImageSpec::default();
    if let Some(f) = fault {
        spec = spec.with_label(FAULT_LABEL, f);
    }
    world.registry.seed(repo, &[tag], &spec);
}

fn get(dir: &Path, args: &str) -> String {
    let args: Vec<&str> = ["--context=sandbox-staging", "-n", "shop"]
        .into_iter()
        .chain(args.split(' '))
        .collect();
    kubectl(dir, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_steps_to_100_and_promotes() {
    let world = demo_world().await;
    seed(&world, "dev/orders", "v1.6.0", None);
    let (dir, config) = world_files(&world);
    let (report, events) = guarded_deploy(&world, dir.path(), config, "orders", "v1.6.0").await;

    assert_eq!(report.outcome, GuardOutcome::Promoted, "{events:#?}");
    assert_eq!(
        actions(&report),
        [
            "canary-set",
            "canary-set",
            "canary-set",
            "canary-set",
            "canary-set",
            "canary-promote"
        ]
    );
    let steps: Vec<&str> = report.actions.iter().map(|a| a.summary.as_str()).collect();
    for (summary, step) in steps.iter().zip(["5%", "10%", "25%", "50%", "100%"]) {
        assert!(summary.contains(&format!("→ {step} (via ")), "{summary}");
    }
    let checks = reports(&events);
    assert_eq!(checks.len(), 5, "one passing check per step");
    assert!(
        checks.iter().all(|r| r.verdict == Verdict::Pass),
        "{checks:#?}"
    );

    assert!(
        get(
            dir.path(),
            "get deployment orders -o jsonpath={.spec.template.spec.containers[0].image}"
        )
        .ends_with("/dev/orders:v1.6.0")
    );
    assert_eq!(
        get(
            dir.path(),
            "get httproute orders -o jsonpath={.spec.rules[0].backendRefs[*].weight}"
        ),
        "100 0"
    );
    assert_eq!(
        get(
            dir.path(),
            "get deployment orders-canary -o jsonpath={.spec.replicas}"
        ),
        "0"
    );
    let records = journal(dir.path());
    assert!(
        records.iter().any(|r| r.action == "canary-set"
            && r.reason.as_deref() == Some("automatic canary step: analysis passed at 50%")),
        "{records:#?}"
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_canary_aborts_at_its_first_step() {
    let world = demo_world().await;
    seed(&world, "dev/orders", "v1.6.1", Some("errors=0.3"));
    let (dir, config) = world_files(&world);
    let (report, events) = guarded_deploy(&world, dir.path(), config, "orders", "v1.6.1").await;

    let GuardOutcome::Aborted { why } = &report.outcome else {
        panic!("expected an abort: {report:#?}")
    };
    assert!(
        why.starts_with("error rate ") && why.ends_with("for 2 checks"),
        "{why}"
    );
    assert_eq!(actions(&report), ["canary-set", "canary-abort"]);
    assert!(
        report.actions[0].summary.contains("0% → 5% (via "),
        "{report:#?}"
    );
    let checks = reports(&events);
    assert_eq!(checks.len(), 2);
    assert!(
        checks
            .iter()
            .all(|r| matches!(r.verdict, Verdict::Fail { .. }))
    );

    // All traffic is back on stable, which never ran the faulty version.
    assert_eq!(
        get(
            dir.path(),
            "get httproute orders -o jsonpath={.spec.rules[0].backendRefs[*].weight}"
        ),
        "100 0"
    );
    assert_eq!(
        get(
            dir.path(),
            "get deployment orders-canary -o jsonpath={.spec.replicas}"
        ),
        "0"
    );
    assert!(
        get(
            dir.path(),
            "get deployment orders -o jsonpath={.spec.template.spec.containers[0].image}"
        )
        .ends_with(":v1.5.0")
    );
    let abort = journal(dir.path())
        .into_iter()
        .find(|r| r.action == "canary-abort")
        .expect("the abort is journaled");
    assert_eq!(
        abort.reason.as_deref(),
        Some(format!("automatic abort: {why}").as_str())
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_with_a_faulty_image_rolls_back() {
    let world = demo_world().await;
    seed(&world, "dev/users", "v4.7.0", Some("errors=0.3"));
    let (dir, config) = world_files(&world);
    let (report, events) = guarded_deploy(&world, dir.path(), config, "users", "v4.7.0").await;

    let GuardOutcome::RolledBack { why } = &report.outcome else {
        panic!("expected a rollback: {report:#?}\n{events:#?}")
    };
    assert!(
        why.starts_with("error rate ") && why.ends_with("for 2 checks"),
        "{why}"
    );
    assert_eq!(actions(&report), ["rollback"]);
    assert!(
        get(
            dir.path(),
            "get deployment users -o jsonpath={.spec.template.spec.containers[0].image}"
        )
        .ends_with(":v4.5.0")
    );
    // The revision history shows the faulty revision and the rollback after it.
    let history = get(dir.path(), "rollout history deployment/users");
    let last = history
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("a revision");
    assert!(last.contains("rollback"), "{history}");
    let rollback = journal(dir.path())
        .into_iter()
        .find(|r| r.action == "rollback")
        .expect("journaled");
    assert_eq!(
        rollback.reason.as_deref(),
        Some(format!("automatic rollback: {why}").as_str())
    );
    // The faulty revision was never marked rolled out, so it never counts as known good.
    let sets: serde_json::Value =
        serde_json::from_str(&get(dir.path(), "get replicasets -l app=users -o json"))
            .expect("json");
    let faulty = sets["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|rs| {
            rs["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .is_some_and(|i| i.ends_with(":v4.7.0"))
        })
        .expect("the faulty revision");
    assert!(
        faulty["metadata"]["annotations"]["shipdeck.io/rolled-out"].is_null(),
        "{faulty}"
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_traffic_pauses_and_says_so() {
    let world = demo_world().await;
    seed(&world, "dev/gateway", "v2.3.0", None);
    let (dir, mut config) = world_files(&world);
    // Clients stop reaching gateway (its Service is gone): the new version gets no traffic.
    // Its smoke check would fail without a Service, so this test does without one.
    get(dir.path(), "delete service gateway");
    let gateway = config
        .services
        .iter_mut()
        .find(|s| s.name == "gateway")
        .expect("gateway");
    if let Some(a) = gateway.analysis.as_mut() {
        a.smoke = None;
    }
    let (report, events) = guarded_deploy(&world, dir.path(), config, "gateway", "v2.3.0").await;

    let GuardOutcome::Paused { why } = &report.outcome else {
        panic!("expected a pause: {report:#?}")
    };
    assert!(why.starts_with("no traffic to v2.3.0"), "{why}");
    assert!(
        report.actions.is_empty(),
        "nothing promoted, nothing rolled back"
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
    assert_eq!(
        pauses, 10,
        "paused at every check of the five-minute window"
    );
    assert!(
        get(
            dir.path(),
            "get deployment gateway -o jsonpath={.spec.template.spec.containers[0].image}"
        )
        .ends_with(":v2.3.0")
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_blue_green_swaps_and_promotes() {
    let world = demo_world().await;
    seed(&world, "dev/payments", "v3.3.0", None);
    let (dir, config) = world_files(&world);
    let before = get(
        dir.path(),
        "get service payments -o jsonpath={.spec.selector.version}",
    );
    let (report, events) = guarded_deploy(&world, dir.path(), config, "payments", "v3.3.0").await;

    assert_eq!(report.outcome, GuardOutcome::Promoted, "{events:#?}");
    assert_eq!(actions(&report), ["swap"]);
    let after = get(
        dir.path(),
        "get service payments -o jsonpath={.spec.selector.version}",
    );
    assert_ne!(before, after);
    let live = get(
        dir.path(),
        &format!(
            "get deployment payments-{after} -o jsonpath={{.spec.template.spec.containers[0].image}}"
        ),
    );
    assert!(live.ends_with(":v3.3.0"), "{live}");
    assert!(reports(&events).iter().all(|r| r.verdict == Verdict::Pass));
    world.shutdown().await;
}
