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
