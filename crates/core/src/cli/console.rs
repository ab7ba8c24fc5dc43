//! The console entry points: `shipdeck` on the user's clusters, and `shipdeck demo` on the
//! embedded sandbox world. Both go through the same client code (kube over HTTP, OCI over
//! HTTP); the demo only starts the world first and points the console at its kubeconfig.
//! (The demo's own entry, which needs the sandbox, is `cli::demo` in the `shipdeck` package:
//! it calls [`connect`] and [`run_console`].)

use std::sync::Arc;

use color_eyre::Result;
use color_eyre::eyre::eyre;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::config::{Config, find_config_file, load_file};
use crate::metrics::runner::{Ticker, WallClock};
use crate::registry::{ClientOptions, Registries};
use crate::release::{Journal, ReleaseContext};
use crate::runner::Runner;
use crate::tui::ConsoleOptions;

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

/// The release context for a configuration: clients, audit journal and registries.
pub async fn connect(config: Config, read_only: bool) -> Result<ReleaseContext> {
    let journal =
        Journal::open_default().map_err(|e| eyre!("cannot open the audit journal: {e}"))?;
    let mut ctx = ReleaseContext::connect(config, read_only, journal)
        .await
        .map_err(|e| eyre!("{e}"))?;
    ctx.registry = Some(Arc::new(Registries::new(ClientOptions::default())));
    Ok(ctx)
}

/// The console on a connected context until the user quits; `ticker` and `clock` are the
/// wall clock, or the sandbox world's.
pub async fn run_console(
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
