//! Builders for the manifests scenarios create: what a team's CI or Helm chart would apply.

use serde_json::{Map, Value, json};

/// Container port every demo service listens on.
pub const PORT: u16 = 8080;

pub struct DeploymentSpec<'a> {
    pub name: &'a str,
    pub app: &'a str,
    pub image: &'a str,
    pub replicas: i64,
    /// Extra labels on pods and in the selector (e.g. `track: stable`, `version: blue`).
    pub extra_labels: &'a [(&'a str, &'a str)],
    /// Labels and annotations on the Deployment only (e.g. Helm's).
    pub meta_labels: &'a [(&'a str, &'a str)],
    pub annotations: &'a [(&'a str, &'a str)],
    pub progress_deadline_seconds: Option<i64>,
}

pub fn deployment(spec: &DeploymentSpec) -> Value {
    let mut selector = Map::new();
    selector.insert("app".into(), json!(spec.app));
    for (k, v) in spec.extra_labels {
        selector.insert((*k).into(), json!(v));
    }
    let mut labels = selector.clone();
    for (k, v) in spec.meta_labels {
        labels.insert((*k).into(), json!(v));
    }
    let annotations: Map<String, Value> = spec
        .annotations
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    let mut obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name, "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {"containers": [container(spec.app, spec.image)]}
            }
        }
    });
    if let Some(deadline) = spec.progress_deadline_seconds {
        obj["spec"]["progressDeadlineSeconds"] = json!(deadline);
    }
    obj
}

fn container(name: &str, image: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": [{"name": "SERVICE_NAME", "value": name}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}
    })
}

pub fn service(name: &str, selector: &[(&str, &str)]) -> Value {
    let selector: Map<String, Value> = selector
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": selector.get("app").cloned().unwrap_or(json!(name))}},
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        }
    })
}

pub fn http_route(name: &str, stable: &str, canary: &str, canary_weight: u32) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "shop-gateway"}],
            "hostnames": [format!("{name}.shop.example.com")],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [
                    {"group": "", "kind": "Service", "name": stable, "port": 80, "weight": 100 - canary_weight},
                    {"group": "", "kind": "Service", "name": canary, "port": 80, "weight": canary_weight}
                ]
            }]
        }
    })
}

pub fn virtual_service(name: &str, stable: &str, canary: &str, canary_weight: u32) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {
            "hosts": [name],
            "gateways": ["mesh"],
            "http": [{
                "name": "primary",
                "route": [
                    {"destination": {"host": stable, "port": {"number": 80}}, "weight": 100 - canary_weight},
                    {"destination": {"host": canary, "port": {"number": 80}}, "weight": canary_weight}
                ]
            }]
        }
    })
}

pub fn traffic_split(
    name: &str,
    root: &str,
    stable: &str,
    canary: &str,
    canary_weight: u32,
) -> Value {
    json!({
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": name},
        "spec": {
            "service": root,
            "backends": [
                {"service": stable, "weight": 100 - canary_weight},
                {"service": canary, "weight": canary_weight}
            ]
        }
    })
}

/// The primary Ingress, or with `canary_weight` the NGINX canary Ingress beside it.
pub fn ingress(name: &str, host: &str, backend: &str, canary_weight: Option<u32>) -> Value {
    let mut annotations = Map::new();
    if let Some(w) = canary_weight {
        annotations.insert("nginx.ingress.kubernetes.io/canary".into(), json!("true"));
        annotations.insert(
            "nginx.ingress.kubernetes.io/canary-weight".into(),
            json!(w.to_string()),
        );
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{
                "host": host,
                "http": {"paths": [{
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": backend, "port": {"number": 80}}}
                }]}
            }]
        }
    })
}
