//! Pod status as the kubelet reports it (`convertToAPIContainerStatuses`, `getPhase`,
//! `generateAPIPodStatus`): container states, phase, conditions, IPs.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{Ctr, PodRt, Policy, Stage, Term};
use crate::controllers::Ctx;
use crate::controllers::util::{condition, name_of, ns_of, stamp};

pub(super) fn render(ctx: &Ctx<'_>, pod: &Value, rt: &PodRt) -> Value {
    let now = ctx.now;
    let (mut running, mut stopped, mut succeeded, mut waiting) = (0, 0, 0, 0);
    let mut unready: Vec<&str> = Vec::new();
    let mut ready_since = rt.started;
    let mut unready_since: Option<Timestamp> = None;
    let mut statuses = Vec::new();
    for c in &rt.containers {
        let (state, ready, started) = container_state(pod, rt, c, now);
        if state.get("running").is_some() {
            running += 1;
        } else if let Some(t) = state.get("terminated") {
            stopped += 1;
            if t["exitCode"] == 0 {
                succeeded += 1;
            }
        } else if c.last.is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
        if ready {
            if let Stage::Running {
                ready_at: Some(t), ..
            } = c.stage
            {
                ready_since = ready_since.max(t);
            }
        } else {
            unready.push(&c.name);
            let since = unready_instant(rt, c).min(now);
            unready_since = Some(unready_since.map_or(since, |u| u.min(since)));
        }
        statuses.push(container_status(c, state, ready, started));
    }
    let phase = if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match rt.policy {
            Policy::Always => "Running",
            _ if stopped == succeeded => "Succeeded",
            Policy::Never => "Failed",
            Policy::OnFailure => "Running",
        }
    } else {
        "Pending"
    };
    let finished = matches!(phase, "Succeeded" | "Failed");
    let all_ready = unready.is_empty() && !rt.containers.is_empty();
    let (ready_status, ready_reason, ready_msg, ready_hint) = if finished {
        ("False", Some("PodCompleted"), None, unready_since)
    } else if all_ready {
        ("True", None, None, Some(ready_since))
    } else {
        let msg = format!("containers with unready status: [{}]", unready.join(" "));
        (
            "False",
            Some("ContainersNotReady"),
            Some(msg),
            unready_since,
        )
    };
    let sandbox = if finished { "False" } else { "True" };
    let conditions = vec![
        cond(
            pod,
            now,
            "PodReadyToStartContainers",
            sandbox,
            None,
            None,
            Some(rt.started),
        ),
        cond(
            pod,
            now,
            "Initialized",
            "True",
            None,
            None,
            Some(rt.started),
        ),
        cond(
            pod,
            now,
            "Ready",
            ready_status,
            ready_reason,
            ready_msg.clone(),
            ready_hint,
        ),
        cond(
            pod,
            now,
            "ContainersReady",
            ready_status,
            ready_reason,
            ready_msg,
            ready_hint,
        ),
        cond(
            pod,
            now,
            "PodScheduled",
            "True",
            None,
            None,
            Some(rt.started),
        ),
    ];
    let mut status = Map::new();
    status.insert("phase".into(), json!(phase));
    status.insert("conditions".into(), json!(conditions));
    status.insert("hostIP".into(), json!(rt.host_ip));
    status.insert("hostIPs".into(), json!([{"ip": rt.host_ip}]));
    status.insert("podIP".into(), json!(rt.ip));
    status.insert("podIPs".into(), json!([{"ip": rt.ip}]));
    status.insert("startTime".into(), stamp(rt.started));
    status.insert("containerStatuses".into(), json!(statuses));
    let qos = pod["status"].get("qosClass").cloned();
    status.insert("qosClass".into(), qos.unwrap_or(json!("BestEffort")));
    Value::Object(status)
}

/// The container's state, whether it is ready, and whether it has started.
fn container_state(pod: &Value, rt: &PodRt, c: &Ctr, now: Timestamp) -> (Value, bool, bool) {
    let waiting = |reason: &str, message: Option<&str>| {
        let mut w = json!({"reason": reason});
        if let Some(m) = message {
            w["message"] = json!(m);
        }
        json!({"waiting": w})
    };
    match &c.stage {
        Stage::Pulling { retry: None, .. } | Stage::Creating { .. } => {
            (waiting("ContainerCreating", None), false, false)
        }
        Stage::Pulling {
            retry: Some(msg), ..
        }
        | Stage::PullBackOff { message: msg, .. } => {
            (waiting("ImagePullBackOff", Some(msg)), false, false)
        }
        Stage::PullFailed { message, .. } => (waiting("ErrImagePull", Some(message)), false, false),
        Stage::Running {
            since, ready_at, ..
        } => {
            let ready = ready_at.is_some_and(|t| t <= now);
            (
                json!({"running": {"startedAt": stamp(*since)}}),
                ready,
                true,
            )
        }
        Stage::CrashBackOff { backoff, .. } => {
            let msg = format!(
                "back-off {} restarting failed container={} pod={}_{}({})",
                go_duration(*backoff),
                c.name,
                name_of(pod),
                ns_of(pod),
                rt.uid
            );
            (waiting("CrashLoopBackOff", Some(&msg)), false, false)
        }
        Stage::Done(t) => (json!({"terminated": terminated(t)}), false, false),
    }
}

/// When the container last stopped being ready (or the pod start if it never was).
fn unready_instant(rt: &PodRt, c: &Ctr) -> Timestamp {
    match &c.stage {
        Stage::Running { since, .. } => *since,
        Stage::CrashBackOff { .. } => c.last.as_ref().map_or(rt.started, |t| t.finished),
        Stage::Done(t) => t.finished,
        _ => rt.started,
    }
}

fn terminated(t: &Term) -> Value {
    json!({
        "exitCode": t.exit,
        "reason": t.reason,
        "startedAt": stamp(t.started),
        "finishedAt": stamp(t.finished),
        "containerID": t.container_id,
    })
}

fn container_status(c: &Ctr, state: Value, ready: bool, started: bool) -> Value {
    let mut s = json!({
        "name": c.name,
        "image": normalize_image(&c.image),
        "imageID": image_id(&c.image, !c.container_id.is_empty()),
        "ready": ready,
        "started": started,
        "restartCount": c.restarts,
        "state": state,
        "lastState": c.last.as_ref().map_or(json!({}), |t| json!({"terminated": terminated(t)})),
    });
    if !c.container_id.is_empty() {
        s["containerID"] = json!(c.container_id);
    }
    s
}

/// containerd reports references fully qualified: `nginx:1.27` → `docker.io/library/nginx:1.27`.
pub fn normalize_image(image: &str) -> String {
    let (first, rest) = match image.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (image, None),
    };
    let is_host = |s: &str| s.contains('.') || s.contains(':') || s == "localhost";
    match rest {
        None => format!("docker.io/library/{image}"),
        Some(_) if is_host(first) => image.to_string(),
        Some(_) => format!("docker.io/{image}"),
    }
}

/// `<repo>@sha256:…` when the reference pins a digest; the sandbox cannot know it otherwise.
fn image_id(image: &str, created: bool) -> String {
    match image.split_once('@') {
        Some((repo, digest)) if created => {
            // Drop a tag, but not a registry port (`host:5000/app`).
            let repo = match repo.rsplit_once(':') {
                Some((r, tag)) if !tag.contains('/') => r,
                _ => repo,
            };
            format!("{}@{digest}", normalize_image(repo))
        }
        _ => String::new(),
    }
}

/// A pod condition; the transition time is kept while the status is unchanged, else set to
/// the instant the change happened (`hint`) or now.
fn cond(
    pod: &Value,
    now: Timestamp,
    kind: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<String>,
    hint: Option<Timestamp>,
) -> Value {
    let transition = match condition(pod, kind) {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => stamp(hint.unwrap_or(now).min(now)),
    };
    let mut c = json!({"type": kind, "status": status, "lastProbeTime": null,
                       "lastTransitionTime": transition});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// Go's `time.Duration.String` for whole seconds: `10s`, `1m20s`, `5m0s`.
fn go_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_qualified_like_containerd() {
        assert_eq!(
            normalize_image("nginx:1.27"),
            "docker.io/library/nginx:1.27"
        );
        assert_eq!(normalize_image("bitnami/redis"), "docker.io/bitnami/redis");
        assert_eq!(
            normalize_image("127.0.0.1:5000/dev/orders:v1"),
            "127.0.0.1:5000/dev/orders:v1"
        );
        assert_eq!(
            image_id("registry.local/web:1@sha256:abc", true),
            "registry.local/web@sha256:abc"
        );
        assert_eq!(image_id("web:1", true), "");
        assert_eq!(go_duration(80), "1m20s");
        assert_eq!(go_duration(300), "5m0s");
    }
}
