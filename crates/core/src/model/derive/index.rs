//! Ownership indexes of one environment, built once per snapshot change so that per-service
//! derivations do not scan every pod (5,000 pods × 200 services would).

use std::collections::HashMap;

use crate::model::snapshot::EnvSnapshot;

use super::controller_uid;

#[derive(Debug, Default, Clone)]
pub struct OwnerIndex {
    /// Deployment UID → names of the ReplicaSets it controls.
    pub replica_sets_of: HashMap<String, Vec<String>>,
    /// ReplicaSet UID → names of the pods it controls (sorted).
    pub pods_of: HashMap<String, Vec<String>>,
}

impl OwnerIndex {
    pub fn build(env: &EnvSnapshot) -> Self {
        let mut index = OwnerIndex::default();
        for (name, rs) in &env.replica_sets {
            if let Some(uid) = controller_uid(&rs.metadata, "Deployment") {
                index
                    .replica_sets_of
                    .entry(uid.to_string())
                    .or_default()
                    .push(name.clone());
            }
        }
        // Pods iterate in name order, so each list comes out sorted.
        for (name, pod) in &env.pods {
            if let Some(uid) = controller_uid(&pod.metadata, "ReplicaSet") {
                index
                    .pods_of
                    .entry(uid.to_string())
                    .or_default()
                    .push(name.clone());
            }
        }
        index
    }

    pub fn replica_sets(&self, deployment_uid: Option<&str>) -> &[String] {
        deployment_uid
            .and_then(|uid| self.replica_sets_of.get(uid))
            .map_or(&[], Vec::as_slice)
    }

    pub fn pods(&self, replica_set_uid: Option<&str>) -> &[String] {
        replica_set_uid
            .and_then(|uid| self.pods_of.get(uid))
            .map_or(&[], Vec::as_slice)
    }
}
