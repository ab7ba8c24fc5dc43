//! Release actions from the console: plan with the release layer, ask the user through the
//! confirmation dialog, execute with the one executor, follow the rollout, and report every
//! step to the rollout panel and every write to the actions log.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

// The actions log shows times on the console's clock (the sandbox world's in the demo).
use crate::metrics::runner::Ticker;
use crate::release::{
    self, Action, Confirmation, Outcome, Plan, Progress, ReleaseContext, RollbackTarget,
};
use crate::tui::actions::Action as Key;
use crate::tui::{ActionRecord, AppEvent, ConfirmRequest, PlanChange, ReleaseRequest};

/// Plans waiting for the user's answer, by console request id.
#[derive(Clone, Default)]
pub struct Pending(Arc<Mutex<HashMap<u64, Plan>>>);

/// The release layer's request for a console request.
pub fn to_release(req: &ReleaseRequest) -> Result<release::ReleaseRequest, String> {
    let missing = |what: &str| format!("{}: select {what} first", req.action);
    let (env, action) = match req.action {
        Key::Deploy => {
            let tag = req.tag.clone().ok_or_else(|| missing("a tag"))?;
            (req.env.clone(), Action::Deploy { tag, digest: None })
        }
        Key::Rollback => {
            let to = req
                .revision
                .map_or(RollbackTarget::Previous, RollbackTarget::Revision);
            (req.env.clone(), Action::Rollback { to })
        }
        Key::RollbackLastKnownGood => (
            req.env.clone(),
            Action::Rollback {
                to: RollbackTarget::LastGood,
            },
        ),
        Key::CanaryStepUp => (req.env.clone(), Action::CanaryStep { back: false }),
        Key::CanaryStepDown => (req.env.clone(), Action::CanaryStep { back: true }),
        Key::CanarySet => {
            let percent = req.weight.ok_or_else(|| missing("a weight"))?;
            (req.env.clone(), Action::CanarySet { percent })
        }
        Key::CanaryPromote => (req.env.clone(), Action::CanaryPromote),
        Key::CanaryAbort => (req.env.clone(), Action::CanaryAbort),
        Key::Swap => (req.env.clone(), Action::Swap),
        Key::Promote => {
            let tag = req.tag.clone().ok_or_else(|| missing("a tag"))?;
            let target = req.target_env.clone().ok_or_else(|| {
                format!("{}: there is no environment after {}", req.action, req.env)
            })?;
            (
                target,
                Action::Promote {
                    tag,
                    from: req.env.clone(),
                    approval: req.approval.clone(),
                },
            )
        }
        Key::Build => (req.env.clone(), Action::Build { commit: None }),
        other => return Err(format!("{other} is not a release action")),
    };
    Ok(release::ReleaseRequest {
        service: req.service.clone(),
        env,
        action,
    })
}

fn progress(events: &mpsc::Sender<AppEvent>, id: u64, message: String, done: bool, failed: bool) {
    let _ = events.try_send(AppEvent::ReleaseProgress {
        id,
        message,
        done,
        failed,
    });
}

/// What the dialog shows for `plan`.
pub fn confirm_request(id: u64, plan: &Plan, title_prefix: &str) -> ConfirmRequest {
    let changes = plan
        .writes
        .iter()
        .flat_map(|w| {
            w.changes.iter().map(move |c| PlanChange {
                object: w.target.to_string(),
                field: c.field.clone(),
                from: c.from.clone().unwrap_or_else(|| "(none)".into()),
                to: c.to.clone().unwrap_or_else(|| "(none)".into()),
            })
        })
        .collect();
    ConfirmRequest {
        id,
        title: format!("{title_prefix}{}", plan.summary),
        env: plan.env.clone(),
        namespace: plan.namespace.clone(),
        changes,
        type_to_confirm: match release::confirm::required(plan) {
            Confirmation::TypeName(name) => Some(name),
            _ => None,
        },
        notes: plan.notes.clone(),
    }
}

pub fn plan(
    ctx: Arc<ReleaseContext>,
    pending: Pending,
    req: ReleaseRequest,
    events: mpsc::Sender<AppEvent>,
    clock: Arc<dyn Ticker>,
) {
    tokio::spawn(async move {
        let id = req.id;
        let request = match to_release(&req) {
            Ok(r) => r,
            Err(e) => return progress(&events, id, e, true, true),
        };
        match release::plan_request(&request, &ctx).await {
            Err(e) => progress(&events, id, e.to_string(), true, true),
            Ok(plan) if plan.is_noop() => {
                let why = plan
                    .notes
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "nothing to change".into());
                progress(&events, id, format!("{}: {why}", plan.summary), true, false);
            }
            Ok(plan) if release::confirm::required(&plan) == Confirmation::None => {
                run(ctx, plan, id, events, clock).await;
            }
            Ok(plan) => {
                let ask = confirm_request(id, &plan, "");
                pending.0.lock().insert(id, plan);
                let _ = events.send(AppEvent::Confirm(ask)).await;
            }
        }
    });
}

pub fn cancelled(pending: &Pending, id: u64, events: &mpsc::Sender<AppEvent>) {
    if pending.0.lock().remove(&id).is_some() {
        progress(
            events,
            id,
            "cancelled: nothing was written".into(),
            true,
            false,
        );
    }
}

pub fn confirmed(
    ctx: Arc<ReleaseContext>,
    pending: Pending,
    id: u64,
    events: mpsc::Sender<AppEvent>,
    clock: Arc<dyn Ticker>,
) {
    let Some(plan) = pending.0.lock().remove(&id) else {
        return;
    };
    let pending = pending.clone();
    tokio::spawn(async move {
        if let Some(replanned) = run(ctx, plan, id, events.clone(), clock).await {
            let ask = confirm_request(id, &replanned, "Changed since planned: ");
            pending.0.lock().insert(id, replanned);
            let _ = events.send(AppEvent::Confirm(ask)).await;
        }
    });
}

/// Executes and follows `plan`; returns a re-plan the user must confirm again, if any.
async fn run(
    ctx: Arc<ReleaseContext>,
    plan: Plan,
    id: u64,
    events: mpsc::Sender<AppEvent>,
    clock: Arc<dyn Ticker>,
) -> Option<Plan> {
    let env = plan.env.clone();
    let mut last_verb = String::new();
    let mut report = |p: Progress| {
        match &p {
            Progress::Sending { verb, .. } => last_verb = verb.to_uppercase(),
            Progress::Applied { target, .. } | Progress::Verified { target } => {
                let _ = events.try_send(AppEvent::ActionLogged(ActionRecord {
                    time: clock.now(),
                    env: env.clone(),
                    method: last_verb.clone(),
                    object: target.clone(),
                    result: Ok("applied".into()),
                }));
            }
            _ => {}
        }
        progress(&events, id, p.to_string(), false, false);
    };
    match release::execute(&plan, &ctx, &mut report).await {
        Ok(Outcome::Replanned { plan: next, .. }) => {
            progress(
                &events,
                id,
                "the cluster changed since the plan: confirm the new plan".into(),
                false,
                false,
            );
            return Some(next);
        }
        Ok(Outcome::Skipped { plan }) => {
            progress(
                &events,
                id,
                format!("{}: nothing to change", plan.summary),
                true,
                false,
            );
            return None;
        }
        Ok(Outcome::Applied { .. }) => {}
        Err(e) => {
            let _ = events.try_send(AppEvent::ActionLogged(ActionRecord {
                time: clock.now(),
                env: plan.env.clone(),
                method: last_verb.clone(),
                object: plan.summary.clone(),
                result: Err(e.to_string()),
            }));
            progress(&events, id, e.to_string(), true, true);
            return None;
        }
    }
    if let Some(job) = build_job(&plan) {
        // A build is done when its Job is, not when the Job object exists: follow it (its
        // pod's log is the progress), then list tags again so the new image shows at once.
        let result = match ctx.client(&plan.env) {
            Ok(client) => release::build::follow_job(client, &job, None, &mut report).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                progress(&events, id, format!("{}: built", plan.summary), true, false);
                let _ = events.try_send(AppEvent::RefreshTags);
            }
            Err(e) => progress(&events, id, e.to_string(), true, true),
        }
        return None;
    }
    if plan.follow.is_empty() {
        progress(&events, id, format!("{}: done", plan.summary), true, false);
        return None;
    }
    match release::follow(&plan, &ctx, None, &mut report).await {
        Ok(()) => progress(
            &events,
            id,
            format!("{}: rolled out", plan.summary),
            true,
            false,
        ),
        Err(e) => progress(&events, id, e.to_string(), true, true),
    }
    None
}

/// The build Job `plan` creates, if it is a Job build.
fn build_job(plan: &Plan) -> Option<String> {
    plan.writes.iter().find_map(|w| match w.body {
        release::WriteBody::Create { .. } if w.target.kind == "Job" => Some(w.target.name.clone()),
        _ => None,
    })
}
