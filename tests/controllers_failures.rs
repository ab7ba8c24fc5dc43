//! Failure modes under the sandbox controllers: images that cannot be pulled and containers
//! that crash, as rollouts and `kubectl rollout status` see them.

use crate::controllers_support;

use controllers_support::*;
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

fn container_state(pod: &serde_json::Value) -> (String, String, i64) {
    let cs = &pod["status"]["containerStatuses"][0];
    let waiting = &cs["state"]["waiting"];
    (
        waiting["reason"]
            .as_str()
            .unwrap_or(if cs["state"]["running"].is_object() {
                "Running"
            } else {
                ""
            })
            .to_string(),
        waiting["message"].as_str().unwrap_or_default().to_string(),
        cs["restartCount"].as_i64().unwrap_or(0),
    )
}

#[test]
fn missing_image_backs_off_and_exceeds_the_progress_deadline() {
    let w = world();
    w.images.missing("web:nope");
    let mut d = deployment("web", 2, "web:nope");
    d["spec"]["progressDeadlineSeconds"] = json!(30);
    w.create(*kinds::DEPLOYMENTS, d);
    w.ctl.settle();
    let rs = w.replicasets("web")[0].clone();
    let pod_name = w.pods_of(&rs)[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pod = || w.get(*kinds::PODS, &pod_name);
    assert_eq!(container_state(&pod()).0, "ContainerCreating");

    w.advance(2);
    let (reason, message, _) = container_state(&pod());
    assert_eq!(reason, "ErrImagePull");
    assert!(message.contains("web:nope: not found"), "{message}");
    assert_eq!(pod()["status"]["phase"], "Pending");
    w.advance(1);
    let (reason, message, _) = container_state(&pod());
    assert_eq!(reason, "ImagePullBackOff");
    assert_eq!(message, "Back-off pulling image \"web:nope\"");
    let events = w.events_for(&pod_name);
    for (reason, message) in [
        ("Pulling", "Pulling image \"web:nope\""),
        ("Failed", "Error: ErrImagePull"),
        ("BackOff", "Back-off pulling image \"web:nope\""),
        ("Failed", "Error: ImagePullBackOff"),
    ] {
        assert!(
            events.iter().any(|e| e.0 == reason && e.1 == message),
            "{reason}: {message} in {events:?}"
        );
    }
    assert_eq!(
        w.rollout_status("web"),
        Ok("Waiting for deployment \"web\" rollout to finish: 0 of 2 updated replicas are available...".into())
    );

    // Retries: back-off 10s, then pull (2s) fails again → ErrImagePull, then 20s.
    w.advance(12);
    assert_eq!(container_state(&pod()).0, "ErrImagePull");
    w.advance(1);
    assert_eq!(container_state(&pod()).0, "ImagePullBackOff");
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    assert_eq!(
        condition(&d, "Progressing").expect("progressing")["reason"],
        "ReplicaSetUpdated"
    );

    // No progress for 30s since the last update (at creation) → deadline exceeded.
    w.advance(20);
    let d = w.get(*kinds::DEPLOYMENTS, "web");
    let progressing = condition(&d, "Progressing").expect("progressing");
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default();
    assert_eq!(
        progressing["message"],
        json!(format!(
            "ReplicaSet \"{rs_name}\" has timed out progressing."
        ))
    );
    assert_eq!(
        condition(&d, "Available").expect("available")["status"],
        "False"
    );
    assert_eq!(
        w.rollout_status("web"),
        Err("deployment \"web\" exceeded its progress deadline".into())
    );

    // The image gets pushed: the next pull succeeds and the rollout completes after all.
    w.images.present("web:nope");
    w.advance(60);
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    let progressing = condition(&w.get(*kinds::DEPLOYMENTS, "web"), "Progressing")
        .cloned()
        .expect("progressing");
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
}

#[test]
fn crashing_image_loops_with_growing_backoff() {
    let w = world();
    w.images
        .fault("web:bad", shipdeck::sandbox::images::Fault::Crash);
    w.create(*kinds::DEPLOYMENTS, deployment("web", 3, "web:bad"));
    w.ctl.settle();
    let rs = w.replicasets("web")[0].clone();
    let pod_name = w.pods_of(&rs)[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pod = || w.get(*kinds::PODS, &pod_name);
    // Pull 2s, start 1s, runs 3s, exits 1 → restarted at once; the second exit backs off.
    let mut timeline = Vec::new();
    for _ in 0..120 {
        w.advance(1);
        let p = pod();
        let (reason, message, restarts) = container_state(&p);
        if timeline
            .last()
            .map(|(r, _, n): &(String, String, i64)| (r.clone(), *n))
            != Some((reason.clone(), restarts))
        {
            timeline.push((reason, message, restarts));
        }
        assert_ne!(
            p["status"]["conditions"][2]["status"], "True",
            "a crashing pod is never Ready"
        );
    }
    let reasons: Vec<(String, i64)> = timeline.iter().map(|(r, _, n)| (r.clone(), *n)).collect();
    assert_eq!(
        reasons[..9],
        [
            ("ContainerCreating".into(), 0),
            ("Running".into(), 0),
            ("Running".into(), 1),
            ("CrashLoopBackOff".into(), 1),
            ("Running".into(), 2),
            ("CrashLoopBackOff".into(), 2),
            ("Running".into(), 3),
            ("CrashLoopBackOff".into(), 3),
            ("Running".into(), 4),
        ]
    );
    let backoffs: Vec<&str> = timeline
        .iter()
        .filter(|t| t.0 == "CrashLoopBackOff")
        .map(|t| t.1.split(' ').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(backoffs[..3], ["10s", "20s", "40s"]);
    assert!(
        timeline[3]
            .1
            .starts_with("back-off 10s restarting failed container=web pod=web-")
    );
    let p = pod();
    let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 1);
    assert_eq!(last["reason"], "Error");
    assert_eq!(p["status"]["phase"], "Running");
    let backoff_events: Vec<_> = w
        .events_for(&pod_name)
        .into_iter()
        .filter(|e| e.0 == "BackOff")
        .collect();
    assert_eq!(backoff_events.len(), 1, "repeats aggregate into one event");
    assert!(
        backoff_events[0]
            .1
            .starts_with("Back-off restarting failed container web in pod web-")
    );
    assert!(backoff_events[0].2 >= 3);
    // Pods added later find the image cached on their node: they crash all the same.
    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["replicas"] = json!(6)
    });
    w.advance(30);
    let pods = w.pods_of(&rs);
    assert_eq!(pods.len(), 6);
    for p in pods {
        let restarts = p["status"]["containerStatuses"][0]["restartCount"].as_i64();
        assert!(
            restarts >= Some(1),
            "{}: {restarts:?}",
            p["metadata"]["name"]
        );
    }
    let logs = w.cluster.store.log(NS, &pod_name, "web");
    assert!(logs.iter().any(|l| l.contains("FATAL")), "{logs:?}");
}
