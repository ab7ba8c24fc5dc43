//! The Job controller (`pkg/controller/job/job_controller.go`), NonIndexed jobs: runs pods
//! until `completions` succeed or more than `backoffLimit` fail. Finished pods are counted
//! through the `batch.kubernetes.io/job-tracking` finalizer, as upstream does, so a pod is
//! never counted twice and counts survive the pod's removal.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Ctx;
use super::events::{Ev, Source};
use super::replicaset::pod_from_template;
use super::state::{State, Task};
use super::util::{
    Key, condition, is_terminating, name_of, pod_ready, secs, stamp, str_at, uid_of,
};
use crate::ops::{DeleteOpts, WriteOpts};
use crate::resources::kinds;

pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Upstream's pod failure back-off: 10s doubling, capped at 6 minutes.
const BACKOFF_BASE: i64 = 10;
const BACKOFF_MAX: i64 = 360;

pub fn sync(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    let Some(job) = ctx.cluster.store.get(*kinds::JOBS, ns, name) else {
        st.job_backoff.remove(key);
        return;
    };
    if is_terminating(&job) {
        return;
    }
    let pods: Vec<Arc<Value>> = st
        .pods_by_owner
        .owned(uid_of(&job))
        .iter()
        .filter_map(|(pns, pn)| ctx.cluster.store.get(*kinds::PODS, pns, pn))
        .collect();
    let mut status = job["status"].as_object().cloned().unwrap_or_default();
    let count =
        |status: &Map<String, Value>, f: &str| status.get(f).and_then(Value::as_i64).unwrap_or(0);
    let (mut succeeded, mut failed) = (count(&status, "succeeded"), count(&status, "failed"));
    let mut new_failures = 0;
    // Count finished (and deleted unfinished) pods once, then let them go.
    for pod in &pods {
        let tracked = pod["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == TRACKING_FINALIZER));
        if !tracked {
            continue;
        }
        match str_at(pod, "/status/phase") {
            "Succeeded" => succeeded += 1,
            "Failed" => {
                failed += 1;
                new_failures += 1;
            }
            _ if is_terminating(pod) => {
                failed += 1;
                new_failures += 1;
            }
            _ => continue,
        }
        let _ = ctx
            .cluster
            .modify(*kinds::PODS, ns, name_of(pod), false, |p| {
                let Some(meta) = p["metadata"].as_object_mut() else {
                    return;
                };
                if let Some(f) = meta.get_mut("finalizers").and_then(Value::as_array_mut) {
                    f.retain(|x| x != TRACKING_FINALIZER);
                    if f.is_empty() {
                        // An empty list is omitted, as the API server serializes it.
                        meta.remove("finalizers");
                    }
                }
            });
    }
    let finished = |kind: &str| condition(&job, kind).is_some_and(|c| c["status"] == "True");
    let done = finished("Complete") || finished("Failed");
    let running: Vec<&Arc<Value>> = pods
        .iter()
        .filter(|p| {
            !is_terminating(p) && !matches!(str_at(p, "/status/phase"), "Succeeded" | "Failed")
        })
        .collect();
    let terminating = pods
        .iter()
        .filter(|p| {
            is_terminating(p) && !matches!(str_at(p, "/status/phase"), "Succeeded" | "Failed")
        })
        .count();
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
    let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1);
    let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let suspended = job["spec"]["suspend"].as_bool() == Some(true);
    if !status.contains_key("startTime") && !suspended {
        status.insert("startTime".into(), stamp(ctx.now));
    }
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut active = running.len() as i64;
    if !done {
        if failed > backoff_limit {
            let msg = "Job has reached the specified backoff limit";
            for kind in ["FailureTarget", "Failed"] {
                conditions.push(job_condition(ctx.now, kind, "BackoffLimitExceeded", msg));
            }
            delete_all(ctx, &running);
            active = 0;
            st.record(
                ctx,
                &job,
                Ev::warning(Source::Job, "BackoffLimitExceeded", msg),
            );
        } else if succeeded >= completions {
            let msg = "Reached expected number of succeeded pods";
            for kind in ["SuccessCriteriaMet", "Complete"] {
                conditions.push(job_condition(ctx.now, kind, "CompletionsReached", msg));
            }
            status.insert("completionTime".into(), stamp(ctx.now));
            delete_all(ctx, &running);
            active = 0;
            st.record(
                ctx,
                &job,
                Ev::normal(Source::Job, "Completed", "Job completed"),
            );
        } else if !suspended {
            if new_failures > 0 {
                let b = (BACKOFF_BASE << (failed - 1).clamp(0, 10)).min(BACKOFF_MAX);
                st.job_backoff.insert(key.clone(), ctx.now + secs(b));
            }
            let want = parallelism.min(completions - succeeded).max(0);
            if active < want {
                match st.job_backoff.get(key).copied().filter(|t| *t > ctx.now) {
                    Some(at) => st.wake(at, Task::Job(key.clone())),
                    None => active += create_pods(ctx, st, &job, want - active),
                }
            }
        }
    }
    let ready = running.iter().filter(|p| pod_ready(p)).count();
    put(&mut status, "active", active);
    put(&mut status, "succeeded", succeeded);
    put(&mut status, "failed", failed);
    status.insert("ready".into(), json!(ready));
    status.insert("terminating".into(), json!(terminating));
    status.insert("uncountedTerminatedPods".into(), json!({}));
    if conditions.is_empty() {
        status.remove("conditions");
    } else {
        status.insert("conditions".into(), json!(conditions));
    }
    let status = Value::Object(status);
    if job.get("status") != Some(&status)
        && let Ok(Some(written)) = ctx.cluster.modify(*kinds::JOBS, ns, name, true, |j| {
            j["status"] = status.clone()
        })
    {
        st.wrote(*kinds::JOBS, &written);
    }
}

fn put(status: &mut Map<String, Value>, field: &str, n: i64) {
    if n > 0 {
        status.insert(field.into(), json!(n));
    } else {
        status.remove(field);
    }
}

fn job_condition(now: Timestamp, kind: &str, reason: &str, msg: &str) -> Value {
    json!({"type": kind, "status": "True", "lastProbeTime": stamp(now),
           "lastTransitionTime": stamp(now), "reason": reason, "message": msg})
}

fn delete_all(ctx: &Ctx<'_>, pods: &[&Arc<Value>]) {
    for pod in pods {
        let _ = ctx.cluster.delete(
            *kinds::PODS,
            str_at(pod, "/metadata/namespace"),
            name_of(pod),
            &DeleteOpts::default(),
        );
    }
}

fn create_pods(ctx: &Ctx<'_>, st: &mut State, job: &Value, n: i64) -> i64 {
    let mut created = 0;
    for _ in 0..n {
        let node = st.kubelet.pick_node();
        let mut pod = pod_from_template(job, &job["spec"]["template"], &node);
        match pod["metadata"]["finalizers"].as_array_mut() {
            Some(f) => f.push(json!(TRACKING_FINALIZER)),
            None => pod["metadata"]["finalizers"] = json!([TRACKING_FINALIZER]),
        }
        match ctx.cluster.create(
            *kinds::PODS,
            str_at(job, "/metadata/namespace"),
            pod,
            &WriteOpts::default(),
        ) {
            Ok(p) => {
                created += 1;
                let msg = format!("Created pod: {}", name_of(&p));
                st.record(ctx, job, Ev::normal(Source::Job, "SuccessfulCreate", msg));
            }
            Err(e) => {
                let msg = format!("Error creating: {}", e.message);
                st.record(ctx, job, Ev::warning(Source::Job, "FailedCreate", msg));
                break;
            }
        }
    }
    created
}
