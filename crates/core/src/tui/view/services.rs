//! Services: one row per service, the tag running in each environment side by side with its
//! health, and the rollout phase in the focused environment.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::super::actions::Pane;
use super::super::state::State;
use crate::cluster::ConnHealth;

use super::widgets::{Columns, ellipsize, pane_block, selection_style, windowed_table};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let envs = &state.domain.snapshot.envs;
    let derived = &state.derived;
    let title = Line::from(format!(
        " Services {}/{} ",
        derived.service_rows.len(),
        derived.rows.len()
    ));
    let block = pane_block(state, Pane::Services, title);

    // Borders and the selection gutter.
    let inner = area.width.saturating_sub(4);
    let name_width = derived
        .rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 20) as u16;
    let phase_width: u16 = if inner >= 58 { 12 } else { 0 };
    let env_count = envs.len().max(1) as u16;
    let spacing = env_count + 1 + u16::from(phase_width > 0);
    let env_width = inner
        .saturating_sub(name_width + phase_width + spacing)
        .checked_div(env_count)
        .unwrap_or(0)
        .max(3);

    let mut widths = vec![Constraint::Length(name_width)];
    widths.extend(envs.iter().map(|_| Constraint::Length(env_width)));
    if phase_width > 0 {
        widths.push(Constraint::Length(phase_width));
    }
    let mut header = vec![Span::raw("NAME")];
    for (i, env) in envs.iter().enumerate() {
        let mut style = theme.style("table.header");
        if state.env_protected(&env.name) {
            style = style.patch(theme.style("env.protected"));
        }
        if i == state.view.env {
            style = style.patch(theme.style("env.focused"));
        }
        header.push(Span::styled(env.name.to_uppercase(), style));
    }
    if phase_width > 0 {
        header.push(Span::raw("PHASE"));
    }

    let focused_env = state.view.env;
    // What an unreachable cluster last said is shown, but dimmed: it may be stale.
    let reachable: Vec<bool> = envs
        .iter()
        .map(|e| matches!(e.health, ConnHealth::Connected | ConnHealth::Connecting))
        .collect();
    windowed_table(
        frame,
        area,
        state,
        block,
        Columns { header, widths },
        derived.service_rows.len(),
        state.view.services.selected,
        state.view.services.offset,
        selection_style(state, Pane::Services),
        |i| {
            let row = &derived.rows[derived.service_rows[i]];
            let mut cells = vec![Cell::from(ellipsize(&row.name, name_width as usize))];
            for (env_index, cell) in row.cells.iter().enumerate() {
                let fresh = reachable.get(env_index).copied().unwrap_or(true);
                let symbol_style = if fresh {
                    theme.health(cell.health)
                } else {
                    theme.style("text.dim")
                };
                let mut spans = vec![Span::styled(symbols.health(cell.health), symbol_style)];
                let tag = cell.tag.as_deref().unwrap_or("—");
                let canary = if cell.canary_tag.is_some() { 2 } else { 0 };
                spans.push(Span::raw(" "));
                let tag = ellipsize(tag, (env_width as usize).saturating_sub(2 + canary));
                spans.push(if fresh {
                    Span::raw(tag)
                } else {
                    Span::styled(tag, theme.style("text.dim"))
                });
                if cell.canary_tag.is_some() {
                    spans.push(Span::styled(
                        format!(" {}", symbols.canary),
                        theme.style("canary"),
                    ));
                }
                cells.push(Cell::from(Line::from(spans)));
            }
            if phase_width > 0 {
                let phase = row.cells.get(focused_env);
                let text = phase.map_or("", |c| c.phase.as_str());
                let style = phase.map_or(theme.style("text.dim"), |c| theme.health(c.health));
                cells.push(Cell::from(Span::styled(
                    ellipsize(text, phase_width as usize),
                    style,
                )));
            }
            cells
        },
    );
}
