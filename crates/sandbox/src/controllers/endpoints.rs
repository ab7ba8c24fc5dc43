//! EndpointSlice and Endpoints controllers: for every Service with a selector, one
//! `discovery.k8s.io/v1` EndpointSlice (`<svc>-xxxxx`, owned by the Service) and the legacy
//! `v1 Endpoints` of the same name. A selector change recomputes the Service from scratch;
//! pod changes update only the affected entries, so a large namespace stays cheap.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::Ctx;
use super::state::State;
use super::util::{Key, is_terminating, key_of, map_matches, name_of, pod_ready, str_at, uid_of};
use crate::ops::{DeleteOpts, WriteOpts};
use crate::resources::kinds;

const SERVICE_NAME: &str = "kubernetes.io/service-name";
const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const CONTROLLER: &str = "endpointslice-controller.k8s.io";
/// When the change the endpoints reflect happened (the controllers' `TriggerTimeTracker`):
/// the latest Ready transition of a selected pod, or the Service's creation.
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

#[derive(Debug, Clone, PartialEq)]
struct PodEp {
    uid: String,
    ip: String,
    node: String,
    ready: bool,
    terminating: bool,
    /// The pod's last Ready transition (its creation before it has one).
    changed_at: String,
    /// Named container ports, for `targetPort: http`.
    named: BTreeMap<String, i64>,
}

#[derive(Default)]
struct Svc {
    slice: Option<String>,
    pods: BTreeMap<String, PodEp>,
}

/// What each Service's endpoints currently hold, and which Services hold each pod.
#[derive(Default)]
pub struct Tracker {
    services: HashMap<Key, Svc>,
    /// Pod key → names of the Services (same namespace) whose endpoints include it.
    pod_services: HashMap<Key, BTreeSet<String>>,
}

impl Tracker {
    fn link(&mut self, ns: &str, pod: &str, svc: &str, linked: bool) {
        let key = (ns.to_string(), pod.to_string());
        if linked {
            self.pod_services
                .entry(key)
                .or_default()
                .insert(svc.to_string());
        } else if let Some(set) = self.pod_services.get_mut(&key) {
            set.remove(svc);
            if set.is_empty() {
                self.pod_services.remove(&key);
            }
        }
    }

    /// Replaces a Service's entries (`None`: forgets the Service), keeping the reverse index
    /// in step; returns what a forgotten Service held.
    fn reset(&mut self, key: &Key, pods: Option<BTreeMap<String, PodEp>>) -> Option<Svc> {
        let (ns, svc) = key;
        let (old_pods, forgotten) = match pods {
            Some(pods) => {
                let entry = self.services.entry(key.clone()).or_default();
                let old = std::mem::replace(&mut entry.pods, pods);
                let new: Vec<String> = entry.pods.keys().cloned().collect();
                for p in new {
                    self.link(ns, &p, svc, true);
                }
                (old, None)
            }
            None => match self.services.remove(key) {
                Some(mut old) => (std::mem::take(&mut old.pods), Some(old)),
                None => (BTreeMap::new(), None),
            },
        };
        for p in old_pods.keys() {
            let still = self
                .services
                .get(key)
                .is_some_and(|e| e.pods.contains_key(p));
            if !still {
                self.link(ns, p, svc, false);
            }
        }
        forgotten
    }
}

pub fn sync(
    ctx: &Ctx<'_>,
    st: &mut State,
    services: &BTreeSet<Key>,
    pods_changed: &BTreeMap<String, BTreeSet<String>>,
    full: bool,
) {
    let store = &ctx.cluster.store;
    let mut recompute: BTreeSet<Key> = services.clone();
    if full {
        st.endpoints = Tracker::default();
        let (all, _) = store.list(*kinds::SERVICES, None);
        recompute.extend(all.iter().map(|s| key_of(s)));
    }
    for (ns, names) in pods_changed {
        let (svcs, _) = store.list(*kinds::SERVICES, Some(ns));
        // Every pod a Service selects carries its selector's first pair: index by it.
        let mut by_pair: HashMap<(&str, &Value), Vec<usize>> = HashMap::new();
        let by_name: HashMap<&str, usize> = svcs
            .iter()
            .enumerate()
            .map(|(i, s)| (name_of(s), i))
            .collect();
        for (i, svc) in svcs.iter().enumerate() {
            if let Some((k, v)) = selector(svc).and_then(|sel| sel.iter().next()) {
                by_pair.entry((k.as_str(), v)).or_default().push(i);
            }
        }
        let mut touched: BTreeSet<usize> = BTreeSet::new();
        for pod_name in names {
            let pod = store.get(*kinds::PODS, ns, pod_name);
            let mut candidates: BTreeSet<usize> = BTreeSet::new();
            if let Some(labels) = pod
                .as_ref()
                .and_then(|p| p["metadata"]["labels"].as_object())
            {
                for (k, v) in labels {
                    candidates.extend(by_pair.get(&(k.as_str(), v)).into_iter().flatten());
                }
            }
            if let Some(held) = st
                .endpoints
                .pod_services
                .get(&(ns.clone(), pod_name.clone()))
            {
                candidates.extend(held.iter().filter_map(|name| by_name.get(name.as_str())));
            }
            for i in candidates {
                let svc = &svcs[i];
                let key = key_of(svc);
                let Some(sel) = selector(svc) else { continue };
                if recompute.contains(&key) {
                    continue;
                }
                if !st.endpoints.services.contains_key(&key) {
                    recompute.insert(key);
                    continue;
                }
                let want = pod.as_ref().and_then(|p| endpoint_of(p, sel));
                let entry = st.endpoints.services.get_mut(&key).expect("checked above");
                let changed = match want {
                    Some(ep) => {
                        let changed = entry.pods.get(pod_name) != Some(&ep);
                        entry.pods.insert(pod_name.clone(), ep);
                        changed
                    }
                    None => entry.pods.remove(pod_name).is_some(),
                };
                if changed {
                    let linked = entry.pods.contains_key(pod_name);
                    st.endpoints.link(ns, pod_name, name_of(svc), linked);
                    touched.insert(i);
                }
            }
        }
        for i in touched {
            let key = key_of(&svcs[i]);
            if let Some(entry) = st.endpoints.services.get_mut(&key) {
                write(ctx, &svcs[i], entry);
            }
        }
    }
    let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (ns, name) in recompute {
        by_ns.entry(ns).or_default().push(name);
    }
    for (ns, names) in by_ns {
        recompute_namespace(ctx, st, &ns, &names);
    }
}

/// Recomputes Services from scratch with one pass over the namespace's pods.
fn recompute_namespace(ctx: &Ctx<'_>, st: &mut State, ns: &str, names: &[String]) {
    let store = &ctx.cluster.store;
    let mut live: Vec<(std::sync::Arc<Value>, BTreeMap<String, PodEp>)> = Vec::new();
    for name in names {
        let key = (ns.to_string(), name.clone());
        match store.get(*kinds::SERVICES, ns, name) {
            Some(svc) if selector(&svc).is_some() => live.push((svc, BTreeMap::new())),
            _ => forget(ctx, st, &key),
        }
    }
    if live.is_empty() {
        return;
    }
    let mut by_pair: HashMap<(String, Value), Vec<usize>> = HashMap::new();
    for (i, (svc, _)) in live.iter().enumerate() {
        if let Some((k, v)) = selector(svc).and_then(|sel| sel.iter().next()) {
            by_pair.entry((k.clone(), v.clone())).or_default().push(i);
        }
    }
    let (pods, _) = store.list(*kinds::PODS, Some(ns));
    for pod in &pods {
        let Some(labels) = pod["metadata"]["labels"].as_object() else {
            continue;
        };
        let mut candidates: BTreeSet<usize> = BTreeSet::new();
        for (k, v) in labels {
            if let Some(list) = by_pair.get(&(k.clone(), v.clone())) {
                candidates.extend(list);
            }
        }
        for i in candidates {
            let (svc, entries) = &mut live[i];
            if let Some(ep) = selector(svc).and_then(|sel| endpoint_of(pod, sel)) {
                entries.insert(name_of(pod).to_string(), ep);
            }
        }
    }
    for (svc, entries) in live {
        let key = key_of(&svc);
        st.endpoints.reset(&key, Some(entries));
        if let Some(entry) = st.endpoints.services.get_mut(&key) {
            write(ctx, &svc, entry);
        }
    }
}

/// A Service that is gone or no longer selects: what we managed goes away (the slices of a
/// deleted Service were already collected with it).
fn forget(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    if let Some(old) = st.endpoints.reset(key, None)
        && let Some(slice) = old.slice
    {
        let _ = ctx
            .cluster
            .delete(*kinds::ENDPOINTSLICES, ns, &slice, &DeleteOpts::default());
    }
    if ctx.cluster.store.get(*kinds::ENDPOINTS, ns, name).is_some() {
        let _ = ctx
            .cluster
            .delete(*kinds::ENDPOINTS, ns, name, &DeleteOpts::default());
    }
}

fn selector(svc: &Value) -> Option<&Map<String, Value>> {
    if svc["spec"]["type"] == "ExternalName" {
        return None;
    }
    svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
}

/// The pod's endpoint if it is selected and has an address (finished pods have none).
fn endpoint_of(pod: &Value, selector: &Map<String, Value>) -> Option<PodEp> {
    let ip = str_at(pod, "/status/podIP");
    if ip.is_empty()
        || matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
        || !map_matches(selector, &pod["metadata"]["labels"])
    {
        return None;
    }
    let mut named = BTreeMap::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for p in c["ports"].as_array().into_iter().flatten() {
            if let (Some(n), Some(port)) = (p["name"].as_str(), p["containerPort"].as_i64()) {
                named.insert(n.to_string(), port);
            }
        }
    }
    Some(PodEp {
        uid: uid_of(pod).to_string(),
        ip: ip.to_string(),
        node: str_at(pod, "/spec/nodeName").to_string(),
        ready: pod_ready(pod),
        terminating: is_terminating(pod),
        changed_at: ready_transition(pod),
        named,
    })
}

fn ready_transition(pod: &Value) -> String {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(str_at(pod, "/metadata/creationTimestamp"))
        .to_string()
}

/// The [`TRIGGER_TIME`] of a Service's endpoints (RFC 3339 timestamps compare as text).
fn trigger_time(svc: &Value, entry: &Svc) -> String {
    entry
        .pods
        .values()
        .map(|ep| ep.changed_at.as_str())
        .chain([str_at(svc, "/metadata/creationTimestamp")])
        .max()
        .unwrap_or_default()
        .to_string()
}

/// The Service's ports as endpoint ports, resolving named target ports from the pods.
fn ports(svc: &Value, entry: &Svc) -> Vec<Value> {
    let mut out = Vec::new();
    for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
        let target = &p["targetPort"];
        // A named target port no selected pod declares has no endpoint port (upstream leaves
        // such pods out of the port's slice).
        let port = match target {
            Value::Number(n) => n.as_i64(),
            Value::String(name) => entry
                .pods
                .values()
                .find_map(|ep| ep.named.get(name).copied()),
            _ => p["port"].as_i64(),
        };
        if let Some(port) = port {
            out.push(json!({
                "name": p["name"].as_str().unwrap_or_default(),
                "port": port,
                "protocol": p["protocol"].as_str().unwrap_or("TCP"),
            }));
        }
    }
    out
}

fn write(ctx: &Ctx<'_>, svc: &Value, entry: &mut Svc) {
    let ns = str_at(svc, "/metadata/namespace");
    let name = name_of(svc);
    let ports = ports(svc, entry);
    let mut labels = svc["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert(SERVICE_NAME.into(), json!(name));
    labels.insert(MANAGED_BY.into(), json!(CONTROLLER));
    let endpoints: Vec<Value> = entry
        .pods
        .iter()
        .map(|(pod, ep)| {
            json!({
                "addresses": [ep.ip],
                "conditions": {
                    "ready": ep.ready && !ep.terminating,
                    "serving": ep.ready,
                    "terminating": ep.terminating,
                },
                "nodeName": ep.node,
                "targetRef": {"kind": "Pod", "namespace": ns, "name": pod, "uid": ep.uid},
            })
        })
        .collect();
    let triggered = trigger_time(svc, entry);
    let mut body = json!({
        "metadata": {
            "annotations": {TRIGGER_TIME: triggered},
            "generateName": format!("{name}-"),
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "Service", "name": name, "uid": uid_of(svc),
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "addressType": "IPv4",
    });
    // A Service without endpoints keeps an empty placeholder slice, as upstream does.
    if !endpoints.is_empty() {
        body["endpoints"] = json!(endpoints);
        body["ports"] = json!(ports);
    }
    let slice = entry.slice.clone().or_else(|| find_slice(ctx, ns, name));
    let stored = match slice {
        Some(slice) => ctx
            .cluster
            .modify(*kinds::ENDPOINTSLICES, ns, &slice, false, |s| {
                for field in ["addressType", "endpoints", "ports"] {
                    match body.get(field) {
                        Some(v) => s[field] = v.clone(),
                        None => {
                            if let Some(o) = s.as_object_mut() {
                                o.remove(field);
                            }
                        }
                    }
                }
                s["metadata"]["labels"] = body["metadata"]["labels"].clone();
                s["metadata"]["annotations"][TRIGGER_TIME] = json!(triggered);
                s["metadata"]["ownerReferences"] = body["metadata"]["ownerReferences"].clone();
            })
            .ok()
            .flatten(),
        None => None,
    };
    entry.slice = match stored {
        Some(s) => Some(name_of(&s).to_string()),
        None => ctx
            .cluster
            .create(*kinds::ENDPOINTSLICES, ns, body, &WriteOpts::default())
            .ok()
            .map(|s| name_of(&s).to_string()),
    };
    write_endpoints(ctx, svc, entry, &ports);
}

fn find_slice(ctx: &Ctx<'_>, ns: &str, svc: &str) -> Option<String> {
    let (slices, _) = ctx.cluster.store.list(*kinds::ENDPOINTSLICES, Some(ns));
    slices
        .iter()
        .find(|s| {
            s["metadata"]["labels"][SERVICE_NAME] == svc
                && s["metadata"]["labels"][MANAGED_BY] == CONTROLLER
        })
        .map(|s| name_of(s).to_string())
}

/// Legacy Endpoints: ready and not-ready addresses (terminating pods left out), by IP.
fn write_endpoints(ctx: &Ctx<'_>, svc: &Value, entry: &Svc, ports: &[Value]) {
    let ns = str_at(svc, "/metadata/namespace");
    let name = name_of(svc);
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut eps: Vec<(&String, &PodEp)> =
        entry.pods.iter().filter(|(_, e)| !e.terminating).collect();
    eps.sort_by(|a, b| a.1.ip.cmp(&b.1.ip));
    for (pod, ep) in eps {
        let addr = json!({
            "ip": ep.ip, "nodeName": ep.node,
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod, "uid": ep.uid},
        });
        if ep.ready {
            ready.push(addr)
        } else {
            not_ready.push(addr)
        }
    }
    let mut subset = Map::new();
    if !ready.is_empty() {
        subset.insert("addresses".into(), json!(ready));
    }
    if !not_ready.is_empty() {
        subset.insert("notReadyAddresses".into(), json!(not_ready));
    }
    let legacy_ports: Vec<Value> = ports
        .iter()
        .map(|p| {
            let mut q = p.clone();
            if q["name"] == ""
                && let Some(o) = q.as_object_mut()
            {
                o.remove("name");
            }
            q
        })
        .collect();
    let subsets = if subset.is_empty() {
        None
    } else {
        subset.insert("ports".into(), json!(legacy_ports));
        Some(json!([subset]))
    };
    let labels = svc["metadata"]["labels"].clone();
    let triggered = trigger_time(svc, entry);
    let exists = ctx.cluster.store.get(*kinds::ENDPOINTS, ns, name).is_some();
    if exists {
        let _ = ctx.cluster.modify(*kinds::ENDPOINTS, ns, name, false, |e| {
            e["metadata"]["annotations"][TRIGGER_TIME] = json!(triggered);
            match &subsets {
                Some(s) => e["subsets"] = s.clone(),
                None => {
                    if let Some(o) = e.as_object_mut() {
                        o.remove("subsets");
                    }
                }
            }
            if labels.is_object() {
                e["metadata"]["labels"] = labels.clone();
            }
        });
    } else {
        let mut body =
            json!({"metadata": {"name": name, "annotations": {TRIGGER_TIME: triggered}}});
        if labels.is_object() {
            body["metadata"]["labels"] = labels.clone();
        }
        if let Some(s) = subsets {
            body["subsets"] = s;
        }
        let _ = ctx
            .cluster
            .create(*kinds::ENDPOINTS, ns, body, &WriteOpts::default());
    }
}
