//! Write actions become a [`ReleaseRequest`] for the release runner, which plans the write and
//! asks for confirmation (`AppEvent::Confirm`). This file is the seam: it checks what the
//! console can check (a selection, the strategy, read-only) and explains instead of acting.

use tui_input::Input;

use super::super::actions::Action;
use super::super::command::{Command, ReleaseRequest};
use super::super::state::State;
use super::super::state::derived::RevisionItem;
use super::super::state::view::{ApprovalPrompt, Modal};
use super::navigate::{selected_revision, selected_tag};
use super::{notice, track_release};
use crate::config::Strategy;

pub fn request(state: &mut State, action: Action) -> Vec<Command> {
    let Some(spec) = state.derived.selected_spec().cloned() else {
        notice(state, format!("{action}: select a service first"), true);
        return Vec::new();
    };
    let Some(env) = state.focused_env().map(str::to_string) else {
        notice(
            state,
            format!("{action}: no environment is configured or connected"),
            true,
        );
        return Vec::new();
    };
    if let Some(reason) = state.read_only_reason(&env) {
        notice(
            state,
            format!(
                "{action} {} @ {env} refused: {reason}; writes are disabled here",
                spec.name()
            ),
            true,
        );
        return Vec::new();
    }
    // The API server said no (access review): explain, open nothing.
    if let Some(reason) = state.write_refusal(action) {
        notice(
            state,
            format!("{action} {} @ {env}: {reason}", spec.name()),
            true,
        );
        return Vec::new();
    }
    let service = spec.name().to_string();
    let mut request = ReleaseRequest {
        id: 0,
        action,
        service: service.clone(),
        env: env.clone(),
        tag: None,
        revision: None,
        weight: None,
        target_env: None,
        approval: None,
    };
    let strategy_needed = match action {
        Action::Canary
        | Action::CanaryStepUp
        | Action::CanaryStepDown
        | Action::CanarySet
        | Action::CanaryPromote
        | Action::CanaryAbort => Some(Strategy::Canary),
        Action::Swap => Some(Strategy::BlueGreen),
        _ => None,
    };
    if let Some(needed) = strategy_needed
        && spec.strategy() != needed
    {
        let name = match needed {
            Strategy::Canary => "canary",
            Strategy::BlueGreen => "blue-green",
            Strategy::Rolling => "rolling",
        };
        notice(
            state,
            format!(
                "{action}: {service} is not a {name} service (set strategy = \"{name}\" in its [[service]])"
            ),
            true,
        );
        return Vec::new();
    }
    match action {
        Action::Canary => {
            // `c` opens the palette on the canary actions: one key to see them all.
            state.view.modal = Some(Modal::Palette {
                input: Input::new("canary_".into()),
                selected: 0,
            });
            return Vec::new();
        }
        Action::CanarySet => {
            state.view.modal = Some(Modal::Prompt {
                action,
                input: Input::default(),
                error: None,
                approval: None,
            });
            return Vec::new();
        }
        Action::Deploy | Action::Promote => {
            let Some(tag) = selected_tag(state) else {
                notice(
                    state,
                    format!("{action}: no tag selected for {service} (is the registry reachable?)"),
                    true,
                );
                return Vec::new();
            };
            request.tag = Some(tag);
            if action == Action::Promote {
                let next = state.domain.snapshot.envs.get(state.view.env + 1);
                let Some(next) = next else {
                    notice(
                        state,
                        format!("promote: {env} is the last environment; focus an earlier one"),
                        true,
                    );
                    return Vec::new();
                };
                request.target_env = Some(next.name.clone());
                if let Some(reason) = state.read_only_reason(&next.name) {
                    notice(
                        state,
                        format!("promote to {} refused: {reason}", next.name),
                        true,
                    );
                    return Vec::new();
                }
                // Ask for the note up front: the planner would only refuse without one.
                if let Some(reason) = approval_reason(state, &request) {
                    state.view.modal = Some(Modal::Prompt {
                        action,
                        input: Input::default(),
                        error: None,
                        approval: Some(Box::new(ApprovalPrompt { request, reason })),
                    });
                    return Vec::new();
                }
            }
        }
        Action::Rollback if state.view.focus == super::super::actions::Pane::Revisions => {
            // The current revision is selected by default: rolling back to it would be a
            // no-op, so it means "the previous one", as `r` does outside this pane.
            request.revision = match selected_revision(state) {
                Some(RevisionItem::ReplicaSet(row)) if !row.current => Some(row.revision),
                Some(RevisionItem::Helm(helm)) if helm.status != "deployed" => Some(helm.revision),
                _ => None,
            };
        }
        Action::RollbackLastKnownGood => {
            let lkg = state
                .derived
                .selected
                .as_ref()
                .and_then(|s| s.last_known_good.as_ref());
            match lkg {
                Some(row) => {
                    request.revision = Some(row.revision);
                    request.tag = row.image.as_ref().and_then(|i| i.tag.clone());
                }
                None => {
                    notice(
                        state,
                        format!(
                            "no last known good revision of {service} in {env}: no earlier revision was seen fully rolled out; pick one in Revisions and press r"
                        ),
                        true,
                    );
                    return Vec::new();
                }
            }
        }
        Action::Build if spec.config.build.is_none() => {
            notice(
                state,
                format!("build: {service} has no [service.build] in shipdeck.toml"),
                true,
            );
            return Vec::new();
        }
        _ => {}
    }
    send(state, request)
}

/// Sends a request with a fresh id and keeps it in flight until the runner says it is done.
pub fn send(state: &mut State, mut request: ReleaseRequest) -> Vec<Command> {
    request.id = state.next_request_id();
    track_release(state, &request);
    notice(state, format!("{request}: planning…"), false);
    vec![Command::Release(request)]
}

/// The canary weight typed in the prompt.
pub fn canary_set(state: &mut State, text: &str) -> Result<Vec<Command>, String> {
    let weight: u32 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?} is not a number: type a weight from 0 to 100"))?;
    if weight > 100 {
        return Err(format!("{weight}% is more than 100%"));
    }
    let (Some(spec), Some(env)) = (state.derived.selected_spec(), state.focused_env()) else {
        return Ok(Vec::new());
    };
    let request = ReleaseRequest {
        id: 0,
        action: Action::CanarySet,
        service: spec.name().to_string(),
        env: env.to_string(),
        tag: None,
        revision: None,
        weight: Some(weight),
        target_env: None,
        approval: None,
    };
    Ok(send(state, request))
}

/// Why the policy wants an approval note for this promotion, if it does: a bump it lists
/// (`policy.approval_for`) between what the target environment runs and the tag, into a
/// protected environment. The planner checks again against the cluster.
fn approval_reason(state: &State, request: &ReleaseRequest) -> Option<String> {
    let target = request.target_env.as_deref()?;
    let tag = request.tag.as_deref()?;
    let config = &state.ctx.config;
    let env = config.envs.iter().find(|e| e.name == target)?;
    let column = state
        .domain
        .snapshot
        .envs
        .iter()
        .position(|e| e.name == target)?;
    let running = state
        .derived
        .rows
        .iter()
        .find(|r| r.name == request.service)?
        .cells
        .get(column)?
        .tag
        .clone();
    let bump =
        crate::release::promote::approval_needed(&config.policy, env, running.as_deref(), tag)?;
    Some(format!(
        "{} → {tag} into {target} is a {} bump",
        running.as_deref().unwrap_or("?"),
        crate::release::promote::bump_name(bump)
    ))
}

/// The approval note typed for a promotion that needs one: sends it with the note.
pub fn approve(
    state: &mut State,
    mut prompt: Box<ApprovalPrompt>,
    text: &str,
) -> Result<Vec<Command>, (Box<ApprovalPrompt>, String)> {
    let note = text.trim();
    if note.is_empty() {
        return Err((
            prompt,
            "type a ticket or an approver: it is recorded in the audit log".into(),
        ));
    }
    prompt.request.approval = Some(note.to_string());
    Ok(send(state, prompt.request.clone()))
}
