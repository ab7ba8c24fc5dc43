//! Headless release subcommands: the same planners and executor as the console.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::registry::{ClientOptions, Registries};
use crate::release::{
    Action, Journal, Plan, ReleaseContext, ReleaseError, ReleaseRequest, RollbackTarget,
    plan_request,
};

use super::drive::{EXIT_FAILED, EXIT_OK, Flow, Output, drive, exit_code};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Services × environments: image tags, ready/desired, health.
    Status(StatusArgs),
    /// Deploy a tag: set the service's image and (with --wait) follow the rollout; with
    /// [service.analysis], --wait runs the strategy with its analysis to the end.
    Deploy(DeployArgs),
    /// Roll back like `kubectl rollout undo`: the previous revision, a chosen one, or the
    /// last known good.
    Rollback(RollbackArgs),
    /// Canary traffic: set or step the weight, promote, abort.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// Blue-green: point the Service at the other colour (run again to swap back).
    Swap(SwapArgs),
    /// Copy a tag by digest from one environment's registry to another's (policy checked).
    Promote(PromoteArgs),
    /// Build the service's image with its configured runner (command or Kubernetes Job).
    Build(BuildArgs),
    /// Registry tags of a service, newest first: digest, age, size, commit, where each runs.
    Tags(super::tags::TagsArgs),
}

/// Flags every writing command shares.
#[derive(Debug, Clone, Args)]
pub struct WriteFlags {
    /// Skip the question on ordinary environments.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The service name, typed: protected environments need it with --yes.
    #[arg(long, value_name = "SERVICE")]
    pub confirm: Option<String>,
    /// Print the plan and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `json` prints data (the plan and the result) as JSON on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Following the rollout after the writes.
#[derive(Debug, Clone, Args)]
pub struct WaitFlags {
    /// Follow the rollout to completion (non-zero exit on ProgressDeadlineExceeded).
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this long (e.g. 5m).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this environment.
    #[arg(long, short)]
    pub env: Option<String>,
    /// `json` prints data (the plan and the result) as JSON on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Image tag (in the environment's registry).
    pub tag: String,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    #[command(flatten)]
    pub write: WriteFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
    /// With --wait, only follow the rollout: no release analysis even when the service has
    /// [service.analysis] (which otherwise steps a canary, watches the rollout and rolls
    /// back or aborts on failure).
    #[arg(long)]
    pub no_analysis: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    /// Roll back to this revision (see `kubectl rollout history`).
    #[arg(long, value_name = "N", conflicts_with = "last_good")]
    pub to_revision: Option<i64>,
    /// Roll back to the most recent earlier revision known to have fully rolled out.
    #[arg(long)]
    pub last_good: bool,
    #[command(flatten)]
    pub write: WriteFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Set the canary's share of traffic (0–100).
    Set(CanarySetArgs),
    /// Move to the next configured step (5, 10, 25, 50, 100 by default).
    Step(CanaryStepArgs),
    /// Stable takes the canary image; weights back to 100/0; canary scaled down.
    Promote(CanaryArgs),
    /// Weight 0 and the canary scaled to zero.
    Abort(CanaryArgs),
}

#[derive(Debug, Args)]
pub struct CanaryArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    #[command(flatten)]
    pub write: WriteFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
}

#[derive(Debug, Args)]
pub struct CanarySetArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// The canary's share of traffic, 0 to 100.
    pub percent: u32,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct CanaryStepArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    /// Step down instead of up.
    #[arg(long)]
    pub back: bool,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct SwapArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Environment, as named in shipdeck.toml.
    #[arg(long, short)]
    pub env: String,
    /// Stay until `scale_down_after` has passed, then scale the now idle colour down.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Image tag (in the environment's registry).
    pub tag: String,
    #[arg(long, value_name = "ENV")]
    pub from: String,
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Approval note (ticket, approver) when policy asks for one; recorded in the audit log.
    #[arg(long, value_name = "NOTE")]
    pub approve: Option<String>,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Environment whose registry (and, for Job builds, cluster) is used.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Build this commit instead of the source directory's HEAD.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    #[command(flatten)]
    pub write: WriteFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
}

/// Global options the release commands use.
pub struct Globals {
    pub config: Option<PathBuf>,
    pub read_only: bool,
    pub kube: super::console::KubeArgs,
}

/// The context every command works in: config, clients, journal, registry.
pub async fn context(globals: &Globals) -> Result<ReleaseContext, String> {
    let config = super::console::load_config(globals.config.clone(), &globals.kube)?;
    let journal = Journal::open_default().map_err(|e| e.to_string())?;
    let mut ctx = ReleaseContext::connect(config, globals.read_only, journal)
        .await
        .map_err(|e| e.to_string())?;
    super::console::prepare(&mut ctx).await;
    ctx.registry = Some(Arc::new(Registries::new(ClientOptions::default())));
    Ok(ctx)
}

fn flow(write: &WriteFlags, wait: Option<&WaitFlags>) -> Flow {
    Flow {
        yes: write.yes,
        confirm: write.confirm.clone(),
        dry_run: write.dry_run,
        wait: wait.is_some_and(|w| w.wait),
        timeout: wait.and_then(|w| w.timeout),
        output: write.output,
    }
}

async fn plan_and_drive(ctx: &ReleaseContext, req: ReleaseRequest, flow: &Flow) -> i32 {
    match plan_request(&req, ctx).await {
        Ok(plan) => drive(ctx, plan, flow).await,
        Err(e) => refuse_unplanned(flow, &req, &e),
    }
}

/// A plan that could not be made: the reason on stderr (and as JSON when asked).
fn refuse_unplanned(flow: &Flow, req: &ReleaseRequest, e: &ReleaseError) -> i32 {
    if flow.output == Output::Json {
        let doc = serde_json::json!({"request": req, "result": if e.is_refusal() { "refused" } else { "failed" }, "error": e.to_string()});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        eprintln!("shipdeck: {e}");
    }
    exit_code(e)
}

/// Runs a release command; returns the exit code.
pub async fn run(globals: Globals, cmd: ReleaseCommand) -> i32 {
    let ctx = match context(&globals).await {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return EXIT_FAILED;
        }
    };
    let req = |service: &str, env: &str, action: Action| ReleaseRequest {
        service: service.to_string(),
        env: env.to_string(),
        action,
    };
    match cmd {
        ReleaseCommand::Tags(args) => match super::tags::run(&ctx, &args).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("shipdeck: {e}");
                EXIT_FAILED
            }
        },
        ReleaseCommand::Status(args) => {
            super::status::run(&ctx, args.env.as_deref(), args.output).await
        }
        ReleaseCommand::Deploy(a) => {
            let action = Action::Deploy {
                tag: a.tag.clone(),
                digest: None,
            };
            let analysed = ctx.service(&a.service).is_ok_and(|s| s.analysis.is_some());
            if a.wait.wait && analysed && !a.no_analysis && !a.write.dry_run {
                let flow = flow(&a.write, Some(&a.wait));
                return super::guarded::deploy(
                    &ctx,
                    req(&a.service, &a.env, action),
                    &a.tag,
                    &flow,
                )
                .await;
            }
            plan_and_drive(
                &ctx,
                req(&a.service, &a.env, action),
                &flow(&a.write, Some(&a.wait)),
            )
            .await
        }
        ReleaseCommand::Rollback(a) => {
            let to = match (a.to_revision, a.last_good) {
                (Some(n), _) => RollbackTarget::Revision(n),
                (None, true) => RollbackTarget::LastGood,
                (None, false) => RollbackTarget::Previous,
            };
            plan_and_drive(
                &ctx,
                req(&a.service, &a.env, Action::Rollback { to }),
                &flow(&a.write, Some(&a.wait)),
            )
            .await
        }
        ReleaseCommand::Canary(c) => match c {
            CanaryCommand::Set(a) => {
                let action = Action::CanarySet { percent: a.percent };
                plan_and_drive(&ctx, req(&a.service, &a.env, action), &flow(&a.write, None)).await
            }
            CanaryCommand::Step(a) => {
                let action = Action::CanaryStep { back: a.back };
                plan_and_drive(&ctx, req(&a.service, &a.env, action), &flow(&a.write, None)).await
            }
            CanaryCommand::Promote(a) => {
                plan_and_drive(
                    &ctx,
                    req(&a.service, &a.env, Action::CanaryPromote),
                    &flow(&a.write, Some(&a.wait)),
                )
                .await
            }
            CanaryCommand::Abort(a) => {
                plan_and_drive(
                    &ctx,
                    req(&a.service, &a.env, Action::CanaryAbort),
                    &flow(&a.write, Some(&a.wait)),
                )
                .await
            }
        },
        ReleaseCommand::Swap(a) => {
            let f = flow(&a.write, None);
            let code = plan_and_drive(&ctx, req(&a.service, &a.env, Action::Swap), &f).await;
            if code != EXIT_OK || !a.wait || a.write.dry_run {
                return code;
            }
            scale_down_later(&ctx, req(&a.service, &a.env, Action::ScaleDownIdle), &f).await
        }
        ReleaseCommand::Promote(a) => {
            let action = Action::Promote {
                tag: a.tag.clone(),
                from: a.from.clone(),
                approval: a.approve.clone(),
            };
            plan_and_drive(&ctx, req(&a.service, &a.to, action), &flow(&a.write, None)).await
        }
        ReleaseCommand::Build(a) => super::build::run(&ctx, a).await,
    }
}

/// After a swap with --wait: sleep out `scale_down_after`, then scale the idle colour down
/// (planned afresh, so a swap back meanwhile is never undone; confirmed with the swap).
async fn scale_down_later(ctx: &ReleaseContext, req: ReleaseRequest, f: &Flow) -> i32 {
    let delay = ctx
        .service(&req.service)
        .ok()
        .and_then(|s| s.blue_green.and_then(|b| b.scale_down_after));
    let Some(delay) = delay else {
        return EXIT_OK;
    };
    eprintln!(
        "waiting {} before scaling down the idle colour",
        humantime::format_duration(delay)
    );
    tokio::time::sleep(delay).await;
    let plan: Plan = match plan_request(&req, ctx).await {
        Ok(p) => p,
        Err(e) => return refuse_unplanned(f, &req, &e),
    };
    let unattended = Flow {
        yes: true,
        confirm: Some(plan.service.clone()),
        ..f.clone()
    };
    drive(ctx, plan, &unattended).await
}
