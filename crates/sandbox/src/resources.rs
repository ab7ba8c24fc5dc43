//! The kinds the sandbox API server serves, with what discovery says about each.

/// One served resource type (a row of `kubectl api-resources`).
#[derive(Debug)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Built-in kinds accept strategic merge patches; custom resources answer 415.
    pub builtin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
    Log,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Log => "log",
        }
    }
}

/// Index of a [`ResourceType`] in [`RESOURCES`]; cheap to copy and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResId(pub u8);

impl ResId {
    pub fn get(self) -> &'static ResourceType {
        &RESOURCES[self.0 as usize]
    }
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `pods` for the core group: the name in error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

const NONE: &[&str] = &[];
const ALL: &[&str] = &["all"];
const STATUS: &[Subresource] = &[Subresource::Status];
const STATUS_SCALE: &[Subresource] = &[Subresource::Scale, Subresource::Status];

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr,
     $short:expr, $cat:expr, $sub:expr, $builtin:expr) => {
        ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: $short,
            categories: $cat,
            subresources: $sub,
            builtin: $builtin,
        }
    };
}

/// Every served kind. Discovery lists them in this order; the first version of a group is
/// its preferred version.
pub static RESOURCES: &[ResourceType] = &[
    res!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        NONE,
        STATUS,
        true
    ),
    res!(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        ALL,
        &[Subresource::Log, Subresource::Status],
        true
    ),
    res!(
        "",
        "v1",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        ALL,
        STATUS,
        true
    ),
    res!(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        NONE,
        NONE_SUB,
        true
    ),
    res!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        NONE,
        NONE_SUB,
        true
    ),
    res!(
        "", "v1", "Secret", "secrets", "secret", true, NONE, NONE, NONE_SUB, true
    ),
    res!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        NONE,
        NONE_SUB,
        true
    ),
    res!(
        "",
        "v1",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        NONE,
        NONE_SUB,
        true
    ),
    res!(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        NONE,
        STATUS,
        true
    ),
    res!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        ALL,
        STATUS_SCALE,
        true
    ),
    res!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        ALL,
        STATUS_SCALE,
        true
    ),
    res!(
        "batch", "v1", "Job", "jobs", "job", true, NONE, ALL, STATUS, true
    ),
    res!(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
        NONE,
        NONE,
        NONE_SUB,
        true
    ),
    res!(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        true,
        &["ing"],
        NONE,
        STATUS,
        true
    ),
    res!(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
        "httproute",
        true,
        NONE,
        &["gateway-api"],
        STATUS,
        false
    ),
    res!(
        "networking.istio.io",
        "v1",
        "VirtualService",
        "virtualservices",
        "virtualservice",
        true,
        &["vs"],
        &["istio-io", "networking-istio-io"],
        STATUS,
        false
    ),
    res!(
        "split.smi-spec.io",
        "v1alpha2",
        "TrafficSplit",
        "trafficsplits",
        "trafficsplit",
        true,
        &["ts"],
        NONE,
        NONE_SUB,
        false
    ),
    res!(
        "argoproj.io",
        "v1alpha1",
        "Rollout",
        "rollouts",
        "rollout",
        true,
        &["ro"],
        ALL,
        STATUS_SCALE,
        false
    ),
];

const NONE_SUB: &[Subresource] = &[];

/// Looks a kind up by the path segments of a request: group (empty for core), version, plural.
pub fn by_path(group: &str, version: &str, plural: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
        .map(|i| ResId(i as u8))
}

/// Looks a kind up by `apiVersion` and `kind` as written in an object.
pub fn by_kind(api_version: &str, kind: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.kind == kind && r.api_version() == api_version)
        .map(|i| ResId(i as u8))
}

/// Shorthand for code that names a kind it knows is served, e.g. `res("apps", "deployments")`.
pub fn res(group: &str, plural: &str) -> ResId {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.plural == plural)
        .map(|i| ResId(i as u8))
        .unwrap_or_else(|| panic!("{plural}.{group} is not a served resource"))
}

/// Every served group with its versions, in discovery order (core group excluded).
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => out.push((r.group, vec![r.version])),
        }
    }
    out
}

pub fn all() -> impl Iterator<Item = ResId> {
    (0..RESOURCES.len()).map(|i| ResId(i as u8))
}

/// Well-known kinds, named once so controllers do not repeat string lookups.
pub mod kinds {
    use super::{ResId, res};
    use std::sync::LazyLock;

    macro_rules! kind {
        ($name:ident, $group:expr, $plural:expr) => {
            pub static $name: LazyLock<ResId> = LazyLock::new(|| res($group, $plural));
        };
    }
    kind!(NAMESPACES, "", "namespaces");
    kind!(PODS, "", "pods");
    kind!(SERVICES, "", "services");
    kind!(ENDPOINTS, "", "endpoints");
    kind!(CONFIGMAPS, "", "configmaps");
    kind!(SECRETS, "", "secrets");
    kind!(SERVICEACCOUNTS, "", "serviceaccounts");
    kind!(EVENTS, "", "events");
    kind!(NODES, "", "nodes");
    kind!(DEPLOYMENTS, "apps", "deployments");
    kind!(REPLICASETS, "apps", "replicasets");
    kind!(JOBS, "batch", "jobs");
    kind!(ENDPOINTSLICES, "discovery.k8s.io", "endpointslices");
    kind!(INGRESSES, "networking.k8s.io", "ingresses");
    kind!(HTTPROUTES, "gateway.networking.k8s.io", "httproutes");
    kind!(VIRTUALSERVICES, "networking.istio.io", "virtualservices");
    kind!(TRAFFICSPLITS, "split.smi-spec.io", "trafficsplits");
    kind!(ROLLOUTS, "argoproj.io", "rollouts");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree() {
        let d = by_path("apps", "v1", "deployments").expect("deployments served");
        assert_eq!(d.get().kind, "Deployment");
        assert_eq!(by_kind("apps/v1", "Deployment"), Some(d));
        assert_eq!(by_kind("v1", "Pod"), Some(*kinds::PODS));
        assert_eq!(d.get().qualified_plural(), "deployments.apps");
        assert!(
            groups()
                .iter()
                .any(|(g, v)| *g == "apps" && v == &vec!["v1"])
        );
    }
}
