//! Blue-green: deploy to the idle colour (optionally pointing a preview Service at it), swap
//! the Service selector in one write (and back the same way), and scale the idle colour down
//! once `scale_down_after` has passed since the swap.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;

use crate::config::{BlueGreenConfig, Strategy};

use super::deploy::{image_for, image_patch, usable};
use super::error::PlanError;
use super::input::PlanInput;
use super::objects::{annotation, deployment_image, name_of, replicas};
use super::observe::{Observed, colours};
use super::plan::{Action, FieldChange, ObjectRef, Plan, Write, WriteBody};
use super::traffic::scale_write;

/// On the switched Service: when shipdeck last swapped it (RFC 3339), so any later run (the
/// console, a CLI) can tell when the idle colour may be scaled down.
pub const SWAPPED_AT: &str = "shipdeck.io/swapped-at";

fn bg_cfg<'a>(input: &PlanInput<'a>) -> Result<&'a BlueGreenConfig, PlanError> {
    match (&input.cfg.strategy, &input.cfg.blue_green) {
        (Strategy::BlueGreen, Some(bg)) => Ok(bg),
        _ => Err(PlanError::config(
            &input.cfg.name,
            "is not a blue-green service (strategy = \"blue-green\" with a [service.blue_green] section)",
        )),
    }
}

/// The colour the Service selects now and its Deployment.
pub fn active(o: &Observed, input: &PlanInput) -> Result<(String, String), PlanError> {
    let bg = bg_cfg(input)?;
    let svc = o.services.get(&bg.service).ok_or_else(|| {
        input.missing(
            "services",
            &bg.service,
            "check `service` in [service.blue_green]",
        )
    })?;
    let colour = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|s| s.get(&bg.label))
        .cloned()
        .ok_or_else(|| {
            PlanError::Refused(format!(
                "service {} has no selector key {:?}; blue-green needs it to pick a colour",
                bg.service, bg.label
            ))
        })?;
    let deployment = colours(input.cfg).get(&colour).cloned().ok_or_else(|| {
        PlanError::Refused(format!(
            "service {} selects {}={colour}, which is none of the configured colours ({})",
            bg.service,
            bg.label,
            colours(input.cfg)
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok((colour, deployment))
}

/// The colour that is not active, and its Deployment.
pub fn idle(o: &Observed, input: &PlanInput) -> Result<(String, String), PlanError> {
    let (active_colour, _) = active(o, input)?;
    let all = colours(input.cfg);
    if all.len() != 2 {
        return Err(PlanError::config(
            &input.cfg.name,
            "blue-green needs exactly two colours in [service.blue_green].deployments",
        ));
    }
    all.into_iter()
        .find(|(c, _)| *c != active_colour)
        .ok_or_else(|| PlanError::Refused("no idle colour".into()))
}

fn deployment<'a>(
    o: &'a Observed,
    input: &PlanInput,
    name: &str,
) -> Result<&'a Deployment, PlanError> {
    o.deployment(name).ok_or_else(|| {
        input.missing(
            "deployments.apps",
            name,
            "check `deployments` in [service.blue_green]",
        )
    })
}

/// A one-field merge patch on a Service's selector, carrying its resourceVersion.
fn selector_write(
    o: &Observed,
    input: &PlanInput,
    service: &str,
    label: &str,
    colour: &str,
    stamp: Option<String>,
) -> Result<Option<Write>, PlanError> {
    let svc = o.services.get(service).ok_or_else(|| {
        input.missing(
            "services",
            service,
            "check [service.blue_green] in shipdeck.toml",
        )
    })?;
    let current = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|s| s.get(label))
        .cloned();
    if current.as_deref() == Some(colour) {
        return Ok(None);
    }
    let rv = svc.metadata.resource_version.clone();
    let mut changes = vec![FieldChange::new(
        format!("spec.selector[{label}]"),
        current,
        Some(colour.to_string()),
    )];
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(at) = stamp {
        changes.push(FieldChange::new(
            format!("metadata.annotations[{SWAPPED_AT}]"),
            annotation(&svc.metadata, SWAPPED_AT).map(str::to_string),
            Some(at.clone()),
        ));
        metadata["annotations"] = json!({SWAPPED_AT: at});
    }
    Ok(Some(Write {
        target: ObjectRef::service(&input.env.namespace, service),
        resource_version: rv,
        changes,
        body: WriteBody::MergePatch {
            patch: json!({"metadata": metadata, "spec": {"selector": {label: colour}}}),
        },
    }))
}

/// Deploy `tag` to the idle colour: its image, enough replicas to take over, and the preview
/// Service pointed at it.
pub fn plan_deploy_idle(
    o: &Observed,
    input: &PlanInput,
    action: Action,
    tag: &str,
) -> Result<Plan, PlanError> {
    let bg = bg_cfg(input)?;
    let (_, active_name) = active(o, input)?;
    let (idle_colour, idle_name) = idle(o, input)?;
    let idle_d = usable(o, input, &idle_name)?;
    let active_d = deployment(o, input, &active_name)?;
    let running = deployment_image(active_d, input.cfg.container.as_deref());
    let image = image_for(input.env, input.cfg, running.as_deref(), tag);
    let mut plan = input.plan(
        action,
        format!(
            "Deploy {} {tag} to the idle colour ({idle_colour}) in {}",
            input.cfg.name, input.env.name
        ),
    );
    let (mut patch, _) = image_patch(
        idle_d,
        input,
        &image,
        input.cause(&format!("deploy {tag} to {idle_colour}")),
    )?;
    let want = replicas(active_d).max(1);
    if replicas(idle_d) < want {
        patch = patch.set(
            "/spec/replicas",
            json!(want),
            "spec.replicas",
            Some(replicas(idle_d).to_string()),
            Some(want.to_string()),
        );
    }
    if patch.has_changes() {
        plan.writes.push(patch.build());
    }
    if let Some(preview) = &bg.preview_service {
        plan.writes.extend(selector_write(
            o,
            input,
            preview,
            &bg.label,
            &idle_colour,
            None,
        )?);
    }
    plan.follow.push(idle_name.clone());
    if plan.writes.is_empty() {
        plan.notes.push(format!(
            "skipped: {idle_name} already runs {image} with {want} replicas"
        ));
    }
    plan.notes.push(format!(
        "traffic stays on {active_name}; swap when {idle_name} is ready: `shipdeck swap {} --env {}`",
        input.cfg.name, input.env.name
    ));
    Ok(plan)
}

/// Point the Service at the idle colour in one write. Refused unless that colour is fully
/// rolled out and available: a swap to missing pods is an outage.
pub fn plan_swap(o: &Observed, input: &PlanInput) -> Result<Plan, PlanError> {
    let bg = bg_cfg(input)?;
    let (active_colour, active_name) = active(o, input)?;
    let (idle_colour, idle_name) = idle(o, input)?;
    let idle_d = deployment(o, input, &idle_name)?;
    let want = replicas(idle_d);
    let status = idle_d.status.clone().unwrap_or_default();
    let available = status.available_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if want == 0 || available < want || updated < want {
        return Err(PlanError::Refused(format!(
            "{idle_name} ({idle_colour}) is not ready to take traffic ({available}/{want} \
             available, {updated} updated); deploy to it with `shipdeck deploy {} TAG --env {}` \
             and wait for it",
            input.cfg.name, input.env.name
        )));
    }
    let image = deployment_image(idle_d, input.cfg.container.as_deref()).unwrap_or_default();
    let mut plan = input.plan(
        Action::Swap,
        format!(
            "Swap {} in {}: {active_colour} → {idle_colour} ({image})",
            input.cfg.name, input.env.name
        ),
    );
    let stamp = input.now.to_string();
    plan.writes.extend(selector_write(
        o,
        input,
        &bg.service,
        &bg.label,
        &idle_colour,
        Some(stamp),
    )?);
    match bg.scale_down_after {
        Some(after) => plan.notes.push(format!(
            "{active_name} stays up for {} so you can swap back in one write; then it is scaled to 0",
            humantime::format_duration(after)
        )),
        None => plan.notes.push(format!("{active_name} stays up (no scale_down_after configured)")),
    }
    Ok(plan)
}

/// When the idle colour may be scaled down: `scale_down_after` past the recorded swap.
pub fn scale_down_due(o: &Observed, input: &PlanInput) -> Result<Option<Timestamp>, PlanError> {
    let bg = bg_cfg(input)?;
    let Some(after) = bg.scale_down_after else {
        return Ok(None);
    };
    let swapped = o
        .services
        .get(&bg.service)
        .and_then(|s| annotation(&s.metadata, SWAPPED_AT))
        .and_then(|t| t.parse::<Timestamp>().ok());
    Ok(swapped.and_then(|t| {
        t.checked_add(jiff::SignedDuration::try_from(after).ok()?)
            .ok()
    }))
}

/// Scale the idle colour to zero, once its delay has passed.
pub fn plan_scale_down_idle(o: &Observed, input: &PlanInput) -> Result<Plan, PlanError> {
    let (idle_colour, idle_name) = idle(o, input)?;
    let idle_d = deployment(o, input, &idle_name)?;
    if let Some(due) = scale_down_due(o, input)?
        && input.now < due
    {
        return Err(PlanError::Refused(format!(
            "{idle_name} may be scaled down from {due} (scale_down_after after the last swap)"
        )));
    }
    let mut plan = input.plan(
        Action::ScaleDownIdle,
        format!(
            "Scale down the idle colour of {} in {} ({idle_colour})",
            input.cfg.name, input.env.name
        ),
    );
    plan.writes
        .extend(scale_write(idle_d, &input.env.namespace, 0));
    if plan.writes.is_empty() {
        plan.notes.push(format!(
            "skipped: {} already has no replicas",
            name_of(&idle_d.metadata)
        ));
    }
    Ok(plan)
}

/// How long to wait after a swap before scaling down (for runners that schedule it).
pub fn scale_down_delay(input: &PlanInput) -> Option<Duration> {
    input.cfg.blue_green.as_ref()?.scale_down_after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;
    use crate::release::testkit::{deployment, env, input, service};
    use k8s_openapi::api::core::v1::{Service, ServiceSpec};
    use std::collections::BTreeMap;

    fn cfg() -> ServiceConfig {
        let mut cfg = service("payments");
        cfg.strategy = Strategy::BlueGreen;
        cfg.blue_green = Some(BlueGreenConfig {
            service: "payments".into(),
            label: "version".into(),
            deployments: BTreeMap::new(),
            preview_service: Some("payments-preview".into()),
            scale_down_after: Some(Duration::from_secs(300)),
        });
        cfg
    }

    fn svc(name: &str, colour: &str) -> Service {
        Service {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                resource_version: Some("9".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(BTreeMap::from([
                    ("app".to_string(), "payments".to_string()),
                    ("version".to_string(), colour.to_string()),
                ])),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn world(green_replicas: i32) -> Observed {
        let mut o = Observed::default();
        o.deployments.insert(
            "payments-blue".into(),
            deployment("payments-blue", "reg:5000/prod/payments:v1", 3),
        );
        o.deployments.insert(
            "payments-green".into(),
            deployment(
                "payments-green",
                "reg:5000/prod/payments:v2",
                green_replicas,
            ),
        );
        o.services
            .insert("payments".into(), svc("payments", "blue"));
        o.services
            .insert("payments-preview".into(), svc("payments-preview", "blue"));
        o
    }

    #[test]
    fn deploy_goes_to_the_idle_colour_and_preview() {
        let cfg = cfg();
        let e = env("prod", false);
        let plan = crate::release::deploy::plan_deploy(&world(0), &input(&cfg, &e), "v3", None)
            .expect("plan");
        assert_eq!(plan.writes.len(), 2);
        assert_eq!(plan.writes[0].target.name, "payments-green");
        let fields: Vec<&str> = plan.writes[0]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            fields,
            vec![
                "spec.template.spec.containers[payments-green].image",
                "metadata.annotations[kubernetes.io/change-cause]",
                "spec.replicas",
            ]
        );
        assert_eq!(plan.writes[1].target.name, "payments-preview");
        assert_eq!(plan.writes[1].changes[0].to.as_deref(), Some("green"));
        assert_eq!(plan.follow, vec!["payments-green"]);
    }

    #[test]
    fn swap_is_one_selector_write_with_a_timestamp() {
        let cfg = cfg();
        let e = env("prod", false);
        let plan = plan_swap(&world(3), &input(&cfg, &e)).expect("plan");
        assert_eq!(plan.writes.len(), 1);
        let WriteBody::MergePatch { patch } = &plan.writes[0].body else {
            panic!("merge patch")
        };
        assert_eq!(patch["spec"], json!({"selector": {"version": "green"}}));
        assert_eq!(patch["metadata"]["resourceVersion"], "9");
        assert_eq!(
            patch["metadata"]["annotations"][SWAPPED_AT],
            "2025-01-01T12:00:00Z"
        );
        assert!(plan.summary.contains("blue → green"), "{}", plan.summary);
    }

    #[test]
    fn swap_to_an_unready_colour_is_refused() {
        let cfg = cfg();
        let e = env("prod", false);
        let err = plan_swap(&world(0), &input(&cfg, &e)).expect_err("unready");
        assert!(
            err.to_string().contains("not ready to take traffic"),
            "{err}"
        );
    }

    #[test]
    fn scale_down_waits_for_the_delay() {
        let cfg = cfg();
        let e = env("prod", false);
        let mut o = world(3);
        // Swapped to blue at 11:58; green is idle.
        crate::release::testkit::set_annotation(
            &mut o.services.get_mut("payments").expect("svc").metadata,
            SWAPPED_AT,
            "2025-01-01T11:58:00Z",
        );
        let err = plan_scale_down_idle(&o, &input(&cfg, &e)).expect_err("too early");
        assert!(
            err.to_string().contains("from 2025-01-01T12:03:00Z"),
            "{err}"
        );
        let mut later = input(&cfg, &e);
        later.now = "2025-01-01T12:03:00Z".parse().expect("ts");
        let plan = plan_scale_down_idle(&o, &later).expect("plan");
        assert_eq!(plan.writes[0].target.name, "payments-green");
        assert_eq!(plan.writes[0].changes[0].to.as_deref(), Some("0"));
    }
}
