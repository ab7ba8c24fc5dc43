//! What the registry layer reports to the console and the release layer.

use jiff::Timestamp;

/// Facts about one tag, filled in on demand and cached by digest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagDetails {
    pub tag: String,
    /// `sha256:...` of the manifest (or index) the tag points at.
    pub digest: String,
    pub media_type: String,
    /// A multi-arch index rather than a single image.
    pub is_index: bool,
    /// Total of config and layer sizes (for an index: of linux/amd64, else the first platform).
    pub size: u64,
    /// From the image config (`created`, else `org.opencontainers.image.created`).
    pub created: Option<Timestamp>,
    /// `org.opencontainers.image.revision`: the commit the image was built from.
    pub revision: Option<String>,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// `org.opencontainers.image.source`.
    pub source: Option<String>,
}

/// A tag row: the tag itself at once, its details when fetched, or why they failed.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub tag: String,
    pub details: Option<TagDetails>,
    /// A malformed manifest or unknown media type is an error for this row only.
    pub error: Option<String>,
}

impl TagRow {
    /// A row whose details are not fetched yet.
    pub fn new(tag: &str) -> TagRow {
        TagRow {
            tag: tag.to_string(),
            details: None,
            error: None,
        }
    }

    /// A row from the outcome of fetching its details (an error stays on this row).
    pub fn from_result(tag: &str, result: Result<TagDetails, String>) -> TagRow {
        match result {
            Ok(details) => TagRow {
                tag: tag.to_string(),
                details: Some(details),
                error: None,
            },
            Err(error) => TagRow {
                tag: tag.to_string(),
                details: None,
                error: Some(error),
            },
        }
    }
}

/// Progress of listing one repository, sent page by page.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryEvent {
    /// Another page of tag names for `repository` (`registry/path`); `complete` on the last.
    TagsPage {
        repository: String,
        tags: Vec<String>,
        complete: bool,
    },
    Details {
        repository: String,
        tag: String,
        result: Result<TagDetails, String>,
    },
    /// Listing failed (auth, network): the message names registry and repository.
    Failed { repository: String, error: String },
}
