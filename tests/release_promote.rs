//! Promotion end to end: a tag copied by digest from the dev registry to prod's, with the
//! approval policy (the note lands in the audit journal).

use crate::release_common;

use release_common::Sandbox;
use shipdeck::config::Bump;
use shipdeck::registry::{ClientOptions, Registries};
use shipdeck::release::registry::RegistryOps;

async fn digest(image: &str) -> Option<String> {
    Registries::new(ClientOptions::default())
        .digest(image)
        .await
        .expect("registry answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_copies_by_digest_with_approval_when_policy_asks() {
    let sb = Sandbox::start().await;
    let host = sb.world.registry_host.clone();
    let (source, target) = (
        format!("{host}/dev/orders:v1.6.0-rc.1"),
        format!("{host}/prod/orders:v1.6.0-rc.1"),
    );
    let source_digest = digest(&source).await.expect("the rc exists in dev");
    assert_eq!(digest(&target).await, None);

    let dry = sb
        .shipdeck(&[
            "promote",
            "orders",
            "v1.6.0-rc.1",
            "--from",
            "dev",
            "--to",
            "prod",
            "--dry-run",
            "--output",
            "json",
        ])
        .await;
    dry.ok();
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).expect("plan JSON");
    assert_eq!(doc["plan"]["writes"][0]["body"]["type"], "registry-copy");
    assert_eq!(
        doc["plan"]["writes"][0]["body"]["digest"],
        source_digest.as_str()
    );

    // v1.4.2 → v1.6.0-rc.1 is a minor bump; make policy ask for an approval on those.
    sb.edit_config(|c| c.policy.approval_for = vec![Bump::Major, Bump::Minor]);
    let refused = sb
        .shipdeck(&[
            "promote",
            "orders",
            "v1.6.0-rc.1",
            "--from",
            "dev",
            "--to",
            "prod",
            "--yes",
            "--confirm",
            "orders",
        ])
        .await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("minor bump"), "{}", refused.stderr);
    assert_eq!(digest(&target).await, None, "nothing copied");

    sb.shipdeck(&[
        "promote",
        "orders",
        "v1.6.0-rc.1",
        "--from",
        "dev",
        "--to",
        "prod",
        "--yes",
        "--confirm",
        "orders",
        "--approve",
        "CAB-1234 approved by Dana",
    ])
    .await
    .ok();
    assert_eq!(digest(&target).await, Some(source_digest));
    let records = sb.records();
    let promoted = records
        .iter()
        .find(|r| {
            r.action == "promote" && r.result == Some(shipdeck::release::audit::Outcome::Applied)
        })
        .expect("promotion journaled");
    assert_eq!(
        promoted.approval.as_deref(),
        Some("CAB-1234 approved by Dana")
    );

    // Promoting again changes nothing.
    let again = sb
        .shipdeck(&[
            "promote",
            "orders",
            "v1.6.0-rc.1",
            "--from",
            "dev",
            "--to",
            "prod",
            "--yes",
            "--confirm",
            "orders",
            "--approve",
            "x",
        ])
        .await;
    again.ok();
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
    sb.world.shutdown().await;
}
