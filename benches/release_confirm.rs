//! Time from confirming an action to its write being applied by the API server, on the
//! sandbox: the plan is made (and shown) first; the clock starts when the user confirms and
//! stops when the server has answered the write — journal intent (fsync'd), the PATCH with
//! its resourceVersion precondition, the journal outcome.
//!
//! `cargo bench --bench release_confirm`

use std::time::{Duration, Instant};

use shipdeck::config::load_file;
use shipdeck::registry::{ClientOptions, Registries};
use shipdeck::release::{
    Action, Journal, Outcome, Progress, ReleaseContext, ReleaseRequest, execute, plan_request,
};
use shipdeck::sandbox::world::{World, WorldOptions};

const RUNS: usize = 200;

fn main() {
    shipdeck::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn measure(ctx: &ReleaseContext, name: &str, requests: impl Fn(usize) -> ReleaseRequest) {
    let mut times = Vec::with_capacity(RUNS);
    let mut retried = 0;
    for i in 0..RUNS {
        // A person reads the plan before confirming: the controllers finish reacting to the
        // previous write meanwhile (not measured).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let plan = plan_request(&requests(i), ctx).await.expect("plan");
        let started = Instant::now();
        let mut conflict = false;
        let outcome = execute(&plan, ctx, &mut |p| {
            conflict |= matches!(p, Progress::Retrying { .. });
        })
        .await
        .expect("execute");
        times.push(started.elapsed());
        retried += usize::from(conflict);
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    }
    times.sort();
    println!(
        "{name:<28} n={RUNS}  p50 {:>7.2?}  p90 {:>7.2?}  p99 {:>7.2?}  max {:>7.2?}  (409-retried: {retried})",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
}

async fn run() {
    let world = World::start(WorldOptions {
        manual_clock: true,
        ..WorldOptions::default()
    })
    .await
    .expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = world
        .write_files(&dir.path().join("kubeconfig"))
        .expect("kubeconfig and shipdeck.toml");
    let config = load_file(&config_path).expect("config");
    let journal = Journal::at(dir.path().join("audit.jsonl"));
    let mut ctx = ReleaseContext::connect(config, false, journal)
        .await
        .expect("context");
    ctx.registry = Some(std::sync::Arc::new(Registries::new(
        ClientOptions::default(),
    )));

    println!("confirm → write applied by the sandbox API server (journal fsync included)");
    measure(&ctx, "canary set (HTTPRoute)", |i| ReleaseRequest {
        service: "orders".into(),
        env: "prod".into(),
        action: Action::CanarySet {
            percent: if i % 2 == 0 { 30 } else { 40 },
        },
    })
    .await;
    measure(&ctx, "deploy (Deployment image)", |i| ReleaseRequest {
        service: "gateway".into(),
        env: "dev".into(),
        action: Action::Deploy {
            tag: if i % 2 == 0 { "v2.1.1" } else { "v2.2.0" }.into(),
            digest: None,
        },
    })
    .await;
    world.shutdown().await;
}
