//! Release analysis in the rollout panel: a header with the last check's verdict and the
//! countdown to the next, one row per version with sparklines of request rate, error rate and
//! p99 (current value, verdict mark, thresholds in the column heads), the other checks
//! (smoke, pods), and what the guard would do. The verdict reads first: header, decision,
//! then the table and the other checks. Every line fits the panel's width (long ones are
//! wrapped here, so the panel can give the section exact rows), and when rows are short the
//! details go first: other checks, column heads, versions; the decision goes last.

use jiff::Timestamp;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::super::state::State;
use super::super::state::analysis::{AnalysisView, Series, VersionSeries};
use super::widgets::ellipsize;
use crate::metrics::analysis::{Decision, Measure, MetricCheck, Mode, Verdict, show};
use crate::metrics::templates::Metric;
use crate::metrics::text::check_text;
use crate::model::format::human_duration;
use crate::theme::{Symbols, Theme};

const SPARK: [&str; 8] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
const SPARK_ASCII: [&str; 8] = ["_", ".", "-", "~", "=", "+", "*", "#"];
/// Columns of a value: `14.7/s`, `18.4%`, `312 ms`, `no data`.
const VALUE_WIDTH: usize = 8;

/// The analysis lines for a panel `width` columns wide, in at most `rows` rows.
pub fn lines(state: &State, a: &AnalysisView, width: usize, rows: usize) -> Vec<Line<'static>> {
    if width < 8 || rows == 0 {
        return Vec::new();
    }
    let theme = &state.ctx.theme;
    // (display order, lines), listed by priority.
    let mut parts: Vec<(u8, Vec<Line<'static>>)> = Vec::new();
    if let Some(error) = &a.error {
        let text = format!("analysis unavailable: {error}");
        parts.push((0, wrap(&text, "", width, theme.style("warning"))));
    } else {
        parts.extend(decision(theme, a, width).map(|d| (1, d)));
        parts.push((0, vec![header(theme, a, state.now, width)]));
        let table = Table::new(a, width);
        for (i, v) in a.versions.iter().enumerate() {
            parts.push((3, vec![table.row(theme, a, v, i == 0)]));
        }
        if !a.versions.is_empty() {
            parts.push((2, vec![table.heads(theme, a)]));
        }
        let others = other_checks(theme, a, width);
        if !others.is_empty() {
            parts.push((4, others));
        }
    }
    let mut kept: Vec<(u8, usize, Vec<Line<'static>>)> = Vec::new();
    let mut used = 0;
    for (i, (order, part)) in parts.into_iter().enumerate() {
        if used + part.len() <= rows {
            used += part.len();
            kept.push((order, i, part));
        }
    }
    // Display order; versions keep theirs (candidate first).
    kept.sort_by_key(|(order, i, _)| (*order, *i));
    kept.into_iter().flat_map(|(_, _, part)| part).collect()
}

fn symbols(theme: &Theme) -> &Symbols {
    &theme.symbols
}

fn verdict_mark(theme: &Theme, verdict: &Verdict) -> (&'static str, Style) {
    let s = symbols(theme);
    match verdict {
        Verdict::Pass => (s.ok, theme.style("status.ok")),
        Verdict::Fail { .. } => (s.failing, theme.style("status.failing")),
        Verdict::Inconclusive { .. } => (s.unknown, theme.style("status.unknown")),
    }
}

/// `analysis ✓ check 7 passed · next check in 12s · acts after 2 failed checks`
fn header(theme: &Theme, a: &AnalysisView, now: Timestamp, width: usize) -> Line<'static> {
    let dim = theme.style("text.dim");
    let mut spans = vec![Span::styled("analysis ", dim)];
    match &a.report {
        Some(report) => {
            let (mark, style) = verdict_mark(theme, &report.verdict);
            let word = match report.verdict {
                Verdict::Pass => "passed",
                Verdict::Fail { .. } => "failed",
                Verdict::Inconclusive { .. } => "inconclusive",
            };
            spans.push(Span::styled(
                format!("{mark} check {} {word}", report.number),
                style,
            ));
        }
        None => spans.push(Span::styled(
            format!("{} first check running", symbols(theme).progressing),
            theme.style("status.progressing"),
        )),
    }
    if let Some(next) = a.next_check {
        let left = next.duration_since(now);
        let text = if left.as_secs() > 0 {
            format!(" · next check in {}", human_duration(left))
        } else {
            " · checking now".to_string()
        };
        spans.push(Span::styled(text, theme.style("text")));
    }
    if let Some(policy) = &a.policy {
        let every = jiff::SignedDuration::try_from(policy.interval).unwrap_or_default();
        let limit = a.failure_limit();
        spans.push(Span::styled(
            format!(
                " · every {} · acts after {limit} failed {}",
                human_duration(every),
                if limit == 1 { "check" } else { "checks" }
            ),
            dim,
        ));
    }
    fit(spans, width)
}

/// Column geometry shared by the heads and the rows.
struct Table {
    name: usize,
    cell: usize,
    spark: usize,
}

impl Table {
    fn new(a: &AnalysisView, width: usize) -> Table {
        let name = a
            .versions
            .iter()
            .map(|v| v.name.chars().count() + 1)
            .max()
            .unwrap_or(8)
            .min(12);
        let cell = width.saturating_sub(name) / 3;
        // A sparkline of fewer than 3 points says nothing: values only.
        let spark = cell.saturating_sub(VALUE_WIDTH + 4);
        Table {
            name,
            cell,
            spark: if spark >= 3 { spark } else { 0 },
        }
    }

    /// `req/s   errors ≤ 1%   p99 ≤ 300 ms`: the thresholds.
    fn heads(&self, theme: &Theme, a: &AnalysisView) -> Line<'static> {
        let style = theme.style("table.header");
        let mut spans = vec![Span::raw(" ".repeat(self.name))];
        for metric in Metric::ALL {
            let threshold = a.policy.as_ref().and_then(|p| match metric {
                Metric::RequestRate => None,
                Metric::ErrorRate => p.error_rate_max,
                Metric::LatencyP99 => p.latency_p99_ms_max,
            });
            let name = match metric {
                Metric::RequestRate => "req/s",
                Metric::ErrorRate => "errors",
                Metric::LatencyP99 => "p99",
            };
            let text = match threshold {
                Some(t) => format!("{name} ≤ {}", show(metric, t)),
                None => name.to_string(),
            };
            let text = ellipsize(&text, self.cell.saturating_sub(1));
            spans.push(Span::styled(format!("{text:<w$}", w = self.cell), style));
        }
        Line::from(spans)
    }

    fn row(
        &self,
        theme: &Theme,
        a: &AnalysisView,
        v: &VersionSeries,
        candidate: bool,
    ) -> Line<'static> {
        let canary = a.mode == Some(Mode::Canary);
        let (name_style, spark_style) = match (candidate, canary) {
            (true, true) => (theme.style("canary"), theme.style("canary")),
            (true, false) => (theme.style("text"), theme.style("text")),
            (false, _) => (theme.style("text.dim"), theme.style("text.dim")),
        };
        let name = ellipsize(&v.name, self.name.saturating_sub(1));
        let mut spans = vec![Span::styled(
            format!("{name:<w$}", w = self.name),
            name_style,
        )];
        let ascii = *symbols(theme) == Symbols::ASCII;
        for metric in Metric::ALL {
            let series = v.get(metric);
            if self.spark > 0 {
                let max = scale(a, metric, self.spark);
                spans.push(Span::styled(
                    sparkline(series, self.spark, max, ascii),
                    spark_style,
                ));
            }
            let check = a
                .report
                .as_ref()
                .filter(|_| candidate)
                .and_then(|r| r.checks.iter().find(|c| c.metric == Measure::from(metric)));
            let (mark, value_style) = match check {
                Some(c) => {
                    let (mark, style) = verdict_mark(theme, &c.verdict);
                    let style = if metric == Metric::RequestRate && c.verdict.is_pass() {
                        theme.style("text")
                    } else {
                        style
                    };
                    (mark, style)
                }
                None if candidate => ("", theme.style("text")),
                None => ("", theme.style("text.dim")),
            };
            let value = series
                .last()
                .map_or("no data".into(), |x| value_text(metric, x));
            spans.push(Span::styled(format!(" {value:>7}"), value_style));
            spans.push(Span::styled(format!(" {mark:<1}"), value_style));
            let used = self.spark + VALUE_WIDTH + 2;
            spans.push(Span::raw(" ".repeat(self.cell.saturating_sub(used))));
        }
        Line::from(spans)
    }
}

fn value_text(metric: Metric, v: f64) -> String {
    match metric {
        Metric::RequestRate => format!("{v:.1}/s"),
        other => show(other, v),
    }
}

/// The value a full block stands for: the highest visible value of any version, and for
/// error rate and p99 at least the threshold (so a low line means "far below it").
fn scale(a: &AnalysisView, metric: Metric, width: usize) -> f64 {
    let visible = a
        .versions
        .iter()
        .flat_map(|v| {
            let points = &v.get(metric).points;
            points.iter().skip(points.len().saturating_sub(width))
        })
        .filter_map(|p| *p)
        .fold(0.0_f64, f64::max);
    let threshold = a.policy.as_ref().and_then(|p| match metric {
        Metric::RequestRate => None,
        Metric::ErrorRate => p.error_rate_max,
        Metric::LatencyP99 => p.latency_p99_ms_max,
    });
    threshold.map_or(visible, |t| visible.max(t))
}

/// The last `width` points, right-aligned; a blank where a check had no data.
fn sparkline(series: &Series, width: usize, max: f64, ascii: bool) -> String {
    let levels = if ascii { &SPARK_ASCII } else { &SPARK };
    let points = &series.points;
    let shown = points.len().min(width);
    let mut out = " ".repeat(width - shown);
    for p in points.iter().skip(points.len() - shown) {
        match p {
            Some(v) if max > 0.0 => {
                let level = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
                out.push_str(levels[level]);
            }
            Some(_) => out.push_str(levels[0]),
            None => out.push(' '),
        }
    }
    out
}

/// The checks without a column: smoke and the candidate's pods.
fn other_checks(theme: &Theme, a: &AnalysisView, width: usize) -> Vec<Line<'static>> {
    let Some(report) = &a.report else {
        return Vec::new();
    };
    let items: Vec<(&MetricCheck, String)> = report
        .checks
        .iter()
        .filter(|c| matches!(c.metric, Measure::Smoke | Measure::Readiness))
        .map(|c| (c, check_text(c, None)))
        .collect();
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (check, text) in items {
        let (mark, style) = verdict_mark(theme, &check.verdict);
        let item = ellipsize(&format!("{mark} {text}"), width);
        let len = item.chars().count();
        let gap = if spans.is_empty() { 0 } else { 3 };
        if used + gap + len > width && !spans.is_empty() {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        } else if gap > 0 {
            spans.push(Span::raw("   "));
            used += gap;
        }
        spans.push(Span::styled(item, style));
        used += len;
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

/// What the guard would do after this check, and why: the line the on-call engineer reads.
fn decision(theme: &Theme, a: &AnalysisView, width: usize) -> Option<Vec<Line<'static>>> {
    let s = symbols(theme);
    let decision = a.decision.as_ref()?;
    let back_to = a.target.as_ref().and_then(|t| t.baseline.as_ref());
    let undo = match (a.mode, back_to) {
        (Some(Mode::Canary), Some(b)) => format!("abort the canary (all traffic to {})", b.name),
        (Some(Mode::Canary), None) => "abort the canary".to_string(),
        (_, Some(b)) => format!("roll back to {}", b.name),
        (_, None) => "roll back".to_string(),
    };
    let (mark, style, text) = match decision {
        Decision::Abort { why } | Decision::Rollback { why } => {
            (s.failing, "status.failing", format!("would {undo}: {why}"))
        }
        Decision::Pause { why } => (s.paused, "status.paused", format!("would pause: {why}")),
        Decision::Advance => (
            s.ok,
            "status.ok",
            "would advance to the next canary step".to_string(),
        ),
        Decision::Promote => (
            s.ok,
            "status.ok",
            format!("healthy: would keep {}", a.candidate().unwrap_or("it")),
        ),
        Decision::Continue => match a.report.as_ref().map(|r| &r.verdict) {
            Some(Verdict::Fail { reason }) => {
                let left = a.failure_limit().saturating_sub(a.failures).max(1);
                let checks = if left == 1 { "check" } else { "checks" };
                (
                    s.failing,
                    "status.failing",
                    format!("would {undo} after {left} more failed {checks}: {reason}"),
                )
            }
            _ => (s.ok, "status.ok", "passing".to_string()),
        },
    };
    Some(wrap(&text, mark, width, theme.style(style)))
}

/// `mark text`, word-wrapped to `width` (continuation lines indented under the text).
fn wrap(text: &str, mark: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    let indent = if mark.is_empty() {
        0
    } else {
        mark.chars().count() + 1
    };
    let room = width.saturating_sub(indent).max(1);
    let mut rows: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let last = rows.last_mut().expect("one row at least");
        let len = last.chars().count();
        if len > 0 && len + 1 + word.chars().count() > room {
            rows.push(String::new());
        }
        let last = rows.last_mut().expect("one row at least");
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(word);
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let lead = match (i, indent) {
                (_, 0) => String::new(),
                (0, _) => format!("{mark} "),
                _ => " ".repeat(indent),
            };
            Line::from(Span::styled(
                format!("{lead}{}", ellipsize(&row, room)),
                style,
            ))
        })
        .collect()
}

/// Spans cut to `width` columns, the cut marked with `…`.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut left = width;
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        let len = span.content.chars().count();
        if len <= left {
            left -= len;
            out.push(span);
        } else {
            out.push(Span::styled(ellipsize(&span.content, left), span.style));
            break;
        }
    }
    Line::from(out)
}
