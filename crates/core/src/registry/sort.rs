//! Tag order for humans. Semantic versions first, newest first (a leading `v` is allowed,
//! a pre-release sorts just below its release and above the release before it, as semver
//! precedence says, build metadata does not affect order). Then every other tag (commit SHAs,
//! `latest`, dates, `1.2`, anything) newest image first where the creation time is known,
//! then the rest by name. Ties are broken by the tag string, so the order is total and the
//! same whatever order the tags arrived in.

use std::cmp::Ordering;

use jiff::Timestamp;
use semver::Version;

use super::types::TagRow;

/// A tag's place in the order, computed once per tag.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    Semver(Version),
    Created(Timestamp),
    Name,
}

impl Key {
    fn of(tag: &str, created: Option<Timestamp>) -> Key {
        match parse_version(tag) {
            Some(v) => Key::Semver(v),
            None => created.map_or(Key::Name, Key::Created),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Semver(_) => 0,
            Key::Created(_) => 1,
            Key::Name => 2,
        }
    }
}

/// A semantic version, tolerating one leading `v`/`V` (`v1.4.2`); `1.2` is not one.
pub(crate) fn parse_version(tag: &str) -> Option<Version> {
    let bare = tag
        .strip_prefix('v')
        .or_else(|| tag.strip_prefix('V'))
        .unwrap_or(tag);
    Version::parse(bare).ok()
}

/// Precedence only: build metadata ignored, pre-release below its release.
pub(crate) fn precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

fn compare(a: (&Key, &str), b: (&Key, &str)) -> Ordering {
    let by_key = match (a.0, b.0) {
        (Key::Semver(x), Key::Semver(y)) => precedence(y, x),
        (Key::Created(x), Key::Created(y)) => y.cmp(x),
        (x, y) => x.rank().cmp(&y.rank()),
    };
    by_key.then_with(|| a.1.cmp(b.1))
}

/// Sorts rows in place for display (stable; creation time from their details).
pub fn sort_tags(rows: &mut [TagRow]) {
    let mut keyed: Vec<(Key, TagRow)> = rows
        .iter()
        .map(|r| {
            let created = r.details.as_ref().and_then(|d| d.created);
            (Key::of(&r.tag, created), r.clone())
        })
        .collect();
    keyed.sort_by(|a, b| compare((&a.0, &a.1.tag), (&b.0, &b.1.tag)));
    for (slot, (_, row)) in rows.iter_mut().zip(keyed) {
        *slot = row;
    }
}

/// Sorts bare `(tag, created)` pairs the same way.
pub fn sort_tag_names(tags: &mut [(String, Option<Timestamp>)]) {
    tags.sort_by_cached_key(|(tag, created)| (SortKey(Key::of(tag, *created)), tag.clone()));
}

/// `Key` ordered by `compare`, for `sort_by_cached_key`; equal means same precedence.
struct SortKey(Key);

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare((&self.0, ""), (&other.0, ""))
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::TagDetails;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn row(tag: &str, created: Option<&str>) -> TagRow {
        TagRow {
            tag: tag.to_string(),
            details: created.map(|c| TagDetails {
                tag: tag.to_string(),
                created: c.parse().ok(),
                ..TagDetails::default()
            }),
            error: None,
        }
    }

    fn tags(rows: &[TagRow]) -> Vec<&str> {
        rows.iter().map(|r| r.tag.as_str()).collect()
    }

    #[test]
    fn versions_newest_first_then_others_by_creation_then_name() {
        let long = "x".repeat(128);
        let mut rows = vec![
            row("latest", Some("2024-03-01T00:00:00Z")),
            row("v1.2.3", None),
            row("1.10.0", None),
            row("v2.0.0-rc.1", None),
            row("2.0.0", None),
            row("v1.9.0+build.7", None),
            row("3f9c21a", Some("2024-02-01T00:00:00Z")),
            row("1.2", None),
            row("v3beta-fix", None),
            row(&long, None),
            row("2024-01-15", None),
            row("v2.0.0-alpha", None),
        ];
        sort_tags(&mut rows);
        assert_eq!(
            tags(&rows),
            vec![
                "2.0.0",
                "v2.0.0-rc.1",
                "v2.0.0-alpha",
                "1.10.0",
                "v1.9.0+build.7",
                "v1.2.3",
                "latest",
                "3f9c21a",
                "1.2",
                "2024-01-15",
                "v3beta-fix",
                long.as_str(),
            ]
        );
    }

    #[test]
    fn build_metadata_does_not_reorder_and_ties_break_by_name() {
        let mut rows = vec![
            row("1.0.0+b", None),
            row("v1.0.0", None),
            row("1.0.0+a", None),
            row("1.0.0", None),
        ];
        sort_tags(&mut rows);
        assert_eq!(tags(&rows), vec!["1.0.0", "1.0.0+a", "1.0.0+b", "v1.0.0"]);
    }

    #[test]
    fn names_and_pairs_sort_alike() {
        let mut pairs: Vec<(String, Option<Timestamp>)> = vec![
            ("latest".into(), "2024-03-01T00:00:00Z".parse().ok()),
            ("v0.1.0".into(), None),
            ("abc".into(), None),
            ("main".into(), "2024-04-01T00:00:00Z".parse().ok()),
        ];
        sort_tag_names(&mut pairs);
        let names: Vec<&str> = pairs.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, vec!["v0.1.0", "main", "latest", "abc"]);
    }

    const ALPHABET: &[u8] = b"v0123456789.-+abcrx_Vlatest";

    fn random_tag(rng: &mut StdRng) -> String {
        match rng.random_range(0..4) {
            // Near-semver shapes, where the parser's edges are.
            0 => format!(
                "{}{}.{}.{}{}",
                if rng.random_bool(0.5) { "v" } else { "" },
                rng.random_range(0..3),
                rng.random_range(0..3),
                rng.random_range(0..3),
                [
                    "", "-rc.1", "-rc.2", "-alpha", "+b1", "-rc.1+b2", "-0", "-01"
                ][rng.random_range(0..8)]
            ),
            1 => "y".repeat(rng.random_range(100..=128)),
            _ => (0..rng.random_range(1..12))
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        }
    }

    /// Property-style: for many random tag sets, sorting never panics, keeps every row,
    /// yields the same order from any starting permutation, and agrees with a comparator that
    /// is a total order (antisymmetric and transitive over sampled triples).
    #[test]
    fn random_tags_sort_totally_and_deterministically() {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        for _ in 0..300 {
            let n = rng.random_range(0..40);
            let mut rows: Vec<TagRow> = (0..n)
                .map(|_| {
                    let tag = random_tag(&mut rng);
                    let created = rng
                        .random_bool(0.4)
                        .then(|| format!("2024-01-{:02}T00:00:00Z", rng.random_range(1..29)));
                    row(&tag, created.as_deref())
                })
                .collect();
            rows.sort_by(|a, b| a.tag.cmp(&b.tag));
            rows.dedup_by(|a, b| a.tag == b.tag);

            let mut first = rows.clone();
            sort_tags(&mut first);
            let mut shuffled = rows.clone();
            shuffled.reverse();
            sort_tags(&mut shuffled);
            assert_eq!(tags(&first), tags(&shuffled));
            assert_eq!(first.len(), rows.len());

            let keys: Vec<(Key, &str)> = first
                .iter()
                .map(|r| {
                    (
                        Key::of(&r.tag, r.details.as_ref().and_then(|d| d.created)),
                        r.tag.as_str(),
                    )
                })
                .collect();
            for w in keys.windows(2) {
                assert_ne!(
                    compare((&w[0].0, w[0].1), (&w[1].0, w[1].1)),
                    Ordering::Greater
                );
            }
            for _ in 0..20.min(keys.len() * keys.len()) {
                let (a, b, c) = (
                    &keys[rng.random_range(0..keys.len())],
                    &keys[rng.random_range(0..keys.len())],
                    &keys[rng.random_range(0..keys.len())],
                );
                let ab = compare((&a.0, a.1), (&b.0, b.1));
                assert_eq!(ab, compare((&b.0, b.1), (&a.0, a.1)).reverse());
                if ab != Ordering::Greater && compare((&b.0, b.1), (&c.0, c.1)) != Ordering::Greater
                {
                    assert_ne!(compare((&a.0, a.1), (&c.0, c.1)), Ordering::Greater);
                }
            }
        }
    }
}
