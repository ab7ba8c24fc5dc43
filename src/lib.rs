//! shipdeck: a terminal release console for Kubernetes microservices.
//!
//! Dependencies flow downward: `tui`/`cli` → `release`/`build`/`metrics` → `cluster`/`registry`
//! → `model`. `sandbox` depends on nothing above `model`, and nothing in the product path depends
//! on `sandbox` except the `demo` and `sandbox` entry points.

pub mod cli;
pub mod cluster;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod release;
pub mod runner;
pub mod screenshot;
pub mod theme;
pub mod tui;
pub mod world_ticker;

pub use shipdeck_sandbox as sandbox;
pub use shipdeck_shared::config;

/// kube and oci-client both use rustls; exactly one crypto provider must be installed before
/// the first client is built (see toolchain notes). Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
