//! Decoding of the protobuf request bodies kubectl's typed clients send.
//!
//! `kubectl create deployment|service|configmap|secret|namespace|job|ingress` encode the new
//! object as `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a
//! `runtime.Unknown` holding the TypeMeta and the object's message. The sandbox stores JSON, so
//! it decodes those messages with field tables for what these commands emit (field numbers from
//! the `generated.proto` files, checked against captured kubectl 1.32 requests). Zero values
//! follow the Go JSON encoding: `omitempty` scalars vanish, pointer fields (`keep`) do not. A
//! field outside the tables that carries a value is refused rather than silently dropped.

use base64::Engine;
use serde_json::{Map, Value};

#[derive(Clone, Copy)]
enum Ty {
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
struct F {
    n: u64,
    name: &'static str,
    ty: Ty,
    repeated: bool,
    /// A pointer field in Go: present means set, even when zero.
    keep: bool,
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

const INT_OR_STRING: &[F] = &[f(1, "type", I64), f(2, "intVal", I32), f(3, "strVal", Str)];

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

fn schema(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("v1", "Service") => SERVICE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("batch/v1", "Job") => JOB,
        ("networking.k8s.io/v1", "Ingress") => INGRESS,
        (_, "DeleteOptions") => DELETE_OPTIONS,
        _ => return None,
    })
}

/// Decodes a `k8s\0`-framed protobuf body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let unknown = body
        .strip_prefix(b"k8s\0")
        .ok_or("the body lacks the Kubernetes protobuf prefix")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in Fields(unknown) {
        match field? {
            (1, Wire::Len(type_meta)) => {
                for tm in Fields(type_meta) {
                    match tm? {
                        (1, Wire::Len(v)) => api_version = utf8(v)?,
                        (2, Wire::Len(v)) => kind = utf8(v)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(v)) => raw = v,
            (3, Wire::Len(enc)) if !enc.is_empty() => {
                return Err("compressed protobuf bodies are not supported".into());
            }
            _ => {}
        }
    }
    let fields = schema(&api_version, &kind).ok_or_else(|| {
        format!("protobuf bodies for {kind} ({api_version}) are not supported; send JSON")
    })?;
    let mut obj = message(raw, fields, &kind)?;
    if !api_version.is_empty() {
        obj.insert("apiVersion".into(), Value::String(api_version));
    }
    obj.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(obj))
}

fn message(buf: &[u8], fields: &[F], context: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for field in Fields(buf) {
        let (n, wire) = field?;
        let Some(f) = fields.iter().find(|f| f.n == n) else {
            if wire.is_zero() {
                continue;
            }
            return Err(format!(
                "protobuf field {n} of {context} is not supported by the sandbox; send JSON"
            ));
        };
        let here = format!("{context}.{}", f.name);
        match f.ty {
            Inline(inner) => {
                let Wire::Len(bytes) = wire else {
                    return Err(format!("{here}: expected a message"));
                };
                out.extend(message(bytes, inner, &here)?);
            }
            MapStr | MapBytes | MapQuantity => {
                let (k, v) = map_entry(wire, f.ty, &here)?;
                if let Some(map) = out
                    .entry(f.name)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                {
                    map.insert(k, v);
                }
            }
            _ => {
                let value = scalar(wire, f.ty, &here)?;
                if f.repeated {
                    if let Some(list) = out
                        .entry(f.name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                        .as_array_mut()
                    {
                        list.push(value);
                    }
                } else if f.keep || !is_empty(&value) {
                    out.insert(f.name.into(), value);
                }
            }
        }
    }
    Ok(out)
}

/// What Go's `omitempty` leaves out (messages always stay, as non-pointer structs do).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn scalar(wire: Wire, ty: Ty, here: &str) -> Result<Value, String> {
    Ok(match (ty, wire) {
        (Str, Wire::Len(b)) => Value::String(utf8(b)?),
        (Bytes, Wire::Len(b)) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        // int32 travels as a sign-extended varint; truncation recovers it.
        (I32, Wire::Varint(v)) => Value::from(v as i32),
        (I64, Wire::Varint(v)) => Value::from(v as i64),
        (Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        (Msg(inner), Wire::Len(b)) => Value::Object(message(b, inner, here)?),
        (IntOrString, Wire::Len(b)) => {
            let m = message(b, INT_OR_STRING, here)?;
            match m.get("type").and_then(Value::as_i64) {
                Some(1) => m.get("strVal").cloned().unwrap_or_else(|| Value::from("")),
                _ => m.get("intVal").cloned().unwrap_or_else(|| Value::from(0)),
            }
        }
        (Time, Wire::Len(b)) => {
            let (mut secs, mut nanos) = (0i64, 0i32);
            for field in Fields(b) {
                match field? {
                    (1, Wire::Varint(v)) => secs = v as i64,
                    (2, Wire::Varint(v)) => nanos = v as i32,
                    _ => {}
                }
            }
            if secs == 0 && nanos == 0 {
                Value::Null
            } else {
                let t = jiff::Timestamp::new(secs, nanos).map_err(|e| format!("{here}: {e}"))?;
                Value::String(crate::sandbox::clock::rfc3339(t))
            }
        }
        _ => return Err(format!("{here}: unexpected wire type")),
    })
}

/// A map entry message: key 1 (string), value 2 (string, bytes, or a Quantity message).
fn map_entry(wire: Wire, ty: Ty, here: &str) -> Result<(String, Value), String> {
    let Wire::Len(bytes) = wire else {
        return Err(format!("{here}: expected a map entry"));
    };
    let (mut key, mut value) = (String::new(), None);
    for field in Fields(bytes) {
        match field? {
            (1, Wire::Len(k)) => key = utf8(k)?,
            (2, Wire::Len(v)) => {
                value = Some(match ty {
                    MapBytes => scalar(Wire::Len(v), Bytes, here)?,
                    MapQuantity => {
                        let mut q = Value::from("");
                        for qf in Fields(v) {
                            if let (1, Wire::Len(s)) = qf? {
                                q = Value::String(utf8(s)?);
                            }
                        }
                        q
                    }
                    _ => scalar(Wire::Len(v), Str, here)?,
                });
            }
            _ => {}
        }
    }
    Ok((key, value.unwrap_or_else(|| Value::from(""))))
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "a protobuf string is not UTF-8".to_string())
}

#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

impl Wire<'_> {
    fn is_zero(&self) -> bool {
        match self {
            Wire::Varint(v) => *v == 0,
            Wire::Len(b) => b.is_empty(),
            Wire::Fixed => false,
        }
    }
}

/// Iterates the fields of one message, bounds-checked: the input is untrusted.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for (i, byte) in self.0.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(value);
            }
        }
        Err("malformed protobuf varint".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err("truncated protobuf body".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = (|| {
            let key = self.varint()?;
            let wire = match key & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Wire::Fixed
                }
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                    Wire::Len(self.take(len)?)
                }
                5 => {
                    self.take(4)?;
                    Wire::Fixed
                }
                other => return Err(format!("unsupported protobuf wire type {other}")),
            };
            Ok((key >> 3, wire))
        })();
        if item.is_err() {
            // Stop after the first error; the rest of the buffer cannot be framed.
            self.0 = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Minimal encoder for building test bodies.
    fn key(n: u64, wire: u64, out: &mut Vec<u8>) {
        varint((n << 3) | wire, out);
    }
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes(n: u64, b: &[u8], out: &mut Vec<u8>) {
        key(n, 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
    fn int(n: u64, v: u64, out: &mut Vec<u8>) {
        key(n, 0, out);
        varint(v, out);
    }
    fn msg(build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        build(&mut out);
        out
    }
    fn framed(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut out = b"k8s\0".to_vec();
        let tm = msg(|m| {
            bytes(1, api_version.as_bytes(), m);
            bytes(2, kind.as_bytes(), m);
        });
        bytes(1, &tm, &mut out);
        bytes(2, raw, &mut out);
        bytes(3, b"", &mut out);
        bytes(4, b"", &mut out);
        out
    }

    #[test]
    fn decodes_a_deployment_like_kubectl_create_sends() {
        let meta = msg(|m| {
            bytes(1, b"web", m);
            bytes(2, b"", m);
            int(7, 0, m);
            bytes(8, b"", m);
            bytes(
                11,
                &msg(|e| {
                    bytes(1, b"app", e);
                    bytes(2, b"web", e);
                }),
                m,
            );
        });
        let container = msg(|c| {
            bytes(1, b"web", c);
            bytes(2, b"img:1", c);
            bytes(
                6,
                &msg(|p| {
                    int(2, 0, p);
                    int(3, 80, p);
                }),
                c,
            );
            bytes(8, b"", c);
            int(16, 0, c);
        });
        let spec = msg(|s| {
            int(1, 0, s); // replicas: 0 is kept (a pointer in Go)
            bytes(
                2,
                &msg(|sel| {
                    bytes(
                        1,
                        &msg(|e| {
                            bytes(1, b"app", e);
                            bytes(2, b"web", e);
                        }),
                        sel,
                    )
                }),
                s,
            );
            bytes(
                3,
                &msg(|t| {
                    bytes(
                        2,
                        &msg(|ps| {
                            bytes(2, &container, ps);
                            bytes(3, b"", ps);
                        }),
                        t,
                    )
                }),
                s,
            );
            bytes(4, &msg(|st| bytes(1, b"", st)), s);
            int(5, 0, s);
        });
        let raw = msg(|d| {
            bytes(1, &meta, d);
            bytes(2, &spec, d);
            bytes(3, b"", d);
        });
        let obj = decode(&framed("apps/v1", "Deployment", &raw)).expect("decodes");
        assert_eq!(
            obj,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {"spec": {"containers": [
                        {"name": "web", "image": "img:1", "ports": [{"containerPort": 80}], "resources": {}}
                    ]}},
                    "strategy": {}
                },
                "status": {}
            })
        );
    }

    #[test]
    fn secrets_services_and_inline_ingress_rules() {
        let secret = msg(|s| {
            bytes(1, &msg(|m| bytes(1, b"s", m)), s);
            bytes(
                2,
                &msg(|e| {
                    bytes(1, b"a", e);
                    bytes(2, &[0, 255], e);
                }),
                s,
            );
            bytes(3, b"Opaque", s);
        });
        let obj = decode(&framed("v1", "Secret", &secret)).expect("secret");
        assert_eq!(obj["data"]["a"], "AP8=");
        assert_eq!(obj["type"], "Opaque");

        let port = msg(|p| {
            bytes(2, b"TCP", p);
            int(3, 80, p);
            bytes(
                4,
                &msg(|t| {
                    int(1, 1, t);
                    bytes(3, b"http", t);
                }),
                p,
            );
        });
        let svc = msg(|s| bytes(2, &msg(|sp| bytes(1, &port, sp)), s));
        let obj = decode(&framed("v1", "Service", &svc)).expect("service");
        assert_eq!(
            obj["spec"]["ports"][0],
            json!({"protocol": "TCP", "port": 80, "targetPort": "http"})
        );

        let rule = msg(|r| {
            bytes(1, b"foo.com", r);
            bytes(
                2,
                &msg(|v| bytes(1, &msg(|h| bytes(1, &msg(|p| bytes(1, b"/", p)), h)), v)),
                r,
            );
        });
        let ing = msg(|i| bytes(2, &msg(|s| bytes(3, &rule, s)), i));
        let obj = decode(&framed("networking.k8s.io/v1", "Ingress", &ing)).expect("ingress");
        assert_eq!(
            obj["spec"]["rules"][0],
            json!({"host": "foo.com", "http": {"paths": [{"path": "/"}]}})
        );
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert!(decode(b"{}").is_err());
        assert!(decode(&framed("v1", "Pod", b"")).is_err());
        // A populated field outside the tables is an error, not silent loss.
        let raw = msg(|d| bytes(1, &msg(|m| bytes(99, b"x", m)), d));
        let err = decode(&framed("v1", "ConfigMap", &raw)).expect_err("unknown field");
        assert!(err.contains("field 99"), "{err}");
        // Truncated input.
        let mut body = framed("v1", "ConfigMap", &msg(|d| bytes(1, b"abc", d)));
        body.truncate(body.len() - 6);
        assert!(decode(&body).is_err());
        assert!(decode(b"k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    }
}
