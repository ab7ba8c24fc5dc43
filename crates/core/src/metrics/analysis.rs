//! The analysis engine, pure: measurements in, verdicts and decisions out; no I/O, no clock.
//!
//! A *check* (one every interval) compares the candidate version's measurements with the
//! thresholds: error rate and p99 latency above their maximum fail, no traffic or no data is
//! inconclusive, and so is a provider that cannot answer; a failed smoke check fails. The
//! [`Analysis`] turns the sequence of checks into decisions:
//!
//! - a failed check counts; when `failure_limit` checks have failed (at least one), a canary
//!   is aborted and a rollout rolled back, with the last failure as the reason;
//! - a passing check advances a canary step, and promotes a rollout once its watch window is
//!   over;
//! - an inconclusive check pauses: nothing is promoted on missing evidence, and the reason
//!   says what was missing.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::health::RolloutHealth;
use super::templates::Metric;
use crate::config::AnalysisConfig;

/// Thresholds and pacing of one service's analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Highest acceptable share of 5xx responses (0.01 = 1%).
    pub error_rate_max: Option<f64>,
    pub latency_p99_ms_max: Option<f64>,
    #[serde(with = "secs")]
    pub interval: Duration,
    /// Failed checks that trigger the abort or rollback (0 counts as 1).
    pub failure_limit: u32,
    /// How long a rolling update or blue-green swap is watched before it is promoted.
    #[serde(with = "secs")]
    pub watch: Duration,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl Policy {
    pub fn from_config(c: &AnalysisConfig) -> Policy {
        Policy {
            error_rate_max: c.error_rate_max,
            latency_p99_ms_max: c.latency_p99_ms_max,
            interval: c.interval.max(Duration::from_secs(1)),
            failure_limit: c.failure_limit,
            watch: c.watch_after_deploy,
        }
    }

    fn limit(&self) -> u32 {
        self.failure_limit.max(1)
    }
}

/// One measured value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Reading {
    Value(f64),
    /// The query ran and found nothing (no series, or 0/0).
    #[default]
    NoData,
    /// The provider could not answer; the message says why.
    Unavailable(String),
}

impl Reading {
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value(v) => Some(*v),
            _ => None,
        }
    }
}

/// One version's measurements at one check. Error rate is a ratio, latency milliseconds,
/// request rate requests per second.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurements {
    pub request_rate: Reading,
    pub error_rate: Reading,
    pub latency_p99_ms: Reading,
}

impl Measurements {
    pub fn get(&self, m: Metric) -> &Reading {
        match m {
            Metric::RequestRate => &self.request_rate,
            Metric::ErrorRate => &self.error_rate,
            Metric::LatencyP99 => &self.latency_p99_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmokeResult {
    /// What was asked, e.g. `GET /healthz via service shop/orders-canary:http`.
    pub target: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub ok: bool,
    /// The answer's start or the error.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckInput {
    /// How the candidate is called in messages: `canary`, `v2.3.1`, `green`.
    pub candidate_name: String,
    pub candidate: Measurements,
    /// The version it is compared with, shown beside it (not judged).
    pub baseline: Option<Measurements>,
    pub smoke: Option<SmokeResult>,
    /// The candidate's pods and rollout progress (`Err`: they could not be read).
    pub health: Option<Result<RolloutHealth, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail { reason: String },
    Inconclusive { reason: String },
}

impl Verdict {
    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    RequestRate,
    ErrorRate,
    LatencyP99,
    Smoke,
    /// The candidate's pods: value = ready pods, threshold = desired.
    Readiness,
}

impl From<Metric> for Measure {
    fn from(m: Metric) -> Measure {
        match m {
            Metric::RequestRate => Measure::RequestRate,
            Metric::ErrorRate => Measure::ErrorRate,
            Metric::LatencyP99 => Measure::LatencyP99,
        }
    }
}

/// One line of a check: what was measured, against what, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricCheck {
    pub metric: Measure,
    /// The candidate's value (ratio, ms, rps; the smoke check's HTTP status).
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    pub threshold: Option<f64>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// 1 for the first check of an analysis.
    pub number: u32,
    pub at: Timestamp,
    pub checks: Vec<MetricCheck>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Judges one check.
pub fn evaluate(policy: &Policy, input: &CheckInput) -> (Vec<MetricCheck>, Verdict) {
    let who = &input.candidate_name;
    let mut checks = Vec::new();
    for metric in Metric::ALL {
        let reading = input.candidate.get(metric);
        let baseline = input.baseline.as_ref().and_then(|b| b.get(metric).value());
        let threshold = match metric {
            Metric::RequestRate => None,
            Metric::ErrorRate => policy.error_rate_max,
            Metric::LatencyP99 => policy.latency_p99_ms_max,
        };
        let verdict = match (reading, metric) {
            (Reading::Unavailable(why), _) => Verdict::Inconclusive {
                reason: format!("metrics unavailable: {why}"),
            },
            (Reading::NoData, Metric::RequestRate) => Verdict::Inconclusive {
                reason: format!("no traffic to {who} (no data)"),
            },
            (Reading::Value(v), Metric::RequestRate) if *v <= 0.0 => Verdict::Inconclusive {
                reason: format!("no traffic to {who} (0 requests/s)"),
            },
            (Reading::NoData, m) => Verdict::Inconclusive {
                reason: format!("no data for the {} of {who}", m.label()),
            },
            (Reading::Value(v), m) => match threshold {
                Some(max) if *v > max => Verdict::Fail {
                    reason: format!("{} {} > {}", m.label(), show(m, *v), show(m, max)),
                },
                _ => Verdict::Pass,
            },
        };
        checks.push(MetricCheck {
            metric: metric.into(),
            value: reading.value(),
            baseline,
            threshold,
            verdict,
        });
    }
    if let Some(smoke) = &input.smoke {
        let verdict = if smoke.ok {
            Verdict::Pass
        } else {
            Verdict::Fail {
                reason: format!("smoke check failed: {}: {}", smoke.target, smoke.detail),
            }
        };
        checks.push(MetricCheck {
            metric: Measure::Smoke,
            value: smoke.status.map(f64::from),
            baseline: None,
            threshold: None,
            verdict,
        });
    }
    if let Some(health) = &input.health {
        let (value, threshold, verdict) = match health {
            Ok(h) => (
                Some(f64::from(h.ready)),
                Some(f64::from(h.desired)),
                match h.failure(who) {
                    Some(reason) => Verdict::Fail { reason },
                    None => Verdict::Pass,
                },
            ),
            Err(e) => (None, None, Verdict::Inconclusive { reason: e.clone() }),
        };
        checks.push(MetricCheck {
            metric: Measure::Readiness,
            value,
            baseline: None,
            threshold,
            verdict,
        });
    }
    let failures: Vec<&str> = checks
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Fail { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    let verdict = if !failures.is_empty() {
        Verdict::Fail {
            reason: failures.join("; "),
        }
    } else if let Some(reason) = checks.iter().find_map(|c| match &c.verdict {
        Verdict::Inconclusive { reason } => Some(reason.clone()),
        _ => None,
    }) {
        Verdict::Inconclusive { reason }
    } else {
        Verdict::Pass
    };
    (checks, verdict)
}

/// A value as people read it: `18.4%`, `312 ms`, `42.0 req/s`.
pub fn show(metric: Metric, v: f64) -> String {
    match metric {
        Metric::ErrorRate => {
            let pct = v * 100.0;
            let text = if pct != 0.0 && pct.abs() < 0.1 {
                format!("{pct:.2}")
            } else {
                format!("{pct:.1}")
            };
            format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
        }
        Metric::LatencyP99 => format!("{v:.0} ms"),
        Metric::RequestRate => format!("{v:.1} req/s"),
    }
}

/// What the strategy driving the analysis should do next.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Keep checking.
    Continue,
    /// The canary step passed: move to the next weight.
    Advance,
    /// The watch window passed: the version is good.
    Promote,
    /// Not enough evidence to move on; hold where we are.
    Pause { why: String },
    /// Canary failed: all traffic back to stable.
    Abort { why: String },
    /// Rollout failed: back to the last known good.
    Rollback { why: String },
}

impl Decision {
    pub fn why(&self) -> Option<&str> {
        match self {
            Decision::Pause { why } | Decision::Abort { why } | Decision::Rollback { why } => {
                Some(why)
            }
            _ => None,
        }
    }
}

/// What is analysed, which decides the action a failure leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Canary steps: a pass advances, a failure aborts.
    Canary,
    /// A rolling update or a blue-green swap, watched for a window: a failure rolls back.
    Rollout,
}

/// The running analysis of one release.
#[derive(Debug, Clone)]
pub struct Analysis {
    policy: Policy,
    mode: Mode,
    checks: u32,
    failed: Vec<String>,
    inconclusive_streak: u32,
}

impl Analysis {
    pub fn new(policy: Policy, mode: Mode) -> Analysis {
        Analysis {
            policy,
            mode,
            checks: 0,
            failed: Vec::new(),
            inconclusive_streak: 0,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Failed checks so far (they count across canary steps).
    pub fn failures(&self) -> u32 {
        self.failed.len() as u32
    }

    /// Consecutive inconclusive checks up to now.
    pub fn inconclusive_streak(&self) -> u32 {
        self.inconclusive_streak
    }

    /// Judges the next check.
    pub fn check(&mut self, at: Timestamp, input: &CheckInput) -> CheckReport {
        self.checks += 1;
        let (checks, verdict) = evaluate(&self.policy, input);
        CheckReport {
            number: self.checks,
            at,
            checks,
            verdict,
        }
    }

    /// Folds a check into the decision; `window_over` says whether a rollout's watch window
    /// has elapsed at this check (ignored for canaries).
    pub fn decide(&mut self, report: &CheckReport, window_over: bool) -> Decision {
        match &report.verdict {
            Verdict::Fail { reason } => {
                self.inconclusive_streak = 0;
                self.failed.push(reason.clone());
                let n = self.failed.len() as u32;
                if n < self.policy.limit() {
                    return Decision::Continue;
                }
                let why = if n == 1 {
                    reason.clone()
                } else {
                    format!("{reason} for {n} checks")
                };
                match self.mode {
                    Mode::Canary => Decision::Abort { why },
                    Mode::Rollout => Decision::Rollback { why },
                }
            }
            Verdict::Inconclusive { reason } => {
                self.inconclusive_streak += 1;
                Decision::Pause {
                    why: reason.clone(),
                }
            }
            Verdict::Pass => {
                self.inconclusive_streak = 0;
                match self.mode {
                    Mode::Canary => Decision::Advance,
                    Mode::Rollout if window_over => Decision::Promote,
                    Mode::Rollout => Decision::Continue,
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
