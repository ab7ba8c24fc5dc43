//! Builds in the demo: each service gets a small git repository (its "source") and a build
//! Job template, so `b` in the console (or `shipdeck build`) runs a build Job in dev whose
//! completion pushes `<commit>` as a new tag to the sandbox registry.

use std::path::Path;
use std::process::Command;

use shipdeck_shared::config::{BuildConfig, BuildRunner, Config};

/// The build Job every demo service uses; `{…}` are filled in by the build planner.
pub const JOB_TEMPLATE: &str = "apiVersion: batch/v1
kind: Job
metadata:
  labels:
    app: {service}-build
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: build
        image: {registry}/builder:v1
        args: [\"--destination={registry}/{repository}:{tag}\", \"--commit={commit}\"]
";

/// The builder image the template runs (seeded into the dev registry).
pub const BUILDER_REPO: &str = "dev/builder";

/// Writes the job template and one git repository per service under `dir`, and points each
/// service's `[service.build]` at them. Without git, builds stay unconfigured (and say so in
/// the log) rather than failing the sandbox.
pub fn write(dir: &Path, config: &mut Config) {
    if let Err(e) = std::fs::write(dir.join("build-job.yaml"), JOB_TEMPLATE) {
        tracing::warn!(error = %e, "cannot write the build job template; builds disabled");
        return;
    }
    for service in &mut config.services {
        let src = Path::new("src").join(&service.name);
        match init_repo(&dir.join(&src), &service.name) {
            Ok(()) => {
                service.build = Some(BuildConfig {
                    runner: BuildRunner::Job,
                    command: None,
                    workdir: Some(src),
                    job_template: Some("build-job.yaml".into()),
                    env: Some("dev".into()),
                });
            }
            Err(e) => {
                tracing::warn!(service = %service.name, error = %e, "no source repository; builds disabled");
            }
        }
    }
}

fn init_repo(dir: &Path, service: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("README.md"),
        format!("# {service}\n\nSource of the demo shop's {service} service.\n"),
    )?;
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &["commit", "-qm", "demo: next release"],
    ] {
        // Fixed identity and dates: the same demo gives the same commit.
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "shipdeck demo")
            .env("GIT_AUTHOR_EMAIL", "demo@shipdeck.invalid")
            .env("GIT_COMMITTER_NAME", "shipdeck demo")
            .env("GIT_COMMITTER_EMAIL", "demo@shipdeck.invalid")
            .env("GIT_AUTHOR_DATE", "2026-11-01T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-01T12:00:00Z")
            .output()?;
        if !status.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&status.stderr).trim().to_string(),
            ));
        }
    }
    Ok(())
}
