//! Plausible container logs: a service's start-up banner, request lines while it serves,
//! the error it dies with, and a Job's completion.

use jiff::Timestamp;
use serde_json::Value;

use crate::controllers::util::mix;
use crate::defaults::image_tag;

fn at(t: Timestamp, level: &str, msg: &str) -> String {
    format!("{} {level:<5} {msg}", t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

pub fn startup(
    pod: &Value,
    container: &str,
    image: &str,
    t: Timestamp,
    restarts: i64,
) -> Vec<String> {
    let version = image_tag(image).unwrap_or("latest");
    let port = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["ports"][0]["containerPort"].as_i64())
        .unwrap_or(8080);
    let mut lines = vec![
        at(
            t,
            "INFO",
            &format!("starting {container} version={version} pid=1"),
        ),
        at(t, "INFO", "loading configuration from environment"),
    ];
    if restarts > 0 {
        lines.push(at(
            t,
            "WARN",
            &format!("previous instance exited; restart #{restarts}"),
        ));
    }
    lines.push(at(t, "INFO", &format!("listening on :{port}")));
    lines
}

const PATHS: &[&str] = &[
    "/healthz",
    "/api/v1/items",
    "/api/v1/items/42",
    "/api/v1/orders",
    "/metrics",
    "/api/v1/cart",
];

/// One access-log line; `errors` is the share of requests answered 500.
pub fn request(seed: &str, container: &str, seq: u64, t: Timestamp, errors: f64) -> String {
    let r = mix(seed, seq);
    let path = PATHS[(r % PATHS.len() as u64) as usize];
    let method = if path.ends_with("orders") && r.is_multiple_of(3) {
        "POST"
    } else {
        "GET"
    };
    let latency = 2 + (r >> 8) % 120;
    let failed = errors > 0.0 && ((r >> 20) % 10_000) as f64 / 10_000.0 < errors;
    if failed {
        at(
            t,
            "ERROR",
            &format!(
                "{method} {path} status=500 duration={latency}ms error=\"upstream {container}-db: connection reset by peer\""
            ),
        )
    } else {
        at(
            t,
            "INFO",
            &format!("{method} {path} status=200 duration={latency}ms"),
        )
    }
}

pub fn crashed(container: &str, t: Timestamp) -> Vec<String> {
    vec![
        at(t, "INFO", "connecting to database"),
        at(
            t,
            "ERROR",
            &format!(
                "{container}: failed to connect to database: dial tcp 10.96.0.20:5432: connect: connection refused"
            ),
        ),
        at(t, "FATAL", "exiting with status 1"),
    ]
}

pub fn completed(t: Timestamp, hook_lines: Vec<String>) -> Vec<String> {
    let mut lines = vec![at(t, "INFO", "running job")];
    lines.extend(hook_lines);
    lines.push(at(t, "INFO", "job finished successfully"));
    lines
}

pub fn stopping(t: Timestamp) -> Vec<String> {
    vec![
        at(t, "INFO", "received SIGTERM, draining connections"),
        at(t, "INFO", "shutdown complete"),
    ]
}
