//! What kube-controller-manager puts into every namespace: the `default` ServiceAccount (the
//! serviceaccount controller) and the `kube-root-ca.crt` ConfigMap with the cluster's CA
//! bundle (the root-ca-cert-publisher). Both come back when deleted. Pods name the
//! ServiceAccount and mount the ConfigMap (the ServiceAccount admission plugin).

use serde_json::json;

use super::Ctx;
use crate::ops::WriteOpts;
use crate::resources::kinds;

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";

/// The sandbox's cluster CA certificate, as the ConfigMap publishes it. The sandbox serves
/// plain HTTP, so nothing verifies against it; its private key was discarded when it was made.
const CLUSTER_CA: &str = include_str!("cluster-ca.crt");

const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// Creates what is missing in namespace `ns` (nothing while it terminates or once it is gone).
pub fn reconcile(ctx: &Ctx<'_>, ns: &str) {
    let store = &ctx.cluster.store;
    let active = store
        .get(*kinds::NAMESPACES, "", ns)
        .is_some_and(|n| n["metadata"].get("deletionTimestamp").is_none());
    if !active {
        return;
    }
    if store
        .get(*kinds::SERVICEACCOUNTS, ns, DEFAULT_SERVICE_ACCOUNT)
        .is_none()
    {
        let sa = json!({"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}});
        let _ = ctx
            .cluster
            .create(*kinds::SERVICEACCOUNTS, ns, sa, &WriteOpts::default());
    }
    if store
        .get(*kinds::CONFIGMAPS, ns, ROOT_CA_CONFIG_MAP)
        .is_none()
    {
        let cm = json!({
            "metadata": {
                "name": ROOT_CA_CONFIG_MAP,
                "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
            },
            "data": {"ca.crt": CLUSTER_CA},
        });
        let _ = ctx
            .cluster
            .create(*kinds::CONFIGMAPS, ns, cm, &WriteOpts::default());
    }
}
