//! A Deployment's revision history (its ReplicaSets, as `kubectl rollout history` shows them)
//! and which revision is the last known good.
//!
//! **Known good**, from facts anyone can read off the cluster: a ReplicaSet is known to have
//! fully rolled out when
//! 1. it carries `shipdeck.io/rolled-out` equal to its own `pod-template-hash` — written by
//!    shipdeck when it watched that revision reach "successfully rolled out" (all replicas
//!    updated and available, `Progressing=NewReplicaSetAvailable`), or
//! 2. it is serving all of its desired pods right now: `spec.replicas > 0` and ready and
//!    available both `>= spec.replicas` (an old ReplicaSet still up while a newer revision
//!    struggles).
//!
//! A scaled-down ReplicaSet without the marker may have been good, but nothing on the cluster
//! says so any more; it is not guessed at.
//!
//! **Last known good** = the highest revision below the current one that is known good. The
//! current revision is excluded even when it rolled out (rolling back to it is a no-op).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde::Serialize;

use super::objects::{
    CHANGE_CAUSE, POD_TEMPLATE_HASH, ROLLED_OUT, annotation, container_index, current_replica_set,
    image_at, name_of, owned_replica_sets, revision,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub revision: i64,
    pub replica_set: String,
    /// The released container's image in this revision.
    pub image: Option<String>,
    /// `kubernetes.io/change-cause`, as `rollout history` prints it.
    pub cause: Option<String>,
    pub desired: i32,
    pub ready: i32,
    pub available: i32,
    /// The revision the Deployment's template currently matches.
    pub current: bool,
    pub known_good: bool,
}

fn hash(rs: &ReplicaSet) -> Option<&str> {
    rs.metadata
        .labels
        .as_ref()?
        .get(POD_TEMPLATE_HASH)
        .map(String::as_str)
}

/// Rule 1 or 2 of the module documentation.
pub fn known_good(rs: &ReplicaSet) -> bool {
    let marked = matches!(
        (annotation(&rs.metadata, ROLLED_OUT), hash(rs)),
        (Some(mark), Some(h)) if mark == h
    );
    let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = rs.status.as_ref();
    let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    marked || (desired > 0 && ready >= desired && available >= desired)
}

/// The revisions of `deploy`, newest first.
pub fn history(deploy: &Deployment, all: &[ReplicaSet], container: Option<&str>) -> Vec<Revision> {
    let owned = owned_replica_sets(deploy, all);
    let current = current_replica_set(deploy, &owned).map(|rs| name_of(&rs.metadata).to_string());
    let mut revisions: Vec<Revision> = owned
        .iter()
        .filter_map(|rs| {
            let number = revision(rs)?;
            let template = rs.spec.as_ref()?.template.as_ref()?;
            let image = container_index(template, container, "")
                .ok()
                .and_then(|(i, _)| image_at(template, i));
            let status = rs.status.as_ref();
            Some(Revision {
                revision: number,
                replica_set: name_of(&rs.metadata).to_string(),
                image,
                cause: annotation(&rs.metadata, CHANGE_CAUSE).map(str::to_string),
                desired: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
                current: current.as_deref() == Some(name_of(&rs.metadata)),
                known_good: known_good(rs),
            })
        })
        .collect();
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    revisions
}

/// The revision the Deployment runs now: its current ReplicaSet's, else the Deployment's own
/// revision annotation (before the controller has created the new ReplicaSet).
pub fn current_revision(deploy: &Deployment, history: &[Revision]) -> Option<i64> {
    history
        .iter()
        .find(|r| r.current)
        .map(|r| r.revision)
        .or_else(|| {
            annotation(&deploy.metadata, super::objects::REVISION).and_then(|v| v.parse().ok())
        })
}

/// The last known good revision (see the module documentation).
pub fn last_good<'a>(deploy: &Deployment, history: &'a [Revision]) -> Option<&'a Revision> {
    let current = current_revision(deploy, history);
    history
        .iter()
        .filter(|r| !r.current && current.is_none_or(|c| r.revision < c))
        .find(|r| r.known_good)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::testkit::{deployment, replica_set, set_annotation};

    #[test]
    fn history_is_newest_first_with_causes() {
        let d = deployment("orders", "r/orders:v3", 4);
        let mut rs1 = replica_set(&d, 1, "r/orders:v1", 0, 0);
        set_annotation(&mut rs1.metadata, CHANGE_CAUSE, "first");
        let rs3 = replica_set(&d, 3, "r/orders:v3", 4, 4);
        let h = history(&d, &[rs1, rs3], None);
        assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![3, 1]);
        assert!(h[0].current);
        assert_eq!(h[1].cause.as_deref(), Some("first"));
        assert_eq!(h[1].image.as_deref(), Some("r/orders:v1"));
    }

    #[test]
    fn last_good_skips_unmarked_scaled_down_and_current() {
        let d = deployment("orders", "r/orders:v3", 4);
        let mut rs1 = replica_set(&d, 1, "r/orders:v1", 0, 0);
        set_annotation(&mut rs1.metadata, ROLLED_OUT, "h1");
        let rs2 = replica_set(&d, 2, "r/orders:v2", 0, 0); // no marker: unknown
        let rs3 = replica_set(&d, 3, "r/orders:v3", 4, 4); // current
        let all = [rs1, rs2, rs3];
        let h = history(&d, &all, None);
        assert_eq!(last_good(&d, &h).map(|r| r.revision), Some(1));
    }

    #[test]
    fn a_marker_copied_from_another_revision_vouches_for_nothing() {
        let d = deployment("orders", "r/orders:v3", 4);
        let mut rs2 = replica_set(&d, 2, "r/orders:v2", 0, 0);
        set_annotation(&mut rs2.metadata, ROLLED_OUT, "h1");
        let rs3 = replica_set(&d, 3, "r/orders:v3", 4, 4);
        let h = history(&d, &[rs2, rs3], None);
        assert_eq!(last_good(&d, &h), None);
    }

    #[test]
    fn an_old_revision_still_fully_up_is_good() {
        // v3 is crash-looping mid-rollout; v2 still serves all of its (scaled-down) pods.
        let d = deployment("orders", "r/orders:v3", 4);
        let rs2 = replica_set(&d, 2, "r/orders:v2", 3, 3);
        let rs3 = replica_set(&d, 3, "r/orders:v3", 2, 0);
        let h = history(&d, &[rs2, rs3], None);
        assert_eq!(last_good(&d, &h).map(|r| r.revision), Some(2));
        assert!(!h[0].known_good);
    }
}
