//! Domain types shared by every layer (and the kubectl-compatible formatting of them).

pub mod format;
pub mod kubectl;
