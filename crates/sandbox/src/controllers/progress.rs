//! Deployment status and conditions (`sync.go` `calculateStatus`, `progress.go`,
//! `util/deployment_util.go` condition helpers): the counters `kubectl rollout status` reads,
//! Available, and Progressing with its progress deadline.

use serde_json::{Map, Value, json};

use super::Ctx;
use super::deployment::{
    NEW_RS_AVAILABLE, PAUSED, Rs, TIMED_OUT, has_deadline, max_unavailable, replicas,
};
use super::state::{State, Task};
use super::util::{i64_at, key_of, name_of, parse_ts, secs, stamp};

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
pub fn check_paused_conditions(ctx: &Ctx<'_>, d: &mut Value) {
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
