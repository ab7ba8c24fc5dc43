//! One side of the comparison (the sandbox or the real control plane): runs the scenario's
//! steps with kubectl and raw HTTP, and records what each printed.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::runtime::Runtime;

use super::live_sandbox::LiveSandbox;
use super::scenario::{NAMESPACE, Step, words};
use crate::common::KUBECTL;
use crate::common::real_cluster::RealCluster;

/// How long any one kubectl may take, and any wait for a state.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// What one recorded step printed.
#[derive(Debug, Clone)]
pub struct Record {
    pub title: String,
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    /// Whether the output's order is generated-name order, to be sorted (see `Step::Kubectl`).
    pub sort: bool,
}

/// Everything a side's run produced: the records, and the generated values that normalising
/// needs to know in order (the ReplicaSets' `pod-template-hash`es, oldest first).
#[derive(Debug, Default)]
pub struct Transcript {
    pub records: Vec<Record>,
    pub hashes: Vec<String>,
    /// The kubectl the dispatcher chose for this server (`clientVersion.gitVersion`).
    pub kubectl_version: String,
}

pub struct Side {
    pub name: &'static str,
    /// Current context's namespace is [`NAMESPACE`].
    kubeconfig: PathBuf,
    /// kubectl's discovery cache for this run only.
    cache: PathBuf,
    client: kube::Client,
    runtime: tokio::runtime::Handle,
}

impl Side {
    pub fn sandbox(sandbox: &LiveSandbox, runtime: &Runtime, dir: &Path) -> Side {
        Side::new("sandbox", sandbox.kubeconfig.clone(), runtime, dir)
    }

    /// The real control plane, through a copy of its kubeconfig whose current context is in
    /// [`NAMESPACE`].
    pub fn real(cluster: &RealCluster, runtime: &Runtime, dir: &Path) -> Side {
        let kubeconfig = dir.join("real.kubeconfig");
        std::fs::copy(&cluster.kubeconfig, &kubeconfig).expect("copy kubeconfig");
        let out = Command::new(KUBECTL)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "config",
                "set-context",
                "--current",
                "--namespace",
                NAMESPACE,
            ])
            .output()
            .expect("kubectl config runs");
        assert!(out.status.success(), "{out:?}");
        Side::new("real", kubeconfig, runtime, dir)
    }

    fn new(name: &'static str, kubeconfig: PathBuf, runtime: &Runtime, dir: &Path) -> Side {
        let cache = dir.join(format!("{name}-kube-cache"));
        let client = runtime.block_on(crate::common::client_for(&kubeconfig));
        Side {
            name,
            kubeconfig,
            cache,
            client,
            runtime: runtime.handle().clone(),
        }
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null());
        cmd
    }

    fn kubectl(&self, args: &[String], stdin: Option<&str>) -> (String, String, i32) {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("kubectl starts");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let out = wait_with_timeout(child, args);
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }

    fn kubectl_json(&self, line: &str) -> Value {
        let (stdout, stderr, code) = self.kubectl(&words(line), None);
        assert_eq!(code, 0, "{}: kubectl {line}: {stderr}", self.name);
        serde_json::from_str(&stdout).expect("kubectl printed JSON")
    }

    /// Runs the whole scenario.
    pub fn run(&self, steps: &[Step]) -> Transcript {
        let mut transcript = Transcript {
            kubectl_version: self.kubectl_json("version -o json")["clientVersion"]["gitVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ..Transcript::default()
        };
        for step in steps {
            match step {
                Step::Settle => {
                    self.settle();
                    self.learn_hashes(&mut transcript.hashes);
                }
                Step::Emptied => self.emptied(),
                Step::NamespaceReady => self.wait_for("the default ServiceAccount", |s| {
                    s.kubectl(&words("get serviceaccount default"), None).2 == 0
                }),
                _ => {
                    let record = self.record(step);
                    transcript.records.push(record);
                }
            }
        }
        transcript
    }

    fn record(&self, step: &Step) -> Record {
        let title = step.title();
        match step {
            Step::Kubectl { args, stdin, sort } => {
                let (stdout, stderr, code) = self.kubectl(args, *stdin);
                Record {
                    title,
                    stdout,
                    stderr,
                    code,
                    sort: *sort,
                }
            }
            Step::Watch {
                args,
                ready_lines,
                actions,
                until,
            } => self.watch(title, args, *ready_lines, actions, until),
            Step::Http {
                method,
                path,
                content_type,
                body,
            } => {
                let (code, body) = self.http(method, path, content_type, body);
                Record {
                    title,
                    stdout: body,
                    stderr: String::new(),
                    code,
                    sort: false,
                }
            }
            Step::Settle | Step::Emptied | Step::NamespaceReady => {
                unreachable!("not recorded")
            }
        }
    }

    fn watch(
        &self,
        title: String,
        args: &[String],
        ready_lines: usize,
        actions: &[Vec<String>],
        until: &[&str],
    ) -> Record {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + STEP_TIMEOUT;
        let next = |printed: &mut Vec<String>| {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => printed.push(line),
                Err(e) => panic!(
                    "{}: {title}: no further line ({e}); printed {printed:#?}",
                    self.name
                ),
            }
        };
        let mut printed = Vec::new();
        while printed.len() < ready_lines {
            next(&mut printed);
        }
        let mut actions_printed = String::new();
        for action in actions {
            let (stdout, stderr, code) = self.kubectl(action, None);
            actions_printed.push_str(&format!("$ kubectl {}\n{stdout}{stderr}", action.join(" ")));
            assert_eq!(code, 0, "{}: {action:?}: {stderr}", self.name);
        }
        while !printed
            .last()
            .is_some_and(|l| until.iter().all(|w| l.contains(w)))
        {
            next(&mut printed);
        }
        let _ = child.kill();
        let out = child.wait_with_output().expect("kubectl watch ends");
        let mut stdout = printed.join("\n");
        stdout.push('\n');
        stdout.push_str(&actions_printed);
        Record {
            title,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: 0,
            sort: false,
        }
    }

    fn http(&self, method: &str, path: &str, content_type: &str, body: &str) -> (i32, String) {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::from(body.as_bytes().to_vec()))
            .expect("request");
        self.runtime.block_on(async {
            let response = self.client.send(request).await.expect("HTTP request");
            let code = i32::from(response.status().as_u16());
            let bytes = response
                .into_body()
                .collect_bytes()
                .await
                .expect("response body");
            (code, String::from_utf8_lossy(&bytes).into_owned())
        })
    }

    /// Waits until Deployment `web` has rolled out completely: the controller has seen the
    /// newest generation; every replica is updated, ready and available; exactly that many
    /// pods exist, none terminating and all Ready; and the namespace's events have stopped
    /// changing (the controllers record them after the writes they describe).
    fn settle(&self) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut last_events = None;
        loop {
            let d = self.kubectl_json("get deployment web -o json");
            let pods = self.kubectl_json("get pods -l app=web -o json");
            let events = self.kubectl_json("get events -o json")["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|e| (e["metadata"]["name"].clone(), e["count"].clone()))
                        .collect::<Vec<_>>()
                });
            if rolled_out(&d, &pods) {
                if last_events.as_ref() == Some(&events) {
                    return;
                }
                last_events = Some(events);
            } else {
                last_events = None;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the rollout did not settle: {:#}\npods: {:#}",
                self.name,
                d["status"],
                pods
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn wait_for(&self, what: &str, done: impl Fn(&Side) -> bool) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !done(self) {
            assert!(Instant::now() < deadline, "{}: no {what}", self.name);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Waits until no Deployment, ReplicaSet or pod of `web` is left.
    fn emptied(&self) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let left = self.kubectl_json("get deployments,replicasets,pods -l app=web -o json");
            if left["items"].as_array().is_some_and(Vec::is_empty) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: objects left: {left:#}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Appends the `pod-template-hash` of ReplicaSets not seen before, by revision.
    fn learn_hashes(&self, hashes: &mut Vec<String>) {
        let list = self.kubectl_json("get replicasets -l app=web -o json");
        let mut new: Vec<(i64, String)> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|rs| {
                let hash = rs["metadata"]["labels"]["pod-template-hash"].as_str()?;
                let revision = rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()?
                    .parse()
                    .ok()?;
                (!hashes.iter().any(|h| h == hash)).then(|| (revision, hash.to_string()))
            })
            .collect();
        new.sort();
        hashes.extend(new.into_iter().map(|(_, h)| h));
    }
}

/// The rollout of `web` is complete and its pods match it (see [`Side::settle`]).
fn rolled_out(d: &Value, pods: &Value) -> bool {
    let s = &d["status"];
    let want = &d["spec"]["replicas"];
    let pods = pods["items"].as_array().cloned().unwrap_or_default();
    let ready = |p: &Value| {
        p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    };
    s["observedGeneration"] == d["metadata"]["generation"]
        && &s["replicas"] == want
        && &s["updatedReplicas"] == want
        && &s["readyReplicas"] == want
        && &s["availableReplicas"] == want
        && want.as_u64() == Some(pods.len() as u64)
        && pods
            .iter()
            .all(|p| p["metadata"]["deletionTimestamp"].is_null() && ready(p))
}

fn wait_with_timeout(mut child: Child, args: &[String]) -> std::process::Output {
    let deadline = Instant::now() + STEP_TIMEOUT;
    // Reading both pipes while waiting: a full pipe would block kubectl.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = read(stdout.map(|p| Box::new(p) as _));
    let err = read(stderr.map(|p| Box::new(p) as _));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kubectl") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kubectl {args:?} timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}
