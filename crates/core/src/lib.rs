//! shipdeck-core: the product library. Everything shipdeck does on real clusters and
//! registries: the console, the headless release commands, planners and executor, release
//! analysis, and the kube and OCI clients.
//!
//! Dependencies flow downward; a module uses only the ones listed below it:
//!
//! ```text
//! cli                         headless commands, the console's entry point, `init`
//! discovery                   services inferred from the clusters when none are configured
//! runner                      the console's effects: watchers, pollers, release and analysis runs
//! tui                         the one state loop: update, view
//! metrics, theme              release analysis; colours
//! model, release              the observed snapshot and what is derived from it; planners,
//!                             executor, audit journal
//! cluster, registry           kube and OCI clients (kubeconfig, exec credentials, identity,
//!                             access reviews)
//! net                         the one proxy decision every client takes
//! config (shipdeck-shared)    shipdeck.toml; and logging, which uses nothing
//! ```
//!
//! The product library never depends on the sandbox (`shipdeck-sandbox`): the `shipdeck`
//! package wires the two together for `demo`, `sandbox serve` and `screenshots`.

pub mod cli;
pub mod cluster;
pub mod discovery;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod net;
pub mod registry;
pub mod release;
pub mod runner;
pub mod theme;
pub mod tui;

pub use shipdeck_shared::config;

/// kube and oci-client both use rustls; exactly one crypto provider must be installed before
/// the first client is built (see toolchain notes). Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
