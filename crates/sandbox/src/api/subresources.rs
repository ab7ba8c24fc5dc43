//! The `scale` subresource (spoken as `autoscaling/v1` Scale, R6.1) and `pods/log`.
//! (`status` reads and writes go through the main handlers with `Cluster::update_status`.)

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::resources::{ResourceType, kinds};
use crate::store::{Store, rv_of};

use super::patch::{PatchType, apply_patch};
use super::selectors::selector_string;
use super::server::{Ctx, ResourceRequest, bytes_response, json_response};
use super::write::{object_body, write_opts};

/// The Scale view of a Deployment, ReplicaSet or Rollout.
pub fn scale_of(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let mut metadata = json!({});
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(key) {
            metadata[key] = v.clone();
        }
    }
    // `spec.replicas` is `omitempty` in autoscaling/v1; `status.replicas` is not.
    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(0);
    let spec = if replicas == 0 {
        json!({})
    } else {
        json!({ "replicas": replicas })
    };
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&obj["spec"]["selector"]),
        },
    })
}

pub(crate) fn get_scale(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let obj = ctx
        .cluster
        .get(r.res, r.ns(), r.name.as_deref().unwrap_or_default())?;
    Ok(json_response(StatusCode::OK, &scale_of(&obj)))
}

pub(crate) fn put_scale(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let body = object_body(req)?;
    if let Some(kind) = body["kind"].as_str()
        && kind != "Scale"
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind (Scale)"
        )));
    }
    write_scale(ctx, req, |_| Ok(body.clone()))
}

pub(crate) fn patch_scale(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let ptype = PatchType::of(&req.content_type, req.route.res)?;
    write_scale(ctx, req, |scale| {
        apply_patch(ptype, "Scale", scale, &req.body)
    })
}

/// Reads the object, lets `desired` compute the new Scale from the current one, and writes
/// `spec.replicas` back, re-reading on races unless the client named a resourceVersion.
fn write_scale(
    ctx: &Arc<Ctx>,
    req: &ResourceRequest,
    desired: impl Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let r = &req.route;
    let rt = r.res.get();
    let name = r.name.as_deref().unwrap_or_default();
    let opts = write_opts(&req.params);
    for _ in 0..5 {
        let current = ctx.cluster.get(r.res, r.ns(), name)?;
        let scale = desired(&scale_of(&current))?;
        let current_rv = rv_of(&current);
        match scale["metadata"]["resourceVersion"].as_str() {
            Some(rv) if !rv.is_empty() && rv != current_rv.to_string() => {
                return Err(ApiError::conflict(rt, name));
            }
            _ => {}
        }
        let replicas = scale_replicas(rt, name, &scale)?;
        let mut next = (*current).clone();
        next["spec"]["replicas"] = json!(replicas);
        match ctx.cluster.update(r.res, r.ns(), name, next, &opts) {
            Ok(stored) => return Ok(json_response(StatusCode::OK, &scale_of(&stored))),
            Err(e) if e.code == 409 && e.reason == "Conflict" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(rt, name))
}

fn scale_replicas(rt: &ResourceType, name: &str, scale: &Value) -> Result<i64, ApiError> {
    let invalid = |msg: String| {
        let mut err = ApiError::invalid(rt, name, &[("spec.replicas", msg)]);
        err.message = format!(
            "Scale.autoscaling \"{name}\" is invalid: spec.replicas: {}",
            err.message
                .rsplit("spec.replicas: ")
                .next()
                .unwrap_or_default()
        );
        err
    };
    match &scale["spec"]["replicas"] {
        // `omitempty`: an absent count is zero.
        Value::Null => Ok(0),
        Value::Number(n) => match n.as_i64() {
            Some(v) if (0..=i64::from(i32::MAX)).contains(&v) => Ok(v),
            _ => Err(invalid(format!(
                "Invalid value: {n}: must be greater than or equal to 0"
            ))),
        },
        other => Err(invalid(format!(
            "Invalid value: {other}: must be an integer"
        ))),
    }
}

/// The store key under which a container's previous instance's log lives (the simulated
/// kubelet writes it there when a container restarts); `?previous=true` serves it.
pub fn previous_log_key(container: &str) -> String {
    // Container names are DNS labels, so `:` cannot collide with a real name.
    format!("{container}:previous")
}

pub(crate) fn log(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let p = &req.params;
    let pod_name = r.name.as_deref().unwrap_or_default().to_string();
    let ns = r.ns().to_string();
    let pod = ctx.cluster.get(*kinds::PODS, &ns, &pod_name)?;
    let container = pick_container(&pod, &pod_name, p.container.as_deref())?;
    let key = if p.previous {
        let restarted = pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                pod["status"]["initContainerStatuses"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .any(|s| {
                s["name"] == container.as_str()
                    && (s["restartCount"].as_i64().unwrap_or(0) > 0
                        || s["lastState"]["terminated"].is_object())
            });
        if !restarted {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        previous_log_key(&container)
    } else {
        container.clone()
    };
    if p.tail_lines.is_some_and(|n| n < 0) || p.limit_bytes.is_some_and(|n| n <= 0) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PodLogOptions \"\" is invalid: tailLines and limitBytes must be greater than 0",
        ));
    }
    let store = ctx.cluster.store.clone();
    // Subscribe before reading, so no line appended in between is lost to a follower.
    let log_changes = store.subscribe_logs();
    let (mut lines, next) = store.log_from(&ns, &pod_name, &key, 0);
    if let Some(n) = p.tail_lines {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if lines.len() > n {
            lines.drain(..lines.len() - n);
        }
    }
    let mut fmt = LineFormat {
        clock: ctx.cluster.clock.clone(),
        timestamps: p.timestamps,
        budget: p
            .limit_bytes
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let backlog = fmt.render(&lines);
    if !p.follow || p.previous || fmt.budget == Some(0) {
        return Ok(bytes_response(StatusCode::OK, backlog, "text/plain"));
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
    let follower = Follower {
        store,
        shutdown: ctx.shutdown.clone(),
        ns,
        pod: pod_name,
        key,
        pos: next,
        fmt,
        tx,
    };
    tokio::spawn(follower.run(Bytes::from(backlog), log_changes));
    let mut response = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

fn pick_container(pod: &Value, pod_name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |key: &str| -> Vec<String> {
        pod["spec"][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let containers = names("containers");
    match asked {
        Some(c)
            if containers.iter().any(|n| n == c)
                || names("initContainers").iter().any(|n| n == c) =>
        {
            Ok(c.to_string())
        }
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            containers.join(" ")
        ))),
    }
}

/// Turns stored lines into response bytes: optional timestamps, and the `limitBytes` budget.
struct LineFormat {
    clock: Clock,
    timestamps: bool,
    budget: Option<usize>,
}

impl LineFormat {
    fn render(&mut self, lines: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        // Stored lines carry no time of their own; they are stamped when served.
        // jiff prints the shortest exact fraction, as Go's RFC3339Nano (the kubelet's) does.
        let stamp = self.timestamps.then(|| format!("{} ", self.clock.now()));
        for line in lines {
            if let Some(s) = &stamp {
                out.extend_from_slice(s.as_bytes());
            }
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        if let Some(budget) = &mut self.budget {
            out.truncate(*budget);
            *budget -= out.len();
        }
        out
    }
}

struct Follower {
    store: Arc<Store>,
    shutdown: tokio_util::sync::CancellationToken,
    ns: String,
    pod: String,
    key: String,
    pos: u64,
    fmt: LineFormat,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
}

impl Follower {
    /// Streams the backlog, then new lines as they are appended, until the pod is gone or has
    /// finished, the byte budget is spent, the client leaves or the server stops.
    async fn run(mut self, backlog: Bytes, mut log_changes: tokio::sync::watch::Receiver<u64>) {
        if !backlog.is_empty() && self.tx.send(Ok(backlog)).await.is_err() {
            return;
        }
        let mut store_changes = self.store.subscribe();
        loop {
            // Looked at before reading: the kubelet writes a container's last lines and then
            // marks it finished, so every line is read before the stream ends.
            let finished = self
                .store
                .get(*kinds::PODS, &self.ns, &self.pod)
                .is_none_or(|pod| {
                    matches!(
                        pod["status"]["phase"].as_str(),
                        Some("Succeeded" | "Failed")
                    )
                });
            let (lines, next) = self
                .store
                .log_from(&self.ns, &self.pod, &self.key, self.pos);
            self.pos = next;
            if !lines.is_empty() {
                let chunk = self.fmt.render(&lines);
                if self.tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return;
                }
            }
            if finished || self.fmt.budget == Some(0) {
                return;
            }
            tokio::select! {
                changed = log_changes.changed() => if changed.is_err() { return },
                changed = store_changes.changed() => if changed.is_err() { return },
                _ = self.shutdown.cancelled() => return,
                _ = self.tx.closed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view() {
        let d = json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u", "resourceVersion": "9", "labels": {"x": "y"}},
                       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
                       "status": {"replicas": 2}});
        let s = scale_of(&d);
        assert_eq!(s["kind"], "Scale");
        assert_eq!(s["apiVersion"], "autoscaling/v1");
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"], json!({"replicas": 2, "selector": "app=web"}));
        assert_eq!(s["metadata"]["resourceVersion"], "9");
        assert!(s["metadata"].get("labels").is_none());
        let rt = kinds::DEPLOYMENTS.get();
        assert_eq!(
            scale_replicas(rt, "web", &json!({"spec": {"replicas": 4}})),
            Ok(4)
        );
        assert_eq!(scale_replicas(rt, "web", &json!({"spec": {}})), Ok(0));
        let err =
            scale_replicas(rt, "web", &json!({"spec": {"replicas": -1}})).expect_err("an error");
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .starts_with("Scale.autoscaling \"web\" is invalid: spec.replicas")
        );
    }

    #[test]
    fn container_choice() {
        let pod = json!({"spec": {"containers": [{"name": "web"}, {"name": "proxy"}],
                                  "initContainers": [{"name": "init"}]}});
        assert_eq!(pick_container(&pod, "p", Some("proxy")), Ok("proxy".into()));
        assert_eq!(pick_container(&pod, "p", Some("init")), Ok("init".into()));
        assert_eq!(
            pick_container(&pod, "p", None)
                .expect_err("an error")
                .message,
            "a container name must be specified for pod p, choose one of: [web proxy]"
        );
        assert_eq!(
            pick_container(&pod, "p", Some("db"))
                .expect_err("an error")
                .code,
            400
        );
        let single = json!({"spec": {"containers": [{"name": "web"}]}});
        assert_eq!(pick_container(&single, "p", None), Ok("web".into()));
    }

    #[test]
    fn log_budget_and_stamps() {
        let mut fmt = LineFormat {
            clock: Clock::manual(Clock::epoch()),
            timestamps: true,
            budget: Some(30),
        };
        let out = fmt.render(&["hello".into()]);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "2026-11-18T11:06:40Z hello\n"
        );
        assert_eq!(fmt.budget, Some(3));
        let rest = fmt.render(&["more".into()]);
        assert_eq!(rest.len(), 3);
        assert_eq!(fmt.budget, Some(0));
    }
}
