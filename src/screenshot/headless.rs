//! The console without a terminal: the demo world on its stand-still clock, the same client
//! code as `shipdeck demo` (kube over HTTP from a generated kubeconfig, OCI over HTTP, the
//! runner executing commands), and `update`/`render` driven by key events. Waits are on
//! conditions (see [`super::settle`]), so what is drawn does not depend on timing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::Result;
use color_eyre::eyre::{WrapErr, bail, eyre};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::settle::{Pending, out_of_sync};
use crate::config::load_file;
use crate::registry::{ClientOptions, Registries};
use crate::release::{Journal, ReleaseContext};
use crate::runner::Runner;
use crate::sandbox::world::{World, WorldOptions};
use crate::theme::{ColorDepth, Theme};
use crate::tui::{AppEvent, Command, ConsoleOptions, Pane, State, initial_state, update};
use crate::world_ticker::WorldTicker;

/// Generous: a loaded CI machine may take seconds to list three clusters and a registry.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the settled condition is looked at again while no event arrives.
const RECHECK: Duration = Duration::from_millis(50);

pub struct Options {
    /// API servers on `port_base`..`+2`, the registry on `+3`: image references show the
    /// registry's address, so a fixed one keeps pictures identical between runs.
    pub port_base: Option<u16>,
    pub width: u16,
    pub height: u16,
}

pub struct Headless {
    pub world: World,
    pub state: State,
    events: mpsc::Receiver<AppEvent>,
    commands: mpsc::UnboundedSender<Command>,
    tasks: Vec<JoinHandle<()>>,
    pending: Pending,
    dir: PathBuf,
    size: (u16, u16),
}

impl Headless {
    /// Starts the demo world and connects a console to it; returns once the console shows
    /// everything the clusters hold and every listing it asked for arrived.
    pub async fn start(options: Options) -> Result<Headless> {
        let world = World::start(WorldOptions {
            manual_clock: true,
            port_base: options.port_base,
            ..WorldOptions::default()
        })
        .await
        .wrap_err("cannot start the sandbox world (is a port in use? try another --port-base)")?;
        let dir = std::env::temp_dir().join(format!("shipdeck-screenshots-{}", std::process::id()));
        let ctx = match connect(&world, &dir).await {
            Ok(ctx) => ctx,
            Err(e) => {
                world.shutdown().await;
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let config = (*ctx.config).clone();

        let console = ConsoleOptions {
            theme: Some("dark".into()),
            read_only: false,
            // Fixed, not detected from this terminal's environment.
            color_depth: Some(ColorDepth::TrueColor),
            ascii: Some(false),
            context_label: Some("sandbox demo".into()),
            insecure_envs: Vec::new(),
        };
        let state = initial_state(config, &console, world.clock.now())?;
        let (events_tx, events) = mpsc::channel(4096);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let runner =
            Runner::new(ctx, events_tx).with_ticker(Arc::new(WorldTicker(world.clock.clone())));
        let mut tasks = runner.watch_clusters();
        tasks.push(tokio::spawn(runner.run(commands_rx)));
        let mut headless = Headless {
            world,
            state,
            events,
            commands,
            tasks,
            pending: Pending::default(),
            dir,
            size: (options.width, options.height),
        };
        headless.input(Event::Resize(options.width, options.height));
        match headless.settle().await {
            Ok(()) => Ok(headless),
            Err(e) => {
                headless.shutdown().await;
                Err(e)
            }
        }
    }

    /// Applies `event` through `update` and sends what it asks for to the runner.
    fn apply(&mut self, event: AppEvent) {
        self.pending.received(&event);
        let commands = update(&mut self.state, event);
        self.send(commands);
    }

    fn send(&mut self, commands: Vec<Command>) {
        for command in commands {
            // The clipboard is the terminal's (OSC 52 on stdout), and there is none here.
            if matches!(command, Command::Copy(_) | Command::Quit) {
                continue;
            }
            self.pending.sent(&command);
            // A runner that stopped shows up as a settle timeout naming what is missing.
            let _ = self.commands.send(command);
        }
    }

    fn input(&mut self, event: Event) {
        self.apply(AppEvent::Input(event));
    }

    pub fn press(&mut self, code: KeyCode) {
        let modifiers = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.input(Event::Key(KeyEvent::new(code, modifiers)));
    }

    /// Types `text`, one key per character.
    pub fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Moves the focus to `pane` with Tab, as a user would.
    pub fn focus(&mut self, pane: Pane) -> Result<()> {
        for _ in 0..8 {
            if self.state.view.focus == pane {
                return Ok(());
            }
            self.press(KeyCode::Tab);
        }
        bail!("Tab never focused the {pane:?} pane")
    }

    /// Focuses environment `env` with its number key.
    pub fn focus_env(&mut self, env: &str) -> Result<()> {
        let index = self
            .state
            .ctx
            .config
            .envs
            .iter()
            .position(|e| e.name == env)
            .ok_or_else(|| eyre!("the demo has no environment {env}"))?;
        let key = char::from_digit(index as u32 + 1, 10)
            .ok_or_else(|| eyre!("environment {env} has no number key"))?;
        self.keys(&key.to_string());
        Ok(())
    }

    /// Selects `service` in the Services pane by moving down from the top.
    pub fn select_service(&mut self, service: &str) -> Result<()> {
        self.focus(Pane::Services)?;
        self.keys("g");
        for _ in 0..=self.state.derived.rows.len() {
            if self.state.view.selected_service.as_deref() == Some(service) {
                return Ok(());
            }
            self.keys("j");
        }
        bail!("the Services pane has no {service}")
    }

    /// Moves the world's clock to the next check of the selection's analysis and waits for
    /// that check's verdict (the world changes on the way: pods restart, traffic flows).
    pub async fn next_check(&mut self) -> Result<()> {
        let analysis = self.state.domain.analysis.as_ref();
        let Some(next) = analysis.and_then(|a| a.next_check) else {
            bail!("the selection has no analysis waiting for a check")
        };
        let span = next.duration_since(self.world.clock.now());
        if let Ok(by) = Duration::try_from(span) {
            self.world.advance(by);
        }
        self.apply(AppEvent::Tick(self.world.clock.now()));
        self.wait("the next analysis check", |h| {
            let a = h.state.domain.analysis.as_ref();
            match a.and_then(|a| a.next_check) {
                Some(t) if t > next => None,
                _ => Some("no verdict yet".into()),
            }
        })
        .await
    }

    /// Waits until the console is settled: every command answered, the snapshot equal to the
    /// clusters, the selection's analysis checked once (or failed).
    pub async fn settle(&mut self) -> Result<()> {
        self.wait("the console to settle", Self::unsettled).await
    }

    fn unsettled(&self) -> Option<String> {
        if !self.pending.is_empty() {
            return Some(format!("waiting for {}", self.pending.describe()));
        }
        if let Some(why) = out_of_sync(&self.world, &self.state.domain.snapshot) {
            return Some(why);
        }
        match &self.state.domain.analysis {
            Some(a) if a.error.is_none() && (a.report.is_none() || a.next_check.is_none()) => {
                Some(format!("analysis of {:?} not checked yet", a.key))
            }
            _ => None,
        }
    }

    async fn wait(&mut self, what: &str, not_yet: impl Fn(&Self) -> Option<String>) -> Result<()> {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            while let Ok(event) = self.events.try_recv() {
                self.apply(event);
            }
            let Some(why) = not_yet(self) else {
                return Ok(());
            };
            if tokio::time::Instant::now() >= deadline {
                bail!("timed out after {SETTLE_TIMEOUT:?} waiting for {what}: {why}");
            }
            match tokio::time::timeout(RECHECK, self.events.recv()).await {
                Ok(Some(event)) => self.apply(event),
                Ok(None) => bail!("the runner stopped while waiting for {what}: {why}"),
                Err(_) => {}
            }
        }
    }

    /// Switches to a built-in theme, as `--theme NAME` would have started the console.
    pub fn theme(&mut self, name: &str) -> Result<()> {
        let ctx = &self.state.ctx;
        self.state.ctx.theme = Theme::load(name, &ctx.config.theme, ColorDepth::TrueColor, false)
            .map_err(|e| eyre!("{e}"))?;
        self.state.dirty = true;
        Ok(())
    }

    /// The screen as the console draws it now.
    pub fn render(&mut self) -> Result<Buffer> {
        // Ages and the header clock read the world's time, never the wall clock.
        self.apply(AppEvent::Tick(self.world.clock.now()));
        let (width, height) = self.size;
        let mut terminal = Terminal::new(TestBackend::new(width, height))?;
        terminal.draw(|frame| crate::tui::view::render(frame, &self.state))?;
        Ok(terminal.backend().buffer().clone())
    }

    /// Stops the runner, the watchers and the world, and removes the generated files.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        drop(self.commands);
        self.world.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The release context `shipdeck demo` builds: kube clients from the world's kubeconfig, the
/// registry over HTTP.
async fn connect(world: &World, dir: &std::path::Path) -> Result<ReleaseContext> {
    let config_path = world
        .write_files(&dir.join("kubeconfig"))
        .wrap_err_with(|| format!("cannot write the world's kubeconfig into {}", dir.display()))?;
    let config = load_file(&config_path).map_err(|e| eyre!("{e}"))?;
    // Nothing is written, but the context wants a journal: a private one, not the user's.
    let journal = Journal::at(dir.join("journal.jsonl"));
    let mut ctx = ReleaseContext::connect(config, false, journal)
        .await
        .map_err(|e| eyre!("{e}"))?;
    ctx.registry = Some(Arc::new(Registries::new(ClientOptions::default())));
    Ok(ctx)
}
