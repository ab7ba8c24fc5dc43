//! Exec credential plugins (`users[].user.exec` in kubeconfig: aws, gke-gcloud-auth-plugin,
//! kubelogin, tsh), run by shipdeck itself rather than by kube, for four reasons:
//! - when: the first run happens while connecting, before the console takes the screen, so
//!   an interactive plugin's prompt appears in the normal terminal; while the console holds
//!   the screen a plugin runs non-interactively (`spec.interactive: false`, no stdin, as the
//!   client-go protocol provides for), so nothing is ever drawn over the console;
//! - errors: a failing plugin is named and its stderr quoted (with its install hint when it
//!   is not installed);
//! - refresh: a token is fetched again when it is within 10 s of `expirationTimestamp`, and
//!   after the API server answers 401 to it (client-go does the same), while the console runs;
//! - secrets: tokens and keys live in `SecretString`s and sensitive headers, and the plugin's
//!   stdout and environment never reach a log or a message.
//!
//! Client certificates a plugin returns (`clientCertificateData`/`clientKeyData`, e.g. tsh)
//! are fetched once at connection and used for the session.
//!
//! A kubeconfig's `tokenFile` goes through the same [`RefreshingBearer`]: read again every
//! minute and after a 401, and trimmed (kube would send a trailing newline along).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderValue, Request, Response};
use jiff::{SignedDuration, Timestamp};
use kube::client::{Body, DynBody};
use kube::config::{Cluster, ExecConfig, ExecInteractiveMode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tower::{BoxError, Layer, Service, ServiceExt};

/// Set while the console has the terminal in raw mode on the alternate screen: plugins then
/// run without a terminal.
static CONSOLE_HOLDS_TERMINAL: AtomicBool = AtomicBool::new(false);

/// The console calls this when it takes the terminal (`true`) and when it gives it back.
pub fn console_holds_terminal(held: bool) {
    CONSOLE_HOLDS_TERMINAL.store(held, Ordering::SeqCst);
}

/// A token is fetched again this long before it expires.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(10);
/// A plugin that runs without a terminal and takes longer than this is stopped.
const NON_INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a failing plugin's stderr a message quotes.
const STDERR_QUOTE: usize = 2000;

/// One `exec` user of a kubeconfig.
#[derive(Clone)]
pub struct ExecPlugin {
    /// The kubeconfig user entry, for messages.
    pub user: String,
    pub command: String,
    pub args: Vec<String>,
    /// Extra environment from the kubeconfig (values may be secrets: never logged).
    env: Vec<(String, String)>,
    pub api_version: String,
    pub interactive_mode: ExecInteractiveMode,
    install_hint: Option<String>,
    /// `spec.cluster` for plugins that asked for `provideClusterInfo`.
    cluster: Option<serde_json::Value>,
}

impl std::fmt::Debug for ExecPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecPlugin")
            .field("user", &self.user)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

/// What a plugin returned.
#[derive(Clone)]
pub struct ExecCredential {
    pub token: Option<SecretString>,
    /// PEM certificate and key.
    pub client_certificate: Option<(String, SecretString)>,
    pub expires: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error(
        "exec plugin {command:?} of kubeconfig user {user:?} is not installed or not executable ({message}){hint}"
    )]
    NotFound {
        user: String,
        command: String,
        message: String,
        hint: String,
    },
    #[error("exec plugin {command:?} of kubeconfig user {user:?} failed ({status}){stderr}")]
    Failed {
        user: String,
        command: String,
        status: String,
        /// The end of what it wrote to stderr, quoted.
        stderr: String,
    },
    #[error(
        "exec plugin {command:?} of kubeconfig user {user:?} printed no usable credential: {message}"
    )]
    BadOutput {
        user: String,
        command: String,
        message: String,
    },
    #[error("tokenFile {path} of kubeconfig user {user:?} cannot be used: {message}")]
    TokenFile {
        user: String,
        path: String,
        message: String,
    },
    #[error(
        "exec plugin {command:?} of kubeconfig user {user:?} needs a terminal (interactiveMode: Always) and {why}"
    )]
    NeedsTerminal {
        user: String,
        command: String,
        why: String,
    },
}

impl ExecPlugin {
    /// From a kubeconfig user's `exec` section; `cluster` is the context's cluster (for
    /// `provideClusterInfo`).
    pub fn new(user: &str, exec: &ExecConfig, cluster: &Cluster) -> Result<ExecPlugin, String> {
        let command = exec
            .command
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("user {user:?}: exec has no command"))?;
        let env = exec
            .env
            .iter()
            .flatten()
            .filter_map(|pair| Some((pair.get("name")?.clone(), pair.get("value")?.clone())))
            .collect();
        let cluster = exec.provide_cluster_info.then(|| cluster_info(cluster));
        Ok(ExecPlugin {
            user: user.to_string(),
            command,
            args: exec.args.clone().unwrap_or_default(),
            env,
            api_version: exec
                .api_version
                .clone()
                .unwrap_or_else(|| "client.authentication.k8s.io/v1".into()),
            interactive_mode: exec
                .interactive_mode
                .clone()
                .unwrap_or(ExecInteractiveMode::IfAvailable),
            install_hint: exec.install_hint.clone(),
            cluster,
        })
    }

    /// Whether this run may use the terminal, or why it must not when it has to.
    fn interactive(&self) -> Result<bool, ExecError> {
        if matches!(self.interactive_mode, ExecInteractiveMode::Never) {
            return Ok(false);
        }
        let why = if CONSOLE_HOLDS_TERMINAL.load(Ordering::SeqCst) {
            Some("the console holds the terminal: quit and start shipdeck again to log in")
        } else if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            Some("standard input is not a terminal")
        } else {
            None
        };
        match (why, &self.interactive_mode) {
            (None, _) => Ok(true),
            (Some(why), ExecInteractiveMode::Always) => Err(ExecError::NeedsTerminal {
                user: self.user.clone(),
                command: self.command.clone(),
                why: why.into(),
            }),
            (Some(_), _) => Ok(false),
        }
    }

    /// Runs the plugin once. With a terminal its stdin is the terminal and its stderr is
    /// passed through as it comes (prompts have no newline); its stdout is the credential.
    pub fn run(&self) -> futures::future::BoxFuture<'_, Result<ExecCredential, ExecError>> {
        // Boxed: a concrete Send future (the auth layer's future must be Send for every
        // lifetime, which the compiler cannot prove through the nested async blocks).
        Box::pin(self.run_inner())
    }

    async fn run_inner(&self) -> Result<ExecCredential, ExecError> {
        let interactive = self.interactive()?;
        let mut spec = serde_json::json!({ "interactive": interactive });
        if let Some(cluster) = &self.cluster {
            spec["cluster"] = cluster.clone();
        }
        let info = serde_json::json!({
            "apiVersion": self.api_version,
            "kind": "ExecCredential",
            "spec": spec,
        });
        let mut cmd = tokio::process::Command::new(&self.command);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", info.to_string())
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        tracing::info!(user = %self.user, command = %self.command, interactive, "running exec credential plugin");
        let mut child = cmd.spawn().map_err(|e| ExecError::NotFound {
            user: self.user.clone(),
            command: self.command.clone(),
            message: e.to_string(),
            hint: self
                .install_hint
                .as_ref()
                .map(|h| format!("\n{}", h.trim()))
                .unwrap_or_default(),
        })?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let read_out = async {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf).await;
            buf
        };
        // Kept for the error message; shown as it comes when the plugin may talk to the user.
        let read_err = async {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 1024];
            let mut terminal = std::io::stderr();
            while let Ok(n) = stderr.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                if interactive {
                    // Small writes to the terminal, as they come: a prompt has no newline.
                    let _ = std::io::Write::write_all(&mut terminal, &chunk[..n]);
                    let _ = std::io::Write::flush(&mut terminal);
                }
                kept.extend_from_slice(&chunk[..n]);
            }
            kept
        };
        let all = async { tokio::join!(read_out, read_err, child.wait()) };
        let (out, err, status) = if interactive {
            all.await
        } else {
            match tokio::time::timeout(NON_INTERACTIVE_TIMEOUT, all).await {
                Ok(done) => done,
                Err(_) => {
                    return Err(ExecError::Failed {
                        user: self.user.clone(),
                        command: self.command.clone(),
                        status: format!(
                            "no answer within {}s without a terminal",
                            NON_INTERACTIVE_TIMEOUT.as_secs()
                        ),
                        stderr: String::new(),
                    });
                }
            }
        };
        let status = status.map_err(|e| ExecError::Failed {
            user: self.user.clone(),
            command: self.command.clone(),
            status: e.to_string(),
            stderr: String::new(),
        })?;
        if !status.success() {
            tracing::warn!(user = %self.user, command = %self.command, %status, "exec credential plugin failed");
            return Err(ExecError::Failed {
                user: self.user.clone(),
                command: self.command.clone(),
                status: status.to_string(),
                stderr: quote_stderr(&err),
            });
        }
        let credential = parse_credential(&out).map_err(|message| ExecError::BadOutput {
            user: self.user.clone(),
            command: self.command.clone(),
            message,
        })?;
        tracing::info!(
            user = %self.user,
            expires = ?credential.expires,
            kind = if credential.token.is_some() { "token" } else { "client certificate" },
            "exec credential plugin returned a credential"
        );
        Ok(credential)
    }
}

/// client-go's `spec.cluster` (camelCase, data in base64).
fn cluster_info(cluster: &Cluster) -> serde_json::Value {
    let ca = cluster.certificate_authority_data.clone().or_else(|| {
        let path = cluster.certificate_authority.as_ref()?;
        let pem = std::fs::read(path).ok()?;
        Some(base64::engine::general_purpose::STANDARD.encode(pem))
    });
    let mut info = serde_json::json!({
        "server": cluster.server,
        "insecureSkipTLSVerify": cluster.insecure_skip_tls_verify.unwrap_or(false),
    });
    let mut put = |key: &str, value: Option<serde_json::Value>| {
        if let Some(v) = value {
            info[key] = v;
        }
    };
    put("certificateAuthorityData", ca.map(Into::into));
    put(
        "tlsServerName",
        cluster.tls_server_name.clone().map(Into::into),
    );
    put("proxyURL", cluster.proxy_url.clone().map(Into::into));
    put(
        "config",
        cluster
            .extensions
            .iter()
            .flatten()
            .find(|e| e.name == "client.authentication.k8s.io/exec")
            .map(|e| e.extension.clone()),
    );
    info
}

fn quote_stderr(err: &[u8]) -> String {
    let text = String::from_utf8_lossy(err);
    let text = text.trim();
    if text.is_empty() {
        return " and wrote nothing to stderr".into();
    }
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= STDERR_QUOTE)
        .unwrap_or(0);
    let quoted: Vec<String> = text[start..].lines().map(|l| format!("  | {l}")).collect();
    format!("; it said:\n{}", quoted.join("\n"))
}

#[derive(Deserialize)]
struct CredentialDoc {
    kind: Option<String>,
    status: Option<CredentialStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialStatus {
    expiration_timestamp: Option<String>,
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Parses an ExecCredential (JSON, or YAML as client-go tolerates). Messages never quote
/// the output: it holds the secret.
fn parse_credential(out: &[u8]) -> Result<ExecCredential, String> {
    let doc: CredentialDoc = serde_saphyr::from_slice(out)
        .map_err(|_| "its output is not an ExecCredential document".to_string())?;
    if doc.kind.as_deref().is_some_and(|k| k != "ExecCredential") {
        return Err(format!(
            "kind is {:?}, not ExecCredential",
            doc.kind.unwrap_or_default()
        ));
    }
    let status = doc.status.ok_or("it has no status")?;
    let expires = status
        .expiration_timestamp
        .as_deref()
        .map(|t| {
            t.parse::<Timestamp>()
                .map_err(|e| format!("expirationTimestamp is not RFC 3339 ({e})"))
        })
        .transpose()?;
    let token = status
        .token
        .filter(|t| !t.is_empty())
        .map(SecretString::from);
    let client_certificate = match (status.client_certificate_data, status.client_key_data) {
        (Some(cert), Some(key)) => Some((cert, SecretString::from(key))),
        (None, None) => None,
        _ => return Err("it has only one of clientCertificateData and clientKeyData".into()),
    };
    if token.is_none() && client_certificate.is_none() {
        return Err("status has neither a token nor a client certificate".into());
    }
    Ok(ExecCredential {
        token,
        client_certificate,
        expires,
    })
}

/// The token credential of one kubeconfig user, fetched and refreshed as needed.
/// A bearer token that can change while shipdeck runs: an exec plugin's, or a token file's
/// (`tokenFile`, rotated by whoever writes it: read again every minute, as client-go does,
/// and trimmed, since `echo TOKEN > file` leaves a newline kube would send along).
pub struct RefreshingBearer {
    source: TokenSource,
    cached: tokio::sync::Mutex<Option<(HeaderValue, Option<Timestamp>)>>,
}

enum TokenSource {
    Exec(ExecPlugin),
    File {
        user: String,
        path: std::path::PathBuf,
    },
}

/// How long a token file's contents are used before the file is read again.
const TOKEN_FILE_TTL: SignedDuration = SignedDuration::from_secs(60);

impl RefreshingBearer {
    /// Starts with the credential fetched while connecting.
    pub fn new(plugin: ExecPlugin, first: &ExecCredential) -> Arc<RefreshingBearer> {
        let cached = first
            .token
            .as_ref()
            .and_then(|t| bearer(t).ok())
            .map(|h| (h, first.expires));
        Arc::new(RefreshingBearer {
            source: TokenSource::Exec(plugin),
            cached: tokio::sync::Mutex::new(cached),
        })
    }

    /// A kubeconfig user's `tokenFile`; an unreadable or empty file is an error now.
    pub fn token_file(
        user: &str,
        path: &std::path::Path,
    ) -> Result<Arc<RefreshingBearer>, ExecError> {
        let auth = RefreshingBearer {
            source: TokenSource::File {
                user: user.to_string(),
                path: path.to_path_buf(),
            },
            cached: tokio::sync::Mutex::new(None),
        };
        let first = auth.read_token_file()?;
        *auth.cached.try_lock().expect("new mutex") = Some(first);
        Ok(Arc::new(auth))
    }

    fn read_token_file(&self) -> Result<(HeaderValue, Option<Timestamp>), ExecError> {
        let TokenSource::File { user, path } = &self.source else {
            unreachable!("only for token files");
        };
        let err = |message: String| ExecError::TokenFile {
            user: user.clone(),
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(err("it is empty".into()));
        }
        let header = bearer(&SecretString::from(token)).map_err(err)?;
        Ok((
            header,
            Some(Timestamp::now() + TOKEN_FILE_TTL + EXPIRY_MARGIN),
        ))
    }

    /// The Authorization header: the cached token while it is fresh, else a new one.
    pub async fn header(&self) -> Result<HeaderValue, ExecError> {
        let mut cached = self.cached.lock().await;
        if let Some((header, expires)) = cached.as_ref()
            && expires.is_none_or(|at| Timestamp::now() + EXPIRY_MARGIN < at)
        {
            return Ok(header.clone());
        }
        let plugin = match &self.source {
            TokenSource::Exec(plugin) => plugin,
            TokenSource::File { .. } => {
                let fresh = self.read_token_file()?;
                *cached = Some(fresh.clone());
                return Ok(fresh.0);
            }
        };
        let credential = plugin.run().await?;
        let token = credential.token.ok_or_else(|| ExecError::BadOutput {
            user: plugin.user.clone(),
            command: plugin.command.clone(),
            message: "it returned a client certificate where a token was expected".into(),
        })?;
        let header = bearer(&token).map_err(|message| ExecError::BadOutput {
            user: plugin.user.clone(),
            command: plugin.command.clone(),
            message,
        })?;
        *cached = Some((header.clone(), credential.expires));
        Ok(header)
    }

    /// The server refused `used` (401): forget it, so the next request fetches it again.
    async fn refused(&self, used: &HeaderValue) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|(h, _)| h == used) {
            tracing::info!(
                "the API server refused the credential (401); it is fetched again on the next request"
            );
            *cached = None;
        }
    }
}

fn bearer(token: &SecretString) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| "the token is not a valid HTTP header value".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Adds the bearer token (exec plugin or token file) to every request of a kube client.
#[derive(Clone)]
pub struct BearerLayer(pub Arc<RefreshingBearer>);

type KubeService = tower::util::BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;

impl Layer<KubeService> for BearerLayer {
    type Service = BearerService;

    fn layer(&self, inner: KubeService) -> BearerService {
        BearerService {
            // The header is fetched asynchronously before the inner call, so the inner
            // service is shared; the lock is held only to start a call, not for its answer.
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            auth: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct BearerService {
    inner: Arc<tokio::sync::Mutex<KubeService>>,
    auth: Arc<RefreshingBearer>,
}

impl Service<Request<Body>> for BearerService {
    type Response = Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        // Readiness is awaited on a clone inside the call.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let auth = self.auth.clone();
        Box::pin(async move {
            let header = auth
                .header()
                .await
                .map_err(|e| -> BoxError { Box::new(e) })?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, header.clone());
            let call = {
                let mut service = inner.lock().await;
                service.ready().await?;
                service.call(request)
            };
            let response = call.await?;
            if response.status() == http::StatusCode::UNAUTHORIZED {
                auth.refused(&header).await;
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_from_json_and_yaml_without_quoting_secrets() {
        let json = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#;
        let c = parse_credential(json).expect("json");
        assert_eq!(c.token.as_ref().map(|t| t.expose_secret()), Some("s3cret"));
        assert_eq!(
            c.expires,
            Some("2030-01-01T00:00:00Z".parse().expect("timestamp"))
        );
        let yaml =
            b"kind: ExecCredential\nstatus:\n  clientCertificateData: CERT\n  clientKeyData: KEY\n";
        let c = parse_credential(yaml).expect("yaml");
        assert!(c.token.is_none() && c.client_certificate.is_some());
        for bad in [
            &b"token: s3cret-not-a-doc"[..],
            b"{\"kind\":\"ExecCredential\",\"status\":{}}",
            b"{\"kind\":\"ExecCredential\",\"status\":{\"token\":\"s3cret\",\"expirationTimestamp\":\"soon\"}}",
        ] {
            let message = parse_credential(bad).err().expect("refused");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn stderr_is_quoted_from_its_end() {
        let long = "x".repeat(5000) + "\nthe real reason";
        let quoted = quote_stderr(long.as_bytes());
        assert!(quoted.ends_with("  | the real reason"), "{quoted}");
        assert!(quoted.len() < STDERR_QUOTE + 100);
        assert_eq!(quote_stderr(b"  \n"), " and wrote nothing to stderr");
    }
}
