//! 5,000 pods in 200 Deployments (each behind a Service) rolled out and updated. Ignored by
//! default (slow in debug builds); run with
//! `cargo test --release --test suite controllers_scale -- --ignored --nocapture` to see timings.
//! It asserts the outcome only; the printed timings are for humans.

use crate::controllers_support;

use std::time::Instant;

use controllers_support::*;
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

const DEPLOYMENTS: usize = 200;
const REPLICAS: i64 = 25;

#[test]
#[ignore = "scale measurement; run explicitly"]
fn five_thousand_pods_roll_out_and_update() {
    let w = world();
    let start = Instant::now();
    for i in 0..DEPLOYMENTS {
        let name = format!("svc{i:03}");
        w.create(*kinds::DEPLOYMENTS, deployment(&name, REPLICAS, "app:1"));
        w.create(
            *kinds::SERVICES,
            json!({"metadata": {"name": name},
                   "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        );
    }
    println!(
        "create {DEPLOYMENTS} deployments + services: {:?}",
        start.elapsed()
    );

    let t = Instant::now();
    w.ctl.settle();
    println!("settle (RS + 5000 pods created): {:?}", t.elapsed());
    let t = Instant::now();
    w.advance(10);
    println!("advance 10s (all pods ready): {:?}", t.elapsed());
    let all_done = |w: &World| {
        (0..DEPLOYMENTS).all(|i| {
            let name = format!("svc{i:03}");
            w.rollout_status(&name) == Ok(format!("deployment \"{name}\" successfully rolled out"))
        })
    };
    assert!(all_done(&w));
    assert_eq!(w.list(*kinds::PODS).len(), DEPLOYMENTS * REPLICAS as usize);

    let t = Instant::now();
    w.set_image("svc007", "app:2");
    w.ctl.settle();
    w.advance(60);
    println!("one Deployment rolled (others idle): {:?}", t.elapsed());

    let t = Instant::now();
    for i in 0..DEPLOYMENTS {
        w.set_image(&format!("svc{i:03}"), "app:3");
    }
    w.ctl.settle();
    println!("settle after updating all {DEPLOYMENTS}: {:?}", t.elapsed());
    let t = Instant::now();
    w.advance(120);
    println!("advance 120s (every rollout completes): {:?}", t.elapsed());
    assert!(all_done(&w));
    let slice = w
        .list(*kinds::ENDPOINTSLICES)
        .into_iter()
        .find(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == "svc042")
        .expect("slice");
    assert_eq!(
        slice["endpoints"].as_array().map(Vec::len),
        Some(REPLICAS as usize)
    );
    println!("total: {:?}", start.elapsed());
}
