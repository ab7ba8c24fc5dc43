//! Optional authentication, as registries do it: Basic credentials on each request, or the
//! Docker token flow (a `Bearer` challenge naming `/token`, which issues scoped tokens for Basic
//! credentials, or anonymously for pulls when allowed). Credentials and tokens are compared,
//! never logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, StatusCode};
use parking_lot::Mutex;
use serde_json::json;

use super::{App, Route, json_type, reply};
use crate::registry::error::OciError;
use crate::registry::faults::{AuthPolicy, AuthScheme};

const SERVICE: &str = "sandbox";

/// One `type:name:actions` scope (`repository:dev/orders:pull,push`, `registry:catalog:*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scope {
    kind: String,
    name: String,
    actions: Vec<String>,
}

impl Scope {
    fn parse(text: &str) -> Option<Scope> {
        let (kind, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        Some(Scope {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
        })
    }

    fn render(&self) -> String {
        format!("{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

/// What a request needs, derived from its route and method.
fn required(route: &Route, method: &Method) -> Option<Scope> {
    let scope = |kind: &str, name: &str, actions: &[&str]| Scope {
        kind: kind.to_string(),
        name: name.to_string(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
    };
    match (route, route.name()) {
        (Route::Base, _) => None,
        (Route::Catalog, _) => Some(scope("registry", "catalog", &["*"])),
        (_, Some(name)) => Some(match *method {
            Method::GET | Method::HEAD => scope("repository", name, &["pull"]),
            Method::DELETE => scope("repository", name, &["delete"]),
            // Clients ask for pull and push together when pushing (docker, skopeo).
            _ => scope("repository", name, &["pull", "push"]),
        }),
        (_, None) => None,
    }
}

/// What the caller may do, for checks inside handlers (a mount needs pull on its source).
#[derive(Debug, Clone)]
pub(super) enum Grant {
    /// No auth configured, or an authenticated Basic user.
    Everything,
    /// Basic scheme, no credentials, anonymous pulls allowed.
    AnonymousPull,
    Token(Vec<Scope>),
}

impl Grant {
    pub(super) fn allows_pull(&self, repo: &str) -> bool {
        let pull = Scope {
            kind: "repository".into(),
            name: repo.to_string(),
            actions: vec!["pull".into()],
        };
        self.allows(&pull)
    }

    fn allows(&self, need: &Scope) -> bool {
        let pull_only = need.actions.iter().all(|a| a == "pull");
        match self {
            Grant::Everything => true,
            Grant::AnonymousPull => need.kind == "repository" && pull_only,
            Grant::Token(scopes) => need.actions.iter().all(|action| {
                scopes.iter().any(|s| {
                    s.kind == need.kind
                        && s.name == need.name
                        && s.actions.iter().any(|a| a == action || a == "*")
                })
            }),
        }
    }
}

struct Issued {
    /// `None`: a TTL too large to add to the clock, i.e. never.
    expires: Option<Instant>,
    scopes: Vec<Scope>,
}

/// Tokens issued by this server's `/token`.
#[derive(Default)]
pub(super) struct Tokens {
    issued: Mutex<HashMap<String, Issued>>,
}

enum Credentials {
    None,
    Basic(String, String),
    Bearer(String),
    Malformed,
}

fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Credentials::None;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Bearer(rest.trim().to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Credentials::Malformed;
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|text| text.split_once(':')) {
        Some((user, password)) => Credentials::Basic(user.to_string(), password.to_string()),
        None => Credentials::Malformed,
    }
}

fn challenge(
    app: &App,
    headers: &HeaderMap,
    policy: &AuthPolicy,
    need: Option<&Scope>,
    error: Option<&str>,
) -> OciError {
    let text = match policy.scheme {
        AuthScheme::Basic => format!("Basic realm=\"{SERVICE}\""),
        AuthScheme::Bearer => {
            let mut text = format!(
                "Bearer realm=\"http://{}/token\",service=\"{SERVICE}\"",
                app.authority(headers)
            );
            if let Some(need) = need {
                text.push_str(&format!(",scope=\"{}\"", need.render()));
            }
            if let Some(error) = error {
                text.push_str(&format!(",error=\"{error}\""));
            }
            text
        }
    };
    OciError::unauthorized(text)
}

/// Checks a `/v2/` request against the auth policy, if one is set.
pub(super) fn authorize(
    app: &App,
    headers: &HeaderMap,
    route: &Route,
    method: &Method,
) -> Result<Grant, OciError> {
    let Some(policy) = app.registry.faults().auth() else {
        return Ok(Grant::Everything);
    };
    let need = required(route, method);
    let deny = |error: Option<&str>| Err(challenge(app, headers, &policy, need.as_ref(), error));
    match (policy.scheme, credentials(headers)) {
        (AuthScheme::Basic, Credentials::Basic(user, password))
            if policy.accepts(&user, &password) =>
        {
            Ok(Grant::Everything)
        }
        (AuthScheme::Basic, Credentials::None) if policy.anonymous_pull => {
            let grant = Grant::AnonymousPull;
            match &need {
                Some(need) if !grant.allows(need) => deny(None),
                _ => Ok(grant),
            }
        }
        (AuthScheme::Bearer, Credentials::Bearer(token)) => {
            let scopes = {
                let issued = app.tokens.issued.lock();
                match issued.get(&token) {
                    Some(t) if t.expires.is_none_or(|e| e > Instant::now()) => t.scopes.clone(),
                    _ => return deny(Some("invalid_token")),
                }
            };
            let grant = Grant::Token(scopes);
            match &need {
                Some(need) if !grant.allows(need) => deny(Some("insufficient_scope")),
                _ => Ok(grant),
            }
        }
        _ => deny(None),
    }
}

/// `GET /token?service=sandbox&scope=repository:dev/orders:pull,push`: issues a token for the
/// requested scopes, limited to pull for anonymous callers.
pub(super) fn token(app: &App, headers: &HeaderMap, query: &str) -> Result<Response, OciError> {
    let policy = app.registry.faults().auth();
    let requested: Vec<Scope> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| {
            value
                .split(' ')
                .filter_map(Scope::parse)
                .collect::<Vec<_>>()
        })
        .collect();
    let basic_challenge = || OciError::unauthorized(format!("Basic realm=\"{SERVICE}\""));
    let anonymous = match (&policy, credentials(headers)) {
        (None, _) => false,
        (Some(policy), Credentials::Basic(user, password)) => {
            if !policy.accepts(&user, &password) {
                return Err(basic_challenge());
            }
            false
        }
        (Some(policy), Credentials::None) if policy.anonymous_pull => true,
        (Some(_), _) => return Err(basic_challenge()),
    };
    let granted: Vec<Scope> = requested
        .into_iter()
        .filter_map(|mut scope| {
            if anonymous {
                scope.actions.retain(|a| a == "pull");
                if scope.kind != "repository" || scope.actions.is_empty() {
                    return None;
                }
            }
            Some(scope)
        })
        .collect();
    let ttl = policy.map_or(Duration::from_secs(300), |p| p.token_ttl);
    let token = format!(
        "sbx.{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    {
        let mut issued = app.tokens.issued.lock();
        let now = Instant::now();
        issued.retain(|_, t| t.expires.is_none_or(|e| e > now));
        issued.insert(
            token.clone(),
            Issued {
                expires: now.checked_add(ttl),
                scopes: granted,
            },
        );
    }
    let body = json!({
        "token": token,
        "access_token": token,
        "expires_in": ttl.as_secs(),
        "issued_at": jiff::Timestamp::now().to_string(),
    });
    Ok(reply(
        StatusCode::OK,
        vec![json_type()],
        body.to_string().into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).expect("scope")
    }

    #[test]
    fn scopes_round_trip() {
        let s = scope("repository:dev/orders:pull,push");
        assert_eq!((s.name.as_str(), s.actions.len()), ("dev/orders", 2));
        assert_eq!(s.render(), "repository:dev/orders:pull,push");
        assert_eq!(scope("registry:catalog:*").actions, vec!["*"]);
        assert_eq!(Scope::parse("nonsense"), None);
    }

    #[test]
    fn grants_cover_exactly_their_scopes() {
        let grant = Grant::Token(vec![scope("repository:dev/orders:pull")]);
        assert!(grant.allows(&scope("repository:dev/orders:pull")));
        assert!(!grant.allows(&scope("repository:dev/orders:pull,push")));
        assert!(!grant.allows(&scope("repository:prod/orders:pull")));
        let star = Grant::Token(vec![scope("repository:dev/orders:*")]);
        assert!(star.allows(&scope("repository:dev/orders:delete")));
        assert!(Grant::AnonymousPull.allows_pull("anything"));
        assert!(!Grant::AnonymousPull.allows(&scope("registry:catalog:*")));
    }

    #[test]
    fn methods_map_to_actions() {
        let route = Route::Manifest {
            name: "dev/orders".into(),
            reference: "v1".into(),
        };
        let need = |m: Method| required(&route, &m).map(|s| s.render());
        assert_eq!(
            need(Method::HEAD).as_deref(),
            Some("repository:dev/orders:pull")
        );
        assert_eq!(
            need(Method::PUT).as_deref(),
            Some("repository:dev/orders:pull,push")
        );
        assert_eq!(
            need(Method::DELETE).as_deref(),
            Some("repository:dev/orders:delete")
        );
        assert_eq!(required(&Route::Base, &Method::GET), None);
    }
}
