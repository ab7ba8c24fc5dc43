//! Reading kubeconfig the way kubectl does: `--kubeconfig` (or shipdeck.toml's `kubeconfig`)
//! names one file that must exist; else every file of the `KUBECONFIG` list is merged (the
//! first file to set a value or name an entry wins; missing files are skipped, as kubectl
//! skips them); else `~/.kube/config`. Relative paths inside a file are relative to that file
//! (kube's reader resolves them). Without any file, inside a pod, the pod's service account
//! is used (the in-cluster config), so headless commands work in CI jobs.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use crate::config::Config;

/// Where a pod's service-account token, CA and namespace are mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The files to read, in merge order, and where that list came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigFiles {
    pub files: Vec<PathBuf>,
    /// Named by `--kubeconfig` or shipdeck.toml: it must exist.
    pub explicit: bool,
    /// For messages: "--kubeconfig", "$KUBECONFIG", "~/.kube/config".
    pub origin: &'static str,
}

/// The merged kubeconfig and the files it came from.
#[derive(Debug, Clone)]
pub struct LoadedKubeconfig {
    pub kubeconfig: Kubeconfig,
    /// The files that existed and were read, in merge order (empty: in-cluster).
    pub files: Vec<PathBuf>,
    pub in_cluster: bool,
}

impl LoadedKubeconfig {
    /// The files, for messages (`a.yaml:b.yaml`, or "the pod's service account").
    pub fn describe(&self) -> String {
        if self.in_cluster {
            return format!("the pod's service account ({SERVICE_ACCOUNT_DIR})");
        }
        self.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn context_names(&self) -> Vec<&str> {
        self.kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// A kubeconfig problem, naming the file (and line, when the YAML says it) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KubeconfigError(pub String);

/// Which files to read for `config` (whose `kubeconfig` the `--kubeconfig` flag sets).
pub fn locate(config: &Config) -> KubeconfigFiles {
    if let Some(path) = &config.kubeconfig {
        return KubeconfigFiles {
            files: vec![config.resolve(path)],
            explicit: true,
            origin: if config.kube_flags.kubeconfig_from_flag {
                "--kubeconfig"
            } else {
                "shipdeck.toml's `kubeconfig`"
            },
        };
    }
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        let files: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !files.is_empty() {
            return KubeconfigFiles {
                files,
                explicit: false,
                origin: "$KUBECONFIG",
            };
        }
    }
    let default = etcetera::home_dir()
        .map(|h| h.join(".kube").join("config"))
        .unwrap_or_else(|_| PathBuf::from(".kube/config"));
    KubeconfigFiles {
        files: vec![default],
        explicit: false,
        origin: "~/.kube/config",
    }
}

/// Reads and merges the files `locate` names; falls back to the in-cluster config.
pub fn load(config: &Config) -> Result<LoadedKubeconfig, KubeconfigError> {
    let located = locate(config);
    let mut merged: Option<Kubeconfig> = None;
    let mut read = Vec::new();
    for file in &located.files {
        if !file.exists() {
            if located.explicit {
                return Err(KubeconfigError(format!(
                    "kubeconfig {} (from {}) does not exist",
                    file.display(),
                    located.origin
                )));
            }
            tracing::debug!(file = %file.display(), "kubeconfig file in the list does not exist; skipped, as kubectl does");
            continue;
        }
        let one = read_file(file)?;
        merged = Some(match merged {
            None => one,
            Some(m) => m.merge(one).map_err(|e| {
                KubeconfigError(format!(
                    "{}: cannot be merged with the files before it in {}: {e}",
                    file.display(),
                    located.origin
                ))
            })?,
        });
        read.push(file.clone());
    }
    if let Some(kubeconfig) = merged {
        return Ok(LoadedKubeconfig {
            kubeconfig,
            files: read,
            in_cluster: false,
        });
    }
    if let (Ok(host), Ok(port)) = (
        std::env::var("KUBERNETES_SERVICE_HOST"),
        std::env::var("KUBERNETES_SERVICE_PORT"),
    ) {
        let kubeconfig = in_cluster(Path::new(SERVICE_ACCOUNT_DIR), &host, &port)?;
        return Ok(LoadedKubeconfig {
            kubeconfig,
            files: Vec::new(),
            in_cluster: true,
        });
    }
    let tried = located
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(KubeconfigError(format!(
        "no kubeconfig: {tried} (from {}) does not exist. Pass --kubeconfig FILE, set KUBECONFIG, \
         or set `kubeconfig` in shipdeck.toml; to try shipdeck without a cluster, run `shipdeck demo`",
        located.origin
    )))
}

/// One file, with errors that name it.
pub fn read_file(file: &Path) -> Result<Kubeconfig, KubeconfigError> {
    Kubeconfig::read_from(file).map_err(|e| {
        use kube::config::KubeconfigError as K;
        let what = match &e {
            K::Parse(inner) => format!("not a valid kubeconfig: {inner}"),
            K::ReadConfig(io, _) => format!("cannot be read: {io}"),
            other => other.to_string(),
        };
        KubeconfigError(format!("kubeconfig {}: {what}", file.display()))
    })
}

/// The in-cluster config as a kubeconfig: the API server from `KUBERNETES_SERVICE_HOST` and
/// `_PORT`, the service account's CA and token file (kube reads the token again as the
/// kubelet rotates it), and its namespace. `dir` is [`SERVICE_ACCOUNT_DIR`] in a pod.
pub fn in_cluster(dir: &Path, host: &str, port: &str) -> Result<Kubeconfig, KubeconfigError> {
    let file = |name: &str| dir.join(name);
    for needed in ["token", "ca.crt"] {
        if !file(needed).is_file() {
            return Err(KubeconfigError(format!(
                "in a pod (KUBERNETES_SERVICE_HOST is set) but {} is missing: is a service account token mounted?",
                file(needed).display()
            )));
        }
    }
    let namespace = std::fs::read_to_string(file("namespace"))
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|_| "default".into());
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": {
            "server": format!("https://{host}:{port}"),
            "certificate-authority": file("ca.crt"),
        }}],
        "users": [{"name": "service-account", "user": {"tokenFile": file("token")}}],
        "contexts": [{"name": "in-cluster", "context": {
            "cluster": "in-cluster", "user": "service-account", "namespace": namespace,
        }}],
        "current-context": "in-cluster",
    });
    Kubeconfig::from_yaml(&doc.to_string())
        .map_err(|e| KubeconfigError(format!("in-cluster config: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn config_with(path: &Path) -> Config {
        Config {
            kubeconfig: Some(path.to_path_buf()),
            ..Config::default()
        }
    }

    #[test]
    fn an_explicit_file_must_exist_and_errors_name_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.yaml");
        let err = load(&config_with(&missing)).expect_err("missing");
        assert!(err.0.contains("nope.yaml"), "{err}");
        assert!(err.0.contains("does not exist"), "{err}");
        let broken = write(
            dir.path(),
            "broken.yaml",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster: {server: [1, 2\n",
        );
        let err = load(&config_with(&broken)).expect_err("broken");
        assert!(err.0.contains("broken.yaml"), "{err}");
        assert!(err.0.contains("line"), "names the line: {err}");
    }

    #[test]
    fn in_cluster_reads_the_service_account() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "token", "t0ken\n");
        write(dir.path(), "ca.crt", "---");
        write(dir.path(), "namespace", "ci-jobs\n");
        let k = in_cluster(dir.path(), "10.0.0.1", "443").expect("in-cluster");
        let cluster = k.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://10.0.0.1:443"));
        let context = k.contexts[0].context.as_ref().expect("context");
        assert_eq!(context.namespace.as_deref(), Some("ci-jobs"));
        let user = k.auth_infos[0].auth_info.as_ref().expect("user");
        assert!(
            user.token_file
                .as_deref()
                .is_some_and(|f| f.ends_with("token"))
        );
        let v6 = in_cluster(dir.path(), "fd00::1", "6443").expect("v6");
        assert_eq!(
            v6.clusters[0]
                .cluster
                .as_ref()
                .and_then(|c| c.server.as_deref()),
            Some("https://[fd00::1]:6443")
        );
        std::fs::remove_file(dir.path().join("token")).expect("rm");
        let err = in_cluster(dir.path(), "10.0.0.1", "443").expect_err("no token");
        assert!(err.0.contains("token"), "{err}");
    }
}
