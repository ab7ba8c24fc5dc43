//! Credentials the way users already have them: docker's `config.json` (`auths`,
//! `credHelpers`, `credsStore`) through the `docker_credential` crate. Secrets live in
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
    /// docker's own lookup: `$DOCKER_CONFIG`, else `$HOME/.docker`.
    pub fn from_env() -> CredentialSource {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        match dir {
            Some(dir) => CredentialSource::DockerConfig(dir),
            None => CredentialSource::Anonymous,
        }
    }

    /// What to tell a user whose credentials were missing or rejected.
    pub(crate) fn hint(&self) -> String {
        match self {
            CredentialSource::DockerConfig(dir) => {
                format!("check credentials in {}", display_config_path(dir))
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
            CredentialSource::DockerConfig(dir) => from_docker_config(dir, registry),
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

fn display_config_path(dir: &Path) -> String {
    let path = dir.join("config.json");
    if let Some(home) = std::env::var_os("HOME")
        && let Ok(rest) = path.strip_prefix(Path::new(&home))
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

fn from_docker_config(dir: &Path, registry: &str) -> Result<Credentials, RegistryError> {
    let path = dir.join("config.json");
    let shown = display_config_path(dir);
    let fail = |message: String| RegistryError::Credentials {
        registry: registry.to_string(),
        message,
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::Anonymous),
        Err(e) => return Err(fail(format!("cannot read {shown}: {e}"))),
    };
    let key = credential_key(registry);
    match docker_credential::get_credential_from_reader(BufReader::new(file), key) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Ok(Credentials::Basic {
            username,
            password: SecretString::from(password),
        }),
        Ok(DockerCredential::IdentityToken(token)) => {
            Ok(Credentials::IdentityToken(SecretString::from(token)))
        }
        Err(CredentialRetrievalError::NoCredentialConfigured)
        | Err(CredentialRetrievalError::ConfigNotFound) => Ok(Credentials::Anonymous),
        // Helpers answer "credentials not found" for registries they hold nothing for;
        // docker treats that as anonymous. The output is inspected, never shown.
        Err(CredentialRetrievalError::HelperFailure { stdout, stderr, .. })
            if is_not_found(&stdout) || is_not_found(&stderr) =>
        {
            Ok(Credentials::Anonymous)
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
