//! The toggleable bottom panel: events of the selection, logs of a pod, or the actions log.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::actions::Pane;
use super::super::state::State;
use super::super::state::view::BottomMode;
use super::widgets::{age, ellipsize, pane_block};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let Some(mode) = state.view.bottom else {
        return;
    };
    let service = state.view.selected_service.as_deref().unwrap_or("—");
    let env = state.focused_env().unwrap_or("—");
    let height = area.height.saturating_sub(2) as usize;
    let (title, lines): (String, Vec<Line>) = match mode {
        BottomMode::Events => {
            let events = state
                .derived
                .selected
                .as_ref()
                .map_or(&[][..], |s| &s.events[..]);
            let lines = window(events.len(), height, state.view.bottom_scroll)
                .map(|i| {
                    let e = &events[i];
                    let style = if e.type_ == "Warning" {
                        theme.style("warning")
                    } else {
                        theme.style("text")
                    };
                    let mut spans = vec![
                        Span::styled(
                            format!("{:>6} ", age(state.now, e.time)),
                            theme.style("text.dim"),
                        ),
                        Span::styled(format!("{:<8}", e.type_), style),
                        Span::styled(format!("{:<22} ", e.reason), style),
                        Span::styled(format!("{} ", e.object), theme.style("text.dim")),
                    ];
                    let message = if e.count > 1 {
                        format!("{} (x{})", e.message, e.count)
                    } else {
                        e.message.clone()
                    };
                    // A message cut by the border would read as complete: end it with `…`.
                    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
                    let room = (area.width as usize).saturating_sub(2 + used);
                    spans.push(Span::raw(ellipsize(&message, room)));
                    Line::from(spans)
                })
                .collect();
            (format!(" Events: {service} @ {env} "), lines)
        }
        BottomMode::Logs => {
            let logs = &state.domain.logs;
            let lines = window(logs.lines.len(), height, state.view.bottom_scroll)
                .map(|i| Line::from(logs.lines[i].as_str()))
                .collect();
            (format!(" Logs: {} @ {} ", logs.pod, logs.env), lines)
        }
        BottomMode::Actions => {
            let actions = &state.domain.actions;
            let lines = window(actions.len(), height, state.view.bottom_scroll)
                .map(|i| {
                    let a = &actions[i];
                    let (result, style) = match &a.result {
                        Ok(text) => (text.as_str(), theme.style("status.ok")),
                        Err(text) => (text.as_str(), theme.style("status.failing")),
                    };
                    Line::from(vec![
                        Span::styled(
                            a.time.strftime("%H:%M:%S ").to_string(),
                            theme.style("text.dim"),
                        ),
                        Span::styled(format!("{:<8} ", a.env), theme.style("env.normal")),
                        Span::raw(format!("{} {} ", a.method, a.object)),
                        Span::styled(result.to_string(), style),
                    ])
                })
                .collect();
            (" Actions (writes sent) ".to_string(), lines)
        }
    };
    let empty = lines.is_empty();
    let block = pane_block(state, Pane::Bottom, Line::from(title));
    let body = if empty {
        vec![Line::from(Span::styled(
            "nothing yet",
            theme.style("text.dim"),
        ))]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(body).block(block), area);
}

/// The `height` items ending `scroll` items before the last one.
fn window(len: usize, height: usize, scroll: usize) -> std::ops::Range<usize> {
    let end = len.saturating_sub(scroll.min(len.saturating_sub(height.min(len))));
    end.saturating_sub(height)..end
}
