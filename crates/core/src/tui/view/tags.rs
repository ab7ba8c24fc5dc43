//! Registry tags of the selected service: semver order, short digest, age, where each runs
//! (●, per environment), in the prod registry (★), last known good (⚑).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

use super::super::actions::Pane;
use super::super::state::State;
use super::super::state::derived::TagsStatus;
use super::widgets::{Columns, age, ellipsize, pane_block, selection_style, windowed_table};
use crate::model::image::short_digest;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let selected = state.derived.selected.as_ref();
    let name = state.view.selected_service.as_deref().unwrap_or("—");
    let count = selected.map_or(String::new(), |s| {
        format!(" {}/{}", s.tag_rows.len(), s.tags.len())
    });
    let block = pane_block(
        state,
        Pane::Tags,
        Line::from(format!(" Tags: {name}{count} ")),
    );

    let Some(selected) = selected.filter(|s| !s.tags.is_empty()) else {
        let message = match selected.map(|s| &s.tags_status) {
            None => "no service selected".to_string(),
            Some(TagsStatus::NoRepository) => {
                "no repository: set `registry` on the environment in shipdeck.toml".into()
            }
            Some(TagsStatus::Loading) => "loading tags…".into(),
            Some(TagsStatus::Failed(error)) => format!("registry error: {error}"),
            Some(TagsStatus::Ready) => "no tags in this repository".into(),
        };
        let style = match selected.map(|s| &s.tags_status) {
            Some(TagsStatus::Failed(_)) => theme.style("error"),
            _ => theme.style("text.dim"),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(message, style))
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    };

    let envs = &state.domain.snapshot.envs;
    let where_width = envs.len().max(3) as u16;
    let inner = area.width.saturating_sub(4);
    let digest_width: u16 = if inner >= 38 { 14 } else { 0 };
    let spacing = 4 + u16::from(digest_width > 0);
    let fixed = digest_width + 5 + where_width + 2 + spacing;
    let tag_width = inner.saturating_sub(fixed).max(6);
    let mut widths = vec![Constraint::Length(tag_width)];
    if digest_width > 0 {
        widths.push(Constraint::Length(digest_width));
    }
    widths.extend([
        Constraint::Length(5),
        Constraint::Length(where_width),
        Constraint::Length(2),
    ]);
    let initials: String = envs
        .iter()
        .map(|e| e.name.chars().next().unwrap_or('?').to_string())
        .collect::<Vec<_>>()
        .concat();
    let mut header = vec![Span::raw("TAG")];
    if digest_width > 0 {
        header.push(Span::raw("DIGEST"));
    }
    header.extend([
        Span::raw("AGE"),
        Span::raw(initials),
        Span::raw(format!("{}{}", symbols.in_prod, symbols.last_known_good)),
    ]);

    windowed_table(
        frame,
        area,
        state,
        block,
        Columns { header, widths },
        selected.tag_rows.len(),
        state.view.tags.selected,
        state.view.tags.offset,
        selection_style(state, Pane::Tags),
        |i| {
            let tag = &selected.tags[selected.tag_rows[i]];
            let mut cells = vec![Cell::from(ellipsize(&tag.tag, tag_width as usize))];
            if digest_width > 0 {
                let digest = match (&tag.digest, &tag.error) {
                    (Some(d), _) => Span::styled(short_digest(d), theme.style("text.dim")),
                    (None, Some(_)) => Span::styled("error", theme.style("error")),
                    (None, None) => Span::styled("…", theme.style("text.dim")),
                };
                cells.push(Cell::from(digest));
            }
            cells.push(Cell::from(match tag.created {
                Some(t) => age(state.now, Some(t)),
                None => String::new(),
            }));
            let runs: Vec<Span> = tag
                .runs
                .iter()
                .map(|runs| {
                    if *runs {
                        Span::styled(symbols.runs, theme.style("marker.runs"))
                    } else {
                        Span::styled(symbols.not_here, theme.style("text.dim"))
                    }
                })
                .collect();
            cells.push(Cell::from(Line::from(runs)));
            cells.push(Cell::from(Line::from(vec![
                if tag.in_prod {
                    Span::styled(symbols.in_prod, theme.style("marker.prod"))
                } else {
                    Span::raw(" ")
                },
                if tag.last_known_good {
                    Span::styled(symbols.last_known_good, theme.style("marker.lkg"))
                } else {
                    Span::raw(" ")
                },
            ])));
            cells
        },
    );
}
