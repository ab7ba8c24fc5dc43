//! The writes the demo history is made of, as a team's tooling would send them: roll a
//! Deployment (image, replicas and change-cause in one write, so one revision), create or
//! re-point Services, and create or re-weight the canary routing objects.

use serde_json::{Value, json};
use shipdeck_shared::config::Router;

use super::catalog::NAMESPACE;
use super::objects::{self, DeploymentSpec};
use crate::ops::WriteOpts;
use crate::resources::kinds;
use crate::world::World;

pub type StepResult = Result<(), crate::error::ApiError>;

/// Creates the Deployment, or sets its image, replicas and change-cause (like `kubectl set image`
/// plus `kubectl annotate`): one write, so it is one revision.
#[allow(clippy::too_many_arguments)]
pub fn roll(
    world: &World,
    env: &str,
    name: &str,
    app: &str,
    extra_labels: &[(&str, &str)],
    meta_labels: &[(&str, &str)],
    image: &str,
    replicas: i64,
    cause: &str,
) -> StepResult {
    let cluster = &world.env(env).cluster;
    if cluster
        .store
        .get(*kinds::DEPLOYMENTS, NAMESPACE, name)
        .is_none()
    {
        let spec = DeploymentSpec {
            name,
            app,
            image,
            replicas,
            extra_labels,
            meta_labels,
            annotations: &[("kubernetes.io/change-cause", cause)],
            progress_deadline_seconds: Some(600),
        };
        cluster.create(
            *kinds::DEPLOYMENTS,
            NAMESPACE,
            objects::deployment(&spec),
            &WriteOpts::default(),
        )?;
        return Ok(());
    }
    cluster.modify(*kinds::DEPLOYMENTS, NAMESPACE, name, false, |d| {
        d["spec"]["replicas"] = json!(replicas);
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        d["metadata"]["annotations"]["kubernetes.io/change-cause"] = json!(cause);
        for (k, v) in meta_labels {
            d["metadata"]["labels"][*k] = json!(v);
        }
    })?;
    Ok(())
}

pub fn ensure_service(
    world: &World,
    env: &str,
    name: &str,
    selector: &[(&str, &str)],
) -> StepResult {
    let cluster = &world.env(env).cluster;
    if cluster
        .store
        .get(*kinds::SERVICES, NAMESPACE, name)
        .is_none()
    {
        cluster.create(
            *kinds::SERVICES,
            NAMESPACE,
            objects::service(name, selector),
            &WriteOpts::default(),
        )?;
    }
    Ok(())
}

pub fn set_service(world: &World, env: &str, name: &str, selector: &[(&str, &str)]) -> StepResult {
    ensure_service(world, env, name, selector)?;
    let selector: serde_json::Map<String, Value> = selector
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    world
        .env(env)
        .cluster
        .modify(*kinds::SERVICES, NAMESPACE, name, false, |s| {
            s["spec"]["selector"] = Value::Object(selector.clone());
        })?;
    Ok(())
}

pub fn active_colour(world: &World, env: &str, service: &str) -> Option<String> {
    let svc = world
        .env(env)
        .cluster
        .store
        .get(*kinds::SERVICES, NAMESPACE, service)?;
    svc["spec"]["selector"]["version"]
        .as_str()
        .map(str::to_string)
}

pub fn ensure_router(world: &World, env: &str, name: &str, router: Router) -> StepResult {
    let cluster = &world.env(env).cluster;
    let stable = format!("{name}-stable");
    let canary = format!("{name}-canary");
    let (res, obj) = match router {
        Router::GatewayApi => (
            *kinds::HTTPROUTES,
            objects::http_route(name, &stable, &canary, 0),
        ),
        Router::Istio => (
            *kinds::VIRTUALSERVICES,
            objects::virtual_service(name, &stable, &canary, 0),
        ),
        Router::Smi => (
            *kinds::TRAFFICSPLITS,
            objects::traffic_split(name, name, &stable, &canary, 0),
        ),
        Router::Nginx => {
            let host = format!("{name}.shop.example.com");
            if cluster
                .store
                .get(*kinds::INGRESSES, NAMESPACE, name)
                .is_none()
            {
                cluster.create(
                    *kinds::INGRESSES,
                    NAMESPACE,
                    objects::ingress(name, &host, &stable, None),
                    &WriteOpts::default(),
                )?;
            }
            (
                *kinds::INGRESSES,
                objects::ingress(&canary, &host, &canary, Some(0)),
            )
        }
        Router::Replicas => return Ok(()),
    };
    let obj_name = obj["metadata"]["name"].as_str().unwrap_or(name).to_string();
    if cluster.store.get(res, NAMESPACE, &obj_name).is_none() {
        cluster.create(res, NAMESPACE, obj, &WriteOpts::default())?;
    }
    Ok(())
}

pub fn set_weights(
    world: &World,
    env: &str,
    name: &str,
    router: Router,
    weight: u32,
) -> StepResult {
    let cluster = &world.env(env).cluster;
    let stable = 100 - weight;
    match router {
        Router::GatewayApi => {
            cluster.modify(*kinds::HTTPROUTES, NAMESPACE, name, false, |r| {
                r["spec"]["rules"][0]["backendRefs"][0]["weight"] = json!(stable);
                r["spec"]["rules"][0]["backendRefs"][1]["weight"] = json!(weight);
            })?;
        }
        Router::Istio => {
            cluster.modify(*kinds::VIRTUALSERVICES, NAMESPACE, name, false, |r| {
                r["spec"]["http"][0]["route"][0]["weight"] = json!(stable);
                r["spec"]["http"][0]["route"][1]["weight"] = json!(weight);
            })?;
        }
        Router::Smi => {
            cluster.modify(*kinds::TRAFFICSPLITS, NAMESPACE, name, false, |r| {
                r["spec"]["backends"][0]["weight"] = json!(stable);
                r["spec"]["backends"][1]["weight"] = json!(weight);
            })?;
        }
        Router::Nginx => {
            cluster.modify(
                *kinds::INGRESSES,
                NAMESPACE,
                &format!("{name}-canary"),
                false,
                |r| {
                    r["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] =
                        json!(weight.to_string());
                },
            )?;
        }
        Router::Replicas => {}
    }
    Ok(())
}
