//! Column definitions per kind, as `AddHandlers` in `pkg/printers/internalversion/printers.go`
//! (Kubernetes 1.32) and the CRDs' `additionalPrinterColumns` declare them. Descriptions are the
//! same swagger docs the Go code reads through `SwaggerDoc()` (core/apps/batch v1 as published in
//! the OpenAPI spec; `extensions/v1beta1` and `discovery/v1beta1` where upstream points there).

use super::Column;

const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    priority: i32,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority,
    }
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const POD_IP_DESC: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
const NODE_NAME_DESC: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
const NOMINATED_NODE_DESC: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
const READINESS_GATES_DESC: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
const JOB_SUCCEEDED_DESC: &str = "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
const JOB_SELECTOR_DESC: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const SVC_TYPE_DESC: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
const SVC_CLUSTER_IP_DESC: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const SVC_EXTERNAL_IPS_DESC: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
const SVC_PORTS_DESC: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const SVC_SELECTOR_DESC: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
const ENDPOINTS_SUBSETS_DESC: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
const KUBELET_VERSION_DESC: &str = "Kubelet Version reported by the node.";
const NODE_ADDRESSES_DESC: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
const OS_IMAGE_DESC: &str =
    "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
const KERNEL_VERSION_DESC: &str =
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
const CONTAINER_RUNTIME_DESC: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
const EVENT_LAST_TIMESTAMP_DESC: &str =
    "The time at which the most recent occurrence of this event was recorded.";
const EVENT_TYPE_DESC: &str =
    "Type of this event (Normal, Warning), new types could be added in the future";
const EVENT_REASON_DESC: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
const EVENT_OBJECT_DESC: &str = "The object that this event is about.";
const EVENT_FIELD_PATH_DESC: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
const EVENT_SOURCE_DESC: &str =
    "The component reporting this event. Should be a short machine understandable string.";
const EVENT_MESSAGE_DESC: &str = "A human-readable description of the status of this operation.";
const EVENT_FIRST_TIMESTAMP_DESC: &str =
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
const EVENT_COUNT_DESC: &str = "The number of times this event has occurred.";
const SECRET_TYPE_DESC: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
const SECRET_DATA_DESC: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
const CONFIGMAP_DATA_DESC: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
const SERVICE_ACCOUNT_SECRETS_DESC: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
const CONTAINERS_DESC: &str = "Names of each container in the template.";
const IMAGES_DESC: &str = "Images referenced by each container in the template.";
// extensions/v1beta1 swagger docs (printers.go still points its ReplicaSet and Deployment
// descriptions there).
const RS_SPEC_REPLICAS_DESC: &str = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
const RS_STATUS_REPLICAS_DESC: &str = "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
const RS_READY_DESC: &str = "The number of ready replicas for this replica set.";
const RS_SELECTOR_DESC: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DEPLOY_UPDATED_DESC: &str = "Total number of non-terminated pods targeted by this deployment that have the desired template spec.";
const DEPLOY_AVAILABLE_DESC: &str = "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.";
const DEPLOY_SELECTOR_DESC: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";
// discovery/v1beta1 swagger docs.
const SLICE_ADDRESS_TYPE_DESC: &str = "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.";
const SLICE_PORTS_DESC: &str = "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.";
const SLICE_ENDPOINTS_DESC: &str = "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
// Custom resources: descriptions from the CRDs, or the apiextensions server's default text.
const HTTPROUTE_HOSTNAMES_DESC: &str =
    "Custom resource definition column (in JSONPath format): .spec.hostnames";
const HTTPROUTE_AGE_DESC: &str =
    "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp";
const VS_GATEWAYS_DESC: &str = "The names of gateways and sidecars that should apply these routes";
const VS_HOSTS_DESC: &str = "The destination hosts to which traffic is being sent";
const VS_AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md#metadata";
const TS_SERVICE_DESC: &str = "The apex service of this split.";

pub(super) const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: NAME_DESC,
    priority: 0,
};
/// Built-in printers' Age: a string the server formats.
pub(super) const AGE: Column = col("Age", "string", AGE_DESC, 0);
const CONTAINERS: Column = col("Containers", "string", CONTAINERS_DESC, 1);
const IMAGES: Column = col("Images", "string", IMAGES_DESC, 1);

pub(super) const POD: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        0,
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        0,
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    AGE,
    col("IP", "string", POD_IP_DESC, 1),
    col("Node", "string", NODE_NAME_DESC, 1),
    col("Nominated Node", "string", NOMINATED_NODE_DESC, 1),
    col("Readiness Gates", "string", READINESS_GATES_DESC, 1),
];

pub(super) const DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state", 0),
    col("Up-to-date", "string", DEPLOY_UPDATED_DESC, 0),
    col("Available", "string", DEPLOY_AVAILABLE_DESC, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", DEPLOY_SELECTOR_DESC, 1),
];

pub(super) const REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", RS_SPEC_REPLICAS_DESC, 0),
    col("Current", "integer", RS_STATUS_REPLICAS_DESC, 0),
    col("Ready", "integer", RS_READY_DESC, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", RS_SELECTOR_DESC, 1),
];

pub(super) const JOB: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job.", 0),
    col("Completions", "string", JOB_SUCCEEDED_DESC, 0),
    col(
        "Duration",
        "string",
        "Time required to complete the job.",
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", JOB_SELECTOR_DESC, 1),
];

pub(super) const SERVICE: &[Column] = &[
    NAME,
    col("Type", "string", SVC_TYPE_DESC, 0),
    col("Cluster-IP", "string", SVC_CLUSTER_IP_DESC, 0),
    col("External-IP", "string", SVC_EXTERNAL_IPS_DESC, 0),
    col("Port(s)", "string", SVC_PORTS_DESC, 0),
    AGE,
    col("Selector", "string", SVC_SELECTOR_DESC, 1),
];

pub(super) const INGRESS: &[Column] = &[
    NAME,
    col(
        "Class",
        "string",
        "The name of the IngressClass resource that should be used for additional configuration",
        0,
    ),
    col(
        "Hosts",
        "string",
        "Hosts that incoming requests are matched against before the ingress rule",
        0,
    ),
    col(
        "Address",
        "string",
        "Address is a list containing ingress points for the load-balancer",
        0,
    ),
    col(
        "Ports",
        "string",
        "Ports of TLS configurations that open",
        0,
    ),
    AGE,
];

pub(super) const ENDPOINTS: &[Column] = &[
    NAME,
    col("Endpoints", "string", ENDPOINTS_SUBSETS_DESC, 0),
    AGE,
];

pub(super) const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", "string", SLICE_ADDRESS_TYPE_DESC, 0),
    col("Ports", "string", SLICE_PORTS_DESC, 0),
    col("Endpoints", "string", SLICE_ENDPOINTS_DESC, 0),
    AGE,
];

pub(super) const NODE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node", 0),
    col("Roles", "string", "The roles of the node", 0),
    AGE,
    col("Version", "string", KUBELET_VERSION_DESC, 0),
    col("Internal-IP", "string", NODE_ADDRESSES_DESC, 1),
    col("External-IP", "string", NODE_ADDRESSES_DESC, 1),
    col("OS-Image", "string", OS_IMAGE_DESC, 1),
    col("Kernel-Version", "string", KERNEL_VERSION_DESC, 1),
    col("Container-Runtime", "string", CONTAINER_RUNTIME_DESC, 1),
];

/// Upstream lists events by time, not name: Name is the last, wide-only column.
pub(super) const EVENT: &[Column] = &[
    col("Last Seen", "string", EVENT_LAST_TIMESTAMP_DESC, 0),
    col("Type", "string", EVENT_TYPE_DESC, 0),
    col("Reason", "string", EVENT_REASON_DESC, 0),
    col("Object", "string", EVENT_OBJECT_DESC, 0),
    col("Subobject", "string", EVENT_FIELD_PATH_DESC, 1),
    col("Source", "string", EVENT_SOURCE_DESC, 1),
    col("Message", "string", EVENT_MESSAGE_DESC, 0),
    col("First Seen", "string", EVENT_FIRST_TIMESTAMP_DESC, 1),
    col("Count", "string", EVENT_COUNT_DESC, 1),
    Column {
        priority: 1,
        ..NAME
    },
];

pub(super) const NAMESPACE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the namespace", 0),
    AGE,
];

pub(super) const SECRET: &[Column] = &[
    NAME,
    col("Type", "string", SECRET_TYPE_DESC, 0),
    col("Data", "string", SECRET_DATA_DESC, 0),
    AGE,
];

pub(super) const CONFIG_MAP: &[Column] =
    &[NAME, col("Data", "string", CONFIGMAP_DATA_DESC, 0), AGE];

pub(super) const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    col("Secrets", "string", SERVICE_ACCOUNT_SECRETS_DESC, 0),
    AGE,
];

/// A custom resource without `additionalPrinterColumns` (`serveDefaultColumnsIfEmpty`).
pub(super) const CUSTOM_DEFAULT: &[Column] = &[NAME, col("Age", "date", AGE_DESC, 0)];

pub(super) const HTTP_ROUTE: &[Column] = &[
    NAME,
    col("Hostnames", "string", HTTPROUTE_HOSTNAMES_DESC, 0),
    col("Age", "date", HTTPROUTE_AGE_DESC, 0),
];

pub(super) const VIRTUAL_SERVICE: &[Column] = &[
    NAME,
    col("Gateways", "string", VS_GATEWAYS_DESC, 0),
    col("Hosts", "string", VS_HOSTS_DESC, 0),
    col("Age", "date", VS_AGE_DESC, 0),
];

/// The SMI CRD declares only Service, so there is no Age column.
pub(super) const TRAFFIC_SPLIT: &[Column] = &[NAME, col("Service", "string", TS_SERVICE_DESC, 0)];

pub(super) const ROLLOUT: &[Column] = &[
    NAME,
    col("Desired", "integer", "Number of desired pods", 0),
    col(
        "Current",
        "integer",
        "Total number of non-terminated pods targeted by this rollout",
        0,
    ),
    col(
        "Up-to-date",
        "integer",
        "Total number of non-terminated pods targeted by this rollout that have the desired template spec",
        0,
    ),
    col(
        "Available",
        "integer",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this rollout",
        0,
    ),
    col("Age", "date", "Time since resource was created", 0),
];
