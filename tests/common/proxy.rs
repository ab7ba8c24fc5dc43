//! An HTTP proxy in front of a real `docker-registry` for what the registry itself cannot do:
//! inject 429/5xx (with `Retry-After`), paginate tag lists (distribution 2.8 ignores `n`;
//! distribution 3 and most hosted registries paginate), drop `Docker-Content-Digest`, replace
//! a response body, tamper with tag pushes, and demand bearer tokens from its own token
//! endpoint (docker-registry's token auth needs a signing service we do not have here).
//! Everything else is forwarded unchanged, so the data is the real registry's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine;

/// How the proxy pages `tags/list`.
#[derive(Clone, Copy, PartialEq)]
pub enum Paging {
    /// Forward as is.
    Off,
    /// Honour `n`/`last`, announce the next page in a relative `Link` header.
    Link,
    /// Honour `n`/`last` but never send `Link` (clients must ask with `last`).
    LastOnly,
}

/// One injected failure.
pub struct Fault {
    pub method: Method,
    pub path_contains: String,
    pub status: u16,
    pub retry_after: Option<String>,
    /// Matching requests let through before the fault starts.
    pub skip: usize,
    pub remaining: usize,
}

struct Bearer {
    user: String,
    password: String,
    anonymous_pull: bool,
    /// token → granted (repository, action)
    tokens: HashMap<String, HashSet<(String, String)>>,
}

#[derive(Default)]
struct Knobs {
    faults: Vec<Fault>,
    paging: Option<Paging>,
    strip_digests: bool,
    tamper_tag_puts: usize,
    /// path fragment → (content type, body) served instead of the registry's answer
    replace: Vec<(String, String, Vec<u8>)>,
    bearer: Option<Bearer>,
    hits: Vec<(Method, String, u16)>,
    /// (path, Authorization value) of every request that carried one
    authorization_seen: Vec<(String, String)>,
}

struct Shared {
    upstream: String,
    own: String,
    http: reqwest::Client,
    knobs: Mutex<Knobs>,
}

pub struct Proxy {
    /// `127.0.0.1:PORT` to point clients at.
    pub host: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(upstream_host: &str) -> Proxy {
        shipdeck::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let host = listener.local_addr().expect("addr").to_string();
        let shared = Arc::new(Shared {
            upstream: format!("http://{upstream_host}"),
            own: format!("http://{host}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            knobs: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy { host, shared, task }
    }

    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.shared.knobs.lock().expect("knobs")
    }

    /// The next `times` requests matching `method` and `path_contains` get `status`.
    pub fn fail(
        &self,
        method: Method,
        path_contains: &str,
        status: u16,
        times: usize,
        retry_after: Option<&str>,
    ) {
        self.fail_after(0, method, path_contains, status, times, retry_after);
    }

    /// Like `fail`, after letting `skip` matching requests through.
    pub fn fail_after(
        &self,
        skip: usize,
        method: Method,
        path_contains: &str,
        status: u16,
        times: usize,
        retry_after: Option<&str>,
    ) {
        self.knobs().faults.push(Fault {
            method,
            path_contains: path_contains.into(),
            status,
            retry_after: retry_after.map(str::to_string),
            skip,
            remaining: times,
        });
    }

    pub fn paginate(&self, paging: Paging) {
        self.knobs().paging = Some(paging);
    }

    pub fn strip_digests(&self) {
        self.knobs().strip_digests = true;
    }

    /// Adds an annotation to the next `times` manifests pushed by tag, so the registry
    /// stores other bytes than were sent.
    pub fn tamper_tag_puts(&self, times: usize) {
        self.knobs().tamper_tag_puts = times;
    }

    /// Answers GETs whose path contains `path_contains` with this body instead.
    pub fn replace(&self, path_contains: &str, content_type: &str, body: &[u8]) {
        self.knobs()
            .replace
            .push((path_contains.into(), content_type.into(), body.to_vec()));
    }

    /// Demands bearer tokens from `/token`, issued for `user`/`password` (pull and push) or,
    /// when `anonymous_pull`, to anyone for pull.
    pub fn require_bearer(&self, user: &str, password: &str, anonymous_pull: bool) {
        self.knobs().bearer = Some(Bearer {
            user: user.into(),
            password: password.into(),
            anonymous_pull,
            tokens: HashMap::new(),
        });
    }

    /// Requests seen so far matching `method` and `path_contains` (query included).
    pub fn hits(&self, method: &Method, path_contains: &str) -> usize {
        self.knobs()
            .hits
            .iter()
            .filter(|(m, p, _)| m == method && p.contains(path_contains))
            .count()
    }

    pub fn hit_log(&self) -> Vec<(Method, String, u16)> {
        self.knobs().hits.clone()
    }

    /// Tokens issued and Authorization headers received, to prove none leaks.
    pub fn secrets_seen(&self) -> Vec<String> {
        let k = self.knobs();
        let mut all: Vec<String> = k
            .authorization_seen
            .iter()
            .map(|(_, a)| a.clone())
            .collect();
        if let Some(b) = &k.bearer {
            all.extend(b.tokens.keys().cloned());
        }
        all
    }

    pub fn authorization_seen(&self) -> Vec<(String, String)> {
        self.knobs().authorization_seen.clone()
    }
}

fn respond(status: u16, headers: &[(&str, String)], body: Vec<u8>) -> Response {
    let mut r =
        Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT));
    for (k, v) in headers {
        r = r.header(*k, v.as_str());
    }
    r.body(Body::from(body)).unwrap_or_default()
}

fn oci_error(status: u16, code: &str, extra: &[(&str, String)]) -> Response {
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"injected by test proxy"}}]}}"#);
    let mut headers = vec![("content-type", "application/json".to_string())];
    headers.extend(extra.iter().cloned());
    respond(status, &headers, body.into_bytes())
}

/// `/v2/<repo>/(tags|manifests|blobs)/…` → repository name.
fn repository_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    ["/tags/", "/manifests/", "/blobs/"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .map(|i| rest[..i].to_string())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let path = uri.path().to_string();
    let path_and_query = uri.path_and_query().map_or(path.clone(), |p| p.to_string());
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut body = to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default()
        .to_vec();

    let decision = decide(
        &shared,
        &method,
        &path,
        &path_and_query,
        &headers,
        &query,
        &mut body,
    );
    let response = match decision {
        Decision::Respond(r) => r,
        Decision::Paginate(paging) => paginate(&shared, &path, &query, paging).await,
        Decision::Forward { strip } => {
            forward(
                &shared,
                &method,
                &path,
                &path_and_query,
                &headers,
                body,
                strip,
            )
            .await
        }
    };
    let status = response.status().as_u16();
    if path != "/token" {
        shared
            .knobs
            .lock()
            .expect("knobs")
            .hits
            .push((method, path_and_query, status));
    }
    response
}

enum Decision {
    Respond(Response),
    Paginate(Paging),
    Forward { strip: bool },
}

/// Everything decided under the lock (no await while holding it).
fn decide(
    shared: &Shared,
    method: &Method,
    path: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &mut Vec<u8>,
) -> Decision {
    let mut k = shared.knobs.lock().expect("knobs");
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        k.authorization_seen
            .push((path.to_string(), auth.to_string()));
    }
    if path == "/token" {
        return Decision::Respond(token(&mut k, headers, query));
    }
    if let Some(bearer) = &k.bearer
        && let Some(refusal) = check_bearer(bearer, &shared.own, method, path, headers, query)
    {
        return Decision::Respond(refusal);
    }
    if let Some(fault) = k.faults.iter_mut().find(|f| {
        f.remaining > 0 && f.method == method && path_and_query.contains(&f.path_contains)
    }) {
        fault.remaining -= 1;
        let code = if fault.status == 429 {
            "TOOMANYREQUESTS"
        } else {
            "UNKNOWN"
        };
        let extra: Vec<(&str, String)> = fault
            .retry_after
            .iter()
            .map(|v| ("retry-after", v.clone()))
            .collect();
        return Decision::Respond(oci_error(fault.status, code, &extra));
    }
    if method == Method::GET
        && let Some((_, content_type, replacement)) =
            k.replace.iter().find(|(p, _, _)| path.contains(p.as_str()))
    {
        return Decision::Respond(respond(
            200,
            &[("content-type", content_type.clone())],
            replacement.clone(),
        ));
    }
    if k.tamper_tag_puts > 0
        && method == Method::PUT
        && path.contains("/manifests/")
        && !path.rsplit('/').next().unwrap_or("").starts_with("sha256:")
        && let Ok(mut manifest) = serde_json::from_slice::<serde_json::Value>(body)
    {
        manifest["annotations"] = serde_json::json!({"tampered-by": "test proxy"});
        if let Ok(tampered) = serde_json::to_vec(&manifest) {
            *body = tampered;
            k.tamper_tag_puts -= 1;
        }
    }
    let paging = k.paging.unwrap_or(Paging::Off);
    if paging != Paging::Off && method == Method::GET && path.ends_with("/tags/list") {
        return Decision::Paginate(paging);
    }
    Decision::Forward {
        strip: k.strip_digests,
    }
}

fn token(k: &mut Knobs, headers: &HeaderMap, query: &[(String, String)]) -> Response {
    let Some(bearer) = k.bearer.as_mut() else {
        return respond(404, &[], vec![]);
    };
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let full = match basic {
        Some(pair) if pair == format!("{}:{}", bearer.user, bearer.password) => true,
        Some(_) => return respond(401, &[], br#"{"details":"bad credentials"}"#.to_vec()),
        None if bearer.anonymous_pull => false,
        None => return respond(401, &[], br#"{"details":"credentials required"}"#.to_vec()),
    };
    let mut granted = HashSet::new();
    for (_, scope) in query.iter().filter(|(k, _)| k == "scope") {
        for one in scope.split(' ') {
            let mut parts = one.rsplitn(2, ':');
            let (Some(actions), Some(rest)) = (parts.next(), parts.next()) else {
                continue;
            };
            let repo = rest.strip_prefix("repository:").unwrap_or(rest);
            for action in actions.split(',') {
                if full || action == "pull" {
                    granted.insert((repo.to_string(), action.to_string()));
                }
            }
        }
    }
    let value: String = (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    bearer.tokens.insert(value.clone(), granted);
    respond(
        200,
        &[("content-type", "application/json".into())],
        format!(r#"{{"token":"{value}","expires_in":300}}"#).into_bytes(),
    )
}

fn check_bearer(
    bearer: &Bearer,
    own: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Option<Response> {
    let action = if method == Method::GET || method == Method::HEAD {
        "pull"
    } else {
        "push"
    };
    let repo = repository_of(path);
    let mut needed: Vec<(String, String)> = repo
        .iter()
        .map(|r| (r.clone(), action.to_string()))
        .collect();
    // A mount also reads the source repository.
    if let Some((_, from)) = query.iter().find(|(k, _)| k == "from") {
        needed.push((from.clone(), "pull".into()));
    }
    let scope = repo
        .as_ref()
        .map(|r| format!(",scope=\"repository:{r}:{action}\""))
        .unwrap_or_default();
    let challenge = format!("Bearer realm=\"{own}/token\",service=\"shipdeck-test\"{scope}");
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(granted) = token.and_then(|t| bearer.tokens.get(t)) else {
        return Some(oci_error(
            401,
            "UNAUTHORIZED",
            &[("www-authenticate", challenge)],
        ));
    };
    if needed.iter().all(|n| granted.contains(n)) {
        None
    } else {
        Some(oci_error(
            401,
            "UNAUTHORIZED",
            &[("www-authenticate", challenge)],
        ))
    }
}

async fn paginate(
    shared: &Shared,
    path: &str,
    query: &[(String, String)],
    paging: Paging,
) -> Response {
    let upstream = match shared
        .http
        .get(format!("{}{path}", shared.upstream))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return respond(502, &[], e.to_string().into_bytes()),
    };
    if !upstream.status().is_success() {
        let status = upstream.status().as_u16();
        return respond(
            status,
            &[],
            upstream.bytes().await.unwrap_or_default().to_vec(),
        );
    }
    let list: serde_json::Value = upstream.json().await.unwrap_or_default();
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let last = get("last");
    let n = get("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let after: Vec<String> = tags
        .into_iter()
        .filter(|t| last.as_ref().is_none_or(|l| t > l))
        .collect();
    let page: Vec<String> = after.iter().take(n).cloned().collect();
    let mut headers = vec![("content-type", "application/json".to_string())];
    if paging == Paging::Link
        && after.len() > page.len()
        && let Some(last) = page.last()
    {
        headers.push(("link", format!("<{path}?n={n}&last={last}>; rel=\"next\"")));
    }
    let body = serde_json::json!({"name": list["name"], "tags": page});
    respond(200, &headers, serde_json::to_vec(&body).unwrap_or_default())
}

async fn forward(
    shared: &Shared,
    method: &Method,
    path: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Vec<u8>,
    strip_digests: bool,
) -> Response {
    // With bearer auth the proxy is the gate and the registry behind it has none.
    let gate = shared.knobs.lock().expect("knobs").bearer.is_some();
    let mut request = shared
        .http
        .request(
            method.clone(),
            format!("{}{path_and_query}", shared.upstream),
        )
        .body(body);
    for (name, value) in headers {
        let skip = ["host", "content-length", "connection", "transfer-encoding"];
        let gated = gate && name.as_str() == "authorization";
        if !gated && !skip.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => return respond(502, &[], e.to_string().into_bytes()),
    };
    let status = upstream.status().as_u16();
    let mut out = Response::builder().status(status);
    for (name, value) in upstream.headers() {
        let n = name.as_str();
        if n == "connection"
            || n == "transfer-encoding"
            || (n == "content-length" && method != Method::HEAD)
        {
            continue;
        }
        if strip_digests && n == "docker-content-digest" && path.contains("/manifests/") {
            continue;
        }
        if n == "location" {
            let rewritten = value
                .to_str()
                .unwrap_or("")
                .replace(&shared.upstream, &shared.own);
            out = out.header(
                name,
                HeaderValue::from_str(&rewritten).unwrap_or(HeaderValue::from_static("")),
            );
            continue;
        }
        out = out.header(name, value);
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    out.body(Body::from(bytes)).unwrap_or_default()
}
