//! Pods of the selection with kubectl's READY, STATUS, RESTARTS, AGE and NODE cells.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::created;
use super::rollout::warnings_of;
use crate::model::kubectl::{PodSummary, pod_summary};

#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub name: String,
    /// READY, `1/2`.
    pub ready: String,
    /// STATUS, `Running`, `CrashLoopBackOff`, `Init:0/1`, `Terminating`…
    pub status: String,
    /// kubectl's own computation, shared with the sandbox's printers.
    pub summary: PodSummary,
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
        self.summary.restarts_cell(now)
    }
}

/// The cells kubectl would print for `pod`. kubectl's logic lives in `model::kubectl` over
/// JSON (the sandbox prints Tables with it); the typed pod is converted once per row.
pub fn pod_row(pod: &Pod) -> PodRow {
    let summary = pod_summary(&serde_json::to_value(pod).unwrap_or_default());
    PodRow {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: summary.ready_cell(),
        status: summary.status.clone(),
        healthy: summary.status == "Running" && summary.ready == summary.total,
        created: created(&pod.metadata),
        node: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_else(|| "<none>".into()),
        warning: !warnings_of(pod).is_empty(),
        summary,
    }
}
