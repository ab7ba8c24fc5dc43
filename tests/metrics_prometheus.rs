//! shipdeck's provider and analysis against a real Prometheus (Debian's `prometheus`, which
//! `.ci/run` installs) scraping the sandbox's `/metrics` every second. The sandbox runs on a
//! real-time clock sped up 5×; Prometheus stamps samples with its own wall clock, so rates it
//! computes are 5× the simulated ones while error ratios and latency quantiles are not.
//!
//! Without the binary the test says so loudly and passes; with `CI` set it fails.

use crate::analysis_support;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use analysis_support::{channel, reports};
use shipdeck::metrics::analysis::{Decision, Measure, Mode, Policy, Verdict};
use shipdeck::metrics::runner::{Goal, Probe, Runner, WallClock};
use shipdeck::metrics::setup::canary_target;
use shipdeck::metrics::{Prometheus, Templates};
use shipdeck::sandbox::scenario::demo_analysis;
use shipdeck::sandbox::world::{World, WorldOptions};

const PROMETHEUS: &str = "/usr/bin/prometheus";

fn prometheus_binary() -> Option<&'static str> {
    if Path::new(PROMETHEUS).exists() {
        return Some(PROMETHEUS);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{PROMETHEUS} is missing: .ci/run installs Debian's prometheus package");
    }
    eprintln!(
        "\n*** SKIPPED metrics_prometheus: {PROMETHEUS} not found (apt-get install -y prometheus) ***\n"
    );
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

struct RunningPrometheus {
    child: tokio::process::Child,
    url: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl RunningPrometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn start_prometheus(binary: &str, scrape: &str) -> RunningPrometheus {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    let target = scrape.trim_start_matches("http://");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sandbox\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .expect("write config");
    let port = free_port();
    let log = dir.path().join("prometheus.log");
    let child = tokio::process::Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let running = RunningPrometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let ready = format!("{}/-/ready", running.url);
    for _ in 0..150 {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return running;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus did not become ready:\n{}", running.log());
}

fn runner(
    prometheus: &str,
    env: &str,
    service: &str,
) -> (
    Runner,
    tokio::sync::mpsc::UnboundedReceiver<shipdeck::metrics::AnalysisEvent>,
) {
    let mut analysis = demo_analysis();
    // Ten wall-clock seconds: ten scrapes per rate window.
    analysis.interval = Duration::from_secs(10);
    let probe = Probe {
        provider: Prometheus::new(prometheus, Duration::from_secs(5)).expect("client"),
        templates: Templates::default(),
        smoke: None,
        health: None,
    };
    let (sink, events) = channel();
    let runner = Runner::new(
        probe,
        canary_target(env, "shop", service),
        Policy::from_config(&analysis),
        Mode::Canary,
        Arc::new(WallClock),
        sink,
    );
    (runner, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_against_a_real_prometheus() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    shipdeck::install_crypto_provider();
    let world = World::start(WorldOptions {
        manual_clock: false,
        speed: 5.0,
        ..WorldOptions::default()
    })
    .await
    .expect("demo world starts");
    let scrape = world.metrics_url().expect("metrics server");
    let mut prometheus = start_prometheus(binary, &scrape).await;

    let (mut search, search_events) = runner(&prometheus.url, "dev", "search");
    let (mut orders, orders_events) = runner(&prometheus.url, "prod", "orders");
    let search = tokio::spawn(async move { search.run(Goal::Step).await });
    let orders = tokio::spawn(async move { orders.run(Goal::Step).await });
    let (search, orders) = (search.await.expect("search"), orders.await.expect("orders"));
    let collect = |mut rx: tokio::sync::mpsc::UnboundedReceiver<_>| {
        let mut all = Vec::new();
        while let Ok(e) = rx.try_recv() {
            all.push(e);
        }
        all
    };
    let (search_events, orders_events) = (collect(search_events), collect(orders_events));
    let log = prometheus.log();

    // The faulty dev search canary (errors=0.2): two failed checks, aborted.
    let Decision::Abort { why } = &search else {
        panic!("search: expected an abort, got {search:?}\n{search_events:#?}\n{log}")
    };
    assert!(
        why.starts_with("error rate ") && why.ends_with("for 2 checks"),
        "{why}"
    );
    let first = reports(&search_events)[0];
    let errors = first
        .checks
        .iter()
        .find(|c| c.metric == Measure::ErrorRate)
        .expect("error rate");
    assert!(
        errors.value.is_some_and(|v| (0.14..=0.26).contains(&v)),
        "{errors:?}"
    );
    assert!(errors.baseline.is_some_and(|v| v < 0.003), "{errors:?}");

    // The healthy prod orders canary: its first check passes.
    assert_eq!(orders, Decision::Advance, "{orders_events:#?}\n{log}");
    let report = reports(&orders_events)[0];
    assert_eq!(report.verdict, Verdict::Pass);
    let rate = report
        .checks
        .iter()
        .find(|c| c.metric == Measure::RequestRate)
        .expect("rate");
    // Prometheus sees 5× the simulated rate (its clock is the wall's); 25% goes to the canary.
    let (canary, stable) = (rate.value.expect("canary"), rate.baseline.expect("stable"));
    assert!(
        (canary / (canary + stable) - 0.25).abs() < 0.03,
        "{canary} vs {stable}"
    );

    // The sandbox's own query API agrees with Prometheus on what does not depend on whose
    // clock stamps the samples.
    let ratio = r#"(sum(rate(http_requests_total{env="prod",service="orders",track="canary"}[30s])) / sum(rate(http_requests_total{env="prod",service="orders"}[30s])))"#;
    let real = Prometheus::new(&prometheus.url, Duration::from_secs(5)).expect("client");
    let ours = Prometheus::new(&scrape, Duration::from_secs(5)).expect("client");
    let (a, b) = (real.value(ratio, None).await, ours.value(ratio, None).await);
    let (a, b) = (
        a.expect("prometheus").expect("data"),
        b.expect("sandbox").expect("data"),
    );
    assert!(
        (a - 0.25).abs() < 0.03 && (b - 0.25).abs() < 1e-6,
        "prometheus {a}, sandbox {b}"
    );

    prometheus.child.kill().await.expect("stop prometheus");
    world.shutdown().await;
}
