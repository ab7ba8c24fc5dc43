//! Small facts about typed Kubernetes objects that several planners need: revisions, owned
//! ReplicaSets, template comparison, the released container, and JSON-patch building blocks.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Value, json};

use super::error::PlanError;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Set by shipdeck on a ReplicaSet whose revision it saw fully rolled out. The value is the
/// ReplicaSet's own pod-template-hash, so a copy that travels to another object (rollback
/// copies ReplicaSet annotations onto the Deployment, which the controller copies onto new
/// ReplicaSets) never vouches for anything but the ReplicaSet it was written on.
pub const ROLLED_OUT: &str = "shipdeck.io/rolled-out";

pub fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

pub fn revision(rs: &ReplicaSet) -> Option<i64> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(REVISION)?
        .parse()
        .ok()
}

pub fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// ReplicaSets whose controller is this Deployment (by UID), like kubectl's
/// `GetAllReplicaSets`. Sorted by revision, oldest first.
pub fn owned_replica_sets<'a>(deploy: &Deployment, all: &'a [ReplicaSet]) -> Vec<&'a ReplicaSet> {
    let Some(uid) = deploy.metadata.uid.as_deref() else {
        return Vec::new();
    };
    let mut owned: Vec<&ReplicaSet> = all
        .iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true) && o.kind == "Deployment")
        })
        .collect();
    owned.sort_by_key(|rs| revision(rs).unwrap_or(0));
    owned
}

/// A template as comparable JSON: `pod-template-hash` removed and empty maps, lists and nulls
/// dropped (apimachinery's semantic equality treats nil and empty alike).
fn normalized(template: &PodTemplateSpec) -> Value {
    let mut v = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    prune(&mut v);
    v
}

fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, c| !is_empty(c));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// kubectl's `equalIgnoreHash`.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    normalized(a) == normalized(b)
}

/// The ReplicaSet running the Deployment's current template (kubectl's `FindNewReplicaSet`:
/// the oldest one whose template matches).
pub fn current_replica_set<'a>(
    deploy: &Deployment,
    owned: &[&'a ReplicaSet],
) -> Option<&'a ReplicaSet> {
    let template = &deploy.spec.as_ref()?.template;
    let mut matching: Vec<&ReplicaSet> = owned
        .iter()
        .copied()
        .filter(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignore_hash(t, template))
        })
        .collect();
    matching.sort_by_key(|rs| rs.metadata.creation_timestamp.as_ref().map(|t| t.0));
    matching.first().copied()
}

/// Index and name of the released container: the configured one, else the first.
pub fn container_index(
    template: &PodTemplateSpec,
    wanted: Option<&str>,
    object: &str,
) -> Result<(usize, String), PlanError> {
    let containers = template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    match wanted {
        Some(name) => containers
            .iter()
            .position(|c| c.name == name)
            .map(|i| (i, name.to_string()))
            .ok_or_else(|| {
                PlanError::Invalid(format!(
                    "{object} has no container named {name:?} (it has: {}); fix `container` \
                     in shipdeck.toml",
                    containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }),
        None => containers
            .first()
            .map(|c| (0, c.name.clone()))
            .ok_or_else(|| PlanError::Invalid(format!("{object} has no containers"))),
    }
}

pub fn image_at(template: &PodTemplateSpec, index: usize) -> Option<String> {
    template.spec.as_ref()?.containers.get(index)?.image.clone()
}

/// The image the Deployment's released container runs.
pub fn deployment_image(deploy: &Deployment, container: Option<&str>) -> Option<String> {
    let template = &deploy.spec.as_ref()?.template;
    let (i, _) = container_index(template, container, "").ok()?;
    image_at(template, i)
}

/// The tag of an image reference (`reg:5000/a/b:v1` → `v1`); `None` for digests or no tag.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    last.split_once(':').map(|(_, tag)| tag)
}

/// The repository part of an image reference (`reg:5000/a/b:v1` → `reg:5000/a/b`).
pub fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

pub fn replicas(deploy: &Deployment) -> i32 {
    deploy.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn is_paused(deploy: &Deployment) -> bool {
    deploy.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

/// RFC 6901 escaping for a map key inside a JSON pointer.
pub fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The op that makes a JSON patch conditional on the version it was planned against.
pub fn rv_op(resource_version: &str) -> Value {
    json!({"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version})
}

/// Ops that set one annotation, creating the map when the object has none.
pub fn set_annotation_ops(
    current: Option<&BTreeMap<String, String>>,
    key: &str,
    value: &str,
) -> Vec<Value> {
    match current {
        Some(_) => vec![json!({
            "op": "add",
            "path": format!("/metadata/annotations/{}", pointer_escape(key)),
            "value": value,
        })],
        None => vec![json!({
            "op": "add",
            "path": "/metadata/annotations",
            "value": {key: value},
        })],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = BTreeMap::from([("app".to_string(), "orders".to_string())]);
        if let Some(h) = hash {
            labels.insert(POD_TEMPLATE_HASH.into(), h.into());
        }
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "orders".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn templates_compare_without_hash_and_empties() {
        let a = template("r/orders:v1", Some("abc"));
        let mut b = template("r/orders:v1", None);
        assert!(equal_ignore_hash(&a, &b));
        if let Some(m) = b.metadata.as_mut() {
            m.annotations = Some(BTreeMap::new());
        }
        assert!(equal_ignore_hash(&a, &b), "empty map equals absent map");
        assert!(!equal_ignore_hash(&a, &template("r/orders:v2", None)));
    }

    #[test]
    fn image_parts() {
        assert_eq!(
            image_tag("127.0.0.1:5000/prod/orders:v1.4.2"),
            Some("v1.4.2")
        );
        assert_eq!(image_tag("127.0.0.1:5000/prod/orders"), None);
        assert_eq!(image_tag("orders@sha256:abc"), None);
        assert_eq!(
            image_repository("127.0.0.1:5000/prod/orders:v1.4.2"),
            "127.0.0.1:5000/prod/orders"
        );
        assert_eq!(
            image_repository("127.0.0.1:5000/orders"),
            "127.0.0.1:5000/orders"
        );
    }

    #[test]
    fn container_lookup_names_alternatives() {
        let t = template("x", None);
        assert_eq!(
            container_index(&t, None, "d").ok(),
            Some((0, "orders".into()))
        );
        let e = container_index(&t, Some("web"), "deployments.apps/orders").expect_err("missing");
        assert!(e.to_string().contains("it has: orders"), "{e}");
    }

    #[test]
    fn annotation_ops_create_the_map_when_absent() {
        let ops = set_annotation_ops(None, CHANGE_CAUSE, "x");
        assert_eq!(ops[0]["path"], "/metadata/annotations");
        let existing = BTreeMap::new();
        let ops = set_annotation_ops(Some(&existing), CHANGE_CAUSE, "x");
        assert_eq!(
            ops[0]["path"],
            "/metadata/annotations/kubernetes.io~1change-cause"
        );
    }
}
