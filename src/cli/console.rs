//! The console entry points: `shipdeck` on the user's clusters, and `shipdeck demo` on the
//! embedded sandbox world. Both go through the same client code (kube over HTTP, OCI over
//! HTTP); the demo only starts the world first and points the console at its kubeconfig.

use std::sync::Arc;

use clap::Args;
use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::sandbox::WorldArgs;
use crate::config::{Config, find_config_file, load_file};
use crate::metrics::runner::{Ticker, WallClock};
use crate::registry::{ClientOptions, Registries};
use crate::release::{Journal, ReleaseContext};
use crate::runner::Runner;
use crate::sandbox::clock::Clock;
use crate::sandbox::world::World;
use crate::tui::ConsoleOptions;

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub world: WorldArgs,
}

/// Options shared by both entry points.
pub struct Launch {
    pub config: Option<std::path::PathBuf>,
    pub read_only: bool,
    pub theme: Option<String>,
}

/// `shipdeck`: the console on the kubeconfig's clusters (or the config's environments).
pub async fn console(launch: Launch) -> Result<i32> {
    let config = match launch.config.clone().or_else(find_config_file) {
        Some(path) => load_file(&path).map_err(|e| eyre!("{e}"))?,
        None => Config::default(),
    };
    let ctx = connect(config, launch.read_only)
        .await
        .map_err(|e| eyre!("{e}\nTo try shipdeck without a cluster, run `shipdeck demo`."))?;
    let label = ctx.clients.values().next().map(|c| c.context.clone());
    run_console(ctx, &launch, label, Arc::new(WallClock), Timestamp::now).await?;
    Ok(0)
}

/// `shipdeck demo`: starts the sandbox world in-process, then the console on it.
pub async fn demo(args: DemoArgs, launch: Launch) -> Result<i32> {
    eprintln!(
        "shipdeck demo: building the sandbox world (three clusters, a registry, three weeks of history)…"
    );
    let world = World::start(args.world.options())
        .await
        .wrap_err("cannot start the sandbox world")?;
    let dir = std::env::temp_dir().join(format!("shipdeck-demo-{}", std::process::id()));
    let config_path = world
        .write_files(&dir.join("kubeconfig"))
        .wrap_err_with(|| format!("cannot write the demo's kubeconfig into {}", dir.display()))?;
    let config = load_file(&config_path).map_err(|e| eyre!("{e}"))?;
    let result = async {
        let ctx = connect(config, launch.read_only)
            .await
            .map_err(|e| eyre!("{e}"))?;
        let clock = world.clock.clone();
        let ticker = Arc::new(WorldTicker(world.clock.clone()));
        run_console(
            ctx,
            &launch,
            Some("sandbox demo".into()),
            ticker,
            move || clock.now(),
        )
        .await
    }
    .await;
    world.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| 0)
}

async fn connect(config: Config, read_only: bool) -> Result<ReleaseContext> {
    let journal =
        Journal::open_default().map_err(|e| eyre!("cannot open the audit journal: {e}"))?;
    let mut ctx = ReleaseContext::connect(config, read_only, journal)
        .await
        .map_err(|e| eyre!("{e}"))?;
    ctx.registry = Some(Arc::new(Registries::new(ClientOptions::default())));
    Ok(ctx)
}

async fn run_console(
    ctx: ReleaseContext,
    launch: &Launch,
    context_label: Option<String>,
    ticker: Arc<dyn Ticker>,
    clock: impl Fn() -> Timestamp,
) -> Result<()> {
    let config = (*ctx.config).clone();
    let options = ConsoleOptions {
        theme: launch.theme.clone(),
        read_only: launch.read_only,
        context_label,
        ..ConsoleOptions::default()
    };
    let (events_tx, events_rx) = mpsc::channel(4096);
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let runner = Runner::new(ctx, events_tx).with_ticker(ticker);
    let watchers = runner.watch_clusters();
    let runner = tokio::spawn(runner.run(commands_rx));
    let result = crate::tui::run(config, options, events_rx, commands_tx, clock).await;
    for w in watchers {
        w.abort();
    }
    runner.abort();
    result
}

/// The sandbox world's clock for release analysis: the world may run faster than real time,
/// and its metrics run on the same clock, so queries name the instant of their check.
pub struct WorldTicker(pub Clock);

impl Ticker for WorldTicker {
    fn now(&self) -> Timestamp {
        self.0.now()
    }

    fn sleep_until(
        &self,
        t: Timestamp,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.sleep_until(t))
    }

    fn pins_query_time(&self) -> bool {
        true
    }
}
