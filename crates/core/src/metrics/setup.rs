//! From `shipdeck.toml` to a ready [`Probe`]: the provider URL (the service's own, else the
//! sandbox's), its query templates, its smoke check; and the [`Target`] each release
//! strategy analyses.

use std::time::Duration;

use super::provider::Prometheus;
use super::runner::{Probe, Side, Target};
use super::smoke::SmokeCheck;
use super::templates::Templates;
use crate::config::{AnalysisConfig, Config};

/// How long one query may take before the check counts it as unavailable.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
pub const SMOKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The Prometheus base URL for a service's analysis.
pub fn provider_url(config: &Config, analysis: &AnalysisConfig) -> Result<String, String> {
    if analysis.provider != "prometheus" {
        return Err(format!(
            "analysis provider {:?} is not supported (use \"prometheus\")",
            analysis.provider
        ));
    }
    analysis
        .url
        .clone()
        .or_else(|| config.sandbox.as_ref().and_then(|s| s.metrics.clone()))
        .ok_or_else(|| "analysis needs a Prometheus URL: set url in [service.analysis]".to_string())
}

/// The smoke check of a service: its configured URL, else the API server's proxy to
/// `service` (needs `client`).
pub fn smoke_check(
    analysis: &AnalysisConfig,
    client: Option<&kube::Client>,
    namespace: &str,
    service: &str,
) -> Result<Option<SmokeCheck>, String> {
    let Some(smoke) = &analysis.smoke else {
        return Ok(None);
    };
    if let Some(url) = &smoke.url {
        return SmokeCheck::url(url, SMOKE_TIMEOUT).map(Some);
    }
    let client =
        client.ok_or("a smoke check through the service proxy needs a cluster connection")?;
    Ok(Some(SmokeCheck::Proxy {
        client: client.clone(),
        namespace: namespace.to_string(),
        service: service.to_string(),
        port: smoke.port.map(|p| p.to_string()),
        path: smoke.path.clone(),
        timeout: SMOKE_TIMEOUT,
    }))
}

pub fn probe(
    config: &Config,
    analysis: &AnalysisConfig,
    smoke: Option<SmokeCheck>,
) -> Result<Probe, String> {
    let url = provider_url(config, analysis)?;
    Ok(Probe {
        provider: Prometheus::new(&url, QUERY_TIMEOUT)?,
        templates: Templates::with_overrides(&analysis.queries)?,
        smoke,
        health: None,
    })
}

/// A canary: the canary track against the stable one.
pub fn canary_target(env: &str, namespace: &str, service: &str) -> Target {
    Target {
        env: env.into(),
        namespace: namespace.into(),
        service: service.into(),
        candidate: Side::track("canary"),
        baseline: Some(Side::track("stable")),
    }
}

/// A rolling update: the new image tag against the previous one.
pub fn rollout_target(
    env: &str,
    namespace: &str,
    service: &str,
    new_tag: &str,
    old_tag: Option<&str>,
) -> Target {
    Target {
        env: env.into(),
        namespace: namespace.into(),
        service: service.into(),
        candidate: Side::version(new_tag),
        baseline: old_tag.filter(|t| *t != new_tag).map(Side::version),
    }
}

/// Blue-green: the colour now live against the one it replaced, each its own Deployment.
pub fn blue_green_target(
    env: &str,
    namespace: &str,
    service: &str,
    live: (&str, &str),
    previous: Option<(&str, &str)>,
) -> Target {
    Target {
        env: env.into(),
        namespace: namespace.into(),
        service: service.into(),
        candidate: Side::deployment(live.0, live.1),
        baseline: previous.map(|(colour, deployment)| Side::deployment(colour, deployment)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SandboxInfo, SmokeConfig};

    /// The demo world's analysis settings (the product does not depend on the sandbox).
    fn analysis() -> AnalysisConfig {
        AnalysisConfig {
            provider: "prometheus".into(),
            url: None,
            error_rate_max: Some(0.01),
            latency_p99_ms_max: Some(300.0),
            interval: Duration::from_secs(30),
            failure_limit: 2,
            watch_after_deploy: Duration::from_secs(300),
            smoke: Some(SmokeConfig {
                port: None,
                path: "/healthz".into(),
                url: None,
            }),
            queries: Default::default(),
        }
    }

    #[test]
    fn the_url_comes_from_the_service_or_the_sandbox() {
        let mut config = Config::default();
        assert!(provider_url(&config, &analysis()).is_err());
        config.sandbox = Some(SandboxInfo {
            registry: "127.0.0.1:5000".into(),
            metrics: Some("http://127.0.0.1:9".into()),
        });
        assert_eq!(
            provider_url(&config, &analysis()).as_deref(),
            Ok("http://127.0.0.1:9")
        );
        let mut own = analysis();
        own.url = Some("http://prom:9090".into());
        assert_eq!(
            provider_url(&config, &own).as_deref(),
            Ok("http://prom:9090")
        );
        own.provider = "datadog".into();
        assert!(provider_url(&config, &own).is_err_and(|e| e.contains("datadog")));
    }

    #[test]
    fn smoke_needs_a_client_unless_a_url_is_given() {
        assert!(smoke_check(&analysis(), None, "shop", "orders").is_err());
        let mut by_url = analysis();
        if let Some(s) = by_url.smoke.as_mut() {
            s.url = Some("http://127.0.0.1:9/healthz".into());
        }
        let check = smoke_check(&by_url, None, "shop", "orders")
            .expect("ok")
            .expect("configured");
        assert_eq!(check.describe(), "GET http://127.0.0.1:9/healthz");
        let rolling = rollout_target("prod", "shop", "users", "v4.6.0", Some("v4.6.0"));
        assert_eq!(rolling.baseline, None);
        assert_eq!(rolling.candidate.selector, "version=\"v4.6.0\"");
    }
}
