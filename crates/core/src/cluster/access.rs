//! What the user may do, asked of the API server with SelfSubjectAccessReview: one review
//! per verb, resource and namespace an action needs (a handful per environment).
//!
//! Why not SelfSubjectRulesReview (one call per namespace): its answer is only complete for
//! RBAC. Clusters that authorize through a webhook (EKS, GKE, AKS with Azure RBAC, OpenShift
//! policies) return `incomplete: true` with whatever RBAC alone grants, so "not in the rules"
//! would grey out actions the user may in fact perform. An access review is decided by the
//! same authorizer chain as the write itself; it is exact for every authorizer.
//!
//! The answer is advice for the console and a preflight for headless commands: the write's
//! own 403 stays final either way.

use std::fmt;

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

/// One thing an action needs to be allowed: `patch deployments.apps in shop`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub verb: String,
    /// API group (`apps`, `gateway.networking.k8s.io`; empty for the core group).
    pub group: String,
    /// Plural resource name (`deployments`).
    pub resource: String,
    pub namespace: String,
    /// One object, when the check is for a concrete write.
    pub name: Option<String>,
}

impl Permission {
    pub fn new(verb: &str, group: &str, resource: &str, namespace: &str) -> Permission {
        Permission {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: None,
        }
    }

    /// `deployments.apps`, `services` (kubectl's resource.group form).
    pub fn resource_name(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource_name())?;
        if let Some(name) = &self.name {
            write!(f, "/{name}")?;
        }
        write!(f, " in {}", self.namespace)
    }
}

/// The server's answer for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Denied, with the authorizer's reason when it gave one.
    Denied(Option<String>),
    /// The review itself failed (unreachable, not served): the action stays available and the
    /// write will tell.
    Unknown(String),
}

/// Reviews one permission.
pub async fn review(client: &kube::Client, permission: &Permission) -> Access {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let request = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(permission.verb.clone()),
                group: Some(permission.group.clone()),
                resource: Some(permission.resource.clone()),
                namespace: Some(permission.namespace.clone()),
                name: permission.name.clone(),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    match api.create(&PostParams::default(), &request).await {
        Ok(answer) => match answer.status {
            Some(status) if status.allowed => Access::Allowed,
            Some(status) => Access::Denied(
                status
                    .reason
                    .or(status.evaluation_error)
                    .filter(|r| !r.is_empty()),
            ),
            None => Access::Unknown("the review came back without a status".into()),
        },
        Err(kube::Error::Api(status)) if status.code == 404 => {
            Access::Unknown("the API server does not serve SelfSubjectAccessReview".into())
        }
        Err(e) => Access::Unknown(super::error_line(&e)),
    }
}

/// Reviews several permissions, a few at a time.
pub async fn review_all(
    client: &kube::Client,
    permissions: impl IntoIterator<Item = Permission>,
) -> Vec<(Permission, Access)> {
    futures::stream::iter(permissions)
        .map(|p| async move {
            let access = review(client, &p).await;
            (p, access)
        })
        .buffer_unordered(4)
        .collect()
        .await
}

/// The sentence a refused action shows: what is missing, where, and what to do.
pub fn refusal(permission: &Permission, context: &str, reason: Option<&str>) -> String {
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    format!(
        "not allowed: {permission} (context {context}){why}; ask for a role that grants it, or use --read-only"
    )
}
