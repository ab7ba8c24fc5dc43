//! Canary end to end through every router the demo uses; weights checked with kubectl on the
//! router objects themselves.

use crate::release_common;

use std::time::Duration;

use release_common::Sandbox;

const STEP: Duration = Duration::from_secs(5);

async fn jsonpath(sb: &Sandbox, env: &str, object: &str, path: &str) -> String {
    sb.kubectl(env, &["get", object, "-o", &format!("jsonpath={path}")])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_api_step_then_promote_in_protected_prod() {
    let sb = Sandbox::start().await;
    let weights = "{.spec.rules[0].backendRefs[*].weight}";
    assert_eq!(
        jsonpath(&sb, "prod", "httproute/orders", weights).await,
        "75 25"
    );

    // Protected: --yes alone is not enough without a terminal.
    let run = sb
        .shipdeck(&["canary", "step", "orders", "--env", "prod", "--yes"])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("--confirm orders"), "{}", run.stderr);
    assert_eq!(
        jsonpath(&sb, "prod", "httproute/orders", weights).await,
        "75 25"
    );

    let run = sb
        .shipdeck(&[
            "canary",
            "step",
            "orders",
            "--env",
            "prod",
            "--yes",
            "--confirm",
            "orders",
        ])
        .await;
    run.ok();
    assert!(run.stdout.contains("25% → 50%"), "{}", run.stdout);
    assert_eq!(
        jsonpath(&sb, "prod", "httproute/orders", weights).await,
        "50 50"
    );

    let run = sb
        .shipdeck_advancing(
            &[
                "canary",
                "promote",
                "orders",
                "--env",
                "prod",
                "--yes",
                "--confirm",
                "orders",
                "--wait",
            ],
            STEP,
        )
        .await;
    run.ok();
    assert_eq!(
        jsonpath(&sb, "prod", "httproute/orders", weights).await,
        "100 0"
    );
    assert!(
        jsonpath(
            &sb,
            "prod",
            "deployment/orders",
            "{.spec.template.spec.containers[0].image}"
        )
        .await
        .ends_with("/orders:v1.5.0")
    );
    assert_eq!(
        jsonpath(&sb, "prod", "deployment/orders-canary", "{.spec.replicas}").await,
        "0"
    );
    let history = sb
        .kubectl("prod", &["rollout", "history", "deployment/orders"])
        .await;
    assert!(
        history.contains("shipdeck canary promote v1.5.0 by sandbox-prod"),
        "{history}"
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_set_and_abort() {
    let sb = Sandbox::start().await;
    let weights = "{.spec.http[0].route[*].weight}";
    assert_eq!(
        jsonpath(&sb, "dev", "virtualservice/search", weights).await,
        "90 10"
    );
    sb.shipdeck(&["canary", "set", "search", "25", "--env", "dev", "--yes"])
        .await
        .ok();
    assert_eq!(
        jsonpath(&sb, "dev", "virtualservice/search", weights).await,
        "75 25"
    );
    sb.shipdeck(&["canary", "abort", "search", "--env", "dev", "--yes"])
        .await
        .ok();
    assert_eq!(
        jsonpath(&sb, "dev", "virtualservice/search", weights).await,
        "100 0"
    );
    assert_eq!(
        jsonpath(&sb, "dev", "deployment/search-canary", "{.spec.replicas}").await,
        "0"
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smi_needs_canary_pods_before_traffic() {
    let sb = Sandbox::start().await;
    let weights = "{.spec.backends[*].weight}";
    let run = sb
        .shipdeck(&["canary", "set", "inventory", "10", "--env", "dev", "--yes"])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("no ready pods"), "{}", run.stderr);

    sb.shipdeck_advancing(
        &[
            "deploy",
            "inventory",
            "v1.1.0",
            "--env",
            "dev",
            "--yes",
            "--wait",
        ],
        STEP,
    )
    .await
    .ok();
    assert_eq!(
        jsonpath(
            &sb,
            "dev",
            "deployment/inventory-canary",
            "{.spec.replicas}"
        )
        .await,
        "1"
    );
    sb.shipdeck(&["canary", "set", "inventory", "10", "--env", "dev", "--yes"])
        .await
        .ok();
    assert_eq!(
        jsonpath(&sb, "dev", "trafficsplit/inventory", weights).await,
        "90 10"
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_canary_weight_annotation() {
    let sb = Sandbox::start().await;
    sb.shipdeck_advancing(
        &[
            "deploy",
            "notifications",
            "v1.2.0",
            "--env",
            "dev",
            "--yes",
            "--wait",
        ],
        STEP,
    )
    .await
    .ok();
    let run = sb
        .shipdeck(&["canary", "step", "notifications", "--env", "dev", "--yes"])
        .await;
    run.ok();
    assert_eq!(
        jsonpath(
            &sb,
            "dev",
            "ingress/notifications-canary",
            "{.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/canary-weight}"
        )
        .await,
        "5"
    );
    let status = sb
        .shipdeck(&["status", "--env", "dev", "--output", "json"])
        .await;
    status.ok();
    let rows: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let row = rows
        .as_array()
        .and_then(|r| r.iter().find(|r| r["service"] == "notifications"))
        .expect("notifications row");
    assert!(
        row["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("canary 5%")),
        "{row}"
    );
    sb.world.shutdown().await;
}
