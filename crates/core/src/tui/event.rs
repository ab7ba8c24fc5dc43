//! Everything that reaches the app loop. Producers (kube watchers, registry pollers, log
//! streams, the release runner) send [`AppEvent`]s over one channel; terminal input and the
//! clock are turned into events by the loop itself.

use jiff::Timestamp;
use ratatui::crossterm::event::Event as TerminalEvent;

use crate::cluster::ClusterEvent;
use crate::cluster::access::{Access, Permission};
use crate::metrics::AnalysisEvent;
use crate::metrics::watch::History;
use crate::registry::RegistryEvent;

#[derive(Debug, Clone)]
pub enum AppEvent {
    /// A key, mouse or resize event from the terminal.
    Input(TerminalEvent),
    Cluster(ClusterEvent),
    Registry(RegistryEvent),
    /// New lines of the log stream started by `Command::StreamLogs`.
    Logs {
        env: String,
        pod: String,
        lines: Vec<String>,
    },
    /// The log stream ended (pod gone, error): shown as the last line.
    LogsEnded {
        env: String,
        pod: String,
        reason: String,
    },
    /// A write shipdeck sent, for the Actions panel (the same record goes to the audit log).
    ActionLogged(ActionRecord),
    /// Progress of a `Command::Release`; stays in the Rollout panel until `done`.
    ReleaseProgress {
        id: u64,
        message: String,
        done: bool,
        failed: bool,
    },
    /// The release runner asks the user to confirm a plan before writing.
    Confirm(ConfirmRequest),
    /// Something the user should read (a failed command, a hint), shown in the footer.
    Notice {
        message: String,
        error: bool,
    },
    /// Release analysis of the selection, answering `Command::WatchAnalysis` with the same
    /// `watch` id (answers to an older watch are dropped).
    Analysis {
        watch: u64,
        feed: AnalysisFeed,
    },
    /// What the API server says the user may do in one environment (SelfSubjectAccessReview
    /// answers for the permissions the actions need there).
    Access {
        env: String,
        context: String,
        answers: Vec<(Permission, Access)>,
    },
    /// The clock moved (ages, header clock) or a registry refresh is due.
    Tick(Timestamp),
    RefreshTags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub time: Timestamp,
    pub env: String,
    /// `PATCH`, `PUT`, `POST`, `registry copy`…
    pub method: String,
    /// `deployments/orders` in `shop`.
    pub object: String,
    pub result: Result<String, String>,
}

/// A plan to confirm, as the release layer computed it: what will change, where.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmRequest {
    pub id: u64,
    /// `Deploy orders v1.5.0 → prod`.
    pub title: String,
    pub env: String,
    pub namespace: String,
    pub changes: Vec<PlanChange>,
    /// Protected environments: the text (the service name) the user must type.
    pub type_to_confirm: Option<String>,
    /// Facts to read before confirming: the tag's digest, why something is skipped, warnings.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanChange {
    pub object: String,
    pub field: String,
    pub from: String,
    pub to: String,
}

/// What an analysis watcher reports: history first, then the analysis loop's events.
#[derive(Debug, Clone)]
pub enum AnalysisFeed {
    /// One version's recent metrics, to backfill its sparklines.
    History {
        version: String,
        series: History,
    },
    Event(AnalysisEvent),
    /// The watch could not start (no cluster, no such Deployment, no provider URL).
    Failed(String),
}
