//! Registry layer: tags (paginated, streamed), digests and labels, promotion by digest, auth.
//!
//! The console lists a service's tags with [`RegistryClient::list_tags`] (or spawns
//! [`RegistryClient::send_tags`] to receive [`RegistryEvent`]s), asks for
//! [`RegistryClient::details`] of the rows it shows, orders them with [`sort_tags`] and marks
//! them with [`where_running`]. The release layer promotes with [`Registries::promote`] and
//! asks [`bump`]/[`approval_needed`] whether a step needs an approval.

mod auth;
mod client;
mod copy;
mod credentials;
mod details;
mod error;
mod manifest;
mod policy;
mod promote;
mod reference;
mod retry;
mod running;
mod sort;
mod tags;
mod types;

pub use client::{ClientOptions, Registries, RegistryClient};
pub use credentials::{CredentialSource, Credentials};
pub use error::RegistryError;
pub use policy::{approval_needed, bump};
pub use promote::{PromoteOutcome, PromoteRequest, promote};
pub use reference::ImageRef;
pub use retry::RetryPolicy;
pub use running::where_running;
pub use sort::{sort_tag_names, sort_tags};
pub use types::{RegistryEvent, TagDetails, TagRow};
