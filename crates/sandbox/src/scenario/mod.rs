//! What the sandbox world contains at start: the demo shop, nothing, or many services for
//! scale work; and the `shipdeck.toml` that describes it to every shipdeck command.

pub mod catalog;
pub mod demo;
pub mod helm;
pub mod large;
pub mod objects;
pub mod rollouts;
pub mod sources;

use shipdeck_shared::config::{
    AnalysisConfig, BlueGreenConfig, Bump, CanaryConfig, Config, ConsoleConfig, EnvConfig,
    PolicyConfig, SandboxInfo, ServiceConfig, SmokeConfig, Strategy,
};

use catalog::{DEMO, ENVS, NAMESPACE, Release};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    Demo,
    Empty,
    Large {
        services: usize,
        pods_per_service: usize,
    },
}

impl Scenario {
    /// How far back history starts (the clock begins there and plays forward to "now").
    pub fn history(&self) -> jiff::SignedDuration {
        match self {
            Scenario::Demo => demo::HISTORY,
            _ => jiff::SignedDuration::from_hours(2),
        }
    }

    pub fn populate(&self, world: &super::world::World) {
        match self {
            Scenario::Demo => demo::populate(world),
            Scenario::Empty => {
                for env in ENVS {
                    if let Err(e) = world.env(env).cluster.ensure_namespace(NAMESPACE) {
                        tracing::error!(env, error = %e, "cannot create namespace");
                    }
                }
            }
            Scenario::Large {
                services,
                pods_per_service,
            } => large::populate(world, *services, *pods_per_service),
        }
    }

    /// The `shipdeck.toml` for this world. `registry` is `127.0.0.1:PORT`.
    pub fn config(&self, registry: &str, metrics: Option<String>) -> Config {
        let envs = ENVS
            .iter()
            .map(|env| EnvConfig {
                name: env.to_string(),
                context: Some(format!("sandbox-{env}")),
                namespace: NAMESPACE.into(),
                registry: Some(format!("{registry}/{}", catalog::registry_prefix(env))),
                protected: *env == "prod",
                read_only: false,
            })
            .collect();
        let services = match self {
            Scenario::Demo => DEMO.iter().map(demo_service_config).collect(),
            Scenario::Empty => Vec::new(),
            Scenario::Large { services, .. } => (0..*services)
                .map(|i| ServiceConfig {
                    name: large::service_name(i),
                    deployment: None,
                    container: None,
                    repository: None,
                    strategy: Strategy::Rolling,
                    canary: None,
                    blue_green: None,
                    build: None,
                    analysis: None,
                    helm_release: None,
                })
                .collect(),
        };
        Config {
            kubeconfig: Some("kubeconfig".into()),
            console: ConsoleConfig::default(),
            envs,
            policy: PolicyConfig {
                approval_for: vec![Bump::Major],
            },
            services,
            sandbox: Some(SandboxInfo {
                registry: registry.to_string(),
                metrics,
            }),
            ..Config::default()
        }
    }
}

fn demo_service_config(svc: &catalog::DemoService) -> ServiceConfig {
    let mut config = ServiceConfig {
        name: svc.name.to_string(),
        deployment: None,
        container: None,
        repository: None,
        strategy: Strategy::Rolling,
        canary: None,
        blue_green: None,
        build: None,
        analysis: Some(demo_analysis()),
        helm_release: None,
    };
    match svc.release {
        Release::Rolling => {}
        Release::Canary { router, .. } => {
            config.strategy = Strategy::Canary;
            config.canary = Some(CanaryConfig {
                router,
                route: Some(svc.name.to_string()),
                stable: format!("{}-stable", svc.name),
                canary: format!("{}-canary", svc.name),
                stable_deployment: Some(svc.name.to_string()),
                canary_deployment: Some(format!("{}-canary", svc.name)),
                steps: shipdeck_shared::config::default_steps(),
            });
        }
        Release::BlueGreen => {
            config.strategy = Strategy::BlueGreen;
            config.deployment = Some(format!("{}-blue", svc.name));
            config.blue_green = Some(BlueGreenConfig {
                service: svc.name.to_string(),
                label: "version".into(),
                deployments: [
                    ("blue".to_string(), format!("{}-blue", svc.name)),
                    ("green".to_string(), format!("{}-green", svc.name)),
                ]
                .into_iter()
                .collect(),
                preview_service: Some(format!("{}-preview", svc.name)),
                scale_down_after: Some(std::time::Duration::from_secs(300)),
            });
        }
        Release::Helm { .. } => {
            config.helm_release = Some(svc.name.to_string());
        }
    }
    config
}

/// Every demo service is watched after a deploy with the same thresholds, against the
/// sandbox's metrics (`sandbox.metrics` gives the URL).
pub fn demo_analysis() -> AnalysisConfig {
    AnalysisConfig {
        provider: "prometheus".into(),
        url: None,
        error_rate_max: Some(0.01),
        latency_p99_ms_max: Some(300.0),
        interval: std::time::Duration::from_secs(30),
        failure_limit: 2,
        watch_after_deploy: std::time::Duration::from_secs(300),
        smoke: Some(SmokeConfig {
            port: None,
            path: "/healthz".into(),
            url: None,
        }),
        queries: Default::default(),
    }
}
