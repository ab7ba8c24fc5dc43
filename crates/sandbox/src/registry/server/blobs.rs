//! Blobs and blob uploads: `GET/HEAD/DELETE /v2/<name>/blobs/<digest>` (with `Range`), and
//! upload sessions: `POST …/blobs/uploads/` (plain, monolithic `?digest=`, or cross-repository
//! `?mount=&from=`), `PATCH` chunks, `PUT ?digest=` to close, `GET` status, `DELETE` to cancel.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, HeaderName, LOCATION, RANGE};

use super::{Ctx, reply};
use crate::registry::digest;
use crate::registry::error::OciError;

const DIGEST_HEADER: HeaderName = HeaderName::from_static("docker-content-digest");
const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
const SESSION_ID: HeaderName = HeaderName::from_static("blob-upload-session-id");

pub(super) fn get(ctx: &Ctx, name: &str, digest: &str) -> Result<Response, OciError> {
    digest::parse(digest)?;
    let data = ctx.registry().store.read().blob(name, digest)?;
    let total = data.len() as u64;
    let mut headers = vec![
        (CONTENT_TYPE, "application/octet-stream".to_string()),
        (DIGEST_HEADER, digest.to_string()),
        (ACCEPT_RANGES, "bytes".to_string()),
    ];
    let Some(range) = ctx.header(RANGE) else {
        return Ok(reply(StatusCode::OK, headers, data));
    };
    match parse_byte_range(range, total) {
        ByteRange::Whole => Ok(reply(StatusCode::OK, headers, data)),
        ByteRange::Part(start, end) => {
            headers.push((CONTENT_RANGE, format!("bytes {start}-{end}/{total}")));
            let part = data.slice(start as usize..=end as usize);
            Ok(reply(StatusCode::PARTIAL_CONTENT, headers, part))
        }
        ByteRange::Unsatisfiable => Err(OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UNKNOWN",
            format!("range {range:?} is outside the blob ({total} bytes)"),
        )
        .with_header(CONTENT_RANGE, format!("bytes */{total}"))),
    }
}

pub(super) fn delete(ctx: &Ctx, name: &str, digest: &str) -> Result<Response, OciError> {
    digest::parse(digest)?;
    ctx.registry().store.write().delete_blob(name, digest)?;
    Ok(reply(StatusCode::ACCEPTED, Vec::new(), Bytes::new()))
}

pub(super) fn start(ctx: &Ctx, name: &str) -> Result<Response, OciError> {
    let registry = ctx.registry();
    if let Some(mount) = ctx.param("mount") {
        // A mount that cannot happen (bad digest, unknown or unreadable source) falls back to
        // an ordinary upload session, as the spec asks.
        let mounted = digest::parse(mount).is_ok()
            && ctx.param("from").is_some_and(|from| {
                ctx.grant.allows_pull(from) && registry.store.write().mount(name, mount, from)
            });
        if mounted {
            return Ok(created(name, mount));
        }
    }
    if let Some(expected) = ctx.param("digest") {
        registry.put_blob(name, expected, ctx.body.clone())?;
        return Ok(created(name, expected));
    }
    let id = registry.store.write().start_upload(name);
    Ok(session(StatusCode::ACCEPTED, name, &id, 0))
}

pub(super) fn status(ctx: &Ctx, name: &str, id: &str) -> Result<Response, OciError> {
    let size = ctx.registry().store.read().upload_size(name, id)?;
    Ok(session(StatusCode::NO_CONTENT, name, id, size))
}

pub(super) fn patch(ctx: &Ctx, name: &str, id: &str) -> Result<Response, OciError> {
    let mut store = ctx.registry().store.write();
    let appended = content_range(ctx).and_then(|range| store.append(name, id, range, &ctx.body));
    match appended {
        Ok(size) => Ok(session(StatusCode::ACCEPTED, name, id, size)),
        Err(error) if error.status == StatusCode::RANGE_NOT_SATISFIABLE => {
            // A 416 tells the client where the upload stands, so it can resume from there.
            let size = store.upload_size(name, id).unwrap_or(0);
            let mut error = error;
            error.headers.extend(session_headers(name, id, size));
            Err(error)
        }
        Err(error) => Err(error),
    }
}

pub(super) fn finish(ctx: &Ctx, name: &str, id: &str) -> Result<Response, OciError> {
    let expected = ctx
        .param("digest")
        .ok_or_else(|| OciError::digest_invalid("digest parameter missing"))?;
    let range = content_range(ctx)?;
    ctx.registry()
        .finish_upload(name, id, expected, range, &ctx.body)?;
    Ok(created(name, expected))
}

pub(super) fn cancel(ctx: &Ctx, name: &str, id: &str) -> Result<Response, OciError> {
    ctx.registry().store.write().cancel_upload(name, id)?;
    Ok(reply(StatusCode::NO_CONTENT, Vec::new(), Bytes::new()))
}

fn created(name: &str, digest: &str) -> Response {
    let headers = vec![
        (LOCATION, format!("/v2/{name}/blobs/{digest}")),
        (DIGEST_HEADER, digest.to_string()),
    ];
    reply(StatusCode::CREATED, headers, Bytes::new())
}

fn session_headers(name: &str, id: &str, size: u64) -> Vec<(HeaderName, String)> {
    vec![
        (LOCATION, format!("/v2/{name}/blobs/uploads/{id}")),
        // Like distribution: the last byte received, and `0-0` before any.
        (RANGE, format!("0-{}", size.saturating_sub(1))),
        (UPLOAD_UUID, id.to_string()),
        (SESSION_ID, id.to_string()),
    ]
}

fn session(status: StatusCode, name: &str, id: &str, size: u64) -> Response {
    reply(status, session_headers(name, id, size), Bytes::new())
}

/// `Content-Range: <start>-<end>` (the spec's form; `bytes <start>-<end>/<total>` accepted).
/// Absent: the chunk simply follows what was received (a streamed PATCH).
fn content_range(ctx: &Ctx) -> Result<Option<(u64, u64)>, OciError> {
    let Some(value) = ctx.header(CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = value.trim();
    let text = text
        .strip_prefix("bytes")
        .map_or(text, |t| t.trim_start_matches([' ', '=']));
    let text = text.split('/').next().unwrap_or_default();
    text.split_once('-')
        .and_then(|(start, end)| Some((start.trim().parse().ok()?, end.trim().parse().ok()?)))
        .map(Some)
        .ok_or_else(|| {
            OciError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                format!("invalid Content-Range {value:?}"),
            )
        })
}

#[derive(Debug, PartialEq)]
enum ByteRange {
    Whole,
    /// Inclusive.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-suffix`); anything else is served whole, as HTTP allows.
fn parse_byte_range(value: &str, total: u64) -> ByteRange {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return ByteRange::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(s), Ok(e)) if s <= e => Some((s, e.min(total.saturating_sub(1)))),
        (Ok(s), Err(_)) if end.is_empty() => Some((s, total.saturating_sub(1))),
        (Err(_), Ok(suffix)) if start.is_empty() && suffix > 0 => {
            Some((total.saturating_sub(suffix), total.saturating_sub(1)))
        }
        _ => None,
    };
    match parsed {
        Some((s, e)) if s < total && s <= e => ByteRange::Part(s, e),
        Some(_) => ByteRange::Unsatisfiable,
        None => ByteRange::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        assert_eq!(parse_byte_range("bytes=0-3", 10), ByteRange::Part(0, 3));
        assert_eq!(parse_byte_range("bytes=4-", 10), ByteRange::Part(4, 9));
        assert_eq!(parse_byte_range("bytes=-2", 10), ByteRange::Part(8, 9));
        assert_eq!(parse_byte_range("bytes=5-100", 10), ByteRange::Part(5, 9));
        assert_eq!(
            parse_byte_range("bytes=10-12", 10),
            ByteRange::Unsatisfiable
        );
        assert_eq!(parse_byte_range("bytes=0-1,4-5", 10), ByteRange::Whole);
        assert_eq!(parse_byte_range("items=0-1", 10), ByteRange::Whole);
        assert_eq!(parse_byte_range("bytes=3-1", 10), ByteRange::Whole);
    }
}
