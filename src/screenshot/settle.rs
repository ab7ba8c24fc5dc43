//! When is a headless console "settled"? When every command it sent was answered and its
//! snapshot holds exactly what the simulated clusters hold. Pictures are taken only then, so
//! they do not depend on how fast the watchers and the registry answered on this run.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::{ConnHealth, ObjectKind};
use crate::model::snapshot::{ClusterSnapshot, EnvSnapshot, MAX_EVENTS_PER_ENV};
use crate::registry::RegistryEvent;
use crate::sandbox::resources::{ResId, kinds};
use crate::sandbox::world::World;
use crate::tui::{AppEvent, Command};

/// Commands sent to the runner and not answered yet.
#[derive(Debug, Default)]
pub struct Pending {
    tags: HashSet<String>,
    details: HashSet<(String, String)>,
    releases: HashSet<u64>,
}

impl Pending {
    /// Notes what `command` waits for.
    pub fn sent(&mut self, command: &Command) {
        match command {
            Command::FetchTags { repository } => {
                self.tags.insert(repository.clone());
            }
            Command::FetchTagDetails { repository, tag } => {
                self.details.insert((repository.clone(), tag.clone()));
            }
            Command::Release(request) => {
                self.releases.insert(request.id);
            }
            _ => {}
        }
    }

    /// Crosses off what `event` answers.
    pub fn received(&mut self, event: &AppEvent) {
        match event {
            AppEvent::Registry(RegistryEvent::TagsPage {
                repository,
                complete: true,
                ..
            })
            | AppEvent::Registry(RegistryEvent::Failed { repository, .. }) => {
                self.tags.remove(repository);
            }
            AppEvent::Registry(RegistryEvent::Details {
                repository, tag, ..
            }) => {
                self.details.remove(&(repository.clone(), tag.clone()));
            }
            AppEvent::Confirm(request) => {
                self.releases.remove(&request.id);
            }
            AppEvent::ReleaseProgress { id, done: true, .. } => {
                self.releases.remove(id);
            }
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.details.is_empty() && self.releases.is_empty()
    }

    /// For the timeout message: what never came.
    pub fn describe(&self) -> String {
        format!(
            "tag listings {:?}, tag details {:?}, release plans {:?}",
            self.tags, self.details, self.releases
        )
    }
}

/// Name → resourceVersion.
type Versions = BTreeMap<String, String>;

fn versions<'a>(metas: impl Iterator<Item = &'a ObjectMeta>) -> Versions {
    metas
        .map(|m| {
            (
                m.name.clone().unwrap_or_default(),
                m.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn stored(
    world: &World,
    env: &str,
    res: ResId,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Versions {
    let Some(sim) = world.try_env(env) else {
        return Versions::new();
    };
    let (items, _) = sim
        .cluster
        .store
        .list(res, Some(crate::sandbox::scenario::catalog::NAMESPACE));
    items
        .iter()
        .filter(|o| keep(o))
        .map(|o| {
            let meta = &o["metadata"];
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (text(&meta["name"]), text(&meta["resourceVersion"]))
        })
        .collect()
}

fn all(_: &serde_json::Value) -> bool {
    true
}

/// Why `snapshot` differs from what `world` stores, or `None` when every watched kind of every
/// environment holds the same objects at the same resourceVersions and every watch is up.
pub fn out_of_sync(world: &World, snapshot: &ClusterSnapshot) -> Option<String> {
    for sim in &world.envs {
        let env = sim.name.as_str();
        let Some(seen) = snapshot.env(env) else {
            return Some(format!("{env}: not seen yet"));
        };
        if seen.health != ConnHealth::Connected {
            return Some(format!("{env}: {:?}", seen.health));
        }
        if let Some(kind) = differing_kind(world, env, seen) {
            return Some(format!("{env}: {kind} differ"));
        }
    }
    None
}

fn differing_kind(world: &World, env: &str, seen: &EnvSnapshot) -> Option<&'static str> {
    let helm = |o: &serde_json::Value| o["metadata"]["labels"]["owner"] == "helm";
    let exact = [
        (
            "deployments",
            stored(world, env, *kinds::DEPLOYMENTS, all),
            versions(seen.deployments.values().map(|o| &o.metadata)),
        ),
        (
            "replicasets",
            stored(world, env, *kinds::REPLICASETS, all),
            versions(seen.replica_sets.values().map(|o| &o.metadata)),
        ),
        (
            "pods",
            stored(world, env, *kinds::PODS, all),
            versions(seen.pods.values().map(|o| &o.metadata)),
        ),
        (
            "services",
            stored(world, env, *kinds::SERVICES, all),
            versions(seen.services.values().map(|o| &o.metadata)),
        ),
        (
            "helm releases",
            stored(world, env, *kinds::SECRETS, helm),
            versions(seen.helm_releases.values().map(|o| &o.metadata)),
        ),
        (
            "ingresses",
            stored(world, env, *kinds::INGRESSES, all),
            versions(seen.ingresses.values().map(|o| &o.metadata)),
        ),
        (
            "HTTPRoutes",
            stored(world, env, *kinds::HTTPROUTES, all),
            routes(seen, ObjectKind::HttpRoute),
        ),
        (
            "VirtualServices",
            stored(world, env, *kinds::VIRTUALSERVICES, all),
            routes(seen, ObjectKind::VirtualService),
        ),
        (
            "TrafficSplits",
            stored(world, env, *kinds::TRAFFICSPLITS, all),
            routes(seen, ObjectKind::TrafficSplit),
        ),
    ];
    for (kind, store, console) in exact {
        if store != console {
            return Some(kind);
        }
    }
    // The console keeps the newest MAX_EVENTS_PER_ENV events: each one it keeps must be current.
    let store = stored(world, env, *kinds::EVENTS, all);
    let console = versions(seen.events.values().map(|o| &o.metadata));
    let current = console.iter().all(|(name, rv)| store.get(name) == Some(rv));
    if !current || console.len() != store.len().min(MAX_EVENTS_PER_ENV) {
        return Some("events");
    }
    None
}

fn routes(seen: &EnvSnapshot, kind: ObjectKind) -> Versions {
    versions(
        seen.routes
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, o)| &o.metadata),
    )
}
