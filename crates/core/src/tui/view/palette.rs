//! `:`: the command palette, every action by name, fuzzy-filtered.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

use super::super::state::State;
use super::super::update::palette_entries;
use super::widgets::{centered, ellipsize};

pub fn render(frame: &mut Frame, area: Rect, state: &State, input: &Input, selected: usize) {
    let theme = &state.ctx.theme;
    let entries = palette_entries(input.value());
    let rect = centered(
        area,
        80,
        (entries.len() as u16 + 4)
            .min(area.height.saturating_sub(2))
            .max(5),
    );
    let refused = state
        .focused_env()
        .and_then(|env| state.read_only_reason(env));
    let mut lines = vec![Line::from(vec![
        Span::styled(": ", theme.style("footer.key")),
        Span::styled(format!("{}▏", input.value()), theme.style("input")),
    ])];
    let visible = rect.height.saturating_sub(3) as usize;
    let start = selected.saturating_sub(visible.saturating_sub(1));
    for (i, action) in entries.iter().enumerate().skip(start).take(visible) {
        let info = action.info();
        let not_allowed = refused
            .is_none()
            .then(|| state.write_refusal(*action))
            .flatten();
        let disabled = info.writes && (refused.is_some() || not_allowed.is_some());
        let mut style = if disabled {
            theme.style("footer.disabled")
        } else {
            theme.style("text")
        };
        if i == selected {
            style = style.patch(theme.style("selection"));
        }
        let text = format!(
            "{:<26} {:>8}  {}",
            info.name,
            state.ctx.keymap.short_label(*action),
            not_allowed.as_deref().unwrap_or(info.description)
        );
        lines.push(Line::from(Span::styled(
            ellipsize(&text, rect.width.saturating_sub(2) as usize),
            style,
        )));
    }
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style("modal.border"))
        .title(
            Line::from(" Command palette — Enter runs, Esc closes ")
                .style(theme.style("pane.title")),
        );
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
