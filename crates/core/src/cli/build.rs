//! `shipdeck build`: the service's configured runner; with --wait, a Job build is followed
//! (its pod's log streamed) until it succeeds or fails.

use crate::release::{Action, ReleaseContext, ReleaseRequest, WriteBody, plan_request};

use super::actions::BuildArgs;
use super::drive::{EXIT_FAILED, EXIT_OK, Flow, drive, exit_code, print_progress};

pub async fn run(ctx: &ReleaseContext, a: BuildArgs) -> i32 {
    let build_env = a
        .env
        .clone()
        .or_else(|| {
            ctx.config
                .service(&a.service)
                .and_then(|s| s.build.as_ref()?.env.clone())
        })
        .or_else(|| ctx.config.envs.first().map(|e| e.name.clone()))
        .unwrap_or_default();
    let req = ReleaseRequest {
        service: a.service.clone(),
        env: build_env,
        action: Action::Build {
            commit: a.commit.clone(),
        },
    };
    let plan = match plan_request(&req, ctx).await {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return exit_code(&e);
        }
    };
    let job = plan.writes.iter().find_map(|w| match w.body {
        WriteBody::Create { .. } if w.target.kind == "Job" => Some(w.target.clone()),
        _ => None,
    });
    let flow = Flow {
        yes: a.write.yes,
        confirm: a.write.confirm.clone(),
        dry_run: a.write.dry_run,
        wait: false,
        timeout: a.wait.timeout,
        output: a.write.output,
    };
    let code = drive(ctx, plan.clone(), &flow).await;
    if code != EXIT_OK || !a.wait.wait || a.write.dry_run {
        return code;
    }
    let Some(job) = job else {
        return EXIT_OK;
    };
    let client = match ctx.client(&plan.env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return EXIT_FAILED;
        }
    };
    match crate::release::build::follow_job(client, &job.name, a.wait.timeout, &mut print_progress)
        .await
    {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            exit_code(&e)
        }
    }
}
