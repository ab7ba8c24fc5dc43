//! Reading a repository from a real `docker-registry`: tag pages, details and the digest
//! fallback, sorting and where-running on real digests, error rows, 429 and 5xx handling.

use crate::common;

use axum::http::Method;
use futures::StreamExt;
use shipdeck::registry::{RegistryError, RegistryEvent, TagRow, sort_tags, where_running};

use common::proxy::Paging;
use common::{ImageSpec, Proxy, Seed};

async fn push_tags(seed: &Seed, repo: &str, tags: &[&str]) {
    for tag in tags {
        seed.push_image(repo, Some(tag), &ImageSpec::simple(tag))
            .await;
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn lists_every_tag_when_the_registry_ignores_n() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let names = ["a", "b", "c", "d", "e"];
    push_tags(&seed, "dev/orders", &names).await;

    let mut options = common::options();
    options.page_size = 2; // distribution 2.8 ignores it and answers with all five
    let client = shipdeck::registry::RegistryClient::new(&registry.host, options).expect("client");
    let pages: Vec<_> = client.list_tags("dev/orders").collect().await;
    assert_eq!(
        pages.len(),
        1,
        "one page from a registry that does not paginate"
    );
    let tags = pages.into_iter().next().expect("page").expect("tags");
    assert_eq!(sorted(tags), names.map(String::from).to_vec());
}

#[tokio::test]
async fn follows_link_headers_and_streams_page_by_page() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let names = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];
    push_tags(&seed, "dev/orders", &names).await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.paginate(Paging::Link);

    let mut options = common::options();
    options.page_size = 3;
    let client = shipdeck::registry::RegistryClient::new(&proxy.host, options).expect("client");
    let mut stream = Box::pin(client.list_tags("dev/orders"));
    let first = stream.next().await.expect("first page").expect("tags");
    // The first page is usable before the rest has been asked for.
    assert_eq!(first, vec!["t1", "t2", "t3"]);
    assert_eq!(proxy.hits(&Method::GET, "/tags/list"), 1);
    let rest: Vec<Vec<String>> = stream.map(|p| p.expect("page")).collect().await;
    assert_eq!(rest, vec![vec!["t4", "t5", "t6"], vec!["t7", "t8"]]);
    assert_eq!(proxy.hits(&Method::GET, "last=t6"), 1);

    // The console's task-friendly form: pages as events, the last one marked complete.
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    client.send_tags("dev/orders", tx).await;
    let mut events = vec![];
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    let summary: Vec<(usize, bool)> = events
        .iter()
        .map(|e| match e {
            RegistryEvent::TagsPage {
                tags,
                complete,
                repository,
            } => {
                assert_eq!(repository, &format!("{}/dev/orders", proxy.host));
                (tags.len(), *complete)
            }
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(summary, vec![(3, false), (3, false), (2, true)]);
}

#[tokio::test]
async fn full_pages_without_link_are_followed_with_last() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    push_tags(&seed, "dev/orders", &["a", "b", "c", "d"]).await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.paginate(Paging::LastOnly);

    let mut options = common::options();
    options.page_size = 2;
    let client = shipdeck::registry::RegistryClient::new(&proxy.host, options).expect("client");
    let tags = client.all_tags("dev/orders").await.expect("tags");
    assert_eq!(tags, vec!["a", "b", "c", "d"]);
    // a,b → c,d → an empty probe after d ends it.
    assert_eq!(proxy.hits(&Method::GET, "/tags/list"), 3);
}

#[tokio::test]
async fn empty_and_missing_repositories() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/gone", Some("only"), &ImageSpec::simple("gone"))
        .await;
    seed.delete("dev/gone", &pushed.digest).await;
    let client = common::client(&registry.host);
    // distribution answers `"tags": null` once the last tag is deleted.
    assert_eq!(
        client.all_tags("dev/gone").await.expect("tags"),
        Vec::<String>::new()
    );

    let err = client
        .all_tags("dev/never")
        .await
        .expect_err("missing repository");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("{}/dev/never", registry.host)),
        "{err}"
    );
}

#[tokio::test]
async fn details_read_digest_media_type_size_and_labels() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let spec = ImageSpec {
        created: Some("2024-05-01T10:20:30Z".into()),
        labels: vec![
            (
                "org.opencontainers.image.revision".into(),
                "9f3c21ab".into(),
            ),
            ("org.opencontainers.image.version".into(), "1.5.0".into()),
            (
                "org.opencontainers.image.source".into(),
                "https://git.example/orders".into(),
            ),
        ],
        layers: vec![vec![1; 1000], vec![2; 24]],
        architecture: "amd64".into(),
    };
    let amd = seed.push_image("dev/orders", Some("v1.5.0"), &spec).await;
    let arm = seed
        .push_image(
            "dev/orders",
            None,
            &ImageSpec {
                architecture: "arm64".into(),
                ..ImageSpec::simple("arm")
            },
        )
        .await;
    let index = seed
        .push_index("dev/orders", "v1.5.0-multi", &[arm, amd.clone()])
        .await;

    let proxy = Proxy::start(&registry.host).await;
    let client = common::client(&proxy.host);
    let d = client
        .details("dev/orders", "v1.5.0")
        .await
        .expect("details");
    assert_eq!(d.tag, "v1.5.0");
    assert_eq!(d.digest, amd.digest);
    assert_eq!(d.media_type, "application/vnd.oci.image.manifest.v1+json");
    assert!(!d.is_index);
    assert!(
        d.size > 1024,
        "config plus 1024 layer bytes, got {}",
        d.size
    );
    assert_eq!(
        d.created.map(|t| t.to_string()).as_deref(),
        Some("2024-05-01T10:20:30Z")
    );
    assert_eq!(d.revision.as_deref(), Some("9f3c21ab"));
    assert_eq!(d.version.as_deref(), Some("1.5.0"));
    assert_eq!(d.source.as_deref(), Some("https://git.example/orders"));

    // An index shows linux/amd64's facts even when it is not listed first.
    let m = client
        .details("dev/orders", "v1.5.0-multi")
        .await
        .expect("index details");
    assert_eq!(m.digest, index);
    assert!(m.is_index);
    assert_eq!(m.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(m.revision.as_deref(), Some("9f3c21ab"));
    assert_eq!(m.size, d.size);

    // The same digest under another tag is served from the cache: one HEAD, no GET.
    reuse_manifest(&seed, &registry.host, "dev/orders", "v1.5.0", "stable").await;
    let gets_before = proxy.hits(&Method::GET, "/manifests/");
    let again = client
        .details("dev/orders", "stable")
        .await
        .expect("cached details");
    assert_eq!(again.tag, "stable");
    assert_eq!(again.digest, amd.digest);
    assert_eq!(again.revision.as_deref(), Some("9f3c21ab"));
    assert_eq!(proxy.hits(&Method::GET, "/manifests/"), gets_before);
    assert_eq!(proxy.hits(&Method::HEAD, "/manifests/stable"), 1);
}

#[tokio::test]
async fn digest_falls_back_to_get_and_hashing_without_the_header() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/orders", Some("v2.0.0"), &ImageSpec::simple("v2"))
        .await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.strip_digests();

    let client = common::client(&proxy.host);
    let d = client
        .details("dev/orders", "v2.0.0")
        .await
        .expect("details");
    assert_eq!(d.digest, pushed.digest);
    assert_eq!(proxy.hits(&Method::HEAD, "/manifests/v2.0.0"), 1);
    assert_eq!(proxy.hits(&Method::GET, "/manifests/v2.0.0"), 1);
    assert_eq!(
        client.digest("dev/orders", "v2.0.0").await.expect("digest"),
        Some(pushed.digest)
    );
}

#[tokio::test]
async fn malformed_and_unknown_manifests_become_error_rows() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    push_tags(&seed, "dev/orders", &["good", "garbled", "weird"]).await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.strip_digests();
    proxy.replace(
        "/manifests/garbled",
        "application/vnd.oci.image.manifest.v1+json",
        b"{\"schemaVersion\":2,\"config\":",
    );
    proxy.replace(
        "/manifests/weird",
        "application/x-shipdeck-unknown",
        br#"{"schemaVersion":2,"mediaType":"application/x-shipdeck-unknown"}"#,
    );

    let client = common::client(&proxy.host);
    let good = client.tag_row("dev/orders", "good").await;
    assert!(good.details.is_some() && good.error.is_none(), "{good:?}");
    let garbled = client.tag_row("dev/orders", "garbled").await;
    assert!(garbled.details.is_none());
    let message = garbled.error.expect("error row");
    assert!(message.starts_with("malformed manifest"), "{message}");
    assert!(
        message.contains(&format!("{}/dev/orders:garbled", proxy.host)),
        "{message}"
    );
    let weird = client.tag_row("dev/orders", "weird").await;
    let message = weird.error.expect("error row");
    assert!(
        message.contains("application/x-shipdeck-unknown"),
        "{message}"
    );
}

#[tokio::test]
async fn sorts_real_tags_and_marks_where_they_run() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let long = "x".repeat(128);
    let created = |t: &str| ImageSpec {
        created: Some(t.into()),
        ..ImageSpec::simple(t)
    };
    let v150 = seed
        .push_image(
            "dev/orders",
            Some("v1.5.0"),
            &created("2024-05-01T00:00:00Z"),
        )
        .await;
    seed.push_image(
        "dev/orders",
        Some("v1.4.2"),
        &created("2024-04-01T00:00:00Z"),
    )
    .await;
    seed.push_image(
        "dev/orders",
        Some("v1.5.0-rc.1"),
        &created("2024-04-20T00:00:00Z"),
    )
    .await;
    seed.push_image("dev/orders", Some("1.2"), &created("2024-01-01T00:00:00Z"))
        .await;
    seed.push_image(
        "dev/orders",
        Some("v3beta-fix"),
        &created("2024-03-01T00:00:00Z"),
    )
    .await;
    seed.push_image(
        "dev/orders",
        Some("3f9c21a"),
        &created("2024-06-01T00:00:00Z"),
    )
    .await;
    seed.push_image(
        "dev/orders",
        Some(&long),
        &ImageSpec {
            created: None,
            ..ImageSpec::simple("long")
        },
    )
    .await;
    // `latest` is v1.5.0 itself: same manifest, same digest.
    let client = common::client(&registry.host);
    reuse_manifest(&seed, &registry.host, "dev/orders", "v1.5.0", "latest").await;

    let tags = client.all_tags("dev/orders").await.expect("tags");
    let mut rows: Vec<TagRow> = vec![];
    for tag in &tags {
        rows.push(client.tag_row("dev/orders", tag).await);
    }
    sort_tags(&mut rows);
    let order: Vec<&str> = rows.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(
        order,
        vec![
            "v1.5.0",
            "v1.5.0-rc.1",
            "v1.4.2",
            "3f9c21a",
            "latest",
            "v3beta-fix",
            "1.2",
            long.as_str()
        ]
    );

    let running = [
        ("dev", format!("{}/dev/orders:latest", registry.host)),
        (
            "prod",
            format!("{}/prod/orders@{}", registry.host, v150.digest),
        ),
        (
            "staging",
            format!("{}/staging/orders:v1.4.2", registry.host),
        ),
    ];
    let markers = where_running(&rows, running);
    assert_eq!(
        markers.get("v1.5.0"),
        Some(&vec!["dev".to_string(), "prod".to_string()])
    );
    assert_eq!(
        markers.get("latest"),
        Some(&vec!["dev".to_string(), "prod".to_string()])
    );
    assert_eq!(markers.get("v1.4.2"), Some(&vec!["staging".to_string()]));
    assert_eq!(markers.len(), 3);
}

/// Tags `to` with the exact manifest bytes `from` has (raw GET, then PUT).
async fn reuse_manifest(seed: &Seed, host: &str, repo: &str, from: &str, to: &str) {
    let bytes = reqwest::Client::new()
        .get(format!("http://{host}/v2/{repo}/manifests/{from}"))
        .header("accept", common::seed::OCI_MANIFEST)
        .send()
        .await
        .expect("get manifest")
        .bytes()
        .await
        .expect("manifest bytes");
    seed.put_manifest(repo, to, common::seed::OCI_MANIFEST, &bytes)
        .await;
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    push_tags(&seed, "dev/orders", &["v1"]).await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.fail(Method::GET, "/tags/list", 429, 2, Some("1"));

    let client = common::client(&proxy.host);
    let tags = client
        .all_tags("dev/orders")
        .await
        .expect("tags after waiting");
    assert_eq!(tags, vec!["v1"]);
    let statuses: Vec<u16> = proxy.hit_log().iter().map(|(_, _, s)| *s).collect();
    assert_eq!(statuses, vec![429, 429, 200]);

    // A budget of three attempts does not outlast three 429s; the message says who and why.
    proxy.fail(Method::GET, "/tags/list", 429, 3, Some("0"));
    let err = client
        .all_tags("dev/orders")
        .await
        .expect_err("rate limited");
    assert!(
        matches!(err, RegistryError::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("rate limited: {}/dev/orders", proxy.host)),
        "{err}"
    );

    // A Retry-After beyond what we are willing to wait fails at once.
    proxy.fail(Method::GET, "/tags/list", 429, 1, Some("3600"));
    let before = proxy.hits(&Method::GET, "/tags/list");
    let err = client
        .all_tags("dev/orders")
        .await
        .expect_err("too long a wait");
    assert!(err.to_string().contains("asked to wait 3600s"), "{err}");
    assert_eq!(proxy.hits(&Method::GET, "/tags/list"), before + 1);
}

#[tokio::test]
async fn retries_5xx_a_bounded_number_of_times() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    push_tags(&seed, "dev/orders", &["v1"]).await;
    let proxy = Proxy::start(&registry.host).await;
    let client = common::client(&proxy.host);

    proxy.fail(Method::HEAD, "/manifests/v1", 503, 2, None);
    let d = client
        .details("dev/orders", "v1")
        .await
        .expect("recovers after two 503s");
    assert!(d.digest.starts_with("sha256:"));
    assert_eq!(proxy.hits(&Method::HEAD, "/manifests/v1"), 3);

    proxy.fail(Method::GET, "/tags/list", 500, 100, None);
    let err = client
        .all_tags("dev/orders")
        .await
        .expect_err("persistent 500");
    assert_eq!(
        err,
        RegistryError::Server {
            repo: format!("{}/dev/orders", proxy.host),
            status: 500,
            attempts: 3
        }
    );
    assert_eq!(proxy.hits(&Method::GET, "/tags/list"), 3);

    // 501 will not improve: no retry.
    proxy.fail(Method::HEAD, "/manifests/v1", 501, 100, None);
    let row = client.tag_row("dev/orders", "v1").await;
    assert!(row.error.is_some(), "{row:?}");
    assert_eq!(proxy.hits(&Method::HEAD, "/manifests/v1"), 4);
}
