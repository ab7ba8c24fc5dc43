//! Server-side printing: the Table columns and cells the real API server computes for each
//! kind (`pkg/printers/internalversion/printers.go`), which kubectl prints verbatim.
//!
//! The real server always prints with `GenerateOptions{Wide: true}` (its `TableConvertor`) and
//! lets kubectl hide priority-1 columns, so every row carries the `-o wide` cells too. Cells
//! are JSON as upstream emits them: Go `int64` cells are numbers (even where the column says
//! `string`, as Deployment's Up-to-date does), everything else strings. Custom resources follow
//! the apiextensions server: their CRD's `additionalPrinterColumns`, `null` for a missing value.

use jiff::Timestamp;
use serde_json::Value;
use shipdeck_shared::kubectl::{self as k, int_of, list_of, or_none, since, str_of, time_of};

use crate::resources::ResId;

mod columns;

/// One `columnDefinitions` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0 = always shown; 1 = only with `-o wide`.
    pub priority: i32,
}

fn definitions(res: ResId) -> &'static [Column] {
    match res.get().kind {
        "Pod" => columns::POD,
        "Deployment" => columns::DEPLOYMENT,
        "ReplicaSet" => columns::REPLICA_SET,
        "Job" => columns::JOB,
        "Service" => columns::SERVICE,
        "Ingress" => columns::INGRESS,
        "Endpoints" => columns::ENDPOINTS,
        "EndpointSlice" => columns::ENDPOINT_SLICE,
        "Node" => columns::NODE,
        "Event" => columns::EVENT,
        "Namespace" => columns::NAMESPACE,
        "Secret" => columns::SECRET,
        "ConfigMap" => columns::CONFIG_MAP,
        "ServiceAccount" => columns::SERVICE_ACCOUNT,
        "HTTPRoute" => columns::HTTP_ROUTE,
        "VirtualService" => columns::VIRTUAL_SERVICE,
        "TrafficSplit" => columns::TRAFFIC_SPLIT,
        "Rollout" => columns::ROLLOUT,
        _ => columns::CUSTOM_DEFAULT,
    }
}

/// Columns for a kind, wide-only ones included (priority 1). Name comes first for every kind
/// but Event, whose upstream printer leads with Last Seen and puts Name last (wide-only).
pub fn columns(res: ResId) -> Vec<Column> {
    definitions(res).to_vec()
}

/// One row's cells for `obj`, matching [`columns`] one to one.
pub fn cells(res: ResId, obj: &Value, now: Timestamp) -> Vec<Value> {
    let meta = &obj["metadata"];
    let name = || Value::from(str_of(meta, "name"));
    let age = || Value::from(age(obj, now));
    let spec = &obj["spec"];
    let status = &obj["status"];
    match res.get().kind {
        "Pod" => {
            let s = k::pod_summary(obj);
            vec![
                name(),
                s.ready_cell().into(),
                s.status.as_str().into(),
                s.restarts_cell(now).into(),
                age(),
                k::pod_ip(obj).into(),
                or_none(str_of(spec, "nodeName")).into(),
                or_none(str_of(status, "nominatedNodeName")).into(),
                k::pod_readiness_gates(obj).into(),
            ]
        }
        "Deployment" => {
            let (containers, images) = k::containers_cells(&spec["template"]["spec"]);
            let selector =
                k::label_selector(&spec["selector"]).unwrap_or_else(|()| "<invalid>".into());
            vec![
                name(),
                k::deployment_ready(obj).into(),
                int_of(status, "updatedReplicas").into(),
                int_of(status, "availableReplicas").into(),
                age(),
                containers.into(),
                images.into(),
                selector.into(),
            ]
        }
        "ReplicaSet" => {
            let (containers, images) = k::containers_cells(&spec["template"]["spec"]);
            vec![
                name(),
                spec["replicas"].as_i64().unwrap_or(1).into(),
                int_of(status, "replicas").into(),
                int_of(status, "readyReplicas").into(),
                age(),
                containers.into(),
                images.into(),
                k::selector_string(&spec["selector"]).into(),
            ]
        }
        "Job" => {
            let (containers, images) = k::containers_cells(&spec["template"]["spec"]);
            vec![
                name(),
                job_status(obj).into(),
                job_completions(obj).into(),
                job_duration(obj, now).into(),
                age(),
                containers.into(),
                images.into(),
                k::selector_string(&spec["selector"]).into(),
            ]
        }
        "Service" => vec![
            name(),
            k::service_type(obj).into(),
            k::service_cluster_ip(obj).into(),
            k::service_external_ip(obj).into(),
            k::service_ports(obj).into(),
            age(),
            k::labels_string(&spec["selector"]).into(),
        ],
        "Ingress" => vec![
            name(),
            or_none(str_of(spec, "ingressClassName")).into(),
            ingress_hosts(spec).into(),
            k::load_balancer_addresses(&status["loadBalancer"]).into(),
            if list_of(spec, "tls").is_empty() {
                "80"
            } else {
                "80, 443"
            }
            .into(),
            age(),
        ],
        "Endpoints" => vec![name(), endpoints_cell(obj).into(), age()],
        "EndpointSlice" => vec![
            name(),
            str_of(obj, "addressType").into(),
            slice_ports(obj).into(),
            slice_endpoints(obj).into(),
            age(),
        ],
        "Node" => node_cells(obj, name(), age()),
        "Event" => event_cells(obj, now),
        "Namespace" => vec![name(), str_of(status, "phase").into(), age()],
        "Secret" => vec![
            name(),
            str_of(obj, "type").into(),
            map_len(&obj["data"]).into(),
            age(),
        ],
        "ConfigMap" => vec![
            name(),
            (map_len(&obj["data"]) + map_len(&obj["binaryData"])).into(),
            age(),
        ],
        "ServiceAccount" => vec![
            name(),
            obj["secrets"].as_array().map_or(0, Vec::len).into(),
            age(),
        ],
        "HTTPRoute" => vec![
            name(),
            crd_cell("string", &spec["hostnames"], now),
            crd_cell("date", &meta["creationTimestamp"], now),
        ],
        "VirtualService" => vec![
            name(),
            crd_cell("string", &spec["gateways"], now),
            crd_cell("string", &spec["hosts"], now),
            crd_cell("date", &meta["creationTimestamp"], now),
        ],
        "TrafficSplit" => vec![name(), crd_cell("string", &spec["service"], now)],
        "Rollout" => vec![
            name(),
            crd_cell("integer", &spec["replicas"], now),
            crd_cell("integer", &status["replicas"], now),
            crd_cell("integer", &status["updatedReplicas"], now),
            crd_cell("integer", &status["availableReplicas"], now),
            crd_cell("date", &meta["creationTimestamp"], now),
        ],
        _ => vec![name(), crd_cell("date", &meta["creationTimestamp"], now)],
    }
}

/// The row's `conditions`: upstream marks finished pods `Completed` (the only kind it flags).
pub fn row_conditions(res: ResId, obj: &Value) -> Vec<Value> {
    if res.get().kind != "Pod" {
        return Vec::new();
    }
    let (reason, message) = match str_of(&obj["status"], "phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return Vec::new(),
    };
    vec![
        serde_json::json!({"type": "Completed", "status": "True", "reason": reason, "message": message}),
    ]
}

/// `metadata.creationTimestamp` as kubectl's short human duration, or `<unknown>`.
pub fn age(obj: &Value, now: Timestamp) -> String {
    since(time_of(&obj["metadata"]["creationTimestamp"]), now)
}

fn map_len(v: &Value) -> i64 {
    v.as_object().map_or(0, |m| m.len() as i64)
}

/// A custom resource cell as the apiextensions table convertor renders a JSONPath result:
/// `string` columns print scalars as text and lists/maps as compact JSON; `integer`, `number`
/// and `boolean` keep their JSON type; `date` becomes a human duration. Missing → `null`.
fn crd_cell(type_: &str, v: &Value, now: Timestamp) -> Value {
    match (type_, v) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(s)) => Value::String(s.clone()),
        ("string", other) => Value::String(other.to_string()),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(_)) | ("boolean", Value::Bool(_)) => v.clone(),
        ("date", Value::String(s)) if s.is_empty() => "<unknown>".into(),
        ("date", Value::String(s)) => match s.parse::<Timestamp>() {
            Ok(t) => since(Some(t), now).into(),
            Err(_) => "<invalid>".into(),
        },
        _ => Value::Null,
    }
}

fn has_job_condition(job: &Value, type_: &str) -> bool {
    list_of(&job["status"], "conditions")
        .iter()
        .find(|c| str_of(c, "type") == type_)
        .is_some_and(|c| str_of(c, "status") == "True")
}

fn job_status(job: &Value) -> &'static str {
    if has_job_condition(job, "Complete") {
        "Complete"
    } else if has_job_condition(job, "Failed") {
        "Failed"
    } else if !job["metadata"]["deletionTimestamp"].is_null() {
        "Terminating"
    } else if has_job_condition(job, "Suspended") {
        "Suspended"
    } else if has_job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn job_completions(job: &Value) -> String {
    let succeeded = int_of(&job["status"], "succeeded");
    let spec = &job["spec"];
    match spec["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match spec["parallelism"].as_i64().unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

fn job_duration(job: &Value, now: Timestamp) -> String {
    let status = &job["status"];
    match (
        time_of(&status["startTime"]),
        time_of(&status["completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => since(Some(start), now),
        (Some(start), Some(end)) => {
            shipdeck_shared::format::human_duration(end.duration_since(start))
        }
    }
}

/// `formatHosts`: up to three rule hosts, `*` when none are set.
fn ingress_hosts(spec: &Value) -> String {
    const MAX: usize = 3;
    let rules = list_of(spec, "rules");
    let mut list = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_of(rule, "host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".into();
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - MAX)
    } else {
        joined
    }
}

/// Collects up to three items, counting the rest (`listWithMoreString`'s bookkeeping).
struct Capped {
    list: Vec<String>,
    count: usize,
}

impl Capped {
    const MAX: usize = 3;

    fn new() -> Self {
        Capped {
            list: Vec::new(),
            count: 0,
        }
    }

    fn push(&mut self, item: impl FnOnce() -> String) {
        if self.list.len() < Self::MAX {
            self.list.push(item());
        }
        self.count += 1;
    }

    fn finish(self, empty: &str) -> String {
        let joined = self.list.join(",");
        if self.count > Self::MAX {
            format!("{joined} + {} more...", self.count - Self::MAX)
        } else if joined.is_empty() {
            empty.to_string()
        } else {
            joined
        }
    }
}

/// `net.JoinHostPort`: IPv6 addresses get brackets.
fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// `formatEndpoints(endpoints, nil)`: ready `ip:port` pairs, three at most, `<none>` without
/// subsets.
fn endpoints_cell(obj: &Value) -> String {
    let subsets = list_of(obj, "subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    let mut out = Capped::new();
    for ss in subsets {
        let addresses = list_of(ss, "addresses");
        let ports = list_of(ss, "ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            for a in addresses {
                out.push(|| str_of(a, "ip").to_string());
            }
            continue;
        }
        for p in ports {
            for a in addresses {
                out.push(|| host_port(str_of(a, "ip"), int_of(p, "port")));
            }
        }
    }
    // formatEndpoints has no `<unset>` fallback: empty subsets print as an empty cell.
    out.finish("")
}

/// `formatDiscoveryPorts`: port numbers (or names, or `*`), three at most, `<unset>` if none.
fn slice_ports(obj: &Value) -> String {
    let mut out = Capped::new();
    for p in list_of(obj, "ports") {
        out.push(|| match (p["port"].as_i64(), p["name"].as_str()) {
            (Some(port), _) => port.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "*".into(),
        });
    }
    out.finish("<unset>")
}

/// `formatDiscoveryEndpoints`: endpoint addresses, three at most, `<unset>` if none.
fn slice_endpoints(obj: &Value) -> String {
    let mut out = Capped::new();
    for e in list_of(obj, "endpoints") {
        for a in list_of(e, "addresses") {
            out.push(|| a.as_str().unwrap_or("").to_string());
        }
    }
    out.finish("<unset>")
}

fn node_cells(node: &Value, name: Value, age: Value) -> Vec<Value> {
    let status = &node["status"];
    let mut state: Vec<String> = list_of(status, "conditions")
        .iter()
        .rfind(|c| str_of(c, "type") == "Ready")
        .map(|c| match str_of(c, "status") {
            "True" => "Ready".to_string(),
            _ => "NotReady".to_string(),
        })
        .into_iter()
        .collect();
    if state.is_empty() {
        state.push("Unknown".into());
    }
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        state.push("SchedulingDisabled".into());
    }
    let mut roles = std::collections::BTreeSet::new();
    if let Some(labels) = node["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            match key.strip_prefix("node-role.kubernetes.io/") {
                Some(role) if !role.is_empty() => {
                    roles.insert(role.to_string());
                }
                Some(_) => {}
                None if key == "kubernetes.io/role" => {
                    if let Some(v) = value.as_str().filter(|v| !v.is_empty()) {
                        roles.insert(v.to_string());
                    }
                }
                None => {}
            }
        }
    }
    let address = |type_: &str| {
        or_none(
            list_of(status, "addresses")
                .iter()
                .find(|a| str_of(a, "type") == type_)
                .map_or("", |a| str_of(a, "address")),
        )
    };
    let info = &status["nodeInfo"];
    let unknown = |key: &str| match str_of(info, key) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        name,
        state.join(",").into(),
        or_none(&roles.into_iter().collect::<Vec<_>>().join(",")).into(),
        age,
        str_of(info, "kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        unknown("osImage").into(),
        unknown("kernelVersion").into(),
        unknown("containerRuntimeVersion").into(),
    ]
}

/// `printEvent` with wide output, as the server always prints.
fn event_cells(ev: &Value, now: Timestamp) -> Vec<Value> {
    let first_time = time_of(&ev["firstTimestamp"]).or_else(|| time_of(&ev["eventTime"]));
    let first = since(first_time, now);
    let mut last = match time_of(&ev["lastTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_of(ev, "count");
    let series = &ev["series"];
    if series.is_object() {
        last = since(time_of(&series["lastObservedTime"]), now);
        count = int_of(series, "count");
    } else if count == 0 {
        // Singleton events of the events.k8s.io API have no count.
        count = 1;
    }
    let involved = &ev["involvedObject"];
    let kind = str_of(involved, "kind").to_lowercase();
    let target = match str_of(involved, "name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let first_non_empty = |a: &'static str, b: &'static str| match str_of(&ev["source"], a) {
        "" => str_of(ev, b),
        v => v,
    };
    let component = first_non_empty("component", "reportingComponent");
    let source = match first_non_empty("host", "reportingInstance") {
        "" => component.to_string(),
        instance => format!("{component}, {instance}"),
    };
    vec![
        last.into(),
        str_of(ev, "type").into(),
        str_of(ev, "reason").into(),
        target.into(),
        str_of(involved, "fieldPath").into(),
        source.into(),
        str_of(ev, "message").trim().into(),
        first.into(),
        count.into(),
        str_of(&ev["metadata"], "name").into(),
    ]
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_other_kinds;
