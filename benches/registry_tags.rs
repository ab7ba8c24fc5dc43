//! Lists a 10,000-tag repository from the embedded registry in pages of 100, through the same
//! client the console uses, and reports time to the first page and to the full list.
//!
//! `cargo bench --bench registry_tags`

use std::time::{Duration, Instant};

use futures::StreamExt;
use shipdeck::registry::{ClientOptions, CredentialSource, RegistryClient};
use shipdeck::sandbox::registry::{ImageSpec, Registry, serve};

const TAGS: usize = 10_000;
const PAGE: usize = 100;
const RUNS: usize = 20;

fn main() {
    shipdeck::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let registry = Registry::new();
    let spec = ImageSpec::default();
    let tags: Vec<String> = (0..TAGS)
        .map(|i| format!("v{}.{}.{}", i / 1000, (i / 10) % 100, i % 10))
        .collect();
    for chunk in tags.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        registry.seed("dev/big", &refs, &spec);
    }
    let server = serve(registry, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("registry starts");
    let client = RegistryClient::new(
        &server.host(),
        ClientOptions {
            page_size: PAGE,
            credentials: CredentialSource::Anonymous,
            ..ClientOptions::default()
        },
    )
    .expect("client");
    let mut first = Vec::new();
    let mut full = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut pages = Box::pin(client.list_tags("dev/big"));
        let mut count = 0;
        let mut first_at = None;
        while let Some(page) = pages.next().await {
            let page = page.expect("page");
            first_at.get_or_insert_with(|| started.elapsed());
            count += page.len();
        }
        assert_eq!(count, TAGS, "every tag listed");
        first.push(first_at.unwrap_or_default());
        full.push(started.elapsed());
    }
    report("first page (100 tags)", &mut first);
    report("full list (10,000 tags)", &mut full);
    server.shutdown().await;
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "{what:<24} p50 {:>9.2?}  p99 {:>9.2?}  min {:>9.2?}  ({} runs)",
        pct(0.5),
        pct(0.99),
        samples[0],
        samples.len()
    );
}
