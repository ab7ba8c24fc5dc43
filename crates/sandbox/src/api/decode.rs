//! What decoding a written object into the real server's Go types does, for built-in kinds: a
//! value of the wrong type is refused, and a field the type does not have is refused
//! (`fieldValidation=Strict`, which kubectl sends for create and apply), dropped with a
//! warning (`Warn`, the server's default, e.g. for `kubectl patch`) or dropped silently
//! (`Ignore`). The words are the real server's (`handlers/create.go`, `handlers/patch.go`):
//! kubectl prints them verbatim.
//!
//! The sandbox decodes into k8s-openapi's types and serializes back: whatever key the round
//! trip loses is a field the type does not have.

use serde_json::Value;

use crate::error::ApiError;
use crate::resources::{ResId, ResourceType};

use super::gojson;
use super::patch::PatchType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Directive {
    Strict,
    Warn,
    Ignore,
}

impl Directive {
    /// `?fieldValidation=`; absent means `Warn`. `options` names the request's options type
    /// for the message about an unsupported value (`CreateOptions`, `PatchOptions`).
    pub(crate) fn of(param: Option<&str>, options: &str) -> Result<Directive, ApiError> {
        match param {
            None | Some("") | Some("Warn") => Ok(Directive::Warn),
            Some("Strict") => Ok(Directive::Strict),
            Some("Ignore") => Ok(Directive::Ignore),
            Some(other) => Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "{options}.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
                ),
            )),
        }
    }
}

/// A body of a create or an update: refused if its values have the wrong types or (under
/// `Strict`) it has unknown fields; otherwise unknown fields are removed. Returns the warnings
/// for the response.
pub(crate) fn body(
    res: ResId,
    obj: &mut Value,
    directive: Directive,
) -> Result<Vec<String>, ApiError> {
    let rt = res.get();
    let cannot_handle = |error: String| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {error}",
            kind = rt.kind,
            version = rt.version
        ))
    };
    let typed = match round_trip(res, obj) {
        Ok(Some(typed)) => typed,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => return Err(type_error(rt, obj, e, cannot_handle)),
    };
    let unknown = unknown_fields(obj, &typed);
    settle_unknown(obj, &typed, unknown, &[], directive).map_err(cannot_handle)
}

/// A patched object: as [`body`], but errors are the 422 the real server gives for a patch
/// whose result does not decode, naming the patch (strategic merge patches, as Go prints the
/// patch's map) or the patched object (JSON and merge patches). Unknown fields the object
/// already had before the patch are left alone.
pub(crate) fn patched(
    res: ResId,
    ptype: PatchType,
    patch: &[u8],
    current: &Value,
    next: &mut Value,
    directive: Directive,
) -> Result<Vec<String>, ApiError> {
    let rt = res.get();
    let value = match ptype {
        PatchType::Strategic => go_fmt(&gojson::parse(patch).unwrap_or(Value::Null)),
        _ => serde_json::to_string(next).unwrap_or_default(),
    };
    let invalid = |error: String| patch_invalid(&value, &error);
    let typed = match round_trip(res, next) {
        Ok(Some(typed)) => typed,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => {
            return Err(type_error(rt, next, e, |e| match ptype {
                PatchType::Strategic => invalid(converter_error(&e)),
                _ => invalid(e),
            }));
        }
    };
    let already: Vec<String> = match round_trip(res, current) {
        Ok(Some(current_typed)) => unknown_fields(current, &current_typed),
        _ => Vec::new(),
    };
    let unknown: Vec<String> = unknown_fields(next, &typed)
        .into_iter()
        .filter(|f| !already.contains(f))
        .collect();
    settle_unknown(next, &typed, unknown, &already, directive).map_err(invalid)
}

/// ` "" is invalid: patch: Invalid value: "<value>": <error>`, the real server's
/// `NewInvalid(schema.GroupKind{}, "", ...)`.
fn patch_invalid(value: &str, error: &str) -> ApiError {
    let cause = format!("Invalid value: {}: {error}", go_quote(value));
    let mut err = ApiError::new(422, "Invalid", format!(" \"\" is invalid: patch: {cause}"));
    err.details = Some(serde_json::json!({
        "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": "patch"}]
    }));
    err
}

/// Refuses (`Strict`), or removes unknown fields and returns them as warnings (`Warn`) or
/// not (`Ignore`). The error is the strict decoding error's text.
fn settle_unknown(
    obj: &mut Value,
    typed: &Value,
    unknown: Vec<String>,
    keep: &[String],
    directive: Directive,
) -> Result<Vec<String>, String> {
    let messages: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match directive {
        _ if unknown.is_empty() => Ok(Vec::new()),
        Directive::Strict => Err(format!("strict decoding error: {}", messages.join(", "))),
        Directive::Warn => {
            prune(obj, typed, keep, "");
            Ok(messages)
        }
        Directive::Ignore => {
            prune(obj, typed, keep, "");
            Ok(Vec::new())
        }
    }
}

/// A value of the wrong type: a missing required field is a validation error (422); anything
/// else goes to `wrap` with serde's words (`spec.replicas: invalid type: ...`).
fn type_error(
    rt: &ResourceType,
    obj: &Value,
    (path, message): (String, String),
    wrap: impl FnOnce(String) -> ApiError,
) -> ApiError {
    if message.starts_with("missing field") {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        return ApiError::invalid(
            rt,
            name,
            &[(path.as_str(), format!("Required value: {message}"))],
        );
    }
    wrap(format!("{path}: {message}"))
}

/// The object through k8s-openapi's type for its kind and back; `None` for kinds without a
/// compiled-in schema (custom resources) and objects without metadata (the semantics layer
/// has the better message for those: a name is required).
fn round_trip(res: ResId, obj: &Value) -> Result<Option<Value>, (String, String)> {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    use k8s_openapi::api::{discovery::v1 as discovery, networking::v1 as networking};

    fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
        obj: &Value,
    ) -> Result<Option<Value>, (String, String)> {
        let value: T = serde_path_to_error::deserialize(obj)
            .map_err(|e| (e.path().to_string(), e.inner().to_string()))?;
        Ok(serde_json::to_value(value).ok())
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        return Ok(None);
    }
    match res.get().kind {
        "Namespace" => typed::<core::Namespace>(obj),
        "Pod" => typed::<core::Pod>(obj),
        "Service" => typed::<core::Service>(obj),
        "Endpoints" => typed::<core::Endpoints>(obj),
        "ConfigMap" => typed::<core::ConfigMap>(obj),
        "Secret" => typed::<core::Secret>(obj),
        "ServiceAccount" => typed::<core::ServiceAccount>(obj),
        "Event" => typed::<core::Event>(obj),
        "Node" => typed::<core::Node>(obj),
        "Deployment" => typed::<apps::Deployment>(obj),
        "ReplicaSet" => typed::<apps::ReplicaSet>(obj),
        "Job" => typed::<batch::Job>(obj),
        "EndpointSlice" => typed::<discovery::EndpointSlice>(obj),
        "Ingress" => typed::<networking::Ingress>(obj),
        _ => Ok(None),
    }
}

/// Fields of `obj` that its round trip `typed` lost, in Go's path notation
/// (`spec.template.spec.containers[0].foo`), sorted as the real server lists them. A null is
/// no field (the round trip drops nulls of known fields too).
fn unknown_fields(obj: &Value, typed: &Value) -> Vec<String> {
    fn walk(obj: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
        match (obj, typed) {
            (Value::Object(fields), Value::Object(known)) => {
                for (key, value) in fields {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match known.get(key) {
                        Some(t) => walk(value, t, &here, out),
                        None if !value.is_null() => out.push(here),
                        None => {}
                    }
                }
            }
            (Value::Array(items), Value::Array(known)) => {
                for (i, (item, t)) in items.iter().zip(known).enumerate() {
                    walk(item, t, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(obj, typed, "", &mut out);
    out.sort();
    out
}

/// Removes from `obj` the fields its round trip lost, except those in `keep`.
fn prune(obj: &mut Value, typed: &Value, keep: &[String], path: &str) {
    match (obj, typed) {
        (Value::Object(fields), Value::Object(known)) => {
            fields.retain(|key, value| {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                known.contains_key(key) || value.is_null() || keep.contains(&here)
            });
            for (key, value) in fields.iter_mut() {
                if let Some(t) = known.get(key) {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    prune(value, t, keep, &here);
                }
            }
        }
        (Value::Array(items), Value::Array(known)) => {
            for (i, (item, t)) in items.iter_mut().zip(known).enumerate() {
                prune(item, t, keep, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

/// The words of the real server's unstructured converter (`runtime/converter.go`), which
/// decodes a strategic-merge-patched map, for serde's `<path>: invalid type: <found>,
/// expected <type>`; serde's own words when the error is of another sort.
fn converter_error(serde_error: &str) -> String {
    let parsed = serde_error
        .split_once(": invalid type: ")
        .and_then(|(_, rest)| rest.rsplit_once(", expected "));
    let Some((found, expected)) = parsed else {
        return serde_error.to_string();
    };
    let source = match found.split_whitespace().next().unwrap_or_default() {
        "string" => "string",
        "integer" => "int64",
        "floating" => "float64",
        "boolean" => "bool",
        "map" => "map",
        "sequence" => "slice",
        _ => return serde_error.to_string(),
    };
    let target = match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "f32" | "f64" => {
            let kind = match expected {
                "f32" => "float32".to_string(),
                "f64" => "float64".to_string(),
                e if e.starts_with('u') => format!("uint{}", &e[1..]),
                e => format!("int{}", &e[1..]),
            };
            return match source {
                // Go converts between numbers; a fraction into an integer is the one refusal.
                "float64" if kind.contains("int") => format!("cannot convert float64 to {kind}"),
                _ => format!("unrecognized type: {kind}"),
            };
        }
        "a boolean" => "bool",
        "a string" => "string",
        "a sequence" => return format!("cannot restore slice from {source}"),
        "a map" => return format!("cannot restore map from {source}"),
        _ => return format!("cannot restore struct from: {source}"),
    };
    match (source, target) {
        // Go can convert an integer to a string type, but the converter does not.
        ("int64", "string") => "cannot convert int64 to string".to_string(),
        _ => format!("unrecognized type: {target}"),
    }
}

/// A JSON value as Go's `fmt` prints a decoded `map[string]interface{}` (`%+v`): maps with
/// sorted keys, `map[k:v k2:v2]`; slices `[a b]`; strings bare; `<nil>`.
fn go_fmt(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_fmt).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_string(),
    }
}

/// Go's `%q`, as `field.Invalid` quotes a string value.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds;
    use serde_json::json;

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
    }

    const SPEC: &str = r#"{"selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}"#;

    /// The message kube-apiserver 1.34 gave for the same body (tests/fidelity).
    #[test]
    fn unknown_fields_are_refused_warned_about_or_dropped() {
        let mut spec: Value = serde_json::from_str(SPEC).expect("spec");
        spec["replicass"] = json!(2);
        spec["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("A");
        let mut obj = deployment(spec);
        obj["metadata"]["foo"] = json!(1);
        let err = body(*kinds::DEPLOYMENTS, &mut obj.clone(), Directive::Strict)
            .expect_err("strict refuses");
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                400,
                "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"metadata.foo\", unknown field \"spec.replicass\", unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""
            )
        );
        let warnings = body(*kinds::DEPLOYMENTS, &mut obj, Directive::Warn).expect("warn accepts");
        assert_eq!(
            warnings,
            [
                "unknown field \"metadata.foo\"",
                "unknown field \"spec.replicass\"",
                "unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""
            ]
        );
        assert_eq!(obj, deployment(serde_json::from_str(SPEC).expect("spec")));
    }

    #[test]
    fn strategic_patches_that_do_not_decode_name_the_patch_as_go_prints_it() {
        let current = deployment(serde_json::from_str(SPEC).expect("spec"));
        for (patch, message) in [
            (
                r#"{"spec":{"replicass":1}}"#,
                r#" "" is invalid: patch: Invalid value: "map[spec:map[replicass:1]]": strict decoding error: unknown field "spec.replicass""#,
            ),
            (
                r#"{"spec":{"replicas":"two"}}"#,
                r#" "" is invalid: patch: Invalid value: "map[spec:map[replicas:two]]": unrecognized type: int32"#,
            ),
            (
                r#"{"spec":{"paused":"yes"}}"#,
                r#" "" is invalid: patch: Invalid value: "map[spec:map[paused:yes]]": unrecognized type: bool"#,
            ),
            (
                r#"{"spec":{"strategy":"x"}}"#,
                r#" "" is invalid: patch: Invalid value: "map[spec:map[strategy:x]]": cannot restore struct from: string"#,
            ),
            (
                r#"{"spec":{"template":{"spec":{"containers":"x"}}}}"#,
                r#" "" is invalid: patch: Invalid value: "map[spec:map[template:map[spec:map[containers:x]]]]": cannot restore slice from string"#,
            ),
            (
                r#"{"metadata":{"labels":{"a":5}}}"#,
                r#" "" is invalid: patch: Invalid value: "map[metadata:map[labels:map[a:5]]]": cannot convert int64 to string"#,
            ),
        ] {
            let patch_value: Value = serde_json::from_str(patch).expect("patch");
            let mut next = super::super::smp::strategic_merge("Deployment", &current, &patch_value)
                .expect("merges");
            let err = patched(
                *kinds::DEPLOYMENTS,
                PatchType::Strategic,
                patch.as_bytes(),
                &current,
                &mut next,
                Directive::Strict,
            )
            .expect_err(patch);
            assert_eq!((err.code, err.message.as_str()), (422, message), "{patch}");
        }
    }

    #[test]
    fn go_prints_maps_sorted() {
        assert_eq!(
            go_fmt(
                &json!({"spec": {"template": {"a": 1}, "bar": [1, "x", true, null, 1.5, {"a": "b"}]}})
            ),
            "map[spec:map[bar:[1 x true <nil> 1.5 map[a:b]] template:map[a:1]]]"
        );
    }
}
