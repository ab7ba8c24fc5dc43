//! Pure functions from the snapshot (and config) to what the panes show. Nothing here knows
//! about terminals; every value is exact and unit-tested.

pub mod events;
pub mod helm;
pub mod index;
pub mod pods;
pub mod revisions;
pub mod rollout;
pub mod services;
pub mod tags;
pub mod traffic;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

/// The state of a workload, shown as a symbol and a colour (never a colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Health {
    Ok,
    Progressing,
    Paused,
    #[default]
    Unknown,
    Failing,
}

impl Health {
    /// The worse of two states, for a service made of several Deployments.
    pub fn worst(self, other: Health) -> Health {
        self.max(other)
    }
}

pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

pub fn label<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.labels.as_ref()?.get(key).map(String::as_str)
}

/// The name of the controller that owns this object, when it is of `kind`.
pub fn controller_of<'a>(meta: &'a ObjectMeta, kind: &str) -> Option<&'a str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == kind)
        .map(|o| o.name.as_str())
}

/// The UID of the controller that owns this object, when it is of `kind`.
pub fn controller_uid<'a>(meta: &'a ObjectMeta, kind: &str) -> Option<&'a str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == kind)
        .map(|o| o.uid.as_str())
}

pub fn created(meta: &ObjectMeta) -> Option<Timestamp> {
    meta.creation_timestamp.as_ref().map(|Time(t)| *t)
}
