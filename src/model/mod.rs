//! Domain types shared by every layer (and the kubectl-compatible formatting of them).

pub mod derive;
pub mod format;
pub mod image;
pub mod kubectl;
pub mod service;
pub mod snapshot;
