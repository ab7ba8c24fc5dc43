//! Builds end to end: a local command (templated, run in the service's git checkout, output
//! streamed) that pushes to the sandbox registry, and a Kubernetes Job whose completion
//! pushes the image and whose log is followed. The new tag then deploys.

use crate::release_common;

use std::path::Path;
use std::time::Duration;

use release_common::Sandbox;
use shipdeck::config::{BuildConfig, BuildRunner};
use shipdeck::registry::{ClientOptions, Registries};
use shipdeck::release::registry::RegistryOps;
use shipdeck::sandbox::builds::build_hook;
use shipdeck::sandbox::registry::ImageSpec;

/// Pushes a one-layer image with curl: `push.sh REGISTRY_PREFIX REPOSITORY TAG COMMIT`.
const PUSH_SH: &str = r#"set -eu
REG=$1; host=${REG%%/*}; api=http://$host/v2/${REG#*/}/$2
sum() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
push() {
  loc=$(curl -fsS -o /dev/null -D - -X POST "$api/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $loc in http*) ;; *) loc=http://$host$loc ;; esac
  case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
  printf %s "$1" | curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @- "$loc${sep}digest=sha256:$2" >/dev/null
}
layer="built from $4"; ld=$(sum "$layer"); push "$layer" "$ld"
echo "layer sha256:$ld"
cfg='{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:'$ld'"]}}'
cd=$(sum "$cfg"); push "$cfg" "$cd"
man='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'$cd'","size":'${#cfg}'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'$ld'","size":'${#layer}'}]}'
printf %s "$man" | curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @- "$api/manifests/$3"
echo "pushed $REG/$2:$3"
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn digest(image: &str) -> Option<String> {
    Registries::new(ClientOptions::default())
        .digest(image)
        .await
        .expect("registry answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_build_pushes_a_commit_tag_that_then_deploys() {
    let sb = Sandbox::start().await;
    let src = sb.dir.path().join("gateway-src");
    std::fs::create_dir_all(&src).expect("source dir");
    std::fs::write(src.join("push.sh"), PUSH_SH).expect("script");
    git(&src, &["init", "-q"]);
    git(&src, &["add", "."]);
    git(&src, &["commit", "-qm", "gateway change"]);
    let commit = git(&src, &["rev-parse", "HEAD"]);
    let tag = &commit[..7];
    sb.edit_config(|c| {
        let gateway = c
            .services
            .iter_mut()
            .find(|s| s.name == "gateway")
            .expect("gateway");
        gateway.build = Some(BuildConfig {
            runner: BuildRunner::Command,
            command: Some("sh push.sh {registry} {repository} {tag} {commit}".into()),
            workdir: Some(src.clone()),
            job_template: None,
            env: Some("dev".into()),
        });
    });

    let run = sb.shipdeck(&["build", "gateway"]).await;
    run.ok();
    assert!(
        run.stdout.contains(&format!("Build gateway {tag} (dev)")),
        "{}",
        run.stdout
    );
    let image = format!("{}/dev/gateway:{tag}", sb.world.registry_host);
    assert!(
        run.stderr.contains(&format!("pushed {image}")),
        "the command's output is streamed:\n{}",
        run.stderr
    );
    assert!(digest(&image).await.is_some(), "{image} is in the registry");

    let run = sb
        .shipdeck_advancing(
            &["deploy", "gateway", tag, "--env", "dev", "--yes", "--wait"],
            Duration::from_secs(5),
        )
        .await;
    run.ok();
    assert!(
        run.stdout.contains(&format!("{image} is sha256:")),
        "the plan shows the digest:\n{}",
        run.stdout
    );
    let running = sb
        .kubectl(
            "dev",
            &[
                "get",
                "deployment",
                "gateway",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        )
        .await;
    assert_eq!(running, image);
    sb.world.shutdown().await;
}

/// A sandbox whose gateway builds with a Job (the build hook pushes what the Job names).
async fn job_build_sandbox(workdir: Option<std::path::PathBuf>) -> Sandbox {
    let sb = Sandbox::start().await;
    sb.world.env("dev").controllers.on_job_complete(build_hook(
        sb.world.registry.clone(),
        sb.world.registry_host.clone(),
    ));
    // The builder image the Job runs (what kaniko or buildkit would be in a real cluster).
    sb.world
        .registry
        .seed("dev/builder", &["v1"], &ImageSpec::default());
    let template = sb.config_path.with_file_name("build-job.yaml");
    std::fs::write(
        &template,
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  labels:\n    app: {service}-build\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: build\n        image: {registry}/builder:v1\n        args: [\"--destination={registry}/{repository}:{tag}\", \"--commit={commit}\"]\n",
    )
    .expect("job template");
    sb.edit_config(|c| {
        let gateway = c
            .services
            .iter_mut()
            .find(|s| s.name == "gateway")
            .expect("gateway");
        gateway.build = Some(BuildConfig {
            runner: BuildRunner::Job,
            command: None,
            workdir,
            job_template: Some("build-job.yaml".into()),
            env: Some("dev".into()),
        });
    });
    sb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_build_streams_its_log_and_pushes_the_image() {
    let sb = job_build_sandbox(None).await;
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let run = sb
        .shipdeck_advancing(
            &["build", "gateway", "--commit", commit, "--wait"],
            Duration::from_secs(2),
        )
        .await;
    run.ok();
    let image = format!("{}/dev/gateway:0123456", sb.world.registry_host);
    assert!(
        run.stderr.contains("job finished successfully"),
        "the pod's log is streamed:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("pushed {image}@sha256:")),
        "{}",
        run.stderr
    );
    assert!(digest(&image).await.is_some());
    let succeeded = sb
        .kubectl(
            "dev",
            &[
                "get",
                "job",
                "gateway-build-0123456",
                "-o",
                "jsonpath={.status.succeeded}",
            ],
        )
        .await;
    assert_eq!(succeeded, "1");
    sb.world.shutdown().await;
}

/// The console's build key: the runner follows the Job (its pod's log is the progress), says
/// "built" only once the Job completed, then asks for the tags again so the image shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_build_is_done_when_its_job_is() {
    use shipdeck::runner::Runner;
    use shipdeck::tui::{Action, AppEvent, Command, ReleaseRequest};

    let src = tempfile::tempdir().expect("source dir");
    std::fs::write(src.path().join("main.go"), "package main\n").expect("source");
    git(src.path(), &["init", "-q"]);
    git(src.path(), &["add", "."]);
    git(src.path(), &["commit", "-qm", "gateway change"]);
    let commit = git(src.path(), &["rev-parse", "HEAD"]);
    let sb = job_build_sandbox(Some(src.path().to_path_buf())).await;

    let (events_tx, mut events) = tokio::sync::mpsc::channel(1024);
    let (commands, commands_rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = tokio::spawn(Runner::new(sb.context().await, events_tx).run(commands_rx));
    commands
        .send(Command::Release(ReleaseRequest {
            id: 1,
            action: Action::Build,
            service: "gateway".into(),
            env: "dev".into(),
            tag: None,
            revision: None,
            weight: None,
            target_env: None,
            approval: None,
        }))
        .expect("runner listens");

    let mut messages = Vec::new();
    let mut finished = None;
    let mut tags_refreshed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while finished.is_none() || !tags_refreshed {
        tokio::select! {
            event = events.recv() => match event.expect("runner alive") {
                AppEvent::Confirm(ask) => {
                    assert!(ask.title.contains("Build gateway"), "{}", ask.title);
                    commands.send(Command::Confirmed { id: ask.id }).expect("runner listens");
                }
                AppEvent::ReleaseProgress { id: 1, message, done, failed } => {
                    messages.push(message.clone());
                    if done {
                        finished = Some((message, failed));
                    }
                }
                AppEvent::RefreshTags => tags_refreshed = true,
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(25)) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no end of the build within 60 s; progress so far: {messages:#?}"
                );
                sb.world.advance(Duration::from_secs(2));
            }
        }
    }
    let (last, failed) = finished.expect("finished");
    assert!(!failed, "{messages:#?}");
    assert!(last.ends_with(": built"), "{last}");
    let log_line = messages
        .iter()
        .position(|m| m.contains("job finished successfully"))
        .unwrap_or_else(|| panic!("the pod's log is streamed as progress: {messages:#?}"));
    assert!(
        log_line < messages.len() - 1,
        "log lines come before the end"
    );
    let image = format!("{}/dev/gateway:{}", sb.world.registry_host, &commit[..7]);
    assert!(digest(&image).await.is_some(), "{image} was pushed");
    runner.abort();
    sb.world.shutdown().await;
}
