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
