//! Kube Events about the selection (its Deployments, ReplicaSets and pods), oldest first.

use std::collections::HashSet;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use crate::model::snapshot::EnvSnapshot;

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub time: Option<Timestamp>,
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    /// `Kind/name` like kubectl's OBJECT column.
    pub object: String,
    pub message: String,
    pub count: i32,
}

/// When it last happened: lastTimestamp, else eventTime, else firstTimestamp, else creation.
pub fn event_time(event: &Event) -> Option<Timestamp> {
    event
        .last_timestamp
        .as_ref()
        .map(|Time(t)| *t)
        .or_else(|| event.event_time.as_ref().map(|MicroTime(t)| *t))
        .or_else(|| event.first_timestamp.as_ref().map(|Time(t)| *t))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|Time(t)| *t))
}

/// Events whose involved object is one of `names` (any kind), oldest first.
pub fn events_about(env: &EnvSnapshot, names: &HashSet<&str>) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = env
        .events
        .values()
        .filter(|e| {
            e.involved_object
                .name
                .as_deref()
                .is_some_and(|n| names.contains(n))
        })
        .map(|e| EventRow {
            time: event_time(e),
            type_: e.type_.clone().unwrap_or_else(|| "Normal".into()),
            reason: e.reason.clone().unwrap_or_default(),
            object: format!(
                "{}/{}",
                e.involved_object
                    .kind
                    .as_deref()
                    .unwrap_or("?")
                    .to_lowercase(),
                e.involved_object.name.as_deref().unwrap_or("?")
            ),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
        })
        .collect();
    rows.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.object.cmp(&b.object)));
    rows
}
