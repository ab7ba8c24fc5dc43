//! One flow for every headless action: plan, print the plan, confirm (flags or a terminal),
//! execute, ask again when the cluster changed, follow the rollout. Exit codes are the
//! contract scripts rely on (see [`EXIT_CODES`]).

use std::io::{BufRead, IsTerminal, Write as _};
use std::time::Duration;

use serde_json::json;

use crate::release::audit::Record;
use crate::release::confirm::{self, Confirmation, Decision};
use crate::release::{Outcome, Plan, Progress, ReleaseContext, ReleaseError};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_REFUSED: i32 = 3;
pub const EXIT_UNKNOWN: i32 = 4;
pub const EXIT_CHANGED: i32 = 5;
pub const EXIT_ROLLED_BACK: i32 = 6;
pub const EXIT_PAUSED: i32 = 7;

/// Shown by `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (also: nothing to change, or a --dry-run printed its plan)
  1  failed: API error, forbidden, unreachable cluster, rollout failed (--wait)
  2  usage error
  3  refused: read-only, not confirmed, not allowed (RBAC), policy (approval), or impossible now
     (paused, no history)
  4  outcome unknown: a write got no answer; see the audit journal before acting again
  5  the cluster changed since the plan was made and there was no terminal to ask again
  6  release analysis failed (deploy --wait): the canary was aborted or the rollout rolled back
  7  release analysis was inconclusive (no traffic, metrics unavailable): paused where it was";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

/// How an action should be confirmed and followed.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    pub yes: bool,
    pub confirm: Option<String>,
    pub dry_run: bool,
    pub wait: bool,
    pub timeout: Option<Duration>,
    pub output: Output,
}

pub fn exit_code(err: &ReleaseError) -> i32 {
    match err {
        ReleaseError::Unknown(_) => EXIT_UNKNOWN,
        e if e.is_refusal() => EXIT_REFUSED,
        _ => EXIT_FAILED,
    }
}

/// Progress as lines on stderr (stdout carries the plan and the result).
pub fn print_progress(p: Progress) {
    eprintln!("{p}");
}

fn ask(confirmation: &Confirmation, env: &str) -> bool {
    let prompt = match confirmation {
        Confirmation::TypeName(name) => {
            format!("{env} is protected. Type the service name ({name}) to apply: ")
        }
        _ => "Apply this plan? [y/N] ".to_string(),
    };
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    confirm::accepts(confirmation, &answer)
}

fn emit(flow: &Flow, plan: &Plan, result: &str, error: Option<&str>) {
    if flow.output == Output::Json {
        let mut doc = json!({"plan": plan, "result": result});
        if let Some(e) = error {
            doc["error"] = json!(e);
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if let Some(e) = error {
        eprintln!("shipdeck: {e}");
    } else {
        println!("{result}");
    }
}

fn fail(flow: &Flow, plan: &Plan, err: &ReleaseError) -> i32 {
    let result = match exit_code(err) {
        EXIT_UNKNOWN => "unknown",
        EXIT_REFUSED => "refused",
        _ => "failed",
    };
    emit(flow, plan, result, Some(&err.to_string()));
    exit_code(err)
}

/// Confirms, executes and follows `plan`. Returns the exit code.
pub async fn drive(ctx: &ReleaseContext, plan: Plan, flow: &Flow) -> i32 {
    let applied = match apply(ctx, plan, flow).await {
        Ok(applied) => applied,
        Err(code) => return code,
    };
    if flow.wait
        && !applied.follow.is_empty()
        && let Err(e) =
            crate::release::follow(&applied, ctx, flow.timeout, &mut print_progress).await
    {
        return fail(flow, &applied, &e);
    }
    emit(flow, &applied, "applied", None);
    EXIT_OK
}

/// Confirms and executes `plan`, asking again when the cluster changed. Returns the applied
/// plan, or the exit code once the outcome has been reported (refused, nothing to do,
/// dry run, failed).
pub async fn apply(ctx: &ReleaseContext, plan: Plan, flow: &Flow) -> Result<Plan, i32> {
    let tty = std::io::stdin().is_terminal();
    if flow.output == Output::Text {
        print!("{plan}");
    }
    let env = ctx.env(&plan.env).map(|e| e.read_only).unwrap_or(false);
    // What RBAC would refuse is said before any question (the write's own 403 stays final).
    let denied = match ctx.client(&plan.env) {
        Ok(client) if !(ctx.read_only || env || plan.is_noop()) => {
            crate::release::permissions::denied(&plan, client).await
        }
        _ => None,
    };
    if flow.dry_run {
        if let Some(reason) = &denied {
            eprintln!("shipdeck: warning: this plan would be refused: {reason}");
        }
        emit(flow, &plan, "dry-run: nothing was sent", None);
        return Err(EXIT_OK);
    }
    if plan.is_noop() {
        emit(flow, &plan, "nothing to change", None);
        return Err(EXIT_OK);
    }
    if let Some(reason) = denied {
        let _ = ctx.journal.append(&Record::refused(&plan, reason.clone()));
        emit(flow, &plan, "refused", Some(&reason));
        return Err(EXIT_REFUSED);
    }
    // Read-only is refused by the executor (journaled) before any question is asked.
    if !(ctx.read_only || env) {
        let needed = confirm::required(&plan);
        let confirmed =
            match confirm::cli_decision(&needed, &plan.env, flow.yes, flow.confirm.as_deref(), tty)
            {
                Decision::Proceed => true,
                Decision::Ask(c) => ask(&c, &plan.env),
                Decision::Refuse(reason) => {
                    let _ = ctx.journal.append(&Record::refused(&plan, reason.clone()));
                    emit(flow, &plan, "refused", Some(&reason));
                    return Err(EXIT_REFUSED);
                }
            };
        if !confirmed {
            let reason = "refused: not confirmed; nothing was sent".to_string();
            let _ = ctx.journal.append(&Record::refused(&plan, reason.clone()));
            emit(flow, &plan, "refused", Some(&reason));
            return Err(EXIT_REFUSED);
        }
    }
    match crate::release::execute(&plan, ctx, &mut print_progress).await {
        Ok(Outcome::Applied { plan: applied }) => Ok(applied),
        Ok(Outcome::Skipped { plan }) => {
            emit(flow, &plan, "nothing to change", None);
            Err(EXIT_OK)
        }
        Ok(Outcome::Replanned {
            plan: fresh,
            applied,
        }) => {
            eprintln!(
                "shipdeck: the cluster changed since the plan was made ({applied} write(s) \
                 applied before that); this is the new plan:"
            );
            if !tty {
                if flow.output == Output::Text {
                    print!("{fresh}");
                }
                emit(
                    flow,
                    &fresh,
                    "changed",
                    Some(
                        "the plan changed and there is no terminal to ask again; review it and run the command again",
                    ),
                );
                Err(EXIT_CHANGED)
            } else {
                // Ask again, on the terminal, about the new plan.
                let again = Flow {
                    yes: false,
                    confirm: None,
                    ..flow.clone()
                };
                Box::pin(apply(ctx, fresh, &again)).await
            }
        }
        Err(e) => Err(fail(flow, &plan, &e)),
    }
}
