//! Helpers for analysis tests against the sandbox world: its virtual clock as the analysis'
//! ticker, kube clients per environment, and a driver that moves the world's clock exactly to
//! each instant the analysis waits for (so every check sees the same world on every run).
#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;
use shipdeck::metrics::runner::{AnalysisEvent, Sink, Ticker};
use shipdeck::sandbox::clock::Clock;
use shipdeck::sandbox::world::{World, WorldOptions};
use tokio::sync::mpsc;

/// The sandbox clock as a ticker; queries are pinned to it, since the sandbox's metrics run
/// on it too.
pub struct SandboxTicker(pub Clock);

impl Ticker for SandboxTicker {
    fn now(&self) -> Timestamp {
        self.0.now()
    }

    fn sleep_until(&self, t: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.sleep_until(t))
    }

    fn pins_query_time(&self) -> bool {
        true
    }
}

pub async fn demo_world() -> World {
    shipdeck::install_crypto_provider();
    World::start(WorldOptions {
        manual_clock: true,
        ..WorldOptions::default()
    })
    .await
    .expect("demo world starts")
}

pub fn kube_client(world: &World, env: &str) -> kube::Client {
    let uri: http::Uri = world.env(env).url().parse().expect("uri");
    kube::Client::try_from(kube::Config::new(uri)).expect("kube client")
}

/// A sink feeding a channel, and its receiving end.
pub fn channel() -> (Sink, mpsc::UnboundedReceiver<AnalysisEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(move |e| drop(tx.send(e))), rx)
}

/// Runs `work` while moving the world's clock to every `Waiting` instant it announces, and
/// returns its result with every event. The clock never moves while a check is running.
pub async fn drive<T: Send + 'static>(
    world: &World,
    mut events: mpsc::UnboundedReceiver<AnalysisEvent>,
    work: impl Future<Output = T> + Send + 'static,
) -> (T, Vec<AnalysisEvent>) {
    let task = tokio::spawn(work);
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        if let AnalysisEvent::Waiting { next_check } = &event {
            advance_to(world, *next_check);
        }
        seen.push(event);
    }
    (task.await.expect("analysis task"), seen)
}

pub fn advance_to(world: &World, t: Timestamp) {
    let span = t.duration_since(world.clock.now());
    if let Ok(by) = std::time::Duration::try_from(span) {
        world.advance(by);
    }
}

/// Every check report among the events.
pub fn reports(events: &[AnalysisEvent]) -> Vec<&shipdeck::metrics::CheckReport> {
    events
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Checked { report, .. } => Some(report),
            _ => None,
        })
        .collect()
}

/// Like [`drive`], for a whole guarded release: besides jumping to each announced check, the
/// clock moves on by a second every 20 ms of real time while no check is running, so the
/// rollouts between checks (pods pulling, starting, becoming ready) happen. Check instants
/// are aligned to the analysis interval, so they are the same on every run.
pub async fn drive_release<T: Send + 'static>(
    world: &World,
    mut events: mpsc::UnboundedReceiver<AnalysisEvent>,
    work: impl Future<Output = T> + Send + 'static,
) -> (T, Vec<AnalysisEvent>) {
    let task = tokio::spawn(work);
    let mut seen = Vec::new();
    let mut in_check = false;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    match &event {
                        AnalysisEvent::Waiting { next_check } => {
                            advance_to(world, *next_check);
                            in_check = true;
                        }
                        AnalysisEvent::Decided { .. } => in_check = false,
                        _ => {}
                    }
                    seen.push(event);
                }
                None => break,
            },
            _ = tokio::time::sleep(std::time::Duration::from_millis(20)), if !in_check => {
                world.advance(std::time::Duration::from_secs(1));
            }
        }
    }
    (task.await.expect("release task"), seen)
}

/// The world's kubeconfig and shipdeck.toml in a temporary directory, the config loaded.
pub fn world_files(world: &World) -> (tempfile::TempDir, shipdeck::config::Config) {
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = world
        .write_files(&dir.path().join("kubeconfig"))
        .expect("files");
    let config = shipdeck::config::load_file(&toml).expect("config loads");
    (dir, config)
}

/// `kubectl` against the world's kubeconfig (written by [`world_files`] in `dir`).
pub fn kubectl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("kubectl")
        .arg(format!("--kubeconfig={}", dir.join("kubeconfig").display()))
        .arg(format!("--cache-dir={}", dir.join("kube-cache").display()))
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
