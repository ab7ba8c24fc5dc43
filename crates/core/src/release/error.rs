//! Errors of the release layer, written for the person at the keyboard: what failed, where,
//! and what to do next.

/// Why a planner could not produce a plan. Pure: no I/O behind any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The action is not allowed in the current state (paused, nothing to roll back to, …).
    #[error("{0}")]
    Refused(String),
    /// An object the action needs does not exist.
    #[error("{resource} \"{name}\" not found in namespace {namespace} ({env}): {hint}")]
    Missing {
        resource: String,
        name: String,
        namespace: String,
        env: String,
        hint: String,
    },
    /// The service's configuration does not support this action.
    #[error("service {service}: {message}")]
    Config { service: String, message: String },
    /// The arguments are invalid (percent above 100, unknown tag format, …).
    #[error("{0}")]
    Invalid(String),
}

impl PlanError {
    pub fn config(service: &str, message: impl Into<String>) -> Self {
        PlanError::Config {
            service: service.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong planning or executing against a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "refused: {env} is read-only ({why}); no write was sent. Drop --read-only or change \
         read_only for this environment in shipdeck.toml to act."
    )]
    ReadOnly { env: String, why: String },
    #[error(
        "forbidden: {verb} {resource} in {namespace} (context {context}): ask for the release \
         role, or use --read-only"
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: String,
        context: String,
    },
    #[error(
        "unauthorized: the API server of context {context} refused the credentials; log in \
         again or fix the kubeconfig user"
    )]
    Unauthorized { context: String },
    #[error(
        "{} {}/{} in {} (context {}) failed: {}",
        .0.verb, .0.resource, .0.name, .0.namespace, .0.context, .0.message
    )]
    Api(Box<Failure>),
    #[error(
        "cannot reach the API server of {env} (context {context}): {message}; check the \
         cluster or VPN and try again"
    )]
    Unreachable {
        env: String,
        context: String,
        message: String,
    },
    /// A write was sent but no answer came back: it may or may not have been applied.
    #[error(
        "outcome unknown: {} {}/{} in {} (context {}) got no answer ({}); it may have been \
         applied. Nothing was retried: check with `shipdeck status` and run the action again \
         (it is safe: actions set, never add)",
        .0.verb, .0.resource, .0.name, .0.namespace, .0.context, .0.message
    )]
    Unknown(Box<Failure>),
    /// The rollout did not complete (ProgressDeadlineExceeded, or the wait timed out).
    #[error("{0}")]
    Rollout(String),
    #[error("audit journal {path}: {message}; no write was sent")]
    Journal { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// Which request failed and how (boxed in [`ReleaseError`] to keep results small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub verb: String,
    pub resource: String,
    pub name: String,
    pub namespace: String,
    pub context: String,
    /// HTTP status (0 when there was none).
    pub code: u16,
    pub message: String,
}

impl ReleaseError {
    /// Refusals (policy, confirmation, read-only, impossible plan) vs failures, for exit codes.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ReleaseError::ReadOnly { .. }
                | ReleaseError::Plan(PlanError::Refused(_) | PlanError::Invalid(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_verb_resource_and_namespace() {
        let e = ReleaseError::Forbidden {
            verb: "patch".into(),
            resource: "deployments.apps".into(),
            namespace: "shop".into(),
            context: "sandbox-prod".into(),
        };
        assert_eq!(
            e.to_string(),
            "forbidden: patch deployments.apps in shop (context sandbox-prod): ask for the \
             release role, or use --read-only"
        );
        assert!(!e.is_refusal());
    }

    #[test]
    fn read_only_is_a_refusal() {
        let e = ReleaseError::ReadOnly {
            env: "prod".into(),
            why: "--read-only".into(),
        };
        assert!(e.is_refusal());
        assert!(e.to_string().starts_with("refused: prod is read-only"));
    }
}
