//! One kube client per environment, from the kubeconfig the config (or the environment)
//! names. Building a client does no I/O, so an unreachable cluster never blocks start-up.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::config::{Config, EnvConfig};

/// A connected environment: its config and a client for its cluster.
#[derive(Clone)]
pub struct EnvClient {
    pub env: EnvConfig,
    pub client: kube::Client,
    /// The user the kube context authenticates as (for the audit journal).
    pub user: String,
    /// The context actually used (the current context when the env names none).
    pub context: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("environment {env}: context {context:?} not usable: {message}")]
    Context {
        env: String,
        context: String,
        message: String,
    },
}

/// The kubeconfig to use: the config file's `kubeconfig`, else `$KUBECONFIG` (first entry),
/// else `~/.kube/config`.
pub fn kubeconfig_path(config: &Config) -> Option<PathBuf> {
    if let Some(path) = &config.kubeconfig {
        return Some(config.resolve(path));
    }
    if let Some(var) = std::env::var_os("KUBECONFIG") {
        if let Some(first) = std::env::split_paths(&var).next() {
            return Some(first);
        }
    }
    etcetera::home_dir()
        .ok()
        .map(|h| h.join(".kube").join("config"))
}

pub fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, ClientError> {
    Kubeconfig::read_from(path).map_err(|e| ClientError::Kubeconfig {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Builds a client for one environment.
pub async fn connect(kubeconfig: &Kubeconfig, env: &EnvConfig) -> Result<EnvClient, ClientError> {
    let context = env
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let err = |message: String| ClientError::Context {
        env: env.name.clone(),
        context: context.clone(),
        message,
    };
    let mut cfg = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
        .await
        .map_err(|e| err(e.to_string()))?;
    cfg.default_namespace = env.namespace.clone();
    let client = kube::Client::try_from(cfg).map_err(|e| err(e.to_string()))?;
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.user.clone())
        .unwrap_or_else(|| "unknown".into());
    Ok(EnvClient {
        env: env.clone(),
        client,
        user,
        context,
    })
}

/// Environments to show when the config defines none: the current context, in the
/// context's namespace.
pub fn implicit_env(kubeconfig: &Kubeconfig) -> EnvConfig {
    let context = kubeconfig.current_context.clone();
    let namespace = kubeconfig
        .contexts
        .iter()
        .find(|c| Some(&c.name) == context.as_ref())
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.namespace.clone())
        .unwrap_or_else(|| "default".into());
    EnvConfig {
        name: context.clone().unwrap_or_else(|| "cluster".into()),
        context,
        namespace,
        registry: None,
        protected: false,
        read_only: false,
    }
}
