//! The ReplicaSet controller (`pkg/controller/replicaset/replica_set.go`): keeps
//! `spec.replicas` active pods, adopting matching orphans and releasing pods that stopped
//! matching, and reports replicas / fullyLabeled / ready / available / observedGeneration.

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::events::{Ev, Source};
use super::state::{State, Task};
use super::util::{
    Key, controller_uid, i64_at, is_terminating, map_matches, name_of, new_controller_ref,
    pod_active, pod_available, pod_ready, ready_since, secs, selector_matches, str_at, uid_of,
};
use crate::ops::{DeleteOpts, WriteOpts};
use crate::resources::kinds;

/// Upstream creates at most this many pods per sync (`burstReplicas`).
const BURST: usize = 500;

pub fn sync(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    let Some(rs) = ctx.cluster.store.get(*kinds::REPLICASETS, ns, name) else {
        return;
    };
    if is_terminating(&rs) {
        return;
    }
    let pods = claim_pods(ctx, st, &rs);
    let active: Vec<&Arc<Value>> = pods.iter().filter(|p| pod_active(p)).collect();
    let want = i64_at(&rs, "/spec/replicas").max(0) as usize;
    match active.len().cmp(&want) {
        Ordering::Less => create_pods(ctx, st, &rs, (want - active.len()).min(BURST)),
        Ordering::Greater => delete_pods(ctx, st, &rs, &active, active.len() - want),
        Ordering::Equal => {}
    }
    // Status reflects the pods as they are now; the pods just created or deleted show up in
    // the next round, as with upstream's informer-driven resync.
    let pods = owned_pods(ctx, st, &rs);
    update_status(ctx, st, &rs, &pods);
}

fn owned_pods(ctx: &Ctx<'_>, st: &State, rs: &Value) -> Vec<Arc<Value>> {
    st.pods_by_owner
        .owned(uid_of(rs))
        .iter()
        .filter_map(|(ns, n)| ctx.cluster.store.get(*kinds::PODS, ns, n))
        .collect()
}

/// `ClaimPods`: owned pods that still match, plus orphans that match (adopted by adding a
/// controller reference); owned pods that no longer match are released.
fn claim_pods(ctx: &Ctx<'_>, st: &State, rs: &Value) -> Vec<Arc<Value>> {
    let selector = &rs["spec"]["selector"];
    let ns = str_at(rs, "/metadata/namespace");
    let uid = uid_of(rs);
    let mut out = Vec::new();
    for (pns, pname) in st.pods_by_owner.owned(uid) {
        let Some(pod) = ctx.cluster.store.get(*kinds::PODS, &pns, &pname) else {
            continue;
        };
        if selector_matches(selector, &pod["metadata"]["labels"]) {
            out.push(pod);
        } else {
            let _ = ctx.cluster.modify(*kinds::PODS, &pns, &pname, false, |p| {
                if let Some(refs) = p["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid);
                }
            });
        }
    }
    for (pns, pname) in st.pods_by_owner.orphans(ns) {
        let Some(pod) = ctx.cluster.store.get(*kinds::PODS, &pns, &pname) else {
            continue;
        };
        if is_terminating(&pod)
            || !pod["metadata"]["labels"].is_object()
            || !selector_matches(selector, &pod["metadata"]["labels"])
        {
            continue;
        }
        let controller = new_controller_ref(rs);
        let adopted = ctx.cluster.modify(*kinds::PODS, &pns, &pname, false, |p| {
            if !controller_uid(p).is_empty() {
                return;
            }
            let meta = &mut p["metadata"];
            match meta["ownerReferences"].as_array_mut() {
                Some(refs) => refs.push(controller.clone()),
                None => meta["ownerReferences"] = json!([controller.clone()]),
            }
        });
        if let Ok(Some(pod)) = adopted
            && controller_uid(&pod) == uid
        {
            out.push(pod);
        }
    }
    out
}

/// `controller.GetPodFromTemplate`: labels, annotations and finalizers of the template, a
/// controller reference, and the template's spec, bound to a node by the sandbox scheduler.
pub fn pod_from_template(owner: &Value, template: &Value, node: &str) -> Value {
    let mut meta = Map::new();
    meta.insert("generateName".into(), json!(format!("{}-", name_of(owner))));
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(v) = template["metadata"].get(field).filter(|v| !v.is_null()) {
            meta.insert(field.into(), v.clone());
        }
    }
    meta.insert("ownerReferences".into(), json!([new_controller_ref(owner)]));
    let mut spec = template["spec"].clone();
    spec["nodeName"] = json!(node);
    json!({"metadata": meta, "spec": spec})
}

fn create_pods(ctx: &Ctx<'_>, st: &mut State, rs: &Value, count: usize) {
    let ns = str_at(rs, "/metadata/namespace");
    for _ in 0..count {
        let node = st.kubelet.pick_node();
        let pod = pod_from_template(rs, &rs["spec"]["template"], &node);
        match ctx
            .cluster
            .create(*kinds::PODS, ns, pod, &WriteOpts::default())
        {
            Ok(created) => {
                let msg = format!("Created pod: {}", name_of(&created));
                st.record(
                    ctx,
                    rs,
                    Ev::normal(Source::ReplicaSet, "SuccessfulCreate", msg),
                );
            }
            Err(e) => {
                let msg = format!("Error creating: {}", e.message);
                st.record(
                    ctx,
                    rs,
                    Ev::warning(Source::ReplicaSet, "FailedCreate", msg),
                );
                return;
            }
        }
    }
}

/// Deletes `count` pods, the least useful first (`getPodsToDelete` / `ActivePodsWithRanks`):
/// unscheduled, then pending, then not ready, then ready for the shortest time, then most
/// restarts, then newest.
fn delete_pods(ctx: &Ctx<'_>, st: &mut State, rs: &Value, active: &[&Arc<Value>], count: usize) {
    let mut ranked: Vec<&Arc<Value>> = active.to_vec();
    ranked.sort_by(|a, b| deletion_rank(a, b));
    for pod in ranked.into_iter().take(count) {
        let (ns, name) = (str_at(pod, "/metadata/namespace"), name_of(pod));
        if ctx
            .cluster
            .delete(*kinds::PODS, ns, name, &DeleteOpts::default())
            .is_ok()
        {
            let msg = format!("Deleted pod: {name}");
            st.record(
                ctx,
                rs,
                Ev::normal(Source::ReplicaSet, "SuccessfulDelete", msg),
            );
        }
    }
}

fn deletion_rank(a: &Value, b: &Value) -> Ordering {
    let assigned = |p: &Value| !str_at(p, "/spec/nodeName").is_empty();
    let phase = |p: &Value| match str_at(p, "/status/phase") {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let restarts = |p: &Value| {
        p["status"]["containerStatuses"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| i64_at(c, "/restartCount"))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    let created = |p: &Value| str_at(p, "/metadata/creationTimestamp").to_string();
    assigned(a)
        .cmp(&assigned(b))
        .then(phase(a).cmp(&phase(b)))
        .then(pod_ready(a).cmp(&pod_ready(b)))
        // Ready more recently goes first.
        .then(ready_since(b).cmp(&ready_since(a)))
        .then(restarts(b).cmp(&restarts(a)))
        .then(created(b).cmp(&created(a)))
        .then(name_of(b).cmp(name_of(a)))
}

fn update_status(ctx: &Ctx<'_>, st: &mut State, rs: &Value, pods: &[Arc<Value>]) {
    let min_ready = i64_at(rs, "/spec/minReadySeconds");
    let template_labels = rs["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let (mut replicas, mut labeled, mut ready, mut available) = (0, 0, 0, 0);
    for pod in pods.iter().filter(|p| pod_active(p)) {
        replicas += 1;
        if map_matches(&template_labels, &pod["metadata"]["labels"]) {
            labeled += 1;
        }
        if pod_ready(pod) {
            ready += 1;
            if pod_available(pod, min_ready, ctx.now) {
                available += 1;
            } else if let Some(since) = ready_since(pod) {
                // Becomes available once it has been ready for minReadySeconds.
                let key = (
                    str_at(rs, "/metadata/namespace").to_string(),
                    name_of(rs).to_string(),
                );
                st.wake(since + secs(min_ready), Task::ReplicaSet(key));
            }
        }
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(replicas));
    for (field, n) in [
        ("fullyLabeledReplicas", labeled),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ] {
        if n > 0 {
            status.insert(field.into(), json!(n));
        }
    }
    status.insert(
        "observedGeneration".into(),
        json!(i64_at(rs, "/metadata/generation")),
    );
    if let Some(conds) = rs["status"].get("conditions") {
        status.insert("conditions".into(), conds.clone());
    }
    let status = Value::Object(status);
    if rs.get("status") == Some(&status) {
        return;
    }
    if let Ok(Some(written)) = ctx.cluster.modify(
        *kinds::REPLICASETS,
        str_at(rs, "/metadata/namespace"),
        name_of(rs),
        true,
        |obj| obj["status"] = status.clone(),
    ) {
        st.wrote(*kinds::REPLICASETS, &written);
    }
}
