//! Which proxy a request goes through, decided once for every client shipdeck has (kube,
//! the OCI registry, Prometheus, smoke checks), so the console's paths never disagree about
//! the network.
//!
//! The rules are client-go's (what kubectl does on the same machine), from
//! `golang.org/x/net/http/httpproxy`:
//! - `HTTPS_PROXY` for `https://` URLs, `HTTP_PROXY` for `http://` URLs (the upper-case name
//!   wins over the lower-case one; `ALL_PROXY` is not read, as in Go);
//! - `NO_PROXY`: comma-separated host names (`example.com` and `.example.com` both match the
//!   domain and its subdomains), IP addresses, CIDR ranges, optional `:port`, or `*` for all;
//! - `localhost` and loopback addresses never go through a proxy;
//! - a kubeconfig cluster's `proxy-url` replaces all of that for that cluster.
//!
//! A proxy URL without a scheme is taken as `http://`, as Go does. `socks5://` proxies work
//! for kube and the registry.

use std::net::IpAddr;

use ipnet::IpNet;
use url::Url;

/// The proxy environment, read once at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxySettings {
    pub https_proxy: Option<Url>,
    pub http_proxy: Option<Url>,
    pub no_proxy: NoProxy,
}

/// A parsed `NO_PROXY`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoProxy {
    /// `*`: no request is proxied.
    all: bool,
    entries: Vec<NoProxyEntry>,
}

#[derive(Debug, Clone, PartialEq)]
enum NoProxyEntry {
    Net(IpNet),
    Ip(IpAddr, Option<u16>),
    /// A domain (lower case, without a leading dot) and its subdomains.
    Domain(String, Option<u16>),
}

/// A proxy variable that is set but not a URL: named in the error so it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "${variable} is not a proxy URL ({value:?}): {message}; use e.g. http://proxy.example:3128"
)]
pub struct ProxyError {
    pub variable: String,
    pub value: String,
    pub message: String,
}

fn var(names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name.to_string(), v))
    })
}

impl ProxySettings {
    /// From `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (or their lower-case forms).
    pub fn from_env() -> Result<ProxySettings, ProxyError> {
        Self::from_vars(
            var(&["HTTPS_PROXY", "https_proxy"]),
            var(&["HTTP_PROXY", "http_proxy"]),
            var(&["NO_PROXY", "no_proxy"]).map(|(_, v)| v),
        )
    }

    /// The same from given values (`(variable name, value)`), for tests and callers with
    /// their own source.
    pub fn from_vars(
        https: Option<(String, String)>,
        http: Option<(String, String)>,
        no_proxy: Option<String>,
    ) -> Result<ProxySettings, ProxyError> {
        Ok(ProxySettings {
            https_proxy: https.map(|(n, v)| parse_proxy_url(&n, &v)).transpose()?,
            http_proxy: http.map(|(n, v)| parse_proxy_url(&n, &v)).transpose()?,
            no_proxy: no_proxy.as_deref().map(NoProxy::parse).unwrap_or_default(),
        })
    }

    /// Whether any proxy is configured at all.
    pub fn is_empty(&self) -> bool {
        self.https_proxy.is_none() && self.http_proxy.is_none()
    }

    /// The proxy for a request to `url`, or `None` to connect directly.
    pub fn proxy_for(&self, url: &Url) -> Option<&Url> {
        let proxy = match url.scheme() {
            "https" | "wss" => self.https_proxy.as_ref(),
            "http" | "ws" => self.http_proxy.as_ref(),
            _ => None,
        }?;
        let host = url.host_str()?;
        let port = url.port_or_known_default();
        if is_loopback(host) || self.no_proxy.matches(host, port) {
            return None;
        }
        Some(proxy)
    }

    /// A reqwest client builder that follows these settings (and nothing else: reqwest's own
    /// reading of the environment is switched off, so it cannot disagree with kube's).
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if self.is_empty() {
            return builder.no_proxy();
        }
        let settings = self.clone();
        builder.proxy(reqwest::Proxy::custom(move |url| {
            settings.proxy_for(url).cloned()
        }))
    }

    /// A reqwest client builder with the environment's proxy settings (the registry,
    /// Prometheus and smoke-check clients start from this).
    pub fn client_builder() -> Result<reqwest::ClientBuilder, ProxyError> {
        Ok(Self::from_env()?.apply(reqwest::Client::builder()))
    }

    /// The proxy for a kube cluster at `server` (`https://host:port`), as kube wants it.
    pub fn kube_proxy(&self, server: &str) -> Option<http::Uri> {
        let url = Url::parse(server).ok()?;
        self.proxy_for(&url)?.as_str().parse().ok()
    }
}

/// Go's `localhost` and loopback rule: such requests are never proxied.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_proxy_url(variable: &str, value: &str) -> Result<Url, ProxyError> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let err = |message: String| ProxyError {
        variable: variable.to_string(),
        value: redact_userinfo(value),
        message,
    };
    let url = Url::parse(&with_scheme).map_err(|e| err(e.to_string()))?;
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" => {}
        other => return Err(err(format!("unsupported scheme {other:?}"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err("no host".into()));
    }
    Ok(url)
}

/// A proxy URL for messages: a password in it is replaced by `***`.
pub fn redact_userinfo(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_string(),
    }
}

impl NoProxy {
    pub fn parse(value: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for raw in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if raw == "*" {
                no_proxy.all = true;
                continue;
            }
            if let Ok(net) = raw.parse::<IpNet>() {
                no_proxy.entries.push(NoProxyEntry::Net(net));
                continue;
            }
            let (host, port) = split_port(raw);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse::<IpAddr>() {
                no_proxy.entries.push(NoProxyEntry::Ip(ip, port));
            } else {
                let domain = host.trim_start_matches("*.").trim_start_matches('.');
                no_proxy
                    .entries
                    .push(NoProxyEntry::Domain(domain.to_ascii_lowercase(), port));
            }
        }
        no_proxy
    }

    pub fn matches(&self, host: &str, port: Option<u16>) -> bool {
        if self.all {
            return true;
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        let port_ok = |want: &Option<u16>| want.is_none() || *want == port;
        self.entries.iter().any(|entry| match entry {
            NoProxyEntry::Net(net) => ip.is_some_and(|ip| net.contains(&ip)),
            NoProxyEntry::Ip(want, want_port) => ip == Some(*want) && port_ok(want_port),
            NoProxyEntry::Domain(domain, want_port) => {
                (host == *domain || host.ends_with(&format!(".{domain}"))) && port_ok(want_port)
            }
        })
    }
}

/// `host:port` → (`host`, port); an IPv6 address without brackets has no port.
fn split_port(raw: &str) -> (&str, Option<u16>) {
    if let Some(rest) = raw.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match raw.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (raw, None),
        },
        _ => (raw, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(https: &str, http: &str, no_proxy: &str) -> ProxySettings {
        let some = |name: &str, v: &str| (!v.is_empty()).then(|| (name.to_string(), v.to_string()));
        ProxySettings::from_vars(
            some("HTTPS_PROXY", https),
            some("HTTP_PROXY", http),
            (!no_proxy.is_empty()).then(|| no_proxy.to_string()),
        )
        .expect("valid settings")
    }

    fn via(s: &ProxySettings, url: &str) -> Option<String> {
        s.proxy_for(&Url::parse(url).expect("url"))
            .map(|u| u.to_string())
    }

    #[test]
    fn the_scheme_picks_the_variable() {
        let s = settings("http://secure:3128", "http://plain:3128", "");
        assert_eq!(
            via(&s, "https://kube.example:6443/api").as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            via(&s, "http://kube.example:8080/api").as_deref(),
            Some("http://plain:3128/")
        );
        let only_https = settings("http://secure:3128", "", "");
        assert_eq!(via(&only_https, "http://kube.example/"), None);
    }

    #[test]
    fn loopback_is_never_proxied() {
        let s = settings("http://p:3128", "http://p:3128", "");
        for url in [
            "https://127.0.0.1:6443/",
            "http://127.0.0.5/",
            "http://localhost:8080/",
            "https://[::1]:6443/",
            "http://api.localhost/",
        ] {
            assert_eq!(via(&s, url), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_matches_domains_ips_cidrs_and_ports() {
        let s = settings(
            "http://p:3128",
            "",
            " example.com, .corp.test ,10.0.0.0/8,192.168.1.7, kube.dev:6443,[fd00::1]:443",
        );
        let direct = [
            "https://example.com/",
            "https://api.example.com/",
            "https://corp.test/",
            "https://a.b.corp.test/",
            "https://10.20.30.40/",
            "https://192.168.1.7:6443/",
            "https://kube.dev:6443/",
            "https://[fd00::1]/",
        ];
        for url in direct {
            assert_eq!(via(&s, url), None, "{url} goes direct");
        }
        let proxied = [
            "https://notexample.com/",
            "https://192.168.1.8/",
            "https://kube.dev:443/",
            "https://11.0.0.1/",
        ];
        for url in proxied {
            assert!(via(&s, url).is_some(), "{url} goes through the proxy");
        }
        assert_eq!(
            via(&settings("http://p:3128", "", "*"), "https://x.y/"),
            None
        );
    }

    #[test]
    fn proxy_urls_are_checked_and_take_http_by_default() {
        let s = settings("proxy.corp:3128", "", "");
        assert_eq!(
            s.https_proxy.as_ref().map(Url::as_str),
            Some("http://proxy.corp:3128/")
        );
        let socks = settings("socks5://127.0.0.1:1080", "", "");
        assert_eq!(
            socks
                .kube_proxy("https://kube.example:6443")
                .map(|u| u.to_string()),
            Some("socks5://127.0.0.1:1080/".to_string())
        );
        let bad = ProxySettings::from_vars(
            Some(("HTTPS_PROXY".into(), "ftp://user:secret@p:21".into())),
            None,
            None,
        )
        .expect_err("ftp is not a proxy scheme");
        let message = bad.to_string();
        assert!(message.contains("$HTTPS_PROXY"), "{message}");
        assert!(message.contains("ftp"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
