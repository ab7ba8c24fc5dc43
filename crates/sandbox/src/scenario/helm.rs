//! Helm release history, stored exactly as Helm 3 stores it: one Secret per revision named
//! `sh.helm.release.v1.<release>.v<revision>`, type `helm.sh/release.v1`, whose `release`
//! field is base64(gzip(release JSON)) — and, being Secret data, base64 again on the wire.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

pub struct HelmRevision<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub revision: u32,
    /// `deployed`, `superseded`, `failed`, …
    pub status: &'a str,
    pub chart: &'a str,
    pub chart_version: &'a str,
    pub app_version: &'a str,
    pub first_deployed: &'a str,
    pub last_deployed: &'a str,
    pub description: &'a str,
    pub image: &'a str,
}

/// The release record (`pkg/release/release.go`).
pub fn release_json(r: &HelmRevision) -> Value {
    let manifest = format!(
        "---\n# Source: {chart}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    helm.sh/chart: {chart}-{cv}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n          image: \"{image}\"\n",
        chart = r.chart,
        name = r.release,
        cv = r.chart_version,
        image = r.image
    );
    json!({
        "name": r.release,
        "info": {
            "first_deployed": r.first_deployed,
            "last_deployed": r.last_deployed,
            "deleted": "",
            "description": r.description,
            "status": r.status,
            "notes": format!("{} is available at http://{}.{}.svc", r.release, r.release, r.namespace)
        },
        "chart": {
            "metadata": {
                "name": r.chart,
                "version": r.chart_version,
                "description": format!("A Helm chart for the {} service", r.chart),
                "apiVersion": "v2",
                "appVersion": r.app_version,
                "type": "application"
            },
            "lock": null,
            "templates": [],
            "values": {"replicaCount": 1, "image": {"tag": r.app_version}},
            "schema": null,
            "files": []
        },
        "config": {"image": {"tag": format!("v{}", r.app_version)}},
        "manifest": manifest,
        "version": r.revision,
        "namespace": r.namespace
    })
}

/// The Secret as the API stores it (its `data` values are base64, like any Secret).
pub fn release_secret(r: &HelmRevision) -> Value {
    let payload = serde_json::to_vec(&release_json(r)).unwrap_or_default();
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(&payload);
    let gzipped = gz.finish().unwrap_or_default();
    let helm_encoded = STANDARD.encode(gzipped);
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": format!("sh.helm.release.v1.{}.v{}", r.release, r.revision),
            "labels": {
                "name": r.release,
                "owner": "helm",
                "status": r.status,
                "version": r.revision.to_string()
            }
        },
        "type": "helm.sh/release.v1",
        "data": {"release": STANDARD.encode(helm_encoded)}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn decodes_like_helm() {
        let r = HelmRevision {
            release: "catalog",
            namespace: "shop",
            revision: 3,
            status: "deployed",
            chart: "catalog",
            chart_version: "1.5.0",
            app_version: "5.1.1",
            first_deployed: "2026-11-01T10:00:00Z",
            last_deployed: "2026-11-10T10:00:00Z",
            description: "Upgrade complete",
            image: "registry/dev/catalog:v5.1.1",
        };
        let secret = release_secret(&r);
        assert_eq!(secret["metadata"]["name"], "sh.helm.release.v1.catalog.v3");
        let wire = secret["data"]["release"].as_str().expect("data");
        let once = STANDARD.decode(wire).expect("secret base64");
        let twice = STANDARD.decode(once).expect("helm base64");
        assert_eq!(
            &twice[..3],
            &[0x1f, 0x8b, 0x08],
            "gzip magic, as Helm checks"
        );
        let mut json = String::new();
        flate2::read::GzDecoder::new(&twice[..])
            .read_to_string(&mut json)
            .expect("gunzip");
        let release: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(release["version"], 3);
        assert_eq!(release["chart"]["metadata"]["appVersion"], "5.1.1");
        assert_eq!(release["info"]["status"], "deployed");
    }
}
