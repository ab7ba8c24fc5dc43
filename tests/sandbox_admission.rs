//! What the sandbox adds to objects as a real cluster does: the default objects of every
//! namespace (kube-controller-manager), what admission adds to pods (kube-apiserver), and which
//! writes count as a new generation (controllers, manual clock).

use crate::controllers_support;

use controllers_support::*;
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

#[test]
fn every_namespace_gets_its_default_service_account_and_root_ca_back() {
    let w = world();
    let sa = || w.try_get(*kinds::SERVICEACCOUNTS, "default");
    let ca = || w.try_get(*kinds::CONFIGMAPS, "kube-root-ca.crt");
    assert!(sa().is_some(), "created with the namespace");
    let bundle = ca().expect("root CA ConfigMap");
    assert!(
        bundle["data"]["ca.crt"]
            .as_str()
            .is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----")),
        "{bundle}"
    );

    for (res, name) in [
        (*kinds::SERVICEACCOUNTS, "default"),
        (*kinds::CONFIGMAPS, "kube-root-ca.crt"),
    ] {
        let before = w.get(res, name)["metadata"]["uid"].clone();
        w.cluster
            .delete(res, NS, name, &Default::default())
            .expect("delete");
        w.ctl.settle();
        let again = w.get(res, name);
        assert_ne!(again["metadata"]["uid"], before, "{name} made anew");
    }
}

/// What kube-apiserver 1.34's admission and defaulting added to a pod of a Deployment
/// (tests/fidelity compares the rest).
#[test]
fn pods_are_admitted_with_account_token_tolerations_and_priority() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 1, "web:1"));
    w.advance(10);
    let rs = w.replicasets("web")[0].clone();
    let pod = w.pods_of(&rs)[0].clone();
    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default");
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    let tolerated: Vec<&str> = spec["tolerations"]
        .as_array()
        .expect("tolerations")
        .iter()
        .filter(|t| t["effect"] == "NoExecute" && t["tolerationSeconds"] == 300)
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert_eq!(
        tolerated,
        [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable"
        ]
    );
    let volume = spec["volumes"][0]["name"].as_str().expect("token volume");
    assert!(
        volume.starts_with("kube-api-access-") && volume.len() == 21,
        "{volume}"
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"][0],
        json!({"name": volume, "readOnly": true,
               "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    );
    assert_eq!(
        spec["volumes"][0]["projected"]["sources"][1]["configMap"]["name"],
        "kube-root-ca.crt"
    );
    // The pod template stays as written.
    let template = &w.get(*kinds::DEPLOYMENTS, "web")["spec"]["template"]["spec"];
    assert!(template.get("serviceAccountName").is_none(), "{template}");
    assert!(template.get("enableServiceLinks").is_none(), "{template}");
}

#[test]
fn pods_and_endpoint_slices_count_generations() {
    let w = world();
    w.create(*kinds::DEPLOYMENTS, deployment("web", 1, "web:1"));
    w.create(
        *kinds::SERVICES,
        json!({"metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    );
    w.advance(10);
    let rs = w.replicasets("web")[0].clone();
    let pod = w.pods_of(&rs)[0].clone();
    // Scheduling (a binding) and the kubelet's status updates are no new generation.
    assert_eq!(pod["metadata"]["generation"], 1);
    let name = pod["metadata"]["name"].as_str().expect("pod name");
    let updated = w.edit(*kinds::PODS, name, |p| {
        p["spec"]["activeDeadlineSeconds"] = json!(600);
    });
    assert_eq!(updated["metadata"]["generation"], 2, "a spec change");

    let slices = w.list(*kinds::ENDPOINTSLICES);
    let slice = &slices[0];
    let generation = slice["metadata"]["generation"]
        .as_i64()
        .expect("generation");
    assert!(generation >= 2, "created, then the pod added: {slice}");
    assert!(
        slice["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string(),
        "{slice}"
    );
    let relabelled = w.edit(
        *kinds::ENDPOINTSLICES,
        slice["metadata"]["name"].as_str().expect("name"),
        |s| {
            s["metadata"]["labels"]["extra"] = json!("x");
        },
    );
    assert_eq!(
        relabelled["metadata"]["generation"],
        generation + 1,
        "labels count"
    );
}
