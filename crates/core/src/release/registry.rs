//! What the release layer needs from a registry: a tag's digest (shown in plans, checked by
//! promotions) and a copy by digest. The registry layer implements it; tests and callers
//! without a registry pass `None` and get plans without digests.

use futures::future::BoxFuture;

use crate::registry::{ImageRef, PromoteRequest, Registries};

pub trait RegistryOps: Send + Sync {
    /// The manifest digest `image` (`host/repo:tag`) points at; `Ok(None)` when the tag does
    /// not exist.
    fn digest<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;

    /// Makes `target` (`host/repo:tag`) point at `digest`, copying it from `source`
    /// (blobs, then the manifest by digest, then the tag). Idempotent.
    fn copy<'a>(
        &'a self,
        source: &'a str,
        target: &'a str,
        digest: &'a str,
        protected: bool,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The registry layer's clients serve the release layer directly.
impl RegistryOps for Registries {
    fn digest<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let r = ImageRef::parse(image).map_err(|e| e.to_string())?;
            let client = self.client(&r.registry).map_err(|e| e.to_string())?;
            client
                .digest(&r.repository, r.reference())
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn copy<'a>(
        &'a self,
        source: &'a str,
        target: &'a str,
        digest: &'a str,
        protected: bool,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            // Pinned to the planned digest: a retag of the source meanwhile changes nothing.
            let source = ImageRef::parse(source).map_err(|e| e.to_string())?;
            let tag = source.tag.clone();
            let mut target = ImageRef::parse(target).map_err(|e| e.to_string())?;
            if target.tag.is_none() {
                target.tag = tag;
            }
            let request = PromoteRequest {
                source: source.with_digest(digest),
                target,
                target_protected: protected,
            };
            // The promotion future is not provably `Send` (a higher-ranked lifetime in its
            // blob-copy stream), so it runs to completion on a blocking thread of its own.
            let registries = self.clone();
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || handle.block_on(registries.promote(&request)))
                .await
                .map_err(|e| format!("promotion task failed: {e}"))?
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}
