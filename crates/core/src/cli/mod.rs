//! The product's commands: the console on the user's clusters, and the headless release
//! commands that scripts and CI call (same planners and executor as the console). The command
//! line itself (`shipdeck::cli`, in the `shipdeck` package) parses them and adds `demo`,
//! `sandbox serve` and `screenshots`, which need the sandbox.

pub mod actions;
mod build;
pub mod console;
pub mod drive;
mod guarded;
mod status;
mod tags;
