//! A plan: the exact writes an action will make (object, field, from → to). It is what the
//! confirmation dialog shows, what `--dry-run` prints and what the executor applies.

use std::fmt;

use kube::api::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the user asked for. Carried in the plan so the executor can re-plan with the same
/// planner after a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Set the service's image to `tag` (rolling: the Deployment; canary: the canary
    /// Deployment; blue-green: the idle colour).
    Deploy {
        tag: String,
        /// The registry's digest for the tag when it was looked up (shown, not written).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    Rollback {
        to: RollbackTarget,
    },
    CanarySet {
        percent: u32,
    },
    /// The next configured step above the current weight (`back`: the one below).
    CanaryStep {
        #[serde(default)]
        back: bool,
    },
    CanaryPromote,
    CanaryAbort,
    /// Blue-green: point the Service at the other colour (again to swap back).
    Swap,
    /// Blue-green: scale the idle colour to zero once `scale_down_after` has passed.
    ScaleDownIdle,
    /// Copy a tag by digest from one environment's registry to this one's.
    Promote {
        tag: String,
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<String>,
    },
    Build {
        /// Source commit the image is built from (its short SHA is the tag); `None` asks for
        /// the HEAD of the service's source directory (the plan records the resolved one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
    /// Bookkeeping after a followed rollout completed: marks its ReplicaSet as rolled out.
    MarkRolledOut {
        replica_set: String,
    },
}

impl Action {
    /// Short name for the audit journal and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Deploy { .. } => "deploy",
            Action::Rollback { .. } => "rollback",
            Action::CanarySet { .. } => "canary-set",
            Action::CanaryStep { .. } => "canary-step",
            Action::CanaryPromote => "canary-promote",
            Action::CanaryAbort => "canary-abort",
            Action::Swap => "swap",
            Action::ScaleDownIdle => "scale-down-idle",
            Action::Promote { .. } => "promote",
            Action::Build { .. } => "build",
            Action::MarkRolledOut { .. } => "mark-rolled-out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackTarget {
    /// The second-highest revision, as `kubectl rollout undo`.
    Previous,
    Revision(i64),
    /// The most recent earlier revision known to have fully rolled out (see `revisions`).
    LastGood,
}

/// The object a write goes to. For the registry and local processes the same shape names
/// the repository and tag, or the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(api_version: &str, kind: &str, plural: &str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn deployment(namespace: &str, name: &str) -> Self {
        Self::new("apps/v1", "Deployment", "deployments", namespace, name)
    }

    pub fn service(namespace: &str, name: &str) -> Self {
        Self::new("v1", "Service", "services", namespace, name)
    }

    pub fn ingress(namespace: &str, name: &str) -> Self {
        Self::new(
            "networking.k8s.io/v1",
            "Ingress",
            "ingresses",
            namespace,
            name,
        )
    }

    pub fn replica_set(namespace: &str, name: &str) -> Self {
        Self::new("apps/v1", "ReplicaSet", "replicasets", namespace, name)
    }

    pub fn group(&self) -> &str {
        self.api_version
            .split_once('/')
            .map_or("", |(group, _)| group)
    }

    pub fn version(&self) -> &str {
        self.api_version
            .split_once('/')
            .map_or(self.api_version.as_str(), |(_, v)| v)
    }

    /// `deployments.apps`, `services` (kubectl's resource.group form).
    pub fn resource(&self) -> String {
        match self.group() {
            "" => self.plural.clone(),
            group => format!("{}.{group}", self.plural),
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.group(), self.version(), &self.kind);
        ApiResource::from_gvk_with_plural(&gvk, &self.plural)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.resource(), self.name)
    }
}

/// One field a write changes. `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl FieldChange {
    pub fn new(field: impl Into<String>, from: Option<String>, to: Option<String>) -> Self {
        FieldChange {
            field: field.into(),
            from,
            to,
        }
    }
}

/// How a write is sent. Every kind that modifies an existing object carries the
/// resourceVersion it was planned against, so a stale plan gets 409 instead of clobbering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WriteBody {
    /// RFC 6902 ops. The first op replaces `/metadata/resourceVersion` with the planned value:
    /// the API server then rejects a stale patch with 409 Conflict (a failed `test` op would
    /// be a 422, which callers could not tell from a bad patch).
    JsonPatch { patch: Value },
    /// RFC 7386 merge patch with `metadata.resourceVersion` inside.
    MergePatch { patch: Value },
    /// PUT of the whole object, `metadata.resourceVersion` set.
    Replace { object: Value },
    /// POST of a new object (build Jobs, always with a fresh name).
    Create { object: Value },
    /// Registry promotion: the manifest `digest` copied from `source` to `target` (`repo:tag`).
    RegistryCopy {
        source: String,
        target: String,
        digest: String,
        /// Protected targets never move an existing tag to other content.
        protected: bool,
    },
    /// A local build command.
    Run {
        program: String,
        args: Vec<String>,
        workdir: Option<String>,
    },
}

impl WriteBody {
    pub fn verb(&self) -> &'static str {
        match self {
            WriteBody::JsonPatch { .. } | WriteBody::MergePatch { .. } => "patch",
            WriteBody::Replace { .. } => "update",
            WriteBody::Create { .. } => "create",
            WriteBody::RegistryCopy { .. } => "push",
            WriteBody::Run { .. } => "run",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Write {
    pub target: ObjectRef,
    /// The version the write was planned against (`None` for creations and processes).
    pub resource_version: Option<String>,
    pub changes: Vec<FieldChange>,
    pub body: WriteBody,
}

impl Write {
    /// Same object, same field changes: a re-plan that yields this is the same decision,
    /// whatever resourceVersion it now carries.
    pub fn same_effect(&self, other: &Write) -> bool {
        self.target == other.target && self.changes == other.changes
    }
}

/// Everything an action will do, for one service in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Correlates the journal's intent and outcome records.
    pub id: String,
    pub action: Action,
    pub service: String,
    pub env: String,
    pub namespace: String,
    pub context: String,
    pub protected: bool,
    /// Who the change-cause names (the kube context's user).
    pub who: String,
    /// One line: what this does, for titles and logs.
    pub summary: String,
    pub writes: Vec<Write>,
    /// Facts worth reading before confirming (digest, skipped reasons, follow-ups).
    pub notes: Vec<String>,
    /// Deployments whose rollout `--wait` follows after the writes.
    pub follow: Vec<String>,
    /// Approval note recorded with a promotion that policy required it for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Why an automatic action acted (release analysis: "automatic rollback: error rate
    /// 18.4% > 1% for 2 checks"); journaled with every write. `None` for a person's action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Plan {
    /// Nothing to write: the target state is already there (or the action was skipped).
    pub fn is_noop(&self) -> bool {
        self.writes.is_empty()
    }

    /// Whether `other` (a re-plan) would do the same as this plan's writes from `from` on.
    pub fn same_remaining(&self, from: usize, other: &Plan) -> bool {
        let rest = self.writes.get(from..).unwrap_or_default();
        rest.len() == other.writes.len()
            && rest
                .iter()
                .zip(&other.writes)
                .all(|(a, b)| a.same_effect(b))
    }
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("<none>")
}

impl fmt::Display for Plan {
    /// The preflight diff: a title line, the scope, one line per changed field, then notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary)?;
        write!(
            f,
            "  env {} · namespace {} · context {}",
            self.env, self.namespace, self.context
        )?;
        if self.protected {
            write!(f, " · PROTECTED")?;
        }
        writeln!(f)?;
        if self.writes.is_empty() {
            writeln!(f, "  no changes")?;
        }
        for write in &self.writes {
            let scope = format!(
                "{} ({} @ {})",
                write.target,
                if write.target.namespace.is_empty() {
                    "-"
                } else {
                    write.target.namespace.as_str()
                },
                self.env
            );
            if write.changes.is_empty() {
                writeln!(f, "  {scope}: {}", write.body.verb())?;
            }
            for change in &write.changes {
                writeln!(
                    f,
                    "  {scope}: {}: {} → {}",
                    change.field,
                    show(&change.from),
                    show(&change.to)
                )?;
            }
        }
        if let Some(approval) = &self.approval {
            writeln!(f, "  approval: {approval}")?;
        }
        if let Some(reason) = &self.reason {
            writeln!(f, "  reason: {reason}")?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

/// A fresh identifier for a plan: time-ordered and unique within this process.
pub fn new_plan_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let now = jiff::Timestamp::now();
    format!(
        "{:x}-{:x}-{:x}",
        now.as_millisecond(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        Plan {
            id: "p1".into(),
            action: Action::Deploy {
                tag: "v1.5.0".into(),
                digest: None,
            },
            service: "orders".into(),
            env: "prod".into(),
            namespace: "shop".into(),
            context: "sandbox-prod".into(),
            protected: true,
            who: "alice".into(),
            summary: "Deploy orders v1.5.0 to prod".into(),
            writes: vec![Write {
                target: ObjectRef::deployment("shop", "orders"),
                resource_version: Some("12".into()),
                changes: vec![FieldChange::new(
                    "spec.template.spec.containers[orders].image",
                    Some("r/orders:v1.4.2".into()),
                    Some("r/orders:v1.5.0".into()),
                )],
                body: WriteBody::JsonPatch { patch: json!([]) },
            }],
            notes: vec!["digest sha256:3f9c21a".into()],
            follow: vec!["orders".into()],
            approval: None,
            reason: None,
        }
    }

    #[test]
    fn display_is_the_preflight_diff() {
        let text = plan().to_string();
        assert!(text.starts_with("Deploy orders v1.5.0 to prod\n"), "{text}");
        assert!(text.contains("PROTECTED"), "{text}");
        assert!(
            text.contains(
                "deployments.apps/orders (shop @ prod): spec.template.spec.containers[orders].image: r/orders:v1.4.2 → r/orders:v1.5.0"
            ),
            "{text}"
        );
        assert!(text.contains("note: digest sha256:3f9c21a"), "{text}");
    }

    #[test]
    fn resource_names_match_kubectl() {
        assert_eq!(
            ObjectRef::deployment("shop", "a").resource(),
            "deployments.apps"
        );
        assert_eq!(ObjectRef::service("shop", "a").resource(), "services");
        let route = ObjectRef::new(
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            "httproutes",
            "shop",
            "orders",
        );
        assert_eq!(
            route.to_string(),
            "httproutes.gateway.networking.k8s.io/orders"
        );
        let ar = route.api_resource();
        assert_eq!(ar.group, "gateway.networking.k8s.io");
        assert_eq!(ar.version, "v1");
        assert_eq!(ar.plural, "httproutes");
    }

    #[test]
    fn replan_comparison_ignores_resource_version() {
        let a = plan();
        let mut b = plan();
        b.writes[0].resource_version = Some("13".into());
        assert!(a.same_remaining(0, &b));
        b.writes[0].changes[0].from = Some("r/orders:v1.4.3".into());
        assert!(!a.same_remaining(0, &b));
        let mut empty = plan();
        empty.writes.clear();
        assert!(a.same_remaining(1, &empty));
    }

    #[test]
    fn serializes_for_json_output() {
        let v = serde_json::to_value(plan()).expect("serialize");
        assert_eq!(v["action"]["kind"], "deploy");
        assert_eq!(v["writes"][0]["body"]["type"], "json-patch");
        assert_eq!(v["writes"][0]["target"]["kind"], "Deployment");
    }
}
