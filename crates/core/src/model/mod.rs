//! Domain types shared by every layer (and the kubectl-compatible formatting of them).

pub mod derive;
pub mod image;
pub mod service;
pub mod snapshot;

pub use shipdeck_shared::{format, kubectl};
