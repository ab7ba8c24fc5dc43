//! `shipdeck tags`: the real binary lists a demo service's tags from the embedded registry
//! over HTTP, newest semver first, with digests and where each image runs.

use serde_json::Value;
use shipdeck::sandbox::world::{World, WorldOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_tags_with_digests_and_where_they_run() {
    let world = World::start(WorldOptions {
        manual_clock: true,
        ..WorldOptions::default()
    })
    .await
    .expect("demo world");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world
        .write_files(&dir.path().join("kubeconfig"))
        .expect("files");
    let run = |args: &[&str]| {
        let config = config.clone();
        let state = dir.path().join("state");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
                .arg("--config")
                .arg(&config)
                .args(&args)
                .env("XDG_STATE_HOME", &state)
                .output()
                .expect("shipdeck runs")
        })
    };

    let out = run(&["tags", "orders", "--env", "prod", "--output", "json"])
        .await
        .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let tags: Vec<&Value> = doc["tags"].as_array().expect("tags").iter().collect();
    let names: Vec<&str> = tags.iter().filter_map(|t| t["tag"].as_str()).collect();
    assert_eq!(
        names.first(),
        Some(&"v1.5.0"),
        "newest semver first: {names:?}"
    );
    assert!(
        !names.contains(&"v1.6.0-rc.1"),
        "prod holds only promoted images: {names:?}"
    );
    let stable = tags.iter().find(|t| t["tag"] == "v1.4.2").expect("v1.4.2");
    assert!(
        stable["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    assert_eq!(
        stable["running_in"],
        serde_json::json!(["prod"]),
        "stable runs in prod only"
    );
    let canary = tags.iter().find(|t| t["tag"] == "v1.5.0").expect("v1.5.0");
    assert_eq!(
        canary["running_in"],
        serde_json::json!(["dev", "staging", "prod"])
    );

    let out = run(&["tags", "orders"]).await.expect("join");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    let rc = table
        .lines()
        .position(|l| l.starts_with("v1.6.0-rc.1"))
        .expect("rc listed");
    let release = table
        .lines()
        .position(|l| l.starts_with("v1.6.0 "))
        .unwrap_or(usize::MAX);
    let newest_release = table
        .lines()
        .position(|l| l.starts_with("v1.5.0"))
        .expect("v1.5.0");
    assert!(
        rc < newest_release && release == usize::MAX,
        "pre-release above older releases:\n{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("latest")), "{table}");

    let out = run(&["tags", "nope"]).await.expect("join");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service \"nope\""));
    world.shutdown().await;
}
