//! Revisions of the selected service in the focused environment: ReplicaSets (newest first,
//! ▶ current, ⚑ last known good) and, for Helm-managed services, the release history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

use super::super::actions::Pane;
use super::super::state::State;
use super::super::state::derived::RevisionItem;
use super::widgets::{Columns, age, ellipsize, pane_block, selection_style, windowed_table};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let name = state.view.selected_service.as_deref().unwrap_or("—");
    let env = state.focused_env().unwrap_or("—");
    let selected = state.derived.selected.as_ref();
    let helm = selected
        .and_then(|s| s.helm_release.as_ref())
        .map_or(String::new(), |r| format!(" · helm {r}"));
    let block = pane_block(
        state,
        Pane::Revisions,
        Line::from(format!(" Revisions: {name} @ {env}{helm} ")),
    );
    let Some(selected) = selected.filter(|s| !s.revisions.is_empty()) else {
        let text = match selected {
            Some(s) if s.in_env.primary.is_none() => format!("{name} is not deployed in {env}"),
            _ => "no revisions".into(),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.style("text.dim"))).block(block),
            area,
        );
        return;
    };
    let inner = area.width.saturating_sub(4);
    // Which Deployment a revision belongs to matters for canary and blue-green, but not more
    // than the change-cause when space is short.
    let multi = selected.in_env.secondary.is_some() && inner >= 48;
    let role_width: u16 = if multi { 6 } else { 0 };
    let fixed = 2 + 3 + 10 + 5 + 5 + role_width + 5 + u16::from(multi);
    let cause_width = inner.saturating_sub(fixed).max(4);
    let mut widths = vec![Constraint::Length(2), Constraint::Length(3)];
    if multi {
        widths.push(Constraint::Length(role_width));
    }
    widths.extend([
        Constraint::Length(10),
        Constraint::Length(cause_width),
        Constraint::Length(5),
        Constraint::Length(5),
    ]);
    let mut header = vec![Span::raw(""), Span::raw("REV")];
    if multi {
        header.push(Span::raw("OF"));
    }
    header.extend([
        Span::raw("TAG"),
        Span::raw("CHANGE-CAUSE"),
        Span::raw("AGE"),
        Span::raw("READY"),
    ]);
    let roles: Vec<(String, String)> = selected
        .in_env
        .workloads()
        .map(|w| {
            (
                w.deployment.metadata.name.clone().unwrap_or_default(),
                w.role.clone(),
            )
        })
        .collect();
    let drill = state.view.revision_drill.as_deref();

    windowed_table(
        frame,
        area,
        state,
        block,
        Columns { header, widths },
        selected.revision_rows.len(),
        state.view.revisions.selected,
        state.view.revisions.offset,
        selection_style(state, Pane::Revisions),
        |i| match &selected.revisions[selected.revision_rows[i]] {
            RevisionItem::ReplicaSet(row) => {
                let mark = if row.current {
                    Span::styled(symbols.current, theme.style("status.ok"))
                } else if row.known_good {
                    Span::styled(symbols.last_known_good, theme.style("marker.lkg"))
                } else {
                    Span::raw(" ")
                };
                let drilled = drill == Some(row.replica_set.as_str());
                let mut cells = vec![
                    Cell::from(Line::from(vec![
                        mark,
                        Span::raw(if drilled { "»" } else { " " }),
                    ])),
                    Cell::from(row.revision.to_string()),
                ];
                if multi {
                    let role = roles
                        .iter()
                        .find(|(d, _)| d == &row.deployment)
                        .map_or("", |(_, r)| r.as_str());
                    cells.push(Cell::from(Span::styled(
                        role.to_string(),
                        theme.style("text.dim"),
                    )));
                }
                let ready_style = if row.desired > 0 && row.ready >= row.desired {
                    theme.style("status.ok")
                } else if row.desired > 0 {
                    theme.style("status.progressing")
                } else {
                    theme.style("text.dim")
                };
                cells.extend([
                    Cell::from(ellipsize(&row.tag(), 10)),
                    Cell::from(ellipsize(&row.change_cause, cause_width as usize)),
                    Cell::from(age(state.now, row.created)),
                    Cell::from(Span::styled(
                        format!("{}/{}", row.ready, row.desired),
                        ready_style,
                    )),
                ]);
                cells
            }
            RevisionItem::Helm(helm) => {
                let status_style = match helm.status.as_str() {
                    "deployed" => theme.style("status.ok"),
                    "failed" => theme.style("status.failing"),
                    s if s.starts_with("pending") => theme.style("status.progressing"),
                    _ => theme.style("text.dim"),
                };
                let mut cells = vec![
                    Cell::from(Span::styled("H", theme.style("text.dim"))),
                    Cell::from(helm.revision.to_string()),
                ];
                if multi {
                    cells.push(Cell::from("helm"));
                }
                let cause = format!(
                    "{} {}-{} {}",
                    helm.status, helm.chart, helm.chart_version, helm.description
                );
                cells.extend([
                    Cell::from(ellipsize(&helm.app_version, 10)),
                    Cell::from(Span::styled(
                        ellipsize(&cause, cause_width as usize),
                        status_style,
                    )),
                    Cell::from(age(state.now, helm.updated)),
                    Cell::from(""),
                ]);
                cells
            }
        },
    );
}
