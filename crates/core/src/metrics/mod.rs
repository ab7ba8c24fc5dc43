//! Release analysis: metrics from a Prometheus-compatible server, judged against a service's
//! thresholds, driving canary steps and automatic rollbacks.
//!
//! # Pieces
//! - [`provider::Prometheus`]: the HTTP API client (instant and range queries). An empty
//!   result is "no data", never zero; unreachable, slow and refused are distinct errors that
//!   name the server and the query.
//! - [`templates`]: the PromQL per metric (`request_rate`, `error_rate`, `latency_p99`) with
//!   `{env} {namespace} {service} {version_selector} {window}` placeholders; a service
//!   overrides them in `[service.analysis] queries`.
//! - [`analysis`]: the pure engine. [`analysis::evaluate`] judges one check;
//!   [`analysis::Analysis`] folds checks into a [`analysis::Decision`] (`Continue`, `Advance`,
//!   `Promote`, `Pause{why}`, `Abort{why}`, `Rollback{why}`). No traffic or no provider is
//!   *inconclusive* and pauses; it never promotes.
//! - [`smoke::SmokeCheck`]: one GET through the API server's service proxy (kube client) or to
//!   a URL; a failure counts as a failed check.
//! - [`health`]: the candidate's pods (crash loops, image pulls, a stalled Deployment), which
//!   fail a check when the metrics cannot (a version that never gets ready gets no traffic).
//! - [`runner::Runner`]: the loop on an injectable [`runner::Ticker`] (wall clock, or a test's
//!   virtual clock), reporting [`runner::AnalysisEvent`]s to a [`runner::Sink`].
//!
//! # Data for the console's rollout panel
//! Build a [`runner::Runner`] with a sink that forwards into the app loop's event channel:
//!
//! ```text
//! Started  { target, mode, policy }      thresholds: policy.error_rate_max (ratio),
//!                                        policy.latency_p99_ms_max, policy.interval,
//!                                        policy.failure_limit, policy.watch
//! Waiting  { next_check }                countdown = next_check - now
//! Checked  { report, versions }          versions[0] = candidate, [1] = baseline:
//!                                        request_rate (req/s), error_rate (ratio),
//!                                        latency_p99_ms; None = no data. Append them to
//!                                        per-version sparklines.
//!                                        report.checks[i] = { metric, value, baseline,
//!                                        threshold, verdict: pass|fail|inconclusive, reason }
//!                                        report.verdict = the check's overall verdict
//! Decided  { at, decision }              advance / promote / pause{why} / abort{why} /
//!                                        rollback{why} / continue
//! Acted    { at, action, summary, reason } a release action the guard took (canary-set,
//!                                        canary-abort, rollback, swap, ...) and why
//! ```
//!
//! [`text::describe`] turns an event into one log line. For the on-call view ("why would
//! this be rolled back?"), build a [`runner::Runner`] for the running version (with
//! [`health::DeploymentHealth`] as `probe.health`) and call [`runner::Runner::check`] once:
//! the report's verdict and reason say it without acting.
//!
//! [`watch::running`] builds that runner for a service as the cluster runs it now (the
//! guard's target per strategy, without a deploy in hand), and [`watch::observe_forever`]
//! backfills, checks at once, then every interval, acting on nothing: what the console's
//! rollout panel shows (`runner::analysis` in the console's runner).
//!
//! Every event serializes to JSON (`{"event":"checked",...}`), which is also what the
//! headless `deploy --wait --output json` prints per check. [`runner::Runner::history`]
//! fills sparklines with the last minutes when a panel opens. [`analysis::show`] formats a
//! value the way reasons do (`18.4%`, `312 ms`).
//!
//! # Driving a release
//! [`guard::Guard`] runs a deployed service's strategy to its end (canary steps, rollout
//! watch, blue-green swap) and calls the release layer's planners and executor for every
//! action, so an automatic abort or rollback is planned, executed and journaled exactly like
//! a manual one, with the analysis' reason on the plan. `shipdeck deploy --wait` uses it; the
//! console can too (`Guard::new(&ctx, Arc::new(WallClock), sink)`, then `guard.run(&applied,
//! tag, &baseline)` with [`guard::baseline`] read before applying the deploy).

pub mod analysis;
pub mod guard;
pub mod health;
pub mod provider;
pub mod runner;
pub mod setup;
pub mod smoke;
pub mod templates;
pub mod text;
pub mod watch;

pub use analysis::{Analysis, CheckReport, Decision, Mode, Policy, Verdict};
pub use provider::{Prometheus, ProviderError};
pub use runner::{AnalysisEvent, Goal, Probe, Runner, Side, Sink, Target, Ticker, WallClock};
pub use templates::{Metric, Templates};
