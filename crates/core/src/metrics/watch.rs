//! Analysis of a service as it runs now, with no deploy in hand: what the console's rollout
//! panel watches, and what tells the on-call engineer why a failing rollout would be rolled
//! back. Observe-only: nothing here plans or writes; only the [`super::guard::Guard`] acts.
//!
//! The target per strategy is the guard's, read from the cluster instead of a deploy plan:
//! - **canary**: the canary track against the stable one (while the canary has replicas;
//!   without one, the stable track alone, watched like a rollout);
//! - **rolling**: the Deployment's current image tag against the previous revision's (while
//!   that still has pods);
//! - **blue-green**: the live colour against the idle one (while that has pods).
//!
//! Each check also judges the candidate's pods ([`super::health::DeploymentHealth`]), which is
//! what fails a version that crash-loops and so gets no traffic to measure.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::analysis::Mode;
use super::guard::{self, RunnerSpec};
use super::runner::{AnalysisEvent, Goal, Runner, Side, Sink, Target, Ticker};
use super::setup;
use super::templates::Metric;
use crate::config::{ServiceConfig, Strategy};
use crate::release::objects::{deployment_image, image_tag};
use crate::release::observe::canary_deployments;
use crate::release::{
    Observed, PlanInput, ReleaseContext, ReleaseError, blue_green, observe, revisions,
};

/// Checks of history a watcher backfills its sparklines with when it starts.
pub const HISTORY_CHECKS: u32 = 30;

/// One version's metric history, oldest first.
pub type History = BTreeMap<Metric, Vec<(Timestamp, f64)>>;

fn other(e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Other(e.to_string())
}

fn tag_in(observed: &Observed, cfg: &ServiceConfig, deployment: &str) -> String {
    observed
        .deployment(deployment)
        .and_then(|d| deployment_image(d, cfg.container.as_deref()))
        .and_then(|image| image_tag(&image).map(str::to_string))
        .unwrap_or_else(|| "latest".into())
}

fn replicas(observed: &Observed, deployment: &str) -> i32 {
    observed
        .deployment(deployment)
        .and_then(|d| d.spec.as_ref()?.replicas)
        .unwrap_or(0)
}

/// A runner for `service` in `env` as the cluster runs it now (see the module docs).
pub async fn running(
    ctx: &ReleaseContext,
    service: &str,
    env: &str,
    ticker: Arc<dyn Ticker>,
    sink: Sink,
) -> Result<Runner, ReleaseError> {
    let cfg = ctx.service(service)?;
    let analysis = cfg.analysis.clone().ok_or_else(|| {
        other(format!(
            "service {service} has no [service.analysis] section"
        ))
    })?;
    let client = ctx.client(env)?;
    let observed = observe(client, &cfg).await?;
    let ns = client.env.namespace.clone();
    let (mode, target, smoke_service, health_deployment) = match cfg.strategy {
        Strategy::Canary => {
            let c = cfg
                .canary
                .clone()
                .ok_or_else(|| other(format!("service {service} has no [service.canary]")))?;
            let (stable, canary) = canary_deployments(&cfg).unwrap_or_default();
            if replicas(&observed, &canary) > 0 {
                let target = setup::canary_target(env, &ns, service);
                let smoke = guard::canary_smoke_service(&cfg, &c);
                (Mode::Canary, target, smoke, canary)
            } else {
                // No canary running: what serves is the stable track, judged like a rollout.
                let target = Target {
                    env: env.into(),
                    namespace: ns.clone(),
                    service: service.into(),
                    candidate: Side::track("stable"),
                    baseline: None,
                };
                let mut smoke = guard::canary_smoke_service(&cfg, &c);
                if smoke == c.canary {
                    smoke = c.stable.clone();
                }
                (Mode::Rollout, target, smoke, stable)
            }
        }
        Strategy::Rolling => {
            let name = cfg.deployment_name().to_string();
            let deploy = observed
                .deployment(&name)
                .ok_or_else(|| other(format!("deployment {ns}/{name} does not exist in {env}")))?;
            let history =
                revisions::history(deploy, &observed.replica_sets, cfg.container.as_deref());
            let tag_of =
                |r: &revisions::Revision| r.image.as_deref().and_then(image_tag).map(String::from);
            let new_tag = history
                .iter()
                .find(|r| r.current)
                .and_then(tag_of)
                .unwrap_or_else(|| tag_in(&observed, &cfg, &name));
            // The revision before the current one while it still serves: what the new one is
            // compared with (once scaled down it has no metrics to compare).
            let old_tag = history
                .iter()
                .find(|r| !r.current)
                .filter(|r| r.desired > 0)
                .and_then(tag_of);
            let target = setup::rollout_target(env, &ns, service, &new_tag, old_tag.as_deref());
            (Mode::Rollout, target, cfg.name.clone(), name)
        }
        Strategy::BlueGreen => {
            let bg = cfg
                .blue_green
                .clone()
                .ok_or_else(|| other(format!("service {service} has no [service.blue_green]")))?;
            let input = PlanInput {
                cfg: &cfg,
                env: &client.env,
                context: &client.context,
                who: &client.user,
                now: ticker.now(),
            };
            let live = blue_green::active(&observed, &input)?;
            // The idle colour is a baseline only while it has pods to measure.
            let idle = blue_green::idle(&observed, &input)
                .ok()
                .filter(|(_, d)| replicas(&observed, d) > 0);
            let target = setup::blue_green_target(
                env,
                &ns,
                service,
                (&live.0, &live.1),
                idle.as_ref().map(|(c, d)| (c.as_str(), d.as_str())),
            );
            (Mode::Rollout, target, bg.service.clone(), live.1)
        }
    };
    let tag = tag_in(&observed, &cfg, &health_deployment);
    let spec = RunnerSpec {
        analysis: &analysis,
        env,
        mode,
        target,
        smoke_service: &smoke_service,
        health: (&health_deployment, &tag),
    };
    guard::runner(ctx, spec, ticker, sink)
}

/// Watches without end: backfills each version's history (given to `history`), checks once
/// at once (so a failing version says why without waiting an interval), then checks every
/// interval. Decisions are reported, never acted on.
pub async fn observe_forever(mut runner: Runner, mut history: impl FnMut(String, History)) {
    let interval = runner.analysis.policy().interval;
    let span = interval * HISTORY_CHECKS;
    let sides =
        std::iter::once(runner.target.candidate.clone()).chain(runner.target.baseline.clone());
    for side in sides {
        // A provider that cannot answer is reported by the first check, naming the query.
        if let Ok(series) = runner.history(&side, span, interval).await {
            history(side.name, series);
        }
    }
    let now = runner.ticker.now();
    let report = runner.check(now).await;
    // A running version's watch window is over: a pass reads as "keep it".
    let decision = runner.analysis.decide(&report, true);
    (runner.sink)(AnalysisEvent::Decided { at: now, decision });
    let goal = match runner.analysis.mode() {
        Mode::Canary => Goal::Step,
        Mode::Rollout => Goal::Watch { until: now },
    };
    loop {
        // `run` returns at each decision other than "continue"; an observer just goes on.
        runner.run(goal).await;
    }
}
