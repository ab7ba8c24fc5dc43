//! A client of the Prometheus HTTP API: instant queries (`/api/v1/query`) and range queries
//! (`/api/v1/query_range`). Errors name the server and the query, and keep apart what the
//! analysis must treat differently: the server unreachable or slow, the query refused, an
//! unexpected answer. An empty result is not an error: it is "no data" (`None`).

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot reach Prometheus at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus at {url} did not answer within {}s (query: {query})", timeout.as_secs_f64())]
    Timeout {
        url: String,
        query: String,
        timeout: Duration,
    },
    #[error("Prometheus at {url} refused the query ({error_type}: {error}); query: {query}")]
    Query {
        url: String,
        query: String,
        error_type: String,
        error: String,
    },
    #[error("Prometheus at {url} answered HTTP {status}: {body}; query: {query}")]
    Http {
        url: String,
        query: String,
        status: u16,
        body: String,
    },
    #[error("unexpected answer from Prometheus at {url}: {reason}; query: {query}")]
    Decode {
        url: String,
        query: String,
        reason: String,
    },
}

/// One series of an instant query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub metric: std::collections::BTreeMap<String, String>,
    pub at: Timestamp,
    pub value: f64,
}

/// One series of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub metric: std::collections::BTreeMap<String, String>,
    pub points: Vec<(Timestamp, f64)>,
}

#[derive(Debug, Clone)]
pub struct Prometheus {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Value,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
}

impl Prometheus {
    /// `base` is the server's URL (`http://127.0.0.1:9090`, or with a path prefix); every
    /// request gives up after `timeout`.
    /// A client that goes through the proxy the environment names (as kube does).
    pub fn new(base: &str, timeout: Duration) -> Result<Prometheus, String> {
        let proxy = crate::net::ProxySettings::from_env().map_err(|e| e.to_string())?;
        Self::with_proxy(base, timeout, &proxy)
    }

    pub fn with_proxy(
        base: &str,
        timeout: Duration,
        proxy: &crate::net::ProxySettings,
    ) -> Result<Prometheus, String> {
        let parsed =
            url::Url::parse(base).map_err(|e| format!("invalid Prometheus URL {base:?}: {e}"))?;
        if parsed.scheme() != "http" {
            return Err(format!(
                "Prometheus URL {base:?}: only http:// is supported (put a local proxy in front of https)"
            ));
        }
        crate::install_crypto_provider();
        let http = proxy
            .apply(reqwest::Client::builder())
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Prometheus {
            base: base.trim_end_matches('/').to_string(),
            http,
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Evaluates `query` at `at` (the server's now when `None`).
    pub async fn instant(
        &self,
        query: &str,
        at: Option<Timestamp>,
    ) -> Result<Vec<InstantSample>, ProviderError> {
        let mut form = vec![("query", query.to_string())];
        if let Some(t) = at {
            form.push(("time", seconds(t)));
        }
        let data = self.post("/api/v1/query", query, &form).await?;
        let bad = |reason: String| self.decode_error(query, reason);
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .ok_or_else(|| bad("vector without a result array".into()))?
                .iter()
                .map(|s| {
                    let (at, value) = point(&s["value"]).map_err(&bad)?;
                    Ok(InstantSample {
                        metric: labels(&s["metric"]),
                        at,
                        value,
                    })
                })
                .collect(),
            Some("scalar") => {
                let (at, value) = point(&data["result"]).map_err(&bad)?;
                Ok(vec![InstantSample {
                    metric: Default::default(),
                    at,
                    value,
                }])
            }
            other => Err(bad(format!(
                "result type {other:?} where an instant vector or scalar was expected"
            ))),
        }
    }

    /// The single number a query gives, `None` when it gives no data (no series, or NaN such
    /// as 0/0). More than one series is an error: the template must aggregate.
    pub async fn value(
        &self,
        query: &str,
        at: Option<Timestamp>,
    ) -> Result<Option<f64>, ProviderError> {
        let samples = self.instant(query, at).await?;
        match samples.as_slice() {
            [] => Ok(None),
            [one] if one.value.is_nan() => Ok(None),
            [one] => Ok(Some(one.value)),
            many => Err(self.decode_error(
                query,
                format!(
                    "{} series where one was expected (aggregate with sum(...))",
                    many.len()
                ),
            )),
        }
    }

    /// Evaluates `query` from `start` to `end` every `step`.
    pub async fn range(
        &self,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, ProviderError> {
        let form = vec![
            ("query", query.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", format!("{}", step.as_secs_f64().max(0.001))),
        ];
        let data = self.post("/api/v1/query_range", query, &form).await?;
        let bad = |reason: String| self.decode_error(query, reason);
        if data["resultType"] != "matrix" {
            return Err(bad(format!(
                "result type {} where a matrix was expected",
                data["resultType"]
            )));
        }
        data["result"]
            .as_array()
            .ok_or_else(|| bad("matrix without a result array".into()))?
            .iter()
            .map(|s| {
                let points = s["values"]
                    .as_array()
                    .ok_or_else(|| bad("series without values".into()))?
                    .iter()
                    .map(|p| point(p).map_err(&bad))
                    .collect::<Result<_, _>>()?;
                Ok(RangeSeries {
                    metric: labels(&s["metric"]),
                    points,
                })
            })
            .collect()
    }

    fn decode_error(&self, query: &str, reason: String) -> ProviderError {
        ProviderError::Decode {
            url: self.base.clone(),
            query: query.to_string(),
            reason,
        }
    }

    /// POSTs a form (queries can be longer than a URL should be) and opens the envelope.
    async fn post(
        &self,
        path: &str,
        query: &str,
        form: &[(&str, String)],
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{path}", self.base);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let resp = request.send().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout {
                    url: self.base.clone(),
                    query: query.to_string(),
                    timeout: self.timeout,
                }
            } else {
                ProviderError::Unreachable {
                    url: self.base.clone(),
                    reason: error_chain(&e),
                }
            }
        })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| ProviderError::Unreachable {
            url: self.base.clone(),
            reason: error_chain(&e),
        })?;
        // Prometheus answers refused queries with 400/422 and the usual envelope.
        match serde_json::from_str::<Envelope>(&body) {
            Ok(env) if env.status == "success" => Ok(env.data),
            Ok(env) if env.status == "error" => Err(ProviderError::Query {
                url: self.base.clone(),
                query: query.to_string(),
                error_type: env.error_type,
                error: env.error,
            }),
            _ if status != 200 => Err(ProviderError::Http {
                url: self.base.clone(),
                query: query.to_string(),
                status,
                body: body.chars().take(200).collect(),
            }),
            _ => Err(self.decode_error(
                query,
                format!(
                    "not a Prometheus API answer: {}",
                    body.chars().take(200).collect::<String>()
                ),
            )),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Unix seconds with milliseconds, as the API takes times.
fn seconds(t: Timestamp) -> String {
    format!("{:.3}", t.as_millisecond() as f64 / 1000.0)
}

fn labels(v: &Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `[<unix seconds>, "<value>"]`.
fn point(v: &Value) -> Result<(Timestamp, f64), String> {
    let secs = v[0].as_f64().ok_or_else(|| format!("bad sample {v}"))?;
    let text = v[1].as_str().ok_or_else(|| format!("bad sample {v}"))?;
    let value = match text {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        t => t.parse().map_err(|_| format!("bad sample value {t:?}"))?,
    };
    let at = Timestamp::from_millisecond((secs * 1000.0).round() as i64)
        .map_err(|e| format!("bad sample time {secs}: {e}"))?;
    Ok((at, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_samples_and_refuses_https() {
        let (at, v) = point(&json!([1795000000.5, "0.25"])).expect("sample");
        assert_eq!((at.as_millisecond(), v), (1_795_000_000_500, 0.25));
        assert!(
            point(&json!([1795000000, "NaN"]))
                .expect("sample")
                .1
                .is_nan()
        );
        assert!(point(&json!([1795000000, 3])).is_err());
        let err =
            Prometheus::new("https://prom.example.com", Duration::from_secs(1)).expect_err("https");
        assert!(err.contains("only http://"), "{err}");
        assert!(Prometheus::new("not a url", Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_in_the_error() {
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let p = Prometheus::new(&url, Duration::from_secs(2)).expect("client");
        let err = p.value("up", None).await.expect_err("nothing listens");
        assert!(matches!(err, ProviderError::Unreachable { .. }), "{err:?}");
        assert!(err.to_string().contains(&url), "{err}");
    }
}
