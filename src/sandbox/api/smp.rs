//! Strategic merge patch and server-side apply merging for built-in kinds.
//!
//! Interim: both merge as RFC 7386 JSON merge patches (what SMP reduces to for documents
//! without lists); list merge keys and `$patch` directives follow.

use serde_json::Value;

/// Applies a strategic merge patch (`application/strategic-merge-patch+json`) for `kind`.
pub fn strategic_merge(_kind: &str, original: &Value, patch: &Value) -> Result<Value, String> {
    let mut out = original.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}

/// Merges an applied configuration (`application/apply-patch+yaml`) into the live object.
pub fn server_side_apply(kind: &str, live: &Value, applied: &Value) -> Result<Value, String> {
    strategic_merge(kind, live, applied)
}
