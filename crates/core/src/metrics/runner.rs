//! The analysis loop: every interval, measure the candidate (and its baseline) through the
//! provider, run the smoke check, let the [`Analysis`] judge, and report everything as
//! [`AnalysisEvent`]s. Time comes from a [`Ticker`], so tests drive it with a virtual clock.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::analysis::{
    Analysis, CheckInput, CheckReport, Decision, Measurements, Mode, Policy, Reading,
};
use super::health::HealthSource;
use super::provider::{Prometheus, ProviderError};
use super::smoke::SmokeCheck;
use super::templates::{Metric, Templates, Vars};

/// Where time comes from.
pub trait Ticker: Send + Sync {
    fn now(&self) -> Timestamp;
    fn sleep_until(&self, t: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// True when the metrics source runs on this same clock (a simulated world): queries then
    /// name their evaluation instant, so what a check sees does not depend on when its
    /// request happens to be served.
    fn pins_query_time(&self) -> bool {
        false
    }
}

/// The wall clock (tokio's timer).
pub struct WallClock;

impl Ticker for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, t: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let span = t.duration_since(Timestamp::now());
        let wait = Duration::try_from(span).unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// One version of the service, as the metrics tell it apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// How it is called in reports: `canary`, `stable`, `v2.3.1`, `green`.
    pub name: String,
    /// The label matcher that selects its series, e.g. `track="canary"`.
    pub selector: String,
}

impl Side {
    /// Canary and stable pods carry a `track` label.
    pub fn track(track: &str) -> Side {
        Side {
            name: track.to_string(),
            selector: format!("track=\"{track}\""),
        }
    }

    /// Blue-green colours are separate Deployments.
    pub fn deployment(name: &str, deployment: &str) -> Side {
        Side {
            name: name.to_string(),
            selector: format!("deployment=\"{deployment}\""),
        }
    }

    /// Old and new ReplicaSets of a rolling update run different image tags.
    pub fn version(tag: &str) -> Side {
        Side {
            name: tag.to_string(),
            selector: format!("version=\"{tag}\""),
        }
    }
}

/// What an analysis looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub env: String,
    pub namespace: String,
    pub service: String,
    pub candidate: Side,
    pub baseline: Option<Side>,
}

/// How a check measures: the provider, the service's templates, its smoke check, and where
/// the candidate's pods are read from.
#[derive(Clone)]
pub struct Probe {
    pub provider: Prometheus,
    pub templates: Templates,
    pub smoke: Option<SmokeCheck>,
    pub health: Option<Arc<dyn HealthSource>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("provider", &self.provider.url())
            .field("smoke", &self.smoke.as_ref().map(SmokeCheck::describe))
            .field("health", &self.health.is_some())
            .finish()
    }
}

/// One version's values at a check, for sparklines (`None`: no data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionSample {
    pub version: String,
    pub request_rate: Option<f64>,
    pub error_rate: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

impl VersionSample {
    fn of(name: &str, m: &Measurements) -> VersionSample {
        VersionSample {
            version: name.to_string(),
            request_rate: m.request_rate.value(),
            error_rate: m.error_rate.value(),
            latency_p99_ms: m.latency_p99_ms.value(),
        }
    }
}

/// What the loop reports, in order: `Started`, then per check `Waiting` (the countdown),
/// `Checked`, `Decided`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AnalysisEvent {
    Started {
        target: Target,
        mode: Mode,
        policy: Policy,
    },
    /// The next check runs at `next_check` (what a countdown counts to).
    Waiting {
        next_check: Timestamp,
    },
    Checked {
        report: CheckReport,
        /// Candidate first, then the baseline.
        versions: Vec<VersionSample>,
    },
    Decided {
        at: Timestamp,
        decision: Decision,
    },
    /// A release action taken because of a decision (or to move the release on): planned,
    /// executed and journaled like a person's, with `reason`.
    Acted {
        at: Timestamp,
        /// The release action's name: `canary-set`, `canary-abort`, `rollback`, `swap`, ...
        action: String,
        summary: String,
        reason: String,
    },
}

/// Receives events (the console forwards them to its app loop; the CLI prints them).
pub type Sink = Arc<dyn Fn(AnalysisEvent) + Send + Sync>;

/// A sink that drops everything.
pub fn no_sink() -> Sink {
    Arc::new(|_| {})
}

/// What [`Runner::run`] waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// A canary step: until a check passes (advance) or the failures reach the limit (abort).
    Step,
    /// A rollout: until the window ends with a passing check (promote) or it fails (roll back).
    Watch { until: Timestamp },
}

pub struct Runner {
    pub probe: Probe,
    pub target: Target,
    pub ticker: Arc<dyn Ticker>,
    pub sink: Sink,
    pub analysis: Analysis,
    /// Consecutive inconclusive checks after which [`Runner::run`] gives up with `Pause`.
    pub pause_limit: u32,
}

impl Runner {
    pub fn new(
        probe: Probe,
        target: Target,
        policy: Policy,
        mode: Mode,
        ticker: Arc<dyn Ticker>,
        sink: Sink,
    ) -> Runner {
        // Pausing longer than a watch window is waiting for a human, not for data.
        let per_window = policy.watch.as_secs_f64() / policy.interval.as_secs_f64().max(1.0);
        let pause_limit = (per_window.floor() as u32).max(1);
        sink(AnalysisEvent::Started {
            target: target.clone(),
            mode,
            policy: policy.clone(),
        });
        Runner {
            probe,
            target,
            ticker,
            sink,
            analysis: Analysis::new(policy, mode),
            pause_limit,
        }
    }

    fn interval(&self) -> Duration {
        self.analysis.policy().interval
    }

    /// Checks every interval until a decision other than `Continue` (or a pause longer than
    /// the pause limit). `Pause` is reported at each inconclusive check and the loop goes on:
    /// data may come back.
    pub async fn run(&mut self, goal: Goal) -> Decision {
        let mut previous = None;
        loop {
            let next = following_check(previous, self.ticker.now(), self.interval());
            previous = Some(next);
            (self.sink)(AnalysisEvent::Waiting { next_check: next });
            self.ticker.sleep_until(next).await;
            let report = self.check(next).await;
            let window_over = matches!(goal, Goal::Watch { until } if next >= until);
            let decision = self.analysis.decide(&report, window_over);
            (self.sink)(AnalysisEvent::Decided {
                at: next,
                decision: decision.clone(),
            });
            match decision {
                Decision::Continue => {}
                Decision::Pause { .. }
                    if self.analysis.inconclusive_streak() < self.pause_limit => {}
                other => return other,
            }
        }
    }

    /// One check at `at`: measurements of both versions and the smoke check, judged.
    pub async fn check(&mut self, at: Timestamp) -> CheckReport {
        let pinned = self.ticker.pins_query_time().then_some(at);
        let candidate = self.measure(&self.target.candidate, pinned);
        let baseline = async {
            match &self.target.baseline {
                Some(side) => Some(self.measure(side, pinned).await),
                None => None,
            }
        };
        let smoke = async {
            match &self.probe.smoke {
                Some(s) => Some(s.run().await),
                None => None,
            }
        };
        let health = async {
            match &self.probe.health {
                Some(h) => Some(h.health().await),
                None => None,
            }
        };
        let (candidate, baseline, smoke, health) =
            futures::join!(candidate, baseline, smoke, health);
        let mut versions = vec![VersionSample::of(&self.target.candidate.name, &candidate)];
        if let (Some(side), Some(b)) = (&self.target.baseline, &baseline) {
            versions.push(VersionSample::of(&side.name, b));
        }
        let input = CheckInput {
            candidate_name: self.target.candidate.name.clone(),
            candidate,
            baseline,
            smoke,
            health,
        };
        let report = self.analysis.check(at, &input);
        (self.sink)(AnalysisEvent::Checked {
            report: report.clone(),
            versions,
        });
        report
    }

    /// The three metrics of one version, queried concurrently.
    pub async fn measure(&self, side: &Side, at: Option<Timestamp>) -> Measurements {
        let vars = self.vars(side, rate_window(self.interval()));
        let [rate_q, errors_q, p99_q] = Metric::ALL.map(|m| self.probe.templates.render(m, &vars));
        let p = &self.probe.provider;
        let (rate, errors, p99) = futures::join!(
            p.value(&rate_q, at),
            p.value(&errors_q, at),
            p.value(&p99_q, at)
        );
        Measurements {
            request_rate: reading(rate, 1.0),
            error_rate: reading(errors, 1.0),
            latency_p99_ms: reading(p99, 1000.0),
        }
    }

    fn vars<'a>(&'a self, side: &'a Side, window: Duration) -> Vars<'a> {
        Vars {
            env: &self.target.env,
            namespace: &self.target.namespace,
            service: &self.target.service,
            version_selector: &side.selector,
            window,
        }
    }

    /// Each metric of `side` over the last `span`, a point every `step` (rates over a
    /// one-minute window, or `step` if longer): history for sparklines.
    pub async fn history(
        &self,
        side: &Side,
        span: Duration,
        step: Duration,
    ) -> Result<BTreeMap<Metric, Vec<(Timestamp, f64)>>, ProviderError> {
        let end = self.ticker.now();
        let start = end - SignedDuration::try_from(span).unwrap_or_default();
        let vars = self.vars(side, step.max(Duration::from_secs(60)));
        let mut out = BTreeMap::new();
        for metric in Metric::ALL {
            let query = self.probe.templates.render(metric, &vars);
            let series = self.probe.provider.range(&query, start, end, step).await?;
            let scale = if metric == Metric::LatencyP99 {
                1000.0
            } else {
                1.0
            };
            let points = series
                .into_iter()
                .next()
                .map(|s| {
                    s.points
                        .into_iter()
                        .filter(|(_, v)| !v.is_nan())
                        .map(|(t, v)| (t, v * scale))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(metric, points);
        }
        Ok(out)
    }
}

/// The shortest rate window a check uses. A rate needs two samples in its window; with the
/// usual 15–30 s scrape intervals (the sandbox samples every 5 s), a minute is the shortest
/// window that reliably has them.
pub const MIN_RATE_WINDOW: Duration = Duration::from_secs(60);

/// The rate window of a check: the interval since the previous check, at least
/// [`MIN_RATE_WINDOW`].
pub fn rate_window(interval: Duration) -> Duration {
    interval.max(MIN_RATE_WINDOW)
}

/// The first multiple of `interval` (since the Unix epoch) at least `interval` after `now`:
/// each check's window covers only traffic after the moment it was scheduled, and check
/// instants fall on the same grid however long the step before took to apply.
pub fn next_check(now: Timestamp, interval: Duration) -> Timestamp {
    let step = (interval.as_millis() as i64).max(1);
    let earliest = now.as_millisecond().saturating_add(step);
    let aligned = earliest.div_euclid(step) * step
        + if earliest.rem_euclid(step) == 0 {
            0
        } else {
            step
        };
    Timestamp::from_millisecond(aligned).unwrap_or(now)
}

/// The check after the one at `previous`: one interval later, on the same grid. Asking
/// [`next_check`] again would skip a grid point, since a check ends a little after its instant
/// (checks would run every other interval while the console shows "every interval"). A check
/// that overran its interval starts the grid again from now.
pub fn following_check(
    previous: Option<Timestamp>,
    now: Timestamp,
    interval: Duration,
) -> Timestamp {
    let after = previous.and_then(|p| p.checked_add(interval).ok());
    match after {
        Some(t) if t > now => t,
        _ => next_check(now, interval),
    }
}

fn reading(r: Result<Option<f64>, ProviderError>, scale: f64) -> Reading {
    match r {
        Ok(Some(v)) => Reading::Value(v * scale),
        Ok(None) => Reading::NoData,
        Err(e) => Reading::Unavailable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_fall_on_the_interval_grid() {
        let t = |s: i64| Timestamp::from_second(s).expect("valid");
        let i = Duration::from_secs(30);
        let base = 1_794_999_990; // a multiple of 30
        assert_eq!(next_check(t(base), i), t(base + 30));
        assert_eq!(next_check(t(base + 1), i), t(base + 60));
        assert_eq!(next_check(t(base + 29), i), t(base + 60));
    }

    #[test]
    fn checks_follow_each_other_every_interval() {
        let t = |s: i64| Timestamp::from_second(s).expect("valid");
        let i = Duration::from_secs(30);
        let base = 1_794_999_990;
        // The check at base+30 ended a few milliseconds later: the next is one interval on.
        let ended = t(base + 30) + Duration::from_millis(40);
        assert_eq!(following_check(Some(t(base + 30)), ended, i), t(base + 60));
        assert_eq!(following_check(None, ended, i), t(base + 90));
        // A check that overran its interval does not schedule one in the past.
        assert_eq!(
            following_check(Some(t(base + 30)), t(base + 61), i),
            t(base + 120)
        );
    }
}
