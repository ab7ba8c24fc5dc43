//! Zero-config discovery: without `[[service]]` in shipdeck.toml, the services are inferred
//! from what each environment's namespace holds (see `infer`), once at start, so the console
//! and every headless command work with the same grouping a hand-written file would give.
//! `shipdeck init` writes that grouping out as a commented shipdeck.toml (see `init`).

pub mod infer;
pub mod init;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DynamicObject, ListParams};

use crate::cluster::EnvClient;
use crate::config::Router;
use crate::release::observe::RouteKind;

pub use infer::{Found, Objects, infer, merge};

/// How long listing one environment may take before discovery goes on without it.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(15);

/// What discovery found, and what it could not look at.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub services: Vec<Found>,
    /// Seen but not grouped (ambiguous routes, ...).
    pub skipped: Vec<String>,
    /// Environments or kinds that could not be listed.
    pub errors: Vec<String>,
}

/// Lists one environment's namespace: Deployments and Services (needed), routes, Ingresses
/// and Helm release Secrets (each optional: not installed or not allowed is a note).
pub async fn list(env: &EnvClient) -> Result<(Objects, Vec<String>), String> {
    let ns = env.env.namespace.as_str();
    let client = env.client.clone();
    let lp = ListParams::default();
    let where_ = format!(
        "environment {} (context {}, namespace {ns})",
        env.env.name, env.context
    );
    let needed = |kind: &str, e: kube::Error| {
        format!(
            "{where_}: cannot list {kind}: {}",
            crate::cluster::error_line(&e)
        )
    };
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| needed("deployments", e))?;
    let services = Api::<Service>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| needed("services", e))?;
    let mut notes = Vec::new();
    let mut optional = |kind: &str, e: kube::Error| {
        if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
            notes.push(format!(
                "{where_}: {kind} not read ({})",
                crate::cluster::error_line(&e)
            ));
        }
    };
    let mut routes = Vec::new();
    for router in [Router::GatewayApi, Router::Istio, Router::Smi] {
        let Some(kind) = RouteKind::for_router(router) else {
            continue;
        };
        let resource = kind.object_ref(ns, "").api_resource();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
        match api.list(&lp).await {
            Ok(list) => routes.extend(list.items.into_iter().map(|o| (router, Arc::new(o)))),
            Err(e) => optional(&resource.plural, e),
        }
    }
    let ingresses = match Api::<Ingress>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
    {
        Ok(list) => list.items.into_iter().map(Arc::new).collect(),
        Err(e) => {
            optional("ingresses", e);
            Vec::new()
        }
    };
    // Labels are all grouping needs: the release payloads stay on the server.
    let helm_secrets = match Api::<Secret>::namespaced(client, ns)
        .list_metadata(&ListParams::default().labels("owner=helm"))
        .await
    {
        Ok(list) => list
            .items
            .into_iter()
            .map(|m| {
                Arc::new(Secret {
                    metadata: m.metadata,
                    ..Secret::default()
                })
            })
            .collect(),
        Err(e) => {
            optional("Helm release Secrets", e);
            Vec::new()
        }
    };
    Ok((
        Objects {
            deployments: deployments.items.into_iter().map(Arc::new).collect(),
            services: services.items.into_iter().map(Arc::new).collect(),
            routes,
            ingresses,
            helm_secrets,
        },
        notes,
    ))
}

/// Lists every environment at once and groups what they hold.
pub async fn discover<'a>(envs: impl IntoIterator<Item = &'a EnvClient>) -> Discovery {
    let listed = futures::future::join_all(envs.into_iter().map(|env| async move {
        let answer = tokio::time::timeout(LIST_TIMEOUT, list(env)).await;
        (env.env.name.clone(), answer)
    }))
    .await;
    let mut discovery = Discovery::default();
    let mut per_env = Vec::new();
    for (env, answer) in listed {
        match answer {
            Ok(Ok((objects, notes))) => {
                discovery.errors.extend(notes);
                let (found, skipped) = infer(&objects);
                discovery
                    .skipped
                    .extend(skipped.into_iter().map(|s| format!("{s} [{env}]")));
                per_env.push((env, found));
            }
            Ok(Err(e)) => discovery.errors.push(e),
            Err(_) => discovery.errors.push(format!(
                "environment {env}: no answer within {}s",
                LIST_TIMEOUT.as_secs()
            )),
        }
    }
    discovery.services = merge(per_env);
    discovery
}
