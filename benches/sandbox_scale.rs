//! The sandbox at scale: `--scenario large --services 200 --pods-per-service 25` (5,000 pods
//! per environment, three environments). Reports world start time and memory, pod list
//! latency over HTTP as JSON and as the Table kubectl asks for (p50/p99), and watch fan-out
//! (many watchers receiving the same updates).
//!
//! `cargo bench --bench sandbox_scale` (options: `--services N --pods-per-service N
//! --watchers N --updates N --runs N`)

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use shipdeck::sandbox::resources::kinds;
use shipdeck::sandbox::scenario::Scenario;
use shipdeck::sandbox::scenario::catalog::NAMESPACE;
use shipdeck::sandbox::world::{World, WorldOptions};

const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

struct Args {
    services: usize,
    pods_per_service: usize,
    watchers: usize,
    updates: usize,
    runs: usize,
}

impl Args {
    fn parse() -> Args {
        let mut a = Args {
            services: 200,
            pods_per_service: 25,
            watchers: 50,
            updates: 1_000,
            runs: 30,
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut it = argv.iter();
        while let Some(flag) = it.next() {
            let slot = match flag.as_str() {
                "--services" => &mut a.services,
                "--pods-per-service" => &mut a.pods_per_service,
                "--watchers" => &mut a.watchers,
                "--updates" => &mut a.updates,
                "--runs" => &mut a.runs,
                // `cargo bench` passes `--bench`; other harness flags mean nothing here.
                _ => continue,
            };
            if let Some(n) = it.next().and_then(|v| v.parse().ok()) {
                *slot = n;
            }
        }
        a
    }
}

fn main() {
    shipdeck::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(Args::parse()));
}

async fn run(args: Args) {
    let rss_before = rss_kib();
    let started = Instant::now();
    let world = World::start(WorldOptions {
        scenario: Scenario::Large {
            services: args.services,
            pods_per_service: args.pods_per_service,
        },
        ..WorldOptions::default()
    })
    .await
    .expect("world starts");
    let start = started.elapsed();
    let dev = world.env("dev");
    let pods = dev.cluster.store.list(*kinds::PODS, None).0.len();
    println!(
        "world start ({} services x {} pods, 3 environments): {start:.2?}; dev has {pods} pods",
        args.services, args.pods_per_service
    );
    println!(
        "RSS: {} MiB after start ({} MiB before)",
        rss_kib() / 1024,
        rss_before / 1024
    );

    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/pods?limit=500", dev.url());
    for (label, accept) in [("JSON", "application/json"), ("Table", TABLE_ACCEPT)] {
        let mut times = Vec::with_capacity(args.runs);
        let mut bytes = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            let body = http
                .get(&url)
                .header("Accept", accept)
                .send()
                .await
                .expect("list answers")
                .bytes()
                .await
                .expect("list body");
            times.push(t.elapsed());
            bytes = body.len();
        }
        let (p50, p99) = percentiles(&mut times);
        println!(
            "list pods -A as {label}: p50 {p50:.2?}, p99 {p99:.2?} ({} KiB, {} runs)",
            bytes / 1024,
            args.runs
        );
    }

    watch_fan_out(&world, &http, args.watchers, args.updates).await;
    println!("RSS: {} MiB at the end", rss_kib() / 1024);
    world.shutdown().await;
}

/// `watchers` clients watch every pod; `updates` pod annotations are written; reports how long
/// until every watcher has seen every update, and the events delivered per second.
async fn watch_fan_out(world: &World, http: &reqwest::Client, watchers: usize, updates: usize) {
    let dev = world.env("dev");
    let cluster = dev.cluster.clone();
    let rv = cluster.store.resource_version();
    let url = format!(
        "{}/api/v1/pods?watch=true&resourceVersion={rv}&allowWatchBookmarks=true",
        dev.url()
    );
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(watchers);
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let resp = http.get(&url).send().await.expect("watch answers");
        assert_eq!(resp.status(), 200);
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = ready.send(()).await;
            count_marked(resp, updates).await
        }));
    }
    for _ in 0..watchers {
        ready_rx.recv().await;
    }
    let names: Vec<String> = cluster
        .store
        .list(*kinds::PODS, Some(NAMESPACE))
        .0
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let started = Instant::now();
    let writer = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            for i in 0..updates {
                let name = &names[i % names.len()];
                // Best effort: a pod replaced meanwhile is skipped, and then counted missing.
                let _ = cluster.modify(*kinds::PODS, NAMESPACE, name, false, |p| {
                    p["metadata"]["annotations"]["bench.shipdeck.dev/seq"] = json!(i.to_string());
                });
            }
        })
    };
    writer.await.expect("writer");
    let written = started.elapsed();
    let mut received = 0;
    for t in tasks {
        received += t.await.expect("watcher");
    }
    let all = started.elapsed();
    let total = watchers * updates;
    println!(
        "watch fan-out: {watchers} watchers x {updates} updates: written in {written:.2?}, \
         all delivered in {all:.2?} ({received}/{total} events, {:.0} events/s)",
        received as f64 / all.as_secs_f64()
    );
}

/// Reads a watch stream until `want` events carrying the benchmark's annotation arrived (or
/// 60 s passed); returns how many did.
async fn count_marked(resp: reqwest::Response, want: usize) -> usize {
    let mut stream = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0;
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    while seen < want {
        let chunk = tokio::select! {
            c = stream.next() => c,
            () = &mut deadline => break,
        };
        let Some(Ok(chunk)) = chunk else { break };
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            if let Ok(ev) = serde_json::from_slice::<Value>(&line)
                && ev["object"]["metadata"]["annotations"]["bench.shipdeck.dev/seq"].is_string()
            {
                seen += 1;
            }
        }
    }
    seen
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).copied().unwrap_or_default()
    };
    (at(0.5), at(0.99))
}

/// Resident memory of this process, from /proc (0 where there is none).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}
