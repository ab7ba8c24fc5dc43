//! The services the console lists: from `[[service]]` in the config, or, without any, one per
//! Deployment discovered in the environments (repository inferred from its image).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;

use crate::config::{BlueGreenConfig, CanaryConfig, Config, EnvConfig, ServiceConfig, Strategy};
use crate::model::image::ImageRef;
use crate::model::snapshot::{ClusterSnapshot, EnvSnapshot};

/// One service as the console understands it, whichever way it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub config: ServiceConfig,
    /// No `[[service]]` entry: found as a Deployment, so its repository comes from its image.
    pub discovered: bool,
}

impl ServiceSpec {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn strategy(&self) -> Strategy {
        self.config.strategy
    }

    pub fn canary(&self) -> Option<&CanaryConfig> {
        self.config.canary.as_ref()
    }

    pub fn blue_green(&self) -> Option<&BlueGreenConfig> {
        self.config.blue_green.as_ref()
    }

    /// Deployment per blue-green colour; default `<service>-blue` / `<service>-green`.
    pub fn colour_deployments(&self) -> Vec<(String, String)> {
        match self.blue_green() {
            Some(bg) if !bg.deployments.is_empty() => bg
                .deployments
                .iter()
                .map(|(colour, deploy)| (colour.clone(), deploy.clone()))
                .collect(),
            _ => ["blue", "green"]
                .iter()
                .map(|colour| (colour.to_string(), format!("{}-{colour}", self.name())))
                .collect(),
        }
    }

    /// Every Deployment that belongs to this service (stable and canary, both colours).
    pub fn deployment_names(&self) -> Vec<String> {
        match self.strategy() {
            Strategy::Rolling => vec![self.config.deployment_name().to_string()],
            Strategy::Canary => {
                let (stable, canary) = self.canary_deployments();
                vec![stable, canary]
            }
            Strategy::BlueGreen => self
                .colour_deployments()
                .into_iter()
                .map(|(_, d)| d)
                .collect(),
        }
    }

    /// (stable, canary) Deployment names of a canary service.
    pub fn canary_deployments(&self) -> (String, String) {
        match self.canary() {
            Some(c) => (
                c.stable_deployment
                    .clone()
                    .unwrap_or_else(|| c.stable.clone()),
                c.canary_deployment
                    .clone()
                    .unwrap_or_else(|| c.canary.clone()),
            ),
            None => (
                self.config.deployment_name().to_string(),
                format!("{}-canary", self.config.deployment_name()),
            ),
        }
    }

    /// The container whose image is released: the configured one, else the first.
    pub fn image_of(&self, deployment: &Deployment) -> Option<ImageRef> {
        let containers = &deployment.spec.as_ref()?.template.spec.as_ref()?.containers;
        let container = match &self.config.container {
            Some(name) => containers.iter().find(|c| &c.name == name)?,
            None => containers.first()?,
        };
        container.image.as_deref().map(ImageRef::parse)
    }

    /// The registry repository of this service in one environment: the environment's
    /// registry prefix + the service's repository, else what the running image says.
    pub fn repository_in(&self, env: Option<&EnvConfig>, snapshot: &EnvSnapshot) -> Option<String> {
        if !self.discovered
            && let Some(prefix) = env.and_then(|e| e.registry.as_deref())
        {
            return Some(format!(
                "{}/{}",
                prefix.trim_end_matches('/'),
                self.config.repository_name()
            ));
        }
        self.deployment_names()
            .iter()
            .filter_map(|name| snapshot.deployments.get(name))
            .find_map(|d| self.image_of(d))
            .map(|image| image.repository)
    }

    pub fn deployments_in<'a>(&self, snapshot: &'a EnvSnapshot) -> Vec<&'a Arc<Deployment>> {
        self.deployment_names()
            .iter()
            .filter_map(|name| snapshot.deployments.get(name))
            .collect()
    }
}

/// Services in display order: the config's, else every Deployment name seen in any
/// environment, sorted.
pub fn service_specs(config: &Config, snapshot: &ClusterSnapshot) -> Vec<ServiceSpec> {
    let mut specs: Vec<ServiceSpec> = config
        .services
        .iter()
        .map(|c| ServiceSpec {
            config: c.clone(),
            discovered: config.services_inferred,
        })
        .collect();
    if !config.services.is_empty() && !config.services_inferred {
        return specs;
    }
    // Inferred services (or none): every other Deployment is a rolling service of its own,
    // so one created while the console runs shows up.
    let covered: BTreeSet<String> = specs.iter().flat_map(|s| s.deployment_names()).collect();
    let names: BTreeSet<&String> = snapshot
        .envs
        .iter()
        .flat_map(|env| env.deployments.keys())
        .filter(|name| !covered.contains(*name))
        .collect();
    let rolling = names.into_iter().map(|name| ServiceSpec {
        config: ServiceConfig::rolling(name),
        discovered: true,
    });
    specs.extend(rolling);
    specs.sort_by(|a, b| a.name().cmp(b.name()));
    specs
}
