//! Field tables for the protobuf messages kubectl's typed `create` commands send: field
//! numbers and JSON names from the Kubernetes `generated.proto` files, checked against captured
//! kubectl 1.32 requests.

#[derive(Clone, Copy)]
pub(super) enum Ty {
    Str,
    Bytes,
    I32,
    I64,
    Bool,
    Msg(&'static [F]),
    /// An embedded Go struct (`json:",inline"`): its fields land in the parent object.
    Inline(&'static [F]),
    MapStr,
    MapBytes,
    MapQuantity,
    IntOrString,
    Time,
}

#[derive(Clone, Copy)]
pub(super) struct F {
    pub(super) n: u64,
    pub(super) name: &'static str,
    pub(super) ty: Ty,
    pub(super) repeated: bool,
    /// A pointer field in Go: present means set, even when zero.
    pub(super) keep: bool,
}

const fn f(n: u64, name: &'static str, ty: Ty) -> F {
    F {
        n,
        name,
        ty,
        repeated: false,
        keep: false,
    }
}

const fn rep(n: u64, name: &'static str, ty: Ty) -> F {
    F {
        n,
        name,
        ty,
        repeated: true,
        keep: false,
    }
}

const fn ptr(n: u64, name: &'static str, ty: Ty) -> F {
    F {
        n,
        name,
        ty,
        repeated: false,
        keep: true,
    }
}

use Ty::*;

const OWNER_REFERENCE: &[F] = &[
    f(1, "kind", Str),
    f(3, "name", Str),
    f(4, "uid", Str),
    f(5, "apiVersion", Str),
    ptr(6, "controller", Bool),
    ptr(7, "blockOwnerDeletion", Bool),
];

const OBJECT_META: &[F] = &[
    f(1, "name", Str),
    f(2, "generateName", Str),
    f(3, "namespace", Str),
    f(4, "selfLink", Str),
    f(5, "uid", Str),
    f(6, "resourceVersion", Str),
    f(7, "generation", I64),
    f(8, "creationTimestamp", Time),
    f(9, "deletionTimestamp", Time),
    ptr(10, "deletionGracePeriodSeconds", I64),
    f(11, "labels", MapStr),
    f(12, "annotations", MapStr),
    rep(13, "ownerReferences", Msg(OWNER_REFERENCE)),
    rep(14, "finalizers", Str),
];

const SELECTOR_REQUIREMENT: &[F] = &[
    f(1, "key", Str),
    f(2, "operator", Str),
    rep(3, "values", Str),
];

const LABEL_SELECTOR: &[F] = &[
    f(1, "matchLabels", MapStr),
    rep(2, "matchExpressions", Msg(SELECTOR_REQUIREMENT)),
];

const CONTAINER_PORT: &[F] = &[
    f(1, "name", Str),
    f(2, "hostPort", I32),
    f(3, "containerPort", I32),
    f(4, "protocol", Str),
    f(5, "hostIP", Str),
];

const ENV_VAR: &[F] = &[f(1, "name", Str), f(2, "value", Str)];

const RESOURCES: &[F] = &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity)];

const CONTAINER: &[F] = &[
    f(1, "name", Str),
    f(2, "image", Str),
    rep(3, "command", Str),
    rep(4, "args", Str),
    f(5, "workingDir", Str),
    rep(6, "ports", Msg(CONTAINER_PORT)),
    rep(7, "env", Msg(ENV_VAR)),
    f(8, "resources", Msg(RESOURCES)),
    f(13, "terminationMessagePath", Str),
    f(14, "imagePullPolicy", Str),
    f(16, "stdin", Bool),
    f(17, "stdinOnce", Bool),
    f(18, "tty", Bool),
    f(20, "terminationMessagePolicy", Str),
];

const LOCAL_OBJECT_REFERENCE: &[F] = &[f(1, "name", Str)];

const POD_SPEC: &[F] = &[
    rep(2, "containers", Msg(CONTAINER)),
    f(3, "restartPolicy", Str),
    ptr(4, "terminationGracePeriodSeconds", I64),
    ptr(5, "activeDeadlineSeconds", I64),
    f(6, "dnsPolicy", Str),
    f(7, "nodeSelector", MapStr),
    f(8, "serviceAccountName", Str),
    f(9, "serviceAccount", Str),
    f(10, "nodeName", Str),
    f(11, "hostNetwork", Bool),
    f(12, "hostPID", Bool),
    f(13, "hostIPC", Bool),
    rep(15, "imagePullSecrets", Msg(LOCAL_OBJECT_REFERENCE)),
    f(16, "hostname", Str),
    f(17, "subdomain", Str),
    f(19, "schedulerName", Str),
    rep(20, "initContainers", Msg(CONTAINER)),
    ptr(21, "automountServiceAccountToken", Bool),
    f(24, "priorityClassName", Str),
];

const POD_TEMPLATE_SPEC: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(POD_SPEC)),
];

const ROLLING_UPDATE: &[F] = &[
    f(1, "maxUnavailable", IntOrString),
    f(2, "maxSurge", IntOrString),
];

const DEPLOYMENT_STRATEGY: &[F] = &[
    f(1, "type", Str),
    f(2, "rollingUpdate", Msg(ROLLING_UPDATE)),
];

const DEPLOYMENT_SPEC: &[F] = &[
    ptr(1, "replicas", I32),
    f(2, "selector", Msg(LABEL_SELECTOR)),
    f(3, "template", Msg(POD_TEMPLATE_SPEC)),
    f(4, "strategy", Msg(DEPLOYMENT_STRATEGY)),
    f(5, "minReadySeconds", I32),
    ptr(6, "revisionHistoryLimit", I32),
    f(7, "paused", Bool),
    ptr(9, "progressDeadlineSeconds", I32),
];

const DEPLOYMENT_STATUS: &[F] = &[
    f(1, "observedGeneration", I64),
    f(2, "replicas", I32),
    f(3, "updatedReplicas", I32),
    f(4, "availableReplicas", I32),
    f(5, "unavailableReplicas", I32),
    f(7, "readyReplicas", I32),
];

const DEPLOYMENT: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(DEPLOYMENT_SPEC)),
    f(3, "status", Msg(DEPLOYMENT_STATUS)),
];

pub(super) const INT_OR_STRING: &[F] =
    &[f(1, "type", I64), f(2, "intVal", I32), f(3, "strVal", Str)];

const SERVICE_PORT: &[F] = &[
    f(1, "name", Str),
    f(2, "protocol", Str),
    f(3, "port", I32),
    f(4, "targetPort", IntOrString),
    f(5, "nodePort", I32),
    ptr(6, "appProtocol", Str),
];

const SERVICE_SPEC: &[F] = &[
    rep(1, "ports", Msg(SERVICE_PORT)),
    f(2, "selector", MapStr),
    f(3, "clusterIP", Str),
    f(4, "type", Str),
    rep(5, "externalIPs", Str),
    f(7, "sessionAffinity", Str),
    f(8, "loadBalancerIP", Str),
    rep(9, "loadBalancerSourceRanges", Str),
    f(10, "externalName", Str),
    f(11, "externalTrafficPolicy", Str),
    f(12, "healthCheckNodePort", I32),
    f(13, "publishNotReadyAddresses", Bool),
];

/// Status is the server's to fill; an empty one is all a create carries.
const EMPTY: &[F] = &[];

const SERVICE: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(SERVICE_SPEC)),
    f(3, "status", Msg(EMPTY)),
];

const CONFIG_MAP: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "data", MapStr),
    f(3, "binaryData", MapBytes),
    ptr(4, "immutable", Bool),
];

const SECRET: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "data", MapBytes),
    f(3, "type", Str),
    f(4, "stringData", MapStr),
    ptr(5, "immutable", Bool),
];

const OBJECT_REFERENCE: &[F] = &[
    f(1, "kind", Str),
    f(2, "namespace", Str),
    f(3, "name", Str),
    f(4, "uid", Str),
    f(5, "apiVersion", Str),
    f(6, "resourceVersion", Str),
    f(7, "fieldPath", Str),
];

const SERVICE_ACCOUNT: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    rep(2, "secrets", Msg(OBJECT_REFERENCE)),
    rep(3, "imagePullSecrets", Msg(LOCAL_OBJECT_REFERENCE)),
    ptr(4, "automountServiceAccountToken", Bool),
];

const NAMESPACE_SPEC: &[F] = &[rep(1, "finalizers", Str)];
const NAMESPACE_STATUS: &[F] = &[f(1, "phase", Str)];

const NAMESPACE: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(NAMESPACE_SPEC)),
    f(3, "status", Msg(NAMESPACE_STATUS)),
];

const JOB_SPEC: &[F] = &[
    ptr(1, "parallelism", I32),
    ptr(2, "completions", I32),
    ptr(3, "activeDeadlineSeconds", I64),
    f(4, "selector", Msg(LABEL_SELECTOR)),
    ptr(5, "manualSelector", Bool),
    f(6, "template", Msg(POD_TEMPLATE_SPEC)),
    ptr(7, "backoffLimit", I32),
    ptr(8, "ttlSecondsAfterFinished", I32),
    ptr(9, "completionMode", Str),
    ptr(10, "suspend", Bool),
];

const JOB_STATUS: &[F] = &[
    f(4, "active", I32),
    f(5, "succeeded", I32),
    f(6, "failed", I32),
    f(7, "completedIndexes", Str),
];

const JOB: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(JOB_SPEC)),
    f(3, "status", Msg(JOB_STATUS)),
];

const SERVICE_BACKEND_PORT: &[F] = &[f(1, "name", Str), f(2, "number", I32)];
const SERVICE_BACKEND: &[F] = &[f(1, "name", Str), f(2, "port", Msg(SERVICE_BACKEND_PORT))];
const INGRESS_BACKEND: &[F] = &[f(4, "service", Msg(SERVICE_BACKEND))];

const HTTP_INGRESS_PATH: &[F] = &[
    f(1, "path", Str),
    f(2, "backend", Msg(INGRESS_BACKEND)),
    ptr(3, "pathType", Str),
];

const HTTP_RULE_VALUE: &[F] = &[rep(1, "paths", Msg(HTTP_INGRESS_PATH))];
const INGRESS_RULE_VALUE: &[F] = &[f(1, "http", Msg(HTTP_RULE_VALUE))];
const INGRESS_RULE: &[F] = &[f(1, "host", Str), f(2, "", Inline(INGRESS_RULE_VALUE))];
const INGRESS_TLS: &[F] = &[rep(1, "hosts", Str), f(2, "secretName", Str)];

const INGRESS_SPEC: &[F] = &[
    f(1, "defaultBackend", Msg(INGRESS_BACKEND)),
    rep(2, "tls", Msg(INGRESS_TLS)),
    rep(3, "rules", Msg(INGRESS_RULE)),
    ptr(4, "ingressClassName", Str),
];

const INGRESS: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(INGRESS_SPEC)),
    f(3, "status", Msg(EMPTY)),
];

const PRECONDITIONS: &[F] = &[ptr(1, "uid", Str), ptr(2, "resourceVersion", Str)];

const DELETE_OPTIONS: &[F] = &[
    ptr(1, "gracePeriodSeconds", I64),
    f(2, "preconditions", Msg(PRECONDITIONS)),
    ptr(3, "orphanDependents", Bool),
    ptr(4, "propagationPolicy", Str),
    rep(5, "dryRun", Str),
];

pub(super) fn schema(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("v1", "Service") => SERVICE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("v1", "Namespace") => NAMESPACE,
        ("batch/v1", "Job") => JOB,
        ("networking.k8s.io/v1", "Ingress") => INGRESS,
        (_, "DeleteOptions") => DELETE_OPTIONS,
        _ => return None,
    })
}
