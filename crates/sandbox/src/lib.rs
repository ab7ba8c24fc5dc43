//! The embedded world: simulated Kubernetes API servers (one per environment), controllers,
//! an OCI registry, a traffic and metrics simulator, demo scenarios and a virtual clock.
//! Real clients (kubectl, kube, OCI tools) talk to it over HTTP; nothing in the product path
//! knows it is simulated.
//!
//! Of shipdeck's own code it uses only `shipdeck-shared` (the `shipdeck.toml` it writes for its
//! world, kubectl's formatting for its tables); the product library never depends on it.

pub mod api;
pub mod builds;
pub mod clock;
pub mod controllers;
pub mod defaults;
pub mod error;
pub mod images;
pub mod kubeconfig;
pub mod ops;
pub mod registry;
pub mod resources;
pub mod scenario;
pub mod store;
pub mod traffic;
pub mod world;
