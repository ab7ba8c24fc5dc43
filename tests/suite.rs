//! Every integration test in one binary: the test files link the whole crate, and one link
//! instead of one per file keeps build time and disk use down (CI machines can be small).
//! Each file below is a module; shared helpers are the `*_support`/`common` modules.

// Shared helpers.
mod access_support;
mod analysis_support;
#[macro_use]
mod common;
mod controllers_support;
#[path = "oci_server/support.rs"]
mod oci_support;
mod release_common;
mod ui_support;

// Test files, by area.
mod analysis_cli;
mod analysis_release;
mod analysis_sandbox;
mod analysis_watch;
mod api_kube;
mod api_kube_watch;
mod api_kubectl;
mod api_kubectl_edit;
mod cli_flags;
mod cli_tags;
mod controllers;
mod controllers_failures;
mod controllers_pods;
mod controllers_scale;
mod discovery;
mod e2e_tmux;
mod fidelity;
mod metrics_prometheus;
mod metrics_sandbox;
mod oci_server;
mod oci_server_faults;
mod oci_server_http;
mod readme;
mod real_cluster;
mod real_connect;
mod real_exec;
mod real_proxy;
mod real_rbac;
mod registry_auth;
mod registry_docker;
mod registry_promote;
mod release_bluegreen;
mod release_build;
mod release_canary;
mod release_deploy;
mod release_failures;
mod release_promote;
mod sandbox_admission;
mod sandbox_bad_requests;
mod sandbox_demo;
mod sandbox_kubectl_rollout;
mod sandbox_serve;
mod screenshots;
mod ui;
mod ui_analysis;
mod ui_derive;
mod ui_update;
