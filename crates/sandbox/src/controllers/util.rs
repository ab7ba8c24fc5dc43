//! Helpers the controllers share: object keys, label selectors, owner references,
//! int-or-percent values, timestamps and the canonical template form used for hashing.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::clock::rfc3339;

/// `(namespace, name)` of a namespaced object.
pub type Key = (String, String);

pub fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn ns_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

pub fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

pub fn key_of(obj: &Value) -> Key {
    (ns_of(obj).to_string(), name_of(obj).to_string())
}

pub fn i64_at(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn is_terminating(obj: &Value) -> bool {
    obj["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// `metav1.LabelSelector` semantics: every `matchLabels` pair and every `matchExpressions`
/// requirement must hold. An empty selector matches everything.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    if let Some(ml) = selector["matchLabels"].as_object()
        && !map_matches(ml, labels)
    {
        return false;
    }
    let Some(exprs) = selector["matchExpressions"].as_array() else {
        return true;
    };
    exprs.iter().all(|req| {
        let key = req["key"].as_str().unwrap_or_default();
        let value = labels.get(key).and_then(Value::as_str);
        let in_values = |v: &str| {
            req["values"]
                .as_array()
                .is_some_and(|vs| vs.iter().any(|x| x.as_str() == Some(v)))
        };
        match req["operator"].as_str().unwrap_or_default() {
            "In" => value.is_some_and(in_values),
            "NotIn" => value.is_none_or(|v| !in_values(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An unknown operator is a validation error upstream; match nothing.
            _ => false,
        }
    })
}

/// True when a `LabelSelector` has neither labels nor expressions (it would select all pods).
pub fn selector_is_empty(selector: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_none_or(Map::is_empty)
        && selector["matchExpressions"]
            .as_array()
            .is_none_or(Vec::is_empty)
}

/// Equality-based selection (a Service's `spec.selector`): every pair must be present.
pub fn map_matches(selector: &Map<String, Value>, labels: &Value) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The owner reference with `controller: true`, if any.
pub fn controller_ref(obj: &Value) -> Option<&Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
}

/// UID of the controlling owner, or "" for an orphan.
pub fn controller_uid(obj: &Value) -> &str {
    controller_ref(obj)
        .and_then(|r| r["uid"].as_str())
        .unwrap_or_default()
}

/// `metav1.NewControllerRef`.
pub fn new_controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// `intstr.GetScaledValueFromIntOrPercent`: an integer, or `"N%"` of `total` rounded up or down.
pub fn int_or_percent(v: &Value, total: i64, round_up: bool) -> i64 {
    if let Some(n) = v.as_i64() {
        return n;
    }
    let Some(s) = v.as_str() else { return 0 };
    let Some(pct) = s
        .strip_suffix('%')
        .and_then(|p| p.trim().parse::<i64>().ok())
    else {
        return s.trim().parse().unwrap_or(0);
    };
    let scaled = pct * total;
    if round_up {
        (scaled + 99).div_euclid(100)
    } else {
        scaled.div_euclid(100)
    }
}

pub fn parse_ts(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

pub fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

pub fn dur(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

pub fn stamp(t: Timestamp) -> Value {
    Value::String(rfc3339(t))
}

/// A condition from a pod's or workload's `status.conditions`.
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// A pod counts toward its controller's replicas: not terminating, not finished.
pub fn pod_active(pod: &Value) -> bool {
    !is_terminating(pod) && !matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
}

pub fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}

/// When the pod last became Ready, if it is Ready.
pub fn ready_since(pod: &Value) -> Option<Timestamp> {
    condition(pod, "Ready")
        .filter(|c| c["status"] == "True")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(parse_ts)
}

/// `podutil.IsPodAvailable`: Ready for at least `min_ready` seconds.
pub fn pod_available(pod: &Value, min_ready: i64, now: Timestamp) -> bool {
    if min_ready <= 0 {
        return pod_ready(pod);
    }
    ready_since(pod).is_some_and(|since| since + secs(min_ready) <= now)
}

/// The form two pod templates are compared and hashed in. Go's semantic equality treats a
/// missing field, `null`, an empty map or list, `false` and `""` alike (they decode to the same
/// zero value), so those are dropped; object keys are already sorted by serde_json.
pub fn canonical(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Object(map) => {
            let out: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| canonical(v).map(|c| (k.clone(), c)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            // Items keep their place: an element that canonicalizes away becomes null.
            let out: Vec<Value> = items
                .iter()
                .map(|i| canonical(i).unwrap_or(Value::Null))
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

pub const HASH_LABEL: &str = "pod-template-hash";

/// A template without its `pod-template-hash` label, canonicalized (`EqualIgnoreHash`).
pub fn template_sans_hash(template: &Value) -> Option<Value> {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH_LABEL);
    }
    canonical(&t)
}

const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The `pod-template-hash` of a template: FNV-32a over its canonical JSON (and the collision
/// count), printed in decimal and mapped through `rand.SafeEncodeString` as upstream does, so
/// the values look like real ones (`7c9f6d5b48`). Not byte-identical to Go's spew-based hash.
pub fn template_hash(template: &Value, collision_count: Option<i64>) -> String {
    let canon = template_sans_hash(template).unwrap_or(Value::Null);
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(canon.to_string().as_bytes());
    if let Some(c) = collision_count {
        feed(&(c as u32).to_le_bytes());
    }
    h.to_string()
        .bytes()
        .map(|b| SAFE_ALPHABET[b as usize % SAFE_ALPHABET.len()] as char)
        .collect()
}

/// Deterministic pseudo-random number from a seed string (fault rolls, log variety, digests).
pub fn mix(seed: &str, n: u64) -> u64 {
    let mut x = crate::ops::fnv64(seed.as_bytes()) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selector_matches(
            &json!({"matchLabels": {"app": "web"}}),
            &labels
        ));
        assert!(!selector_matches(
            &json!({"matchLabels": {"app": "api"}}),
            &labels
        ));
        let exprs = json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "back"]},
            {"key": "track", "operator": "DoesNotExist"}
        ]});
        assert!(selector_matches(&exprs, &labels));
        let not_in =
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]});
        assert!(!selector_matches(&not_in, &labels));
        assert!(selector_is_empty(&json!({})));
        assert!(!selector_is_empty(&json!({"matchLabels": {"a": "b"}})));
    }

    #[test]
    fn fenceposts_round_like_intstr() {
        assert_eq!(int_or_percent(&json!("25%"), 4, true), 1);
        assert_eq!(int_or_percent(&json!("25%"), 4, false), 1);
        assert_eq!(int_or_percent(&json!("25%"), 1, true), 1);
        assert_eq!(int_or_percent(&json!("25%"), 1, false), 0);
        assert_eq!(int_or_percent(&json!("30%"), 10, true), 3);
        assert_eq!(int_or_percent(&json!(2), 10, true), 2);
    }

    #[test]
    fn template_hash_ignores_the_hash_label_and_zero_values() {
        let a = json!({"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                       "spec": {"containers": [{"name": "web", "image": "web:1", "ports": []}]}});
        let b = json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "x"}},
                       "spec": {"containers": [{"name": "web", "image": "web:1"}], "hostNetwork": false}});
        assert_eq!(template_sans_hash(&a), template_sans_hash(&b));
        let h = template_hash(&a, None);
        assert_eq!(h, template_hash(&b, None));
        assert!(h.len() <= 10 && h.bytes().all(|c| SAFE_ALPHABET.contains(&c)));
        assert_ne!(h, template_hash(&a, Some(1)));
        let c = json!({"metadata": {"labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "web", "image": "web:2"}]}});
        assert_ne!(h, template_hash(&c, None));
    }
}
