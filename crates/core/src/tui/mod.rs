//! The console: the TUI heart of shipdeck.
//!
//! # Entry point
//! [`run`] takes the config, [`ConsoleOptions`], a receiver of [`AppEvent`]s (from kube
//! watchers, registry pollers, log streams and the release runner), a sender of [`Command`]s
//! (executed by the runner) and a clock. It owns the terminal until the user quits or the
//! process gets SIGTERM/SIGHUP, and restores it on every exit path, panics included.
//!
//! # Contracts
//! - In: `AppEvent::Cluster(ClusterEvent)`, `AppEvent::Registry(RegistryEvent)`,
//!   `AppEvent::Logs`/`LogsEnded` (answers to `Command::StreamLogs`), `AppEvent::ActionLogged`
//!   (each write sent), `AppEvent::ReleaseProgress` and `AppEvent::Confirm` (for a
//!   `Command::Release` with the same id), `AppEvent::Analysis` (for a `Command::WatchAnalysis`
//!   with the same watch id), `AppEvent::Notice`.
//! - Out: `Command::FetchTags`/`FetchTagDetails` (answer with `RegistryEvent`s),
//!   `StreamLogs`/`StopLogs`, `WatchAnalysis`/`StopAnalysis` (the selection's release analysis,
//!   observe-only), `Release(ReleaseRequest)` → plan → `AppEvent::Confirm{id}` →
//!   `Confirmed{id}` or `Cancelled{id}`, `Copy(text)`, `Quit`.
//!
//! # Shape
//! One owner of state ([`state::State`]: domain vs view vs derived), `update` returns commands
//! and never blocks, rendering is a pure function of `&State`, frames are drawn only when
//! something changed, at most `console.max_fps` per second.

pub mod actions;
mod app;
pub mod command;
pub mod event;
pub mod keymap;
pub mod state;
pub mod terminal;
pub mod update;
pub mod view;

use color_eyre::Result;
use color_eyre::eyre::eyre;
use jiff::Timestamp;
use tokio::sync::mpsc;

pub use actions::{Action, Pane};
pub use command::{Command, ReleaseRequest};
pub use event::{ActionRecord, AnalysisFeed, AppEvent, ConfirmRequest, PlanChange};
pub use state::State;
pub use update::update;

use crate::config::Config;
use crate::theme::{ColorDepth, Theme};
use keymap::Keymap;
use state::Context;

/// How this session looks and what it may do, from the command line.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// `--theme`: a built-in theme name or a file; default `console.theme`.
    pub theme: Option<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// Default: detected from `NO_COLOR`, `COLORTERM` and `TERM`.
    pub color_depth: Option<ColorDepth>,
    /// Force ASCII symbols; default `console.ascii`.
    pub ascii: Option<bool>,
    /// Shown in the header, e.g. the kube context when there is no config.
    pub context_label: Option<String>,
    /// Environments whose kubeconfig skips TLS verification (marked in the header).
    pub insecure_envs: Vec<String>,
}

/// The state the console starts from: config, keymap and theme resolved, nothing observed yet.
/// Errors name the config key at fault.
pub fn initial_state(config: Config, options: &ConsoleOptions, now: Timestamp) -> Result<State> {
    let keymap = Keymap::new(&config.keys).map_err(|e| eyre!("{e}"))?;
    let depth = options
        .color_depth
        .unwrap_or_else(|| ColorDepth::detect(|k| std::env::var(k).ok()));
    let theme_name = options.theme.as_deref().unwrap_or(&config.console.theme);
    let ascii = options.ascii.unwrap_or(config.console.ascii);
    let theme = Theme::load(theme_name, &config.theme, depth, ascii).map_err(|e| eyre!("{e}"))?;
    let ctx = Context {
        config,
        keymap,
        theme,
        read_only: options.read_only,
        context_label: options.context_label.clone(),
        insecure_envs: options.insecure_envs.clone(),
    };
    Ok(State::new(ctx, now))
}

/// Runs the console until the user quits. See the module docs for the event contracts.
pub async fn run(
    config: Config,
    options: ConsoleOptions,
    events: mpsc::Receiver<AppEvent>,
    commands: mpsc::UnboundedSender<Command>,
    clock: impl Fn() -> Timestamp,
) -> Result<()> {
    let mut state = initial_state(config, &options, clock())?;
    let mut guard = terminal::init().map_err(|e| {
        eyre!("cannot set up the terminal ({e}); shipdeck needs an interactive terminal (a tty)")
    })?;
    let result = app::run_loop(&mut state, &mut guard.terminal, events, commands, clock).await;
    drop(guard);
    result
}
