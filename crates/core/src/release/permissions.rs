//! Which permissions each action needs: for the console (before a plan exists: to mark keys
//! unavailable) from the service's strategy and router, and for a concrete plan from its
//! writes. The test below keeps the table honest against the planners' actual writes.

use std::collections::BTreeSet;

use crate::cluster::access::Permission;
use crate::config::{BuildRunner, EnvConfig, Router, ServiceConfig, Strategy};

use super::observe::RouteKind;
use super::plan::{Action, Plan, WriteBody};

/// The kinds of action the console offers (its keys), without their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Deploy,
    Rollback,
    Canary,
    Swap,
    Promote,
    Build,
}

impl ActionKind {
    pub fn of(action: &Action) -> Option<ActionKind> {
        Some(match action {
            Action::Deploy { .. } => ActionKind::Deploy,
            Action::Rollback { .. } => ActionKind::Rollback,
            Action::CanarySet { .. }
            | Action::CanaryStep { .. }
            | Action::CanaryPromote
            | Action::CanaryAbort => ActionKind::Canary,
            Action::Swap | Action::ScaleDownIdle => ActionKind::Swap,
            Action::Promote { .. } => ActionKind::Promote,
            Action::Build { .. } => ActionKind::Build,
            Action::MarkRolledOut { .. } => return None,
        })
    }
}

fn deployments(ns: &str) -> Permission {
    Permission::new("patch", "apps", "deployments", ns)
}

/// What `kind` may write for `service` in `env` (the build env for Job builds is `build_env`).
pub fn needed(
    kind: ActionKind,
    service: &ServiceConfig,
    env: &EnvConfig,
    build_env: Option<&EnvConfig>,
) -> Vec<Permission> {
    let ns = env.namespace.as_str();
    match kind {
        ActionKind::Deploy | ActionKind::Rollback => vec![deployments(ns)],
        ActionKind::Canary => {
            let router = service.canary.as_ref().map(|c| c.router);
            let route = match router {
                Some(Router::Nginx) => Some(Permission::new(
                    "patch",
                    "networking.k8s.io",
                    "ingresses",
                    ns,
                )),
                Some(router) => RouteKind::for_router(router).map(|kind| {
                    let r = kind.object_ref(ns, "");
                    Permission::new("patch", r.group(), &r.plural, ns)
                }),
                None => None,
            };
            // Promote and abort also set the Deployments (image, replicas).
            route.into_iter().chain([deployments(ns)]).collect()
        }
        ActionKind::Swap if service.strategy == Strategy::BlueGreen => vec![
            Permission::new("patch", "", "services", ns),
            deployments(ns),
        ],
        ActionKind::Swap => Vec::new(),
        // A copy between registries: nothing on the cluster.
        ActionKind::Promote => Vec::new(),
        ActionKind::Build => match service.build.as_ref().map(|b| b.runner) {
            Some(BuildRunner::Job) => {
                let ns = build_env.map_or(ns, |e| e.namespace.as_str());
                vec![Permission::new("create", "batch", "jobs", ns)]
            }
            _ => Vec::new(),
        },
    }
}

/// Exactly what a plan writes on the cluster, object by object.
pub fn of_plan(plan: &Plan) -> Vec<Permission> {
    let mut out = BTreeSet::new();
    for write in &plan.writes {
        if matches!(
            write.body,
            WriteBody::RegistryCopy { .. } | WriteBody::Run { .. }
        ) {
            continue;
        }
        let target = &write.target;
        let mut p = Permission::new(
            write.body.verb(),
            target.group(),
            &target.plural,
            &target.namespace,
        );
        if !matches!(write.body, WriteBody::Create { .. }) {
            p.name = Some(target.name.clone());
        }
        out.insert(p);
    }
    out.into_iter().collect()
}

/// Asks the API server about every write of `plan` before anything is sent; the first
/// denied one, as the sentence to show. `None` when all are allowed or the server could not
/// say (the writes themselves then tell: a 403 is final).
pub async fn denied(plan: &Plan, client: &crate::cluster::EnvClient) -> Option<String> {
    use crate::cluster::access::{Access, refusal, review_all};
    let answers = review_all(&client.client, of_plan(plan)).await;
    answers.into_iter().find_map(|(p, access)| match access {
        Access::Denied(reason) => Some(refusal(&p, &client.context, reason.as_deref())),
        Access::Allowed | Access::Unknown(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BlueGreenConfig, BuildConfig, CanaryConfig, default_steps};
    use crate::release::testkit;

    fn canary(router: Router) -> ServiceConfig {
        ServiceConfig {
            strategy: Strategy::Canary,
            canary: Some(CanaryConfig {
                router,
                route: Some("orders".into()),
                stable: "orders-stable".into(),
                canary: "orders-canary".into(),
                stable_deployment: None,
                canary_deployment: None,
                steps: default_steps(),
            }),
            ..testkit::service("orders")
        }
    }

    #[test]
    fn each_router_needs_its_own_resource() {
        let env = testkit::env("prod", false);
        let names = |s: &ServiceConfig| -> Vec<String> {
            needed(ActionKind::Canary, s, &env, None)
                .iter()
                .map(|p| p.to_string())
                .collect()
        };
        assert_eq!(
            names(&canary(Router::GatewayApi)),
            [
                "patch httproutes.gateway.networking.k8s.io in shop",
                "patch deployments.apps in shop"
            ]
        );
        assert_eq!(
            names(&canary(Router::Istio))[0],
            "patch virtualservices.networking.istio.io in shop"
        );
        assert_eq!(
            names(&canary(Router::Smi))[0],
            "patch trafficsplits.split.smi-spec.io in shop"
        );
        assert_eq!(
            names(&canary(Router::Nginx))[0],
            "patch ingresses.networking.k8s.io in shop"
        );
        assert_eq!(
            names(&canary(Router::Replicas)),
            ["patch deployments.apps in shop"]
        );
    }

    #[test]
    fn swap_and_builds_need_services_and_jobs() {
        let env = testkit::env("dev", false);
        let bg = ServiceConfig {
            strategy: Strategy::BlueGreen,
            blue_green: Some(BlueGreenConfig {
                service: "payments".into(),
                label: "version".into(),
                deployments: Default::default(),
                preview_service: None,
                scale_down_after: None,
            }),
            ..testkit::service("payments")
        };
        let swap: Vec<String> = needed(ActionKind::Swap, &bg, &env, None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(swap[0], "patch services in shop");
        let mut build_env = testkit::env("ci", false);
        build_env.namespace = "builds".into();
        let job = ServiceConfig {
            build: Some(BuildConfig {
                runner: BuildRunner::Job,
                command: None,
                workdir: None,
                job_template: None,
                env: Some("ci".into()),
            }),
            ..testkit::service("orders")
        };
        assert_eq!(
            needed(ActionKind::Build, &job, &env, Some(&build_env))[0].to_string(),
            "create jobs.batch in builds"
        );
        assert!(needed(ActionKind::Promote, &job, &env, None).is_empty());
    }

    #[test]
    fn a_deploy_plan_writes_only_what_the_table_says() {
        let env = testkit::env("prod", false);
        let cfg = testkit::service("orders");
        let d = testkit::deployment("orders", "reg:5000/prod/orders:v1", 2);
        let observed = crate::release::Observed {
            namespace: "shop".into(),
            deployments: [("orders".to_string(), d)].into(),
            ..Default::default()
        };
        let plan =
            crate::release::deploy::plan_deploy(&observed, &testkit::input(&cfg, &env), "v2", None)
                .expect("plan");
        let written = of_plan(&plan);
        assert_eq!(
            written.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["patch deployments.apps/orders in shop"]
        );
        let table = needed(ActionKind::Deploy, &cfg, &env, None);
        for p in &written {
            assert!(
                table
                    .iter()
                    .any(|t| t.verb == p.verb && t.resource_name() == p.resource_name()),
                "{p} is not in the table"
            );
        }
    }
}
