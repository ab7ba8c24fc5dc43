//! Where a namespace's client traffic enters and which Services it reaches, read from the
//! routing objects the way each router would: Gateway API HTTPRoute backendRef weights, Istio
//! VirtualService route weights, SMI TrafficSplit backends, the NGINX canary Ingress'
//! `canary-weight` beside its primary Ingress, and plain Services for everything else.
//!
//! A Service that a router sends traffic to, or whose name a router takes over (the HTTPRoute
//! `orders` in front of the Service `orders`), gets no traffic of its own: clients go through
//! the router.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const NGINX_CANARY: &str = "nginx.ingress.kubernetes.io/canary";
const NGINX_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
const NGINX_TOTAL: &str = "nginx.ingress.kubernetes.io/canary-weight-total";

/// One stream of client requests and how it splits over Services.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The router object's name, or the Service's.
    pub name: String,
    /// `(Service name, share)`; shares sum to 1 unless every weight is zero.
    pub backends: Vec<(String, f64)>,
}

/// The objects of one namespace that decide routing.
#[derive(Default)]
pub struct Routing<'a> {
    pub services: Vec<&'a Value>,
    pub http_routes: Vec<&'a Value>,
    pub virtual_services: Vec<&'a Value>,
    pub traffic_splits: Vec<&'a Value>,
    pub ingresses: Vec<&'a Value>,
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

fn weight(v: &Value, default: f64) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(default)
        .max(0.0)
}

/// Normalizes weights into shares; all-zero weights stay zero (no traffic flows).
fn shares(weighted: Vec<(String, f64)>) -> Vec<(String, f64)> {
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    weighted
        .into_iter()
        .map(|(s, w)| (s, if total > 0.0 { w / total } else { 0.0 }))
        .collect()
}

/// `orders`, `orders.shop`, `orders.shop.svc.cluster.local` → `orders`.
fn short_host(host: &str) -> String {
    host.split('.').next().unwrap_or(host).to_string()
}

impl Routing<'_> {
    pub fn entries(&self) -> Vec<Entry> {
        let mut routed: Vec<Entry> = Vec::new();
        for r in &self.http_routes {
            // The first rule with backends carries the traffic (match conditions are not
            // simulated: every request matches `/`).
            let rules = r["spec"]["rules"].as_array().cloned().unwrap_or_default();
            let backends = rules
                .iter()
                .filter_map(|rule| rule["backendRefs"].as_array())
                .find(|b| !b.is_empty())
                .map(|refs| {
                    refs.iter()
                        .filter(|b| b["kind"].as_str().is_none_or(|k| k == "Service"))
                        .filter_map(|b| {
                            Some((b["name"].as_str()?.to_string(), weight(&b["weight"], 1.0)))
                        })
                        .collect()
                })
                .unwrap_or_default();
            routed.push(Entry {
                name: name(r).to_string(),
                backends: shares(backends),
            });
        }
        for vs in &self.virtual_services {
            let route = vs["spec"]["http"][0]["route"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // Istio: a lone destination takes everything; otherwise unset weights are 0.
            let default = if route.len() == 1 { 100.0 } else { 0.0 };
            let backends = route
                .iter()
                .filter_map(|d| {
                    let host = d["destination"]["host"].as_str()?;
                    Some((short_host(host), weight(&d["weight"], default)))
                })
                .collect();
            routed.push(Entry {
                name: name(vs).to_string(),
                backends: shares(backends),
            });
        }
        for ts in &self.traffic_splits {
            let backends = ts["spec"]["backends"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(|b| {
                            Some((
                                b["service"].as_str()?.to_string(),
                                weight(&b["weight"], 0.0),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let root = ts["spec"]["service"].as_str().unwrap_or(name(ts));
            routed.push(Entry {
                name: short_host(root),
                backends: shares(backends),
            });
        }
        routed.extend(self.nginx_entries());
        let taken: BTreeSet<&str> = routed
            .iter()
            .flat_map(|e| {
                std::iter::once(e.name.as_str()).chain(e.backends.iter().map(|(s, _)| s.as_str()))
            })
            .collect();
        let direct: Vec<Entry> = self
            .services
            .iter()
            .filter(|s| {
                s["spec"]["selector"]
                    .as_object()
                    .is_some_and(|m| !m.is_empty())
            })
            .filter(|s| !taken.contains(name(s)))
            .map(|s| Entry {
                name: name(s).to_string(),
                backends: vec![(name(s).to_string(), 1.0)],
            })
            .collect();
        routed.extend(direct);
        routed
    }

    /// ingress-nginx: per host, the primary Ingress' backend gets what the canary Ingresses
    /// (annotated `canary: "true"`) leave; each canary gets `canary-weight` of
    /// `canary-weight-total` (default 100).
    fn nginx_entries(&self) -> Vec<Entry> {
        let backend = |i: &Value| {
            i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
                .as_str()
                .map(str::to_string)
        };
        let host = |i: &Value| {
            i["spec"]["rules"][0]["host"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let is_canary = |i: &Value| i["metadata"]["annotations"][NGINX_CANARY] == "true";
        let mut by_host: BTreeMap<String, (Option<&Value>, Vec<&Value>)> = BTreeMap::new();
        for i in &self.ingresses {
            let slot = by_host.entry(host(i)).or_default();
            if is_canary(i) {
                slot.1.push(i);
            } else if slot.0.is_none() {
                slot.0 = Some(i);
            }
        }
        by_host
            .into_values()
            .filter_map(|(primary, canaries)| {
                let primary = primary?;
                let mut left = 1.0;
                let mut backends = Vec::new();
                for c in canaries {
                    let ann = &c["metadata"]["annotations"];
                    let total = weight(&ann[NGINX_TOTAL], 100.0).max(1.0);
                    let share = (weight(&ann[NGINX_WEIGHT], 0.0) / total).min(left);
                    left -= share;
                    if let Some(b) = backend(c) {
                        backends.push((b, share));
                    }
                }
                backends.insert(0, (backend(primary)?, left));
                Some(Entry {
                    name: name(primary).to_string(),
                    backends,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::objects;

    fn shares_of(entries: &[Entry], name: &str) -> Vec<(String, f64)> {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("entry {name} in {entries:?}"))
            .backends
            .clone()
    }

    fn pair(s: &str, w: f64) -> (String, f64) {
        (s.to_string(), w)
    }

    #[test]
    fn each_router_splits_by_its_weights() {
        let svc = |n: &str, app: &str| objects::service(n, &[("app", app)]);
        let services = [
            svc("orders", "orders"),
            svc("orders-stable", "orders"),
            svc("orders-canary", "orders"),
            svc("search", "search"),
            svc("inventory", "inventory"),
            svc("notifications", "notifications"),
            svc("gateway", "gateway"),
        ];
        let route = objects::http_route("orders", "orders-stable", "orders-canary", 25);
        let vs = objects::virtual_service("search", "search-stable", "search-canary", 10);
        let ts = objects::traffic_split(
            "inventory",
            "inventory",
            "inventory-stable",
            "inventory-canary",
            0,
        );
        let host = "notifications.shop.example.com";
        let primary = objects::ingress("notifications", host, "notifications-stable", None);
        let canary = objects::ingress(
            "notifications-canary",
            host,
            "notifications-canary",
            Some(40),
        );
        let routing = Routing {
            services: services.iter().collect(),
            http_routes: vec![&route],
            virtual_services: vec![&vs],
            traffic_splits: vec![&ts],
            ingresses: vec![&primary, &canary],
        };
        let entries = routing.entries();
        assert_eq!(
            shares_of(&entries, "orders"),
            [pair("orders-stable", 0.75), pair("orders-canary", 0.25)]
        );
        assert_eq!(
            shares_of(&entries, "search"),
            [pair("search-stable", 0.9), pair("search-canary", 0.1)]
        );
        assert_eq!(
            shares_of(&entries, "inventory"),
            [pair("inventory-stable", 1.0), pair("inventory-canary", 0.0)]
        );
        let nginx = shares_of(&entries, "notifications");
        assert_eq!(nginx[0].0, "notifications-stable");
        assert!(
            (nginx[0].1 - 0.6).abs() < 1e-12 && (nginx[1].1 - 0.4).abs() < 1e-12,
            "{nginx:?}"
        );
        // Plain Services get their own traffic; routed ones and router-fronted names do not.
        assert_eq!(shares_of(&entries, "gateway"), [pair("gateway", 1.0)]);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
    }
}
