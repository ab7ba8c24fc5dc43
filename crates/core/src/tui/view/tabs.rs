//! The tab bar of the one-pane layout (and its mouse hit-test).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::actions::Pane;
use super::super::state::State;

const SEPARATOR: &str = " │ ";

fn titles() -> impl Iterator<Item = Pane> {
    Pane::CYCLE.into_iter()
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let mut spans = vec![Span::raw(" ")];
    for (i, pane) in titles().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEPARATOR, theme.style("text.dim")));
        }
        let style = if state.view.focus == pane {
            theme.style("selection")
        } else {
            theme.style("text.dim")
        };
        spans.push(Span::styled(pane.title(), style));
    }
    frame.render_widget(Line::from(spans), area);
}

/// The tab under column `x`.
pub fn tab_at(area: Rect, x: u16) -> Option<Pane> {
    let mut start = area.x + 1;
    for pane in titles() {
        let end = start + pane.title().len() as u16;
        if x >= start && x < end {
            return Some(pane);
        }
        start = end + SEPARATOR.chars().count() as u16;
    }
    None
}
