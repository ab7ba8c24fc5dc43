//! Footer: the keys that apply where the focus is (from the action registry), greyed with the
//! reason when writes are refused; or the latest notice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::actions::REGISTRY;
use super::super::state::State;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.ctx.theme;
    if let Some(notice) = &state.view.notice {
        let style = if notice.error {
            theme.style("error")
        } else {
            theme.style("text")
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {}", notice.text), style)),
            area,
        );
        return;
    }
    if state.view.filters.editing.is_some() {
        let line = Line::from(vec![
            Span::styled(" Enter", theme.style("footer.key")),
            Span::styled(" keep filter  ", theme.style("footer.text")),
            Span::styled("Esc", theme.style("footer.key")),
            Span::styled(" clear filter", theme.style("footer.text")),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let focus = state.view.focus;
    let read_only = state
        .focused_env()
        .and_then(|env| state.read_only_reason(env))
        .is_some();
    // Keys the API server would refuse (RBAC), and the first reason, shortened.
    let mut not_allowed: Option<String> = None;
    // Writes and pane-specific keys first: they are what this pane is for.
    let mut items: Vec<_> = REGISTRY
        .iter()
        .filter(|i| i.in_footer && i.action.applies_to(focus))
        .collect();
    items.sort_by_key(|i| (!i.writes, i.panes.is_empty()));
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    let budget = (area.width as usize).saturating_sub(if read_only { 29 } else { 0 });
    let refusals: Vec<Option<String>> = items
        .iter()
        .map(|i| state.write_refusal(i.action))
        .collect();
    if !read_only {
        not_allowed = refusals.iter().flatten().next().map(|r| short_refusal(r));
    }
    let reserve = not_allowed.as_ref().map_or(0, |t| t.chars().count() + 1);
    let budget = budget.saturating_sub(reserve);
    for (info, refusal) in items.into_iter().zip(&refusals) {
        let key = state.ctx.keymap.short_label(info.action);
        let text = format!(" {}  ", short(info.name));
        let width = key.chars().count() + text.chars().count();
        if key.is_empty() || used + width > budget {
            continue;
        }
        used += width;
        let disabled = info.writes && (read_only || refusal.is_some());
        let (key_style, text_style) = if disabled {
            (
                theme.style("footer.disabled"),
                theme.style("footer.disabled"),
            )
        } else {
            (theme.style("footer.key"), theme.style("footer.text"))
        };
        spans.push(Span::styled(key, key_style));
        spans.push(Span::styled(text, text_style));
    }
    if read_only {
        spans.push(Span::styled(
            "(read-only: writes disabled)",
            theme.style("warning"),
        ));
    } else if let Some(text) = not_allowed {
        spans.push(Span::styled(text, theme.style("warning")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `not allowed: patch deployments.apps in shop (context c) …` → `(not allowed: patch
/// deployments.apps in shop)`: the footer names what is missing; `?` and the key say the rest.
fn short_refusal(reason: &str) -> String {
    let what = reason
        .strip_prefix("not allowed: ")
        .and_then(|r| r.split(" (context").next())
        .unwrap_or(reason);
    format!("(not allowed: {what})")
}

/// Footer words: `rollback_last_known_good` → `rollback-lkg`.
fn short(name: &str) -> String {
    match name {
        "rollback_last_known_good" => "last-good".into(),
        "actions_log" => "actions".into(),
        "copy_image" => "copy".into(),
        "drill_in" => "open".into(),
        "next_env" => "env".into(),
        other => other.replace('_', "-"),
    }
}
