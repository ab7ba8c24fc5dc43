//! Strategic merge patch (`application/strategic-merge-patch+json`) and server-side apply
//! merging for the built-in kinds.
//!
//! [`strategic_merge`] follows `StrategicMergeMapPatch` in
//! `apimachinery/pkg/util/strategicpatch/patch.go` as the API server runs it (parallel lists
//! merged, unmatched nulls ignored): lists tagged `patchStrategy:"merge"` merge element-wise by
//! their `patchMergeKey` (table in `smp/keys.rs`), other lists are replaced, `null` deletes a key, and the
//! directives `$patch` (`replace`/`delete` in maps and list elements), `$setElementOrder/<list>`,
//! `$retainKeys` and `$deleteFromPrimitiveList/<list>` behave as upstream, down to the
//! element ordering (new elements of a merged list land first unless `$setElementOrder` places
//! them) and the error messages.
//!
//! Deliberate differences, all where upstream relies on the later typed decoding to clean up:
//! a value for a key the original lacks is merged into an empty value instead of copied
//! verbatim (so directives and `null`s inside it take effect instead of being stored), unknown
//! `$`-prefixed keys are dropped, and a `$deleteFromPrimitiveList` for a list the original
//! lacks deletes nothing (upstream stores the deletion list as the new list).

use serde_json::{Map, Value};

mod apply;
mod errors;
mod keys;

pub use apply::server_side_apply;
pub use errors::status_code;

use errors::{
    BAD_PRIMITIVE_LIST, BAD_RETAIN_KEYS, BAD_SET_ELEMENT_ORDER, LIST_OF_LISTS,
    MERGE_DIRECTIVE_IN_LIST, bad_arg_type, bad_patch_type, go_list, no_merge_key,
};
use keys::{List, Meta, Node};

type Obj = Map<String, Value>;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const MAP_TYPE: &str = "map[string]interface {}";
const LIST_TYPE: &str = "[]interface {}";

/// Applies a strategic merge patch for `kind` (e.g. `"Deployment"`); kinds without patch
/// metadata (custom resources) merge maps and replace lists. Errors carry the API server's
/// message; [`status_code`] maps one to the HTTP status the server answers with.
pub fn strategic_merge(kind: &str, original: &Value, patch: &Value) -> Result<Value, String> {
    let patch = match patch {
        Value::Object(p) => p.clone(),
        // `null` decodes to an empty patch.
        Value::Null => Obj::new(),
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            ));
        }
    };
    let original = match original {
        Value::Object(o) => o.clone(),
        _ => Obj::new(),
    };
    merge_map(original, patch, keys::root(kind))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    }
}

/// `mergeMap`: merges `patch` into `original`, whose type is `node`.
fn merge_map(
    mut original: Obj,
    mut patch: Obj,
    node: Option<&'static Node>,
) -> Result<Value, String> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                merge_map(Obj::new(), patch, node)
            }
            Some("delete") => Ok(Value::Object(Obj::new())),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, node)?;

    for (key, patch_v) in patch {
        let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (
                extract_key(&key, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST)?,
                true,
            )
        } else if key.starts_with('$') {
            // An unknown directive: typed decoding would drop it as an unknown field.
            continue;
        } else {
            (key, false)
        };
        if patch_v.is_null() {
            original.remove(&key);
            continue;
        }
        let meta = keys::lookup(node, &key);
        let merged = match (original.remove(&key), patch_v) {
            (None | Some(Value::Null), _) if delete_list => continue,
            (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p, meta.node)?,
            (Some(Value::Array(o)), Value::Array(p)) => {
                Value::Array(merge_list(o, p, meta, delete_list)?)
            }
            // Absent from the original, or of another type: the patch value wins.
            (_, p) => fill(p, meta)?,
        };
        original.insert(key, merged);
    }
    Ok(Value::Object(original))
}

/// A patch value for a key the original lacks, with its directives applied to nothing.
fn fill(v: Value, meta: Meta) -> Result<Value, String> {
    match v {
        Value::Object(p) => merge_map(Obj::new(), p, meta.node),
        Value::Array(p) => merge_list(Vec::new(), p, meta, false).map(Value::Array),
        scalar => Ok(scalar),
    }
}

/// `mergeSliceHandler`: merge-strategy lists merge, others are replaced by the patch.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: Meta,
    delete_list: bool,
) -> Result<Vec<Value>, String> {
    match meta.list {
        List::Merge(key) => merge_slice(original, patch, key, meta.node, delete_list),
        List::Replace => Ok(patch),
    }
}

/// The element type of a list, as far as merging cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Scalar(u8),
}

/// `sliceElementType`: all elements must share one type, and lists of lists are refused.
fn element_kind(lists: &[&[Value]]) -> Result<Kind, String> {
    let mut kind = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let k = match v {
            Value::Object(_) => Kind::Map,
            Value::Array(_) if kind.is_none() => return Err(LIST_OF_LISTS.into()),
            Value::Array(_) => Kind::Scalar(0),
            Value::String(_) => Kind::Scalar(1),
            Value::Number(n) if n.is_f64() => Kind::Scalar(2),
            Value::Number(_) => Kind::Scalar(3),
            Value::Bool(_) => Kind::Scalar(4),
            Value::Null => Kind::Scalar(5),
        };
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => {
                let shown: Vec<String> = lists.iter().map(|l| go_list(l)).collect();
                return Err(format!(
                    "list element types are not identical: [{}]",
                    shown.join(" ")
                ));
            }
            Some(_) => {}
        }
    }
    kind.ok_or_else(|| "no elements in any of the given slices".to_string())
}

/// `mergeSlice`: merges a merge-strategy list, then orders it (patch order, with server-only
/// elements interleaved by their original order).
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
    node: Option<&'static Node>,
    delete_list: bool,
) -> Result<Vec<Value>, String> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    let (merged, server_order, patch_order) = if kind != Kind::Map {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(&patch) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (merged, original, patch)
    } else {
        if key.is_empty() {
            return Err("cannot merge lists without merge key for type string".into());
        }
        let (original, patch) = merge_special_elements(original, patch, key, node)?;
        let merged = merge_by_key(original.clone(), &patch, key, node)?;
        (merged, original, patch)
    };
    let (patch_items, server_only) = partition(merged, &patch_order, key)?;
    normalize_element_order(
        patch_items,
        server_only,
        &patch_order,
        &server_order,
        key,
        kind,
    )
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` elements to the original and
/// `$patch: replace` (the patch's plain elements become the whole list).
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    node: Option<&'static Node>,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            plain.push(v);
            continue;
        };
        match m.get(DIRECTIVE) {
            None => plain.push(v),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let Some(target) = m.get(key) else {
                        return Err(no_merge_key(m, key));
                    };
                    original.retain(|o| o.get(key) != Some(target));
                }
                Some("replace") => replace = true,
                Some("merge") => return Err(MERGE_DIRECTIVE_IN_LIST.into()),
                _ => return Err(bad_patch_type(d, m)),
            },
        }
    }
    if replace {
        let list = plain
            .into_iter()
            .map(|v| {
                fill(
                    v,
                    Meta {
                        list: List::Replace,
                        node,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((list, Vec::new()));
    }
    Ok((original, plain))
}

/// `mergeSliceWithoutSpecialElements`: merges each patch element into the original element
/// with the same merge key value, appending the rest.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    node: Option<&'static Node>,
) -> Result<Vec<Value>, String> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(MAP_TYPE, v));
        };
        let Some(target) = m.get(key) else {
            return Err(no_merge_key(m, key));
        };
        let element = Meta {
            list: List::Replace,
            node,
        };
        match original.iter().position(|o| o.get(key) == Some(target)) {
            Some(i) => {
                let current = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Obj::new(),
                };
                original[i] = merge_map(current, m.clone(), node)?;
            }
            None => original.push(fill(v.clone(), element)?),
        }
    }
    Ok(original)
}

/// Splits `items` into those present in `by` (by merge key, or by value for scalars) and the
/// rest (`partitionMapsByPresentInList` / `partitionPrimitivesByPresentInList`).
fn partition(
    items: Vec<Value>,
    by: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut present = Vec::with_capacity(items.len());
    let mut rest = Vec::new();
    for v in items {
        let found = if key.is_empty() {
            by.contains(&v)
        } else {
            let Some(m) = v.as_object() else {
                return Err(bad_arg_type(MAP_TYPE, &v));
            };
            let Some(target) = m.get(key) else {
                return Err(no_merge_key(m, key));
            };
            let mut found = false;
            for (i, b) in by.iter().enumerate() {
                let Some(b) = b.as_object() else {
                    return Err(format!("value for key {i} is not a map."));
                };
                if b.get(key) == Some(target) {
                    found = true;
                    break;
                }
            }
            found
        };
        if found {
            present.push(v);
        } else {
            rest.push(v);
        }
    }
    Ok((present, rest))
}

/// `normalizeElementOrder`: sorts the patch's elements by `patch_order` and the server-only
/// ones by `server_order`, then interleaves them.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
    kind: Kind,
) -> Result<Vec<Value>, String> {
    let patch_items = normalize_slice_order(patch_items, patch_order, key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch_items,
        server_order,
        key,
        kind,
    ))
}

/// What elements are compared by when ordering: the merge key value for maps (`None` when
/// absent), the element itself for scalars.
fn order_key<'a>(v: &'a Value, key: &str, kind: Kind) -> Option<&'a Value> {
    match kind {
        Kind::Map => v.as_object().and_then(|m| m.get(key)),
        Kind::Scalar(_) => Some(v),
    }
}

fn index_in(list: &[Value], v: &Value, key: &str, kind: Kind) -> Option<usize> {
    let wanted = order_key(v, key, kind);
    list.iter().position(|x| order_key(x, key, kind) == wanted)
}

/// `normalizeSliceOrder`: a stable sort by position in `order` (Go's insertion sort, with its
/// "elements missing from `order` sort first" comparator), `$patch: delete` elements last.
fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    key: &str,
    kind: Kind,
) -> Result<Vec<Value>, String> {
    let (mut items, deletes) = if kind == Kind::Map {
        for v in items.iter().chain(order) {
            let Some(m) = v.as_object() else {
                return Err(bad_arg_type(MAP_TYPE, v));
            };
            if !m.contains_key(key) {
                return Err(no_merge_key(m, key));
            }
        }
        items
            .into_iter()
            .partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"))
    } else {
        (items, Vec::new())
    };
    let mut positions: Vec<Option<usize>> = items
        .iter()
        .map(|v| index_in(order, v, key, kind))
        .collect();
    let less = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    };
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(positions[j], positions[j - 1]) {
            items.swap(j, j - 1);
            positions.swap(j, j - 1);
            j -= 1;
        }
    }
    items.extend(deletes);
    Ok(items)
}

/// `mergeSortedSlice`: interleaves the sorted server-only elements (`left`) with the sorted
/// patch elements (`right`); a server-only element goes first only when both are in
/// `server_order` and it comes earlier there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: &str,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (index_in(server_order, l, key, kind), index_in(server_order, r, key, kind)),
                (Some(li), Some(ri)) if li < ri
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// `extractKey`: the list name after `<prefix>/`.
fn extract_key(s: &str, prefix: &str, error: &str) -> Result<String, String> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ => Err(error.to_string()),
    }
}

/// `applyRetainKeysDirective`: every key the patch sets must be listed; original keys not
/// listed are cleared.
fn apply_retain_keys(original: &mut Obj, patch: &mut Obj) -> Result<(), String> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(BAD_RETAIN_KEYS.into());
    };
    let listed = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch.iter() {
        let skip = v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER);
        if !skip && !listed(k) {
            return Err(BAD_RETAIN_KEYS.into());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

fn list_at(map: &Obj, key: &str) -> Result<Option<Vec<Value>>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(other) => Err(bad_arg_type(LIST_TYPE, other)),
    }
}

/// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<list>` directive
/// and orders it by the directive (then patch order, then original order).
fn merge_set_element_order(
    original: &mut Obj,
    patch: &mut Obj,
    node: Option<&'static Node>,
) -> Result<(), String> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let order = patch.remove(&directive).unwrap_or(Value::Null);
        let Value::Array(order) = order else {
            return Err(bad_arg_type(LIST_TYPE, &order));
        };
        let field = extract_key(&directive, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER)?;
        let original_list = list_at(original, &field)?;
        let patch_list = list_at(patch, &field)?;
        let meta = keys::lookup(node, &field);
        let key = match meta.list {
            List::Merge(key) => key,
            List::Replace => "",
        };
        validate_set_order(patch_list.as_deref().unwrap_or_default(), &order, key)?;
        let kind = element_kind(&[
            original_list.as_deref().unwrap_or_default(),
            patch_list.as_deref().unwrap_or_default(),
        ]);
        let merged = match (original_list.clone(), patch_list) {
            (Some(o), None) => o,
            (None, Some(p)) => merge_list(Vec::new(), p, meta, false)?,
            (Some(o), Some(p)) => merge_list(o, p, meta, false)?,
            (None, None) => continue,
        };
        let (patch_items, server_only) = partition(merged, &order, key)?;
        let sorted = normalize_element_order(
            patch_items,
            server_only,
            &order,
            original_list.as_deref().unwrap_or_default(),
            key,
            kind?,
        )?;
        original.insert(field.clone(), Value::Array(sorted));
        patch.remove(&field);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch's elements must appear in the directive, in the
/// same relative order.
fn validate_set_order(patch: &[Value], order: &[Value], key: &str) -> Result<(), String> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut plain: Vec<&Value> = Vec::with_capacity(patch.len());
    for v in patch {
        if key.is_empty() {
            plain.push(v);
            continue;
        }
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(MAP_TYPE, v));
        };
        if m.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
            plain.push(v);
        }
    }
    let (mut p, mut o) = (0, 0);
    while p < plain.len() && o < order.len() {
        if plain[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        if merge_key_value_equal(plain[p], &order[o], key)? {
            p += 1;
        }
        o += 1;
    }
    if p < plain.len() && o >= order.len() {
        return Err(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_list(patch),
            go_list(order)
        ));
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, key: &str) -> Result<bool, String> {
    if key.is_empty() {
        return Ok(left == right);
    }
    let value = |v: &Value| -> Result<Value, String> {
        let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, v))?;
        m.get(key).cloned().ok_or_else(|| no_merge_key(m, key))
    };
    Ok(value(left)? == value(right)?)
}

#[cfg(test)]
mod tests;
