//! Pods of the selection with kubectl's READY, STATUS, RESTARTS, AGE and NODE cells.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::created;
use super::rollout::warnings_of;
use crate::model::format::human_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub name: String,
    pub ready: String,
    pub status: String,
    pub restarts: i32,
    /// When a container last terminated, for kubectl's `3 (5m ago)`.
    pub last_restart: Option<Timestamp>,
    pub created: Option<Timestamp>,
    pub node: String,
    /// A container waits for a reason that blocks the rollout.
    pub warning: bool,
    /// Every container ready and the pod running.
    pub healthy: bool,
}

impl PodRow {
    /// kubectl's RESTARTS cell: `0`, `6 (95s ago)`.
    pub fn restarts_cell(&self, now: Timestamp) -> String {
        match self.last_restart {
            Some(t) if self.restarts > 0 => {
                format!(
                    "{} ({} ago)",
                    self.restarts,
                    human_duration(now.duration_since(t))
                )
            }
            _ => self.restarts.to_string(),
        }
    }
}

pub fn pod_row(pod: &Pod) -> PodRow {
    let (ready, status, restarts, last_restart) = kubectl_cells(pod);
    let healthy = status == "Running" && {
        let (r, total) = ready.split_once('/').unwrap_or(("0", "1"));
        r == total
    };
    PodRow {
        name: pod.metadata.name.clone().unwrap_or_default(),
        created: created(&pod.metadata),
        node: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_else(|| "<none>".into()),
        warning: !warnings_of(pod).is_empty(),
        healthy,
        ready,
        status,
        restarts,
        last_restart,
    }
}

/// kubectl's `printPod` (pkg/printers/internalversion/printers.go) for READY, STATUS and
/// RESTARTS.
fn last_termination(cs: &k8s_openapi::api::core::v1::ContainerStatus) -> Option<Timestamp> {
    cs.last_state
        .as_ref()?
        .terminated
        .as_ref()?
        .finished_at
        .as_ref()
        .map(|t| t.0)
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    a.max(b)
}

fn kubectl_cells(pod: &Pod) -> (String, String, i32, Option<Timestamp>) {
    let spec_containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let Some(status) = &pod.status else {
        return (format!("0/{spec_containers}"), "Unknown".into(), 0, None);
    };
    let mut reason = status
        .reason
        .clone()
        .or_else(|| status.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let mut restarts = 0;
    let mut last_restart: Option<Timestamp> = None;
    let init_statuses = status.init_container_statuses.as_deref().unwrap_or(&[]);
    let init_total = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map_or(0, Vec::len);
    let mut initializing = false;
    for (i, cs) in init_statuses.iter().enumerate() {
        restarts += cs.restart_count;
        last_restart = later(last_restart, last_termination(cs));
        let state = cs.state.as_ref();
        if let Some(t) = state.and_then(|s| s.terminated.as_ref())
            && t.exit_code == 0
        {
            continue;
        }
        // A restartable (sidecar) init container that started does not block.
        if state.and_then(|s| s.running.as_ref()).is_some() && cs.started == Some(true) {
            continue;
        }
        initializing = true;
        reason = if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            match &t.reason {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ if t.signal.unwrap_or(0) != 0 => format!("Init:Signal:{}", t.signal.unwrap_or(0)),
                _ => format!("Init:ExitCode:{}", t.exit_code),
            }
        } else if let Some(r) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_ref())
            .filter(|r| !r.is_empty() && r.as_str() != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{init_total}")
        };
        break;
    }

    let mut ready = 0;
    if !initializing {
        restarts = 0;
        last_restart = None;
        let mut has_running = false;
        for cs in status.container_statuses.iter().flatten().rev() {
            restarts += cs.restart_count;
            last_restart = later(last_restart, last_termination(cs));
            let state = cs.state.as_ref();
            if let Some(r) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_ref())
                .filter(|r| !r.is_empty())
            {
                reason = r.clone();
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match &t.reason {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if state.and_then(|s| s.running.as_ref()).is_some() && cs.ready {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.reason.as_deref() == Some("NodeLost") {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }

    (
        format!("{ready}/{spec_containers}"),
        reason,
        restarts,
        last_restart,
    )
}
