//! Per-tag facts on demand, cached by digest: a HEAD learns the digest, and a digest seen
//! before costs nothing more (the same image under two tags, or a console refresh). Otherwise
//! the manifest (for an index: one platform's) and the image config give size, creation time
//! and the OCI labels that link a tag to its commit.

use std::collections::{BTreeMap, HashMap};

use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_DOCKER_CONFIG_MEDIA_TYPE, ImageIndexEntry, OciImageIndex,
    OciImageManifest,
};
use tokio::sync::mpsc;

use super::client::RegistryClient;
use super::error::RegistryError;
use super::manifest::{Fetched, Manifest};
use super::types::{RegistryEvent, TagDetails, TagRow};

const LABEL_CREATED: &str = "org.opencontainers.image.created";
const LABEL_REVISION: &str = "org.opencontainers.image.revision";
const LABEL_VERSION: &str = "org.opencontainers.image.version";
const LABEL_SOURCE: &str = "org.opencontainers.image.source";

/// Image configs are a few KiB; anything far larger is not one.
const CONFIG_LIMIT: usize = 4 << 20;

impl RegistryClient {
    /// Digest, media type, size, creation time and labels of `repository:tag`.
    pub async fn details(&self, repository: &str, tag: &str) -> Result<TagDetails, RegistryError> {
        let not_found = || RegistryError::NotFound {
            repo: self.repo_name(repository),
            what: format!("tag {tag}"),
        };
        let head = self
            .head_manifest(repository, tag)
            .await?
            .ok_or_else(not_found)?;
        if let Some(cached) = head.as_deref().and_then(|d| self.cached_details(d)) {
            return Ok(TagDetails {
                tag: tag.to_string(),
                ..cached
            });
        }
        // Without a digest header, GET by tag and hash the body instead.
        let reference = head.as_deref().unwrap_or(tag);
        let fetched = self
            .get_manifest(repository, reference)
            .await?
            .ok_or_else(not_found)?;
        if let Some(cached) = self.cached_details(&fetched.digest) {
            return Ok(TagDetails {
                tag: tag.to_string(),
                ..cached
            });
        }
        let details = self.describe(repository, tag, fetched).await?;
        self.cache_details(&details);
        Ok(details)
    }

    /// A row for the console: details, or the reason they failed for this tag alone.
    pub async fn tag_row(&self, repository: &str, tag: &str) -> TagRow {
        let result = self
            .details(repository, tag)
            .await
            .map_err(|e| e.to_string());
        TagRow::from_result(tag, result)
    }

    /// Fetches details and sends them as `RegistryEvent::Details`; meant to be spawned.
    pub async fn send_details(
        &self,
        repository: &str,
        tag: &str,
        events: mpsc::Sender<RegistryEvent>,
    ) {
        let result = self
            .details(repository, tag)
            .await
            .map_err(|e| e.to_string());
        let _ = events
            .send(RegistryEvent::Details {
                repository: self.repo_name(repository),
                tag: tag.to_string(),
                result,
            })
            .await;
    }

    async fn describe(
        &self,
        repository: &str,
        tag: &str,
        fetched: Fetched,
    ) -> Result<TagDetails, RegistryError> {
        let mut details = TagDetails {
            tag: tag.to_string(),
            digest: fetched.digest.clone(),
            media_type: fetched.media_type.clone(),
            is_index: matches!(fetched.manifest, Manifest::Index(_)),
            ..TagDetails::default()
        };
        let image = match fetched.manifest {
            Manifest::Image(image) => Some(image),
            Manifest::Index(index) => match pick_platform(&index) {
                Some(entry) => {
                    let child = self
                        .get_manifest(repository, &entry.digest)
                        .await?
                        .ok_or_else(|| RegistryError::NotFound {
                            repo: self.repo_name(repository),
                            what: format!("manifest {} listed by tag {tag}", entry.digest),
                        })?;
                    match child.manifest {
                        Manifest::Image(image) => Some(image),
                        // An index of indexes: report what we know without descending further.
                        Manifest::Index(_) => {
                            details.size = non_negative(entry.size);
                            None
                        }
                    }
                }
                None => None,
            },
        };
        let Some(image) = image else {
            return Ok(details);
        };
        details.size = non_negative(image.config.size)
            + image
                .layers
                .iter()
                .map(|l| non_negative(l.size))
                .sum::<u64>();
        let annotations = image.annotations.clone().unwrap_or_default();
        let config = if is_image_config(&image) {
            let bytes = self
                .get_small_blob(repository, &image.config.digest, CONFIG_LIMIT)
                .await?;
            parse_config(&bytes).map_err(|message| RegistryError::MalformedManifest {
                repo: self.repo_name(repository),
                reference: tag.to_string(),
                message: format!("image config: {message}"),
            })?
        } else {
            // An artifact (Helm chart, signature...): no image config to read.
            ImageConfig::default()
        };
        fill_from_config(&mut details, config, &annotations);
        Ok(details)
    }
}

fn non_negative(size: i64) -> u64 {
    u64::try_from(size).unwrap_or(0)
}

fn is_image_config(image: &OciImageManifest) -> bool {
    let t = image.config.media_type.as_str();
    t == IMAGE_CONFIG_MEDIA_TYPE || t == IMAGE_DOCKER_CONFIG_MEDIA_TYPE
}

/// The platform whose facts an index row shows: linux/amd64 if present, else the first real
/// platform (buildx adds `unknown/unknown` attestation manifests), else the first entry.
fn pick_platform(index: &OciImageIndex) -> Option<&ImageIndexEntry> {
    let is_attestation = |e: &ImageIndexEntry| {
        e.annotations
            .as_ref()
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .is_some_and(|t| t == "attestation-manifest")
            || e.platform
                .as_ref()
                .is_some_and(|p| p.os.to_string() == "unknown")
    };
    let platform_is = |e: &ImageIndexEntry, os: &str, arch: &str| {
        e.platform
            .as_ref()
            .is_some_and(|p| p.os.to_string() == os && p.architecture.to_string() == arch)
    };
    index
        .manifests
        .iter()
        .find(|e| platform_is(e, "linux", "amd64"))
        .or_else(|| index.manifests.iter().find(|e| !is_attestation(e)))
        .or_else(|| index.manifests.first())
}

/// The parts of an image config we show; lenient, since configs in the wild vary.
#[derive(Debug, Default, serde::Deserialize)]
struct ImageConfig {
    created: Option<String>,
    config: Option<RunConfig>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RunConfig {
    #[serde(rename = "Labels")]
    labels: Option<HashMap<String, String>>,
}

fn parse_config(bytes: &[u8]) -> Result<ImageConfig, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// Labels first, manifest annotations as the fallback (buildx can put them in either).
fn fill_from_config(
    details: &mut TagDetails,
    config: ImageConfig,
    annotations: &BTreeMap<String, String>,
) {
    let labels = config.config.and_then(|c| c.labels).unwrap_or_default();
    let get = |key: &str| {
        labels
            .get(key)
            .or_else(|| annotations.get(key))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    details.created = config
        .created
        .as_deref()
        .and_then(|c| c.trim().parse().ok())
        .or_else(|| get(LABEL_CREATED).and_then(|c| c.parse().ok()));
    details.revision = get(LABEL_REVISION);
    details.version = get(LABEL_VERSION);
    details.source = get(LABEL_SOURCE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_created_wins_over_label_and_labels_over_annotations() {
        let config = parse_config(
            br#"{"created":"2024-05-01T10:00:00.123456789Z","config":{"Labels":{
                "org.opencontainers.image.created":"2020-01-01T00:00:00Z",
                "org.opencontainers.image.revision":"abc123"}}}"#,
        )
        .expect("config");
        let annotations = BTreeMap::from([
            (LABEL_REVISION.to_string(), "from-annotation".to_string()),
            (
                LABEL_SOURCE.to_string(),
                "https://git.example/orders".to_string(),
            ),
        ]);
        let mut d = TagDetails::default();
        fill_from_config(&mut d, config, &annotations);
        assert_eq!(
            d.created.map(|t| t.to_string()).as_deref(),
            Some("2024-05-01T10:00:00.123456789Z")
        );
        assert_eq!(d.revision.as_deref(), Some("abc123"));
        assert_eq!(d.source.as_deref(), Some("https://git.example/orders"));
        assert_eq!(d.version, None);
    }

    #[test]
    fn label_created_is_the_fallback_and_junk_dates_are_ignored() {
        let config = parse_config(
            br#"{"created":"yesterday","config":{"Labels":{"org.opencontainers.image.created":"2023-03-04T05:06:07Z"}}}"#,
        )
        .expect("config");
        let mut d = TagDetails::default();
        fill_from_config(&mut d, config, &BTreeMap::new());
        assert_eq!(
            d.created.map(|t| t.to_string()).as_deref(),
            Some("2023-03-04T05:06:07Z")
        );
        let config = parse_config(br#"{"config":{"Labels":null}}"#).expect("config");
        let mut d = TagDetails::default();
        fill_from_config(&mut d, config, &BTreeMap::new());
        assert_eq!(d.created, None);
        assert!(parse_config(b"[1,2]").is_err());
    }
}
