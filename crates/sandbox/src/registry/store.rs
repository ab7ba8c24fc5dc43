//! In-memory registry storage: content-addressed blobs shared by all repositories, and per
//! repository the blobs it may serve (links), its manifests and its tags.
//!
//! This layer keeps the invariants (a manifest's references exist, tags point at stored
//! manifests, upload chunks arrive in order); hashing and parsing happen before the caller
//! takes the lock (see [`super::Registry`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use bytes::Bytes;
use http::StatusCode;

use super::digest;
use super::error::OciError;
use super::manifest::{ParsedManifest, References};

/// Blobs (and uploads) are held in memory; this bounds what one upload may grow to.
pub const MAX_BLOB_BYTES: u64 = 512 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredManifest {
    pub digest: String,
    pub media_type: &'static str,
    pub body: Bytes,
}

#[derive(Default)]
struct Repo {
    blobs: HashSet<String>,
    manifests: HashMap<String, StoredManifest>,
    tags: BTreeMap<String, String>,
}

struct Upload {
    repo: String,
    data: Vec<u8>,
}

/// One page of a sorted listing; `more` when entries remain after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<String>,
    pub more: bool,
}

#[derive(Default)]
pub struct Store {
    blobs: HashMap<String, Bytes>,
    repos: BTreeMap<String, Repo>,
    uploads: HashMap<String, Upload>,
}

impl Store {
    fn repo(&self, name: &str) -> Result<&Repo, OciError> {
        self.repos
            .get(name)
            .ok_or_else(|| OciError::name_unknown(name))
    }

    pub fn blob(&self, repo: &str, digest: &str) -> Result<Bytes, OciError> {
        self.repos
            .get(repo)
            .filter(|r| r.blobs.contains(digest))
            .and_then(|_| self.blobs.get(digest))
            .cloned()
            .ok_or_else(|| OciError::blob_unknown(digest))
    }

    /// Stores verified content under `digest` and links it into `repo`.
    pub fn link_blob(&mut self, repo: &str, digest: &str, data: Bytes) {
        self.blobs.entry(digest.to_string()).or_insert(data);
        self.repos
            .entry(repo.to_string())
            .or_default()
            .blobs
            .insert(digest.to_string());
    }

    /// Unlinks a blob from `repo`; the content goes once no repository links it.
    pub fn delete_blob(&mut self, repo: &str, digest: &str) -> Result<(), OciError> {
        let removed = self
            .repos
            .get_mut(repo)
            .is_some_and(|r| r.blobs.remove(digest));
        if !removed {
            return Err(OciError::blob_unknown(digest));
        }
        if !self.repos.values().any(|r| r.blobs.contains(digest)) {
            self.blobs.remove(digest);
        }
        Ok(())
    }

    /// Links a blob of `from` into `repo`; false (nothing changed) when `from` lacks it.
    pub fn mount(&mut self, repo: &str, digest: &str, from: &str) -> bool {
        match self.blob(from, digest) {
            Ok(data) => {
                self.link_blob(repo, digest, data);
                true
            }
            Err(_) => false,
        }
    }

    pub fn start_upload(&mut self, repo: &str) -> String {
        let id = upload_id();
        let upload = Upload {
            repo: repo.to_string(),
            data: Vec::new(),
        };
        self.uploads.insert(id.clone(), upload);
        id
    }

    fn upload_mut(&mut self, repo: &str, id: &str) -> Result<&mut Upload, OciError> {
        self.uploads
            .get_mut(id)
            .filter(|u| u.repo == repo)
            .ok_or_else(|| OciError::blob_upload_unknown(id))
    }

    /// Bytes received so far.
    pub fn upload_size(&self, repo: &str, id: &str) -> Result<u64, OciError> {
        self.uploads
            .get(id)
            .filter(|u| u.repo == repo)
            .map(|u| u.data.len() as u64)
            .ok_or_else(|| OciError::blob_upload_unknown(id))
    }

    /// Appends a chunk. With a `Content-Range` (`start`, inclusive `end`), the chunk must start
    /// where the upload stands and be as long as the range says, else 416.
    pub fn append(
        &mut self,
        repo: &str,
        id: &str,
        range: Option<(u64, u64)>,
        chunk: &[u8],
    ) -> Result<u64, OciError> {
        let upload = self.upload_mut(repo, id)?;
        let size = upload.data.len() as u64;
        if let Some((start, end)) = range
            && (start != size
                || end.checked_sub(start).and_then(|d| d.checked_add(1))
                    != Some(chunk.len() as u64))
        {
            return Err(OciError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                format!(
                    "chunk range {start}-{end} ({} bytes) does not continue the upload at {size}",
                    chunk.len()
                ),
            ));
        }
        if size + chunk.len() as u64 > MAX_BLOB_BYTES {
            return Err(OciError::size_invalid(
                "blob exceeds the sandbox limit of 512 MiB",
            ));
        }
        upload.data.extend_from_slice(chunk);
        Ok(upload.data.len() as u64)
    }

    /// Ends the session and hands over its bytes (for verification outside the lock).
    pub fn take_upload(&mut self, repo: &str, id: &str) -> Result<Vec<u8>, OciError> {
        self.upload_mut(repo, id)?;
        let upload = self
            .uploads
            .remove(id)
            .ok_or_else(|| OciError::blob_upload_unknown(id))?;
        Ok(upload.data)
    }

    pub fn cancel_upload(&mut self, repo: &str, id: &str) -> Result<(), OciError> {
        self.take_upload(repo, id).map(|_| ())
    }

    /// Stores a parsed manifest whose digest the caller computed, after checking that what it
    /// references is in the repository; tags it when `tag` is given.
    pub fn put_manifest(
        &mut self,
        repo: &str,
        tag: Option<&str>,
        parsed: &ParsedManifest,
        digest: String,
        body: Bytes,
    ) -> Result<(), OciError> {
        let existing = self.repos.get(repo);
        match &parsed.references {
            References::Blobs(blobs) => {
                let missing = blobs
                    .iter()
                    .find(|d| !existing.is_some_and(|r| r.blobs.contains(*d)));
                if let Some(missing) = missing {
                    return Err(OciError::manifest_blob_unknown(missing));
                }
            }
            References::Manifests(manifests) => {
                let missing = manifests
                    .iter()
                    .find(|d| !existing.is_some_and(|r| r.manifests.contains_key(*d)));
                if let Some(missing) = missing {
                    return Err(OciError::manifest_blob_unknown(missing));
                }
            }
        }
        let stored = StoredManifest {
            digest: digest.clone(),
            media_type: parsed.media_type,
            body,
        };
        let entry = self.repos.entry(repo.to_string()).or_default();
        entry.manifests.insert(digest.clone(), stored);
        if let Some(tag) = tag {
            self.set_tag(repo, tag, &digest);
        }
        Ok(())
    }

    /// A manifest by tag or digest.
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<StoredManifest, OciError> {
        let r = self.repo(repo)?;
        let digest = if digest::is_digest_reference(reference) {
            reference
        } else {
            r.tags
                .get(reference)
                .ok_or_else(|| OciError::manifest_unknown(reference))?
        };
        r.manifests
            .get(digest)
            .cloned()
            .ok_or_else(|| OciError::manifest_unknown(reference))
    }

    /// Deleting a tag removes only the tag; deleting a digest removes the manifest and every
    /// tag that points at it (as distribution does).
    pub fn delete_manifest(&mut self, repo: &str, reference: &str) -> Result<(), OciError> {
        let unknown = || OciError::manifest_unknown(reference);
        let r = self.repos.get_mut(repo).ok_or_else(unknown)?;
        if digest::is_digest_reference(reference) {
            r.manifests.remove(reference).ok_or_else(unknown)?;
            r.tags.retain(|_, digest| digest != reference);
        } else {
            r.tags.remove(reference).ok_or_else(unknown)?;
        }
        Ok(())
    }

    pub fn has_manifest(&self, repo: &str, digest: &str) -> bool {
        self.repos
            .get(repo)
            .is_some_and(|r| r.manifests.contains_key(digest))
    }

    pub fn set_tag(&mut self, repo: &str, tag: &str, digest: &str) {
        let repo = self.repos.entry(repo.to_string()).or_default();
        repo.tags.insert(tag.to_string(), digest.to_string());
    }

    pub fn resolve_tag(&self, repo: &str, tag: &str) -> Option<String> {
        self.repos.get(repo)?.tags.get(tag).cloned()
    }

    /// Tags in lexical (byte) order after `last`, at most `limit`.
    pub fn tags_page(
        &self,
        repo: &str,
        last: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page, OciError> {
        let tags = &self.repo(repo)?.tags;
        let after = last.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(paginate(
            tags.range::<str, _>((after, Bound::Unbounded))
                .map(|(t, _)| t),
            limit,
        ))
    }

    /// Repositories holding at least one manifest, in lexical order after `last`.
    pub fn catalog_page(&self, last: Option<&str>, limit: Option<usize>) -> Page {
        let after = last.map_or(Bound::Unbounded, Bound::Excluded);
        paginate(
            self.repos
                .range::<str, _>((after, Bound::Unbounded))
                .filter(|(_, r)| !r.manifests.is_empty())
                .map(|(name, _)| name),
            limit,
        )
    }
}

fn paginate<'a>(mut sorted: impl Iterator<Item = &'a String>, limit: Option<usize>) -> Page {
    let items: Vec<String> = sorted
        .by_ref()
        .take(limit.unwrap_or(usize::MAX))
        .cloned()
        .collect();
    // `n=0` asks for an empty list and no `Link` (spec), so it never reports more.
    let more = limit != Some(0) && sorted.next().is_some();
    Page { items, more }
}

/// Session ids look like distribution's UUIDs (clients treat them as opaque).
fn upload_id() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::{OCI_INDEX, OCI_MANIFEST};

    fn image_manifest(blobs: &[&str]) -> ParsedManifest {
        ParsedManifest {
            media_type: OCI_MANIFEST,
            references: References::Blobs(blobs.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn with_blob(store: &mut Store, repo: &str, content: &[u8]) -> String {
        let digest = digest::sha256(content);
        store.link_blob(repo, &digest, Bytes::copy_from_slice(content));
        digest
    }

    /// Tags a manifest (digest `sha256:m`) naming only `config`.
    fn tag_image(store: &mut Store, config: &str, tag: &str) {
        let manifest = image_manifest(&[config]);
        let body = Bytes::new();
        let stored = store.put_manifest("r", Some(tag), &manifest, "sha256:m".into(), body);
        stored.expect("stored");
    }

    #[test]
    fn blobs_are_shared_by_content_but_served_per_repository() {
        let mut store = Store::default();
        let d = with_blob(&mut store, "dev/orders", b"layer");
        assert_eq!(store.blob("dev/orders", &d).expect("linked"), "layer");
        assert_eq!(
            store.blob("prod/orders", &d).expect_err("not linked").code,
            "BLOB_UNKNOWN"
        );
        assert!(store.mount("prod/orders", &d, "dev/orders"));
        assert!(!store.mount("prod/orders", &digest::sha256(b"x"), "dev/orders"));
        store.delete_blob("dev/orders", &d).expect("delete");
        // Still linked from prod, so the content stays.
        assert_eq!(
            store.blob("prod/orders", &d).expect("still linked"),
            "layer"
        );
        store.delete_blob("prod/orders", &d).expect("delete");
        assert!(store.blobs.is_empty());
    }

    #[test]
    fn manifests_need_their_blobs_and_indexes_their_manifests() {
        let mut store = Store::default();
        let config = with_blob(&mut store, "r", b"{}");
        let missing = digest::sha256(b"missing");
        let err = store
            .put_manifest(
                "r",
                Some("v1"),
                &image_manifest(&[&config, &missing]),
                "sha256:m".into(),
                Bytes::new(),
            )
            .expect_err("missing layer");
        assert_eq!(
            (err.code, err.detail["digest"].as_str()),
            ("MANIFEST_BLOB_UNKNOWN", Some(missing.as_str()))
        );
        let m = digest::sha256(b"manifest");
        store
            .put_manifest(
                "r",
                Some("v1"),
                &image_manifest(&[&config]),
                m.clone(),
                Bytes::from_static(b"manifest"),
            )
            .expect("stored");
        let index = |children: Vec<String>| ParsedManifest {
            media_type: OCI_INDEX,
            references: References::Manifests(children),
        };
        let err = store
            .put_manifest(
                "r",
                None,
                &index(vec![missing]),
                "sha256:i".into(),
                Bytes::new(),
            )
            .expect_err("missing child");
        assert_eq!(err.code, "MANIFEST_BLOB_UNKNOWN");
        store
            .put_manifest(
                "r",
                Some("multi"),
                &index(vec![m.clone()]),
                "sha256:i".into(),
                Bytes::new(),
            )
            .expect("index stored");
        assert_eq!(store.manifest("r", "v1").expect("by tag").digest, m);
        assert_eq!(store.manifest("r", &m).expect("by digest").body, "manifest");
        assert_eq!(
            store.manifest("r", "v2").expect_err("no tag").code,
            "MANIFEST_UNKNOWN"
        );
        assert_eq!(
            store.manifest("q", "v1").expect_err("no repo").code,
            "NAME_UNKNOWN"
        );
    }

    #[test]
    fn deleting_a_tag_keeps_the_manifest_deleting_a_digest_drops_its_tags() {
        let mut store = Store::default();
        let config = with_blob(&mut store, "r", b"{}");
        for tag in ["a", "b"] {
            tag_image(&mut store, &config, tag);
        }
        store.delete_manifest("r", "a").expect("tag deleted");
        assert_eq!(store.resolve_tag("r", "a"), None);
        assert_eq!(
            store.manifest("r", "b").expect("b remains").digest,
            "sha256:m"
        );
        store
            .delete_manifest("r", "sha256:m")
            .expect("manifest deleted");
        assert_eq!(store.resolve_tag("r", "b"), None);
        assert_eq!(
            store
                .delete_manifest("r", "sha256:m")
                .expect_err("gone")
                .code,
            "MANIFEST_UNKNOWN"
        );
    }

    #[test]
    fn chunks_must_arrive_in_order() {
        let mut store = Store::default();
        let id = store.start_upload("r");
        assert_eq!(
            store.append("r", &id, Some((0, 2)), b"abc").expect("first"),
            3
        );
        let err = store
            .append("r", &id, Some((5, 6)), b"de")
            .expect_err("gap");
        assert_eq!(err.status, StatusCode::RANGE_NOT_SATISFIABLE);
        let err = store
            .append("r", &id, Some((3, 9)), b"de")
            .expect_err("length");
        assert_eq!(err.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(store.append("r", &id, None, b"de").expect("streamed"), 5);
        assert_eq!(
            store
                .upload_size("other", &id)
                .expect_err("wrong repo")
                .code,
            "BLOB_UPLOAD_UNKNOWN"
        );
        assert_eq!(store.take_upload("r", &id).expect("data"), b"abcde");
        assert!(store.upload_size("r", &id).is_err());
    }

    #[test]
    fn pages_follow_lexical_order() {
        let mut store = Store::default();
        let config = with_blob(&mut store, "r", b"{}");
        for tag in ["v3", "v1", "latest", "v2"] {
            tag_image(&mut store, &config, tag);
        }
        let page = store.tags_page("r", None, Some(2)).expect("page");
        assert_eq!(
            page,
            Page {
                items: vec!["latest".into(), "v1".into()],
                more: true
            }
        );
        let page = store.tags_page("r", Some("v1"), Some(2)).expect("page");
        assert_eq!(
            page,
            Page {
                items: vec!["v2".into(), "v3".into()],
                more: false
            }
        );
        let page = store.tags_page("r", None, Some(0)).expect("page");
        assert_eq!(
            page,
            Page {
                items: vec![],
                more: false
            }
        );
        assert_eq!(
            store.tags_page("r", None, None).expect("all").items.len(),
            4
        );
        // A repository with only blobs is not in the catalog.
        with_blob(&mut store, "blobs-only", b"x");
        assert_eq!(store.catalog_page(None, None).items, vec!["r".to_string()]);
    }
}
