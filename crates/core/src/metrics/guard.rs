//! Release analysis driving a release to its end, after a deploy has been applied:
//!
//! - **canary**: the canary rolls out, then every configured step is set and held until its
//!   analysis passes; a failure aborts (all traffic back to stable), and after the last step
//!   the canary is promoted;
//! - **rolling**: the new version is watched for `watch_after_deploy`; a failure rolls back to
//!   the revision that was serving before the deploy (the last known good);
//! - **blue-green**: the idle colour rolls out, traffic is swapped to it and watched; a failure
//!   swaps back.
//!
//! Every action goes through the release layer's planner and executor (and so its journal),
//! like a person's, with the reason recorded on the plan. Inconclusive analysis stops where it
//! is (`Paused`) without promoting. The rolled-out marker, which "last known good" is computed
//! from, is written only once a version has passed.

use std::sync::Arc;

use jiff::SignedDuration;
use serde::Serialize;

use super::analysis::{Decision, Mode, Policy};
use super::health::DeploymentHealth;
use super::runner::{AnalysisEvent, Goal, Probe, Runner, Sink, Ticker};
use super::setup;
use crate::config::{AnalysisConfig, CanaryConfig, Router, ServiceConfig, Strategy};
use crate::release::observe::canary_deployments;
use crate::release::{
    Action, Outcome, Plan, PlanInput, Progress, ReleaseContext, ReleaseError, ReleaseRequest,
    RollbackTarget, blue_green, execute, follow, follow_unmarked, observe, plan_request, revisions,
};

/// How a guarded release ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GuardOutcome {
    Promoted,
    /// Canary aborted: all traffic back to stable.
    Aborted {
        why: String,
    },
    /// Rolled back (rolling) or swapped back (blue-green).
    RolledBack {
        why: String,
    },
    /// Analysis was inconclusive; the release stays where it is for a person to decide.
    Paused {
        why: String,
    },
}

/// An action the guard took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionTaken {
    pub action: String,
    pub summary: String,
    pub reason: String,
    pub plan_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardReport {
    #[serde(flatten)]
    pub outcome: GuardOutcome,
    pub actions: Vec<ActionTaken>,
}

/// What was serving before the deploy: the revision to return to if the new one fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub revision: Option<i64>,
    /// Whether it was known good then (fully rolled out, or serving all its pods).
    pub known_good: bool,
}

pub struct Guard<'a> {
    pub ctx: &'a ReleaseContext,
    pub ticker: Arc<dyn Ticker>,
    pub sink: Sink,
    pub progress: Box<dyn FnMut(Progress) + Send + 'a>,
    /// Bound on each rollout follow (`None`: until it completes or fails).
    pub follow_timeout: Option<std::time::Duration>,
    actions: Vec<ActionTaken>,
}

fn other(e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Other(e.to_string())
}

/// The current revision of a rolling service, read before deploying over it.
pub async fn baseline(
    ctx: &ReleaseContext,
    service: &str,
    env: &str,
) -> Result<Baseline, ReleaseError> {
    let cfg = ctx.service(service)?;
    let observed = observe(ctx.client(env)?, &cfg).await?;
    let Some(deploy) = observed.deployment(cfg.deployment_name()) else {
        return Ok(Baseline {
            revision: None,
            known_good: false,
        });
    };
    let history = revisions::history(deploy, &observed.replica_sets, cfg.container.as_deref());
    let current = history.iter().find(|r| r.current);
    Ok(Baseline {
        revision: current.map(|r| r.revision),
        known_good: current.is_some_and(|r| r.known_good),
    })
}

/// `from → to` of the image field an applied deploy plan changed.
fn image_change(plan: &Plan) -> (Option<String>, Option<String>) {
    plan.writes
        .iter()
        .flat_map(|w| &w.changes)
        .find(|c| c.field.ends_with("].image"))
        .map(|c| (c.from.clone(), c.to.clone()))
        .unwrap_or_default()
}

fn tag_of(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.rsplit_once(':')
        .map_or("latest", |(_, t)| t)
        .to_string()
}

/// What an analysis runner is built from, besides the context, clock and sink.
pub struct RunnerSpec<'s> {
    pub analysis: &'s AnalysisConfig,
    pub env: &'s str,
    pub mode: Mode,
    pub target: super::runner::Target,
    /// The Service the smoke check goes through (the API server's proxy).
    pub smoke_service: &'s str,
    /// The candidate's Deployment and image tag, whose pods each check judges.
    pub health: (&'s str, &'s str),
}

/// A runner for `spec` in `spec.env`: the service's provider, smoke check and the candidate's
/// pod health. Shared by the guard and by observers (the console's rollout panel), so both
/// judge a version the same way.
pub fn runner(
    ctx: &ReleaseContext,
    spec: RunnerSpec<'_>,
    ticker: Arc<dyn Ticker>,
    sink: Sink,
) -> Result<Runner, ReleaseError> {
    let client = ctx.client(spec.env)?;
    let ns = client.env.namespace.clone();
    let smoke = setup::smoke_check(spec.analysis, Some(&client.client), &ns, spec.smoke_service)
        .map_err(other)?;
    let mut probe: Probe = setup::probe(&ctx.config, spec.analysis, smoke).map_err(other)?;
    probe.health = Some(Arc::new(DeploymentHealth {
        client: client.client.clone(),
        namespace: ns,
        deployment: spec.health.0.to_string(),
        tag: spec.health.1.to_string(),
    }));
    Ok(Runner::new(
        probe,
        spec.target,
        Policy::from_config(spec.analysis),
        spec.mode,
        ticker,
        sink,
    ))
}

/// The Service a canary's smoke check goes through: the canary's own, except for the
/// `replicas` router, where both tracks sit behind the service's one Service.
pub fn canary_smoke_service(cfg: &ServiceConfig, canary: &CanaryConfig) -> String {
    if canary.router == Router::Replicas {
        cfg.name.clone()
    } else {
        canary.canary.clone()
    }
}

impl<'a> Guard<'a> {
    pub fn new(ctx: &'a ReleaseContext, ticker: Arc<dyn Ticker>, sink: Sink) -> Guard<'a> {
        Guard {
            ctx,
            ticker,
            sink,
            progress: Box::new(|_| {}),
            follow_timeout: None,
            actions: Vec::new(),
        }
    }

    /// Drives the service's strategy after `deployed` (an applied `Deploy` plan) to its end.
    /// `before` is what served before the deploy (for a rolling service's rollback).
    pub async fn run(
        &mut self,
        deployed: &Plan,
        tag: &str,
        before: &Baseline,
    ) -> Result<GuardReport, ReleaseError> {
        let cfg = self.ctx.service(&deployed.service)?;
        let analysis = cfg.analysis.clone().ok_or_else(|| {
            other(format!(
                "service {} has no [service.analysis] section",
                cfg.name
            ))
        })?;
        let outcome = match cfg.strategy {
            Strategy::Rolling => self.rolling(&cfg, &analysis, deployed, tag, before).await?,
            Strategy::Canary => self.canary(&cfg, &analysis, deployed, tag).await?,
            Strategy::BlueGreen => self.blue_green(&cfg, &analysis, deployed, tag).await?,
        };
        Ok(GuardReport {
            outcome,
            actions: std::mem::take(&mut self.actions),
        })
    }

    fn runner(
        &self,
        analysis: &AnalysisConfig,
        env: &str,
        mode: Mode,
        target: super::runner::Target,
        smoke_service: &str,
        health: (&str, &str),
    ) -> Result<Runner, ReleaseError> {
        let spec = RunnerSpec {
            analysis,
            env,
            mode,
            target,
            smoke_service,
            health,
        };
        runner(self.ctx, spec, self.ticker.clone(), self.sink.clone())
    }

    async fn follow(&mut self, plan: &Plan, mark: bool) -> Result<(), ReleaseError> {
        if mark {
            follow(plan, self.ctx, self.follow_timeout, &mut *self.progress).await
        } else {
            follow_unmarked(plan, self.ctx, self.follow_timeout, &mut *self.progress).await
        }
    }

    /// Plans and executes `action` like a person's request, with `reason` on the plan (and so
    /// in the journal). A re-plan after a conflict is applied as well: it serves the same
    /// intent against the cluster as it now is.
    async fn act(
        &mut self,
        service: &str,
        env: &str,
        action: Action,
        reason: String,
    ) -> Result<Plan, ReleaseError> {
        let req = ReleaseRequest {
            service: service.to_string(),
            env: env.to_string(),
            action,
        };
        let mut plan = plan_request(&req, self.ctx).await?;
        for _ in 0..3 {
            plan.reason = Some(reason.clone());
            match execute(&plan, self.ctx, &mut *self.progress).await? {
                Outcome::Applied { plan } | Outcome::Skipped { plan } => {
                    let taken = ActionTaken {
                        action: plan.action.name().to_string(),
                        summary: plan.summary.clone(),
                        reason: reason.clone(),
                        plan_id: plan.id.clone(),
                    };
                    (self.sink)(AnalysisEvent::Acted {
                        at: self.ticker.now(),
                        action: taken.action.clone(),
                        summary: taken.summary.clone(),
                        reason: reason.clone(),
                    });
                    self.actions.push(taken);
                    return Ok(plan);
                }
                Outcome::Replanned { plan: fresh, .. } => plan = fresh,
            }
        }
        Err(other(format!(
            "{} in {env} kept changing while `{}` was applied; nothing more was done",
            service,
            req.action.name()
        )))
    }

    async fn rolling(
        &mut self,
        cfg: &ServiceConfig,
        analysis: &AnalysisConfig,
        deployed: &Plan,
        tag: &str,
        before: &Baseline,
    ) -> Result<GuardOutcome, ReleaseError> {
        let env = deployed.env.clone();
        let ns = deployed.namespace.clone();
        let old_tag = image_change(deployed).0.map(|i| tag_of(&i));
        let target = setup::rollout_target(&env, &ns, &cfg.name, tag, old_tag.as_deref());
        let deployment = cfg.deployment_name().to_string();
        let mut runner = self.runner(
            analysis,
            &env,
            Mode::Rollout,
            target,
            &cfg.name,
            (&deployment, tag),
        )?;
        let until = self.ticker.now()
            + SignedDuration::try_from(analysis.watch_after_deploy).unwrap_or_default();
        match runner.run(Goal::Watch { until }).await {
            Decision::Promote => {
                self.follow(deployed, true).await?;
                Ok(GuardOutcome::Promoted)
            }
            Decision::Rollback { why } | Decision::Abort { why } => {
                let to = match before.revision {
                    Some(n) if before.known_good => RollbackTarget::Revision(n),
                    _ => RollbackTarget::LastGood,
                };
                let plan = self
                    .act(
                        &cfg.name,
                        &env,
                        Action::Rollback { to },
                        format!("automatic rollback: {why}"),
                    )
                    .await?;
                self.follow(&plan, true).await?;
                Ok(GuardOutcome::RolledBack { why })
            }
            Decision::Pause { why } => Ok(GuardOutcome::Paused { why }),
            other => Ok(GuardOutcome::Paused {
                why: format!("analysis ended with {other:?}"),
            }),
        }
    }

    async fn canary(
        &mut self,
        cfg: &ServiceConfig,
        analysis: &AnalysisConfig,
        deployed: &Plan,
        tag: &str,
    ) -> Result<GuardOutcome, ReleaseError> {
        let env = deployed.env.clone();
        let ns = deployed.namespace.clone();
        let c = cfg.canary.clone().ok_or_else(|| {
            other(format!(
                "service {} has no [service.canary] section",
                cfg.name
            ))
        })?;
        let (_, canary_deployment) = canary_deployments(cfg).unwrap_or_default();
        // A canary that never becomes ready fails here: abort, with the rollout's words.
        if let Err(e) = self.follow(deployed, false).await {
            let why = format!("the canary did not roll out: {e}");
            let abort = self
                .act(
                    &cfg.name,
                    &env,
                    Action::CanaryAbort,
                    format!("automatic abort: {why}"),
                )
                .await?;
            self.follow(&abort, false).await?;
            return Ok(GuardOutcome::Aborted { why });
        }
        let smoke_service = canary_smoke_service(cfg, &c);
        let target = setup::canary_target(&env, &ns, &cfg.name);
        let mut runner = self.runner(
            analysis,
            &env,
            Mode::Canary,
            target,
            &smoke_service,
            (&canary_deployment, tag),
        )?;
        let mut passed: Option<u32> = None;
        for step in c.steps.iter().copied() {
            let reason = match passed {
                None => format!("automatic canary: {tag} starts at {step}%"),
                Some(p) => format!("automatic canary step: analysis passed at {p}%"),
            };
            let set = self
                .act(&cfg.name, &env, Action::CanarySet { percent: step }, reason)
                .await?;
            if !set.follow.is_empty() {
                self.follow(&set, false).await?;
            }
            match runner.run(Goal::Step).await {
                Decision::Advance | Decision::Promote | Decision::Continue => passed = Some(step),
                Decision::Abort { why } | Decision::Rollback { why } => {
                    let abort = self
                        .act(
                            &cfg.name,
                            &env,
                            Action::CanaryAbort,
                            format!("automatic abort: {why}"),
                        )
                        .await?;
                    self.follow(&abort, false).await?;
                    return Ok(GuardOutcome::Aborted { why });
                }
                Decision::Pause { why } => return Ok(GuardOutcome::Paused { why }),
            }
        }
        let last = passed.unwrap_or(0);
        let promote = self
            .act(
                &cfg.name,
                &env,
                Action::CanaryPromote,
                format!("automatic promote: analysis passed at every step up to {last}%"),
            )
            .await?;
        self.follow(&promote, true).await?;
        Ok(GuardOutcome::Promoted)
    }

    async fn blue_green(
        &mut self,
        cfg: &ServiceConfig,
        analysis: &AnalysisConfig,
        deployed: &Plan,
        tag: &str,
    ) -> Result<GuardOutcome, ReleaseError> {
        let env = deployed.env.clone();
        let ns = deployed.namespace.clone();
        let bg = cfg.blue_green.clone().ok_or_else(|| {
            other(format!(
                "service {} has no [service.blue_green] section",
                cfg.name
            ))
        })?;
        self.follow(deployed, false).await?;
        let (previous, new) = {
            let client = self.ctx.client(&env)?;
            let observed = observe(client, cfg).await?;
            let input = PlanInput {
                cfg,
                env: &client.env,
                context: &client.context,
                who: &client.user,
                now: jiff::Timestamp::now(),
            };
            (
                blue_green::active(&observed, &input)?,
                blue_green::idle(&observed, &input)?,
            )
        };
        self.act(
            &cfg.name,
            &env,
            Action::Swap,
            format!("automatic swap: {tag} on {} ({}) is ready", new.0, new.1),
        )
        .await?;
        let target = setup::blue_green_target(
            &env,
            &ns,
            &cfg.name,
            (&new.0, &new.1),
            Some((&previous.0, &previous.1)),
        );
        let mut runner = self.runner(
            analysis,
            &env,
            Mode::Rollout,
            target,
            &bg.service,
            (&new.1, tag),
        )?;
        let until = self.ticker.now()
            + SignedDuration::try_from(analysis.watch_after_deploy).unwrap_or_default();
        match runner.run(Goal::Watch { until }).await {
            Decision::Promote => {
                self.follow(deployed, true).await?;
                Ok(GuardOutcome::Promoted)
            }
            Decision::Rollback { why } | Decision::Abort { why } => {
                self.act(
                    &cfg.name,
                    &env,
                    Action::Swap,
                    format!("automatic rollback: {why}"),
                )
                .await?;
                Ok(GuardOutcome::RolledBack { why })
            }
            Decision::Pause { why } => Ok(GuardOutcome::Paused { why }),
            other => Ok(GuardOutcome::Paused {
                why: format!("analysis ended with {other:?}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::{FieldChange, ObjectRef, Write, WriteBody};

    #[test]
    fn the_deploy_plan_names_the_images() {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "id": "p", "action": {"kind": "deploy", "tag": "v2"}, "service": "users", "env": "prod",
            "namespace": "shop", "context": "c", "protected": false, "who": "me", "summary": "s",
            "writes": [], "notes": [], "follow": []
        }))
        .expect("plan");
        plan.writes.push(Write {
            target: ObjectRef::deployment("shop", "users"),
            resource_version: Some("1".into()),
            changes: vec![FieldChange::new(
                "spec.template.spec.containers[users].image",
                Some("127.0.0.1:5000/prod/users:v1".into()),
                Some("127.0.0.1:5000/prod/users:v2".into()),
            )],
            body: WriteBody::JsonPatch {
                patch: serde_json::json!([]),
            },
        });
        let (from, to) = image_change(&plan);
        assert_eq!(from.as_deref().map(tag_of).as_deref(), Some("v1"));
        assert_eq!(to.as_deref().map(tag_of).as_deref(), Some("v2"));
        assert_eq!(tag_of("localhost:5000/app"), "latest");
    }
}
