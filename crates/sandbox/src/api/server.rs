//! The HTTP server: listener, bearer-token check, request logging, dispatch, and shutdown that
//! ends open watches and log follows at once.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures::FutureExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::ops::Cluster;
use crate::resources::Subresource;

use super::proxy::{self, HealthyPods, ServiceBackend};
use super::route::{self, Params, ResourceRoute, Route};
use super::{discovery, openapi, patch, read, subresources, watch, write};

/// Where and how to serve one cluster.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

/// A running API server. Dropping it without [`ApiServer::shutdown`] leaves it serving until
/// the runtime ends.
pub struct ApiServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, as a kubeconfig `server:` wants it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, ends watches and follows, and waits (briefly) for responses in flight.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(3), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// What every handler can reach.
pub(crate) struct Ctx {
    pub cluster: Arc<Cluster>,
    token: Option<String>,
    /// Cancelled on shutdown; long-lived responses select on it.
    pub shutdown: CancellationToken,
    pub addr: SocketAddr,
    /// Answers for pods behind the service proxy, and whose turn it is.
    pub backend: Arc<dyn ServiceBackend>,
    pub proxy_turn: std::sync::atomic::AtomicUsize,
}

/// A request to a resource URL, with its body read.
pub(crate) struct ResourceRequest {
    pub method: Method,
    pub route: ResourceRoute,
    pub params: Params,
    pub accept: String,
    pub content_type: String,
    pub body: Bytes,
}

/// Requests larger than this are refused, as the real server's 3 MiB limit does.
const MAX_BODY: usize = 3 * 1024 * 1024;

pub async fn serve(cluster: Arc<Cluster>, opts: ServeOptions) -> std::io::Result<ApiServer> {
    serve_with(cluster, opts, Arc::new(HealthyPods)).await
}

/// Like [`serve`], with `backend` answering for pods behind the service proxy.
pub async fn serve_with(
    cluster: Arc<Cluster>,
    opts: ServeOptions,
    backend: Arc<dyn ServiceBackend>,
) -> std::io::Result<ApiServer> {
    let listener = tokio::net::TcpListener::bind(opts.addr).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let ctx = Arc::new(Ctx {
        cluster,
        token: opts.token,
        shutdown: shutdown.clone(),
        addr,
        backend,
        proxy_turn: Default::default(),
    });
    let app = Router::new().fallback(handle).with_state(ctx);
    let signal = shutdown.clone();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { signal.cancelled().await });
        if let Err(err) = server.await {
            tracing::warn!(%err, "sandbox API server stopped");
        }
    });
    tracing::info!(%addr, "sandbox API server listening");
    Ok(ApiServer {
        addr,
        shutdown,
        task,
    })
}

async fn handle(State(ctx): State<Arc<Ctx>>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    // A bug in one handler must answer 500, not drop the connection mid-request.
    let response = match AssertUnwindSafe(dispatch(&ctx, req)).catch_unwind().await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => error_response(&err),
        Err(_) => error_response(&ApiError::internal("internal error handling the request")),
    };
    let mut response = response;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was never read, so this connection cannot carry another request;
        // saying so keeps the client from sending its next request into a closing socket.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    tracing::debug!(
        cluster = %ctx.cluster.name,
        %method,
        %uri,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "api request"
    );
    response
}

fn authorized(ctx: &Ctx, headers: &HeaderMap) -> bool {
    let Some(token) = &ctx.token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given.trim() == token)
}

async fn dispatch(ctx: &Arc<Ctx>, req: Request) -> Result<Response, ApiError> {
    let route = route::parse_path(req.uri().path());
    // Like the real server's `system:public-info-viewer` role: version and health are public.
    let public = matches!(route, Ok(Route::Version | Route::Health));
    if !public && !authorized(ctx, req.headers()) {
        return Err(ApiError::unauthorized());
    }
    if let Some(target) = proxy::parse(req.uri().path()) {
        return proxy::serve(ctx, &target, req.method());
    }
    let route = route?;
    let params = route::parse_query(req.uri().query())?;
    let accept = header_str(req.headers(), header::ACCEPT);
    let method = req.method().clone();
    let get_only = |value: Value| {
        if method == Method::GET {
            Ok(json_response(StatusCode::OK, &value))
        } else {
            Err(method_not_allowed())
        }
    };
    match route {
        Route::Version => get_only(discovery::version()),
        Route::Health => {
            if method == Method::GET {
                Ok(text_response(StatusCode::OK, "ok"))
            } else {
                Err(method_not_allowed())
            }
        }
        Route::CoreVersions | Route::Groups => {
            let core = route == Route::CoreVersions;
            match discovery::aggregated_version(&accept) {
                Some(v) if method == Method::GET => Ok(bytes_response(
                    StatusCode::OK,
                    to_vec(&discovery::aggregated(core, v)),
                    &discovery::aggregated_content_type(v),
                )),
                _ if core => get_only(discovery::core_versions(&ctx.addr.to_string())),
                _ => get_only(discovery::group_list()),
            }
        }
        Route::Group(g) => get_only(discovery::group(&g)),
        Route::GroupVersion { group, version } => {
            get_only(discovery::resource_list(&group, &version))
        }
        Route::OpenApiIndex => get_only(openapi::index()),
        Route::OpenApiDoc { group, version } => {
            if method != Method::GET {
                return Err(method_not_allowed());
            }
            Ok(bytes_response(
                StatusCode::OK,
                openapi::document(&group, &version).to_vec(),
                "application/json",
            ))
        }
        Route::Resource(route) => {
            let content_type = header_str(req.headers(), header::CONTENT_TYPE);
            let body = if matches!(method, Method::GET | Method::HEAD) {
                Bytes::new()
            } else {
                axum::body::to_bytes(req.into_body(), MAX_BODY)
                    .await
                    .map_err(|_| {
                        ApiError::new(
                            413,
                            "RequestEntityTooLarge",
                            "the request body is too large or could not be read",
                        )
                    })?
            };
            let request = ResourceRequest {
                method,
                route,
                params,
                accept,
                content_type,
                body,
            };
            resource(ctx, request).await
        }
    }
}

async fn resource(ctx: &Arc<Ctx>, req: ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    if ctx
        .cluster
        .deny_api_writes
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        let verb = match (&req.method, &r.name) {
            (&Method::POST, _) => Some("create"),
            (&Method::PUT, _) => Some("update"),
            (&Method::PATCH, _) => Some("patch"),
            (&Method::DELETE, None) => Some("deletecollection"),
            (&Method::DELETE, Some(_)) => Some("delete"),
            _ => None,
        };
        if let Some(verb) = verb {
            // The kubeconfig the sandbox writes names its user after the context.
            let user = format!("sandbox-{}", ctx.cluster.name);
            return Err(ApiError::forbidden(verb, r.res.get(), r.ns(), &user));
        }
    }
    match (&req.method, &r.name, r.sub) {
        (&Method::GET, None, None) if req.params.watch || r.watch_prefix => watch::serve(ctx, &req),
        (&Method::GET, Some(_), None) if req.params.watch || r.watch_prefix => {
            watch::serve(ctx, &req)
        }
        (&Method::GET, None, None) => read::list(ctx, &req).await,
        (&Method::POST, None, None) => write::create(ctx, &req),
        (&Method::DELETE, None, None) => write::delete_collection(ctx, &req),
        (&Method::GET, Some(_), None | Some(Subresource::Status)) => read::get(ctx, &req),
        (&Method::PUT, Some(_), None | Some(Subresource::Status)) => write::replace(ctx, &req),
        (&Method::DELETE, Some(_), None) => write::delete(ctx, &req),
        (&Method::PATCH, Some(_), None | Some(Subresource::Status)) => patch::patch(ctx, &req),
        (&Method::GET, Some(_), Some(Subresource::Scale)) => subresources::get_scale(ctx, &req),
        (&Method::PUT, Some(_), Some(Subresource::Scale)) => subresources::put_scale(ctx, &req),
        (&Method::PATCH, Some(_), Some(Subresource::Scale)) => subresources::patch_scale(ctx, &req),
        (&Method::GET, Some(_), Some(Subresource::Log)) => subresources::log(ctx, &req),
        _ => Err(method_not_allowed()),
    }
}

pub(crate) fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed("the server does not allow this method on the requested resource")
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn to_vec(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn bytes_response(status: StatusCode, body: Vec<u8>, content_type: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    bytes_response(status, to_vec(value), "application/json")
}

/// Adds a `Warning: 299 - "<text>"` header per warning (kubectl prints them as
/// `Warning: <text>`), as the real server does for e.g. unknown fields under
/// `fieldValidation=Warn`.
pub(crate) fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        let quoted = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = axum::http::HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            response
                .headers_mut()
                .append(axum::http::header::WARNING, value);
        }
    }
    response
}

pub(crate) fn text_response(status: StatusCode, text: &str) -> Response {
    bytes_response(status, text.as_bytes().to_vec(), "text/plain")
}

pub(crate) fn error_response(err: &ApiError) -> Response {
    let status = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &err.to_status())
}

/// Parses a JSON request body; the real server's message for undecodable input.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })
}
