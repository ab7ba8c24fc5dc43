//! Zero-config discovery: from the demo world's objects, the same services (canary pairs,
//! blue-green colours, the Helm release) as the shipdeck.toml the sandbox writes by hand; and
//! `shipdeck init` on the real control plane, with real CRDs and a real Helm release.

use std::collections::BTreeMap;

use crate::access_support::{KubeconfigSpec, Workdir, admin_cert_files};
use crate::real_cluster_or_skip;

use shipdeck::config::{Config, ServiceConfig, Strategy, load_file, parse_str};
use shipdeck::release::{Journal, ReleaseContext};
use shipdeck::sandbox::world::{World, WorldOptions};

/// What a service's grouping is: which Deployments, how traffic moves between them, which
/// Helm release. (Builds and analysis cannot be inferred and are not compared.)
fn grouping(cfg: &ServiceConfig) -> String {
    let mut out = format!("{} {:?}", cfg.name, cfg.strategy);
    match cfg.strategy {
        Strategy::Rolling => out.push_str(&format!(" deployment={}", cfg.deployment_name())),
        Strategy::Canary => {
            let c = cfg.canary.as_ref().expect("canary section");
            out.push_str(&format!(
                " router={:?} route={:?} stable={} canary={} deployments={:?}/{:?}",
                c.router, c.route, c.stable, c.canary, c.stable_deployment, c.canary_deployment
            ));
        }
        Strategy::BlueGreen => {
            let b = cfg.blue_green.as_ref().expect("blue_green section");
            out.push_str(&format!(
                " service={} label={} colours={:?} preview={:?}",
                b.service, b.label, b.deployments, b.preview_service
            ));
        }
    }
    if let Some(release) = &cfg.helm_release {
        out.push_str(&format!(" helm={release}"));
    }
    out
}

fn groupings(config: &Config) -> BTreeMap<String, String> {
    config
        .services
        .iter()
        .map(|s| (s.name.clone(), grouping(s)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_world_infers_the_grouping_its_hand_written_config_has() {
    shipdeck::install_crypto_provider();
    let world = World::start(WorldOptions {
        manual_clock: true,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let dir = tempfile::tempdir().expect("tempdir");
    let written = world
        .write_files(&dir.path().join("kubeconfig"))
        .expect("files");
    let hand_written = load_file(&written).expect("the sandbox's shipdeck.toml");
    let mut config = hand_written.clone();
    config.services.clear();
    let journal = Journal::at(dir.path().join("audit.jsonl"));
    let mut ctx = ReleaseContext::connect(config, true, journal)
        .await
        .expect("connects");
    let discovery = shipdeck_core::cli::console::discover_services(&mut ctx)
        .await
        .expect("discovery runs without [[service]]");
    assert!(discovery.errors.is_empty(), "{:?}", discovery.errors);
    assert!(ctx.config.services_inferred);
    let inferred = groupings(&ctx.config);
    let expected = groupings(&hand_written);
    assert_eq!(inferred, expected);
    // The evidence names what each grouping came from, per environment.
    let orders = discovery
        .services
        .iter()
        .find(|f| f.config.name == "orders")
        .expect("orders");
    assert!(
        orders.evidence.iter().any(|e| e.starts_with(
            "canary: HTTPRoute orders splits traffic between Service orders-stable (Deployment orders) and Service orders-canary (Deployment orders-canary) [dev]"
        )),
        "{:?}",
        orders.evidence
    );
    world.shutdown().await;
}

const ROUTED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  replicas: 1
  selector: {matchLabels: {app: orders, track: stable}}
  template:
    metadata: {labels: {app: orders, track: stable}}
    spec: {containers: [{name: orders, image: "127.0.0.1:9/shop/orders:v1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders-canary}
spec:
  replicas: 0
  selector: {matchLabels: {app: orders, track: canary}}
  template:
    metadata: {labels: {app: orders, track: canary}}
    spec: {containers: [{name: orders, image: "127.0.0.1:9/shop/orders:v2"}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders-stable}
spec: {selector: {app: orders, track: stable}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders-canary}
spec: {selector: {app: orders, track: canary}, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orders}
spec:
  parentRefs: [{name: shop-gateway}]
  rules:
  - backendRefs:
    - {name: orders-stable, port: 80, weight: 90}
    - {name: orders-canary, port: 80, weight: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments-blue}
spec:
  replicas: 1
  selector: {matchLabels: {app: payments, version: blue}}
  template:
    metadata: {labels: {app: payments, version: blue}}
    spec: {containers: [{name: payments, image: "127.0.0.1:9/shop/payments:v3"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments-green}
spec:
  replicas: 1
  selector: {matchLabels: {app: payments, version: green}}
  template:
    metadata: {labels: {app: payments, version: green}}
    spec: {containers: [{name: payments, image: "127.0.0.1:9/shop/payments:v4"}]}
---
apiVersion: v1
kind: Service
metadata: {name: payments}
spec: {selector: {app: payments, version: green}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: payments-preview}
spec: {selector: {app: payments, version: blue}, ports: [{port: 80}]}
"#;

#[test]
fn init_on_the_real_cluster_writes_the_grouping_with_its_evidence() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("discover");
    cluster.apply(&ns, ROUTED);
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
        ])
        .ok();
    let dir = Workdir::new();
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(cluster, admin_cert_files(cluster), &ns).yaml(),
    );
    let kubeconfig = kubeconfig.to_str().expect("path");
    let run = dir.run(&["init", "--kubeconfig", kubeconfig], &[]);
    run.ok();
    assert!(
        run.stderr.contains("wrote shipdeck.toml (3 services"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(dir.path("shipdeck.toml")).expect("written");
    let config = parse_str(&text, std::path::Path::new("shipdeck.toml")).expect("it loads");
    let found = groupings(&config);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        ["catalog", "orders", "payments"],
        "{text}"
    );
    assert_eq!(
        found["orders"],
        "orders Canary router=GatewayApi route=Some(\"orders\") stable=orders-stable canary=orders-canary deployments=Some(\"orders\")/Some(\"orders-canary\")"
    );
    assert_eq!(
        found["payments"],
        "payments BlueGreen service=payments label=version colours={\"blue\": \"payments-blue\", \"green\": \"payments-green\"} preview=Some(\"payments-preview\")"
    );
    assert_eq!(
        found["catalog"],
        "catalog Rolling deployment=catalog helm=catalog"
    );
    for evidence in [
        "# canary: HTTPRoute orders splits traffic between Service orders-stable",
        "# blue-green: Service payments selects version=green of Deployments payments-blue (version=blue), payments-green (version=green); Service payments-preview is the preview",
        "# Helm release catalog owns it",
        "# Review it:",
    ] {
        assert!(text.contains(evidence), "{evidence:?} in:\n{text}");
    }
    // A second init does not overwrite the reviewed file.
    let again = dir.run(&["init", "--kubeconfig", kubeconfig], &[]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    // The written file drives the other commands as a hand-written one would.
    let status = dir.run(&["status", "-o", "json", "--kubeconfig", kubeconfig], &[]);
    let rows: serde_json::Value = serde_json::from_str(status.ok()).expect("json");
    let services: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["service"].as_str())
        .collect();
    assert!(
        services.contains(&"orders") && services.contains(&"payments"),
        "{rows}"
    );
    assert!(!services.contains(&"orders-canary"), "{rows}");
}
