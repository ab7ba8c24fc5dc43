//! Building blocks shared by the panes: framed panes, windowed tables (only visible rows are
//! built), ages, text gauges.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Row, Table};

use super::super::actions::Pane;
use super::super::state::State;
use crate::model::format::human_duration;

/// The frame of a pane: focused panes get the accent border; an active filter shows at the
/// bottom.
pub fn pane_block<'a>(state: &State, pane: Pane, title: Line<'a>) -> Block<'a> {
    let theme = &state.ctx.theme;
    let focused = state.view.focus == pane;
    let mut block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.style(if focused {
            "pane.focused"
        } else {
            "pane.border"
        }))
        .title(title.style(theme.style("pane.title")));
    let filter = state.view.filters.get(pane);
    let editing = state.view.filters.editing == Some(pane);
    if editing || !filter.is_empty() {
        let text = match (&state.view.filter_input, editing) {
            (Some(input), true) => format!(" /{}▏", input.value()),
            _ => format!(" /{filter} "),
        };
        block = block.title_bottom(Line::from(Span::styled(text, theme.style("input"))));
    }
    block
}

/// The columns of a table and how they are headed.
pub struct Columns<'a> {
    pub header: Vec<Span<'a>>,
    pub widths: Vec<Constraint>,
}

/// A table over `len` rows of which only the window at `offset` is built. The selected row
/// gets a `›` gutter mark (visible without colour) and `selection` style.
#[allow(clippy::too_many_arguments)]
pub fn windowed_table<'a>(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    block: Block<'a>,
    columns: Columns<'a>,
    len: usize,
    selected: usize,
    offset: usize,
    selection: Style,
    mut row: impl FnMut(usize) -> Vec<Cell<'a>>,
) {
    let height = area.height.saturating_sub(3) as usize;
    let offset = window_offset(selected, offset, height, len);
    let mark = if state.ctx.theme.symbols.ok == "+" {
        ">"
    } else {
        "›"
    };
    let rows: Vec<Row> = (offset..len.min(offset + height))
        .map(|i| {
            let gutter = Cell::from(if i == selected { mark } else { " " });
            let r = Row::new(std::iter::once(gutter).chain(row(i)));
            if i == selected { r.style(selection) } else { r }
        })
        .collect();
    let mut header = vec![Span::raw(" ")];
    header.extend(columns.header);
    let widths = std::iter::once(Constraint::Length(1)).chain(columns.widths);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(state.ctx.theme.style("table.header")))
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// The stored offset, corrected so the selection is on screen (update keeps it so; this only
/// guards a size change between update and draw).
pub fn window_offset(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    if height == 0 || len == 0 {
        return 0;
    }
    let mut offset = offset.min(len.saturating_sub(1));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

pub fn selection_style(state: &State, pane: Pane) -> Style {
    let theme = &state.ctx.theme;
    if state.view.focus == pane {
        theme.style("selection")
    } else {
        theme.style("selection.unfocused")
    }
}

/// kubectl's AGE: `45s`, `5m`, `2d3h`; `<unknown>` without a timestamp.
pub fn age(now: Timestamp, then: Option<Timestamp>) -> String {
    match then {
        Some(then) => human_duration(now.duration_since(then)),
        None => "<unknown>".into(),
    }
}

/// `████████░░░░ 3/4`-style gauge of `value` out of `total`, `width` cells of bar.
pub fn gauge<'a>(
    state: &State,
    value: i64,
    total: i64,
    width: usize,
    label: String,
) -> Vec<Span<'a>> {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let filled = if total > 0 {
        ((value.clamp(0, total) as usize * width) + (total as usize / 2)) / total as usize
    } else {
        0
    };
    vec![
        Span::styled(
            symbols.gauge_full.repeat(filled),
            theme.style("gauge.filled"),
        ),
        Span::styled(
            symbols.gauge_empty.repeat(width.saturating_sub(filled)),
            theme.style("gauge.empty"),
        ),
        Span::raw(" "),
        Span::styled(label, theme.style("text")),
    ]
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
pub fn ellipsize(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
