//! The Kubernetes API over HTTP, one server per simulated cluster.

pub mod printers;
pub mod smp;
