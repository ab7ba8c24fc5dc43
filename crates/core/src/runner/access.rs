//! Keeps the console's knowledge of what the user may do: per environment, one access review
//! per permission the configured services' actions need there, at start and every few
//! minutes (a role granted or revoked meanwhile shows without a restart).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cluster::access::{Permission, review_all};
use crate::release::ReleaseContext;
use crate::release::permissions::{ActionKind, needed};
use crate::tui::AppEvent;

/// How often the reviews are asked again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(120);

const KINDS: [ActionKind; 5] = [
    ActionKind::Deploy,
    ActionKind::Rollback,
    ActionKind::Canary,
    ActionKind::Swap,
    ActionKind::Build,
];

/// Every permission some action of some service may need, by the environment whose client
/// answers for it.
pub fn wanted(ctx: &ReleaseContext) -> Vec<(String, BTreeSet<Permission>)> {
    let config = &ctx.config;
    config
        .envs
        .iter()
        .map(|env| {
            let mut set = BTreeSet::new();
            // Any Deployment is a rolling service when none are configured.
            set.extend(needed(
                ActionKind::Deploy,
                &crate::config::ServiceConfig::rolling(""),
                env,
                None,
            ));
            for service in &config.services {
                for kind in KINDS {
                    if kind == ActionKind::Build {
                        continue; // Job builds are asked of their build environment below.
                    }
                    set.extend(needed(kind, service, env, None));
                }
            }
            for service in &config.services {
                let build_env = service
                    .build
                    .as_ref()
                    .and_then(|b| b.env.as_deref())
                    .and_then(|n| config.env(n))
                    .or(config.envs.first());
                if build_env.is_some_and(|b| b.name == env.name) {
                    set.extend(needed(ActionKind::Build, service, env, build_env));
                }
            }
            (env.name.clone(), set)
        })
        .collect()
}

/// Reviews every environment now and every [`RECHECK_EVERY`].
pub fn spawn(ctx: Arc<ReleaseContext>, events: mpsc::Sender<AppEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let wanted = wanted(&ctx);
        loop {
            for (env, permissions) in &wanted {
                let Some(client) = ctx.clients.get(env) else {
                    continue;
                };
                let answers = review_all(&client.client, permissions.iter().cloned()).await;
                for (p, a) in &answers {
                    tracing::debug!(%env, permission = %p, access = ?a, "access review");
                }
                let event = AppEvent::Access {
                    env: env.clone(),
                    context: client.context.clone(),
                    answers,
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(RECHECK_EVERY).await;
        }
    })
}
