//! Shared fixtures for the controller tests: a world with a manual clock, an image resolver
//! driven by a table, and a replica of `kubectl rollout status`'s decision logic.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use shipdeck::sandbox::clock::Clock;
use shipdeck::sandbox::controllers::{Controllers, SimConfig};
use shipdeck::sandbox::images::{Fault, ImageResolver, ImageVerdict};
use shipdeck::sandbox::ops::{Cluster, WriteOpts};
use shipdeck::sandbox::resources::{ResId, kinds};
use shipdeck::sandbox::store::Store;

pub const NS: &str = "shop";

/// Images are present unless the table says otherwise.
#[derive(Default)]
pub struct TableImages(Mutex<HashMap<String, ImageVerdict>>);

impl TableImages {
    pub fn missing(&self, image: &str) {
        self.0.lock().insert(
            image.into(),
            ImageVerdict::Missing {
                reason: format!("{image}: not found"),
            },
        );
    }
    pub fn fault(&self, image: &str, fault: Fault) {
        self.0
            .lock()
            .insert(image.into(), ImageVerdict::Present { fault: Some(fault) });
    }
    pub fn present(&self, image: &str) {
        self.0.lock().remove(image);
    }
}

impl ImageResolver for TableImages {
    fn resolve(&self, image: &str) -> ImageVerdict {
        self.0
            .lock()
            .get(image)
            .cloned()
            .unwrap_or(ImageVerdict::Present { fault: None })
    }
}

pub struct World {
    pub cluster: Arc<Cluster>,
    pub ctl: Arc<Controllers>,
    pub images: Arc<TableImages>,
}

pub fn world() -> World {
    world_with(SimConfig::default())
}

pub fn world_with(sim: SimConfig) -> World {
    let cluster = Arc::new(Cluster::new(
        "dev",
        Arc::new(Store::default()),
        Clock::manual(Clock::epoch()),
    ));
    cluster.ensure_namespace(NS).expect("namespace");
    let images = Arc::new(TableImages::default());
    let ctl = Controllers::new(cluster.clone(), images.clone(), sim);
    ctl.settle();
    World {
        cluster,
        ctl,
        images,
    }
}

pub fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image,
                                         "ports": [{"name": "http", "containerPort": 8080}]}]},
            },
        },
    })
}

impl World {
    pub fn create(&self, res: ResId, obj: Value) -> Arc<Value> {
        self.cluster
            .create(res, NS, obj, &WriteOpts::default())
            .expect("create")
    }

    pub fn get(&self, res: ResId, name: &str) -> Arc<Value> {
        self.cluster.get(res, NS, name).expect("object exists")
    }

    pub fn try_get(&self, res: ResId, name: &str) -> Option<Arc<Value>> {
        self.cluster.store.get(res, NS, name)
    }

    pub fn list(&self, res: ResId) -> Vec<Arc<Value>> {
        self.cluster.store.list(res, Some(NS)).0
    }

    pub fn edit(&self, res: ResId, name: &str, f: impl FnMut(&mut Value)) -> Arc<Value> {
        self.cluster
            .modify(res, NS, name, false, f)
            .expect("modify")
            .expect("object exists")
    }

    pub fn set_image(&self, deploy: &str, image: &str) {
        self.edit(*kinds::DEPLOYMENTS, deploy, |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        });
    }

    pub fn advance(&self, secs: u64) {
        self.ctl.advance(Duration::from_secs(secs));
    }

    /// The Deployment's ReplicaSets, oldest revision first.
    pub fn replicasets(&self, deploy: &str) -> Vec<Arc<Value>> {
        let uid = self.get(*kinds::DEPLOYMENTS, deploy)["metadata"]["uid"].clone();
        let mut out: Vec<Arc<Value>> = self
            .list(*kinds::REPLICASETS)
            .into_iter()
            .filter(|rs| rs["metadata"]["ownerReferences"][0]["uid"] == uid)
            .collect();
        out.sort_by_key(|rs| revision(rs));
        out
    }

    /// `(spec.replicas, status.readyReplicas)` of each ReplicaSet, oldest revision first.
    pub fn rs_sizes(&self, deploy: &str) -> Vec<(i64, i64)> {
        self.replicasets(deploy)
            .iter()
            .map(|rs| {
                (
                    rs["spec"]["replicas"].as_i64().unwrap_or(0),
                    rs["status"]["readyReplicas"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// Pods of a ReplicaSet (by owner), including terminating ones.
    pub fn pods_of(&self, owner: &Value) -> Vec<Arc<Value>> {
        self.list(*kinds::PODS)
            .into_iter()
            .filter(|p| p["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"])
            .collect()
    }

    pub fn events_for(&self, name: &str) -> Vec<(String, String, i64)> {
        let mut evs: Vec<Arc<Value>> = self
            .list(*kinds::EVENTS)
            .into_iter()
            .filter(|e| e["involvedObject"]["name"] == name)
            .collect();
        evs.sort_by_key(|e| {
            e["metadata"]["resourceVersion"]
                .as_str()
                .map(|s| s.parse::<u64>().unwrap_or(0))
        });
        evs.iter()
            .map(|e| {
                (
                    e["reason"].as_str().unwrap_or_default().to_string(),
                    e["message"].as_str().unwrap_or_default().to_string(),
                    e["count"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// What `kubectl rollout status deployment/<name>` would print now (one poll).
    pub fn rollout_status(&self, name: &str) -> Result<String, String> {
        rollout_status(&self.get(*kinds::DEPLOYMENTS, name))
    }
}

pub fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// `DeploymentStatusViewer.Status` from kubectl (`rollout_status.go`).
pub fn rollout_status(d: &Value) -> Result<String, String> {
    let name = d["metadata"]["name"].as_str().unwrap_or_default();
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let generation = n(&d["metadata"]["generation"]);
    let status = &d["status"];
    if generation > n(&status["observedGeneration"]) {
        return Ok("Waiting for deployment spec update to be observed...".into());
    }
    if condition(d, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Err(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        ));
    }
    let want = n(&d["spec"]["replicas"]);
    let updated = n(&status["updatedReplicas"]);
    let replicas = n(&status["replicas"]);
    let available = n(&status["availableReplicas"]);
    if updated < want {
        return Ok(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {want} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return Ok(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return Ok(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    Ok(format!("deployment \"{name}\" successfully rolled out"))
}
