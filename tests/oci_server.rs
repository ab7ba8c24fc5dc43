//! The sandbox registry against unmodified OCI clients over real HTTP: skopeo (the
//! containers/image stack behind podman and CRI-O) and the oci-client crate.

use crate::oci_support as support;

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use shipdeck::sandbox::registry::{AuthPolicy, ImageSpec, Registry};
use support::{hand_made_layout, release_spec, sha256, skopeo, skopeo_available, start};

fn json(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "command failed");
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[tokio::test]
async fn skopeo_pushes_a_hand_made_oci_layout() {
    if !skopeo_available("skopeo_pushes_a_hand_made_oci_layout") {
        return;
    }
    let registry = Registry::new();
    let server = start(registry.clone()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout_dir = tmp.path().join("layout");
    let layout = hand_made_layout(&layout_dir, "v1.0.0");
    let src = format!("oci:{}:v1.0.0", layout_dir.display());
    let dest = format!("docker://{}/dev/orders:v1.0.0", server.host());
    let args = [
        "copy",
        "--dest-tls-verify=false",
        "--dest-no-creds",
        "--preserve-digests",
    ];
    let out = skopeo(
        tmp.path(),
        &[&args[..], &[src.as_str(), dest.as_str()]].concat(),
    )
    .await;
    assert!(out.status.success());
    assert_eq!(
        registry.resolve_tag("dev/orders", "v1.0.0"),
        Some(layout.manifest_digest.clone())
    );

    // And it reads back what it pushed: config, layer and labels.
    let src = format!("docker://{}/dev/orders:v1.0.0", server.host());
    let inspect = json(
        &skopeo(
            tmp.path(),
            &["inspect", "--tls-verify=false", "--no-creds", &src],
        )
        .await,
    );
    assert_eq!(inspect["Digest"], layout.manifest_digest.as_str());
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    assert_eq!(inspect["Layers"][0], sha256(&layout.layer).as_str());
    let config = json(
        &skopeo(
            tmp.path(),
            &[
                "inspect",
                "--config",
                "--raw",
                "--tls-verify=false",
                "--no-creds",
                &src,
            ],
        )
        .await,
    );
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        sha256(&layout.layer).as_str()
    );
    assert_eq!(sha256(config.to_string().as_bytes()), layout.config_digest);
    server.shutdown().await;
}

#[tokio::test]
async fn skopeo_inspects_seeded_images_and_lists_tags_across_pages() {
    if !skopeo_available("skopeo_inspects_seeded_images_and_lists_tags_across_pages") {
        return;
    }
    let registry = Registry::new();
    let tags = ["v1.2.0", "v1.3.0", "v1.4.0", "v1.4.1", "v1.4.2"];
    for (i, tag) in tags.iter().enumerate() {
        registry.seed(
            "dev/orders",
            &[tag],
            &release_spec(&tag[1..], &format!("{i}abc123")),
        );
    }
    let digest = registry.seed(
        "dev/orders",
        &["v1.5.0", "latest"],
        &release_spec("1.5.0", "3f9c21a"),
    );
    // Pages of two: skopeo must follow the Link headers to see all seven tags.
    registry.faults().set_tags_page_size(Some(2));
    let server = start(registry.clone()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let image = format!("docker://{}/dev/orders:v1.5.0", server.host());

    let inspect = json(
        &skopeo(
            tmp.path(),
            &["inspect", "--tls-verify=false", "--no-creds", &image],
        )
        .await,
    );
    assert_eq!(inspect["Digest"], digest.as_str());
    assert_eq!(inspect["Created"], "2026-11-18T09:30:00Z");
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.revision"],
        "3f9c21a"
    );
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"],
        "1.5.0"
    );
    assert_eq!(inspect["Layers"].as_array().map(Vec::len), Some(2));
    assert_eq!(inspect["RepoTags"].as_array().map(Vec::len), Some(7));

    let repo = format!("docker://{}/dev/orders", server.host());
    let listed = json(
        &skopeo(
            tmp.path(),
            &["list-tags", "--tls-verify=false", "--no-creds", &repo],
        )
        .await,
    );
    let mut expected: Vec<&str> = tags.to_vec();
    expected.extend(["latest", "v1.5.0"]);
    expected.sort_unstable();
    assert_eq!(listed["Tags"], serde_json::json!(expected));
    server.shutdown().await;
}

#[tokio::test]
async fn skopeo_copies_between_repositories_and_into_an_oci_layout() {
    if !skopeo_available("skopeo_copies_between_repositories_and_into_an_oci_layout") {
        return;
    }
    let registry = Registry::new();
    let spec = release_spec("1.4.2", "a91be0c")
        .with_platform("linux", "amd64")
        .with_platform("linux", "arm64");
    let index = registry.seed("dev/orders", &["v1.4.2"], &spec);
    let server = start(registry.clone()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let host = server.host();

    // Promotion by digest: the whole index, every platform, lands unchanged in prod.
    let src = format!("docker://{host}/dev/orders:v1.4.2");
    let dest = format!("docker://{host}/prod/orders:v1.4.2");
    let tls = [
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-no-creds",
        "--dest-no-creds",
    ];
    let out = skopeo(
        tmp.path(),
        &[&["copy", "--all"][..], &tls, &[src.as_str(), dest.as_str()]].concat(),
    )
    .await;
    assert!(out.status.success());
    assert_eq!(
        registry.resolve_tag("prod/orders", "v1.4.2"),
        Some(index.clone())
    );

    // Out of the registry into a fresh OCI layout (the linux/amd64 image).
    let layout = tmp.path().join("pulled");
    let dest = format!("oci:{}:v1.4.2", layout.display());
    let args = [
        "copy",
        "--src-tls-verify=false",
        "--src-no-creds",
        "--override-arch",
        "amd64",
    ];
    let out = skopeo(
        tmp.path(),
        &[&args[..], &[src.as_str(), dest.as_str()]].concat(),
    )
    .await;
    assert!(out.status.success());
    let index_json: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("json");
    let manifest_digest = index_json["manifests"][0]["digest"]
        .as_str()
        .expect("digest");
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let manifest =
        std::fs::read(layout.join("blobs/sha256").join(hex(manifest_digest))).expect("manifest");
    assert_eq!(sha256(&manifest), manifest_digest);
    let manifest: Value = serde_json::from_slice(&manifest).expect("json");
    for descriptor in std::iter::once(&manifest["config"])
        .chain(manifest["layers"].as_array().into_iter().flatten())
    {
        let digest = descriptor["digest"].as_str().expect("digest");
        let blob = std::fs::read(layout.join("blobs/sha256").join(hex(digest))).expect("blob");
        assert_eq!(sha256(&blob), digest, "pulled blob matches its digest");
    }
    let config = std::fs::read(
        layout
            .join("blobs/sha256")
            .join(hex(manifest["config"]["digest"].as_str().expect("config"))),
    )
    .expect("config");
    let config: Value = serde_json::from_slice(&config).expect("json");
    assert_eq!(config["architecture"], "amd64");
    server.shutdown().await;
}

#[tokio::test]
async fn skopeo_authenticates_through_the_token_flow_and_deletes() {
    if !skopeo_available("skopeo_authenticates_through_the_token_flow_and_deletes") {
        return;
    }
    let registry = Registry::new();
    let digest = registry.seed("dev/orders", &["v1"], &release_spec("1.0.0", "abc"));
    registry
        .faults()
        .set_auth(Some(AuthPolicy::bearer("ci", "s3cret")));
    let server = start(registry.clone()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let image = format!("docker://{}/dev/orders:v1", server.host());

    let denied = skopeo(
        tmp.path(),
        &["inspect", "--tls-verify=false", "--no-creds", &image],
    )
    .await;
    assert!(!denied.status.success());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains("unauthorized") || stderr.contains("401"),
        "{stderr}"
    );
    let wrong = skopeo(
        tmp.path(),
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            "ci:guess",
            &image,
        ],
    )
    .await;
    assert!(!wrong.status.success());

    let inspect = json(
        &skopeo(
            tmp.path(),
            &[
                "inspect",
                "--tls-verify=false",
                "--creds",
                "ci:s3cret",
                &image,
            ],
        )
        .await,
    );
    assert_eq!(inspect["Digest"], digest.as_str());
    let out = skopeo(
        tmp.path(),
        &[
            "delete",
            "--tls-verify=false",
            "--creds",
            "ci:s3cret",
            &image,
        ],
    )
    .await;
    assert!(out.status.success());
    assert_eq!(registry.resolve_tag("dev/orders", "v1"), None);
    server.shutdown().await;
}

fn oci_client() -> Client {
    shipdeck::install_crypto_provider();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

fn reference(host: &str, repo: &str, tag: &str) -> Reference {
    Reference::with_tag(host.to_string(), repo.to_string(), tag.to_string())
}

/// A small image as oci-client builds it: two layers and a config.
fn oci_client_image() -> (Vec<ImageLayer>, Config) {
    let layers = vec![
        ImageLayer::oci_v1(b"first layer".to_vec(), None),
        ImageLayer::oci_v1(vec![7u8; 300_000], None),
    ];
    let config = serde_json::json!({
        "created": "2026-11-20T10:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"org.opencontainers.image.version": "2.0.0"}},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha256(&l.data)).collect::<Vec<_>>()},
    });
    let config = Config::oci_v1(config.to_string().into_bytes(), None);
    (layers, config)
}

#[tokio::test]
async fn oci_client_pushes_pulls_and_pages_tags() {
    let registry = Registry::new();
    let server = start(registry.clone()).await;
    let client = oci_client();
    let (layers, config) = oci_client_image();
    let auth = RegistryAuth::Anonymous;
    let image = reference(&server.host(), "dev/api", "v2.0.0");
    // oci-client pushes blobs in chunks (POST, PATCH with Content-Range, PUT ?digest=).
    let pushed = client
        .push(&image, &layers, config.clone(), &auth, None)
        .await
        .expect("push");
    assert!(
        pushed
            .manifest_url
            .contains("/v2/dev/api/manifests/sha256:")
    );

    let pulled = client
        .pull(
            &image,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .expect("pull");
    assert_eq!(pulled.layers.len(), 2);
    assert_eq!(pulled.layers[1].data, layers[1].data);
    assert_eq!(pulled.config.data, config.data);
    let digest = pulled.digest.expect("digest");
    assert_eq!(
        registry.resolve_tag("dev/api", "v2.0.0"),
        Some(digest.clone())
    );
    assert_eq!(
        client
            .fetch_manifest_digest(&image, &auth)
            .await
            .expect("HEAD digest"),
        digest
    );

    for tag in ["v2.0.1", "v2.1.0", "v2.2.0"] {
        client
            .push(
                &reference(&server.host(), "dev/api", tag),
                &layers,
                config.clone(),
                &auth,
                None,
            )
            .await
            .expect("push tag");
    }
    let page = client
        .list_tags(&image, &auth, Some(2), None)
        .await
        .expect("page 1");
    assert_eq!(page.tags, vec!["v2.0.0", "v2.0.1"]);
    let page = client
        .list_tags(&image, &auth, Some(2), Some("v2.0.1"))
        .await
        .expect("page 2");
    assert_eq!(page.tags, vec!["v2.1.0", "v2.2.0"]);

    // Cross-repository mount into prod, then a manifest push there needs no upload.
    let prod = reference(&server.host(), "prod/api", "v2.0.0");
    for layer in &layers {
        client
            .mount_blob(&prod, &image, &sha256(&layer.data))
            .await
            .expect("mount");
    }
    assert!(
        client
            .blob_exists(&prod, &sha256(&layers[1].data))
            .await
            .expect("HEAD blob")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oci_client_uses_the_token_flow_and_sees_anonymous_pulls() {
    let registry = Registry::new();
    let seeded = registry.seed("dev/orders", &["v1"], &ImageSpec::default());
    let policy = AuthPolicy::bearer("ci", "s3cret")
        .with_anonymous_pull()
        .with_token_ttl(Duration::from_secs(60));
    registry.faults().set_auth(Some(policy));
    let server = start(registry.clone()).await;
    let (layers, config) = oci_client_image();
    let image = reference(&server.host(), "dev/orders", "v2");

    let anonymous = RegistryAuth::Anonymous;
    let err = oci_client()
        .push(&image, &layers, config.clone(), &anonymous, None)
        .await
        .err()
        .expect("anonymous push is refused");
    assert!(
        err.to_string().to_lowercase().contains("unauthorized") || err.to_string().contains("401"),
        "{err}"
    );
    let v1 = reference(&server.host(), "dev/orders", "v1");
    let digest = oci_client()
        .fetch_manifest_digest(&v1, &anonymous)
        .await
        .expect("anonymous pull");
    assert_eq!(digest, seeded);

    let ci = RegistryAuth::Basic("ci".into(), "s3cret".into());
    let client = oci_client();
    client
        .push(&image, &layers, config, &ci, None)
        .await
        .expect("push with token");
    let tags = client
        .list_tags(&image, &ci, None, None)
        .await
        .expect("tags");
    assert_eq!(tags.tags, vec!["v1", "v2"]);
    assert_eq!(registry.tags("dev/orders"), vec!["v1", "v2"]);
    server.shutdown().await;
}
