//! Typed k8s-openapi objects of the demo world, written in their JSON form (which reads like a
//! manifest): Deployments with their ReplicaSets and pods, Services, an HTTPRoute, Helm release
//! Secrets and Events.

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod, Secret, Service};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use shipdeck::cluster::{KubeObject, ObjectKind};

use super::ago;

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture object deserializes")
}

/// A deterministic fake digest of some text.
pub fn digest(seed: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in seed.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    format!(
        "sha256:{h:016x}{:016x}{h:016x}{:016x}",
        h.rotate_left(17),
        h.rotate_left(31)
    )
}

fn image(env: &str, repo: &str, tag: &str) -> String {
    let registry = if env == "prod" { "prod" } else { "dev" };
    format!("127.0.0.1:5000/{registry}/{repo}:{tag}")
}

/// What one revision of a Deployment looks like in the cluster.
pub struct Rev {
    pub revision: i64,
    pub tag: &'static str,
    pub cause: &'static str,
    pub age: i64,
    pub replicas: i32,
    pub ready: i32,
    /// Container waiting reason for the pods that are not ready.
    pub waiting: Option<&'static str>,
    pub restarts: i32,
}

pub fn rev(
    revision: i64,
    tag: &'static str,
    cause: &'static str,
    age: i64,
    replicas: i32,
    ready: i32,
) -> Rev {
    Rev {
        revision,
        tag,
        cause,
        age,
        replicas,
        ready,
        waiting: None,
        restarts: 0,
    }
}

pub struct Deploy {
    pub name: String,
    pub repo: &'static str,
    pub desired: i32,
    pub revs: Vec<Rev>,
    pub labels: Value,
    pub annotations: Value,
    pub paused: bool,
    pub deadline_exceeded: bool,
}

pub fn deploy(name: &str, repo: &'static str, desired: i32, revs: Vec<Rev>) -> Deploy {
    Deploy {
        name: name.into(),
        repo,
        desired,
        revs,
        labels: json!({ "app": name }),
        annotations: json!({}),
        paused: false,
        deadline_exceeded: false,
    }
}

const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
const SUFFIXES: [&str; 8] = [
    "x2k4p", "9fj2m", "b7q8w", "lm3zt", "c4v9r", "p0d8s", "t5n1h", "w6e2y",
];

/// The Deployment, its ReplicaSets and their pods.
pub fn objects(env: &str, d: &Deploy) -> Vec<KubeObject> {
    let uid = format!("uid-{env}-{}", d.name);
    let current = d.revs.iter().map(|r| r.revision).max().unwrap_or(1);
    let cur = d
        .revs
        .iter()
        .find(|r| r.revision == current)
        .expect("current revision");
    let updated = cur.replicas;
    let ready: i32 = d.revs.iter().map(|r| r.ready).sum();
    let total: i32 = d.revs.iter().map(|r| r.replicas).sum();
    let complete = updated == d.desired && cur.ready == d.desired && total == d.desired;
    let progressing = if d.deadline_exceeded {
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
               "message": format!("ReplicaSet \"{}-{current}\" has timed out progressing.", d.name)})
    } else if complete {
        json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
               "message": format!("ReplicaSet \"{}-{current}\" has successfully progressed.", d.name)})
    } else {
        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
               "message": format!("ReplicaSet \"{}-{current}\" is progressing.", d.name)})
    };
    let mut annotations = d.annotations.clone();
    annotations["deployment.kubernetes.io/revision"] = json!(current.to_string());
    let template = |tag: &str| {
        json!({
            "metadata": { "labels": d.labels },
            "spec": { "containers": [{ "name": d.repo, "image": image(env, d.repo, tag) }] }
        })
    };
    let deployment: Deployment = from_json(json!({
        "metadata": { "name": d.name, "namespace": "shop", "uid": uid, "generation": 3,
                      "labels": d.labels, "annotations": annotations,
                      "creationTimestamp": ago(86400 * 30) },
        "spec": { "replicas": d.desired, "paused": d.paused,
                  "selector": { "matchLabels": { "app": d.name } }, "template": template(cur.tag) },
        "status": { "observedGeneration": 3, "replicas": total, "updatedReplicas": updated,
                    "readyReplicas": ready, "availableReplicas": ready,
                    "conditions": [progressing] }
    }));
    let mut out = vec![KubeObject::Deployment(Arc::new(deployment))];
    for r in &d.revs {
        let rs_name = format!("{}-{}", d.name, r.revision);
        let rs_uid = format!("uid-{env}-{rs_name}");
        let rs: ReplicaSet = from_json(json!({
            "metadata": { "name": rs_name, "namespace": "shop", "uid": rs_uid,
                          "creationTimestamp": ago(r.age),
                          "annotations": { "deployment.kubernetes.io/revision": r.revision.to_string(),
                                           "kubernetes.io/change-cause": r.cause },
                          "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": d.name, "uid": uid, "controller": true }] },
            "spec": { "replicas": r.replicas, "template": template(r.tag) },
            "status": { "replicas": r.replicas, "readyReplicas": r.ready, "availableReplicas": r.ready }
        }));
        out.push(KubeObject::ReplicaSet(Arc::new(rs)));
        for i in 0..r.replicas as usize {
            let ok = (i as i32) < r.ready;
            // Past the eighth pod the suffixes repeat with a number, so names stay unique.
            let suffix = match i / SUFFIXES.len() {
                0 => SUFFIXES[i].to_string(),
                round => format!("{}{round}", SUFFIXES[i % SUFFIXES.len()]),
            };
            let pod_name = format!("{rs_name}-{suffix}");
            let img = image(env, d.repo, r.tag);
            let state = if ok {
                json!({ "running": { "startedAt": ago(r.age - 30) } })
            } else {
                match r.waiting {
                    Some(reason) => json!({ "waiting": { "reason": reason,
                        "message": if reason == "CrashLoopBackOff" {
                            format!("back-off 5m0s restarting failed container={} pod={pod_name}", d.repo)
                        } else { format!("Back-off pulling image \"{img}\"") } } }),
                    None => json!({ "waiting": { "reason": "ContainerCreating" } }),
                }
            };
            let last_state = if !ok && r.restarts > 0 {
                json!({ "terminated": { "exitCode": 1, "reason": "Error", "finishedAt": ago(95) } })
            } else {
                json!({})
            };
            let phase = if ok || r.waiting == Some("CrashLoopBackOff") {
                "Running"
            } else {
                "Pending"
            };
            let pod: Pod = from_json(json!({
                "metadata": { "name": pod_name, "namespace": "shop", "uid": format!("uid-{env}-{pod_name}"),
                              "creationTimestamp": ago(r.age),
                              "labels": d.labels,
                              "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                    "name": rs_name, "uid": rs_uid, "controller": true }] },
                "spec": { "nodeName": NODES[i % NODES.len()],
                          "containers": [{ "name": d.repo, "image": img }] },
                "status": { "phase": phase,
                            "conditions": [{ "type": "Ready", "status": if ok { "True" } else { "False" } }],
                            "containerStatuses": [{ "name": d.repo, "image": img,
                                "imageID": if ok { format!("127.0.0.1:5000/{}@{}", d.repo, digest(r.tag)) } else { String::new() },
                                "ready": ok, "restartCount": if ok { 0 } else { r.restarts },
                                "state": state, "lastState": last_state }] }
            }));
            out.push(KubeObject::Pod(Arc::new(pod)));
        }
    }
    out
}

fn service(name: &str, selector: Value) -> KubeObject {
    KubeObject::Service(Arc::new(from_json::<Service>(json!({
        "metadata": { "name": name, "namespace": "shop" },
        "spec": { "selector": selector, "ports": [{ "port": 80 }] }
    }))))
}

fn http_route(stable: i64, canary: i64) -> KubeObject {
    let route: DynamicObject = from_json(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": { "name": "orders", "namespace": "shop" },
        "spec": { "parentRefs": [{ "name": "shop-gateway" }],
                  "rules": [{ "backendRefs": [
                      { "name": "orders", "port": 80, "weight": stable },
                      { "name": "orders-canary", "port": 80, "weight": canary } ] }] }
    }));
    KubeObject::Route(ObjectKind::HttpRoute, Arc::new(route))
}

fn helm_secret(
    revision: i64,
    status: &str,
    app_version: &str,
    description: &str,
    age: i64,
) -> KubeObject {
    let release = json!({
        "name": "catalog", "namespace": "shop", "version": revision,
        "info": { "status": status, "description": description, "last_deployed": ago(age) },
        "chart": { "metadata": { "name": "catalog", "version": format!("0.{revision}.0"), "appVersion": app_version } }
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(release.to_string().as_bytes()).expect("gzip");
    let helm_encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
    // The Secret's own base64 on the wire.
    let wire = base64::engine::general_purpose::STANDARD.encode(helm_encoded);
    let secret: Secret = from_json(json!({
        "metadata": { "name": format!("sh.helm.release.v1.catalog.v{revision}"), "namespace": "shop",
                      "labels": { "owner": "helm", "name": "catalog", "status": status, "version": revision.to_string() } },
        "type": "helm.sh/release.v1",
        "data": { "release": wire }
    }));
    KubeObject::HelmRelease(Arc::new(secret))
}

fn event(
    name: &str,
    kind: &str,
    object: &str,
    type_: &str,
    reason: &str,
    message: &str,
    age: i64,
) -> KubeObject {
    KubeObject::Event(Arc::new(from_json::<Event>(json!({
        "metadata": { "name": name, "namespace": "shop" },
        "involvedObject": { "kind": kind, "name": object, "namespace": "shop" },
        "type": type_, "reason": reason, "message": message, "count": 1,
        "lastTimestamp": ago(age)
    }))))
}

/// Every object of one environment.
pub fn env_objects(env: &str) -> Vec<KubeObject> {
    let prod = env == "prod";
    let staging = env == "staging";
    let mut out = Vec::new();
    // orders: canary via HTTPRoute; prod sends 25% to v1.5.0.
    let mut stable = deploy(
        "orders",
        "orders",
        4,
        vec![
            rev(6, "v1.4.2", "deploy v1.4.2", 86400 * 3, 4, 4),
            rev(5, "v1.4.1", "deploy v1.4.1", 86400 * 9, 0, 0),
        ],
    );
    stable.labels = json!({ "app": "orders", "track": "stable" });
    out.extend(objects(env, &stable));
    let canary_replicas = if prod { 1 } else { 0 };
    out.extend(objects(
        env,
        &deploy(
            "orders-canary",
            "orders",
            canary_replicas,
            vec![rev(
                3,
                "v1.5.0",
                "canary v1.5.0",
                7200,
                canary_replicas,
                canary_replicas,
            )],
        ),
    ));
    out.push(http_route(
        if prod { 75 } else { 100 },
        if prod { 25 } else { 0 },
    ));
    out.push(service("orders", json!({ "app": "orders" })));
    out.push(service("orders-canary", json!({ "app": "orders-canary" })));
    // payments: blue-green, blue active in prod, green elsewhere.
    out.extend(objects(
        env,
        &deploy(
            "payments-blue",
            "payments",
            3,
            vec![rev(2, "v2.3.0", "blue v2.3.0", 86400 * 12, 3, 3)],
        ),
    ));
    out.extend(objects(
        env,
        &deploy(
            "payments-green",
            "payments",
            3,
            vec![rev(4, "v2.4.0", "green v2.4.0", 86400, 3, 3)],
        ),
    ));
    out.push(service(
        "payments",
        json!({ "app": "payments", "version": if prod { "blue" } else { "green" } }),
    ));
    // catalog: Helm-managed.
    let mut catalog = deploy(
        "catalog",
        "catalog",
        2,
        vec![
            rev(3, "v0.8.0", "<none>", 86400 * 2, 2, 2),
            rev(2, "v0.7.5", "<none>", 86400 * 6, 0, 0),
        ],
    );
    catalog.labels = json!({ "app": "catalog", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "catalog" });
    catalog.annotations = json!({ "meta.helm.sh/release-name": "catalog" });
    out.extend(objects(env, &catalog));
    out.push(helm_secret(
        1,
        "superseded",
        "0.7.0",
        "Install complete",
        86400 * 20,
    ));
    out.push(helm_secret(
        2,
        "superseded",
        "0.7.5",
        "Upgrade complete",
        86400 * 6,
    ));
    out.push(helm_secret(
        3,
        "deployed",
        "0.8.0",
        "Upgrade complete",
        86400 * 2,
    ));
    // checkout: v3.1.0 crash-loops in prod; the old revision keeps serving.
    if prod {
        let mut checkout = deploy(
            "checkout",
            "checkout",
            3,
            vec![
                Rev {
                    waiting: Some("CrashLoopBackOff"),
                    restarts: 6,
                    ..rev(5, "v3.1.0", "deploy v3.1.0", 900, 1, 0)
                },
                rev(4, "v3.0.2", "deploy v3.0.2", 86400 * 4, 3, 3),
                rev(3, "v3.0.1", "deploy v3.0.1", 86400 * 11, 0, 0),
            ],
        );
        checkout.deadline_exceeded = true;
        out.extend(objects(env, &checkout));
        out.push(event(
            "checkout-5.1",
            "Pod",
            "checkout-5-x2k4p",
            "Warning",
            "BackOff",
            "Back-off restarting failed container checkout",
            40,
        ));
        out.push(event(
            "checkout-5.2",
            "ReplicaSet",
            "checkout-5",
            "Normal",
            "SuccessfulCreate",
            "Created pod: checkout-5-x2k4p",
            900,
        ));
        out.push(event(
            "checkout.1",
            "Deployment",
            "checkout",
            "Normal",
            "ScalingReplicaSet",
            "Scaled up replica set checkout-5 to 1",
            900,
        ));
    } else {
        out.extend(objects(
            env,
            &deploy(
                "checkout",
                "checkout",
                2,
                vec![rev(5, "v3.1.0", "deploy v3.1.0", 3600, 2, 2)],
            ),
        ));
    }
    // inventory: healthy everywhere.
    out.extend(objects(
        env,
        &deploy(
            "inventory",
            "inventory",
            2,
            vec![rev(8, "v0.9.4", "deploy v0.9.4", 86400 * 5, 2, 2)],
        ),
    ));
    // search: a tag missing from the registry in staging.
    if staging {
        out.extend(objects(
            env,
            &deploy(
                "search",
                "search",
                2,
                vec![
                    Rev {
                        waiting: Some("ImagePullBackOff"),
                        ..rev(3, "v2.0.0", "deploy v2.0.0", 600, 1, 0)
                    },
                    rev(2, "v1.9.1", "deploy v1.9.1", 86400 * 3, 2, 2),
                ],
            ),
        ));
    } else {
        out.extend(objects(
            env,
            &deploy(
                "search",
                "search",
                2,
                vec![rev(2, "v1.9.1", "deploy v1.9.1", 86400 * 3, 2, 2)],
            ),
        ));
    }
    // notifications: paused in prod.
    let mut notifications = deploy(
        "notifications",
        "notifications",
        1,
        vec![rev(4, "v1.2.0", "deploy v1.2.0", 86400 * 8, 1, 1)],
    );
    notifications.paused = prod;
    out.extend(objects(env, &notifications));
    // gateway: still rolling out in dev.
    if env == "dev" {
        out.extend(objects(
            env,
            &deploy(
                "gateway",
                "gateway",
                3,
                vec![
                    rev(7, "v5.0.0", "deploy v5.0.0", 40, 2, 1),
                    rev(6, "v4.9.0", "deploy v4.9.0", 86400 * 2, 2, 2),
                ],
            ),
        ));
    } else {
        out.extend(objects(
            env,
            &deploy(
                "gateway",
                "gateway",
                3,
                vec![rev(6, "v4.9.0", "deploy v4.9.0", 86400 * 2, 3, 3)],
            ),
        ));
    }
    out
}
