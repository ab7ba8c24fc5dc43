//! Revision history of a Deployment as `kubectl rollout history` sees it: the ReplicaSets it
//! controls, newest revision first.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::index::OwnerIndex;
use super::{annotation, created};
use crate::model::image::ImageRef;
use crate::model::service::ServiceSpec;
use crate::model::snapshot::EnvSnapshot;

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";

#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRow {
    pub deployment: String,
    pub replica_set: String,
    pub replica_set_uid: Option<String>,
    pub revision: i64,
    pub image: Option<ImageRef>,
    /// `<none>` when the annotation is absent, like kubectl prints it.
    pub change_cause: String,
    pub created: Option<Timestamp>,
    pub desired: i32,
    pub ready: i32,
    /// The revision the Deployment's template is at now.
    pub current: bool,
    /// Still serving with every replica ready, or seen fully rolled out.
    pub known_good: bool,
}

impl RevisionRow {
    pub fn tag(&self) -> String {
        self.image
            .as_ref()
            .map_or_else(|| "?".into(), ImageRef::display_tag)
    }
}

fn revision_of(rs: &ReplicaSet) -> i64 {
    annotation(&rs.metadata, REVISION_ANNOTATION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Revisions of `deployment`, newest first. `seen_complete` says whether a ReplicaSet was
/// observed as the fully rolled-out revision earlier in this session.
pub fn revisions(
    spec: &ServiceSpec,
    env: &EnvSnapshot,
    index: &OwnerIndex,
    deployment: &Deployment,
    seen_complete: &dyn Fn(&str) -> bool,
) -> Vec<RevisionRow> {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let current_revision: Option<i64> =
        annotation(&deployment.metadata, REVISION_ANNOTATION).and_then(|r| r.parse().ok());
    let mut rows: Vec<RevisionRow> = index
        .replica_sets(deployment.metadata.uid.as_deref())
        .iter()
        .filter_map(|rs_name| env.replica_sets.get(rs_name))
        .map(|rs| {
            let containers = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .map(|s| s.containers.as_slice())
                .unwrap_or(&[]);
            let container = match &spec.config.container {
                Some(wanted) => containers.iter().find(|c| &c.name == wanted),
                None => containers.first(),
            };
            let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let ready = rs
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            let rs_name = rs.metadata.name.clone().unwrap_or_default();
            RevisionRow {
                deployment: name.clone(),
                known_good: (desired > 0 && ready >= desired) || seen_complete(&rs_name),
                replica_set: rs_name,
                replica_set_uid: rs.metadata.uid.clone(),
                revision: revision_of(rs),
                image: container
                    .and_then(|c| c.image.as_deref())
                    .map(ImageRef::parse),
                change_cause: annotation(&rs.metadata, CHANGE_CAUSE_ANNOTATION)
                    .unwrap_or("<none>")
                    .to_string(),
                created: created(&rs.metadata),
                desired,
                ready,
                current: false,
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let current = current_revision.or_else(|| rows.first().map(|r| r.revision));
    for row in &mut rows {
        row.current = Some(row.revision) == current;
    }
    rows
}

/// The most recent revision, other than the current one, known to have rolled out fully:
/// what `R` rolls back to and what the Tags pane marks ⚑.
pub fn last_known_good(rows: &[RevisionRow]) -> Option<&RevisionRow> {
    rows.iter().find(|r| !r.current && r.known_good)
}
