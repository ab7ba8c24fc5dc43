//! Smoke checks: "is the service responding?". One HTTP GET, either through the cluster's API
//! server service proxy (`/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH`, with the
//! environment's kube credentials, so nothing else needs to be reachable) or to a configured
//! URL. A 2xx or 3xx answer passes; anything else, or no answer, fails.

use std::time::Duration;

use super::analysis::SmokeResult;

#[derive(Clone)]
pub enum SmokeCheck {
    Proxy {
        client: kube::Client,
        namespace: String,
        service: String,
        /// Service port name or number; `None` for the Service's only port.
        port: Option<String>,
        path: String,
        timeout: Duration,
    },
    Url {
        http: reqwest::Client,
        url: String,
    },
}

impl std::fmt::Debug for SmokeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SmokeCheck {
    pub fn url(url: &str, timeout: Duration) -> Result<SmokeCheck, String> {
        crate::install_crypto_provider();
        let http = crate::net::ProxySettings::client_builder()
            .map_err(|e| e.to_string())?
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(SmokeCheck::Url {
            http,
            url: url.to_string(),
        })
    }

    /// What is asked, for reports: `GET /healthz via service shop/orders-canary:http`.
    pub fn describe(&self) -> String {
        match self {
            SmokeCheck::Proxy {
                namespace,
                service,
                port,
                path,
                ..
            } => {
                let port = port.as_deref().map(|p| format!(":{p}")).unwrap_or_default();
                format!("GET {path} via service {namespace}/{service}{port}")
            }
            SmokeCheck::Url { url, .. } => format!("GET {url}"),
        }
    }

    /// The API server path of the proxied request.
    pub fn proxy_path(namespace: &str, service: &str, port: Option<&str>, path: &str) -> String {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let path = path.strip_prefix('/').unwrap_or(path);
        format!("/api/v1/namespaces/{namespace}/services/{service}{port}/proxy/{path}")
    }

    pub async fn run(&self) -> SmokeResult {
        let target = self.describe();
        let outcome = match self {
            SmokeCheck::Proxy {
                client,
                namespace,
                service,
                port,
                path,
                timeout,
            } => {
                let uri = Self::proxy_path(namespace, service, port.as_deref(), path);
                let request = http::Request::get(uri).body(kube::client::Body::from(Vec::new()));
                match request {
                    Err(e) => Err(format!("bad request: {e}")),
                    Ok(request) => {
                        match tokio::time::timeout(*timeout, proxy(client, request)).await {
                            Ok(result) => result,
                            Err(_) => Err(format!("no answer within {}s", timeout.as_secs_f64())),
                        }
                    }
                }
            }
            SmokeCheck::Url { http, url } => match http.get(url).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    Ok((status, body))
                }
                Err(e) if e.is_timeout() => Err("no answer in time".to_string()),
                Err(e) => Err(format!("request failed: {e}")),
            },
        };
        match outcome {
            Ok((status, body)) => {
                let ok = (200..400).contains(&status);
                let detail = summarize(status, &body);
                SmokeResult {
                    target,
                    status: Some(status),
                    ok,
                    detail,
                }
            }
            Err(detail) => SmokeResult {
                target,
                status: None,
                ok: false,
                detail,
            },
        }
    }
}

async fn proxy(
    client: &kube::Client,
    request: http::Request<kube::client::Body>,
) -> Result<(u16, String), String> {
    let resp = client
        .send(request)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect_bytes()
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// `HTTP 503: no endpoints available for service "orders-canary"` — the status and the gist
/// of the body (an API server Status' message when that is what came back).
fn summarize(status: u16, body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["message"]
                .as_str()
                .or(v["error"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().chars().take(120).collect());
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_and_summaries() {
        assert_eq!(
            SmokeCheck::proxy_path("shop", "orders-canary", Some("http"), "/healthz"),
            "/api/v1/namespaces/shop/services/orders-canary:http/proxy/healthz"
        );
        assert_eq!(
            SmokeCheck::proxy_path("shop", "orders", None, "healthz"),
            "/api/v1/namespaces/shop/services/orders/proxy/healthz"
        );
        assert_eq!(summarize(200, "ok\n"), "HTTP 200: ok");
        assert_eq!(
            summarize(
                503,
                r#"{"kind":"Status","message":"no endpoints available for service \"x\""}"#
            ),
            "HTTP 503: no endpoints available for service \"x\""
        );
        assert_eq!(summarize(500, ""), "HTTP 500");
    }
}
