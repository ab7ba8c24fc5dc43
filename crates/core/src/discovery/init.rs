//! `shipdeck init`: the inferred configuration as a shipdeck.toml a person reviews, every
//! service with the evidence it was grouped by, and what could not be looked at.

use serde::Serialize;

use super::Discovery;
use crate::config::{Config, EnvConfig, ServiceConfig};

#[derive(Serialize)]
struct Envs<'a> {
    env: &'a [EnvConfig],
}

#[derive(Serialize)]
struct Services<'a> {
    service: [&'a ServiceConfig; 1],
}

fn comment(text: &str) -> String {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// The file's text. `config` holds the environments discovery ran on (their contexts and
/// namespaces), `sources` says where they came from (kubeconfig files, contexts).
pub fn render(config: &Config, discovery: &Discovery, sources: &str) -> String {
    let mut out = comment(&format!(
        "shipdeck.toml written by `shipdeck init` from {sources}.\n\
         Every service below was inferred from the cluster; the line above each says why.\n\
         Review it: names, strategies and routes are what shipdeck will act on. Then add what\n\
         cannot be inferred: `registry` per environment, `protected = true` for production,\n\
         [service.build] and [service.analysis] (see the README's configuration section)."
    ));
    if !discovery.skipped.is_empty() || !discovery.errors.is_empty() {
        out.push_str("#\n# Not used:\n");
        for line in discovery.skipped.iter().chain(&discovery.errors) {
            out.push_str(&comment(&format!("  - {line}")));
        }
    }
    out.push('\n');
    if !config.envs.is_empty() {
        out.push_str(&toml::to_string_pretty(&Envs { env: &config.envs }).unwrap_or_default());
        out.push('\n');
    }
    for found in &discovery.services {
        for line in &found.evidence {
            out.push_str(&comment(line));
        }
        let block = toml::to_string_pretty(&Services {
            service: [&found.config],
        })
        .unwrap_or_default();
        out.push_str(&block);
        out.push('\n');
    }
    if discovery.services.is_empty() {
        out.push_str(&comment(
            "No Deployments were found: add [[service]] entries by hand (see the README).",
        ));
    }
    out
}
