use super::*;
use serde_json::json;

const NOW: &str = "2024-05-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().expect("valid timestamp")
}

/// A pod as the API returns it, with `status` replaced by the test's.
fn pod(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-7d4b9c8f5-x2x9q", "namespace": "default",
                     "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": spec,
        "status": status,
    })
}

fn web_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx:1.27"}], "restartPolicy": "Always"})
}

fn cond(type_: &str, status: &str) -> Value {
    json!({"type": type_, "status": status, "lastProbeTime": null,
           "lastTransitionTime": "2024-05-01T11:00:00Z"})
}

fn summary(p: &Value) -> (String, String, String) {
    let s = pod_summary(p);
    (s.ready_cell(), s.status.clone(), s.restarts_cell(now()))
}

fn cells(ready: &str, status: &str, restarts: &str) -> (String, String, String) {
    (ready.into(), status.into(), restarts.into())
}

#[test]
fn pending_container_creating() {
    let p = pod(
        web_spec(),
        json!({
            "phase": "Pending",
            "conditions": [cond("PodScheduled", "True"), cond("Ready", "False")],
            "containerStatuses": [{"name": "web", "image": "nginx:1.27", "imageID": "",
                "ready": false, "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}]
        }),
    );
    assert_eq!(summary(&p), cells("0/1", "ContainerCreating", "0"));
    assert_eq!(pod_ready(&p), (0, 1));
}

#[test]
fn pending_unscheduled_shows_phase() {
    let p = pod(
        web_spec(),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
               "reason": "Unschedulable", "message": "0/1 nodes are available"}]}),
    );
    assert_eq!(summary(&p), cells("0/1", "Pending", "0"));
}

#[test]
fn scheduling_gated() {
    let p = pod(
        web_spec(),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
               "reason": "SchedulingGated"}]}),
    );
    assert_eq!(pod_status(&p), "SchedulingGated");
}

#[test]
fn running_ready() {
    let p = pod(
        web_spec(),
        json!({
            "phase": "Running", "podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}],
            "conditions": [cond("Initialized", "True"), cond("Ready", "True"),
                           cond("ContainersReady", "True"), cond("PodScheduled", "True")],
            "containerStatuses": [{"name": "web", "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2024-05-01T11:00:05Z"}}, "lastState": {}}]
        }),
    );
    assert_eq!(summary(&p), cells("1/1", "Running", "0"));
    assert_eq!(pod_ip(&p), "10.244.0.7");
}

#[test]
fn crash_loop_back_off_with_last_state() {
    let p = pod(
        web_spec(),
        json!({
            "phase": "Running",
            "conditions": [cond("Ready", "False")],
            "containerStatuses": [{"name": "web", "ready": false, "started": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": "back-off 1m20s restarting failed container=web"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2024-05-01T11:54:58Z", "finishedAt": "2024-05-01T11:55:00Z"}}}]
        }),
    );
    assert_eq!(summary(&p), cells("0/1", "CrashLoopBackOff", "4 (5m ago)"));
}

#[test]
fn image_pull_errors() {
    for reason in [
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
    ] {
        let p = pod(
            web_spec(),
            json!({"phase": "Pending", "containerStatuses": [{"name": "web", "ready": false,
                "restartCount": 0, "image": "nginx:nope",
                "state": {"waiting": {"reason": reason, "message": "Back-off pulling image \"nginx:nope\""}}}]}),
        );
        assert_eq!(summary(&p), cells("0/1", reason, "0"));
    }
}

#[test]
fn completed_job_pod() {
    let p = pod(
        json!({"containers": [{"name": "migrate", "image": "app:2"}], "restartPolicy": "Never"}),
        json!({"phase": "Succeeded", "conditions": [cond("Ready", "False")],
            "containerStatuses": [{"name": "migrate", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                    "finishedAt": "2024-05-01T11:10:00Z"}}}]}),
    );
    assert_eq!(summary(&p), cells("0/1", "Completed", "0"));
}

#[test]
fn terminated_without_reason_shows_exit_code_or_signal() {
    let term = |t: Value| {
        pod(
            web_spec(),
            json!({"phase": "Failed", "containerStatuses": [{"name": "web", "restartCount": 0,
                "state": {"terminated": t}}]}),
        )
    };
    assert_eq!(pod_status(&term(json!({"exitCode": 137}))), "ExitCode:137");
    assert_eq!(
        pod_status(&term(json!({"exitCode": 137, "signal": 9}))),
        "Signal:9"
    );
    assert_eq!(
        pod_status(&term(json!({"exitCode": 137, "reason": "OOMKilled"}))),
        "OOMKilled"
    );
}

#[test]
fn completed_sidecar_with_running_container_is_running_or_not_ready() {
    let spec = json!({"containers": [{"name": "app"}, {"name": "setup"}]});
    let statuses = json!([
        {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}},
        {"name": "setup", "ready": false, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    ]);
    let ready = pod(
        spec.clone(),
        json!({"phase": "Running", "conditions": [cond("Ready", "True")], "containerStatuses": statuses}),
    );
    assert_eq!(summary(&ready), cells("1/2", "Running", "0"));
    let not_ready = pod(
        spec,
        json!({"phase": "Running", "conditions": [cond("Ready", "False")], "containerStatuses": statuses}),
    );
    assert_eq!(pod_status(&not_ready), "NotReady");
}

#[test]
fn terminating_and_node_lost() {
    let mut p = pod(
        web_spec(),
        json!({"phase": "Running", "containerStatuses": [{"name": "web", "ready": true,
            "restartCount": 0, "state": {"running": {}}}]}),
    );
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:30Z");
    assert_eq!(summary(&p), cells("1/1", "Terminating", "0"));

    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(pod_status(&p), "Unknown");

    // A finished pod being deleted keeps its final status.
    let mut done = pod(
        web_spec(),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "web", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    done["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:30Z");
    assert_eq!(pod_status(&done), "Completed");
}

fn init_spec() -> Value {
    json!({
        "initContainers": [{"name": "wait-db", "image": "busybox"}, {"name": "migrate", "image": "app:2"}],
        "containers": [{"name": "web", "image": "app:2"}]
    })
}

fn init_pod(init_statuses: Value) -> Value {
    pod(
        init_spec(),
        json!({
            "phase": "Pending",
            "conditions": [cond("Initialized", "False"), cond("Ready", "False")],
            "initContainerStatuses": init_statuses,
            "containerStatuses": [{"name": "web", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}}}]
        }),
    )
}

#[test]
fn init_container_progress() {
    let running =
        json!({"name": "wait-db", "ready": false, "restartCount": 0, "state": {"running": {}}});
    let waiting = json!({"name": "migrate", "ready": false, "restartCount": 0,
                         "state": {"waiting": {"reason": "PodInitializing"}}});
    let done = json!({"name": "wait-db", "ready": true, "restartCount": 0,
                      "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let migrating =
        json!({"name": "migrate", "ready": false, "restartCount": 0, "state": {"running": {}}});

    assert_eq!(
        summary(&init_pod(json!([running, waiting]))),
        cells("0/1", "Init:0/2", "0")
    );
    assert_eq!(
        summary(&init_pod(json!([done, migrating]))),
        cells("0/1", "Init:1/2", "0")
    );
}

#[test]
fn init_container_failures() {
    let done = json!({"name": "wait-db", "restartCount": 0,
                      "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let failing = |state: Value, last: Value| {
        init_pod(
            json!([done, {"name": "migrate", "restartCount": 3, "state": state,
                               "lastState": last}]),
        )
    };
    let last = json!({"terminated": {"exitCode": 1, "reason": "Error",
                                     "finishedAt": "2024-05-01T11:58:00Z"}});
    assert_eq!(
        summary(&failing(
            json!({"waiting": {"reason": "CrashLoopBackOff"}}),
            last.clone()
        )),
        cells("0/1", "Init:CrashLoopBackOff", "3 (2m ago)")
    );
    assert_eq!(
        pod_status(&failing(
            json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
            json!({})
        )),
        "Init:Error"
    );
    assert_eq!(
        pod_status(&failing(json!({"terminated": {"exitCode": 2}}), json!({}))),
        "Init:ExitCode:2"
    );
    assert_eq!(
        pod_status(&failing(
            json!({"terminated": {"exitCode": 2, "signal": 15}}),
            json!({})
        )),
        "Init:Signal:15"
    );
}

#[test]
fn init_done_then_pod_initializing_and_restarts_reset() {
    // Both init containers finished; the app container is still being created. Restarts of
    // ordinary init containers stop counting once the pod is initialized.
    let p = pod(
        init_spec(),
        json!({
            "phase": "Pending",
            "conditions": [cond("Initialized", "True"), cond("Ready", "False")],
            "initContainerStatuses": [
                {"name": "wait-db", "restartCount": 2, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:01:00Z"}}},
                {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ],
            "containerStatuses": [{"name": "web", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}}}]
        }),
    );
    assert_eq!(summary(&p), cells("0/1", "PodInitializing", "0"));
}

#[test]
fn sidecars_count_towards_ready_and_restarts() {
    let spec = json!({
        "initContainers": [{"name": "istio-proxy", "image": "proxyv2", "restartPolicy": "Always"},
                           {"name": "migrate", "image": "app:2"}],
        "containers": [{"name": "web", "image": "app:2"}]
    });
    let p = pod(
        spec,
        json!({
            "phase": "Running",
            "conditions": [cond("Initialized", "True"), cond("Ready", "True")],
            "initContainerStatuses": [
                {"name": "istio-proxy", "ready": true, "started": true, "restartCount": 1,
                 "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:30:00Z"}}},
                {"name": "migrate", "ready": true, "restartCount": 5,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:50:00Z"}}}
            ],
            "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2,
                "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 2, "finishedAt": "2024-05-01T11:40:00Z"}}}]
        }),
    );
    // Sidecar restarts (1) + app restarts (2); the latest of their terminations is 20m ago.
    assert_eq!(summary(&p), cells("2/2", "Running", "3 (20m ago)"));
}

#[test]
fn restarts_pick_latest_termination_and_tolerate_garbage() {
    let p = pod(
        json!({"containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 1, "state": {"running": {}},
             "lastState": {"terminated": {"finishedAt": "2024-05-01T09:00:00Z"}}},
            {"name": "b", "ready": true, "restartCount": 1, "state": {"running": {}},
             "lastState": {"terminated": {"finishedAt": "not a time"}}}
        ]}),
    );
    assert_eq!(pod_restarts(&p, now()), "2 (3h ago)");
    // Restarts without a known termination time print the bare count.
    let bare = pod(
        web_spec(),
        json!({"containerStatuses": [{"name": "web", "restartCount": 7}]}),
    );
    assert_eq!(pod_restarts(&bare, now()), "7");
    for junk in [
        json!(null),
        json!([]),
        json!("pod"),
        json!({"spec": 5, "status": {"containerStatuses": "x"}}),
    ] {
        let s = pod_summary(&junk);
        assert_eq!((s.ready, s.total, s.restarts), (0, 0, 0));
    }
}

#[test]
fn readiness_gates_and_ip() {
    let p = json!({
        "spec": {"readinessGates": [{"conditionType": "www.example.com/feature-1"},
                                     {"conditionType": "www.example.com/feature-2"}]},
        "status": {"podIP": "10.0.0.9", "conditions": [
            {"type": "www.example.com/feature-1", "status": "True"},
            {"type": "www.example.com/feature-2", "status": "False"}]}
    });
    assert_eq!(pod_readiness_gates(&p), "1/2");
    assert_eq!(pod_ip(&p), "10.0.0.9");
    assert_eq!(pod_readiness_gates(&json!({})), "<none>");
    assert_eq!(pod_ip(&json!({})), "<none>");
}

#[test]
fn workload_helpers() {
    let d = json!({
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"},
                                                      {"name": "log", "image": "fluent-bit:3"}]}}},
        "status": {"readyReplicas": 2}
    });
    assert_eq!(deployment_ready(&d), "2/3");
    assert_eq!(deployment_ready(&json!({})), "0/1");
    assert_eq!(
        containers_cells(&d["spec"]["template"]["spec"]),
        ("web,log".to_string(), "nginx:1.27,fluent-bit:3".to_string())
    );
    assert_eq!(containers_cells(&json!({})), (String::new(), String::new()));
}

#[test]
fn selectors_render_like_format_label_selector() {
    let sel = json!({
        "matchLabels": {"tier": "front", "app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "canary"]},
            {"key": "track", "operator": "NotIn", "values": ["legacy"]},
            {"key": "team", "operator": "Exists"},
            {"key": "zz", "operator": "DoesNotExist", "values": []}
        ]
    });
    assert_eq!(
        selector_string(&sel),
        "app=web,env in (canary,prod),team,tier=front,track notin (legacy),!zz"
    );
    assert_eq!(selector_string(&json!({})), "<none>");
    assert_eq!(selector_string(&json!(null)), "<none>");
    assert_eq!(
        selector_string(
            &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
        ),
        "<error>"
    );
    assert_eq!(
        selector_string(
            &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})
        ),
        "<error>"
    );
    assert_eq!(labels_string(&json!({"b": "2", "a": "1"})), "a=1,b=2");
    assert_eq!(labels_string(&json!({})), "<none>");
}

#[test]
fn service_cells() {
    let cluster_ip = json!({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12",
        "clusterIPs": ["10.96.0.12"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}});
    assert_eq!(service_type(&cluster_ip), "ClusterIP");
    assert_eq!(service_cluster_ip(&cluster_ip), "10.96.0.12");
    assert_eq!(service_external_ip(&cluster_ip), "<none>");
    assert_eq!(service_ports(&cluster_ip), "80/TCP");

    let node_port = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.13",
        "externalIPs": ["192.0.2.10"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
    assert_eq!(service_ports(&node_port), "80:30080/TCP,53/UDP");
    assert_eq!(service_external_ip(&node_port), "192.0.2.10");

    let mut lb = json!({"spec": {"type": "LoadBalancer", "clusterIP": "None", "ports": []}});
    assert_eq!(service_external_ip(&lb), "<pending>");
    assert_eq!(service_ports(&lb), "<none>");
    lb["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"},
        {"hostname": "lb.example.com"}, {"ip": "203.0.113.9"}]}});
    assert_eq!(service_external_ip(&lb), "203.0.113.9,lb.example.com");
    lb["spec"]["externalIPs"] = json!(["192.0.2.1"]);
    assert_eq!(
        service_external_ip(&lb),
        "203.0.113.9,lb.example.com,192.0.2.1"
    );

    let external = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(service_external_ip(&external), "db.example.com");
    assert_eq!(service_cluster_ip(&external), "<none>");
    assert_eq!(
        service_external_ip(&json!({"spec": {"type": "Weird"}})),
        "<unknown>"
    );
}
