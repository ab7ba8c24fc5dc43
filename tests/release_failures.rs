//! Failure paths end to end: read-only (flag and config), protected without the typed name,
//! 409 between plan and write, the API server gone or silent mid-action.

use crate::release_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use release_common::Sandbox;
use release_common::proxy::Proxy;
use shipdeck::config::load_file;
use shipdeck::release::audit::{Outcome as Journaled, Phase};
use shipdeck::release::{
    Action, Outcome, Progress, ReleaseError, ReleaseRequest, execute, plan_request,
};

async fn gateway_image(sb: &Sandbox, env: &str) -> String {
    sb.kubectl(
        env,
        &[
            "get",
            "deployment",
            "gateway",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
    .await
}

async fn route_weights(sb: &Sandbox, env: &str) -> String {
    sb.kubectl(
        env,
        &[
            "get",
            "httproute",
            "orders",
            "-o",
            "jsonpath={.spec.rules[0].backendRefs[*].weight}",
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_write() {
    let sb = Sandbox::start().await;
    let before = gateway_image(&sb, "dev").await;
    let run = sb
        .shipdeck(&[
            "--read-only",
            "deploy",
            "gateway",
            "v2.1.0",
            "--env",
            "dev",
            "--yes",
        ])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refused: dev is read-only (--read-only)"),
        "{}",
        run.stderr
    );

    sb.edit_config(|c| {
        if let Some(e) = c.envs.iter_mut().find(|e| e.name == "dev") {
            e.read_only = true;
        }
    });
    let run = sb
        .shipdeck(&["deploy", "gateway", "v2.1.0", "--env", "dev", "--yes"])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("read_only in shipdeck.toml"),
        "{}",
        run.stderr
    );

    assert_eq!(
        gateway_image(&sb, "dev").await,
        before,
        "nothing was written"
    );
    let refused: Vec<_> = sb
        .records()
        .into_iter()
        .filter(|r| r.result == Some(Journaled::Refused))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert!(
        sb.records().iter().all(|r| r.phase != Phase::Intent),
        "no write was attempted"
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_needs_the_typed_name_without_a_terminal() {
    let sb = Sandbox::start().await;
    let before = gateway_image(&sb, "prod").await;
    let run = sb
        .shipdeck(&["deploy", "gateway", "v2.1.0", "--env", "prod", "--yes"])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("protected environment; pass --yes --confirm gateway"),
        "{}",
        run.stderr
    );
    let wrong = sb
        .shipdeck(&[
            "deploy",
            "gateway",
            "v2.1.0",
            "--env",
            "prod",
            "--yes",
            "--confirm",
            "orders",
        ])
        .await;
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    // Without --yes there is nobody to ask.
    let unasked = sb
        .shipdeck(&["deploy", "gateway", "v2.1.0", "--env", "dev"])
        .await;
    assert_eq!(unasked.code, 3, "{}", unasked.stderr);
    assert_eq!(gateway_image(&sb, "prod").await, before);
    sb.world.shutdown().await;
}

fn request(action: Action) -> ReleaseRequest {
    ReleaseRequest {
        service: "orders".into(),
        env: "prod".into(),
        action,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_replans_and_asks_again_when_the_plan_changed() {
    let sb = Sandbox::start().await;
    let ctx = sb.context().await;
    let plan = plan_request(&request(Action::CanarySet { percent: 50 }), &ctx)
        .await
        .expect("plan");
    // Someone moves the weights between the plan and the write.
    sb.kubectl(
        "prod",
        &["patch", "httproute", "orders", "--type=json", "-p",
          r#"[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":70},{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":30}]"#],
    )
    .await;
    let outcome = execute(&plan, &ctx, &mut |_| {}).await.expect("execute");
    let Outcome::Replanned {
        plan: fresh,
        applied,
    } = outcome
    else {
        panic!("expected a new plan, got {outcome:?}");
    };
    assert_eq!(applied, 0);
    assert_eq!(
        fresh.writes[0].changes[1].from.as_deref(),
        Some("30"),
        "{fresh}"
    );
    assert_eq!(
        route_weights(&sb, "prod").await,
        "70 30",
        "the stale plan applied nothing"
    );
    let records = sb.records();
    assert!(records.iter().any(|r| {
        r.result == Some(Journaled::Failed)
            && r.error
                .as_deref()
                .is_some_and(|e| e.contains("the object has been modified"))
    }));

    // Asked again and confirmed: the new plan applies.
    assert!(matches!(
        execute(&fresh, &ctx, &mut |_| {}).await,
        Ok(Outcome::Applied { .. })
    ));
    assert_eq!(route_weights(&sb, "prod").await, "50 50");
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_with_the_same_plan_retries_once() {
    let sb = Sandbox::start().await;
    let ctx = sb.context().await;
    let plan = plan_request(&request(Action::CanarySet { percent: 50 }), &ctx)
        .await
        .expect("plan");
    // A change elsewhere in the object: new resourceVersion, same weights.
    sb.kubectl(
        "prod",
        &["annotate", "httproute", "orders", "team=checkout"],
    )
    .await;
    let (outcome, events) = execute_recording(&plan, &ctx).await;
    assert!(
        matches!(outcome, Ok(Outcome::Applied { .. })),
        "{outcome:?}"
    );
    assert!(
        events
            .iter()
            .any(|p| matches!(p, Progress::Retrying { .. }))
    );
    assert_eq!(route_weights(&sb, "prod").await, "50 50");
    sb.world.shutdown().await;
}

/// Executes `plan`, keeping every progress report. Bounded, so that an executor stuck on a
/// dead connection fails the test instead of stalling CI.
async fn execute_recording(
    plan: &shipdeck::release::Plan,
    ctx: &shipdeck::release::ReleaseContext,
) -> (Result<Outcome, ReleaseError>, Vec<Progress>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        execute(plan, ctx, &mut move |p| seen.lock().expect("lock").push(p)),
    )
    .await
    .expect("execute settles within a minute");
    let events = events.lock().expect("lock").clone();
    (outcome, events)
}

/// A context whose prod client goes through `proxy`.
async fn proxied(sb: &Sandbox, proxy: &Proxy) -> shipdeck::release::ReleaseContext {
    let kubeconfig = sb.kubeconfig_via("prod", &proxy.url());
    let mut config = load_file(&sb.config_path).expect("config");
    config.kubeconfig = Some(kubeconfig);
    let mut ctx = sb.context_with(config).await;
    ctx.write_timeout = Duration::from_secs(1);
    ctx
}

fn upstream(sb: &Sandbox, env: &str) -> std::net::SocketAddr {
    let url = sb.world.env(env).url();
    url.trim_start_matches("http://")
        .parse()
        .expect("server address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_gone_mid_action_is_unknown_and_not_retried() {
    let sb = Sandbox::start().await;
    let proxy = Proxy::start(upstream(&sb, "prod")).await;
    let ctx = proxied(&sb, &proxy).await;
    let plan = plan_request(&request(Action::CanarySet { percent: 50 }), &ctx)
        .await
        .expect("plan");
    proxy.stop();
    let err = execute(&plan, &ctx, &mut |_| {})
        .await
        .expect_err("no server");
    assert!(matches!(err, ReleaseError::Unknown(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("outcome unknown: patch httproutes.gateway.networking.k8s.io/orders"),
        "{err}"
    );
    let records = sb.records();
    assert_eq!(
        records.iter().filter(|r| r.phase == Phase::Intent).count(),
        1,
        "sent once: {records:#?}"
    );
    assert_eq!(
        records.last().and_then(|r| r.result),
        Some(Journaled::Unknown)
    );
    assert_eq!(route_weights(&sb, "prod").await, "75 25");
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_settled_by_re_reading() {
    let sb = Sandbox::start().await;
    let proxy = Proxy::start(upstream(&sb, "prod")).await;
    let ctx = proxied(&sb, &proxy).await;
    let plan = plan_request(&request(Action::CanarySet { percent: 50 }), &ctx)
        .await
        .expect("plan");
    // The write reaches the server; its answer never comes back.
    proxy.swallow_next_write();
    let (outcome, events) = execute_recording(&plan, &ctx).await;
    assert!(
        matches!(outcome, Ok(Outcome::Applied { .. })),
        "{outcome:?}"
    );
    assert!(
        events
            .iter()
            .any(|p| matches!(p, Progress::Verified { .. }))
    );
    assert_eq!(route_weights(&sb, "prod").await, "50 50");
    let results: Vec<_> = sb.records().iter().map(|r| (r.phase, r.result)).collect();
    assert_eq!(
        results,
        vec![
            (Phase::Intent, None),
            (Phase::Outcome, Some(Journaled::Unknown)),
            (Phase::Outcome, Some(Journaled::Applied)),
        ],
        "one intent, no re-send"
    );
    proxy.stop();
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_names_verb_resource_and_namespace() {
    let sb = Sandbox::start().await;
    // RBAC denial: the dev API server refuses writes from clients (reads still work).
    sb.world
        .env("dev")
        .cluster
        .deny_api_writes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let run = sb
        .shipdeck(&["canary", "set", "search", "25", "--env", "dev", "--yes"])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "forbidden: patch virtualservices.networking.istio.io in shop (context sandbox-dev): \
             ask for the release role, or use --read-only"
        ),
        "{}",
        run.stderr
    );
    let weights = sb
        .kubectl(
            "dev",
            &[
                "get",
                "virtualservice",
                "search",
                "-o",
                "jsonpath={.spec.http[0].route[*].weight}",
            ],
        )
        .await;
    assert_eq!(weights, "90 10");
    let last = sb.records().pop().expect("journaled");
    assert_eq!(last.result, Some(Journaled::Failed));
    assert!(
        last.error
            .as_deref()
            .is_some_and(|e| e.starts_with("forbidden: patch")),
        "{last:?}"
    );
    sb.world.shutdown().await;
}
