//! The kube crate's typed API against the sandbox over real HTTP: CRUD, preconditions, the
//! four patch types, subresources, logs, auth, and error Statuses.

use crate::common;

use common::{Sandbox, api_error, client_for, deployment, next, pod};
use futures::AsyncBufReadExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

fn typed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("typed object")
}

#[tokio::test]
async fn crud_preconditions_and_patches() {
    let sb = Sandbox::start().await;
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");

    let created = api
        .create(
            &PostParams::default(),
            &typed(deployment("web", "registry.local/web:1.0", 2)),
        )
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    let dup = api_error(api.create(&PostParams::default(), &created).await);
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));

    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert!(
        list.metadata
            .resource_version
            .is_some_and(|rv| !rv.is_empty())
    );

    // Replace: a stale resourceVersion is a 409 Conflict, the current one wins.
    let mut fresh = api.get("web").await.expect("get");
    let mut stale = fresh.clone();
    fresh.spec.as_mut().expect("spec").replicas = Some(3);
    let replaced = api
        .replace("web", &PostParams::default(), &fresh)
        .await
        .expect("replace");
    assert_eq!(replaced.metadata.generation, Some(2));
    stale.spec.as_mut().expect("spec").replicas = Some(9);
    let conflict = api_error(api.replace("web", &PostParams::default(), &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(conflict.message.contains("the object has been modified"));

    let merged = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "shop"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(merged.metadata.labels.expect("labels")["team"], "shop");

    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]))
            .expect("json patch");
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .expect("json patch");
    assert_eq!(patched.spec.expect("spec").replicas, Some(4));

    let strategic = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"paused": true}})),
        )
        .await
        .expect("strategic patch");
    assert_eq!(strategic.spec.expect("spec").paused, Some(true));

    let applied = api
        .patch(
            "web",
            &PatchParams::apply("shipdeck").force(),
            &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web"}, "spec": {"replicas": 5}})),
        )
        .await
        .expect("apply");
    assert_eq!(applied.spec.expect("spec").replicas, Some(5));

    // Apply creates what is absent.
    let api_app = api
        .patch(
            "api",
            &PatchParams::apply("shipdeck"),
            &Patch::Apply(deployment("api", "registry.local/api:1.0", 1)),
        )
        .await
        .expect("apply creates");
    assert_eq!(api_app.metadata.generation, Some(1));

    // A resourceVersion inside a patch is a precondition.
    let stale_patch = api_error(
        api.patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": "2"}, "spec": {"replicas": 1}})),
        )
        .await,
    );
    assert_eq!(stale_patch.code, 409);

    // Dry runs answer as if written and persist nothing.
    let dry = api
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &typed(deployment("dry", "registry.local/dry:1", 1)),
        )
        .await
        .expect("dry-run create");
    assert_eq!(dry.metadata.name.as_deref(), Some("dry"));
    assert!(api.get_opt("dry").await.expect("get").is_none());

    let deleted = api
        .delete("web", &DeleteParams::background())
        .await
        .expect("delete");
    assert!(deleted.is_right(), "a Status for an immediate delete");
    let gone = api_error(api.get("web").await);
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "deployments.apps \"web\" not found");

    let cms: Api<ConfigMap> = Api::namespaced(sb.client().await, "shop");
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "api")] {
        sb.create(
            *kinds::CONFIGMAPS,
            "shop",
            json!({"metadata": {"name": name, "labels": {"app": app}}}),
        );
    }
    let removed = cms
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("app=web"),
        )
        .await
        .expect("deletecollection");
    let removed = removed.left().expect("the deleted list");
    assert_eq!(removed.items.len(), 2);
    let left = cms.list(&ListParams::default()).await.expect("list");
    assert_eq!(left.items.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn scale_and_status_subresources() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 2),
    );
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");

    let scale = api.get_scale("web").await.expect("scale");
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(2));
    assert_eq!(
        scale
            .status
            .as_ref()
            .and_then(|s| s.selector.clone())
            .as_deref(),
        Some("app=web")
    );
    let scaled = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("patch scale");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    assert_eq!(
        api.get("web")
            .await
            .expect("get")
            .spec
            .expect("spec")
            .replicas,
        Some(4)
    );
    let stale = api_error(
        api.replace_scale("web", &PostParams::default(), &scale)
            .await,
    );
    assert_eq!(stale.code, 409);
    let mut bad = api.get_scale("web").await.expect("scale");
    bad.spec.as_mut().expect("spec").replicas = Some(-1);
    let invalid = api_error(api.replace_scale("web", &PostParams::default(), &bad).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));

    // Status writes change status only, and never the generation.
    let before = api.get("web").await.expect("get");
    let after = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 9}, "status": {"readyReplicas": 3, "observedGeneration": 2}})),
        )
        .await
        .expect("status patch");
    assert_eq!(
        after.status.as_ref().and_then(|s| s.ready_replicas),
        Some(3)
    );
    assert_eq!(after.spec.as_ref().and_then(|s| s.replicas), Some(4));
    assert_eq!(after.metadata.generation, before.metadata.generation);
    // And main-resource writes leave status alone.
    let replaced = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 0}})),
        )
        .await
        .expect("patch");
    assert_eq!(replaced.status.and_then(|s| s.ready_replicas), Some(3));
    sb.shutdown().await;
}

/// A running pod is deleted gracefully: marked with a deletionTimestamp (the kubelet finishes
/// the job), and removed at once with gracePeriodSeconds=0.
#[tokio::test]
async fn graceful_pod_deletion() {
    let sb = Sandbox::start().await;
    let mut running = pod("web-1", json!({"app": "web"}), "Running");
    running["spec"]["nodeName"] = json!("node-1");
    sb.create(*kinds::PODS, "shop", running);
    let pods: Api<Pod> = Api::namespaced(sb.client().await, "shop");
    let deleted = pods
        .delete("web-1", &DeleteParams::default())
        .await
        .expect("delete");
    let marked = deleted.left().expect("the terminating pod");
    assert!(marked.metadata.deletion_timestamp.is_some(), "{marked:?}");
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
    let live = pods.get("web-1").await.expect("still there");
    assert!(live.metadata.deletion_timestamp.is_some());
    // Later main-resource writes keep the mark.
    pods.patch(
        "web-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .expect("patch");
    let live = pods.get("web-1").await.expect("still there");
    assert!(live.metadata.deletion_timestamp.is_some());
    pods.delete("web-1", &DeleteParams::default().grace_period(0))
        .await
        .expect("force delete");
    assert!(pods.get_opt("web-1").await.expect("get").is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn pod_logs() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-1", json!({"app": "web"}), "Running"),
    );
    let lines: Vec<String> = (1..=5).map(|i| format!("request {i}")).collect();
    sb.cluster.store.append_log("shop", "web-1", "app", &lines);
    let pods: Api<Pod> = Api::namespaced(sb.client().await, "shop");
    let all = pods
        .logs("web-1", &LogParams::default())
        .await
        .expect("logs");
    assert_eq!(all.lines().count(), 5);
    let tail = pods
        .logs(
            "web-1",
            &LogParams {
                tail_lines: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(tail, "request 4\nrequest 5\n");

    let mut follow = pods
        .log_stream(
            "web-1",
            &LogParams {
                follow: true,
                tail_lines: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("follow")
        .lines();
    assert_eq!(next(&mut follow).await.expect("line"), "request 5");
    sb.cluster
        .store
        .append_log("shop", "web-1", "app", &["request 6".to_string()]);
    assert_eq!(next(&mut follow).await.expect("line"), "request 6");
    sb.shutdown().await;
}

#[tokio::test]
async fn bearer_token_and_discovery() {
    let sb = Sandbox::start_with_token(Some("s3cret")).await;
    let client = sb.client().await;
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let apps = discovery.get("apps").expect("apps group");
    assert!(
        apps.recommended_resources()
            .iter()
            .any(|(r, _)| r.plural == "deployments")
    );
    assert!(discovery.get("argoproj.io").is_some());
    Api::<Pod>::namespaced(client, "shop")
        .list(&ListParams::default())
        .await
        .expect("authorized");

    // The same kubeconfig with a wrong token is refused with a 401 Status.
    let text = std::fs::read_to_string(&sb.kubeconfig).expect("kubeconfig");
    let wrong = sb.file("wrong-kubeconfig", &text.replace("s3cret", "nope"));
    let pods: Api<Pod> = Api::namespaced(client_for(&wrong).await, "shop");
    let denied = api_error(pods.list(&ListParams::default()).await);
    assert_eq!((denied.code, denied.reason.as_str()), (401, "Unauthorized"));
    // Unknown paths are not an oracle for the unauthenticated; version and health are public.
    shipdeck::install_crypto_provider();
    let http = reqwest::Client::new();
    let status = |path: &str| {
        let url = format!("{}{path}", sb.url());
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("response")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("/apis/nope/v1/things").await, 401);
    assert_eq!(status("/version").await, 200);
    assert_eq!(status("/readyz").await, 200);
    sb.shutdown().await;
}

/// Every failure is a Status with the right code and reason, whatever the input.
#[tokio::test]
async fn errors_are_status_objects() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    sb.create(
        *kinds::HTTPROUTES,
        "shop",
        json!({"metadata": {"name": "r"}, "spec": {}}),
    );
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-1", json!({"app": "web"}), "Running"),
    );
    shipdeck::install_crypto_provider();
    let http = reqwest::Client::new();
    let base = sb.url();
    let deploys = format!("{base}/apis/apps/v1/namespaces/shop/deployments");
    let cases = [
        (
            http.get(format!("{base}/apis/apps/v1/namespaces/shop/widgets")),
            404,
            "NotFound",
        ),
        (http.get(format!("{deploys}/nope")), 404, "NotFound"),
        (http.put(&deploys).body("{}"), 405, "MethodNotAllowed"),
        (
            http.post(&deploys)
                .header("Content-Type", "application/json")
                .body("{not json"),
            400,
            "BadRequest",
        ),
        (
            http.post(&deploys)
                .header("Content-Type", "application/json")
                .body("[]"),
            400,
            "BadRequest",
        ),
        (
            http.post(&deploys)
                .header("Content-Type", "application/json")
                .body(r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}"#),
            400,
            "BadRequest",
        ),
        (
            http.post(&deploys)
                .header("Content-Type", "application/json")
                .body(r#"{"metadata":{"name":"Bad_Name"}}"#),
            422,
            "Invalid",
        ),
        (
            http.post(format!("{base}/api/v1/namespaces/nowhere/configmaps"))
                .header("Content-Type", "application/json")
                .body(r#"{"metadata":{"name":"x"}}"#),
            404,
            "NotFound",
        ),
        (
            http.get(format!("{deploys}?labelSelector=a%20in%20(")),
            400,
            "BadRequest",
        ),
        (
            http.get(format!("{deploys}?fieldSelector=spec.replicas%3D1")),
            400,
            "BadRequest",
        ),
        (
            http.get(format!("{deploys}?watch=true&resourceVersion=abc")),
            400,
            "BadRequest",
        ),
        (
            http.get(format!("{deploys}?watch=true&sendInitialEvents=true")),
            422,
            "Invalid",
        ),
        (
            http.post(&deploys)
                .header("Content-Type", "application/vnd.kubernetes.protobuf")
                .body(b"k8s\0\x0a\xff".to_vec()),
            415,
            "UnsupportedMediaType",
        ),
        (
            http.post(&deploys)
                .header("Content-Type", "application/json")
                .body(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
            400,
            "BadRequest",
        ),
        (
            http.get(format!("{deploys}/{}", "x".repeat(20_000))),
            404,
            "NotFound",
        ),
        (
            http.patch(format!("{deploys}/web"))
                .header("Content-Type", "application/apply-patch+yaml")
                .body(r#"{"spec":{}}"#),
            400,
            "BadRequest",
        ),
        (
            http.patch(format!("{deploys}/web"))
                .header("Content-Type", "text/plain")
                .body("x"),
            415,
            "UnsupportedMediaType",
        ),
        (
            http.patch(format!(
                "{base}/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/r"
            ))
            .header("Content-Type", "application/strategic-merge-patch+json")
            .body("{}"),
            415,
            "UnsupportedMediaType",
        ),
        (
            http.get(format!("{base}/api/v1/namespaces/shop/pods/none/log")),
            404,
            "NotFound",
        ),
        (
            http.post(format!("{deploys}/web/scale")).body("{}"),
            405,
            "MethodNotAllowed",
        ),
    ];
    for (request, code, reason) in cases {
        let request = request.build().expect("request");
        let what = format!("{} {}", request.method(), request.url());
        let response = http.execute(request).await.expect("response");
        assert_eq!(response.status().as_u16(), code, "{what}");
        let status: serde_json::Value = response.json().await.expect("JSON Status");
        assert_eq!(status["kind"], "Status", "{what}");
        assert_eq!(status["status"], "Failure", "{what}");
        assert_eq!(status["code"], code, "{what}");
        assert_eq!(status["reason"], reason, "{what}: {status}");
    }
    // Extreme but valid values are served, not a crash.
    let huge = http
        .get(format!("{deploys}?watch=true&timeoutSeconds={}", u64::MAX))
        .send()
        .await
        .expect("watch");
    assert_eq!(huge.status().as_u16(), 200);
    let logs = http
        .get(format!(
            "{base}/api/v1/namespaces/shop/pods/web-1/log?tailLines={}",
            i64::MAX
        ))
        .send()
        .await
        .expect("logs");
    assert_eq!(logs.status().as_u16(), 200);
    let version = http
        .get(format!("{base}/version"))
        .send()
        .await
        .expect("version");
    assert_eq!(version.status().as_u16(), 200);
    sb.shutdown().await;
}
