//! Finding, parsing and validating `shipdeck.toml`, with errors that name file, line and field.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::locate::{line_col, locate_path};
use super::{Config, Router, Strategy};

/// A configuration problem: what, and where (file, line, column, field path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted path of the offending key, e.g. `service[1].canary.steps`.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where the console looks for a config when `--config` is not given: `./shipdeck.toml`, then
/// `$XDG_CONFIG_HOME/shipdeck/shipdeck.toml`.
pub fn find_config_file() -> Option<PathBuf> {
    let local = PathBuf::from("shipdeck.toml");
    if local.is_file() {
        return Some(local);
    }
    use etcetera::BaseStrategy;
    let xdg = etcetera::choose_base_strategy()
        .ok()?
        .config_dir()
        .join("shipdeck")
        .join("shipdeck.toml");
    xdg.is_file().then_some(xdg)
}

pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    let mut config = parse_str(&text, path)?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    config.base_dir = absolute.parent().map(Path::to_path_buf);
    config.source = Some(absolute);
    Ok(config)
}

/// Parses and validates; `file` is only used in error messages.
pub fn parse_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let err =
        |line: Option<usize>, column: Option<usize>, field: Option<String>, message: String| {
            ConfigError {
                file: file.to_path_buf(),
                line,
                column,
                field,
                message,
            }
        };
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unzip();
        err(line, col, None, e.message().trim().to_string())
    })?;
    let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.inner();
        let (line, col) = inner
            .span()
            .map(|s| line_col(text, s.start))
            .or_else(|| locate_path(text, &field).map(|l| (l, 1)))
            .unzip();
        let field = (field != ".").then_some(field);
        err(line, col, field, inner.message().trim().to_string())
    })?;
    validate(&config).map_err(|(field, message)| {
        let line = locate_path(text, &field);
        err(line, line.map(|_| 1), Some(field), message)
    })?;
    Ok(config)
}

/// Checks what types cannot: uniqueness, references between sections, value ranges.
fn validate(config: &Config) -> Result<(), (String, String)> {
    let mut envs = HashSet::new();
    for (i, env) in config.envs.iter().enumerate() {
        if env.name.trim().is_empty() {
            return Err((format!("env[{i}].name"), "must not be empty".into()));
        }
        if !envs.insert(env.name.as_str()) {
            return Err((
                format!("env[{i}].name"),
                format!("environment {:?} is defined twice", env.name),
            ));
        }
    }
    let mut services = HashSet::new();
    for (i, svc) in config.services.iter().enumerate() {
        let at = |f: &str| format!("service[{i}].{f}");
        if svc.name.trim().is_empty() {
            return Err((at("name"), "must not be empty".into()));
        }
        if !services.insert(svc.name.as_str()) {
            return Err((
                at("name"),
                format!("service {:?} is defined twice", svc.name),
            ));
        }
        match svc.strategy {
            Strategy::Canary => {
                let Some(canary) = &svc.canary else {
                    return Err((
                        at("strategy"),
                        "strategy \"canary\" needs a [service.canary] section".into(),
                    ));
                };
                if canary.router != Router::Replicas && canary.route.is_none() {
                    return Err((
                        at("canary"),
                        format!(
                            "router {:?} needs `route` (the object holding the weights)",
                            canary.router
                        ),
                    ));
                }
                if canary.steps.is_empty() {
                    return Err((at("canary.steps"), "needs at least one step".into()));
                }
                if canary.steps.iter().any(|s| *s > 100) {
                    return Err((
                        at("canary.steps"),
                        "steps are percentages from 0 to 100".into(),
                    ));
                }
                if canary.steps.windows(2).any(|w| w[0] >= w[1]) {
                    return Err((at("canary.steps"), "steps must increase".into()));
                }
            }
            Strategy::BlueGreen if svc.blue_green.is_none() => {
                return Err((
                    at("strategy"),
                    "strategy \"blue-green\" needs a [service.blue_green] section".into(),
                ));
            }
            _ => {}
        }
        if let Some(build) = &svc.build {
            match build.runner {
                super::BuildRunner::Command if build.command.is_none() => {
                    return Err((
                        at("build.command"),
                        "runner \"command\" needs `command`".into(),
                    ));
                }
                super::BuildRunner::Job if build.job_template.is_none() => {
                    return Err((
                        at("build.job_template"),
                        "runner \"job\" needs `job_template`".into(),
                    ));
                }
                _ => {}
            }
            if let Some(env) = &build.env
                && !envs.contains(env.as_str())
            {
                return Err((at("build.env"), format!("unknown environment {env:?}")));
            }
        }
        if let Some(analysis) = &svc.analysis {
            if analysis
                .error_rate_max
                .is_some_and(|r| !(0.0..=1.0).contains(&r))
            {
                return Err((
                    at("analysis.error_rate_max"),
                    "is a fraction between 0 and 1 (0.01 = 1%)".into(),
                ));
            }
            if analysis.interval.is_zero() {
                return Err((at("analysis.interval"), "must be longer than zero".into()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        parse_str(text, Path::new("shipdeck.toml"))
    }

    #[test]
    fn full_example_parses() {
        let config = parse(
            r#"
[console]
theme = "light"
registry_refresh = "45s"

[[env]]
name = "dev"
context = "sandbox-dev"
namespace = "shop"
registry = "127.0.0.1:5000/dev"

[[env]]
name = "prod"
context = "sandbox-prod"
namespace = "shop"
protected = true

[policy]
approval_for = ["major"]

[[service]]
name = "orders"
strategy = "canary"

[service.canary]
router = "gateway-api"
route = "orders"
stable = "orders-stable"
canary = "orders-canary"

[service.analysis]
error_rate_max = 0.01
interval = "10s"

[keys]
rollback = "r"
"#,
        )
        .expect("valid config");
        assert_eq!(config.envs.len(), 2);
        assert!(config.env("prod").is_some_and(|e| e.protected));
        assert_eq!(config.console.registry_refresh.as_secs(), 45);
        let orders = config.service("orders").expect("orders");
        assert_eq!(
            orders.canary.as_ref().map(|c| c.steps.clone()),
            Some(vec![5, 10, 25, 50, 100])
        );
        assert_eq!(orders.deployment_name(), "orders");
        // What the sandbox writes must read back identically.
        let again = parse(&config.to_toml()).expect("round trip");
        assert_eq!(again, config);
    }

    #[test]
    fn unknown_key_names_line_and_field() {
        let e = parse("[[env]]\nname = \"dev\"\nprotectd = true\n").expect_err("typo");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("unknown field `protectd`"), "{e}");
        assert!(e.to_string().starts_with("shipdeck.toml:3:"), "{e}");
    }

    #[test]
    fn bad_value_names_field() {
        let e = parse("[console]\nregistry_refresh = \"soon\"\n").expect_err("bad duration");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().contains("invalid duration"), "{e}");
    }

    #[test]
    fn semantic_error_points_at_the_key() {
        let text = "[[service]]\nname = \"a\"\n\n[[service]]\nname = \"b\"\nstrategy = \"canary\"\n\n[service.canary]\nrouter = \"replicas\"\nstable = \"b\"\ncanary = \"b-canary\"\nsteps = [50, 10]\n";
        let e = parse(text).expect_err("decreasing steps");
        assert_eq!(e.field.as_deref(), Some("service[1].canary.steps"));
        assert_eq!(e.line, Some(12), "{e}");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("[console\n").expect_err("syntax");
        assert_eq!(e.line, Some(1), "{e}");
    }
}
