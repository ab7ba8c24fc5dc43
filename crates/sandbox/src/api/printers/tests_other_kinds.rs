//! Table rows of the kinds beyond pods, deployments and replicasets: jobs, services, endpoints, config, ingress, nodes, events and custom resources.

use super::tests::{meta, names, now, wide};
use super::*;
use crate::resources::kinds;
use serde_json::json;

#[test]
fn service_row() {
    assert_eq!(
        names(*kinds::SERVICES),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    assert_eq!(wide(*kinds::SERVICES), ["Selector"]);
    let svc = json!({
        "metadata": meta("web"),
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "selector": {"app": "web"},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}
    });
    assert_eq!(
        cells(*kinds::SERVICES, &svc, now()),
        [
            json!("web"),
            json!("NodePort"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80:30080/TCP"),
            json!("5m"),
            json!("app=web")
        ]
    );
}

#[test]
fn job_rows() {
    assert_eq!(
        names(*kinds::JOBS),
        [
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let running = json!({
        "metadata": meta("migrate"),
        "spec": {"parallelism": 1, "completions": 1,
                 "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}},
                 "template": {"spec": {"containers": [{"name": "migrate", "image": "app:2"}]}}},
        "status": {"active": 1, "startTime": "2024-05-01T11:58:00Z"}
    });
    let row = cells(*kinds::JOBS, &running, now());
    assert_eq!(row[1..4], [json!("Running"), json!("0/1"), json!("2m")]);
    assert_eq!(row[7], json!("batch.kubernetes.io/controller-uid=u-1"));

    let mut done = running.clone();
    done["status"] = json!({"succeeded": 1, "startTime": "2024-05-01T11:56:00Z",
        "completionTime": "2024-05-01T11:56:42Z",
        "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                       {"type": "Complete", "status": "True"}]});
    assert_eq!(
        cells(*kinds::JOBS, &done, now())[1..4],
        [json!("Complete"), json!("1/1"), json!("42s")]
    );

    let mut parallel = running.clone();
    parallel["spec"] = json!({"parallelism": 3});
    parallel["status"] = json!({"conditions": [{"type": "Failed", "status": "True"}]});
    assert_eq!(
        cells(*kinds::JOBS, &parallel, now())[1..4],
        [json!("Failed"), json!("0/1 of 3"), json!("")]
    );
    parallel["status"] = json!({"conditions": [{"type": "Suspended", "status": "True"}]});
    assert_eq!(cells(*kinds::JOBS, &parallel, now())[1], json!("Suspended"));
    parallel["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(
        cells(*kinds::JOBS, &parallel, now())[1],
        json!("Terminating")
    );
}

#[test]
fn namespace_configmap_secret_rows() {
    let ns = json!({"metadata": meta("team-a"), "status": {"phase": "Active"}});
    assert_eq!(
        cells(*kinds::NAMESPACES, &ns, now()),
        [json!("team-a"), json!("Active"), json!("5m")]
    );
    let cm = json!({"metadata": meta("web-config"), "data": {"a": "1", "b": "2"},
                    "binaryData": {"c": "AAE="}});
    assert_eq!(names(*kinds::CONFIGMAPS), ["Name", "Data", "Age"]);
    assert_eq!(
        cells(*kinds::CONFIGMAPS, &cm, now()),
        [json!("web-config"), json!(3), json!("5m")]
    );
    let secret = json!({"metadata": meta("sh.helm.release.v1.web.v1"), "type": "helm.sh/release.v1",
                        "data": {"release": "SDRzSUFBQUFBQUFDLzZ"}});
    assert_eq!(names(*kinds::SECRETS), ["Name", "Type", "Data", "Age"]);
    assert_eq!(
        cells(*kinds::SECRETS, &secret, now()),
        [
            json!("sh.helm.release.v1.web.v1"),
            json!("helm.sh/release.v1"),
            json!(1),
            json!("5m")
        ]
    );
}

#[test]
fn endpoints_and_slices() {
    let ep = json!({"metadata": meta("web"), "subsets": [
        {"addresses": [{"ip": "10.244.0.7"}, {"ip": "10.244.0.8"}],
         "notReadyAddresses": [{"ip": "10.244.0.9"}],
         "ports": [{"port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090}]}
    ]});
    assert_eq!(
        cells(*kinds::ENDPOINTS, &ep, now())[1],
        json!("10.244.0.7:8080,10.244.0.8:8080,10.244.0.7:9090 + 1 more...")
    );
    let headless = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}]}]});
    assert_eq!(
        cells(*kinds::ENDPOINTS, &headless, now())[1],
        json!("fd00::1")
    );
    let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
    assert_eq!(
        cells(*kinds::ENDPOINTS, &v6, now())[1],
        json!("[fd00::1]:80")
    );
    assert_eq!(
        cells(*kinds::ENDPOINTS, &json!({}), now())[1],
        json!("<none>")
    );

    assert_eq!(
        names(*kinds::ENDPOINTSLICES),
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    );
    let slice = json!({
        "metadata": meta("web-abc12"), "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.7"], "conditions": {"ready": true}},
                      {"addresses": ["10.244.0.8"], "conditions": {"ready": false}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "grpc"}, {}]
    });
    assert_eq!(
        cells(*kinds::ENDPOINTSLICES, &slice, now()),
        [
            json!("web-abc12"),
            json!("IPv4"),
            json!("8080,grpc,*"),
            json!("10.244.0.7,10.244.0.8"),
            json!("5m")
        ]
    );
    assert_eq!(
        cells(
            *kinds::ENDPOINTSLICES,
            &json!({"addressType": "IPv4"}),
            now()
        )[2..4],
        [json!("<unset>"), json!("<unset>")]
    );
}

#[test]
fn ingress_row() {
    assert_eq!(
        names(*kinds::INGRESSES),
        ["Name", "Class", "Hosts", "Address", "Ports", "Age"]
    );
    let ing = json!({
        "metadata": meta("web"),
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                 "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {},
                           {"host": "c.example.com"}, {"host": "d.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}}
    });
    assert_eq!(
        cells(*kinds::INGRESSES, &ing, now()),
        [
            json!("web"),
            json!("nginx"),
            json!("a.example.com,b.example.com,c.example.com + 2 more..."),
            json!("203.0.113.9,lb.example.com"),
            json!("80, 443"),
            json!("5m")
        ]
    );
    let bare = json!({"spec": {"rules": [{"http": {}}]}});
    assert_eq!(
        cells(*kinds::INGRESSES, &bare, now())[1..5],
        [json!("<none>"), json!("*"), json!(""), json!("80")]
    );
}

#[test]
fn node_row() {
    assert_eq!(
        wide(*kinds::NODES),
        [
            "Internal-IP",
            "External-IP",
            "OS-Image",
            "Kernel-Version",
            "Container-Runtime"
        ]
    );
    let node = json!({
        "metadata": {"name": "sandbox-node-1", "creationTimestamp": "2024-04-29T09:00:00Z",
                     "labels": {"node-role.kubernetes.io/control-plane": "",
                                "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge",
                                "kubernetes.io/hostname": "sandbox-node-1"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                  {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                 {"type": "Hostname", "address": "sandbox-node-1"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                "kernelVersion": "6.1.0-18-amd64",
                                "containerRuntimeVersion": "containerd://1.7.13"}}
    });
    assert_eq!(
        cells(*kinds::NODES, &node, now()),
        [
            json!("sandbox-node-1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,edge,worker"),
            json!("2d3h"),
            json!("v1.32.4"),
            json!("172.18.0.2"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0-18-amd64"),
            json!("containerd://1.7.13")
        ]
    );
    let blank = cells(*kinds::NODES, &json!({"metadata": {"name": "n"}}), now());
    assert_eq!(blank[1..3], [json!("Unknown"), json!("<none>")]);
    assert_eq!(blank[7], json!("<unknown>"));
}

#[test]
fn event_rows() {
    assert_eq!(
        names(*kinds::EVENTS),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ]
    );
    assert_eq!(
        wide(*kinds::EVENTS),
        ["Subobject", "Source", "First Seen", "Count", "Name"]
    );
    let ev = json!({
        "metadata": meta("web-7d4b9c8f5-x2x9q.17c9a3b2"),
        "involvedObject": {"kind": "Pod", "name": "web-7d4b9c8f5-x2x9q", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff", "message": "Back-off restarting failed container web in pod web\n",
        "source": {"component": "kubelet", "host": "sandbox-node-1"},
        "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:59:00Z",
        "count": 6, "type": "Warning"
    });
    assert_eq!(
        cells(*kinds::EVENTS, &ev, now()),
        [
            json!("60s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-7d4b9c8f5-x2x9q"),
            json!("spec.containers{web}"),
            json!("kubelet, sandbox-node-1"),
            json!("Back-off restarting failed container web in pod web"),
            json!("10m"),
            json!(6),
            json!("web-7d4b9c8f5-x2x9q.17c9a3b2")
        ]
    );
    // events.k8s.io-style: eventTime only, no count, reporting controller instead of source.
    let new_style = json!({
        "metadata": {"name": "e"}, "involvedObject": {"kind": "Deployment", "name": "web"},
        "eventTime": "2024-05-01T11:59:30.123456Z", "reportingComponent": "deployment-controller",
        "type": "Normal", "reason": "ScalingReplicaSet", "message": "Scaled up"
    });
    let row = cells(*kinds::EVENTS, &new_style, now());
    // HumanDuration truncates: 29.9s is "29s".
    assert_eq!(row[0], json!("29s"));
    assert_eq!(row[5], json!("deployment-controller"));
    assert_eq!(row[7..9], [json!("29s"), json!(1)]);
    let series = json!({"firstTimestamp": "2024-05-01T11:00:00Z", "count": 2,
        "series": {"count": 9, "lastObservedTime": "2024-05-01T11:59:50.000000Z"}});
    let row = cells(*kinds::EVENTS, &series, now());
    assert_eq!((row[0].clone(), row[8].clone()), (json!("10s"), json!(9)));
    assert_eq!(
        cells(*kinds::EVENTS, &json!({}), now())[0],
        json!("<unknown>")
    );
}

#[test]
fn custom_resource_rows() {
    assert_eq!(names(*kinds::HTTPROUTES), ["Name", "Hostnames", "Age"]);
    assert_eq!(columns(*kinds::HTTPROUTES)[2].type_, "date");
    let route = json!({"metadata": meta("web"), "spec": {"hostnames": ["web.example.com", "www.example.com"],
        "parentRefs": [{"name": "gw"}]}});
    assert_eq!(
        cells(*kinds::HTTPROUTES, &route, now()),
        [
            json!("web"),
            json!("[\"web.example.com\",\"www.example.com\"]"),
            json!("5m")
        ]
    );
    assert_eq!(
        cells(
            *kinds::HTTPROUTES,
            &json!({"metadata": {"name": "r"}}),
            now()
        ),
        [json!("r"), Value::Null, Value::Null]
    );

    assert_eq!(
        names(*kinds::VIRTUALSERVICES),
        ["Name", "Gateways", "Hosts", "Age"]
    );
    let vs = json!({"metadata": meta("web"), "spec": {"hosts": ["web"], "gateways": ["mesh"]}});
    assert_eq!(
        cells(*kinds::VIRTUALSERVICES, &vs, now()),
        [
            json!("web"),
            json!("[\"mesh\"]"),
            json!("[\"web\"]"),
            json!("5m")
        ]
    );

    assert_eq!(names(*kinds::TRAFFICSPLITS), ["Name", "Service"]);
    let ts = json!({"metadata": meta("web"), "spec": {"service": "web", "backends": []}});
    assert_eq!(
        cells(*kinds::TRAFFICSPLITS, &ts, now()),
        [json!("web"), json!("web")]
    );

    assert_eq!(
        names(*kinds::ROLLOUTS),
        [
            "Name",
            "Desired",
            "Current",
            "Up-to-date",
            "Available",
            "Age"
        ]
    );
    let ro = json!({"metadata": meta("web"), "spec": {"replicas": 5},
        "status": {"replicas": 6, "updatedReplicas": 2.0, "availableReplicas": "x"}});
    assert_eq!(
        cells(*kinds::ROLLOUTS, &ro, now()),
        [
            json!("web"),
            json!(5),
            json!(6),
            json!(2),
            Value::Null,
            json!("5m")
        ]
    );

    let mut bad_date = ro.clone();
    bad_date["metadata"]["creationTimestamp"] = json!("yesterday");
    assert_eq!(
        cells(*kinds::ROLLOUTS, &bad_date, now())[5],
        json!("<invalid>")
    );
}
