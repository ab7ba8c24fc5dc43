//! A minimal OpenAPI v3: enough for kubectl's `apply` and `create -f` to find, per kind, a PATCH
//! operation with `x-kubernetes-group-version-kind` and a `fieldValidation` parameter, which makes
//! it validate on the server instead of downloading schemas (`query_param_verifier_v3.go`).
//! Without schemas kubectl computes client-side-apply patches from its compiled-in types.

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::ops::fnv64;
use crate::resources::{self, RESOURCES};

struct Doc {
    group: &'static str,
    version: &'static str,
    body: Bytes,
    hash: String,
}

fn docs() -> &'static [Doc] {
    static DOCS: OnceLock<Vec<Doc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut gvs = vec![("", "v1")];
        for (g, vs) in resources::groups() {
            gvs.extend(vs.into_iter().map(|v| (g, v)));
        }
        gvs.into_iter()
            .map(|(group, version)| {
                let body =
                    Bytes::from(serde_json::to_vec(&build(group, version)).unwrap_or_default());
                // Clients cache documents by URL, so the hash must change when a document does.
                let hash = format!("{:016X}", fnv64(&body));
                Doc {
                    group,
                    version,
                    body,
                    hash,
                }
            })
            .collect()
    })
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: one entry per group-version.
pub fn index() -> Value {
    let paths: Map<String, Value> = docs()
        .iter()
        .map(|d| {
            let path = gv_path(d.group, d.version);
            let url = format!("/openapi/v3/{path}?hash={}", d.hash);
            (path, json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// The document of one group-version (the route only admits served ones).
pub fn document(group: &str, version: &str) -> Bytes {
    docs()
        .iter()
        .find(|d| d.group == group && d.version == version)
        .map(|d| d.body.clone())
        .unwrap_or_default()
}

fn build(group: &str, version: &str) -> Value {
    let field_validation = json!({
        "name": "fieldValidation",
        "in": "query",
        "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        "schema": {"type": "string", "uniqueItems": true},
    });
    let ok = json!({"200": {"description": "OK"}});
    let mut paths = Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let base = format!("/{}", gv_path(group, version));
        let collection = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let op = |action: &str| {
            json!({
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [field_validation],
                "responses": ok,
            })
        };
        paths.insert(
            collection.clone(),
            json!({"post": op("post"), "get": op("list")}),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::discovery::VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_version_is_indexed_with_a_patch_operation() {
        let idx = index();
        let url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .expect("apps/v1 indexed");
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(idx["paths"]["api/v1"].is_object());
        assert!(idx["paths"]["apis/argoproj.io/v1alpha1"].is_object());
        let doc: Value = serde_json::from_slice(&document("apps", "v1")).expect("json");
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
    }
}
