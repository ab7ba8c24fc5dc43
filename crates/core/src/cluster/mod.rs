//! Live cluster state: per environment, kube watchers turn API changes into [`ClusterEvent`]s
//! for the app loop (which alone owns state). Readiness and rollout computations over the
//! watched objects live in `model`.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;

/// The kinds the console watches in each environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Deployment,
    ReplicaSet,
    Pod,
    Service,
    Event,
    /// Secrets labelled `owner=helm` (Helm release history).
    HelmRelease,
    Ingress,
    HttpRoute,
    VirtualService,
    TrafficSplit,
}

impl ObjectKind {
    /// Kinds whose absence (not installed, or not readable) leaves the console useful.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            ObjectKind::HelmRelease
                | ObjectKind::Ingress
                | ObjectKind::HttpRoute
                | ObjectKind::VirtualService
                | ObjectKind::TrafficSplit
        )
    }
}

/// A watched object. Shared (`Arc`) so that fan-out to several consumers copies nothing.
#[derive(Debug, Clone)]
pub enum KubeObject {
    Deployment(Arc<Deployment>),
    ReplicaSet(Arc<ReplicaSet>),
    Pod(Arc<Pod>),
    Service(Arc<Service>),
    Event(Arc<Event>),
    HelmRelease(Arc<Secret>),
    Ingress(Arc<Ingress>),
    /// HTTPRoute, VirtualService or TrafficSplit (custom resources, read dynamically).
    Route(ObjectKind, Arc<DynamicObject>),
}

/// Connection state of one environment, as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnHealth {
    Connecting,
    Connected,
    /// The watch failed at `since` and is being retried with backoff.
    Reconnecting {
        since: Timestamp,
        error: String,
    },
    /// The credentials were refused (401/403); retried slowly.
    Forbidden {
        message: String,
    },
}

#[derive(Debug, Clone)]
pub enum ClusterEvent {
    Health {
        env: String,
        health: ConnHealth,
    },
    /// Created or changed.
    Applied {
        env: String,
        object: KubeObject,
    },
    Deleted {
        env: String,
        object: KubeObject,
    },
    /// The complete set of one kind after a (re)list: replaces everything known of that kind.
    Listed {
        env: String,
        kind: ObjectKind,
        objects: Vec<KubeObject>,
    },
}

pub mod access;
pub mod client;
pub mod exec;
pub mod identity;
pub mod kubeconfig;
pub mod watch;

/// The line of a kube error worth showing: the API server's message for a status, else the
/// innermost cause ("connection refused", not the whole chain).
pub fn error_line(err: &kube::Error) -> String {
    if let kube::Error::Api(status) = err {
        return status.message.clone();
    }
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

pub use client::{ClientError, Connector, EnvClient, implicit_env};
pub use kubeconfig::{LoadedKubeconfig, load as load_kubeconfig};
pub use watch::spawn_env_watchers;
