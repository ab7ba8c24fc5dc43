//! Watchers: one `kube::runtime::watcher` per environment and kind, turned into
//! [`ClusterEvent`]s. Initial lists are buffered and sent as one `Listed` (so the app swaps a
//! whole kind at once, never showing half a list), then changes stream as they happen.
//! Connection health is aggregated per environment and sent only when it changes.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::EnvClient;
use super::{ClusterEvent, ConnHealth, KubeObject, ObjectKind};

/// How one watcher is doing, reported to the environment's health aggregator.
#[derive(Debug, Clone)]
enum WatchState {
    Ok,
    Failing(String),
    Forbidden(String),
    /// The kind is not served (a CRD that is not installed): not a health problem.
    Unsupported,
}

/// Starts every watcher of one environment. Dropping or aborting the handles stops them.
pub fn spawn_env_watchers(env: &EnvClient, tx: mpsc::Sender<ClusterEvent>) -> Vec<JoinHandle<()>> {
    let name = env.env.name.clone();
    let ns = env.env.namespace.clone();
    let client = env.client.clone();
    let (health_tx, health_rx) = mpsc::unbounded_channel();
    let mut handles = vec![tokio::spawn(aggregate_health(
        name.clone(),
        health_rx,
        tx.clone(),
    ))];
    let ctx = WatchCtx {
        env: name,
        tx,
        health: health_tx,
    };
    let all = watcher::Config::default();
    handles.push(spawn_typed::<Deployment>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::Deployment,
        |o| KubeObject::Deployment(Arc::new(o)),
    ));
    handles.push(spawn_typed::<ReplicaSet>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::ReplicaSet,
        |o| KubeObject::ReplicaSet(Arc::new(o)),
    ));
    handles.push(spawn_typed::<Pod>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::Pod,
        |o| KubeObject::Pod(Arc::new(o)),
    ));
    handles.push(spawn_typed::<Service>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::Service,
        |o| KubeObject::Service(Arc::new(o)),
    ));
    handles.push(spawn_typed::<KubeEvent>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::Event,
        |o| KubeObject::Event(Arc::new(o)),
    ));
    handles.push(spawn_typed::<Secret>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone().labels("owner=helm"),
        ObjectKind::HelmRelease,
        |o| KubeObject::HelmRelease(Arc::new(o)),
    ));
    handles.push(spawn_typed::<Ingress>(
        &ctx,
        Api::namespaced(client.clone(), &ns),
        all.clone(),
        ObjectKind::Ingress,
        |o| KubeObject::Ingress(Arc::new(o)),
    ));
    for (kind, group, version, k, plural) in [
        (
            ObjectKind::HttpRoute,
            "gateway.networking.k8s.io",
            "v1",
            "HTTPRoute",
            "httproutes",
        ),
        (
            ObjectKind::VirtualService,
            "networking.istio.io",
            "v1",
            "VirtualService",
            "virtualservices",
        ),
        (
            ObjectKind::TrafficSplit,
            "split.smi-spec.io",
            "v1alpha2",
            "TrafficSplit",
            "trafficsplits",
        ),
    ] {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, k), plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
        handles.push(spawn_watch(&ctx, api, all.clone(), kind, move |o| {
            KubeObject::Route(kind, Arc::new(o))
        }));
    }
    handles
}

#[derive(Clone)]
struct WatchCtx {
    env: String,
    tx: mpsc::Sender<ClusterEvent>,
    health: mpsc::UnboundedSender<(ObjectKind, WatchState)>,
}

fn spawn_typed<K>(
    ctx: &WatchCtx,
    api: Api<K>,
    config: watcher::Config,
    kind: ObjectKind,
    wrap: fn(K) -> KubeObject,
) -> JoinHandle<()>
where
    K: kube::Resource + DeserializeOwned + Clone + Debug + Send + Sync + 'static,
{
    spawn_watch(ctx, api, config, kind, wrap)
}

fn spawn_watch<K, F>(
    ctx: &WatchCtx,
    api: Api<K>,
    config: watcher::Config,
    kind: ObjectKind,
    wrap: F,
) -> JoinHandle<()>
where
    K: kube::Resource + DeserializeOwned + Clone + Debug + Send + Sync + 'static,
    F: Fn(K) -> KubeObject + Send + 'static,
{
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let mut initial: Vec<KubeObject> = Vec::new();
        while let Some(item) = stream.next().await {
            let event = match item {
                Ok(Event::Init) => {
                    initial.clear();
                    continue;
                }
                Ok(Event::InitApply(obj)) => {
                    initial.push(wrap(obj));
                    continue;
                }
                Ok(Event::InitDone) => ClusterEvent::Listed {
                    env: ctx.env.clone(),
                    kind,
                    objects: std::mem::take(&mut initial),
                },
                Ok(Event::Apply(obj)) => ClusterEvent::Applied {
                    env: ctx.env.clone(),
                    object: wrap(obj),
                },
                Ok(Event::Delete(obj)) => ClusterEvent::Deleted {
                    env: ctx.env.clone(),
                    object: wrap(obj),
                },
                Err(err) => {
                    let mut state = classify(&err);
                    // Helm's Secrets and the routers' objects add to what is shown: a role
                    // without them (`view` has no Secrets, nor CRDs that do not aggregate to
                    // it) still sees the cluster, so the environment is not "forbidden".
                    if kind.is_optional() && matches!(state, WatchState::Forbidden(_)) {
                        tracing::info!(env = %ctx.env, ?kind, "not readable with these credentials; not shown");
                        state = WatchState::Unsupported;
                    }
                    tracing::debug!(env = %ctx.env, ?kind, error = %err, "watch error");
                    let unsupported = matches!(state, WatchState::Unsupported);
                    let _ = ctx.health.send((kind, state));
                    if unsupported {
                        // Not installed on this cluster: say "none" once and stop asking.
                        let _ = ctx
                            .tx
                            .send(ClusterEvent::Listed {
                                env: ctx.env.clone(),
                                kind,
                                objects: Vec::new(),
                            })
                            .await;
                        return;
                    }
                    continue;
                }
            };
            let _ = ctx.health.send((kind, WatchState::Ok));
            if ctx.tx.send(event).await.is_err() {
                return; // The app is gone.
            }
        }
    })
}

fn classify(err: &watcher::Error) -> WatchState {
    let status = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => match e {
            kube::Error::Api(status) => Some((status.code, status.message.clone())),
            _ => None,
        },
        watcher::Error::WatchError(status) => Some((status.code, status.message.clone())),
        watcher::Error::NoResourceVersion => None,
    };
    match status {
        Some((401 | 403, message)) => WatchState::Forbidden(message),
        Some((404, _)) if matches!(err, watcher::Error::InitialListFailed(_)) => {
            WatchState::Unsupported
        }
        _ => WatchState::Failing(short_error(err)),
    }
}

/// The innermost useful line of a client error ("connection refused", not the whole chain).
fn short_error(err: &watcher::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

async fn aggregate_health(
    env: String,
    mut reports: mpsc::UnboundedReceiver<(ObjectKind, WatchState)>,
    tx: mpsc::Sender<ClusterEvent>,
) {
    let mut states: HashMap<ObjectKind, WatchState> = HashMap::new();
    let mut shown = ConnHealth::Connecting;
    let mut failing_since: Option<Timestamp> = None;
    let _ = tx
        .send(ClusterEvent::Health {
            env: env.clone(),
            health: shown.clone(),
        })
        .await;
    while let Some((kind, state)) = reports.recv().await {
        states.insert(kind, state);
        let forbidden = states.values().find_map(|s| match s {
            WatchState::Forbidden(m) => Some(m.clone()),
            _ => None,
        });
        let failing = states.values().find_map(|s| match s {
            WatchState::Failing(m) => Some(m.clone()),
            _ => None,
        });
        let next = if let Some(message) = forbidden {
            ConnHealth::Forbidden { message }
        } else if let Some(error) = failing {
            let since = *failing_since.get_or_insert_with(Timestamp::now);
            ConnHealth::Reconnecting { since, error }
        } else if states.values().any(|s| matches!(s, WatchState::Ok)) {
            ConnHealth::Connected
        } else {
            ConnHealth::Connecting
        };
        if !matches!(next, ConnHealth::Reconnecting { .. }) {
            failing_since = None;
        }
        if next != shown {
            shown = next.clone();
            if tx
                .send(ClusterEvent::Health {
                    env: env.clone(),
                    health: next,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
