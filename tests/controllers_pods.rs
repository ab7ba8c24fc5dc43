//! Pods, Services, Jobs and housekeeping under the sandbox controllers (manual clock).

use crate::controllers_support;

use std::time::Duration;

use controllers_support::*;
use serde_json::{Value, json};
use shipdeck::sandbox::images::Fault;
use shipdeck::sandbox::resources::kinds;

fn names(pods: &[std::sync::Arc<Value>]) -> Vec<String> {
    let mut v: Vec<String> = pods
        .iter()
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn nodes_are_registered_and_ready() {
    let w = world();
    let nodes = w.cluster.store.list(*kinds::NODES, None).0;
    assert_eq!(nodes.len(), 3);
    for n in &nodes {
        assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.34.4");
        let ready = n["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .expect("Ready condition");
        assert_eq!(ready["status"], "True");
        assert_eq!(n["status"]["addresses"][0]["type"], "InternalIP");
    }
}

#[test]
fn scale_down_terminates_pods_gracefully() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 3, "web:1"));
    w.advance(10);
    let rs = w.replicasets("web")[0].clone();
    assert_eq!(w.pods_of(&rs).len(), 3);
    w.edit(*kinds::DEPLOYMENTS, "web", |d| {
        d["spec"]["replicas"] = json!(1)
    });
    w.ctl.settle();

    let pods = w.pods_of(&rs);
    let terminating: Vec<_> = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_string())
        .cloned()
        .collect();
    assert_eq!(pods.len(), 3, "deleted pods linger while terminating");
    assert_eq!(terminating.len(), 2);
    assert_eq!(terminating[0]["metadata"]["deletionGracePeriodSeconds"], 30);
    let rs_now = w.get(
        *kinds::REPLICASETS,
        rs["metadata"]["name"].as_str().unwrap_or_default(),
    );
    assert_eq!(
        rs_now["status"]["replicas"], 1,
        "terminating pods are not counted"
    );
    let victim = terminating[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        w.events_for(&victim)
            .iter()
            .any(|e| e.0 == "Killing" && e.1 == "Stopping container web")
    );
    assert!(
        w.events_for(rs_now["metadata"]["name"].as_str().unwrap_or_default())
            .iter()
            .any(|e| e.0 == "SuccessfulDelete" && e.1 == format!("Deleted pod: {victim}"))
    );
    assert!(!w.cluster.store.log(NS, &victim, "web").is_empty());

    w.advance(1);
    assert_eq!(w.pods_of(&rs).len(), 3);
    w.advance(1);
    assert_eq!(w.pods_of(&rs).len(), 1, "gone after the termination delay");
    assert!(
        w.cluster.store.log(NS, &victim, "web").is_empty(),
        "logs go with the pod"
    );
    assert_eq!(
        w.rollout_status("web"),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

fn service(name: &str, selector: Value) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })
}

fn slice_of(w: &World, svc: &str) -> Value {
    let slices: Vec<_> = w
        .list(*kinds::ENDPOINTSLICES)
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == svc)
        .collect();
    assert_eq!(slices.len(), 1, "one slice per Service");
    (*slices[0]).clone()
}

fn slice_pods(slice: &Value) -> Vec<String> {
    let mut v: Vec<String> = slice["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["targetRef"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn endpoint_slices_follow_a_blue_green_selector_swap() {
    let w = world();
    for color in ["blue", "green"] {
        let mut d = deployment(&format!("web-{color}"), 2, &format!("web:{color}"));
        d["spec"]["selector"]["matchLabels"] = json!({"app": "web", "version": color});
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "version": color});
        w.create(*kinds::DEPLOYMENTS, d);
    }
    let svc = w.create(
        *kinds::SERVICES,
        service("web", json!({"app": "web", "version": "blue"})),
    );
    w.ctl.settle();
    let blue = w.pods_of(&w.replicasets("web-blue")[0]);
    let green = w.pods_of(&w.replicasets("web-green")[0]);

    let slice = slice_of(&w, "web");
    assert!(
        slice["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("web-")
    );
    assert_eq!(
        slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(
        slice["metadata"]["ownerReferences"][0]["uid"],
        svc["metadata"]["uid"]
    );
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice_pods(&slice), names(&blue));
    assert_eq!(
        slice["endpoints"][0]["conditions"]["ready"], false,
        "not ready yet"
    );
    assert_eq!(
        slice["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    let ep = w.get(*kinds::ENDPOINTS, "web");
    assert_eq!(
        ep["subsets"][0]["notReadyAddresses"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    w.advance(10);
    let slice = slice_of(&w, "web");
    assert!(
        slice["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["conditions"]["ready"] == true)
    );
    let ep = w.get(*kinds::ENDPOINTS, "web");
    assert_eq!(
        ep["subsets"][0]["addresses"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        ep["subsets"][0]["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );

    // `kubectl patch svc web -p '{"spec":{"selector":{"version":"green"}}}'`: moves at once.
    w.edit(*kinds::SERVICES, "web", |s| {
        s["spec"]["selector"]["version"] = json!("green")
    });
    w.ctl.settle();
    let slice = slice_of(&w, "web");
    assert_eq!(slice_pods(&slice), names(&green));
    let ep = w.get(*kinds::ENDPOINTS, "web");
    let ep_pods: Vec<String> = {
        let mut v: Vec<String> = ep["subsets"][0]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                a["targetRef"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(ep_pods, names(&green));

    // Terminating pods stay in the slice marked terminating, and leave the Endpoints.
    w.edit(*kinds::DEPLOYMENTS, "web-green", |d| {
        d["spec"]["replicas"] = json!(1)
    });
    w.ctl.settle();
    let slice = slice_of(&w, "web");
    let terminating: Vec<_> = slice["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["conditions"]["terminating"] == true)
        .collect();
    assert_eq!(terminating.len(), 1);
    assert_eq!(terminating[0]["conditions"]["ready"], false);
    assert_eq!(terminating[0]["conditions"]["serving"], true);
    let ep = w.get(*kinds::ENDPOINTS, "web");
    assert_eq!(
        ep["subsets"][0]["addresses"].as_array().map(Vec::len),
        Some(1)
    );
    w.advance(3);
    assert_eq!(slice_pods(&slice_of(&w, "web")).len(), 1);

    // Deleting the Service takes its slice (owner) and its Endpoints along.
    w.cluster
        .delete(*kinds::SERVICES, NS, "web", &Default::default())
        .expect("delete service");
    w.ctl.settle();
    assert!(w.list(*kinds::ENDPOINTSLICES).is_empty());
    assert!(w.try_get(*kinds::ENDPOINTS, "web").is_none());
}

fn job(name: &str, image: &str) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {"backoffLimit": 1, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "build", "image": image}],
        }}},
    })
}

#[test]
fn job_runs_to_completion_with_hook_output_in_its_log() {
    let w = world();
    w.ctl.on_job_complete(Box::new(|job| {
        vec![format!(
            "pushed image for {}",
            job["metadata"]["name"].as_str().unwrap_or_default()
        )]
    }));
    let created = w.create(*kinds::JOBS, job("build-42", "builder:1"));
    assert_eq!(
        created["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        created["metadata"]["uid"]
    );
    w.ctl.settle();
    let pods = w.pods_of(&created);
    assert_eq!(pods.len(), 1);
    let pod_name = pods[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(pod_name.starts_with("build-42-"));
    assert_eq!(pods[0]["metadata"]["labels"]["job-name"], "build-42");
    assert_eq!(
        pods[0]["metadata"]["finalizers"],
        json!(["batch.kubernetes.io/job-tracking"])
    );
    let j = w.get(*kinds::JOBS, "build-42");
    assert_eq!(j["status"]["active"], 1);
    assert!(j["status"]["startTime"].is_string());

    w.advance(5);
    assert_eq!(w.get(*kinds::PODS, &pod_name)["status"]["phase"], "Running");
    assert_eq!(w.get(*kinds::JOBS, "build-42")["status"]["ready"], 1);
    w.advance(10);
    let pod = w.get(*kinds::PODS, &pod_name);
    assert_eq!(pod["status"]["phase"], "Succeeded");
    let term = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["exitCode"], 0);
    assert_eq!(term["reason"], "Completed");
    assert_eq!(
        pod["metadata"]["finalizers"],
        Value::Null,
        "counted, so the finalizer is gone"
    );
    let j = w.get(*kinds::JOBS, "build-42");
    assert_eq!(j["status"]["succeeded"], 1);
    assert_eq!(j["status"]["active"], Value::Null);
    assert!(j["status"]["completionTime"].is_string());
    let kinds_: Vec<&str> = j["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds_, ["SuccessCriteriaMet", "Complete"]);
    assert_eq!(j["status"]["conditions"][1]["reason"], "CompletionsReached");
    assert!(
        w.events_for("build-42")
            .iter()
            .any(|e| e.0 == "Completed" && e.1 == "Job completed")
    );
    let log = w.cluster.store.log(NS, &pod_name, "build");
    assert!(
        log.iter().any(|l| l == "pushed image for build-42"),
        "{log:?}"
    );
    assert!(
        log.last()
            .is_some_and(|l| l.contains("job finished successfully"))
    );
}

#[test]
fn failing_job_stops_after_its_backoff_limit() {
    let w = world();
    w.images.fault("builder:broken", Fault::Crash);
    w.create(*kinds::JOBS, job("build-43", "builder:broken"));
    w.advance(120);
    let j = w.get(*kinds::JOBS, "build-43");
    assert_eq!(
        j["status"]["failed"], 2,
        "backoffLimit 1: the second failure ends it"
    );
    let failed = j["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Failed"))
        .cloned()
        .expect("Failed condition");
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    let pods = w.pods_of(&j);
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Failed"));
}

#[test]
fn a_bare_pod_is_scheduled_and_runs() {
    let w = world();
    w.create(
        *kinds::PODS,
        json!({"metadata": {"name": "debug"},
        "spec": {"containers": [{"name": "sh", "image": "busybox:1.36"}]}}),
    );
    w.advance(6);
    let pod = w.get(*kinds::PODS, "debug");
    assert!(
        pod["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| n.starts_with("dev-worker"))
    );
    assert_eq!(pod["status"]["phase"], "Running");
    // Defaulting adds no null fields (it once added `initContainers: null`, `ports: null`).
    assert!(pod["spec"].get("initContainers").is_none());
    assert!(pod["spec"]["containers"][0].get("ports").is_none());
    let events = w.events_for("debug");
    assert_eq!(events.iter().filter(|e| e.0 == "Scheduled").count(), 1);
    assert!(events.iter().any(|e| {
        e.0 == "Pulled"
            && e.1
                .starts_with("Successfully pulled image \"busybox:1.36\" in 2s")
    }));
    assert_eq!(
        pod["status"]["containerStatuses"][0]["image"],
        "docker.io/library/busybox:1.36"
    );
}

#[test]
fn orphans_whose_owners_are_gone_are_collected() {
    let w = world();
    let owner = w.create(*kinds::CONFIGMAPS, json!({"metadata": {"name": "owner"}}));
    let reference = |uid: &Value| json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]);
    w.create(*kinds::CONFIGMAPS, json!({"metadata": {"name": "kept", "ownerReferences": reference(&owner["metadata"]["uid"])}}));
    w.create(*kinds::CONFIGMAPS, json!({"metadata": {"name": "dangling", "ownerReferences": reference(&json!("no-such-uid"))}}));
    w.ctl.settle();
    assert!(w.try_get(*kinds::CONFIGMAPS, "kept").is_some());
    assert!(w.try_get(*kinds::CONFIGMAPS, "dangling").is_none());
}

#[test]
fn running_pods_write_request_logs() {
    let w = world();
    w.images.fault("web:flaky", Fault::Errors(0.5));
    w.create(*kinds::DEPLOYMENTS, deployment("web", 1, "web:flaky"));
    w.advance(120);
    let pod = &w.pods_of(&w.replicasets("web")[0])[0];
    let log = w.cluster.store.log(
        NS,
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        "web",
    );
    assert!(log[0].contains("starting web version=flaky"), "{log:?}");
    let requests = log.iter().filter(|l| l.contains("status=")).count();
    let errors = log.iter().filter(|l| l.contains("status=500")).count();
    assert!(requests >= 20, "one line per 5s tick: {requests}");
    assert!(
        errors > 0 && errors < requests,
        "about half fail: {errors}/{requests}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_loop_settles_on_writes_and_clock_moves() {
    let w = world();
    let handle = w.ctl.spawn();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 2, "web:1"));
    let wait = |check: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(
                std::time::Instant::now() < deadline,
                "background loop did not catch up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait(&|| {
        w.try_get(*kinds::DEPLOYMENTS, "web")
            .is_some_and(|d| d["status"]["replicas"] == 2)
    });
    // Moving the manual clock wakes the loop at the pods' readiness instants.
    w.cluster.clock.advance(Duration::from_secs(10));
    wait(&|| w.rollout_status("web") == Ok("deployment \"web\" successfully rolled out".into()));
    handle.abort();
    assert!(handle.await.is_err_and(|e| e.is_cancelled()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_loop_follows_a_fast_real_clock() {
    use shipdeck::sandbox::clock::Clock;
    use shipdeck::sandbox::controllers::{Controllers, SimConfig};
    use shipdeck::sandbox::ops::{Cluster, WriteOpts};
    use shipdeck::sandbox::store::Store;
    use std::sync::Arc;

    // 200× real time: a pod's five seconds to Ready pass in 25 ms.
    let cluster = Arc::new(Cluster::new(
        "dev",
        Arc::new(Store::default()),
        Clock::real(200.0),
    ));
    cluster.ensure_namespace(NS).expect("namespace");
    let ctl = Controllers::new(
        cluster.clone(),
        Arc::new(TableImages::default()),
        SimConfig::default(),
    );
    let handle = ctl.spawn();
    cluster
        .create(
            *kinds::DEPLOYMENTS,
            NS,
            deployment("web", 3, "web:1"),
            &WriteOpts::default(),
        )
        .expect("create");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = cluster
            .get(*kinds::DEPLOYMENTS, NS, "web")
            .expect("deployment");
        if rollout_status(&d) == Ok("deployment \"web\" successfully rolled out".into()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rollout never finished: {}",
            d["status"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.abort();
}
