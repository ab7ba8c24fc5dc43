//! The Deployment controller (`pkg/controller/deployment/{deployment_controller,sync,progress}.go`,
//! `util/deployment_util.go`): owned ReplicaSets, the new ReplicaSet and its revision, status
//! and the Available / Progressing conditions. The strategies live in [`super::rollout`].
//!
//! A sync works on a copy of the Deployment whose status and revision annotation accumulate
//! every change upstream would write along the way; one status write at the end stores them.

use serde_json::{Map, Value, json};

use super::Ctx;
use super::events::{Ev, Source};
use super::rollout;
use super::state::{State, Task};
use super::util::{
    HASH_LABEL, Key, controller_uid, i64_at, int_or_percent, is_terminating, key_of, name_of,
    new_controller_ref, ns_of, parse_ts, secs, selector_is_empty, selector_matches, stamp, str_at,
    template_hash, template_sans_hash, uid_of,
};
use crate::sandbox::ops::WriteOpts;
use crate::sandbox::resources::kinds;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations never copied from a Deployment to its ReplicaSets (`annotationsToSkip`).
const SKIP_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// `maxRevHistoryLengthInChars`.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;
/// `math.MaxInt32`: "no deadline" / "keep every revision".
const UNLIMITED: i64 = i32::MAX as i64;

pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
const PAUSED: &str = "DeploymentPaused";

/// A ReplicaSet as the Deployment controller sees it (the latest stored version).
#[derive(Debug, Clone)]
pub struct Rs {
    pub obj: Value,
}

impl Rs {
    pub fn name(&self) -> &str {
        name_of(&self.obj)
    }
    pub fn uid(&self) -> &str {
        uid_of(&self.obj)
    }
    pub fn replicas(&self) -> i64 {
        i64_at(&self.obj, "/spec/replicas")
    }
    pub fn status(&self, field: &str) -> i64 {
        self.obj["status"][field].as_i64().unwrap_or(0)
    }
    pub fn revision(&self) -> i64 {
        annotation(&self.obj, REVISION).parse().unwrap_or(0)
    }
    /// `ReplicaSetsByCreationTimestamp` order key.
    pub fn age_key(&self) -> (String, String) {
        (
            str_at(&self.obj, "/metadata/creationTimestamp").to_string(),
            self.name().to_string(),
        )
    }
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
}

pub fn replicas(d: &Value) -> i64 {
    i64_at(d, "/spec/replicas")
}

pub fn is_rolling(d: &Value) -> bool {
    str_at(d, "/spec/strategy/type") != "Recreate"
}

/// `ResolveFenceposts`: surge rounds up, unavailable rounds down, never both zero.
fn fenceposts(d: &Value) -> (i64, i64) {
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let n = replicas(d);
    let or_zero = |v: &Value| if v.is_null() { json!(0) } else { v.clone() };
    let surge = int_or_percent(&or_zero(&ru["maxSurge"]), n, true);
    let unavailable = int_or_percent(&or_zero(&ru["maxUnavailable"]), n, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Value) -> i64 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

pub fn max_unavailable(d: &Value) -> i64 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

fn has_deadline(d: &Value) -> bool {
    d["spec"]["progressDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s != UNLIMITED)
}

pub fn sync(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    let Some(stored) = ctx.cluster.store.get(*kinds::DEPLOYMENTS, ns, name) else {
        return;
    };
    if is_terminating(&stored) {
        return;
    }
    let mut d = (*stored).clone();
    if selector_is_empty(&d["spec"]["selector"]) {
        let msg = "This deployment is selecting all pods. A non-empty selector is required.";
        st.record(
            ctx,
            &d,
            Ev::warning(Source::Deployment, "SelectingAll", msg),
        );
        d["status"]["observedGeneration"] = d["metadata"]["generation"].clone();
        write_status(ctx, st, &stored, &d);
        return;
    }
    let mut rs_list = claim_replicasets(ctx, st, &d);
    check_paused_conditions(ctx, &mut d);
    if d["spec"]["paused"].as_bool() == Some(true)
        || is_scaling_event(ctx, st, &mut d, &mut rs_list)
    {
        rollout::sync_scale(ctx, st, &mut d, &mut rs_list);
    } else if is_rolling(&d) {
        rollout::rolling(ctx, st, &mut d, &mut rs_list);
    } else {
        rollout::recreate(ctx, st, &mut d, &mut rs_list);
    }
    write_status(ctx, st, &stored, &d);
}

/// Stores the status and revision annotation the sync arrived at (a `/status` write, which
/// does not bump the generation). Other annotations are left as stored, so a concurrent edit
/// is not undone.
fn write_status(ctx: &Ctx<'_>, st: &mut State, stored: &Value, d: &Value) {
    let revision = annotation(d, REVISION);
    if stored.get("status") == d.get("status") && annotation(stored, REVISION) == revision {
        return;
    }
    let written = ctx
        .cluster
        .modify(*kinds::DEPLOYMENTS, ns_of(d), name_of(d), true, |obj| {
            obj["status"] = d["status"].clone();
            if !revision.is_empty() {
                if !obj["metadata"]["annotations"].is_object() {
                    obj["metadata"]["annotations"] = json!({});
                }
                obj["metadata"]["annotations"][REVISION] = json!(revision);
            }
        });
    if let Ok(Some(written)) = written {
        st.wrote(*kinds::DEPLOYMENTS, &written);
    }
}

/// `ClaimReplicaSets`: owned ReplicaSets that still match the selector, plus matching orphans
/// (adopted); owned ones that stopped matching are released.
fn claim_replicasets(ctx: &Ctx<'_>, st: &State, d: &Value) -> Vec<Rs> {
    let selector = &d["spec"]["selector"];
    let uid = uid_of(d);
    let mut out = Vec::new();
    for (ns, name) in st.rs_by_owner.owned(uid) {
        let Some(rs) = ctx.cluster.store.get(*kinds::REPLICASETS, &ns, &name) else {
            continue;
        };
        if selector_matches(selector, &rs["metadata"]["labels"]) {
            out.push(Rs { obj: (*rs).clone() });
        } else {
            let _ = ctx
                .cluster
                .modify(*kinds::REPLICASETS, &ns, &name, false, |r| {
                    if let Some(refs) = r["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|o| o["uid"] != uid);
                    }
                });
        }
    }
    for (ns, name) in st.rs_by_owner.orphans(ns_of(d)) {
        let Some(rs) = ctx.cluster.store.get(*kinds::REPLICASETS, &ns, &name) else {
            continue;
        };
        if is_terminating(&rs) || !selector_matches(selector, &rs["metadata"]["labels"]) {
            continue;
        }
        let controller = new_controller_ref(d);
        let adopted = ctx
            .cluster
            .modify(*kinds::REPLICASETS, &ns, &name, false, |r| {
                if !controller_uid(r).is_empty() {
                    return;
                }
                match r["metadata"]["ownerReferences"].as_array_mut() {
                    Some(refs) => refs.push(controller.clone()),
                    None => r["metadata"]["ownerReferences"] = json!([controller.clone()]),
                }
            });
        if let Ok(Some(rs)) = adopted
            && controller_uid(&rs) == uid
        {
            out.push(Rs { obj: (*rs).clone() });
        }
    }
    out.sort_by_key(Rs::age_key);
    out
}

/// `isScalingEvent`: an active ReplicaSet was sized for a different `spec.replicas`.
fn is_scaling_event(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &mut Vec<Rs>) -> bool {
    let (new_rs, old) = all_replicasets(ctx, st, d, rs_list, false);
    let want = replicas(d);
    new_rs
        .iter()
        .chain(old.iter())
        .map(|&i| &rs_list[i])
        .filter(|rs| rs.replicas() > 0)
        .any(|rs| {
            annotation(&rs.obj, DESIRED_REPLICAS)
                .parse::<i64>()
                .is_ok_and(|desired| desired != want)
        })
}

/// `getAllReplicaSetsAndSyncRevision`: indexes into `rs_list` of the new ReplicaSet (created
/// when `create` and missing) and of the old ones.
pub fn all_replicasets(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &mut Value,
    rs_list: &mut Vec<Rs>,
    create: bool,
) -> (Option<usize>, Vec<usize>) {
    let template = template_sans_hash(&d["spec"]["template"]);
    let found = rs_list
        .iter()
        .position(|rs| template_sans_hash(&rs.obj["spec"]["template"]) == template);
    let old: Vec<usize> = (0..rs_list.len()).filter(|i| Some(*i) != found).collect();
    let max_old = old
        .iter()
        .map(|&i| rs_list[i].revision())
        .max()
        .unwrap_or(0);
    let new_revision = (max_old + 1).to_string();
    if let Some(i) = found {
        let mut copy = rs_list[i].obj.clone();
        let annotations_changed = set_new_rs_annotations(d, &mut copy, &new_revision, true);
        let min_ready = d["spec"]["minReadySeconds"].clone();
        if annotations_changed || copy["spec"]["minReadySeconds"] != min_ready {
            let annotations = copy["metadata"]["annotations"].clone();
            let updated = ctx.cluster.modify(
                *kinds::REPLICASETS,
                ns_of(&copy),
                name_of(&copy),
                false,
                |r| {
                    r["metadata"]["annotations"] = annotations.clone();
                    r["spec"]["minReadySeconds"] = min_ready.clone();
                },
            );
            if let Ok(Some(rs)) = updated {
                rs_list[i].obj = (*rs).clone();
            }
            // Upstream returns here; the ReplicaSet update brings the Deployment back.
            return (Some(i), old);
        }
        let revision = annotation(&copy, REVISION).to_string();
        set_annotation(d, REVISION, &revision);
        if has_deadline(d) && condition(d, "Progressing").is_none() {
            let msg = format!("Found new replica set \"{}\"", name_of(&copy));
            set_condition(
                d,
                new_condition(ctx, "Progressing", "True", "FoundNewReplicaSet", &msg),
            );
        }
        return (Some(i), old);
    }
    if !create {
        return (None, old);
    }
    match create_new_rs(ctx, st, d, rs_list, &new_revision) {
        Some(rs) => {
            rs_list.push(rs);
            (Some(rs_list.len() - 1), old)
        }
        None => (None, old),
    }
}

fn create_new_rs(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &mut Value,
    rs_list: &[Rs],
    new_revision: &str,
) -> Option<Rs> {
    let collisions = d["status"]["collisionCount"].as_i64();
    let hash = template_hash(&d["spec"]["template"], collisions);
    let rs_name = format!("{}-{hash}", name_of(d));
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut rs = json!({
        "metadata": {
            "name": rs_name,
            "labels": template["metadata"]["labels"],
            "ownerReferences": [new_controller_ref(d)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": d["spec"]["minReadySeconds"],
            "selector": selector,
            "template": template,
        },
    });
    let all: Vec<&Rs> = rs_list.iter().collect();
    let count = rollout::new_rs_new_replicas(d, &all, 0);
    rs["spec"]["replicas"] = json!(count);
    set_new_rs_annotations(d, &mut rs, new_revision, false);
    let created = match ctx
        .cluster
        .create(*kinds::REPLICASETS, ns_of(d), rs, &WriteOpts::default())
    {
        Ok(created) => created,
        Err(e) if e.code == 409 => {
            // Same name: ours if it has our template (a stale view), else a hash collision.
            let existing = ctx
                .cluster
                .store
                .get(*kinds::REPLICASETS, ns_of(d), &rs_name)?;
            let same = controller_uid(&existing) == uid_of(d)
                && template_sans_hash(&existing["spec"]["template"])
                    == template_sans_hash(&d["spec"]["template"]);
            if same {
                return Some(Rs {
                    obj: (*existing).clone(),
                });
            }
            d["status"]["collisionCount"] = json!(collisions.unwrap_or(0) + 1);
            return None;
        }
        Err(e) => {
            let msg = format!(
                "Failed to create new replica set \"{rs_name}\": {}",
                e.message
            );
            if has_deadline(d) {
                let c = new_condition(ctx, "Progressing", "False", "ReplicaSetCreateError", &msg);
                set_condition(d, c);
            }
            st.record(
                ctx,
                d,
                Ev::warning(Source::Deployment, "ReplicaSetCreateError", msg),
            );
            return None;
        }
    };
    if count > 0 {
        let msg = format!("Scaled up replica set {rs_name} from 0 to {count}");
        st.record(
            ctx,
            d,
            Ev::normal(Source::Deployment, "ScalingReplicaSet", msg),
        );
    }
    set_annotation(d, REVISION, new_revision);
    if has_deadline(d) {
        let msg = format!("Created new replica set \"{rs_name}\"");
        let c = new_condition(ctx, "Progressing", "True", "NewReplicaSetCreated", &msg);
        set_condition(d, c);
    }
    Some(Rs {
        obj: (*created).clone(),
    })
}

fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

/// `SetNewReplicaSetAnnotations`: copies the Deployment's annotations (minus the skip list),
/// raises the revision (recording the previous one in `revision-history` when an old
/// ReplicaSet comes back), and for a new ReplicaSet sets desired/max replicas.
fn set_new_rs_annotations(d: &Value, rs: &mut Value, new_revision: &str, exists: bool) -> bool {
    let mut changed = false;
    if !rs["metadata"]["annotations"].is_object() {
        rs["metadata"]["annotations"] = json!({});
    }
    let empty = Map::new();
    let from = d["metadata"]["annotations"].as_object().unwrap_or(&empty);
    let to = &mut rs["metadata"]["annotations"];
    for (k, v) in from {
        if SKIP_ANNOTATIONS.contains(&k.as_str()) || to.get(k) == Some(v) {
            continue;
        }
        to[k] = v.clone();
        changed = true;
    }
    let old = to.get(REVISION).and_then(Value::as_str).map(str::to_string);
    let old_n = match old.as_deref() {
        None | Some("") => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return changed,
        },
    };
    let Ok(new_n) = new_revision.parse::<i64>() else {
        return changed;
    };
    if old_n < new_n {
        to[REVISION] = json!(new_revision);
        changed = true;
        if let Some(old) = old {
            let history = to
                .get(REVISION_HISTORY)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut entries: Vec<&str> = history.split(',').filter(|s| !s.is_empty()).collect();
            entries.push(&old);
            // Keep the newest entries within the length limit.
            while entries.join(",").len() > MAX_REVISION_HISTORY_CHARS && entries.len() > 1 {
                entries.remove(0);
            }
            to[REVISION_HISTORY] = json!(entries.join(","));
        }
    }
    if !exists && set_replicas_annotations(d, rs) {
        changed = true;
    }
    changed
}

/// `SetReplicasAnnotations` with desired = spec.replicas, max = replicas + maxSurge.
pub fn set_replicas_annotations(d: &Value, rs: &mut Value) -> bool {
    let desired = replicas(d).to_string();
    let max = (replicas(d) + max_surge(d)).to_string();
    if annotation(rs, DESIRED_REPLICAS) == desired && annotation(rs, MAX_REPLICAS) == max {
        return false;
    }
    set_annotation(rs, DESIRED_REPLICAS, &desired);
    set_annotation(rs, MAX_REPLICAS, &max);
    true
}

pub fn condition<'a>(d: &'a Value, kind: &str) -> Option<&'a Value> {
    super::util::condition(d, kind)
}

pub fn new_condition(ctx: &Ctx<'_>, kind: &str, status: &str, reason: &str, msg: &str) -> Value {
    json!({"type": kind, "status": status, "lastUpdateTime": stamp(ctx.now),
           "lastTransitionTime": stamp(ctx.now), "reason": reason, "message": msg})
}

/// `SetDeploymentCondition`: no-op when status and reason are unchanged; keeps the transition
/// time when only the reason changes; the condition moves to the end of the list.
pub fn set_condition(d: &mut Value, mut cond: Value) {
    let kind = cond["type"].as_str().unwrap_or_default().to_string();
    if let Some(cur) = condition(d, &kind) {
        if cur["status"] == cond["status"] && cur["reason"] == cond["reason"] {
            return;
        }
        if cur["status"] == cond["status"] {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove_condition(d, &kind);
    match d["status"]["conditions"].as_array_mut() {
        Some(list) => list.push(cond),
        None => d["status"]["conditions"] = json!([cond]),
    }
}

pub fn remove_condition(d: &mut Value, kind: &str) {
    // `get_mut`, not indexing: indexing a `&mut Value` inserts nulls for missing keys.
    let Some(status) = d.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(list) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        list.retain(|c| c["type"] != kind);
        if list.is_empty() {
            status.remove("conditions");
        }
    }
}

/// `checkPausedConditions`.
fn check_paused_conditions(ctx: &Ctx<'_>, d: &mut Value) {
    if !has_deadline(d) {
        return;
    }
    let reason = condition(d, "Progressing").map(|c| c["reason"].clone());
    if reason.as_ref().is_some_and(|r| r == TIMED_OUT) {
        return;
    }
    let paused_cond = reason.is_some_and(|r| r == PAUSED);
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    if paused && !paused_cond {
        let c = new_condition(
            ctx,
            "Progressing",
            "Unknown",
            PAUSED,
            "Deployment is paused",
        );
        set_condition(d, c);
    } else if !paused && paused_cond {
        let msg = "Deployment is resumed";
        let c = new_condition(ctx, "Progressing", "Unknown", "DeploymentResumed", msg);
        set_condition(d, c);
    }
}

/// `calculateStatus`: counters summed over the ReplicaSets, the Available condition, and the
/// other conditions carried over. Zero counters are omitted, as the real JSON does.
pub fn calculate_status(ctx: &Ctx<'_>, d: &Value, all: &[&Rs], new_rs: Option<&Rs>) -> Value {
    let sum = |f: &str| all.iter().map(|rs| rs.status(f)).sum::<i64>();
    let available = sum("availableReplicas");
    let total: i64 = all.iter().map(|rs| rs.replicas()).sum();
    let mut status = Map::new();
    let mut put = |k: &str, n: i64| {
        if n != 0 {
            status.insert(k.into(), json!(n));
        }
    };
    put("observedGeneration", i64_at(d, "/metadata/generation"));
    put("replicas", sum("replicas"));
    put(
        "updatedReplicas",
        new_rs.map(|rs| rs.status("replicas")).unwrap_or(0),
    );
    put("readyReplicas", sum("readyReplicas"));
    put("availableReplicas", available);
    put("unavailableReplicas", (total - available).max(0));
    if let Some(c) = d["status"].get("collisionCount") {
        status.insert("collisionCount".into(), c.clone());
    }
    if let Some(c) = d["status"].get("conditions") {
        status.insert("conditions".into(), c.clone());
    }
    let mut out = json!({"status": status});
    let cond = if available >= replicas(d) - max_unavailable(d) {
        let msg = "Deployment has minimum availability.";
        new_condition(ctx, "Available", "True", "MinimumReplicasAvailable", msg)
    } else {
        let msg = "Deployment does not have minimum availability.";
        new_condition(ctx, "Available", "False", "MinimumReplicasUnavailable", msg)
    };
    set_condition(&mut out, cond);
    out["status"].take()
}

fn count(status: &Value, field: &str) -> i64 {
    status[field].as_i64().unwrap_or(0)
}

/// `DeploymentComplete`.
pub fn complete(d: &Value, status: &Value) -> bool {
    let want = replicas(d);
    count(status, "updatedReplicas") == want
        && count(status, "replicas") == want
        && count(status, "availableReplicas") == want
        && count(status, "observedGeneration") >= i64_at(d, "/metadata/generation")
}

/// `DeploymentProgressing`: more updated, ready or available replicas, or fewer old ones.
fn progressing(d: &Value, new: &Value) -> bool {
    let old = &d["status"];
    let old_old = count(old, "replicas") - count(old, "updatedReplicas");
    let new_old = count(new, "replicas") - count(new, "updatedReplicas");
    count(new, "updatedReplicas") > count(old, "updatedReplicas")
        || new_old < old_old
        || count(new, "readyReplicas") > count(old, "readyReplicas")
        || count(new, "availableReplicas") > count(old, "availableReplicas")
}

/// `syncRolloutStatus` (progress.go): the Progressing condition, and a wake-up at the progress
/// deadline while the rollout is stuck (`requeueStuckDeployment`).
pub fn sync_rollout_status(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &mut Value,
    all: &[&Rs],
    new_rs: Option<&Rs>,
) {
    let mut holder = json!({"status": calculate_status(ctx, d, all, new_rs)});
    if !has_deadline(d) {
        remove_condition(&mut holder, "Progressing");
    }
    let current = condition(d, "Progressing").cloned();
    let status = &holder["status"];
    let is_complete = count(status, "replicas") == count(status, "updatedReplicas")
        && current
            .as_ref()
            .is_some_and(|c| c["reason"] == NEW_RS_AVAILABLE);
    let subject = match new_rs {
        Some(rs) => format!("ReplicaSet \"{}\"", rs.name()),
        None => format!("Deployment \"{}\"", name_of(d)),
    };
    if has_deadline(d) && !is_complete {
        if complete(d, &holder["status"]) {
            let msg = format!("{subject} has successfully progressed.");
            let c = new_condition(ctx, "Progressing", "True", NEW_RS_AVAILABLE, &msg);
            set_condition(&mut holder, c);
        } else if progressing(d, &holder["status"]) {
            let msg = format!("{subject} is progressing.");
            let mut c = new_condition(ctx, "Progressing", "True", "ReplicaSetUpdated", &msg);
            // Progress refreshes lastUpdateTime even when the reason is unchanged.
            if let Some(cur) = &current {
                if cur["status"] == "True" {
                    c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                }
                remove_condition(&mut holder, "Progressing");
            }
            set_condition(&mut holder, c);
        } else if timed_out(ctx, d, &holder) {
            let msg = format!("{subject} has timed out progressing.");
            let c = new_condition(ctx, "Progressing", "False", TIMED_OUT, &msg);
            set_condition(&mut holder, c);
        }
    }
    remove_condition(&mut holder, "ReplicaFailure");
    d["status"] = holder["status"].take();
    if let Some(at) = deadline_check(d) {
        st.wake(at, Task::Deployment(key_of(d)));
    }
}

/// `DeploymentTimedOut`: no progress reported for longer than progressDeadlineSeconds.
fn timed_out(ctx: &Ctx<'_>, d: &Value, holder: &Value) -> bool {
    let Some(c) = condition(holder, "Progressing") else {
        return false;
    };
    if c["reason"] == NEW_RS_AVAILABLE {
        return false;
    }
    if c["reason"] == TIMED_OUT {
        return true;
    }
    let deadline = i64_at(d, "/spec/progressDeadlineSeconds");
    c["lastUpdateTime"]
        .as_str()
        .and_then(parse_ts)
        .is_some_and(|from| from + secs(deadline) < ctx.now)
}

/// When a stuck rollout must be looked at again: a second after its deadline passes.
fn deadline_check(d: &Value) -> Option<jiff::Timestamp> {
    if !has_deadline(d) || complete(d, &d["status"]) {
        return None;
    }
    let c = condition(d, "Progressing")?;
    if c["reason"] == TIMED_OUT || c["reason"] == NEW_RS_AVAILABLE || c["reason"] == PAUSED {
        return None;
    }
    let from = c["lastUpdateTime"].as_str().and_then(parse_ts)?;
    Some(from + secs(i64_at(d, "/spec/progressDeadlineSeconds") + 1))
}

/// `syncDeploymentStatus`: counters and Available only (scaling and paused syncs).
pub fn sync_deployment_status(ctx: &Ctx<'_>, d: &mut Value, all: &[&Rs], new_rs: Option<&Rs>) {
    d["status"] = calculate_status(ctx, d, all, new_rs);
}
