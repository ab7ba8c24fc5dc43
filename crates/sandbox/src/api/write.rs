//! POST, PUT, DELETE and deletecollection.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::ops::{DeleteOpts, Deleted, Propagation, WriteOpts};
use crate::resources::{ResId, Subresource, kinds};
use crate::store::rv_of;

use super::decode::{self, Directive};
use super::gojson;
use super::read::write_json;
use super::route::Params;
use super::selectors::Filter;
use super::server::{
    Ctx, ResourceRequest, bytes_response, json_response, parse_body, with_warnings,
};

pub(crate) fn write_opts(params: &Params) -> WriteOpts {
    WriteOpts {
        dry_run: params.dry_run,
        field_manager: params.field_manager.clone(),
    }
}

fn media_type(req: &ResourceRequest) -> &str {
    req.content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
}

/// Whether a body is protobuf (kubectl's typed clients send it for `create <kind>`).
fn is_protobuf(req: &ResourceRequest) -> bool {
    media_type(req) == "application/vnd.kubernetes.protobuf"
}

fn decode_protobuf(body: &[u8]) -> Result<Value, ApiError> {
    super::protobuf::decode(body).map_err(|e| {
        ApiError::unsupported_media_type(format!("the protobuf body could not be decoded: {e}"))
    })
}

/// Bodies of POST and PUT: JSON (kubectl, kube; YAML that is JSON parses), or the protobuf
/// of kubectl's typed clients.
pub(crate) fn object_body(req: &ResourceRequest) -> Result<Value, ApiError> {
    if is_protobuf(req) {
        return decode_protobuf(&req.body);
    }
    let essence = media_type(req);
    if essence.contains("protobuf") || essence.contains("cbor") {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; got {essence}"
        )));
    }
    // The real server first reads apiVersion and kind from the body; what it cannot read is
    // "unrecognized", with Go's decoding error and the start of the body
    // (`transformDecodeError` in the apiserver's handlers).
    let unrecognized = |error: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {error} ({})",
            req.route.res.get().kind,
            gojson::summarize(&req.body)
        ))
    };
    let body = gojson::parse(&req.body).map_err(unrecognized)?;
    if !body.is_object() {
        return Err(unrecognized(gojson::cannot_unmarshal(&body, TYPE_META)));
    }
    Ok(body)
}

/// The Go type the real server reads `apiVersion` and `kind` into, as Go prints it.
const TYPE_META: &str = r#"struct { APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" }"#;

/// The type of the body must be the type of the URL.
pub(crate) fn check_type(res: ResId, body: &Value) -> Result<(), ApiError> {
    let rt = res.get();
    if let Some(av) = body.get("apiVersion").and_then(Value::as_str)
        && av != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(kind) = body.get("kind").and_then(Value::as_str)
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

fn check_namespace(req: &ResourceRequest, body: &Value) -> Result<(), ApiError> {
    if !req.route.res.get().namespaced {
        return Ok(());
    }
    match body["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() && ns != req.route.ns() => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn create(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let directive = Directive::of(req.params.field_validation.as_deref(), "CreateOptions")?;
    let mut body = object_body(req)?;
    check_type(r.res, &body)?;
    let warnings = decode::body(r.res, &mut body, directive)?;
    if r.res.get().namespaced && r.namespace.is_none() {
        return Err(ApiError::bad_request(
            "the namespace of the object must be given in the URL",
        ));
    }
    let created = ctx
        .cluster
        .create(r.res, r.ns(), body, &write_opts(&req.params))?;
    Ok(with_warnings(
        json_response(StatusCode::CREATED, &created),
        &warnings,
    ))
}

pub(crate) fn replace(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let name = r.name.as_deref().unwrap_or_default();
    let directive = Directive::of(req.params.field_validation.as_deref(), "UpdateOptions")?;
    let mut body = object_body(req)?;
    check_type(r.res, &body)?;
    check_namespace(req, &body)?;
    let warnings = decode::body(r.res, &mut body, directive)?;
    let opts = write_opts(&req.params);
    let stored = if r.sub == Some(Subresource::Status) {
        ctx.cluster
            .update_status(r.res, r.ns(), name, body, &opts)?
    } else {
        ctx.cluster.update(r.res, r.ns(), name, body, &opts)?
    };
    Ok(with_warnings(
        json_response(StatusCode::OK, &stored),
        &warnings,
    ))
}

/// `DeleteOptions` from the body (kubectl sends one) and the query (kube may use either).
fn delete_opts(req: &ResourceRequest) -> Result<(DeleteOpts, Option<String>), ApiError> {
    let body = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else if is_protobuf(req) {
        decode_protobuf(&req.body)?
    } else {
        parse_body(&req.body)?
    };
    let p = &req.params;
    let policy = body["propagationPolicy"]
        .as_str()
        .map(str::to_string)
        .or_else(|| p.propagation_policy.clone());
    let propagation = match policy.as_deref() {
        None | Some("Background") => {
            if body["orphanDependents"] == true {
                Propagation::Orphan
            } else {
                Propagation::Background
            }
        }
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Background\", \"Foreground\", \"Orphan\""
            )));
        }
    };
    let grace = body["gracePeriodSeconds"]
        .as_i64()
        .or(p.grace_period_seconds);
    let expected_rv = match body["preconditions"]["resourceVersion"].as_str() {
        Some(s) if !s.is_empty() => Some(s.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("invalid resourceVersion precondition {s:?}"))
        })?),
        _ => None,
    };
    let expected_uid = body["preconditions"]["uid"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let dry_run = p.dry_run
        || body["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok((
        DeleteOpts {
            propagation,
            grace_period_seconds: grace,
            expected_rv,
            dry_run,
        },
        expected_uid,
    ))
}

pub(crate) fn delete(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let name = r.name.as_deref().unwrap_or_default();
    let (opts, expected_uid) = delete_opts(req)?;
    if let Some(uid) = expected_uid {
        let current = ctx.cluster.get(r.res, r.ns(), name)?;
        let actual = current["metadata"]["uid"].as_str().unwrap_or_default();
        if actual != uid {
            let mut err = ApiError::conflict(r.res.get(), name);
            err.message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}",
                r.res.get().qualified_plural()
            );
            return Err(err);
        }
    }
    let deleted = ctx.cluster.delete(r.res, r.ns(), name, &opts)?;
    Ok(match deleted {
        // Pods answer with the object (the real registry's `ReturnDeletedObject`); other
        // kinds deleted at once answer with a success Status.
        Deleted::Gone(obj) if r.res != *kinds::PODS => {
            let rt = r.res.get();
            json_response(
                StatusCode::OK,
                &json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": name,
                        "group": rt.group,
                        "kind": rt.plural,
                        "uid": obj["metadata"]["uid"],
                    },
                }),
            )
        }
        Deleted::Gone(obj) | Deleted::Terminating(obj) => json_response(StatusCode::OK, &obj),
    })
}

/// DELETE on a collection: every selected object, answered with the list of what was deleted.
pub(crate) fn delete_collection(
    ctx: &Arc<Ctx>,
    req: &ResourceRequest,
) -> Result<Response, ApiError> {
    let r = &req.route;
    let filter = Filter::from_params(r.res, &req.params)?;
    let (opts, _) = delete_opts(req)?;
    let (items, _) = ctx.cluster.store.list(r.res, r.namespace.as_deref());
    let mut deleted = Vec::new();
    for item in items.iter().filter(|o| filter.matches(o)) {
        let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        match ctx.cluster.delete(r.res, ns, name, &opts) {
            Ok(d) => deleted.push(d.object().clone()),
            // Gone meanwhile (garbage collection of an earlier item): not an error.
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rt = r.res.get();
    let rv = deleted
        .iter()
        .map(|o| rv_of(o))
        .max()
        .unwrap_or_else(|| ctx.cluster.store.resource_version());
    let mut buf = Vec::with_capacity(256 + deleted.len() * 1024);
    buf.extend_from_slice(
        format!(
            r#"{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{rv}"}},"items":["#,
            rt.list_kind(),
            rt.api_version()
        )
        .as_bytes(),
    );
    for (i, obj) in deleted.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_json(&mut buf, obj);
    }
    buf.extend_from_slice(b"]}");
    Ok(bytes_response(StatusCode::OK, buf, "application/json"))
}
