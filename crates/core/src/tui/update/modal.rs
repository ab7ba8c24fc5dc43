//! Keys while an overlay is open: help, palette, confirmation, prompt, quit question.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;

use super::super::actions::{Action, REGISTRY};
use super::super::command::Command;
use super::super::state::State;
use super::super::state::derived::ranked_rows;
use super::super::state::view::Modal;
use super::{navigate, notice, release};

/// Palette entries matching `filter`, in registry order (every action except the digit keys).
pub fn palette_entries(filter: &str) -> Vec<Action> {
    let actions: Vec<Action> = REGISTRY
        .iter()
        .filter(|i| i.action != Action::FocusEnv)
        .map(|i| i.action)
        .collect();
    ranked_rows(
        filter,
        actions
            .iter()
            .map(|a| format!("{} {}", a.name(), a.info().description)),
    )
    .into_iter()
    .map(|i| actions[i])
    .collect()
}

pub fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    let Some(modal) = state.view.modal.take() else {
        return Vec::new();
    };
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    match modal {
        Modal::Help { scroll } => match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                state.view.modal = Some(Modal::Help { scroll: scroll + 1 })
            }
            KeyCode::Up | KeyCode::Char('k') => {
                state.view.modal = Some(Modal::Help {
                    scroll: scroll.saturating_sub(1),
                })
            }
            KeyCode::PageDown => {
                state.view.modal = Some(Modal::Help {
                    scroll: scroll + 10,
                })
            }
            KeyCode::PageUp => {
                state.view.modal = Some(Modal::Help {
                    scroll: scroll.saturating_sub(10),
                })
            }
            _ => {}
        },
        Modal::Palette {
            mut input,
            mut selected,
        } => match key.code {
            KeyCode::Esc => {}
            _ if ctrl_c => {}
            KeyCode::Enter => {
                let entries = palette_entries(input.value());
                if let Some(action) = entries.get(selected) {
                    return navigate::run(state, *action, None);
                }
            }
            KeyCode::Down | KeyCode::Tab => {
                let len = palette_entries(input.value()).len();
                selected = (selected + 1).min(len.saturating_sub(1));
                state.view.modal = Some(Modal::Palette { input, selected });
            }
            KeyCode::Up | KeyCode::BackTab => {
                selected = selected.saturating_sub(1);
                state.view.modal = Some(Modal::Palette { input, selected });
            }
            _ => {
                if let Some(request) = to_input_request(&TerminalEvent::Key(key)) {
                    input.handle(request);
                    selected = 0;
                }
                state.view.modal = Some(Modal::Palette { input, selected });
            }
        },
        Modal::Confirm { request, mut input } => match key.code {
            KeyCode::Esc => return cancel(state, request.id),
            _ if ctrl_c => return cancel(state, request.id),
            KeyCode::Enter => match &request.type_to_confirm {
                Some(expected) if input.value() != expected => {
                    notice(
                        state,
                        format!("type {expected} and press Enter to confirm, or Esc to cancel"),
                        true,
                    );
                    state.view.modal = Some(Modal::Confirm { request, input });
                }
                _ => return confirmed(state, request.id),
            },
            KeyCode::Char('y') if request.type_to_confirm.is_none() => {
                return confirmed(state, request.id);
            }
            KeyCode::Char('n') if request.type_to_confirm.is_none() => {
                return cancel(state, request.id);
            }
            _ => {
                if request.type_to_confirm.is_some()
                    && let Some(req) = to_input_request(&TerminalEvent::Key(key))
                {
                    input.handle(req);
                }
                state.view.modal = Some(Modal::Confirm { request, input });
            }
        },
        Modal::Prompt {
            action,
            mut input,
            approval,
            ..
        } => match key.code {
            KeyCode::Esc => {}
            _ if ctrl_c => {}
            KeyCode::Enter => {
                let text = input.value().to_string();
                let (approval, error) = match approval {
                    Some(prompt) => match release::approve(state, prompt, &text) {
                        Ok(commands) => return commands,
                        Err((prompt, error)) => (Some(prompt), error),
                    },
                    None => match release::canary_set(state, &text) {
                        Ok(commands) => return commands,
                        Err(error) => (None, error),
                    },
                };
                state.view.modal = Some(Modal::Prompt {
                    action,
                    input,
                    error: Some(error),
                    approval,
                })
            }
            _ => {
                if let Some(request) = to_input_request(&TerminalEvent::Key(key)) {
                    input.handle(request);
                }
                state.view.modal = Some(Modal::Prompt {
                    action,
                    input,
                    error: None,
                    approval,
                });
            }
        },
        Modal::QuitWhileWriting => {
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                state.quit = true;
                return vec![Command::Quit];
            }
        }
        Modal::TagDetails { .. } => {}
    }
    Vec::new()
}

fn confirmed(state: &mut State, id: u64) -> Vec<Command> {
    if let Some(status) = state.domain.releases.get_mut(&id) {
        status.message = "confirmed, applying…".into();
        // The footer said "planning…" since the key was pressed; that is no longer true.
        let text = format!("{}: confirmed, applying…", status.request);
        notice(state, text, false);
    }
    vec![Command::Confirmed { id }]
}

fn cancel(state: &mut State, id: u64) -> Vec<Command> {
    if let Some(status) = state.domain.releases.get_mut(&id) {
        status.message = "cancelled, nothing written".into();
        status.done = true;
        status.cancelled = true;
    }
    notice(state, "cancelled: nothing was written", false);
    vec![Command::Cancelled { id }]
}
