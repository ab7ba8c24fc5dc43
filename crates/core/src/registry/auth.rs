//! The distribution auth handshake: parse `WWW-Authenticate`, fetch bearer tokens for a set of
//! repository scopes (a cross-repository mount needs pull on the source and push on the
//! target in one token), and cache them per scope set until shortly before they expire.
//! Tokens are `SecretString`s; nothing here logs a header or a token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::credentials::Credentials;

/// What a registry asked for in its 401.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Access to one repository, as the token service understands it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Scope {
    pub repository: String,
    pub push: bool,
}

impl Scope {
    pub fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            push: false,
        }
    }

    pub fn push(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            push: true,
        }
    }

    fn as_param(&self) -> String {
        let actions = if self.push { "pull,push" } else { "pull" };
        format!("repository:{}:{actions}", self.repository)
    }
}

/// Parses `Basic realm="x"` or `Bearer realm="…",service="…",scope="…"`; quoted values may
/// hold commas (`scope="repository:a:pull,push"`).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let realm = params.get("realm")?.clone();
    Some(Challenge::Bearer {
        realm,
        service: params.get("service").cloned(),
    })
}

fn parse_params(input: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() && chars.peek().is_none() {
            return params;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        if !key.is_empty() {
            params.insert(key, value);
        }
    }
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: SecretString,
    expires: Instant,
}

/// Tokens by scope set, for one registry host.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: HashMap<String, Token>,
}

impl TokenCache {
    pub fn get(&self, scopes: &[Scope]) -> Option<SecretString> {
        let token = self.tokens.get(&scope_key(scopes))?;
        (token.expires > Instant::now()).then(|| token.value.clone())
    }

    pub fn insert(&mut self, scopes: &[Scope], token: Token) {
        self.tokens.insert(scope_key(scopes), token);
    }

    pub fn forget(&mut self, scopes: &[Scope]) {
        self.tokens.remove(&scope_key(scopes));
    }
}

fn scope_key(scopes: &[Scope]) -> String {
    let mut parts: Vec<String> = scopes.iter().map(Scope::as_param).collect();
    parts.sort();
    parts.dedup();
    parts.join(" ")
}

/// Why a token request failed; the caller turns it into a message naming the repository.
#[derive(Debug)]
pub(crate) enum TokenError {
    /// The token service refused the credentials (or anonymous access).
    Refused,
    Network(String),
    Protocol(String),
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Asks the token service at `realm` for a token covering `scopes`.
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[Scope],
    credentials: &Credentials,
) -> Result<Token, TokenError> {
    let mut url = url::Url::parse(realm)
        .map_err(|e| TokenError::Protocol(format!("bad token realm {realm:?}: {e}")))?;
    let scope_params: Vec<String> = scopes.iter().map(Scope::as_param).collect();
    let request = match credentials {
        // Docker's refresh-token grant: the identity token is exchanged in a form POST.
        Credentials::IdentityToken(refresh) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("client_id", "shipdeck")
                .append_pair("refresh_token", refresh.expose_secret())
                .append_pair("scope", &scope_params.join(" "));
            if let Some(service) = service {
                form.append_pair("service", service);
            }
            http.post(url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.finish())
        }
        other => {
            {
                let mut query = url.query_pairs_mut();
                if let Some(service) = service {
                    query.append_pair("service", service);
                }
                for scope in &scope_params {
                    query.append_pair("scope", scope);
                }
            }
            let request = http.get(url);
            match other {
                Credentials::Basic { username, password } => request.header(
                    reqwest::header::AUTHORIZATION,
                    basic_header(username, password),
                ),
                _ => request,
            }
        }
    };
    let response = request
        .send()
        .await
        .map_err(|e| TokenError::Network(super::error::describe_reqwest(e)))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(TokenError::Refused);
    }
    if !status.is_success() {
        return Err(TokenError::Protocol(format!(
            "token service answered HTTP {status}"
        )));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| TokenError::Network(super::error::describe_reqwest(e)))?;
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| TokenError::Protocol(format!("token service sent bad JSON: {e}")))?;
    let value = parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::Protocol("token service sent no token".into()))?;
    // The spec's default lifetime is 60 s; renew a little early so a token does not expire
    // between our check and the registry's.
    let lifetime = parsed.expires_in.unwrap_or(60).max(2);
    let usable = Duration::from_secs(lifetime - (lifetime / 6).min(10));
    Ok(Token {
        value: SecretString::from(value),
        expires: Instant::now() + usable,
    })
}

/// `Basic base64(user:password)`, built only at the moment it is attached to a request.
pub(crate) fn basic_header(username: &str, password: &SecretString) -> String {
    let raw = format!("{username}:{}", password.expose_secret());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="shipdeck-test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        for junk in [
            "",
            "Bearer",
            "Bearer realm",
            "Bearer =,,\"",
            "Bearer realm=\"unterminated",
        ] {
            // Must not panic; the result itself does not matter.
            let _ = parse_challenge(junk);
        }
    }

    #[test]
    fn scope_sets_are_order_insensitive() {
        let a = [Scope::push("prod/orders"), Scope::pull("dev/orders")];
        let b = [Scope::pull("dev/orders"), Scope::push("prod/orders")];
        assert_eq!(scope_key(&a), scope_key(&b));
        assert_eq!(
            scope_key(&a),
            "repository:dev/orders:pull repository:prod/orders:pull,push"
        );
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        let header = basic_header("tester", &SecretString::from("s3cret-pass"));
        assert_eq!(header, "Basic dGVzdGVyOnMzY3JldC1wYXNz");
    }
}
