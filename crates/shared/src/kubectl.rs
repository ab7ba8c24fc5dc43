//! The cells kubectl computes for pods and workloads, over plain JSON.
//!
//! These mirror the server-side printers (`pkg/printers/internalversion/printers.go`,
//! Kubernetes 1.32) so the sandbox's Table responses and the console's own views print exactly
//! what `kubectl get` prints. They read `serde_json::Value` rather than typed objects so the
//! sandbox (which stores JSON) and the console (which converts k8s-openapi objects with
//! `serde_json::to_value`) share one implementation. Missing or mistyped fields read as Go's zero
//! values, as they would after decoding into the typed structs, so any JSON is accepted.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use crate::format::human_duration;

/// `v[key]` as a string, `""` when absent or not a string (Go's zero value).
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `v[key]` as a list, empty when absent or not a list.
pub fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `v[key]` as an integer, 0 when absent or not an integer.
pub fn int_of(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or(0)
}

/// Parses a `metav1.Time` (RFC 3339); `None` for absent or malformed values (Go's zero time).
pub fn time_of(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse::<Timestamp>().ok())
}

/// `translateTimestampSince`: the short human duration since `t`, `<unknown>` for the zero time.
pub fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

/// What `printPod` derives from one pod in a single pass: the READY, STATUS and RESTARTS cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    /// Ready and running app containers plus started, ready sidecars.
    pub ready: u32,
    /// `spec.containers` plus restartable init containers (sidecars).
    pub total: u32,
    /// The STATUS cell (`Running`, `CrashLoopBackOff`, `Init:0/2`, `Terminating`, ...).
    pub status: String,
    /// The restart count kubectl shows (see [`PodSummary::restarts_cell`]).
    pub restarts: u32,
    /// The latest `lastState.terminated.finishedAt` among the containers counted in `restarts`.
    pub last_restart: Option<Timestamp>,
}

impl PodSummary {
    /// `"ready/total"`.
    pub fn ready_cell(&self) -> String {
        format!("{}/{}", self.ready, self.total)
    }

    /// `N`, or `N (5m ago)` once a container has restarted and its last termination time is known.
    pub fn restarts_cell(&self, now: Timestamp) -> String {
        match self.last_restart {
            Some(t) if self.restarts != 0 => {
                format!("{} ({} ago)", self.restarts, since(Some(t), now))
            }
            _ => self.restarts.to_string(),
        }
    }
}

fn is_restartable_init_container(c: Option<&Value>) -> bool {
    c.is_some_and(|c| str_of(c, "restartPolicy") == "Always")
}

fn has_condition(pod: &Value, type_: &str, reason: Option<&str>) -> bool {
    list_of(&pod["status"], "conditions").iter().any(|c| {
        str_of(c, "type") == type_
            && match reason {
                Some(r) => str_of(c, "reason") == r,
                None => str_of(c, "status") == "True",
            }
    })
}

/// Folds a container's `lastState.terminated.finishedAt` into the latest restart time seen.
fn note_restart(latest: &mut Option<Timestamp>, status: &Value) {
    let terminated = &status["lastState"]["terminated"];
    if terminated.is_object() {
        let finished = time_of(&terminated["finishedAt"]);
        if finished > *latest {
            *latest = finished;
        }
    }
}

fn count(v: &Value, key: &str) -> u32 {
    u32::try_from(int_of(v, key)).unwrap_or(0)
}

/// `Signal:N` / `ExitCode:N` for a terminated state without a reason.
fn exit_text(terminated: &Value) -> String {
    let signal = int_of(terminated, "signal");
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_of(terminated, "exitCode"))
    }
}

/// Runs `printPod`'s status logic once; the printer and the console both start here.
pub fn pod_summary(pod: &Value) -> PodSummary {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let phase = str_of(status, "phase");
    let mut reason = match str_of(status, "reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if has_condition(pod, "PodScheduled", Some("SchedulingGated")) {
        reason = "SchedulingGated".into();
    }

    let init_specs = list_of(spec, "initContainers");
    let init_spec = |name: &str| init_specs.iter().find(|c| str_of(c, "name") == name);
    let mut total = list_of(spec, "containers").len() as u32;
    total += init_specs
        .iter()
        .filter(|c| is_restartable_init_container(Some(c)))
        .count() as u32;

    let mut ready = 0u32;
    let mut restarts = 0u32;
    let mut sidecar_restarts = 0u32;
    let mut last_restart = None;
    let mut last_sidecar_restart = None;
    let mut initializing = false;
    for (i, c) in list_of(status, "initContainerStatuses").iter().enumerate() {
        let sidecar = is_restartable_init_container(init_spec(str_of(c, "name")));
        restarts = restarts.saturating_add(count(c, "restartCount"));
        note_restart(&mut last_restart, c);
        if sidecar {
            sidecar_restarts = sidecar_restarts.saturating_add(count(c, "restartCount"));
            note_restart(&mut last_sidecar_restart, c);
        }
        let terminated = &c["state"]["terminated"];
        let waiting_reason = c["state"]["waiting"]["reason"].as_str().unwrap_or("");
        if terminated.is_object() && int_of(terminated, "exitCode") == 0 {
            continue;
        }
        if sidecar && c["started"].as_bool() == Some(true) {
            if c["ready"].as_bool() == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_object() {
            match str_of(terminated, "reason") {
                "" => format!("Init:{}", exit_text(terminated)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || has_condition(pod, "Initialized", None) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in list_of(status, "containerStatuses").iter().rev() {
            restarts = restarts.saturating_add(count(c, "restartCount"));
            note_restart(&mut last_restart, c);
            let state = &c["state"];
            let waiting_reason = state["waiting"]["reason"].as_str().unwrap_or("");
            let terminated = &state["terminated"];
            if state["waiting"].is_object() && !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if terminated.is_object() {
                reason = match str_of(terminated, "reason") {
                    "" => exit_text(terminated),
                    r => r.to_string(),
                };
            } else if c["ready"].as_bool() == Some(true) && state["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last container completed but another still runs is Running (or NotReady).
        if reason == "Completed" && has_running {
            reason = if has_condition(pod, "Ready", None) {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if !pod["metadata"]["deletionTimestamp"].is_null() {
        if str_of(status, "reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    PodSummary {
        ready,
        total,
        status: reason,
        restarts,
        last_restart,
    }
}

/// READY as numbers: `(ready, total)`.
pub fn pod_ready(pod: &Value) -> (u32, u32) {
    let s = pod_summary(pod);
    (s.ready, s.total)
}

/// The STATUS cell.
pub fn pod_status(pod: &Value) -> String {
    pod_summary(pod).status
}

/// The RESTARTS cell: `3` or `3 (5m ago)`.
pub fn pod_restarts(pod: &Value, now: Timestamp) -> String {
    pod_summary(pod).restarts_cell(now)
}

/// `-o wide` READINESS GATES: `<none>`, or how many `spec.readinessGates` conditions are True.
pub fn pod_readiness_gates(pod: &Value) -> String {
    let gates = list_of(&pod["spec"], "readinessGates");
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = list_of(&pod["status"], "conditions");
    let true_count = gates
        .iter()
        .filter(|g| {
            conditions
                .iter()
                .find(|c| str_of(c, "type") == str_of(g, "conditionType"))
                .is_some_and(|c| str_of(c, "status") == "True")
        })
        .count();
    format!("{true_count}/{}", gates.len())
}

/// `-o wide` IP: the first of `status.podIPs` (falling back to `status.podIP`), or `<none>`.
pub fn pod_ip(pod: &Value) -> String {
    let status = &pod["status"];
    let ip = list_of(status, "podIPs")
        .first()
        .map(|p| str_of(p, "ip"))
        .unwrap_or_else(|| str_of(status, "podIP"));
    or_none(ip)
}

pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.to_string()
    }
}

/// `layoutContainerCells`: container names and images, each joined by `,`.
pub fn containers_cells(pod_spec: &Value) -> (String, String) {
    let containers = list_of(pod_spec, "containers");
    let join = |key: &str| {
        containers
            .iter()
            .map(|c| str_of(c, key))
            .collect::<Vec<_>>()
            .join(",")
    };
    (join("name"), join("image"))
}

/// Deployment READY: `"readyReplicas/spec.replicas"` (replicas defaults to 1, as the API does).
pub fn deployment_ready(deploy: &Value) -> String {
    format!(
        "{}/{}",
        int_of(&deploy["status"], "readyReplicas"),
        deploy["spec"]["replicas"].as_i64().unwrap_or(1)
    )
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key and joined by `,`, or `<none>`.
pub fn labels_string(labels: &Value) -> String {
    let Some(map) = labels.as_object().filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    // serde_json's map iterates in key order, as FormatLabels sorts.
    map.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.LabelSelectorAsSelector(sel).String()`: requirements sorted by key, `in`/`notin`
/// values sorted. `Ok("")` for a nil or empty selector; `Err` for an invalid one.
#[allow(clippy::result_unit_err)] // was crate-private; the callers print one fixed text on `Err`
pub fn label_selector(sel: &Value) -> Result<String, ()> {
    if sel.is_null() {
        return Ok(String::new());
    }
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel["matchLabels"].as_object() {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().ok_or(())?)));
        }
    }
    for expr in list_of(sel, "matchExpressions") {
        let key = str_of(expr, "key");
        let mut values = list_of(expr, "values")
            .iter()
            .map(|v| v.as_str().ok_or(()))
            .collect::<Result<Vec<_>, _>>()?;
        values.sort_unstable();
        let text = match (str_of(expr, "operator"), values.is_empty()) {
            ("In", false) => format!("{key} in ({})", values.join(",")),
            ("NotIn", false) => format!("{key} notin ({})", values.join(",")),
            ("Exists", true) => key.to_string(),
            ("DoesNotExist", true) => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), text));
    }
    // Stable sort by key, like the selector's ByKey ordering (ties keep their input order).
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: `app=web,tier in (a,b)`; `<none>` when empty; `<error>` when
/// the selector is invalid.
pub fn selector_string(sel: &Value) -> String {
    match label_selector(sel) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
        Err(()) => "<error>".into(),
    }
}

/// Service CLUSTER-IP: `spec.clusterIPs[0]` (or `spec.clusterIP`), else `<none>`.
pub fn service_cluster_ip(svc: &Value) -> String {
    let spec = &svc["spec"];
    let ip = list_of(spec, "clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_of(spec, "clusterIP"));
    or_none(ip)
}

/// Service TYPE, defaulting to `ClusterIP` as the API does.
pub fn service_type(svc: &Value) -> &str {
    match str_of(&svc["spec"], "type") {
        "" => "ClusterIP",
        t => t,
    }
}

/// `makePortString`: `80/TCP`, `80:30080/TCP`, joined by `,`; `<none>` without ports.
pub fn service_ports(svc: &Value) -> String {
    let ports = list_of(&svc["spec"], "ports")
        .iter()
        .map(|p| {
            let protocol = match str_of(p, "protocol") {
                "" => "TCP",
                proto => proto,
            };
            match int_of(p, "nodePort") {
                n if n > 0 => format!("{}:{n}/{protocol}", int_of(p, "port")),
                _ => format!("{}/{protocol}", int_of(p, "port")),
            }
        })
        .collect::<Vec<_>>();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

/// `loadBalancerStatusStringer` as the server calls it (wide, so never clipped): the distinct
/// ingress IPs, or hostnames where there is no IP, sorted and joined by `,`.
pub fn load_balancer_addresses(load_balancer: &Value) -> String {
    let set: BTreeSet<&str> = list_of(load_balancer, "ingress")
        .iter()
        .filter_map(|i| match (str_of(i, "ip"), str_of(i, "hostname")) {
            ("", "") => None,
            ("", host) => Some(host),
            (ip, _) => Some(ip),
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// Service EXTERNAL-IP (`getServiceExternalIP`): external IPs, the load balancer's addresses,
/// `<pending>` for a load balancer without one, the external name, or `<none>`.
pub fn service_external_ip(svc: &Value) -> String {
    let spec = &svc["spec"];
    let external: Vec<&str> = list_of(spec, "externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match service_type(svc) {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".into(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let lb = load_balancer_addresses(&svc["status"]["loadBalancer"]);
            if !external.is_empty() {
                let mut all: Vec<&str> = lb.split(',').filter(|s| !s.is_empty()).collect();
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".into()
            }
        }
        "ExternalName" => str_of(spec, "externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests;
