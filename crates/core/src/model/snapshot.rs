//! What the console knows of each environment: the watched objects, fed by [`ClusterEvent`]s.
//! Only the app loop owns a [`ClusterSnapshot`]; derive functions read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;

use crate::cluster::{ClusterEvent, ConnHealth, KubeObject, ObjectKind};

/// Kube Events are the only kind that grows without bound on a busy cluster.
pub const MAX_EVENTS_PER_ENV: usize = 1000;

#[derive(Debug, Clone)]
pub struct EnvSnapshot {
    pub name: String,
    pub health: ConnHealth,
    pub deployments: BTreeMap<String, Arc<Deployment>>,
    pub replica_sets: BTreeMap<String, Arc<ReplicaSet>>,
    pub pods: BTreeMap<String, Arc<Pod>>,
    pub services: BTreeMap<String, Arc<Service>>,
    pub events: BTreeMap<String, Arc<Event>>,
    pub helm_releases: BTreeMap<String, Arc<Secret>>,
    pub ingresses: BTreeMap<String, Arc<Ingress>>,
    pub routes: BTreeMap<(ObjectKind, String), Arc<DynamicObject>>,
}

impl EnvSnapshot {
    pub fn new(name: impl Into<String>) -> Self {
        EnvSnapshot {
            name: name.into(),
            health: ConnHealth::Connecting,
            deployments: BTreeMap::new(),
            replica_sets: BTreeMap::new(),
            pods: BTreeMap::new(),
            services: BTreeMap::new(),
            events: BTreeMap::new(),
            helm_releases: BTreeMap::new(),
            ingresses: BTreeMap::new(),
            routes: BTreeMap::new(),
        }
    }

    pub fn route(&self, kind: ObjectKind, name: &str) -> Option<&DynamicObject> {
        self.routes
            .get(&(kind, name.to_string()))
            .map(|route| &**route)
    }

    fn clear_kind(&mut self, kind: ObjectKind) {
        match kind {
            ObjectKind::Deployment => self.deployments.clear(),
            ObjectKind::ReplicaSet => self.replica_sets.clear(),
            ObjectKind::Pod => self.pods.clear(),
            ObjectKind::Service => self.services.clear(),
            ObjectKind::Event => self.events.clear(),
            ObjectKind::HelmRelease => self.helm_releases.clear(),
            ObjectKind::Ingress => self.ingresses.clear(),
            ObjectKind::HttpRoute | ObjectKind::VirtualService | ObjectKind::TrafficSplit => {
                self.routes.retain(|(k, _), _| *k != kind)
            }
        }
    }

    fn insert(&mut self, object: KubeObject) {
        match object {
            KubeObject::Deployment(o) => insert_named(&mut self.deployments, o, |o| &o.metadata),
            KubeObject::ReplicaSet(o) => insert_named(&mut self.replica_sets, o, |o| &o.metadata),
            KubeObject::Pod(o) => insert_named(&mut self.pods, o, |o| &o.metadata),
            KubeObject::Service(o) => insert_named(&mut self.services, o, |o| &o.metadata),
            KubeObject::HelmRelease(o) => insert_named(&mut self.helm_releases, o, |o| &o.metadata),
            KubeObject::Ingress(o) => insert_named(&mut self.ingresses, o, |o| &o.metadata),
            KubeObject::Event(o) => {
                insert_named(&mut self.events, o, |o| &o.metadata);
                if self.events.len() > MAX_EVENTS_PER_ENV {
                    self.evict_oldest_event();
                }
            }
            KubeObject::Route(kind, o) => {
                let name = o.metadata.name.clone().unwrap_or_default();
                self.routes.insert((kind, name), o);
            }
        }
    }

    fn remove(&mut self, object: &KubeObject) {
        match object {
            KubeObject::Deployment(o) => remove_named(&mut self.deployments, &o.metadata),
            KubeObject::ReplicaSet(o) => remove_named(&mut self.replica_sets, &o.metadata),
            KubeObject::Pod(o) => remove_named(&mut self.pods, &o.metadata),
            KubeObject::Service(o) => remove_named(&mut self.services, &o.metadata),
            KubeObject::Event(o) => remove_named(&mut self.events, &o.metadata),
            KubeObject::HelmRelease(o) => remove_named(&mut self.helm_releases, &o.metadata),
            KubeObject::Ingress(o) => remove_named(&mut self.ingresses, &o.metadata),
            KubeObject::Route(kind, o) => {
                let name = o.metadata.name.clone().unwrap_or_default();
                self.routes.remove(&(*kind, name));
            }
        }
    }

    fn evict_oldest_event(&mut self) {
        let oldest = self
            .events
            .iter()
            .min_by_key(|(_, e)| crate::model::derive::events::event_time(e))
            .map(|(name, _)| name.clone());
        if let Some(name) = oldest {
            self.events.remove(&name);
        }
    }
}

fn insert_named<T>(
    map: &mut BTreeMap<String, Arc<T>>,
    object: Arc<T>,
    meta: impl Fn(&T) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) {
    let name = meta(&object).name.clone().unwrap_or_default();
    map.insert(name, object);
}

fn remove_named<T>(
    map: &mut BTreeMap<String, Arc<T>>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) {
    if let Some(name) = &meta.name {
        map.remove(name);
    }
}

/// Every environment, in column order (config order first, then as events name new ones).
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    pub envs: Vec<EnvSnapshot>,
}

impl ClusterSnapshot {
    pub fn with_envs<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        ClusterSnapshot {
            envs: names.into_iter().map(EnvSnapshot::new).collect(),
        }
    }

    pub fn env(&self, name: &str) -> Option<&EnvSnapshot> {
        self.envs.iter().find(|e| e.name == name)
    }

    fn env_mut(&mut self, name: &str) -> &mut EnvSnapshot {
        let index = match self.envs.iter().position(|e| e.name == name) {
            Some(index) => index,
            None => {
                self.envs.push(EnvSnapshot::new(name));
                self.envs.len() - 1
            }
        };
        &mut self.envs[index]
    }

    pub fn apply(&mut self, event: ClusterEvent) {
        match event {
            ClusterEvent::Health { env, health } => self.env_mut(&env).health = health,
            ClusterEvent::Applied { env, object } => self.env_mut(&env).insert(object),
            ClusterEvent::Deleted { env, object } => self.env_mut(&env).remove(&object),
            ClusterEvent::Listed { env, kind, objects } => {
                let snapshot = self.env_mut(&env);
                snapshot.clear_kind(kind);
                for object in objects {
                    snapshot.insert(object);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(name: &str) -> KubeObject {
        KubeObject::Pod(Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        }))
    }

    #[test]
    fn listed_replaces_a_kind_and_deleted_removes() {
        let mut snap = ClusterSnapshot::with_envs(["dev"]);
        snap.apply(ClusterEvent::Applied {
            env: "dev".into(),
            object: pod("a"),
        });
        snap.apply(ClusterEvent::Listed {
            env: "dev".into(),
            kind: ObjectKind::Pod,
            objects: vec![pod("b"), pod("c")],
        });
        let names: Vec<_> = snap.envs[0].pods.keys().cloned().collect();
        assert_eq!(names, ["b", "c"]);
        snap.apply(ClusterEvent::Deleted {
            env: "dev".into(),
            object: pod("b"),
        });
        assert_eq!(snap.envs[0].pods.len(), 1);
        // An environment not in the config appears as its events arrive.
        snap.apply(ClusterEvent::Applied {
            env: "qa".into(),
            object: pod("x"),
        });
        assert_eq!(snap.envs[1].name, "qa");
    }
}
