//! Credentials the way users already have them: podman's `auth.json` and docker's
//! `config.json` (`auths`, `credHelpers`, `credsStore`; the same format) through the
//! `docker_credential` crate, in podman's order of lookup. Secrets live in
//! `SecretString` so they never reach `Debug` output, and helper output (which may echo a
//! secret) is never put into an error message.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use docker_credential::{CredentialRetrievalError, DockerCredential};
use secrecy::SecretString;

use super::error::RegistryError;
use super::reference::credential_key;

/// What we present to a registry that asks who we are.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: SecretString,
    },
    /// An OAuth2 refresh token (`identitytoken` in `config.json`, or a helper's `<token>` user).
    IdentityToken(SecretString),
}

impl Credentials {
    pub fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.to_string(),
            password: SecretString::from(password),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credentials::Anonymous)
    }
}

/// Where a client finds credentials when a registry challenges it.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// The directory holding docker's `config.json` (`$DOCKER_CONFIG`, else `~/.docker`).
    DockerConfig(PathBuf),
    /// Auth files in the format of docker's `config.json`, asked in order: the first that
    /// has an entry for the registry answers (podman's and skopeo's lookup).
    AuthFiles(Vec<PathBuf>),
    /// Given explicitly (the sandbox, tests, a `--username` flag).
    Static(Credentials),
    /// Never send credentials.
    Anonymous,
}

impl Default for CredentialSource {
    fn default() -> Self {
        CredentialSource::from_env()
    }
}

impl CredentialSource {
    /// podman's lookup, then docker's: `$REGISTRY_AUTH_FILE`, else
    /// `$XDG_RUNTIME_DIR/containers/auth.json` and `$XDG_CONFIG_HOME/containers/auth.json`
    /// (default `~/.config`); then `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn from_env() -> CredentialSource {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var("HOME");
        let mut files = Vec::new();
        if let Some(file) = var("REGISTRY_AUTH_FILE") {
            files.push(file);
        } else {
            if let Some(run) = var("XDG_RUNTIME_DIR") {
                files.push(run.join("containers").join("auth.json"));
            }
            if let Some(config) =
                var("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")))
            {
                files.push(config.join("containers").join("auth.json"));
            }
        }
        let docker = var("DOCKER_CONFIG").or_else(|| home.map(|h| h.join(".docker")));
        files.extend(docker.map(|d| d.join("config.json")));
        if files.is_empty() {
            CredentialSource::Anonymous
        } else {
            CredentialSource::AuthFiles(files)
        }
    }

    /// What to tell a user whose credentials were missing or rejected.
    pub(crate) fn hint(&self) -> String {
        match self {
            CredentialSource::DockerConfig(dir) => {
                format!(
                    "check credentials in {}",
                    display_path(&dir.join("config.json"))
                )
            }
            CredentialSource::AuthFiles(files) => {
                let existing: Vec<String> = files
                    .iter()
                    .filter(|f| f.is_file())
                    .map(|f| display_path(f))
                    .collect();
                if existing.is_empty() {
                    "the registry requires credentials: log in with `podman login` or `docker login`".into()
                } else {
                    format!("check credentials in {}", existing.join(" or "))
                }
            }
            CredentialSource::Static(_) => "the configured credentials were rejected".into(),
            CredentialSource::Anonymous => {
                "the registry requires credentials and none are configured".into()
            }
        }
    }

    /// Looks credentials up for `registry`. Runs helpers, so it blocks: call it off the runtime.
    pub fn lookup_blocking(&self, registry: &str) -> Result<Credentials, RegistryError> {
        match self {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::Anonymous => Ok(Credentials::Anonymous),
            CredentialSource::DockerConfig(dir) => {
                Ok(from_auth_file(&dir.join("config.json"), registry)?
                    .unwrap_or(Credentials::Anonymous))
            }
            CredentialSource::AuthFiles(files) => {
                for file in files {
                    if let Some(found) = from_auth_file(file, registry)? {
                        return Ok(found);
                    }
                }
                Ok(Credentials::Anonymous)
            }
        }
    }

    pub(crate) async fn lookup(&self, registry: &str) -> Result<Credentials, RegistryError> {
        let source = self.clone();
        let registry_owned = registry.to_string();
        tokio::task::spawn_blocking(move || source.lookup_blocking(&registry_owned))
            .await
            .unwrap_or_else(|e| {
                Err(RegistryError::Credentials {
                    registry: registry.to_string(),
                    message: format!("credential lookup did not finish: {e}"),
                })
            })
    }
}

fn display_path(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME")
        && let Ok(rest) = path.strip_prefix(Path::new(&home))
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

/// The entry of one auth file for `registry`: `None` when the file or the entry is missing
/// (the next file is asked).
fn from_auth_file(path: &Path, registry: &str) -> Result<Option<Credentials>, RegistryError> {
    let shown = display_path(path);
    let fail = |message: String| RegistryError::Credentials {
        registry: registry.to_string(),
        message,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(format!("cannot read {shown}: {e}"))),
    };
    let key = credential_key(registry);
    match docker_credential::get_credential_from_reader(BufReader::new(file), key) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Some(Credentials::Basic {
                username,
                password: SecretString::from(password),
            }))
        }
        Ok(DockerCredential::IdentityToken(token)) => {
            Ok(Some(Credentials::IdentityToken(SecretString::from(token))))
        }
        Err(CredentialRetrievalError::NoCredentialConfigured)
        | Err(CredentialRetrievalError::ConfigNotFound) => Ok(None),
        // Helpers answer "credentials not found" for registries they hold nothing for;
        // docker treats that as anonymous. The output is inspected, never shown.
        Err(CredentialRetrievalError::HelperFailure { stdout, stderr, .. })
            if is_not_found(&stdout) || is_not_found(&stderr) =>
        {
            Ok(None)
        }
        Err(CredentialRetrievalError::HelperFailure { helper, .. }) => Err(fail(format!(
            "credential helper {helper} failed (configured in {shown})"
        ))),
        Err(CredentialRetrievalError::HelperCommunicationError) => Err(fail(format!(
            "cannot run the credential helper configured in {shown} (is docker-credential-* on PATH?)"
        ))),
        Err(CredentialRetrievalError::MalformedHelperResponse) => Err(fail(format!(
            "the credential helper configured in {shown} gave a malformed answer"
        ))),
        Err(CredentialRetrievalError::ConfigReadError) => {
            Err(fail(format!("cannot parse {shown}")))
        }
        Err(CredentialRetrievalError::CredentialDecodingError) => {
            Err(fail(format!("cannot decode the auth entry in {shown}")))
        }
        Err(CredentialRetrievalError::CredentialMismatchError) => Err(fail(format!(
            "the auth entry and username/password in {shown} disagree"
        ))),
    }
}

fn is_not_found(output: &str) -> bool {
    output
        .to_ascii_lowercase()
        .contains("credentials not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn config_dir(json: &str) -> std::io::Result<tempfile::TempDir> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("config.json"), json)?;
        Ok(dir)
    }

    #[test]
    fn auths_entry_gives_basic_credentials() -> Result<(), Box<dyn std::error::Error>> {
        // "alice:wonder-pass" in base64
        let dir =
            config_dir(r#"{"auths":{"127.0.0.1:5000":{"auth":"YWxpY2U6d29uZGVyLXBhc3M="}}}"#)?;
        let source = CredentialSource::DockerConfig(dir.path().to_path_buf());
        match source.lookup_blocking("127.0.0.1:5000")? {
            Credentials::Basic { username, password } => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose_secret(), "wonder-pass");
            }
            other => panic!("expected basic credentials, got {other:?}"),
        }
        assert!(source.lookup_blocking("other:5000")?.is_anonymous());
        Ok(())
    }

    #[test]
    fn podmans_auth_file_is_asked_before_dockers() -> Result<(), Box<dyn std::error::Error>> {
        // "podman:first" and "docker:second" in base64.
        let podman = config_dir(r#"{"auths":{"registry.shop:5000":{"auth":"cG9kbWFuOmZpcnN0"}}}"#)?;
        let docker = config_dir(
            r#"{"auths":{"registry.shop:5000":{"auth":"ZG9ja2VyOnNlY29uZA=="},"only.docker:5000":{"auth":"ZG9ja2VyOnNlY29uZA=="}}}"#,
        )?;
        let source = CredentialSource::AuthFiles(vec![
            podman.path().join("missing-runtime-auth.json"),
            podman.path().join("config.json"),
            docker.path().join("config.json"),
        ]);
        let user = |registry: &str| match source.lookup_blocking(registry) {
            Ok(Credentials::Basic { username, .. }) => username,
            other => format!("{other:?}"),
        };
        assert_eq!(user("registry.shop:5000"), "podman");
        assert_eq!(user("only.docker:5000"), "docker");
        assert!(source.lookup_blocking("elsewhere:5000")?.is_anonymous());
        Ok(())
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let c = Credentials::basic("alice", "wonder-pass");
        assert!(!format!("{c:?}").contains("wonder-pass"));
    }

    #[test]
    fn missing_file_is_anonymous_and_broken_file_is_an_error()
    -> Result<(), Box<dyn std::error::Error>> {
        let empty = tempfile::tempdir()?;
        let source = CredentialSource::DockerConfig(empty.path().to_path_buf());
        assert!(source.lookup_blocking("127.0.0.1:5000")?.is_anonymous());

        let broken = config_dir("{not json")?;
        let source = CredentialSource::DockerConfig(broken.path().to_path_buf());
        let err = source
            .lookup_blocking("127.0.0.1:5000")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("cannot parse")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn failing_helper_is_named_without_its_output() -> Result<(), Box<dyn std::error::Error>> {
        // A helper that is not on PATH cannot be run; the message says where it is configured.
        let dir = config_dir(r#"{"credHelpers":{"127.0.0.1:5000":"shipdeck-absent-helper"}}"#)?;
        let source = CredentialSource::DockerConfig(dir.path().to_path_buf());
        let err = source.lookup_blocking("127.0.0.1:5000").err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("credential helper"), "{text}");
        assert!(text.contains("config.json"), "{text}");
        Ok(())
    }
}
