//! One `RegistryClient` per registry host: builds API URLs, attaches auth per repository scope,
//! retries 429 (honouring `Retry-After`) and 5xx within a budget, and turns 401/403 into
//! messages naming registry and repository.
//!
//! Every request goes through reqwest here rather than through `oci_client::Client`: its error
//! type drops `Retry-After` and the status of 401/403 envelopes, it hides `Link` headers and
//! HEAD digests, it treats a 202 answer to a mount as a failure and asks for push scope on the
//! target only (so a token service refuses the cross-repository mount). oci-client still gives
//! us reference parsing and the manifest types.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

use super::auth::{self, Challenge, Scope, TokenCache, TokenError};
use super::credentials::{CredentialSource, Credentials};
use super::error::{RegistryError, describe_reqwest};
use super::reference::{api_host, is_loopback};
use super::retry::{RetryPolicy, parse_retry_after};
use super::types::TagDetails;

/// How clients talk to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Plain HTTP instead of HTTPS; `None`: plain HTTP for loopback registries only.
    pub plain_http: Option<bool>,
    pub credentials: CredentialSource,
    pub retry: RetryPolicy,
    /// Tags asked for per page (`n`); small enough that the first page shows at once.
    pub page_size: usize,
    pub connect_timeout: Duration,
    /// Longest silence while reading a response (a blob copy may take long in total).
    pub read_timeout: Duration,
    /// `None`: the proxy environment (HTTPS_PROXY, NO_PROXY...), decided as for kube.
    pub proxy: Option<crate::net::ProxySettings>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: None,
            credentials: CredentialSource::default(),
            retry: RetryPolicy::default(),
            page_size: 200,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            proxy: None,
        }
    }
}

/// A client for one registry host; cheap to clone, clones share tokens and the details cache.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately not the auth state: it holds tokens.
        f.debug_struct("RegistryClient")
            .field("registry", &self.inner.registry)
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

struct Inner {
    registry: String,
    base: String,
    http: reqwest::Client,
    options: ClientOptions,
    auth: tokio::sync::Mutex<AuthState>,
    details: parking_lot::Mutex<HashMap<String, TagDetails>>,
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    credentials: Option<Credentials>,
    tokens: TokenCache,
}

/// One request, replayable for retries (the body is in memory).
pub(crate) struct Req<'a> {
    pub method: Method,
    pub url: Url,
    pub repository: &'a str,
    pub scopes: Vec<Scope>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl<'a> Req<'a> {
    pub fn new(method: Method, url: Url, repository: &'a str, scopes: Vec<Scope>) -> Self {
        Req {
            method,
            url,
            repository,
            scopes,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }
}

impl RegistryClient {
    /// A client for `registry` (`127.0.0.1:5000`, `ghcr.io`, `docker.io`).
    pub fn new(registry: &str, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        // reqwest panics without a rustls provider (see toolchain notes); installing is idempotent.
        crate::install_crypto_provider();
        let plain = options.plain_http.unwrap_or_else(|| is_loopback(registry));
        let scheme = if plain { "http" } else { "https" };
        let base = format!("{scheme}://{}/v2/", api_host(registry));
        Url::parse(&base).map_err(|e| RegistryError::InvalidReference {
            input: registry.to_string(),
            message: e.to_string(),
        })?;
        let proxy = match &options.proxy {
            Some(settings) => settings.clone(),
            None => crate::net::ProxySettings::from_env().map_err(|e| RegistryError::Network {
                repo: registry.to_string(),
                message: e.to_string(),
            })?,
        };
        let http = proxy
            .apply(reqwest::Client::builder())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("shipdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Network {
                repo: registry.to_string(),
                message: describe_reqwest(e),
            })?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                registry: registry.to_string(),
                base,
                http,
                options,
                auth: tokio::sync::Mutex::default(),
                details: parking_lot::Mutex::default(),
            }),
        })
    }

    pub fn registry(&self) -> &str {
        &self.inner.registry
    }

    pub(crate) fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// `registry/repository` for messages.
    pub(crate) fn repo_name(&self, repository: &str) -> String {
        format!("{}/{repository}", self.inner.registry)
    }

    pub(crate) fn url(&self, repository: &str, rest: &str) -> Result<Url, RegistryError> {
        let text = format!("{}{repository}/{rest}", self.inner.base);
        Url::parse(&text).map_err(|e| RegistryError::InvalidReference {
            input: self.repo_name(repository),
            message: e.to_string(),
        })
    }

    /// `…/<repository>/<kind>/<reference>`, the reference encoded as one path segment: a
    /// broken registry's tag list may hold names with `/`, `?` or `#` in them.
    pub(crate) fn object_url(
        &self,
        repository: &str,
        kind: &str,
        reference: &str,
    ) -> Result<Url, RegistryError> {
        let mut url = self.url(repository, kind)?;
        url.path_segments_mut()
            .map_err(|()| self.protocol(repository, "registry URL cannot have a path".into()))?
            .push(reference);
        Ok(url)
    }

    /// Resolves a `Location` or `Link` target, which may be relative to the registry.
    pub(crate) fn resolve(&self, repository: &str, target: &str) -> Result<Url, RegistryError> {
        Url::parse(&self.inner.base)
            .and_then(|base| base.join(target))
            .map_err(|e| self.protocol(repository, format!("bad URL {target:?}: {e}")))
    }

    pub(crate) fn protocol(&self, repository: &str, message: String) -> RegistryError {
        RegistryError::Protocol {
            repo: self.repo_name(repository),
            message,
        }
    }

    pub(crate) fn cached_details(&self, digest: &str) -> Option<TagDetails> {
        self.inner.details.lock().get(digest).cloned()
    }

    pub(crate) fn cache_details(&self, details: &TagDetails) {
        let mut cache = self.inner.details.lock();
        // Bounded without bookkeeping: a console refreshes what it shows, so a full reset
        // after this many distinct images costs one refetch each.
        if cache.len() >= 50_000 {
            cache.clear();
        }
        cache.insert(details.digest.clone(), details.clone());
    }

    /// Sends `req` with auth, retrying 429/5xx/network errors within the policy; returns any
    /// other response (2xx, 404...) for the caller to interpret.
    pub(crate) async fn send(&self, req: Req<'_>) -> Result<reqwest::Response, RegistryError> {
        let policy = &self.inner.options.retry;
        let mut attempt = 0u32;
        let mut challenged = false;
        loop {
            attempt += 1;
            let mut builder = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .headers(req.headers.clone());
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            if let Some(value) = self.authorization(req.repository, &req.scopes).await? {
                builder = builder.header(header::AUTHORIZATION, value);
            }
            tracing::debug!(method = %req.method, path = req.url.path(), attempt, "registry request");
            let response = match builder.send().await {
                Ok(r) => r,
                Err(e) => {
                    let message = describe_reqwest(e);
                    match policy.next_delay(attempt, None) {
                        Some(wait) => {
                            tracing::debug!(%message, ?wait, "registry unreachable, retrying");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        None => {
                            return Err(RegistryError::Network {
                                repo: self.repo_name(req.repository),
                                message,
                            });
                        }
                    }
                }
            };
            let status = response.status();
            match status {
                StatusCode::UNAUTHORIZED if !challenged => {
                    // The first 401 tells us how to authenticate; it is not a retry.
                    challenged = true;
                    attempt -= 1;
                    self.on_challenge(&req, response.headers()).await?;
                }
                StatusCode::UNAUTHORIZED => return Err(self.unauthorized(req.repository)),
                StatusCode::FORBIDDEN => {
                    return Err(RegistryError::Denied {
                        repo: self.repo_name(req.repository),
                        action: action_name(&req.method),
                        hint: self.inner.options.credentials.hint(),
                    });
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after = retry_after(response.headers());
                    match policy.next_delay(attempt, retry_after) {
                        Some(wait) => {
                            tracing::debug!(?wait, "registry rate limit, waiting");
                            tokio::time::sleep(wait).await;
                        }
                        None => {
                            return Err(RegistryError::RateLimited {
                                repo: self.repo_name(req.repository),
                                attempts: attempt,
                                retry_after,
                            });
                        }
                    }
                }
                // A 503 may say when to come back, too.
                s if is_retryable_server_error(s) => {
                    match policy.next_delay(attempt, retry_after(response.headers())) {
                        Some(wait) => {
                            tracing::debug!(status = s.as_u16(), ?wait, "registry error, retrying");
                            tokio::time::sleep(wait).await;
                        }
                        None => {
                            return Err(RegistryError::Server {
                                repo: self.repo_name(req.repository),
                                status: s.as_u16(),
                                attempts: attempt,
                            });
                        }
                    }
                }
                _ => return Ok(response),
            }
        }
    }

    /// One attempt with a streamed body (a blob upload), using auth already negotiated for
    /// `scopes`; the caller retries the whole copy when this fails transiently.
    pub(crate) async fn send_stream(
        &self,
        method: Method,
        url: Url,
        repository: &str,
        scopes: &[Scope],
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut builder = self
            .inner
            .http
            .request(method, url)
            .headers(headers)
            .body(body);
        if let Some(value) = self.authorization(repository, scopes).await? {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let response = builder.send().await.map_err(|e| RegistryError::Network {
            repo: self.repo_name(repository),
            message: describe_reqwest(e),
        })?;
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED => Err(self.unauthorized(repository)),
            StatusCode::FORBIDDEN => Err(RegistryError::Denied {
                repo: self.repo_name(repository),
                action: "push".into(),
                hint: self.inner.options.credentials.hint(),
            }),
            StatusCode::TOO_MANY_REQUESTS => Err(RegistryError::RateLimited {
                repo: self.repo_name(repository),
                attempts: 1,
                retry_after: None,
            }),
            s if s.is_server_error() => Err(RegistryError::Server {
                repo: self.repo_name(repository),
                status: s.as_u16(),
                attempts: 1,
            }),
            _ => Ok(response),
        }
    }

    fn unauthorized(&self, repository: &str) -> RegistryError {
        RegistryError::Unauthorized {
            repo: self.repo_name(repository),
            hint: self.inner.options.credentials.hint(),
        }
    }

    async fn credentials(&self, state: &mut AuthState) -> Result<Credentials, RegistryError> {
        if let Some(c) = &state.credentials {
            return Ok(c.clone());
        }
        let found = self
            .inner
            .options
            .credentials
            .lookup(&self.inner.registry)
            .await?;
        state.credentials = Some(found.clone());
        Ok(found)
    }

    async fn on_challenge(&self, req: &Req<'_>, headers: &HeaderMap) -> Result<(), RegistryError> {
        let challenge = headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge)
            .ok_or_else(|| self.unauthorized(req.repository))?;
        let mut state = self.inner.auth.lock().await;
        if challenge == Challenge::Basic && self.credentials(&mut state).await?.is_anonymous() {
            return Err(self.unauthorized(req.repository));
        }
        state.tokens.forget(&req.scopes);
        state.challenge = Some(challenge);
        Ok(())
    }

    /// The `Authorization` value for a request, fetching a token when the registry uses them.
    async fn authorization(
        &self,
        repository: &str,
        scopes: &[Scope],
    ) -> Result<Option<HeaderValue>, RegistryError> {
        let mut state = self.inner.auth.lock().await;
        let value = match state.challenge.clone() {
            None => return Ok(None),
            Some(Challenge::Basic) => match self.credentials(&mut state).await? {
                Credentials::Basic { username, password } => {
                    auth::basic_header(&username, &password)
                }
                _ => return Ok(None),
            },
            Some(Challenge::Bearer { realm, service }) => {
                let token = match state.tokens.get(scopes) {
                    Some(t) => t,
                    None => {
                        let credentials = self.credentials(&mut state).await?;
                        let token = auth::fetch_token(
                            &self.inner.http,
                            &realm,
                            service.as_deref(),
                            scopes,
                            &credentials,
                        )
                        .await
                        .map_err(|e| self.token_error(repository, e))?;
                        state.tokens.insert(scopes, token.clone());
                        token.value
                    }
                };
                format!("Bearer {}", token.expose_secret())
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            self.protocol(repository, "credentials are not valid in a header".into())
        })?;
        // Keeps the value out of hyper's and reqwest's debug output.
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn token_error(&self, repository: &str, error: TokenError) -> RegistryError {
        match error {
            TokenError::Refused => self.unauthorized(repository),
            TokenError::Network(message) => RegistryError::Network {
                repo: self.repo_name(repository),
                message: format!("token service: {message}"),
            },
            TokenError::Protocol(message) => self.protocol(repository, message),
        }
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()))
}

/// 501 and 505 will not get better by asking again.
fn is_retryable_server_error(status: StatusCode) -> bool {
    status.is_server_error()
        && status != StatusCode::NOT_IMPLEMENTED
        && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED
}

fn action_name(method: &Method) -> String {
    if method == Method::GET || method == Method::HEAD {
        "pull".into()
    } else if method == Method::DELETE {
        "delete".into()
    } else {
        "push".into()
    }
}

/// `Docker-Content-Digest`, when present and well-formed.
pub(crate) fn digest_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|d| d.contains(':'))
        .map(str::to_string)
}

/// A short description of an error response: the registry's error codes, else the status.
pub(crate) async fn error_summary(response: reqwest::Response) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let detail = serde_json::from_slice::<Envelope>(&body)
        .ok()
        .map(|env| {
            env.errors
                .iter()
                .map(|e| {
                    let code = e.code.as_deref().unwrap_or("ERROR");
                    match e.message.as_deref() {
                        Some(m) if !m.is_empty() => format!("{code}: {m}"),
                        _ => code.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty());
    let mut text = match detail {
        Some(d) => format!("HTTP {}: {d}", status.as_u16()),
        None => format!("HTTP {status}"),
    };
    text.truncate(300);
    text
}

/// Clients by registry host, created on first use; what promotion between registries needs.
#[derive(Clone, Default, Debug)]
pub struct Registries {
    options: ClientOptions,
    clients: Arc<parking_lot::Mutex<HashMap<String, RegistryClient>>>,
}

impl Registries {
    pub fn new(options: ClientOptions) -> Registries {
        Registries {
            options,
            clients: Arc::default(),
        }
    }

    /// The shared client for `registry`.
    pub fn client(&self, registry: &str) -> Result<RegistryClient, RegistryError> {
        let mut clients = self.clients.lock();
        if let Some(c) = clients.get(registry) {
            return Ok(c.clone());
        }
        let client = RegistryClient::new(registry, self.options.clone())?;
        clients.insert(registry.to_string(), client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_default_to_plain_http() -> Result<(), RegistryError> {
        let c = RegistryClient::new("127.0.0.1:5000", ClientOptions::default())?;
        assert_eq!(
            c.url("dev/orders", "tags/list")?.as_str(),
            "http://127.0.0.1:5000/v2/dev/orders/tags/list"
        );
        let c = RegistryClient::new("ghcr.io", ClientOptions::default())?;
        assert!(
            c.url("a/b", "manifests/v1")?
                .as_str()
                .starts_with("https://ghcr.io/v2/")
        );
        let odd = c.object_url("a/b", "manifests", "x/../y?z#w")?;
        assert_eq!(
            odd.as_str(),
            "https://ghcr.io/v2/a/b/manifests/x%2F..%2Fy%3Fz%23w"
        );
        let digest = c.object_url("a/b", "blobs", "sha256:abc")?;
        assert_eq!(digest.as_str(), "https://ghcr.io/v2/a/b/blobs/sha256:abc");
        let link = c.resolve("a/b", "/v2/a/b/tags/list?n=2&last=b")?;
        assert_eq!(link.as_str(), "https://ghcr.io/v2/a/b/tags/list?n=2&last=b");
        Ok(())
    }

    #[test]
    fn only_transient_server_errors_are_retried() {
        assert!(is_retryable_server_error(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_retryable_server_error(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!is_retryable_server_error(StatusCode::NOT_IMPLEMENTED));
        assert!(!is_retryable_server_error(StatusCode::NOT_FOUND));
    }
}
