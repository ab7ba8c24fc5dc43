//! `update`: the only place state changes. Synchronous; returns the [`Command`]s the outside
//! world should run. Tests drive it with events and assert on state and commands.

mod analysis;
mod input;
mod modal;

pub use modal::palette_entries;
mod navigate;
mod release;

use super::command::Command;
use super::event::AppEvent;
use super::state::State;
use super::state::domain::ReleaseStatus;
use super::state::view::{BottomMode, Modal, Notice};
use crate::cluster::ClusterEvent;

/// Applies one event and brings derived rows up to date.
pub fn update(state: &mut State, event: AppEvent) -> Vec<Command> {
    let mut commands = apply(state, event);
    commands.extend(state.refresh());
    commands
}

/// Applies one event without recomputing derived rows (the loop drains a batch of events,
/// then refreshes once). Input is handled on fresh rows, so it refreshes first.
pub fn apply(state: &mut State, event: AppEvent) -> Vec<Command> {
    match event {
        AppEvent::Input(input) => {
            let mut commands = state.refresh();
            commands.extend(input::handle(state, input));
            commands
        }
        AppEvent::Cluster(event) => {
            let env = match &event {
                ClusterEvent::Health { env, .. }
                | ClusterEvent::Applied { env, .. }
                | ClusterEvent::Deleted { env, .. }
                | ClusterEvent::Listed { env, .. } => env.clone(),
            };
            let known = state.domain.snapshot.env(&env).is_some();
            state.domain.snapshot.apply(event);
            if known {
                state.stale.envs.insert(env);
            } else {
                // A new environment adds a column to every row.
                state.stale.rows = true;
            }
            state.stale.selection = true;
            Vec::new()
        }
        AppEvent::Registry(event) => {
            state.domain.apply_registry(event);
            state.stale.selection = true;
            // The tag details dialog reads the registry answers directly, not the selection.
            state.dirty |= matches!(state.view.modal, Some(Modal::TagDetails { .. }));
            Vec::new()
        }
        AppEvent::Logs { env, pod, lines } => {
            let logs = &mut state.domain.logs;
            if logs.env == env && logs.pod == pod {
                for line in lines {
                    logs.push(line);
                }
                state.dirty |= state.view.bottom == Some(BottomMode::Logs);
            }
            Vec::new()
        }
        AppEvent::LogsEnded { env, pod, reason } => {
            let logs = &mut state.domain.logs;
            if logs.env == env && logs.pod == pod {
                logs.push(format!("── log stream ended: {reason}"));
                state.dirty = true;
            }
            Vec::new()
        }
        AppEvent::ActionLogged(record) => {
            state.domain.record_action(record);
            state.dirty = true;
            Vec::new()
        }
        AppEvent::ReleaseProgress {
            id,
            message,
            done,
            failed,
        } => {
            if let Some(status) = state.domain.releases.get_mut(&id) {
                // The footer's "planning…" gives way to the outcome once the action ends.
                if done {
                    let mark = if failed { "✗" } else { "✓" };
                    state.view.notice = Some(Notice {
                        text: format!("{mark} {}: {message}", status.request),
                        error: failed,
                    });
                }
                status.message = message;
                status.done = done;
                status.failed = failed;
            }
            state.dirty = true;
            Vec::new()
        }
        AppEvent::Confirm(request) => {
            // The plan is here: "planning…" is over, and the dialog says what to do next.
            if let Some(status) = state.domain.releases.get_mut(&request.id) {
                let planning = format!("{}: planning…", status.request);
                if state
                    .view
                    .notice
                    .as_ref()
                    .is_some_and(|n| n.text == planning)
                {
                    state.view.notice = None;
                }
                status.message = "waiting for confirmation".into();
            }
            state.view.modal = Some(Modal::Confirm {
                request,
                input: Default::default(),
            });
            state.dirty = true;
            Vec::new()
        }
        AppEvent::Notice { message, error } => {
            state.view.notice = Some(Notice {
                text: message,
                error,
            });
            state.dirty = true;
            Vec::new()
        }
        AppEvent::Analysis { watch, feed } => analysis::apply(state, watch, feed),
        AppEvent::Access {
            env,
            context,
            answers,
        } => {
            let access = super::state::domain::EnvAccess {
                context,
                answers: answers.into_iter().collect(),
            };
            if state.domain.access.get(&env) != Some(&access) {
                state.domain.access.insert(env, access);
                state.dirty = true;
            }
            Vec::new()
        }
        AppEvent::Tick(now) => {
            // Ages are formatted when drawn, so the clock only needs a frame; nothing shows
            // finer than a second, and a stand-still clock (--virtual-clock) shows no change.
            if now.as_second() != state.now.as_second() {
                state.dirty = true;
            }
            state.now = now;
            Vec::new()
        }
        AppEvent::RefreshTags => refresh_tags(state),
    }
}

/// Every known listing becomes stale; the selected service's are fetched now.
pub(super) fn refresh_tags(state: &mut State) -> Vec<Command> {
    let known: Vec<String> = state.domain.repos.keys().cloned().collect();
    state.domain.stale_repos.extend(known);
    // Tags can be re-pushed: details are asked again, and the old ones shown until then.
    state.domain.details_requested.clear();
    state.stale.selection = true;
    Vec::new()
}

pub(super) fn notice(state: &mut State, text: impl Into<String>, error: bool) {
    state.view.notice = Some(Notice {
        text: text.into(),
        error,
    });
    state.dirty = true;
}

pub(super) fn track_release(state: &mut State, request: &super::command::ReleaseRequest) {
    state.domain.releases.insert(
        request.id,
        ReleaseStatus {
            request: request.clone(),
            message: "planning…".into(),
            done: false,
            failed: false,
            cancelled: false,
        },
    );
}
