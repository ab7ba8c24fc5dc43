//! Registry tags of a service with where each runs: semver-sorted, digest-aware markers.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use crate::model::image::ImageRef;
use crate::registry::TagDetails;

/// What the registry has told about one repository so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoTags {
    pub tags: Vec<String>,
    /// Every page arrived.
    pub complete: bool,
    pub details: HashMap<String, Result<TagDetails, String>>,
    pub error: Option<String>,
}

impl RepoTags {
    pub fn digest(&self, tag: &str) -> Option<&str> {
        match self.details.get(tag) {
            Some(Ok(d)) => Some(d.digest.as_str()),
            _ => None,
        }
    }
}

/// Where images run in one environment: the tags and digests of the service's Deployments and
/// of what their pods actually pulled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Running {
    pub tags: HashSet<String>,
    pub digests: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TagView {
    pub tag: String,
    pub digest: Option<String>,
    pub created: Option<Timestamp>,
    /// One per environment, in column order.
    pub runs: Vec<bool>,
    /// The same tag (and digest, when both are known) is in the prod registry.
    pub in_prod: bool,
    pub last_known_good: bool,
    pub error: Option<String>,
}

/// Puts `repo.tags` in display order with the registry layer's rule: semver newest first
/// (pre-releases below their release), then other tags newest image first when their
/// creation time is known, then by name. Details can move non-semver tags, so the console
/// re-sorts when they arrive.
pub fn sort_repo_tags(repo: &mut RepoTags) {
    let mut keyed: Vec<(String, Option<Timestamp>)> = repo
        .tags
        .drain(..)
        .map(|tag| {
            let created = match repo.details.get(&tag) {
                Some(Ok(details)) => details.created,
                _ => None,
            };
            (tag, created)
        })
        .collect();
    crate::registry::sort_tag_names(&mut keyed);
    repo.tags = keyed.into_iter().map(|(tag, _)| tag).collect();
}

/// `repo.tags` must already be in display order (see [`sort_repo_tags`]); the console keeps them
/// sorted as pages arrive so that this runs without sorting on every cluster change.
pub fn tag_views(
    repo: &RepoTags,
    running: &[Running],
    prod: Option<&RepoTags>,
    last_known_good: Option<&ImageRef>,
) -> Vec<TagView> {
    repo.tags
        .iter()
        .map(|tag| {
            let details = match repo.details.get(tag) {
                Some(Ok(d)) => Some(d),
                _ => None,
            };
            let error = match repo.details.get(tag) {
                Some(Err(e)) => Some(e.clone()),
                _ => None,
            };
            let digest = details.map(|d| d.digest.clone());
            let runs = running
                .iter()
                .map(|r| {
                    r.tags.contains(tag) || digest.as_ref().is_some_and(|d| r.digests.contains(d))
                })
                .collect();
            let in_prod = prod.is_some_and(|p| {
                p.tags.contains(tag)
                    && match (p.digest(tag), digest.as_deref()) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            });
            let last_known_good = last_known_good.is_some_and(|lkg| {
                lkg.tag.as_deref() == Some(tag.as_str())
                    || (lkg.digest.is_some() && lkg.digest == digest)
            });
            TagView {
                created: details.and_then(|d| d.created),
                tag: tag.clone(),
                digest,
                runs,
                in_prod,
                last_known_good,
                error,
            }
        })
        .collect()
}
