//! Injected misbehaviour of the sandbox registry, as the registry client layer will meet it:
//! auth challenges and the token flow, 429 with Retry-After, 5xx, latency and corrupted
//! manifests; and misbehaving clients, which must get errors, never a broken server. Real
//! HTTP throughout.

use crate::oci_support as support;

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::Value;
use shipdeck::sandbox::registry::{AuthPolicy, Corruption, ImageSpec, Registry};
use support::{Api, OCI_MANIFEST, error_code, header, sha256};

fn seeded() -> (std::sync::Arc<Registry>, String) {
    let registry = Registry::new();
    let digest = registry.seed("dev/orders", &["v1"], &ImageSpec::default());
    (registry, digest)
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_on_matching_paths() {
    let (registry, _) = seeded();
    let api = Api::start(registry.clone()).await;
    registry
        .faults()
        .throttle_path("/v2/dev/orders/manifests/", 2, Duration::from_secs(3));
    // Other paths are untouched.
    assert_eq!(api.get("/v2/dev/orders/tags/list").await.status(), 200);
    for _ in 0..2 {
        let response = api.get("/v2/dev/orders/manifests/v1").await;
        assert_eq!(header(&response, "retry-after"), "3");
        assert_eq!(error_code(response).await, (429, "TOOMANYREQUESTS".into()));
    }
    assert_eq!(api.get("/v2/dev/orders/manifests/v1").await.status(), 200);

    registry.faults().throttle(1, Duration::from_millis(200));
    let response = api.get("/v2/").await;
    assert_eq!(
        (response.status().as_u16(), header(&response, "retry-after")),
        (429, "1".into())
    );
}

#[tokio::test]
async fn server_errors_for_the_next_requests_then_recovery() {
    let (registry, _) = seeded();
    let api = Api::start(registry.clone()).await;
    registry.faults().fail(2, StatusCode::SERVICE_UNAVAILABLE);
    for _ in 0..2 {
        let response = api.get("/v2/dev/orders/tags/list").await;
        assert_eq!(error_code(response).await, (503, "UNAVAILABLE".into()));
    }
    assert_eq!(api.get("/v2/dev/orders/tags/list").await.status(), 200);
    registry.faults().fail_path(
        "/v2/dev/orders/blobs/",
        1,
        StatusCode::INTERNAL_SERVER_ERROR,
    );
    assert_eq!(api.get("/v2/dev/orders/manifests/v1").await.status(), 200);
    let response = api
        .get(&format!("/v2/dev/orders/blobs/{}", sha256(b"x")))
        .await;
    assert_eq!(error_code(response).await, (500, "UNKNOWN".into()));
}

#[tokio::test]
async fn latency_delays_every_request() {
    let (registry, _) = seeded();
    let api = Api::start(registry.clone()).await;
    registry.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(api.get("/v2/dev/orders/tags/list").await.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    registry.faults().clear();
    let started = Instant::now();
    assert_eq!(api.get("/v2/dev/orders/tags/list").await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(150));
}

/// `key="value"` pairs of a `WWW-Authenticate` challenge.
fn challenge_param(challenge: &str, key: &str) -> Option<String> {
    let start = challenge.find(&format!("{key}=\""))? + key.len() + 2;
    let end = challenge[start..].find('"')? + start;
    Some(challenge[start..end].to_string())
}

/// What `/token` at `url` issues, with Basic `credentials` if given.
async fn token_for(api: &Api, url: &str, credentials: Option<(&str, &str)>) -> Value {
    let mut request = api.http.get(url);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.expect("token");
    assert_eq!(response.status(), 200, "token issued");
    response.json().await.expect("json")
}

#[tokio::test]
async fn bearer_token_flow() {
    let (registry, digest) = seeded();
    registry
        .faults()
        .set_auth(Some(AuthPolicy::bearer("ci", "s3cret")));
    let api = Api::start(registry.clone()).await;
    let host = api.server.host();

    let response = api.get("/v2/").await;
    let challenge = header(&response, "www-authenticate");
    assert_eq!(
        challenge,
        format!(r#"Bearer realm="http://{host}/token",service="sandbox""#)
    );
    assert_eq!(error_code(response).await, (401, "UNAUTHORIZED".into()));
    let response = api.get("/v2/dev/orders/manifests/v1").await;
    let challenge = header(&response, "www-authenticate");
    assert_eq!(
        challenge,
        format!(
            r#"Bearer realm="http://{host}/token",service="sandbox",scope="repository:dev/orders:pull""#
        )
    );

    // The realm, asked as a client would: no credentials, wrong ones, right ones.
    let realm = challenge_param(&challenge, "realm").expect("realm");
    let scope = challenge_param(&challenge, "scope").expect("scope");
    let token_url = format!("{realm}?service=sandbox&scope={scope}");
    let anonymous = api.http.get(&token_url).send().await.expect("token");
    assert_eq!(anonymous.status(), 401);
    let wrong = api
        .http
        .get(&token_url)
        .basic_auth("ci", Some("guess"))
        .send()
        .await
        .expect("token");
    assert_eq!(wrong.status(), 401);
    let issued = token_for(&api, &token_url, Some(("ci", "s3cret"))).await;
    let token = issued["token"].as_str().expect("token").to_string();
    assert_eq!(issued["access_token"], token.as_str());
    assert_eq!(issued["expires_in"], 300);

    let authorized = |path: &str| api.http.get(api.url(path)).bearer_auth(&token).send();
    let response = authorized("/v2/dev/orders/manifests/v1")
        .await
        .expect("GET");
    assert_eq!(header(&response, "docker-content-digest"), digest);
    // Scoped: another repository, or a push, needs another token.
    let response = authorized("/v2/prod/orders/tags/list").await.expect("GET");
    assert_eq!(response.status(), 401);
    let response = api
        .http
        .post(api.url("/v2/dev/orders/blobs/uploads/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("POST");
    let challenge = header(&response, "www-authenticate");
    assert!(
        challenge.contains(r#"scope="repository:dev/orders:pull,push""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    let response = api
        .http
        .get(api.url("/v2/"))
        .bearer_auth("forged")
        .send()
        .await
        .expect("GET");
    assert!(header(&response, "www-authenticate").contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn anonymous_pull_tokens_and_expiry() {
    let (registry, _) = seeded();
    let policy = AuthPolicy::bearer("ci", "s3cret").with_anonymous_pull();
    registry.faults().set_auth(Some(policy));
    let api = Api::start(registry.clone()).await;
    let token_url = api.url("/token?service=sandbox&scope=repository:dev/orders:pull,push");
    let issued = token_for(&api, &token_url, None).await;
    let token = issued["token"].as_str().expect("token").to_string();
    let pull = api
        .http
        .get(api.url("/v2/dev/orders/tags/list"))
        .bearer_auth(&token)
        .send();
    assert_eq!(pull.await.expect("GET").status(), 200);
    // Push was asked for, but anonymous tokens only carry pull.
    let push = api
        .http
        .post(api.url("/v2/dev/orders/blobs/uploads/"))
        .bearer_auth(&token)
        .send();
    assert_eq!(push.await.expect("POST").status(), 401);

    let expiring = AuthPolicy::bearer("ci", "s3cret").with_token_ttl(Duration::ZERO);
    registry.faults().set_auth(Some(expiring));
    let issued = token_for(&api, &token_url, Some(("ci", "s3cret"))).await;
    let token = issued["token"].as_str().expect("token");
    let response = api
        .http
        .get(api.url("/v2/dev/orders/tags/list"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert!(header(&response, "www-authenticate").contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn basic_auth() {
    let (registry, _) = seeded();
    registry
        .faults()
        .set_auth(Some(AuthPolicy::basic("ci", "s3cret")));
    let api = Api::start(registry.clone()).await;
    let response = api.get("/v2/dev/orders/tags/list").await;
    assert_eq!(
        header(&response, "www-authenticate"),
        r#"Basic realm="sandbox""#
    );
    assert_eq!(response.status(), 401);
    let with = |password: &str| {
        let url = api.url("/v2/dev/orders/tags/list");
        api.http.get(url).basic_auth("ci", Some(password)).send()
    };
    assert_eq!(with("guess").await.expect("GET").status(), 401);
    assert_eq!(with("s3cret").await.expect("GET").status(), 200);
    registry.faults().set_auth(None);
    assert_eq!(api.get("/v2/dev/orders/tags/list").await.status(), 200);
}

#[tokio::test]
async fn corrupted_manifests() {
    let (registry, digest) = seeded();
    registry.seed(
        "dev/orders",
        &["v2"],
        &ImageSpec::default().with_label("v", "2"),
    );
    let api = &Api::start(registry.clone()).await;
    let fetch = |reference: String| async move {
        let response = api
            .get(&format!("/v2/dev/orders/manifests/{reference}"))
            .await;
        assert_eq!(response.status(), 200);
        let announced = header(&response, "docker-content-digest");
        (announced, response.bytes().await.expect("body"))
    };

    registry
        .faults()
        .corrupt_manifest("dev/orders", "v1", Corruption::DigestMismatch);
    for reference in ["v1".to_string(), digest.clone()] {
        let (announced, body) = fetch(reference).await;
        assert_eq!(announced, digest);
        assert_ne!(
            sha256(&body),
            announced,
            "body no longer hashes to its digest"
        );
        assert!(
            serde_json::from_slice::<Value>(&body).is_ok(),
            "still valid JSON"
        );
    }
    // Other tags are served intact.
    let (announced, body) = fetch("v2".into()).await;
    assert_eq!(sha256(&body), announced);

    registry
        .faults()
        .corrupt_manifest("dev/orders", "v1", Corruption::InvalidJson);
    let (announced, body) = fetch("v1".into()).await;
    assert_eq!(sha256(&body), announced);
    assert!(serde_json::from_slice::<Value>(&body).is_err(), "not JSON");

    registry.faults().clear();
    let (announced, body) = fetch("v1".into()).await;
    assert_eq!((sha256(&body), announced), (digest.clone(), digest));
}

#[tokio::test]
async fn malformed_requests_get_errors_and_the_server_keeps_serving() {
    let registry = Registry::new();
    registry.seed("dev/orders", &["v1"], &ImageSpec::default());
    let api = Api::start(registry.clone()).await;
    let blob = api.push_blob("dev/orders", b"0123456789").await;
    let location = header(
        &api.http
            .post(api.url("/v2/dev/orders/blobs/uploads/"))
            .send()
            .await
            .expect("POST"),
        "location",
    );
    let patch = |range: &'static str| {
        let request = api
            .http
            .patch(api.url(&location))
            .header("content-range", range);
        request.body("abc").send()
    };
    for range in ["0-18446744073709551615", "abc", "-", "5-2"] {
        let status = patch(range).await.expect("PATCH").status();
        assert_eq!(status, 416, "Content-Range {range}");
    }
    let blob_url = api.url(&format!("/v2/dev/orders/blobs/{blob}"));
    for range in [
        "bytes=-0",
        "bytes=99999999999999999999-",
        "bytes=18446744073709551615-",
    ] {
        let status = api
            .http
            .get(&blob_url)
            .header("range", range)
            .send()
            .await
            .expect("GET")
            .status();
        assert!(status == 200 || status == 416, "Range {range}: {status}");
    }
    let odd_paths = [
        "/v2/dev/orders/blobs/sha256%3",
        "/v2/dev/orders/manifests/sha256:zz",
        "/v2/_catalog?n=-1",
        "/v2/dev/orders/tags/list?n=99999999999999999999999",
        "/token?scope=:::&scope=repository:x",
    ];
    for path in odd_paths {
        let status = api.get(path).await.status();
        assert!(
            status.is_client_error() || status == 200,
            "{path}: {status}"
        );
    }
    let response = api
        .put_manifest("dev/orders", "sha256:zz", OCI_MANIFEST, b"{}")
        .await;
    assert_eq!(error_code(response).await, (400, "MANIFEST_INVALID".into()));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = api
        .put_manifest("dev/orders", "deep", OCI_MANIFEST, deep.as_bytes())
        .await;
    assert_eq!(error_code(response).await, (400, "MANIFEST_INVALID".into()));
    let response = api
        .http
        .delete(api.url("/v2/dev/orders/blobs/uploads/"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 405);

    registry
        .faults()
        .set_auth(Some(AuthPolicy::basic("ci", "pw")));
    for value in [
        "Basic",
        "Basic !!!",
        "Bearer",
        "Negotiate abc",
        "Basic Y2k=",
    ] {
        let response = api
            .http
            .get(api.url("/v2/"))
            .header("authorization", value)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 401, "Authorization: {value}");
    }
    registry.faults().set_auth(None);
    assert_eq!(api.get("/v2/dev/orders/manifests/v1").await.status(), 200);
}
