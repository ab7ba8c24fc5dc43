//! The console's effects: executes the [`Command`]s the app loop emits (registry listings,
//! log streams, release actions, clipboard) on tasks of their own and answers with
//! [`AppEvent`]s, and forwards kube watcher events. The app loop never waits on any of it.

mod access;
pub mod analysis;
mod logs;
mod registry;
mod release;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cluster::{ClusterEvent, EnvClient, spawn_env_watchers};
use crate::metrics::runner::{Ticker, WallClock};
use crate::release::ReleaseContext;
use crate::tui::{AppEvent, Command};

/// What the runner works with: one kube client per environment and the release context
/// (built from the same clients, so the console and its actions see the same clusters).
pub struct Runner {
    clients: BTreeMap<String, EnvClient>,
    release: Arc<ReleaseContext>,
    registries: crate::registry::Registries,
    events: mpsc::Sender<AppEvent>,
    logs: Option<JoinHandle<()>>,
    plans: release::Pending,
    /// The clock analysis runs on (the sandbox's in the demo).
    ticker: Arc<dyn Ticker>,
    analysis: Option<JoinHandle<()>>,
}

impl Runner {
    pub fn new(release: ReleaseContext, events: mpsc::Sender<AppEvent>) -> Self {
        Runner {
            clients: release.clients.clone(),
            release: Arc::new(release),
            registries: crate::registry::Registries::new(crate::registry::ClientOptions::default()),
            events,
            logs: None,
            plans: release::Pending::default(),
            ticker: Arc::new(WallClock),
            analysis: None,
        }
    }

    /// Runs release analysis on `ticker` instead of the wall clock (a simulated world's).
    pub fn with_ticker(mut self, ticker: Arc<dyn Ticker>) -> Self {
        self.ticker = ticker;
        self
    }

    /// Starts the kube watchers of every environment; their events reach the app loop.
    pub fn watch_clusters(&self) -> Vec<JoinHandle<()>> {
        let (tx, mut rx) = mpsc::channel::<ClusterEvent>(1024);
        let mut handles: Vec<JoinHandle<()>> = self
            .clients
            .values()
            .flat_map(|env| spawn_env_watchers(env, tx.clone()))
            .collect();
        handles.push(access::spawn(self.release.clone(), self.events.clone()));
        let events = self.events.clone();
        handles.push(tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if events.send(AppEvent::Cluster(ev)).await.is_err() {
                    return;
                }
            }
        }));
        handles
    }

    /// Executes commands until the app loop drops its sender.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        while let Some(command) = commands.recv().await {
            self.handle(command);
        }
        for task in [self.logs.take(), self.analysis.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::FetchTags { repository } => {
                registry::fetch_tags(&self.registries, repository, self.events.clone());
            }
            Command::FetchTagDetails { repository, tag } => {
                registry::fetch_details(&self.registries, repository, tag, self.events.clone());
            }
            Command::StreamLogs {
                env,
                namespace,
                pod,
                container,
            } => {
                if let Some(old) = self.logs.take() {
                    old.abort();
                }
                match self.clients.get(&env) {
                    Some(client) => {
                        let stream = logs::Stream {
                            env,
                            namespace,
                            pod,
                            container,
                        };
                        self.logs = Some(logs::spawn(
                            client.client.clone(),
                            stream,
                            self.events.clone(),
                        ));
                    }
                    None => self.notice(format!("no cluster for environment {env}"), true),
                }
            }
            Command::StopLogs => {
                if let Some(old) = self.logs.take() {
                    old.abort();
                }
            }
            Command::WatchAnalysis {
                watch,
                service,
                env,
            } => {
                if let Some(old) = self.analysis.take() {
                    old.abort();
                }
                let watch = analysis::Watch {
                    id: watch,
                    service,
                    env,
                };
                self.analysis = Some(analysis::spawn(
                    self.release.clone(),
                    self.ticker.clone(),
                    watch,
                    self.events.clone(),
                ));
            }
            Command::StopAnalysis => {
                if let Some(old) = self.analysis.take() {
                    old.abort();
                }
            }
            Command::Release(request) => {
                release::plan(
                    self.release.clone(),
                    self.plans.clone(),
                    request,
                    self.events.clone(),
                    self.ticker.clone(),
                );
            }
            Command::Confirmed { id } => {
                release::confirmed(
                    self.release.clone(),
                    self.plans.clone(),
                    id,
                    self.events.clone(),
                    self.ticker.clone(),
                );
            }
            Command::Cancelled { id } => release::cancelled(&self.plans, id, &self.events),
            Command::Copy(text) => copy_to_clipboard(&text),
            Command::Quit => {}
        }
    }

    fn notice(&self, message: String, error: bool) {
        let _ = self.events.try_send(AppEvent::Notice { message, error });
    }
}

/// OSC 52: the terminal (and tmux with `set-clipboard on`) puts the text on the clipboard,
/// also over SSH, with no clipboard tool installed.
fn copy_to_clipboard(text: &str) {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}
