//! shipdeck: the binary's library. It wires the product (`shipdeck-core`) to its embedded world
//! (`shipdeck-sandbox`) for the commands that need both: `demo`, `sandbox serve` and
//! `screenshots` (`cli`, `screenshot`, `world_ticker`); everything else is the product's.
//!
//! The workspace, from the top down (each package depends only on those below it):
//!
//! ```text
//! shipdeck           the binary: the command line, demo, sandbox serve, screenshots
//! shipdeck-core      the product library: console, headless commands, release, analysis,
//!                    kube and OCI clients (no HTTP server in its dependencies)
//! shipdeck-sandbox   the embedded world: API servers, controllers, registry, traffic
//! shipdeck-shared    what both need: the shipdeck.toml format, kubectl's formatting
//! ```
//!
//! shipdeck-core and shipdeck-sandbox do not depend on each other. The product's modules and the
//! sandbox are re-exported here under their old paths (`shipdeck::tui`, `shipdeck::sandbox`,
//! ...), which the integration tests and benches use.

pub mod cli;
pub mod screenshot;
pub mod world_ticker;

pub use shipdeck_core::{
    cluster, config, discovery, install_crypto_provider, logging, metrics, model, net, registry,
    release, runner, theme, tui,
};
pub use shipdeck_sandbox as sandbox;
