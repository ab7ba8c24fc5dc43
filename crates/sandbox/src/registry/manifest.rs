//! Manifest formats the registry accepts, and what a pushed manifest must reference.

use serde_json::Value;

use super::digest;
use super::error::OciError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The spec asks registries to accept manifests of at least 4 MiB; larger ones are refused.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// What a manifest points at, which must already be in the repository when it is pushed.
#[derive(Debug, Clone, PartialEq)]
pub enum References {
    /// An image manifest: its config and layer blobs.
    Blobs(Vec<String>),
    /// An index or manifest list: its child manifests.
    Manifests(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedManifest {
    pub media_type: &'static str,
    pub references: References,
}

fn known(media_type: &str) -> Option<&'static str> {
    [
        OCI_MANIFEST,
        OCI_INDEX,
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
    ]
    .into_iter()
    .find(|known| *known == media_type)
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Parses a pushed manifest. The media type comes from `Content-Type` when it names a manifest
/// format, else from the body's `mediaType`, else (OCI allows omitting it) from the shape.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, OciError> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(OciError::manifest_invalid("manifest exceeds 4 MiB")
            .with_status(http::StatusCode::PAYLOAD_TOO_LARGE));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| OciError::manifest_invalid(format!("manifest is not valid JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| OciError::manifest_invalid("manifest is not a JSON object"))?;
    if object.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(OciError::manifest_invalid("schemaVersion must be 2"));
    }
    let declared = object.get("mediaType").and_then(Value::as_str);
    let header = content_type
        .map(|ct| ct.split(';').next().unwrap_or_default().trim())
        .and_then(known);
    let media_type = match (header, declared) {
        (Some(header), Some(declared)) if header != declared => {
            return Err(OciError::manifest_invalid(format!(
                "mediaType {declared:?} does not match Content-Type {header:?}"
            )));
        }
        (Some(header), _) => header,
        (None, Some(declared)) => known(declared).ok_or_else(|| {
            OciError::manifest_invalid(format!("unsupported manifest media type {declared:?}"))
        })?,
        (None, None) if object.contains_key("manifests") => OCI_INDEX,
        (None, None) if object.contains_key("config") => OCI_MANIFEST,
        (None, None) => {
            return Err(OciError::manifest_invalid(
                "cannot tell the manifest's media type",
            ));
        }
    };
    let references = if is_index(media_type) {
        let manifests = object
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| OciError::manifest_invalid("an index needs a manifests array"))?;
        References::Manifests(
            manifests
                .iter()
                .map(descriptor_digest)
                .collect::<Result<_, _>>()?,
        )
    } else {
        let config = object
            .get("config")
            .ok_or_else(|| OciError::manifest_invalid("an image manifest needs a config"))?;
        let layers = match object.get("layers") {
            None => &Vec::new(),
            Some(layers) => layers
                .as_array()
                .ok_or_else(|| OciError::manifest_invalid("layers must be an array"))?,
        };
        let mut blobs = vec![descriptor_digest(config)?];
        for layer in layers {
            let digest = descriptor_digest(layer)?;
            // Foreign (non-distributable) layers live at their `urls`, not in this registry.
            if layer.get("urls").is_none() {
                blobs.push(digest);
            }
        }
        References::Blobs(blobs)
    };
    Ok(ParsedManifest {
        media_type,
        references,
    })
}

fn descriptor_digest(descriptor: &Value) -> Result<String, OciError> {
    let digest = descriptor
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| OciError::manifest_invalid("a descriptor has no digest"))?;
    digest::parse(digest).map_err(|e| OciError::manifest_invalid(e.message))?;
    Ok(digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(n: u8) -> String {
        digest::sha256(&[n])
    }

    fn image(media_type: Option<&str>) -> Vec<u8> {
        let mut manifest = json!({
            "schemaVersion": 2,
            "config": {"mediaType": OCI_CONFIG, "digest": d(0), "size": 1},
            "layers": [
                {"mediaType": OCI_LAYER_GZIP, "digest": d(1), "size": 1},
                {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                 "digest": d(2), "size": 1, "urls": ["https://example.com/l"]}
            ]
        });
        if let Some(media_type) = media_type {
            manifest["mediaType"] = json!(media_type);
        }
        serde_json::to_vec(&manifest).expect("json")
    }

    #[test]
    fn image_manifests_reference_config_and_layers_but_not_foreign_layers() {
        let parsed = parse(Some(OCI_MANIFEST), &image(Some(OCI_MANIFEST))).expect("valid");
        assert_eq!(parsed.media_type, OCI_MANIFEST);
        assert_eq!(parsed.references, References::Blobs(vec![d(0), d(1)]));
    }

    #[test]
    fn media_type_from_header_body_or_shape() {
        let docker = image(Some(DOCKER_MANIFEST));
        assert_eq!(
            parse(None, &docker).expect("body").media_type,
            DOCKER_MANIFEST
        );
        let bare = image(None);
        assert_eq!(
            parse(Some("application/json"), &bare)
                .expect("shape")
                .media_type,
            OCI_MANIFEST
        );
        let with_params = format!("{OCI_MANIFEST}; charset=utf-8");
        assert_eq!(
            parse(Some(&with_params), &bare).expect("header").media_type,
            OCI_MANIFEST
        );
        let err = parse(Some(OCI_MANIFEST), &docker).expect_err("mismatch");
        assert_eq!(err.code, "MANIFEST_INVALID");
    }

    #[test]
    fn indexes_reference_manifests() {
        let index = json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": d(3), "size": 1}]});
        let parsed = parse(None, &serde_json::to_vec(&index).expect("json")).expect("valid");
        assert_eq!(parsed.references, References::Manifests(vec![d(3)]));
    }

    #[test]
    fn rejects_invalid_manifests() {
        for body in [
            &b"{not json"[..],
            b"[]",
            br#"{"schemaVersion":1}"#,
            br#"{"schemaVersion":2}"#,
            br#"{"schemaVersion":2,"config":{"digest":"sha256:nope"}}"#,
        ] {
            let err = parse(None, body).expect_err("invalid");
            assert_eq!(
                err.code,
                "MANIFEST_INVALID",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
