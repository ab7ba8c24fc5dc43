//! Canary traffic weights per router: read what the cluster object says, and plan the writes
//! that set a weight (the same fields Argo Rollouts writes, k8s-fidelity §12–13).

use serde_json::{Value, json};

use crate::config::{CanaryConfig, Router};

use super::error::PlanError;
use super::input::{PatchBuilder, PlanInput};
use super::objects::{name_of, replicas};
use super::observe::{Observed, RouteKind, canary_deployments};
use super::plan::{FieldChange, ObjectRef, Write, WriteBody};

pub const NGINX_CANARY: &str = "nginx.ingress.kubernetes.io/canary";
pub const NGINX_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
pub const NGINX_TOTAL: &str = "nginx.ingress.kubernetes.io/canary-weight-total";

/// One backend weight as the object holds it, for the rollout panel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackendWeight {
    pub backend: String,
    pub weight: i64,
}

/// The canary's share of traffic as the cluster says it, and the raw weights it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    /// Percent of traffic the canary gets (rounded).
    pub canary_percent: u32,
    pub backends: Vec<BackendWeight>,
    /// Where the weights live (`httproutes.gateway.networking.k8s.io/orders`).
    pub source: String,
}

fn percent(part: i64, total: i64) -> u32 {
    if total <= 0 {
        return 0;
    }
    ((part as f64 * 100.0 / total as f64).round() as i64).clamp(0, 100) as u32
}

/// Weight of an int-or-string field (SMI v1alpha1 uses Quantity strings).
fn weight_value(v: Option<&Value>, default: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) => s.parse().unwrap_or(default),
        _ => default,
    }
}

/// Writes a weight in the same JSON type the object used.
fn weight_json(previous: Option<&Value>, weight: i64) -> Value {
    match previous {
        Some(Value::String(_)) => json!(weight.to_string()),
        _ => json!(weight),
    }
}

/// Istio matches a destination by its short host (`orders-canary.shop.svc…` → `orders-canary`).
fn short_host(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// Where the stable and canary weights sit in a route object: (list pointer, stable index,
/// canary index, weight key, default weight).
struct Slots {
    list: String,
    stable: usize,
    canary: usize,
}

fn route_slots(kind: RouteKind, spec: &Value, c: &CanaryConfig) -> Vec<Slots> {
    let find = |items: &Vec<Value>, name_of_item: &dyn Fn(&Value) -> Option<String>| {
        let pos = |svc: &str| {
            items
                .iter()
                .position(|i| name_of_item(i).as_deref() == Some(svc))
        };
        (pos(&c.stable), pos(&c.canary))
    };
    let mut slots = Vec::new();
    match kind {
        RouteKind::HttpRoute => {
            for (i, rule) in spec["rules"].as_array().into_iter().flatten().enumerate() {
                if let Some(refs) = rule["backendRefs"].as_array()
                    && let (Some(stable), Some(canary)) =
                        find(refs, &|r| r["name"].as_str().map(str::to_string))
                {
                    slots.push(Slots {
                        list: format!("/spec/rules/{i}/backendRefs"),
                        stable,
                        canary,
                    });
                }
            }
        }
        RouteKind::VirtualService => {
            for (i, http) in spec["http"].as_array().into_iter().flatten().enumerate() {
                if let Some(routes) = http["route"].as_array()
                    && let (Some(stable), Some(canary)) = find(routes, &|r| {
                        r["destination"]["host"]
                            .as_str()
                            .map(|h| short_host(h).to_string())
                    })
                {
                    slots.push(Slots {
                        list: format!("/spec/http/{i}/route"),
                        stable,
                        canary,
                    });
                }
            }
        }
        RouteKind::TrafficSplit => {
            if let Some(backends) = spec["backends"].as_array()
                && let (Some(stable), Some(canary)) =
                    find(backends, &|b| b["service"].as_str().map(str::to_string))
            {
                slots.push(Slots {
                    list: "/spec/backends".into(),
                    stable,
                    canary,
                });
            }
        }
    }
    slots
}

fn default_weight(kind: RouteKind) -> i64 {
    // Gateway API defaults a backendRef's weight to 1; Istio and SMI treat absent as 0.
    match kind {
        RouteKind::HttpRoute => 1,
        RouteKind::VirtualService | RouteKind::TrafficSplit => 0,
    }
}

/// Names the NGINX canary Ingress may have: `route` itself when it is the canary one, else
/// `<route>-canary` beside the primary Ingress (the sandbox's and Argo's layout).
pub fn nginx_candidates(route: &str) -> [String; 2] {
    [route.to_string(), format!("{route}-canary")]
}

fn canary_ingress<'a>(
    o: &'a Observed,
    input: &PlanInput,
    c: &CanaryConfig,
) -> Result<(&'a str, &'a k8s_openapi::api::networking::v1::Ingress), PlanError> {
    let route = c.route.as_deref().unwrap_or(&input.cfg.name);
    let found: Vec<(&str, &k8s_openapi::api::networking::v1::Ingress)> = nginx_candidates(route)
        .iter()
        .filter_map(|n| o.ingresses.get_key_value(n.as_str()))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let is_canary = |i: &k8s_openapi::api::networking::v1::Ingress| {
        i.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(NGINX_CANARY))
            .map(String::as_str)
            == Some("true")
    };
    if let Some(hit) = found.iter().find(|(_, i)| is_canary(i)) {
        return Ok(*hit);
    }
    match found.first() {
        Some((name, _)) => Err(PlanError::Refused(format!(
            "ingress {name} is not an NGINX canary Ingress (annotation {NGINX_CANARY} is not \"true\") and there is no {route}-canary"
        ))),
        None => Err(input.missing(
            "ingresses.networking.k8s.io",
            route,
            "check `route` (the Ingress, or its canary Ingress) in [service.canary]",
        )),
    }
}

fn canary_cfg<'a>(input: &PlanInput<'a>) -> Result<&'a CanaryConfig, PlanError> {
    input.cfg.canary.as_ref().ok_or_else(|| {
        PlanError::config(
            &input.cfg.name,
            "is not a canary service (no [service.canary])",
        )
    })
}

fn route<'a>(
    o: &'a Observed,
    input: &PlanInput,
    c: &CanaryConfig,
) -> Result<(RouteKind, &'a kube::api::DynamicObject), PlanError> {
    let kind = RouteKind::for_router(c.router)
        .ok_or_else(|| PlanError::Invalid("not a route router".into()))?;
    let name = c.route.as_deref().unwrap_or(&input.cfg.name);
    let r = kind.object_ref(&input.env.namespace, name);
    let obj = o.routes.get(name).ok_or_else(|| {
        input.missing(
            &r.resource(),
            name,
            "check `route` in [service.canary] of shipdeck.toml",
        )
    })?;
    Ok((kind, obj))
}

/// Reads the canary weight from the cluster object the router uses.
pub fn traffic(o: &Observed, input: &PlanInput) -> Result<Traffic, PlanError> {
    let c = canary_cfg(input)?;
    match c.router {
        Router::GatewayApi | Router::Istio | Router::Smi => {
            let (kind, obj) = route(o, input, c)?;
            let name = name_of(&obj.metadata);
            let source = kind.object_ref(&input.env.namespace, name).to_string();
            let slots = route_slots(kind, &obj.data["spec"], c);
            let first = slots.first().ok_or_else(|| {
                PlanError::Refused(format!(
                    "{source} has no rule sending traffic to both {} and {}; add a backend for \
                     each (the canary's weight may be 0)",
                    c.stable, c.canary
                ))
            })?;
            let items = obj
                .data
                .pointer(&first.list)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let lone = items.len() == 1;
            let weight_of = |i: usize| {
                let default = if lone && kind == RouteKind::VirtualService {
                    100
                } else {
                    default_weight(kind)
                };
                weight_value(items.get(i).and_then(|v| v.get("weight")), default)
            };
            let (s, k) = (weight_of(first.stable), weight_of(first.canary));
            Ok(Traffic {
                canary_percent: percent(k, s + k),
                backends: vec![
                    BackendWeight {
                        backend: c.stable.clone(),
                        weight: s,
                    },
                    BackendWeight {
                        backend: c.canary.clone(),
                        weight: k,
                    },
                ],
                source,
            })
        }
        Router::Nginx => {
            let (name, ing) = canary_ingress(o, input, c)?;
            let ann = ing.metadata.annotations.clone().unwrap_or_default();
            let weight: i64 = ann
                .get(NGINX_WEIGHT)
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            let total: i64 = ann
                .get(NGINX_TOTAL)
                .and_then(|w| w.parse().ok())
                .unwrap_or(100);
            Ok(Traffic {
                canary_percent: percent(weight, total),
                backends: vec![
                    BackendWeight {
                        backend: c.stable.clone(),
                        weight: total - weight,
                    },
                    BackendWeight {
                        backend: c.canary.clone(),
                        weight,
                    },
                ],
                source: ObjectRef::ingress(&input.env.namespace, name).to_string(),
            })
        }
        Router::Replicas => {
            let (stable, canary) = canary_deployments(input.cfg).unwrap_or_default();
            let get = |n: &str| {
                o.deployment(n).ok_or_else(|| {
                    input.missing(
                        "deployments.apps",
                        n,
                        "check [service.canary] in shipdeck.toml",
                    )
                })
            };
            let (s, k) = (
                replicas(get(&stable)?) as i64,
                replicas(get(&canary)?) as i64,
            );
            Ok(Traffic {
                canary_percent: percent(k, s + k),
                backends: vec![
                    BackendWeight {
                        backend: stable,
                        weight: s,
                    },
                    BackendWeight {
                        backend: canary,
                        weight: k,
                    },
                ],
                source: "replica counts".into(),
            })
        }
    }
}

/// Argo Rollouts' `approximateWeightedCanaryStableReplicaCounts` without surge: the canary
/// count whose share is closest to `weight`, both sides at least 1 for weights 1–99 when
/// there are 2+ replicas; on a tie the larger canary count. Returns (canary, stable).
pub fn replica_split(total: i32, weight: u32) -> (i32, i32) {
    if total <= 0 {
        return (0, 0);
    }
    let w = weight.min(100) as i64;
    let n = total as i64;
    let exact = n * w;
    let ceil = (exact + 99) / 100;
    let floor = exact / 100;
    let tied = exact % 100 == 50;
    let zero_allowed = w == 0 || w == 100 || n == 1;
    let mut options = Vec::new();
    if ceil < n || zero_allowed {
        options.push(ceil);
    }
    if !tied && (floor != 0 || zero_allowed) {
        options.push(floor);
    }
    let delta = |c: i64| ((c * 100) as f64 / n as f64 - w as f64).abs();
    let best = options
        .into_iter()
        .fold(None::<i64>, |best, c| match best {
            Some(b) if delta(b) <= delta(c) => Some(b),
            _ => Some(c),
        })
        .unwrap_or(0);
    (best as i32, (n - best) as i32)
}

/// The writes that make the canary's share `weight` percent (nothing for what is already so).
pub fn weight_writes(
    o: &Observed,
    input: &PlanInput,
    weight: u32,
) -> Result<Vec<Write>, PlanError> {
    let c = canary_cfg(input)?;
    let w = weight.min(100) as i64;
    let ns = &input.env.namespace;
    match c.router {
        Router::GatewayApi | Router::Istio | Router::Smi => {
            let (kind, obj) = route(o, input, c)?;
            let name = name_of(&obj.metadata);
            let target = kind.object_ref(ns, name);
            let slots = route_slots(kind, &obj.data["spec"], c);
            if slots.is_empty() {
                return Err(PlanError::Refused(format!(
                    "{target} has no rule sending traffic to both {} and {}",
                    c.stable, c.canary
                )));
            }
            let mut patch = PatchBuilder::new(target, &obj.metadata);
            for slot in &slots {
                let items = obj
                    .data
                    .pointer(&slot.list)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let label = slot.list.trim_start_matches('/').replace('/', ".");
                let lone = items.len() == 1;
                for (index, svc, want) in [
                    (slot.stable, &c.stable, 100 - w),
                    (slot.canary, &c.canary, w),
                ] {
                    let previous = items.get(index).and_then(|i| i.get("weight"));
                    let default = if lone && kind == RouteKind::VirtualService {
                        100
                    } else {
                        default_weight(kind)
                    };
                    let have = weight_value(previous, default);
                    if previous.is_none() || have != want {
                        patch = patch.set(
                            &format!("{}/{index}/weight", slot.list),
                            weight_json(previous, want),
                            &format!("{label}[{svc}].weight"),
                            previous.map(|_| have.to_string()),
                            Some(want.to_string()),
                        );
                    }
                }
            }
            Ok(if patch.has_changes() {
                vec![patch.build()]
            } else {
                Vec::new()
            })
        }
        Router::Nginx => {
            let (name, ing) = canary_ingress(o, input, c)?;
            let ann = ing.metadata.annotations.clone().unwrap_or_default();
            let total: i64 = ann
                .get(NGINX_TOTAL)
                .and_then(|t| t.parse().ok())
                .unwrap_or(100);
            let want = (w * total / 100).to_string();
            let have = ann.get(NGINX_WEIGHT).cloned();
            if have.as_deref() == Some(want.as_str()) {
                return Ok(Vec::new());
            }
            Ok(vec![Write {
                target: ObjectRef::ingress(ns, name),
                resource_version: ing.metadata.resource_version.clone(),
                changes: vec![FieldChange::new(
                    format!("metadata.annotations[{NGINX_WEIGHT}]"),
                    have,
                    Some(want.clone()),
                )],
                body: WriteBody::MergePatch {
                    patch: json!({"metadata": {
                        "resourceVersion": ing.metadata.resource_version,
                        "annotations": {NGINX_WEIGHT: want},
                    }}),
                },
            }])
        }
        Router::Replicas => {
            let (stable, canary) = canary_deployments(input.cfg).unwrap_or_default();
            let get = |n: &str| {
                o.deployment(n).ok_or_else(|| {
                    input.missing(
                        "deployments.apps",
                        n,
                        "check [service.canary] in shipdeck.toml",
                    )
                })
            };
            let (sd, cd) = (get(&stable)?, get(&canary)?);
            let total = replicas(sd) + replicas(cd);
            let (want_canary, want_stable) = replica_split(total, weight);
            let growing = want_canary > replicas(cd);
            let mut writes = Vec::new();
            // Add capacity before removing it: the side that grows is written first.
            let order = if growing {
                [(cd, want_canary), (sd, want_stable)]
            } else {
                [(sd, want_stable), (cd, want_canary)]
            };
            for (d, want) in order {
                if let Some(w) = scale_write(d, ns, want) {
                    writes.push(w);
                }
            }
            Ok(writes)
        }
    }
}

/// Sets a Deployment's `spec.replicas` (nothing when it already is `want`).
pub fn scale_write(
    d: &k8s_openapi::api::apps::v1::Deployment,
    ns: &str,
    want: i32,
) -> Option<Write> {
    let have = replicas(d);
    (have != want).then(|| {
        PatchBuilder::new(ObjectRef::deployment(ns, name_of(&d.metadata)), &d.metadata)
            .set(
                "/spec/replicas",
                json!(want),
                "spec.replicas",
                Some(have.to_string()),
                Some(want.to_string()),
            )
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_split_matches_argo() {
        assert_eq!(replica_split(10, 20), (2, 8));
        assert_eq!(replica_split(10, 5), (1, 9));
        assert_eq!(
            replica_split(4, 10),
            (1, 3),
            "never 0 for 1-99% with 2+ replicas"
        );
        assert_eq!(
            replica_split(4, 95),
            (3, 1),
            "never all for 1-99% with 2+ replicas"
        );
        assert_eq!(
            replica_split(3, 50),
            (2, 1),
            "a tie takes the larger canary"
        );
        assert_eq!(replica_split(5, 0), (0, 5));
        assert_eq!(replica_split(5, 100), (5, 0));
        assert_eq!(replica_split(1, 5), (0, 1));
        assert_eq!(replica_split(1, 60), (1, 0));
        assert_eq!(replica_split(0, 50), (0, 0));
    }

    #[test]
    fn percentages_round() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(1, 1), 100);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(25, 100), 25);
    }
}
