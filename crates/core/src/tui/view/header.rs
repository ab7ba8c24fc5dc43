//! Header: environments with connection health, read-only badge, clock; and the protected
//! environment banner under it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::state::State;
use super::widgets::age;
use crate::cluster::ConnHealth;
use crate::model::derive::Health;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let symbols = &theme.symbols;
    let mut spans = vec![Span::styled(" shipdeck ", theme.style("text.title"))];
    if let Some(context) = &state.ctx.context_label {
        spans.push(Span::styled(format!("{context} "), theme.style("text.dim")));
    }
    for (i, env) in state.domain.snapshot.envs.iter().enumerate() {
        spans.push(Span::raw(" "));
        let mut name_style = if state.env_protected(&env.name) {
            theme.style("env.protected")
        } else {
            theme.style("env.normal")
        };
        if i == state.view.env {
            name_style = name_style.patch(theme.style("env.focused"));
        }
        let label = if i < 9 {
            format!("{} {}", i + 1, env.name)
        } else {
            env.name.clone()
        };
        spans.push(Span::styled(label, name_style));
        let (health, text) = match &env.health {
            ConnHealth::Connected => (Health::Ok, String::new()),
            ConnHealth::Connecting => (Health::Progressing, " connecting".into()),
            ConnHealth::Reconnecting { since, .. } => (
                Health::Progressing,
                format!(
                    " reconnecting since {} ({})",
                    since.strftime("%H:%M"),
                    age(state.now, Some(*since))
                ),
            ),
            ConnHealth::Forbidden { .. } => (Health::Failing, " forbidden".into()),
        };
        spans.push(Span::styled(
            format!(" {}{text}", symbols.health(health)),
            theme.health(health),
        ));
        if state.ctx.insecure_envs.contains(&env.name) {
            // Anyone on the path could read the token and change what is sent: never quiet.
            spans.push(Span::styled(
                format!(" {} TLS NOT VERIFIED", symbols.protected),
                theme.style("warning"),
            ));
        }
    }
    if state.ctx.read_only {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" READ-ONLY ", theme.style("banner.readonly")));
    }
    let clock = state.now.strftime("%H:%M:%S UTC ").to_string();
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let width = area.width as usize;
    if used + clock.len() < width {
        spans.push(Span::raw(" ".repeat(width - used - clock.len())));
        spans.push(Span::styled(clock, theme.style("text.dim")));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.style("header.bg")),
        area,
    );
}

pub fn render_banner(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    let env = state.focused_env().unwrap_or_default();
    let mark = theme.symbols.protected;
    // The longest that fits: cut mid-sentence it read "ask you to typ".
    let text = [
        format!(
            " {mark} PROTECTED: {env} — writes show the plan and ask you to type the service name"
        ),
        format!(" {mark} PROTECTED: {env} — writes ask you to type the service name"),
        format!(" {mark} PROTECTED: {env}"),
    ]
    .into_iter()
    .find(|t| Line::raw(t.as_str()).width() <= usize::from(area.width))
    .unwrap_or_else(|| format!(" {mark} {env}"));
    frame.render_widget(
        Paragraph::new(text).style(theme.style("banner.protected")),
        area,
    );
}
