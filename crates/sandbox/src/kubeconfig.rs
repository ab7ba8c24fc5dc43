//! A kubeconfig for the sandbox's clusters, readable by kubectl and the kube crate.
//!
//! Written by hand (the format needs a handful of scalars); every string is emitted as a
//! double-quoted YAML scalar, so names, URLs and tokens need no further thought.

use std::io;
use std::path::Path;

/// One cluster as a kubeconfig context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    /// Context, cluster and user name, e.g. `sandbox-dev`.
    pub name: String,
    /// `http://127.0.0.1:PORT`
    pub server: String,
    /// Bearer token, when the server requires one.
    pub token: Option<String>,
    /// Default namespace of the context.
    pub namespace: Option<String>,
}

/// The kubeconfig text; `current-context` is the first context.
pub fn render(contexts: &[KubeContext]) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Config\npreferences: {}\n");
    out.push_str("clusters:\n");
    for c in contexts {
        out.push_str(&format!(
            "- name: {}\n  cluster:\n    server: {}\n",
            quote(&c.name),
            quote(&c.server)
        ));
    }
    out.push_str("users:\n");
    for c in contexts {
        match &c.token {
            Some(token) => out.push_str(&format!(
                "- name: {}\n  user:\n    token: {}\n",
                quote(&c.name),
                quote(token)
            )),
            None => out.push_str(&format!("- name: {}\n  user: {{}}\n", quote(&c.name))),
        }
    }
    out.push_str("contexts:\n");
    for c in contexts {
        out.push_str(&format!(
            "- name: {}\n  context:\n    cluster: {}\n    user: {}\n",
            quote(&c.name),
            quote(&c.name),
            quote(&c.name)
        ));
        if let Some(ns) = &c.namespace {
            out.push_str(&format!("    namespace: {}\n", quote(ns)));
        }
    }
    let current = contexts.first().map(|c| quote(&c.name));
    out.push_str(&format!(
        "current-context: {}\n",
        current.as_deref().unwrap_or("\"\"")
    ));
    out
}

/// Writes the kubeconfig to `path` (owner-only permissions on Unix: it may hold tokens).
pub fn write_kubeconfig(path: &Path, contexts: &[KubeContext]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = render(contexts);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    // Replace atomically so a client never reads a half-written file.
    std::fs::rename(&tmp, path)
}

/// A YAML double-quoted scalar (JSON string escaping is a subset of it).
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_contexts_with_first_current() {
        let text = render(&[
            KubeContext {
                name: "sandbox-dev".into(),
                server: "http://127.0.0.1:1234".into(),
                token: Some("s3cret \"x\"".into()),
                namespace: Some("shop".into()),
            },
            KubeContext {
                name: "sandbox-prod".into(),
                server: "http://127.0.0.1:1235".into(),
                token: None,
                namespace: None,
            },
        ]);
        assert!(text.contains("current-context: \"sandbox-dev\"\n"));
        assert!(text.contains("    server: \"http://127.0.0.1:1234\"\n"));
        assert!(text.contains("    token: \"s3cret \\\"x\\\"\"\n"));
        assert!(text.contains("    namespace: \"shop\"\n"));
        assert!(text.contains("- name: \"sandbox-prod\"\n  user: {}\n"));
    }
}
