//! What the panes show, computed from domain + view state when either changes — never per
//! frame, so that a frame only formats the visible rows.

use std::collections::{BTreeSet, HashSet};

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32Str};

use crate::config::Config;
use crate::model::derive::events::{EventRow, events_about};
use crate::model::derive::helm::{HelmRevision, helm_revisions, release_name};
use crate::model::derive::index::OwnerIndex;
use crate::model::derive::pods::{PodRow, pod_row};
use crate::model::derive::revisions::{RevisionRow, last_known_good, revisions};
use crate::model::derive::services::{EnvCell, ServiceInEnv, ServiceRow, service_in_env};
use crate::model::derive::tags::{Running, TagView, tag_views};
use crate::model::image::digest_of_image_id;
use crate::model::service::{ServiceSpec, service_specs};
use crate::model::snapshot::EnvSnapshot;

use super::domain::Domain;
use super::view::ViewState;

#[derive(Debug, Clone, PartialEq)]
pub enum RevisionItem {
    ReplicaSet(RevisionRow),
    Helm(HelmRevision),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagsStatus {
    /// No registry prefix configured and no image to infer one from.
    NoRepository,
    Loading,
    Failed(String),
    Ready,
}

/// The selected service in the focused environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub spec: usize,
    pub in_env: ServiceInEnv,
    pub revisions: Vec<RevisionItem>,
    pub revision_rows: Vec<usize>,
    pub helm_release: Option<String>,
    pub helm_errors: Vec<String>,
    pub last_known_good: Option<RevisionRow>,
    pub repository: Option<String>,
    pub prod_repository: Option<String>,
    pub tags_status: TagsStatus,
    pub tags: Vec<TagView>,
    pub tag_rows: Vec<usize>,
    pub pods: Vec<PodRow>,
    pub pod_rows: Vec<usize>,
    pub events: Vec<EventRow>,
    pub namespace: String,
}

#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub specs: Vec<ServiceSpec>,
    pub rows: Vec<ServiceRow>,
    pub indexes: Vec<OwnerIndex>,
    /// Indexes into `rows` that pass the filter, in display order.
    pub service_rows: Vec<usize>,
    pub selected: Option<Selected>,
}

impl Derived {
    pub fn selected_spec(&self) -> Option<&ServiceSpec> {
        self.specs.get(self.selected.as_ref()?.spec)
    }
}

/// Rows for every service; records fully rolled-out revisions as it goes. With `changed`, only
/// those environments' columns are recomputed (one pod event touches one environment).
pub fn rebuild_rows(
    config: &Config,
    domain: &mut Domain,
    derived: &mut Derived,
    changed: Option<&BTreeSet<String>>,
) {
    // Configured services never change; discovered ones follow the Deployments.
    if config.services.is_empty() || derived.specs.is_empty() {
        let specs = service_specs(config, &domain.snapshot);
        if specs != derived.specs {
            derived.specs = specs;
            derived.rows.clear();
        }
    }
    let envs = &domain.snapshot.envs;
    let full = changed.is_none()
        || derived.rows.len() != derived.specs.len()
        || derived.indexes.len() != envs.len();
    if full {
        derived.indexes = envs.iter().map(OwnerIndex::build).collect();
        derived.rows = derived
            .specs
            .iter()
            .map(|spec| ServiceRow {
                name: spec.name().to_string(),
                strategy: spec.strategy(),
                cells: Vec::with_capacity(envs.len()),
            })
            .collect();
    }
    for (i, env) in envs.iter().enumerate() {
        if !full && !changed.is_some_and(|c| c.contains(&env.name)) {
            continue;
        }
        if !full {
            derived.indexes[i] = OwnerIndex::build(env);
        }
        let index = &derived.indexes[i];
        let seen = domain.seen_complete.entry(env.name.clone()).or_default();
        for (spec, row) in derived.specs.iter().zip(derived.rows.iter_mut()) {
            let state = service_in_env(spec, env, index);
            for workload in state.workloads() {
                if workload.progress.complete()
                    && let Some(rs) = current_replica_set(env, index, &workload.deployment)
                    && !seen.contains(rs)
                {
                    seen.insert(rs.to_string());
                }
            }
            let cell = EnvCell::of(&state);
            match row.cells.get_mut(i) {
                Some(existing) => *existing = cell,
                None => row.cells.push(cell),
            }
        }
    }
}

fn current_replica_set<'a>(
    env: &EnvSnapshot,
    index: &'a OwnerIndex,
    deployment: &k8s_openapi::api::apps::v1::Deployment,
) -> Option<&'a str> {
    use crate::model::derive::annotation;
    use crate::model::derive::revisions::REVISION_ANNOTATION;
    let revision = annotation(&deployment.metadata, REVISION_ANNOTATION)?;
    index
        .replica_sets(deployment.metadata.uid.as_deref())
        .iter()
        .find(|name| {
            env.replica_sets
                .get(*name)
                .is_some_and(|rs| annotation(&rs.metadata, REVISION_ANNOTATION) == Some(revision))
        })
        .map(String::as_str)
}

/// Fuzzy filter (nucleo, like fzf): indexes of `items` whose text matches, in their order.
pub fn filter_rows<'a>(
    filter: &str,
    items: impl ExactSizeIterator<Item = String> + 'a,
) -> Vec<usize> {
    if filter.trim().is_empty() {
        // Without a filter the texts are never built (the iterator is lazy).
        return (0..items.len()).collect();
    }
    let pattern = Pattern::parse(filter, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(nucleo_matcher::Config::DEFAULT);
    let mut buf = Vec::new();
    items
        .enumerate()
        .filter(|(_, text)| {
            pattern
                .score(Utf32Str::new(text, &mut buf), &mut matcher)
                .is_some()
        })
        .map(|(i, _)| i)
        .collect()
}

/// Like [`filter_rows`], best matches first (for the palette, where order is relevance).
pub fn ranked_rows(filter: &str, items: impl Iterator<Item = String>) -> Vec<usize> {
    if filter.trim().is_empty() {
        return items.enumerate().map(|(i, _)| i).collect();
    }
    let pattern = Pattern::parse(filter, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(nucleo_matcher::Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(usize, u32)> = items
        .enumerate()
        .filter_map(|(i, text)| {
            let score = pattern.score(Utf32Str::new(&text, &mut buf), &mut matcher)?;
            Some((i, score))
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.into_iter().map(|(i, _)| i).collect()
}

pub fn filter_services(view: &ViewState, derived: &mut Derived) {
    derived.service_rows = filter_rows(
        &view.filters.services,
        derived.rows.iter().map(|r| r.name.clone()),
    );
}

/// Everything about the selected service in the focused environment.
pub fn build_selected(
    config: &Config,
    domain: &Domain,
    view: &ViewState,
    derived: &Derived,
) -> Option<Selected> {
    let name = view.selected_service.as_deref()?;
    let spec_index = derived.specs.iter().position(|s| s.name() == name)?;
    let spec = &derived.specs[spec_index];
    let envs = &domain.snapshot.envs;
    let env = envs.get(view.env)?;
    let index = derived.indexes.get(view.env)?;
    let in_env = service_in_env(spec, env, index);

    // Revisions: every Deployment of the service (stable and canary, both colours).
    let seen = |rs: &str| domain.seen_complete(&env.name, rs);
    let mut rs_rows: Vec<RevisionRow> = Vec::new();
    for workload in in_env.workloads() {
        rs_rows.extend(revisions(spec, env, index, &workload.deployment, &seen));
    }
    let primary_rows: Vec<RevisionRow> = match &in_env.primary {
        Some(p) => rs_rows
            .iter()
            .filter(|r| Some(&r.deployment) == p.deployment.metadata.name.as_ref())
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let lkg = last_known_good(&primary_rows).cloned();
    let helm_release = in_env
        .primary
        .as_ref()
        .and_then(|p| release_name(spec, &p.deployment));
    let (helm, helm_errors) = match &helm_release {
        Some(release) => helm_revisions(env, release),
        None => (Vec::new(), Vec::new()),
    };
    let revisions: Vec<RevisionItem> = rs_rows
        .into_iter()
        .map(RevisionItem::ReplicaSet)
        .chain(helm.into_iter().map(RevisionItem::Helm))
        .collect();
    let revision_rows = filter_rows(
        &view.filters.revisions,
        revisions.iter().map(|item| match item {
            RevisionItem::ReplicaSet(r) => format!("{} {} {}", r.revision, r.tag(), r.change_cause),
            RevisionItem::Helm(h) => {
                format!("{} {} {} {}", h.revision, h.status, h.chart, h.app_version)
            }
        }),
    );

    // Pods: of the drilled-in revision, else of every workload.
    let mut pod_names: Vec<&String> = Vec::new();
    let mut involved: HashSet<&str> = HashSet::new();
    for workload in in_env.workloads() {
        involved.insert(workload.deployment.metadata.name.as_deref().unwrap_or(""));
        for rs_name in index.replica_sets(workload.deployment.metadata.uid.as_deref()) {
            let Some(rs) = env.replica_sets.get(rs_name) else {
                continue;
            };
            involved.insert(rs_name);
            let wanted = view.revision_drill.as_ref().is_none_or(|d| d == rs_name);
            for pod in index.pods(rs.metadata.uid.as_deref()) {
                involved.insert(pod);
                if wanted {
                    pod_names.push(pod);
                }
            }
        }
    }
    pod_names.sort();
    let pods: Vec<PodRow> = pod_names
        .iter()
        .filter_map(|name| env.pods.get(*name))
        .map(|pod| pod_row(pod))
        .collect();
    let pod_rows = filter_rows(
        &view.filters.pods,
        pods.iter()
            .map(|p| format!("{} {} {}", p.name, p.status, p.node)),
    );
    let events = events_about(env, &involved);

    // Tags: the first environment's repository (where builds land); ★ from the last one's.
    let repository = envs
        .first()
        .and_then(|first| spec.repository_in(config.env(&first.name), first));
    let prod_repository = envs
        .last()
        .filter(|_| envs.len() > 1)
        .and_then(|last| spec.repository_in(config.env(&last.name), last))
        .filter(|r| Some(r) != repository.as_ref());
    let running: Vec<Running> = envs
        .iter()
        .zip(&derived.indexes)
        .map(|(env, index)| running_in(spec, env, index))
        .collect();
    let repo = repository.as_ref().and_then(|r| domain.repos.get(r));
    let tags_status = match (&repository, repo) {
        (None, _) => TagsStatus::NoRepository,
        (Some(_), Some(r)) if r.error.is_some() => {
            TagsStatus::Failed(r.error.clone().unwrap_or_default())
        }
        (Some(r), Some(_)) if !domain.listing.contains(r) => TagsStatus::Ready,
        _ => TagsStatus::Loading,
    };
    let tags = match repo {
        Some(repo) => tag_views(
            repo,
            &running,
            prod_repository.as_ref().and_then(|p| domain.repos.get(p)),
            lkg.as_ref().and_then(|l| l.image.as_ref()),
        ),
        None => Vec::new(),
    };
    let tag_rows = filter_rows(&view.filters.tags, tags.iter().map(|t| t.tag.clone()));
    let namespace = config
        .env(&env.name)
        .map_or_else(|| "default".to_string(), |e| e.namespace.clone());
    Some(Selected {
        spec: spec_index,
        in_env,
        revisions,
        revision_rows,
        helm_release,
        helm_errors,
        last_known_good: lkg,
        repository,
        prod_repository,
        tags_status,
        tags,
        tag_rows,
        pods,
        pod_rows,
        events,
        namespace,
    })
}

/// Tags and digests the service runs in one environment: its Deployments' images and what its
/// pods actually pulled (`imageID`), so a re-tagged digest still shows where it runs.
fn running_in(spec: &ServiceSpec, env: &EnvSnapshot, index: &OwnerIndex) -> Running {
    let mut running = Running::default();
    for deployment in spec.deployments_in(env) {
        let replicas = deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1);
        if replicas == 0 {
            continue;
        }
        if let Some(image) = spec.image_of(deployment) {
            running.tags.extend(image.tag);
            running.digests.extend(image.digest);
        }
        for rs_name in index.replica_sets(deployment.metadata.uid.as_deref()) {
            let Some(rs) = env.replica_sets.get(rs_name) else {
                continue;
            };
            for pod_name in index.pods(rs.metadata.uid.as_deref()) {
                let statuses = env
                    .pods
                    .get(pod_name)
                    .and_then(|p| p.status.as_ref())
                    .and_then(|s| s.container_statuses.as_ref());
                for status in statuses.into_iter().flatten() {
                    if let Some(digest) = digest_of_image_id(&status.image_id) {
                        running.digests.insert(digest.to_string());
                    }
                }
            }
        }
    }
    running
}
