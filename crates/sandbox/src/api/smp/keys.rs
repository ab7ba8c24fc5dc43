//! Patch metadata for the built-in kinds: which lists merge, and by which key.
//!
//! Transcribed from the `patchStrategy`/`patchMergeKey` struct tags in
//! `staging/src/k8s.io/api/{core,apps,batch}/v1/types.go` and `apimachinery/pkg/apis/meta/v1`,
//! which is what `strategicpatch.LookupPatchMetadata` reads. Only fields on a path to a merging
//! list are listed; anything not listed behaves as an untagged field: maps merge key by key and
//! lists are replaced whole (so `tolerations`, `readinessGates`, Endpoints `subsets`,
//! EndpointSlice `endpoints`, Ingress `rules` and container `envFrom` replace, as upstream).
//! `retainKeys` needs no entry: the `$retainKeys` directive is honoured wherever it appears.

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    /// No strategy tag: the patch's list replaces the original.
    Replace,
    /// `patchStrategy:"merge"`. Maps merge by the key; `""` marks a list of scalars that merges
    /// as a set (`finalizers`).
    Merge(&'static str),
}

/// A struct's fields that carry patch metadata (or lead to fields that do).
#[derive(Debug)]
pub(crate) struct Node {
    fields: &'static [Field],
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    list: List,
    /// The field's struct type, or for a list its element type.
    child: Option<&'static Node>,
}

/// What a lookup of one JSON key yields: the list strategy and the type to descend into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub list: List,
    pub node: Option<&'static Node>,
}

impl Meta {
    /// A field of unknown type (custom resources, unlisted fields): untagged.
    pub const UNKNOWN: Meta = Meta {
        list: List::Replace,
        node: None,
    };
}

/// `LookupPatchMetadata` for `key` inside a value of type `node`.
pub(crate) fn lookup(node: Option<&'static Node>, key: &str) -> Meta {
    node.and_then(|n| n.fields.iter().find(|f| f.name == key))
        .map_or(Meta::UNKNOWN, |f| Meta {
            list: f.list,
            node: f.child,
        })
}

const fn merge(name: &'static str, key: &'static str, child: Option<&'static Node>) -> Field {
    Field {
        name,
        list: List::Merge(key),
        child,
    }
}

const fn nested(name: &'static str, child: &'static Node) -> Field {
    Field {
        name,
        list: List::Replace,
        child: Some(child),
    }
}

static OBJECT_META: Node = Node {
    fields: &[
        merge("finalizers", "", None),
        merge("ownerReferences", "uid", None),
    ],
};

/// `Container` and `EphemeralContainerCommon` carry the same tags.
static CONTAINER: Node = Node {
    fields: &[
        merge("ports", "containerPort", None),
        merge("env", "name", None),
        merge("volumeMounts", "mountPath", None),
        merge("volumeDevices", "devicePath", None),
    ],
};

static POD_SPEC: Node = Node {
    fields: &[
        // patchStrategy:"merge,retainKeys"
        merge("volumes", "name", None),
        merge("initContainers", "name", Some(&CONTAINER)),
        merge("containers", "name", Some(&CONTAINER)),
        merge("ephemeralContainers", "name", Some(&CONTAINER)),
        merge("imagePullSecrets", "name", None),
        merge("hostAliases", "ip", None),
        merge("topologySpreadConstraints", "topologyKey", None),
        merge("schedulingGates", "name", None),
        // patchStrategy:"merge,retainKeys"
        merge("resourceClaims", "name", None),
    ],
};

static POD_STATUS: Node = Node {
    fields: &[
        merge("conditions", "type", None),
        merge("podIPs", "ip", None),
        merge("hostIPs", "ip", None),
        merge("resourceClaimStatuses", "name", None),
    ],
};

static POD: Node = Node {
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &POD_SPEC),
        nested("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE_SPEC: Node = Node {
    fields: &[nested("metadata", &OBJECT_META), nested("spec", &POD_SPEC)],
};

/// Deployment, ReplicaSet and Job specs: only the pod template has tagged lists.
static WORKLOAD_SPEC: Node = Node {
    fields: &[nested("template", &POD_TEMPLATE_SPEC)],
};

/// Deployment, ReplicaSet, Job, Service and Namespace status: conditions merge by type.
static CONDITIONS_STATUS: Node = Node {
    fields: &[merge("conditions", "type", None)],
};

static WORKLOAD: Node = Node {
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &WORKLOAD_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static SERVICE_SPEC: Node = Node {
    fields: &[merge("ports", "port", None)],
};

static SERVICE: Node = Node {
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &SERVICE_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static NODE_SPEC: Node = Node {
    fields: &[merge("podCIDRs", "", None)],
};

static NODE_STATUS: Node = Node {
    fields: &[
        merge("conditions", "type", None),
        merge("addresses", "type", None),
    ],
};

static NODE: Node = Node {
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &NODE_SPEC),
        nested("status", &NODE_STATUS),
    ],
};

static NAMESPACE: Node = Node {
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("status", &CONDITIONS_STATUS),
    ],
};

/// Kinds whose only tagged lists are in `metadata`.
static METADATA_ONLY: Node = Node {
    fields: &[nested("metadata", &OBJECT_META)],
};

/// The top-level type of a built-in kind; `None` for custom resources (no patch metadata).
pub(crate) fn root(kind: &str) -> Option<&'static Node> {
    Some(match kind {
        "Pod" => &POD,
        "Deployment" | "ReplicaSet" | "Job" => &WORKLOAD,
        "Service" => &SERVICE,
        "Node" => &NODE,
        "Namespace" => &NAMESPACE,
        "ConfigMap" | "Secret" | "Endpoints" | "EndpointSlice" | "Event" | "Ingress" => {
            &METADATA_ONLY
        }
        _ => return None,
    })
}
