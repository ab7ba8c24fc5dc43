//! The demo world tells its story from the first second: histories, a canary, a blue-green,
//! Helm history, a failing prod rollout, and a registry consistent with what runs.

use serde_json::Value;
use shipdeck::model::kubectl::pod_status;
use shipdeck::sandbox::resources::kinds;
use shipdeck::sandbox::scenario::catalog::{DEMO, NAMESPACE};
use shipdeck::sandbox::world::{World, WorldOptions};

async fn demo_world(port_base: u16) -> World {
    World::start(WorldOptions {
        manual_clock: true,
        port_base: Some(port_base),
        ..WorldOptions::default()
    })
    .await
    .expect("demo world starts")
}

fn names(world: &World, env: &str, res: shipdeck::sandbox::resources::ResId) -> Vec<String> {
    let (items, _) = world.env(env).cluster.store.list(res, Some(NAMESPACE));
    items
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

fn get(world: &World, env: &str, res: shipdeck::sandbox::resources::ResId, name: &str) -> Value {
    (*world
        .env(env)
        .cluster
        .store
        .get(res, NAMESPACE, name)
        .unwrap_or_else(|| panic!("{env}: {name} exists")))
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_tells_its_story_deterministically() {
    let port_base = crate::common::free_port_base();
    let world = demo_world(port_base).await;

    // The on-call story: prod delivery's newest rollout crash-loops past its deadline while
    // the previous version keeps serving.
    let delivery = get(&world, "prod", *kinds::DEPLOYMENTS, "delivery");
    let progressing = delivery["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"))
        .cloned()
        .expect("Progressing condition");
    assert_eq!(
        progressing["reason"], "ProgressDeadlineExceeded",
        "{progressing}"
    );
    let (pods, _) = world
        .env("prod")
        .cluster
        .store
        .list(*kinds::PODS, Some(NAMESPACE));
    let statuses: Vec<String> = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "delivery")
        .map(|p| pod_status(p))
        .collect();
    assert!(
        statuses.iter().any(|s| s == "CrashLoopBackOff"),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| *s == "Running").count() >= 3,
        "{statuses:?}"
    );

    // Canary at 25% through the Gateway API route; the idle canary follows stable.
    let route = get(&world, "prod", *kinds::HTTPROUTES, "orders");
    let weights: Vec<i64> = route["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .expect("backendRefs")
        .iter()
        .map(|b| b["weight"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(weights, vec![75, 25]);
    let idle = get(&world, "prod", *kinds::DEPLOYMENTS, "inventory-canary");
    let stable = get(&world, "prod", *kinds::DEPLOYMENTS, "inventory");
    let image = |d: &Value| d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_eq!(image(&idle), image(&stable));
    assert_eq!(idle["spec"]["replicas"], 0);

    // Blue-green: traffic on blue, the next version staged and ready on green.
    let payments = get(&world, "prod", *kinds::SERVICES, "payments");
    assert_eq!(payments["spec"]["selector"]["version"], "blue");
    let green = get(&world, "prod", *kinds::DEPLOYMENTS, "payments-green");
    assert_eq!(green["status"]["readyReplicas"], green["spec"]["replicas"]);

    // Helm history as Helm stores it: one deployed revision, earlier ones superseded.
    let helm: Vec<Value> = names(&world, "prod", *kinds::SECRETS)
        .iter()
        .filter(|n| n.starts_with("sh.helm.release.v1.catalog."))
        .map(|n| get(&world, "prod", *kinds::SECRETS, n))
        .collect();
    assert_eq!(helm.len(), 3);
    let deployed: Vec<&str> = helm
        .iter()
        .map(|s| {
            s["metadata"]["labels"]["status"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        deployed.iter().filter(|s| **s == "deployed").count(),
        1,
        "{deployed:?}"
    );

    // Every service has 3–6 revisions in dev, each with a change-cause.
    for svc in DEMO {
        let (rs, _) = world
            .env("dev")
            .cluster
            .store
            .list(*kinds::REPLICASETS, Some(NAMESPACE));
        let owned: Vec<_> = rs
            .iter()
            .filter(|r| r["metadata"]["labels"]["app"] == svc.name)
            .filter(|r| r["metadata"]["annotations"]["kubernetes.io/change-cause"].is_string())
            .collect();
        assert!(owned.len() >= 3, "{}: {} revisions", svc.name, owned.len());
    }

    // The registry holds what the clusters run, and promotion kept digests.
    let dev = world
        .registry
        .resolve_tag("dev/orders", "v1.4.2")
        .expect("dev tag");
    let prod = world
        .registry
        .resolve_tag("prod/orders", "v1.4.2")
        .expect("prod tag");
    assert_eq!(dev, prod, "promoted by digest");
    let tags = world.registry.tags("dev/orders");
    assert!(tags.iter().any(|t| t == "v1.6.0-rc.1"), "{tags:?}");
    assert!(tags.iter().any(|t| t.starts_with("sha-")), "{tags:?}");
    assert!(
        world
            .registry
            .resolve_tag("prod/orders", "v1.6.0-rc.1")
            .is_none()
    );

    // The written shipdeck.toml reads back and names the protected environment.
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = world
        .write_files(&dir.path().join("kubeconfig"))
        .expect("files written");
    let config = shipdeck::config::load_file(&config_path).expect("valid shipdeck.toml");
    assert_eq!(config.services.len(), DEMO.len());
    assert!(config.env("prod").is_some_and(|e| e.protected));

    // Same scenario, same addresses, same world: names and revisions are deterministic.
    let before: Vec<Vec<String>> = ["dev", "prod"]
        .iter()
        .flat_map(|env| {
            [
                names(&world, env, *kinds::REPLICASETS),
                names(&world, env, *kinds::PODS),
            ]
        })
        .collect();
    world.shutdown().await;
    let again = demo_world(port_base).await;
    let after: Vec<Vec<String>> = ["dev", "prod"]
        .iter()
        .flat_map(|env| {
            [
                names(&again, env, *kinds::REPLICASETS),
                names(&again, env, *kinds::PODS),
            ]
        })
        .collect();
    assert_eq!(before, after);
    again.shutdown().await;
}
