//! Believable images, built in-process and deterministically: the same [`ImageSpec`] always
//! gives the same bytes, so the same digest (scenarios and snapshots depend on that).
//!
//! An image is real OCI: gzip'd tar layers, a config with `created`, `os`, `architecture`,
//! `config.Labels` and `rootfs.diff_ids`, a manifest, and an index when several platforms
//! are asked for. Base layers depend only on their position and platform, so images share
//! them as real images share a base; the last layer carries the image's own identity.

use std::collections::BTreeMap;
use std::io::Write as _;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::digest;
use super::manifest::{OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST};
use crate::clock::Clock;

/// What to seed: see [`super::Registry::seed`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    pub created: Timestamp,
    /// Config labels: `org.opencontainers.image.{created,revision,version,source}`,
    /// `shipdeck.sandbox/fault`, …
    pub labels: BTreeMap<String, String>,
    /// How many small layer blobs (at least the image's own top layer when non-zero).
    pub layers: usize,
    /// `(os, architecture)` pairs; empty means one linux/amd64 image without an index.
    pub platforms: Vec<(String, String)>,
}

impl Default for ImageSpec {
    fn default() -> Self {
        ImageSpec {
            created: Clock::epoch(),
            labels: BTreeMap::new(),
            layers: 2,
            platforms: Vec::new(),
        }
    }
}

impl ImageSpec {
    pub fn new(created: Timestamp) -> Self {
        ImageSpec {
            created,
            ..ImageSpec::default()
        }
    }

    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    pub fn with_layers(mut self, layers: usize) -> Self {
        self.layers = layers;
        self
    }

    pub fn with_platform(mut self, os: &str, architecture: &str) -> Self {
        self.platforms
            .push((os.to_string(), architecture.to_string()));
        self
    }
}

/// Everything to store for one seeded image, children before parents (blobs, then image
/// manifests, then the index), so storing in order satisfies the reference checks.
pub struct BuiltImage {
    pub blobs: Vec<(String, Bytes)>,
    /// `(media type, body)`; the last one is what the tags point at.
    pub manifests: Vec<(&'static str, Bytes)>,
}

impl BuiltImage {
    pub fn top_digest(&self) -> String {
        self.manifests
            .last()
            .map(|(_, body)| digest::sha256(body))
            .unwrap_or_default()
    }
}

pub fn build(spec: &ImageSpec) -> BuiltImage {
    let mut built = BuiltImage {
        blobs: Vec::new(),
        manifests: Vec::new(),
    };
    if spec.platforms.is_empty() {
        let manifest = build_platform(spec, "linux", "amd64", &mut built.blobs);
        built.manifests.push((OCI_MANIFEST, manifest));
        return built;
    }
    let mut entries = Vec::new();
    for (os, architecture) in &spec.platforms {
        let manifest = build_platform(spec, os, architecture, &mut built.blobs);
        entries.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": digest::sha256(&manifest),
            "size": manifest.len(),
            "platform": {"architecture": architecture, "os": os},
        }));
        built.manifests.push((OCI_MANIFEST, manifest));
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    built.manifests.push((OCI_INDEX, to_bytes(&index)));
    built
}

/// Builds one platform's layers and config into `blobs`; returns its manifest.
fn build_platform(
    spec: &ImageSpec,
    os: &str,
    architecture: &str,
    blobs: &mut Vec<(String, Bytes)>,
) -> Bytes {
    let mtime = u64::try_from(spec.created.as_second()).unwrap_or(0);
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for i in 0..spec.layers {
        let (path, content) = if i + 1 < spec.layers {
            (
                format!("usr/share/sandbox/base-{i}.txt"),
                format!("shipdeck sandbox base layer {i} ({os}/{architecture})\n"),
            )
        } else {
            let identity = json!({"created": spec.created.to_string(), "labels": spec.labels});
            ("app/release.json".to_string(), format!("{identity}\n"))
        };
        let tar = tar_file(&path, content.as_bytes(), mtime);
        let layer = gzip(&tar);
        diff_ids.push(digest::sha256(&tar));
        history.push(json!({
            "created": spec.created.to_string(),
            "created_by": format!("COPY {path} /{path} # shipdeck sandbox seed"),
        }));
        layers.push(descriptor(OCI_LAYER_GZIP, &layer));
        blobs.push((digest::sha256(&layer), layer));
    }
    let config = to_bytes(&json!({
        "created": spec.created.to_string(),
        "architecture": architecture,
        "os": os,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["/app/server"],
            "Labels": spec.labels,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &config),
        "layers": layers,
    });
    blobs.push((digest::sha256(&config), config));
    to_bytes(&manifest)
}

fn descriptor(media_type: &str, content: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": digest::sha256(content), "size": content.len()})
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// A ustar archive holding one regular file (what a layer's diff is).
fn tar_file(path: &str, content: &[u8], mtime: u64) -> Vec<u8> {
    let mut header = [0u8; 512];
    let name = path.as_bytes();
    let name_len = name.len().min(100);
    header[..name_len].copy_from_slice(&name[..name_len]);
    write_octal(&mut header[100..108], 0o644);
    write_octal(&mut header[108..116], 0);
    write_octal(&mut header[116..124], 0);
    write_octal(&mut header[124..136], content.len() as u64);
    write_octal(&mut header[136..148], mtime);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field read as spaces.
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());

    let padded = content.len().div_ceil(512) * 512;
    let mut archive = Vec::with_capacity(512 + padded + 1024);
    archive.extend_from_slice(&header);
    archive.extend_from_slice(content);
    archive.resize(512 + padded + 1024, 0);
    archive
}

/// Writes `value` as zero-padded octal filling the field but its final NUL.
fn write_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

fn gzip(data: &[u8]) -> Bytes {
    // The gzip header carries no name and a zero mtime, so output is a function of input.
    let compress = || {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data)?;
        encoder.finish()
    };
    Bytes::from(compress().expect("gzip into memory cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::FAULT_LABEL;
    use crate::registry::manifest::{self, References};
    use std::io::Read as _;

    fn spec() -> ImageSpec {
        ImageSpec::default()
            .with_label("org.opencontainers.image.revision", "3f9c21a")
            .with_label(FAULT_LABEL, "crash")
            .with_layers(3)
    }

    #[test]
    fn the_same_spec_gives_the_same_digest() {
        assert_eq!(build(&spec()).top_digest(), build(&spec()).top_digest());
        let other = spec().with_label("org.opencontainers.image.revision", "a91be0c");
        assert_ne!(build(&spec()).top_digest(), build(&other).top_digest());
    }

    #[test]
    fn images_share_base_layers_but_not_their_top_layer() {
        let a = build(&spec());
        let b = build(&spec().with_label("org.opencontainers.image.version", "2"));
        assert_eq!(a.blobs[0], b.blobs[0]);
        assert_ne!(a.blobs[2], b.blobs[2]);
    }

    #[test]
    fn config_is_a_valid_oci_config_whose_diff_ids_match_the_layers() {
        let built = build(&spec());
        let (config_digest, config) = built.blobs.last().expect("config");
        let config: Value = serde_json::from_slice(config).expect("json");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["created"], Clock::epoch().to_string());
        assert_eq!(config["config"]["Labels"][FAULT_LABEL], "crash");
        let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
        assert_eq!(diff_ids.len(), 3);
        for ((_, layer), diff_id) in built.blobs.iter().zip(diff_ids) {
            let mut tar = Vec::new();
            flate2::read::GzDecoder::new(&layer[..])
                .read_to_end(&mut tar)
                .expect("gunzip");
            assert_eq!(diff_id, &json!(digest::sha256(&tar)));
            assert_eq!(&tar[257..262], b"ustar");
        }
        let (media_type, body) = &built.manifests[0];
        let parsed = manifest::parse(Some(media_type), body).expect("valid manifest");
        let References::Blobs(refs) = parsed.references else {
            panic!("an image manifest references blobs");
        };
        assert_eq!(refs[0], *config_digest);
    }

    #[test]
    fn platforms_make_an_index() {
        let built = build(
            &spec()
                .with_platform("linux", "amd64")
                .with_platform("linux", "arm64"),
        );
        assert_eq!(built.manifests.len(), 3);
        let (media_type, index) = built.manifests.last().expect("index");
        assert_eq!(*media_type, OCI_INDEX);
        let index: Value = serde_json::from_slice(index).expect("json");
        assert_eq!(index["manifests"][1]["platform"]["architecture"], "arm64");
        assert_eq!(
            index["manifests"][0]["digest"],
            json!(digest::sha256(&built.manifests[0].1))
        );
    }

    #[test]
    fn a_header_checksum_is_what_tar_readers_expect() {
        let tar = tar_file("a.txt", b"hi", 0);
        let stored = std::str::from_utf8(&tar[148..154]).expect("octal");
        let mut header = tar[..512].to_vec();
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(u32::from_str_radix(stored, 8).expect("octal"), sum);
        assert_eq!(tar.len(), 512 + 512 + 1024);
    }
}
