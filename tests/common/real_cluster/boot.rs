//! Starting the control plane: certificates, kubeconfigs, the components under watchdogs, and
//! the waits until it is usable (see the parent module for what it has).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{
    ADMIN, KUBECTL, NODES, PATCHER, PATCHER_NAMESPACE, RealCluster, START_TIMEOUT, VIEWER, repo,
    tail,
};

/// `N` distinct free loopback ports (held together while they are picked). Another process can
/// still take one before our component binds it; [`RealCluster::get`] then tries again.
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
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

pub(super) fn start(build: PathBuf) -> Result<RealCluster, String> {
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
# shipdeck plans a deploy or rollback from the Deployment's ReplicaSets (its revisions).
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list]
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
