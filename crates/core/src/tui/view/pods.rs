//! Pods of the selected service (or of the drilled-in revision), live, with kubectl's cells.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

use super::super::actions::Pane;
use super::super::state::State;
use super::widgets::{Columns, age, ellipsize, pane_block, selection_style, windowed_table};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let env = state.focused_env().unwrap_or("—");
    let of = match &state.view.revision_drill {
        Some(rs) => rs.clone(),
        None => state
            .view
            .selected_service
            .clone()
            .unwrap_or_else(|| "—".into()),
    };
    let selected = state.derived.selected.as_ref();
    let count = selected.map_or(String::new(), |s| format!(" {}", s.pod_rows.len()));
    let block = pane_block(
        state,
        Pane::Pods,
        Line::from(format!(" Pods: {of} @ {env}{count} ")),
    );
    let Some(selected) = selected.filter(|s| !s.pods.is_empty()) else {
        frame.render_widget(
            Paragraph::new(Span::styled("no pods", theme.style("text.dim"))).block(block),
            area,
        );
        return;
    };
    let inner = area.width.saturating_sub(4);
    let node_width: u16 = if inner >= 80 { 12 } else { 0 };
    let age_width: u16 = if inner >= 40 { 5 } else { 0 };
    // `8 (100s ago)` outgrows the usual width once restarts reach two digits or the last one
    // is minutes old: the column grows for it (up to 15) rather than cutting the cell.
    let widest_restarts = selected
        .pods
        .iter()
        .map(|p| p.restarts_cell(state.now).chars().count())
        .max()
        .unwrap_or(0);
    let restarts_width: u16 = if inner >= 50 {
        (widest_restarts as u16).clamp(11, 15)
    } else {
        3
    };
    let status_width: u16 = if inner >= 60 { 16 } else { 10 };
    let columns = 3 + u16::from(node_width > 0) + u16::from(age_width > 0);
    let fixed = 5 + status_width + restarts_width + age_width + node_width + columns;
    let name_width = inner.saturating_sub(fixed).max(8);
    let mut widths = vec![
        Constraint::Length(name_width),
        Constraint::Length(5),
        Constraint::Length(status_width),
        Constraint::Length(restarts_width),
    ];
    let mut header = [
        "NAME",
        "READY",
        "STATUS",
        if restarts_width > 3 {
            "RESTARTS"
        } else {
            "RST"
        },
    ]
    .map(Span::raw)
    .to_vec();
    if age_width > 0 {
        widths.push(Constraint::Length(age_width));
        header.push(Span::raw("AGE"));
    }
    if node_width > 0 {
        widths.push(Constraint::Length(node_width));
        header.push(Span::raw("NODE"));
    }
    windowed_table(
        frame,
        area,
        state,
        block,
        Columns { header, widths },
        selected.pod_rows.len(),
        state.view.pods.selected,
        state.view.pods.offset,
        selection_style(state, Pane::Pods),
        |i| {
            let pod = &selected.pods[selected.pod_rows[i]];
            let status_style = if pod.warning {
                theme.style("status.failing")
            } else if pod.healthy {
                theme.style("status.ok")
            } else if pod.status == "Terminating" || pod.status == "Completed" {
                theme.style("text.dim")
            } else {
                theme.style("status.progressing")
            };
            let mut cells = vec![
                Cell::from(ellipsize(&pod.name, name_width as usize)),
                Cell::from(pod.ready.clone()),
                Cell::from(Span::styled(
                    ellipsize(&pod.status, status_width as usize),
                    status_style,
                )),
                // Narrow: the count alone ("6", not a cut "6 (").
                Cell::from(if restarts_width > 3 {
                    fit_restarts(pod.restarts_cell(state.now), restarts_width as usize)
                } else {
                    pod.summary.restarts.to_string()
                }),
            ];
            if age_width > 0 {
                cells.push(Cell::from(age(state.now, pod.created)));
            }
            if node_width > 0 {
                cells.push(Cell::from(ellipsize(&pod.node, node_width as usize)));
            }
            cells
        },
    );
}

/// kubectl's `7 (4m38s ago)` when it fits, else the count alone: cut at the column edge it
/// read `7 (4m38s ag`, and the count is what matters when space is short.
fn fit_restarts(cell: String, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell;
    }
    match cell.split_once(' ') {
        Some((count, _)) => count.to_string(),
        None => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::fit_restarts;

    #[test]
    fn restarts_keep_the_count_when_the_time_does_not_fit() {
        assert_eq!(fit_restarts("6 (95s ago)".into(), 11), "6 (95s ago)");
        assert_eq!(fit_restarts("7 (4m38s ago)".into(), 11), "7");
        assert_eq!(fit_restarts("12".into(), 3), "12");
    }
}
