//! Promotion against a real `docker-registry`: by digest, blobs mounted within a registry and
//! copied between registries, every manifest of an index, verified afterwards; immutable tags
//! in protected environments; a digest mismatch or a failure midway leaves no tag behind.

use crate::common;

use axum::http::Method;
use shipdeck::registry::{
    ImageRef, PromoteOutcome, PromoteRequest, Registries, RegistryError, promote,
};

use common::{ImageSpec, Proxy, Seed};

fn request(host: &str, from: &str, to: &str, tag: &str, protected: bool) -> PromoteRequest {
    PromoteRequest {
        source: ImageRef::in_env(&format!("{host}/{from}"), "orders", tag).expect("source"),
        target: ImageRef::in_env(&format!("{host}/{to}"), "orders", tag).expect("target"),
        target_protected: protected,
    }
}

fn two_layers(name: &str) -> ImageSpec {
    ImageSpec {
        layers: vec![
            format!("{name} base").into_bytes(),
            format!("{name} app").into_bytes(),
        ],
        ..ImageSpec::simple(name)
    }
}

#[tokio::test]
async fn promotes_within_a_registry_by_mounting_and_verifies() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/orders", Some("v1.5.0"), &two_layers("v150"))
        .await;
    let client = common::client(&registry.host);

    let req = request(&registry.host, "dev", "prod", "v1.5.0", true);
    let outcome = promote(&client, &client, &req).await.expect("promote");
    assert_eq!(
        outcome,
        PromoteOutcome::Copied {
            digest: pushed.digest.clone(),
            blobs_mounted: 3,
            blobs_copied: 0,
            blobs_present: 0
        }
    );
    // Checked independently of the code under test.
    assert_eq!(
        seed.digest_of("prod/orders", "v1.5.0").await,
        Some(pushed.digest.clone())
    );

    // Re-promoting the same digest into a protected environment is a quiet success.
    let again = promote(&client, &client, &req).await.expect("again");
    assert_eq!(
        again,
        PromoteOutcome::AlreadyPresent {
            digest: pushed.digest
        }
    );
}

#[tokio::test]
async fn promotes_every_manifest_of_an_index() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let amd = seed
        .push_image("dev/orders", None, &two_layers("amd"))
        .await;
    let arm = seed
        .push_image(
            "dev/orders",
            None,
            &ImageSpec {
                architecture: "arm64".into(),
                ..two_layers("arm")
            },
        )
        .await;
    let index = seed
        .push_index("dev/orders", "v2.0.0", &[amd.clone(), arm.clone()])
        .await;
    // A base layer the target already has is neither mounted nor copied.
    seed.push_blob("prod/orders", b"amd base").await;

    let registries = Registries::new(common::options());
    let req = request(&registry.host, "dev", "prod", "v2.0.0", false);
    let outcome = registries.promote(&req).await.expect("promote index");
    assert_eq!(
        outcome,
        PromoteOutcome::Copied {
            digest: index.clone(),
            blobs_mounted: 5,
            blobs_copied: 0,
            blobs_present: 1
        }
    );
    assert_eq!(seed.digest_of("prod/orders", "v2.0.0").await, Some(index));
    for child in [&amd, &arm] {
        assert_eq!(
            seed.digest_of("prod/orders", &child.digest).await,
            Some(child.digest.clone())
        );
    }
}

#[tokio::test]
async fn promotes_across_registries_by_copying_blobs() {
    let dev = registry_or_skip!();
    let prod = registry_or_skip!();
    let dev_seed = Seed::new(&dev.host);
    let pushed = dev_seed
        .push_image("dev/orders", Some("v1.5.0"), &two_layers("cross"))
        .await;

    let registries = Registries::new(common::options());
    let req = PromoteRequest {
        source: ImageRef::parse(&format!("{}/dev/orders:v1.5.0", dev.host)).expect("source"),
        target: ImageRef::parse(&format!("{}/prod/orders:v1.5.0", prod.host)).expect("target"),
        target_protected: true,
    };
    let outcome = registries.promote(&req).await.expect("promote");
    assert_eq!(
        outcome,
        PromoteOutcome::Copied {
            digest: pushed.digest.clone(),
            blobs_mounted: 0,
            blobs_copied: 3,
            blobs_present: 0
        }
    );
    let prod_seed = Seed::new(&prod.host);
    assert_eq!(
        prod_seed.digest_of("prod/orders", "v1.5.0").await,
        Some(pushed.digest)
    );
    for layer in [b"cross base".as_slice(), b"cross app"] {
        assert!(
            prod_seed
                .blob_exists("prod/orders", &common::seed::sha256(layer))
                .await
        );
    }
}

#[tokio::test]
async fn protected_tags_are_immutable_and_unprotected_ones_move() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let wanted = seed
        .push_image(
            "dev/orders",
            Some("v1.5.0"),
            &ImageSpec::simple("new build"),
        )
        .await;
    let existing = seed
        .push_image(
            "prod/orders",
            Some("v1.5.0"),
            &ImageSpec::simple("old build"),
        )
        .await;
    let client = common::client(&registry.host);

    let err = promote(
        &client,
        &client,
        &request(&registry.host, "dev", "prod", "v1.5.0", true),
    )
    .await
    .expect_err("refused");
    assert_eq!(
        err,
        RegistryError::ImmutableTag {
            target: format!("{}/prod/orders:v1.5.0", registry.host),
            existing: existing.digest.clone(),
            incoming: wanted.digest.clone(),
        }
    );
    assert!(err.to_string().contains("immutable"), "{err}");
    assert_eq!(
        seed.digest_of("prod/orders", "v1.5.0").await,
        Some(existing.digest)
    );

    // Not protected (say, staging): the tag moves to the promoted digest.
    let outcome = promote(
        &client,
        &client,
        &request(&registry.host, "dev", "prod", "v1.5.0", false),
    )
    .await
    .expect("overwrite");
    assert!(
        matches!(outcome, PromoteOutcome::Copied { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        seed.digest_of("prod/orders", "v1.5.0").await,
        Some(wanted.digest)
    );
}

#[tokio::test]
async fn digest_mismatch_fails_loudly_and_leaves_no_tag() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/orders", Some("v1.5.0"), &two_layers("tamper"))
        .await;
    let previous = seed
        .push_image(
            "stage/orders",
            Some("v1.5.0"),
            &ImageSpec::simple("previous"),
        )
        .await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.tamper_tag_puts(1);
    let client = common::client(&proxy.host);

    let err = promote(
        &client,
        &client,
        &request(&proxy.host, "dev", "prod", "v1.5.0", true),
    )
    .await
    .expect_err("mismatch");
    let RegistryError::DigestMismatch {
        expected,
        actual,
        cleanup,
        ..
    } = &err
    else {
        panic!("expected a digest mismatch, got {err:?}");
    };
    assert_eq!(expected, &pushed.digest);
    assert_ne!(actual, &pushed.digest);
    assert_eq!(cleanup, "the tag was removed again");
    assert!(
        err.to_string().starts_with("digest mismatch promoting to"),
        "{err}"
    );
    assert_eq!(seed.digest_of("prod/orders", "v1.5.0").await, None);

    // Where the tag existed before (unprotected), it is put back as it was.
    proxy.tamper_tag_puts(1);
    let err = promote(
        &client,
        &client,
        &request(&proxy.host, "dev", "stage", "v1.5.0", false),
    )
    .await
    .expect_err("mismatch");
    assert!(
        err.to_string()
            .ends_with(&format!("the tag was restored to {}", previous.digest)),
        "{err}"
    );
    assert_eq!(
        seed.digest_of("stage/orders", "v1.5.0").await,
        Some(previous.digest.clone())
    );

    // A registry that also mangles the restore: the message says cleanup failed, not "done".
    proxy.tamper_tag_puts(2);
    let err = promote(
        &client,
        &client,
        &request(&proxy.host, "dev", "stage", "v1.5.0", false),
    )
    .await
    .expect_err("mismatch");
    assert!(err.to_string().contains("cleanup FAILED"), "{err}");
}

#[tokio::test]
async fn failure_midway_leaves_no_tag_and_transient_blob_errors_are_retried() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/orders", Some("v1.6.0"), &two_layers("midway"))
        .await;
    let proxy = Proxy::start(&registry.host).await;
    let client = common::client(&proxy.host);

    // This registry answers mounts with an error (so blobs are uploaded), and rejects the
    // second upload outright.
    proxy.fail(Method::POST, "mount=", 400, 100, None);
    proxy.fail_after(1, Method::PUT, "/blobs/uploads/", 400, 1, None);
    let err = promote(
        &client,
        &client,
        &request(&proxy.host, "dev", "prod", "v1.6.0", true),
    )
    .await
    .expect_err("upload refused");
    assert!(matches!(err, RegistryError::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("uploading blob"), "{err}");
    assert_eq!(seed.digest_of("prod/orders", "v1.6.0").await, None);
    assert_eq!(seed.digest_of("prod/orders", &pushed.digest).await, None);

    // A 503 on an upload is transient: that blob's copy starts over and the promotion succeeds.
    proxy.fail(Method::PUT, "/blobs/uploads/", 503, 1, None);
    let outcome = promote(
        &client,
        &client,
        &request(&proxy.host, "dev", "qa", "v1.6.0", true),
    )
    .await
    .expect("retried");
    assert_eq!(
        outcome,
        PromoteOutcome::Copied {
            digest: pushed.digest.clone(),
            blobs_mounted: 0,
            blobs_copied: 3,
            blobs_present: 0
        }
    );
    assert_eq!(
        seed.digest_of("qa/orders", "v1.6.0").await,
        Some(pushed.digest)
    );
    // Blobs go up in parallel, so only the multiset of answers is fixed.
    let mut statuses: Vec<u16> = proxy
        .hit_log()
        .iter()
        .filter(|(m, p, _)| m == Method::PUT && p.contains("/qa/orders/blobs/uploads/"))
        .map(|(_, _, s)| *s)
        .collect();
    statuses.sort();
    assert_eq!(statuses, vec![201, 201, 201, 503]);
}
