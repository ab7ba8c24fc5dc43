//! The service proxy: `/api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}`,
//! as `kubectl get --raw` and smoke checks use it. Like the real API server it resolves the
//! Service port (by name or number), takes the ready addresses of the Service's Endpoints
//! with that port, and forwards to one of them (in turn rather than at random, so tests are
//! deterministic); with none it answers 503 `no endpoints available for service "NAME"`.
//! What the chosen pod answers is up to a [`ServiceBackend`]: in the sandbox world, the
//! traffic simulator, which follows the pod's image fault label.

use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::kinds;

use super::server::{Ctx, bytes_response};

/// What a pod behind a Service answers to a proxied request.
pub trait ServiceBackend: Send + Sync {
    /// `pod` is the chosen endpoint's Pod object; `path` starts with `/`.
    fn respond(&self, cluster: &str, pod: &Value, method: &Method, path: &str) -> ProxyReply;
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// Every pod answers `200 ok` (API servers started without a simulator behind them).
pub struct HealthyPods;

impl ServiceBackend for HealthyPods {
    fn respond(&self, _: &str, _: &Value, _: &Method, _: &str) -> ProxyReply {
        ProxyReply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: "ok".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyTarget {
    pub namespace: String,
    pub service: String,
    /// Service port name or number; empty when the URL names none.
    pub port: String,
    pub path: String,
}

/// Recognizes a service proxy path (anything else is left to the resource router).
pub(crate) fn parse(path: &str) -> Option<ProxyTarget> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let (namespace, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("services/")?;
    let (id, rest) = rest.split_once('/')?;
    let tail = match rest.strip_prefix("proxy") {
        Some("") => "/",
        Some(tail) if tail.starts_with('/') => tail,
        _ => return None,
    };
    let parts: Vec<&str> = id.split(':').collect();
    let (service, port) = match parts.as_slice() {
        [name] => (*name, ""),
        [name, port] => (*name, *port),
        [_scheme, name, port] => (*name, *port),
        _ => return None,
    };
    Some(ProxyTarget {
        namespace: namespace.to_string(),
        service: service.to_string(),
        port: port.to_string(),
        path: tail.to_string(),
    })
}

pub(crate) fn serve(
    ctx: &Ctx,
    target: &ProxyTarget,
    method: &Method,
) -> Result<Response, ApiError> {
    let cluster = &ctx.cluster;
    let ns = target.namespace.as_str();
    let svc = cluster.get(*kinds::SERVICES, ns, &target.service)?;
    let unavailable = |msg: String| ApiError::new(503, "ServiceUnavailable", msg);
    let port_name = service_port_name(&svc, &target.port).ok_or_else(|| {
        unavailable(format!(
            "no service port {:?} found for service {:?}",
            target.port, target.service
        ))
    })?;
    let no_endpoints = || {
        unavailable(format!(
            "no endpoints available for service {:?}",
            target.service
        ))
    };
    let endpoints = cluster
        .store
        .get(*kinds::ENDPOINTS, ns, &target.service)
        .ok_or_else(no_endpoints)?;
    let pods: Vec<String> = endpoints["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            s["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"].as_str().unwrap_or_default() == port_name)
        })
        .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
        .filter_map(|a| a["targetRef"]["name"].as_str().map(str::to_string))
        .collect();
    if pods.is_empty() {
        return Err(no_endpoints());
    }
    let turn = ctx.proxy_turn.fetch_add(1, Ordering::Relaxed);
    let pod_name = &pods[turn % pods.len()];
    let pod = cluster.get(*kinds::PODS, ns, pod_name)?;
    let reply = ctx
        .backend
        .respond(&cluster.name, &pod, method, &target.path);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    Ok(bytes_response(
        status,
        reply.body.into_bytes(),
        reply.content_type,
    ))
}

/// The name of the Service port the URL asks for (by name or number). A URL without a port
/// takes the Service's only port; the real server requires the name unless that port is
/// unnamed, which would make `services/orders/proxy/` fail for the demo's named ports.
fn service_port_name(svc: &Value, asked: &str) -> Option<String> {
    let ports = svc["spec"]["ports"].as_array()?;
    let name_of = |p: &Value| p["name"].as_str().unwrap_or_default().to_string();
    if asked.is_empty() {
        return match ports.as_slice() {
            [only] => Some(name_of(only)),
            _ => ports.iter().find(|p| name_of(p).is_empty()).map(name_of),
        };
    }
    ports
        .iter()
        .find(|p| name_of(p) == asked || p["port"].as_i64().is_some_and(|n| n.to_string() == asked))
        .map(name_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_service_proxy_paths() {
        let t = parse("/api/v1/namespaces/shop/services/orders:http/proxy/healthz").expect("proxy");
        assert_eq!(
            (
                t.namespace.as_str(),
                t.service.as_str(),
                t.port.as_str(),
                t.path.as_str()
            ),
            ("shop", "orders", "http", "/healthz")
        );
        let t = parse("/api/v1/namespaces/shop/services/https:orders:443/proxy").expect("proxy");
        assert_eq!(
            (t.service.as_str(), t.port.as_str(), t.path.as_str()),
            ("orders", "443", "/")
        );
        assert_eq!(
            parse("/api/v1/namespaces/shop/services/orders").map(|t| t.path),
            None
        );
        assert_eq!(
            parse("/api/v1/namespaces/shop/services/orders/proxyx"),
            None
        );
        assert_eq!(parse("/api/v1/namespaces/shop/pods/orders/proxy/"), None);
    }

    #[test]
    fn finds_service_ports_by_name_or_number() {
        let svc = json!({"spec": {"ports": [{"name": "http", "port": 80}, {"name": "grpc", "port": 9090}]}});
        assert_eq!(service_port_name(&svc, "80").as_deref(), Some("http"));
        assert_eq!(service_port_name(&svc, "grpc").as_deref(), Some("grpc"));
        assert_eq!(service_port_name(&svc, "8080"), None);
        assert_eq!(service_port_name(&svc, ""), None);
        let one = json!({"spec": {"ports": [{"name": "http", "port": 80}]}});
        assert_eq!(service_port_name(&one, "").as_deref(), Some("http"));
    }
}
