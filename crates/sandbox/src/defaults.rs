//! Defaulting and the validation that real clients visibly depend on, per kind
//! (`pkg/apis/*/v1/defaults.go` and the registries' `Validate` in Kubernetes).

use serde_json::{Map, Value, json};

use super::ops::Cluster;
use super::resources::{ResId, kinds};

pub fn apply(cluster: &Cluster, res: ResId, obj: &mut Value) {
    if res == *kinds::DEPLOYMENTS {
        deployment(obj);
    } else if res == *kinds::REPLICASETS {
        set_default(&mut obj["spec"], "replicas", json!(1));
        omit_zero(&mut obj["spec"], "minReadySeconds");
        pod_template(&mut obj["spec"]["template"]);
    } else if res == *kinds::PODS {
        pod_spec(&mut obj["spec"]);
        if obj.get("status").is_none() {
            obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        }
    } else if res == *kinds::JOBS {
        job_selector(obj);
        let spec = &mut obj["spec"];
        set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
        set_default(spec, "completions", json!(1));
        set_default(spec, "parallelism", json!(1));
        set_default(spec, "backoffLimit", json!(6));
        set_default(spec, "completionMode", json!("NonIndexed"));
        set_default(spec, "suspend", json!(false));
        set_default(
            &mut spec["template"]["spec"],
            "restartPolicy",
            json!("Never"),
        );
        pod_template(&mut spec["template"]);
    } else if res == *kinds::SERVICES {
        service(cluster, obj);
    } else if res == *kinds::HTTPROUTES {
        if let Some(rules) = obj.get_mut("spec").and_then(|s| array_mut(s, "rules")) {
            for backend in rules
                .iter_mut()
                .filter_map(|r| array_mut(r, "backendRefs"))
                .flatten()
            {
                set_default(backend, "group", json!(""));
                set_default(backend, "kind", json!("Service"));
                set_default(backend, "weight", json!(1));
            }
        }
    } else if res == *kinds::NAMESPACES {
        let name = obj["metadata"]["name"].clone();
        let labels = &mut obj["metadata"]["labels"];
        set_default(labels, "kubernetes.io/metadata.name", name);
        set_default(&mut obj["spec"], "finalizers", json!(["kubernetes"]));
        set_default(&mut obj["status"], "phase", json!("Active"));
    }
}

/// Where the ServiceAccount admission plugin mounts the token volume.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What the real API server adds to a pod it is asked to create, besides defaults: the
/// admission plugins ServiceAccount (the `default` account, and a projected volume with its
/// token, the cluster CA and the namespace, mounted into every container),
/// DefaultTolerationSeconds (five minutes' tolerance of a not-ready or unreachable node) and
/// Priority (no PriorityClass: priority 0, `PreemptLowerPriority`); and `SetDefaults_Pod`'s
/// `enableServiceLinks` (pods only, not templates).
pub fn admit_pod(cluster: &Cluster, obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        return;
    }
    set_default(spec, "serviceAccountName", json!("default"));
    spec["serviceAccount"] = spec["serviceAccountName"].clone();
    if spec["automountServiceAccountToken"] != false {
        mount_token(cluster, spec);
    }
    let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let mut added = tolerations.clone();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            (t["key"] == key
                || (t["key"].as_str().unwrap_or_default().is_empty() && t["operator"] == "Exists"))
                && (t["effect"] == "NoExecute"
                    || t["effect"].as_str().unwrap_or_default().is_empty())
        });
        if !tolerated {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    spec["tolerations"] = json!(added);
    if spec["priorityClassName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        set_default(spec, "priority", json!(0));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    set_default(spec, "enableServiceLinks", json!(true));
}

/// The ServiceAccount admission plugin's `kube-api-access-xxxxx` volume, and its mount in
/// every container that does not mount something at the token path already.
fn mount_token(cluster: &Cluster, spec: &mut Value) {
    let volume = format!("kube-api-access-{}", cluster.random_suffix());
    let mut volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
    volumes.push(json!({
        "name": volume,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }));
    spec["volumes"] = json!(volumes);
    for key in ["initContainers", "containers"] {
        for c in array_mut(spec, key).into_iter().flatten() {
            let mounted = c["volumeMounts"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["mountPath"] == TOKEN_MOUNT_PATH));
            if !mounted {
                let mut mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
                mounts
                    .push(json!({"name": volume, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}));
                c["volumeMounts"] = json!(mounts);
            }
        }
    }
}

/// Returns the first invalid field as `(field path, message)`.
pub fn validate(res: ResId, obj: &Value) -> Option<(&'static str, String)> {
    if res == *kinds::DEPLOYMENTS || res == *kinds::REPLICASETS {
        let spec = &obj["spec"];
        let selector = &spec["selector"]["matchLabels"];
        if !spec["selector"].is_object() {
            return Some(("spec.selector", "Required value".into()));
        }
        let labels = &spec["template"]["metadata"]["labels"];
        if let Some(sel) = selector.as_object() {
            for (k, v) in sel {
                if labels.get(k) != Some(v) {
                    return Some((
                        "spec.template.metadata.labels",
                        format!(
                            "Invalid value: {}: `selector` does not match template `labels`",
                            serde_json::to_string(labels).unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        if let Some(n) = spec["replicas"].as_i64()
            && n < 0
        {
            return Some((
                "spec.replicas",
                format!("Invalid value: {n}: must be greater than or equal to 0"),
            ));
        }
        return validate_containers(&spec["template"]["spec"], "spec.template.spec.containers");
    }
    if res == *kinds::PODS {
        return validate_containers(&obj["spec"], "spec.containers");
    }
    None
}

fn validate_containers(pod_spec: &Value, field: &'static str) -> Option<(&'static str, String)> {
    let Some(containers) = pod_spec["containers"].as_array().filter(|c| !c.is_empty()) else {
        return Some((field, "Required value".into()));
    };
    for c in containers {
        if c["name"].as_str().is_none_or(str::is_empty) {
            return Some((field, "Required value: name".into()));
        }
        if c["image"].as_str().is_none_or(str::is_empty) {
            return Some((field, "Required value: image".into()));
        }
    }
    None
}

/// The Job strategy's `generateSelector` on create (no selector given, `manualSelector` not
/// set): template labels `job-name`/`controller-uid` (legacy and `batch.kubernetes.io/` forms)
/// and a selector on the UID. Job labels default to the template's, as read back from etcd.
fn job_selector(obj: &mut Value) {
    if obj["spec"].get("selector").is_some_and(|s| !s.is_null())
        || obj["spec"]["manualSelector"].as_bool() == Some(true)
    {
        return;
    }
    let name = obj["metadata"]["name"].clone();
    let uid = obj["metadata"]["uid"].clone();
    if !uid.is_string() {
        return;
    }
    let template = &mut obj["spec"]["template"];
    set_default(template, "metadata", json!({}));
    let labels = &mut template["metadata"]["labels"];
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        set_default(labels, key, value.clone());
    }
    let template_labels = labels.clone();
    obj["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    if obj["metadata"]["labels"]
        .as_object()
        .is_none_or(|l| l.is_empty())
    {
        obj["metadata"]["labels"] = template_labels;
    }
}

fn deployment(obj: &mut Value) {
    let spec = &mut obj["spec"];
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    omit_zero(spec, "minReadySeconds");
    omit_zero(spec, "paused");
    set_default(&mut spec["strategy"], "type", json!("RollingUpdate"));
    if spec["strategy"]["type"] == "RollingUpdate" {
        let ru = &mut spec["strategy"]["rollingUpdate"];
        set_default(ru, "maxUnavailable", json!("25%"));
        set_default(ru, "maxSurge", json!("25%"));
    }
    pod_template(&mut spec["template"]);
}

fn pod_template(template: &mut Value) {
    if !template.is_object() {
        return;
    }
    if template.get("metadata").is_none() {
        template["metadata"] = json!({});
    }
    // A template has no creation time. Since 1.34 the real server leaves the zero value out
    // (up to 1.33 it wrote `creationTimestamp: null`, which kubectl showed).
    if let Some(meta) = template["metadata"].as_object_mut()
        && meta.get("creationTimestamp").is_some_and(Value::is_null)
    {
        meta.remove("creationTimestamp");
    }
    pod_spec(&mut template["spec"]);
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for key in ["containers", "initContainers"] {
        if let Some(containers) = array_mut(spec, key) {
            for c in containers {
                let latest = c["image"].as_str().is_some_and(|i| {
                    !i.contains('@') && image_tag(i).is_none_or(|t| t == "latest")
                });
                let policy = if latest { "Always" } else { "IfNotPresent" };
                set_default(c, "imagePullPolicy", json!(policy));
                set_default(c, "resources", json!({}));
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                for flag in ["stdin", "stdinOnce", "tty"] {
                    omit_zero(c, flag);
                }
                if let Some(ports) = array_mut(c, "ports") {
                    for p in ports {
                        set_default(p, "protocol", json!("TCP"));
                        omit_zero(p, "hostPort");
                    }
                }
            }
        }
    }
}

/// The tag of an image reference (`host:5000/repo:tag`), if it has one.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, tag)| tag)
}

fn service(cluster: &Cluster, obj: &mut Value) {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spec = &mut obj["spec"];
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    set_default(spec, "ipFamilies", json!(["IPv4"]));
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    if spec
        .get("clusterIP")
        .is_none_or(|ip| ip.as_str().is_none_or(str::is_empty))
    {
        // Stable per name, inside the usual 10.96.0.0/12 service range.
        let h = super::ops::fnv64(format!("{}/{}", cluster.name, name).as_bytes());
        let ip = format!("10.96.{}.{}", (h >> 8) % 250 + 1, h % 250 + 2);
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
    }
    let node_port = spec["type"] == "NodePort" || spec["type"] == "LoadBalancer";
    if let Some(ports) = array_mut(spec, "ports") {
        for (i, p) in ports.iter_mut().enumerate() {
            set_default(p, "protocol", json!("TCP"));
            let port = p["port"].clone();
            set_default(p, "targetPort", port);
            if node_port {
                set_default(p, "nodePort", json!(30000 + (i as u64) + 80));
            }
        }
    }
    if obj.get("status").is_none() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

/// The array at `key`, if there is one. (`value[key]` on a `&mut Value` would insert a
/// `null` for a missing key, which then shows up in what clients read back.)
fn array_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    value.get_mut(key)?.as_array_mut()
}

/// Removes `key` when it holds its type's zero value (or null): the real server decodes into
/// Go structs, and these fields are `omitempty` scalars, so `minReadySeconds: 0` or
/// `paused: false` is never part of what it stores or returns (and writing one is no change).
fn omit_zero(target: &mut Value, key: &str) {
    let zero = target.get(key).is_some_and(|v| {
        v.is_null() || v.as_f64() == Some(0.0) || v.as_bool() == Some(false) || v == ""
    });
    if zero && let Some(map) = target.as_object_mut() {
        map.remove(key);
    }
}

/// Sets `key` on an object (making it one if it is null) unless already present.
fn set_default(target: &mut Value, key: &str, value: Value) {
    if target.is_null() {
        *target = Value::Object(Map::new());
    }
    if let Some(map) = target.as_object_mut() {
        map.entry(key.to_string()).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::Clock;
    use crate::store::Store;

    #[test]
    fn omitempty_zero_values_are_not_stored() {
        let cluster = Cluster::new(
            "t",
            Arc::new(Store::default()),
            Clock::manual(Clock::epoch()),
        );
        let mut d = json!({"spec": {"minReadySeconds": 0, "paused": false,
            "template": {"metadata": {"creationTimestamp": null},
                         "spec": {"containers": [{"name": "web", "image": "web:1", "tty": false,
                                                  "ports": [{"containerPort": 80, "hostPort": 0}]}]}}}});
        apply(&cluster, *kinds::DEPLOYMENTS, &mut d);
        let spec = &d["spec"];
        assert_eq!(spec.get("minReadySeconds"), None);
        assert_eq!(spec.get("paused"), None);
        assert_eq!(spec["template"]["metadata"], json!({}));
        let container = &spec["template"]["spec"]["containers"][0];
        assert_eq!(container.get("tty"), None);
        assert_eq!(
            container["ports"][0],
            json!({"containerPort": 80, "protocol": "TCP"})
        );

        let mut d = json!({"spec": {"minReadySeconds": 5, "paused": true}});
        apply(&cluster, *kinds::DEPLOYMENTS, &mut d);
        assert_eq!(
            (&d["spec"]["minReadySeconds"], &d["spec"]["paused"]),
            (&json!(5), &json!(true))
        );
    }
}
