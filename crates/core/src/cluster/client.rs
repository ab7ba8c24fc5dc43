//! One kube client per environment, from the merged kubeconfig (see `kubeconfig`). Building
//! a client does no network I/O, so an unreachable cluster never blocks start-up; an exec
//! credential plugin does run here, before the console takes the terminal.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::ExposeSecret;

use super::exec::{BearerLayer, ExecPlugin, RefreshingBearer};
use super::kubeconfig::LoadedKubeconfig;
use crate::config::{Config, EnvConfig};
use crate::net::ProxySettings;

/// A connected environment: its config and a client for its cluster.
#[derive(Clone)]
pub struct EnvClient {
    pub env: EnvConfig,
    pub client: kube::Client,
    /// Who acts, for the audit journal and change-causes: the identity the API server
    /// reports (see `identity`), until then the kubeconfig's user entry.
    pub user: String,
    /// The context actually used (the current context when the env names none).
    pub context: String,
    /// The API server that context points at (`https://prod.example:6443/`).
    pub server: String,
    /// The kubeconfig says `insecure-skip-tls-verify: true` for this cluster.
    pub insecure: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Kubeconfig(#[from] super::kubeconfig::KubeconfigError),
    #[error("environment {env}: context {context:?} not usable: {message}")]
    Context {
        env: String,
        context: String,
        message: String,
    },
}

/// What connecting several environments shares: the proxy settings, and each exec user's
/// credential (one plugin run, one prompt, per kubeconfig user).
pub struct Connector {
    pub proxy: ProxySettings,
    exec: HashMap<String, ExecUser>,
}

#[derive(Clone)]
enum ExecUser {
    Token(Arc<RefreshingBearer>),
    /// PEM certificate and key, for the TLS handshake.
    Certificate(String, secrecy::SecretString),
}

impl Connector {
    pub fn new(proxy: ProxySettings) -> Connector {
        Connector {
            proxy,
            exec: HashMap::new(),
        }
    }

    /// Proxy settings from the environment; a malformed proxy variable is an error that
    /// names it.
    pub fn from_env() -> Result<Connector, String> {
        Ok(Connector::new(
            ProxySettings::from_env().map_err(|e| e.to_string())?,
        ))
    }

    /// Builds a client for one environment.
    pub async fn connect(
        &mut self,
        loaded: &LoadedKubeconfig,
        env: &EnvConfig,
    ) -> Result<EnvClient, ClientError> {
        let mut kubeconfig = loaded.kubeconfig.clone();
        let context = env
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let err = |message: String| ClientError::Context {
            env: env.name.clone(),
            context: context.clone(),
            message,
        };
        let entry = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.clone())
            .ok_or_else(|| {
                err(if context.is_empty() {
                    format!(
                        "no current-context in {} and no context chosen: pass --context NAME (contexts: {})",
                        loaded.describe(),
                        loaded.context_names().join(", ")
                    )
                } else {
                    format!(
                        "no such context in {} (contexts: {})",
                        loaded.describe(),
                        loaded.context_names().join(", ")
                    )
                })
            })?;
        let cluster = kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == entry.cluster)
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| {
                err(format!(
                    "its cluster {:?} is not in {}",
                    entry.cluster,
                    loaded.describe()
                ))
            })?;
        let user = entry.user.clone().unwrap_or_default();
        // The exec section and a token file are ours to read (see `exec`): kube must not.
        let exec = take_exec(&mut kubeconfig, &user);
        let token_file = take_token_file(&mut kubeconfig, &user);
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut cfg = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| err(e.to_string()))?;
        cfg.default_namespace = env.namespace.clone();
        // One decision for every client: a cluster's own proxy-url, else the environment's.
        cfg.proxy_url = match &cluster.proxy_url {
            Some(url) if !url.is_empty() => Some(
                url.parse()
                    .map_err(|e| err(format!("proxy-url {url:?}: {e}")))?,
            ),
            _ => cluster
                .server
                .as_deref()
                .and_then(|server| self.proxy.kube_proxy(server)),
        };
        let mut layer = None;
        if let Some(path) = token_file {
            let auth = RefreshingBearer::token_file(&user, std::path::Path::new(&path))
                .map_err(|e| err(e.to_string()))?;
            layer = Some(BearerLayer(auth));
        }
        if let Some(exec) = exec {
            match self.exec_user(&user, &exec, &cluster).await.map_err(err)? {
                ExecUser::Token(auth) => layer = Some(BearerLayer(auth)),
                ExecUser::Certificate(cert, key) => {
                    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
                    cfg.auth_info.client_certificate_data = Some(b64(&cert));
                    cfg.auth_info.client_key_data = Some(b64(key.expose_secret()).into());
                }
            }
        }
        let server = cfg.cluster_url.to_string();
        let builder = ClientBuilder::try_from(cfg).map_err(|e| err(e.to_string()))?;
        let client = match layer {
            Some(layer) => builder.with_layer(&layer).build(),
            None => builder.build(),
        };
        Ok(EnvClient {
            env: env.clone(),
            client,
            user: if user.is_empty() {
                "unknown".into()
            } else {
                user
            },
            context,
            server,
            insecure: cluster.insecure_skip_tls_verify.unwrap_or(false),
        })
    }

    async fn exec_user(
        &mut self,
        user: &str,
        exec: &kube::config::ExecConfig,
        cluster: &kube::config::Cluster,
    ) -> Result<ExecUser, String> {
        if let Some(known) = self.exec.get(user) {
            return Ok(known.clone());
        }
        let plugin = ExecPlugin::new(user, exec, cluster)?;
        let first = plugin.run().await.map_err(|e| e.to_string())?;
        let known = match (&first.token, first.client_certificate.clone()) {
            (Some(_), _) => ExecUser::Token(RefreshingBearer::new(plugin, &first)),
            (None, Some((cert, key))) => ExecUser::Certificate(cert, key),
            (None, None) => unreachable!("parse_credential refuses an empty credential"),
        };
        self.exec.insert(user.to_string(), known.clone());
        Ok(known)
    }
}

/// A user's `tokenFile`, unless an inline `token` takes precedence (as in client-go).
fn take_token_file(kubeconfig: &mut Kubeconfig, user: &str) -> Option<String> {
    let auth = kubeconfig
        .auth_infos
        .iter_mut()
        .find(|u| u.name == user)?
        .auth_info
        .as_mut()?;
    let file = auth.token_file.take()?;
    auth.token.is_none().then_some(file)
}

fn take_exec(kubeconfig: &mut Kubeconfig, user: &str) -> Option<kube::config::ExecConfig> {
    kubeconfig
        .auth_infos
        .iter_mut()
        .find(|u| u.name == user)?
        .auth_info
        .as_mut()?
        .exec
        .take()
}

/// The environment to show when the config defines none: the current context (or
/// `--context`), in `--namespace`, else the context's namespace, else `default`.
pub fn implicit_env(kubeconfig: &Kubeconfig, config: &Config) -> EnvConfig {
    let flags = &config.kube_flags;
    let context = flags
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let namespace = flags.namespace.clone().unwrap_or_else(|| {
        kubeconfig
            .contexts
            .iter()
            .find(|c| Some(&c.name) == context.as_ref())
            .and_then(|c| c.context.as_ref())
            .and_then(|c| c.namespace.clone())
            .unwrap_or_else(|| "default".into())
    });
    EnvConfig {
        name: context.clone().unwrap_or_else(|| "cluster".into()),
        context,
        namespace,
        registry: None,
        protected: false,
        read_only: false,
    }
}
