//! `shipdeck.toml`: environments, services and their release strategies, policy, keys and
//! theme. Shared by the sandbox (which writes one for its world), the console and the
//! headless actions. Every key is optional; see `load` for where the file is found and how
//! errors name file, line and field.

mod load;
mod locate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, find_config_file, load_file, parse_str};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Kubeconfig to read contexts from; relative paths are relative to this file.
    /// Default: `$KUBECONFIG`, then `~/.kube/config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    #[serde(default)]
    pub console: ConsoleConfig,
    #[serde(default, rename = "env", skip_serializing_if = "Vec::is_empty")]
    pub envs: Vec<EnvConfig>,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default, rename = "service", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConfig>,
    /// Action name → key (e.g. `rollback = "r"`), overriding the default keymap.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
    /// Theme overrides: semantic key (`status.ok`) → colour, on top of the chosen theme.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theme: BTreeMap<String, String>,
    /// Where the sandbox that wrote this file serves; absent for real clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxInfo>,
    /// Directory the file was loaded from (for relative paths); not part of the file.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
    /// The file itself, for messages.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// kubectl-style flags of the command line; not part of the file.
    #[serde(skip)]
    pub kube_flags: KubeFlags,
    /// `services` were inferred from the clusters (no `[[service]]` in the file): Deployments
    /// that appear later are shown as rolling services beside them.
    #[serde(skip)]
    pub services_inferred: bool,
}

/// `--kubeconfig`, `--context` and `-n/--namespace`, as kubectl has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeFlags {
    /// The context of the environment shipdeck finds when the file defines none.
    pub context: Option<String>,
    /// Its namespace (default: the context's, then `default`).
    pub namespace: Option<String>,
    /// `kubeconfig` came from `--kubeconfig` (messages name the flag).
    pub kubeconfig_from_flag: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A theme name from `themes/` or a path to a theme file.
    pub theme: String,
    #[serde(with = "humantime_serde_compat")]
    pub registry_refresh: Duration,
    /// Upper bound on redraws per second.
    pub max_fps: u32,
    /// Use ASCII instead of symbols such as ✓ ⟳ ✗.
    pub ascii: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            theme: "dark".into(),
            registry_refresh: Duration::from_secs(30),
            max_fps: 30,
            ascii: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    pub name: String,
    /// Kubeconfig context; default: the current context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Prefix of this environment's image repositories, e.g. `127.0.0.1:5000/dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Writes need the service name typed to confirm.
    #[serde(default)]
    pub protected: bool,
    /// Refuse every write to this environment.
    #[serde(default)]
    pub read_only: bool,
}

fn default_namespace() -> String {
    "default".into()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Semver bumps that need an approval note when promoting into a protected environment.
    pub approval_for: Vec<Bump>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    /// Deployment name; default: the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Container whose image is released; default: the first container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Repository under each environment's registry prefix; default: the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default)]
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisConfig>,
    /// Helm release name when the Deployment is Helm-managed; default: detected from labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_release: Option<String>,
}

impl ServiceConfig {
    /// A rolling service of the Deployment `name`, with every default: what shipdeck makes
    /// of a Deployment that no `[[service]]` describes.
    pub fn rolling(name: &str) -> ServiceConfig {
        ServiceConfig {
            name: name.to_string(),
            deployment: None,
            container: None,
            repository: None,
            strategy: Strategy::Rolling,
            canary: None,
            blue_green: None,
            build: None,
            analysis: None,
            helm_release: None,
        }
    }

    pub fn deployment_name(&self) -> &str {
        self.deployment.as_deref().unwrap_or(&self.name)
    }

    pub fn repository_name(&self) -> &str {
        self.repository.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    Rolling,
    Canary,
    BlueGreen,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CanaryConfig {
    pub router: Router,
    /// HTTPRoute / VirtualService / TrafficSplit / canary Ingress name (not for `replicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Stable Service (Deployment for the `replicas` router).
    pub stable: String,
    /// Canary Service (Deployment for the `replicas` router).
    pub canary: String,
    /// Deployments behind the stable and canary Services; default: the same names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_deployment: Option<String>,
    #[serde(default = "default_steps")]
    pub steps: Vec<u32>,
}

pub fn default_steps() -> Vec<u32> {
    vec![5, 10, 25, 50, 100]
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Router {
    GatewayApi,
    Istio,
    Smi,
    Nginx,
    Replicas,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BlueGreenConfig {
    /// The Service whose selector flips.
    pub service: String,
    /// Selector key; the two Deployments carry its values.
    #[serde(default = "default_bg_label")]
    pub label: String,
    /// Deployment per colour: `{ blue = "payments-blue", green = "payments-green" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_service: Option<String>,
    #[serde(
        default,
        with = "humantime_serde_compat::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub scale_down_after: Option<Duration>,
}

fn default_bg_label() -> String {
    "version".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    pub runner: BuildRunner,
    /// For `command`: templated with {service} {tag} {commit} {registry} {repository}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Source directory; its git HEAD gives {commit}. Relative to the config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<PathBuf>,
    /// For `job`: a Job manifest (YAML or JSON) templated like `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_template: Option<PathBuf>,
    /// Environment whose cluster runs build Jobs; default: the first environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BuildRunner {
    Command,
    Job,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Prometheus base URL; default: the sandbox's when it wrote this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99_ms_max: Option<f64>,
    #[serde(default = "default_interval", with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    #[serde(default = "default_watch", with = "humantime_serde_compat")]
    pub watch_after_deploy: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeConfig>,
    /// PromQL overrides by metric name (`request_rate`, `error_rate`, `latency_p99`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queries: BTreeMap<String, String>,
}

fn default_provider() -> String {
    "prometheus".into()
}
fn default_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_failure_limit() -> u32 {
    2
}
fn default_watch() -> Duration {
    Duration::from_secs(300)
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmokeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default = "default_smoke_path")]
    pub path: String,
    /// A URL to GET instead of the API server's service proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn default_smoke_path() -> String {
    "/healthz".into()
}

/// Written by `shipdeck sandbox serve` so tools can find the simulated world.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SandboxInfo {
    /// `127.0.0.1:PORT` of the embedded OCI registry.
    pub registry: String,
    /// Base URL of the sandbox's Prometheus-compatible query API, when running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

impl Config {
    pub fn env(&self, name: &str) -> Option<&EnvConfig> {
        self.envs.iter().find(|e| e.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    /// A path from the file, made absolute against the file's directory.
    pub fn resolve(&self, path: &std::path::Path) -> PathBuf {
        match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// Applies `--kubeconfig FILE`, `--context` and `-n`. `--context` and `-n` choose the one
    /// environment of a config without `[[env]]`; a file that lists environments already says
    /// which context and namespace each one uses, so they are refused there (a protected
    /// environment must never be pointed elsewhere by a flag).
    pub fn apply_kube_flags(
        &mut self,
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
        namespace: Option<String>,
    ) -> Result<(), String> {
        if let Some(path) = kubeconfig {
            self.kubeconfig = Some(std::path::absolute(&path).unwrap_or(path));
            self.kube_flags.kubeconfig_from_flag = true;
        }
        if (context.is_some() || namespace.is_some()) && !self.envs.is_empty() {
            let file = self
                .source
                .as_ref()
                .map_or("the config".to_string(), |p| p.display().to_string());
            let names: Vec<&str> = self.envs.iter().map(|e| e.name.as_str()).collect();
            return Err(format!(
                "--context and --namespace choose the cluster when shipdeck.toml defines no [[env]]; \
                 {file} defines {} with their own contexts and namespaces: pick one with --env, or \
                 change its [[env]] entry",
                names.join(", ")
            ));
        }
        self.kube_flags.context = context;
        self.kube_flags.namespace = namespace;
        Ok(())
    }

    /// Serializes back to TOML (the sandbox writes its world this way).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Durations as humantime strings (`30s`, `5m`).
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?} ({e}); use e.g. \"30s\" or \"5m\""
            ))
        })
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}
