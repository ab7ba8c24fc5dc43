//! The one executor: applies a plan's writes in order, each with the resourceVersion it was
//! planned against, journaling an intent before and an outcome after every write.
//!
//! - Read-only (the `--read-only` flag or the environment's `read_only`) refuses before
//!   anything is sent.
//! - 409 Conflict: re-observe and re-plan with the same planner. A different plan is handed
//!   back (`Outcome::Replanned`) for the caller to show and ask again; the same plan is
//!   retried with the fresh resourceVersions — a few times, since a Deployment mid-rollout
//!   gets a new resourceVersion with every status update its controller writes.
//! - 403: an error naming verb, resource, namespace and context.
//! - No answer (timeout, connection lost): journaled `unknown` and never blindly re-sent. A
//!   re-read decides: the target state already there is journaled `applied`; otherwise the
//!   error says the outcome is unknown.

use std::time::Duration;

use futures::future::BoxFuture;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde::Serialize;

use crate::cluster::EnvClient;

use super::audit::{Journal, Outcome as Journaled, Record};
use super::error::{Failure, ReleaseError};
use super::observe::api_error;
use super::plan::{Plan, Write, WriteBody};
use super::registry::RegistryOps;

/// Conflicts tolerated when every re-plan is the same decision (only versions moved).
const MAX_SAME_PLAN_RETRIES: usize = 4;
/// Attempts at a re-read, each bounded by the write timeout: a pooled connection the network
/// silently dropped would otherwise hang the action forever.
const REREAD_ATTEMPTS: u32 = 3;

/// Field manager shipdeck's writes are recorded under.
pub const FIELD_MANAGER: &str = "shipdeck";

/// Live progress for the rollout panel and the CLI's stderr.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Progress {
    Sending {
        index: usize,
        total: usize,
        target: String,
        verb: String,
    },
    Applied {
        index: usize,
        target: String,
    },
    /// 409: the object changed since the plan was made.
    Conflict {
        target: String,
    },
    /// The re-plan after a conflict is the same decision; retrying with fresh versions.
    Retrying {
        target: String,
    },
    /// Sent, no answer; re-reading to find out.
    NoAnswer {
        target: String,
        message: String,
    },
    /// A re-read after no answer shows the write took effect.
    Verified {
        target: String,
    },
    /// A rollout being followed (kubectl `rollout status` wording).
    Rollout {
        deployment: String,
        message: String,
        done: bool,
    },
    /// Output of a build.
    Log {
        line: String,
    },
}

/// One line per step, as the CLI prints it and the console's rollout panel shows it.
impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Sending {
                index,
                total,
                target,
                verb,
            } => write!(f, "→ {verb} {target} ({}/{total})", index + 1),
            Progress::Applied { target, .. } => write!(f, "✓ applied {target}"),
            Progress::Conflict { target } => {
                write!(f, "! {target} changed since the plan (409): re-reading")
            }
            Progress::Retrying { target } => {
                write!(f, "… the new plan is the same: retrying {target}")
            }
            Progress::NoAnswer { target, message } => {
                write!(f, "? no answer for {target} ({message}): re-reading")
            }
            Progress::Verified { target } => write!(f, "✓ re-read shows {target} applied"),
            Progress::Rollout { message, .. } => write!(f, "{message}"),
            Progress::Log { line } => write!(f, "{line}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every write was applied.
    Applied { plan: Plan },
    /// The plan had nothing to write.
    Skipped { plan: Plan },
    /// The cluster changed and the re-plan differs: show `plan` and ask again. `applied`
    /// writes of the original plan went through before the conflict.
    Replanned { plan: Plan, applied: usize },
}

/// Re-observes and re-plans with the planner that made `plan`.
pub trait Replanner: Send + Sync {
    fn replan<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<Plan, ReleaseError>>;
}

/// What the executor needs to reach one environment.
pub struct ExecEnv<'a> {
    pub client: &'a EnvClient,
    pub journal: &'a Journal,
    /// The global `--read-only` flag.
    pub read_only: bool,
    /// How long a write may go unanswered before its outcome is `unknown`.
    pub write_timeout: Duration,
    pub replanner: &'a dyn Replanner,
    pub registry: Option<&'a dyn RegistryOps>,
}

enum Conflict {
    Changed(Option<String>),
    Failed(String),
}

impl From<String> for Conflict {
    fn from(e: String) -> Self {
        Conflict::Failed(e)
    }
}

enum SendError {
    Api(ReleaseError, u16),
    NoAnswer(String),
}

async fn send(
    x: &ExecEnv<'_>,
    w: &Write,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), SendError> {
    let verb = w.body.verb();
    let api: Api<DynamicObject> = Api::namespaced_with(
        x.client.client.clone(),
        &w.target.namespace,
        &w.target.api_resource(),
    );
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    let post = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let kube_result = match &w.body {
        WriteBody::JsonPatch { patch } => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                SendError::Api(
                    ReleaseError::Other(format!("invalid JSON patch in plan: {e}")),
                    0,
                )
            })?;
            tokio::time::timeout(
                x.write_timeout,
                api.patch(&w.target.name, &params, &Patch::Json::<()>(ops)),
            )
            .await
            .map(|r| r.map(drop))
        }
        WriteBody::MergePatch { patch } => tokio::time::timeout(
            x.write_timeout,
            api.patch(&w.target.name, &params, &Patch::Merge(patch)),
        )
        .await
        .map(|r| r.map(drop)),
        WriteBody::Replace { object } | WriteBody::Create { object } => {
            let obj: DynamicObject = serde_json::from_value(object.clone()).map_err(|e| {
                SendError::Api(
                    ReleaseError::Other(format!("invalid object in plan: {e}")),
                    0,
                )
            })?;
            let call = async {
                if matches!(w.body, WriteBody::Create { .. }) {
                    api.create(&post, &obj).await.map(drop)
                } else {
                    api.replace(&w.target.name, &post, &obj).await.map(drop)
                }
            };
            tokio::time::timeout(x.write_timeout, call).await
        }
        WriteBody::RegistryCopy {
            source,
            target,
            digest,
            protected,
        } => {
            let registry = x.registry.ok_or_else(|| {
                SendError::Api(
                    ReleaseError::Other("no registry client configured for promotion".into()),
                    0,
                )
            })?;
            let call = async {
                // The registry's resourceVersion: the digest the target tag had when planned.
                let now = registry.digest(target).await?;
                if now != w.resource_version {
                    return Err(Conflict::Changed(now));
                }
                registry
                    .copy(source, target, digest, *protected)
                    .await
                    .map_err(Conflict::Failed)
            };
            return match tokio::time::timeout(x.write_timeout, call).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(Conflict::Changed(now))) => Err(SendError::Api(
                    ReleaseError::Other(format!(
                        "{target} changed since the plan (now {})",
                        now.as_deref().unwrap_or("absent")
                    )),
                    409,
                )),
                Ok(Err(Conflict::Failed(e))) => Err(SendError::Api(
                    ReleaseError::Other(format!("promote {source} → {target}: {e}")),
                    0,
                )),
                Err(_) => Err(SendError::NoAnswer(format!(
                    "registry gave no answer within {:?}",
                    x.write_timeout
                ))),
            };
        }
        WriteBody::Run {
            program,
            args,
            workdir,
        } => {
            return super::build::run_command(program, args, workdir.as_deref(), progress)
                .await
                .map_err(|e| SendError::Api(ReleaseError::Other(e), 0));
        }
    };
    match kube_result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(kube::Error::Api(status))) => {
            // A creation's 409 is "already exists": no re-plan can change that.
            let code = match (&w.body, status.code) {
                (WriteBody::Create { .. }, 409) => 0,
                (_, code) => code,
            };
            Err(SendError::Api(
                api_error(x.client, verb, &w.target, kube::Error::Api(status)),
                code,
            ))
        }
        Ok(Err(other)) => Err(SendError::NoAnswer(other.to_string())),
        Err(_) => Err(SendError::NoAnswer(format!(
            "no answer within {:?}",
            x.write_timeout
        ))),
    }
}

/// Re-plans `plan`, giving up (as an error) after `REREAD_ATTEMPTS` unanswered attempts.
async fn reread(x: &ExecEnv<'_>, plan: &Plan) -> Result<Plan, ReleaseError> {
    for _ in 0..REREAD_ATTEMPTS {
        if let Ok(result) = tokio::time::timeout(x.write_timeout, x.replanner.replan(plan)).await {
            return result;
        }
    }
    Err(ReleaseError::Other(format!(
        "re-reading {} in {} got no answer ({REREAD_ATTEMPTS} tries of {:?})",
        plan.service, plan.env, x.write_timeout
    )))
}

/// Whether `fresh` (a re-plan) no longer needs `write`: every field it set already has the
/// planned value.
fn already_applied(write: &Write, fresh: &Plan) -> bool {
    !fresh.writes.iter().any(|f| {
        f.target == write.target
            && f.changes.iter().any(|c| {
                write
                    .changes
                    .iter()
                    .any(|w| w.field == c.field && w.to == c.to)
            })
    })
}

/// Applies `plan`. See the module documentation for conflicts, refusals and lost answers.
pub async fn execute(
    plan: &Plan,
    x: &ExecEnv<'_>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ReleaseError> {
    let env = &x.client.env;
    if x.read_only || env.read_only {
        let why = if x.read_only {
            "--read-only"
        } else {
            "read_only in shipdeck.toml"
        };
        let err = ReleaseError::ReadOnly {
            env: env.name.clone(),
            why: why.into(),
        };
        x.journal.append(&Record::refused(plan, err.to_string()))?;
        return Err(err);
    }
    if plan.writes.is_empty() {
        return Ok(Outcome::Skipped { plan: plan.clone() });
    }
    // The writes still to send; replaced by fresh ones when a conflict re-plans identically.
    let mut pending: Vec<Write> = plan.writes.clone();
    let mut retries = 0;
    let mut index = 0;
    while index < pending.len() {
        let write = pending[index].clone();
        let target = write.target.to_string();
        x.journal.append(&Record::intent(plan, index, &write))?;
        progress(Progress::Sending {
            index,
            total: pending.len(),
            target: target.clone(),
            verb: write.body.verb().into(),
        });
        match send(x, &write, progress).await {
            Ok(()) => {
                x.journal.append(&Record::outcome(
                    plan,
                    index,
                    &write,
                    Journaled::Applied,
                    None,
                ))?;
                progress(Progress::Applied { index, target });
                index += 1;
            }
            Err(SendError::Api(err, 409)) => {
                x.journal.append(&Record::outcome(
                    plan,
                    index,
                    &write,
                    Journaled::Failed,
                    Some(err.to_string()),
                ))?;
                progress(Progress::Conflict {
                    target: target.clone(),
                });
                let fresh = reread(x, plan).await?;
                if !plan.same_remaining(index, &fresh) {
                    return Ok(Outcome::Replanned {
                        plan: fresh,
                        applied: index,
                    });
                }
                if retries == MAX_SAME_PLAN_RETRIES {
                    return Err(ReleaseError::Other(format!(
                        "{target} kept changing while shipdeck wrote it ({} conflicts in a \
                         row, the plan unchanged each time); try again",
                        retries + 1
                    )));
                }
                retries += 1;
                progress(Progress::Retrying { target });
                // Let a controller's burst of status writes pass before the next attempt.
                tokio::time::sleep(Duration::from_millis(20 * retries as u64)).await;
                pending.truncate(index);
                pending.extend(fresh.writes);
            }
            Err(SendError::Api(err, _)) => {
                x.journal.append(&Record::outcome(
                    plan,
                    index,
                    &write,
                    Journaled::Failed,
                    Some(err.to_string()),
                ))?;
                return Err(err);
            }
            Err(SendError::NoAnswer(message)) => {
                x.journal.append(&Record::outcome(
                    plan,
                    index,
                    &write,
                    Journaled::Unknown,
                    Some(message.clone()),
                ))?;
                progress(Progress::NoAnswer {
                    target: target.clone(),
                    message: message.clone(),
                });
                let unknown = || {
                    ReleaseError::Unknown(Box::new(Failure {
                        verb: write.body.verb().into(),
                        resource: write.target.resource(),
                        name: write.target.name.clone(),
                        namespace: write.target.namespace.clone(),
                        context: x.client.context.clone(),
                        code: 0,
                        message: message.clone(),
                    }))
                };
                // Only a re-read may turn "unknown" into "applied"; nothing is re-sent.
                let fresh = match reread(x, plan).await {
                    Ok(fresh) if already_applied(&write, &fresh) => fresh,
                    _ => return Err(unknown()),
                };
                x.journal.append(&Record::outcome(
                    plan,
                    index,
                    &write,
                    Journaled::Applied,
                    Some("confirmed by a re-read after no answer".into()),
                ))?;
                progress(Progress::Verified { target });
                if !plan.same_remaining(index + 1, &fresh) {
                    return Ok(Outcome::Replanned {
                        plan: fresh,
                        applied: index + 1,
                    });
                }
                pending.truncate(index + 1);
                pending.extend(fresh.writes);
                index += 1;
            }
        }
    }
    Ok(Outcome::Applied { plan: plan.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::plan::{Action, FieldChange, ObjectRef};

    fn write(field: &str, to: &str) -> Write {
        Write {
            target: ObjectRef::deployment("shop", "orders"),
            resource_version: Some("1".into()),
            changes: vec![FieldChange::new(field, Some("old".into()), Some(to.into()))],
            body: WriteBody::MergePatch {
                patch: serde_json::json!({}),
            },
        }
    }

    fn plan(writes: Vec<Write>) -> Plan {
        Plan {
            id: "p".into(),
            action: Action::CanaryAbort,
            service: "orders".into(),
            env: "prod".into(),
            namespace: "shop".into(),
            context: "c".into(),
            protected: false,
            who: "alice".into(),
            summary: "s".into(),
            writes,
            notes: vec![],
            follow: vec![],
            approval: None,
            reason: None,
        }
    }

    #[test]
    fn a_write_is_applied_when_the_replan_no_longer_needs_it() {
        let w = write("spec.replicas", "0");
        assert!(already_applied(&w, &plan(vec![])));
        assert!(!already_applied(
            &w,
            &plan(vec![write("spec.replicas", "0")])
        ));
        // Another field still pending on the same object does not make this one pending.
        assert!(already_applied(
            &w,
            &plan(vec![write("spec.paused", "true")])
        ));
    }
}
