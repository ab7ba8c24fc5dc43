//! Builds: the per-service runner from `[service.build]` — a local command, or a Kubernetes
//! Job from a template — templated with `{service} {tag} {commit} {registry} {repository}`.
//! The tag is the short commit SHA of the service's source directory.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::config::BuildRunner;

use super::error::PlanError;
use super::execute::Progress;
use super::input::PlanInput;
use super::plan::{Action, FieldChange, ObjectRef, Plan, Write, WriteBody};

/// Annotations naming what a build Job produces (same strings as `sandbox::builds`, which
/// the product path must not depend on).
pub const BUILD_IMAGE: &str = "shipdeck.io/build-image";
pub const BUILD_COMMIT: &str = "shipdeck.io/build-commit";

/// Length of the commit tag (git's default abbreviation).
pub const SHORT_SHA: usize = 7;

/// The values a build template may use.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildVars {
    pub service: String,
    pub tag: String,
    pub commit: String,
    /// The environment's registry prefix (`127.0.0.1:5000/dev`).
    pub registry: String,
    pub repository: String,
}

impl BuildVars {
    pub fn image(&self) -> String {
        format!("{}/{}:{}", self.registry, self.repository, self.tag)
    }

    /// Replaces every `{name}` this knows; leaves other braces alone (shell, JSON).
    pub fn render(&self, template: &str) -> String {
        template
            .replace("{service}", &self.service)
            .replace("{tag}", &self.tag)
            .replace("{commit}", &self.commit)
            .replace("{registry}", &self.registry)
            .replace("{repository}", &self.repository)
    }
}

/// `git rev-parse HEAD` in `dir`.
pub async fn git_commit(dir: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .await
        .map_err(|e| format!("cannot run git in {}: {e}", dir.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} is not a git checkout ({}); set `workdir` in [service.build] to the service's source",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Plans a build of `commit` for the service, into `input.env`'s registry (whose cluster
/// runs build Jobs). `job_template` is
/// the text of the Job manifest for the `job` runner.
pub fn plan_build(
    input: &PlanInput,
    commit: &str,
    job_template: Option<&str>,
) -> Result<Plan, PlanError> {
    let cfg = input.cfg;
    let build_env = input.env;
    let build = cfg.build.as_ref().ok_or_else(|| {
        PlanError::config(
            &cfg.name,
            "has no [service.build] section (runner = \"command\" or \"job\")",
        )
    })?;
    if commit.len() < SHORT_SHA || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PlanError::Invalid(format!(
            "{commit:?} is not a commit SHA"
        )));
    }
    let registry = build_env.registry.clone().ok_or_else(|| {
        PlanError::config(
            &cfg.name,
            format!(
                "environment {} has no `registry` to push builds to",
                build_env.name
            ),
        )
    })?;
    let vars = BuildVars {
        service: cfg.name.clone(),
        tag: commit[..SHORT_SHA].to_string(),
        commit: commit.to_string(),
        registry: registry.trim_end_matches('/').to_string(),
        repository: cfg.repository_name().to_string(),
    };
    let mut plan = input.plan(
        Action::Build {
            commit: Some(commit.to_string()),
        },
        format!(
            "Build {} {} ({}) into {}",
            cfg.name,
            vars.tag,
            build_env.name,
            vars.image()
        ),
    );
    let image_change = FieldChange::new("image", None, Some(vars.image()));
    match build.runner {
        BuildRunner::Command => {
            let command = build.command.as_deref().ok_or_else(|| {
                PlanError::config(&cfg.name, "runner \"command\" needs `command`")
            })?;
            let rendered = vars.render(command);
            plan.writes.push(Write {
                target: ObjectRef::new("local/v1", "Command", "commands", "", &cfg.name),
                resource_version: None,
                changes: vec![
                    FieldChange::new("command", None, Some(rendered.clone())),
                    image_change,
                ],
                body: WriteBody::Run {
                    program: "sh".into(),
                    args: vec!["-c".into(), rendered],
                    workdir: build.workdir.as_ref().map(|w| w.display().to_string()),
                },
            });
        }
        BuildRunner::Job => {
            let text = job_template.ok_or_else(|| {
                PlanError::config(
                    &cfg.name,
                    "runner \"job\" needs `job_template` (a Job manifest)",
                )
            })?;
            let mut job = parse_manifest(&vars.render(text))?;
            if job["kind"] != "Job" {
                return Err(PlanError::config(
                    &cfg.name,
                    "job_template must be a Job (kind: Job)",
                ));
            }
            // A name derived from the commit makes a repeated build of the same commit an
            // "already exists" instead of a second Job.
            let name = job["metadata"]["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}-build-{}", cfg.name, vars.tag));
            if let Some(meta) = job["metadata"].as_object_mut() {
                meta.remove("generateName");
                meta.insert("name".into(), Value::String(name.clone()));
                meta.insert(
                    "namespace".into(),
                    Value::String(build_env.namespace.clone()),
                );
            }
            // What the Job builds, for tools that watch builds (the sandbox's builder pushes
            // exactly this image when the Job completes).
            job["metadata"]["annotations"][BUILD_IMAGE] = Value::String(vars.image());
            job["metadata"]["annotations"][BUILD_COMMIT] = Value::String(vars.commit.clone());
            plan.writes.push(Write {
                target: ObjectRef::new("batch/v1", "Job", "jobs", &build_env.namespace, &name),
                resource_version: None,
                changes: vec![image_change],
                body: WriteBody::Create { object: job },
            });
        }
    }
    plan.notes.push(format!("source commit {commit}"));
    Ok(plan)
}

/// A manifest in JSON or YAML.
fn parse_manifest(text: &str) -> Result<Value, PlanError> {
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| PlanError::Invalid(format!("job_template is not a valid manifest: {e}")))
}

/// Runs a build command, streaming each output line as progress. Fails on a non-zero exit.
pub async fn run_command(
    program: &str,
    args: &[String],
    workdir: Option<&str>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = workdir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let mut out = child.stdout.take().map(|s| BufReader::new(s).lines());
    let mut err = child.stderr.take().map(|s| BufReader::new(s).lines());
    loop {
        let line = tokio::select! {
            l = async { out.as_mut()?.next_line().await.ok().flatten() }, if out.is_some() => {
                if l.is_none() { out = None; }
                l
            }
            l = async { err.as_mut()?.next_line().await.ok().flatten() }, if err.is_some() => {
                if l.is_none() { err = None; }
                l
            }
            else => break,
        };
        if let Some(line) = line {
            progress(Progress::Log { line });
        }
    }
    let status = child.wait().await.map_err(|e| format!("{program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("build command failed ({status})"))
    }
}

/// Follows a build Job until it completes or fails, streaming its pod's log as progress.
pub async fn follow_job(
    env: &crate::cluster::EnvClient,
    name: &str,
    timeout: Option<std::time::Duration>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), super::error::ReleaseError> {
    use super::error::ReleaseError;
    use futures::{AsyncBufReadExt as _, StreamExt, TryStreamExt};
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, LogParams};
    use kube::runtime::watcher;

    let ns = env.env.namespace.as_str();
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), ns);
    let events = watcher(
        jobs,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .map_ok(|e| JobWatch::Job(Box::new(e)));
    let pod_events = watcher(
        pods.clone(),
        watcher::Config::default().labels(&format!("job-name={name}")),
    )
    .map_ok(|e| JobWatch::Pod(Box::new(e)));
    let mut events = futures::stream::select(events.boxed(), pod_events.boxed());
    // Log lines arrive from a task of their own (the watch loop owns `progress`).
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    // Dropped once the job is done, so that `lines` ends when the log stream does.
    let mut lines_tx = Some(lines_tx);
    let mut streaming: Option<String> = None;
    let mut last_warning: Option<String> = None;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let sleep = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            Some(line) = lines.recv() => progress(Progress::Log { line }),
            event = events.next() => match event {
                Some(Ok(JobWatch::Job(e))) => {
                    if let watcher::Event::Apply(job) | watcher::Event::InitApply(job) = *e {
                        let conditions = job.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
                        let done = |kind: &str| conditions.iter().any(|c| c.type_ == kind && c.status == "True");
                        if done("Complete") || done("Failed") {
                            lines_tx = None;
                            finish_log(&pods, name, streaming.is_some(), &mut lines, progress).await;
                        }
                        if done("Complete") {
                            progress(Progress::Log { line: format!("job {name} succeeded") });
                            return Ok(());
                        }
                        if done("Failed") {
                            return Err(ReleaseError::Rollout(format!(
                                "build job {name} failed; see `kubectl logs job/{name} -n {ns}`"
                            )));
                        }
                    }
                }
                Some(Ok(JobWatch::Pod(e))) => {
                    if let watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) = *e {
                        let started = pod.status.as_ref().and_then(|s| s.phase.as_deref())
                            .is_some_and(|p| p != "Pending");
                        let pod_name = pod.metadata.name.clone().unwrap_or_default();
                        // A builder that cannot start (image pull, scheduling) says so.
                        let warning = super::wait::pod_warning([&pod]);
                        if warning != last_warning {
                            if let Some(w) = &warning {
                                progress(Progress::Log { line: format!("(Warning: {w})") });
                            }
                            last_warning = warning;
                        }
                        let new_pod = started && streaming.as_deref() != Some(pod_name.as_str());
                        if let Some(tx) = lines_tx.as_ref().filter(|_| new_pod) {
                            streaming = Some(pod_name.clone());
                            let (api, tx) = (pods.clone(), tx.clone());
                            tokio::spawn(async move {
                                let params = LogParams { follow: true, ..LogParams::default() };
                                match api.log_stream(&pod_name, &params).await {
                                    Ok(stream) => {
                                        let mut stream = stream.lines();
                                        while let Some(Ok(line)) = stream.next().await {
                                            if tx.send(line).is_err() {
                                                break;
                                            }
                                        }
                                    }
                                    Err(e) => {
                                        let _ = tx.send(format!("(cannot stream the log of {pod_name}: {e})"));
                                    }
                                }
                            });
                        }
                    }
                }
                Some(Err(e)) => {
                    return Err(ReleaseError::Unreachable {
                        env: env.env.name.clone(),
                        context: env.context.clone(),
                        message: format!("watching job {name}: {e}"),
                    });
                }
                None => return Err(ReleaseError::Other(format!("the watch on job {name} ended"))),
            },
            _ = &mut sleep => {
                return Err(ReleaseError::Rollout(format!("timed out waiting for build job {name}")));
            }
        }
    }
}

/// Passes on the rest of a finished job's log: what the follow stream still delivers (it ends
/// when the pod does), or, when the pod finished before it was seen running, the whole log.
async fn finish_log(
    pods: &kube::Api<k8s_openapi::api::core::v1::Pod>,
    job: &str,
    streamed: bool,
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    progress: &mut (dyn FnMut(Progress) + Send),
) {
    use kube::api::{ListParams, LogParams};
    // A follow stream that never ends (a stuck kubelet) must not hold the result back.
    let bound = std::time::Duration::from_secs(10);
    if streamed {
        let drain = async {
            while let Some(line) = lines.recv().await {
                progress(Progress::Log { line });
            }
        };
        let _ = tokio::time::timeout(bound, drain).await;
        return;
    }
    let selector = ListParams::default().labels(&format!("job-name={job}"));
    let listed = tokio::time::timeout(bound, pods.list(&selector)).await;
    let Ok(Ok(listed)) = listed else {
        progress(Progress::Log {
            line: format!("(cannot list the pods of job {job})"),
        });
        return;
    };
    for pod in listed.items {
        let name = pod.metadata.name.unwrap_or_default();
        let log = tokio::time::timeout(bound, pods.logs(&name, &LogParams::default())).await;
        match log {
            Ok(Ok(text)) => text
                .lines()
                .for_each(|line| progress(Progress::Log { line: line.into() })),
            _ => progress(Progress::Log {
                line: format!("(cannot read the log of {name})"),
            }),
        }
    }
}

enum JobWatch {
    Job(Box<kube::runtime::watcher::Event<k8s_openapi::api::batch::v1::Job>>),
    Pod(Box<kube::runtime::watcher::Event<k8s_openapi::api::core::v1::Pod>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BuildConfig;
    use crate::release::testkit::{env, input, service};

    const SHA: &str = "3f9c21a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6";

    #[test]
    fn command_runner_is_templated() {
        let mut cfg = service("orders");
        cfg.build = Some(BuildConfig {
            runner: BuildRunner::Command,
            command: Some("make image TAG={tag} REGISTRY={registry} SVC={service}".into()),
            workdir: Some("../orders".into()),
            job_template: None,
            env: None,
        });
        let dev = env("dev", false);
        let plan = plan_build(&input(&cfg, &dev), SHA, None).expect("plan");
        let WriteBody::Run {
            program,
            args,
            workdir,
        } = &plan.writes[0].body
        else {
            panic!("run")
        };
        assert_eq!(program, "sh");
        assert_eq!(
            args[1],
            "make image TAG=3f9c21a REGISTRY=reg:5000/dev SVC=orders"
        );
        assert_eq!(workdir.as_deref(), Some("../orders"));
        assert_eq!(
            plan.writes[0].changes[1].to.as_deref(),
            Some("reg:5000/dev/orders:3f9c21a")
        );
        assert_eq!(
            crate::release::confirm::required(&plan),
            crate::release::confirm::Confirmation::None
        );
    }

    #[test]
    fn job_runner_names_the_job_after_the_commit() {
        let mut cfg = service("orders");
        cfg.build = Some(BuildConfig {
            runner: BuildRunner::Job,
            command: None,
            workdir: None,
            job_template: Some("job.yaml".into()),
            env: None,
        });
        let dev = env("dev", false);
        let yaml = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: build-\nspec:\n  template:\n    spec:\n      containers:\n      - name: build\n        image: builder\n        args: [\"--destination={registry}/{repository}:{tag}\"]\n";
        let plan = plan_build(&input(&cfg, &dev), SHA, Some(yaml)).expect("plan");
        let WriteBody::Create { object } = &plan.writes[0].body else {
            panic!("create")
        };
        assert_eq!(object["metadata"]["name"], "orders-build-3f9c21a");
        assert_eq!(
            object["metadata"]["annotations"][BUILD_IMAGE],
            "reg:5000/dev/orders:3f9c21a"
        );
        assert!(object["metadata"].get("generateName").is_none());
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--destination=reg:5000/dev/orders:3f9c21a"
        );
        assert!(plan_build(&input(&cfg, &dev), "xyz", Some(yaml)).is_err());
    }

    #[tokio::test]
    async fn command_output_is_streamed_and_failure_reported() {
        let mut lines = Vec::new();
        let ok = run_command(
            "sh",
            &["-c".into(), "echo one; echo two >&2".into()],
            None,
            &mut |p| {
                if let Progress::Log { line } = p {
                    lines.push(line)
                }
            },
        )
        .await;
        assert!(ok.is_ok());
        lines.sort();
        assert_eq!(lines, vec!["one", "two"]);
        let failed = run_command("sh", &["-c".into(), "exit 3".into()], None, &mut |_| {}).await;
        assert!(failed.expect_err("exit 3").contains("failed"));
    }
}
