//! The simulated kubelet's view of the registry: whether an image reference can be pulled,
//! its digest (for `imageID`), and the fault its config label declares.
//!
//! Called per container per kubelet reconcile, so it reads the store directly (no HTTP) and
//! caches the fault by manifest digest: a digest names immutable content, so the cache never
//! goes stale; only the tag → digest lookup happens each time.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::Registry;
use super::manifest::{DOCKER_MANIFEST_LIST, OCI_INDEX};
use super::reference::ImageRef;
use crate::images::{FAULT_LABEL, Fault, ImageResolver, ImageVerdict};

/// A pullable image: what the kubelet records and how the container will behave.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedImage {
    /// The manifest (or index) digest the reference resolves to.
    pub digest: String,
    /// `host/repository@digest`, the form a kubelet reports as `imageID`.
    pub image_id: String,
    pub fault: Option<Fault>,
}

pub struct RegistryImages {
    registry: Arc<Registry>,
    host: String,
    faults_by_digest: Mutex<HashMap<String, Option<Fault>>>,
}

impl RegistryImages {
    /// `host` is the registry's `host:port` as image references name it (`RegistryServer::host`).
    pub fn new(registry: Arc<Registry>, host: impl Into<String>) -> Self {
        RegistryImages {
            registry,
            host: host.into(),
            faults_by_digest: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `image`, or says why it cannot be pulled (in the runtime's words).
    pub fn lookup(&self, image: &str) -> Result<ResolvedImage, String> {
        let reference = ImageRef::parse(image)?;
        if !self.is_ours(&reference.host) {
            let host = reference.host.split(':').next().unwrap_or_default();
            return Err(format!("dial tcp: lookup {host}: no such host"));
        }
        let repo = &reference.repository;
        let digest = match &reference.digest {
            // The fault cache is by digest alone; the repository must hold it too.
            Some(digest) if self.registry.store.read().has_manifest(repo, digest) => digest.clone(),
            Some(_) => return Err("manifest unknown".to_string()),
            None => {
                let tag = reference.tag.as_deref().unwrap_or("latest");
                self.registry
                    .resolve_tag(repo, tag)
                    .ok_or_else(|| "manifest unknown".to_string())?
            }
        };
        let fault = self.fault(repo, &digest)?;
        Ok(ResolvedImage {
            image_id: format!("{}/{repo}@{digest}", reference.host),
            digest,
            fault,
        })
    }

    /// The digest `image` resolves to, for the pod status `imageID`.
    pub fn digest(&self, image: &str) -> Option<String> {
        self.lookup(image).ok().map(|resolved| resolved.digest)
    }

    /// `127.0.0.1:PORT` and `localhost:PORT` name the same listener.
    fn is_ours(&self, host: &str) -> bool {
        let local = |h: &str| h.replacen("localhost:", "127.0.0.1:", 1);
        host == self.host || local(host) == local(&self.host)
    }

    fn fault(&self, repo: &str, digest: &str) -> Result<Option<Fault>, String> {
        if let Some(fault) = self.faults_by_digest.lock().get(digest) {
            return Ok(fault.clone());
        }
        let fault = self.read_fault(repo, digest)?;
        self.faults_by_digest
            .lock()
            .insert(digest.to_string(), fault.clone());
        Ok(fault)
    }

    /// Reads the fault label from the image config (of the linux/amd64 entry of an index, or
    /// its first one: the nodes the sandbox simulates are linux/amd64).
    fn read_fault(&self, repo: &str, digest: &str) -> Result<Option<Fault>, String> {
        let store = self.registry.store.read();
        let unknown = |_| "manifest unknown".to_string();
        let mut manifest = store.manifest(repo, digest).map_err(unknown)?;
        if manifest.media_type == OCI_INDEX || manifest.media_type == DOCKER_MANIFEST_LIST {
            let index = json(&manifest.body);
            let entries = index["manifests"].as_array().cloned().unwrap_or_default();
            let platform = |e: &&Value| {
                e["platform"]["os"] == "linux" && e["platform"]["architecture"] == "amd64"
            };
            let chosen = entries.iter().find(platform).or(entries.first());
            let child = chosen
                .and_then(|e| e["digest"].as_str())
                .unwrap_or_default();
            manifest = store.manifest(repo, child).map_err(unknown)?;
        }
        let config_digest = json(&manifest.body)["config"]["digest"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // An image without a readable config (an artifact, say) simply declares no fault.
        let config = store
            .blob(repo, &config_digest)
            .map(|b| json(&b))
            .unwrap_or_default();
        Ok(config["config"]["Labels"][FAULT_LABEL]
            .as_str()
            .and_then(Fault::parse))
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_default()
}

impl ImageResolver for RegistryImages {
    fn resolve(&self, image: &str) -> ImageVerdict {
        match self.lookup(image) {
            Ok(resolved) => ImageVerdict::Present {
                fault: resolved.fault,
            },
            Err(reason) => ImageVerdict::Missing { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ImageSpec;

    const HOST: &str = "127.0.0.1:5000";

    fn images() -> (Arc<Registry>, RegistryImages) {
        let registry = Registry::new();
        let images = RegistryImages::new(registry.clone(), HOST);
        (registry, images)
    }

    #[test]
    fn present_images_carry_their_fault_label() {
        let (registry, images) = images();
        registry.seed("dev/orders", &["v1"], &ImageSpec::default());
        let crash = ImageSpec::default().with_label(FAULT_LABEL, "crash");
        registry.seed("dev/orders", &["v2"], &crash);
        let errors = ImageSpec::default()
            .with_label(FAULT_LABEL, "errors=0.3")
            .with_platform("linux", "arm64")
            .with_platform("linux", "amd64");
        registry.seed("dev/orders", &["v3"], &errors);
        let verdict = |tag: &str| images.resolve(&format!("{HOST}/dev/orders:{tag}"));
        assert_eq!(verdict("v1"), ImageVerdict::Present { fault: None });
        assert_eq!(
            verdict("v2"),
            ImageVerdict::Present {
                fault: Some(Fault::Crash)
            }
        );
        assert_eq!(
            verdict("v3"),
            ImageVerdict::Present {
                fault: Some(Fault::Errors(0.3))
            }
        );
    }

    #[test]
    fn missing_tags_and_foreign_hosts_are_missing_with_a_reason() {
        let (registry, images) = images();
        registry.seed("dev/orders", &["v1"], &ImageSpec::default());
        let missing = |image: &str| match images.resolve(image) {
            ImageVerdict::Missing { reason } => reason,
            present => panic!("{image} should be missing, got {present:?}"),
        };
        assert_eq!(
            missing(&format!("{HOST}/dev/orders:v9")),
            "manifest unknown"
        );
        assert_eq!(
            missing(&format!("{HOST}/dev/payments:v1")),
            "manifest unknown"
        );
        assert_eq!(missing(&format!("{HOST}/dev/orders")), "manifest unknown");
        assert_eq!(
            missing("nginx:1.27"),
            "dial tcp: lookup docker.io: no such host"
        );
        assert_eq!(
            missing("registry.example.com:443/dev/orders:v1"),
            "dial tcp: lookup registry.example.com: no such host"
        );
        assert!(missing(&format!("{HOST}/Dev/Orders:v1")).starts_with("invalid reference format"));
    }

    #[test]
    fn digests_and_image_ids_for_tags_and_pinned_references() {
        let (registry, images) = images();
        let digest = registry.seed("dev/orders", &["v1", "latest"], &ImageSpec::default());
        let resolved = images
            .lookup(&format!("{HOST}/dev/orders:v1"))
            .expect("present");
        assert_eq!(resolved.digest, digest);
        assert_eq!(resolved.image_id, format!("{HOST}/dev/orders@{digest}"));
        assert_eq!(
            images.digest("localhost:5000/dev/orders"),
            Some(digest.clone())
        );
        let pinned = format!("{HOST}/dev/orders@{digest}");
        assert_eq!(images.digest(&pinned), Some(digest.clone()));
        let absent = format!("{HOST}/dev/orders@sha256:{}", "0".repeat(64));
        assert_eq!(images.digest(&absent), None);
        // Known content, but not in this repository.
        assert_eq!(images.digest(&format!("{HOST}/prod/orders@{digest}")), None);
    }

    #[test]
    fn a_retag_is_seen_at_once_while_faults_are_cached_by_digest() {
        let (registry, images) = images();
        registry.seed("dev/orders", &["v1"], &ImageSpec::default());
        let image = format!("{HOST}/dev/orders:v1");
        assert_eq!(
            images.resolve(&image),
            ImageVerdict::Present { fault: None }
        );
        let crash = ImageSpec::default().with_label(FAULT_LABEL, "crash");
        registry.seed("dev/orders", &["v1"], &crash);
        assert_eq!(
            images.resolve(&image),
            ImageVerdict::Present {
                fault: Some(Fault::Crash)
            }
        );
        assert_eq!(images.faults_by_digest.lock().len(), 2);
        assert!(registry.delete_tag("dev/orders", "v1"));
        assert!(matches!(
            images.resolve(&image),
            ImageVerdict::Missing { .. }
        ));
    }
}
