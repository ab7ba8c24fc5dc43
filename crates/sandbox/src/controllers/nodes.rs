//! The simulated nodes: Ready Node objects, as a kind-style cluster's workers report them.

use serde_json::{Value, json};

use super::Ctx;
use super::state::State;
use super::util::{mix, stamp};
use crate::ops::WriteOpts;
use crate::resources::kinds;

pub const KUBELET_VERSION: &str = crate::api::discovery::VERSION;

/// The address a node reports, `172.18.0.N` like kind's docker network.
pub fn node_ip(index: usize) -> String {
    format!("172.18.0.{}", index + 2)
}

/// Creates the configured nodes that do not exist yet.
pub fn ensure(ctx: &Ctx<'_>, _st: &mut State) {
    for (i, name) in ctx.sim.nodes.iter().enumerate() {
        if ctx.cluster.store.get(*kinds::NODES, "", name).is_some() {
            continue;
        }
        let node = node_object(ctx, i, name);
        if let Err(e) = ctx
            .cluster
            .create(*kinds::NODES, "", node, &WriteOpts::default())
        {
            tracing::warn!(node = %name, error = %e, "cannot create sandbox node");
        }
    }
}

fn node_object(ctx: &Ctx<'_>, index: usize, name: &str) -> Value {
    let now = stamp(ctx.now);
    let id = |salt: &str| format!("{:016x}{:016x}", mix(name, 1), mix(salt, 2));
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let capacity = json!({"cpu": "8", "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                          "hugepages-2Mi": "0", "memory": "32863528Ki", "pods": "110"});
    json!({
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": format!("10.244.{index}.0/24"),
            "podCIDRs": [format!("10.244.{index}.0/24")],
            "providerID": format!("kind://docker/{}/{name}", ctx.cluster.name),
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": node_ip(index)},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": capacity,
            "capacity": capacity,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": id("boot"),
                "containerRuntimeVersion": "containerd://1.7.24",
                "kernelVersion": "6.1.0-31-amd64",
                // Deprecated; kubelets stopped reporting it in 1.31 (DisableNodeKubeProxyVersion).
                "kubeProxyVersion": "",
                "kubeletVersion": KUBELET_VERSION,
                "machineID": id("machine"),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": id("system"),
            },
        },
    })
}
