//! Registry layer: tags (paginated, streamed), digests and labels, promotion by digest, auth.

mod types;

pub use types::{RegistryEvent, TagDetails, TagRow};
