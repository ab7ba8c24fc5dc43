//! The real `shipdeck sandbox serve` binary: what it prints, that kubectl works against each
//! environment's context, that the shipdeck.toml it writes drives `shipdeck status`, that
//! `--token` closes the API to anonymous callers, and that SIGTERM stops it cleanly.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::KUBECTL;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const SHIPDECK: &str = env!("CARGO_BIN_EXE_shipdeck");

/// A running `sandbox serve` and what it announced.
struct Served {
    child: Child,
    rest: Lines<BufReader<ChildStdout>>,
    /// Lines printed up to "Press Ctrl-C to stop.".
    banner: Vec<String>,
    dir: TempDir,
}

impl Served {
    /// Starts the binary on free ports, writing its files into a fresh directory, and waits
    /// until it says it is ready.
    async fn start(extra: &[&str]) -> Served {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("world").join("kubeconfig");
        let mut child = command(SHIPDECK, dir.path())
            .args(["sandbox", "serve", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("shipdeck starts");
        let mut rest = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut banner = Vec::new();
        let ready = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = rest.next_line().await {
                let done = line == "Press Ctrl-C to stop.";
                banner.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "sandbox serve not ready: {banner:#?}");
        Served {
            child,
            rest,
            banner,
            dir,
        }
    }

    /// The value after `prefix` on the banner line that starts with it.
    fn field(&self, prefix: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {:#?}", self.banner))
            .to_string()
    }

    /// `http://127.0.0.1:PORT` of an environment, from its banner line.
    fn env_url(&self, env: &str) -> String {
        self.banner
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.first() == Some(&env))
            .and_then(|w| w.get(1).map(|u| u.to_string()))
            .unwrap_or_else(|| panic!("no {env} line in {:#?}", self.banner))
    }

    async fn kubectl(&self, kubeconfig: &Path, context: &str, args: &[&str]) -> (i32, String) {
        // A fresh discovery cache per call: ports are reused between test runs.
        let cache = tempfile::tempdir_in(self.dir.path()).expect("cache dir");
        let out = command(KUBECTL, self.dir.path())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--context", context, "--cache-dir"])
            .arg(cache.path())
            .args(args)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), out)
            .await
            .expect("kubectl finishes")
            .expect("kubectl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    }

    /// SIGTERM, then a clean exit with code 0 and the goodbye line.
    async fn terminate(mut self) {
        let pid = self.child.id().expect("still running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success());
        let mut tail = Vec::new();
        let exited = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = self.rest.next_line().await {
                tail.push(line);
            }
            self.child.wait().await
        })
        .await
        .expect("sandbox serve exits after SIGTERM")
        .expect("exit status");
        assert_eq!(exited.code(), Some(0), "{tail:#?}");
        assert_eq!(tail, ["shipdeck sandbox: stopping"]);
    }
}

/// A child process that cannot see the user's files or settings.
fn command(program: &str, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("KUBECONFIG")
        .env_remove("SHIPDECK_SANDBOX_TOKEN")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

fn http() -> reqwest::Client {
    shipdeck::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_announces_a_world_kubectl_and_shipdeck_can_use() {
    let served = Served::start(&[]).await;
    let kubeconfig = PathBuf::from(served.field("kubeconfig: "));
    assert_eq!(
        kubeconfig,
        served.dir.path().join("world").join("kubeconfig")
    );
    assert_eq!(
        served.field("export KUBECONFIG="),
        kubeconfig.display().to_string()
    );
    let config = PathBuf::from(served.field("config: "));
    assert_eq!(config, kubeconfig.with_file_name("shipdeck.toml"));

    // kubectl against every environment's context: each is its own cluster.
    for env in ["dev", "staging", "prod"] {
        let context = format!("sandbox-{env}");
        let (code, out) = served
            .kubectl(
                &kubeconfig,
                &context,
                &["config", "view", "--minify", "-o", "json"],
            )
            .await;
        assert_eq!(code, 0, "{out}");
        let view: Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(
            view["clusters"][0]["cluster"]["server"],
            served.env_url(env)
        );
        let (code, out) = served
            .kubectl(&kubeconfig, &context, &["get", "deploy", "-o", "name"])
            .await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("deployment.apps/orders\n"), "{env}: {out}");
        let (code, out) = served
            .kubectl(&kubeconfig, &context, &["get", "nodes", "-o", "name"])
            .await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!("node/{env}-worker\n")),
            "{env}: {out}"
        );
    }

    // The registry speaks the distribution API; metrics are Prometheus text.
    let registry = served.field("registry: ");
    let host = registry.strip_prefix("127.0.0.1:").expect("loopback");
    assert!(host.parse::<u16>().is_ok(), "{registry}");
    let v2 = http()
        .get(format!("http://{registry}/v2/"))
        .send()
        .await
        .expect("registry answers");
    assert_eq!(v2.status(), 200);
    let metrics = served.field("metrics: ");
    let metrics_url = metrics.split_whitespace().next().expect("URL");
    assert!(metrics_url.ends_with("/metrics"), "{metrics}");
    let text = http()
        .get(metrics_url)
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("body");
    assert!(text.contains("# TYPE "), "{text}");

    // The written shipdeck.toml loads and `status` reaches every environment.
    let toml: toml::Table = std::fs::read_to_string(&config)
        .expect("config written")
        .parse()
        .expect("valid TOML");
    let services: Vec<&str> = toml["service"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(services.len() >= 5, "{services:?}");
    let out = command(SHIPDECK, served.dir.path())
        .arg("--config")
        .arg(&config)
        .args(["status", "--output", "json"])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("status finishes")
        .expect("status runs");
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status printed JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for svc in &services {
        let envs: Vec<&str> = rows
            .iter()
            .filter(|r| r["service"] == *svc)
            .filter_map(|r| r["env"].as_str())
            .collect();
        assert_eq!(envs, ["dev", "staging", "prod"], "{svc}: {rows:#?}");
    }
    assert!(
        rows.iter().all(|r| r.get("error").is_none()),
        "every environment answered: {rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["service"] == "orders" && r["ready"].as_i64() > Some(0)),
        "{rows:#?}"
    );

    // An open watch does not keep the server from stopping.
    let cache = tempfile::tempdir_in(served.dir.path()).expect("cache dir");
    let mut watch = command(KUBECTL, served.dir.path())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--context", "sandbox-prod", "--cache-dir"])
        .arg(cache.path())
        .args(["get", "pods", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let mut watched = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    common::wait_for_line(&mut watched, 30, |l| l.starts_with("NAME")).await;
    served.terminate().await;
    let _ = watch.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_closes_the_api_to_anonymous_callers() {
    let served = Served::start(&["--scenario", "empty", "--token", "s3cret"]).await;
    let dev = served.env_url("dev");
    let url = format!("{dev}/api/v1/namespaces/shop/pods");

    for auth in [None, Some("Bearer wrong")] {
        let mut req = http().get(&url);
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().await.expect("answer");
        assert_eq!(resp.status(), 401, "{auth:?}");
        let status: Value = resp.json().await.expect("a Status body");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["apiVersion"], "v1");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["reason"], "Unauthorized");
        assert_eq!(status["code"], 401);
    }
    let resp = http()
        .get(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.expect("JSON");
    assert_eq!(list["kind"], "PodList");

    // The kubeconfig carries the token for tools that send it.
    let kubeconfig = PathBuf::from(served.field("kubeconfig: "));
    let written = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    assert!(written.contains("s3cret"), "{written}");

    // shipdeck with that kubeconfig gets in; with another token it says it was refused.
    let status = |kubeconfig: PathBuf| {
        let mut cmd = command(SHIPDECK, served.dir.path());
        cmd.args([
            "status",
            "-o",
            "json",
            "--context",
            "sandbox-dev",
            "--kubeconfig",
        ])
        .arg(kubeconfig);
        cmd.output()
    };
    let ok = status(kubeconfig.clone()).await.expect("shipdeck runs");
    assert!(ok.status.success(), "{ok:?}");
    let wrong = kubeconfig.with_file_name("wrong-token");
    std::fs::write(&wrong, written.replace("s3cret", "not-the-token")).expect("write");
    let refused = status(wrong).await.expect("shipdeck runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("401"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-token"),
        "no token in messages: {stderr}"
    );
    served.terminate().await;
}
