//! Deploy a tag: set the released container's image on the service's Deployment (the canary
//! Deployment for canary services; blue-green services deploy to the idle colour).

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;

use crate::config::{EnvConfig, Router, ServiceConfig, Strategy};

use super::blue_green;
use super::error::PlanError;
use super::input::{PatchBuilder, PlanInput, check_tag};
use super::objects::{container_index, image_at, image_repository, is_paused, name_of, replicas};
use super::observe::{Observed, canary_deployments};
use super::plan::{Action, ObjectRef, Plan};

/// The image reference a tag means in an environment: the environment's registry prefix and
/// the service's repository when configured, else the running image's repository.
pub fn image_for(env: &EnvConfig, cfg: &ServiceConfig, running: Option<&str>, tag: &str) -> String {
    match (&env.registry, running) {
        (Some(registry), _) => format!(
            "{}/{}:{tag}",
            registry.trim_end_matches('/'),
            cfg.repository_name()
        ),
        (None, Some(image)) => format!("{}:{tag}", image_repository(image)),
        (None, None) => format!("{}:{tag}", cfg.repository_name()),
    }
}

/// Refuses a Deployment that does not exist or is paused (a paused Deployment would take the
/// change but not roll it out, so `--wait` would hang and the console would mislead).
pub fn usable<'a>(
    o: &'a Observed,
    input: &PlanInput,
    name: &str,
) -> Result<&'a Deployment, PlanError> {
    let deploy = o.deployment(name).ok_or_else(|| {
        input.missing(
            "deployments.apps",
            name,
            "check `deployment` for this service in shipdeck.toml",
        )
    })?;
    if is_paused(deploy) {
        return Err(PlanError::Refused(format!(
            "deployment {name} in {} is paused; resume it first with `kubectl rollout resume \
             deployment/{name} -n {}` and try again",
            input.env.name, input.env.namespace
        )));
    }
    Ok(deploy)
}

/// A patch setting the released container's image (and the change-cause), or `None` when the
/// Deployment already runs `image`.
pub fn image_patch(
    deploy: &Deployment,
    input: &PlanInput,
    image: &str,
    cause: String,
) -> Result<(PatchBuilder, bool), PlanError> {
    let name = name_of(&deploy.metadata);
    let target = ObjectRef::deployment(&input.env.namespace, name);
    let template = &deploy
        .spec
        .as_ref()
        .ok_or_else(|| PlanError::Invalid(format!("{target} has no spec")))?
        .template;
    let (index, container) = container_index(
        template,
        input.cfg.container.as_deref(),
        &target.to_string(),
    )?;
    let current = image_at(template, index);
    let builder = PatchBuilder::new(target, &deploy.metadata);
    if current.as_deref() == Some(image) {
        return Ok((builder, false));
    }
    let builder = builder
        .set(
            &format!("/spec/template/spec/containers/{index}/image"),
            json!(image),
            &format!("spec.template.spec.containers[{container}].image"),
            current,
            Some(image.to_string()),
        )
        .cause(&deploy.metadata, cause);
    Ok((builder, true))
}

pub fn plan_deploy(
    o: &Observed,
    input: &PlanInput,
    tag: &str,
    digest: Option<&str>,
) -> Result<Plan, PlanError> {
    check_tag(tag)?;
    let cfg = input.cfg;
    let action = Action::Deploy {
        tag: tag.to_string(),
        digest: digest.map(str::to_string),
    };
    let (name, canary_router) = match cfg.strategy {
        Strategy::BlueGreen => return blue_green::plan_deploy_idle(o, input, action, tag),
        Strategy::Rolling => (cfg.deployment_name().to_string(), None),
        Strategy::Canary => {
            let (_, canary) = canary_deployments(cfg)
                .ok_or_else(|| PlanError::config(&cfg.name, "needs a [service.canary] section"))?;
            (canary, cfg.canary.as_ref().map(|c| c.router))
        }
    };
    let deploy = usable(o, input, &name)?;
    let running = super::objects::deployment_image(deploy, cfg.container.as_deref());
    let image = image_for(input.env, cfg, running.as_deref(), tag);
    let summary = match canary_router {
        Some(_) => format!(
            "Deploy {} {tag} to {} as canary ({name})",
            cfg.name, input.env.name
        ),
        None => format!("Deploy {} {tag} to {}", cfg.name, input.env.name),
    };
    let mut plan = input.plan(action, summary);
    let (mut patch, changed) =
        image_patch(deploy, input, &image, input.cause(&format!("deploy {tag}")))?;
    // A routed canary needs a pod to send its weight to; the `replicas` router sizes the
    // canary from the weight instead (`canary set`/`step`).
    if matches!(canary_router, Some(r) if r != Router::Replicas) && replicas(deploy) == 0 {
        patch = patch.set(
            "/spec/replicas",
            json!(1),
            "spec.replicas",
            Some("0".into()),
            Some("1".into()),
        );
    }
    if let Some(d) = digest {
        plan.notes.push(format!("{image} is {d}"));
    }
    if patch.has_changes() {
        plan.writes.push(patch.build());
        plan.follow.push(name.clone());
    }
    match (changed, plan.writes.is_empty()) {
        (false, true) => plan
            .notes
            .push(format!("skipped: {name} already runs {image}")),
        (false, false) => plan.notes.push(format!(
            "{name} already runs {image}; it is scaled up to take canary traffic"
        )),
        _ => {}
    }
    if canary_router.is_some() && changed {
        plan.notes.push(format!(
            "the canary gets traffic at its current weight; step it with `shipdeck canary step {} --env {}`",
            cfg.name, input.env.name
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CanaryConfig;
    use crate::release::testkit::{deployment, env, input, service};

    fn observed(d: Vec<Deployment>) -> Observed {
        Observed {
            namespace: "shop".into(),
            deployments: d
                .into_iter()
                .map(|d| (d.metadata.name.clone().unwrap_or_default(), d))
                .collect(),
            ..Observed::default()
        }
    }

    #[test]
    fn sets_image_and_change_cause_with_precondition() {
        let cfg = service("orders");
        let prod = env("prod", true);
        let o = observed(vec![deployment("orders", "reg:5000/prod/orders:v1.4.2", 4)]);
        let plan =
            plan_deploy(&o, &input(&cfg, &prod), "v1.5.0", Some("sha256:3f9c21")).expect("plan");
        assert_eq!(plan.writes.len(), 1);
        let w = &plan.writes[0];
        assert_eq!(w.resource_version.as_deref(), Some("100"));
        assert_eq!(
            w.changes[0].field,
            "spec.template.spec.containers[orders].image"
        );
        assert_eq!(
            w.changes[0].from.as_deref(),
            Some("reg:5000/prod/orders:v1.4.2")
        );
        assert_eq!(
            w.changes[0].to.as_deref(),
            Some("reg:5000/prod/orders:v1.5.0")
        );
        assert_eq!(
            w.changes[1].to.as_deref(),
            Some("shipdeck deploy v1.5.0 by alice")
        );
        let crate::release::plan::WriteBody::JsonPatch { patch } = &w.body else {
            panic!("json patch expected");
        };
        assert_eq!(
            patch[0],
            json!({"op": "replace", "path": "/metadata/resourceVersion", "value": "100"})
        );
        assert_eq!(patch[1]["path"], "/spec/template/spec/containers/0/image");
        assert!(plan.notes.iter().any(|n| n.contains("sha256:3f9c21")));
        assert_eq!(plan.follow, vec!["orders"]);
        assert!(plan.protected);
    }

    #[test]
    fn same_image_is_skipped() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let o = observed(vec![deployment("orders", "reg:5000/prod/orders:v1.5.0", 4)]);
        let plan = plan_deploy(&o, &input(&cfg, &prod), "v1.5.0", None).expect("plan");
        assert!(plan.is_noop());
        assert!(plan.notes[0].starts_with("skipped:"), "{:?}", plan.notes);
    }

    #[test]
    fn paused_and_missing_are_refused() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let mut d = deployment("orders", "x:v1", 1);
        if let Some(s) = d.spec.as_mut() {
            s.paused = Some(true);
        }
        let e =
            plan_deploy(&observed(vec![d]), &input(&cfg, &prod), "v2", None).expect_err("paused");
        assert!(e.to_string().contains("is paused"), "{e}");
        let e =
            plan_deploy(&observed(vec![]), &input(&cfg, &prod), "v2", None).expect_err("missing");
        assert!(
            e.to_string()
                .contains("deployments.apps \"orders\" not found"),
            "{e}"
        );
        let e =
            plan_deploy(&observed(vec![]), &input(&cfg, &prod), "bad tag", None).expect_err("tag");
        assert!(matches!(e, PlanError::Invalid(_)));
    }

    #[test]
    fn without_registry_keeps_the_running_repository() {
        let cfg = service("orders");
        let mut e = env("prod", false);
        e.registry = None;
        assert_eq!(
            image_for(&e, &cfg, Some("ghcr.io/acme/orders:v1"), "v2"),
            "ghcr.io/acme/orders:v2"
        );
        assert_eq!(
            image_for(&env("dev", false), &cfg, None, "v2"),
            "reg:5000/dev/orders:v2"
        );
    }

    #[test]
    fn canary_deploy_targets_the_canary_and_gives_it_a_pod() {
        let mut cfg = service("orders");
        cfg.strategy = Strategy::Canary;
        cfg.canary = Some(CanaryConfig {
            router: Router::GatewayApi,
            route: Some("orders".into()),
            stable: "orders-stable".into(),
            canary: "orders-canary".into(),
            stable_deployment: Some("orders".into()),
            canary_deployment: Some("orders-canary".into()),
            steps: crate::config::default_steps(),
        });
        let prod = env("prod", false);
        let o = observed(vec![
            deployment("orders", "reg:5000/prod/orders:v1", 4),
            deployment("orders-canary", "reg:5000/prod/orders:v1", 0),
        ]);
        let plan = plan_deploy(&o, &input(&cfg, &prod), "v2", None).expect("plan");
        assert_eq!(plan.writes[0].target.name, "orders-canary");
        let fields: Vec<&str> = plan.writes[0]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert!(fields.contains(&"spec.replicas"), "{fields:?}");
        assert_eq!(plan.follow, vec!["orders-canary"]);
    }
}
