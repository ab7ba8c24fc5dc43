//! Helm release history from `sh.helm.release.v1.<release>.v<N>` Secrets.
//!
//! `data.release` is base64 (Helm's own encoding, on top of the Secret's) of gzip of the
//! release JSON. k8s-openapi has already undone the Secret's base64, so one more decode is
//! ours; gunzip only when the gzip magic is there, like Helm's reader.

use std::io::Read;

use base64::Engine;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;

use super::{annotation, label};
use crate::model::service::ServiceSpec;
use crate::model::snapshot::EnvSnapshot;

#[derive(Debug, Clone, PartialEq)]
pub struct HelmRevision {
    pub release: String,
    pub revision: i64,
    pub status: String,
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    pub description: String,
    pub updated: Option<Timestamp>,
}

#[derive(Deserialize)]
struct ReleaseJson {
    name: String,
    version: i64,
    #[serde(default)]
    info: InfoJson,
    #[serde(default)]
    chart: ChartJson,
}

#[derive(Deserialize, Default)]
struct InfoJson {
    #[serde(default)]
    status: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    last_deployed: Option<String>,
}

#[derive(Deserialize, Default)]
struct ChartJson {
    #[serde(default)]
    metadata: ChartMetadata,
}

#[derive(Deserialize, Default)]
struct ChartMetadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "appVersion")]
    app_version: String,
}

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

pub fn decode_release(secret: &Secret) -> Result<HelmRevision, String> {
    let secret_name = secret.metadata.name.as_deref().unwrap_or("?");
    let payload = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| format!("secret {secret_name} has no data.release"))?;
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(&payload.0)
        .map_err(|e| format!("secret {secret_name}: data.release is not base64: {e}"))?;
    let json = if compressed.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("secret {secret_name}: data.release is not valid gzip: {e}"))?;
        out
    } else {
        compressed
    };
    let release: ReleaseJson = serde_json::from_slice(&json)
        .map_err(|e| format!("secret {secret_name}: release JSON: {e}"))?;
    Ok(HelmRevision {
        release: release.name,
        revision: release.version,
        status: release.info.status,
        chart: release.chart.metadata.name,
        chart_version: release.chart.metadata.version,
        app_version: release.chart.metadata.app_version,
        description: release.info.description,
        updated: release
            .info
            .last_deployed
            .and_then(|t| t.parse::<Timestamp>().ok()),
    })
}

/// The Helm release that manages `deployment`: configured, else Helm's ownership annotation,
/// else the `app.kubernetes.io/instance` label of a Helm-managed object.
pub fn release_name(spec: &ServiceSpec, deployment: &Deployment) -> Option<String> {
    if let Some(name) = &spec.config.helm_release {
        return Some(name.clone());
    }
    let meta = &deployment.metadata;
    if let Some(name) = annotation(meta, "meta.helm.sh/release-name") {
        return Some(name.to_string());
    }
    (label(meta, "app.kubernetes.io/managed-by") == Some("Helm"))
        .then(|| label(meta, "app.kubernetes.io/instance").map(str::to_string))
        .flatten()
}

/// Revisions of `release`, newest first; a Secret that does not decode is skipped (its error
/// is returned alongside so the pane can say so).
pub fn helm_revisions(env: &EnvSnapshot, release: &str) -> (Vec<HelmRevision>, Vec<String>) {
    let prefix = format!("sh.helm.release.v1.{release}.v");
    let mut revisions = Vec::new();
    let mut errors = Vec::new();
    for (name, secret) in &env.helm_releases {
        let labelled = label(&secret.metadata, "name") == Some(release);
        if !labelled && !name.starts_with(&prefix) {
            continue;
        }
        match decode_release(secret) {
            Ok(revision) => revisions.push(revision),
            Err(error) => errors.push(error),
        }
    }
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    (revisions, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn uncompressed_payloads_are_read_too() {
        let json = r#"{"name":"web","version":2,"info":{"status":"failed","description":"Upgrade failed"},"chart":{"metadata":{"name":"web","version":"1.2.0","appVersion":"2.0"}}}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        let secret = Secret {
            data: Some([("release".to_string(), ByteString(encoded.into_bytes()))].into()),
            ..Default::default()
        };
        let revision = decode_release(&secret).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((revision.revision, revision.status.as_str()), (2, "failed"));
        let broken = Secret::default();
        assert_eq!(
            decode_release(&broken).err().as_deref(),
            Some("secret ? has no data.release")
        );
    }
}
