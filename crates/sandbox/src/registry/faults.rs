//! Misbehaviour on demand, so the registry client layer can be tested against what real
//! registries do: auth challenges, rate limits, server errors, slowness, short pages and
//! corrupted manifests. Everything is switchable at runtime while the server runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use parking_lot::Mutex;

use super::error::OciError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// Credentials on every request (`Authorization: Basic …`).
    Basic,
    /// The token flow: a `Bearer` challenge naming `/token`, which trades Basic credentials
    /// (or nothing, for anonymous pulls) for a scoped token.
    Bearer,
}

/// Who may do what. Credentials live only here and are never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthPolicy {
    pub scheme: AuthScheme,
    /// username → password.
    pub users: BTreeMap<String, String>,
    /// Pulls (GET/HEAD) without credentials; with Bearer, `/token` grants anonymous pull scopes.
    pub anonymous_pull: bool,
    /// How long an issued token stays valid (`expires_in`).
    pub token_ttl: Duration,
}

impl std::fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("scheme", &self.scheme)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("anonymous_pull", &self.anonymous_pull)
            .field("token_ttl", &self.token_ttl)
            .finish()
    }
}

impl AuthPolicy {
    pub fn basic(user: &str, password: &str) -> Self {
        Self::new(AuthScheme::Basic, user, password)
    }

    pub fn bearer(user: &str, password: &str) -> Self {
        Self::new(AuthScheme::Bearer, user, password)
    }

    fn new(scheme: AuthScheme, user: &str, password: &str) -> Self {
        AuthPolicy {
            scheme,
            users: BTreeMap::from([(user.to_string(), password.to_string())]),
            anonymous_pull: false,
            token_ttl: Duration::from_secs(300),
        }
    }

    pub fn with_anonymous_pull(mut self) -> Self {
        self.anonymous_pull = true;
        self
    }

    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    pub fn accepts(&self, user: &str, password: &str) -> bool {
        self.users.get(user).is_some_and(|p| p == password)
    }
}

/// How a manifest served for a tag is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The body is altered but `Docker-Content-Digest` still names the original: a client that
    /// verifies content sees a digest mismatch.
    DigestMismatch,
    /// The body is truncated JSON, served with its own (matching) digest: only parsing fails.
    InvalidJson,
}

#[derive(Debug, Clone)]
enum Injected {
    Throttle { retry_after: Duration },
    Fail { status: StatusCode },
}

#[derive(Debug, Clone)]
struct Budget {
    remaining: usize,
    path_prefix: Option<String>,
    injected: Injected,
}

#[derive(Default)]
struct State {
    auth: Option<Arc<AuthPolicy>>,
    budgets: Vec<Budget>,
    latency: Duration,
    tags_page_size: Option<usize>,
    corrupt: HashMap<(String, String), Corruption>,
}

/// The registry's fault switches; `Registry::faults()` hands them out.
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    /// Requires credentials from now on (`None` opens the registry again).
    pub fn set_auth(&self, policy: Option<AuthPolicy>) {
        self.state.lock().auth = policy.map(Arc::new);
    }

    /// The next `count` API requests (`/v2/…`; `/token` is exempt) answer
    /// `429 Too Many Requests` with `Retry-After`.
    pub fn throttle(&self, count: usize, retry_after: Duration) {
        self.push(count, None, Injected::Throttle { retry_after });
    }

    /// Like [`Faults::throttle`], for requests whose path starts with `prefix`
    /// (e.g. `/v2/dev/orders/manifests/`).
    pub fn throttle_path(&self, prefix: &str, count: usize, retry_after: Duration) {
        self.push(count, Some(prefix), Injected::Throttle { retry_after });
    }

    /// The next `count` API requests (`/v2/…`) fail with `status` (500, 502, 503…).
    pub fn fail(&self, count: usize, status: StatusCode) {
        self.push(count, None, Injected::Fail { status });
    }

    pub fn fail_path(&self, prefix: &str, count: usize, status: StatusCode) {
        self.push(count, Some(prefix), Injected::Fail { status });
    }

    fn push(&self, count: usize, prefix: Option<&str>, injected: Injected) {
        if count > 0 {
            self.state.lock().budgets.push(Budget {
                remaining: count,
                path_prefix: prefix.map(str::to_string),
                injected,
            });
        }
    }

    /// Delay added before every request is handled.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().latency = latency;
    }

    /// Serve tag lists in pages of at most `size`, whatever `n` the client asked for.
    pub fn set_tags_page_size(&self, size: Option<usize>) {
        self.state.lock().tags_page_size = size;
    }

    /// Serve a broken manifest whenever `repo:tag` (or the digest it points at) is fetched.
    pub fn corrupt_manifest(&self, repo: &str, tag: &str, corruption: Corruption) {
        let key = (repo.to_string(), tag.to_string());
        self.state.lock().corrupt.insert(key, corruption);
    }

    /// Back to a well-behaved registry.
    pub fn clear(&self) {
        *self.state.lock() = State::default();
    }

    pub(crate) fn auth(&self) -> Option<Arc<AuthPolicy>> {
        self.state.lock().auth.clone()
    }

    pub(crate) fn latency(&self) -> Duration {
        self.state.lock().latency
    }

    pub(crate) fn tags_page_size(&self) -> Option<usize> {
        self.state.lock().tags_page_size
    }

    /// Corruptions configured for `repo`, by tag.
    pub(crate) fn corruptions(&self, repo: &str) -> Vec<(String, Corruption)> {
        let state = self.state.lock();
        state
            .corrupt
            .iter()
            .filter(|((r, _), _)| r == repo)
            .map(|((_, tag), c)| (tag.clone(), *c))
            .collect()
    }

    /// Consumes one injected failure matching `path`, if any is pending (oldest first).
    pub(crate) fn take_injected(&self, path: &str) -> Option<OciError> {
        let mut state = self.state.lock();
        let index = state.budgets.iter().position(|b| {
            b.path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
        })?;
        let budget = &mut state.budgets[index];
        budget.remaining -= 1;
        let injected = budget.injected.clone();
        if budget.remaining == 0 {
            state.budgets.remove(index);
        }
        Some(match injected {
            Injected::Throttle { retry_after } => {
                // Retry-After is whole seconds; round up so a client never retries early.
                let secs = retry_after.as_millis().div_ceil(1000);
                OciError::too_many_requests(u64::try_from(secs).unwrap_or(u64::MAX))
            }
            Injected::Fail { status } => OciError::server(status),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_consumed_per_matching_request() {
        let faults = Faults::default();
        faults.throttle_path("/v2/dev/orders/manifests/", 2, Duration::from_millis(1500));
        faults.fail(1, StatusCode::BAD_GATEWAY);
        // The unscoped failure applies to any path; the throttle only to manifests.
        let first = faults
            .take_injected("/v2/dev/orders/tags/list")
            .expect("fail");
        assert_eq!(first.status, StatusCode::BAD_GATEWAY);
        assert!(faults.take_injected("/v2/dev/orders/tags/list").is_none());
        let throttled = faults
            .take_injected("/v2/dev/orders/manifests/v1")
            .expect("429");
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            throttled
                .headers
                .iter()
                .any(|(n, v)| n == http::header::RETRY_AFTER && v == "2")
        );
        assert!(
            faults
                .take_injected("/v2/dev/orders/manifests/v1")
                .is_some()
        );
        assert!(
            faults
                .take_injected("/v2/dev/orders/manifests/v1")
                .is_none()
        );
    }

    #[test]
    fn debug_output_hides_passwords() {
        let policy = AuthPolicy::bearer("ci", "s3cret");
        assert!(policy.accepts("ci", "s3cret"));
        assert!(!policy.accepts("ci", "guess"));
        assert!(!format!("{policy:?}").contains("s3cret"));
    }
}
