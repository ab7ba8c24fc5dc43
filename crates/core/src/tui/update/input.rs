//! Terminal input: keys through the keymap (or to an open overlay / filter), mouse clicks and
//! wheel, resizes.

use ratatui::crossterm::event::{
    Event as TerminalEvent, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use tui_input::backend::crossterm::to_input_request;

use super::super::actions::Pane;
use super::super::command::Command;
use super::super::state::State;
use super::super::view::layout::{layout, list_height};
use super::{modal, navigate};

pub fn handle(state: &mut State, input: TerminalEvent) -> Vec<Command> {
    match input {
        TerminalEvent::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key),
        TerminalEvent::Mouse(mouse) => on_mouse(state, mouse),
        TerminalEvent::Resize(width, height) => {
            state.view.size = (width, height);
            state.dirty = true;
            keep_selections_visible(state);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    state.dirty = true;
    if state.view.modal.is_some() {
        return modal::on_key(state, key);
    }
    if state.view.filters.editing.is_some() {
        on_filter_key(state, key);
        return Vec::new();
    }
    state.view.notice = None;
    match state.ctx.keymap.action(&key) {
        Some(action) => navigate::run(state, action, Some(key)),
        None => Vec::new(),
    }
}

fn on_filter_key(state: &mut State, key: KeyEvent) {
    use ratatui::crossterm::event::KeyCode;
    let Some(pane) = state.view.filters.editing else {
        return;
    };
    match key.code {
        KeyCode::Enter => {
            state.view.filters.editing = None;
            state.view.filter_input = None;
        }
        KeyCode::Esc => {
            state.view.filters.editing = None;
            state.view.filter_input = None;
            set_filter(state, pane, String::new());
        }
        _ => {
            let Some(input) = state.view.filter_input.as_mut() else {
                return;
            };
            if let Some(request) = to_input_request(&TerminalEvent::Key(key)) {
                input.handle(request);
                let text = input.value().to_string();
                set_filter(state, pane, text);
            }
        }
    }
}

pub(super) fn set_filter(state: &mut State, pane: Pane, text: String) {
    if let Some(filter) = state.view.filters.get_mut(pane) {
        *filter = text;
    }
    if let Some(pos) = state.view.list_mut(pane) {
        *pos = Default::default();
    }
    state.stale.filter |= pane == Pane::Services;
    state.stale.selection = true;
}

fn screen(state: &State) -> Rect {
    let (width, height) = state.view.size;
    Rect::new(0, 0, width, height)
}

pub(super) fn current_layout(state: &State) -> super::super::view::layout::ScreenLayout {
    let protected = state
        .focused_env()
        .is_some_and(|env| state.env_protected(env));
    layout(screen(state), &state.view, protected)
}

/// Visible data rows of a list pane at the current size.
pub(super) fn page_height(state: &State, pane: Pane) -> usize {
    current_layout(state)
        .pane(pane)
        .map_or(10, list_height)
        .max(1)
}

fn keep_selections_visible(state: &mut State) {
    for pane in [Pane::Services, Pane::Tags, Pane::Revisions, Pane::Pods] {
        let height = page_height(state, pane);
        if let Some(pos) = state.view.list_mut(pane) {
            pos.keep_visible(height);
        }
    }
}

fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Command> {
    if state.view.modal.is_some() {
        return Vec::new();
    }
    let screen_layout = current_layout(state);
    if let (MouseEventKind::Down(MouseButton::Left), Some(tabs)) = (mouse.kind, screen_layout.tabs)
        && mouse.row == tabs.y
    {
        if let Some(pane) = super::super::view::tabs::tab_at(tabs, mouse.column) {
            state.view.focus = pane;
            state.dirty = true;
        }
        return Vec::new();
    }
    let Some((pane, rect)) = screen_layout.pane_at(mouse.column, mouse.row) else {
        return Vec::new();
    };
    match mouse.kind {
        MouseEventKind::ScrollDown => navigate::scroll(state, pane, 3),
        MouseEventKind::ScrollUp => navigate::scroll(state, pane, -3),
        MouseEventKind::Down(MouseButton::Left) => {
            state.view.focus = pane;
            state.dirty = true;
            // Two border/header rows above the first data row.
            let first_row = rect.y + 2;
            if mouse.row >= first_row
                && let Some(pos) = state.view.list(pane).copied()
            {
                let index = pos.offset + usize::from(mouse.row - first_row);
                if index < state.list_len(pane) {
                    return navigate::select(state, pane, index);
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}
