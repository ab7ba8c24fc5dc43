//! PromQL templates per metric, with placeholders filled per service and version:
//! `{env}`, `{namespace}`, `{service}`, `{version_selector}` (a label matcher such as
//! `track="canary"`), `{window}` (the rate window: the analysis interval, at least a minute;
//! see `runner::rate_window`). A service overrides any of them with
//! `[service.analysis] queries = { error_rate = "..." }`.
//!
//! The defaults assume the conventional HTTP instrumentation (`http_requests_total` with a
//! `code` label, `http_request_duration_seconds` histogram) with `env`, `namespace`,
//! `service` and per-version labels (`track`, `deployment`, `version`), which is what the
//! sandbox's simulator exposes.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    RequestRate,
    ErrorRate,
    LatencyP99,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::RequestRate, Metric::ErrorRate, Metric::LatencyP99];

    /// The name used in `analysis.queries` and in reports.
    pub fn key(self) -> &'static str {
        match self {
            Metric::RequestRate => "request_rate",
            Metric::ErrorRate => "error_rate",
            Metric::LatencyP99 => "latency_p99",
        }
    }

    pub fn from_key(key: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.key() == key)
    }

    /// How people say it: "error rate".
    pub fn label(self) -> &'static str {
        match self {
            Metric::RequestRate => "request rate",
            Metric::ErrorRate => "error rate",
            Metric::LatencyP99 => "p99 latency",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

const SELECTOR: &str =
    r#"env="{env}",namespace="{namespace}",service="{service}",{version_selector}"#;

/// The default query of a metric. Error rate is `(5xx or 0) / all`, so a version without a
/// single error reads 0 rather than "no data", and one without traffic reads "no data".
pub fn default_template(metric: Metric) -> String {
    match metric {
        Metric::RequestRate => format!("sum(rate(http_requests_total{{{SELECTOR}}}[{{window}}]))"),
        Metric::ErrorRate => format!(
            "(sum(rate(http_requests_total{{{SELECTOR},code=~\"5..\"}}[{{window}}])) or vector(0)) / sum(rate(http_requests_total{{{SELECTOR}}}[{{window}}]))"
        ),
        // Seconds; the analysis converts to milliseconds.
        Metric::LatencyP99 => format!(
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{SELECTOR}}}[{{window}}])))"
        ),
    }
}

/// What fills the placeholders for one version of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Vars<'a> {
    pub env: &'a str,
    pub namespace: &'a str,
    pub service: &'a str,
    pub version_selector: &'a str,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    queries: BTreeMap<Metric, String>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            queries: Metric::ALL
                .into_iter()
                .map(|m| (m, default_template(m)))
                .collect(),
        }
    }
}

impl Templates {
    /// The defaults with a service's overrides; an unknown metric name is an error naming it.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Templates, String> {
        let mut t = Templates::default();
        for (key, query) in overrides {
            let metric = Metric::from_key(key).ok_or_else(|| {
                format!(
                    "unknown metric {key:?} in analysis.queries (known: request_rate, error_rate, latency_p99)"
                )
            })?;
            t.queries.insert(metric, query.clone());
        }
        Ok(t)
    }

    pub fn template(&self, metric: Metric) -> &str {
        &self.queries[&metric]
    }

    pub fn render(&self, metric: Metric, vars: &Vars) -> String {
        render(self.template(metric), vars)
    }
}

pub fn render(template: &str, vars: &Vars) -> String {
    template
        .replace("{env}", vars.env)
        .replace("{namespace}", vars.namespace)
        .replace("{service}", vars.service)
        .replace("{version_selector}", vars.version_selector)
        .replace("{window}", &prom_duration(vars.window))
}

/// A Prometheus duration (`30s`, `5m`, `1m30s`); at least one second.
pub fn prom_duration(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            env: "prod",
            namespace: "shop",
            service: "orders",
            version_selector: r#"track="canary""#,
            window: Duration::from_secs(30),
        }
    }

    #[test]
    fn defaults_render_per_version() {
        let t = Templates::default();
        assert_eq!(
            t.render(Metric::RequestRate, &vars()),
            r#"sum(rate(http_requests_total{env="prod",namespace="shop",service="orders",track="canary"}[30s]))"#
        );
        assert_eq!(
            t.render(Metric::ErrorRate, &vars()),
            r#"(sum(rate(http_requests_total{env="prod",namespace="shop",service="orders",track="canary",code=~"5.."}[30s])) or vector(0)) / sum(rate(http_requests_total{env="prod",namespace="shop",service="orders",track="canary"}[30s]))"#
        );
        assert!(t.render(Metric::LatencyP99, &vars()).starts_with("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{env=\"prod\""));
    }

    #[test]
    fn overrides_replace_one_metric_and_unknown_names_are_refused() {
        let mut o = BTreeMap::new();
        o.insert(
            "error_rate".to_string(),
            "sum(errors{service=\"{service}\"})".to_string(),
        );
        let t = Templates::with_overrides(&o).expect("valid");
        assert_eq!(
            t.render(Metric::ErrorRate, &vars()),
            "sum(errors{service=\"orders\"})"
        );
        assert_eq!(
            t.template(Metric::RequestRate),
            default_template(Metric::RequestRate)
        );
        o.insert("errors".to_string(), "x".to_string());
        let err = Templates::with_overrides(&o).expect_err("unknown metric");
        assert!(err.contains("\"errors\""), "{err}");
        assert_eq!(prom_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(prom_duration(Duration::from_millis(10)), "1s");
    }
}
