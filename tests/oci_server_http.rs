//! The sandbox registry's distribution API, request by request over real HTTP: listing with
//! pagination, uploads, mounts, manifests and the spec's error codes.

use crate::oci_support as support;

use serde_json::{Value, json};
use shipdeck::sandbox::registry::{ImageSpec, Registry, RegistryConfig};
use support::{Api, OCI_MANIFEST, error_code, header, image_manifest, sha256};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[tokio::test]
async fn base_endpoint_and_unknown_routes() {
    let api = Api::start(Registry::new()).await;
    let response = api.get("/v2/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "docker-distribution-api-version"),
        "registry/2.0"
    );
    assert_eq!(response.text().await.expect("body"), "{}");
    assert_eq!(api.get("/v3/").await.status(), 404);
    let response = api
        .http
        .post(api.url("/v2/dev/orders/tags/list"))
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response).await, (405, "UNSUPPORTED".into()));
    assert_eq!(
        error_code(api.get("/v2/Dev/Orders/tags/list").await).await,
        (400, "NAME_INVALID".into())
    );
}

/// Follows `Link` headers from `path`, returning every page's items and each Link seen.
async fn follow(api: &Api, path: &str, key: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let (mut pages, mut links) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_string());
    while let Some(path) = next.take() {
        let response = api.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let link = header(&response, "link");
        let body: Value = response.json().await.expect("json");
        let items = body[key].as_array().expect("list").iter();
        pages.push(
            items
                .map(|t| t.as_str().expect("string").to_string())
                .collect(),
        );
        if !link.is_empty() {
            let target = link
                .strip_prefix('<')
                .and_then(|l| l.split_once(">; rel=\"next\""));
            next = Some(target.expect("Link format").0.to_string());
            links.push(link);
        }
    }
    (pages, links)
}

#[tokio::test]
async fn tags_page_with_n_last_and_link_headers() {
    let registry = Registry::with_config(RegistryConfig {
        default_page_size: Some(4),
    });
    let tags = ["v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v2.0"];
    for tag in tags.iter().rev() {
        registry.seed(
            "dev/orders",
            &[tag],
            &ImageSpec::default().with_label("v", tag),
        );
    }
    let api = Api::start(registry.clone()).await;

    let (pages, links) = follow(&api, "/v2/dev/orders/tags/list?n=3", "tags").await;
    assert_eq!(
        pages,
        vec![
            vec!["v1.0", "v1.1", "v1.2"],
            vec!["v1.3", "v1.4", "v1.5"],
            vec!["v2.0"]
        ]
    );
    assert_eq!(
        links[0],
        r#"</v2/dev/orders/tags/list?last=v1.2&n=3>; rel="next""#
    );
    assert_eq!(links.len(), 2, "no Link on the last page");

    // Without n the server's default page size applies.
    let (pages, _) = follow(&api, "/v2/dev/orders/tags/list", "tags").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3]);
    // `last` alone, and n=0 (an empty list and no Link, per spec).
    let body: Value = api
        .get("/v2/dev/orders/tags/list?last=v1.4&n=10")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        body,
        json!({"name": "dev/orders", "tags": ["v1.5", "v2.0"]})
    );
    let response = api.get("/v2/dev/orders/tags/list?n=0").await;
    assert_eq!(header(&response, "link"), "");
    assert_eq!(
        response.json::<Value>().await.expect("json")["tags"],
        json!([])
    );

    // A forced page size caps what the client asked for.
    registry.faults().set_tags_page_size(Some(2));
    let (pages, links) = follow(&api, "/v2/dev/orders/tags/list?n=100", "tags").await;
    assert_eq!((pages.len(), pages.concat().len()), (4, 7));
    assert!(
        links[0].ends_with("last=v1.1&n=2>; rel=\"next\""),
        "{}",
        links[0]
    );

    let bad = api.get("/v2/dev/orders/tags/list?n=many").await;
    assert_eq!(bad.status(), 400);
    let unknown = api.get("/v2/dev/nothing/tags/list").await;
    assert_eq!(error_code(unknown).await, (404, "NAME_UNKNOWN".into()));
}

#[tokio::test]
async fn catalog_pages_repositories() {
    let registry = Registry::new();
    for repo in ["prod/orders", "dev/payments", "dev/orders"] {
        registry.seed(repo, &["v1"], &ImageSpec::default());
    }
    let api = Api::start(registry).await;
    let (pages, links) = follow(&api, "/v2/_catalog?n=2", "repositories").await;
    assert_eq!(
        pages,
        vec![vec!["dev/orders", "dev/payments"], vec!["prod/orders"]]
    );
    assert_eq!(
        links,
        vec![r#"</v2/_catalog?last=dev/payments&n=2>; rel="next""#.to_string()]
    );
}

#[tokio::test]
async fn chunked_upload_with_patch_status_and_final_put() {
    let api = Api::start(Registry::new()).await;
    let blob = b"0123456789abcdefghij".to_vec();
    let response = api
        .http
        .post(api.url("/v2/dev/orders/blobs/uploads/"))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 202);
    assert_eq!(header(&response, "range"), "0-0");
    assert!(!header(&response, "docker-upload-uuid").is_empty());
    let location = header(&response, "location");
    assert!(
        location.starts_with("/v2/dev/orders/blobs/uploads/"),
        "{location}"
    );

    let patch = |range: Option<&str>, data: &[u8], location: &str| {
        let mut request = api.http.patch(api.url(location)).body(data.to_vec());
        if let Some(range) = range {
            request = request.header("content-range", range);
        }
        request
            .header("content-type", "application/octet-stream")
            .send()
    };
    let response = patch(Some("0-4"), &blob[..5], &location)
        .await
        .expect("PATCH");
    assert_eq!(response.status(), 202);
    assert_eq!(header(&response, "range"), "0-4");
    let location = header(&response, "location");

    // Out of order: 416, and the Range says where to resume.
    let response = patch(Some("9-12"), &blob[9..13], &location)
        .await
        .expect("PATCH");
    assert_eq!(response.status(), 416);
    assert_eq!(header(&response, "range"), "0-4");
    // A streamed chunk (no Content-Range) continues where the upload stands.
    let response = patch(None, &blob[5..15], &location).await.expect("PATCH");
    assert_eq!(header(&response, "range"), "0-14");

    let status = api.get(&location).await;
    assert_eq!(status.status(), 204);
    assert_eq!(header(&status, "range"), "0-14");

    let digest = sha256(&blob);
    let response = api
        .http
        .put(api.url(&format!("{location}?digest={digest}")))
        .header("content-range", "15-19")
        .body(blob[15..].to_vec())
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/dev/orders/blobs/{digest}")
    );
    assert_eq!(header(&response, "docker-content-digest"), digest);
    let fetched = api.get(&format!("/v2/dev/orders/blobs/{digest}")).await;
    assert_eq!(header(&fetched, "docker-content-digest"), digest);
    assert_eq!(fetched.bytes().await.expect("blob"), blob);
    // The session ended with the PUT.
    assert_eq!(
        error_code(api.get(&location).await).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );
}

#[tokio::test]
async fn cancelled_uploads_and_digest_verification() {
    let api = Api::start(Registry::new()).await;
    let start = || {
        api.http
            .post(api.url("/v2/dev/orders/blobs/uploads/"))
            .send()
    };
    let location = header(&start().await.expect("POST"), "location");
    let response = api
        .http
        .delete(api.url(&location))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    let response = api
        .http
        .patch(api.url(&location))
        .body("x")
        .send()
        .await
        .expect("PATCH");
    assert_eq!(
        error_code(response).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );

    // Content that does not hash to the digest is refused, monolithic or chunked.
    let wrong = sha256(b"something else");
    let response = api
        .http
        .post(api.url(&format!("/v2/dev/orders/blobs/uploads/?digest={wrong}")))
        .body("payload")
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response).await, (400, "DIGEST_INVALID".into()));
    assert_eq!(
        api.head(&format!("/v2/dev/orders/blobs/{wrong}"))
            .await
            .status(),
        404
    );
    let location = header(&start().await.expect("POST"), "location");
    let put = |query: String| {
        api.http
            .put(api.url(&format!("{location}{query}")))
            .body("payload")
            .send()
    };
    assert_eq!(
        error_code(put(String::new()).await.expect("PUT")).await,
        (400, "DIGEST_INVALID".into())
    );
    let malformed = put("?digest=sha256:123".into()).await.expect("PUT");
    assert_eq!(error_code(malformed).await, (400, "DIGEST_INVALID".into()));
    let response = put(format!("?digest={wrong}")).await.expect("PUT");
    assert_eq!(error_code(response).await, (400, "DIGEST_INVALID".into()));
}

#[tokio::test]
async fn cross_repository_mount() {
    let api = Api::start(Registry::new()).await;
    let digest = api.push_blob("dev/orders", b"shared layer").await;
    let mount = |from: &str| {
        let url = api.url(&format!(
            "/v2/prod/orders/blobs/uploads/?mount={digest}&from={from}"
        ));
        api.http.post(url).send()
    };
    let response = mount("dev/orders").await.expect("POST mount");
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/prod/orders/blobs/{digest}")
    );
    assert_eq!(header(&response, "docker-content-digest"), digest);
    let head = api.head(&format!("/v2/prod/orders/blobs/{digest}")).await;
    assert_eq!(
        (head.status().as_u16(), header(&head, "content-length")),
        (200, "12".into())
    );

    // The source lacks the blob: an ordinary upload session instead.
    let response = mount("dev/payments").await.expect("POST mount");
    assert_eq!(response.status(), 202);
    assert!(header(&response, "location").starts_with("/v2/prod/orders/blobs/uploads/"));
}

#[tokio::test]
async fn manifests_by_tag_and_digest() {
    let api = Api::start(Registry::new()).await;
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = api.push_blob("dev/orders", config).await;
    let layer_digest = api.push_blob("dev/orders", b"layer").await;
    let manifest = image_manifest((&config_digest, config.len()), &[(&layer_digest, 5)]);
    let digest = sha256(&manifest);

    let response = api
        .put_manifest("dev/orders", "v1", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/dev/orders/manifests/{digest}")
    );
    assert_eq!(header(&response, "docker-content-digest"), digest);

    for reference in ["v1", digest.as_str()] {
        let head = api
            .head(&format!("/v2/dev/orders/manifests/{reference}"))
            .await;
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "docker-content-digest"), digest);
        assert_eq!(header(&head, "content-type"), OCI_MANIFEST);
        assert_eq!(header(&head, "content-length"), manifest.len().to_string());
    }
    let body = api
        .get("/v2/dev/orders/manifests/v1")
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(body, manifest);

    // Docker schema2 is stored and served in its own media type.
    let docker = String::from_utf8(manifest.clone())
        .expect("utf8")
        .replace(OCI_MANIFEST, DOCKER_MANIFEST);
    let response = api
        .put_manifest("dev/orders", "docker", DOCKER_MANIFEST, docker.as_bytes())
        .await;
    assert_eq!(response.status(), 201);
    let head = api.head("/v2/dev/orders/manifests/docker").await;
    assert_eq!(header(&head, "content-type"), DOCKER_MANIFEST);

    // By digest: the body must hash to it.
    let response = api
        .put_manifest("dev/orders", &digest, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(response.status(), 201);
    let response = api
        .put_manifest("dev/orders", &sha256(b"other"), OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(error_code(response).await, (400, "DIGEST_INVALID".into()));

    // An index over the image; then one naming a manifest the repository lacks.
    let index = |child: &str| {
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": child, "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}}]})
        .to_string()
    };
    let response = api
        .put_manifest("dev/orders", "multi", OCI_INDEX, index(&digest).as_bytes())
        .await;
    assert_eq!(response.status(), 201);
    let missing = sha256(b"missing manifest");
    let response = api
        .put_manifest(
            "dev/orders",
            "broken",
            OCI_INDEX,
            index(&missing).as_bytes(),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "MANIFEST_BLOB_UNKNOWN".into())
    );
}

#[tokio::test]
async fn manifest_and_blob_errors_use_the_spec_codes() {
    let api = Api::start(Registry::new()).await;
    let config_digest = api.push_blob("dev/orders", b"{}").await;
    let missing = sha256(b"never pushed");
    let manifest = image_manifest((&config_digest, 2), &[(&missing, 12)]);
    let response = api
        .put_manifest("dev/orders", "v1", OCI_MANIFEST, &manifest)
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(body["errors"][0]["detail"]["digest"], missing.as_str());

    let response = api
        .put_manifest("dev/orders", "v1", OCI_MANIFEST, b"{not json")
        .await;
    assert_eq!(error_code(response).await, (400, "MANIFEST_INVALID".into()));
    let response = api.get("/v2/dev/orders/manifests/v9").await;
    assert_eq!(error_code(response).await, (404, "MANIFEST_UNKNOWN".into()));
    let response = api.get(&format!("/v2/dev/orders/blobs/{missing}")).await;
    assert_eq!(error_code(response).await, (404, "BLOB_UNKNOWN".into()));
    let response = api.get("/v2/dev/orders/blobs/sha256:short").await;
    assert_eq!(error_code(response).await, (400, "DIGEST_INVALID".into()));
    let response = api.get("/v2/dev/unknown/manifests/v1").await;
    assert_eq!(error_code(response).await, (404, "NAME_UNKNOWN".into()));
}

#[tokio::test]
async fn blob_ranges() {
    let api = Api::start(Registry::new()).await;
    let digest = api.push_blob("dev/orders", b"0123456789").await;
    let path = api.url(&format!("/v2/dev/orders/blobs/{digest}"));
    let response = api
        .http
        .get(&path)
        .header("range", "bytes=2-5")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 206);
    assert_eq!(header(&response, "content-range"), "bytes 2-5/10");
    assert_eq!(response.bytes().await.expect("body"), "2345");
    let response = api
        .http
        .get(&path)
        .header("range", "bytes=20-")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 416);
}

#[tokio::test]
async fn deleting_tags_manifests_and_blobs() {
    let registry = Registry::new();
    let digest = registry.seed("dev/orders", &["v1", "stable"], &ImageSpec::default());
    let api = Api::start(registry.clone()).await;
    let delete = |path: String| api.http.delete(api.url(&path)).send();

    let response = delete("/v2/dev/orders/manifests/stable".into())
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 202);
    assert_eq!(registry.tags("dev/orders"), vec!["v1"]);
    assert_eq!(
        api.head(&format!("/v2/dev/orders/manifests/{digest}"))
            .await
            .status(),
        200
    );

    let response = delete(format!("/v2/dev/orders/manifests/{digest}"))
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 202);
    assert!(
        registry.tags("dev/orders").is_empty(),
        "tags of a deleted digest go with it"
    );
    let response = delete(format!("/v2/dev/orders/manifests/{digest}"))
        .await
        .expect("DELETE");
    assert_eq!(error_code(response).await, (404, "MANIFEST_UNKNOWN".into()));
    let body: Value = api
        .get("/v2/dev/orders/tags/list")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["tags"], json!([]));

    let blob = api.push_blob("dev/orders", b"to delete").await;
    assert_eq!(
        delete(format!("/v2/dev/orders/blobs/{blob}"))
            .await
            .expect("DELETE")
            .status(),
        202
    );
    let response = delete(format!("/v2/dev/orders/blobs/{blob}"))
        .await
        .expect("DELETE");
    assert_eq!(error_code(response).await, (404, "BLOB_UNKNOWN".into()));
}
