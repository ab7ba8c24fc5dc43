//! What the release layer needs from a registry: a tag's digest (shown in plans, checked by
//! promotions) and a copy by digest. The registry layer implements it; tests and callers
//! without a registry pass `None` and get plans without digests.

use futures::future::BoxFuture;

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
    ) -> BoxFuture<'a, Result<(), String>>;
}
