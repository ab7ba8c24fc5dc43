//! The strategic-merge-patch error messages, worded as the API server words them
//! (`apimachinery/pkg/util/mergepatch/errors.go` and `strategicpatch/patch.go`). Values inside
//! messages are printed the way Go's `%v` prints decoded JSON (`map[name:web]`, `[a b]`).

use serde_json::{Map, Value};

pub(crate) const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
pub(crate) const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
pub(crate) const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
pub(crate) const LIST_OF_LISTS: &str = "lists of lists are not supported";
pub(crate) const MERGE_DIRECTIVE_IN_LIST: &str =
    "merging lists cannot yet be specified in the patch";

/// Go's `%v` of a value decoded with `UnmarshalCaseSensitivePreserveInts`.
pub(crate) fn go(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", join(items.iter().map(go))),
        Value::Object(m) => go_map(m),
    }
}

pub(crate) fn go_map(m: &Map<String, Value>) -> String {
    // serde_json's map is ordered by key, as Go's fmt sorts map keys.
    format!(
        "map[{}]",
        join(m.iter().map(|(k, v)| format!("{k}:{}", go(v))))
    )
}

pub(crate) fn go_list(items: &[Value]) -> String {
    go(&Value::Array(items.to_vec()))
}

fn join(parts: impl Iterator<Item = String>) -> String {
    parts.collect::<Vec<_>>().join(" ")
}

/// `%v` of a float64 (`strconv` `'g'`, shortest): exponent form when the decimal exponent is
/// below -4 or at least 6, e.g. `1.2345675e+06`.
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if (-4..6).contains(&exp) {
        return f.to_string();
    }
    let sci = format!("{f:e}");
    match sci.split_once('e') {
        Some((mantissa, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            let sign = if e < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", e.abs())
        }
        None => sci,
    }
}

/// The Go type name `reflect.TypeOf` reports for a decoded JSON value.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `mergepatch.ErrNoMergeKey`.
pub(crate) fn no_merge_key(m: &Map<String, Value>, key: &str) -> String {
    format!(
        "map: {} does not contain declared merge key: {key}",
        go_map(m)
    )
}

/// `mergepatch.ErrBadArgType`.
pub(crate) fn bad_arg_type(expected: &'static str, actual: &Value) -> String {
    format!("expected a {expected}, but received a {}", go_type(actual))
}

/// `mergepatch.ErrBadPatchType`.
pub(crate) fn bad_patch_type(directive: &Value, m: &Map<String, Value>) -> String {
    let shown = match directive {
        Value::String(s) => s.clone(),
        other => format!("%!s({}={})", go_type(other), go(other)),
    };
    format!("unknown patch type: {shown} in map: {}", go_map(m))
}

/// The HTTP status the API server answers a patch error with (`interpretStrategicMergePatchError`
/// in `apiserver/pkg/endpoints/handlers/patch.go`): malformed directives are 400, lists of lists
/// 422, and every other merge failure 500 (an internal error, as upstream reports it).
pub fn status_code(message: &str) -> u16 {
    match message {
        BAD_PRIMITIVE_LIST | BAD_RETAIN_KEYS | BAD_SET_ELEMENT_ORDER => 400,
        LIST_OF_LISTS => 422,
        m if m.starts_with("json: cannot unmarshal")
            || m.starts_with("failed to create typed patch object") =>
        {
            400
        }
        _ => 500,
    }
}
