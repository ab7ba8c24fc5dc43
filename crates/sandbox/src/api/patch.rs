//! PATCH in its four flavours (R5.3, R5.4): JSON patch (RFC 6902), JSON merge patch
//! (RFC 7386), strategic merge patch (built-in kinds only) and server-side apply.
//!
//! A patch is applied to the current object and the result written with the current
//! resourceVersion as precondition; a concurrent write makes the server re-read and re-apply,
//! unless the patch itself named a resourceVersion, which is then the client's precondition.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use json_patch::{AddOperation, PatchOperation};
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::{ResId, Subresource};
use crate::store::rv_of;

use super::decode::{self, Directive};
use super::gojson;
use super::server::{Ctx, ResourceRequest, json_response, parse_body, with_warnings};
use super::smp;
use super::write::{check_type, write_opts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// The patch type a `Content-Type` names; 415 for anything else, and for strategic merge
    /// patches of custom resources, which have no patch strategy. For built-in kinds the real
    /// server's router turns other types away before its patch handler sees them, in its own
    /// words; custom resources get the handler's list of accepted types.
    pub fn of(content_type: &str, res: ResId) -> Result<PatchType, ApiError> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let builtin = res.get().builtin;
        let t = match essence.as_str() {
            "application/json-patch+json" => PatchType::Json,
            "application/merge-patch+json" => PatchType::Merge,
            "application/strategic-merge-patch+json" if builtin => PatchType::Strategic,
            "application/apply-patch+yaml" => PatchType::Apply,
            _ if builtin => {
                let mut err = ApiError::unsupported_media_type("415: Unsupported Media Type");
                err.details = Some(serde_json::json!({}));
                return Err(err);
            }
            _ => {
                let mut accepted = vec![
                    "application/json-patch+json",
                    "application/merge-patch+json",
                ];
                if builtin {
                    accepted.push("application/strategic-merge-patch+json");
                }
                accepted.push("application/apply-patch+yaml");
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: {}",
                    accepted.join(", ")
                )));
            }
        };
        Ok(t)
    }
}

/// Applies a patch body to a document of kind `kind`. Malformed patches are refused in the
/// real server's words (`handlers/patch.go`): JSON and merge patches with "error decoding
/// patch: " and Go's decoding error, strategic merge patches with the bare decoding error.
pub fn apply_patch(
    ptype: PatchType,
    kind: &str,
    current: &Value,
    body: &[u8],
) -> Result<Value, ApiError> {
    let decoding = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    match ptype {
        PatchType::Json => {
            let ops = gojson::parse(body).map_err(decoding)?;
            json_patch_apply(current, ops)
        }
        PatchType::Merge => {
            let patch = gojson::parse(body).map_err(decoding)?;
            if !patch.is_object() {
                return Err(decoding(gojson::cannot_unmarshal(&patch, PATCH_MAP)));
            }
            let mut doc = current.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        PatchType::Strategic => {
            let patch = gojson::parse(body).map_err(ApiError::bad_request)?;
            if !patch.is_object() {
                return Err(ApiError::bad_request(gojson::cannot_unmarshal(
                    &patch, PATCH_MAP,
                )));
            }
            smp::strategic_merge(kind, current, &patch).map_err(ApiError::bad_request)
        }
        PatchType::Apply => {
            let applied = patch_object(body)?;
            smp::server_side_apply(kind, current, &applied).map_err(ApiError::bad_request)
        }
    }
}

/// The Go type merge and strategic merge patches are decoded into.
const PATCH_MAP: &str = "map[string]interface {}";

/// A JSON patch as the real server applies it: with evanphx/json-patch v4, whose `replace`
/// sets a key an object does not have yet (like `add`; RFC 6902 refuses), and whose every
/// failure (a path that does not exist, a `test` that does not hold, an unknown `op`) is the
/// generic 422. The body must decode as a list of operation objects first (400).
fn json_patch_apply(current: &Value, ops: Value) -> Result<Value, ApiError> {
    let decoding = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    let ops = match ops {
        Value::Null => Vec::new(),
        Value::Array(ops) => ops,
        other => {
            return Err(decoding(gojson::cannot_unmarshal(
                &other,
                "[]handlers.jsonPatchOp",
            )));
        }
    };
    if let Some(op) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(decoding(gojson::cannot_unmarshal(
            op,
            "handlers.jsonPatchOp",
        )));
    }
    let mut doc = current.clone();
    for op in ops {
        let op: json_patch::PatchOperation =
            serde_json::from_value(op).map_err(|_| ApiError::unprocessable())?;
        let op = replace_missing_key_as_add(&doc, op);
        json_patch::patch(&mut doc, std::slice::from_ref(&op))
            .map_err(|_| ApiError::unprocessable())?;
    }
    Ok(doc)
}

fn replace_missing_key_as_add(doc: &Value, op: PatchOperation) -> PatchOperation {
    if let PatchOperation::Replace(replace) = &op
        && let Some((parent, key)) = replace.path.split_back()
        && let Some(Value::Object(map)) = doc.pointer(parent.as_str())
        && !map.contains_key(key.decoded().as_ref())
    {
        return PatchOperation::Add(AddOperation {
            path: replace.path.clone(),
            value: replace.value.clone(),
        });
    }
    op
}

fn patch_object(body: &[u8]) -> Result<Value, ApiError> {
    let value = parse_body(body)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the patch must be a JSON object (YAML apply configurations are not supported; send JSON)",
        ));
    }
    Ok(value)
}

/// How often a patch is re-applied when other writers keep winning the race.
const ATTEMPTS: usize = 5;

pub(crate) fn patch(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let name = r.name.as_deref().unwrap_or_default();
    let ptype = PatchType::of(&req.content_type, r.res)?;
    let opts = write_opts(&req.params);
    let status = r.sub == Some(Subresource::Status);
    if ptype == PatchType::Apply {
        if opts.field_manager.is_none() {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        let applied = patch_object(&req.body)?;
        check_type(r.res, &applied)?;
        if ctx.cluster.store.get(r.res, r.ns(), name).is_none() && !status {
            return create_from_apply(ctx, req, applied, name);
        }
    } else if req.params.force {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
        ));
    }
    let directive = Directive::of(req.params.field_validation.as_deref(), "PatchOptions")?;
    let kind = r.res.get().kind;
    for _ in 0..ATTEMPTS {
        let current = ctx.cluster.get(r.res, r.ns(), name)?;
        let mut next = apply_patch(ptype, kind, &current, &req.body)?;
        let warnings = if ptype == PatchType::Apply {
            // Server-side apply has its own schema errors; unknown fields are dropped.
            decode::body(r.res, &mut next, Directive::Ignore)?
        } else {
            decode::patched(r.res, ptype, &req.body, &current, &mut next, directive)?
        };
        let current_rv = rv_of(&current);
        match next["metadata"]["resourceVersion"].as_str() {
            Some(rv) if !rv.is_empty() && rv != current_rv.to_string() => {
                return Err(ApiError::conflict(r.res.get(), name));
            }
            _ => {}
        }
        // Our read is the precondition; losing a race means re-reading, not failing.
        if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "resourceVersion".into(),
                Value::String(current_rv.to_string()),
            );
        }
        let result = if status {
            ctx.cluster.update_status(r.res, r.ns(), name, next, &opts)
        } else {
            ctx.cluster.update(r.res, r.ns(), name, next, &opts)
        };
        match result {
            Ok(stored) => {
                return Ok(with_warnings(
                    json_response(StatusCode::OK, &stored),
                    &warnings,
                ));
            }
            Err(e) if e.code == 409 && e.reason == "Conflict" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(r.res.get(), name))
}

/// Server-side apply of an absent object creates it (kubectl does not GET first).
fn create_from_apply(
    ctx: &Arc<Ctx>,
    req: &ResourceRequest,
    mut applied: Value,
    name: &str,
) -> Result<Response, ApiError> {
    let r = &req.route;
    match applied["metadata"]["name"].as_str() {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {}
    }
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".into(), Value::String(name.to_string()));
    } else {
        applied["metadata"] = serde_json::json!({"name": name});
    }
    // An apply configuration is partial, but one that creates must stand as a whole object.
    decode::body(r.res, &mut applied, Directive::Ignore)?;
    let created = ctx
        .cluster
        .create(r.res, r.ns(), applied, &write_opts(&req.params))?;
    Ok(json_response(StatusCode::CREATED, &created))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds;
    use serde_json::json;

    #[test]
    fn content_types() {
        let d = *kinds::DEPLOYMENTS;
        assert_eq!(
            PatchType::of("application/strategic-merge-patch+json", d),
            Ok(PatchType::Strategic)
        );
        assert_eq!(
            PatchType::of("application/merge-patch+json; charset=utf-8", d),
            Ok(PatchType::Merge)
        );
        let err = PatchType::of("application/strategic-merge-patch+json", *kinds::HTTPROUTES)
            .expect_err("an error");
        assert_eq!((err.code, err.reason), (415, "UnsupportedMediaType"));
        let err = PatchType::of("application/json", d).expect_err("an error");
        assert_eq!(
            (err.code, err.message.as_str(), err.details),
            (415, "415: Unsupported Media Type", Some(json!({})))
        );
    }

    #[test]
    fn json_and_merge_patches() {
        let obj =
            json!({"metadata": {"name": "web", "labels": {"a": "1"}}, "spec": {"replicas": 1}});
        let merged = apply_patch(
            PatchType::Merge,
            "Deployment",
            &obj,
            br#"{"metadata":{"labels":{"a":null,"b":"2"}},"spec":{"replicas":3}}"#,
        )
        .expect("merge");
        assert_eq!(merged["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(merged["spec"]["replicas"], 3);
        let patched = apply_patch(
            PatchType::Json,
            "Deployment",
            &obj,
            br#"[{"op":"replace","path":"/spec/replicas","value":5},{"op":"add","path":"/metadata/labels/c","value":"3"}]"#,
        )
        .expect("json patch");
        assert_eq!(patched["spec"]["replicas"], 5);
        assert_eq!(patched["metadata"]["labels"]["c"], "3");
        let failed = apply_patch(
            PatchType::Json,
            "Deployment",
            &obj,
            br#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        );
        assert_eq!(failed.expect_err("an error").code, 422);
        assert_eq!(
            apply_patch(PatchType::Merge, "Deployment", &obj, b"[1]")
                .expect_err("an error")
                .code,
            400
        );
        assert_eq!(
            apply_patch(PatchType::Json, "Deployment", &obj, b"{not json")
                .expect_err("an error")
                .code,
            400
        );
    }

    /// What kube-apiserver 1.34 answered to the same patches (tests/fidelity).
    #[test]
    fn patches_fail_and_succeed_as_on_the_real_server() {
        let obj = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}});
        let message = |ptype, body: &str| {
            let err = apply_patch(ptype, "Deployment", &obj, body.as_bytes()).expect_err("error");
            (err.code, err.message)
        };
        // evanphx/json-patch v4: `replace` of a key the object lacks adds it.
        let patched = apply_patch(
            PatchType::Json,
            "Deployment",
            &obj,
            br#"[{"op":"replace","path":"/spec/paused","value":true}]"#,
        )
        .expect("replace of a missing key");
        assert_eq!(patched["spec"]["paused"], true);
        let generic = (
            422,
            "the server rejected our request due to an error in our request".to_string(),
        );
        for failing in [
            r#"[{"op":"test","path":"/spec/replicas","value":7}]"#,
            r#"[{"op":"remove","path":"/spec/nothere"}]"#,
            r#"[{"op":"replace","path":"/spec/a/b","value":1}]"#,
            r#"[{"op":"foo","path":"/spec"}]"#,
        ] {
            assert_eq!(message(PatchType::Json, failing), generic, "{failing}");
        }
        assert_eq!(
            message(PatchType::Json, r#"{"op":"add"}"#).1,
            "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
        );
        assert_eq!(
            message(PatchType::Json, r#"["x"]"#).1,
            "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"
        );
        assert_eq!(
            message(PatchType::Json, r#"[{"op":"add"},"#).1,
            "error decoding patch: unexpected end of JSON input"
        );
        assert_eq!(
            message(PatchType::Merge, "{bad json").1,
            "error decoding patch: invalid character 'b' looking for beginning of object key string"
        );
        assert_eq!(
            message(PatchType::Merge, "[1]").1,
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
        assert_eq!(
            message(PatchType::Strategic, "{bad json"),
            (
                400,
                "invalid character 'b' looking for beginning of object key string".to_string()
            )
        );
    }
}
