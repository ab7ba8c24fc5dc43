//! Authentication against real registries: htpasswd (HTTP Basic) on `docker-registry` with
//! credentials from a docker `config.json` or a `docker-credential-*` helper on PATH, bearer
//! tokens (anonymous pull, authenticated push, one token for a cross-repository mount), clear
//! 401 messages, and no credential, token or auth header in errors or logs.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use shipdeck::registry::{
    ClientOptions, CredentialSource, Credentials, ImageRef, PromoteOutcome, PromoteRequest,
    RegistryClient, RegistryError, promote,
};

use common::registry::{HTPASSWD, PASSWORD, USER};
use common::{ImageSpec, Proxy, Seed};

fn with_credentials(source: CredentialSource) -> ClientOptions {
    ClientOptions {
        credentials: source,
        ..common::options()
    }
}

fn docker_config(json: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.json"), json).expect("config.json");
    dir
}

fn auths_config(host: &str, user: &str, password: &str) -> tempfile::TempDir {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    docker_config(&format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#))
}

fn promotion(host: &str, tag: &str) -> PromoteRequest {
    PromoteRequest {
        source: ImageRef::in_env(&format!("{host}/dev"), "orders", tag).expect("source"),
        target: ImageRef::in_env(&format!("{host}/prod"), "orders", tag).expect("target"),
        target_protected: true,
    }
}

/// Captures every tracing event (all crates, TRACE) on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

/// Captures every tracing event on this thread until the returned guards drop.
///
/// tracing-core caches per-callsite interest, and while only one dispatcher exists it asks
/// whichever thread first reaches a callsite; a parallel test thread without a subscriber
/// would then switch our events off for good. A second live dispatcher makes tracing ask all
/// of them, ours included.
fn capture_logs() -> (
    Captured,
    (tracing::Dispatch, tracing::subscriber::DefaultGuard),
) {
    let keep_many = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, (keep_many, guard))
}

/// None of `secrets` (nor their Basic/Bearer payloads) appears in `text`.
fn assert_no_secret(text: &str, secrets: &[String]) {
    for secret in secrets {
        let bare = secret
            .strip_prefix("Basic ")
            .or_else(|| secret.strip_prefix("Bearer "))
            .unwrap_or(secret);
        assert!(!bare.is_empty());
        assert!(!text.contains(bare), "a secret leaked into: {text}");
    }
}

#[tokio::test]
async fn basic_auth_with_credentials_from_docker_config() {
    let registry = registry_or_skip!(HTPASSWD);
    let seed = Seed::with_basic(&registry.host, USER, PASSWORD);
    let pushed = seed
        .push_image("dev/orders", Some("v1.5.0"), &ImageSpec::simple("basic"))
        .await;

    let config = auths_config(&registry.host, USER, PASSWORD);
    let options = with_credentials(CredentialSource::DockerConfig(config.path().to_path_buf()));
    let client = RegistryClient::new(&registry.host, options).expect("client");
    assert_eq!(
        client.all_tags("dev/orders").await.expect("tags"),
        vec!["v1.5.0"]
    );
    let details = client
        .details("dev/orders", "v1.5.0")
        .await
        .expect("details");
    assert_eq!(details.digest, pushed.digest);
    let outcome = promote(&client, &client, &promotion(&registry.host, "v1.5.0"))
        .await
        .expect("promote with basic auth");
    assert!(
        matches!(
            outcome,
            PromoteOutcome::Copied {
                blobs_mounted: 2,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        seed.digest_of("prod/orders", "v1.5.0").await,
        Some(pushed.digest)
    );
}

#[tokio::test]
async fn rejected_or_missing_credentials_name_registry_and_repository() {
    let registry = registry_or_skip!(HTPASSWD);
    let (logs, _guard) = capture_logs();
    let config = auths_config(&registry.host, USER, "wrong-password-123");
    let options = with_credentials(CredentialSource::DockerConfig(config.path().to_path_buf()));
    let client = RegistryClient::new(&registry.host, options).expect("client");
    let err = client.all_tags("prod/orders").await.expect_err("rejected");
    let expected_hint = format!(
        "check credentials in {}",
        config.path().join("config.json").display()
    );
    assert_eq!(
        err,
        RegistryError::Unauthorized {
            repo: format!("{}/prod/orders", registry.host),
            hint: expected_hint
        }
    );
    let shown = format!("{err} {err:?} {}", logs.text());
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:wrong-password-123"));
    assert_no_secret(&shown, &["wrong-password-123".into(), basic]);

    let anonymous = common::client(&registry.host);
    let err = anonymous
        .details("prod/orders", "v1")
        .await
        .expect_err("anonymous");
    assert!(
        err.to_string()
            .starts_with(&format!("unauthorized: {}/prod/orders: ", registry.host)),
        "{err}"
    );
}

#[tokio::test]
async fn bearer_tokens_anonymous_pull_authenticated_push_and_mount() {
    let registry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    let pushed = seed
        .push_image("dev/orders", Some("v2.0.0"), &ImageSpec::simple("bearer"))
        .await;
    let proxy = Proxy::start(&registry.host).await;
    proxy.require_bearer(USER, PASSWORD, true);
    let (logs, _guard) = capture_logs();

    // Anyone may pull: the anonymous token flow.
    let anonymous = common::client(&proxy.host);
    assert_eq!(
        anonymous
            .all_tags("dev/orders")
            .await
            .expect("anonymous pull"),
        vec!["v2.0.0"]
    );
    let err = promote(&anonymous, &anonymous, &promotion(&proxy.host, "v2.0.0"))
        .await
        .expect_err("anonymous push");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("{}/prod/orders", proxy.host)),
        "{err}"
    );

    // With credentials: push, and a mount whose token covers both repositories.
    let options = with_credentials(CredentialSource::Static(Credentials::basic(USER, PASSWORD)));
    let client = RegistryClient::new(&proxy.host, options).expect("client");
    let outcome = promote(&client, &client, &promotion(&proxy.host, "v2.0.0"))
        .await
        .expect("authenticated promote");
    assert_eq!(
        outcome,
        PromoteOutcome::Copied {
            digest: pushed.digest.clone(),
            blobs_mounted: 2,
            blobs_copied: 0,
            blobs_present: 0
        }
    );
    assert_eq!(
        seed.digest_of("prod/orders", "v2.0.0").await,
        Some(pushed.digest)
    );

    // Credentials went to the token service only; the registry API saw bearer tokens.
    for (path, value) in proxy.authorization_seen() {
        if path == "/token" {
            assert!(value.starts_with("Basic "), "{path}");
        } else {
            assert!(value.starts_with("Bearer "), "{path}");
        }
    }
    let mut secrets = proxy.secrets_seen();
    secrets.push(PASSWORD.into());
    assert_no_secret(
        &format!("{err} {err:?} {outcome:?} {}", logs.text()),
        &secrets,
    );
    assert!(
        logs.text().contains("registry request"),
        "debug logs were captured"
    );
}

#[tokio::test]
async fn wrong_credentials_at_the_token_service() {
    let registry = registry_or_skip!();
    let proxy = Proxy::start(&registry.host).await;
    proxy.require_bearer(USER, PASSWORD, false);
    let options = with_credentials(CredentialSource::Static(Credentials::basic(
        USER,
        "nope-nope",
    )));
    let client = RegistryClient::new(&proxy.host, options).expect("client");
    let err = client.all_tags("dev/orders").await.expect_err("refused");
    assert!(
        err.to_string()
            .starts_with(&format!("unauthorized: {}/dev/orders", proxy.host)),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("nope-nope"));
}

#[tokio::test]
async fn forbidden_names_registry_repository_and_action() {
    let registry = registry_or_skip!();
    let proxy = Proxy::start(&registry.host).await;
    proxy.fail(axum::http::Method::GET, "/tags/list", 403, 1, None);
    let client = common::client(&proxy.host);
    let err = client
        .all_tags("prod/payments")
        .await
        .expect_err("forbidden");
    assert!(matches!(err, RegistryError::Denied { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "denied: {}/prod/payments: not allowed to pull",
            proxy.host
        )),
        "{err}"
    );
    // 403 is an answer, not a hiccup: no retry.
    assert_eq!(proxy.hits(&axum::http::Method::GET, "/tags/list"), 1);
}

const CHILD: &str = "SHIPDECK_TEST_CHILD_REGISTRY";

/// `credHelpers` and `credsStore` run `docker-credential-<name>` from PATH. Changing PATH and
/// DOCKER_CONFIG inside this process is not allowed (unsafe), so the test runs itself again
/// as a child process with both set.
#[test]
fn credential_helpers_on_path() {
    if let Ok(host) = std::env::var(CHILD) {
        return helper_child(&host);
    }
    let Some(registry) = common::TestRegistry::start_with_htpasswd(HTPASSWD) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        Seed::with_basic(&registry.host, USER, PASSWORD)
            .push_image("dev/orders", Some("v1"), &ImageSpec::simple("helper"))
            .await;
    });

    let bin = tempfile::tempdir().expect("bin dir");
    let helper = bin.path().join("docker-credential-shipdecktest");
    let script = format!(
        "#!/bin/sh\nread -r server\n\
         if [ \"$1\" = get ] && [ \"$server\" = \"{host}\" ]; then\n\
           printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n\
         else\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
        host = registry.host
    );
    std::fs::write(&helper, script).expect("helper");
    let chmod = std::process::Command::new("chmod")
        .arg("755")
        .arg(&helper)
        .status()
        .expect("chmod");
    assert!(chmod.success());
    let config = docker_config(&format!(
        r#"{{"credHelpers":{{"{}":"shipdecktest"}}}}"#,
        registry.host
    ));
    let path = std::env::join_paths(std::iter::once(bin.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    // libtest names tests by module path without the crate (`registry_auth::…` inside the
    // one `suite` binary): the bare function name would match nothing under `--exact`.
    let full = concat!(module_path!(), "::credential_helpers_on_path");
    let name = full.split_once("::").map_or(full, |(_, test)| test);
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, &registry.host)
        .env("DOCKER_CONFIG", config.path())
        .env("PATH", path)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test:\n{stdout}"
    );
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "password printed"
    );
}

/// The child half: credentials come from the helper via `$DOCKER_CONFIG`.
fn helper_child(host: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // credHelpers, found through $DOCKER_CONFIG as users have it.
        let client = RegistryClient::new(host, with_credentials(CredentialSource::from_env()))
            .expect("client");
        assert_eq!(
            client
                .all_tags("dev/orders")
                .await
                .expect("tags via credHelpers"),
            vec!["v1"]
        );

        // credsStore: the same helper for every registry.
        let store = docker_config(r#"{"credsStore":"shipdecktest"}"#);
        let source = CredentialSource::DockerConfig(store.path().to_path_buf());
        let client = RegistryClient::new(host, with_credentials(source.clone())).expect("client");
        assert_eq!(
            client
                .all_tags("dev/orders")
                .await
                .expect("tags via credsStore"),
            vec!["v1"]
        );

        // A helper that holds nothing for a registry means anonymous, as with docker.
        let other = source.lookup_blocking("127.0.0.1:1").expect("lookup");
        assert!(other.is_anonymous(), "{other:?}");
    });
}
