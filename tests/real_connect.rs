//! shipdeck on the real control plane the way users connect to real clusters: kubeconfig
//! files merged from a KUBECONFIG list, kubectl's flags, every TLS and credential form a
//! kubeconfig has (CA file and data, client certificates, token, token file,
//! insecure-skip-tls-verify), the in-cluster service account, and the identity the API
//! server reports in the journal and the change-cause.

use crate::access_support::{KubeconfigSpec, Workdir, admin_cert_files, b64, deployment};
use crate::common::real_cluster::RealCluster;
use crate::real_cluster_or_skip;

use serde_json::Value;
use shipdeck::cluster::kubeconfig::{in_cluster, read_file};
use shipdeck::cluster::{Connector, LoadedKubeconfig};
use shipdeck::config::EnvConfig;
use shipdeck::net::ProxySettings;

fn env(namespace: &str) -> EnvConfig {
    EnvConfig {
        name: "real".into(),
        context: None,
        namespace: namespace.into(),
        registry: None,
        protected: false,
        read_only: false,
    }
}

/// Connects with `spec` and lists the namespace's Deployments; the names, or the error.
async fn list_with(dir: &Workdir, spec: &KubeconfigSpec<'_>) -> Result<Vec<String>, String> {
    shipdeck::install_crypto_provider();
    let file = dir.write("kubeconfig", &spec.yaml());
    let loaded = LoadedKubeconfig {
        kubeconfig: read_file(&file).map_err(|e| e.to_string())?,
        files: vec![file],
        in_cluster: false,
    };
    let client = Connector::new(ProxySettings::default())
        .connect(&loaded, &env(spec.namespace))
        .await
        .map_err(|e| e.to_string())?;
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client.client, spec.namespace);
    let list = api
        .list(&Default::default())
        .await
        .map_err(|e| shipdeck::cluster::error_line(&e))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|d| d.metadata.name)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tls_and_credential_form_of_a_kubeconfig_works() {
    let cluster: &RealCluster = real_cluster_or_skip!();
    let ns = cluster.namespace("tls");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let dir = Workdir::new();
    let ca_pem = std::fs::read(&cluster.ca).expect("ca");
    let cert = std::fs::read(cluster.dir.join("admin.crt")).expect("cert");
    let key = std::fs::read(cluster.dir.join("admin.key")).expect("key");
    let token_file = dir.write("token", &format!("{}\n", cluster.viewer_token));
    let data_cluster = format!("certificate-authority-data: {}", b64(&ca_pem));
    let cases: Vec<(&str, String, String)> = vec![
        (
            "CA file, client certificate files",
            String::new(),
            admin_cert_files(cluster),
        ),
        (
            "CA data, client certificate data",
            data_cluster.clone(),
            format!(
                "client-certificate-data: {}\nclient-key-data: {}",
                b64(&cert),
                b64(&key)
            ),
        ),
        (
            "CA file, token",
            String::new(),
            format!("token: {}", cluster.viewer_token),
        ),
        (
            "CA data, token file",
            data_cluster,
            format!("tokenFile: {}", token_file.display()),
        ),
        (
            "insecure-skip-tls-verify, token",
            "insecure-skip-tls-verify: true".into(),
            format!("token: {}", cluster.viewer_token),
        ),
    ];
    for (what, cluster_lines, user) in cases {
        let mut spec = KubeconfigSpec::new(cluster, user, &ns);
        if !cluster_lines.is_empty() {
            spec.cluster = cluster_lines;
        }
        let names = list_with(&dir, &spec)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(names, ["web"], "{what}");
    }

    // The wrong CA is refused, and the error says it is the certificate.
    let other_ca = dir.path("other-ca.crt");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not-the-cluster-ca", "-keyout"])
        .arg(dir.path("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{made:?}");
    let mut spec = KubeconfigSpec::new(cluster, format!("token: {}", cluster.viewer_token), &ns);
    spec.cluster = format!("certificate-authority: {}", other_ca.display());
    let refused = list_with(&dir, &spec).await.expect_err("untrusted server");
    assert!(
        refused.to_lowercase().contains("certificate"),
        "says why: {refused}"
    );
}

#[test]
fn insecure_skip_tls_verify_is_said_on_stderr_and_marked() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("insecure");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let dir = Workdir::new();
    let mut spec = KubeconfigSpec::new(cluster, format!("token: {}", cluster.viewer_token), &ns);
    spec.cluster = "insecure-skip-tls-verify: true".into();
    let kubeconfig = dir.write("kubeconfig", &spec.yaml());
    let run = dir.run(
        &["status", "-o", "json"],
        &[("KUBECONFIG", kubeconfig.to_str().expect("path"))],
    );
    let rows: Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(rows[0]["service"], "web", "{rows}");
    assert!(
        run.stderr
            .contains("warning: context test skips TLS verification (insecure-skip-tls-verify)"),
        "{}",
        run.stderr
    );
}

/// Three files in KUBECONFIG (one missing, as kubectl allows): clusters in one, users in
/// another, contexts and the current context in the first. `--context` and `-n` choose.
#[test]
fn a_kubeconfig_list_is_merged_and_kubectl_flags_choose() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("merged");
    cluster.apply(&ns, &deployment("api", "127.0.0.1:9/shop/api:v1"));
    let dir = Workdir::new();
    let contexts = dir.write(
        "contexts.yaml",
        &format!(
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: viewer\n  context: {{cluster: real, user: viewer, namespace: {}}}\n- name: nowhere\n  context: {{cluster: real, user: viewer, namespace: empty-ns}}\ncurrent-context: viewer\n",
            ns.name
        ),
    );
    let clusters = dir.write(
        "clusters.yaml",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster:\n    server: {}\n    certificate-authority: {}\n# A later file may not redefine a context the first one set.\ncontexts:\n- name: viewer\n  context: {{cluster: real, user: nobody, namespace: kube-system}}\n",
            cluster.server,
            cluster.ca.display()
        ),
    );
    let users = dir.write(
        "users.yaml",
        &format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: viewer\n  user:\n    token: {}\n",
            cluster.viewer_token
        ),
    );
    let list = [
        contexts.display().to_string(),
        dir.path("missing.yaml").display().to_string(),
        clusters.display().to_string(),
        users.display().to_string(),
    ]
    .join(":");
    let status = |args: &[&str]| {
        let mut all = vec!["status", "-o", "json"];
        all.extend_from_slice(args);
        dir.run(&all, &[("KUBECONFIG", &list)])
    };
    let rows: Value = serde_json::from_str(status(&[]).ok()).expect("json");
    assert_eq!(rows[0]["service"], "api", "{rows}");
    assert_eq!(rows[0]["env"], "viewer");
    // -n picks another namespace of the same context.
    let rows: Value = serde_json::from_str(status(&["-n", "kube-system"]).ok()).expect("json");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["service"] != "api"),
        "{rows}"
    );
    // --context picks another context; an unknown one names the files and the contexts.
    let rows: Value = serde_json::from_str(status(&["--context", "nowhere"]).ok()).expect("json");
    assert_eq!(rows, serde_json::json!([]));
    let unknown = status(&["--context", "prod"]);
    assert_ne!(unknown.code, 0);
    for part in [
        "context \"prod\"",
        "contexts.yaml",
        "users.yaml",
        "viewer, nowhere",
    ] {
        assert!(unknown.stderr.contains(part), "{part}: {}", unknown.stderr);
    }
    // --kubeconfig names one file, which must exist; KUBECONFIG is then not read.
    let missing = dir.run(
        &["status", "--kubeconfig", "nope.yaml"],
        &[("KUBECONFIG", &list)],
    );
    assert_ne!(missing.code, 0);
    assert!(
        missing
            .stderr
            .contains("nope.yaml (from --kubeconfig) does not exist"),
        "{}",
        missing.stderr
    );
    // A broken file is named, with its line.
    let broken = dir.write("broken.yaml", "apiVersion: v1\nclusters:\n- name: [x\n");
    let run = dir.run(
        &["status"],
        &[("KUBECONFIG", broken.to_str().expect("path"))],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("broken.yaml") && run.stderr.contains("line"),
        "{}",
        run.stderr
    );
}

/// A pod's service account: the API server from KUBERNETES_SERVICE_HOST/PORT, the mounted
/// CA and token file, the namespace file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_cluster_service_account_is_used_without_a_kubeconfig() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("incluster");
    cluster.apply(&ns, &deployment("job-runner", "127.0.0.1:9/shop/job:v1"));
    let dir = Workdir::new();
    let sa = dir.path("serviceaccount");
    std::fs::create_dir_all(&sa).expect("mkdir");
    std::fs::copy(&cluster.ca, sa.join("ca.crt")).expect("ca");
    std::fs::write(sa.join("token"), &cluster.viewer_token).expect("token");
    std::fs::write(sa.join("namespace"), ns.name.as_str()).expect("namespace");
    let port = cluster.server.rsplit(':').next().expect("port");
    let kubeconfig = in_cluster(&sa, "127.0.0.1", port).expect("in-cluster config");
    let loaded = LoadedKubeconfig {
        kubeconfig,
        files: Vec::new(),
        in_cluster: true,
    };
    shipdeck::install_crypto_provider();
    let config = shipdeck::config::Config::default();
    let implicit = shipdeck::cluster::implicit_env(&loaded.kubeconfig, &config);
    assert_eq!(implicit.namespace, ns.name.as_str());
    let client = Connector::new(ProxySettings::default())
        .connect(&loaded, &implicit)
        .await
        .expect("connects");
    let identity = shipdeck::cluster::identity::whoami(&client.client)
        .await
        .expect("whoami");
    assert_eq!(identity.username, "viewer");
}

/// Who acted is who the server says: the admin's certificate is `shipdeck-admin` (its CN),
/// though the kubeconfig calls the entry `someone`.
#[test]
fn the_servers_identity_is_in_the_journal_and_the_change_cause() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("whoami");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let dir = Workdir::new();
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(cluster, admin_cert_files(cluster), &ns).yaml(),
    );
    let run = dir.run(
        &["deploy", "web", "v2", "-e", "test", "-y"],
        &[("KUBECONFIG", kubeconfig.to_str().expect("path"))],
    );
    run.ok();
    let d = cluster.get_json(&ns, &["deployment", "web"]);
    let cause = d["metadata"]["annotations"]["kubernetes.io/change-cause"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(cause.ends_with("by shipdeck-admin"), "{cause}");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "127.0.0.1:9/shop/web:v2"
    );
    let journal = std::fs::read_to_string(dir.journal()).expect("journal");
    let records: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r["who"] == "shipdeck-admin"),
        "{journal}"
    );
}
