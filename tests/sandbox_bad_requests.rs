//! Bad requests over raw HTTP get what a real API server answers: a `Status` object (kind
//! Status, apiVersion v1, status Failure, code, reason) with the HTTP code to match, and
//! never a panic, a dropped connection or a request that hangs.

use crate::common;

use std::time::Duration;

use common::{Sandbox, deployment};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shipdeck::sandbox::resources::kinds;

const DEPLOYS: &str = "/apis/apps/v1/namespaces/shop/deployments";

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(sb: &Sandbox) -> Http {
        shipdeck::install_crypto_provider();
        Http {
            base: sb.url(),
            // A hung request fails the test instead of stalling it.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let code = resp.status();
        let text = resp.text().await.expect("whole body");
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        (code, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    async fn post_json(&self, path: &str, body: &str) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }
}

/// Asserts a failure `Status` with this HTTP code and reason; returns its message.
#[track_caller]
fn failure((code, status): &(StatusCode, Value), want: u16, reason: &str) -> String {
    assert_eq!(code.as_u16(), want, "{status:#}");
    assert_eq!(status["kind"], "Status", "{status:#}");
    assert_eq!(status["apiVersion"], "v1", "{status:#}");
    assert_eq!(status["status"], "Failure", "{status:#}");
    assert_eq!(status["code"], want, "{status:#}");
    assert_eq!(status["reason"], reason, "{status:#}");
    status["message"].as_str().expect("a message").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies() {
    let sb = Sandbox::start().await;
    let http = Http::new(&sb);
    let web = deployment("web", "registry.local/web:1.0", 1).to_string();

    // Undecodable JSON, an empty body.
    failure(
        &http
            .post_json(DEPLOYS, r#"{"metadata": {"name": "web""#)
            .await,
        400,
        "BadRequest",
    );
    failure(&http.post_json(DEPLOYS, "").await, 400, "BadRequest");
    failure(&http.post_json(DEPLOYS, "[1, 2]").await, 400, "BadRequest");

    // The body's apiVersion or kind is not the URL's.
    let mut wrong_group = deployment("web", "registry.local/web:1.0", 1);
    wrong_group["apiVersion"] = json!("v1");
    let msg = failure(
        &http.post_json(DEPLOYS, &wrong_group.to_string()).await,
        400,
        "BadRequest",
    );
    assert!(msg.contains("apps/v1"), "{msg}");
    let mut wrong_kind = deployment("web", "registry.local/web:1.0", 1);
    wrong_kind["kind"] = json!("ReplicaSet");
    let msg = failure(
        &http.post_json(DEPLOYS, &wrong_kind.to_string()).await,
        400,
        "BadRequest",
    );
    assert!(msg.contains("Deployment"), "{msg}");

    // Name in the URL and in the body disagree.
    let (code, _) = http.post_json(DEPLOYS, &web).await;
    assert_eq!(code, 201);
    let msg = failure(
        &http
            .send(
                Method::PUT,
                &format!("{DEPLOYS}/other"),
                Some("application/json"),
                web.clone(),
            )
            .await,
        400,
        "BadRequest",
    );
    assert_eq!(
        msg,
        "the name of the object (web) does not match the name on the URL (other)"
    );

    // Over the 3 MiB request limit: 413, the connection answered, not reset.
    let huge = format!(
        r#"{{"metadata": {{"name": "big", "annotations": {{"a": "{}"}}}}}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    failure(
        &http
            .send(
                Method::POST,
                "/api/v1/namespaces/shop/configmaps",
                Some("application/json"),
                huge,
            )
            .await,
        413,
        "RequestEntityTooLarge",
    );
    assert!(sb.cluster.get(*kinds::CONFIGMAPS, "shop", "big").is_err());

    // Nothing above broke the server.
    let (code, version) = http.get("/version").await;
    assert_eq!(code, 200);
    assert_eq!(version["major"], "1");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_methods_and_namespaces() {
    let sb = Sandbox::start().await;
    let http = Http::new(&sb);
    let web = deployment("web", "registry.local/web:1.0", 1).to_string();

    // Unknown resources and groups: the generic 404 of the mux.
    for path in [
        "/api/v1/namespaces/shop/widgets",
        "/apis/nope.example.com/v1/namespaces/shop/widgets",
        "/apis/apps/v9/namespaces/shop/deployments",
    ] {
        let msg = failure(&http.get(path).await, 404, "NotFound");
        assert_eq!(
            msg, "the server could not find the requested resource",
            "{path}"
        );
    }

    // A missing namespace: lists are empty, reads are NotFound for the object, creates
    // NotFound for the namespace.
    let (code, list) = http
        .get("/apis/apps/v1/namespaces/nowhere/deployments")
        .await;
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "DeploymentList");
    assert_eq!(list["items"], json!([]));
    let msg = failure(
        &http
            .get("/apis/apps/v1/namespaces/nowhere/deployments/web")
            .await,
        404,
        "NotFound",
    );
    assert_eq!(msg, "deployments.apps \"web\" not found");
    let msg = failure(
        &http
            .post_json("/apis/apps/v1/namespaces/nowhere/deployments", &web)
            .await,
        404,
        "NotFound",
    );
    assert_eq!(msg, "namespaces \"nowhere\" not found");

    // Methods a resource does not have.
    let (code, _) = http.post_json(DEPLOYS, &web).await;
    assert_eq!(code, 201);
    for (method, path) in [
        (Method::POST, format!("{DEPLOYS}/web")),
        (Method::PUT, DEPLOYS.to_string()),
        (Method::PATCH, DEPLOYS.to_string()),
        (Method::DELETE, "/version".to_string()),
        (Method::POST, format!("{DEPLOYS}/web/scale")),
    ] {
        let resp = http
            .send(method.clone(), &path, Some("application/json"), "{}")
            .await;
        failure(&resp, 405, "MethodNotAllowed");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_selectors_resource_versions_and_patches() {
    let sb = Sandbox::start().await;
    let http = Http::new(&sb);
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );

    for selector in ["app%20in%20(web", "app%3D%3D%3Dweb", "!", "a%20b"] {
        failure(
            &http
                .get(&format!("{DEPLOYS}?labelSelector={selector}"))
                .await,
            400,
            "BadRequest",
        );
    }
    let msg = failure(
        &http
            .get("/api/v1/namespaces/shop/pods?fieldSelector=spec.foo%3Dbar")
            .await,
        400,
        "BadRequest",
    );
    assert!(msg.contains("field label not supported: spec.foo"), "{msg}");
    failure(
        &http.get(&format!("{DEPLOYS}?fieldSelector=nonsense")).await,
        400,
        "BadRequest",
    );

    // resourceVersion must be a number (the etcd store's answer).
    for path in [
        format!("{DEPLOYS}?resourceVersion=abc"),
        format!("{DEPLOYS}?watch=true&resourceVersion=abc"),
        format!("{DEPLOYS}/web?resourceVersion=-1"),
    ] {
        let msg = failure(&http.get(&path).await, 400, "BadRequest");
        assert!(msg.starts_with("invalid resource version"), "{path}: {msg}");
    }

    // Patches: an unknown content type is 415 (in the router's words, as kube-apiserver's
    // go-restful router answers for built-in kinds); a JSON patch that is not a list of
    // operations is 400; one that cannot be applied is 422.
    let item = format!("{DEPLOYS}/web");
    let msg = failure(
        &http
            .send(Method::PATCH, &item, Some("text/plain"), "spec: {}")
            .await,
        415,
        "UnsupportedMediaType",
    );
    assert_eq!(msg, "415: Unsupported Media Type");
    failure(
        &http
            .send(
                Method::PATCH,
                &item,
                Some("application/json-patch+json"),
                r#"{"op": "add"}"#,
            )
            .await,
        400,
        "BadRequest",
    );
    failure(
        &http
            .send(
                Method::PATCH,
                &item,
                Some("application/json-patch+json"),
                r#"[{"op": "remove", "path": "/spec/nothing/here"}]"#,
            )
            .await,
        422,
        "Invalid",
    );
    failure(
        &http
            .send(
                Method::PATCH,
                &item,
                Some("application/merge-patch+json"),
                "{not json",
            )
            .await,
        400,
        "BadRequest",
    );
    let d = sb
        .cluster
        .get(*kinds::DEPLOYMENTS, "shop", "web")
        .expect("web");
    assert_eq!(d["metadata"]["generation"], 1, "no bad patch changed it");
    sb.shutdown().await;
}

/// A watch from a compacted resourceVersion is a 200 stream with one ERROR event (410
/// Expired), then the end of the stream: what client-go and kube-rs re-list on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_compacted_version_is_an_error_event() {
    let sb = Sandbox::start().await;
    let http = Http::new(&sb);
    for name in ["a", "b", "c"] {
        sb.create(
            *kinds::DEPLOYMENTS,
            "shop",
            deployment(name, "registry.local/web:1.0", 1),
        );
    }
    sb.cluster
        .store
        .compact(sb.cluster.store.resource_version());
    let resp = http
        .client
        .get(format!(
            "{}{DEPLOYS}?watch=true&resourceVersion=1&allowWatchBookmarks=true",
            http.base
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    // The whole body arriving (within the client's timeout) means the server closed it.
    let body = resp.text().await.expect("the stream ends");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 1, "{body}");
    let event: Value = serde_json::from_str(lines[0]).expect("JSON event");
    assert_eq!(event["type"], "ERROR");
    let status = &event["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too old resource version: 1 (")),
        "{status}"
    );
    sb.shutdown().await;
}
