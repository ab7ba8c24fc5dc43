//! What every planner gets besides the observed objects: the service and environment config,
//! who acts, and the time (passed in so planners stay pure and tests deterministic).

use jiff::Timestamp;

use crate::config::{EnvConfig, ServiceConfig};

use super::error::PlanError;
use super::objects::{CHANGE_CAUSE, annotation, rv_op, set_annotation_ops};
use super::plan::{Action, FieldChange, ObjectRef, Plan, Write, WriteBody, new_plan_id};

#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub cfg: &'a ServiceConfig,
    pub env: &'a EnvConfig,
    /// The kube context the environment's client uses.
    pub context: &'a str,
    /// The kube context's user, named in change-causes and the journal.
    pub who: &'a str,
    pub now: Timestamp,
}

impl PlanInput<'_> {
    /// A plan with no writes yet, scoped to this service and environment.
    pub fn plan(&self, action: Action, summary: String) -> Plan {
        Plan {
            id: new_plan_id(),
            action,
            service: self.cfg.name.clone(),
            env: self.env.name.clone(),
            namespace: self.env.namespace.clone(),
            context: self.context.to_string(),
            protected: self.env.protected,
            who: self.who.to_string(),
            summary,
            writes: Vec::new(),
            notes: Vec::new(),
            follow: Vec::new(),
            approval: None,
            reason: None,
        }
    }

    /// `kubernetes.io/change-cause` text: what shipdeck did and for whom.
    pub fn cause(&self, what: &str) -> String {
        format!("shipdeck {what} by {}", self.who)
    }

    pub fn missing(&self, resource: &str, name: &str, hint: &str) -> PlanError {
        PlanError::Missing {
            resource: resource.into(),
            name: name.into(),
            namespace: self.env.namespace.clone(),
            env: self.env.name.clone(),
            hint: hint.into(),
        }
    }
}

/// Builds a JSON-patch write on an existing object: the resourceVersion precondition first,
/// then `ops`, plus the change-cause annotation when `cause` is given (template changes only:
/// the controller copies it onto the revision, so it labels that revision in history).
pub struct PatchBuilder {
    target: ObjectRef,
    resource_version: Option<String>,
    ops: Vec<serde_json::Value>,
    changes: Vec<FieldChange>,
}

impl PatchBuilder {
    pub fn new(
        target: ObjectRef,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ) -> Self {
        let resource_version = meta.resource_version.clone();
        let ops = resource_version.iter().map(|rv| rv_op(rv)).collect();
        PatchBuilder {
            target,
            resource_version,
            ops,
            changes: Vec::new(),
        }
    }

    /// Sets `path` (a JSON pointer) to `value`; `field`, `from` and `to` are what the diff shows.
    pub fn set(
        mut self,
        path: &str,
        value: serde_json::Value,
        field: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> Self {
        // `add` replaces an existing member and creates a missing one (RFC 6902 §4.1).
        self.ops
            .push(serde_json::json!({"op": "add", "path": path, "value": value}));
        self.changes.push(FieldChange::new(field, from, to));
        self
    }

    pub fn raw(mut self, op: serde_json::Value, change: Option<FieldChange>) -> Self {
        self.ops.push(op);
        self.changes.extend(change);
        self
    }

    pub fn cause(
        mut self,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        cause: String,
    ) -> Self {
        let from = annotation(meta, CHANGE_CAUSE).map(str::to_string);
        self.ops.extend(set_annotation_ops(
            meta.annotations.as_ref(),
            CHANGE_CAUSE,
            &cause,
        ));
        self.changes.push(FieldChange::new(
            format!("metadata.annotations[{CHANGE_CAUSE}]"),
            from,
            Some(cause),
        ));
        self
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn build(self) -> Write {
        Write {
            target: self.target,
            resource_version: self.resource_version,
            changes: self.changes,
            body: WriteBody::JsonPatch {
                patch: serde_json::Value::Array(self.ops),
            },
        }
    }
}

/// Validates an image tag (OCI distribution grammar `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
pub fn check_tag(tag: &str) -> Result<(), PlanError> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(PlanError::Invalid(format!(
            "{tag:?} is not a valid image tag (letters, digits, '_', '.', '-'; at most 128)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_oci_grammar() {
        assert!(check_tag("v1.5.0").is_ok());
        assert!(check_tag("3f9c21a").is_ok());
        assert!(check_tag("").is_err());
        assert!(check_tag("-x").is_err());
        assert!(check_tag("a/b").is_err());
        assert!(check_tag("a:b").is_err());
    }
}
