//! What every network client of shipdeck shares: the proxy decision.

pub mod proxy;

pub use proxy::{ProxyError, ProxySettings};
