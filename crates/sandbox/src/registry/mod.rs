//! The sandbox's OCI distribution registry: an in-memory registry that unmodified clients
//! (skopeo, oci-client, curl) push to, pull from and list, plus in-process seeding for demo
//! scenarios and switchable faults for tests of the registry client layer.
//!
//! - [`Registry`]: storage, seeding and queries; shared as `Arc<Registry>`.
//! - [`serve`]: the HTTP API (distribution spec v2, token auth when enabled).
//! - [`Faults`]: auth, 429s, 5xxs, latency, short tag pages, corrupted manifests.
//! - [`RegistryImages`]: the simulated kubelet's view (an [`crate::images::ImageResolver`]).
//!
//! Not implemented: the referrers API (`/v2/<name>/referrers/<digest>`, `OCI-Subject`), Accept
//! negotiation (manifests are served in the type they were pushed in), garbage collection of
//! unreferenced blobs beyond dropping content no repository links.

mod digest;
mod error;
mod faults;
mod manifest;
mod reference;
mod resolver;
mod seed;
mod server;
mod store;

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

pub use error::OciError;
pub use faults::{AuthPolicy, AuthScheme, Corruption, Faults};
pub use reference::{ImageRef, valid_repository_name, valid_tag};
pub use resolver::{RegistryImages, ResolvedImage};
pub use seed::ImageSpec;
pub use server::{RegistryServer, serve};

use store::Store;

/// Server-side settings fixed at construction (faults are the runtime switches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Page size for `tags/list` and `_catalog` when the client gives no `n`; `None` lists
    /// everything at once.
    pub default_page_size: Option<usize>,
}

pub struct Registry {
    store: RwLock<Store>,
    faults: Faults,
    config: RegistryConfig,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Self::with_config(RegistryConfig::default())
    }

    pub fn with_config(config: RegistryConfig) -> Arc<Self> {
        Arc::new(Registry {
            store: RwLock::new(Store::default()),
            faults: Faults::default(),
            config,
        })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Stores a deterministic image built from `spec` in `repo` and points `tags` at it.
    /// Returns its digest (of the index when `spec.platforms` is not empty). `repo` and
    /// `tags` must be valid names to be reachable over HTTP; seeding is for code we write,
    /// so invalid ones are reported in the log rather than refused.
    pub fn seed(&self, repo: &str, tags: &[&str], spec: &ImageSpec) -> String {
        if !valid_repository_name(repo) || !tags.iter().all(|t| valid_tag(t)) {
            tracing::warn!(
                repo,
                ?tags,
                "seeding a repository or tag that clients cannot name"
            );
        }
        let built = seed::build(spec);
        let top = built.top_digest();
        let mut store = self.store.write();
        for (digest, data) in built.blobs {
            store.link_blob(repo, &digest, data);
        }
        let count = built.manifests.len();
        for (i, (media_type, body)) in built.manifests.into_iter().enumerate() {
            let stored = manifest::parse(Some(media_type), &body).and_then(|parsed| {
                let digest = digest::sha256(&body);
                store.put_manifest(repo, None, &parsed, digest, body)
            });
            if let Err(error) = stored {
                // Unreachable unless `seed::build` and `manifest::parse` disagree (tested).
                tracing::error!(repo, %error, "seeded manifest {i} of {count} was refused");
            }
        }
        for tag in tags {
            store.set_tag(repo, tag, &top);
        }
        top
    }

    /// Tags of `repo` in lexical order (empty for an unknown repository).
    pub fn tags(&self, repo: &str) -> Vec<String> {
        self.store
            .read()
            .tags_page(repo, None, None)
            .map(|page| page.items)
            .unwrap_or_default()
    }

    /// Repositories holding at least one manifest, in lexical order.
    pub fn repositories(&self) -> Vec<String> {
        self.store.read().catalog_page(None, None).items
    }

    /// The digest `repo:tag` points at.
    pub fn resolve_tag(&self, repo: &str, tag: &str) -> Option<String> {
        self.store.read().resolve_tag(repo, tag)
    }

    /// Removes a tag (the manifest stays, reachable by digest); false if there was none.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> bool {
        self.store.write().delete_manifest(repo, tag).is_ok()
    }

    /// Stores a blob after checking that it hashes to `expected`.
    fn put_blob(&self, repo: &str, expected: &str, data: Bytes) -> Result<(), OciError> {
        digest::verify(expected, &data)?;
        self.store.write().link_blob(repo, expected, data);
        Ok(())
    }

    /// Closes an upload session with its optional last chunk (and its `Content-Range`); the
    /// content must hash to `expected`, else the session is gone and DIGEST_INVALID returned.
    fn finish_upload(
        &self,
        repo: &str,
        id: &str,
        expected: &str,
        range: Option<(u64, u64)>,
        chunk: &[u8],
    ) -> Result<(), OciError> {
        digest::parse(expected)?;
        let data = {
            let mut store = self.store.write();
            if !chunk.is_empty() {
                store.append(repo, id, range, chunk)?;
            }
            store.take_upload(repo, id)?
        };
        // Hash outside the lock: uploads can be large.
        self.put_blob(repo, expected, Bytes::from(data))
    }

    /// Validates and stores a pushed manifest under a tag or its digest; returns the digest.
    fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<String, OciError> {
        let parsed = manifest::parse(content_type, &body)?;
        let (tag, digest) = if digest::is_digest_reference(reference) {
            digest::verify(reference, &body)?;
            (None, reference.to_string())
        } else if valid_tag(reference) {
            (Some(reference), digest::sha256(&body))
        } else {
            return Err(OciError::manifest_invalid(format!(
                "invalid tag {reference:?}"
            )));
        };
        self.store
            .write()
            .put_manifest(repo, tag, &parsed, digest.clone(), body)?;
        Ok(digest)
    }
}
