//! The Kubernetes API over HTTP, one server per simulated cluster.
//!
//! [`serve`] starts a server for a [`Cluster`](crate::ops::Cluster); unmodified
//! kubectl and the kube crate talk to it. Request handling is split by responsibility:
//! routing, discovery, OpenAPI, reads (incl. Tables), watches, writes, patches, subresources,
//! and the service proxy.

mod decode;
pub(crate) mod discovery;
mod gojson;
mod openapi;
mod patch;
pub mod printers;
mod protobuf;
mod proxy;
mod read;
mod route;
mod selectors;
mod server;
pub mod smp;
mod subresources;
mod watch;
mod write;

pub use proxy::{HealthyPods, ProxyReply, ServiceBackend};
pub use selectors::{FieldSelector, LabelSelector, selector_string};
pub use server::{ApiServer, ServeOptions, serve, serve_with};
pub use subresources::{previous_log_key, scale_of};
