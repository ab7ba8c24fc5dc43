//! Which tag runs where. Environments pull from their own repositories (`dev/orders`,
//! `prod/orders`) and promotion keeps digests, so an image is matched by digest wherever one
//! is known, and by tag name only where it is not. The same digest under two tags is one
//! image: both tags get the marker.

use std::collections::{BTreeMap, HashMap};

use super::reference::ImageRef;
use super::types::TagRow;

/// Environment names per tag, for the tags that run somewhere.
///
/// `running` holds, per environment, the image references of this service's container as the
/// cluster reports them (`127.0.0.1:5000/prod/orders:v1.4.2`, `…@sha256:…`, or both).
/// Environments appear in the order given; unparsable references are skipped.
pub fn where_running<E, I>(
    rows: &[TagRow],
    running: impl IntoIterator<Item = (E, I)>,
) -> BTreeMap<String, Vec<String>>
where
    E: AsRef<str>,
    I: AsRef<str>,
{
    let digest_of: HashMap<&str, &str> = rows
        .iter()
        .filter_map(|r| {
            let d = r.details.as_ref()?.digest.as_str();
            (!d.is_empty()).then_some((r.tag.as_str(), d))
        })
        .collect();
    let mut markers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut mark = |tag: &str, env: &str| {
        let envs = markers.entry(tag.to_string()).or_default();
        if !envs.iter().any(|e| e == env) {
            envs.push(env.to_string());
        }
    };
    for (env, image) in running {
        let Ok(image) = ImageRef::parse(image.as_ref()) else {
            continue;
        };
        let env = env.as_ref();
        let tag = image.tag.as_deref();
        // What runs, by content: the pinned digest, else what that tag name resolves to here.
        let digest = image
            .digest
            .as_deref()
            .or_else(|| tag.and_then(|t| digest_of.get(t).copied()));
        match digest {
            Some(digest) => {
                let mut any = false;
                for row in rows {
                    if digest_of.get(row.tag.as_str()) == Some(&digest) {
                        mark(&row.tag, env);
                        any = true;
                    }
                }
                // Digest known only on the running side: fall back to the tag name, if that
                // tag's own digest is still unknown (not if it is known and differs).
                if !any
                    && let Some(t) = tag
                    && !digest_of.contains_key(t)
                    && rows.iter().any(|r| r.tag == t)
                {
                    mark(t, env);
                }
            }
            None => {
                if let Some(t) = tag
                    && rows.iter().any(|r| r.tag == t)
                {
                    mark(t, env);
                }
            }
        }
    }
    markers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::TagDetails;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn row(tag: &str, digest: Option<String>) -> TagRow {
        TagRow {
            tag: tag.into(),
            details: digest.map(|digest| TagDetails {
                tag: tag.into(),
                digest,
                ..TagDetails::default()
            }),
            error: None,
        }
    }

    #[test]
    fn digest_aware_markers_across_environments() {
        let rows = vec![
            row("v1.5.0", Some(d('a'))),
            row("latest", Some(d('a'))),
            row("v1.4.2", Some(d('b'))),
            row("v1.4.1", None),
            row("v1.3.0", Some(d('c'))),
        ];
        let running = [
            ("dev", "127.0.0.1:5000/dev/orders:latest".to_string()),
            (
                "staging",
                format!("127.0.0.1:5000/staging/orders@{}", d('b')),
            ),
            ("prod", "127.0.0.1:5000/prod/orders:v1.4.1".to_string()),
            // Tag says v1.3.0 but the digest is v1.5.0's: the digest wins.
            (
                "canary",
                format!("127.0.0.1:5000/prod/orders:v1.3.0@{}", d('a')),
            ),
            ("broken", "::not a reference::".to_string()),
        ];
        let m = where_running(&rows, running);
        assert_eq!(m.get("v1.5.0"), Some(&vec!["dev".into(), "canary".into()]));
        assert_eq!(m.get("latest"), Some(&vec!["dev".into(), "canary".into()]));
        assert_eq!(m.get("v1.4.2"), Some(&vec!["staging".to_string()]));
        assert_eq!(m.get("v1.4.1"), Some(&vec!["prod".to_string()]));
        assert_eq!(m.get("v1.3.0"), None);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn unknown_digest_falls_back_to_the_tag_name_only_when_ours_is_unknown() {
        let rows = vec![row("v2", None), row("v1", Some(d('e')))];
        let running = [
            ("prod", format!("r.example/prod/orders:v2@{}", d('f'))),
            ("dev", format!("r.example/dev/orders:v1@{}", d('f'))),
            ("dev", "r.example/dev/orders:v2".to_string()),
        ];
        let m = where_running(&rows, running);
        assert_eq!(m.get("v2"), Some(&vec!["prod".into(), "dev".into()]));
        assert_eq!(m.get("v1"), None);
    }
}
