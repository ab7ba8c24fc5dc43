//! What a planner sees: the objects one service needs in one environment, read fresh with
//! GETs (`observe`) or picked from objects the console already watches (`from_objects`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DynamicObject, ListParams};

use crate::cluster::{EnvClient, KubeObject, ObjectKind};
use crate::config::{Router, ServiceConfig, Strategy};

use super::error::{Failure, ReleaseError};
use super::objects::name_of;
use super::plan::ObjectRef;

/// The typed objects of one service in one environment. Missing objects are simply absent;
/// planners say which one they needed.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub namespace: String,
    pub deployments: BTreeMap<String, Deployment>,
    /// ReplicaSets owned by any of `deployments`.
    pub replica_sets: Vec<ReplicaSet>,
    pub services: BTreeMap<String, Service>,
    /// HTTPRoute / VirtualService / TrafficSplit by name.
    pub routes: BTreeMap<String, DynamicObject>,
    pub ingresses: BTreeMap<String, Ingress>,
}

/// The custom resources that hold canary weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    HttpRoute,
    VirtualService,
    TrafficSplit,
}

impl RouteKind {
    pub fn for_router(router: Router) -> Option<RouteKind> {
        match router {
            Router::GatewayApi => Some(RouteKind::HttpRoute),
            Router::Istio => Some(RouteKind::VirtualService),
            Router::Smi => Some(RouteKind::TrafficSplit),
            Router::Nginx | Router::Replicas => None,
        }
    }

    /// The served version shipdeck reads and writes (the sandbox serves these; SMI v1alpha2
    /// has integer weights, the form Argo Rollouts also writes).
    pub fn object_ref(self, namespace: &str, name: &str) -> ObjectRef {
        let (api_version, kind, plural) = match self {
            RouteKind::HttpRoute => ("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes"),
            RouteKind::VirtualService => (
                "networking.istio.io/v1",
                "VirtualService",
                "virtualservices",
            ),
            RouteKind::TrafficSplit => (
                "split.smi-spec.io/v1alpha2",
                "TrafficSplit",
                "trafficsplits",
            ),
        };
        ObjectRef::new(api_version, kind, plural, namespace, name)
    }

    fn watched(self) -> ObjectKind {
        match self {
            RouteKind::HttpRoute => ObjectKind::HttpRoute,
            RouteKind::VirtualService => ObjectKind::VirtualService,
            RouteKind::TrafficSplit => ObjectKind::TrafficSplit,
        }
    }
}

/// Names of the objects a service's actions read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    pub deployments: Vec<String>,
    pub services: Vec<String>,
    pub route: Option<(RouteKind, String)>,
    pub ingresses: Vec<String>,
}

/// The canary's stable and canary Deployment names (for the `replicas` router `stable` and
/// `canary` are the Deployments themselves).
pub fn canary_deployments(cfg: &ServiceConfig) -> Option<(String, String)> {
    let c = cfg.canary.as_ref()?;
    Some((
        c.stable_deployment
            .clone()
            .unwrap_or_else(|| c.stable.clone()),
        c.canary_deployment
            .clone()
            .unwrap_or_else(|| c.canary.clone()),
    ))
}

/// Colour → Deployment of a blue-green service (default `<service>-blue` / `<service>-green`).
pub fn colours(cfg: &ServiceConfig) -> BTreeMap<String, String> {
    match &cfg.blue_green {
        Some(bg) if !bg.deployments.is_empty() => bg.deployments.clone(),
        _ => ["blue", "green"]
            .into_iter()
            .map(|c| (c.to_string(), format!("{}-{c}", cfg.name)))
            .collect(),
    }
}

pub fn needs(cfg: &ServiceConfig) -> Needs {
    let mut needs = Needs::default();
    match cfg.strategy {
        Strategy::Rolling => needs.deployments.push(cfg.deployment_name().to_string()),
        Strategy::Canary => {
            if let (Some((stable, canary)), Some(c)) = (canary_deployments(cfg), &cfg.canary) {
                needs.deployments = vec![stable, canary];
                if let Some(kind) = RouteKind::for_router(c.router) {
                    needs.route = c.route.clone().map(|r| (kind, r));
                }
                if c.router == Router::Nginx {
                    let route = c.route.clone().unwrap_or_else(|| cfg.name.clone());
                    needs
                        .ingresses
                        .extend(super::traffic::nginx_candidates(&route));
                }
            }
        }
        Strategy::BlueGreen => {
            needs.deployments = colours(cfg).into_values().collect();
            if let Some(bg) = &cfg.blue_green {
                needs.services.push(bg.service.clone());
                needs.services.extend(bg.preview_service.clone());
            }
        }
    }
    needs
}

impl Observed {
    /// Picks what `observe` would read from objects already at hand (the console's watched
    /// snapshot of this environment).
    pub fn from_objects<'a>(
        cfg: &ServiceConfig,
        namespace: &str,
        objects: impl IntoIterator<Item = &'a KubeObject>,
    ) -> Observed {
        let needs = needs(cfg);
        let mut observed = Observed {
            namespace: namespace.to_string(),
            ..Observed::default()
        };
        let mut replica_sets = Vec::new();
        let in_ns = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            meta.namespace.as_deref().is_none_or(|ns| ns == namespace)
        };
        for object in objects {
            match object {
                KubeObject::Deployment(d)
                    if in_ns(&d.metadata)
                        && needs.deployments.iter().any(|n| n == name_of(&d.metadata)) =>
                {
                    observed
                        .deployments
                        .insert(name_of(&d.metadata).to_string(), (**d).clone());
                }
                KubeObject::ReplicaSet(rs) if in_ns(&rs.metadata) => replica_sets.push(rs),
                KubeObject::Service(s)
                    if in_ns(&s.metadata)
                        && needs.services.iter().any(|n| n == name_of(&s.metadata)) =>
                {
                    observed
                        .services
                        .insert(name_of(&s.metadata).to_string(), (**s).clone());
                }
                KubeObject::Ingress(i)
                    if in_ns(&i.metadata)
                        && needs.ingresses.iter().any(|n| n == name_of(&i.metadata)) =>
                {
                    observed
                        .ingresses
                        .insert(name_of(&i.metadata).to_string(), (**i).clone());
                }
                KubeObject::Route(kind, route) => {
                    if let Some((want, name)) = &needs.route
                        && want.watched() == *kind
                        && route.metadata.name.as_deref() == Some(name.as_str())
                        && in_ns(&route.metadata)
                    {
                        observed.routes.insert(name.clone(), (**route).clone());
                    }
                }
                _ => {}
            }
        }
        let uids: Vec<&str> = observed
            .deployments
            .values()
            .filter_map(|d| d.metadata.uid.as_deref())
            .collect();
        observed.replica_sets = replica_sets
            .into_iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| uids.contains(&o.uid.as_str()))
            })
            .map(|rs| (**rs).clone())
            .collect();
        observed
    }

    pub fn deployment(&self, name: &str) -> Option<&Deployment> {
        self.deployments.get(name)
    }
}

/// Turns a kube error on a read or write into a message that names what and where.
pub fn api_error(
    env: &EnvClient,
    verb: &str,
    target: &ObjectRef,
    err: kube::Error,
) -> ReleaseError {
    match err {
        kube::Error::Api(status) => match status.code {
            401 => ReleaseError::Unauthorized {
                context: env.context.clone(),
            },
            403 => ReleaseError::Forbidden {
                verb: verb.into(),
                resource: target.resource(),
                namespace: target.namespace.clone(),
                context: env.context.clone(),
            },
            code => ReleaseError::Api(Box::new(Failure {
                verb: verb.into(),
                resource: target.resource(),
                name: target.name.clone(),
                namespace: target.namespace.clone(),
                context: env.context.clone(),
                code,
                message: status.message.clone(),
            })),
        },
        other => ReleaseError::Unreachable {
            env: env.env.name.clone(),
            context: env.context.clone(),
            message: other.to_string(),
        },
    }
}

async fn get_opt<K>(
    env: &EnvClient,
    api: Api<K>,
    target: ObjectRef,
) -> Result<Option<K>, ReleaseError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(&target.name)
        .await
        .map_err(|e| api_error(env, "get", &target, e))
}

/// Reads everything `needs(cfg)` names, fresh from the API server.
pub async fn observe(env: &EnvClient, cfg: &ServiceConfig) -> Result<Observed, ReleaseError> {
    let ns = env.env.namespace.as_str();
    let needs = needs(cfg);
    let client = env.client.clone();
    let mut observed = Observed {
        namespace: ns.to_string(),
        ..Observed::default()
    };
    for name in &needs.deployments {
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        if let Some(d) = get_opt(env, api, ObjectRef::deployment(ns, name)).await? {
            observed.deployments.insert(name.clone(), d);
        }
    }
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    for deploy in observed.deployments.values() {
        let Some(uid) = deploy.metadata.uid.as_deref() else {
            continue;
        };
        // kubectl lists by the Deployment's selector, then keeps the ones it controls.
        let selector = deploy
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.as_ref())
            .map(|labels| {
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let list = rs_api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_error(env, "list", &ObjectRef::replica_set(ns, ""), e))?;
        observed
            .replica_sets
            .extend(list.items.into_iter().filter(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid && o.controller == Some(true))
            }));
    }
    for name in &needs.services {
        let api: Api<Service> = Api::namespaced(client.clone(), ns);
        if let Some(s) = get_opt(env, api, ObjectRef::service(ns, name)).await? {
            observed.services.insert(name.clone(), s);
        }
    }
    for name in &needs.ingresses {
        let api: Api<Ingress> = Api::namespaced(client.clone(), ns);
        if let Some(i) = get_opt(env, api, ObjectRef::ingress(ns, name)).await? {
            observed.ingresses.insert(name.clone(), i);
        }
    }
    if let Some((kind, name)) = &needs.route {
        let target = kind.object_ref(ns, name);
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), ns, &target.api_resource());
        if let Some(route) = get_opt(env, api, target).await? {
            observed.routes.insert(name.clone(), route);
        }
    }
    Ok(observed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BlueGreenConfig, CanaryConfig, default_steps};
    use std::sync::Arc;

    pub(crate) fn service(name: &str) -> ServiceConfig {
        ServiceConfig {
            name: name.into(),
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

    #[test]
    fn needs_follow_the_strategy() {
        let rolling = service("orders");
        assert_eq!(needs(&rolling).deployments, vec!["orders"]);

        let mut canary = service("orders");
        canary.strategy = Strategy::Canary;
        canary.canary = Some(CanaryConfig {
            router: Router::GatewayApi,
            route: Some("orders".into()),
            stable: "orders-stable".into(),
            canary: "orders-canary".into(),
            stable_deployment: Some("orders".into()),
            canary_deployment: None,
            steps: default_steps(),
        });
        let n = needs(&canary);
        assert_eq!(n.deployments, vec!["orders", "orders-canary"]);
        assert_eq!(n.route, Some((RouteKind::HttpRoute, "orders".into())));

        let mut bg = service("payments");
        bg.strategy = Strategy::BlueGreen;
        bg.blue_green = Some(BlueGreenConfig {
            service: "payments".into(),
            label: "version".into(),
            deployments: BTreeMap::new(),
            preview_service: Some("payments-preview".into()),
            scale_down_after: None,
        });
        let n = needs(&bg);
        assert_eq!(n.deployments, vec!["payments-blue", "payments-green"]);
        assert_eq!(n.services, vec!["payments", "payments-preview"]);
    }

    #[test]
    fn from_objects_keeps_only_this_service() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
        let deploy = |name: &str, uid: &str| Deployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                uid: Some(uid.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let rs = |name: &str, owner: &str| ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                owner_references: Some(vec![OwnerReference {
                    uid: owner.into(),
                    controller: Some(true),
                    kind: "Deployment".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ..Default::default()
        };
        let objects = vec![
            KubeObject::Deployment(Arc::new(deploy("orders", "u1"))),
            KubeObject::Deployment(Arc::new(deploy("payments", "u2"))),
            KubeObject::ReplicaSet(Arc::new(rs("orders-abc", "u1"))),
            KubeObject::ReplicaSet(Arc::new(rs("payments-def", "u2"))),
        ];
        let o = Observed::from_objects(&service("orders"), "shop", &objects);
        assert_eq!(o.deployments.keys().collect::<Vec<_>>(), vec!["orders"]);
        assert_eq!(o.replica_sets.len(), 1);
        assert_eq!(
            o.replica_sets[0].metadata.name.as_deref(),
            Some("orders-abc")
        );
    }
}
