//! The candidate's pods as the cluster reports them, for the checks metrics cannot make: a
//! version whose pods crash-loop or cannot pull their image gets no traffic, so its error
//! rate says nothing ("no data"), yet it is plainly failing. Each check then also judges
//! readiness: pods of the candidate version waiting in a failure state, or a Deployment whose
//! progress deadline passed, fail the check with kubectl's words for it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::Value;

use crate::model::kubectl::pod_summary;

/// Pod states that do not heal by waiting.
const FAILING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "Error",
    "OOMKilled",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutHealth {
    /// Pods of the candidate version that are ready, and how many it should have.
    pub ready: u32,
    pub desired: u32,
    /// The most common failing pod STATUS (`CrashLoopBackOff`), if any pod is in one.
    pub problem: Option<String>,
    pub restarts: u32,
    /// The Deployment's `Progressing` reason when it gave up (`ProgressDeadlineExceeded`).
    pub stalled: Option<String>,
}

impl RolloutHealth {
    /// `None` when healthy or still progressing; else what is wrong, for a reason string.
    pub fn failure(&self, who: &str) -> Option<String> {
        let pods = format!("{}/{} pods ready", self.ready, self.desired);
        let problem = self
            .problem
            .as_ref()
            .map(|p| format!(", {p} ({} restarts)", self.restarts))
            .unwrap_or_default();
        match (&self.stalled, &self.problem) {
            (Some(stalled), _) => Some(format!("{who} stalled ({stalled}): {pods}{problem}")),
            (None, Some(_)) => Some(format!("{who} not ready: {pods}{problem}")),
            (None, None) => None,
        }
    }
}

/// Where the runner gets the candidate's health.
pub trait HealthSource: Send + Sync {
    fn health(&self) -> Pin<Box<dyn Future<Output = Result<RolloutHealth, String>> + Send + '_>>;
}

/// The pods of one Deployment that run `tag` (the candidate's image tag); `desired` is the
/// Deployment's replica count unless the caller knows better (a canary step's share).
pub fn assess(
    deployment: &Value,
    pods: &[Value],
    tag: &str,
    desired: Option<u32>,
) -> RolloutHealth {
    let runs_tag = |p: &&Value| {
        p["spec"]["containers"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["image"].as_str().is_some_and(|i| image_tag(i) == tag))
        })
    };
    let mut ready = 0;
    let mut restarts = 0;
    let mut problems: BTreeMap<String, u32> = BTreeMap::new();
    for pod in pods.iter().filter(runs_tag) {
        let s = pod_summary(pod);
        restarts += s.restarts;
        if s.ready == s.total && s.status == "Running" {
            ready += 1;
        } else if FAILING.contains(&s.status.as_str()) {
            *problems.entry(s.status).or_default() += 1;
        }
    }
    let problem = problems.into_iter().max_by_key(|(_, n)| *n).map(|(p, _)| p);
    let stalled = deployment["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
        .map(|_| "ProgressDeadlineExceeded".to_string());
    RolloutHealth {
        ready,
        desired: desired
            .unwrap_or_else(|| deployment["spec"]["replicas"].as_u64().unwrap_or(1) as u32),
        problem,
        restarts,
        stalled,
    }
}

fn image_tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.rsplit_once(':').map_or("latest", |(_, t)| t)
}

/// Reads a Deployment and its pods through the API server.
pub struct DeploymentHealth {
    pub client: kube::Client,
    pub namespace: String,
    pub deployment: String,
    pub tag: String,
}

impl HealthSource for DeploymentHealth {
    fn health(&self) -> Pin<Box<dyn Future<Output = Result<RolloutHealth, String>> + Send + '_>> {
        Box::pin(async move {
            let deployments: Api<Deployment> =
                Api::namespaced(self.client.clone(), &self.namespace);
            let d = deployments.get(&self.deployment).await.map_err(|e| {
                format!(
                    "cannot read deployment {}/{}: {e}",
                    self.namespace, self.deployment
                )
            })?;
            let selector = d
                .spec
                .as_ref()
                .and_then(|s| s.selector.match_labels.as_ref())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
            let list = pods
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| {
                    format!(
                        "cannot list pods of {}/{}: {e}",
                        self.namespace, self.deployment
                    )
                })?;
            // Back to JSON, the form the kubectl cell functions read.
            let pods: Vec<Value> = list
                .items
                .iter()
                .map(|p| serde_json::to_value(p).unwrap_or_default())
                .collect();
            let d = serde_json::to_value(&d).unwrap_or_default();
            Ok(assess(&d, &pods, &self.tag, None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(tag: &str, waiting: Option<&str>, restarts: u32) -> Value {
        let state = match waiting {
            Some(reason) => json!({"waiting": {"reason": reason}}),
            None => json!({"running": {"startedAt": "2026-11-18T11:00:00Z"}}),
        };
        json!({
            "spec": {"containers": [{"name": "app", "image": format!("127.0.0.1:5000/prod/delivery:{tag}")}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "app", "ready": waiting.is_none(), "restartCount": restarts, "state": state
            }]}
        })
    }

    #[test]
    fn crash_loops_and_stalls_are_failures() {
        let stalled = json!({"spec": {"replicas": 4}, "status": {"conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
        ]}});
        let pods = [
            pod("v2.2.1", None, 0),
            pod("v2.2.1", None, 0),
            pod("v2.3.0", Some("CrashLoopBackOff"), 5),
            pod("v2.3.0", Some("CrashLoopBackOff"), 4),
        ];
        let h = assess(&stalled, &pods, "v2.3.0", None);
        assert_eq!((h.ready, h.desired, h.restarts), (0, 4, 9));
        assert_eq!(h.problem.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(
            h.failure("v2.3.0").as_deref(),
            Some(
                "v2.3.0 stalled (ProgressDeadlineExceeded): 0/4 pods ready, CrashLoopBackOff (9 restarts)"
            )
        );
        let fine = json!({"spec": {"replicas": 2}, "status": {}});
        let h = assess(&fine, &pods, "v2.2.1", None);
        assert_eq!((h.ready, h.failure("v2.2.1")), (2, None));
        let pulling = [pod("v9", Some("ImagePullBackOff"), 0)];
        let h = assess(&fine, &pulling, "v9", Some(1));
        assert_eq!(
            h.failure("v9").as_deref(),
            Some("v9 not ready: 0/1 pods ready, ImagePullBackOff (0 restarts)")
        );
        // Pods still starting are progress, not failure.
        let starting = [pod("v3", Some("ContainerCreating"), 0)];
        assert_eq!(assess(&fine, &starting, "v3", None).failure("v3"), None);
    }
}
