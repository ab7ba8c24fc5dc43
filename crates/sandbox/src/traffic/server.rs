//! The simulator over HTTP: `GET /metrics` for scrapers, and the Prometheus HTTP API's
//! query endpoints (GET or form-encoded POST, as Prometheus accepts them) with its response
//! envelope, `{"status":"success","data":…}` or `{"status":"error","errorType":…,"error":…}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::exposition::{CONTENT_TYPE, format_value};
use super::promql::{self, Labels, parse_duration};
use super::{QueryError, Traffic};

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

pub struct MetricsServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl MetricsServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL of the query API and of `/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_err()
            {
                tracing::warn!("sandbox metrics server did not stop in time");
            }
        }
    }
}

/// Serves `traffic` on `addr` and, while its clock runs in real time, keeps its counters
/// moving every resolution step (a manual clock is caught up by whoever moves it).
pub async fn serve(traffic: Arc<Traffic>, addr: SocketAddr) -> std::io::Result<MetricsServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let app = Router::new().fallback(handle).with_state(traffic.clone());
    let signal = shutdown.clone();
    let server = tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { signal.cancelled().await });
        if let Err(err) = server.await {
            tracing::warn!(%err, "sandbox metrics server stopped");
        }
    });
    let stop = shutdown.clone();
    let ticker = tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tick(traffic) => {}
        }
    });
    tracing::info!(%addr, "sandbox metrics listening");
    Ok(MetricsServer {
        addr,
        shutdown,
        tasks: vec![server, ticker],
    })
}

async fn tick(traffic: Arc<Traffic>) {
    let clock = traffic.clock().clone();
    loop {
        if clock.is_manual() {
            let mut ticks = clock.subscribe();
            if clock.is_manual() && ticks.changed().await.is_err() {
                return;
            }
            continue;
        }
        let span = jiff::SignedDuration::try_from(traffic.options().resolution).unwrap_or_default();
        tokio::time::sleep(clock.real_duration(span)).await;
        traffic.catch_up();
    }
}

async fn handle(State(traffic): State<Arc<Traffic>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut params: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if method == Method::POST {
        let body = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_else(|_| Bytes::new());
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
    };
    let readable = matches!(method, Method::GET | Method::POST);
    match path.as_str() {
        "/metrics" if method == Method::GET => {
            respond(StatusCode::OK, CONTENT_TYPE, traffic.exposition())
        }
        "/api/v1/query" if readable => instant(&traffic, &get),
        "/api/v1/query_range" if readable => range(&traffic, &get),
        "/api/v1/status/buildinfo" if method == Method::GET => success(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "shipdeck-sandbox",
            "branch": "",
            "buildUser": "shipdeck",
            "buildDate": "",
            "goVersion": "none (shipdeck sandbox)",
        })),
        "/-/ready" | "/-/healthy" => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "Sandbox metrics is Ready.\n".into(),
        ),
        "/metrics" | "/api/v1/query" | "/api/v1/query_range" | "/api/v1/status/buildinfo" => {
            respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "method not allowed\n".into(),
            )
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n".into(),
        ),
    }
}

fn instant<'a>(traffic: &Traffic, get: &impl Fn(&str) -> Option<&'a str>) -> Response {
    let Some(query) = get("query").filter(|q| !q.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\": no query given".into(),
        );
    };
    let t = match get("time") {
        Some(t) => match parse_time(t) {
            Ok(t) => t,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_data",
                    format!("invalid parameter \"time\": {e}"),
                );
            }
        },
        None => traffic.clock().now().as_millisecond(),
    };
    match traffic.query(query, t) {
        Ok(value) => success(instant_data(value, t)),
        Err(e) => query_error(e),
    }
}

fn range<'a>(traffic: &Traffic, get: &impl Fn(&str) -> Option<&'a str>) -> Response {
    let Some(query) = get("query").filter(|q| !q.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\": no query given".into(),
        );
    };
    let param = |name: &str, parse: fn(&str) -> Result<i64, String>| match get(name) {
        Some(v) => parse(v).map_err(|e| format!("invalid parameter \"{name}\": {e}")),
        None => Err(format!("invalid parameter \"{name}\": missing")),
    };
    let parsed = (
        param("start", parse_time),
        param("end", parse_time),
        param("step", parse_step),
    );
    let (start, end, step) = match parsed {
        (Ok(s), Ok(e), Ok(st)) => (s, e, st),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return error(StatusCode::BAD_REQUEST, "bad_data", e);
        }
    };
    if end < start {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "end timestamp must not be before start time".into(),
        );
    }
    if step <= 0 {
        return error(StatusCode::BAD_REQUEST, "bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer".into());
    }
    if (end - start) / step > MAX_POINTS {
        return error(StatusCode::BAD_REQUEST, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into());
    }
    match traffic.query_range(query, start, end, step) {
        Ok(series) => success(json!({
            "resultType": "matrix",
            "result": series.iter().map(|s| json!({
                "metric": metric(&s.labels),
                "values": s.samples.iter().map(|(t, v)| point(*t, *v)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })),
        Err(e) => query_error(e),
    }
}

fn instant_data(value: promql::Value, t: i64) -> Value {
    match value {
        promql::Value::Scalar(v) => json!({"resultType": "scalar", "result": point(t, v)}),
        promql::Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples.iter().map(|s| json!({"metric": metric(&s.labels), "value": point(t, s.value)})).collect::<Vec<_>>(),
        }),
        promql::Value::Matrix(series) => json!({
            "resultType": "matrix",
            "result": series.iter().map(|s| json!({
                "metric": metric(&s.labels),
                "values": s.samples.iter().map(|(t, v)| point(*t, *v)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

fn metric(labels: &Labels) -> Value {
    json!(labels)
}

/// `[<unix seconds>, "<value>"]`, the API's sample encoding.
fn point(t_ms: i64, v: f64) -> Value {
    json!([t_ms as f64 / 1000.0, format_value(v)])
}

/// Unix seconds (with a fraction) or RFC 3339, as Prometheus accepts times; in milliseconds.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        return Ok((secs * 1000.0).round() as i64);
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Seconds (with a fraction) or a Prometheus duration such as `15s`; in milliseconds.
fn parse_step(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        return Ok((secs * 1000.0).round() as i64);
    }
    parse_duration(s)
        .map(|d| d.as_millis() as i64)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

fn query_error(e: QueryError) -> Response {
    match e {
        QueryError::Parse(msg) => error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            format!("parse error: {msg}"),
        ),
        QueryError::Eval(msg) => error(StatusCode::UNPROCESSABLE_ENTITY, "execution", msg),
    }
}

fn success(data: Value) -> Response {
    json_response(StatusCode::OK, &json!({"status": "success", "data": data}))
}

fn error(status: StatusCode, kind: &str, msg: String) -> Response {
    json_response(
        status,
        &json!({"status": "error", "errorType": kind, "error": msg}),
    )
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    respond(status, "application/json", v.to_string())
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_steps_parse_like_prometheus() {
        assert_eq!(parse_time("1795000000.5"), Ok(1_795_000_000_500));
        assert_eq!(parse_time("2026-11-18T11:06:40Z"), Ok(1_795_000_000_000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_step("15"), Ok(15_000));
        assert_eq!(parse_step("1m"), Ok(60_000));
        assert!(parse_step("soon").is_err());
        assert_eq!(
            point(1_795_000_000_000, f64::NAN),
            json!([1_795_000_000.0, "NaN"])
        );
    }
}
