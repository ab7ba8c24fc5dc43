//! Exec credential plugins against the real API server: scripts that print an
//! ExecCredential, one whose token expires (fetched again without a restart), one whose first
//! token the server refuses (fetched again after the 401), one that fails (named, its stderr
//! quoted), one that is not installed (its install hint shown); and no token, key or plugin
//! secret in a trace-level log.

use std::time::Duration;

use crate::access_support::{
    KubeconfigSpec, Workdir, b64, deployment, exec_user, runs, token_plugin,
};
use crate::real_cluster_or_skip;

use shipdeck::cluster::kubeconfig::read_file;
use shipdeck::cluster::{Connector, LoadedKubeconfig};
use shipdeck::config::EnvConfig;
use shipdeck::net::ProxySettings;

async fn connect(dir: &Workdir, yaml: &str, namespace: &str) -> Result<kube::Client, String> {
    shipdeck::install_crypto_provider();
    let file = dir.write("kubeconfig", yaml);
    let loaded = LoadedKubeconfig {
        kubeconfig: read_file(&file).map_err(|e| e.to_string())?,
        files: vec![file],
        in_cluster: false,
    };
    let env = EnvConfig {
        name: "real".into(),
        context: None,
        namespace: namespace.into(),
        registry: None,
        protected: false,
        read_only: false,
    };
    Connector::new(ProxySettings::default())
        .connect(&loaded, &env)
        .await
        .map(|c| c.client)
        .map_err(|e| e.to_string())
}

async fn whoami(client: &kube::Client) -> Result<String, String> {
    shipdeck::cluster::identity::whoami(client)
        .await
        .map(|i| i.username)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_exec_token_is_fetched_again_without_a_restart() {
    let cluster = real_cluster_or_skip!();
    let dir = Workdir::new();
    let count = dir.path("runs.log");
    // Valid for 11 s: within a second it is inside the 10 s margin and fetched again.
    let plugin = dir.script(
        "short-lived",
        &token_plugin(&cluster.viewer_token, 11, &count),
    );
    let spec = KubeconfigSpec::new(cluster, exec_user(&plugin, ""), "default");
    let client = connect(&dir, &spec.yaml(), "default")
        .await
        .expect("connects");
    assert_eq!(runs(&count).len(), 1, "fetched once while connecting");
    assert_eq!(whoami(&client).await.as_deref(), Ok("viewer"));
    let before = runs(&count).len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(whoami(&client).await.as_deref(), Ok("viewer"));
    let after = runs(&count);
    assert!(
        after.len() > before,
        "fetched again once expiring: {after:?}"
    );
    // Tests have no terminal: every run was told it may not prompt.
    assert!(after.iter().all(|m| m == "quiet"), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_exec_token_is_fetched_again_after_the_401() {
    let cluster = real_cluster_or_skip!();
    let dir = Workdir::new();
    let state = dir.path("issued");
    // The first token is stale (the server does not know it), the next one is good.
    let plugin = dir.script(
        "stale-then-good",
        &format!(
            r#"if [ -e '{state}' ]; then token={good}; else token=stale-token; touch '{state}'; fi
echo "{{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"status\":{{\"token\":\"$token\"}}}}"
"#,
            state = state.display(),
            good = cluster.viewer_token
        ),
    );
    let spec = KubeconfigSpec::new(cluster, exec_user(&plugin, ""), "default");
    let client = connect(&dir, &spec.yaml(), "default")
        .await
        .expect("connects");
    let refused = whoami(&client)
        .await
        .expect_err("the stale token is refused");
    assert!(refused.contains("Unauthorized"), "{refused}");
    assert_eq!(whoami(&client).await.as_deref(), Ok("viewer"));
}

#[test]
fn a_failing_plugin_is_named_with_its_stderr_and_a_missing_one_with_its_hint() {
    let cluster = real_cluster_or_skip!();
    let dir = Workdir::new();
    let plugin = dir.script(
        "aws-sso",
        "echo 'Error loading SSO Token: Token for shop-prod does not exist' >&2\necho 'run: aws sso login --profile shop-prod' >&2\nexit 255\n",
    );
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(cluster, exec_user(&plugin, ""), "default").yaml(),
    );
    let run = dir.run(
        &["status"],
        &[("KUBECONFIG", kubeconfig.to_str().expect("path"))],
    );
    assert_ne!(run.code, 0);
    for part in [
        &format!("exec plugin \"{}\"", plugin.display())[..],
        "kubeconfig user \"someone\"",
        "exit status: 255",
        "  | Error loading SSO Token: Token for shop-prod does not exist",
        "  | run: aws sso login --profile shop-prod",
    ] {
        assert!(run.stderr.contains(part), "{part:?} in:\n{}", run.stderr);
    }

    let missing = dir.path("kubectl-oidc_login");
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(
            cluster,
            exec_user(
                &missing,
                "  installHint: |\n    kubelogin is not installed: brew install int128/kubelogin/kubelogin\n",
            ),
            "default",
        )
        .yaml(),
    );
    let run = dir.run(
        &["status"],
        &[("KUBECONFIG", kubeconfig.to_str().expect("path"))],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("is not installed or not executable")
            && run
                .stderr
                .contains("kubelogin is not installed: brew install int128/kubelogin/kubelogin"),
        "{}",
        run.stderr
    );
}

/// Tokens (inline, from a plugin, from a file), client keys and a plugin's environment never
/// reach the log, even at trace level.
#[test]
fn no_credential_reaches_a_trace_log() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("secrets");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let dir = Workdir::new();
    let count = dir.path("runs.log");
    let plugin = dir.script(
        "token-plugin",
        &token_plugin(&cluster.viewer_token, 0, &count),
    );
    let key = std::fs::read(cluster.dir.join("admin.key")).expect("key");
    let cert = std::fs::read(cluster.dir.join("admin.crt")).expect("cert");
    let plugin_secret = "plugin-env-secret-6b1f0c";
    let token_file = dir.write("token", &cluster.patcher_token);
    let users = [
        (
            "exec",
            exec_user(
                &plugin,
                &format!("  env:\n  - name: SSO_SECRET\n    value: {plugin_secret}\n"),
            ),
        ),
        (
            "cert",
            format!(
                "client-certificate-data: {}\nclient-key-data: {}",
                b64(&cert),
                b64(&key)
            ),
        ),
        ("token", format!("token: {}", cluster.viewer_token)),
        ("file", format!("tokenFile: {}", token_file.display())),
    ];
    let log = dir.path("trace.log");
    for (what, user) in users {
        let kubeconfig = dir.write(
            &format!("{what}.kubeconfig"),
            &KubeconfigSpec::new(cluster, user, &ns).yaml(),
        );
        let run = dir.run(
            &[
                "status",
                "--log-file",
                log.to_str().expect("path"),
                "--kubeconfig",
                kubeconfig.to_str().expect("path"),
            ],
            &[("SHIPDECK_LOG", "trace")],
        );
        // The patcher may not list Deployments: status says so, and that is fine here.
        if what != "file" {
            run.ok();
        }
    }
    let text = std::fs::read_to_string(&log).expect("the log was written");
    assert!(text.contains("TRACE"), "trace level was on");
    assert!(text.contains("exec credential plugin returned a credential"));
    let key_body: String = String::from_utf8_lossy(&key)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for secret in [
        cluster.viewer_token.as_str(),
        cluster.patcher_token.as_str(),
        plugin_secret,
        &key_body[..40],
        &b64(&key)[..40],
    ] {
        assert!(!text.contains(secret), "a secret is in the log");
    }
}

/// An interactive plugin in a real terminal: its prompt appears on the normal screen before
/// the console takes it, the answer typed there is read by the plugin; later, with the
/// console up, the expired token is fetched again without a terminal (no prompt drawn over
/// the console) and the console goes on.
#[test]
fn an_interactive_plugin_prompts_before_the_console_and_refreshes_quietly_under_it() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("prompted");
    cluster.apply(
        &ns,
        &deployment("storefront", "127.0.0.1:9/shop/storefront:v1"),
    );
    let dir = Workdir::new();
    let count = dir.path("runs.log");
    let plugin = dir.script(
        "sso-login",
        &format!(
            r#"case "$KUBERNETES_EXEC_INFO" in
  *'"interactive":true'*)
    printf 'Password for shop-prod: ' >&2
    read -r answer
    [ "$answer" = hunter2 ] || {{ echo 'wrong password' >&2; exit 1; }} ;;
esac
{}"#,
            crate::access_support::token_plugin(&cluster.viewer_token, 11, &count)
        ),
    );
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(cluster, exec_user(&plugin, ""), &ns).yaml(),
    );
    let command = format!(
        "{} --kubeconfig {}",
        crate::access_support::SHIPDECK,
        kubeconfig.display()
    );
    let home = dir.path("home");
    let state = dir.path("state");
    let Some(tmux) = crate::access_support::tmux::Tmux::start(
        &command,
        &[
            ("HOME", home.to_str().expect("path")),
            ("XDG_STATE_HOME", state.to_str().expect("path")),
        ],
        dir.dir.path(),
    ) else {
        return;
    };
    let screen = tmux.wait_for("the plugin's prompt", |s| {
        s.contains("Password for shop-prod:")
    });
    assert!(
        !screen.contains("rror"),
        "nothing else is printed before the prompt:\n{screen}"
    );
    assert!(!tmux.alternate(), "the prompt is on the normal screen");
    tmux.type_text("hunter2");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the console", |s| {
        s.contains("Services 1/1") && s.contains("storefront")
    });
    assert!(tmux.alternate(), "the console has the screen");
    assert_eq!(runs(&count)[0], "interactive", "{:?}", runs(&count));

    // Past the token's expiry, a request (the selected pod's logs) fetches it again. (The
    // console's own requests may already have, on a slow machine.)
    std::thread::sleep(Duration::from_secs(2));
    let before = runs(&count).len();
    tmux.keys(&["l"]);
    crate::common::real_cluster::wait_until(Duration::from_secs(30), "a quiet refresh", || {
        (runs(&count).len() > before).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", runs(&count), tmux.screen()));
    assert!(
        runs(&count)[1..].iter().all(|m| m == "quiet"),
        "never interactive under the console: {:?}",
        runs(&count)
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("Password for"),
        "no prompt over the console:\n{screen}"
    );
    assert!(tmux.alternate());
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |s| s.contains("EXITED 0"));
    assert!(!tmux.alternate(), "the terminal is given back");
}
