//! Fetching and recognising manifests: HEAD for the digest, GET for the raw bytes (hashed
//! here, so a registry that omits `Docker-Content-Digest` still gives a digest), and parsing
//! into oci-client's image/index types. Anything that is neither is an error for that tag
//! alone, never a panic.

use bytes::Bytes;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex, OciImageManifest,
};
use reqwest::{Method, StatusCode, header};
use sha2::{Digest, Sha256};

use super::auth::Scope;
use super::client::{RegistryClient, Req, digest_header, error_summary};
use super::error::RegistryError;

/// Every manifest kind we understand, for `Accept`.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

const KNOWN: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

/// A parsed manifest (few are alive at once, so the size difference does not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Manifest {
    Image(OciImageManifest),
    Index(OciImageIndex),
}

/// A manifest as the registry stores it: the exact bytes (their hash is the digest).
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub digest: String,
    pub media_type: String,
    pub bytes: Bytes,
    pub manifest: Manifest,
}

/// Why bytes are not a manifest we can use.
#[derive(Debug, PartialEq)]
pub(crate) enum ManifestError {
    Malformed(String),
    Unsupported(String),
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Recognises `bytes` using the response's `Content-Type` and the manifest's own fields.
pub(crate) fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<(String, Manifest), ManifestError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        schema_version: Option<i64>,
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        config: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| ManifestError::Malformed(format!("not a JSON manifest: {e}")))?;
    let header_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty());
    if probe.schema_version == Some(1) {
        return Err(ManifestError::Unsupported(header_type.unwrap_or_else(
            || "application/vnd.docker.distribution.manifest.v1+json".into(),
        )));
    }
    let known = |t: &str| KNOWN.contains(&t);
    let media_type = match (&header_type, &probe.media_type) {
        (Some(h), _) if known(h) => h.clone(),
        (_, Some(b)) if known(b) => b.clone(),
        (_, Some(b)) => return Err(ManifestError::Unsupported(b.clone())),
        // OCI allows omitting `mediaType`; a generic Content-Type says nothing either way.
        (h, None) => {
            if let Some(h) = h.as_deref().filter(|h| !is_generic(h)) {
                return Err(ManifestError::Unsupported(h.to_string()));
            }
            if probe.manifests.is_some() {
                OCI_IMAGE_INDEX_MEDIA_TYPE.to_string()
            } else if probe.config.is_some() {
                OCI_IMAGE_MEDIA_TYPE.to_string()
            } else {
                return Err(ManifestError::Malformed(
                    "neither an image manifest nor an index".into(),
                ));
            }
        }
    };
    let manifest = if is_index(&media_type) {
        serde_json::from_slice::<OciImageIndex>(bytes).map(Manifest::Index)
    } else {
        serde_json::from_slice::<OciImageManifest>(bytes).map(Manifest::Image)
    }
    .map_err(|e| ManifestError::Malformed(e.to_string()))?;
    Ok((media_type, manifest))
}

fn is_generic(content_type: &str) -> bool {
    matches!(
        content_type,
        "application/json" | "text/plain" | "application/octet-stream"
    )
}

pub(crate) fn is_index(media_type: &str) -> bool {
    media_type == OCI_IMAGE_INDEX_MEDIA_TYPE || media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE
}

impl RegistryClient {
    /// The digest `reference` resolves to, by HEAD; `Ok(None)` when it does not exist.
    /// The inner `None` means the registry sent no `Docker-Content-Digest` (GET to learn it).
    pub(crate) async fn head_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Option<String>>, RegistryError> {
        let url = self.object_url(repository, "manifests", reference)?;
        let req = Req::new(Method::HEAD, url, repository, vec![Scope::pull(repository)])
            .header(header::ACCEPT, MANIFEST_ACCEPT);
        let response = self.send(req).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(digest_header(response.headers()))),
            _ => {
                let summary = error_summary(response).await;
                Err(self.protocol(repository, format!("HEAD manifest {reference}: {summary}")))
            }
        }
    }

    /// The manifest `reference` names, exactly as stored; `Ok(None)` when it does not exist.
    pub(crate) async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Fetched>, RegistryError> {
        let url = self.object_url(repository, "manifests", reference)?;
        let req = Req::new(Method::GET, url, repository, vec![Scope::pull(repository)])
            .header(header::ACCEPT, MANIFEST_ACCEPT);
        let response = self.send(req).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let summary = error_summary(response).await;
            return Err(self.protocol(repository, format!("GET manifest {reference}: {summary}")));
        }
        let header_digest = digest_header(response.headers());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response.bytes().await.map_err(|e| RegistryError::Network {
            repo: self.repo_name(repository),
            message: super::error::describe_reqwest(e),
        })?;
        let digest = sha256_digest(&bytes);
        let malformed = |message: String| RegistryError::MalformedManifest {
            repo: self.repo_name(repository),
            reference: reference.to_string(),
            message,
        };
        // The content is the truth; a header or a pinned reference that disagrees means the
        // registry (or something in between) changed the bytes.
        let claimed = header_digest
            .iter()
            .map(String::as_str)
            .chain(reference.starts_with("sha256:").then_some(reference));
        for claim in claimed {
            if claim.starts_with("sha256:") && claim != digest {
                return Err(malformed(format!(
                    "content hashes to {digest}, registry claims {claim}"
                )));
            }
        }
        let (media_type, manifest) =
            parse(&bytes, content_type.as_deref()).map_err(|e| match e {
                ManifestError::Malformed(m) => malformed(m),
                ManifestError::Unsupported(media_type) => RegistryError::UnsupportedMediaType {
                    repo: self.repo_name(repository),
                    reference: reference.to_string(),
                    media_type,
                },
            })?;
        Ok(Some(Fetched {
            digest,
            media_type,
            bytes,
            manifest,
        }))
    }

    /// A small blob (an image config) in memory, refusing anything over `limit` bytes.
    pub(crate) async fn get_small_blob(
        &self,
        repository: &str,
        digest: &str,
        limit: usize,
    ) -> Result<Bytes, RegistryError> {
        let url = self.object_url(repository, "blobs", digest)?;
        let req = Req::new(Method::GET, url, repository, vec![Scope::pull(repository)]);
        let response = self.send(req).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                repo: self.repo_name(repository),
                what: format!("blob {digest}"),
            });
        }
        if !status.is_success() {
            let summary = error_summary(response).await;
            return Err(self.protocol(repository, format!("GET blob {digest}: {summary}")));
        }
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(self.protocol(repository, format!("blob {digest} is too large")));
        }
        let bytes = response.bytes().await.map_err(|e| RegistryError::Network {
            repo: self.repo_name(repository),
            message: super::error::describe_reqwest(e),
        })?;
        if bytes.len() > limit {
            return Err(self.protocol(repository, format!("blob {digest} is too large")));
        }
        if digest.starts_with("sha256:") && sha256_digest(&bytes) != digest {
            return Err(self.protocol(
                repository,
                format!("blob {digest} does not match its digest"),
            ));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2}"#;

    #[test]
    fn recognises_images_and_indexes() {
        let image = format!(r#"{{"schemaVersion":2,"config":{CONFIG},"layers":[]}}"#);
        let (media_type, m) = parse(image.as_bytes(), None).expect("image");
        assert_eq!(media_type, OCI_IMAGE_MEDIA_TYPE);
        assert!(matches!(m, Manifest::Image(_)));

        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let (media_type, m) = parse(index.as_bytes(), Some("application/json")).expect("index");
        assert!(is_index(&media_type));
        assert!(matches!(m, Manifest::Index(_)));

        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{IMAGE_MANIFEST_MEDIA_TYPE}","config":{CONFIG},"layers":[]}}"#
        );
        let (media_type, _) = parse(
            docker.as_bytes(),
            Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
        )
        .expect("docker v2");
        assert_eq!(media_type, IMAGE_MANIFEST_MEDIA_TYPE);
    }

    #[test]
    fn odd_manifests_are_errors_not_panics() {
        assert!(matches!(
            parse(b"\x00\xffgarbage", None),
            Err(ManifestError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#, None),
            Err(ManifestError::Unsupported(_))
        ));
        assert_eq!(
            parse(
                br#"{"schemaVersion":2,"mediaType":"application/x-weird"}"#,
                Some("application/x-weird")
            )
            .err(),
            Some(ManifestError::Unsupported("application/x-weird".into()))
        );
        // Right media type, wrong shape.
        assert!(matches!(
            parse(
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":7}"#,
                None
            ),
            Err(ManifestError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"{}", None),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
