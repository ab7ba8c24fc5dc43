//! Request paths and query strings, parsed into what the handlers act on.
//!
//! Resource URLs follow the Kubernetes layout: `/api/v1/...` for the core group and
//! `/apis/{group}/{version}/...` for the others, then `[namespaces/{ns}/]{plural}[/{name}[/{sub}]]`.
//! The legacy `/.../watch/...` prefix is accepted too.

use crate::error::ApiError;
use crate::resources::{self, ResId, Subresource};

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` (group empty) or `/apis/{group}/{version}`
    GroupVersion {
        group: String,
        version: String,
    },
    /// `/openapi/v3`
    OpenApiIndex,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`
    OpenApiDoc {
        group: String,
        version: String,
    },
    Resource(ResourceRoute),
}

/// A collection, an object, or an object's subresource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRoute {
    pub res: ResId,
    /// `None` for cluster-scoped kinds and for all-namespace collections.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<Subresource>,
    /// Reached through the deprecated `/watch/` prefix: a watch whatever the query says.
    pub watch_prefix: bool,
}

impl ResourceRoute {
    /// The namespace as the store keys it (empty for cluster-scoped kinds).
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// The generic 404 of the real server for paths it does not serve.
pub fn not_served() -> ApiError {
    let mut err = ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
    err.details = Some(serde_json::json!({}));
    err
}

pub fn parse_path(path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Ok(Route::Version),
        ["healthz" | "livez" | "readyz", ..] => Ok(Route::Health),
        ["api"] => Ok(Route::CoreVersions),
        ["apis"] => Ok(Route::Groups),
        ["openapi", "v3"] => Ok(Route::OpenApiIndex),
        ["openapi", "v3", "api", "v1"] => Ok(Route::OpenApiDoc {
            group: String::new(),
            version: "v1".into(),
        }),
        ["openapi", "v3", "apis", group, version] if group_version_served(group, version) => {
            Ok(Route::OpenApiDoc {
                group: (*group).into(),
                version: (*version).into(),
            })
        }
        ["api", "v1"] => Ok(Route::GroupVersion {
            group: String::new(),
            version: "v1".into(),
        }),
        ["apis", group] if resources::groups().iter().any(|(g, _)| g == group) => {
            Ok(Route::Group((*group).into()))
        }
        ["apis", group, version] if group_version_served(group, version) => {
            Ok(Route::GroupVersion {
                group: (*group).into(),
                version: (*version).into(),
            })
        }
        ["api", "v1", rest @ ..] => parse_resource("", "v1", rest),
        ["apis", group, version, rest @ ..] => parse_resource(group, version, rest),
        _ => Err(not_served()),
    }
}

fn group_version_served(group: &str, version: &str) -> bool {
    resources::groups()
        .iter()
        .any(|(g, vs)| *g == group && vs.contains(&version))
}

fn parse_resource(group: &str, version: &str, rest: &[&str]) -> Result<Route, ApiError> {
    let (watch_prefix, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let lookup = |plural: &str| resources::by_path(group, version, plural).ok_or_else(not_served);
    // `namespaces/{ns}/{plural}...` is a namespaced path unless the third segment is one of
    // the Namespace kind's own subresources.
    let (res, namespace, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            let res = lookup(plural)?;
            if !res.get().namespaced {
                return Err(not_served());
            }
            (res, Some((*ns).to_string()), tail)
        }
        [plural, tail @ ..] => {
            let res = lookup(plural)?;
            // A namespaced kind without a namespace is an all-namespace collection: no names.
            if res.get().namespaced && !tail.is_empty() {
                return Err(not_served());
            }
            (res, None, tail)
        }
        [] => return Err(not_served()),
    };
    let (name, sub) = match tail {
        [] => (None, None),
        [name] => (Some((*name).to_string()), None),
        [name, sub] => {
            let sub = res
                .get()
                .subresources
                .iter()
                .copied()
                .find(|s| s.name() == *sub)
                .ok_or_else(not_served)?;
            (Some((*name).to_string()), Some(sub))
        }
        _ => return Err(not_served()),
    };
    if watch_prefix && sub.is_some() {
        return Err(not_served());
    }
    Ok(Route::Resource(ResourceRoute {
        res,
        namespace,
        name,
        sub,
        watch_prefix,
    }))
}

/// The query parameters any handler understands. Unknown parameters are ignored, as the real
/// server does; malformed values of known ones are a 400.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub include_object: Option<String>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    /// `fieldValidation`: `Strict`, `Warn` (the default) or `Ignore`.
    pub field_validation: Option<String>,
    pub force: bool,
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub container: Option<String>,
    pub follow: bool,
    pub tail_lines: Option<i64>,
    pub timestamps: bool,
    pub previous: bool,
    pub limit_bytes: Option<i64>,
}

pub fn parse_query(query: Option<&str>) -> Result<Params, ApiError> {
    let mut p = Params::default();
    let Some(query) = query else {
        return Ok(p);
    };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let v = value.as_ref();
        match key.as_ref() {
            "watch" => p.watch = parse_bool(&key, v)?,
            "resourceVersion" => p.resource_version = parse_resource_version(v)?,
            "resourceVersionMatch" => p.resource_version_match = non_empty(v),
            "timeoutSeconds" => p.timeout_seconds = Some(parse_num(&key, v)?),
            "allowWatchBookmarks" => p.allow_watch_bookmarks = parse_bool(&key, v)?,
            "sendInitialEvents" => p.send_initial_events = Some(parse_bool(&key, v)?),
            "labelSelector" => p.label_selector = non_empty(v),
            "fieldSelector" => p.field_selector = non_empty(v),
            "includeObject" => p.include_object = non_empty(v),
            "dryRun" => match v {
                "All" => p.dry_run = true,
                "" => {}
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid dryRun: Unsupported value: \"{other}\": supported values: \"All\""
                    )));
                }
            },
            "fieldManager" => p.field_manager = non_empty(v),
            "fieldValidation" => p.field_validation = non_empty(v),
            "force" => p.force = parse_bool(&key, v)?,
            "propagationPolicy" => p.propagation_policy = non_empty(v),
            "gracePeriodSeconds" => p.grace_period_seconds = Some(parse_num(&key, v)?),
            "container" => p.container = non_empty(v),
            "follow" => p.follow = parse_bool(&key, v)?,
            "tailLines" => p.tail_lines = Some(parse_num(&key, v)?),
            "timestamps" => p.timestamps = parse_bool(&key, v)?,
            "previous" => p.previous = parse_bool(&key, v)?,
            "limitBytes" => p.limit_bytes = Some(parse_num(&key, v)?),
            _ => {}
        }
    }
    Ok(p)
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// Go's `strconv.ParseBool`, which the real server uses for boolean parameters.
fn parse_bool(key: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid value {v:?} for query parameter {key}: expected a boolean"
        ))),
    }
}

/// Resource versions are the store's counter: anything else is the etcd store's 400.
fn parse_resource_version(v: &str) -> Result<Option<String>, ApiError> {
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<u64>() {
        Ok(_) => Ok(Some(v.to_string())),
        Err(e) => Err(ApiError::bad_request(format!(
            "invalid resource version: resourceVersion: Invalid value: {v:?}: {e}"
        ))),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ApiError> {
    v.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value {v:?} for query parameter {key}: expected an integer"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds;

    fn resource(path: &str) -> ResourceRoute {
        match parse_path(path) {
            Ok(Route::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn resource_paths() {
        let r = resource("/apis/apps/v1/namespaces/shop/deployments/web/scale");
        assert_eq!(r.res, *kinds::DEPLOYMENTS);
        assert_eq!(r.namespace.as_deref(), Some("shop"));
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.sub, Some(Subresource::Scale));

        let all = resource("/api/v1/pods");
        assert_eq!(
            (all.res, all.namespace, all.name),
            (*kinds::PODS, None, None)
        );

        let ns = resource("/api/v1/namespaces/shop");
        assert_eq!(ns.res, *kinds::NAMESPACES);
        assert_eq!(ns.name.as_deref(), Some("shop"));
        assert_eq!(ns.namespace, None);

        let ns_status = resource("/api/v1/namespaces/shop/status");
        assert_eq!(ns_status.sub, Some(Subresource::Status));

        let log = resource("/api/v1/namespaces/shop/pods/web-1/log");
        assert_eq!(log.sub, Some(Subresource::Log));

        let watch = resource("/api/v1/watch/namespaces/shop/pods");
        assert!(watch.watch_prefix);
        assert_eq!(watch.ns(), "shop");
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(parse_path("/version"), Ok(Route::Version));
        assert_eq!(parse_path("/api"), Ok(Route::CoreVersions));
        assert_eq!(parse_path("/apis/"), Ok(Route::Groups));
        assert_eq!(parse_path("/apis/apps"), Ok(Route::Group("apps".into())));
        assert_eq!(
            parse_path("/apis/apps/v1"),
            Ok(Route::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert_eq!(
            parse_path("/openapi/v3/apis/apps/v1"),
            Ok(Route::OpenApiDoc {
                group: "apps".into(),
                version: "v1".into()
            })
        );
    }

    #[test]
    fn unserved_paths_are_404() {
        for path in [
            "/",
            "/apis/apps/v2",
            "/apis/apps/v1/widgets",
            "/api/v1/pods/web",              // namespaced kind, no namespace
            "/api/v1/namespaces/shop/nodes", // cluster-scoped kind under a namespace
            "/apis/apps/v1/namespaces/shop/deployments/web/log",
            "/apis/apps/v1/namespaces/shop/deployments/web/scale/extra",
            "/openapi/v2",
            "/apis/nope",
        ] {
            let err = parse_path(path).expect_err(path);
            assert_eq!(err.code, 404, "{path}");
        }
    }

    #[test]
    fn query_parameters() {
        let p = parse_query(Some(
            "watch=1&resourceVersion=42&timeoutSeconds=5&labelSelector=app%3Dweb&dryRun=All&force=true",
        ))
        .expect("valid");
        assert!(p.watch && p.dry_run && p.force);
        assert_eq!(p.resource_version.as_deref(), Some("42"));
        assert_eq!(p.timeout_seconds, Some(5));
        assert_eq!(p.label_selector.as_deref(), Some("app=web"));
        assert_eq!(
            parse_query(Some("watch=maybe"))
                .map(|_| ())
                .expect_err("an error")
                .code,
            400
        );
        assert_eq!(
            parse_query(Some("tailLines=x"))
                .map(|_| ())
                .expect_err("an error")
                .code,
            400
        );
        assert_eq!(
            parse_query(Some("dryRun=Some"))
                .map(|_| ())
                .expect_err("an error")
                .code,
            400
        );
        assert!(parse_query(Some("unknown=whatever")).is_ok());
    }
}
