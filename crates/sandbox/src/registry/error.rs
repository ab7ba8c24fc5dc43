//! Registry errors, rendered as the distribution spec's error envelope:
//! `{"errors":[{"code":"MANIFEST_UNKNOWN","message":…,"detail":…}]}`.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct OciError {
    pub status: StatusCode,
    /// One of the spec's codes (`BLOB_UNKNOWN`, `DIGEST_INVALID`, …); `UNKNOWN` and
    /// `UNAVAILABLE` for server errors, as distribution uses them.
    pub code: &'static str,
    pub message: String,
    pub detail: Value,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`, `Range`, `Location`).
    pub headers: Vec<(HeaderName, String)>,
}

impl std::fmt::Display for OciError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for OciError {}

impl OciError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OciError {
            status,
            code,
            message: message.into(),
            detail: Value::Null,
            headers: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(json!({ "digest": digest }))
    }

    pub fn blob_upload_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", message)
    }

    pub fn blob_upload_unknown(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
        .with_detail(json!({ "session": id }))
    }

    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    pub fn manifest_blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(json!({ "digest": digest }))
    }

    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", message)
    }

    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        )
        .with_detail(json!({ "reference": reference }))
    }

    pub fn name_invalid(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid repository name",
        )
        .with_detail(json!({ "name": name }))
    }

    pub fn name_unknown(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        )
        .with_detail(json!({ "name": name }))
    }

    pub fn size_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SIZE_INVALID", message)
    }

    pub fn unsupported(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "UNSUPPORTED", message)
    }

    pub fn unauthorized(challenge: String) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        )
        .with_header(http::header::WWW_AUTHENTICATE, challenge)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOOMANYREQUESTS",
            "too many requests",
        )
        .with_header(http::header::RETRY_AFTER, retry_after_secs.to_string())
    }

    /// An injected server error; the code follows distribution (`UNAVAILABLE` for 503).
    pub fn server(status: StatusCode) -> Self {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            "UNAVAILABLE"
        } else {
            "UNKNOWN"
        };
        let message = status.canonical_reason().unwrap_or("server error");
        Self::new(status, code, message.to_ascii_lowercase())
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{ "code": self.code, "message": self.message, "detail": self.detail }]
        })
        .to_string();
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        for (name, value) in self.headers {
            // Values are built from digests, numbers and our own URLs; one that is not a valid
            // header value is dropped rather than failing the whole error response.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        *response.body_mut() = Body::from(body);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_the_spec_envelope() {
        let response = OciError::manifest_unknown("v9").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let value: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(value["errors"][0]["code"], "MANIFEST_UNKNOWN");
        assert_eq!(value["errors"][0]["detail"]["reference"], "v9");
    }

    #[test]
    fn server_errors_use_distribution_codes() {
        assert_eq!(
            OciError::server(StatusCode::SERVICE_UNAVAILABLE).code,
            "UNAVAILABLE"
        );
        assert_eq!(
            OciError::server(StatusCode::INTERNAL_SERVER_ERROR).code,
            "UNKNOWN"
        );
    }
}
