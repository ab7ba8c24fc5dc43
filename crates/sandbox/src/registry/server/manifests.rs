//! `GET/HEAD/PUT/DELETE /v2/<name>/manifests/<tag or digest>`.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, LOCATION};

use super::{Ctx, reply};
use crate::registry::digest;
use crate::registry::error::OciError;
use crate::registry::faults::Corruption;
use crate::registry::store::StoredManifest;

const DIGEST_HEADER: HeaderName = HeaderName::from_static("docker-content-digest");

pub(super) fn get(ctx: &Ctx, name: &str, reference: &str) -> Result<Response, OciError> {
    if digest::is_digest_reference(reference) {
        digest::parse(reference)?;
    }
    let corruptions = ctx.registry().faults().corruptions(name);
    let (stored, corruption) = {
        let store = ctx.registry().store.read();
        let stored = store.manifest(name, reference)?;
        // A corrupted tag is corrupted however it is fetched: by the tag or by its digest.
        let corruption = corruptions
            .iter()
            .find(|(tag, _)| {
                tag == reference || store.resolve_tag(name, tag).as_ref() == Some(&stored.digest)
            })
            .map(|(_, c)| *c);
        (stored, corruption)
    };
    let StoredManifest {
        digest,
        media_type,
        body,
    } = stored;
    let (digest, body) = match corruption {
        None => (digest, body),
        // Still valid JSON, no longer the content the digest names.
        Some(Corruption::DigestMismatch) => {
            let mut altered = body.to_vec();
            altered.extend_from_slice(b"\n");
            (digest, Bytes::from(altered))
        }
        // Truncated JSON, served under its own digest so only parsing fails.
        Some(Corruption::InvalidJson) => {
            let truncated = body.slice(..body.len() / 2);
            (digest::sha256(&truncated), truncated)
        }
    };
    let headers = vec![
        (CONTENT_TYPE, media_type.to_string()),
        (DIGEST_HEADER, digest),
    ];
    Ok(reply(StatusCode::OK, headers, body))
}

pub(super) fn put(ctx: &Ctx, name: &str, reference: &str) -> Result<Response, OciError> {
    let content_type = ctx.header(CONTENT_TYPE);
    let digest = ctx
        .registry()
        .put_manifest(name, reference, content_type, ctx.body.clone())?;
    let headers = vec![
        (LOCATION, format!("/v2/{name}/manifests/{digest}")),
        (DIGEST_HEADER, digest),
    ];
    Ok(reply(StatusCode::CREATED, headers, Bytes::new()))
}

/// By digest: the manifest and its tags go. By tag: only the tag (the sandbox allows it;
/// distribution 2.8 answers 400 there).
pub(super) fn delete(ctx: &Ctx, name: &str, reference: &str) -> Result<Response, OciError> {
    if digest::is_digest_reference(reference) {
        digest::parse(reference)?;
    }
    ctx.registry()
        .store
        .write()
        .delete_manifest(name, reference)?;
    Ok(reply(StatusCode::ACCEPTED, Vec::new(), Bytes::new()))
}
