//! Shared by the `oci_server*` test binaries: a running sandbox registry, an HTTP client,
//! skopeo invocation, and a hand-made OCI image layout.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use shipdeck::sandbox::registry::{ImageSpec, Registry, RegistryServer, serve};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The registry on a free port of 127.0.0.1.
pub async fn start(registry: Arc<Registry>) -> RegistryServer {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
    serve(registry, any_port).await.expect("registry listens")
}

/// A plain-HTTP client that shows redirects and errors as they are.
pub fn http() -> reqwest::Client {
    shipdeck::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// A release-like image spec: OCI labels plus `created`.
pub fn release_spec(version: &str, revision: &str) -> ImageSpec {
    let created: jiff::Timestamp = "2026-11-18T09:30:00Z".parse().expect("timestamp");
    ImageSpec::new(created)
        .with_label("org.opencontainers.image.created", "2026-11-18T09:30:00Z")
        .with_label("org.opencontainers.image.version", version)
        .with_label("org.opencontainers.image.revision", revision)
        .with_label(
            "org.opencontainers.image.source",
            "https://git.example.com/shop/orders",
        )
}

/// Whether skopeo can run. When it cannot, says so loudly; under CI (whose script installs
/// skopeo) that is a failure rather than a skip.
pub fn skopeo_available(test: &str) -> bool {
    let found = std::process::Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let message = format!(
            "SKIPPED {test}: skopeo is not installed (apt-get install -y skopeo); \
             the skopeo half of the OCI registry tests did not run"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip must show.
        let _ = writeln!(std::io::stderr(), "\n!!!!!!!!\n!!! {message}\n!!!!!!!!\n");
    }
    found
}

/// Runs `skopeo --insecure-policy ARGS` (no policy.json needed) with its own HOME, so no
/// user auth file or blob-info cache leaks in.
pub async fn skopeo(home: &Path, args: &[&str]) -> Output {
    let output = tokio::process::Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .await
        .expect("skopeo runs");
    if !output.status.success() {
        eprintln!(
            "skopeo {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// What [`hand_made_layout`] wrote.
pub struct Layout {
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer: Vec<u8>,
}

/// Writes an OCI image layout by hand (no tool involved): one uncompressed tar layer made by
/// the system `tar`, a config whose `diff_ids` name it, a manifest, and `index.json` with `tag`.
pub fn hand_made_layout(dir: &Path, tag: &str) -> Layout {
    let content = dir.join("content");
    std::fs::create_dir_all(content.join("app")).expect("mkdir");
    std::fs::write(
        content.join("app/hello.txt"),
        b"hello from a hand-made layout\n",
    )
    .expect("write");
    let tar_path = dir.join("layer.tar");
    let status = std::process::Command::new("tar")
        .args([
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-cf",
        ])
        .arg(&tar_path)
        .arg("-C")
        .arg(&content)
        .arg("app")
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar failed");
    let layer = std::fs::read(&tar_path).expect("layer");
    let config = serde_json::json!({
        "created": "2026-11-01T08:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.opencontainers.image.version": "1.0.0"}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
    })
    .to_string()
    .into_bytes();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER_TAR, "digest": sha256(&layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir blobs");
    for blob in [&layer, &config, &manifest] {
        let digest = sha256(blob);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(blobs.join(hex), blob).expect("write blob");
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": sha256(&manifest),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    Layout {
        manifest_digest: sha256(&manifest),
        config_digest: sha256(&config),
        layer,
    }
}

/// A running registry and a client for raw protocol requests against it.
pub struct Api {
    pub server: RegistryServer,
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub async fn start(registry: Arc<Registry>) -> Api {
        let server = start(registry).await;
        let base = format!("http://{}", server.host());
        Api {
            server,
            http: http(),
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn head(&self, path: &str) -> reqwest::Response {
        self.http.head(self.url(path)).send().await.expect("HEAD")
    }

    /// Monolithic `POST …/blobs/uploads/?digest=`; returns the digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let response = self
            .http
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .expect("POST blob");
        assert_eq!(response.status(), 201, "blob push");
        digest
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("PUT manifest")
    }
}

pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Status and the first error code of a spec error response.
pub async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("error JSON");
    let code = body["errors"][0]["code"].as_str().unwrap_or_default();
    (status, code.to_string())
}

/// An OCI image manifest naming `config` and `layers` (digest, size pairs).
pub fn image_manifest(config: (&str, usize), layers: &[(&str, usize)]) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|(digest, size)| {
            serde_json::json!({"mediaType": OCI_LAYER_TAR, "digest": digest, "size": size})
        })
        .collect();
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.0, "size": config.1},
        "layers": layers,
    })
    .to_string()
    .into_bytes()
}
