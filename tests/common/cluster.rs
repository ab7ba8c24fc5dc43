//! A sandbox cluster served over real HTTP, with a kubeconfig, for kubectl and kube tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use shipdeck::sandbox::api::{ApiServer, ServeOptions, serve};
use shipdeck::sandbox::clock::Clock;
use shipdeck::sandbox::kubeconfig::{KubeContext, write_kubeconfig};
use shipdeck::sandbox::ops::{Cluster, WriteOpts};
use shipdeck::sandbox::resources::ResId;
use shipdeck::sandbox::store::Store;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub const KUBECTL: &str = "/usr/bin/kubectl";

/// A Deployment and its Service, as a user would write them for `kubectl apply -f`.
pub const MANIFEST: &str = r#"apiVersion: apps/v1
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

pub struct Sandbox {
    pub cluster: Arc<Cluster>,
    pub server: Option<ApiServer>,
    pub dir: TempDir,
    pub kubeconfig: PathBuf,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "kubectl failed: {self:?}");
        &self.stdout
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok()).expect("kubectl printed JSON")
    }
}

impl Sandbox {
    pub async fn start() -> Sandbox {
        Self::start_with_token(None).await
    }

    pub async fn start_with_token(token: Option<&str>) -> Sandbox {
        let store = Arc::new(Store::default());
        let cluster = Arc::new(Cluster::new("dev", store, Clock::manual(Clock::epoch())));
        cluster
            .ensure_namespace("default")
            .expect("default namespace");
        cluster.ensure_namespace("shop").expect("shop namespace");
        let server = serve(
            cluster.clone(),
            ServeOptions {
                addr: "127.0.0.1:0".parse().expect("address"),
                token: token.map(str::to_string),
            },
        )
        .await
        .expect("server starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        write_kubeconfig(
            &kubeconfig,
            &[KubeContext {
                name: "sandbox-dev".into(),
                server: server.url(),
                token: token.map(str::to_string),
                namespace: Some("shop".into()),
            }],
        )
        .expect("kubeconfig written");
        Sandbox {
            cluster,
            server: Some(server),
            dir,
            kubeconfig,
        }
    }

    pub fn url(&self) -> String {
        self.server.as_ref().map(ApiServer::url).unwrap_or_default()
    }

    /// Writes a file into the sandbox's temporary directory.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs kubectl to completion (without blocking the runtime that serves it).
    pub async fn kubectl(&self, args: &[&str]) -> Run {
        let out =
            tokio::time::timeout(Duration::from_secs(60), self.kubectl_command(args).output())
                .await
                .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
                .expect("kubectl runs");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Starts a long-running kubectl (e.g. `get -w`), reading its stdout line by line.
    pub fn kubectl_spawn(&self, args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
        let mut child = self
            .kubectl_command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl starts");
        let stdout = child.stdout.take().expect("piped stdout");
        (child, BufReader::new(stdout).lines())
    }

    pub async fn client(&self) -> kube::Client {
        client_for(&self.kubeconfig).await
    }

    /// Creates an object through the API semantics layer (what controllers and scenarios do).
    pub fn create(&self, res: ResId, namespace: &str, obj: Value) -> Arc<Value> {
        self.cluster
            .create(res, namespace, obj, &WriteOpts::default())
            .expect("create")
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    shipdeck::install_crypto_provider();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kube reads the kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// Reads lines until one satisfies `pred`, or fails after `secs`.
pub async fn wait_for_line(
    lines: &mut Lines<BufReader<ChildStdout>>,
    secs: u64,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let hit = pred(&line);
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "no matching line; saw {seen:#?}");
    seen
}

/// A Deployment of `app` (no controllers run in these tests, so it stays as written).
pub fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

pub fn pod(name: &str, labels: Value, phase: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:1.0"}]},
        "status": {"phase": phase}
    })
}

/// Cells of the first row whose first cell is `name`, split on runs of spaces.
pub fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
}

#[track_caller]
pub fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The next item of a stream, failing the test after 10 seconds.
pub async fn next<S, T>(stream: &mut S) -> T
where
    S: futures::Stream<Item = T> + Unpin,
{
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an item within 10s")
        .expect("stream still open")
}
