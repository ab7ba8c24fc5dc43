//! The registry over HTTP (OCI distribution spec v2, behaving like CNCF distribution where the
//! spec leaves room).
//!
//! Repository names contain slashes, so `/v2/...` paths are parsed here from the end (the
//! `manifests/<ref>`, `blobs/<digest>`, `blobs/uploads/<id>` and `tags/list` suffixes) rather
//! than by the router. Each request goes: latency → injected faults → auth → handler.

mod auth;
mod blobs;
mod listing;
mod manifests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Registry;
use super::error::OciError;
use super::reference::valid_repository_name;
use super::store::MAX_BLOB_BYTES;

/// A running registry; dropping it stops the server too.
pub struct RegistryServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RegistryServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`: the registry part of image references (`127.0.0.1:PORT/dev/orders:v1`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Stops accepting connections and waits (briefly) for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Idle keep-alive connections can hold a graceful shutdown open; don't wait on them.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `registry` on `addr` (port 0 picks a free one) until shut down. Must be called
/// inside a tokio runtime.
pub async fn serve(registry: Arc<Registry>, addr: SocketAddr) -> std::io::Result<RegistryServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = App {
        registry,
        tokens: Arc::new(auth::Tokens::default()),
        addr,
    };
    let router = Router::new().fallback(handle).with_state(app);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(error) = server.await {
            tracing::warn!(%error, "sandbox registry stopped");
        }
    });
    tracing::info!(%addr, "sandbox registry listening");
    Ok(RegistryServer {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

#[derive(Clone)]
struct App {
    registry: Arc<Registry>,
    tokens: Arc<auth::Tokens>,
    addr: SocketAddr,
}

impl App {
    /// `host:port` as the client addressed us (for the token realm), else our bound address.
    fn authority(&self, headers: &HeaderMap) -> String {
        headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| self.addr.to_string(), str::to_string)
    }
}

/// The `/v2/` endpoints, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Base,
    Catalog,
    Tags { name: String },
    Manifest { name: String, reference: String },
    Blob { name: String, digest: String },
    Uploads { name: String },
    Upload { name: String, id: String },
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/v2")?;
        if rest.is_empty() || rest == "/" {
            return Some(Route::Base);
        }
        let rest = rest.strip_prefix('/')?;
        if rest == "_catalog" {
            return Some(Route::Catalog);
        }
        let name = |n: &str| n.to_string();
        if let Some(n) = rest.strip_suffix("/tags/list") {
            return Some(Route::Tags { name: name(n) });
        }
        if let Some(n) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Some(Route::Uploads { name: name(n) });
        }
        let (head, last) = rest.rsplit_once('/')?;
        let (n, kind) = head.rsplit_once('/')?;
        if last.is_empty() {
            return None;
        }
        match kind {
            "manifests" => Some(Route::Manifest {
                name: name(n),
                reference: last.to_string(),
            }),
            "blobs" => Some(Route::Blob {
                name: name(n),
                digest: last.to_string(),
            }),
            "uploads" => Some(Route::Upload {
                name: name(n.strip_suffix("/blobs")?),
                id: last.to_string(),
            }),
            _ => None,
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            Route::Base | Route::Catalog => None,
            Route::Tags { name }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::Uploads { name }
            | Route::Upload { name, .. } => Some(name),
        }
    }
}

/// What a handler gets: the request, already authorized, with its body read.
struct Ctx {
    app: App,
    method: Method,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Bytes,
    grant: auth::Grant,
}

impl Ctx {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn registry(&self) -> &Registry {
        &self.app.registry
    }
}

async fn handle(State(app): State<App>, request: Request) -> Response {
    // Method and path only: queries and headers may carry account names and tokens.
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let mut response = match route(app, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response.headers_mut().insert(
        HeaderName::from_static("docker-distribution-api-version"),
        HeaderValue::from_static("registry/2.0"),
    );
    tracing::debug!(%method, path, status = response.status().as_u16(), "sandbox registry");
    response
}

async fn route(app: App, request: Request) -> Result<Response, OciError> {
    let (parts, body) = request.into_parts();
    let path = percent_decode(parts.uri.path());
    let latency = app.registry.faults().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if path == "/token" && parts.method == Method::GET {
        return auth::token(&app, &parts.headers, parts.uri.query().unwrap_or_default());
    }
    let route = Route::parse(&path).ok_or_else(|| {
        OciError::unsupported(StatusCode::NOT_FOUND, format!("no endpoint at {path}"))
    })?;
    if let Some(name) = route.name()
        && !valid_repository_name(name)
    {
        return Err(OciError::name_invalid(name));
    }
    if let Some(injected) = app.registry.faults().take_injected(&path) {
        return Err(injected);
    }
    let grant = auth::authorize(&app, &parts.headers, &route, &parts.method)?;
    let body = if matches!(parts.method, Method::PUT | Method::PATCH | Method::POST) {
        axum::body::to_bytes(body, MAX_BLOB_BYTES as usize)
            .await
            .map_err(|_| {
                OciError::size_invalid("request body too large or interrupted")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            })?
    } else {
        Bytes::new()
    };
    let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let ctx = Ctx {
        app,
        method: parts.method,
        headers: parts.headers,
        query,
        body,
        grant,
    };
    let read = matches!(ctx.method, Method::GET | Method::HEAD);
    match (&route, &ctx.method) {
        (Route::Base, _) if read => Ok(reply(StatusCode::OK, vec![json_type()], "{}".into())),
        (Route::Catalog, &Method::GET) => listing::catalog(&ctx),
        (Route::Tags { name }, &Method::GET) => listing::tags(&ctx, name),
        (Route::Manifest { name, reference }, _) if read => manifests::get(&ctx, name, reference),
        (Route::Manifest { name, reference }, &Method::PUT) => {
            manifests::put(&ctx, name, reference)
        }
        (Route::Manifest { name, reference }, &Method::DELETE) => {
            manifests::delete(&ctx, name, reference)
        }
        (Route::Blob { name, digest }, _) if read => blobs::get(&ctx, name, digest),
        (Route::Blob { name, digest }, &Method::DELETE) => blobs::delete(&ctx, name, digest),
        (Route::Uploads { name }, &Method::POST) => blobs::start(&ctx, name),
        (Route::Upload { name, id }, &Method::GET) => blobs::status(&ctx, name, id),
        (Route::Upload { name, id }, &Method::PATCH) => blobs::patch(&ctx, name, id),
        (Route::Upload { name, id }, &Method::PUT) => blobs::finish(&ctx, name, id),
        (Route::Upload { name, id }, &Method::DELETE) => blobs::cancel(&ctx, name, id),
        (_, method) => Err(OciError::unsupported(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not supported here"),
        )),
    }
}

fn json_type() -> (HeaderName, String) {
    (http::header::CONTENT_TYPE, "application/json".to_string())
}

/// A response with `headers` and `body`; `Content-Length` is the body's unless given (HEAD
/// responses pass the full body: the router drops it and keeps the length).
fn reply(status: StatusCode, headers: Vec<(HeaderName, String)>, body: Bytes) -> Response {
    let length = body.len();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        // Values are digests, numbers and paths we built; an unencodable one is dropped.
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.append(name, value);
        }
    }
    if !map.contains_key(CONTENT_LENGTH) {
        map.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// Decodes `%XX` escapes (clients may send `sha256%3A…`); invalid escapes stay as they are.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_names_with_slashes_from_the_end() {
        let parse = |p: &str| Route::parse(p);
        assert_eq!(parse("/v2/"), Some(Route::Base));
        assert_eq!(parse("/v2"), Some(Route::Base));
        assert_eq!(parse("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(
            parse("/v2/dev/orders/tags/list"),
            Some(Route::Tags {
                name: "dev/orders".into()
            })
        );
        assert_eq!(
            parse("/v2/dev/orders/manifests/v1.2.0"),
            Some(Route::Manifest {
                name: "dev/orders".into(),
                reference: "v1.2.0".into()
            })
        );
        assert_eq!(
            parse("/v2/a/blobs/blobs/sha256:ab"),
            Some(Route::Blob {
                name: "a/blobs".into(),
                digest: "sha256:ab".into()
            })
        );
        assert_eq!(
            parse("/v2/dev/orders/blobs/uploads/"),
            Some(Route::Uploads {
                name: "dev/orders".into()
            })
        );
        assert_eq!(
            parse("/v2/dev/orders/blobs/uploads/1234"),
            Some(Route::Upload {
                name: "dev/orders".into(),
                id: "1234".into()
            })
        );
        for unknown in [
            "/",
            "/v3/",
            "/v2/orders",
            "/v2/orders/manifests/",
            "/v2/x/uploads/1",
        ] {
            assert_eq!(parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn decodes_escaped_digests() {
        assert_eq!(
            percent_decode("/v2/a/blobs/sha256%3Aab"),
            "/v2/a/blobs/sha256:ab"
        );
        assert_eq!(percent_decode("/v2/%zz/%4"), "/v2/%zz/%4");
    }
}
