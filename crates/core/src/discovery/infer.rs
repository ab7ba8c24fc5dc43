//! Services from the objects of a namespace, as a person would group them by reading the
//! cluster: a route's two backends are a canary pair, two Deployments a Service flips
//! between by a colour or version label are a blue-green pair, a Deployment that a Helm
//! release's Secrets own belongs to that release; every other Deployment is a rolling
//! service of its own. Pure: the same objects give the same services.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;

use crate::config::{
    BlueGreenConfig, CanaryConfig, Router, ServiceConfig, Strategy, default_steps,
};

/// Label keys whose values name a blue-green colour (the first found in a selector wins).
pub const COLOUR_LABELS: [&str; 5] = ["color", "colour", "slot", "version", "deployment-color"];

/// The canary annotation of ingress-nginx.
const NGINX_CANARY: &str = "nginx.ingress.kubernetes.io/canary";

/// The objects of one environment's namespace that grouping reads.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub deployments: Vec<Arc<Deployment>>,
    pub services: Vec<Arc<Service>>,
    /// HTTPRoutes, VirtualServices and TrafficSplits, with their router.
    pub routes: Vec<(Router, Arc<DynamicObject>)>,
    pub ingresses: Vec<Arc<Ingress>>,
    /// Secrets labelled `owner=helm`.
    pub helm_secrets: Vec<Arc<Secret>>,
}

/// One inferred service and why (the comment `shipdeck init` writes above it).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub config: ServiceConfig,
    pub evidence: Vec<String>,
}

/// Services of one environment, in Deployment name order; and what was seen but not used
/// (a route whose backends could not be told apart, ...), for the file's header.
pub fn infer(objects: &Objects) -> (Vec<Found>, Vec<String>) {
    let mut skipped = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let deployment_names: BTreeMap<&str, &Deployment> = objects
        .deployments
        .iter()
        .filter_map(|d| Some((d.metadata.name.as_deref()?, d.as_ref())))
        .collect();
    let services: BTreeMap<&str, &Service> = objects
        .services
        .iter()
        .filter_map(|s| Some((s.metadata.name.as_deref()?, s.as_ref())))
        .collect();
    // The one Deployment behind a Service (its selector matches that Deployment's pods).
    let behind = |service: &str| -> Result<String, String> {
        let svc = services
            .get(service)
            .ok_or_else(|| format!("Service {service} does not exist"))?;
        let selector = selector(svc);
        if selector.is_empty() {
            return Err(format!("Service {service} has no selector"));
        }
        let matching: Vec<&str> = deployment_names
            .iter()
            .filter(|(_, d)| selects(&selector, pod_labels(d)))
            .map(|(n, _)| *n)
            .collect();
        match matching.as_slice() {
            [one] => Ok(one.to_string()),
            [] => Err(format!("Service {service} selects no Deployment")),
            many => Err(format!(
                "Service {service} selects {} Deployments ({})",
                many.len(),
                many.join(", ")
            )),
        }
    };

    // Canary pairs: routers' two backends, then NGINX canary ingresses.
    let mut pairs: Vec<(Router, String, Vec<String>)> = objects
        .routes
        .iter()
        .filter_map(|(router, obj)| {
            let name = obj.metadata.name.clone()?;
            Some((*router, name, route_backends(*router, obj)))
        })
        .collect();
    pairs.extend(nginx_pairs(&objects.ingresses));
    for (router, route, backends) in pairs {
        let kind = router_kind(router);
        let Some((stable, canary)) = stable_and_canary(&backends, &services) else {
            if backends.len() >= 2 {
                skipped.push(format!(
                    "{kind} {route}: backends {} — cannot tell the stable one from the canary (name one `-canary` or label its pods track=canary)",
                    backends.join(", ")
                ));
            }
            continue;
        };
        let (stable_deployment, canary_deployment) = match (behind(&stable), behind(&canary)) {
            (Ok(s), Ok(c)) if s != c => (s, c),
            (Err(e), _) | (_, Err(e)) => {
                skipped.push(format!("{kind} {route}: {e}"));
                continue;
            }
            _ => continue,
        };
        if claimed.contains(&stable_deployment) || claimed.contains(&canary_deployment) {
            continue;
        }
        claimed.insert(stable_deployment.clone());
        claimed.insert(canary_deployment.clone());
        found.push(Found {
            config: ServiceConfig {
                strategy: Strategy::Canary,
                canary: Some(CanaryConfig {
                    router,
                    route: Some(route.clone()),
                    stable: stable.clone(),
                    canary: canary.clone(),
                    stable_deployment: Some(stable_deployment.clone()),
                    canary_deployment: Some(canary_deployment.clone()),
                    steps: default_steps(),
                }),
                ..ServiceConfig::rolling(&route)
            },
            evidence: vec![format!(
                "canary: {kind} {route} splits traffic between Service {stable} (Deployment {stable_deployment}) and Service {canary} (Deployment {canary_deployment})"
            )],
        });
    }

    // Blue-green pairs: a Service selecting one of several Deployments that differ only in a
    // colour label; a second Service on another colour is the preview.
    for (name, svc) in &services {
        let selector = selector(svc);
        let Some((label, active)) = COLOUR_LABELS
            .iter()
            .find_map(|k| selector.get(*k).map(|v| (k.to_string(), v.clone())))
        else {
            continue;
        };
        let mut rest = selector.clone();
        rest.remove(&label);
        if rest.is_empty() {
            continue;
        }
        let colours: BTreeMap<String, String> = deployment_names
            .iter()
            .filter(|(_, d)| selects(&rest, pod_labels(d)))
            .filter_map(|(n, d)| Some((pod_labels(d)?.get(&label)?.clone(), n.to_string())))
            .collect();
        if colours.len() < 2
            || !colours.contains_key(&active)
            || colours.values().any(|d| claimed.contains(d))
        {
            continue;
        }
        // The preview: another Service with the same selector on another colour.
        let preview = services.iter().find(|(other, s)| {
            other != &name && {
                let sel = selector_of(s);
                sel.get(&label).is_some_and(|c| c != &active) && {
                    let mut r = sel.clone();
                    r.remove(&label);
                    r == rest
                }
            }
        });
        // The main Service is the one not named like a preview, when both select a colour.
        if preview.is_some_and(|(p, _)| !p.contains("preview")) && name.contains("preview") {
            continue;
        }
        claimed.extend(colours.values().cloned());
        let active_deployment = colours[&active].clone();
        found.push(Found {
            config: ServiceConfig {
                deployment: Some(active_deployment),
                strategy: Strategy::BlueGreen,
                blue_green: Some(BlueGreenConfig {
                    service: name.to_string(),
                    label: label.clone(),
                    deployments: colours.clone(),
                    preview_service: preview.map(|(p, _)| p.to_string()),
                    scale_down_after: None,
                }),
                ..ServiceConfig::rolling(name)
            },
            evidence: vec![format!(
                "blue-green: Service {name} selects {label}={active} of Deployments {}{}",
                colours
                    .iter()
                    .map(|(c, d)| format!("{d} ({label}={c})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                preview
                    .map(|(p, _)| format!("; Service {p} is the preview"))
                    .unwrap_or_default()
            )],
        });
    }

    // Every other Deployment: a rolling service of its own.
    for name in deployment_names.keys() {
        if !claimed.contains(*name) {
            found.push(Found {
                config: ServiceConfig::rolling(name),
                evidence: vec![format!("rolling: Deployment {name}")],
            });
        }
    }

    // Helm: a release whose Secrets are here and that owns a service's Deployment.
    let releases: BTreeSet<String> = objects
        .helm_secrets
        .iter()
        .filter_map(|s| s.metadata.labels.as_ref()?.get("name").cloned())
        .collect();
    for service in &mut found {
        let names = deployments_of(&service.config);
        let release = names.iter().find_map(|n| {
            let d = deployment_names.get(n.as_str())?;
            let r = helm_release_of(d)?;
            releases.contains(&r).then_some(r)
        });
        if let Some(release) = release {
            service.evidence.push(format!(
                "Helm release {release} owns it (its revisions are Secrets sh.helm.release.v1.{release}.v*)"
            ));
            service.config.helm_release = Some(release);
        }
    }
    found.sort_by(|a, b| a.config.name.cmp(&b.config.name));
    (found, skipped)
}

/// Services across environments, in the order first seen: a service found as canary or
/// blue-green in one environment and rolling in another keeps the richer form.
pub fn merge(per_env: Vec<(String, Vec<Found>)>) -> Vec<Found> {
    let mut merged: Vec<Found> = Vec::new();
    for (env, found) in per_env {
        for f in found {
            let tagged: Vec<String> = f.evidence.iter().map(|e| format!("{e} [{env}]")).collect();
            match merged.iter_mut().find(|m| m.config.name == f.config.name) {
                Some(m) => {
                    if m.config.strategy == Strategy::Rolling
                        && f.config.strategy != Strategy::Rolling
                    {
                        m.config = f.config;
                    }
                    m.evidence.extend(tagged);
                }
                None => merged.push(Found {
                    config: f.config,
                    evidence: tagged,
                }),
            }
        }
    }
    // Deployments that a richer service claimed elsewhere are not services of their own.
    let claimed: BTreeSet<String> = merged
        .iter()
        .filter(|m| m.config.strategy != Strategy::Rolling)
        .flat_map(|m| deployments_of(&m.config))
        .collect();
    merged.retain(|m| m.config.strategy != Strategy::Rolling || !claimed.contains(&m.config.name));
    merged
}

/// The Deployments a service config names.
pub fn deployments_of(cfg: &ServiceConfig) -> Vec<String> {
    match cfg.strategy {
        Strategy::Rolling => vec![cfg.deployment_name().to_string()],
        Strategy::Canary => cfg
            .canary
            .iter()
            .flat_map(|c| {
                [
                    c.stable_deployment.clone().unwrap_or(c.stable.clone()),
                    c.canary_deployment.clone().unwrap_or(c.canary.clone()),
                ]
            })
            .collect(),
        Strategy::BlueGreen => cfg
            .blue_green
            .iter()
            .flat_map(|b| b.deployments.values().cloned())
            .collect(),
    }
}

pub fn router_kind(router: Router) -> &'static str {
    match router {
        Router::GatewayApi => "HTTPRoute",
        Router::Istio => "VirtualService",
        Router::Smi => "TrafficSplit",
        Router::Nginx => "canary Ingress",
        Router::Replicas => "Deployments",
    }
}

fn selector_of(svc: &Service) -> BTreeMap<String, String> {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default()
}

fn selector(svc: &Service) -> BTreeMap<String, String> {
    selector_of(svc)
}

fn pod_labels(d: &Deployment) -> Option<&BTreeMap<String, String>> {
    d.spec.as_ref()?.template.metadata.as_ref()?.labels.as_ref()
}

fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(labels) = labels else {
        return false;
    };
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The Service names a route sends traffic to (its first rule with two or more backends).
fn route_backends(router: Router, obj: &DynamicObject) -> Vec<String> {
    let spec = &obj.data["spec"];
    let names: Vec<Vec<String>> = match router {
        Router::GatewayApi => spec["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|rule| {
                rule["backendRefs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|b| {
                        b["kind"].as_str().unwrap_or("Service") == "Service"
                            && b["group"].as_str().unwrap_or("").is_empty()
                    })
                    .filter_map(|b| b["name"].as_str().map(str::to_string))
                    .collect()
            })
            .collect(),
        Router::Istio => spec["http"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|http| {
                http["route"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    // Subsets of one host (DestinationRule) are not Service pairs.
                    .filter(|r| r["destination"]["subset"].is_null())
                    .filter_map(|r| r["destination"]["host"].as_str())
                    // `orders-stable.shop.svc.cluster.local` → `orders-stable`
                    .map(|h| h.split('.').next().unwrap_or(h).to_string())
                    .collect()
            })
            .collect(),
        Router::Smi => vec![
            spec["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["service"].as_str().map(str::to_string))
                .collect(),
        ],
        Router::Nginx | Router::Replicas => Vec::new(),
    };
    names
        .into_iter()
        .map(|mut n| {
            n.dedup();
            n
        })
        .find(|n| n.len() >= 2)
        .unwrap_or_default()
}

/// (primary Ingress name, [stable Service, canary Service]) for each NGINX canary Ingress
/// whose host has a primary Ingress.
fn nginx_pairs(ingresses: &[Arc<Ingress>]) -> Vec<(Router, String, Vec<String>)> {
    let is_canary = |i: &Ingress| {
        i.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(NGINX_CANARY))
            .is_some_and(|v| v == "true")
    };
    let hosts = |i: &Ingress| -> BTreeSet<String> {
        i.spec
            .iter()
            .flat_map(|s| s.rules.iter().flatten())
            .filter_map(|r| r.host.clone())
            .collect()
    };
    let backend = |i: &Ingress| -> Option<String> {
        let spec = i.spec.as_ref()?;
        spec.rules
            .iter()
            .flatten()
            .filter_map(|r| r.http.as_ref())
            .flat_map(|h| h.paths.iter())
            .find_map(|p| p.backend.service.as_ref().map(|s| s.name.clone()))
            .or_else(|| {
                Some(
                    spec.default_backend
                        .as_ref()?
                        .service
                        .as_ref()?
                        .name
                        .clone(),
                )
            })
    };
    let mut pairs = Vec::new();
    for canary in ingresses.iter().filter(|i| is_canary(i)) {
        let host = hosts(canary);
        let primary = ingresses
            .iter()
            .find(|i| !is_canary(i) && !hosts(i).is_disjoint(&host));
        if let (Some(primary), Some(canary_svc)) = (primary, backend(canary))
            && let (Some(name), Some(stable_svc)) =
                (primary.metadata.name.clone(), backend(primary))
        {
            pairs.push((Router::Nginx, name, vec![stable_svc, canary_svc]));
        }
    }
    pairs
}

/// Which of two backends is the canary: one named `*canary*`, or whose selector says
/// `canary` (e.g. `track: canary`); or, with one named or labelled `stable`, the other one.
fn stable_and_canary(
    backends: &[String],
    services: &BTreeMap<&str, &Service>,
) -> Option<(String, String)> {
    let [a, b] = backends else {
        return None;
    };
    let says = |name: &str, word: &str| {
        name.contains(word)
            || services
                .get(name)
                .is_some_and(|s| selector_of(s).values().any(|v| v == word))
    };
    match (says(a, "canary"), says(b, "canary")) {
        (false, true) => Some((a.clone(), b.clone())),
        (true, false) => Some((b.clone(), a.clone())),
        _ => match (says(a, "stable"), says(b, "stable")) {
            (true, false) => Some((a.clone(), b.clone())),
            (false, true) => Some((b.clone(), a.clone())),
            _ => None,
        },
    }
}

/// The Helm release that owns a Deployment: Helm's ownership annotation, else the instance
/// label of a Helm-managed object.
fn helm_release_of(d: &Deployment) -> Option<String> {
    let meta = &d.metadata;
    if let Some(name) = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get("meta.helm.sh/release-name"))
    {
        return Some(name.clone());
    }
    let labels = meta.labels.as_ref()?;
    (labels
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str)
        == Some("Helm"))
    .then(|| labels.get("app.kubernetes.io/instance").cloned())
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Arc<T> {
        Arc::new(serde_json::from_value(v).expect("object"))
    }

    fn deployment(name: &str, labels: serde_json::Value) -> Arc<Deployment> {
        from_json(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "x"}]}}}
        }))
    }

    fn service(name: &str, selector: serde_json::Value) -> Arc<Service> {
        from_json(serde_json::json!({"metadata": {"name": name}, "spec": {"selector": selector}}))
    }

    fn split(name: &str, backends: &[&str]) -> (Router, Arc<DynamicObject>) {
        let backends: Vec<_> = backends
            .iter()
            .map(|b| serde_json::json!({"service": b, "weight": 50}))
            .collect();
        (
            Router::Smi,
            from_json(serde_json::json!({
                "apiVersion": "split.smi-spec.io/v1alpha2", "kind": "TrafficSplit",
                "metadata": {"name": name}, "spec": {"service": name, "backends": backends}
            })),
        )
    }

    #[test]
    fn backends_that_cannot_be_told_apart_are_reported_not_guessed() {
        let objects = Objects {
            deployments: vec![
                deployment("api-a", serde_json::json!({"app": "api", "v": "a"})),
                deployment("api-b", serde_json::json!({"app": "api", "v": "b"})),
            ],
            services: vec![
                service("api-a", serde_json::json!({"app": "api", "v": "a"})),
                service("api-b", serde_json::json!({"app": "api", "v": "b"})),
            ],
            routes: vec![split("api", &["api-a", "api-b"])],
            ..Objects::default()
        };
        let (found, skipped) = infer(&objects);
        let names: Vec<_> = found.iter().map(|f| f.config.name.as_str()).collect();
        assert_eq!(names, ["api-a", "api-b"], "two rolling services, no guess");
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].contains("TrafficSplit api") && skipped[0].contains("cannot tell"),
            "{skipped:?}"
        );
    }

    #[test]
    fn a_canary_in_one_environment_is_the_services_form_everywhere() {
        let canary = Objects {
            deployments: vec![
                deployment(
                    "cart",
                    serde_json::json!({"app": "cart", "track": "stable"}),
                ),
                deployment(
                    "cart-canary",
                    serde_json::json!({"app": "cart", "track": "canary"}),
                ),
            ],
            services: vec![
                service(
                    "cart-stable",
                    serde_json::json!({"app": "cart", "track": "stable"}),
                ),
                service(
                    "cart-canary",
                    serde_json::json!({"app": "cart", "track": "canary"}),
                ),
            ],
            routes: vec![split("cart", &["cart-stable", "cart-canary"])],
            ..Objects::default()
        };
        let plain = Objects {
            deployments: vec![
                deployment("cart", serde_json::json!({"app": "cart"})),
                deployment("cart-canary", serde_json::json!({"app": "cart-canary"})),
            ],
            ..Objects::default()
        };
        let merged = merge(vec![
            ("dev".into(), infer(&plain).0),
            ("prod".into(), infer(&canary).0),
        ]);
        let names: Vec<_> = merged.iter().map(|f| f.config.name.as_str()).collect();
        assert_eq!(
            names,
            ["cart"],
            "the canary Deployment is not a service of its own"
        );
        assert_eq!(merged[0].config.strategy, Strategy::Canary);
        assert!(merged[0].evidence.iter().any(|e| e.ends_with("[prod]")));
    }
}
