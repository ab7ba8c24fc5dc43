//! Promotion: a tag copied by digest from one environment's registry to another's, with the
//! policy check — the semver bump from what runs in the target environment to the promoted
//! tag; bumps listed in `policy.approval_for` need an approval note on protected
//! environments, recorded in the plan and the audit journal.

use crate::config::{Bump, EnvConfig, PolicyConfig};

use super::deploy::image_for;
use super::error::PlanError;
use super::input::{PlanInput, check_tag};
use super::objects::image_tag;
use super::plan::{Action, FieldChange, ObjectRef, Plan, Write, WriteBody};

/// The registry facts a promotion plan is made from (looked up by the caller).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromoteFacts {
    /// Digest of the tag in the source environment's repository (`None`: no such tag).
    pub source_digest: Option<String>,
    /// Digest the tag has in the target repository now, if any.
    pub target_digest: Option<String>,
    /// The image the target environment runs now (its tag is the policy's "from").
    pub running: Option<String>,
}

/// The bump that needs an approval when promoting `tag` into `env`: only protected
/// environments ask, for the bumps `policy.approval_for` lists (the registry layer's rule).
pub fn approval_needed(
    policy: &PolicyConfig,
    env: &EnvConfig,
    running: Option<&str>,
    tag: &str,
) -> Option<Bump> {
    if !env.protected {
        return None;
    }
    crate::registry::approval_needed(policy, running, tag)
}

fn repo_ref(image: &str) -> ObjectRef {
    ObjectRef::new("oci/v1", "Tag", "tags", "", image)
}

/// Plans copying `tag` from `from` into `input.env`'s registry.
pub fn plan_promote(
    input: &PlanInput,
    policy: &PolicyConfig,
    from: &EnvConfig,
    tag: &str,
    approval: Option<&str>,
    facts: &PromoteFacts,
) -> Result<Plan, PlanError> {
    check_tag(tag)?;
    let cfg = input.cfg;
    let to = input.env;
    if from.name == to.name {
        return Err(PlanError::Invalid(format!(
            "--from and --to are both {}",
            to.name
        )));
    }
    for env in [from, to] {
        if env.registry.is_none() {
            return Err(PlanError::config(
                &cfg.name,
                format!(
                    "environment {} has no `registry`; promotion copies between registries",
                    env.name
                ),
            ));
        }
    }
    let source = image_for(from, cfg, None, tag);
    let target = image_for(to, cfg, None, tag);
    let digest = facts.source_digest.clone().ok_or_else(|| {
        PlanError::Refused(format!("{source} does not exist; build or push it first"))
    })?;
    let approval = approval.map(str::trim).filter(|a| !a.is_empty());
    let running_tag = facts.running.as_deref().and_then(image_tag);
    let needed = approval_needed(policy, to, running_tag, tag);
    if let (Some(kind), None) = (needed, approval) {
        return Err(PlanError::Refused(format!(
            "promoting {} {} → {tag} into {} is a {} bump: policy needs an approval note; pass \
             --approve \"<ticket or approver>\" (it is recorded in the audit log)",
            cfg.name,
            running_tag.unwrap_or("?"),
            to.name,
            bump_name(kind)
        )));
    }
    let mut plan = input.plan(
        Action::Promote {
            tag: tag.to_string(),
            from: from.name.clone(),
            approval: approval.map(str::to_string),
        },
        format!(
            "Promote {} {tag} from {} to {}",
            cfg.name, from.name, to.name
        ),
    );
    plan.approval = approval.map(str::to_string);
    if let Some(running) = running_tag
        && let Some(kind) = crate::registry::bump(running, tag)
    {
        plan.notes.push(format!(
            "{} runs {running} in {}: a {} bump",
            cfg.name,
            to.name,
            bump_name(kind)
        ));
    }
    if facts.target_digest.as_deref() == Some(digest.as_str()) {
        plan.notes
            .push(format!("skipped: {target} already is {digest}"));
        return Ok(plan);
    }
    plan.writes.push(Write {
        target: repo_ref(&target),
        resource_version: facts.target_digest.clone(),
        changes: vec![FieldChange::new(
            "digest",
            facts.target_digest.clone(),
            Some(digest.clone()),
        )],
        body: WriteBody::RegistryCopy {
            source,
            target,
            digest,
            protected: to.protected,
        },
    });
    plan.notes
        .push("promotion copies the image; deploy it with `shipdeck deploy` afterwards".into());
    Ok(plan)
}

pub fn bump_name(kind: Bump) -> &'static str {
    match kind {
        Bump::Major => "major",
        Bump::Minor => "minor",
        Bump::Patch => "patch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::testkit::{env, input, service};

    fn policy() -> PolicyConfig {
        PolicyConfig {
            approval_for: vec![Bump::Major],
        }
    }

    fn facts(running: &str) -> PromoteFacts {
        PromoteFacts {
            source_digest: Some("sha256:aaa".into()),
            target_digest: None,
            running: Some(format!("reg:5000/prod/orders:{running}")),
        }
    }

    #[test]
    fn major_bump_into_protected_env_needs_approval() {
        let cfg = service("orders");
        let (dev, prod) = (env("dev", false), env("prod", true));
        let e = plan_promote(
            &input(&cfg, &prod),
            &policy(),
            &dev,
            "v2.0.0",
            None,
            &facts("v1.4.2"),
        )
        .expect_err("approval");
        assert!(e.to_string().contains("major bump"), "{e}");
        assert!(e.to_string().contains("--approve"), "{e}");
        let plan = plan_promote(
            &input(&cfg, &prod),
            &policy(),
            &dev,
            "v2.0.0",
            Some("CAB-7"),
            &facts("v1.4.2"),
        )
        .expect("approved");
        assert_eq!(plan.approval.as_deref(), Some("CAB-7"));
        let WriteBody::RegistryCopy {
            source,
            target,
            digest,
            ..
        } = &plan.writes[0].body
        else {
            panic!("copy")
        };
        assert_eq!(source, "reg:5000/dev/orders:v2.0.0");
        assert_eq!(target, "reg:5000/prod/orders:v2.0.0");
        assert_eq!(digest, "sha256:aaa");
        // Minor bumps and unprotected targets need none.
        assert!(
            plan_promote(
                &input(&cfg, &prod),
                &policy(),
                &dev,
                "v1.5.0",
                None,
                &facts("v1.4.2")
            )
            .is_ok()
        );
        let staging = env("staging", false);
        assert!(
            plan_promote(
                &input(&cfg, &staging),
                &policy(),
                &dev,
                "v2.0.0",
                None,
                &facts("v1.4.2")
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_source_and_same_digest() {
        let cfg = service("orders");
        let (dev, prod) = (env("dev", false), env("prod", false));
        let mut f = facts("v1.4.2");
        f.source_digest = None;
        let e = plan_promote(&input(&cfg, &prod), &policy(), &dev, "v1.5.0", None, &f)
            .expect_err("missing");
        assert!(e.to_string().contains("does not exist"), "{e}");
        let mut f = facts("v1.4.2");
        f.target_digest = Some("sha256:aaa".into());
        let plan =
            plan_promote(&input(&cfg, &prod), &policy(), &dev, "v1.5.0", None, &f).expect("noop");
        assert!(plan.is_noop());
    }
}
