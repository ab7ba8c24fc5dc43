//! Non-writing actions: moving, focusing, drilling in, panels, overlays.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::super::actions::{Action, Pane};
use super::super::command::Command;
use super::super::state::State;
use super::super::state::derived::RevisionItem;
use super::super::state::view::{BottomMode, Modal};
use super::input::{page_height, set_filter};
use super::{notice, refresh_tags, release};

pub fn run(state: &mut State, action: Action, key: Option<KeyEvent>) -> Vec<Command> {
    state.dirty = true;
    if action.writes() {
        return release::request(state, action);
    }
    let focus = state.view.focus;
    match action {
        Action::Up => return scroll(state, focus, -1),
        Action::Down => return scroll(state, focus, 1),
        Action::PageUp => {
            let page = page_height(state, focus) as isize;
            return scroll(state, focus, -page);
        }
        Action::PageDown => {
            let page = page_height(state, focus) as isize;
            return scroll(state, focus, page);
        }
        Action::Top => return select(state, focus, 0),
        Action::Bottom => {
            if focus == Pane::Bottom {
                state.view.bottom_scroll = 0;
                return Vec::new();
            }
            let last = state.list_len(focus).saturating_sub(1);
            return select(state, focus, last);
        }
        Action::NextPane => cycle_focus(state, 1),
        Action::PrevPane => cycle_focus(state, -1),
        Action::DrillIn => return drill_in(state),
        Action::Back => back(state),
        Action::Filter if state.view.list(focus).is_some() => {
            let current = state.view.filters.get(focus).to_string();
            state.view.filter_input = Some(Input::new(current));
            state.view.filters.editing = Some(focus);
        }
        Action::Palette => {
            state.view.modal = Some(Modal::Palette {
                input: Input::default(),
                selected: 0,
            })
        }
        Action::Help => state.view.modal = Some(Modal::Help { scroll: 0 }),
        Action::FocusEnv => {
            if let Some(KeyCode::Char(digit)) = key.map(|k| k.code)
                && let Some(n) = digit.to_digit(10)
            {
                focus_env(state, n as usize - 1);
            }
        }
        Action::PrevEnv => {
            let count = state.domain.snapshot.envs.len().max(1);
            focus_env(state, (state.view.env + count - 1) % count);
        }
        Action::NextEnv => {
            let count = state.domain.snapshot.envs.len().max(1);
            focus_env(state, (state.view.env + 1) % count);
        }
        Action::Logs => return open_logs(state),
        Action::Events => toggle_bottom(state, BottomMode::Events),
        Action::ActionsLog => toggle_bottom(state, BottomMode::Actions),
        Action::CopyImage => return copy_image(state),
        Action::RefreshTags => {
            notice(state, "refreshing registry tags…", false);
            return refresh_tags(state);
        }
        Action::Quit => {
            if state.domain.writes_in_flight().next().is_some() {
                state.view.modal = Some(Modal::QuitWhileWriting);
            } else {
                state.quit = true;
                return vec![Command::Quit];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Moves the selection of `pane` by `delta` rows (the bottom panel scrolls instead).
pub fn scroll(state: &mut State, pane: Pane, delta: isize) -> Vec<Command> {
    if pane == Pane::Bottom {
        let scrolled = state.view.bottom_scroll as isize - delta;
        state.view.bottom_scroll = scrolled.max(0) as usize;
        state.dirty = true;
        return Vec::new();
    }
    let Some(pos) = state.view.list(pane).copied() else {
        return Vec::new();
    };
    let target = (pos.selected as isize + delta).max(0) as usize;
    select(state, pane, target)
}

pub fn select(state: &mut State, pane: Pane, index: usize) -> Vec<Command> {
    let len = state.list_len(pane);
    let height = page_height(state, pane);
    let Some(pos) = state.view.list_mut(pane) else {
        return Vec::new();
    };
    let before = *pos;
    pos.selected = index.min(len.saturating_sub(1));
    pos.keep_visible(height);
    state.dirty = true;
    if *pos == before {
        return Vec::new();
    }
    match pane {
        Pane::Services => {
            let row = state.derived.service_rows.get(state.view.services.selected);
            state.view.selected_service = row.map(|&i| state.derived.rows[i].name.clone());
            state.view.tags = Default::default();
            state.view.revisions = Default::default();
            state.view.pods = Default::default();
            state.view.revision_drill = None;
            state.stale.selection = true;
            Vec::new()
        }
        // New rows on screen may need their digests.
        Pane::Tags => state.fetches_for_selection(),
        _ => Vec::new(),
    }
}

fn cycle_focus(state: &mut State, step: isize) {
    let mut panes: Vec<Pane> = Pane::CYCLE.to_vec();
    if state.view.bottom.is_some() {
        panes.push(Pane::Bottom);
    }
    let current = panes
        .iter()
        .position(|p| *p == state.view.focus)
        .unwrap_or(0) as isize;
    let next = (current + step).rem_euclid(panes.len() as isize) as usize;
    state.view.focus = panes[next];
    if matches!(state.view.focus, Pane::Tags | Pane::Revisions) {
        state.view.side_tab = state.view.focus;
    }
}

fn focus_env(state: &mut State, index: usize) {
    if index >= state.domain.snapshot.envs.len() || index == state.view.env {
        return;
    }
    state.view.env = index;
    state.view.revisions = Default::default();
    state.view.pods = Default::default();
    state.view.revision_drill = None;
    state.stale.selection = true;
}

fn drill_in(state: &mut State) -> Vec<Command> {
    match state.view.focus {
        Pane::Services => {
            state.view.focus = Pane::Tags;
            state.view.side_tab = Pane::Tags;
        }
        Pane::Tags => {
            if let (Some(tag), Some(repository)) = (selected_tag(state), selected_repository(state))
            {
                state.view.modal = Some(Modal::TagDetails { repository, tag });
            }
        }
        Pane::Revisions => {
            if let Some(RevisionItem::ReplicaSet(row)) = selected_revision(state) {
                state.view.revision_drill = Some(row.replica_set.clone());
                state.view.pods = Default::default();
                state.view.focus = Pane::Pods;
                state.stale.selection = true;
            }
        }
        Pane::Pods => return open_logs(state),
        Pane::Rollout => state.view.focus = Pane::Pods,
        Pane::Bottom => {}
    }
    Vec::new()
}

fn back(state: &mut State) {
    let focus = state.view.focus;
    if !state.view.filters.get(focus).is_empty() {
        set_filter(state, focus, String::new());
    } else if state.view.revision_drill.is_some() && matches!(focus, Pane::Pods | Pane::Revisions) {
        state.view.revision_drill = None;
        state.view.focus = Pane::Revisions;
        state.stale.selection = true;
    } else if focus == Pane::Bottom {
        state.view.bottom = None;
        state.view.focus = Pane::Services;
    } else if focus != Pane::Services {
        state.view.focus = Pane::Services;
    } else if state.view.bottom.is_some() {
        state.view.bottom = None;
    }
}

fn toggle_bottom(state: &mut State, mode: BottomMode) {
    if state.view.bottom == Some(mode) {
        state.view.bottom = None;
        if state.view.focus == Pane::Bottom {
            state.view.focus = Pane::Services;
        }
    } else {
        state.view.bottom = Some(mode);
        state.view.bottom_scroll = 0;
    }
}

fn open_logs(state: &mut State) -> Vec<Command> {
    let Some(selected) = &state.derived.selected else {
        return Vec::new();
    };
    let pod = selected
        .pod_rows
        .get(state.view.pods.selected)
        .map(|&i| selected.pods[i].name.clone());
    let Some(pod) = pod else {
        notice(
            state,
            "no pod selected: the selection has no pods in this environment",
            true,
        );
        return Vec::new();
    };
    let env = state.focused_env().unwrap_or_default().to_string();
    if state.view.bottom == Some(BottomMode::Logs)
        && state.domain.logs.pod == pod
        && state.domain.logs.env == env
    {
        toggle_bottom(state, BottomMode::Logs);
        return vec![Command::StopLogs];
    }
    let namespace = selected.namespace.clone();
    let container = state
        .derived
        .selected_spec()
        .and_then(|s| s.config.container.clone());
    state.domain.logs = Default::default();
    state.domain.logs.env = env.clone();
    state.domain.logs.pod = pod.clone();
    state.view.bottom = Some(BottomMode::Logs);
    state.view.bottom_scroll = 0;
    vec![Command::StreamLogs {
        env,
        namespace,
        pod,
        container,
    }]
}

pub(super) fn selected_tag(state: &State) -> Option<String> {
    let selected = state.derived.selected.as_ref()?;
    let row = *selected.tag_rows.get(state.view.tags.selected)?;
    Some(selected.tags[row].tag.clone())
}

pub(super) fn selected_repository(state: &State) -> Option<String> {
    state.derived.selected.as_ref()?.repository.clone()
}

pub(super) fn selected_revision(state: &State) -> Option<&RevisionItem> {
    let selected = state.derived.selected.as_ref()?;
    let row = *selected.revision_rows.get(state.view.revisions.selected)?;
    selected.revisions.get(row)
}

fn copy_image(state: &mut State) -> Vec<Command> {
    let Some(selected) = &state.derived.selected else {
        return Vec::new();
    };
    let reference = match state.view.focus {
        Pane::Tags => selected_tag(state).and_then(|tag| {
            let repository = selected.repository.as_ref()?;
            let row = selected.tags.iter().find(|t| t.tag == tag)?;
            Some(match &row.digest {
                Some(digest) => format!("{repository}:{tag}@{digest}"),
                None => format!("{repository}:{tag}"),
            })
        }),
        Pane::Revisions => match selected_revision(state) {
            Some(RevisionItem::ReplicaSet(row)) => row.image.as_ref().map(|i| {
                let mut text = i.repository.clone();
                if let Some(tag) = &i.tag {
                    text = format!("{text}:{tag}");
                }
                if let Some(digest) = &i.digest {
                    text = format!("{text}@{digest}");
                }
                text
            }),
            _ => None,
        },
        _ => selected.in_env.primary.as_ref().and_then(|p| {
            let image = p.image.as_ref()?;
            Some(format!("{}:{}", image.repository, image.display_tag()))
        }),
    };
    match reference {
        Some(text) => {
            notice(state, format!("copied {text}"), false);
            vec![Command::Copy(text)]
        }
        None => {
            notice(
                state,
                "nothing to copy here: select a tag, revision or service",
                true,
            );
            Vec::new()
        }
    }
}
