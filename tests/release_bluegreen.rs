//! Blue-green end to end: deploy to the idle colour, swap the Service selector in one write,
//! swap back, scale the idle colour down after the configured delay.

use crate::release_common;

use std::time::Duration;

use release_common::Sandbox;

const STEP: Duration = Duration::from_secs(5);

async fn selected(sb: &Sandbox, env: &str, svc: &str) -> String {
    sb.kubectl(
        env,
        &["get", "svc", svc, "-o", "jsonpath={.spec.selector.version}"],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_idle_swap_and_swap_back() {
    let sb = Sandbox::start().await;
    let active = selected(&sb, "staging", "payments").await;
    let idle = if active == "blue" { "green" } else { "blue" };

    let run = sb
        .shipdeck_advancing(
            &[
                "deploy", "payments", "v3.2.0", "--env", "staging", "--yes", "--wait",
            ],
            STEP,
        )
        .await;
    run.ok();
    assert!(
        run.stdout.contains(&format!("idle colour ({idle})")),
        "{}",
        run.stdout
    );
    assert_eq!(
        selected(&sb, "staging", "payments").await,
        active,
        "traffic has not moved yet"
    );
    assert_eq!(selected(&sb, "staging", "payments-preview").await, idle);

    sb.shipdeck(&["swap", "payments", "--env", "staging", "--yes"])
        .await
        .ok();
    assert_eq!(selected(&sb, "staging", "payments").await, idle);
    let stamp = sb
        .kubectl(
            "staging",
            &[
                "get",
                "svc",
                "payments",
                "-o",
                "jsonpath={.metadata.annotations.shipdeck\\.io/swapped-at}",
            ],
        )
        .await;
    assert!(
        !stamp.is_empty(),
        "the swap time is recorded on the Service"
    );

    sb.shipdeck(&["swap", "payments", "--env", "staging", "--yes"])
        .await
        .ok();
    assert_eq!(selected(&sb, "staging", "payments").await, active);
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_with_wait_scales_the_old_colour_down() {
    let sb = Sandbox::start().await;
    sb.edit_config(|c| {
        for s in &mut c.services {
            if let Some(bg) = s.blue_green.as_mut() {
                bg.scale_down_after = Some(Duration::from_secs(1));
            }
        }
    });
    let active = selected(&sb, "prod", "payments").await;
    // Prod is protected: the typed name comes with --confirm.
    let run = sb
        .shipdeck(&[
            "swap",
            "payments",
            "--env",
            "prod",
            "--yes",
            "--confirm",
            "payments",
            "--wait",
        ])
        .await;
    run.ok();
    assert_ne!(selected(&sb, "prod", "payments").await, active);
    let replicas = sb
        .kubectl(
            "prod",
            &[
                "get",
                "deployment",
                &format!("payments-{active}"),
                "-o",
                "jsonpath={.spec.replicas}",
            ],
        )
        .await;
    assert_eq!(replicas, "0", "{}", run.stderr);
    let records = sb.records();
    assert!(records.iter().any(|r| r.action == "swap"));
    assert!(records.iter().any(|r| r.action == "scale-down-idle"));
    sb.world.shutdown().await;
}
