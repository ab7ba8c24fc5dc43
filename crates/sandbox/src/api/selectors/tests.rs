use super::*;
use serde_json::json;

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn label_selector_operators() {
    let web = json!({"app": "web", "tier": "front", "n": "5"});
    let api = json!({"app": "api"});
    let cases = [
        ("app=web", true, false),
        ("app==web", true, false),
        ("app!=web", false, true),
        ("app in (web, db)", true, false),
        ("app notin (web,db)", false, true),
        ("tier", true, false),
        ("!tier", false, true),
        ("app=web,tier=front", true, false),
        ("app=web, tier=back", false, false),
        ("n>4", true, false),
        ("n<4", false, false),
        ("", true, true),
        ("example.com/team", false, false),
    ];
    for (s, on_web, on_api) in cases {
        assert_eq!(sel(s).matches(&web), on_web, "{s} on web");
        assert_eq!(sel(s).matches(&api), on_api, "{s} on api");
    }
    // No labels at all: only negative requirements match.
    assert!(sel("app!=web").matches(&Value::Null));
    assert!(!sel("app").matches(&Value::Null));
}

#[test]
fn label_selector_errors_are_400() {
    for bad in [
        "app=",
        "=web",
        "app in web",
        "app in ()",
        "app=web,",
        "a b",
        "app=we b",
        "-x",
    ] {
        // `app=` is valid (empty value); everything else is not.
        let result = LabelSelector::parse(bad);
        if bad == "app=" {
            assert!(result.is_ok());
        } else {
            assert_eq!(result.map(|_| ()).expect_err("an error").code, 400, "{bad}");
        }
    }
}

#[test]
fn field_selectors_per_kind() {
    let pod = json!({"metadata": {"name": "web-1", "namespace": "shop"},
                     "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}});
    let parse = |s| FieldSelector::parse(*kinds::PODS, s).expect(s);
    assert!(parse("metadata.name=web-1").matches(&pod));
    assert!(parse("metadata.name==web-1,metadata.namespace=shop").matches(&pod));
    assert!(!parse("metadata.name!=web-1").matches(&pod));
    assert!(parse("status.phase=Running,spec.nodeName=node-1").matches(&pod));
    assert!(!parse("spec.nodeName=").matches(&pod));
    let err =
        FieldSelector::parse(*kinds::DEPLOYMENTS, "status.phase=Running").expect_err("an error");
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "field label not supported: status.phase")
    );
    assert_eq!(
        FieldSelector::parse(*kinds::PODS, "nonsense")
            .expect_err("an error")
            .code,
        400
    );
}

#[test]
fn scale_selector_strings() {
    let s = json!({"matchLabels": {"tier": "front", "app": "web"},
                   "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]}]});
    assert_eq!(selector_string(&s), "app=web,env in (a,b),tier=front");
}
