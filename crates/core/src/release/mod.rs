//! The release layer: planners (pure functions from observed objects to a [`Plan`]), one
//! executor that applies a plan with resourceVersion preconditions, the rollout follower, the
//! audit journal and the confirmation policy. The console and the headless CLI both go
//! through [`request`].
//!
//! For the console, one action is:
//! 1. `ReleaseContext::connect(config, read_only, Journal::open_default()?)` once at start;
//! 2. a key becomes a [`ReleaseRequest`]; [`plan_request`] (fresh reads) or [`plan_observed`]
//!    (the console's own snapshot) gives a [`Plan`]; `Display` is the preflight diff;
//! 3. [`confirm::required`] says what the dialog asks ([`Confirmation`]); [`confirm::accepts`]
//!    checks the answer;
//! 4. on a runner task, [`execute`] with a progress callback that forwards [`Progress`]
//!    events to the app loop; [`Outcome::Replanned`] means "show this new plan and ask again";
//! 5. [`follow`] for `plan.follow` (rollout status lines, then the rolled-out marker).
//!
//! Read-only state for greying keys: `ctx.read_only || env.read_only`. Revisions and the
//! last known good for the revisions pane: [`revisions::history`], [`revisions::last_good`];
//! canary weights as the cluster has them: [`traffic::traffic`].

pub mod audit;
pub mod blue_green;
pub mod build;
pub mod canary;
pub mod confirm;
pub mod deploy;
pub mod error;
pub mod execute;
pub mod input;
pub mod objects;
pub mod observe;
pub mod permissions;
pub mod plan;
pub mod promote;
pub mod registry;
pub mod request;
pub mod revisions;
pub mod rollback;
pub mod traffic;
pub mod wait;

#[cfg(test)]
pub(crate) mod testkit;

pub use audit::Journal;
pub use confirm::Confirmation;
pub use error::{PlanError, ReleaseError};
pub use execute::{Outcome, Progress};
pub use input::PlanInput;
pub use observe::{Observed, observe};
pub use plan::{Action, FieldChange, ObjectRef, Plan, RollbackTarget, Write, WriteBody};
pub use request::{
    ReleaseContext, ReleaseRequest, execute, follow, follow_unmarked, plan_observed, plan_request,
};

/// Runs the planner for `action` (everything but promotion and builds, which need the
/// registry or the source tree: see `promote` and `build`).
pub fn plan_action(o: &Observed, input: &PlanInput, action: &Action) -> Result<Plan, PlanError> {
    match action {
        Action::Deploy { tag, digest } => deploy::plan_deploy(o, input, tag, digest.as_deref()),
        Action::Rollback { to } => rollback::plan_rollback(o, input, *to),
        Action::CanarySet { percent } => canary::plan_set(o, input, *percent),
        Action::CanaryStep { back } => canary::plan_step(o, input, *back),
        Action::CanaryPromote => canary::plan_promote(o, input),
        Action::CanaryAbort => canary::plan_abort(o, input),
        Action::Swap => blue_green::plan_swap(o, input),
        Action::ScaleDownIdle => blue_green::plan_scale_down_idle(o, input),
        Action::Promote { .. } | Action::Build { .. } | Action::MarkRolledOut { .. } => {
            Err(PlanError::Invalid(format!(
                "{} is planned with its own inputs (registry or source tree)",
                action.name()
            )))
        }
    }
}
