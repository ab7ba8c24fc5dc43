//! Domain state: what the console knows of the world (clusters, registries, logs, writes).
//! Changed only by events from producers, never by navigation.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::cluster::access::{Access, Permission};
use crate::model::derive::tags::{RepoTags, sort_repo_tags};
use crate::model::snapshot::ClusterSnapshot;
use crate::registry::RegistryEvent;

use super::super::command::ReleaseRequest;
use super::super::event::ActionRecord;

pub const MAX_LOG_LINES: usize = 2000;
pub const MAX_ACTION_RECORDS: usize = 500;

#[derive(Debug, Default)]
pub struct Domain {
    pub snapshot: ClusterSnapshot,
    /// Tags by repository (`registry/path`).
    pub repos: HashMap<String, RepoTags>,
    /// Listings asked for and not answered yet: their first page replaces the old list.
    pub listing: HashSet<String>,
    pub details_requested: HashSet<(String, String)>,
    /// Repositories whose tags or details changed since they were last sorted.
    pub unsorted: HashSet<String>,
    /// Listings older than the last refresh: fetched again when their service is selected.
    pub stale_repos: HashSet<String>,
    pub logs: LogBuffer,
    pub actions: VecDeque<ActionRecord>,
    pub releases: BTreeMap<u64, ReleaseStatus>,
    /// Env → ReplicaSets seen as the fully rolled-out revision of their Deployment.
    pub seen_complete: HashMap<String, HashSet<String>>,
    /// Release analysis of the selection, while it is watched.
    pub analysis: Option<super::analysis::AnalysisView>,
    /// Env → what its API server says the user may do (see `State::write_refusal`).
    pub access: BTreeMap<String, EnvAccess>,
}

/// The access reviews of one environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvAccess {
    pub context: String,
    pub answers: BTreeMap<Permission, Access>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogBuffer {
    pub env: String,
    pub pod: String,
    pub lines: VecDeque<String>,
}

impl LogBuffer {
    pub fn push(&mut self, line: String) {
        if self.lines.len() == MAX_LOG_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseStatus {
    pub request: ReleaseRequest,
    pub message: String,
    pub done: bool,
    pub failed: bool,
    /// The user declined the plan: nothing was written.
    pub cancelled: bool,
}

impl Domain {
    pub fn apply_registry(&mut self, event: RegistryEvent) {
        match event {
            RegistryEvent::TagsPage {
                repository,
                tags,
                complete,
            } => {
                let repo = self.repos.entry(repository.clone()).or_default();
                if self.listing.remove(&repository) {
                    repo.tags.clear();
                }
                repo.tags.extend(tags);
                repo.complete = complete;
                self.unsorted.insert(repository);
                repo.error = None;
            }
            RegistryEvent::Details {
                repository,
                tag,
                result,
            } => {
                self.repos
                    .entry(repository.clone())
                    .or_default()
                    .details
                    .insert(tag, result);
                self.unsorted.insert(repository);
            }
            RegistryEvent::Failed { repository, error } => {
                self.listing.remove(&repository);
                self.repos.entry(repository).or_default().error = Some(error);
            }
        }
    }

    /// Sorts the repositories that changed, once per batch of registry events.
    pub fn sort_changed_repos(&mut self) {
        for repository in std::mem::take(&mut self.unsorted) {
            if let Some(repo) = self.repos.get_mut(&repository) {
                sort_repo_tags(repo);
            }
        }
    }

    pub fn record_action(&mut self, record: ActionRecord) {
        if self.actions.len() == MAX_ACTION_RECORDS {
            self.actions.pop_front();
        }
        self.actions.push_back(record);
    }

    pub fn seen_complete(&self, env: &str, replica_set: &str) -> bool {
        self.seen_complete
            .get(env)
            .is_some_and(|seen| seen.contains(replica_set))
    }

    pub fn writes_in_flight(&self) -> impl Iterator<Item = &ReleaseStatus> {
        self.releases.values().filter(|r| !r.done)
    }
}
