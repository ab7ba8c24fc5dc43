//! What the product (`shipdeck-core`) and the embedded world (`shipdeck-sandbox`) both need,
//! and nothing else: the `shipdeck.toml` format (the sandbox writes one for its world, every
//! shipdeck command reads one) and kubectl's formatting of pods, workloads and durations (the
//! sandbox's server-side tables and the console print the same cells). It depends on no other
//! shipdeck crate.

pub mod config;
pub mod format;
pub mod kubectl;
