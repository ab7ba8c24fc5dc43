//! Deployment rollouts against the sandbox controllers, driven by a manual clock.

use crate::controllers_support;

use controllers_support::*;
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

#[test]
fn new_deployment_rolls_out_to_four_ready_pods() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 4, "web:1.0"));
    w.ctl.settle();

    let rs = w.replicasets("web");
    assert_eq!(rs.len(), 1);
    let rs = &rs[0];
    let rs_name = rs["metadata"]["name"].as_str().expect("name");
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash");
    assert_eq!(rs_name, format!("web-{hash}"));
    assert_eq!(revision(rs), 1);
    assert_eq!(rs["spec"]["replicas"], 4);
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    let ann = &rs["metadata"]["annotations"];
    assert_eq!(ann["deployment.kubernetes.io/desired-replicas"], "4");
    assert_eq!(ann["deployment.kubernetes.io/max-replicas"], "5");
    let pods = w.pods_of(rs);
    assert_eq!(pods.len(), 4);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Pending"));
    assert_eq!(
        w.rollout_status("web"),
        Ok("Waiting for deployment \"web\" rollout to finish: 0 of 4 updated replicas are available...".into())
    );
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(revision(&d), 1);
    assert_eq!(
        condition(&d, "Progressing").expect("progressing")["reason"],
        "ReplicaSetUpdated"
    );

    w.advance(10);
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(d["status"]["readyReplicas"], 4);
    assert_eq!(d["status"]["availableReplicas"], 4);
    assert_eq!(
        condition(&d, "Available").expect("available")["status"],
        "True"
    );
    let progressing = condition(&d, "Progressing").expect("progressing");
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        progressing["message"],
        json!(format!(
            "ReplicaSet \"{rs_name}\" has successfully progressed."
        ))
    );
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    let pods = w.pods_of(rs);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running"));
    let events = w.events_for("web");
    assert_eq!(
        events[0],
        (
            "ScalingReplicaSet".into(),
            format!("Scaled up replica set {rs_name} from 0 to 4"),
            1
        )
    );
}

/// Advances one second at a time until `until` holds, recording every distinct
/// `(old.spec, new.spec)` pair seen on the way and checking the rollout's bounds.
fn rollout_steps(w: &World, name: &str, min_available: i64, max_total: i64) -> Vec<(i64, i64)> {
    let mut steps: Vec<(i64, i64)> = Vec::new();
    for _ in 0..300 {
        let sizes = w.rs_sizes(name);
        assert_eq!(sizes.len(), 2, "one old and one new ReplicaSet");
        let step = (sizes[0].0, sizes[1].0);
        if steps.last() != Some(&step) {
            steps.push(step);
        }
        let rs = w.replicasets(name);
        let available: i64 = rs
            .iter()
            .map(|r| r["status"]["availableReplicas"].as_i64().unwrap_or(0))
            .sum();
        assert!(
            available >= min_available,
            "availability {available} dropped below {min_available}"
        );
        assert!(
            step.0 + step.1 <= max_total,
            "surge beyond {max_total}: {step:?}"
        );
        let d = w.get(*kinds::DEPLOYMENTS, name);
        let done = step.0 == 0
            && d["status"]["updatedReplicas"] == d["spec"]["replicas"]
            && d["status"]["availableReplicas"] == d["spec"]["replicas"]
            && d["status"]["replicas"] == d["spec"]["replicas"];
        let success =
            w.rollout_status(name) == Ok(format!("deployment \"{name}\" successfully rolled out"));
        assert_eq!(
            success,
            done,
            "rollout status at {step:?}: {:?}",
            w.rollout_status(name)
        );
        if done {
            let reason = condition(&d, "Progressing").expect("progressing")["reason"].clone();
            assert_eq!(reason, "NewReplicaSetAvailable");
            return steps;
        }
        w.advance(1);
    }
    panic!("rollout did not finish: {steps:?}");
}

#[test]
fn rolling_update_moves_one_pod_at_a_time_with_25_percent() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 4, "web:1.0"));
    w.advance(10);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );

    w.set_image("web", "web:2.0");
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(
        w.rollout_status("web"),
        Ok("Waiting for deployment spec update to be observed...".into())
    );
    assert_eq!(d["metadata"]["generation"], 2);
    w.ctl.settle();
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(revision(&d), 2);
    let rs = w.replicasets("web");
    assert_eq!(revision(&rs[1]), 2);
    assert_eq!(
        rs[1]["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:2.0"
    );
    // maxSurge 25% of 4 → 1 (up), maxUnavailable 25% → 1 (down): 5 pods at most, 3 available.
    // maxSurge 25% of 4 → 1 (up), maxUnavailable 25% → 1 (down): at most 5 pods, at least 3
    // available. The first sync makes room (4 → 3 old) and fills it (0 → 1 new); the next one
    // sees 4 < 5 pods and grows the new ReplicaSet again.
    assert_eq!(
        w.rs_sizes("web").iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![3, 2]
    );
    assert_eq!(
        w.rollout_status("web"),
        Ok("Waiting for deployment \"web\" rollout to finish: 2 out of 4 new replicas have been updated...".into())
    );

    let steps = rollout_steps(&w, "web", 3, 5);
    assert_eq!(steps, vec![(3, 2), (1, 4), (0, 4)]);

    let old = &w.replicasets("web")[0];
    let new = &w.replicasets("web")[1];
    let events: Vec<String> = w.events_for("web").into_iter().map(|e| e.1).collect();
    let (o, n) = (
        old["metadata"]["name"].as_str().unwrap_or_default(),
        new["metadata"]["name"].as_str().unwrap_or_default(),
    );
    assert_eq!(
        events[1..],
        [
            format!("Scaled up replica set {n} from 0 to 1"),
            format!("Scaled down replica set {o} from 4 to 3"),
            format!("Scaled up replica set {n} from 1 to 2"),
            format!("Scaled down replica set {o} from 3 to 1"),
            format!("Scaled up replica set {n} from 2 to 4"),
            format!("Scaled down replica set {o} from 1 to 0"),
        ]
    );
}

#[test]
fn rolling_update_with_30_percent_surge_and_no_unavailability() {
    let w = world();
    let mut d = deployment("api", 10, "api:1");
    d["spec"]["strategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 0}});
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(10);
    assert_eq!(
        w.rollout_status("api"),
        Ok("deployment \"api\" successfully rolled out".into())
    );
    w.set_image("api", "api:2");
    w.ctl.settle();
    // Surge ceil(3.0) = 3, unavailable 0: never fewer than 10 available, never more than 13.
    let steps = rollout_steps(&w, "api", 10, 13);
    assert_eq!(steps, vec![(10, 3), (7, 6), (4, 9), (1, 10), (0, 10)]);
}

/// What `kubectl rollout undo --to-revision=N` sends (R10.3): the ReplicaSet's template without
/// its hash label, and the Deployment's skip-list annotations plus the ReplicaSet's others.
fn rollout_undo(w: &World, name: &str, to_revision: i64) {
    let rs = w
        .replicasets(name)
        .into_iter()
        .find(|rs| revision(rs) == to_revision)
        .expect("revision exists");
    let mut template = rs["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .expect("labels")
        .remove("pod-template-hash");
    let skip = [
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
    ];
    w.edit(*kinds::DEPLOYMENTS, name, |d| {
        let mut annotations = serde_json::Map::new();
        for (k, v) in d["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            if skip.contains(&k.as_str()) {
                annotations.insert(k, v);
            }
        }
        for (k, v) in rs["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            if !skip.contains(&k.as_str()) {
                annotations.insert(k, v);
            }
        }
        d["spec"]["template"] = template.clone();
        d["metadata"]["annotations"] = json!(annotations);
    });
}

fn set_change_cause(w: &World, name: &str, cause: &str) {
    w.edit(*kinds::DEPLOYMENTS, name, |d| {
        d["metadata"]["annotations"]["kubernetes.io/change-cause"] = json!(cause);
    });
}

#[test]
fn rollback_reuses_the_old_replicaset_with_a_new_revision() {
    let w = world();
    let mut d = deployment("web", 2, "web:1");
    d["metadata"]["annotations"] = json!({"kubernetes.io/change-cause": "initial"});
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(10);
    set_change_cause(&w, "web", "upgrade to 2");
    w.set_image("web", "web:2");
    w.advance(30);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    let rs = w.replicasets("web");
    assert_eq!(
        rs.iter().map(|r| revision(r)).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // change-cause is copied to the ReplicaSet (R10.2's CHANGE-CAUSE column).
    assert_eq!(
        rs[0]["metadata"]["annotations"]["kubernetes.io/change-cause"],
        "initial"
    );
    assert_eq!(
        rs[1]["metadata"]["annotations"]["kubernetes.io/change-cause"],
        "upgrade to 2"
    );
    let first = rs[0]["metadata"]["name"].clone();

    rollout_undo(&w, "web", 1);
    w.ctl.settle();
    let rs = w.replicasets("web");
    assert_eq!(rs.len(), 2, "no new ReplicaSet: the old one is reused");
    assert_eq!(rs[1]["metadata"]["name"], first);
    assert_eq!(revision(&rs[1]), 3);
    assert_eq!(
        rs[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
    assert_eq!(revision(&w.get(*kinds::DEPLOYMENTS, "web")), 3);
    assert_eq!(
        w.get(*kinds::DEPLOYMENTS, "web")["metadata"]["annotations"]["kubernetes.io/change-cause"],
        "initial"
    );
    w.advance(30);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    assert_eq!(w.rs_sizes("web"), vec![(0, 0), (2, 2)]);

    // Undo again: revision 2 comes back as 4; numbers are never reused.
    rollout_undo(&w, "web", 2);
    w.advance(30);
    let rs = w.replicasets("web");
    assert_eq!(
        rs.iter().map(|r| revision(r)).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert_eq!(
        rs[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "2"
    );
    assert_eq!(
        rs[1]["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:2"
    );
}

#[test]
fn revision_history_limit_deletes_the_oldest_scaled_down_replicasets() {
    let w = world();
    let mut d = deployment("web", 1, "web:1");
    d["spec"]["revisionHistoryLimit"] = json!(2);
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(10);
    for v in 2..=5 {
        w.set_image("web", &format!("web:{v}"));
        w.advance(30);
        assert_eq!(
            w.rollout_status("web"),
            Ok("deployment \"web\" successfully rolled out".into())
        );
    }
    let revisions: Vec<i64> = w.replicasets("web").iter().map(|r| revision(r)).collect();
    assert_eq!(
        revisions,
        vec![3, 4, 5],
        "the new ReplicaSet and two old ones remain"
    );

    // With a limit of 0 the old ReplicaSet goes the moment the rollout completes.
    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["revisionHistoryLimit"] = json!(0)
    });
    w.set_image("web", "web:6");
    while w.rollout_status("web") != Ok("deployment \"web\" successfully rolled out".into()) {
        w.advance(1);
    }
    let revisions: Vec<i64> = w.replicasets("web").iter().map(|r| revision(r)).collect();
    assert_eq!(revisions, vec![6]);
}

#[test]
fn paused_deployment_scales_but_does_not_roll_out_until_resumed() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 4, "web:1"));
    w.advance(10);
    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["paused"] = json!(true)
    });
    w.ctl.settle();
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    let progressing = condition(&d, "Progressing").expect("progressing");
    assert_eq!(progressing["status"], "Unknown");
    assert_eq!(progressing["reason"], "DeploymentPaused");
    assert_eq!(progressing["message"], "Deployment is paused");

    w.set_image("web", "web:2");
    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["replicas"] = json!(6)
    });
    w.advance(10);
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    assert_eq!(w.replicasets("web").len(), 1, "no rollout while paused");
    assert_eq!(w.rs_sizes("web"), vec![(6, 6)], "scaling still happens");
    let rs_name = w.replicasets("web")[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        w.events_for("web")
            .iter()
            .any(|e| e.1 == format!("Scaled up replica set {rs_name} from 4 to 6"))
    );

    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["paused"] = json!(false)
    });
    w.ctl.settle();
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(w.replicasets("web").len(), 2);
    assert_eq!(revision(&d), 2);
    w.advance(60);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    assert_eq!(w.rs_sizes("web"), vec![(0, 0), (6, 6)]);
}

#[test]
fn recreate_stops_every_old_pod_before_starting_new_ones() {
    let w = world();
    let mut d = deployment("db", 3, "db:1");
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(10);
    w.set_image("db", "db:2");
    w.ctl.settle();
    assert_eq!(
        w.replicasets("db").len(),
        1,
        "no new ReplicaSet while old pods run"
    );
    assert_eq!(w.rs_sizes("db"), vec![(0, 0)]);
    let old = w.replicasets("db")[0].clone();
    let pods = w.pods_of(&old);
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["deletionTimestamp"].is_string())
    );
    let mut saw_both = false;
    for _ in 0..30 {
        w.advance(1);
        let rs = w.replicasets("db");
        let old_pods = w.pods_of(&rs[0]).len();
        let new_pods = rs.get(1).map(|r| w.pods_of(r).len()).unwrap_or(0);
        saw_both |= old_pods > 0 && new_pods > 0;
    }
    assert!(!saw_both, "old and new pods never overlap");
    assert_eq!(w.rs_sizes("db"), vec![(0, 0), (3, 3)]);
    assert_eq!(
        w.rollout_status("db"),
        Ok("deployment \"db\" successfully rolled out".into())
    );
}

#[test]
fn scaling_mid_rollout_is_proportional_like_the_documented_example() {
    // kubernetes.io "Proportional scaling": 10 replicas, maxSurge 3, maxUnavailable 2, an
    // unresolvable image; scaling to 15 adds 3 to the old ReplicaSet and 2 to the new one.
    let w = world();
    let mut d = deployment("nginx", 10, "nginx:1.14.2");
    d["spec"]["strategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}});
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(10);
    w.images.missing("nginx:sometag");
    w.set_image("nginx", "nginx:sometag");
    w.advance(10);
    assert_eq!(
        w.rs_sizes("nginx").iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![8, 5]
    );

    w.edit(*kinds::DEPLOYMENTS, "nginx", |d| {
        d["spec"]["replicas"] = json!(15)
    });
    w.ctl.settle();
    assert_eq!(
        w.rs_sizes("nginx").iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![11, 7]
    );
    for rs in w.replicasets("nginx") {
        let ann = &rs["metadata"]["annotations"];
        assert_eq!(ann["deployment.kubernetes.io/desired-replicas"], "15");
        assert_eq!(ann["deployment.kubernetes.io/max-replicas"], "18");
    }
}

#[test]
fn min_ready_seconds_delays_availability() {
    let w = world();
    let mut d = deployment("web", 2, "web:1");
    d["spec"]["minReadySeconds"] = json!(10);
    w.create(*kinds::DEPLOYMENTS, d);
    w.advance(6);
    let rs = &w.replicasets("web")[0];
    assert_eq!(rs["spec"]["minReadySeconds"], 10);
    assert_eq!(rs["status"]["readyReplicas"], 2);
    assert_eq!(rs["status"]["availableReplicas"], serde_json::Value::Null);
    assert_eq!(
        w.rollout_status("web"),
        Ok("Waiting for deployment \"web\" rollout to finish: 0 of 2 updated replicas are available...".into())
    );
    // Ready at +5s, available 10s later.
    w.advance(8);
    assert_eq!(
        w.rollout_status("web").map(|s| s.contains("0 of 2")),
        Ok(true)
    );
    w.advance(1);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}
