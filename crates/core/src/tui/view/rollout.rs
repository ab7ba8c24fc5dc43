//! Rollout of the selected service in the focused environment: strategy state (canary weight,
//! active colour), progress gauges per Deployment, kubectl's status sentence, release analysis
//! (see `analysis`), pod warnings, and the progress of writes shipdeck sent.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::super::actions::Pane;
use super::super::state::State;
use super::analysis;
use super::widgets::{gauge, pane_block};
use crate::model::derive::Health;
use crate::model::derive::rollout::status_sentence;
use crate::model::derive::services::{ServiceInEnv, TrafficState, Workload};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let name = state.view.selected_service.as_deref().unwrap_or("—");
    let env = state.focused_env().unwrap_or("—");
    let block = pane_block(
        state,
        Pane::Rollout,
        Line::from(format!(" Rollout: {name} @ {env} ")),
    );
    let Some(selected) = &state.derived.selected else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let in_env = &selected.in_env;
    let mut lines: Vec<Line> = Vec::new();
    let bar = (area.width.saturating_sub(36) as usize).clamp(4, 30);
    let label_width = in_env
        .workloads()
        .map(|w| w.role.len() + 1)
        .max()
        .unwrap_or(0)
        + 10;

    let health_span = Span::styled(
        format!("{} {}", symbols.health(in_env.health), in_env.phase),
        theme.health(in_env.health),
    );
    let tag_of = |w: Option<&Workload>| {
        w.and_then(|w| w.image.as_ref())
            .map_or("—".to_string(), |i| i.display_tag())
    };
    match &in_env.traffic {
        TrafficState::Rolling => {
            lines.push(Line::from(vec![
                Span::styled("rolling ", theme.style("text.dim")),
                Span::raw(tag_of(in_env.primary.as_ref())),
                Span::raw("  "),
                health_span,
            ]));
        }
        TrafficState::Canary { weight } => {
            lines.push(Line::from(vec![
                Span::styled(format!("canary {} ", symbols.canary), theme.style("canary")),
                Span::raw(format!(
                    "stable {} · canary {}  ",
                    tag_of(in_env.primary.as_ref()),
                    tag_of(in_env.secondary.as_ref())
                )),
                health_span,
            ]));
            match weight {
                Some(w) => {
                    let mut spans = vec![Span::styled(
                        format!("{:<label_width$}", "weight"),
                        theme.style("text.dim"),
                    )];
                    spans.extend(gauge(
                        state,
                        w.percent.round() as i64,
                        100,
                        bar,
                        format!("{}% via {}", w.percent.round(), w.source),
                    ));
                    lines.push(Line::from(spans));
                }
                None => lines.push(Line::from(Span::styled(
                    "weight    unknown: the route object is missing or names neither backend",
                    theme.style("warning"),
                ))),
            }
        }
        TrafficState::BlueGreen { active, preview } => {
            let active_text = active.clone().unwrap_or_else(|| "?".into());
            let mut spans = vec![
                Span::styled("blue-green ", theme.style("text.dim")),
                Span::styled(format!("active {active_text} "), theme.style("status.ok")),
                Span::raw(format!("({}) ", tag_of(in_env.primary.as_ref()))),
            ];
            if let Some(idle) = &in_env.secondary {
                let role = preview.as_ref().map_or("idle", |_| "preview");
                spans.push(Span::styled(
                    format!("· {role} {} ({}) ", idle.role, tag_of(Some(idle))),
                    theme.style("text.dim"),
                ));
            }
            spans.push(health_span);
            lines.push(Line::from(spans));
        }
    }

    let full = workload_lines(state, in_env, bar, label_width, false);
    let mut tail: Vec<Line> = Vec::new();
    if in_env.primary.is_none() {
        tail.push(Line::from(Span::styled(
            format!("{name} has no Deployment in {env}"),
            theme.style("text.dim"),
        )));
    }

    for warning in in_env.warnings().take(4) {
        let mut text = format!("{} {}: {}", symbols.failing, warning.pod, warning.reason);
        if !warning.message.is_empty() {
            text.push_str(&format!(" — {}", warning.message));
        }
        tail.push(Line::from(Span::styled(
            text,
            theme.style("status.failing"),
        )));
    }

    let service = state.view.selected_service.as_deref().unwrap_or_default();
    for status in state
        .domain
        .releases
        .values()
        .rev()
        .filter(|r| r.request.service == service && r.request.env == env)
        .take(2)
    {
        let (symbol, style) = if status.cancelled {
            (symbols.unknown, theme.style("text.dim"))
        } else if status.failed {
            (symbols.failing, theme.style("status.failing"))
        } else if status.done {
            (symbols.ok, theme.style("status.ok"))
        } else {
            (symbols.progressing, theme.style("status.progressing"))
        };
        tail.push(Line::from(Span::styled(
            format!("{symbol} {}: {}", status.request, status.message),
            style,
        )));
    }

    let Some(analysis) = state.domain.analysis.as_ref() else {
        lines.extend(full);
        lines.extend(tail);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    };

    // Analysis sits under the rollout in rows of its own, so wrapped warnings above cannot
    // push its verdict out of the pane. When rows are short the gauges shrink to one line per
    // Deployment first; then the section keeps at least its header and verdict.
    let inner = block.inner(area);
    let (width, height) = (inner.width as usize, inner.height as usize);
    let wanted = analysis::lines(state, analysis, width, height).len();
    let head = wrapped_rows(&lines, width);
    let tail_rows = wrapped_rows(&tail, width);
    let workloads = if head + wrapped_rows(&full, width) + tail_rows + wanted <= height {
        full
    } else {
        workload_lines(state, in_env, bar, label_width, true)
    };
    let above = head + wrapped_rows(&workloads, width);
    let room = height.saturating_sub(above + tail_rows).max(3.min(height));
    let section = analysis::lines(state, analysis, width, room);
    lines.extend(workloads);
    lines.extend(tail);
    let top = wrapped_rows(&lines, width).min(height.saturating_sub(section.len()));
    frame.render_widget(block, area);
    let [top_area, analysis_area] = Layout::vertical([
        Constraint::Length(top as u16),
        Constraint::Length(section.len() as u16),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top_area);
    frame.render_widget(Paragraph::new(section), analysis_area);
}

/// Rows `lines` take in a paragraph `width` columns wide, wrapped at spaces like
/// `Wrap { trim: false }`.
fn wrapped_rows(lines: &[Line], width: usize) -> usize {
    let width = width.max(1);
    lines
        .iter()
        .map(|line| {
            let mut rows = 1;
            let mut used = 0;
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            for (i, word) in text.split(' ').enumerate() {
                let len = word.chars().count() + usize::from(i > 0);
                if used + len > width && used > 0 {
                    rows += 1;
                    used = word.chars().count();
                } else {
                    used += len;
                }
                while used > width {
                    rows += 1;
                    used -= width;
                }
            }
            rows
        })
        .sum()
}

/// Progress per Deployment: `updated`, `ready` and `available` gauges and kubectl's status
/// sentence; `compact`, the `ready` gauge alone, and the sentence only when something is wrong
/// (it then says what the other gauges would).
fn workload_lines<'a>(
    state: &State,
    in_env: &ServiceInEnv,
    bar: usize,
    label_width: usize,
    compact: bool,
) -> Vec<Line<'a>> {
    let theme = &state.ctx.theme;
    let mut lines = Vec::new();
    for workload in in_env.workloads() {
        let p = &workload.progress;
        let label = if workload.role.is_empty() {
            String::new()
        } else {
            format!("{} ", workload.role)
        };
        let gauges: &[(&str, i32)] = if compact {
            &[("ready", p.ready)]
        } else {
            &[
                ("updated", p.updated),
                ("ready", p.ready),
                ("available", p.available),
            ]
        };
        for &(what, value) in gauges {
            let mut spans = vec![Span::styled(
                format!("{:<label_width$}", format!("{label}{what}")),
                theme.style("text.dim"),
            )];
            spans.extend(gauge(
                state,
                i64::from(value),
                i64::from(p.desired),
                bar,
                format!("{value}/{}", p.desired),
            ));
            lines.push(Line::from(spans));
        }
        let health = p.health(&workload.warnings);
        if compact && health == Health::Ok {
            continue;
        }
        let sentence = status_sentence(p, &workload.warnings);
        let style = match health {
            Health::Failing => theme.style("status.failing"),
            Health::Ok => theme.style("text.dim"),
            _ => theme.style("status.progressing"),
        };
        lines.push(Line::from(Span::styled(sentence, style)));
    }
    lines
}
