//! Puts images into a registry with plain HTTP calls (monolithic blob upload, manifest PUT),
//! deliberately not through the code under test, and reads back digests the same way.

use serde_json::json;
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What an image's config says, and its layer contents.
#[derive(Clone, Default)]
pub struct ImageSpec {
    pub created: Option<String>,
    pub labels: Vec<(String, String)>,
    pub layers: Vec<Vec<u8>>,
    pub architecture: String,
}

impl ImageSpec {
    /// A one-layer image whose content is unique to `seed`.
    pub fn simple(seed: &str) -> ImageSpec {
        ImageSpec {
            created: Some("2024-01-01T00:00:00Z".into()),
            labels: vec![],
            layers: vec![format!("layer for {seed}").into_bytes()],
            architecture: "amd64".into(),
        }
    }
}

/// A manifest as pushed: digest, size and media type, for building indexes.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub digest: String,
    pub size: usize,
    pub architecture: String,
}

#[derive(Clone)]
pub struct Seed {
    base: String,
    http: reqwest::Client,
    basic: Option<(String, String)>,
}

impl Seed {
    pub fn new(host: &str) -> Seed {
        shipdeck::install_crypto_provider();
        Seed {
            base: format!("http://{host}"),
            http: reqwest::Client::new(),
            basic: None,
        }
    }

    pub fn with_basic(host: &str, user: &str, password: &str) -> Seed {
        Seed {
            basic: Some((user.into(), password.into())),
            ..Seed::new(host)
        }
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match &self.basic {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let started = self
            .request(
                reqwest::Method::POST,
                &format!("{}/v2/{repo}/blobs/uploads/", self.base),
            )
            .send()
            .await
            .expect("start upload");
        assert_eq!(started.status(), 202, "start upload");
        let location = started
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_string();
        let mut url = url::Url::parse(&self.base)
            .and_then(|b| b.join(&location))
            .expect("upload url");
        url.query_pairs_mut().append_pair("digest", &digest);
        let done = self
            .request(reqwest::Method::PUT, url.as_str())
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload");
        assert_eq!(done.status(), 201, "upload blob");
        digest
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let r = self
            .request(
                reqwest::Method::PUT,
                &format!("{}/v2/{repo}/manifests/{reference}", self.base),
            )
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("put manifest");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(status, 201, "put manifest {repo}:{reference}: {text}");
        sha256(body)
    }

    /// Pushes config, layers and manifest; tags it when `tag` is given.
    pub async fn push_image(&self, repo: &str, tag: Option<&str>, spec: &ImageSpec) -> Pushed {
        let labels: serde_json::Map<String, serde_json::Value> = spec
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut config = json!({
            "architecture": spec.architecture,
            "os": "linux",
            "config": { "Labels": labels },
            "rootfs": { "type": "layers", "diff_ids": [] },
        });
        if let Some(created) = &spec.created {
            config["created"] = json!(created);
        }
        let config = serde_json::to_vec(&config).expect("config json");
        let config_digest = self.push_blob(repo, &config).await;
        let mut layers = vec![];
        for layer in &spec.layers {
            let digest = self.push_blob(repo, layer).await;
            layers.push(json!({"mediaType": OCI_LAYER, "digest": digest, "size": layer.len()}));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": layers,
        }))
        .expect("manifest json");
        let digest = sha256(&manifest);
        self.put_manifest(repo, tag.unwrap_or(&digest), OCI_MANIFEST, &manifest)
            .await;
        Pushed {
            digest,
            size: manifest.len(),
            architecture: spec.architecture.clone(),
        }
    }

    /// A multi-arch index over already pushed images.
    pub async fn push_index(&self, repo: &str, tag: &str, children: &[Pushed]) -> String {
        let manifests: Vec<serde_json::Value> = children
            .iter()
            .map(|c| {
                json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": c.digest,
                    "size": c.size,
                    "platform": {"architecture": c.architecture, "os": "linux"},
                })
            })
            .collect();
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        }))
        .expect("index json");
        self.put_manifest(repo, tag, OCI_INDEX, &index).await
    }

    /// The digest a tag (or digest) resolves to now, `None` when absent (raw HEAD).
    pub async fn digest_of(&self, repo: &str, reference: &str) -> Option<String> {
        let r = self
            .request(
                reqwest::Method::HEAD,
                &format!("{}/v2/{repo}/manifests/{reference}", self.base),
            )
            .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
            .send()
            .await
            .expect("head manifest");
        if r.status() == 404 {
            return None;
        }
        assert!(
            r.status().is_success(),
            "HEAD {repo}:{reference}: {}",
            r.status()
        );
        r.headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub async fn blob_exists(&self, repo: &str, digest: &str) -> bool {
        let r = self
            .request(
                reqwest::Method::HEAD,
                &format!("{}/v2/{repo}/blobs/{digest}", self.base),
            )
            .send()
            .await
            .expect("head blob");
        r.status().is_success()
    }

    pub async fn delete(&self, repo: &str, digest: &str) {
        let r = self
            .request(
                reqwest::Method::DELETE,
                &format!("{}/v2/{repo}/manifests/{digest}", self.base),
            )
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 202, "delete {repo}@{digest}");
    }
}
