//! The audit journal: append-only JSON Lines, one record per line, fsync'd before the write
//! it announces is sent. Every write gets an `intent` record before and an `outcome` record
//! after (`applied`, `failed`, `unknown` when no answer came back); refusals get one
//! `outcome` record. Records hold names, fields and values shown in plans — never request
//! bodies or credentials.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::error::ReleaseError;
use super::plan::{FieldChange, Plan, Write};

/// Overrides the journal's location (tests, shared audit volumes).
pub const AUDIT_LOG_ENV: &str = "SHIPDECK_AUDIT_LOG";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Intent,
    Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Failed,
    /// Sent, but no answer: the write may or may not have happened.
    Unknown,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub ts: Timestamp,
    /// `<plan id>.<write index>`: pairs an intent with its outcome(s).
    pub id: String,
    pub phase: Phase,
    pub who: String,
    pub context: String,
    pub env: String,
    pub namespace: String,
    pub action: String,
    pub service: String,
    /// `deployments.apps/orders`; empty for a refusal before any write.
    pub target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verb: String,
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Why an automatic action acted (the plan's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Record {
    fn base(plan: &Plan, index: Option<usize>, write: Option<&Write>, phase: Phase) -> Record {
        Record {
            ts: Timestamp::now(),
            id: match index {
                Some(i) => format!("{}.{i}", plan.id),
                None => plan.id.clone(),
            },
            phase,
            who: plan.who.clone(),
            context: plan.context.clone(),
            env: plan.env.clone(),
            namespace: plan.namespace.clone(),
            action: plan.action.name().to_string(),
            service: plan.service.clone(),
            target: write.map(|w| w.target.to_string()).unwrap_or_default(),
            verb: write.map(|w| w.body.verb().to_string()).unwrap_or_default(),
            changes: write.map(|w| w.changes.clone()).unwrap_or_default(),
            result: None,
            error: None,
            approval: plan.approval.clone(),
            reason: plan.reason.clone(),
        }
    }

    pub fn intent(plan: &Plan, index: usize, write: &Write) -> Record {
        Self::base(plan, Some(index), Some(write), Phase::Intent)
    }

    pub fn outcome(
        plan: &Plan,
        index: usize,
        write: &Write,
        result: Outcome,
        error: Option<String>,
    ) -> Record {
        let mut r = Self::base(plan, Some(index), Some(write), Phase::Outcome);
        r.result = Some(result);
        r.error = error;
        r
    }

    /// The whole plan refused before any write (read-only, confirmation, policy).
    pub fn refused(plan: &Plan, reason: String) -> Record {
        let mut r = Self::base(plan, None, None, Phase::Outcome);
        r.changes = plan.writes.iter().flat_map(|w| w.changes.clone()).collect();
        r.target = plan
            .writes
            .iter()
            .map(|w| w.target.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        r.result = Some(Outcome::Refused);
        r.error = Some(reason);
        r
    }
}

/// The journal file. Appends from one process are serialized; each line is written with one
/// `write` call on an `O_APPEND` descriptor, so concurrent processes do not interleave lines.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Journal {
    pub fn at(path: impl Into<PathBuf>) -> Journal {
        Journal {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// `$SHIPDECK_AUDIT_LOG`, else `$XDG_STATE_HOME/shipdeck/audit.jsonl` (or the platform's
    /// state directory).
    pub fn default_path() -> Result<PathBuf, ReleaseError> {
        if let Some(path) = std::env::var_os(AUDIT_LOG_ENV) {
            return Ok(PathBuf::from(path));
        }
        use etcetera::BaseStrategy;
        let strategy = etcetera::choose_base_strategy().map_err(|e| ReleaseError::Journal {
            path: "$XDG_STATE_HOME/shipdeck/audit.jsonl".into(),
            message: format!("no home directory to put it in ({e}); set {AUDIT_LOG_ENV}"),
        })?;
        let dir = strategy
            .state_dir()
            .unwrap_or_else(|| strategy.data_dir())
            .join("shipdeck");
        Ok(dir.join("audit.jsonl"))
    }

    pub fn open_default() -> Result<Journal, ReleaseError> {
        Ok(Journal::at(Self::default_path()?))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and syncs it to disk before returning.
    pub fn append(&self, record: &Record) -> Result<(), ReleaseError> {
        let err = |message: String| ReleaseError::Journal {
            path: self.path.display().to_string(),
            message,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| err(e.to_string()))?;
        line.push(b'\n');
        let _guard = self.lock.lock();
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create directory: {e}")))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| err(format!("cannot open: {e}")))?;
        file.write_all(&line)
            .map_err(|e| err(format!("cannot write: {e}")))?;
        file.sync_data()
            .map_err(|e| err(format!("cannot sync: {e}")))?;
        Ok(())
    }

    /// Every record, oldest first (for the Actions panel and tests).
    pub fn read(&self) -> Result<Vec<Record>, ReleaseError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(ReleaseError::Journal {
                    path: self.path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| ReleaseError::Journal {
                    path: self.path.display().to_string(),
                    message: format!("line {}: {e}", i + 1),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::plan::{Action, ObjectRef, WriteBody};

    fn plan() -> Plan {
        Plan {
            id: "p1".into(),
            action: Action::CanarySet { percent: 25 },
            service: "orders".into(),
            env: "prod".into(),
            namespace: "shop".into(),
            context: "sandbox-prod".into(),
            protected: true,
            who: "alice".into(),
            summary: "s".into(),
            writes: vec![Write {
                target: ObjectRef::deployment("shop", "orders"),
                resource_version: Some("3".into()),
                changes: vec![FieldChange::new(
                    "spec.replicas",
                    Some("1".into()),
                    Some("2".into()),
                )],
                body: WriteBody::MergePatch {
                    patch: serde_json::json!({"secret": "never journaled"}),
                },
            }],
            notes: vec![],
            follow: vec![],
            approval: Some("CAB-42".into()),
            reason: Some("automatic rollback: error rate 18.4% > 1% for 2 checks".into()),
        }
    }

    #[test]
    fn appends_one_json_line_per_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = Journal::at(dir.path().join("nested").join("audit.jsonl"));
        let p = plan();
        journal
            .append(&Record::intent(&p, 0, &p.writes[0]))
            .expect("intent");
        journal
            .append(&Record::outcome(
                &p,
                0,
                &p.writes[0],
                Outcome::Applied,
                None,
            ))
            .expect("outcome");
        let text = std::fs::read_to_string(journal.path()).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert!(
            !text.contains("never journaled"),
            "bodies stay out of the journal"
        );
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("line")).expect("json");
        assert_eq!(first["phase"], "intent");
        assert_eq!(first["id"], "p1.0");
        assert_eq!(first["who"], "alice");
        assert_eq!(first["target"], "deployments.apps/orders");
        assert_eq!(first["action"], "canary-set");
        assert_eq!(first["approval"], "CAB-42");
        assert_eq!(
            first["reason"],
            "automatic rollback: error rate 18.4% > 1% for 2 checks"
        );
        assert!(first.get("result").is_none());
        let records = journal.read().expect("records");
        assert_eq!(records[1].result, Some(Outcome::Applied));
    }

    #[test]
    fn refusal_lists_what_would_have_changed() {
        let r = Record::refused(&plan(), "read-only".into());
        assert_eq!(r.result, Some(Outcome::Refused));
        assert_eq!(r.target, "deployments.apps/orders");
        assert_eq!(r.changes.len(), 1);
    }
}
