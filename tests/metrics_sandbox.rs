//! The sandbox's traffic simulator over HTTP, on the demo world and a manual clock: `/metrics`
//! in the text format, the Prometheus query API evaluating real series (route weights, faulty
//! images), its errors, and the API server's service proxy answering per the fault labels.

use serde_json::Value;
use shipdeck::sandbox::world::{World, WorldOptions};

async fn demo() -> World {
    shipdeck::install_crypto_provider();
    World::start(WorldOptions {
        manual_clock: true,
        ..WorldOptions::default()
    })
    .await
    .expect("demo world starts")
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The single value of an instant query (via GET), or `None` for an empty result.
async fn value(base: &str, query: &str) -> Option<f64> {
    let url = format!("{base}/api/v1/query?query={}", urlencode(query));
    let (status, body) = get(&url).await;
    assert_eq!(status, 200, "{query}: {body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "success", "{body}");
    assert_eq!(v["data"]["resultType"], "vector", "{body}");
    let result = v["data"]["result"].as_array().expect("result");
    assert!(
        result.len() <= 1,
        "{query}: one series expected, got {body}"
    );
    let text = result.first()?["value"][1].as_str().expect("string value");
    Some(text.parse().expect("a number"))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn ratio(env: &str, service: &str, num: &str, den: &str) -> String {
    format!(
        "sum(rate(http_requests_total{{env=\"{env}\",service=\"{service}\",{num}}}[1m])) / sum(rate(http_requests_total{{env=\"{env}\",service=\"{service}\"{den}}}[1m]))"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_api_follows_routes_and_faults() {
    let world = demo().await;
    let base = world.metrics_url().expect("metrics server");
    world.advance(std::time::Duration::from_secs(60));

    // prod orders: the HTTPRoute sends 25% to the canary; both share one entry's jitter.
    let share = value(&base, &ratio("prod", "orders", "track=\"canary\"", "")).await;
    assert!((share.expect("traffic") - 0.25).abs() < 1e-9, "{share:?}");

    // dev search: the canary runs v3.2.0, labelled errors=0.2 (±20% jitter), at 10%.
    let canary_errors = value(
        &base,
        &ratio(
            "dev",
            "search",
            "track=\"canary\",code=~\"5..\"",
            ",track=\"canary\"",
        ),
    )
    .await;
    let canary_errors = canary_errors.expect("canary traffic");
    assert!((0.15..=0.25).contains(&canary_errors), "{canary_errors}");
    let stable_errors = value(
        &base,
        &ratio(
            "dev",
            "search",
            "track=\"stable\",code=~\"5..\"",
            ",track=\"stable\"",
        ),
    )
    .await;
    assert!(
        stable_errors.expect("stable traffic") < 0.002,
        "{stable_errors:?}"
    );
    let p99 = |track: &str| {
        format!(
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{env=\"dev\",service=\"search\",track=\"{track}\"}}[1m])))"
        )
    };
    let slow = value(&base, &p99("canary")).await.expect("canary latency");
    let fast = value(&base, &p99("stable")).await.expect("stable latency");
    assert!(
        slow > 0.3 && fast < 0.2,
        "canary p99 {slow}, stable p99 {fast}"
    );

    // A canary scaled to zero has no series at all: no data, not zero.
    let idle = value(
        &base,
        r#"sum(rate(http_requests_total{env="prod",service="inventory",track="canary"}[1m]))"#,
    )
    .await;
    assert_eq!(idle, None);

    // Counters only move with the clock.
    let total = r#"sum(http_requests_total{env="prod",service="orders"})"#;
    let before = value(&base, total).await.expect("counter");
    assert_eq!(value(&base, total).await, Some(before));
    world.advance(std::time::Duration::from_secs(30));
    let after = value(&base, total).await.expect("counter");
    let rate = (after - before) / 30.0;
    assert!((20.0 * 0.85..=200.0 * 1.15).contains(&rate), "{rate} rps");

    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_exposition_range_queries_and_errors() {
    let world = demo().await;
    let base = world.metrics_url().expect("metrics server");
    world.advance(std::time::Duration::from_secs(30));

    // The shipdeck.toml the sandbox writes points analysis at this server.
    let text = world.config().to_toml();
    let config = shipdeck::config::parse_str(&text, std::path::Path::new("shipdeck.toml"))
        .expect("parses back");
    assert_eq!(
        config.sandbox.and_then(|s| s.metrics).as_deref(),
        Some(base.as_str())
    );
    let orders = config
        .services
        .iter()
        .find(|s| s.name == "orders")
        .expect("orders");
    let analysis = orders.analysis.as_ref().expect("analysed");
    assert_eq!(
        (analysis.error_rate_max, analysis.latency_p99_ms_max),
        (Some(0.01), Some(300.0))
    );

    let resp = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    let content_type = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.text().await.expect("body");
    assert!(text.contains("# TYPE http_requests_total counter"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    let canary = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(r#"env="prod""#)
                && l.contains(r#"track="canary""#)
                && l.contains(r#"code="200""#)
        })
        .expect("prod canary series");
    assert!(
        canary.contains(r#"service="orders""#) && canary.contains(r#"version="v1.5.0""#),
        "{canary}"
    );

    // A range query: one point per step over the last two minutes.
    let now = world.clock.now().as_second();
    let q =
        urlencode(r#"sum by (track) (rate(http_requests_total{env="prod",service="orders"}[1m]))"#);
    let url = format!(
        "{base}/api/v1/query_range?query={q}&start={}&end={now}&step=15s",
        now - 120
    );
    let (status, body) = get(&url).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["data"]["resultType"], "matrix");
    let series = v["data"]["result"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{body}");
    assert!(
        series
            .iter()
            .all(|s| s["values"].as_array().is_some_and(|p| p.len() == 9)),
        "{body}"
    );

    // POST with a form body, as Prometheus clients may send it.
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/query"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("query={}&time={now}", urlencode("1 + 1")))
        .send()
        .await
        .expect("post");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(
        v["data"],
        serde_json::json!({"resultType": "scalar", "result": [now as f64, "2"]})
    );

    // What it cannot evaluate is refused the way Prometheus refuses, never guessed.
    for (query, status, kind, says) in [
        (
            "topk(3, http_requests_total)",
            400,
            "bad_data",
            "unsupported function",
        ),
        (
            "sum(rate(http_requests_total[1m]) offset 5m)",
            400,
            "bad_data",
            "offset",
        ),
        ("rate(http_requests_total)", 400, "bad_data", "range vector"),
    ] {
        let (s, body) = get(&format!("{base}/api/v1/query?query={}", urlencode(query))).await;
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            (s, v["status"].as_str(), v["errorType"].as_str()),
            (status, Some("error"), Some(kind)),
            "{query}: {body}"
        );
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains(says)),
            "{query}: {body}"
        );
    }
    let (s, body) = get(&format!("{base}/api/v1/query")).await;
    assert!(s == 400 && body.contains("no query given"), "{body}");
    let (s, body) = get(&format!("{base}/api/v1/status/buildinfo")).await;
    assert!(s == 200 && body.contains("\"version\""), "{body}");

    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_proxy_answers_per_fault_label() {
    let world = demo().await;
    let proxy = |env: &str, target: &str| {
        format!(
            "{}/api/v1/namespaces/shop/services/{target}/proxy/healthz",
            world.env(env).url()
        )
    };
    let (status, body) = get(&proxy("prod", "orders:http")).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _) = get(&proxy("prod", "orders-stable:80")).await;
    assert_eq!(status, 200);

    // The prod canary of inventory is scaled to zero: like the real server, 503.
    let (status, body) = get(&proxy("prod", "inventory-canary")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(r#"no endpoints available for service \"inventory-canary\""#),
        "{body}"
    );
    let (status, body) = get(&proxy("prod", "orders:8080")).await;
    assert!(status == 503 && body.contains("no service port"), "{body}");
    let (status, body) = get(&proxy("prod", "nope")).await;
    assert!(
        status == 404 && body.contains(r#"services \"nope\" not found"#),
        "{body}"
    );

    // dev search-canary runs an image labelled errors=0.2: one answer in five fails.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(get(&proxy("dev", "search-canary:http")).await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 500).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        8,
        "{statuses:?}"
    );

    // Other paths answer like the service, naming the version that served.
    let url = format!(
        "{}/api/v1/namespaces/shop/services/orders-canary:http/proxy/api/orders",
        world.env("prod").url()
    );
    let (status, body) = get(&url).await;
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (status, v["version"].as_str(), v["path"].as_str()),
        (200, Some("v1.5.0"), Some("/api/orders"))
    );

    world.shutdown().await;
}
