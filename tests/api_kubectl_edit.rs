//! Unmodified kubectl (v1.32) against the sandbox: `get -w`, patch, scale, label, annotate,
//! delete, logs, and what a token-protected server means for kubectl.

use crate::common;

use std::time::Duration;

use common::{MANIFEST, Sandbox, deployment, pod, wait_for_line};
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_prints_updates() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let (mut child, mut lines) = sb.kubectl_spawn(&["get", "deploy", "-w", "--show-labels"]);
    let seen = wait_for_line(&mut lines, 20, |l| l.starts_with("web ")).await;
    assert!(seen[0].starts_with("NAME"), "{seen:?}");

    sb.cluster
        .modify(*kinds::DEPLOYMENTS, "shop", "web", false, |d| {
            d["metadata"]["labels"]["tier"] = json!("front");
        })
        .expect("modify");
    wait_for_line(&mut lines, 20, |l| {
        l.starts_with("web ") && l.ends_with("app=web,tier=front")
    })
    .await;

    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("api", "registry.local/api:1.0", 1),
    );
    wait_for_line(&mut lines, 20, |l| l.starts_with("api ")).await;
    let _ = child.kill().await;

    // A too-old resourceVersion is answered inside the stream: one ERROR event, then the end.
    sb.cluster
        .store
        .compact(sb.cluster.store.resource_version());
    let expired = sb
        .kubectl(&[
            "get",
            "--raw",
            "/apis/apps/v1/namespaces/shop/deployments?watch=true&resourceVersion=2",
        ])
        .await;
    let event: serde_json::Value = serde_json::from_str(expired.ok().trim()).expect("one event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_scale_label_annotate_delete() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let get = |sb: &Sandbox| {
        sb.cluster
            .get(*kinds::DEPLOYMENTS, "shop", "web")
            .expect("web")
    };

    let out = sb
        .kubectl(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":3}}"#])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 3);
    let out = sb
        .kubectl(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":3}}"#])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched (no change)\n");

    let out = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"shop"}}}"#,
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["metadata"]["labels"]["team"], "shop");

    let out = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 2);
    let bad = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        ])
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    // The real server's generic 422, which names neither path nor value.
    assert_eq!(
        bad.stderr,
        "The request is invalid: the server rejected our request due to an error in our request\n"
    );

    // The patch's resourceVersion is a precondition.
    let stale = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":7}}"#,
        ])
        .await;
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("Error from server (Conflict)"),
        "{stale:?}"
    );

    // `set image` is a strategic merge patch keyed by container name.
    let out = sb
        .kubectl(&["set", "image", "deploy/web", "web=registry.local/web:2.0"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web image updated\n");
    assert_eq!(
        get(&sb)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/web:2.0"
    );

    let out = sb
        .kubectl(&["scale", "deploy", "web", "--replicas=5"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web scaled\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 5);
    let wrong = sb
        .kubectl(&[
            "scale",
            "deploy",
            "web",
            "--current-replicas=2",
            "--replicas=3",
        ])
        .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(get(&sb)["spec"]["replicas"], 5);

    let out = sb.kubectl(&["label", "deploy", "web", "tier=front"]).await;
    assert_eq!(out.ok(), "deployment.apps/web labeled\n");
    let out = sb.kubectl(&["label", "deploy", "web", "tier=back"]).await;
    assert_eq!(out.code, 1, "needs --overwrite: {out:?}");
    let out = sb
        .kubectl(&["annotate", "deploy", "web", "note=hello"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web annotated\n");
    let d = get(&sb);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");

    // Server-side dry run persists nothing.
    let dry = sb.file("dry.yaml", &MANIFEST.replace("name: web", "name: dry"));
    let out = sb
        .kubectl(&[
            "create",
            "-f",
            dry.to_str().expect("path"),
            "--dry-run=server",
        ])
        .await;
    assert_eq!(
        out.ok(),
        "deployment.apps/dry created (server dry run)\nservice/dry created (server dry run)\n"
    );
    assert!(sb.cluster.get(*kinds::DEPLOYMENTS, "shop", "dry").is_err());

    // Deleting an owner garbage-collects its dependents (background propagation).
    let owner_uid = get(&sb)["metadata"]["uid"].clone();
    sb.create(
        *kinds::CONFIGMAPS,
        "shop",
        json!({"metadata": {"name": "owned", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner_uid}]}}),
    );
    let out = sb.kubectl(&["delete", "deploy", "web"]).await;
    assert_eq!(out.ok(), "deployment.apps \"web\" deleted\n");
    assert!(sb.cluster.get(*kinds::DEPLOYMENTS, "shop", "web").is_err());
    assert!(sb.cluster.get(*kinds::CONFIGMAPS, "shop", "owned").is_err());
    let out = sb.kubectl(&["delete", "deploy", "web"]).await;
    assert_eq!(
        out.stderr.trim(),
        "Error from server (NotFound): deployments.apps \"web\" not found"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-1", json!({"app": "web"}), "Running"),
    );
    let lines: Vec<String> = (1..=3).map(|i| format!("line {i}")).collect();
    sb.cluster.store.append_log("shop", "web-1", "app", &lines);
    let out = sb.kubectl(&["logs", "web-1"]).await;
    assert_eq!(out.ok(), "line 1\nline 2\nline 3\n");
    let out = sb.kubectl(&["logs", "web-1", "--tail=1"]).await;
    assert_eq!(out.ok(), "line 3\n");
    let out = sb.kubectl(&["logs", "web-1", "-c", "nope"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("container nope is not valid for pod web-1"),
        "{out:?}"
    );

    let (mut child, mut follow) = sb.kubectl_spawn(&["logs", "-f", "web-1"]);
    wait_for_line(&mut follow, 20, |l| l == "line 3").await;
    sb.cluster
        .store
        .append_log("shop", "web-1", "app", &["line 4".to_string()]);
    wait_for_line(&mut follow, 20, |l| l == "line 4").await;
    // Deleting the pod ends the follow.
    sb.cluster
        .delete(*kinds::PODS, "shop", "web-1", &Default::default())
        .expect("delete");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("kubectl logs -f ends with the pod")
        .expect("exit status");
    assert!(status.success());
    sb.shutdown().await;
}

/// client-go sends credentials only over TLS (kubernetes/kubectl#744), so against the plain
/// HTTP sandbox kubectl never presents the kubeconfig's token: a token-protected server is
/// closed to kubectl, and says so with a 401. (tests/api_kube.rs covers right and wrong tokens.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_protected_server_rejects_kubectl() {
    let sb = Sandbox::start_with_token(Some("s3cret")).await;
    for args in [
        &["get", "pods"][..],
        &["--token", "wrong", "get", "pods"][..],
    ] {
        let out = sb.kubectl(args).await;
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr
                .contains("error: You must be logged in to the server"),
            "{out:?}"
        );
    }
    sb.shutdown().await;
}
