//! `?`: every action with its keys, generated from the registry and the live keymap; writes
//! greyed with the reason when refused.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::super::actions::{Group, REGISTRY};
use super::super::state::State;
use super::widgets::centered;

pub fn render(frame: &mut Frame, area: Rect, state: &State, scroll: usize) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let refused = state
        .focused_env()
        .and_then(|env| state.read_only_reason(env));
    let mut lines = Vec::new();
    // Each distinct reason once, at the end; the lines only say "not allowed".
    let mut reasons: Vec<String> = Vec::new();
    for group in [Group::Navigate, Group::View, Group::Release] {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::from(Span::styled(
            group.title(),
            theme.style("text.title"),
        )));
        for info in REGISTRY.iter().filter(|i| i.group == group) {
            let not_allowed = refused
                .is_none()
                .then(|| state.write_refusal(info.action))
                .flatten();
            let disabled = info.writes && (refused.is_some() || not_allowed.is_some());
            let (key_style, text_style) = if disabled {
                (
                    theme.style("footer.disabled"),
                    theme.style("footer.disabled"),
                )
            } else {
                (theme.style("footer.key"), theme.style("text"))
            };
            let mut line = vec![
                Span::styled(
                    format!("{:>14}  ", state.ctx.keymap.label(info.action)),
                    key_style,
                ),
                Span::styled(info.description.to_string(), text_style),
                Span::styled(format!("  {}", info.name), theme.style("text.dim")),
            ];
            if let Some(reason) = not_allowed {
                line.push(Span::styled("  — not allowed", theme.style("warning")));
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            lines.push(Line::from(line));
        }
    }
    if let Some(reason) = refused {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("Writes are disabled: {reason}."),
            theme.style("warning"),
        )));
    }
    for reason in reasons {
        lines.push(Line::raw(""));
        // What is missing, then what to do: each on its own line, so neither is cut off.
        for part in capitalized(&reason).split("; ") {
            lines.push(Line::from(Span::styled(
                part.to_string(),
                theme.style("warning"),
            )));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Symbols",
        theme.style("text.title"),
    )));
    lines.push(Line::from(vec![
        Span::styled(
            format!("  {} healthy  ", symbols.ok),
            theme.style("status.ok"),
        ),
        Span::styled(
            format!("{} progressing  ", symbols.progressing),
            theme.style("status.progressing"),
        ),
        Span::styled(
            format!("{} failing  ", symbols.failing),
            theme.style("status.failing"),
        ),
        Span::styled(
            format!("{} paused  ", symbols.paused),
            theme.style("status.paused"),
        ),
        Span::styled(
            format!("{} unknown", symbols.unknown),
            theme.style("status.unknown"),
        ),
    ]));
    lines.push(Line::from(vec![
        Span::styled(
            format!("  {} canary  ", symbols.canary),
            theme.style("canary"),
        ),
        Span::styled(
            format!("{} runs here  ", symbols.runs),
            theme.style("marker.runs"),
        ),
        Span::styled(
            format!("{} in prod registry  ", symbols.in_prod),
            theme.style("marker.prod"),
        ),
        Span::styled(
            format!("{} last known good  ", symbols.last_known_good),
            theme.style("marker.lkg"),
        ),
        Span::styled(
            format!("{} current revision", symbols.current),
            theme.style("status.ok"),
        ),
    ]));

    let rect = centered(area, 96, area.height.saturating_sub(2));
    let visible = rect.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(visible));
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style("modal.border"))
        .title(Line::from(" Help — Esc closes, ↑↓ scroll ").style(theme.style("pane.title")));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(u16::MAX as usize) as u16, 0))
            .block(block)
            .style(theme.style("text")),
        rect,
    );
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
