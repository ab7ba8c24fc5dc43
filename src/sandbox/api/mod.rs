//! The Kubernetes API over HTTP, one server per simulated cluster.
//!
//! [`serve`] starts a server for a [`Cluster`](crate::sandbox::ops::Cluster); unmodified
//! kubectl and the kube crate talk to it. Request handling is split by responsibility:
//! routing, discovery, OpenAPI, reads (incl. Tables), watches, writes, patches, subresources.

mod discovery;
mod openapi;
mod patch;
pub mod printers;
mod protobuf;
mod read;
mod route;
mod selectors;
mod server;
pub mod smp;
mod subresources;
mod watch;
mod write;

pub use selectors::{FieldSelector, LabelSelector, selector_string};
pub use server::{ApiServer, ServeOptions, serve};
pub use subresources::{previous_log_key, scale_of};
