//! One line per analysis event, as the headless CLI prints progress and the console's log
//! can show it.

use super::analysis::{Decision, Measure, MetricCheck, Verdict};
use super::runner::AnalysisEvent;
use super::templates::Metric;

fn metric_of(m: Measure) -> Option<Metric> {
    match m {
        Measure::RequestRate => Some(Metric::RequestRate),
        Measure::ErrorRate => Some(Metric::ErrorRate),
        Measure::LatencyP99 => Some(Metric::LatencyP99),
        Measure::Smoke | Measure::Readiness => None,
    }
}

/// `error rate 0.1% (stable 0.1%) ≤ 1%`.
pub fn check_text(c: &MetricCheck, baseline_name: Option<&str>) -> String {
    let Some(metric) = metric_of(c.metric) else {
        return match c.metric {
            Measure::Smoke => format!(
                "smoke {}",
                c.value.map_or("no answer".into(), |s| format!("HTTP {s}"))
            ),
            _ => match (c.value, c.threshold) {
                (Some(r), Some(d)) => format!("{r}/{d} pods ready"),
                _ => "pods unknown".into(),
            },
        };
    };
    let value = c
        .value
        .map_or("no data".into(), |v| super::analysis::show(metric, v));
    let mut out = format!("{} {value}", metric.label());
    if let (Some(b), Some(name)) = (c.baseline, baseline_name) {
        out.push_str(&format!(" ({name} {})", super::analysis::show(metric, b)));
    }
    if let Some(t) = c.threshold {
        let op = if matches!(c.verdict, Verdict::Fail { .. }) {
            ">"
        } else {
            "≤"
        };
        out.push_str(&format!(" {op} {}", super::analysis::show(metric, t)));
    }
    out
}

pub fn describe(event: &AnalysisEvent) -> Option<String> {
    Some(match event {
        AnalysisEvent::Started {
            target,
            mode,
            policy,
        } => {
            let versus = target
                .baseline
                .as_ref()
                .map(|b| format!(" vs {}", b.name))
                .unwrap_or_default();
            let mut limits = Vec::new();
            if let Some(e) = policy.error_rate_max {
                limits.push(format!(
                    "error rate ≤ {}",
                    super::analysis::show(Metric::ErrorRate, e)
                ));
            }
            if let Some(l) = policy.latency_p99_ms_max {
                limits.push(format!(
                    "p99 ≤ {}",
                    super::analysis::show(Metric::LatencyP99, l)
                ));
            }
            let mode = match mode {
                super::analysis::Mode::Canary => "canary",
                super::analysis::Mode::Rollout => "rollout",
            };
            format!(
                "analysis of {} in {} ({mode}): {}{versus}; {}; every {}s, {} failed check(s) act",
                target.service,
                target.env,
                target.candidate.name,
                if limits.is_empty() {
                    "no thresholds".into()
                } else {
                    limits.join(", ")
                },
                policy.interval.as_secs(),
                policy.failure_limit.max(1)
            )
        }
        AnalysisEvent::Waiting { .. } => return None,
        AnalysisEvent::Checked { report, versions } => {
            let baseline = versions.get(1).map(|v| v.version.as_str());
            let parts: Vec<String> = report
                .checks
                .iter()
                .map(|c| check_text(c, baseline))
                .collect();
            let (mark, why) = match &report.verdict {
                Verdict::Pass => ("✓ pass", String::new()),
                Verdict::Fail { reason } => ("✗ fail", format!(" — {reason}")),
                Verdict::Inconclusive { reason } => ("? inconclusive", format!(" — {reason}")),
            };
            format!("check {}: {mark}: {}{why}", report.number, parts.join(", "))
        }
        AnalysisEvent::Decided { decision, .. } => match decision {
            Decision::Continue => return None,
            Decision::Advance => "→ step passed".into(),
            Decision::Promote => "✓ watch window passed".into(),
            Decision::Pause { why } => format!("⏸ paused: {why}"),
            Decision::Abort { why } => format!("✗ abort: {why}"),
            Decision::Rollback { why } => format!("✗ roll back: {why}"),
        },
        AnalysisEvent::Acted {
            action,
            summary,
            reason,
            ..
        } => format!("→ {action}: {summary} ({reason})"),
    })
}
