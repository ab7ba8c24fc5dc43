use super::*;
use serde_json::json;

/// A Deployment as the sandbox stores it after defaulting.
pub(in crate::api::smp) fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "uid": "d-1", "resourceVersion": "41",
            "generation": 2, "labels": {"app": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "2"},
            "finalizers": ["a", "b"]
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1.1",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "volumeMounts": [{"name": "cfg", "mountPath": "/etc/web"}]},
                        {"name": "log", "image": "fluent-bit:3"}
                    ],
                    "volumes": [{"name": "cfg", "configMap": {"name": "web-config"}}],
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web"}],
                    "restartPolicy": "Always"
                }
            }
        },
        "status": {"observedGeneration": 2, "replicas": 2,
                   "conditions": [{"type": "Available", "status": "True"},
                                  {"type": "Progressing", "status": "True"}]}
    })
}

fn smp(original: &Value, patch: Value) -> Value {
    strategic_merge("Deployment", original, &patch).expect("patch applies")
}

fn smp_err(kind: &str, original: &Value, patch: Value) -> String {
    strategic_merge(kind, original, &patch).expect_err("patch is rejected")
}

pub(in crate::api::smp) fn containers(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]["containers"]
}

pub(in crate::api::smp) fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            v[key]
                .as_str()
                .map_or_else(|| v[key].to_string(), str::to_string)
        })
        .collect()
}

#[test]
fn kubectl_set_image() {
    // `kubectl set image deploy/web web=nginx:1.2` sends exactly this (fieldManager kubectl-set).
    let patch = json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"web"},{"name":"log"}],
        "containers":[{"image":"nginx:1.2","name":"web"}]}}}});
    let out = smp(&deployment(), patch);
    let mut want = deployment();
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.2");
    assert_eq!(out, want);
}

#[test]
fn kubectl_rollout_pause_resume_restart() {
    let paused = smp(&deployment(), json!({"spec":{"paused":true}}));
    assert_eq!(paused["spec"]["paused"], json!(true));
    // resume: `paused` is omitempty, so the two-way patch deletes it (observed from kubectl
    // 1.32.4: `{"spec":{"paused":null}}`).
    let resumed = smp(&paused, json!({"spec":{"paused":null}}));
    assert_eq!(resumed, deployment());
    assert_eq!(
        smp(&paused, json!({"spec":{"paused":false}}))["spec"]["paused"],
        json!(false)
    );

    let restart = json!({"spec":{"template":{"metadata":{"annotations":{
        "kubectl.kubernetes.io/restartedAt":"2024-05-01T12:00:00Z"}}}}});
    let out = smp(&deployment(), restart.clone());
    assert_eq!(
        out["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"},
               "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-01T12:00:00Z"}})
    );
    // A second restart only bumps the timestamp.
    let again = smp(
        &out,
        json!({"spec":{"template":{"metadata":{"annotations":{
            "kubectl.kubernetes.io/restartedAt":"2024-05-01T12:05:00Z"}}}}}),
    );
    assert_eq!(
        again["spec"]["template"]["metadata"]["annotations"],
        json!({"kubectl.kubernetes.io/restartedAt": "2024-05-01T12:05:00Z"})
    );
}

#[test]
fn kubectl_patch_adds_container_first_and_replaces_tolerations() {
    // As in the "update API objects in place" task: without $setElementOrder the new element
    // is placed before the existing ones.
    let out = smp(
        &deployment(),
        json!({"spec":{"template":{"spec":{"containers":[{"name":"redis","image":"redis"}]}}}}),
    );
    assert_eq!(names(containers(&out), "name"), ["redis", "web", "log"]);
    assert_eq!(containers(&out)[1], containers(&deployment())[0]);

    // tolerations carry no patch strategy: the list is replaced.
    let out = smp(
        &deployment(),
        json!({"spec":{"template":{"spec":{"tolerations":[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"effect":"NoSchedule","key":"disktype","value":"ssd"}])
    );
}

#[test]
fn client_side_apply_three_way_patch() {
    // kubectl apply after editing the manifest: replicas 2→3, image bump, env B removed and C
    // added, strategy switched to Recreate (retainKeys clears rollingUpdate).
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}\n"}},
        "spec": {
            "replicas": 3,
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                    "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                    "image": "nginx:1.2",
                    "name": "web"
                }]
            }}
        }
    });
    let out = smp(&deployment(), patch);
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let web = &containers(&out)[0];
    assert_eq!(web["image"], json!("nginx:1.2"));
    assert_eq!(
        web["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(web["ports"], containers(&deployment())[0]["ports"]);
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "2",
               "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}\n"})
    );
    assert_eq!(out["status"], deployment()["status"]);

    // The variant that names rollingUpdate explicitly, and one keeping rollingUpdate.
    let out = smp(
        &deployment(),
        json!({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"}}}),
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let out = smp(
        &deployment(),
        json!({"spec":{"strategy":{"$retainKeys":["rollingUpdate","type"],"rollingUpdate":{"maxSurge":"50%"}}}}),
    );
    assert_eq!(
        out["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "25%"}})
    );
}

/// The body kubectl 1.32.4 sent for `kubectl apply` (client-side) against a stub server, after
/// the manifest changed replicas, strategy, an image and env (captured verbatim).
const CAPTURED_APPLY: &str = r#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"web\"},\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.2\",\"name\":\"web\"},{\"image\":\"fluent-bit:3\",\"name\":\"log\"}]}}}}\n"}},"spec":{"replicas":3,"strategy":{"$retainKeys":["type"],"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"log"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"C"}],"env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],"image":"nginx:1.2","name":"web"}]}}}}"#;

#[test]
fn captured_kubectl_client_side_apply_body() {
    let patch: Value = serde_json::from_str(CAPTURED_APPLY).expect("captured body is JSON");
    let out = smp(&deployment(), patch);
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(names(containers(&out), "name"), ["web", "log"]);
    assert_eq!(containers(&out)[0]["image"], json!("nginx:1.2"));
    assert_eq!(
        containers(&out)[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
    assert!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|s| s.contains("\"replicas\":3"))
    );
}

#[test]
fn client_side_apply_adds_container_in_manifest_order() {
    let patch = json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"web"},{"name":"log"},{"name":"proxy"}],
        "containers":[{"image":"envoy:1.30","name":"proxy"}]}}}});
    let out = smp(&deployment(), patch);
    assert_eq!(names(containers(&out), "name"), ["web", "log", "proxy"]);
    // Reordering only: the directive alone moves the elements.
    let out = smp(
        &deployment(),
        json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"log"},{"name":"web"}]}}}}),
    );
    assert_eq!(names(containers(&out), "name"), ["log", "web"]);
}

#[test]
fn volume_source_switch_with_retain_keys_in_element() {
    let patch = json!({"spec":{"template":{"spec":{
        "$setElementOrder/volumes":[{"name":"cfg"}],
        "volumes":[{"$retainKeys":["name","secret"],"configMap":null,"name":"cfg",
                    "secret":{"secretName":"web-secret"}}]}}}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "cfg", "secret": {"secretName": "web-secret"}}])
    );
}

#[test]
fn patch_directives_in_lists_and_maps() {
    let d = deployment();
    // $patch: replace as a list element replaces the whole list with the other elements.
    let out = smp(
        &d,
        json!({"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox"},{"$patch":"replace"}]}}}}),
    );
    assert_eq!(
        *containers(&out),
        json!([{"name": "only", "image": "busybox"}])
    );
    // $patch: delete removes the element with that key.
    let out = smp(
        &d,
        json!({"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"log"}]}}}}),
    );
    assert_eq!(names(containers(&out), "name"), ["web"]);
    // In a map, replace drops the original's other keys; delete empties it.
    let out = smp(
        &d,
        json!({"spec":{"selector":{"$patch":"replace","matchLabels":{"app":"web2"}}}}),
    );
    assert_eq!(
        out["spec"]["selector"],
        json!({"matchLabels": {"app": "web2"}})
    );
    let out = smp(&d, json!({"metadata":{"labels":{"$patch":"delete"}}}));
    assert_eq!(out["metadata"]["labels"], json!({}));
    // Nested merge lists inside a merged element: ports by containerPort, mounts by mountPath.
    let out = smp(
        &d,
        json!({"spec":{"template":{"spec":{"containers":[{"name":"web",
            "ports":[{"containerPort":443,"protocol":"TCP"}],
            "volumeMounts":[{"mountPath":"/etc/web","readOnly":true}]}]}}}}),
    );
    let web = &containers(&out)[0];
    assert_eq!(names(&web["ports"], "containerPort"), ["443", "80"]);
    assert_eq!(
        web["volumeMounts"],
        json!([{"name": "cfg", "mountPath": "/etc/web", "readOnly": true}])
    );
}

#[test]
fn primitive_merge_lists() {
    let d = deployment();
    let out = smp(&d, json!({"metadata":{"finalizers":["c","a"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let out = smp(
        &d,
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    let out = smp(
        &d,
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"finalizers":["c"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "b"]));
    let out = smp(
        &d,
        json!({"metadata":{"$setElementOrder/finalizers":["b","a","c"],"finalizers":["c"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "a", "c"]));
    // Deleting from a list the object does not have is a no-op.
    let out = smp(
        &json!({"metadata": {}}),
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}),
    );
    assert_eq!(out, json!({"metadata": {}}));
}

#[test]
fn service_ports_merge_by_port_and_conditions_by_type() {
    let svc = json!({"kind": "Service", "spec": {"type": "ClusterIP", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
    let out = strategic_merge(
        "Service",
        &svc,
        &json!({"spec":{"ports":[{"port":80,"targetPort":9090}]}}),
    )
    .expect("patch applies");
    assert_eq!(
        out["spec"]["ports"],
        json!([{"name": "http", "port": 80, "targetPort": 9090, "protocol": "TCP"}])
    );
    let out = strategic_merge(
        "Service",
        &svc,
        &json!({"spec":{"$setElementOrder/ports":[{"port":80},{"port":443}],
                        "ports":[{"name":"https","port":443,"targetPort":8443}]}}),
    )
    .expect("patch applies");
    assert_eq!(names(&out["spec"]["ports"], "port"), ["80", "443"]);
    // Selector maps merge; null removes a label.
    let out = strategic_merge(
        "Service",
        &svc,
        &json!({"spec":{"selector":{"app":null,"version":"green"}}}),
    )
    .expect("patch applies");
    assert_eq!(out["spec"]["selector"], json!({"version": "green"}));

    let pod = json!({"kind": "Pod", "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
        {"type": "PodScheduled", "status": "True"}]}});
    let out = strategic_merge(
        "Pod",
        &pod,
        &json!({"status":{"conditions":[{"type":"Ready","status":"True","reason":null}]}}),
    )
    .expect("patch applies");
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}])
    );
}

#[test]
fn owner_references_merge_by_uid_and_unknown_kinds_replace_lists() {
    let rs = json!({"metadata": {"ownerReferences": [{"uid": "d-1", "kind": "Deployment", "name": "web"}]}});
    let out = strategic_merge(
        "ReplicaSet",
        &rs,
        &json!({"metadata":{"ownerReferences":[{"uid":"d-1","controller":true}]}}),
    )
    .expect("patch applies");
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "d-1", "kind": "Deployment", "name": "web", "controller": true}])
    );
    // A custom resource has no patch metadata: maps merge, lists are replaced.
    let route = json!({"spec": {"hostnames": ["a"], "rules": [{"backendRefs": [{"name": "web", "weight": 90}]}]}});
    let out = strategic_merge(
        "HTTPRoute",
        &route,
        &json!({"spec":{"rules":[{"backendRefs":[{"name":"web","weight":50}]}]}}),
    )
    .expect("patch applies");
    assert_eq!(
        out["spec"],
        json!({"hostnames": ["a"], "rules": [{"backendRefs": [{"name": "web", "weight": 50}]}]})
    );
}

#[test]
fn new_keys_take_effect_without_storing_directives() {
    let out = strategic_merge(
        "Pod",
        &json!({"spec": {}}),
        &json!({"spec":{"containers":[{"name":"a","image":"x","env":[{"name":"E","value":null}]},
                                      {"$patch":"delete","name":"gone"}],
                        "$setElementOrder/containers":[{"name":"a"}]},
                "metadata":{"labels":{"x":null,"y":"1"},"$unknown":1}}),
    )
    .expect("patch applies");
    assert_eq!(
        out,
        json!({"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "E"}]}]},
               "metadata": {"labels": {"y": "1"}}})
    );
    assert_eq!(
        strategic_merge("Pod", &json!({"a": 1}), &Value::Null),
        Ok(json!({"a": 1}))
    );
}

#[test]
fn errors_match_the_api_server() {
    let d = deployment();
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})
        ),
        "map: map[image:x] does not contain declared merge key: name"
    );
    assert_eq!(
        smp_err("Deployment", &d, json!({"spec":{"$patch":"foo"}})),
        "unknown patch type: foo in map: map[$patch:foo]"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"$patch":"merge","replicas":1}})
        ),
        "unknown patch type: merge in map: map[$patch:merge replicas:1]"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"containers":[{"$patch":"merge"}]}}}})
        ),
        errors::MERGE_DIRECTIVE_IN_LIST
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"containers":[{"$patch":"bogus","name":"web"}]}}}})
        ),
        "unknown patch type: bogus in map: map[$patch:bogus name:web]"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"containers":[{"$patch":"delete","image":"x"}]}}}})
        ),
        "map: map[$patch:delete image:x] does not contain declared merge key: name"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"strategy":{"$retainKeys":"type"}}})
        ),
        errors::BAD_RETAIN_KEYS
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{"maxSurge":1}}}})
        ),
        errors::BAD_RETAIN_KEYS
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"$setElementOrder/containers":"web"}}}})
        ),
        "expected a []interface {}, but received a string"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"metadata":{"$deleteFromPrimitiveListfinalizers":["a"]}})
        ),
        errors::BAD_PRIMITIVE_LIST
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &d,
            json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
                "containers":[{"name":"log","image":"x"}]}}}})
        ),
        "The order in patch list:\n[map[image:x name:log]]\n doesn't match $setElementOrder list:\n[map[name:web]]\n"
    );
    assert_eq!(
        smp_err(
            "Deployment",
            &json!({}),
            json!({"metadata":{"finalizers":[["x"]]}})
        ),
        errors::LIST_OF_LISTS
    );
    // Against a list of strings the nested list is first a type mismatch, as upstream.
    assert_eq!(
        smp_err("Deployment", &d, json!({"metadata":{"finalizers":[["x"]]}})),
        "list element types are not identical: [[a b] [[x]]]"
    );
    assert_eq!(
        smp_err("Deployment", &d, json!({"metadata":{"finalizers":[1]}})),
        "list element types are not identical: [[a b] [1]]"
    );
    assert_eq!(
        smp_err("Deployment", &d, json!([{"op": "replace"}])),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
}

#[test]
fn error_status_codes() {
    assert_eq!(status_code(errors::BAD_RETAIN_KEYS), 400);
    assert_eq!(status_code(errors::BAD_SET_ELEMENT_ORDER), 400);
    assert_eq!(status_code(errors::LIST_OF_LISTS), 422);
    assert_eq!(
        status_code("json: cannot unmarshal array into Go value of type map[string]interface {}"),
        400
    );
    assert_eq!(
        status_code("map: map[image:x] does not contain declared merge key: name"),
        500
    );
}
