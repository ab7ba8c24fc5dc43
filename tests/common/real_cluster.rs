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
//!   only get and patch Deployments in [`RealCluster::patcher_namespace`]; kubectl patch gets
//!   the object first).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::Run;

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
            let mut result = start(build.clone());
            // A port picked as free can be taken before a component binds it.
            if result
                .as_ref()
                .is_err_and(|e| e.contains("address already in use"))
            {
                result = start(build);
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

/// `N` distinct free loopback ports (held together while they are picked). Another process can
/// still take one before our component binds it; [`RealCluster::get`] then tries again.
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Runs `program args` under a watchdog shell that stops it (TERM, then KILL after 5 s) once
/// the test process `parent` is gone or the watchdog gets SIGTERM; if the program ends by
/// itself, the watchdog exits with its status. Output goes to `log`.
const WATCHDOG: &str = r#"
parent=$1 log=$2
shift 2
"$@" >>"$log" 2>&1 </dev/null &
child=$!
stop=
trap 'stop=1' TERM INT
while [ -z "$stop" ] && kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 1
done
if [ -z "$stop" ] && kill -0 "$parent" 2>/dev/null; then
  wait "$child"
  exit $?
fi
kill "$child" 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do
  kill -0 "$child" 2>/dev/null || exit 0
  sleep 0.5
done
kill -9 "$child" 2>/dev/null
"#;

/// Removes the directory once the test process is gone and the components had time to stop
/// (unless `keep` is set: `SHIPDECK_REAL_KEEP`, to read the logs after a run).
const REAPER: &str = r#"
parent=$1 dir=$2 keep=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
sleep 8
[ -n "$keep" ] || rm -rf "$dir"
"#;

struct Starter {
    dir: PathBuf,
    logs: PathBuf,
    children: Vec<(String, Child)>,
}

impl Starter {
    fn spawn(&mut self, name: &str, program: &Path, args: &[String]) -> Result<(), String> {
        let log = self.logs.join(format!("{name}.log"));
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("watchdog")
            .arg(std::process::id().to_string())
            .arg(&log)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        self.children.push((name.to_string(), child));
        Ok(())
    }

    /// An error if a component has exited, with the end of its log.
    fn check_alive(&mut self) -> Result<(), String> {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{name} exited ({status}); the end of its log:\n{}",
                    tail(&self.logs.join(format!("{name}.log")), 30)
                ));
            }
        }
        Ok(())
    }

    /// Waits until `check` succeeds, failing early if a component dies; on timeout the error
    /// has the end of `component`'s log.
    fn wait(
        &mut self,
        what: &str,
        component: &str,
        timeout: Duration,
        mut check: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if check() {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}; the end of {component}'s log:\n{}",
                    tail(&self.logs.join(format!("{component}.log")), 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn start(build: PathBuf) -> Result<RealCluster, String> {
    let started = Instant::now();
    let bin = build.join("bin");
    let dir = tempfile::Builder::new()
        .prefix("shipdeck-real-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let reaper = Command::new("sh")
        .arg("-c")
        .arg(REAPER)
        .arg("reaper")
        .arg(std::process::id().to_string())
        .arg(&dir)
        .arg(std::env::var_os("SHIPDECK_REAL_KEEP").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("reaper: {e}"))?;
    let mut s = Starter {
        dir: dir.clone(),
        logs,
        children: Vec::new(),
    };
    let result = boot(&mut s, &build, &bin, started);
    if result.is_err() {
        // The test process lives on: stop what did start (SIGTERM: each watchdog stops its
        // program; killing the watchdog itself would leave the program running).
        for (_, child) in &mut s.children {
            let _ = Command::new("kill")
                .arg(child.id().to_string())
                .stderr(Stdio::null())
                .status();
        }
        for (_, child) in &mut s.children {
            let _ = child.wait();
        }
    }
    let mut watchdogs: Vec<Child> = s.children.into_iter().map(|(_, c)| c).collect();
    watchdogs.push(reaper);
    match result {
        Ok(mut cluster) => {
            cluster._watchdogs = watchdogs;
            eprintln!(
                "real control plane: {} in {:.1?} ({}; {})",
                cluster.server,
                cluster.started_in,
                cluster.startup,
                cluster.dir.display()
            );
            Ok(cluster)
        }
        Err(e) => Err(format!(
            "{e}\n(logs in {}; SHIPDECK_REAL_KEEP=1 keeps them after the run)",
            dir.display()
        )),
    }
}

fn boot(
    s: &mut Starter,
    build: &Path,
    bin: &Path,
    started: Instant,
) -> Result<RealCluster, String> {
    let mut phases: Vec<String> = Vec::new();
    let mut mark = |phase: &str| phases.push(format!("{phase} {:.1?}", started.elapsed()));
    let certs = Command::new("bash")
        .arg(repo().join("tests/real/certs.sh"))
        .arg(&s.dir)
        .output()
        .map_err(|e| format!("certs.sh: {e}"))?;
    if !certs.status.success() {
        return Err(format!(
            "certs.sh failed: {}",
            String::from_utf8_lossy(&certs.stderr)
        ));
    }

    let [etcd_port, peer_port, api_port] = free_ports::<3>();
    let server = format!("https://127.0.0.1:{api_port}");
    let ca = s.dir.join("ca.crt");
    let viewer_token = token();
    let patcher_token = token();
    let dir = s.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let write = |name: &str, contents: String| {
        std::fs::write(dir.join(name), contents).map_err(|e| format!("{name}: {e}"))
    };
    write(
        "tokens.csv",
        format!("{viewer_token},viewer,viewer,\n{patcher_token},patcher,patcher,\n"),
    )?;
    let cluster_entry = format!(
        "- name: real\n  cluster:\n    server: {server}\n    certificate-authority: {}\n",
        ca.display()
    );
    // One kubeconfig per component (client certificates), and the users' kubeconfig.
    for component in ["controller-manager", "scheduler", "kwok"] {
        write(
            &format!("{component}.kubeconfig"),
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n{cluster_entry}users:\n- name: {component}\n  user:\n    client-certificate: {dir}/{component}.crt\n    client-key: {dir}/{component}.key\ncontexts:\n- name: real\n  context: {{cluster: real, user: {component}}}\ncurrent-context: real\n",
                dir = dir.display()
            ),
        )?;
    }
    let kubeconfig = s.dir.join("kubeconfig");
    write(
        "kubeconfig",
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n{cluster_entry}users:\n- name: admin\n  user:\n    client-certificate: {dir}/admin.crt\n    client-key: {dir}/admin.key\n- name: viewer\n  user:\n    token: {viewer_token}\n- name: patcher\n  user:\n    token: {patcher_token}\ncontexts:\n- name: {ADMIN}\n  context: {{cluster: real, user: admin, namespace: default}}\n- name: {VIEWER}\n  context: {{cluster: real, user: viewer, namespace: default}}\n- name: {PATCHER}\n  context: {{cluster: real, user: patcher, namespace: default}}\ncurrent-context: {ADMIN}\n",
            dir = dir.display()
        ),
    )?;

    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    s.spawn(
        "etcd",
        &bin.join("etcd"),
        &args(&[
            "--name=real",
            &format!("--data-dir={}", path("etcd")),
            &format!("--listen-client-urls={etcd_url}"),
            &format!("--advertise-client-urls={etcd_url}"),
            &format!("--listen-peer-urls={peer_url}"),
            &format!("--initial-advertise-peer-urls={peer_url}"),
            &format!("--initial-cluster=real={peer_url}"),
            // A test cluster's data need not survive a crash; fsync is most of etcd's latency.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]),
    )?;
    s.spawn(
        "kube-apiserver",
        &bin.join("kube-apiserver"),
        &args(&[
            &format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            &format!("--secure-port={api_port}"),
            &format!("--cert-dir={}", path("apiserver-certs")),
            &format!("--tls-cert-file={}", path("apiserver.crt")),
            &format!("--tls-private-key-file={}", path("apiserver.key")),
            &format!("--client-ca-file={}", ca.display()),
            &format!("--token-auth-file={}", path("tokens.csv")),
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            &format!("--service-account-key-file={}", path("service-account.pub")),
            &format!(
                "--service-account-signing-key-file={}",
                path("service-account.key")
            ),
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            // The `kubernetes` Service's endpoint would be 127.0.0.1, which endpoints reject.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]),
    )?;

    let admin = |args: &[&str]| {
        Command::new(KUBECTL)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .output()
    };
    s.wait(
        "kube-apiserver /readyz",
        "kube-apiserver",
        START_TIMEOUT,
        || admin(&["get", "--raw", "/readyz"]).is_ok_and(|o| o.status.success()),
    )?;
    mark("apiserver ready");

    let kubeconfig_arg =
        |component: &str| format!("--kubeconfig={}", path(&format!("{component}.kubeconfig")));
    s.spawn(
        "kube-controller-manager",
        &bin.join("kube-controller-manager"),
        &args(&[
            &kubeconfig_arg("controller-manager"),
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            &format!(
                "--service-account-private-key-file={}",
                path("service-account.key")
            ),
            &format!("--root-ca-file={}", ca.display()),
            &format!("--cluster-signing-cert-file={}", ca.display()),
            &format!("--cluster-signing-key-file={}", path("ca.key")),
            // No serving port (nothing scrapes it, and parallel clusters would collide).
            "--secure-port=0",
            "--profiling=false",
        ]),
    )?;
    s.spawn(
        "kube-scheduler",
        &bin.join("kube-scheduler"),
        &args(&[
            &kubeconfig_arg("scheduler"),
            "--leader-elect=false",
            "--secure-port=0",
            "--profiling=false",
        ]),
    )?;
    let mut kwok_args = vec![
        kubeconfig_arg("kwok"),
        "--manage-all-nodes=true".to_string(),
        // The nodes' InternalIP (and so the pods' hostIP): loopback, never a real address.
        "--node-ip=127.0.0.1".to_string(),
    ];
    for stage_dir in [build.join("stages"), repo().join("tests/real/stages")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&stage_dir)
            .map_err(|e| format!("{}: {e}", stage_dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        kwok_args.extend(files.iter().map(|f| format!("--config={}", f.display())));
    }
    s.spawn("kwok", &bin.join("kwok"), &kwok_args)?;

    // Nodes, the token users' RBAC, and the CRDs.
    let mut setup = String::new();
    for node in NODES {
        setup.push_str(&format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {node}\n  labels:\n    type: kwok\n    kubernetes.io/hostname: {node}\n    kubernetes.io/os: linux\n    kubernetes.io/arch: amd64\n---\n"
        ));
    }
    setup.push_str(&format!(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: shipdeck-real-viewer
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: viewer}}]
---
apiVersion: v1
kind: Namespace
metadata:
  name: {PATCHER_NAMESPACE}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deployment-patcher
  namespace: {PATCHER_NAMESPACE}
rules:
- apiGroups: [apps]
  resources: [deployments]
  # kubectl patch reads the object before it patches it.
  verbs: [get, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployment-patcher
  namespace: {PATCHER_NAMESPACE}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployment-patcher}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: patcher}}]
"#
    ));
    write("setup.yaml", setup)?;
    let applied = admin(&["apply", "-f", &path("setup.yaml")]).map_err(|e| e.to_string())?;
    if !applied.status.success() {
        return Err(format!(
            "applying setup.yaml failed: {}",
            String::from_utf8_lossy(&applied.stderr)
        ));
    }
    // Server-side: the Gateway API and Istio CRDs are too large for the last-applied annotation.
    let crds = build.join("crds");
    let crds_applied = admin(&[
        "apply",
        "--server-side",
        "-f",
        &crds.join("gateway-api").display().to_string(),
        "-f",
        &crds.join("istio.yaml").display().to_string(),
        "-f",
        &crds.join("smi-split.yaml").display().to_string(),
    ])
    .map_err(|e| e.to_string())?;
    if !crds_applied.status.success() {
        return Err(format!(
            "applying the CRDs failed: {}",
            String::from_utf8_lossy(&crds_applied.stderr)
        ));
    }

    mark("RBAC and CRDs applied");
    s.wait("the nodes to be Ready", "kwok", START_TIMEOUT, || {
        let out = admin(&[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
        ]);
        out.is_ok_and(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            o.status.success() && text.lines().filter(|l| *l == "True").count() == NODES.len()
        })
    })?;
    mark("nodes Ready");
    s.wait(
        "the default ServiceAccount",
        "kube-controller-manager",
        START_TIMEOUT,
        || {
            admin(&["get", "serviceaccount", "default", "-n", "default"])
                .is_ok_and(|o| o.status.success())
        },
    )?;
    mark("default ServiceAccount");
    s.wait(
        "the CRDs to be established",
        "kube-apiserver",
        START_TIMEOUT,
        || {
            let out = admin(&[
                "get",
                "crd",
                "-o",
                "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Established\")].status}{\"\\n\"}{end}",
            ]);
            out.is_ok_and(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                o.status.success() && !text.is_empty() && text.lines().all(|l| l == "True")
            })
        },
    )?;
    mark("CRDs established");

    Ok(RealCluster {
        dir: s.dir.clone(),
        build: build.to_path_buf(),
        bin: bin.to_path_buf(),
        server,
        ca,
        kubeconfig,
        viewer_token,
        patcher_token,
        patcher_namespace: PATCHER_NAMESPACE.to_string(),
        started_in: started.elapsed(),
        startup: phases.join(", "),
        _watchdogs: Vec::new(),
    })
}
