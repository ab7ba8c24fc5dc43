//! Rollout of the selected service in the focused environment: strategy state (canary weight,
//! active colour), progress gauges per Deployment, kubectl's status sentence, pod warnings, and
//! the progress of writes shipdeck sent.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::super::actions::Pane;
use super::super::state::State;
use super::widgets::{gauge, pane_block};
use crate::model::derive::Health;
use crate::model::derive::rollout::status_sentence;
use crate::model::derive::services::{TrafficState, Workload};

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

    for workload in in_env.workloads() {
        let p = &workload.progress;
        let label = if workload.role.is_empty() {
            String::new()
        } else {
            format!("{} ", workload.role)
        };
        for (what, value) in [
            ("updated", p.updated),
            ("ready", p.ready),
            ("available", p.available),
        ] {
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
        let sentence = status_sentence(p, &workload.warnings);
        let style = match p.health(&workload.warnings) {
            Health::Failing => theme.style("status.failing"),
            Health::Ok => theme.style("text.dim"),
            _ => theme.style("status.progressing"),
        };
        lines.push(Line::from(Span::styled(sentence, style)));
    }
    if in_env.primary.is_none() {
        lines.push(Line::from(Span::styled(
            format!("{name} has no Deployment in {env}"),
            theme.style("text.dim"),
        )));
    }

    for warning in in_env.warnings().take(4) {
        let mut text = format!("{} {}: {}", symbols.failing, warning.pod, warning.reason);
        if !warning.message.is_empty() {
            text.push_str(&format!(" — {}", warning.message));
        }
        lines.push(Line::from(Span::styled(
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
        lines.push(Line::from(Span::styled(
            format!("{symbol} {}: {}", status.request, status.message),
            style,
        )));
    }

    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
