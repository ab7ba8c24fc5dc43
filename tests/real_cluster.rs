//! Smoke tests of the real control plane (tests/common/real_cluster.rs): kube-apiserver,
//! kube-controller-manager, kube-scheduler and etcd built from the pinned modules, kwok as the
//! kubelets, real helm and real CRDs. kubectl is the source of truth, as in the sandbox tests.
//! Each test has its own namespace on the one cluster of the test process.

use crate::common::real_cluster::{PATCHER, RealCluster, VIEWER, wait_until};
use crate::real_cluster_or_skip;

use std::time::Duration;

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

/// A Deployment of `replicas` pods running `image` (container `app`), with pod-template
/// annotations (the fault selectors of tests/real/stages) and a progress deadline.
fn deployment(name: &str, image: &str, annotations: &str, deadline_seconds: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  progressDeadlineSeconds: {deadline_seconds}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{{annotations}}}
    spec:
      containers:
      - name: app
        image: {image}
"#
    )
}

fn pods(cluster: &RealCluster, ns: &str, app: &str) -> Vec<Value> {
    let list = cluster
        .kubectl(&[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            &format!("app={app}"),
            "-o",
            "json",
        ])
        .json();
    list["items"].as_array().cloned().unwrap_or_default()
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn waiting_reason(pod: &Value) -> Option<&str> {
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].as_str()
}

#[test]
fn kubectl_reports_the_pinned_server_version() {
    let cluster = real_cluster_or_skip!();
    let version = cluster.kubectl(&["version", "-o", "json"]).json();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.34.4");
    assert_eq!(version["serverVersion"]["minor"], "34");
    let nodes = cluster.kubectl(&["get", "nodes", "-o", "json"]).json();
    let ready = nodes["items"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| condition(n, "Ready").is_some_and(|c| c["status"] == "True"))
        .count();
    assert_eq!(ready, crate::common::real_cluster::NODES.len());
}

#[test]
fn a_deployment_rolls_out_sets_an_image_and_undoes() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("rollout");
    cluster.apply(&ns, &deployment("web", "shop/web:v1", "", 60));
    // Pods become Ready 1-2 s after scheduling, so the rollout is seen in progress.
    let status = cluster.kubectl(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        &ns,
        "--timeout=90s",
    ]);
    let out = status.ok();
    assert!(
        out.contains("Waiting for deployment \"web\" rollout to finish"),
        "{out}"
    );
    assert!(
        out.ends_with("deployment \"web\" successfully rolled out\n"),
        "{out}"
    );
    let running = pods(cluster, &ns, "web");
    assert_eq!(running.len(), 2);
    for pod in &running {
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(condition(pod, "Ready").expect("Ready")["status"], "True");
        assert!(
            pod["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| n.starts_with("kwok-node-"))
        );
    }

    cluster
        .kubectl(&[
            "set",
            "image",
            "deployment/web",
            "app=shop/web:v2",
            "-n",
            &ns,
        ])
        .ok();
    cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            &ns,
            "--timeout=90s",
        ])
        .ok();
    let replicasets = cluster
        .kubectl(&["get", "rs", "-n", &ns, "-o", "json"])
        .json();
    let mut revisions: Vec<(String, String, i64)> = replicasets["items"]
        .as_array()
        .expect("replicasets")
        .iter()
        .map(|rs| {
            (
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                rs["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                rs["spec"]["replicas"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    revisions.sort();
    assert_eq!(
        revisions,
        [
            ("1".to_string(), "shop/web:v1".to_string(), 0),
            ("2".to_string(), "shop/web:v2".to_string(), 2)
        ]
    );

    let undo = cluster.kubectl(&["rollout", "undo", "deployment/web", "-n", &ns]);
    assert_eq!(undo.ok(), "deployment.apps/web rolled back\n");
    cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            &ns,
            "--timeout=90s",
        ])
        .ok();
    let d = cluster.get_json(&ns, &["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "shop/web:v1"
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    let history = cluster.kubectl(&["rollout", "history", "deployment/web", "-n", &ns]);
    let rows: Vec<&str> = history
        .ok()
        .lines()
        .skip(2)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(rows, ["2         <none>", "3         <none>"]);
}

#[test]
fn a_crash_looping_rollout_exceeds_its_progress_deadline() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("crash");
    let faults = r#"shipdeck.sandbox/image-faults: "shop/pay:v2=crash""#;
    cluster.apply(&ns, &deployment("pay", "shop/pay:v1", faults, 10));
    cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/pay",
            "-n",
            &ns,
            "--timeout=90s",
        ])
        .ok();

    cluster
        .kubectl(&[
            "set",
            "image",
            "deployment/pay",
            "app=shop/pay:v2",
            "-n",
            &ns,
        ])
        .ok();
    // The new pod crashes, backs off and restarts: restartCount rises, it is never ready.
    let crashing = wait_until(WAIT, "a restarted crash-looping pod", || {
        pods(cluster, &ns, "pay").into_iter().find(|p| {
            p["spec"]["containers"][0]["image"] == "shop/pay:v2"
                && p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1)
        })
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let status = &crashing["status"]["containerStatuses"][0];
    assert_eq!(status["ready"], false);
    assert_eq!(crashing["status"]["phase"], "Running");
    let name = crashing["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let back_off = wait_until(WAIT, "CrashLoopBackOff", || {
        let pod = cluster.get_json(&ns, &["pod", &name]);
        (waiting_reason(&pod) == Some("CrashLoopBackOff")).then_some(pod)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let last = &back_off["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(
        (last["reason"].as_str(), last["exitCode"].as_i64()),
        (Some("Error"), Some(1))
    );

    // The real Deployment controller gives up after progressDeadlineSeconds.
    let status = cluster.kubectl(&[
        "rollout",
        "status",
        "deployment/pay",
        "-n",
        &ns,
        "--timeout=90s",
    ]);
    assert_ne!(status.code, 0, "{status:?}");
    assert!(
        status
            .stderr
            .contains("deployment \"pay\" exceeded its progress deadline"),
        "{status:?}"
    );
    let d = cluster.get_json(&ns, &["deployment", "pay"]);
    let progressing = condition(&d, "Progressing").expect("Progressing");
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    // The old pods kept serving, and undo brings the healthy version back.
    assert_eq!(d["status"]["availableReplicas"], 2);
    cluster
        .kubectl(&["rollout", "undo", "deployment/pay", "-n", &ns])
        .ok();
    cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/pay",
            "-n",
            &ns,
            "--timeout=90s",
        ])
        .ok();
}

#[test]
fn a_missing_image_backs_off_and_stays_pending() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("pull");
    let faults = r#"shipdeck.sandbox/image-faults: "shop/web:nope=missing""#;
    cluster.apply(&ns, &deployment("web", "shop/web:nope", faults, 10));
    let pod = wait_until(WAIT, "ImagePullBackOff", || {
        pods(cluster, &ns, "web")
            .into_iter()
            .find(|p| waiting_reason(p) == Some("ImagePullBackOff"))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "Back-off pulling image \"shop/web:nope\""
    );
    let name = pod["metadata"]["name"].as_str().expect("name");
    let events = cluster.kubectl(&[
        "get",
        "events",
        "-n",
        &ns,
        "--field-selector",
        &format!("involvedObject.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.ok().contains("Failed: Error: ErrImagePull"),
        "{events:?}"
    );
    let get = cluster.kubectl(&["get", "pods", "-n", &ns, "--no-headers"]);
    assert!(get.ok().contains("ImagePullBackOff") || get.ok().contains("ErrImagePull"));
    let status = cluster.kubectl(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        &ns,
        "--timeout=90s",
    ]);
    assert!(
        status.stderr.contains("exceeded its progress deadline"),
        "{status:?}"
    );
}

#[test]
fn an_unready_pod_runs_but_is_never_ready() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("unready");
    let fault = r#"shipdeck.sandbox/fault: unready"#;
    cluster.apply(&ns, &deployment("web", "shop/web:v1", fault, 60));
    let pod = wait_until(WAIT, "a running pod", || {
        pods(cluster, &ns, "web")
            .into_iter()
            .find(|p| p["status"]["phase"] == "Running")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(pod["status"]["containerStatuses"][0]["state"]["running"].is_object());
    // Well past the 1-2 s a healthy pod takes to become ready.
    std::thread::sleep(Duration::from_secs(3));
    for pod in pods(cluster, &ns, "web") {
        let ready = condition(&pod, "Ready").expect("Ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "ContainersNotReady");
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    }
}

#[test]
fn a_job_completes() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("job");
    cluster
        .kubectl(&[
            "create",
            "job",
            "build",
            "-n",
            &ns,
            "--image=shop/builder:v1",
            "--",
            "make",
        ])
        .ok();
    cluster
        .kubectl(&[
            "wait",
            "--for=condition=Complete",
            "job/build",
            "-n",
            &ns,
            "--timeout=90s",
        ])
        .ok();
    let job = cluster.get_json(&ns, &["job", "build"]);
    assert_eq!(job["status"]["succeeded"], 1);
    let pods = cluster
        .kubectl(&[
            "get",
            "pods",
            "-n",
            &ns,
            "-l",
            "job-name=build",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(pods["items"][0]["status"]["phase"], "Succeeded");
}

#[test]
fn the_router_crds_are_installed_and_serve_shipdecks_versions() {
    let cluster = real_cluster_or_skip!();
    cluster
        .kubectl(&[
            "get",
            "crd",
            "httproutes.gateway.networking.k8s.io",
            "virtualservices.networking.istio.io",
            "trafficsplits.split.smi-spec.io",
        ])
        .ok();
    let ns = cluster.namespace("routes");
    // The versions shipdeck reads and writes (src/release/observe.rs).
    cluster.apply(
        &ns,
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - backendRefs:
    - {name: web-stable, port: 80, weight: 90}
    - {name: web-canary, port: 80, weight: 10}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - {destination: {host: web-stable}, weight: 90}
    - {destination: {host: web-canary}, weight: 10}
---
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: web}
spec:
  service: web
  backends:
  - {service: web-stable, weight: 90}
  - {service: web-canary, weight: 10}
"#,
    );
    let route = cluster.get_json(&ns, &["httproutes.v1.gateway.networking.k8s.io", "web"]);
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][1]["weight"], 10);
    let vs = cluster.get_json(&ns, &["virtualservices.v1.networking.istio.io", "web"]);
    assert_eq!(vs["spec"]["http"][0]["route"][1]["weight"], 10);
    let ts = cluster.get_json(&ns, &["trafficsplits.v1alpha2.split.smi-spec.io", "web"]);
    assert_eq!(ts["apiVersion"], "split.smi-spec.io/v1alpha2");
    assert_eq!(ts["spec"]["backends"][1]["weight"], 10);
    // The CRD's schema is enforced: a weight must be a number.
    let bad = cluster.kubectl(&[
        "patch",
        "trafficsplits.v1alpha2.split.smi-spec.io",
        "web",
        "-n",
        &ns,
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/backends/0/weight","value":"ninety"}]"#,
    ]);
    assert_ne!(bad.code, 0, "{bad:?}");
    assert!(bad.stderr.contains("spec.backends[0].weight"), "{bad:?}");
}

#[test]
fn helm_from_the_build_installs_a_chart() {
    let cluster = real_cluster_or_skip!();
    let version = cluster.helm(&["version", "--short"]);
    assert!(version.ok().starts_with("v3.21.4"), "{version:?}");
    let ns = cluster.namespace("helm");
    let charts = tempfile::tempdir().expect("tempdir");
    let chart = charts.path().join("catalog");
    cluster.helm(&["create", &chart.display().to_string()]).ok();
    cluster
        .helm(&[
            "install",
            "catalog",
            &chart.display().to_string(),
            "-n",
            &ns,
            "--wait",
            "--timeout=90s",
        ])
        .ok();
    cluster
        .kubectl(&[
            "rollout",
            "status",
            "deployment/catalog",
            "-n",
            &ns,
            "--timeout=30s",
        ])
        .ok();
    let history = cluster
        .helm(&["history", "catalog", "-n", &ns, "-o", "json"])
        .json();
    assert_eq!(history[0]["revision"], 1);
    assert_eq!(history[0]["status"], "deployed");
}

#[test]
fn token_users_are_held_to_their_rbac() {
    let cluster = real_cluster_or_skip!();
    let patchable = cluster.patcher_namespace.as_str();
    let other = cluster.namespace("rbac");
    for ns in [patchable, &other] {
        cluster.apply(ns, &deployment("web", "shop/web:v1", "", 60));
    }
    let patch = |context: &str, ns: &str| {
        cluster.kubectl_as(
            context,
            &[
                "patch",
                "deployment",
                "web",
                "-n",
                ns,
                "--type=merge",
                "-p",
                r#"{"metadata":{"annotations":{"patched":"yes"}}}"#,
            ],
        )
    };

    // The viewer reads everything and writes nothing.
    let pods = cluster.kubectl_as(VIEWER, &["get", "deployments", "-n", patchable]);
    assert!(pods.ok().contains("web"));
    let denied = patch(VIEWER, patchable);
    assert_ne!(denied.code, 0);
    assert!(
        denied.stderr.contains("Error from server (Forbidden)")
            && denied
                .stderr
                .contains("User \"viewer\" cannot patch resource \"deployments\""),
        "{denied:?}"
    );

    // The patcher reads and patches Deployments in its one namespace, and does nothing else.
    let patched = patch(PATCHER, patchable);
    assert_eq!(patched.ok(), "deployment.apps/web patched\n");
    let elsewhere = patch(PATCHER, &other);
    assert!(
        elsewhere
            .stderr
            .contains("User \"patcher\" cannot get resource \"deployments\""),
        "{elsewhere:?}"
    );
    for denied in [
        &[
            "scale",
            "deployment",
            "web",
            "--replicas=3",
            "-n",
            patchable,
        ][..],
        &["delete", "deployment", "web", "-n", patchable],
        &["get", "pods", "-n", patchable],
    ] {
        let run = cluster.kubectl_as(PATCHER, denied);
        assert!(
            run.stderr.contains("Error from server (Forbidden)"),
            "{run:?}"
        );
    }
    let d = cluster.get_json(patchable, &["deployment", "web"]);
    assert_eq!(d["metadata"]["annotations"]["patched"], "yes");
    // The tokens are exposed for clients other than kubectl.
    assert_eq!(cluster.viewer_token.len(), 32);
    assert_ne!(cluster.viewer_token, cluster.patcher_token);
    cluster
        .kubectl(&["delete", "deployment", "web", "-n", patchable])
        .ok();
}
