//! Builds in the sandbox: a build Job's pod "pushes" the image its Job names to the embedded
//! registry when it completes, so the new tag appears in the tags pane like a CI build's.
//!
//! The Job says what it builds with annotations (shipdeck's build planner sets them on every
//! Job it creates; a real cluster ignores them and runs the template's builder):
//! `shipdeck.io/build-image` (`HOST/REPO:TAG`) and optionally `shipdeck.io/build-commit`.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use super::controllers::JobHook;
use super::registry::{ImageSpec, Registry};

pub const BUILD_IMAGE: &str = "shipdeck.io/build-image";
pub const BUILD_COMMIT: &str = "shipdeck.io/build-commit";

/// The hook to register with `Controllers::on_job_complete` for a registry served at `host`.
pub fn build_hook(registry: Arc<Registry>, host: String) -> JobHook {
    Box::new(move |job: &Value| {
        let annotations = &job["metadata"]["annotations"];
        let Some(image) = annotations[BUILD_IMAGE].as_str() else {
            return Vec::new();
        };
        let Some(path) = image.strip_prefix(&format!("{host}/")) else {
            return vec![format!(
                "build: {image} is not in the sandbox registry {host}; nothing pushed"
            )];
        };
        let Some((repo, tag)) = path.rsplit_once(':') else {
            return vec![format!("build: {image} has no tag; nothing pushed")];
        };
        let created = job["status"]["startTime"]
            .as_str()
            .or(job["metadata"]["creationTimestamp"].as_str())
            .and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or_else(super::clock::Clock::epoch);
        let mut spec = ImageSpec::new(created);
        spec.labels
            .insert("org.opencontainers.image.version".into(), tag.into());
        if let Some(commit) = annotations[BUILD_COMMIT].as_str() {
            spec.labels
                .insert("org.opencontainers.image.revision".into(), commit.into());
        }
        let digest = registry.seed(repo, &[tag], &spec);
        vec![format!("pushed {image}@{digest}")]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pushes_the_annotated_image() {
        let registry = Registry::new();
        let hook = build_hook(registry.clone(), "127.0.0.1:5000".into());
        let job = json!({"metadata": {"annotations": {
            BUILD_IMAGE: "127.0.0.1:5000/dev/orders:3f9c21a",
            BUILD_COMMIT: "3f9c21a0b1",
        }}});
        let lines = hook(&job);
        assert!(
            lines[0].starts_with("pushed 127.0.0.1:5000/dev/orders:3f9c21a@sha256:"),
            "{lines:?}"
        );
        assert_eq!(registry.tags("dev/orders"), vec!["3f9c21a"]);
        assert!(
            hook(&json!({"metadata": {}})).is_empty(),
            "other Jobs push nothing"
        );
    }
}
