//! The real binary: `shipdeck deploy SERVICE TAG --env ENV --wait --output json` against a
//! sandbox on a real-time clock (5× speed), with a short analysis interval so checks come
//! every few seconds. Exit 0 when promoted, 6 when rolled back; the JSON names every check's
//! metric, value, threshold and verdict, and the final action.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use shipdeck::sandbox::images::FAULT_LABEL;
use shipdeck::sandbox::registry::ImageSpec;
use shipdeck::sandbox::world::{World, WorldOptions};

async fn world() -> World {
    shipdeck::install_crypto_provider();
    World::start(WorldOptions {
        manual_clock: false,
        speed: 5.0,
        ..WorldOptions::default()
    })
    .await
    .expect("demo world starts")
}

/// The world's files, with `service` analysed every 4 s (wall clock) and watched for 8 s.
fn files(world: &World, dir: &Path, service: &str) -> std::path::PathBuf {
    let toml = world.write_files(&dir.join("kubeconfig")).expect("files");
    let mut config = shipdeck::config::load_file(&toml).expect("config");
    let svc = config
        .services
        .iter_mut()
        .find(|s| s.name == service)
        .expect("service");
    let analysis = svc.analysis.as_mut().expect("analysed");
    analysis.interval = Duration::from_secs(4);
    analysis.watch_after_deploy = Duration::from_secs(8);
    std::fs::write(&toml, config.to_toml()).expect("rewrite config");
    toml
}

async fn deploy(dir: &Path, config: &Path, service: &str, tag: &str) -> (i32, Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--config")
        .arg(config)
        .args([
            "deploy", service, tag, "--env", "staging", "--wait", "--yes", "--output", "json",
        ])
        .env("SHIPDECK_AUDIT_LOG", dir.join("audit.jsonl"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("shipdeck finishes")
        .expect("shipdeck runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), doc, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_wait_rolls_back_a_faulty_version_and_says_why() {
    let world = world().await;
    let spec = ImageSpec::default().with_label(FAULT_LABEL, "errors=0.3");
    world.registry.seed("dev/users", &["v4.7.0"], &spec);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = files(&world, dir.path(), "users");
    let (code, doc, stderr) = deploy(dir.path(), &config, "users", "v4.7.0").await;

    assert_eq!(code, 6, "{doc:#}\n{stderr}");
    assert_eq!(doc["result"], "rolled_back");
    let checks = doc["analysis"]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 2, "{doc:#}");
    let error_rate = checks[0]["checks"]
        .as_array()
        .expect("per metric")
        .iter()
        .find(|c| c["metric"] == "error_rate")
        .expect("error rate");
    assert_eq!(error_rate["verdict"], "fail");
    assert_eq!(error_rate["threshold"], 0.01);
    assert!(
        error_rate["value"].as_f64().is_some_and(|v| v > 0.1),
        "{error_rate}"
    );
    let last = &doc["final_action"];
    assert_eq!(last["action"], "rollback");
    let reason = last["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("automatic rollback: error rate ") && reason.ends_with("for 2 checks"),
        "{reason}"
    );
    assert!(stderr.contains("check 1: ✗ fail"), "{stderr}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_wait_promotes_a_healthy_version() {
    let world = world().await;
    world
        .registry
        .seed("dev/users", &["v4.7.1"], &ImageSpec::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let config = files(&world, dir.path(), "users");
    let (code, doc, stderr) = deploy(dir.path(), &config, "users", "v4.7.1").await;

    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    assert_eq!(doc["result"], "promoted");
    let checks = doc["analysis"]["checks"].as_array().expect("checks");
    assert!(
        !checks.is_empty() && checks.iter().all(|c| c["verdict"] == "pass"),
        "{doc:#}"
    );
    assert_eq!(
        doc["final_action"],
        Value::Null,
        "a rolling update needs no action to promote"
    );
    assert_eq!(doc["plan"]["action"]["tag"], "v4.7.1");
    world.shutdown().await;
}
