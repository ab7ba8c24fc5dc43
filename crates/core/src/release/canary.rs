//! Canary actions: set or step the weight through the service's router, promote (stable takes
//! the canary image, weights back to 100/0, canary scaled down) and abort (weight 0, canary
//! scaled to zero). Each is one plan; every "from" is what the cluster object says.

use crate::config::{CanaryConfig, Router, Strategy};

use super::deploy::image_patch;
use super::error::PlanError;
use super::input::PlanInput;
use super::objects::{deployment_image, image_tag, replicas};
use super::observe::{Observed, canary_deployments};
use super::plan::{Action, Plan};
use super::traffic::{replica_split, scale_write, traffic, weight_writes};

fn canary_cfg<'a>(input: &PlanInput<'a>) -> Result<&'a CanaryConfig, PlanError> {
    match (&input.cfg.strategy, &input.cfg.canary) {
        (Strategy::Canary, Some(c)) => Ok(c),
        _ => Err(PlanError::config(
            &input.cfg.name,
            "is not a canary service (strategy = \"canary\" with a [service.canary] section)",
        )),
    }
}

/// The configured step after `current` (or before it, `back`); `None` past either end.
pub fn next_step(steps: &[u32], current: u32, back: bool) -> Option<u32> {
    if back {
        if current == 0 {
            return None;
        }
        Some(
            steps
                .iter()
                .copied()
                .filter(|s| *s < current)
                .max()
                .unwrap_or(0),
        )
    } else {
        steps.iter().copied().find(|s| *s > current)
    }
}

fn deployments<'a>(
    o: &'a Observed,
    input: &PlanInput,
) -> Result<
    (
        &'a k8s_openapi::api::apps::v1::Deployment,
        &'a k8s_openapi::api::apps::v1::Deployment,
    ),
    PlanError,
> {
    let (stable, canary) = canary_deployments(input.cfg).unwrap_or_default();
    let get = |n: &str| {
        o.deployment(n).ok_or_else(|| {
            input.missing(
                "deployments.apps",
                n,
                "check stable/canary deployments in [service.canary]",
            )
        })
    };
    Ok((get(&stable)?, get(&canary)?))
}

/// Set the canary's share of traffic to `percent`.
pub fn plan_set(o: &Observed, input: &PlanInput, percent: u32) -> Result<Plan, PlanError> {
    plan_weight(o, input, Action::CanarySet { percent }, percent)
}

/// Move to the next configured step above the current weight (below, with `back`).
pub fn plan_step(o: &Observed, input: &PlanInput, back: bool) -> Result<Plan, PlanError> {
    let c = canary_cfg(input)?;
    let current = traffic(o, input)?.canary_percent;
    let target = next_step(&c.steps, current, back).ok_or_else(|| {
        if back {
            PlanError::Refused(format!("the canary of {} already gets 0%", input.cfg.name))
        } else {
            PlanError::Refused(format!(
                "the canary of {} is at {current}%, at or past the last step ({}%); promote it \
                 with `shipdeck canary promote {} --env {}`",
                input.cfg.name,
                c.steps.last().copied().unwrap_or(100),
                input.cfg.name,
                input.env.name
            ))
        }
    })?;
    plan_weight(o, input, Action::CanaryStep { back }, target)
}

fn plan_weight(
    o: &Observed,
    input: &PlanInput,
    action: Action,
    percent: u32,
) -> Result<Plan, PlanError> {
    let c = canary_cfg(input)?;
    if percent > 100 {
        return Err(PlanError::Invalid(format!(
            "canary weight {percent}% is out of range; use 0 to 100"
        )));
    }
    let now = traffic(o, input)?;
    let (_, canary) = deployments(o, input)?;
    // Sending traffic to a Service without ready pods fails those requests.
    let ready = canary
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    if c.router != Router::Replicas && percent > 0 && ready == 0 {
        return Err(PlanError::Refused(format!(
            "{} has no ready pods to take {percent}% of traffic; deploy a canary first with \
             `shipdeck deploy {} TAG --env {}`",
            canary.metadata.name.as_deref().unwrap_or_default(),
            input.cfg.name,
            input.env.name
        )));
    }
    let mut plan = input.plan(
        action,
        format!(
            "Set {} canary weight in {}: {}% → {percent}% (via {})",
            input.cfg.name, input.env.name, now.canary_percent, now.source
        ),
    );
    plan.writes = weight_writes(o, input, percent)?;
    if plan.writes.is_empty() {
        plan.notes
            .push(format!("skipped: the canary already gets {percent}%"));
    }
    if c.router == Router::Replicas {
        plan.notes.push(
            "traffic follows ready pods: the split reaches this weight as the pods become ready"
                .into(),
        );
        plan.follow = plan.writes.iter().map(|w| w.target.name.clone()).collect();
    }
    Ok(plan)
}

/// Stable takes the canary's image; weights back to 100/0; the canary is scaled down.
pub fn plan_promote(o: &Observed, input: &PlanInput) -> Result<Plan, PlanError> {
    let c = canary_cfg(input)?;
    let (stable, canary) = deployments(o, input)?;
    let container = input.cfg.container.as_deref();
    let image = deployment_image(canary, container).ok_or_else(|| {
        PlanError::Refused(format!(
            "{} has no image to promote",
            canary.metadata.name.as_deref().unwrap_or_default()
        ))
    })?;
    let tag = image_tag(&image).unwrap_or(&image).to_string();
    let ns = &input.env.namespace;
    let mut plan = input.plan(
        Action::CanaryPromote,
        format!(
            "Promote the {} canary ({tag}) to stable in {}",
            input.cfg.name, input.env.name
        ),
    );
    let (mut stable_patch, _) = image_patch(
        stable,
        input,
        &image,
        input.cause(&format!("canary promote {tag}")),
    )?;
    let canary_name = canary.metadata.name.clone().unwrap_or_default();
    match c.router {
        Router::Replicas => {
            let total = replicas(stable) + replicas(canary);
            let (_, want) = replica_split(total, 0);
            if replicas(stable) != want {
                stable_patch = stable_patch.set(
                    "/spec/replicas",
                    serde_json::json!(want),
                    "spec.replicas",
                    Some(replicas(stable).to_string()),
                    Some(want.to_string()),
                );
            }
            if stable_patch.has_changes() {
                plan.writes.push(stable_patch.build());
            }
            plan.writes.extend(scale_write(canary, ns, 0));
        }
        _ => {
            if stable_patch.has_changes() {
                plan.writes.push(stable_patch.build());
            }
            plan.writes.extend(weight_writes(o, input, 0)?);
            plan.writes.extend(scale_write(canary, ns, 0));
        }
    }
    let status = canary.status.as_ref();
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    if available < replicas(canary) {
        plan.notes.push(format!(
            "{canary_name} is not fully available ({available}/{}) — promoting anyway copies its image",
            replicas(canary)
        ));
    }
    if plan.writes.is_empty() {
        plan.notes
            .push("skipped: stable already runs the canary image and takes all traffic".into());
    }
    plan.follow
        .push(stable.metadata.name.clone().unwrap_or_default());
    Ok(plan)
}

/// Weight 0 and the canary scaled to zero.
pub fn plan_abort(o: &Observed, input: &PlanInput) -> Result<Plan, PlanError> {
    let c = canary_cfg(input)?;
    let (stable, canary) = deployments(o, input)?;
    let ns = &input.env.namespace;
    let mut plan = input.plan(
        Action::CanaryAbort,
        format!(
            "Abort the {} canary in {}: all traffic back to stable",
            input.cfg.name, input.env.name
        ),
    );
    match c.router {
        // Weight 0 is all replicas on stable, none on the canary.
        Router::Replicas => plan.writes = weight_writes(o, input, 0)?,
        _ => {
            plan.writes = weight_writes(o, input, 0)?;
            plan.writes.extend(scale_write(canary, ns, 0));
        }
    }
    if plan.writes.is_empty() {
        plan.notes
            .push("skipped: the canary already gets no traffic and has no pods".into());
    }
    plan.follow
        .push(stable.metadata.name.clone().unwrap_or_default());
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CanaryConfig, EnvConfig, ServiceConfig, default_steps};
    use crate::release::plan::WriteBody;
    use crate::release::testkit::{deployment, env, input, service, set_annotation};
    use k8s_openapi::api::networking::v1::Ingress;
    use kube::api::DynamicObject;
    use serde_json::{Value, json};

    fn cfg(router: Router) -> ServiceConfig {
        let mut cfg = service("orders");
        cfg.strategy = Strategy::Canary;
        cfg.canary = Some(CanaryConfig {
            router,
            route: (router != Router::Replicas).then(|| "orders".into()),
            stable: if router == Router::Replicas {
                "orders".into()
            } else {
                "orders-stable".into()
            },
            canary: "orders-canary".into(),
            stable_deployment: (router != Router::Replicas).then(|| "orders".into()),
            canary_deployment: None,
            steps: default_steps(),
        });
        cfg
    }

    fn dynamic(api_version: &str, kind: &str, spec: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": "orders", "namespace": "shop", "resourceVersion": "77"},
            "spec": spec,
        }))
        .expect("dynamic object")
    }

    fn world(route: Option<DynamicObject>, canary_replicas: i32) -> Observed {
        let mut o = Observed {
            namespace: "shop".into(),
            ..Observed::default()
        };
        o.deployments
            .insert("orders".into(), deployment("orders", "reg/orders:v1", 4));
        o.deployments.insert(
            "orders-canary".into(),
            deployment("orders-canary", "reg/orders:v2", canary_replicas),
        );
        if let Some(r) = route {
            o.routes.insert("orders".into(), r);
        }
        o
    }

    fn http_route(stable: i64, canary: i64) -> DynamicObject {
        dynamic(
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            json!({"rules": [{"backendRefs": [
                {"name": "orders-stable", "port": 80, "weight": stable},
                {"name": "orders-canary", "port": 80, "weight": canary},
            ]}]}),
        )
    }

    fn patch(plan: &Plan, i: usize) -> &Value {
        match &plan.writes[i].body {
            WriteBody::JsonPatch { patch } | WriteBody::MergePatch { patch } => patch,
            other => panic!("patch expected: {other:?}"),
        }
    }

    fn prod() -> EnvConfig {
        env("prod", false)
    }

    #[test]
    fn steps_go_to_the_next_configured_weight() {
        let steps = default_steps();
        assert_eq!(next_step(&steps, 0, false), Some(5));
        assert_eq!(next_step(&steps, 7, false), Some(10));
        assert_eq!(next_step(&steps, 25, false), Some(50));
        assert_eq!(next_step(&steps, 100, false), None);
        assert_eq!(next_step(&steps, 25, true), Some(10));
        assert_eq!(next_step(&steps, 5, true), Some(0));
        assert_eq!(next_step(&steps, 0, true), None);
    }

    #[test]
    fn gateway_api_step_writes_both_backend_weights() {
        let cfg = cfg(Router::GatewayApi);
        let e = prod();
        let plan =
            plan_step(&world(Some(http_route(90, 10)), 1), &input(&cfg, &e), false).expect("plan");
        assert_eq!(
            plan.summary,
            "Set orders canary weight in prod: 10% → 25% (via httproutes.gateway.networking.k8s.io/orders)"
        );
        assert_eq!(plan.writes.len(), 1);
        let p = patch(&plan, 0);
        assert_eq!(p[0]["value"], "77");
        assert_eq!(
            p[1],
            json!({"op": "add", "path": "/spec/rules/0/backendRefs/0/weight", "value": 75})
        );
        assert_eq!(
            p[2],
            json!({"op": "add", "path": "/spec/rules/0/backendRefs/1/weight", "value": 25})
        );
        assert_eq!(
            plan.writes[0].changes[1].field,
            "spec.rules.0.backendRefs[orders-canary].weight"
        );
        assert_eq!(plan.writes[0].changes[1].from.as_deref(), Some("10"));
    }

    #[test]
    fn default_gateway_weights_read_as_fifty_fifty() {
        let cfg = cfg(Router::GatewayApi);
        let e = prod();
        let route = dynamic(
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            json!({"rules": [{"backendRefs": [
            {"name": "orders-stable"}, {"name": "orders-canary"}]}]}),
        );
        let t = traffic(&world(Some(route), 1), &input(&cfg, &e)).expect("traffic");
        assert_eq!(t.canary_percent, 50);
    }

    #[test]
    fn istio_matches_short_hosts_and_smi_keeps_string_weights() {
        let e = prod();
        let cfg_i = cfg(Router::Istio);
        let vs = dynamic(
            "networking.istio.io/v1",
            "VirtualService",
            json!({"http": [{"route": [
                {"destination": {"host": "orders-stable.shop.svc.cluster.local"}, "weight": 100},
                {"destination": {"host": "orders-canary"}, "weight": 0},
            ]}]}),
        );
        let plan = plan_set(&world(Some(vs), 1), &input(&cfg_i, &e), 50).expect("plan");
        assert_eq!(patch(&plan, 0)[1]["path"], "/spec/http/0/route/0/weight");
        assert_eq!(patch(&plan, 0)[2]["value"], 50);

        let cfg_s = cfg(Router::Smi);
        let ts = dynamic(
            "split.smi-spec.io/v1alpha1",
            "TrafficSplit",
            json!({"service": "orders", "backends": [
            {"service": "orders-stable", "weight": "95"}, {"service": "orders-canary", "weight": "5"}]}),
        );
        let plan = plan_set(&world(Some(ts), 1), &input(&cfg_s, &e), 10).expect("plan");
        assert_eq!(patch(&plan, 0)[1]["value"], "90");
        assert_eq!(patch(&plan, 0)[2]["value"], "10");
    }

    #[test]
    fn nginx_sets_the_canary_weight_annotation_with_precondition() {
        let cfg = cfg(Router::Nginx);
        let e = prod();
        let mut o = world(None, 1);
        let mut ing = Ingress::default();
        ing.metadata.name = Some("orders".into());
        ing.metadata.resource_version = Some("31".into());
        set_annotation(
            &mut ing.metadata,
            crate::release::traffic::NGINX_CANARY,
            "true",
        );
        set_annotation(
            &mut ing.metadata,
            crate::release::traffic::NGINX_WEIGHT,
            "5",
        );
        o.ingresses.insert("orders".into(), ing);
        let plan = plan_step(&o, &input(&cfg, &e), false).expect("plan");
        assert_eq!(
            patch(&plan, 0),
            &json!({"metadata": {"resourceVersion": "31", "annotations": {"nginx.ingress.kubernetes.io/canary-weight": "10"}}})
        );
    }

    #[test]
    fn nginx_finds_the_canary_ingress_beside_the_primary() {
        let cfg = cfg(Router::Nginx);
        let e = prod();
        let mut o = world(None, 1);
        let mut primary = Ingress::default();
        primary.metadata.name = Some("orders".into());
        let mut canary = Ingress::default();
        canary.metadata.name = Some("orders-canary".into());
        canary.metadata.resource_version = Some("8".into());
        set_annotation(
            &mut canary.metadata,
            crate::release::traffic::NGINX_CANARY,
            "true",
        );
        set_annotation(
            &mut canary.metadata,
            crate::release::traffic::NGINX_WEIGHT,
            "0",
        );
        o.ingresses.insert("orders".into(), primary.clone());
        o.ingresses.insert("orders-canary".into(), canary);
        let plan = plan_set(&o, &input(&cfg, &e), 10).expect("plan");
        assert_eq!(plan.writes[0].target.name, "orders-canary");
        assert_eq!(plan.writes[0].changes[0].to.as_deref(), Some("10"));
        o.ingresses.remove("orders-canary");
        let err = plan_set(&o, &input(&cfg, &e), 10).expect_err("no canary ingress");
        assert!(
            err.to_string().contains("not an NGINX canary Ingress"),
            "{err}"
        );
    }

    #[test]
    fn replica_ratio_grows_the_canary_first() {
        let cfg = cfg(Router::Replicas);
        let e = prod();
        let mut o = world(None, 0);
        o.deployments
            .insert("orders".into(), deployment("orders", "reg/orders:v1", 10));
        let plan = plan_set(&o, &input(&cfg, &e), 20).expect("plan");
        let targets: Vec<(&str, Option<&str>)> = plan
            .writes
            .iter()
            .map(|w| (w.target.name.as_str(), w.changes[0].to.as_deref()))
            .collect();
        assert_eq!(
            targets,
            vec![("orders-canary", Some("2")), ("orders", Some("8"))]
        );
    }

    #[test]
    fn routed_weight_needs_ready_canary_pods() {
        let cfg = cfg(Router::GatewayApi);
        let e = prod();
        let e2 = plan_set(&world(Some(http_route(100, 0)), 0), &input(&cfg, &e), 25)
            .expect_err("no pods");
        assert!(e2.to_string().contains("no ready pods"), "{e2}");
        assert!(plan_set(&world(Some(http_route(100, 0)), 1), &input(&cfg, &e), 101).is_err());
        let e3 = plan_step(&world(Some(http_route(0, 100)), 1), &input(&cfg, &e), false)
            .expect_err("at end");
        assert!(e3.to_string().contains("promote it"), "{e3}");
    }

    #[test]
    fn promote_moves_image_then_traffic_then_scales_down() {
        let cfg = cfg(Router::GatewayApi);
        let e = prod();
        let plan =
            plan_promote(&world(Some(http_route(50, 50)), 2), &input(&cfg, &e)).expect("plan");
        let order: Vec<String> = plan.writes.iter().map(|w| w.target.to_string()).collect();
        assert_eq!(
            order,
            vec![
                "deployments.apps/orders",
                "httproutes.gateway.networking.k8s.io/orders",
                "deployments.apps/orders-canary",
            ]
        );
        assert_eq!(
            plan.writes[0].changes[0].to.as_deref(),
            Some("reg/orders:v2")
        );
        assert_eq!(
            plan.writes[0].changes[1].to.as_deref(),
            Some("shipdeck canary promote v2 by alice")
        );
        assert_eq!(plan.writes[2].changes[0].to.as_deref(), Some("0"));
        assert_eq!(plan.follow, vec!["orders"]);
    }

    #[test]
    fn abort_is_weight_zero_and_no_canary_pods() {
        let cfg = cfg(Router::GatewayApi);
        let e = prod();
        let plan = plan_abort(&world(Some(http_route(75, 25)), 2), &input(&cfg, &e)).expect("plan");
        assert_eq!(plan.writes.len(), 2);
        assert_eq!(patch(&plan, 0)[2]["value"], 0);
        let again =
            plan_abort(&world(Some(http_route(100, 0)), 0), &input(&cfg, &e)).expect("plan");
        assert!(again.is_noop(), "{again}");
    }

    #[test]
    fn rolling_services_have_no_canary() {
        let cfg = service("orders");
        let e = prod();
        let err = plan_abort(&world(None, 0), &input(&cfg, &e)).expect_err("not canary");
        assert!(matches!(err, PlanError::Config { .. }));
    }
}
