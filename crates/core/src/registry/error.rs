//! Registry errors as users read them: each names the registry and repository (`repo` is
//! `registry/repository`) and says what to do. None ever carries a credential, token or
//! `Authorization` header: messages are built from our own words, status codes and the
//! registry's error codes, never from request headers or credential-helper output.

use std::time::Duration;

/// A registry operation that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// 401 after presenting whatever credentials we have (or none).
    #[error("unauthorized: {repo}: {hint}")]
    Unauthorized { repo: String, hint: String },
    /// 403: the registry knows who we are and refuses.
    #[error("denied: {repo}: not allowed to {action}; {hint}")]
    Denied {
        repo: String,
        action: String,
        hint: String,
    },
    #[error("not found: {repo}: {what}")]
    NotFound { repo: String, what: String },
    /// 429 more often than the retry budget allows (or asked to wait unreasonably long).
    #[error("rate limited: {repo}: gave up after {attempts} attempt(s){}", wait_hint(*.retry_after))]
    RateLimited {
        repo: String,
        attempts: u32,
        retry_after: Option<Duration>,
    },
    /// 5xx on every attempt.
    #[error("registry error: {repo}: HTTP {status} after {attempts} attempt(s)")]
    Server {
        repo: String,
        status: u16,
        attempts: u32,
    },
    #[error("cannot reach {repo}: {message}")]
    Network { repo: String, message: String },
    /// A response that breaks the distribution protocol (missing Location, bad JSON...).
    #[error("unexpected response from {repo}: {message}")]
    Protocol { repo: String, message: String },
    #[error("malformed manifest {repo}:{reference}: {message}")]
    MalformedManifest {
        repo: String,
        reference: String,
        message: String,
    },
    #[error("unsupported manifest media type {media_type:?} for {repo}:{reference}")]
    UnsupportedMediaType {
        repo: String,
        reference: String,
        media_type: String,
    },
    /// After a copy the target holds a different digest than the source.
    #[error(
        "digest mismatch promoting to {target}: expected {expected}, registry has {actual}; {cleanup}"
    )]
    DigestMismatch {
        target: String,
        expected: String,
        actual: String,
        cleanup: String,
    },
    /// A protected environment's tag already points at other content.
    #[error(
        "refused: {target} already points at {existing}; tags in a protected environment are \
         immutable (promoting {incoming}); use a new tag"
    )]
    ImmutableTag {
        target: String,
        existing: String,
        incoming: String,
    },
    /// Looking up credentials failed (unreadable config, failing helper).
    #[error("credentials for {registry}: {message}")]
    Credentials { registry: String, message: String },
    #[error("invalid image reference {input:?}: {message}")]
    InvalidReference { input: String, message: String },
    /// The configuration does not describe what was asked (unknown env, env without registry).
    #[error("{0}")]
    Config(String),
}

fn wait_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (registry asked to wait {}s)", d.as_secs()),
        None => String::new(),
    }
}

impl RegistryError {
    /// Errors worth retrying a whole multi-request operation (a blob copy) for.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RegistryError::Server { .. }
                | RegistryError::Network { .. }
                | RegistryError::RateLimited { .. }
        )
    }
}

/// A reqwest error in words, without the URL (upload URLs carry session state) and without
/// anything from request headers.
pub(crate) fn describe_reqwest(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "error reading the response"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_registry_and_repository() {
        let e = RegistryError::Unauthorized {
            repo: "127.0.0.1:5000/prod/orders".into(),
            hint: "check credentials in ~/.docker/config.json".into(),
        };
        assert_eq!(
            e.to_string(),
            "unauthorized: 127.0.0.1:5000/prod/orders: check credentials in ~/.docker/config.json"
        );
        let e = RegistryError::RateLimited {
            repo: "r/x".into(),
            attempts: 3,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            e.to_string(),
            "rate limited: r/x: gave up after 3 attempt(s) (registry asked to wait 7s)"
        );
        assert!(e.is_transient());
    }
}
