//! The scenario: what a user does with kubectl on a small Deployment and its Service, from
//! creating the namespace to deleting it. Every recorded step is run on both sides and its
//! output compared. `Settle`, `NamespaceReady` and `Emptied` are not recorded: they wait until
//! the cluster has reached the state the next read expects (the sandbox's kubelet and kwok take
//! different times to make pods Ready, controllers record events after their writes).

/// The namespace of the scenario, on both sides (so no output needs it rewritten).
pub const NAMESPACE: &str = "fidelity";

/// The Deployment the scenario rolls out, with its Service. One replica until the scenario
/// scales it: each rollout then records two events (scaled up, scaled down). The real
/// controller-manager's event recorder folds the tenth distinct message of one object and
/// reason into "(combined from similar events)", and from then on which later messages it
/// folds is random (client-go's `EventAggregator` forgets a random one); the scenario stays
/// below ten.
pub const MANIFEST: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"#;

/// A typo in a field name: strict field validation (kubectl's default) rejects it.
const UNKNOWN_FIELD: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  replicass: 2
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
"#;

/// A selector that does not select the template: validation (422) rejects it.
const SELECTOR_MISMATCH: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: mismatch
spec:
  selector:
    matchLabels: {app: one}
  template:
    metadata:
      labels: {app: two}
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
"#;

pub enum Step {
    /// `kubectl ARGS` (with `stdin` as its standard input), recorded.
    Kubectl {
        args: Vec<String>,
        stdin: Option<&'static str>,
        /// Output whose line order is the server's name order of generated names, which
        /// differs between the sides: lines are sorted (per blank-line separated block, the
        /// first line of a block staying first) or, for JSON, `items` are.
        sort: bool,
    },
    /// `kubectl ARGS` (a `get -w`) running while `actions` run one after the other once it has
    /// printed `ready_lines` lines (the initial list: from then on the watch sees every change);
    /// stopped at the first line containing every word of `until`. Records what the watch
    /// printed, then what each action printed.
    Watch {
        args: Vec<String>,
        ready_lines: usize,
        actions: Vec<Vec<String>>,
        until: &'static [&'static str],
    },
    /// One HTTP request straight to the API server, recorded as status code and body: what
    /// kubectl hides of an error (the code, `reason`, `details`).
    Http {
        method: &'static str,
        path: String,
        content_type: &'static str,
        body: String,
    },
    /// Not recorded: waits until Deployment `web` has rolled out completely (every replica
    /// updated, ready and available, no pod terminating, no event still arriving).
    Settle,
    /// Not recorded: waits until no pod, ReplicaSet or Deployment of `web` is left.
    Emptied,
    /// Not recorded: waits until the namespace's `default` ServiceAccount exists (the real
    /// server refuses pods before it does; the ReplicaSet controller would back off).
    NamespaceReady,
}

impl Step {
    /// The step as a user would type it; the transcript's section title.
    pub fn title(&self) -> String {
        match self {
            Step::Kubectl { args, stdin, .. } => {
                let input = stdin.map_or("", |_| " < manifest");
                format!("kubectl {}{input}", shell_words(args))
            }
            Step::Watch { args, .. } => format!("kubectl {}", shell_words(args)),
            Step::Http {
                method,
                path,
                content_type,
                ..
            } => format!("{method} {path} ({content_type})"),
            Step::Settle => "(settle)".into(),
            Step::Emptied => "(emptied)".into(),
            Step::NamespaceReady => "(namespace ready)".into(),
        }
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
            {
                a.clone()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The whitespace-separated words of `line` (arguments without spaces).
pub(super) fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// `kubectl` with whitespace-separated arguments.
fn k(line: &str) -> Step {
    Step::Kubectl {
        args: words(line),
        stdin: None,
        sort: false,
    }
}

/// `kubectl` whose output order is generated-name order (see [`Step::Kubectl::sort`]).
fn k_sorted(line: &str) -> Step {
    Step::Kubectl {
        args: words(line),
        stdin: None,
        sort: true,
    }
}

/// `kubectl` with whitespace-separated arguments and a last argument that may contain spaces
/// (a patch).
fn k_with(line: &str, last: &str) -> Step {
    let mut args = words(line);
    args.push(last.to_string());
    Step::Kubectl {
        args,
        stdin: None,
        sort: false,
    }
}

fn k_stdin(line: &str, stdin: &'static str) -> Step {
    Step::Kubectl {
        args: words(line),
        stdin: Some(stdin),
        sort: false,
    }
}

fn http(method: &'static str, path: &str, content_type: &'static str, body: &str) -> Step {
    Step::Http {
        method,
        path: path.to_string(),
        content_type,
        body: body.to_string(),
    }
}

pub fn steps() -> Vec<Step> {
    let deployment = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments");
    let web = format!("{deployment}/web");
    vec![
        // Which server kubectl sees (the dispatcher picks the same kubectl for both).
        k("version"),
        k(&format!("create namespace {NAMESPACE}")),
        Step::NamespaceReady,
        k_stdin("apply -f -", MANIFEST),
        Step::Settle,
        k("rollout status deployment/web"),
        k("wait --for=condition=Available deployment/web"),
        k_stdin("apply -f -", MANIFEST),
        // Reads of the first revision: tables, objects, descriptions.
        k_sorted("get all -o wide"),
        k("get deployment web -o wide"),
        k_sorted("get replicasets -o wide"),
        k_sorted("get pods -o wide --show-labels"),
        k("get service web -o wide"),
        k("get deployment web -o yaml"),
        k_sorted("get replicasets -o json"),
        k("get pods -l app=web -o yaml"),
        k("get service web -o yaml"),
        k("get endpointslices -l kubernetes.io/service-name=web -o yaml"),
        k("get serviceaccounts,configmaps"),
        k("describe deployment web"),
        k("describe replicaset"),
        k("describe pods -l app=web"),
        k("describe service web"),
        // Revision 2: set image.
        k("set image deployment/web web=registry.local/web:2.0"),
        k("annotate deployment/web kubernetes.io/change-cause=web-2.0"),
        Step::Settle,
        k("rollout status deployment/web"),
        k("rollout history deployment/web"),
        k("rollout history deployment/web --revision=2"),
        // Revision 3: a strategic merge patch of the pod template (containers merge by name).
        k_with(
            "patch deployment web -p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"MODE","value":"fidelity"}]}]}}}}"#,
        ),
        Step::Settle,
        // No new revision: a merge patch of labels, a JSON patch of the spec.
        k_with(
            "patch deployment web --type=merge -p",
            r#"{"metadata":{"labels":{"tier":"frontend"}}}"#,
        ),
        k_with(
            "patch deployment web --type=json -p",
            r#"[{"op":"replace","path":"/spec/revisionHistoryLimit","value":5}]"#,
        ),
        Step::Settle,
        k("get deployment web -o json"),
        k_sorted("get replicasets -o wide"),
        // Undo to revision 2 (it becomes 4), then to revision 3 (it becomes 5).
        k("rollout undo deployment/web"),
        Step::Settle,
        k("rollout history deployment/web"),
        k("rollout undo deployment/web --to-revision=3"),
        Step::Settle,
        k("rollout status deployment/web"),
        k("rollout undo deployment/web --to-revision=5"),
        k("rollout undo deployment/web --to-revision=99"),
        k("rollout history deployment/web --revision=99"),
        k("rollout status deployment/web --revision=1"),
        // Scale, pause (undo refused), resume.
        k("scale deployment web --replicas=3"),
        Step::Settle,
        k_sorted("get deployment,replicasets -o wide"),
        k("rollout pause deployment/web"),
        k("rollout undo deployment/web"),
        k("rollout resume deployment/web"),
        Step::Settle,
        k("rollout resume deployment/web"),
        k("describe deployment web"),
        k_sorted("events --for deployment/web"),
        // Watches: a ConfigMap created, changed and deleted; the Service relabelled.
        k("create configmap watched --from-literal=k=v1"),
        k("label configmap watched fidelity=watch"),
        Step::Watch {
            args: words("get configmaps -l fidelity=watch -w --output-watch-events"),
            ready_lines: 2,
            actions: vec![
                words(r#"patch configmap watched --type=merge -p {"data":{"k":"v2"}}"#),
                words("create configmap second --from-literal=a=1 --from-literal=b=2"),
                words("label configmap second fidelity=watch"),
                words("delete configmap watched second"),
            ],
            until: &["DELETED", "second"],
        },
        Step::Watch {
            args: words("get service web -w --output-watch-events --show-labels"),
            ready_lines: 2,
            actions: vec![words("label service web tier=frontend")],
            until: &["MODIFIED", "tier=frontend"],
        },
        // Bad input.
        k_stdin("apply -f -", UNKNOWN_FIELD),
        k_stdin("apply -f -", SELECTOR_MISMATCH),
        k("create deployment web --image=registry.local/web:1.0"),
        k_with("patch deployment web -p", "{bad json"),
        k_with("patch deployment web -p", r#"{"spec":{"replicas":"two"}}"#),
        k_with(
            "patch deployment web --type=merge -p",
            r#"{"spec":{"replicas":"two"}}"#,
        ),
        k_with(
            "patch deployment web --type=merge -p",
            r#"{"spec":{"replicass":1}}"#,
        ),
        k_with("patch deployment web -p", r#"{"spec":{"replicas":-1}}"#),
        k_with(
            "patch deployment web --type=json -p",
            r#"[{"op":"test","path":"/spec/replicas","value":7}]"#,
        ),
        k_with("patch deployment web --type=json -p", r#"{"op":"add"}"#),
        k_with(
            "patch deployment web --type=json -p",
            r#"[{"op":"replace","path":"/spec/paused","value":false}]"#,
        ),
        k("get deployment missing"),
        k("describe deployment missing"),
        k("scale deployment missing --replicas=1"),
        k("delete deployment missing"),
        k_with("get pods -l", "app in (web"),
        k("get pods --field-selector spec.bogus=1"),
        k("get nosuchkind"),
        k("set image deployment/web nosuch=registry.local/web:3.0"),
        // The same errors as the API server sends them.
        http(
            "GET",
            &format!("{deployment}/missing"),
            "application/json",
            "",
        ),
        http(
            "POST",
            &deployment,
            "application/json",
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.0"}]}}}}"#,
        ),
        http(
            "PUT",
            &web,
            "application/json",
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","resourceVersion":"1"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.0"}]}}}}"#,
        ),
        http(
            "POST",
            &deployment,
            "application/json",
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"mismatch"},"spec":{"selector":{"matchLabels":{"app":"one"}},"template":{"metadata":{"labels":{"app":"two"}},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.0"}]}}}}"#,
        ),
        http(
            "PATCH",
            &web,
            "application/json-patch+json",
            r#"[{"op":"test","path":"/spec/replicas","value":7}]"#,
        ),
        http("PATCH", &web, "text/plain", r#"{"spec":{"replicas":1}}"#),
        http(
            "PATCH",
            &format!("{web}?fieldValidation=Strict"),
            "application/merge-patch+json",
            r#"{"spec":{"replicass":1}}"#,
        ),
        http(
            "GET",
            &format!("/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app+in+(web"),
            "application/json",
            "",
        ),
        // Cleaning up.
        k("delete service web"),
        k("delete deployment web"),
        Step::Emptied,
        k("get all"),
        k(&format!("delete namespace {NAMESPACE} --wait=false")),
    ]
}
