//! Release analysis of the selected service in the focused environment, as the watcher
//! reports it: bounded per-version series for the sparklines, the thresholds, the latest
//! check's verdicts, the next check's time and the decision the guard would take. Dropped,
//! and a new watch asked for, whenever the selection (or what it runs) changes.

use std::collections::VecDeque;

use jiff::Timestamp;

use crate::metrics::analysis::{CheckReport, Decision, Mode, Policy, Verdict};
use crate::metrics::runner::{AnalysisEvent, Target, VersionSample};
use crate::metrics::templates::Metric;
use crate::model::derive::services::{ServiceInEnv, TrafficState};

use super::super::command::Command;
use super::super::event::AnalysisFeed;
use super::State;

/// Points kept per series: wider than any sparkline the panel draws.
pub const SERIES_LEN: usize = 120;

/// What a watch is for. A change of any part (another service or environment, a new image,
/// a canary starting or ending, a blue-green swap) means a new watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchKey {
    pub service: String,
    pub env: String,
    /// The versions the environment runs, as the console sees them.
    pub versions: String,
}

/// One metric of one version, oldest first; `None` where the check found no data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub points: VecDeque<Option<f64>>,
}

impl Series {
    pub fn push(&mut self, value: Option<f64>) {
        if self.points.len() == SERIES_LEN {
            self.points.pop_front();
        }
        self.points.push_back(value);
    }

    /// The value of the last check (`None`: no data, or no check yet).
    pub fn last(&self) -> Option<f64> {
        self.points.back().copied().flatten()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionSeries {
    /// As reports call it: `canary`, `stable`, `v2.3.0`, `green`.
    pub name: String,
    pub request_rate: Series,
    pub error_rate: Series,
    pub latency_p99_ms: Series,
}

impl VersionSeries {
    fn named(name: &str) -> VersionSeries {
        VersionSeries {
            name: name.to_string(),
            ..VersionSeries::default()
        }
    }

    pub fn get(&self, metric: Metric) -> &Series {
        match metric {
            Metric::RequestRate => &self.request_rate,
            Metric::ErrorRate => &self.error_rate,
            Metric::LatencyP99 => &self.latency_p99_ms,
        }
    }

    fn get_mut(&mut self, metric: Metric) -> &mut Series {
        match metric {
            Metric::RequestRate => &mut self.request_rate,
            Metric::ErrorRate => &mut self.error_rate,
            Metric::LatencyP99 => &mut self.latency_p99_ms,
        }
    }

    fn push(&mut self, sample: &VersionSample) {
        self.request_rate.push(sample.request_rate);
        self.error_rate.push(sample.error_rate);
        self.latency_p99_ms.push(sample.latency_p99_ms);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisView {
    /// The id of the `Command::WatchAnalysis` this answers.
    pub watch: u64,
    pub key: WatchKey,
    /// From `Started`: what is compared, and how.
    pub target: Option<Target>,
    pub mode: Option<Mode>,
    /// The thresholds and pacing.
    pub policy: Option<Policy>,
    /// Candidate first, then the baseline.
    pub versions: Vec<VersionSeries>,
    pub report: Option<CheckReport>,
    pub next_check: Option<Timestamp>,
    pub decision: Option<Decision>,
    /// Failed checks so far: the guard acts when they reach `policy.failure_limit`.
    pub failures: u32,
    /// Why the watch could not start.
    pub error: Option<String>,
}

impl AnalysisView {
    pub fn new(watch: u64, key: WatchKey) -> AnalysisView {
        AnalysisView {
            watch,
            key,
            target: None,
            mode: None,
            policy: None,
            versions: Vec::new(),
            report: None,
            next_check: None,
            decision: None,
            failures: 0,
            error: None,
        }
    }

    fn version_mut(&mut self, name: &str) -> &mut VersionSeries {
        match self.versions.iter().position(|v| v.name == name) {
            Some(i) => &mut self.versions[i],
            None => {
                self.versions.push(VersionSeries::named(name));
                let last = self.versions.len() - 1;
                &mut self.versions[last]
            }
        }
    }

    pub fn apply(&mut self, feed: AnalysisFeed) {
        match feed {
            AnalysisFeed::History { version, series } => {
                let v = self.version_mut(&version);
                for (metric, points) in series {
                    let s = v.get_mut(metric);
                    s.points.clear();
                    let skip = points.len().saturating_sub(SERIES_LEN);
                    s.points
                        .extend(points.into_iter().skip(skip).map(|(_, v)| Some(v)));
                }
            }
            AnalysisFeed::Event(event) => self.apply_event(event),
            AnalysisFeed::Failed(why) => self.error = Some(why),
        }
    }

    fn apply_event(&mut self, event: AnalysisEvent) {
        match event {
            AnalysisEvent::Started {
                target,
                mode,
                policy,
            } => {
                // Candidate first, baseline second, whatever history arrives after.
                self.versions = std::iter::once(&target.candidate)
                    .chain(target.baseline.as_ref())
                    .map(|side| VersionSeries::named(&side.name))
                    .collect();
                self.target = Some(target);
                self.mode = Some(mode);
                self.policy = Some(policy);
            }
            AnalysisEvent::Waiting { next_check } => self.next_check = Some(next_check),
            AnalysisEvent::Checked { report, versions } => {
                for sample in &versions {
                    self.version_mut(&sample.version).push(sample);
                }
                if matches!(report.verdict, Verdict::Fail { .. }) {
                    self.failures += 1;
                }
                self.report = Some(report);
            }
            AnalysisEvent::Decided { decision, .. } => self.decision = Some(decision),
            // Only the guard acts; a watcher never reports actions.
            AnalysisEvent::Acted { .. } => {}
        }
    }

    pub fn candidate(&self) -> Option<&str> {
        self.target.as_ref().map(|t| t.candidate.name.as_str())
    }

    /// Failed checks the guard waits for before it acts (at least one).
    pub fn failure_limit(&self) -> u32 {
        self.policy.as_ref().map_or(1, |p| p.failure_limit.max(1))
    }
}

/// The versions a service runs in one environment, for [`WatchKey`].
fn versions_of(in_env: &ServiceInEnv) -> String {
    let tag = |w: Option<&crate::model::derive::services::Workload>| {
        w.map(|w| {
            let tag = w
                .image
                .as_ref()
                .map(|i| i.display_tag())
                .unwrap_or_default();
            // Scaling does not change what is analysed; scaling to or from zero does.
            format!("{}={}:{}", w.role, tag, w.progress.desired > 0)
        })
        .unwrap_or_default()
    };
    let active = match &in_env.traffic {
        TrafficState::BlueGreen { active, .. } => active.clone().unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "{} {} {active}",
        tag(in_env.primary.as_ref()),
        tag(in_env.secondary.as_ref())
    )
}

impl State {
    /// The watch the selection needs: a service with `[service.analysis]` that has a
    /// Deployment in the focused environment.
    fn analysis_key(&self) -> Option<WatchKey> {
        let selected = self.derived.selected.as_ref()?;
        let spec = self.derived.selected_spec()?;
        spec.config.analysis.as_ref()?;
        selected.in_env.primary.as_ref()?;
        Some(WatchKey {
            service: spec.name().to_string(),
            env: self.focused_env()?.to_string(),
            versions: versions_of(&selected.in_env),
        })
    }

    /// Starts, replaces or stops the analysis watch when the selection changed; the latest
    /// selection wins, and what the previous one showed is dropped.
    pub fn analysis_for_selection(&mut self) -> Vec<Command> {
        let wanted = self.analysis_key();
        if wanted.as_ref() == self.domain.analysis.as_ref().map(|a| &a.key) {
            return Vec::new();
        }
        self.dirty = true;
        match wanted {
            None => {
                self.domain.analysis = None;
                vec![Command::StopAnalysis]
            }
            Some(key) => {
                let watch = self.next_request_id();
                let command = Command::WatchAnalysis {
                    watch,
                    service: key.service.clone(),
                    env: key.env.clone(),
                };
                self.domain.analysis = Some(AnalysisView::new(watch, key));
                vec![command]
            }
        }
    }
}
