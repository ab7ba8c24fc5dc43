//! Deployment rollouts against the sandbox controllers, driven by a manual clock.

mod controllers_support;

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
