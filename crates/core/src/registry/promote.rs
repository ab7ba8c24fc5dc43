//! Promotion: copy an image by digest from one environment's repository to another's (same
//! registry or not), then prove the target holds the very same digest.
//!
//! Order matters for what a failure leaves behind: blobs first (mounted where the registry
//! can, else streamed), then child manifests by digest, then the root manifest by digest,
//! and only then the tag. Until the last step nothing names the new image, so an interrupted
//! promotion leaves at most unreferenced content. The source is pinned to its digest at the
//! start, so a retag in the source during the copy cannot mix two images.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use oci_client::manifest::OciDescriptor;

use super::client::{Registries, RegistryClient};
use super::copy::{BlobCopy, is_foreign};
use super::error::RegistryError;
use super::manifest::{Fetched, Manifest};
use super::reference::ImageRef;
use crate::config::Config;

/// Nested indexes deeper than this are not images anyone runs.
const MAX_DEPTH: usize = 4;

/// Blob copies in flight at once per image.
const PARALLEL_BLOBS: usize = 4;

/// What to promote where.
#[derive(Debug, Clone, PartialEq)]
pub struct PromoteRequest {
    /// By tag or digest.
    pub source: ImageRef,
    /// The tag to set (the source's tag when this has none).
    pub target: ImageRef,
    /// Tags in a protected environment are immutable: an existing tag with other content is
    /// refused rather than moved.
    pub target_protected: bool,
}

/// What a successful promotion did.
#[derive(Debug, Clone, PartialEq)]
pub enum PromoteOutcome {
    Copied {
        digest: String,
        blobs_mounted: usize,
        blobs_copied: usize,
        /// Already in the target repository (shared base layers).
        blobs_present: usize,
    },
    /// The target tag already pointed at this digest: nothing to do.
    AlreadyPresent { digest: String },
}

impl PromoteRequest {
    /// `service:tag` from `from_env`'s repository to `to_env`'s, as `shipdeck.toml` describes
    /// them (`[[env]] registry` prefixes, `repository` per service, `protected`).
    pub fn for_service(
        config: &Config,
        service: &str,
        tag: &str,
        from_env: &str,
        to_env: &str,
    ) -> Result<PromoteRequest, RegistryError> {
        let repository = config
            .service(service)
            .map_or(service, |s| s.repository_name());
        let prefix = |name: &str| {
            let env = config
                .env(name)
                .ok_or_else(|| RegistryError::Config(format!("unknown environment {name:?}")))?;
            let prefix = env.registry.as_deref().ok_or_else(|| {
                RegistryError::Config(format!(
                    "environment {name:?} has no `registry` prefix in shipdeck.toml"
                ))
            })?;
            Ok::<_, RegistryError>((env, prefix))
        };
        let (_, from_prefix) = prefix(from_env)?;
        let (to, to_prefix) = prefix(to_env)?;
        if to.read_only {
            return Err(RegistryError::Config(format!(
                "environment {to_env:?} is read-only; promotion into it is refused"
            )));
        }
        Ok(PromoteRequest {
            source: ImageRef::in_env(from_prefix, repository, tag)?,
            target: ImageRef::in_env(to_prefix, repository, tag)?,
            target_protected: to.protected,
        })
    }
}

impl Registries {
    /// `service:tag` from `from_env` to `to_env` as the configuration describes them.
    pub async fn promote_service(
        &self,
        config: &Config,
        service: &str,
        tag: &str,
        from_env: &str,
        to_env: &str,
    ) -> Result<PromoteOutcome, RegistryError> {
        let request = PromoteRequest::for_service(config, service, tag, from_env, to_env)?;
        self.promote(&request).await
    }

    /// Promotes with the clients for the source's and the target's registries.
    pub async fn promote(&self, request: &PromoteRequest) -> Result<PromoteOutcome, RegistryError> {
        let source = self.client(&request.source.registry)?;
        let target = self.client(&request.target.registry)?;
        promote(&source, &target, request).await
    }
}

/// Promotes `request.source` into `request.target` using the two clients given.
pub async fn promote(
    source: &RegistryClient,
    target: &RegistryClient,
    request: &PromoteRequest,
) -> Result<PromoteOutcome, RegistryError> {
    let (src_repo, dst_repo) = (&request.source.repository, &request.target.repository);
    let tag = request
        .target
        .tag
        .as_deref()
        .or(request.source.tag.as_deref())
        .ok_or_else(|| RegistryError::Config(format!("no tag to promote {} to", request.target)))?;
    let dst_name = format!("{}/{dst_repo}:{tag}", target.registry());

    let root = source
        .get_manifest(src_repo, request.source.reference())
        .await?
        .ok_or_else(|| RegistryError::NotFound {
            repo: source.repo_name(src_repo),
            what: format!("{} (nothing to promote)", request.source.reference()),
        })?;

    // What the tag holds now decides between no-op, refusal and overwrite.
    let previous = match target.digest(dst_repo, tag).await? {
        Some(existing) if existing == root.digest => {
            return Ok(PromoteOutcome::AlreadyPresent { digest: existing });
        }
        Some(existing) if request.target_protected => {
            return Err(RegistryError::ImmutableTag {
                target: dst_name,
                existing,
                incoming: root.digest,
            });
        }
        Some(_) => target.get_manifest(dst_repo, tag).await?,
        None => None,
    };

    tracing::info!(source = %request.source, target = %dst_name, digest = %root.digest, "promoting");
    let mut copier = Copier {
        source,
        target,
        src_repo,
        dst_repo,
        done_blobs: HashSet::new(),
        counts: (0, 0, 0),
    };
    copier.copy_tree(&root, 0).await?;

    // Tag last, then prove it: a registry that rewrote the manifest must not leave the tag
    // pointing at something else than what was promoted.
    target
        .put_manifest(dst_repo, tag, &root.bytes, &root.media_type)
        .await?;
    let actual = target.digest(dst_repo, tag).await?.unwrap_or_default();
    if actual != root.digest {
        let cleanup = undo_tag(target, dst_repo, tag, previous.as_ref(), &actual).await;
        return Err(RegistryError::DigestMismatch {
            target: dst_name,
            expected: root.digest,
            actual: if actual.is_empty() {
                "no manifest".into()
            } else {
                actual
            },
            cleanup,
        });
    }
    let (blobs_mounted, blobs_copied, blobs_present) = copier.counts;
    Ok(PromoteOutcome::Copied {
        digest: root.digest,
        blobs_mounted,
        blobs_copied,
        blobs_present,
    })
}

/// Puts the tag back as it was, checks that it is, and says what happened.
async fn undo_tag(
    target: &RegistryClient,
    repository: &str,
    tag: &str,
    previous: Option<&Fetched>,
    actual: &str,
) -> String {
    let undone = match previous {
        Some(prev) => target
            .put_manifest(repository, tag, &prev.bytes, &prev.media_type)
            .await
            .map(|_| Some(prev.digest.as_str())),
        None if actual.is_empty() => Ok(None),
        // Distribution deletes by digest only; this manifest is the one we just wrote.
        None => target
            .delete_manifest(repository, actual)
            .await
            .map(|()| None),
    };
    let now = match undone {
        Ok(_) => target.digest(repository, tag).await,
        Err(e) => Err(e),
    };
    let wanted = previous.map(|p| p.digest.as_str());
    match now {
        Ok(now) if now.as_deref() == wanted => match wanted {
            Some(digest) => format!("the tag was restored to {digest}"),
            None => "the tag was removed again".to_string(),
        },
        Ok(now) => format!(
            "cleanup FAILED: the tag now points at {}; check it by hand",
            now.as_deref().unwrap_or("nothing")
        ),
        Err(e) => format!("cleanup FAILED ({e}); check the tag by hand"),
    }
}

/// Walks one image (or index) and copies everything below the root into the target.
struct Copier<'a> {
    source: &'a RegistryClient,
    target: &'a RegistryClient,
    src_repo: &'a str,
    dst_repo: &'a str,
    done_blobs: HashSet<String>,
    /// (mounted, copied, present)
    counts: (usize, usize, usize),
}

impl Copier<'_> {
    /// Copies the blobs and child manifests of `node`, then `node` itself by digest.
    async fn copy_tree(&mut self, node: &Fetched, depth: usize) -> Result<(), RegistryError> {
        match &node.manifest {
            Manifest::Image(image) => {
                let blobs = std::iter::once(&image.config).chain(&image.layers);
                self.copy_blobs(blobs).await?;
            }
            Manifest::Index(index) => {
                if depth >= MAX_DEPTH {
                    return Err(RegistryError::MalformedManifest {
                        repo: self.source.repo_name(self.src_repo),
                        reference: node.digest.clone(),
                        message: "indexes nested too deeply".into(),
                    });
                }
                for entry in &index.manifests {
                    let child = self
                        .source
                        .get_manifest(self.src_repo, &entry.digest)
                        .await?
                        .ok_or_else(|| RegistryError::NotFound {
                            repo: self.source.repo_name(self.src_repo),
                            what: format!("manifest {} listed in {}", entry.digest, node.digest),
                        })?;
                    // Boxed: async recursion needs an indirection.
                    Box::pin(self.copy_tree(&child, depth + 1)).await?;
                }
            }
        }
        let stored = self
            .target
            .put_manifest(self.dst_repo, &node.digest, &node.bytes, &node.media_type)
            .await?;
        match stored {
            Some(digest) if digest != node.digest => Err(RegistryError::DigestMismatch {
                target: format!(
                    "{}/{}@{}",
                    self.target.registry(),
                    self.dst_repo,
                    node.digest
                ),
                expected: node.digest.clone(),
                actual: digest,
                cleanup: "no tag was written".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Copies an image's blobs, a few at a time: layers are independent, and one slow layer
    /// should not hold up the rest.
    async fn copy_blobs(
        &mut self,
        blobs: impl Iterator<Item = &OciDescriptor>,
    ) -> Result<(), RegistryError> {
        let todo: Vec<&OciDescriptor> = blobs
            .filter(|d| !is_foreign(d) && self.done_blobs.insert(d.digest.clone()))
            .collect();
        let (target, source, src_repo, dst_repo) =
            (self.target, self.source, self.src_repo, self.dst_repo);
        let results: Vec<BlobCopy> = futures::stream::iter(todo)
            .map(|desc| target.copy_blob(dst_repo, source, src_repo, desc))
            .buffer_unordered(PARALLEL_BLOBS)
            .try_collect()
            .await?;
        for how in results {
            match how {
                BlobCopy::Mounted => self.counts.0 += 1,
                BlobCopy::Copied => self.counts.1 += 1,
                BlobCopy::Present => self.counts.2 += 1,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_from_config() -> Result<(), Box<dyn std::error::Error>> {
        let config = crate::config::parse_str(
            r#"
            [[env]]
            name = "dev"
            registry = "127.0.0.1:5000/dev"
            [[env]]
            name = "prod"
            registry = "127.0.0.1:5000/prod"
            protected = true
            [[env]]
            name = "audit"
            registry = "127.0.0.1:5000/audit"
            read_only = true
            [[env]]
            name = "nowhere"
            [[service]]
            name = "orders"
            repository = "shop/orders"
            "#,
            std::path::Path::new("shipdeck.toml"),
        )?;
        let req = PromoteRequest::for_service(&config, "orders", "v1.5.0", "dev", "prod")?;
        assert_eq!(
            req.source.to_string(),
            "127.0.0.1:5000/dev/shop/orders:v1.5.0"
        );
        assert_eq!(
            req.target.to_string(),
            "127.0.0.1:5000/prod/shop/orders:v1.5.0"
        );
        assert!(req.target_protected);
        let req = PromoteRequest::for_service(&config, "payments", "v2", "prod", "dev")?;
        assert_eq!(req.target.repository, "dev/payments");
        assert!(!req.target_protected);
        for (from, to) in [("dev", "audit"), ("dev", "nowhere"), ("dev", "mars")] {
            let err = PromoteRequest::for_service(&config, "orders", "v1", from, to);
            assert!(
                matches!(err, Err(RegistryError::Config(_))),
                "{to}: {err:?}"
            );
        }
        Ok(())
    }
}
