//! What the tests of shipdeck on real clusters share (tests/real_*.rs): kubeconfig files for
//! the real control plane written per test (CA by file or data, client certificates, tokens,
//! token files, exec plugins), exec plugins as small shell scripts, and the real binary run
//! with its own HOME.
#![allow(dead_code)]

pub mod tmux;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::common::real_cluster::RealCluster;

pub const SHIPDECK: &str = env!("CARGO_BIN_EXE_shipdeck");

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "shipdeck failed: {self:#?}");
        &self.stdout
    }
}

/// A directory for one test: kubeconfigs, scripts, HOME and the XDG directories.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["home", "state", "config"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Workdir { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// An executable shell script.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.write(name, &format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// The audit journal the binary writes with this HOME.
    pub fn journal(&self) -> PathBuf {
        self.path("state/shipdeck/audit.jsonl")
    }

    /// The binary with this directory as HOME and XDG dirs, no ambient KUBECONFIG, proxy or
    /// config.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(SHIPDECK);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("SHIPDECK_LOG", "info")
            .stdin(Stdio::null());
        for var in [
            "KUBECONFIG",
            "SHIPDECK_CONFIG",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "NO_PROXY",
            "no_proxy",
            "KUBERNETES_SERVICE_HOST",
            "KUBERNETES_SERVICE_PORT",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        cmd.envs(envs.iter().copied());
        let out = cmd.output().expect("shipdeck runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// How a kubeconfig for the real cluster authenticates and trusts it.
pub struct KubeconfigSpec<'a> {
    pub server: String,
    /// `cluster:` lines after `server` (CA, tls-server-name, proxy-url, insecure...).
    pub cluster: String,
    /// `user:` lines.
    pub user: String,
    pub namespace: &'a str,
}

impl<'a> KubeconfigSpec<'a> {
    /// The cluster trusted by its CA file, as `user`.
    pub fn new(cluster: &RealCluster, user: String, namespace: &'a str) -> Self {
        KubeconfigSpec {
            server: cluster.server.clone(),
            cluster: format!("certificate-authority: {}", cluster.ca.display()),
            user,
            namespace,
        }
    }

    /// Context `test` (current), cluster `real`, user `someone`.
    pub fn yaml(&self) -> String {
        let indent = |block: &str, n: usize| {
            block
                .lines()
                .map(|l| format!("{}{l}\n", " ".repeat(n)))
                .collect::<String>()
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster:\n    server: {}\n{}users:\n- name: someone\n  user:\n{}contexts:\n- name: test\n  context: {{cluster: real, user: someone, namespace: {}}}\ncurrent-context: test\n",
            self.server,
            indent(&self.cluster, 4),
            indent(&self.user, 4),
            self.namespace
        )
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Client-certificate user lines (the admin's certificate, in system:masters).
pub fn admin_cert_files(cluster: &RealCluster) -> String {
    format!(
        "client-certificate: {}\nclient-key: {}",
        cluster.dir.join("admin.crt").display(),
        cluster.dir.join("admin.key").display()
    )
}

/// An exec plugin user running `command`.
pub fn exec_user(command: &Path, extra: &str) -> String {
    format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: {}\n  interactiveMode: IfAvailable\n{extra}",
        command.display()
    )
}

/// The body of an exec plugin script that prints `token` with an expiry `ttl` seconds away
/// (none when `ttl` is 0) and counts its runs in `count_file`, noting whether it was
/// interactive.
pub fn token_plugin(token: &str, ttl: u32, count_file: &Path) -> String {
    let expiry = if ttl == 0 {
        String::new()
    } else {
        format!(
            r#",\"expirationTimestamp\":\"$(date -u -d '+{ttl} seconds' +%Y-%m-%dT%H:%M:%SZ)\""#
        )
    };
    format!(
        r#"case "$KUBERNETES_EXEC_INFO" in *'"interactive":true'*) mode=interactive ;; *) mode=quiet ;; esac
echo "$mode" >> '{count}'
echo "{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"{expiry}}}}}"
"#,
        count = count_file.display()
    )
}

/// The lines of a plugin's run log.
pub fn runs(count_file: &Path) -> Vec<String> {
    std::fs::read_to_string(count_file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A Deployment of one replica running `image` (container `app`).
pub fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
    )
}
