use super::super::tests::{containers, deployment, names};
use super::super::{Obj, strategic_merge};
use super::*;
use serde_json::json;

#[test]
fn server_side_apply_merges_without_ownership() {
    let applied = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.3",
                                  "env": [{"name": "B", "value": "20"}, {"name": "D", "value": "4"}]}]}}}
    });
    let out = server_side_apply("Deployment", &deployment(), &applied).expect("applies");
    assert_eq!(out["spec"]["replicas"], json!(4));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(
        out["metadata"]["annotations"],
        deployment()["metadata"]["annotations"]
    );
    assert_eq!(out["status"], deployment()["status"]);
    // Containers merge by name; the live-only `log` container stays in place.
    assert_eq!(names(containers(&out), "name"), ["web", "log"]);
    let web = &containers(&out)[0];
    assert_eq!(web["image"], json!("nginx:1.3"));
    assert_eq!(web["ports"], containers(&deployment())[0]["ports"]);
    assert_eq!(names(&web["env"], "name"), ["A", "B", "D"]);
    assert_eq!(web["env"][1], json!({"name": "B", "value": "20"}));

    // Applied order wins for shared elements; atomic lists are replaced; sets union.
    let reorder = json!({"metadata": {"finalizers": ["c", "a"]},
        "spec": {"template": {"spec": {
            "containers": [{"name": "log"}, {"name": "web"}],
            "tolerations": []}}}});
    let out = server_side_apply("Deployment", &deployment(), &reorder).expect("applies");
    assert_eq!(names(containers(&out), "name"), ["log", "web"]);
    assert_eq!(out["spec"]["template"]["spec"]["tolerations"], json!([]));
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    // Explicit null removes a field.
    let out = server_side_apply(
        "Deployment",
        &deployment(),
        &json!({"spec": {"strategy": {"rollingUpdate": null}}}),
    )
    .expect("applies");
    assert_eq!(out["spec"]["strategy"], json!({"type": "RollingUpdate"}));
}

#[test]
fn server_side_apply_creates_and_rejects_bad_configs() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(
        server_side_apply("ConfigMap", &Value::Null, &cm),
        Ok(cm.clone())
    );
    assert_eq!(
        server_side_apply("ConfigMap", &Value::Null, &json!("x")),
        Err("failed to create typed patch object: expected an object, got string".into())
    );
    assert_eq!(
        server_side_apply(
            "ConfigMap",
            &Value::Null,
            &json!({"data": {"$patch": "delete"}})
        ),
        Err(
            "failed to create typed patch object: .data.$patch: field not declared in schema"
                .into()
        )
    );
    assert_eq!(
        server_side_apply(
            "Deployment",
            &deployment(),
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
        ),
        Err(".spec.template.spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)".into())
    );
    assert_eq!(
        server_side_apply(
            "Pod",
            &Value::Null,
            &json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}})
        ),
        Err(".spec.containers: duplicate entries for key [name=\"a\"]".into())
    );
}

/// A small deterministic generator of awkward JSON: directive keys, merge keys, mixed lists.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn value(&mut self, depth: u32) -> Value {
        const KEYS: &[&str] = &[
            "spec",
            "template",
            "containers",
            "name",
            "env",
            "ports",
            "containerPort",
            "finalizers",
            "metadata",
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$setElementOrder/finalizers",
            "$deleteFromPrimitiveList/finalizers",
            "$setElementOrder/",
            "$deleteFromPrimitiveList",
            "replace",
            "delete",
            "merge",
            "uid",
        ];
        match if depth == 0 {
            self.next() % 4
        } else {
            self.next() % 7
        } {
            0 => Value::Null,
            1 => json!(self.pick(KEYS)),
            2 => json!(self.next() % 3),
            3 => json!(self.next().is_multiple_of(2)),
            4 | 5 => {
                let n = self.next() % 4;
                let mut m = Obj::new();
                for _ in 0..n {
                    let k = self.pick(KEYS).to_string();
                    m.insert(k, self.value(depth - 1));
                }
                Value::Object(m)
            }
            _ => {
                let n = self.next() % 4;
                Value::Array((0..n).map(|_| self.value(depth - 1)).collect())
            }
        }
    }
}

#[test]
fn arbitrary_json_never_panics() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let kinds = ["Deployment", "Pod", "Service", "Node", "HTTPRoute"];
    for i in 0..4000 {
        let original = if i % 3 == 0 { deployment() } else { g.value(5) };
        let patch = g.value(5);
        let kind = kinds[i % kinds.len()];
        let _ = strategic_merge(kind, &original, &patch);
        let _ = server_side_apply(kind, &original, &patch);
        // Wrapping random patches at the container level exercises the list paths.
        let wrapped = json!({"spec": {"template": {"spec": {"containers": patch.clone(),
            "$setElementOrder/containers": g.value(2)}}}, "metadata": {"finalizers": g.value(2)}});
        let _ = strategic_merge(kind, &original, &wrapped);
        let _ = server_side_apply(kind, &original, &wrapped);
    }
}
