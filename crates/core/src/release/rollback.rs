//! Roll back with `kubectl rollout undo` semantics (kubectl `polymorphichelpers/rollback.go`):
//! the target ReplicaSet's template minus `pod-template-hash` replaces the Deployment's, the
//! Deployment's annotations become its skip-list ones plus the ReplicaSet's others, one JSON
//! patch; a paused Deployment is refused; an identical template is skipped. shipdeck adds the
//! resourceVersion precondition and its own change-cause in that same patch.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::{Value, json};

use crate::config::Strategy;

use super::error::PlanError;
use super::input::PlanInput;
use super::objects::{
    CHANGE_CAUSE, POD_TEMPLATE_HASH, REVISION, deployment_image, equal_ignore_hash, image_tag,
    is_paused, owned_replica_sets, revision, rv_op,
};
use super::observe::{Observed, canary_deployments};
use super::plan::{Action, FieldChange, ObjectRef, Plan, RollbackTarget, Write, WriteBody};
use super::revisions::{history, last_good};

/// Annotations that stay the Deployment's own (kubectl's `annotationsToSkip`).
const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// The Deployment a rollback acts on: the service's Deployment, a canary's stable one, a
/// blue-green service's active colour.
pub fn rollback_deployment(o: &Observed, input: &PlanInput) -> Result<String, PlanError> {
    let cfg = input.cfg;
    Ok(match cfg.strategy {
        Strategy::Rolling => cfg.deployment_name().to_string(),
        Strategy::Canary => canary_deployments(cfg)
            .map(|(stable, _)| stable)
            .ok_or_else(|| PlanError::config(&cfg.name, "needs a [service.canary] section"))?,
        Strategy::BlueGreen => super::blue_green::active(o, input)?.1,
    })
}

/// kubectl's `deploymentRevision`: revision `n`, or the second-highest for `Previous`.
fn find_target<'a>(
    deploy: &Deployment,
    all: &[ReplicaSet],
    owned: &[&'a ReplicaSet],
    to: RollbackTarget,
    input: &PlanInput,
) -> Result<&'a ReplicaSet, PlanError> {
    let name = deploy.metadata.name.as_deref().unwrap_or_default();
    let by_revision = |n: i64| owned.iter().copied().find(|rs| revision(rs) == Some(n));
    match to {
        RollbackTarget::Revision(n) => by_revision(n).ok_or_else(|| {
            PlanError::Refused(format!(
                "unable to find specified revision {n} in history of deployment {name}; see \
                 `kubectl rollout history deployment/{name} -n {}`",
                input.env.namespace
            ))
        }),
        RollbackTarget::Previous => {
            let mut numbered: Vec<(i64, &ReplicaSet)> = owned
                .iter()
                .filter_map(|rs| Some((revision(rs)?, *rs)))
                .collect();
            numbered.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
            numbered.get(1).map(|(_, rs)| *rs).ok_or_else(|| {
                PlanError::Refused(format!("no rollout history found for deployment {name:?}"))
            })
        }
        RollbackTarget::LastGood => {
            let revisions = history(deploy, all, input.cfg.container.as_deref());
            let good = last_good(deploy, &revisions).ok_or_else(|| {
                PlanError::Refused(format!(
                    "no earlier revision of deployment {name} is known to have fully rolled out \
                     (shipdeck marks revisions it saw complete); pick one with --to-revision N \
                     (see `kubectl rollout history deployment/{name} -n {}`)",
                    input.env.namespace
                ))
            })?;
            by_revision(good.revision).ok_or_else(|| {
                PlanError::Refused(format!("revision {} vanished from history", good.revision))
            })
        }
    }
}

pub fn plan_rollback(
    o: &Observed,
    input: &PlanInput,
    to: RollbackTarget,
) -> Result<Plan, PlanError> {
    let name = rollback_deployment(o, input)?;
    let deploy = o.deployment(&name).ok_or_else(|| {
        input.missing(
            "deployments.apps",
            &name,
            "check the service's deployment in shipdeck.toml",
        )
    })?;
    let owned = owned_replica_sets(deploy, &o.replica_sets);
    let target_rs = find_target(deploy, &o.replica_sets, &owned, to, input)?;
    let target_rev = revision(target_rs).unwrap_or_default();
    if is_paused(deploy) {
        return Err(PlanError::Refused(format!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout \
             resume deployment/{name} -n {}' and try again",
            input.env.namespace
        )));
    }
    let container = input.cfg.container.as_deref();
    let spec = deploy
        .spec
        .as_ref()
        .ok_or_else(|| PlanError::Invalid(format!("deployment {name} has no spec")))?;
    let rs_template = target_rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .ok_or_else(|| PlanError::Invalid(format!("revision {target_rev} has no template")))?;
    let to_image = {
        let mut probe = deploy.clone();
        if let Some(s) = probe.spec.as_mut() {
            s.template = rs_template.clone();
        }
        deployment_image(&probe, container)
    };
    let label = match to_image.as_deref().and_then(image_tag) {
        Some(tag) => format!("revision {target_rev} ({tag})"),
        None => format!("revision {target_rev}"),
    };
    let mut plan = input.plan(
        Action::Rollback { to },
        format!(
            "Roll back {} in {} to {label}",
            input.cfg.name, input.env.name
        ),
    );
    if equal_ignore_hash(&rs_template, &spec.template) {
        plan.notes.push(format!(
            "skipped rollback (current template already matches revision {target_rev})"
        ));
        return Ok(plan);
    }

    let mut template = serde_json::to_value(&rs_template)
        .map_err(|e| PlanError::Invalid(format!("revision {target_rev}: {e}")))?;
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let current_annotations = deploy.metadata.annotations.clone().unwrap_or_default();
    let mut annotations: BTreeMap<String, String> = ANNOTATIONS_TO_SKIP
        .iter()
        .filter_map(|k| {
            current_annotations
                .get(*k)
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    for (k, v) in target_rs.metadata.annotations.iter().flatten() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    let cause = input.cause(&format!("rollback to {label}"));
    annotations.insert(CHANGE_CAUSE.into(), cause.clone());

    let from_rev = current_annotations.get(REVISION).cloned();
    let from_image = deployment_image(deploy, container);
    let mut changes = vec![FieldChange::new(
        "spec.template",
        Some(
            match (&from_rev, from_image.as_deref().and_then(image_tag)) {
                (Some(r), Some(tag)) => format!("revision {r} ({tag})"),
                (Some(r), None) => format!("revision {r}"),
                (None, _) => "current template".into(),
            },
        ),
        Some(label.clone()),
    )];
    if from_image != to_image {
        let cname = crate::release::objects::container_index(&spec.template, container, &name)
            .map(|(_, c)| c)
            .unwrap_or_default();
        changes.push(FieldChange::new(
            format!("spec.template.spec.containers[{cname}].image"),
            from_image,
            to_image,
        ));
    }
    changes.push(FieldChange::new(
        format!("metadata.annotations[{CHANGE_CAUSE}]"),
        current_annotations.get(CHANGE_CAUSE).cloned(),
        Some(cause),
    ));
    let mut ops = Vec::new();
    if let Some(rv) = &deploy.metadata.resource_version {
        ops.push(rv_op(rv));
    }
    ops.push(json!({"op": "replace", "path": "/spec/template", "value": template}));
    ops.push(json!({"op": "replace", "path": "/metadata/annotations", "value": annotations}));
    plan.writes.push(Write {
        target: ObjectRef::deployment(&input.env.namespace, &name),
        resource_version: deploy.metadata.resource_version.clone(),
        changes,
        body: WriteBody::JsonPatch {
            patch: Value::Array(ops),
        },
    });
    plan.follow.push(name);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::objects::ROLLED_OUT;
    use crate::release::testkit::{deployment, env, input, replica_set, service, set_annotation};

    fn world() -> Observed {
        let mut d = deployment("orders", "reg/orders:v3", 4);
        set_annotation(&mut d.metadata, REVISION, "3");
        set_annotation(
            &mut d.metadata,
            "kubectl.kubernetes.io/last-applied-configuration",
            "{}",
        );
        set_annotation(&mut d.metadata, "team", "shop");
        let mut rs1 = replica_set(&d, 1, "reg/orders:v1", 0, 0);
        set_annotation(&mut rs1.metadata, CHANGE_CAUSE, "initial");
        set_annotation(&mut rs1.metadata, ROLLED_OUT, "h1");
        let rs2 = replica_set(&d, 2, "reg/orders:v2", 0, 0);
        let rs3 = replica_set(&d, 3, "reg/orders:v3", 4, 4);
        Observed {
            namespace: "shop".into(),
            deployments: BTreeMap::from([("orders".to_string(), d)]),
            replica_sets: vec![rs1, rs2, rs3],
            ..Observed::default()
        }
    }

    fn patch_of(plan: &Plan) -> &Value {
        match &plan.writes[0].body {
            WriteBody::JsonPatch { patch } => patch,
            other => panic!("json patch expected, got {other:?}"),
        }
    }

    #[test]
    fn previous_is_the_second_highest_revision() {
        let cfg = service("orders");
        let prod = env("prod", true);
        let plan =
            plan_rollback(&world(), &input(&cfg, &prod), RollbackTarget::Previous).expect("plan");
        assert_eq!(plan.summary, "Roll back orders in prod to revision 2 (v2)");
        let patch = patch_of(&plan);
        assert_eq!(patch[0]["path"], "/metadata/resourceVersion");
        assert_eq!(patch[1]["path"], "/spec/template");
        assert_eq!(
            patch[1]["value"]["spec"]["containers"][0]["image"],
            "reg/orders:v2"
        );
        assert!(
            patch[1]["value"]["metadata"]["labels"]
                .get(POD_TEMPLATE_HASH)
                .is_none()
        );
        assert_eq!(patch[1]["value"]["metadata"]["labels"]["app"], "orders");
    }

    #[test]
    fn annotations_follow_kubectl_plus_change_cause() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let plan = plan_rollback(&world(), &input(&cfg, &prod), RollbackTarget::Revision(1))
            .expect("plan");
        let annotations = &patch_of(&plan)[2];
        assert_eq!(annotations["op"], "replace");
        assert_eq!(annotations["path"], "/metadata/annotations");
        let value = &annotations["value"];
        // Skip-list annotations stay the Deployment's …
        assert_eq!(value[REVISION], "3");
        assert_eq!(
            value["kubectl.kubernetes.io/last-applied-configuration"],
            "{}"
        );
        // … the Deployment's other annotations are replaced by the ReplicaSet's …
        assert!(value.get("team").is_none());
        assert_eq!(value[ROLLED_OUT], "h1");
        // … and the change-cause says what shipdeck did.
        assert_eq!(
            value[CHANGE_CAUSE],
            "shipdeck rollback to revision 1 (v1) by alice"
        );
        let fields: Vec<&str> = plan.writes[0]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            fields,
            vec![
                "spec.template",
                "spec.template.spec.containers[orders].image",
                "metadata.annotations[kubernetes.io/change-cause]"
            ]
        );
        assert_eq!(
            plan.writes[0].changes[0].from.as_deref(),
            Some("revision 3 (v3)")
        );
    }

    #[test]
    fn identical_template_is_skipped() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let plan = plan_rollback(&world(), &input(&cfg, &prod), RollbackTarget::Revision(3))
            .expect("plan");
        assert!(plan.is_noop());
        assert_eq!(
            plan.notes,
            vec!["skipped rollback (current template already matches revision 3)"]
        );
    }

    #[test]
    fn paused_unknown_and_empty_history_are_refused() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let mut o = world();
        let e = plan_rollback(&o, &input(&cfg, &prod), RollbackTarget::Revision(9))
            .expect_err("unknown");
        assert!(
            e.to_string()
                .starts_with("unable to find specified revision 9"),
            "{e}"
        );
        if let Some(s) = o
            .deployments
            .get_mut("orders")
            .and_then(|d| d.spec.as_mut())
        {
            s.paused = Some(true);
        }
        let e =
            plan_rollback(&o, &input(&cfg, &prod), RollbackTarget::Previous).expect_err("paused");
        assert!(
            e.to_string()
                .starts_with("you cannot rollback a paused deployment"),
            "{e}"
        );
        o.replica_sets.truncate(1);
        let e =
            plan_rollback(&o, &input(&cfg, &prod), RollbackTarget::Previous).expect_err("history");
        assert!(e.to_string().contains("no rollout history found"), "{e}");
    }

    #[test]
    fn last_good_uses_the_marked_revision() {
        let cfg = service("orders");
        let prod = env("prod", false);
        let plan =
            plan_rollback(&world(), &input(&cfg, &prod), RollbackTarget::LastGood).expect("plan");
        assert_eq!(plan.summary, "Roll back orders in prod to revision 1 (v1)");
        let mut o = world();
        o.replica_sets.remove(0);
        let e = plan_rollback(&o, &input(&cfg, &prod), RollbackTarget::LastGood).expect_err("none");
        assert!(
            e.to_string().contains("known to have fully rolled out"),
            "{e}"
        );
    }
}
