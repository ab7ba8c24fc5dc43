//! Image references (`127.0.0.1:5000/dev/orders:v1.4.2`, `…@sha256:…`) split into the parts
//! the registry API needs. Parsing is oci-client's (`oci_spec` grammar, Docker Hub defaults).

use std::fmt;

use oci_client::Reference;

use super::error::RegistryError;

/// One image in one registry: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Host and optional port as written (`127.0.0.1:5000`, `docker.io`).
    pub registry: String,
    /// Path inside the registry (`dev/orders`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference as Kubernetes and docker write them; a bare `orders` means Docker Hub.
    pub fn parse(input: &str) -> Result<ImageRef, RegistryError> {
        let parsed: Reference = input.trim().parse().map_err(|e: oci_client::ParseError| {
            RegistryError::InvalidReference {
                input: input.to_string(),
                message: e.to_string(),
            }
        })?;
        // oci_spec fills in `latest` when neither tag nor digest was written; keep that, it is
        // what a container runtime pulls.
        Ok(ImageRef {
            registry: parsed.registry().to_string(),
            repository: parsed.repository().to_string(),
            tag: parsed.tag().map(str::to_string),
            digest: parsed.digest().map(str::to_string),
        })
    }

    /// The image `tag` of `repository` under an environment's registry prefix
    /// (`127.0.0.1:5000/dev` + `orders` + `v1.5.0`).
    pub fn in_env(prefix: &str, repository: &str, tag: &str) -> Result<ImageRef, RegistryError> {
        let prefix = prefix.trim().trim_end_matches('/');
        ImageRef::parse(&format!("{prefix}/{repository}:{tag}"))
    }

    /// The same repository, another tag.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository, pinned to a digest.
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            tag: None,
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// What goes after `/manifests/`: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository`, the name used in messages and events.
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The host that serves the API for a registry name (Docker Hub's name is not its API host).
pub(crate) fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// The key docker uses for a registry in `config.json` and with credential helpers.
pub(crate) fn credential_key(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "https://index.docker.io/v1/",
        other => other,
    }
}

/// Loopback registries speak plain HTTP by default, as docker treats them.
pub(crate) fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.split(':').next().unwrap_or(registry),
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_references() -> Result<(), RegistryError> {
        let r = ImageRef::parse("127.0.0.1:5000/dev/orders:v1.4.2")?;
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "dev/orders");
        assert_eq!(r.tag.as_deref(), Some("v1.4.2"));
        assert_eq!(r.reference(), "v1.4.2");
        assert_eq!(r.to_string(), "127.0.0.1:5000/dev/orders:v1.4.2");

        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/prod/orders@{d}"))?;
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.reference(), d);

        let r = ImageRef::in_env("127.0.0.1:5000/prod/", "orders", "v1.5.0")?;
        assert_eq!(r.repo_name(), "127.0.0.1:5000/prod/orders");

        let r = ImageRef::parse("nginx")?;
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        assert_eq!(api_host(&r.registry), "registry-1.docker.io");
        Ok(())
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in ["", "orders/UPPER", "a:b:c:d", "x@sha256:short", ":::"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
