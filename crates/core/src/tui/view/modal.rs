//! Dialog frames: a write's plan to confirm (typed confirmation on protected environments),
//! the canary weight prompt, the quit question, a tag's details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use tui_input::Input;

use super::super::event::ConfirmRequest;
use super::super::state::State;
use super::super::state::view::ApprovalPrompt;
use super::widgets::{age, centered};
use crate::model::image::short_digest;

fn dialog(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    title: String,
    mut lines: Vec<Line>,
    protected: bool,
) {
    let theme = &state.ctx.theme;
    // A plan's title names the whole write (e.g. the route object): the dialog grows to show
    // it, and when the screen is too narrow the title moves into the body, where it wraps.
    let title_width = Line::raw(title.as_str()).width();
    let wanted = u16::try_from(title_width + 2).unwrap_or(u16::MAX).max(90);
    let width = wanted.min(area.width);
    let title = if title_width + 2 <= usize::from(width) {
        title
    } else {
        lines.insert(
            0,
            Line::from(Span::styled(
                title.trim().to_string(),
                theme.style("pane.title"),
            )),
        );
        String::new()
    };
    let inner = usize::from(width.saturating_sub(2)).max(1);
    // Long lines wrap; the last line (how to confirm) must never be cut off.
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let height = (rows as u16).saturating_add(2).min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let border = if protected {
        theme.style("env.protected")
    } else {
        theme.style("modal.border")
    };
    let block = Block::bordered()
        .border_style(border)
        .title(Line::from(title).style(theme.style("pane.title")));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block)
            .style(theme.style("text")),
        rect,
    );
}

pub fn confirm(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    request: &ConfirmRequest,
    input: &Input,
) {
    let theme = &state.ctx.theme;
    let protected = request.type_to_confirm.is_some();
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "environment {} · namespace {}",
            request.env, request.namespace
        ),
        if protected {
            theme.style("env.protected")
        } else {
            theme.style("text.dim")
        },
    ))];
    lines.push(Line::raw(""));
    for change in &request.changes {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", change.object), theme.style("text.title")),
            Span::styled(format!("{}: ", change.field), theme.style("text.dim")),
            Span::styled(change.from.clone(), theme.style("status.failing")),
            Span::raw(" → "),
            Span::styled(change.to.clone(), theme.style("status.ok")),
        ]));
    }
    for note in &request.notes {
        let style = if note.starts_with("warning") {
            theme.style("status.progressing")
        } else {
            theme.style("text.dim")
        };
        lines.push(Line::from(Span::styled(format!("  {note}"), style)));
    }
    lines.push(Line::raw(""));
    match &request.type_to_confirm {
        Some(expected) => lines.push(Line::from(vec![
            Span::raw(format!("Type {expected} to confirm: ")),
            Span::styled(format!("{}▏", input.value()), theme.style("input")),
            Span::styled("   Esc cancels", theme.style("text.dim")),
        ])),
        None => lines.push(Line::from(vec![
            Span::styled("Enter/y", theme.style("footer.key")),
            Span::raw(" apply   "),
            Span::styled("Esc/n", theme.style("footer.key")),
            Span::raw(" cancel"),
        ])),
    }
    dialog(
        frame,
        area,
        state,
        format!(" {} ", request.title),
        lines,
        protected,
    );
}

pub fn prompt(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    input: &Input,
    error: Option<&str>,
    approval: Option<&ApprovalPrompt>,
) {
    let theme = &state.ctx.theme;
    let service = state.view.selected_service.as_deref().unwrap_or("—");
    let env = state.focused_env().unwrap_or("—");
    let (title, label, mut lines) = match approval {
        None => (
            format!(" Set canary weight: {service} @ {env} "),
            "Canary weight in % (0-100): ",
            Vec::new(),
        ),
        Some(prompt) => (
            format!(" Approval needed: {} ", prompt.request),
            "Approval note: ",
            vec![
                Line::from(format!(
                    "{}: policy asks for an approval note",
                    prompt.reason
                )),
                Line::from(Span::styled(
                    "(a ticket or an approver; it is recorded in the audit log)",
                    theme.style("text.dim"),
                )),
            ],
        ),
    };
    lines.push(Line::from(vec![
        Span::raw(label),
        Span::styled(format!("{}▏", input.value()), theme.style("input")),
    ]));
    if let Some(error) = error {
        lines.push(Line::from(Span::styled(
            error.to_string(),
            theme.style("error"),
        )));
    }
    lines.push(Line::from(Span::styled(
        "Enter sends · Esc cancels",
        theme.style("text.dim"),
    )));
    dialog(frame, area, state, title, lines, false);
}

pub fn quit(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let mut lines: Vec<Line> = state
        .domain
        .writes_in_flight()
        .map(|w| {
            Line::from(format!(
                "{} {}: {}",
                theme.symbols.progressing, w.request, w.message
            ))
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("Quit anyway? "),
        Span::styled("y", theme.style("footer.key")),
        Span::raw(" quit · any other key stays"),
    ]));
    dialog(
        frame,
        area,
        state,
        " A write is in flight ".into(),
        lines,
        false,
    );
}

pub fn tag_details(frame: &mut Frame, area: Rect, state: &State, repository: &str, tag: &str) {
    let theme = &state.ctx.theme;
    let row = state
        .derived
        .selected
        .as_ref()
        .and_then(|s| s.tags.iter().find(|t| t.tag == tag));
    let details = state
        .domain
        .repos
        .get(repository)
        .and_then(|r| r.details.get(tag));
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:>10}  "), theme.style("text.dim")),
            Span::raw(value),
        ])
    };
    let mut lines = vec![field("image", format!("{repository}:{tag}"))];
    match details {
        Some(Ok(d)) => {
            lines.push(field(
                "digest",
                format!("{} ({})", d.digest, short_digest(&d.digest)),
            ));
            lines.push(field(
                "type",
                format!(
                    "{}{}",
                    d.media_type,
                    if d.is_index {
                        " (multi-arch index)"
                    } else {
                        ""
                    }
                ),
            ));
            lines.push(field(
                "size",
                format!("{:.1} MB", d.size as f64 / 1_000_000.0),
            ));
            lines.push(field(
                "created",
                d.created.map_or("unknown".into(), |c| {
                    format!("{c} ({} ago)", age(state.now, Some(c)))
                }),
            ));
            lines.push(field(
                "commit",
                d.revision.clone().unwrap_or_else(|| "—".into()),
            ));
            lines.push(field(
                "version",
                d.version.clone().unwrap_or_else(|| "—".into()),
            ));
            lines.push(field(
                "source",
                d.source.clone().unwrap_or_else(|| "—".into()),
            ));
        }
        Some(Err(error)) => lines.push(Line::from(Span::styled(
            error.clone(),
            theme.style("error"),
        ))),
        None => lines.push(field("details", "loading…".into())),
    }
    if let Some(row) = row {
        let envs: Vec<&str> = state
            .domain
            .snapshot
            .envs
            .iter()
            .zip(&row.runs)
            .filter(|(_, runs)| **runs)
            .map(|(e, _)| e.name.as_str())
            .collect();
        lines.push(field(
            "runs in",
            if envs.is_empty() {
                "nowhere".into()
            } else {
                envs.join(", ")
            },
        ));
        let mut marks = Vec::new();
        if row.in_prod {
            marks.push(format!("{} in prod registry", theme.symbols.in_prod));
        }
        if row.last_known_good {
            marks.push(format!("{} last known good", theme.symbols.last_known_good));
        }
        if !marks.is_empty() {
            lines.push(field("", marks.join("  ")));
        }
    }
    dialog(
        frame,
        area,
        state,
        format!(" Tag {tag} — Esc closes "),
        lines,
        false,
    );
}
