//! A real HTTP proxy (squid) between shipdeck and its servers. The servers have names only
//! the proxy resolves (`*.shipdeck.test`), so an answer proves the request went through it.
//! kube, the registry client and the Prometheus client take the same decision: HTTPS_PROXY
//! and HTTP_PROXY by scheme, NO_PROXY, and a kubeconfig's proxy-url.

use std::time::Duration;

use crate::access_support::{KubeconfigSpec, Workdir, deployment};
use crate::common::real_cluster::wait_until;
use crate::common::squid::Squid;
use crate::common::{Seed, TestRegistry};
use crate::real_cluster_or_skip;

use serde_json::Value;
use shipdeck::net::ProxySettings;

const KUBE_HOST: &str = "kube.shipdeck.test";

fn squid_or_skip() -> Option<Squid> {
    Squid::start(&[KUBE_HOST, "registry.shipdeck.test", "prom.shipdeck.test"])
}

#[test]
fn kube_goes_through_https_proxy_unless_no_proxy_says_otherwise() {
    let cluster = real_cluster_or_skip!();
    let Some(squid) = squid_or_skip() else {
        return;
    };
    let ns = cluster.namespace("proxied");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let dir = Workdir::new();
    let port = cluster.server.rsplit(':').next().expect("port");
    let mut spec = KubeconfigSpec::new(cluster, format!("token: {}", cluster.viewer_token), &ns);
    spec.server = format!("https://{KUBE_HOST}:{port}");
    // The serving certificate is for 127.0.0.1: verified against that name.
    spec.cluster = format!(
        "certificate-authority: {}\ntls-server-name: 127.0.0.1",
        cluster.ca.display()
    );
    let kubeconfig = dir.write("kubeconfig", &spec.yaml());
    let kubeconfig = kubeconfig.to_str().expect("path");
    let proxy = squid.url();
    let connect_line = format!("CONNECT {KUBE_HOST}:{port}");

    let run = dir.run(
        &["status", "-o", "json"],
        &[
            ("KUBECONFIG", kubeconfig),
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", "127.0.0.1,localhost"),
        ],
    );
    let rows: Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(rows[0]["service"], "web", "{rows}");
    // squid logs a tunnel when it closes (the process has ended).
    wait_until(Duration::from_secs(20), "squid's log of the tunnel", || {
        squid.access_log().contains(&connect_line).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: {}", squid.access_log()));
    let tunnels = squid.access_log().matches(&connect_line).count();

    // NO_PROXY covers the domain: shipdeck connects directly and cannot resolve the name.
    let direct = dir.run(
        &["status", "-o", "json"],
        &[
            ("KUBECONFIG", kubeconfig),
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", ".shipdeck.test"),
        ],
    );
    assert_ne!(direct.code, 0, "{direct:?}");
    assert!(
        direct.stderr.contains(KUBE_HOST) && direct.stderr.contains("lookup"),
        "{direct:?}"
    );

    // A cluster's own proxy-url needs no environment at all.
    spec.cluster = format!("{}\nproxy-url: {proxy}", spec.cluster);
    let own = dir.write("own-proxy.kubeconfig", &spec.yaml());
    let run = dir.run(
        &["status", "-o", "json"],
        &[("KUBECONFIG", own.to_str().expect("path"))],
    );
    run.ok();
    wait_until(Duration::from_secs(20), "a second tunnel", || {
        (squid.access_log().matches(&connect_line).count() > tunnels).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: {}", squid.access_log()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_and_prometheus_clients_take_the_same_proxy_decision() {
    let Some(squid) = squid_or_skip() else {
        return;
    };
    let registry: TestRegistry = registry_or_skip!();
    let seed = Seed::new(&registry.host);
    for tag in ["v1.0.0", "v1.1.0"] {
        seed.push_image(
            "shop/orders",
            Some(tag),
            &crate::common::ImageSpec::simple(tag),
        )
        .await;
    }
    let port = registry.host.rsplit(':').next().expect("port");
    let proxy = ProxySettings::from_vars(
        None,
        Some(("HTTP_PROXY".into(), squid.url())),
        Some("127.0.0.1".into()),
    )
    .expect("settings");

    // The registry by a name only squid knows, over plain HTTP through it.
    let options = shipdeck::registry::ClientOptions {
        plain_http: Some(true),
        proxy: Some(proxy.clone()),
        ..crate::common::options()
    };
    let host = format!("registry.shipdeck.test:{port}");
    let client = shipdeck::registry::RegistryClient::new(&host, options).expect("client");
    let mut tags = client
        .all_tags("shop/orders")
        .await
        .expect("tags via the proxy");
    tags.sort();
    assert_eq!(tags, ["v1.0.0", "v1.1.0"]);
    let logged = |line: String| {
        // squid writes a request's line once the transaction is done: soon, not at once.
        wait_until(Duration::from_secs(20), &line, || {
            squid.access_log().contains(&line).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}: {}", squid.access_log()));
    };
    logged(format!("GET http://{host}/v2/shop/orders/tags/list"));

    // Prometheus the same way: the request reaches the server behind the proxy (a registry
    // that answers 404 to a query, which is what the client reports).
    let prom_host = format!("prom.shipdeck.test:{port}");
    let prometheus = shipdeck::metrics::provider::Prometheus::with_proxy(
        &format!("http://{prom_host}"),
        Duration::from_secs(10),
        &proxy,
    )
    .expect("client");
    let answer = prometheus.instant("up", None).await;
    assert!(answer.is_err(), "a registry is no Prometheus");
    logged(format!("POST http://{prom_host}/api/v1/query"));
}

/// A real SOCKS5 proxy (Debian's microsocks) named by a cluster's `proxy-url`: the request
/// succeeds through it, and fails with it stopped (so it did not go around it).
#[test]
fn a_socks5_proxy_url_is_used() {
    let cluster = real_cluster_or_skip!();
    let Some(binary) = ["/usr/bin/microsocks", "/usr/local/bin/microsocks"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "microsocks is required under CI (see .ci/run)"
        );
        eprintln!("SKIPPED: microsocks is not installed");
        return;
    };
    let ns = cluster.namespace("socks");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = Workdir::new();
    let mut spec = KubeconfigSpec::new(cluster, format!("token: {}", cluster.viewer_token), &ns);
    spec.cluster = format!("{}\nproxy-url: socks5://127.0.0.1:{port}", spec.cluster);
    let kubeconfig = dir.write("kubeconfig", &spec.yaml());
    let status = || {
        dir.run(
            &["status", "-o", "json"],
            &[("KUBECONFIG", kubeconfig.to_str().expect("path"))],
        )
    };
    let mut socks = std::process::Command::new(binary)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("microsocks starts");
    wait_until(Duration::from_secs(10), "microsocks to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("listening");
    let rows: Value = serde_json::from_str(status().ok()).expect("json");
    assert_eq!(rows[0]["service"], "web", "{rows}");
    let _ = socks.kill();
    let _ = socks.wait();
    let without = status();
    assert_ne!(without.code, 0, "{without:?}");
}
