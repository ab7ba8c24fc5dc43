//! Who the API server says we are: a SelfSubjectReview, as `kubectl auth whoami` asks. The
//! audit journal and change-causes name this identity, not the kubeconfig's user entry (an
//! entry called `admin` may be anyone's token; an exec plugin's user is only known to the
//! server).

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, PostParams};

/// The authenticated user of one environment's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub username: String,
    pub groups: Vec<String>,
}

/// Why the server could not say (the caller keeps the kubeconfig's user name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The server has no SelfSubjectReview (before Kubernetes 1.28, or a stand-in).
    #[error("the API server does not serve SelfSubjectReview")]
    Unsupported,
    #[error("{0}")]
    Failed(String),
}

/// Asks the server who `client` authenticates as.
pub async fn whoami(client: &kube::Client) -> Result<Identity, IdentityError> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(|e| match &e {
            kube::Error::Api(status) if status.code == 404 => IdentityError::Unsupported,
            _ => IdentityError::Failed(super::error_line(&e)),
        })?;
    let user = review
        .status
        .and_then(|s| s.user_info)
        .ok_or_else(|| IdentityError::Failed("the review came back without a user".into()))?;
    Ok(Identity {
        username: user
            .username
            .filter(|u| !u.is_empty())
            .ok_or_else(|| IdentityError::Failed("the review named no user".into()))?,
        groups: user.groups.unwrap_or_default(),
    })
}
