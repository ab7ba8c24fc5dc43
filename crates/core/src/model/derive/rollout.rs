//! Rollout state of a Deployment, read the way `kubectl rollout status` reads it, plus the pod
//! warnings that explain a stuck rollout.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

use super::Health;
use super::index::OwnerIndex;
use crate::model::snapshot::EnvSnapshot;

/// Waiting reasons that mean a rollout will not finish on its own (kubectl's list).
pub const BLOCKING_REASONS: [&str; 5] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentProgress {
    pub name: String,
    pub desired: i32,
    /// `status.replicas`: pods of every revision that are not terminating.
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub paused: bool,
    pub deadline_exceeded: bool,
    /// The controller has not yet seen the latest spec.
    pub spec_pending: bool,
    /// `Progressing` / `Available` condition messages, for the rollout panel.
    pub message: Option<String>,
}

impl DeploymentProgress {
    pub fn of(deployment: &Deployment) -> Self {
        let spec = deployment.spec.as_ref();
        let status = deployment.status.as_ref();
        let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
        let progressing = conditions.iter().find(|c| c.type_ == "Progressing");
        let deadline_exceeded =
            progressing.is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
        let generation = deployment.metadata.generation.unwrap_or(0);
        let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
        DeploymentProgress {
            name: deployment.metadata.name.clone().unwrap_or_default(),
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            current: status.and_then(|s| s.replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            paused: spec.and_then(|s| s.paused).unwrap_or(false),
            deadline_exceeded,
            spec_pending: generation > observed,
            message: progressing.and_then(|c| c.message.clone()),
        }
    }

    /// Every replica updated, ready and available, and no old pod left.
    pub fn complete(&self) -> bool {
        !self.spec_pending
            && self.updated >= self.desired
            && self.ready >= self.desired
            && self.available >= self.desired
            && self.current <= self.updated
    }

    pub fn health(&self, warnings: &[PodWarning]) -> Health {
        if self.paused {
            Health::Paused
        } else if self.deadline_exceeded || !warnings.is_empty() {
            Health::Failing
        } else if self.complete() {
            Health::Ok
        } else {
            Health::Progressing
        }
    }

    /// Short text for the Services table: `complete`, `3/4`, `deadline`, `paused`.
    pub fn phase(&self, warnings: &[PodWarning]) -> String {
        if self.paused {
            "paused".into()
        } else if self.deadline_exceeded {
            "deadline".into()
        } else if let Some(w) = warnings.first() {
            w.reason.clone()
        } else if self.complete() {
            "complete".into()
        } else {
            format!(
                "rolling {}/{}",
                self.updated.min(self.available),
                self.desired
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodWarning {
    pub pod: String,
    pub container: String,
    pub reason: String,
    pub message: String,
}

/// Pods of `deployment` whose containers wait for a reason that blocks the rollout, or that
/// cannot be scheduled.
pub fn pod_warnings(
    env: &EnvSnapshot,
    index: &OwnerIndex,
    deployment: &Deployment,
) -> Vec<PodWarning> {
    let mut warnings = Vec::new();
    for rs_name in index.replica_sets(deployment.metadata.uid.as_deref()) {
        let Some(rs) = env.replica_sets.get(rs_name) else {
            continue;
        };
        for pod_name in index.pods(rs.metadata.uid.as_deref()) {
            if let Some(pod) = env.pods.get(pod_name) {
                warnings.extend(warnings_of(pod));
            }
        }
    }
    warnings
}

pub fn warnings_of(pod: &Pod) -> Vec<PodWarning> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let Some(status) = &pod.status else {
        return Vec::new();
    };
    let mut warnings: Vec<PodWarning> = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .filter_map(|cs| {
            let waiting = cs.state.as_ref()?.waiting.as_ref()?;
            let reason = waiting.reason.as_deref()?;
            BLOCKING_REASONS.contains(&reason).then(|| PodWarning {
                pod: name.clone(),
                container: cs.name.clone(),
                reason: reason.to_string(),
                message: waiting.message.clone().unwrap_or_default(),
            })
        })
        .collect();
    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    });
    if let Some(c) = unschedulable {
        warnings.push(PodWarning {
            pod: name,
            container: String::new(),
            reason: "Unschedulable".into(),
            message: c.message.clone().unwrap_or_default(),
        });
    }
    warnings
}

/// kubectl rollout status's sentence for a Deployment, with the first warning appended.
pub fn status_sentence(progress: &DeploymentProgress, warnings: &[PodWarning]) -> String {
    let name = &progress.name;
    let base = if progress.spec_pending {
        "Waiting for deployment spec update to be observed...".to_string()
    } else if progress.deadline_exceeded {
        return format!("deployment {name:?} exceeded its progress deadline");
    } else if progress.updated < progress.desired {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {} new replicas have been updated...",
            progress.updated, progress.desired
        )
    } else if progress.current > progress.updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            progress.current - progress.updated
        )
    } else if progress.available < progress.updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...",
            progress.available, progress.updated
        )
    } else {
        return format!("deployment {name:?} successfully rolled out");
    };
    match warnings.first() {
        Some(w) => format!("{base} (Warning: pod {} is {})", w.pod, w.reason),
        None => base,
    }
}
