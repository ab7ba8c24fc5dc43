//! Where traffic goes, as the cluster objects say: the canary weight from an HTTPRoute,
//! VirtualService, TrafficSplit, nginx canary Ingress or replica ratio, and the active colour of
//! a blue-green Service selector.

use serde_json::Value;

use crate::cluster::ObjectKind;
use crate::config::{BlueGreenConfig, CanaryConfig, Router};
use crate::model::snapshot::EnvSnapshot;

use super::annotation;

/// Canary share of traffic in percent, and which object said so.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryWeight {
    pub percent: f64,
    pub source: String,
}

pub fn canary_weight(canary: &CanaryConfig, env: &EnvSnapshot) -> Option<CanaryWeight> {
    let route = canary.route.as_deref().unwrap_or(&canary.stable);
    let (percent, source) = match canary.router {
        Router::GatewayApi => {
            let spec = &env.route(ObjectKind::HttpRoute, route)?.data["spec"];
            let percent = weighted_share(
                spec["rules"].as_array()?,
                "backendRefs",
                |b| (b["name"].as_str(), b["weight"].as_f64().unwrap_or(1.0)),
                &canary.canary,
            )?;
            (percent, format!("HTTPRoute {route}"))
        }
        Router::Istio => {
            let spec = &env.route(ObjectKind::VirtualService, route)?.data["spec"];
            let percent = weighted_share(
                spec["http"].as_array()?,
                "route",
                |r| {
                    let host = r["destination"]["host"].as_str().map(short_host);
                    // A lone destination may omit its weight: it takes everything.
                    (host, r["weight"].as_f64().unwrap_or(0.0))
                },
                &canary.canary,
            )
            .or_else(|| lone_destination(spec, &canary.canary))?;
            (percent, format!("VirtualService {route}"))
        }
        Router::Smi => {
            let spec = &env.route(ObjectKind::TrafficSplit, route)?.data["spec"];
            let backends = spec["backends"].as_array()?;
            let weights: Vec<(Option<&str>, f64)> = backends
                .iter()
                .map(|b| (b["service"].as_str(), quantity(&b["weight"])))
                .collect();
            (
                share_of(&weights, &canary.canary)?,
                format!("TrafficSplit {route}"),
            )
        }
        Router::Nginx => {
            let ingress = env.ingresses.get(route)?;
            let meta = &ingress.metadata;
            if annotation(meta, "nginx.ingress.kubernetes.io/canary") != Some("true") {
                return None;
            }
            let weight: f64 = annotation(meta, "nginx.ingress.kubernetes.io/canary-weight")?
                .parse()
                .ok()?;
            let total: f64 = annotation(meta, "nginx.ingress.kubernetes.io/canary-weight-total")
                .and_then(|t| t.parse().ok())
                .unwrap_or(100.0);
            (100.0 * weight / total.max(1.0), format!("Ingress {route}"))
        }
        Router::Replicas => {
            let replicas = |name: &str| {
                env.deployments
                    .get(name)
                    .and_then(|d| d.spec.as_ref()?.replicas)
                    .unwrap_or(0) as f64
            };
            let stable_name = canary
                .stable_deployment
                .as_deref()
                .unwrap_or(&canary.stable);
            let canary_name = canary
                .canary_deployment
                .as_deref()
                .unwrap_or(&canary.canary);
            let (stable, canary) = (replicas(stable_name), replicas(canary_name));
            if stable + canary == 0.0 {
                return None;
            }
            (
                100.0 * canary / (stable + canary),
                "replica ratio".to_string(),
            )
        }
    };
    Some(CanaryWeight { percent, source })
}

/// Istio destinations are DNS names; `orders-canary.shop.svc.cluster.local` names
/// `orders-canary`.
fn short_host(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// The canary's share in the first rule that routes to it.
fn weighted_share<'a>(
    rules: &'a [Value],
    backends_key: &str,
    read: impl Fn(&'a Value) -> (Option<&'a str>, f64),
    canary: &str,
) -> Option<f64> {
    rules.iter().find_map(|rule| {
        let backends: Vec<(Option<&str>, f64)> =
            rule[backends_key].as_array()?.iter().map(&read).collect();
        share_of(&backends, canary)
    })
}

fn share_of(backends: &[(Option<&str>, f64)], canary: &str) -> Option<f64> {
    let own: f64 = backends
        .iter()
        .filter(|(name, _)| *name == Some(canary))
        .map(|(_, w)| w)
        .sum();
    if !backends.iter().any(|(name, _)| *name == Some(canary)) {
        return None;
    }
    let total: f64 = backends.iter().map(|(_, w)| w).sum();
    Some(if total > 0.0 {
        100.0 * own / total
    } else {
        0.0
    })
}

fn lone_destination(spec: &Value, canary: &str) -> Option<f64> {
    let routes = spec["http"].as_array()?.first()?["route"].as_array()?;
    match routes.as_slice() {
        [only] => {
            let host = only["destination"]["host"].as_str().map(short_host)?;
            Some(if host == canary { 100.0 } else { 0.0 })
        }
        _ => None,
    }
}

/// SMI v1alpha1 weights are Quantity strings (`"500m"`, `"90"`), later versions integers.
fn quantity(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => match s.strip_suffix('m') {
            Some(milli) => milli.parse::<f64>().map_or(0.0, |m| m / 1000.0),
            None => s.parse().unwrap_or(0.0),
        },
        _ => 0.0,
    }
}

/// The colour the blue-green Service's selector points at.
pub fn active_colour(bg: &BlueGreenConfig, env: &EnvSnapshot) -> Option<String> {
    let service = env.services.get(&bg.service)?;
    service
        .spec
        .as_ref()?
        .selector
        .as_ref()?
        .get(&bg.label)
        .cloned()
}

/// The colour the preview Service points at, when there is one.
pub fn preview_colour(bg: &BlueGreenConfig, env: &EnvSnapshot) -> Option<String> {
    let service = env.services.get(bg.preview_service.as_deref()?)?;
    service
        .spec
        .as_ref()?
        .selector
        .as_ref()?
        .get(&bg.label)
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::networking::v1::Ingress;
    use kube::api::DynamicObject;
    use serde_json::json;

    use super::*;

    fn canary(router: Router) -> CanaryConfig {
        CanaryConfig {
            router,
            route: Some("web".into()),
            stable: "web".into(),
            canary: "web-canary".into(),
            stable_deployment: None,
            canary_deployment: None,
            steps: vec![],
        }
    }

    fn with_route(kind: ObjectKind, spec: serde_json::Value) -> EnvSnapshot {
        let mut env = EnvSnapshot::new("prod");
        let object: DynamicObject =
            serde_json::from_value(json!({ "apiVersion": "x/v1", "kind": "X", "metadata": { "name": "web" }, "spec": spec }))
                .unwrap_or_else(|e| panic!("{e}"));
        env.routes.insert((kind, "web".into()), Arc::new(object));
        env
    }

    #[test]
    fn istio_weights_by_short_host() {
        let env = with_route(
            ObjectKind::VirtualService,
            json!({ "http": [{ "route": [
                { "destination": { "host": "web.shop.svc.cluster.local" }, "weight": 90 },
                { "destination": { "host": "web-canary.shop.svc.cluster.local" }, "weight": 10 } ] }] }),
        );
        let weight = canary_weight(&canary(Router::Istio), &env);
        assert_eq!(weight.map(|w| w.percent), Some(10.0));
    }

    #[test]
    fn smi_quantity_weights() {
        let env = with_route(
            ObjectKind::TrafficSplit,
            json!({ "service": "web", "backends": [
                { "service": "web", "weight": "750m" }, { "service": "web-canary", "weight": "250m" } ] }),
        );
        assert_eq!(
            canary_weight(&canary(Router::Smi), &env).map(|w| w.percent),
            Some(25.0)
        );
    }

    #[test]
    fn gateway_weight_defaults_to_one() {
        let env = with_route(
            ObjectKind::HttpRoute,
            json!({ "rules": [{ "backendRefs": [{ "name": "web" }, { "name": "web-canary" }] }] }),
        );
        assert_eq!(
            canary_weight(&canary(Router::GatewayApi), &env).map(|w| w.percent),
            Some(50.0)
        );
    }

    #[test]
    fn nginx_canary_annotations() {
        let mut env = EnvSnapshot::new("prod");
        let ingress: Ingress =
            serde_json::from_value(json!({ "metadata": { "name": "web", "annotations": {
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "30",
            "nginx.ingress.kubernetes.io/canary-weight-total": "200" } } }))
            .unwrap_or_else(|e| panic!("{e}"));
        env.ingresses.insert("web".into(), Arc::new(ingress));
        assert_eq!(
            canary_weight(&canary(Router::Nginx), &env).map(|w| w.percent),
            Some(15.0)
        );
    }

    #[test]
    fn replica_ratio() {
        let mut env = EnvSnapshot::new("prod");
        for (name, replicas) in [("web", 8), ("web-canary", 2)] {
            let d: Deployment =
                serde_json::from_value(json!({ "metadata": { "name": name }, "spec": {
                "replicas": replicas, "selector": {}, "template": {} } }))
                .unwrap_or_else(|e| panic!("{e}"));
            env.deployments.insert(name.into(), Arc::new(d));
        }
        let weight = canary_weight(&canary(Router::Replicas), &env);
        assert_eq!(
            weight.map(|w| (w.percent, w.source)),
            Some((20.0, "replica ratio".to_string()))
        );
    }

    #[test]
    fn blue_green_selector() {
        let mut env = EnvSnapshot::new("prod");
        let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(
            json!({ "metadata": { "name": "pay" }, "spec": { "selector": { "app": "pay", "version": "green" } } }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        env.services.insert("pay".into(), Arc::new(svc));
        let bg = BlueGreenConfig {
            service: "pay".into(),
            label: "version".into(),
            deployments: BTreeMap::new(),
            preview_service: None,
            scale_down_after: None,
        };
        assert_eq!(active_colour(&bg, &env).as_deref(), Some("green"));
    }
}
