//! `/version` and API discovery, aggregated (`apidiscovery.k8s.io/v2`, one round trip) when the
//! client asks for it and legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) otherwise.

use serde_json::{Value, json};

use crate::resources::{self, RESOURCES, ResourceType, Subresource};

/// `gitVersion` of the API server (and of the simulated kubelets).
pub const VERSION: &str = "v1.34.4";

/// The Kubernetes version the sandbox claims to be: the version of the real control plane
/// its fidelity is checked against (tests/real, tests/fidelity), with the fields that version's
/// `/version` has. The kubectl dispatcher installed here picks its built-in kubectl 1.32 for a
/// 1.34 server, as it did when the sandbox claimed 1.32. Commit and build date are those the
/// reference build stamps (tests/real/build.sh); kubectl shows neither but in `-o json`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "emulationMajor": "1",
        "emulationMinor": "34",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "33",
        "gitVersion": VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.26.8",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Which aggregated discovery version an `Accept` header asks for, if any.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for media in accept.split(',') {
        let media = media.replace(' ', "");
        if !media.contains("as=APIGroupDiscoveryList") || !media.contains("g=apidiscovery.k8s.io") {
            continue;
        }
        if media.contains("v=v2beta1") {
            return Some("v2beta1");
        }
        if media.contains("v=v2") {
            return Some("v2");
        }
    }
    None
}

/// The `Content-Type` that tells kubectl it received aggregated discovery.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// `/api` (core = true) or `/apis` as an `APIGroupDiscoveryList`.
pub fn aggregated(core: bool, version: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![group_item("", &["v1"])]
    } else {
        resources::groups()
            .iter()
            .map(|(g, versions)| group_item(g, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

fn group_item(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == group && r.version == *v)
                .map(aggregated_resource)
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}

fn aggregated_resource(r: &ResourceType) -> Value {
    let mut out = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs(),
    });
    if !r.short_names.is_empty() {
        out["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        out["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let (group, version, kind) = sub_kind(r, *s);
            json!({
                "subresource": s.name(),
                "responseKind": {"group": group, "version": version, "kind": kind},
                "verbs": sub_verbs(*s),
            })
        })
        .collect();
    if !subs.is_empty() {
        out["subresources"] = Value::Array(subs);
    }
    out
}

fn sub_kind(r: &ResourceType, sub: Subresource) -> (&'static str, &'static str, &'static str) {
    match sub {
        Subresource::Scale => ("autoscaling", "v1", "Scale"),
        Subresource::Status => (r.group, r.version, r.kind),
        Subresource::Log => ("", "v1", "Pod"),
    }
}

fn sub_verbs(sub: Subresource) -> &'static [&'static str] {
    match sub {
        Subresource::Log => &["get"],
        Subresource::Scale | Subresource::Status => &["get", "patch", "update"],
    }
}

/// Legacy `/api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn api_group(group: &str, versions: &[&str]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs.first().cloned().unwrap_or(Value::Null),
    })
}

/// Legacy `/apis`.
pub fn group_list() -> Value {
    let groups: Vec<Value> = resources::groups()
        .iter()
        .map(|(g, vs)| api_group(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy `/apis/{group}`.
pub fn group(group: &str) -> Value {
    let versions = resources::groups()
        .into_iter()
        .find(|(g, _)| *g == group)
        .map(|(_, vs)| vs)
        .unwrap_or_default();
    let mut out = api_group(group, &versions);
    out["kind"] = json!("APIGroup");
    out["apiVersion"] = json!("v1");
    out
}

/// Legacy `/api/v1` or `/apis/{group}/{version}`.
pub fn resource_list(group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs(),
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        list.push(entry);
        for s in r.subresources {
            let (g, v, kind) = sub_kind(r, *s);
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name()),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": sub_verbs(*s),
            });
            if *s == Subresource::Scale {
                sub["group"] = json!(g);
                sub["version"] = json!(v);
            }
            list.push(sub);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_aggregated_discovery() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
                       application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,\
                       application/json";
        assert_eq!(aggregated_version(kubectl), Some("v2"));
        assert_eq!(aggregated_version("application/json"), None);
        assert_eq!(
            aggregated_version(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            ),
            Some("v2beta1")
        );
    }

    #[test]
    fn deployments_are_discoverable_with_scale() {
        let apis = aggregated(false, "v2");
        let apps = apis["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == "apps"))
            .expect("apps group");
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "deployments"))
            .expect("deployments");
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
        assert_eq!(deploy["categories"], json!(["all"]));
        assert!(deploy["subresources"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["subresource"] == "scale" && s["responseKind"]["kind"] == "Scale")
        }));
        let core = aggregated(true, "v2");
        assert_eq!(core["items"][0]["metadata"]["name"], "");

        let legacy = resource_list("apps", "v1");
        assert!(legacy["resources"].as_array().is_some_and(|rs| {
            rs.iter()
                .any(|r| r["name"] == "deployments/scale" && r["group"] == "autoscaling")
        }));
    }
}
