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
    /// `--kubeconfig`, `--context`, `-n`.
    pub kube: KubeArgs,
}

/// kubectl's flags, as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct KubeArgs {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

impl KubeArgs {
    pub fn is_empty(&self) -> bool {
        self.kubeconfig.is_none() && self.context.is_none() && self.namespace.is_none()
    }
}

/// The configuration for a command: `--config` (or `$SHIPDECK_CONFIG`), else the file found
/// in the usual places, else none; with the kubectl-style flags applied.
pub fn load_config(path: Option<std::path::PathBuf>, kube: &KubeArgs) -> Result<Config, String> {
    let mut config = match path.or_else(find_config_file) {
        Some(path) => load_file(&path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    config.apply_kube_flags(
        kube.kubeconfig.clone(),
        kube.context.clone(),
        kube.namespace.clone(),
    )?;
    Ok(config)
}

/// `shipdeck`: the console on the kubeconfig's clusters (or the config's environments).
pub async fn console(launch: Launch) -> Result<i32> {
    let config = load_config(launch.config.clone(), &launch.kube).map_err(|e| eyre!("{e}"))?;
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
    prepare(&mut ctx).await;
    ctx.registry = Some(Arc::new(Registries::new(ClientOptions::default())));
    Ok(ctx)
}

/// What every command does once connected, reading the clusters at the same time: who the
/// user is (see `ReleaseContext::identify`) and, without `[[service]]`, the services (see
/// [`discover_services`]); and a warning for each cluster whose TLS is not verified.
pub async fn prepare(ctx: &mut ReleaseContext) {
    warn_insecure(ctx);
    let discover = ctx.config.services.is_empty();
    let (identities, discovery) = tokio::join!(ctx.ask_identities(), async {
        if discover {
            Some(crate::discovery::discover(ctx.clients.values()).await)
        } else {
            None
        }
    });
    ctx.apply_identities(identities);
    if let Some(discovery) = discovery {
        apply_discovery(ctx, &discovery);
    }
}

/// Without `[[service]]` in the config, the services are inferred from the clusters once, so
/// every surface groups them as a hand-written file would (see `discovery`).
pub async fn discover_services(ctx: &mut ReleaseContext) -> Option<crate::discovery::Discovery> {
    if !ctx.config.services.is_empty() {
        return None;
    }
    let discovery = crate::discovery::discover(ctx.clients.values()).await;
    apply_discovery(ctx, &discovery);
    Some(discovery)
}

fn apply_discovery(ctx: &mut ReleaseContext, discovery: &crate::discovery::Discovery) {
    for problem in &discovery.errors {
        tracing::warn!("discovery: {problem}");
    }
    let mut config = (*ctx.config).clone();
    config.services = discovery
        .services
        .iter()
        .map(|f| f.config.clone())
        .collect();
    config.services_inferred = !config.services.is_empty();
    ctx.config = Arc::new(config);
}

/// A cluster reached without checking its certificate is said on stderr, where it stays
/// after the console closes (the header marks it too).
pub fn warn_insecure(ctx: &ReleaseContext) {
    for client in ctx.clients.values().filter(|c| c.insecure) {
        eprintln!(
            "shipdeck: warning: context {} skips TLS verification (insecure-skip-tls-verify): anyone \
             on the network path can read its credentials and change what shipdeck sends; set \
             certificate-authority instead",
            client.context
        );
    }
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
        insecure_envs: ctx
            .clients
            .values()
            .filter(|c| c.insecure)
            .map(|c| c.env.name.clone())
            .collect(),
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
