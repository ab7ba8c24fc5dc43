//! Repository names, tags and image references, by the grammar of the distribution spec and
//! of docker/distribution's `reference` package (what a kubelet accepts in `image:`).

use super::digest;

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
pub fn valid_repository_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_path_component)
}

fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    // Separator runs between alphanumeric runs: `.`, `_`, `__` or any number of `-`.
    component
        .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .all(|run| matches!(run, "." | "_" | "__") || run.bytes().all(|b| b == b'-'))
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    bytes.len() <= 128
        && bytes.first().is_some_and(word)
        && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

/// A parsed image reference, e.g. `127.0.0.1:5000/dev/orders:v1.2.0` or `nginx@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]`; `docker.io` when the reference names no registry.
    pub host: String,
    /// The path inside the registry (`dev/orders`; `library/nginx` for Docker Hub shorthands).
    pub repository: String,
    /// `None` when only a digest was given.
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Parses like a container runtime: a first path component with `.` or `:` (or
    /// `localhost`) is a registry host, otherwise Docker Hub is meant; no tag and no digest
    /// means `:latest`. Errors carry the kubelet's wording.
    pub fn parse(image: &str) -> Result<ImageRef, String> {
        let invalid = |why: &str| {
            if why.is_empty() {
                "invalid reference format".to_string()
            } else {
                format!("invalid reference format: {why}")
            }
        };
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => {
                digest::parse(digest).map_err(|_| invalid("invalid digest"))?;
                (rest, Some(digest.to_string()))
            }
            None => (image, None),
        };
        // A `:` after the last `/` starts the tag; one before it belongs to a host:port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(tag) = &tag
            && !valid_tag(tag)
        {
            return Err(invalid(""));
        }
        let (host, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ if name.contains('/') => ("docker.io".to_string(), name.to_string()),
            _ => ("docker.io".to_string(), format!("library/{name}")),
        };
        if host.is_empty() || repository.is_empty() {
            return Err(invalid(""));
        }
        if !valid_repository_name(&repository) {
            let lowered = repository.to_ascii_lowercase();
            return Err(
                if lowered != repository && valid_repository_name(&lowered) {
                    invalid("repository name must be lowercase")
                } else {
                    invalid("")
                },
            );
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(ImageRef {
            host,
            repository,
            tag,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn repository_names_follow_the_spec_grammar() {
        for good in [
            "orders",
            "dev/orders",
            "a/b/c",
            "my-app",
            "my__app",
            "a.b",
            "a---b",
        ] {
            assert!(valid_repository_name(good), "{good}");
        }
        for bad in [
            "",
            "Dev/orders",
            "dev//orders",
            "-a",
            "a-",
            "a..b",
            "a___b",
            "/a",
            "a/",
        ] {
            assert!(!valid_repository_name(bad), "{bad}");
        }
        assert!(!valid_repository_name(&"a".repeat(256)));
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        for good in ["v1.2.0", "latest", "_x", "V1-rc.1"] {
            assert!(valid_tag(good), "{good}");
        }
        for bad in ["", ".v1", "-v1", "v1:2", "a/b", &"a".repeat(129)] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn parses_host_port_repository_and_tag() {
        let r = ImageRef::parse("127.0.0.1:5000/dev/orders:v1.2.0").expect("valid");
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.repository, "dev/orders");
        assert_eq!(r.tag.as_deref(), Some("v1.2.0"));
        assert_eq!(r.reference(), "v1.2.0");
    }

    #[test]
    fn defaults_tag_and_docker_hub() {
        let r = ImageRef::parse("127.0.0.1:5000/dev/orders").expect("valid");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = ImageRef::parse("nginx").expect("valid");
        assert_eq!(
            (r.host.as_str(), r.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        let r = ImageRef::parse("bitnami/redis:7").expect("valid");
        assert_eq!(
            (r.host.as_str(), r.repository.as_str()),
            ("docker.io", "bitnami/redis")
        );
        let r = ImageRef::parse("localhost/x").expect("valid");
        assert_eq!(r.host, "localhost");
    }

    #[test]
    fn parses_digests_with_and_without_tag() {
        let r = ImageRef::parse(&format!("127.0.0.1:5000/dev/orders@{D}")).expect("valid");
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(D)));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/dev/orders:v1@{D}")).expect("valid");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.reference(), D);
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/Dev/Orders:v1").expect_err("uppercase"),
            "invalid reference format: repository name must be lowercase"
        );
        for bad in [
            "",
            ":v1",
            "dev/orders:",
            "dev/orders@sha256:abc",
            "a//b",
            "x:v1:v2",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
