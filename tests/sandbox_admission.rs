//! What the sandbox adds to objects as a real cluster does: the default objects of every
//! namespace (kube-controller-manager), what admission adds to pods (kube-apiserver), and which
//! writes count as a new generation (controllers, manual clock).

use crate::controllers_support;

use controllers_support::*;
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
