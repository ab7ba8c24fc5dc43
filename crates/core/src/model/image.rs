//! Image references as written in pod specs and reported in pod statuses.

/// `registry[:port]/path/name[:tag][@sha256:...]`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag and digest: `127.0.0.1:5000/prod/orders`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(image: &str) -> ImageRef {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_string())),
            None => (image, None),
        };
        // A ':' after the last '/' is a tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (
                &name[..last_slash + i],
                Some(name[last_slash + i + 1..].to_string()),
            ),
            None => (name, None),
        };
        ImageRef {
            repository: repository.to_string(),
            tag,
            digest,
        }
    }

    /// What the console shows for a running image: the tag, else the short digest.
    pub fn display_tag(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => tag.clone(),
            (None, Some(digest)) => short_digest(digest),
            (None, None) => "latest".into(),
        }
    }
}

/// The digest inside a container status `imageID` (`docker-pullable://repo@sha256:...`,
/// `repo@sha256:...` or a bare `sha256:...`).
pub fn digest_of_image_id(image_id: &str) -> Option<&str> {
    let at = image_id.rfind("sha256:")?;
    let digest = &image_id[at..];
    (digest.len() > "sha256:".len()).then_some(digest)
}

/// `sha256:3f9c21a`: the algorithm and 7 hex digits, like `docker images` abbreviates.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", &hex[..hex.len().min(7)]),
        None => digest[..digest.len().min(7)].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_port_tag_and_digest() {
        let r = ImageRef::parse("127.0.0.1:5000/prod/orders:v1.5.0@sha256:abc");
        assert_eq!(r.repository, "127.0.0.1:5000/prod/orders");
        assert_eq!(r.tag.as_deref(), Some("v1.5.0"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = ImageRef::parse("127.0.0.1:5000/orders");
        assert_eq!(r.repository, "127.0.0.1:5000/orders");
        assert_eq!(r.tag, None);
        assert_eq!(r.display_tag(), "latest");
    }

    #[test]
    fn shortens_digests() {
        assert_eq!(short_digest("sha256:3f9c21a0b1c2"), "sha256:3f9c21a");
        assert_eq!(
            digest_of_image_id("docker-pullable://r/o@sha256:3f9c21a0"),
            Some("sha256:3f9c21a0")
        );
        assert_eq!(digest_of_image_id("r/o:v1"), None);
    }
}
