//! Deploy and roll back end to end: the real binary against the sandbox over HTTP, effects
//! checked with unmodified kubectl (`rollout history`, the Deployment's image).

use crate::release_common;

use std::time::Duration;

use release_common::Sandbox;
use shipdeck::release::audit::{Outcome, Phase};

const STEP: Duration = Duration::from_secs(5);

async fn image(sb: &Sandbox, env: &str, deploy: &str) -> String {
    sb.kubectl(
        env,
        &[
            "get",
            "deployment",
            deploy,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
    .await
}

async fn revision(sb: &Sandbox, env: &str, deploy: &str) -> String {
    sb.kubectl(
        env,
        &[
            "get",
            "deployment",
            deploy,
            "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_then_roll_back_as_kubectl_sees_it() {
    let sb = Sandbox::start().await;
    assert!(
        image(&sb, "staging", "users")
            .await
            .ends_with("/users:v4.5.0")
    );

    let run = sb
        .shipdeck_advancing(
            &[
                "deploy", "users", "v4.6.0", "--env", "staging", "--yes", "--wait",
            ],
            STEP,
        )
        .await;
    run.ok();
    assert!(
        run.stdout.contains(
            "deployments.apps/users (shop @ staging): spec.template.spec.containers[users].image:"
        ),
        "the plan is printed as a diff:\n{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("deployment \"users\" successfully rolled out"),
        "{}",
        run.stderr
    );
    assert!(
        image(&sb, "staging", "users")
            .await
            .ends_with("/dev/users:v4.6.0")
    );
    let history = sb
        .kubectl("staging", &["rollout", "history", "deployment/users"])
        .await;
    assert!(
        history.contains("shipdeck deploy v4.6.0 by sandbox-staging"),
        "{history}"
    );

    // The journal: intent before, outcome after, for the one write.
    let records = sb.records();
    let deploys: Vec<_> = records.iter().filter(|r| r.action == "deploy").collect();
    assert_eq!(deploys.len(), 2, "{deploys:#?}");
    assert_eq!(deploys[0].phase, Phase::Intent);
    assert_eq!(deploys[1].result, Some(Outcome::Applied));
    assert_eq!(deploys[0].target, "deployments.apps/users");
    assert_eq!(deploys[0].who, "sandbox-staging");
    assert!(
        records
            .iter()
            .any(|r| r.action == "mark-rolled-out" && r.result == Some(Outcome::Applied))
    );

    // Roll back to the previous revision (kubectl rollout undo semantics).
    let run = sb
        .shipdeck_advancing(
            &["rollback", "users", "--env", "staging", "--yes", "--wait"],
            STEP,
        )
        .await;
    run.ok();
    assert!(
        image(&sb, "staging", "users")
            .await
            .ends_with("/dev/users:v4.5.0")
    );
    let history = sb
        .kubectl("staging", &["rollout", "history", "deployment/users"])
        .await;
    let cause_line = history
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .expect("history has rows")
        .to_string();
    assert!(
        cause_line.contains("shipdeck rollback to revision"),
        "{history}"
    );
    assert!(
        cause_line.contains("(v4.5.0) by sandbox-staging"),
        "{history}"
    );

    // Rolling back to the revision that runs now is skipped, as kubectl does.
    let current = revision(&sb, "staging", "users").await;
    let run = sb
        .shipdeck(&[
            "rollback",
            "users",
            "--env",
            "staging",
            "--to-revision",
            &current,
            "--yes",
        ])
        .await;
    run.ok();
    assert!(
        run.stdout.contains(&format!(
            "skipped rollback (current template already matches revision {current})"
        )),
        "{}",
        run.stdout
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_good_skips_a_revision_nobody_saw_complete() {
    let sb = Sandbox::start().await;
    // A: shipdeck deploys and watches v4.6.0 complete (marked rolled out).
    sb.shipdeck_advancing(
        &[
            "deploy", "users", "v4.6.0", "--env", "staging", "--yes", "--wait",
        ],
        STEP,
    )
    .await
    .ok();
    let good = revision(&sb, "staging", "users").await;
    // B: someone else rolls out v4.4.1 with kubectl; nobody records whether it completed.
    let registry = sb
        .config()
        .env("staging")
        .and_then(|e| e.registry.clone())
        .expect("registry");
    sb.kubectl(
        "staging",
        &[
            "set",
            "image",
            "deployment/users",
            &format!("users={registry}/users:v4.4.1"),
        ],
    )
    .await;
    sb.advance_until(STEP, Duration::from_secs(600), async || {
        sb.kubectl(
            "staging",
            &[
                "get",
                "deployment",
                "users",
                "-o",
                "jsonpath={.status.updatedReplicas}/{.status.availableReplicas}/{.status.replicas}",
            ],
        )
        .await
            == "2/2/2"
    })
    .await;
    // C: shipdeck deploys v4.6.0's successor… the rc tag, and watches it complete.
    sb.shipdeck_advancing(
        &[
            "deploy",
            "users",
            "v4.7.0-beta.2",
            "--env",
            "staging",
            "--yes",
            "--wait",
        ],
        STEP,
    )
    .await
    .ok();

    let dry = sb
        .shipdeck(&["rollback", "users", "--env", "staging", "--dry-run"])
        .await;
    dry.ok();
    assert!(
        dry.stdout.contains("(v4.4.1)"),
        "previous is B:\n{}",
        dry.stdout
    );

    let run = sb
        .shipdeck_advancing(
            &[
                "rollback",
                "users",
                "--env",
                "staging",
                "--last-good",
                "--yes",
                "--wait",
            ],
            STEP,
        )
        .await;
    run.ok();
    assert!(
        run.stdout.contains(&format!("to revision {good} (v4.6.0)")),
        "{}",
        run.stdout
    );
    assert!(
        image(&sb, "staging", "users")
            .await
            .ends_with("/users:v4.6.0")
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_deployment_is_not_rolled_back() {
    let sb = Sandbox::start().await;
    sb.kubectl("dev", &["rollout", "pause", "deployment/gateway"])
        .await;
    let before = sb
        .kubectl("dev", &["rollout", "history", "deployment/gateway"])
        .await;
    let run = sb
        .shipdeck(&["rollback", "gateway", "--env", "dev", "--yes"])
        .await;
    assert_eq!(run.code, 3, "refused:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("you cannot rollback a paused deployment"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sb.kubectl("dev", &["rollout", "history", "deployment/gateway"])
            .await,
        before
    );
    sb.world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_rollout_fails_the_wait() {
    let sb = Sandbox::start().await;
    // delivery v2.3.0 crash-loops: the rollout never completes and hits its deadline.
    let run = sb
        .shipdeck_advancing(
            &[
                "deploy", "delivery", "v2.3.0", "--env", "dev", "--yes", "--wait",
            ],
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("exceeded its progress deadline"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("CrashLoopBackOff"),
        "waiting lines carry kubectl's warning:\n{}",
        run.stderr
    );
    sb.world.shutdown().await;
}
