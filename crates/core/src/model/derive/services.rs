//! One service in one environment: which Deployments serve it, how their rollout is going,
//! where traffic goes, and the one-cell summary the Services table shows.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;

use super::Health;
use super::index::OwnerIndex;
use super::rollout::{DeploymentProgress, PodWarning, pod_warnings};
use super::traffic::{CanaryWeight, active_colour, canary_weight, preview_colour};
use crate::config::Strategy;
use crate::model::image::ImageRef;
use crate::model::service::ServiceSpec;
use crate::model::snapshot::EnvSnapshot;

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// `stable`, `canary`, or a blue-green colour; empty for a plain rolling Deployment.
    pub role: String,
    pub deployment: Arc<Deployment>,
    pub image: Option<ImageRef>,
    pub progress: DeploymentProgress,
    pub warnings: Vec<PodWarning>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrafficState {
    Rolling,
    Canary {
        weight: Option<CanaryWeight>,
    },
    BlueGreen {
        active: Option<String>,
        preview: Option<String>,
    },
}

/// Everything the console derives about one service in one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInEnv {
    /// The Deployment that serves production traffic: the only one, the stable one, or the
    /// active colour.
    pub primary: Option<Workload>,
    /// The canary, or the idle colour.
    pub secondary: Option<Workload>,
    pub traffic: TrafficState,
    pub health: Health,
    pub phase: String,
}

impl ServiceInEnv {
    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        self.primary.iter().chain(self.secondary.iter())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &PodWarning> {
        self.workloads().flat_map(|w| w.warnings.iter())
    }

    /// The tag the Services table shows for this environment.
    pub fn tag(&self) -> Option<String> {
        Some(self.primary.as_ref()?.image.as_ref()?.display_tag())
    }

    /// The canary's tag while it takes traffic.
    pub fn canary_tag(&self) -> Option<String> {
        match &self.traffic {
            TrafficState::Canary { weight: Some(w) } if w.percent > 0.0 => {
                Some(self.secondary.as_ref()?.image.as_ref()?.display_tag())
            }
            _ => None,
        }
    }
}

fn workload(
    spec: &ServiceSpec,
    env: &EnvSnapshot,
    index: &OwnerIndex,
    role: &str,
    name: &str,
) -> Option<Workload> {
    let deployment = env.deployments.get(name)?.clone();
    Some(Workload {
        role: role.to_string(),
        image: spec.image_of(&deployment),
        progress: DeploymentProgress::of(&deployment),
        warnings: pod_warnings(env, index, &deployment),
        deployment,
    })
}

pub fn service_in_env(spec: &ServiceSpec, env: &EnvSnapshot, index: &OwnerIndex) -> ServiceInEnv {
    let (primary, secondary, traffic) = match spec.strategy() {
        Strategy::Rolling => (
            workload(spec, env, index, "", spec.config.deployment_name()),
            None,
            TrafficState::Rolling,
        ),
        Strategy::Canary => {
            let (stable, canary) = spec.canary_deployments();
            (
                workload(spec, env, index, "stable", &stable),
                workload(spec, env, index, "canary", &canary),
                TrafficState::Canary {
                    weight: spec.canary().and_then(|c| canary_weight(c, env)),
                },
            )
        }
        Strategy::BlueGreen => {
            let active = spec.blue_green().and_then(|bg| active_colour(bg, env));
            let preview = spec.blue_green().and_then(|bg| preview_colour(bg, env));
            let colours = spec.colour_deployments();
            let pick = |want_active: bool| {
                colours
                    .iter()
                    .find(|(colour, _)| (Some(colour) == active.as_ref()) == want_active)
                    .and_then(|(colour, name)| workload(spec, env, index, colour, name))
            };
            (
                pick(true),
                pick(false),
                TrafficState::BlueGreen { active, preview },
            )
        }
    };
    let mut state = ServiceInEnv {
        primary,
        secondary,
        traffic,
        health: Health::Unknown,
        phase: String::new(),
    };
    state.health = state
        .workloads()
        .map(|w| w.progress.health(&w.warnings))
        .reduce(Health::worst)
        .unwrap_or(Health::Unknown);
    state.phase = phase(&state);
    state
}

fn phase(state: &ServiceInEnv) -> String {
    let Some(primary) = &state.primary else {
        return "not deployed".into();
    };
    if state.health == Health::Failing || state.health == Health::Paused {
        let worst = state
            .workloads()
            .find(|w| w.progress.health(&w.warnings) == state.health)
            .unwrap_or(primary);
        return worst.progress.phase(&worst.warnings);
    }
    match &state.traffic {
        TrafficState::Canary { weight: Some(w) } if w.percent > 0.0 => {
            format!("canary {}%", w.percent.round())
        }
        TrafficState::BlueGreen {
            active: Some(colour),
            ..
        } if state.health == Health::Ok => format!("{colour} active"),
        _ => primary.progress.phase(&primary.warnings),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvCell {
    pub tag: Option<String>,
    pub canary_tag: Option<String>,
    pub health: Health,
    pub phase: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub name: String,
    pub strategy: Strategy,
    /// One per environment, in column order.
    pub cells: Vec<EnvCell>,
}

impl EnvCell {
    pub fn of(state: &ServiceInEnv) -> Self {
        EnvCell {
            tag: state.tag(),
            canary_tag: state.canary_tag(),
            health: state.health,
            phase: state.phase.clone(),
        }
    }
}
