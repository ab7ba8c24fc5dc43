//! The seam the console and the CLI share: a [`ReleaseRequest`] is planned against fresh
//! observations ([`plan_request`]), confirmed by the caller (see `confirm`), applied by the
//! one executor ([`execute`]) and, when asked, followed to completion ([`follow`]).
//! Nothing here knows about terminals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cluster::{Connector, EnvClient, implicit_env, load_kubeconfig};
use crate::config::{Config, EnvConfig, ServiceConfig};

use super::audit::Journal;
use super::error::{PlanError, ReleaseError};
use super::execute::{ExecEnv, Outcome, Progress, Replanner};
use super::input::PlanInput;
use super::objects::{POD_TEMPLATE_HASH, ROLLED_OUT, deployment_image, name_of, revision};
use super::observe::{Observed, observe};
use super::plan::{Action, ObjectRef, Plan, Write, WriteBody};
use super::promote::{PromoteFacts, plan_promote};
use super::registry::RegistryOps;

/// One environment's SelfSubjectReview: `Err` when it had no answer in time.
pub type IdentityAnswer = Result<
    Result<crate::cluster::identity::Identity, crate::cluster::identity::IdentityError>,
    tokio::time::error::Elapsed,
>;

/// How long [`ReleaseContext::identify`] waits for each API server.
pub const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the console (a key) or the CLI (a subcommand) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub service: String,
    pub env: String,
    pub action: Action,
}

/// Everything actions need: config, one client per environment, the journal, the registry.
pub struct ReleaseContext {
    pub config: Arc<Config>,
    pub clients: BTreeMap<String, EnvClient>,
    pub journal: Arc<Journal>,
    /// The global `--read-only` flag (environments may also be read-only in the config).
    pub read_only: bool,
    pub registry: Option<Arc<dyn RegistryOps>>,
    /// How long a write may go unanswered before its outcome is `unknown`.
    pub write_timeout: Duration,
}

impl ReleaseContext {
    /// Builds clients for every environment of `config` (no network I/O: an unreachable
    /// cluster only fails the actions that need it; exec credential plugins do run, so an
    /// interactive one prompts now, before any console).
    pub async fn connect(
        config: Config,
        read_only: bool,
        journal: Journal,
    ) -> Result<Self, ReleaseError> {
        let loaded = load_kubeconfig(&config).map_err(|e| ReleaseError::Other(e.to_string()))?;
        let mut config = config;
        if config.envs.is_empty() {
            config.envs.push(implicit_env(&loaded.kubeconfig, &config));
        }
        let mut connector = Connector::from_env().map_err(ReleaseError::Other)?;
        let mut clients = BTreeMap::new();
        for env in &config.envs {
            let client = connector
                .connect(&loaded, env)
                .await
                .map_err(|e| ReleaseError::Other(e.to_string()))?;
            clients.insert(env.name.clone(), client);
        }
        Ok(ReleaseContext {
            config: Arc::new(config),
            clients,
            journal: Arc::new(journal),
            read_only,
            registry: None,
            write_timeout: Duration::from_secs(10),
        })
    }

    /// Asks each environment's API server who we are (SelfSubjectReview, as `kubectl auth
    /// whoami`), at most [`IDENTIFY_TIMEOUT`] each, all at once; plans then name that user in
    /// change-causes and the journal. Where the server cannot say, the kubeconfig's user
    /// entry stays.
    pub async fn identify(&mut self) {
        let answers = self.ask_identities().await;
        self.apply_identities(answers);
    }

    /// The SelfSubjectReviews of [`Self::identify`], without applying them (so they can run
    /// alongside other start-up reads).
    pub async fn ask_identities(&self) -> Vec<(String, IdentityAnswer)> {
        futures::future::join_all(self.clients.iter().map(|(env, c)| async move {
            let answer = tokio::time::timeout(
                IDENTIFY_TIMEOUT,
                crate::cluster::identity::whoami(&c.client),
            )
            .await;
            (env.clone(), answer)
        }))
        .await
    }

    /// Names the users the reviews reported in the clients' `user`.
    pub fn apply_identities(&mut self, answers: Vec<(String, IdentityAnswer)>) {
        for (env, answer) in answers {
            let Some(client) = self.clients.get_mut(&env) else {
                continue;
            };
            match answer {
                Ok(Ok(identity)) => {
                    tracing::info!(%env, user = %identity.username, groups = ?identity.groups, "identity from SelfSubjectReview");
                    client.user = identity.username;
                }
                Ok(Err(e)) => {
                    tracing::info!(%env, error = %e, kubeconfig_user = %client.user, "no identity from the API server; the kubeconfig's user name is recorded")
                }
                Err(_) => {
                    tracing::warn!(%env, "SelfSubjectReview had no answer in time; the kubeconfig's user name is recorded")
                }
            }
        }
    }

    pub fn env(&self, name: &str) -> Result<&EnvConfig, ReleaseError> {
        self.config.env(name).ok_or_else(|| {
            ReleaseError::Plan(PlanError::Invalid(format!(
                "unknown environment {name:?}; environments: {}",
                self.config
                    .envs
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        })
    }

    pub fn client(&self, env: &str) -> Result<&EnvClient, ReleaseError> {
        self.env(env)?;
        self.clients
            .get(env)
            .ok_or_else(|| ReleaseError::Other(format!("environment {env} has no client")))
    }

    /// The service's config; without configured services, a rolling service of that name
    /// (shipdeck then works on the Deployment of the same name).
    pub fn service(&self, name: &str) -> Result<ServiceConfig, ReleaseError> {
        if let Some(s) = self.config.service(name) {
            return Ok(s.clone());
        }
        // Without a hand-written list, any Deployment is a rolling service of its name (as
        // the console lists it).
        if self.config.services.is_empty() || self.config.services_inferred {
            return Ok(ServiceConfig::rolling(name));
        }
        Err(ReleaseError::Plan(PlanError::Invalid(format!(
            "unknown service {name:?}; services: {} (as `shipdeck status` lists them)",
            self.config
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))))
    }

    fn input<'a>(
        &self,
        cfg: &'a ServiceConfig,
        env: &'a EnvConfig,
        client: &'a EnvClient,
    ) -> PlanInput<'a> {
        PlanInput {
            cfg,
            env,
            context: &client.context,
            who: &client.user,
            now: Timestamp::now(),
        }
    }
}

/// Plans from objects the caller already holds (the console's snapshot). Promotions and
/// builds need the registry or a source tree: use [`plan_request`] for those.
pub fn plan_observed(
    req: &ReleaseRequest,
    observed: &Observed,
    ctx: &ReleaseContext,
) -> Result<Plan, ReleaseError> {
    let cfg = ctx.service(&req.service)?;
    let env = ctx.env(&req.env)?;
    let client = ctx.client(&req.env)?;
    Ok(super::plan_action(
        observed,
        &ctx.input(&cfg, env, client),
        &req.action,
    )?)
}

/// Plans `req` against fresh reads of the cluster (and the registry, for promotions).
pub async fn plan_request(
    req: &ReleaseRequest,
    ctx: &ReleaseContext,
) -> Result<Plan, ReleaseError> {
    let cfg = ctx.service(&req.service)?;
    let env = ctx.env(&req.env)?;
    let client = ctx.client(&req.env)?;
    let input = ctx.input(&cfg, env, client);
    match &req.action {
        Action::Promote {
            tag,
            from,
            approval,
        } => {
            let from_env = ctx.env(from)?;
            let observed = observe(client, &cfg).await?;
            let running = super::rollback::rollback_deployment(&observed, &input)
                .ok()
                .and_then(|name| observed.deployment(&name))
                .and_then(|d| deployment_image(d, cfg.container.as_deref()));
            let mut facts = PromoteFacts {
                running,
                ..PromoteFacts::default()
            };
            if let Some(registry) = &ctx.registry {
                let lookup = |env: &EnvConfig| super::deploy::image_for(env, &cfg, None, tag);
                facts.source_digest = registry
                    .digest(&lookup(from_env))
                    .await
                    .map_err(ReleaseError::Other)?;
                facts.target_digest = registry
                    .digest(&lookup(env))
                    .await
                    .map_err(ReleaseError::Other)?;
            } else {
                return Err(ReleaseError::Other(
                    "promotion needs the registry client, which is not available".into(),
                ));
            }
            Ok(plan_promote(
                &input,
                &ctx.config.policy,
                from_env,
                tag,
                approval.as_deref(),
                &facts,
            )?)
        }
        Action::Build { commit } => {
            let build = cfg.build.as_ref().ok_or_else(|| {
                PlanError::config(
                    &cfg.name,
                    "has no [service.build] section (runner = \"command\" or \"job\")",
                )
            })?;
            let commit = match (commit, &build.workdir) {
                (Some(c), _) => c.clone(),
                (None, Some(dir)) => super::build::git_commit(&ctx.config.resolve(dir))
                    .await
                    .map_err(|e| ReleaseError::Plan(PlanError::Invalid(e)))?,
                (None, None) => {
                    return Err(ReleaseError::Plan(PlanError::config(
                        &cfg.name,
                        "no source directory to take the commit from: set `workdir` in [service.build] or pass a commit",
                    )));
                }
            };
            let template = match &build.job_template {
                Some(path) => {
                    let path = ctx.config.resolve(path);
                    Some(std::fs::read_to_string(&path).map_err(|e| {
                        ReleaseError::Plan(PlanError::config(
                            &cfg.name,
                            format!("cannot read job_template {}: {e}", path.display()),
                        ))
                    })?)
                }
                None => None,
            };
            let mut plan = super::build::plan_build(&input, &commit, template.as_deref())?;
            // A command runs in the source directory, relative to the config file.
            for write in &mut plan.writes {
                if let WriteBody::Run {
                    workdir: Some(dir), ..
                } = &mut write.body
                {
                    *dir = ctx
                        .config
                        .resolve(std::path::Path::new(dir.as_str()))
                        .display()
                        .to_string();
                }
            }
            Ok(plan)
        }
        Action::Deploy { tag, digest: None } => {
            let observed = observe(client, &cfg).await?;
            let mut plan = super::deploy::plan_deploy(&observed, &input, tag, None)?;
            // The image the plan sets (by tag); its digest is shown, never written.
            let image = plan
                .writes
                .iter()
                .flat_map(|w| &w.changes)
                .find(|c| c.field.ends_with("].image"))
                .and_then(|c| c.to.clone());
            if let (Some(registry), Some(image)) = (&ctx.registry, image) {
                match registry.digest(&image).await {
                    Ok(Some(digest)) => {
                        plan.notes.insert(0, format!("{image} is {digest}"));
                        plan.action = Action::Deploy {
                            tag: tag.clone(),
                            digest: Some(digest),
                        };
                    }
                    Ok(None) => plan.notes.insert(
                        0,
                        format!(
                            "warning: {image} is not in the registry; its pods will fail to pull it (ErrImagePull)"
                        ),
                    ),
                    Err(e) => plan
                        .notes
                        .insert(0, format!("the registry could not be asked for {image}'s digest: {e}")),
                }
            }
            Ok(plan)
        }
        action => {
            let observed = observe(client, &cfg).await?;
            Ok(super::plan_action(&observed, &input, action)?)
        }
    }
}

struct ContextReplanner<'a> {
    ctx: &'a ReleaseContext,
}

impl Replanner for ContextReplanner<'_> {
    fn replan<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<Plan, ReleaseError>> {
        Box::pin(async move {
            let req = ReleaseRequest {
                service: plan.service.clone(),
                env: plan.env.clone(),
                action: plan.action.clone(),
            };
            plan_request(&req, self.ctx).await
        })
    }
}

/// Applies a confirmed plan with the one executor.
pub async fn execute(
    plan: &Plan,
    ctx: &ReleaseContext,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ReleaseError> {
    let client = ctx.client(&plan.env)?;
    let replanner = ContextReplanner { ctx };
    let x = ExecEnv {
        client,
        journal: &ctx.journal,
        read_only: ctx.read_only,
        write_timeout: ctx.write_timeout,
        replanner: &replanner,
        registry: ctx.registry.as_deref(),
    };
    super::execute::execute(plan, &x, progress).await
}

/// Follows the rollouts an applied plan started, then marks each completed revision as
/// rolled out (the fact "last known good" is computed from), through the executor.
pub async fn follow(
    plan: &Plan,
    ctx: &ReleaseContext,
    timeout: Option<Duration>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), ReleaseError> {
    follow_with(plan, ctx, timeout, true, progress).await
}

/// Like [`follow`], without the rolled-out marker: for a rollout that release analysis still
/// has to judge (it calls [`follow`] once the version passed, or rolls it back unmarked).
pub async fn follow_unmarked(
    plan: &Plan,
    ctx: &ReleaseContext,
    timeout: Option<Duration>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), ReleaseError> {
    follow_with(plan, ctx, timeout, false, progress).await
}

async fn follow_with(
    plan: &Plan,
    ctx: &ReleaseContext,
    timeout: Option<Duration>,
    mark: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), ReleaseError> {
    let client = ctx.client(&plan.env)?;
    for name in &plan.follow {
        let done = super::wait::follow(client, name, timeout, progress).await?;
        if mark
            && let Some(rs) = done
            && let Some(mark) = mark_plan(plan, &rs)
        {
            // Bookkeeping after a confirmed action: applied like any write, no new question.
            super::execute::execute(
                &mark,
                &ExecEnv {
                    client,
                    journal: &ctx.journal,
                    read_only: ctx.read_only,
                    write_timeout: ctx.write_timeout,
                    replanner: &MarkReplanner { client },
                    registry: None,
                },
                progress,
            )
            .await?;
        }
    }
    Ok(())
}

/// The plan that writes `shipdeck.io/rolled-out` on a completed ReplicaSet (`None` when it
/// already carries it).
fn mark_plan(parent: &Plan, rs: &k8s_openapi::api::apps::v1::ReplicaSet) -> Option<Plan> {
    let hash = rs.metadata.labels.as_ref()?.get(POD_TEMPLATE_HASH)?.clone();
    if super::objects::annotation(&rs.metadata, ROLLED_OUT) == Some(hash.as_str()) {
        return None;
    }
    let name = name_of(&rs.metadata).to_string();
    let mut plan = parent.clone();
    plan.id = super::plan::new_plan_id();
    plan.action = Action::MarkRolledOut {
        replica_set: name.clone(),
    };
    plan.summary = format!(
        "Mark revision {} ({name}) as rolled out",
        revision(rs).map(|r| r.to_string()).unwrap_or_default()
    );
    plan.follow.clear();
    plan.notes.clear();
    // Bookkeeping, not an automatic decision.
    plan.reason = None;
    plan.writes = vec![Write {
        target: ObjectRef::replica_set(&parent.namespace, &name),
        resource_version: rs.metadata.resource_version.clone(),
        changes: vec![super::plan::FieldChange::new(
            format!("metadata.annotations[{ROLLED_OUT}]"),
            super::objects::annotation(&rs.metadata, ROLLED_OUT).map(str::to_string),
            Some(hash.clone()),
        )],
        body: WriteBody::MergePatch {
            patch: json!({"metadata": {
                "resourceVersion": rs.metadata.resource_version,
                "annotations": {ROLLED_OUT: hash},
            }}),
        },
    }];
    Some(plan)
}

/// The marker's re-plan after a conflict (the ReplicaSet controller updates status often):
/// re-read the ReplicaSet and set the same annotation on its new version.
struct MarkReplanner<'a> {
    client: &'a EnvClient,
}

impl Replanner for MarkReplanner<'_> {
    fn replan<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<Plan, ReleaseError>> {
        Box::pin(async move {
            let Some(target) = plan.writes.first().map(|w| w.target.clone()) else {
                return Ok(plan.clone());
            };
            let api: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
                kube::Api::namespaced(self.client.client.clone(), &target.namespace);
            let rs = api
                .get(&target.name)
                .await
                .map_err(|e| super::observe::api_error(self.client, "get", &target, e))?;
            Ok(match mark_plan(plan, &rs) {
                Some(mut fresh) => {
                    fresh.id = plan.id.clone();
                    fresh.summary = plan.summary.clone();
                    fresh
                }
                None => Plan {
                    writes: Vec::new(),
                    ..plan.clone()
                },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The console runs these on a spawned task: they must stay `Send`.
    #[allow(dead_code)]
    fn futures_are_send(ctx: &ReleaseContext, plan: &Plan, req: &ReleaseRequest) {
        let mut progress = |_: Progress| {};
        assert_send(&plan_request(req, ctx));
        assert_send(&execute(plan, ctx, &mut progress));
        assert_send(&follow(plan, ctx, None, &mut progress));
    }

    #[test]
    fn requests_round_trip_as_json() {
        let req = ReleaseRequest {
            service: "orders".into(),
            env: "prod".into(),
            action: Action::CanarySet { percent: 25 },
        };
        let text = serde_json::to_string(&req).expect("serialize");
        assert_eq!(
            text,
            r#"{"service":"orders","env":"prod","action":{"kind":"canary-set","percent":25}}"#
        );
        assert_eq!(
            serde_json::from_str::<ReleaseRequest>(&text).ok(),
            Some(req)
        );
    }
}
