//! One look at a cluster: which pods are ready, which requests reach each of them and how
//! each answers. Requests enter per [`Entry`](super::routing::Entry), split by the router's
//! weights over Services, then evenly over each Service's ready endpoints (the legacy
//! Endpoints object the endpoints controller keeps, as kube-proxy would use).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::profile::{Profile, healthy_p99_ms};
use super::promql::Labels;
use super::routing::Routing;
use crate::images::{Fault, ImageResolver, ImageVerdict};
use crate::ops::{Cluster, fnv64};
use crate::resources::kinds;

/// Requests a pod receives from one entry, per second.
#[derive(Debug, Clone)]
pub struct Flow {
    pub group: Labels,
    pub rps: f64,
    /// Identifies the entry, so its jitter is shared by all the pods it feeds.
    pub entry_seed: u64,
    pub profile: Profile,
}

#[derive(Debug, Default)]
pub struct Observation {
    pub flows: Vec<Flow>,
    /// Groups with at least one ready pod: the series a scrape would find.
    pub present: BTreeSet<Labels>,
}

/// Faults by pod UID: like the kubelet, a pod keeps the behaviour of the image it started
/// with even if the tag is moved later.
pub type FaultCache = HashMap<String, Option<Fault>>;

pub fn seed_of(parts: &[&str]) -> u64 {
    fnv64(parts.join("/").as_bytes())
}

/// Client requests per second that enter through `entry`: 20–200 by name, less outside prod,
/// and a trickle for `*-preview` Services (testers, not users).
pub fn demand(env: &str, namespace: &str, entry: &str) -> f64 {
    let base = 20.0 + (seed_of(&[namespace, entry]) % 181) as f64;
    let env_factor = match env {
        "dev" => 0.25,
        "staging" => 0.5,
        _ => 1.0,
    };
    let preview = if entry.ends_with("-preview") {
        0.05
    } else {
        1.0
    };
    base * env_factor * preview
}

pub fn observe(
    cluster: &Cluster,
    images: &dyn ImageResolver,
    faults: &mut FaultCache,
) -> Observation {
    let store = &cluster.store;
    let (pods, _) = store.list(*kinds::PODS, None);
    // Keyed `namespace/name`.
    let mut ready: HashMap<String, (&Value, Labels)> = HashMap::new();
    let mut out = Observation::default();
    let mut alive = BTreeSet::new();
    for pod in &pods {
        alive.insert(pod["metadata"]["uid"].as_str().unwrap_or_default());
        if !is_ready(pod) {
            continue;
        }
        let group = group_labels(&cluster.name, pod);
        out.present.insert(group.clone());
        ready.insert(
            format!("{}/{}", ns_of(pod), name_of(pod)),
            (pod.as_ref(), group),
        );
    }
    faults.retain(|uid, _| alive.contains(uid.as_str()));

    let lists = [
        *kinds::SERVICES,
        *kinds::HTTPROUTES,
        *kinds::VIRTUALSERVICES,
        *kinds::TRAFFICSPLITS,
        *kinds::INGRESSES,
    ]
    .map(|res| store.list(res, None).0);
    let mut by_ns: BTreeMap<&str, Routing> = BTreeMap::new();
    for (i, list) in lists.iter().enumerate() {
        for obj in list {
            let r = by_ns.entry(ns_of(obj)).or_default();
            let slot = match i {
                0 => &mut r.services,
                1 => &mut r.http_routes,
                2 => &mut r.virtual_services,
                3 => &mut r.traffic_splits,
                _ => &mut r.ingresses,
            };
            slot.push(obj.as_ref());
        }
    }
    for (ns, routing) in &by_ns {
        for entry in routing.entries() {
            let rps = demand(&cluster.name, ns, &entry.name);
            let entry_seed = seed_of(&[&cluster.name, ns, &entry.name]);
            for (service, share) in &entry.backends {
                let targets: Vec<&(&Value, Labels)> = ready_endpoints(cluster, ns, service)
                    .iter()
                    .filter_map(|pod| ready.get(&format!("{ns}/{pod}")))
                    .collect();
                for (pod, group) in &targets {
                    let fault = fault_of(pod, images, faults);
                    let service_seed = seed_of(&[group.get("service").map_or("", String::as_str)]);
                    out.flows.push(Flow {
                        group: group.clone(),
                        rps: rps * share / targets.len() as f64,
                        entry_seed,
                        profile: Profile::new(fault.as_ref(), healthy_p99_ms(service_seed)),
                    });
                }
            }
        }
    }
    out
}

fn ns_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

/// Ready and not terminating: what the endpoints controller would publish as ready.
pub fn is_ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Names of the pods behind a Service's ready addresses.
pub fn ready_endpoints(cluster: &Cluster, ns: &str, service: &str) -> Vec<String> {
    let Some(ep) = cluster.store.get(*kinds::ENDPOINTS, ns, service) else {
        return Vec::new();
    };
    ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
        .filter_map(|a| a["targetRef"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The fault of the image the pod's first container runs, resolved once per pod.
pub fn fault_of(pod: &Value, images: &dyn ImageResolver, faults: &mut FaultCache) -> Option<Fault> {
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    faults
        .entry(uid)
        .or_insert_with(|| {
            let image = pod["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default();
            match images.resolve(image) {
                ImageVerdict::Present { fault } => fault,
                ImageVerdict::Missing { .. } => None,
            }
        })
        .clone()
}

/// The labels of the series a pod contributes to: where it runs, which service and
/// Deployment it belongs to, the version it runs and its track (`stable`/`canary`) if any.
pub fn group_labels(env: &str, pod: &Value) -> Labels {
    let labels = &pod["metadata"]["labels"];
    let label = |k: &str| labels[k].as_str().filter(|v| !v.is_empty());
    let owner = pod["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .unwrap_or_default();
    // A ReplicaSet is `<deployment>-<pod-template-hash>`.
    let deployment = match label("pod-template-hash") {
        Some(hash) => owner.strip_suffix(&format!("-{hash}")).unwrap_or(owner),
        None => owner,
    };
    let deployment = if deployment.is_empty() {
        name_of(pod)
    } else {
        deployment
    };
    let service = label("app.kubernetes.io/name")
        .or_else(|| label("app"))
        .unwrap_or(deployment);
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    let mut out = Labels::new();
    out.insert("env".into(), env.into());
    out.insert("namespace".into(), ns_of(pod).into());
    out.insert("service".into(), service.into());
    out.insert("deployment".into(), deployment.into());
    out.insert("version".into(), image_version(image));
    if let Some(track) = label("track") {
        out.insert("track".into(), track.into());
    }
    out
}

/// `host:5000/dev/orders:v1.5.0` → `v1.5.0`; a digest reference → its first 12 hex digits.
pub fn image_version(image: &str) -> String {
    if let Some((_, digest)) = image.split_once('@') {
        let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
        return hex.chars().take(12).collect();
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag.to_string(),
        None => "latest".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_grouped_by_deployment_version_and_track() {
        let pod = json!({
            "metadata": {
                "name": "orders-canary-7c9f4d-x2k", "namespace": "shop", "uid": "u1",
                "labels": {"app": "orders", "track": "canary", "pod-template-hash": "7c9f4d"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "orders-canary-7c9f4d"}]
            },
            "spec": {"containers": [{"image": "127.0.0.1:5000/prod/orders:v1.5.0"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        });
        let g = group_labels("prod", &pod);
        let get = |k: &str| g.get(k).map(String::as_str);
        assert_eq!(get("service"), Some("orders"));
        assert_eq!(get("deployment"), Some("orders-canary"));
        assert_eq!(get("version"), Some("v1.5.0"));
        assert_eq!(get("track"), Some("canary"));
        assert!(is_ready(&pod));
        assert_eq!(image_version("nginx"), "latest");
        assert_eq!(
            image_version("r:5000/a/b@sha256:0123456789abcdef"),
            "0123456789ab"
        );
    }

    #[test]
    fn demand_is_stable_and_in_range() {
        for name in ["orders", "payments", "search", "gateway"] {
            let d = demand("prod", "shop", name);
            assert!((20.0..=200.0).contains(&d), "{name}: {d}");
            assert_eq!(d, demand("prod", "shop", name));
            assert_eq!(demand("dev", "shop", name), d * 0.25);
        }
        assert_eq!(
            demand("prod", "shop", "payments-preview"),
            demand("prod", "shop", "payments-preview")
        );
    }
}
