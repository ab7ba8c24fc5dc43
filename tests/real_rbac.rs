//! RBAC on the real API server: the viewer (bound to `view`) sees write keys marked
//! unavailable with verb, resource and namespace, and pressing one explains and opens no
//! dialog; headless writes are refused before anything is sent; the patcher acts in its one
//! namespace only; and a 403 the server gives after the access review said yes stays final.

use std::time::Duration;

use crate::access_support::tmux::Tmux;
use crate::access_support::{KubeconfigSpec, Workdir, deployment};
use crate::common::real_cluster::{PATCHER, VIEWER, wait_until};
use crate::real_cluster_or_skip;

use serde_json::Value;
use shipdeck::release::{Action, Journal, ReleaseContext, ReleaseRequest, plan_request};

#[test]
fn the_viewer_sees_write_keys_marked_and_pressing_one_opens_no_dialog() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("viewer-console");
    cluster.apply(
        &ns,
        &deployment("storefront", "127.0.0.1:9/shop/storefront:v1"),
    );
    let dir = Workdir::new();
    let command = format!(
        "{} --kubeconfig {} --context {VIEWER} -n {}",
        crate::access_support::SHIPDECK,
        cluster.kubeconfig.display(),
        ns.name
    );
    let home = dir.path("home");
    let state = dir.path("state");
    let Some(tmux) = Tmux::start(
        &command,
        &[
            ("HOME", home.to_str().expect("path")),
            ("XDG_STATE_HOME", state.to_str().expect("path")),
            ("SHIPDECK_LOG", "debug"),
        ],
        dir.dir.path(),
    ) else {
        return;
    };
    let missing = format!("(not allowed: patch deployments.apps in {})", ns.name);
    let screen = tmux.wait_for("the service and the footer's reason", |s| {
        s.contains("storefront") && s.contains(&missing)
    });
    // Routes and Helm Secrets are not the viewer's to read; the cluster is still connected.
    assert!(!screen.contains("forbidden"), "{screen}");
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("the explanation", |s| {
        s.contains("rollback storefront @ real-viewer: not allowed: patch deployments.apps")
    });
    assert!(
        !screen.contains("Confirm") && !screen.contains("Apply"),
        "no dialog:\n{screen}"
    );
    tmux.keys(&["?"]);
    tmux.wait_for("help", |s| s.contains("Help — Esc closes"));
    // The release keys are at the end of the help.
    tmux.wait_for("help marking the keys and naming what is missing", |s| {
        s.contains("deploy  — not allowed")
            && s.contains(&format!(
                "Not allowed: patch deployments.apps in {} (context real-viewer)",
                ns.name
            ))
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("help to close", |s| !s.contains("Help — Esc closes"));
    tmux.keys(&[":"]);
    tmux.wait_for("the palette", |s| s.contains("Command palette"));
    tmux.type_text("rollback");
    tmux.wait_for("the palette giving the reason", |s| {
        s.contains("rollback") && s.contains("r  not allowed: patch deployments.apps in")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the palette to close", |s| !s.contains("Command palette"));
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |s| s.contains("EXITED 0"));
}

#[test]
fn headless_writes_are_refused_before_sending_and_the_patcher_acts_only_in_its_namespace() {
    let cluster = real_cluster_or_skip!();
    let patchable = cluster.patcher_namespace.as_str();
    let other = cluster.namespace("elsewhere");
    // A name of its own: other tests use the shared `patchable` namespace too.
    let name = "checkout";
    for ns in [patchable, &other] {
        cluster.apply(ns, &deployment(name, "127.0.0.1:9/shop/checkout:v1"));
    }
    let dir = Workdir::new();
    let kubeconfig = cluster.kubeconfig.to_str().expect("path");
    let deploy = |context: &str, ns: &str| {
        dir.run(
            &[
                "deploy",
                name,
                "v2",
                "-e",
                context,
                "-y",
                "--context",
                context,
                "-n",
                ns,
                "--kubeconfig",
                kubeconfig,
            ],
            &[],
        )
    };

    // The viewer: refused by the access review, exit 3, nothing sent, journaled.
    let viewer = deploy(VIEWER, &other);
    assert_eq!(viewer.code, 3, "{viewer:?}");
    assert!(
        viewer.stderr.contains(&format!(
            "not allowed: patch deployments.apps/{name} in {} (context {VIEWER})",
            other.name
        )),
        "{}",
        viewer.stderr
    );
    let journal = std::fs::read_to_string(dir.journal()).expect("journal");
    let refused: Value =
        serde_json::from_str(journal.lines().last().expect("a record")).expect("record");
    assert_eq!(refused["result"], "refused", "{refused}");
    assert_eq!(refused["who"], "viewer", "the server's name for the user");

    // The patcher: in its namespace the write goes through.
    deploy(PATCHER, patchable).ok();
    let d = cluster.get_json(patchable, &["deployment", name]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "127.0.0.1:9/shop/checkout:v2"
    );
    assert!(
        d["metadata"]["annotations"]["kubernetes.io/change-cause"]
            .as_str()
            .is_some_and(|c| c.ends_with("by patcher")),
        "{d}"
    );
    // Elsewhere it cannot even read the Deployment: said, with verb, resource and namespace.
    let elsewhere = deploy(PATCHER, &other);
    assert_ne!(elsewhere.code, 0);
    assert!(
        elsewhere.stderr.contains("deployments") && elsewhere.stderr.contains(&other.name),
        "{}",
        elsewhere.stderr
    );
    let untouched = cluster.get_json(&other, &["deployment", name]);
    assert_eq!(
        untouched["spec"]["template"]["spec"]["containers"][0]["image"],
        "127.0.0.1:9/shop/checkout:v1"
    );
    cluster
        .kubectl(&["delete", "deployment", name, "-n", patchable])
        .ok();
}

/// A service account allowed to patch when the plan is made, whose binding is removed
/// before the write: the server's 403 ends the action (no retry), and the journal says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_403_stays_final() {
    let cluster = real_cluster_or_skip!();
    let ns = cluster.namespace("revoked");
    cluster.apply(&ns, &deployment("web", "127.0.0.1:9/shop/web:v1"));
    cluster.apply(
        &ns,
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, list, patch]}
- {apiGroups: [apps], resources: [replicasets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer}]
"#,
    );
    let token = cluster
        .kubectl(&["create", "token", "deployer", "-n", &ns])
        .ok()
        .trim()
        .to_string();
    let dir = Workdir::new();
    let kubeconfig = dir.write(
        "kubeconfig",
        &KubeconfigSpec::new(cluster, format!("token: {token}"), &ns).yaml(),
    );
    let mut config = shipdeck::config::Config::default();
    config
        .apply_kube_flags(Some(kubeconfig), None, None)
        .expect("flags");
    shipdeck::install_crypto_provider();
    let journal = Journal::at(dir.path("audit.jsonl"));
    let mut ctx = ReleaseContext::connect(config, false, journal)
        .await
        .expect("connects");
    ctx.identify().await;
    let env = ctx.config.envs[0].name.clone();
    let request = ReleaseRequest {
        service: "web".into(),
        env: env.clone(),
        action: Action::Deploy {
            tag: "v2".into(),
            digest: None,
        },
    };
    let plan = plan_request(&request, &ctx)
        .await
        .expect("planned while allowed");
    assert_eq!(
        plan.who,
        format!("system:serviceaccount:{}:deployer", ns.name)
    );

    cluster
        .kubectl(&["delete", "rolebinding", "deployer", "-n", &ns])
        .ok();
    let subject = format!("system:serviceaccount:{}:deployer", ns.name);
    wait_until(Duration::from_secs(30), "the binding to be gone", || {
        let run = cluster.kubectl(&[
            "auth",
            "can-i",
            "patch",
            "deployments",
            "-n",
            &ns,
            "--as",
            &subject,
        ]);
        run.stdout.trim().eq("no").then_some(())
    })
    .expect("revoked");

    let mut progress = Vec::new();
    let outcome =
        shipdeck::release::execute(&plan, &ctx, &mut |p| progress.push(p.to_string())).await;
    let err = outcome.expect_err("the server refuses");
    let message = err.to_string();
    assert!(message.to_lowercase().contains("forbidden"), "{message}");
    let records = ctx.journal.read().expect("journal");
    let outcomes: Vec<_> = records.iter().filter(|r| r.result.is_some()).collect();
    assert_eq!(outcomes.len(), 1, "one answer, no retry: {records:#?}");
    let d = cluster.get_json(&ns, &["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "127.0.0.1:9/shop/web:v1"
    );
}
