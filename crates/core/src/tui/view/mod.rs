//! Rendering: a pure function of `&State` into a frame. Only visible rows are formatted; all
//! derivation happened in `update`.

mod analysis;
mod bottom;
mod footer;
mod header;
mod help;
pub mod layout;
mod modal;
mod palette;
mod pods;
mod revisions;
mod rollout;
mod services;
pub mod tabs;
mod tags;
pub mod widgets;

use ratatui::Frame;

use super::actions::Pane;
use super::state::State;
use super::state::view::Modal;

pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let protected = state
        .focused_env()
        .is_some_and(|env| state.env_protected(env));
    let screen = layout::layout(area, &state.view, protected);
    header::render(frame, screen.header, state);
    if let Some(banner) = screen.banner {
        header::render_banner(frame, banner, state);
    }
    if let Some(tabs_area) = screen.tabs {
        tabs::render(frame, tabs_area, state);
    }
    for (pane, rect) in &screen.panes {
        if rect.width < 3 || rect.height < 3 {
            continue;
        }
        match pane {
            Pane::Services => services::render(frame, *rect, state),
            Pane::Tags => tags::render(frame, *rect, state),
            Pane::Revisions => revisions::render(frame, *rect, state),
            Pane::Rollout => rollout::render(frame, *rect, state),
            Pane::Pods => pods::render(frame, *rect, state),
            Pane::Bottom => {}
        }
    }
    if let Some(rect) = screen.bottom.filter(|r| r.height >= 3) {
        bottom::render(frame, rect, state);
    }
    if screen.footer.height > 0 {
        footer::render(frame, screen.footer, state);
    }
    match &state.view.modal {
        None => {}
        Some(Modal::Help { scroll }) => help::render(frame, area, state, *scroll),
        Some(Modal::Palette { input, selected }) => {
            palette::render(frame, area, state, input, *selected)
        }
        Some(Modal::Confirm { request, input }) => {
            modal::confirm(frame, area, state, request, input)
        }
        Some(Modal::Prompt {
            input,
            error,
            approval,
            ..
        }) => modal::prompt(
            frame,
            area,
            state,
            input,
            error.as_deref(),
            approval.as_deref(),
        ),
        Some(Modal::QuitWhileWriting) => modal::quit(frame, area, state),
        Some(Modal::TagDetails { repository, tag }) => {
            modal::tag_details(frame, area, state, repository, tag)
        }
    }
}
