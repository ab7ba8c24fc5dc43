//! Table rows of the workload kinds, and what every kind shares.

use super::*;
use crate::resources::{all, kinds};
use serde_json::json;

pub(super) fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("valid timestamp")
}

pub(super) fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "uid": "u-1", "resourceVersion": "42",
           "creationTimestamp": "2024-05-01T11:55:00Z"})
}

pub(super) fn names(res: ResId) -> Vec<&'static str> {
    columns(res).iter().map(|c| c.name).collect()
}

pub(super) fn wide(res: ResId) -> Vec<&'static str> {
    columns(res)
        .iter()
        .filter(|c| c.priority == 1)
        .map(|c| c.name)
        .collect()
}

#[test]
fn every_kind_has_as_many_cells_as_columns_even_for_junk() {
    for res in all() {
        let cols = columns(res);
        assert!(!cols.is_empty(), "{}", res.get().kind);
        for obj in [
            json!({}),
            json!(null),
            json!([1, 2]),
            json!({"metadata": 3, "spec": "x"}),
        ] {
            assert_eq!(
                cells(res, &obj, now()).len(),
                cols.len(),
                "{}",
                res.get().kind
            );
        }
        for c in &cols {
            assert!(c.priority == 0 || c.priority == 1);
            assert!(!c.description.is_empty(), "{} {}", res.get().kind, c.name);
            assert!(matches!(c.type_, "string" | "integer" | "date"));
        }
        // Name leads everywhere except Event, whose printer leads with Last Seen.
        if res.get().kind != "Event" {
            assert_eq!(cols[0].name, "Name");
            assert_eq!(cols[0].format, "name");
        }
    }
}

#[test]
fn pod_row() {
    assert_eq!(
        names(*kinds::PODS),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(
        wide(*kinds::PODS),
        ["IP", "Node", "Nominated Node", "Readiness Gates"]
    );
    let pod = json!({
        "metadata": meta("web-7d4b9c8f5-x2x9q"),
        "spec": {"nodeName": "sandbox-node-1", "containers": [{"name": "web", "image": "nginx:1.27"}]},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.244.0.7"}],
            "containerStatuses": [{"name": "web", "ready": false, "restartCount": 2,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:59:15Z"}}}]}
    });
    assert_eq!(
        cells(*kinds::PODS, &pod, now()),
        [
            json!("web-7d4b9c8f5-x2x9q"),
            json!("0/1"),
            json!("CrashLoopBackOff"),
            json!("2 (45s ago)"),
            json!("5m"),
            json!("10.244.0.7"),
            json!("sandbox-node-1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

fn deployment() -> Value {
    json!({
        "metadata": meta("web"),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        "status": {"replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}
    })
}

#[test]
fn deployment_row() {
    assert_eq!(
        names(*kinds::DEPLOYMENTS),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(
        wide(*kinds::DEPLOYMENTS),
        ["Containers", "Images", "Selector"]
    );
    assert_eq!(
        cells(*kinds::DEPLOYMENTS, &deployment(), now()),
        [
            json!("web"),
            json!("3/3"),
            json!(2),
            json!(3),
            json!("5m"),
            json!("web"),
            json!("nginx:1.27"),
            json!("app=web")
        ]
    );
    let mut bad = deployment();
    bad["spec"]["selector"] = json!({"matchExpressions": [{"key": "a", "operator": "Nope"}]});
    assert_eq!(
        cells(*kinds::DEPLOYMENTS, &bad, now())[7],
        json!("<invalid>")
    );
    bad["spec"]["selector"] = json!({});
    assert_eq!(cells(*kinds::DEPLOYMENTS, &bad, now())[7], json!(""));
}

#[test]
fn replicaset_row() {
    assert_eq!(
        names(*kinds::REPLICASETS),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let desired = columns(*kinds::REPLICASETS)[1];
    assert_eq!(desired.type_, "integer");
    let rs = json!({
        "metadata": meta("web-7d4b9c8f5"),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c8f5"}},
                 "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"},
                                                      {"name": "log", "image": "fluent-bit:3"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}
    });
    assert_eq!(
        cells(*kinds::REPLICASETS, &rs, now()),
        [
            json!("web-7d4b9c8f5"),
            json!(2),
            json!(2),
            json!(1),
            json!("5m"),
            json!("web,log"),
            json!("nginx:1.27,fluent-bit:3"),
            json!("app=web,pod-template-hash=7d4b9c8f5")
        ]
    );
}

#[test]
fn finished_pods_carry_a_completed_row_condition() {
    let done = json!({"status": {"phase": "Succeeded"}});
    assert_eq!(
        row_conditions(*kinds::PODS, &done),
        [
            json!({"type": "Completed", "status": "True", "reason": "Succeeded",
                "message": "The pod has completed successfully."})
        ]
    );
    assert_eq!(
        row_conditions(*kinds::PODS, &json!({"status": {"phase": "Failed"}}))[0]["message"],
        json!("The pod failed.")
    );
    assert!(row_conditions(*kinds::PODS, &json!({"status": {"phase": "Running"}})).is_empty());
    assert!(row_conditions(*kinds::JOBS, &done).is_empty());
}

#[test]
fn five_thousand_pods_are_cheap() {
    let pods: Vec<Value> = (0..5000)
        .map(|i| {
            json!({
                "metadata": {"name": format!("web-{i}"), "creationTimestamp": "2024-05-01T10:00:00Z"},
                "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "nginx"}]},
                "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}],
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "web", "ready": true, "restartCount": 1,
                        "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}},
                        "lastState": {"terminated": {"finishedAt": "2024-05-01T10:30:00Z"}}}]}
            })
        })
        .collect();
    let start = std::time::Instant::now();
    let cols = columns(*kinds::PODS);
    let rows: usize = pods
        .iter()
        .map(|p| cells(*kinds::PODS, p, now()).len())
        .sum();
    let took = start.elapsed();
    assert_eq!(rows, cols.len() * 5000);
    // Debug builds on a shared 2-core machine; release is an order of magnitude faster.
    assert!(took.as_millis() < 1000, "{took:?}");
}
