//! A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and kwok (which plays the kubelets of a few fake nodes), built from pinned Go
//! modules by `tests/real/build.sh`.
//!
//! It starts once per test process, on first use, on free loopback ports in a temporary
//! directory, and serves every test of the process: give each test its own namespace
//! ([`RealCluster::namespace`]). Each component runs under a small shell watchdog that kills it
//! (and a last one removes the directory) once the test process is gone, however it ended —
//! even by SIGKILL — since statics are never dropped and `unsafe` (prctl) is forbidden here.
//!
//! Without a build (`tests/real/build.sh --locate` fails) the tests say so and pass, except
//! under `CI`, where that is a failure.
//!
//! What the cluster has:
//! - TLS with our own CA; authentication by client certificate and by static token
//!   (`--token-auth-file`); authorization `Node,RBAC`; service-account tokens.
//! - Nodes [`NODES`], Ready, managed by kwok. Pods become Ready 1–2 s after scheduling and Job
//!   pods complete; the faults of `tests/real/stages/README.md` (crash loop, unready, missing
//!   image) are chosen by pod annotations.
//! - CRDs: Gateway API (standard), Istio, SMI TrafficSplit (v1alpha2..v1alpha4 served).
//! - Users (all in one kubeconfig): [`ADMIN`] (client certificate, system:masters, the current
//!   context), [`VIEWER`] (token, bound to the `view` ClusterRole) and [`PATCHER`] (token, may
//!   only get and patch Deployments, and read their ReplicaSets, in
//!   [`RealCluster::patcher_namespace`]; kubectl patch gets the object first).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::Run;

mod boot;

/// Context names in [`RealCluster::kubeconfig`]. `ADMIN` is the current context.
pub const ADMIN: &str = "real-admin";
pub const VIEWER: &str = "real-viewer";
pub const PATCHER: &str = "real-patcher";

/// The fake nodes kwok manages.
pub const NODES: [&str; 2] = ["kwok-node-0", "kwok-node-1"];

/// The one namespace where the [`PATCHER`] user may get and patch Deployments.
const PATCHER_NAMESPACE: &str = "patchable";

/// The system kubectl (a dispatcher that picks 1.27..1.33 by the server's version).
const KUBECTL: &str = "kubectl";

const START_TIMEOUT: Duration = Duration::from_secs(120);

pub struct RealCluster {
    /// Temporary directory: certificates, kubeconfigs, `logs/<component>.log`.
    pub dir: PathBuf,
    /// The build's directory (`bin/`, `stages/`, `crds/`), from `tests/real/build.sh`.
    pub build: PathBuf,
    /// `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`, `etcd`, `kwok`, `helm`.
    pub bin: PathBuf,
    /// `https://127.0.0.1:PORT`
    pub server: String,
    /// The cluster CA (it signed the serving certificate and the client certificates).
    pub ca: PathBuf,
    /// Contexts [`ADMIN`] (current), [`VIEWER`] and [`PATCHER`], all with namespace `default`.
    pub kubeconfig: PathBuf,
    /// Bearer tokens of the token users (also in the kubeconfig).
    pub viewer_token: String,
    pub patcher_token: String,
    pub patcher_namespace: String,
    /// How long the control plane took to start (including CRDs, nodes and RBAC).
    pub started_in: Duration,
    /// When each startup phase ended (for the log line and for looking into slow starts).
    pub startup: String,
    /// The watchdogs of the components (kept so their handles are not lost).
    _watchdogs: Vec<Child>,
}

/// A namespace for one test; deleted (without waiting) when dropped.
pub struct Namespace<'a> {
    pub name: String,
    cluster: &'a RealCluster,
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        let _ = self
            .cluster
            .kubectl(&["delete", "namespace", &self.name, "--wait=false"]);
    }
}

impl std::ops::Deref for Namespace<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

static CLUSTER: OnceLock<Option<Result<RealCluster, String>>> = OnceLock::new();

/// Returns from the test (after saying why) when the real control plane is not built; panics
/// under `CI`, where a missing control plane is a failure.
#[macro_export]
macro_rules! real_cluster_or_skip {
    () => {
        match $crate::common::real_cluster::RealCluster::get() {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

impl RealCluster {
    /// The process's control plane, started on first use. `None` (after printing why) when
    /// it is not built and `CI` is unset. Panics with the components' logs if it fails to
    /// start (every later caller gets the same error, without another attempt).
    pub fn get() -> Option<&'static RealCluster> {
        let state = CLUSTER.get_or_init(|| {
            let build = locate_build()?;
            let mut result = boot::start(build.clone());
            // A port picked as free can be taken before a component binds it.
            if result
                .as_ref()
                .is_err_and(|e| e.contains("address already in use"))
            {
                result = boot::start(build);
            }
            Some(result)
        });
        match state {
            None => None,
            Some(Ok(cluster)) => Some(cluster),
            Some(Err(e)) => panic!("the real control plane did not start: {e}"),
        }
    }

    /// A `kubectl` command for this cluster (current context [`ADMIN`]); add `--context` for
    /// another user.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.join("kube-cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs kubectl to completion as [`ADMIN`].
    pub fn kubectl(&self, args: &[&str]) -> Run {
        run(self.kubectl_command(args))
    }

    /// Runs kubectl as the user of `context` ([`VIEWER`], [`PATCHER`]).
    pub fn kubectl_as(&self, context: &str, args: &[&str]) -> Run {
        let mut all = vec!["--context", context];
        all.extend_from_slice(args);
        self.kubectl(&all)
    }

    /// `kubectl apply -f -` of `manifest` (YAML or JSON) in `namespace`.
    #[track_caller]
    pub fn apply(&self, namespace: &str, manifest: &str) -> String {
        let mut cmd = self.kubectl_command(&["apply", "-n", namespace, "-f", "-"]);
        run_with_input(&mut cmd, manifest).ok().to_string()
    }

    /// `kubectl get KIND NAME -o json`.
    #[track_caller]
    pub fn get_json(&self, namespace: &str, kind_and_name: &[&str]) -> Value {
        let mut args = vec!["get", "-n", namespace, "-o", "json"];
        args.extend_from_slice(kind_and_name);
        self.kubectl(&args).json()
    }

    /// helm from the build, with this cluster's kubeconfig and its own cache directories.
    pub fn helm_command(&self, args: &[&str]) -> Command {
        let home = self.dir.join("helm");
        let mut cmd = Command::new(self.bin.join("helm"));
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .stdin(Stdio::null());
        cmd
    }

    pub fn helm(&self, args: &[&str]) -> Run {
        run(self.helm_command(args))
    }

    /// A fresh namespace `<prefix>-<n>` whose `default` ServiceAccount exists (pods can be
    /// created at once); deleted when the returned value is dropped.
    #[track_caller]
    pub fn namespace(&self, prefix: &str) -> Namespace<'_> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.kubectl(&["create", "namespace", &name]).ok();
        wait_until(
            Duration::from_secs(60),
            "the default ServiceAccount",
            || {
                let run = self.kubectl(&["get", "serviceaccount", "default", "-n", &name]);
                (run.code == 0).then_some(())
            },
        )
        .unwrap_or_else(|e| panic!("namespace {name}: {e}"));
        Namespace {
            name,
            cluster: self,
        }
    }

    /// The last lines of a component's log (`etcd`, `kube-apiserver`, `kwok`, ...).
    pub fn log_tail(&self, component: &str, lines: usize) -> String {
        tail(
            &self.dir.join("logs").join(format!("{component}.log")),
            lines,
        )
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `timeout`.
pub fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run(mut cmd: Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{:?} did not run: {e}", cmd.get_program()));
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn run_with_input(cmd: &mut Command, input: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} did not run: {e}", cmd.get_program()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The build directory, or `None` (locally, after saying so) when it is not built.
fn locate_build() -> Option<PathBuf> {
    let script = repo().join("tests/real/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--locate")
        .stdin(Stdio::null())
        .output();
    let reason = match out {
        Ok(out) if out.status.success() => {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            return Some(PathBuf::from(dir));
        }
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => format!("bash did not run: {e}"),
    };
    if std::env::var_os("CI").is_some() {
        panic!("real control plane not built ({reason}); CI must run tests/real/build.sh first");
    }
    eprintln!("skipped: real control plane not built; run tests/real/build.sh ({reason})");
    None
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
