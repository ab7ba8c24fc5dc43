//! Unmodified kubectl (v1.32) against the sandbox API server over real HTTP: discovery,
//! apply and create, and the server-side Tables `get` prints.

use crate::common;

use std::time::{Duration, Instant};

use common::{MANIFEST, Sandbox, deployment, pod, row};
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_discovery() {
    let sb = Sandbox::start().await;
    let v = sb.kubectl(&["version", "-o", "json"]).await.json();
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.34.4");
    assert_eq!(v["serverVersion"]["minor"], "34");
    // The dispatcher's own kubectl, as for the real 1.34 control plane.
    assert_eq!(v["clientVersion"]["gitVersion"], "v1.32.4-dispatcher");

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
    // A debug build (unoptimized serde) on a shared machine: ~60 ms idle, ~300 ms under load.
    // The bound catches quadratic or per-row blow-ups without flaking on a busy machine.
    assert!(best < Duration::from_secs(2), "server took {best:?}");
    sb.shutdown().await;
}
