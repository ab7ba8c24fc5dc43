//! What `update` asks of the outside world. The lead's runner executes these; the console never
//! does I/O itself, so every command can be asserted in tests.

use std::fmt;

use super::actions::Action;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// List the tags of `repository` (`registry/path`), answered by `RegistryEvent::TagsPage`s.
    /// A new listing replaces what the console had.
    FetchTags {
        repository: String,
    },
    /// Digest, creation time and labels of one tag, answered by `RegistryEvent::Details`.
    FetchTagDetails {
        repository: String,
        tag: String,
    },
    /// Follow a pod's log (replacing any other stream), answered by `AppEvent::Logs`.
    StreamLogs {
        env: String,
        namespace: String,
        pod: String,
        container: Option<String>,
    },
    StopLogs,
    /// Watch the release analysis of `service` in `env` (replacing any other watch), answered
    /// by `AppEvent::Analysis` with the same `watch` id. Observe-only: nothing is written.
    WatchAnalysis {
        watch: u64,
        service: String,
        env: String,
    },
    StopAnalysis,
    /// A write. The runner plans it, sends `AppEvent::Confirm` with the plan, and executes it
    /// only after `Command::Confirmed` with the same id.
    Release(ReleaseRequest),
    Confirmed {
        id: u64,
    },
    Cancelled {
        id: u64,
    },
    /// Put text on the clipboard (OSC 52 or a clipboard tool).
    Copy(String),
    Quit,
}

/// The seam to the release layer: which write, on what, with the user's selection.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRequest {
    pub id: u64,
    pub action: Action,
    pub service: String,
    pub env: String,
    /// The selected tag (deploy, promote).
    pub tag: Option<String>,
    /// The selected or last-known-good revision (rollback).
    pub revision: Option<i64>,
    /// The typed canary weight (`canary_set`).
    pub weight: Option<u32>,
    /// Where a promotion goes (the environment after `env`).
    pub target_env: Option<String>,
    /// The approval note a promotion needs under the policy (recorded in the audit log).
    pub approval: Option<String>,
}

impl fmt::Display for ReleaseRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.action.name().replace('_', " "),
            self.service
        )?;
        if let Some(tag) = &self.tag {
            write!(f, " {tag}")?;
        }
        if let Some(revision) = self.revision {
            write!(f, " rev {revision}")?;
        }
        if let Some(weight) = self.weight {
            write!(f, " {weight}%")?;
        }
        write!(f, " @ {}", self.env)?;
        if let Some(target) = &self.target_env {
            write!(f, " → {target}")?;
        }
        Ok(())
    }
}
