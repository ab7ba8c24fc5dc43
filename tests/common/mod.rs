//! Shared test helpers. Registry tests: a real `docker-registry` per test, a seeding client
//! that speaks the distribution API directly (independent of the code under test), and a
//! proxy that injects faults, adds pagination or demands bearer tokens in front of it.
//! Cluster tests (`cluster`): a sandbox cluster served over HTTP with a kubeconfig.
#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod cluster;
pub mod proxy;
pub mod real_cluster;
pub mod registry;
pub mod seed;
pub mod squid;

pub use cluster::*;
pub use proxy::Proxy;
pub use registry::TestRegistry;
pub use seed::{ImageSpec, Seed};

/// Starts a registry, or returns from the test after saying loudly why it is skipped.
#[macro_export]
macro_rules! registry_or_skip {
    () => {
        match $crate::common::TestRegistry::start() {
            Some(r) => r,
            None => return,
        }
    };
    ($htpasswd:expr) => {
        match $crate::common::TestRegistry::start_with_htpasswd($htpasswd) {
            Some(r) => r,
            None => return,
        }
    };
}

/// Options for tests: plain HTTP, no ambient docker credentials, fast retries.
pub fn options() -> shipdeck::registry::ClientOptions {
    shipdeck::registry::ClientOptions {
        credentials: shipdeck::registry::CredentialSource::Anonymous,
        retry: shipdeck::registry::RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(100),
            max_retry_after: std::time::Duration::from_secs(5),
        },
        ..shipdeck::registry::ClientOptions::default()
    }
}

pub fn client(host: &str) -> shipdeck::registry::RegistryClient {
    shipdeck::install_crypto_provider();
    shipdeck::registry::RegistryClient::new(host, options()).expect("client")
}

/// Five consecutive free loopback ports (the world's API servers, registry and metrics), so
/// two worlds or two runs can use the same addresses one after the other.
pub fn free_port_base() -> u16 {
    for _ in 0..50 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base < 60000
            && (0..5).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
    panic!("no five consecutive free ports");
}
