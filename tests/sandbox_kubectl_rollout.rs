//! Unmodified kubectl (v1.32) driving whole rollouts against the sandbox with its controllers
//! running: get (-o wide, -o yaml), describe, set image, rollout status/history/undo/pause/
//! resume/restart, scale and delete. The clock is manual: the test moves it, so the
//! Deployment's status only changes when the test says so, and `rollout status` can be held to
//! finishing exactly when the rollout completes.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{MANIFEST, Run, Sandbox, row};
use serde_json::Value;
use shipdeck::sandbox::controllers::{Controllers, SimConfig};
use shipdeck::sandbox::images::AllImagesPresent;
use shipdeck::sandbox::resources::kinds;
use tokio::task::JoinHandle;

const NS: &str = "shop";

/// A sandbox whose controllers follow every API write in the background (as `sandbox serve`
/// does) while time only moves when the test advances it.
struct Rollouts {
    sb: Sandbox,
    ctl: Arc<Controllers>,
    control_loop: JoinHandle<()>,
}

impl Rollouts {
    async fn start() -> Rollouts {
        let sb = Sandbox::start().await;
        // No periodic log lines: every write the store sees comes from the rollout.
        let sim = SimConfig {
            log_interval: Duration::ZERO,
            ..SimConfig::default()
        };
        let ctl = Controllers::new(sb.cluster.clone(), Arc::new(AllImagesPresent), sim);
        ctl.settle();
        let control_loop = ctl.spawn();
        Rollouts {
            sb,
            ctl,
            control_loop,
        }
    }

    /// The manifest applied and its two pods ready.
    async fn with_web() -> Rollouts {
        let r = Rollouts::start().await;
        let manifest = r.sb.file("app.yaml", MANIFEST);
        let out = r
            .kubectl(&["apply", "-f", manifest.to_str().expect("utf-8 path")])
            .await;
        assert_eq!(
            out.ok(),
            "deployment.apps/web created\nservice/web created\n"
        );
        r.settle_rollout().await;
        r
    }

    async fn kubectl(&self, args: &[&str]) -> Run {
        let out = self.sb.kubectl(args).await;
        // Whatever kubectl wrote has been reconciled before the test looks at it.
        self.ctl.settle();
        out
    }

    fn deploy(&self) -> Value {
        (*self
            .sb
            .cluster
            .get(*kinds::DEPLOYMENTS, NS, "web")
            .expect("deployment web"))
        .clone()
    }

    /// ReplicaSets of `web` as (revision, spec replicas, image), lowest revision first.
    fn replicasets(&self) -> Vec<(i64, i64, String)> {
        let (items, _) = self.sb.cluster.store.list(*kinds::REPLICASETS, Some(NS));
        let mut out: Vec<(i64, i64, String)> = items
            .iter()
            .filter(|rs| rs["metadata"]["labels"]["app"] == "web")
            .map(|rs| {
                (
                    revision(rs),
                    rs["spec"]["replicas"].as_i64().unwrap_or(-1),
                    image(&rs["spec"]["template"]),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn pods(&self) -> Vec<Value> {
        let (items, _) = self.sb.cluster.store.list(*kinds::PODS, Some(NS));
        items.iter().map(|p| (**p).clone()).collect()
    }

    /// Moves time one second at a time until the rollout is complete (at most two minutes).
    async fn settle_rollout(&self) {
        for _ in 0..120 {
            self.ctl.settle();
            if complete(&self.deploy()) {
                return;
            }
            self.ctl.advance(Duration::from_secs(1));
        }
        panic!("rollout did not complete: {:#}", self.deploy()["status"]);
    }

    /// Runs `kubectl rollout status` while moving time in one-second steps, only when kubectl
    /// has gone quiet. Asserts it ends exactly when the Deployment says the rollout is
    /// complete (never earlier, and without another step of time once it is), and returns
    /// what it printed.
    async fn rollout_status(&self) -> Vec<String> {
        let (mut child, mut lines) =
            self.sb
                .kubectl_spawn(&["rollout", "status", "deployment/web"]);
        let mut printed = Vec::new();
        let mut quiet_while_complete = 0;
        loop {
            match tokio::time::timeout(Duration::from_millis(400), lines.next_line()).await {
                Ok(Ok(Some(line))) => printed.push(line),
                // End of output: kubectl is done. The state has not moved since its last
                // step, so this is the state kubectl ended on.
                Ok(_) => break,
                Err(_quiet) => {
                    if complete(&self.deploy()) {
                        quiet_while_complete += 1;
                        assert!(
                            quiet_while_complete < 50,
                            "rollout complete but kubectl still waits: {printed:#?}"
                        );
                    } else {
                        assert!(printed.len() < 500, "{printed:#?}");
                        self.ctl.advance(Duration::from_secs(1));
                    }
                }
            }
        }
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("kubectl exits")
            .expect("exit status");
        let d = self.deploy();
        assert!(
            complete(&d),
            "kubectl returned before the rollout completed: {:#}\nprinted {printed:#?}",
            d["status"]
        );
        assert!(status.success(), "{printed:#?}");
        assert_eq!(
            printed.last().map(String::as_str),
            Some("deployment \"web\" successfully rolled out"),
            "{printed:#?}"
        );
        printed
    }

    async fn shutdown(self) {
        self.control_loop.abort();
        self.sb.shutdown().await;
    }
}

fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(-1)
}

fn image(template: &Value) -> String {
    template["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What `kubectl rollout status` calls done, made stricter: the controller has seen the
/// newest generation and every replica is updated, ready and available, none old.
fn complete(d: &Value) -> bool {
    let s = &d["status"];
    let want = &d["spec"]["replicas"];
    s["observedGeneration"] == d["metadata"]["generation"]
        && &s["replicas"] == want
        && &s["updatedReplicas"] == want
        && &s["readyReplicas"] == want
        && &s["availableReplicas"] == want
}

fn yaml(out: &Run) -> Value {
    serde_saphyr::from_str(out.ok()).expect("kubectl printed YAML")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_describe_a_running_deployment() {
    let r = Rollouts::with_web().await;
    r.ctl.advance(Duration::from_secs(60));
    let pods = r.pods();
    assert_eq!(pods.len(), 2);
    let rs_name = r.sb.cluster.store.list(*kinds::REPLICASETS, Some(NS)).0[0]["metadata"]["name"]
        .as_str()
        .expect("rs name")
        .to_string();

    let out = r.kubectl(&["get", "deploy", "-o", "wide"]).await;
    let table = out.ok();
    assert!(
        table.starts_with("NAME  READY  UP-TO-DATE  AVAILABLE  AGE  CONTAINERS  IMAGES  SELECTOR")
            || table.lines().next().is_some_and(|h| {
                h.split_whitespace().collect::<Vec<_>>()
                    == [
                        "NAME",
                        "READY",
                        "UP-TO-DATE",
                        "AVAILABLE",
                        "AGE",
                        "CONTAINERS",
                        "IMAGES",
                        "SELECTOR",
                    ]
            }),
        "{table}"
    );
    let cells = row(table, "web");
    assert_eq!(cells[..4], ["web", "2/2", "2", "2"], "{table}");
    // Age from the manual clock: a minute and the few seconds the rollout took.
    assert!(
        cells[4].len() == 3 && cells[4].starts_with('6') && cells[4].ends_with('s'),
        "{table}"
    );
    assert_eq!(
        cells[5..],
        ["web", "registry.local/web:1.0", "app=web"],
        "{table}"
    );

    let out = r.kubectl(&["get", "rs", "-o", "wide"]).await;
    let cells = row(out.ok(), &rs_name);
    assert_eq!(cells[1..4], ["2", "2", "2"], "{}", out.stdout);
    assert_eq!(cells[5..7], ["web", "registry.local/web:1.0"]);
    let hash = rs_name.trim_start_matches("web-");
    assert_eq!(cells[7], format!("app=web,pod-template-hash={hash}"));

    let out = r.kubectl(&["get", "pods", "-o", "wide"]).await;
    let table = out.ok();
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().expect("pod name");
        assert!(name.starts_with(&format!("{rs_name}-")), "{name}");
        let cells = row(table, name);
        assert_eq!(cells[1..4], ["1/1", "Running", "0"], "{table}");
        assert_eq!(cells[5], pod["status"]["podIP"].as_str().expect("pod IP"));
        assert_eq!(cells[6], pod["spec"]["nodeName"].as_str().expect("node"));
        assert_eq!(cells[7..9], ["<none>", "<none>"]);
    }

    let out = r.kubectl(&["get", "svc", "-o", "wide"]).await;
    let cells = row(out.ok(), "web");
    assert_eq!(cells[1], "ClusterIP");
    assert!(cells[2].starts_with("10."), "{cells:?}");
    assert_eq!(cells[3..5], ["<none>", "80/TCP"]);
    assert_eq!(cells[6], "app=web");

    // -o yaml: the objects as stored, in a v1 List.
    let list = yaml(
        &r.kubectl(&["get", "deploy,rs,pods,svc", "-o", "yaml"])
            .await,
    );
    assert_eq!(list["kind"], "List");
    let kinds_listed: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds_listed,
        ["Deployment", "ReplicaSet", "Pod", "Pod", "Service"]
    );
    let d = yaml(&r.kubectl(&["get", "deploy", "web", "-o", "yaml"]).await);
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let pod = yaml(
        &r.kubectl(&[
            "get",
            "pod",
            pods[0]["metadata"]["name"].as_str().expect("name"),
            "-o",
            "yaml",
        ])
        .await,
    );
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["name"], rs_name);

    let out = r.kubectl(&["describe", "deployment", "web"]).await;
    let text = out.ok();
    for want in [
        "Name:                   web",
        "Namespace:              shop",
        "Selector:               app=web",
        "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
        "StrategyType:           RollingUpdate",
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
        "    Image:         registry.local/web:1.0",
        "  Available      True    MinimumReplicasAvailable",
        "  Progressing    True    NewReplicaSetAvailable",
        &format!("NewReplicaSet:   {rs_name} (2/2 replicas created)"),
        &format!("Scaled up replica set {rs_name} from 0 to 2"),
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_status_history_and_undo() {
    let r = Rollouts::with_web().await;
    let generation = r.deploy()["metadata"]["generation"].clone();

    let out = r
        .kubectl(&[
            "set",
            "image",
            "deployment/web",
            "web=registry.local/web:2.0",
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web image updated\n");
    let out = r
        .kubectl(&[
            "annotate",
            "deployment/web",
            "kubernetes.io/change-cause=upgrade to 2.0",
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web annotated\n");
    assert!(
        r.deploy()["metadata"]["generation"].as_i64() > generation.as_i64(),
        "a new generation to roll out"
    );
    let printed = r.rollout_status().await;
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("Waiting for deployment \"web\" rollout to finish: ")),
        "kubectl saw the rollout in progress: {printed:#?}"
    );
    assert_eq!(
        r.replicasets(),
        [
            (1, 0, "registry.local/web:1.0".to_string()),
            (2, 2, "registry.local/web:2.0".to_string())
        ]
    );

    let out = r.kubectl(&["rollout", "history", "deployment/web"]).await;
    let table = out.ok();
    assert_eq!(row(table, "1"), ["1", "<none>"], "{table}");
    assert_eq!(row(table, "2"), ["2", "upgrade", "to", "2.0"], "{table}");
    let out = r
        .kubectl(&["rollout", "history", "deployment/web", "--revision=2"])
        .await;
    assert!(
        out.ok().contains("Image:\tregistry.local/web:2.0")
            || out.ok().contains("Image:      registry.local/web:2.0"),
        "{out:?}"
    );

    // Undo: back to revision 1's template, which becomes revision 3.
    let out = r.kubectl(&["rollout", "undo", "deployment/web"]).await;
    assert_eq!(out.ok(), "deployment.apps/web rolled back\n");
    r.rollout_status().await;
    assert_eq!(
        image(&r.deploy()["spec"]["template"]),
        "registry.local/web:1.0"
    );
    assert_eq!(
        r.replicasets(),
        [
            (2, 0, "registry.local/web:2.0".to_string()),
            (3, 2, "registry.local/web:1.0".to_string())
        ]
    );
    let out = r.kubectl(&["rollout", "history", "deployment/web"]).await;
    let revisions: Vec<&str> = out
        .ok()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "revision numbers are never reused");

    let out = r
        .kubectl(&["rollout", "undo", "deployment/web", "--to-revision=2"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web rolled back\n");
    r.rollout_status().await;
    assert_eq!(
        image(&r.deploy()["spec"]["template"]),
        "registry.local/web:2.0"
    );
    assert_eq!(revision(&r.deploy()), 4);

    let out = r
        .kubectl(&["rollout", "undo", "deployment/web", "--to-revision=1"])
        .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("unable to find specified revision 1 in history"),
        "{out:?}"
    );
    let out = r
        .kubectl(&["rollout", "undo", "deployment/web", "--to-revision=4"])
        .await;
    assert!(
        out.ok()
            .contains("skipped rollback (current template already matches revision 4)"),
        "{out:?}"
    );
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_restart_scale_delete() {
    let r = Rollouts::with_web().await;
    // Two revisions, so that undo has somewhere to go (kubectl looks up the target revision
    // before it checks for a pause).
    let out = r
        .kubectl(&[
            "set",
            "image",
            "deployment/web",
            "web=registry.local/web:2.0",
        ])
        .await;
    out.ok();
    r.rollout_status().await;

    let out = r.kubectl(&["rollout", "pause", "deployment/web"]).await;
    assert_eq!(out.ok(), "deployment.apps/web paused\n");
    assert_eq!(r.deploy()["spec"]["paused"], true);
    let out = r
        .kubectl(&[
            "set",
            "image",
            "deployment/web",
            "web=registry.local/web:3.0",
        ])
        .await;
    out.ok();
    r.ctl.advance(Duration::from_secs(30));
    let before_pause = [
        (1, 0, "registry.local/web:1.0".to_string()),
        (2, 2, "registry.local/web:2.0".to_string()),
    ];
    assert_eq!(
        r.replicasets(),
        before_pause,
        "a paused Deployment does not roll out"
    );
    let out = r.kubectl(&["rollout", "undo", "deployment/web"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
        ),
        "{out:?}"
    );

    let out = r.kubectl(&["rollout", "resume", "deployment/web"]).await;
    assert_eq!(out.ok(), "deployment.apps/web resumed\n");
    r.rollout_status().await;
    assert_eq!(
        r.replicasets(),
        [
            (1, 0, "registry.local/web:1.0".to_string()),
            (2, 0, "registry.local/web:2.0".to_string()),
            (3, 2, "registry.local/web:3.0".to_string())
        ]
    );
    let out = r.kubectl(&["rollout", "resume", "deployment/web"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("deployments.apps \"web\" is not paused"),
        "{out:?}"
    );

    // Restart: same image, a new template (restartedAt) and so a new revision and new pods.
    let before: Vec<String> = r
        .pods()
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let out = r.kubectl(&["rollout", "restart", "deployment/web"]).await;
    assert_eq!(out.ok(), "deployment.apps/web restarted\n");
    assert!(
        r.deploy()["spec"]["template"]["metadata"]["annotations"]
            ["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    r.rollout_status().await;
    assert_eq!(revision(&r.deploy()), 4);
    r.ctl.advance(Duration::from_secs(10));
    let after: Vec<String> = r
        .pods()
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} {after:?}"
    );

    let out = r
        .kubectl(&["scale", "deployment/web", "--replicas=4"])
        .await;
    assert_eq!(out.ok(), "deployment.apps/web scaled\n");
    r.rollout_status().await;
    assert_eq!(r.deploy()["status"]["readyReplicas"], 4);
    assert_eq!(r.pods().len(), 4);
    let out = r.kubectl(&["get", "deploy", "web"]).await;
    assert_eq!(row(out.ok(), "web")[1..4], ["4/4", "4", "4"]);

    let out = r.kubectl(&["delete", "deployment", "web"]).await;
    assert_eq!(out.ok(), "deployment.apps \"web\" deleted\n");
    r.ctl.advance(Duration::from_secs(30));
    assert!(r.replicasets().is_empty(), "{:?}", r.replicasets());
    assert!(r.pods().is_empty(), "{:#?}", r.pods());
    let out = r.kubectl(&["get", "deploy,rs,pods"]).await;
    assert_eq!(out.ok(), "");
    assert!(
        out.stderr.contains("No resources found in shop namespace."),
        "{out:?}"
    );
    r.shutdown().await;
}
