//! Server-side apply (`application/apply-patch+yaml`), without field ownership.
//!
//! Simplification (allowed by the fidelity spec, R5.4/§15): the server tracks no managers, so
//! an apply never conflicts and never removes what an earlier apply set but this one omits;
//! fields absent from the applied configuration keep their live values. What it does do is
//! merge like structured-merge-diff: maps merge, lists with a merge key (the same keys as
//! strategic merge patch, from `smp/keys.rs`) merge element-wise in applied order with live-only
//! elements kept in place, scalar sets (`finalizers`) union, other lists are atomic. An
//! explicit `null` removes the field. Directive keys (`$patch`, ...) mean nothing in apply and
//! are rejected as undeclared fields.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::Obj;
use super::keys::{self, List, Meta, Node};

/// Merges an applied configuration into the live object (`Null` when creating).
pub fn server_side_apply(kind: &str, live: &Value, applied: &Value) -> Result<Value, String> {
    let Value::Object(applied) = applied else {
        return Err(format!(
            "failed to create typed patch object: expected an object, got {}",
            super::json_kind(applied)
        ));
    };
    let live = match live {
        Value::Object(m) => m.clone(),
        _ => Obj::new(),
    };
    apply_map(live, applied, keys::root(kind), "").map(Value::Object)
}

fn apply_map(
    mut live: Obj,
    applied: &Obj,
    node: Option<&'static Node>,
    path: &str,
) -> Result<Obj, String> {
    for (key, value) in applied {
        let here = format!("{path}.{key}");
        if key.starts_with('$') {
            return Err(format!(
                "failed to create typed patch object: {here}: field not declared in schema"
            ));
        }
        let meta = keys::lookup(node, key);
        let merged = match (live.remove(key), value) {
            (_, Value::Null) => continue,
            (Some(Value::Object(l)), Value::Object(a)) => {
                Value::Object(apply_map(l, a, meta.node, &here)?)
            }
            (_, Value::Object(a)) => Value::Object(apply_map(Obj::new(), a, meta.node, &here)?),
            (Some(Value::Array(l)), Value::Array(a)) => {
                Value::Array(apply_list(l, a, meta, &here)?)
            }
            (_, Value::Array(a)) => Value::Array(apply_list(Vec::new(), a, meta, &here)?),
            (_, scalar) => scalar.clone(),
        };
        live.insert(key.clone(), merged);
    }
    Ok(live)
}

fn apply_list(
    live: Vec<Value>,
    applied: &[Value],
    meta: Meta,
    path: &str,
) -> Result<Vec<Value>, String> {
    match meta.list {
        List::Replace => Ok(applied.to_vec()),
        List::Merge("") => {
            // A set: repeated values in the applied list count once.
            let mut unique: Vec<Value> = Vec::with_capacity(applied.len());
            for a in applied {
                if !unique.contains(a) {
                    unique.push(a.clone());
                }
            }
            merge_ordered(
                live,
                &unique,
                |v| Some(v.to_string()),
                |_, a, _| Ok(a.clone()),
            )
        }
        List::Merge(key) => {
            let mut seen = HashSet::new();
            for (i, a) in applied.iter().enumerate() {
                let Some(id) = a.get(key) else {
                    return Err(format!(
                        "{path}: element {i}: associative list with keys has an element that omits key field \"{key}\" (and doesn't have default value)"
                    ));
                };
                if !seen.insert(id.to_string()) {
                    return Err(format!("{path}: duplicate entries for key [{key}={id}]"));
                }
            }
            let id = |v: &Value| v.get(key).map(Value::to_string);
            merge_ordered(live, applied, id, |l, a, i| {
                let current = match l {
                    Some(Value::Object(o)) => o,
                    _ => Obj::new(),
                };
                let a = a.as_object().cloned().unwrap_or_default();
                apply_map(current, &a, meta.node, &format!("{path}[{i}]")).map(Value::Object)
            })
        }
    }
}

/// structured-merge-diff's list merge order (`visitListItems`): walks live and applied together;
/// elements in both follow the applied order, live-only elements keep their place.
fn merge_ordered(
    live: Vec<Value>,
    applied: &[Value],
    id: impl Fn(&Value) -> Option<String>,
    mut merge: impl FnMut(Option<Value>, &Value, usize) -> Result<Value, String>,
) -> Result<Vec<Value>, String> {
    let lhs: Vec<Option<String>> = live.iter().map(&id).collect();
    let rhs: Vec<String> = applied.iter().map(|v| id(v).unwrap_or_default()).collect();
    let mut lhs_at: HashMap<&str, usize> = HashMap::new();
    for (i, l) in lhs.iter().enumerate() {
        if let Some(l) = l {
            lhs_at.entry(l.as_str()).or_insert(i);
        }
    }
    let in_rhs: HashSet<&str> = rhs.iter().map(String::as_str).collect();
    let mut shared = rhs.iter().filter(|r| lhs_at.contains_key(r.as_str()));
    let mut next_shared = shared.next();
    let mut merged_rhs: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(live.len().max(applied.len()));
    let (mut l, mut r) = (0, 0);
    while l < live.len() || r < applied.len() {
        let pe = lhs.get(l).and_then(Option::as_deref);
        if l < live.len() && r < applied.len() {
            if pe == Some(rhs[r].as_str()) {
                merged_rhs.insert(&rhs[r]);
                out.push(merge(Some(live[l].clone()), &applied[r], r)?);
                l += 1;
                r += 1;
                next_shared = shared.next();
                continue;
            }
            if pe.is_some_and(|p| in_rhs.contains(p))
                && next_shared.is_some_and(|n| Some(n.as_str()) != pe)
            {
                // Shared with applied, but not the one due next: it is placed when reached there.
                l += 1;
                continue;
            }
        }
        if l < live.len() {
            match pe {
                Some(p) if in_rhs.contains(p) => {
                    if merged_rhs.contains(p) || r >= applied.len() {
                        l += 1;
                        continue;
                    }
                }
                _ => {
                    out.push(live[l].clone());
                    l += 1;
                    continue;
                }
            }
        }
        if r < applied.len() {
            let pe = rhs[r].as_str();
            merged_rhs.insert(pe);
            let current = lhs_at.get(pe).map(|&i| live[i].clone());
            out.push(merge(current, &applied[r], r)?);
            r += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.next();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
