//! Unmodified kubectl (v1.32) against the sandbox API server over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{Sandbox, deployment, pod, wait_for_line};
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

const MANIFEST: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"#;

/// Cells of the first row whose first cell is `name`, split on runs of spaces.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_discovery() {
    let sb = Sandbox::start().await;
    let v = sb.kubectl(&["version", "-o", "json"]).await.json();
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.32.4");
    assert_eq!(v["serverVersion"]["minor"], "32");

    let out = sb.kubectl(&["api-resources"]).await;
    let table = out.ok();
    assert_eq!(
        row(table, "deployments"),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        row(table, "namespaces"),
        ["namespaces", "ns", "v1", "false", "Namespace"]
    );
    assert_eq!(
        row(table, "httproutes"),
        [
            "httproutes",
            "gateway.networking.k8s.io/v1",
            "true",
            "HTTPRoute"
        ]
    );
    for res in [
        "pods",
        "services",
        "endpointslices",
        "ingresses",
        "virtualservices",
        "trafficsplits",
        "rollouts",
        "replicasets",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(res)),
            "{res} missing:\n{table}"
        );
    }
    // Short names and categories resolve through aggregated discovery.
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    sb.create(
        *kinds::SERVICES,
        "shop",
        json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
    );
    sb.create(
        *kinds::CONFIGMAPS,
        "shop",
        json!({"metadata": {"name": "settings"}}),
    );
    let all = sb.kubectl(&["get", "all"]).await;
    let all = all.ok();
    assert!(all.contains("deployment.apps/web"), "{all}");
    assert!(all.contains("service/web"), "{all}");
    assert!(
        !all.contains("settings"),
        "configmaps are not in category all:\n{all}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_client_side_then_server_side() {
    let sb = Sandbox::start().await;
    let manifest = sb.file("app.yaml", MANIFEST);
    let manifest = manifest.to_str().expect("utf-8 path");

    let first = sb.kubectl(&["apply", "-f", manifest]).await;
    assert_eq!(
        first.ok(),
        "deployment.apps/web created\nservice/web created\n"
    );
    let d = sb
        .cluster
        .get(*kinds::DEPLOYMENTS, "shop", "web")
        .expect("created");
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    assert_eq!(d["metadata"]["generation"], 1);

    // Re-applying a changed manifest sends a strategic merge patch for what changed only.
    let changed = sb.file("app2.yaml", &MANIFEST.replace("replicas: 2", "replicas: 4"));
    let second = sb
        .kubectl(&["apply", "-f", changed.to_str().expect("path")])
        .await;
    assert_eq!(
        second.ok(),
        "deployment.apps/web configured\nservice/web unchanged\n"
    );
    let d = sb
        .cluster
        .get(*kinds::DEPLOYMENTS, "shop", "web")
        .expect("exists");
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["generation"], 2);

    let ssa = sb.file("app3.yaml", &MANIFEST.replace("web:1.0", "web:2.0"));
    let third = sb
        .kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            ssa.to_str().expect("path"),
        ])
        .await;
    assert_eq!(
        third.ok(),
        "deployment.apps/web serverside-applied\nservice/web serverside-applied\n"
    );
    let d = sb
        .cluster
        .get(*kinds::DEPLOYMENTS, "shop", "web")
        .expect("exists");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/web:2.0"
    );

    // Server-side apply creates what does not exist yet (no GET first).
    let other = sb.file("api.yaml", &MANIFEST.replace("web", "api"));
    let created = sb
        .kubectl(&[
            "apply",
            "--server-side",
            "-f",
            other.to_str().expect("path"),
        ])
        .await;
    assert_eq!(
        created.ok(),
        "deployment.apps/api serverside-applied\nservice/api serverside-applied\n"
    );
    assert!(sb.cluster.get(*kinds::SERVICES, "shop", "api").is_ok());

    // `create -f` of something that exists is the server's AlreadyExists.
    let again = sb.kubectl(&["create", "-f", manifest]).await;
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("Error from server (AlreadyExists)")
            && again
                .stderr
                .contains("deployments.apps \"web\" already exists"),
        "{again:?}"
    );

    // Custom resources: created with create -f, re-applied client-side (merge patch).
    let route = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
  - name: gw
  rules:
  - backendRefs:
    - name: web-stable
      port: 80
      weight: 90
    - name: web-canary
      port: 80
      weight: 10
"#;
    let route_file = sb.file("route.yaml", route);
    let out = sb
        .kubectl(&["apply", "-f", route_file.to_str().expect("path")])
        .await;
    assert_eq!(
        out.ok(),
        "httproute.gateway.networking.k8s.io/web created\n"
    );
    let shifted = sb.file(
        "route2.yaml",
        &route
            .replace("weight: 90", "weight: 50")
            .replace("weight: 10", "weight: 50"),
    );
    let out = sb
        .kubectl(&["apply", "-f", shifted.to_str().expect("path")])
        .await;
    assert_eq!(
        out.ok(),
        "httproute.gateway.networking.k8s.io/web configured\n"
    );
    let r = sb
        .cluster
        .get(*kinds::HTTPROUTES, "shop", "web")
        .expect("route");
    assert_eq!(r["spec"]["rules"][0]["backendRefs"][0]["weight"], 50);
    assert_eq!(r["spec"]["rules"][0]["backendRefs"][1]["weight"], 50);

    let deleted = sb.kubectl(&["delete", "-f", manifest]).await;
    assert_eq!(
        deleted.ok(),
        "deployment.apps \"web\" deleted\nservice \"web\" deleted\n"
    );
    assert!(sb.cluster.get(*kinds::DEPLOYMENTS, "shop", "web").is_err());
    sb.shutdown().await;
}

/// `kubectl create <kind>` uses typed clients, which send protobuf bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_create_commands() {
    let sb = Sandbox::start().await;
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "create",
                "deployment",
                "web",
                "--image=registry.local/web:1.0",
                "--port=8080",
                "--replicas=3",
            ],
            "deployment.apps/web created",
        ),
        (
            &["create", "service", "clusterip", "web", "--tcp=80:8080"],
            "service/web created",
        ),
        (
            &[
                "create",
                "configmap",
                "settings",
                "--from-literal=mode=fast",
            ],
            "configmap/settings created",
        ),
        (
            &[
                "create",
                "secret",
                "generic",
                "creds",
                "--from-literal=password=hunter2",
            ],
            "secret/creds created",
        ),
        (
            &["create", "namespace", "payments"],
            "namespace/payments created",
        ),
        (
            &[
                "create",
                "job",
                "migrate",
                "--image=registry.local/migrate:1",
                "--",
                "migrate",
                "up",
            ],
            "job.batch/migrate created",
        ),
        (
            &[
                "create",
                "ingress",
                "web",
                "--class=nginx",
                "--rule=shop.example.com/*=web:80",
            ],
            "ingress.networking.k8s.io/web created",
        ),
    ];
    for (args, expected) in cases {
        let out = sb.kubectl(args).await;
        assert_eq!(out.ok().trim(), expected, "{args:?}");
    }
    let d = sb
        .kubectl(&["get", "deploy", "web", "-o", "json"])
        .await
        .json();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.local/web:1.0");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    // Defaulting adds no null placeholders for absent lists.
    assert!(
        d["spec"]["template"]["spec"]
            .get("initContainers")
            .is_none(),
        "{d}"
    );
    let svc = sb
        .cluster
        .get(*kinds::SERVICES, "shop", "web")
        .expect("service");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    let secret = sb
        .cluster
        .get(*kinds::SECRETS, "shop", "creds")
        .expect("secret");
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
    let job = sb
        .cluster
        .get(*kinds::JOBS, "shop", "migrate")
        .expect("job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["migrate", "up"])
    );
    let ing = sb
        .cluster
        .get(*kinds::INGRESSES, "shop", "web")
        .expect("ingress");
    assert_eq!(ing["spec"]["rules"][0]["host"], "shop.example.com");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"],
        80
    );
    assert!(sb.cluster.get(*kinds::NAMESPACES, "", "payments").is_ok());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_server_tables() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 3),
    );
    sb.cluster.clock.advance(Duration::from_secs(300));
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("api", "registry.local/api:1.0", 1),
    );
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-1", json!({"app": "web"}), "Running"),
    );
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-2", json!({"app": "web"}), "Pending"),
    );
    sb.create(
        *kinds::PODS,
        "shop",
        pod("api-1", json!({"app": "api", "tier": "back"}), "Running"),
    );
    sb.create(
        *kinds::PODS,
        "default",
        pod("other", json!({"app": "other"}), "Running"),
    );
    sb.cluster.clock.advance(Duration::from_secs(60));

    let out = sb.kubectl(&["get", "deploy"]).await;
    let table = out.ok();
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("AGE"),
        "{table}"
    );
    // The server computes Age from its (manual) clock.
    assert_eq!(row(table, "web").last(), Some(&"6m"));
    assert_eq!(row(table, "api").last(), Some(&"60s"));
    // Rows come sorted by name, as from etcd.
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["api", "web"]);

    let wide = sb.kubectl(&["get", "deploy", "web", "-o", "wide"]).await;
    assert_eq!(row(wide.ok(), "web")[0], "web");

    let labels = sb.kubectl(&["get", "pods", "--show-labels"]).await;
    let labels = labels.ok();
    assert!(
        labels
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("LABELS"),
        "{labels}"
    );
    assert_eq!(row(labels, "api-1").last(), Some(&"app=api,tier=back"));

    let selected = sb
        .kubectl(&["get", "pods", "-l", "app=web", "-o", "name"])
        .await;
    assert_eq!(selected.ok(), "pod/web-1\npod/web-2\n");
    let set = sb
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app in (api,other),!tier",
            "-A",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(set.ok(), "pod/other\n");

    let running = sb
        .kubectl(&[
            "get",
            "pods",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(running.ok(), "pod/api-1\npod/web-1\n");
    let bad = sb
        .kubectl(&["get", "deploy", "--field-selector", "status.phase=Running"])
        .await;
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("field label not supported: status.phase"),
        "{bad:?}"
    );

    let all = sb.kubectl(&["get", "pods", "-A"]).await;
    let all = all.ok();
    assert!(all.starts_with("NAMESPACE"), "{all}");
    assert_eq!(row(all, "default")[1], "other");
    assert_eq!(all.lines().count(), 5);

    // --sort-by asks for whole objects in the rows (includeObject=Object).
    let sorted = sb
        .kubectl(&["get", "deploy", "--sort-by=.spec.replicas", "-o", "name"])
        .await;
    assert_eq!(sorted.ok(), "deployment.apps/api\ndeployment.apps/web\n");
    let sorted = sb
        .kubectl(&["get", "deploy", "--sort-by=.spec.replicas"])
        .await;
    let names: Vec<&str> = sorted
        .ok()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["api", "web"]);

    let yaml = sb.kubectl(&["get", "deploy", "web", "-o", "yaml"]).await;
    let yaml = yaml.ok();
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("replicas: 3"),
        "{yaml}"
    );
    assert!(yaml.contains("maxSurge: 25%"), "defaults applied:\n{yaml}");

    let list = sb.kubectl(&["get", "deploy", "-o", "json"]).await.json();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let one = sb
        .kubectl(&["get", "deploy", "web", "-o", "json"])
        .await
        .json();
    assert_eq!(one["metadata"]["name"], "web");
    assert_eq!(one["spec"]["replicas"], 3);

    let ns = sb.kubectl(&["get", "ns", "-o", "name"]).await;
    assert_eq!(ns.ok(), "namespace/default\nnamespace/shop\n");

    let missing = sb.kubectl(&["get", "deploy", "nope"]).await;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        "Error from server (NotFound): deployments.apps \"nope\" not found"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_prints_updates() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let (mut child, mut lines) = sb.kubectl_spawn(&["get", "deploy", "-w", "--show-labels"]);
    let seen = wait_for_line(&mut lines, 20, |l| l.starts_with("web ")).await;
    assert!(seen[0].starts_with("NAME"), "{seen:?}");

    sb.cluster
        .modify(*kinds::DEPLOYMENTS, "shop", "web", false, |d| {
            d["metadata"]["labels"]["tier"] = json!("front");
        })
        .expect("modify");
    wait_for_line(&mut lines, 20, |l| {
        l.starts_with("web ") && l.ends_with("app=web,tier=front")
    })
    .await;

    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("api", "registry.local/api:1.0", 1),
    );
    wait_for_line(&mut lines, 20, |l| l.starts_with("api ")).await;
    let _ = child.kill().await;

    // A too-old resourceVersion is answered inside the stream: one ERROR event, then the end.
    sb.cluster
        .store
        .compact(sb.cluster.store.resource_version());
    let expired = sb
        .kubectl(&[
            "get",
            "--raw",
            "/apis/apps/v1/namespaces/shop/deployments?watch=true&resourceVersion=2",
        ])
        .await;
    let event: serde_json::Value = serde_json::from_str(expired.ok().trim()).expect("one event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_scale_label_annotate_delete() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let get = |sb: &Sandbox| {
        sb.cluster
            .get(*kinds::DEPLOYMENTS, "shop", "web")
            .expect("web")
    };

    let out = sb
        .kubectl(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":3}}"#])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 3);
    let out = sb
        .kubectl(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":3}}"#])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched (no change)\n");

    let out = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"shop"}}}"#,
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["metadata"]["labels"]["team"], "shop");

    let out = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web patched\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 2);
    let bad = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        ])
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.starts_with("The request is invalid: ") && bad.stderr.contains("/spec/replicas"),
        "{bad:?}"
    );

    // The patch's resourceVersion is a precondition.
    let stale = sb
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":7}}"#,
        ])
        .await;
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("Error from server (Conflict)"),
        "{stale:?}"
    );

    // `set image` is a strategic merge patch keyed by container name.
    let out = sb
        .kubectl(&["set", "image", "deploy/web", "web=registry.local/web:2.0"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web image updated\n");
    assert_eq!(
        get(&sb)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.local/web:2.0"
    );

    let out = sb
        .kubectl(&["scale", "deploy", "web", "--replicas=5"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web scaled\n");
    assert_eq!(get(&sb)["spec"]["replicas"], 5);
    let wrong = sb
        .kubectl(&[
            "scale",
            "deploy",
            "web",
            "--current-replicas=2",
            "--replicas=3",
        ])
        .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(get(&sb)["spec"]["replicas"], 5);

    let out = sb.kubectl(&["label", "deploy", "web", "tier=front"]).await;
    assert_eq!(out.ok(), "deployment.apps/web labeled\n");
    let out = sb.kubectl(&["label", "deploy", "web", "tier=back"]).await;
    assert_eq!(out.code, 1, "needs --overwrite: {out:?}");
    let out = sb
        .kubectl(&["annotate", "deploy", "web", "note=hello"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web annotated\n");
    let d = get(&sb);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");

    // Server-side dry run persists nothing.
    let dry = sb.file("dry.yaml", &MANIFEST.replace("name: web", "name: dry"));
    let out = sb
        .kubectl(&[
            "create",
            "-f",
            dry.to_str().expect("path"),
            "--dry-run=server",
        ])
        .await;
    assert_eq!(
        out.ok(),
        "deployment.apps/dry created (server dry run)\nservice/dry created (server dry run)\n"
    );
    assert!(sb.cluster.get(*kinds::DEPLOYMENTS, "shop", "dry").is_err());

    // Deleting an owner garbage-collects its dependents (background propagation).
    let owner_uid = get(&sb)["metadata"]["uid"].clone();
    sb.create(
        *kinds::CONFIGMAPS,
        "shop",
        json!({"metadata": {"name": "owned", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner_uid}]}}),
    );
    let out = sb.kubectl(&["delete", "deploy", "web"]).await;
    assert_eq!(out.ok(), "deployment.apps \"web\" deleted\n");
    assert!(sb.cluster.get(*kinds::DEPLOYMENTS, "shop", "web").is_err());
    assert!(sb.cluster.get(*kinds::CONFIGMAPS, "shop", "owned").is_err());
    let out = sb.kubectl(&["delete", "deploy", "web"]).await;
    assert_eq!(
        out.stderr.trim(),
        "Error from server (NotFound): deployments.apps \"web\" not found"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::PODS,
        "shop",
        pod("web-1", json!({"app": "web"}), "Running"),
    );
    let lines: Vec<String> = (1..=3).map(|i| format!("line {i}")).collect();
    sb.cluster.store.append_log("shop", "web-1", "app", &lines);
    let out = sb.kubectl(&["logs", "web-1"]).await;
    assert_eq!(out.ok(), "line 1\nline 2\nline 3\n");
    let out = sb.kubectl(&["logs", "web-1", "--tail=1"]).await;
    assert_eq!(out.ok(), "line 3\n");
    let out = sb.kubectl(&["logs", "web-1", "-c", "nope"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("container nope is not valid for pod web-1"),
        "{out:?}"
    );

    let (mut child, mut follow) = sb.kubectl_spawn(&["logs", "-f", "web-1"]);
    wait_for_line(&mut follow, 20, |l| l == "line 3").await;
    sb.cluster
        .store
        .append_log("shop", "web-1", "app", &["line 4".to_string()]);
    wait_for_line(&mut follow, 20, |l| l == "line 4").await;
    // Deleting the pod ends the follow.
    sb.cluster
        .delete(*kinds::PODS, "shop", "web-1", &Default::default())
        .expect("delete");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("kubectl logs -f ends with the pod")
        .expect("exit status");
    assert!(status.success());
    sb.shutdown().await;
}

/// client-go sends credentials only over TLS (kubernetes/kubectl#744), so against the plain
/// HTTP sandbox kubectl never presents the kubeconfig's token: a token-protected server is
/// closed to kubectl, and says so with a 401. (tests/api_kube.rs covers right and wrong tokens.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_protected_server_rejects_kubectl() {
    let sb = Sandbox::start_with_token(Some("s3cret")).await;
    for args in [
        &["get", "pods"][..],
        &["--token", "wrong", "get", "pods"][..],
    ] {
        let out = sb.kubectl(args).await;
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr
                .contains("error: You must be logged in to the server"),
            "{out:?}"
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_pods_list_quickly() {
    let sb = Sandbox::start().await;
    for ns in ["ns-a", "ns-b", "ns-c", "ns-d", "ns-e"] {
        sb.cluster.ensure_namespace(ns).expect("namespace");
        for i in 0..1000 {
            sb.create(
                *kinds::PODS,
                ns,
                pod(
                    &format!("web-{i:04}"),
                    json!({"app": "web", "shard": ns}),
                    "Running",
                ),
            );
        }
    }
    // Server time for the Table kubectl asks for, measured on the wire.
    shipdeck::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/pods?limit=500", sb.url());
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let body = http
            .get(&url)
            .header("Accept", accept)
            .send()
            .await
            .expect("request")
            .bytes()
            .await
            .expect("body");
        best = best.min(started.elapsed());
        assert!(body.len() > 1_000_000);
    }
    let started = Instant::now();
    let out = sb.kubectl(&["get", "pods", "-A"]).await;
    let kubectl_time = started.elapsed();
    assert_eq!(out.ok().lines().count(), 5001);
    eprintln!("5,000-pod Table: server {best:?}, kubectl get pods -A end to end {kubectl_time:?}");
    // Generous bounds: the machine is shared; the point is no quadratic or per-row blow-up.
    assert!(best < Duration::from_secs(1), "server took {best:?}");
    sb.shutdown().await;
}
