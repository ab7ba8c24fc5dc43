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
    for bad in ["=web", "app in web", "app=web,", "a b", "app=we b", "-x"] {
        let result = LabelSelector::parse(bad);
        assert_eq!(result.map(|_| ()).expect_err("an error").code, 400, "{bad}");
    }
    // The empty value, after `=` or in parentheses.
    for good in ["app=", "app in ()", "app in (,web)", "app in (in, notin)"] {
        sel(good);
    }
    assert!(sel("app in ()").matches(&json!({"app": ""})));
}

/// The messages of apimachinery's parser (the first one as kube-apiserver 1.34 answered it).
#[test]
fn label_selector_messages_are_the_real_servers() {
    for (bad, message) in [
        (
            "app in (web",
            "unable to parse requirement: found '', expected: ',' or ')'",
        ),
        ("app=web,", "found '', expected: identifier after ','"),
        ("app=web x", "found 'x', expected: ',' or 'end of string'"),
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "app in web",
            "unable to parse requirement: found 'web' expected: '('",
        ),
        (
            "=web",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            "app in (a b)",
            "unable to parse requirement: found 'b', expected: ',' or ')'",
        ),
        (
            "app==(",
            "unable to parse requirement: found '(', expected: identifier",
        ),
    ] {
        let err = LabelSelector::parse(bad).expect_err(bad);
        assert_eq!(err.message, message, "{bad}");
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
