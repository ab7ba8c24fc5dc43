//! `shipdeck status`: every service in every environment — image tag, ready/desired, health —
//! like the console's services pane, as a table or JSON.

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::cluster::EnvClient;
use crate::config::{ServiceConfig, Strategy};
use crate::release::objects::{deployment_image, image_tag, is_paused, replicas};
use crate::release::observe::{Observed, canary_deployments, observe};
use crate::release::wait::{RolloutStatus, rollout_status};
use crate::release::{PlanInput, ReleaseContext};

use super::drive::{EXIT_FAILED, EXIT_OK, Output};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Progressing,
    Failing,
    Paused,
    Missing,
    Unknown,
}

impl Health {
    fn label(&self) -> &'static str {
        match self {
            Health::Healthy => "✓ healthy",
            Health::Progressing => "⟳ progressing",
            Health::Failing => "✗ failing",
            Health::Paused => "⏸ paused",
            Health::Missing => "? missing",
            Health::Unknown => "? unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub service: String,
    pub env: String,
    pub deployment: String,
    pub image: Option<String>,
    pub tag: Option<String>,
    pub ready: i32,
    pub desired: i32,
    pub health: Health,
    /// Strategy state: canary weight, active colour.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn health(d: &Deployment) -> Health {
    if is_paused(d) {
        return Health::Paused;
    }
    match rollout_status(d) {
        RolloutStatus::Failed(_) => Health::Failing,
        RolloutStatus::Waiting(_) => Health::Progressing,
        RolloutStatus::Done(_) => Health::Healthy,
    }
}

/// The Deployment that serves the service's users (stable, active colour) and a strategy
/// detail line.
fn primary(o: &Observed, input: &PlanInput) -> (String, String) {
    let cfg = input.cfg;
    match cfg.strategy {
        Strategy::Rolling => (cfg.deployment_name().to_string(), String::new()),
        Strategy::Canary => {
            let (stable, canary) = canary_deployments(cfg).unwrap_or_default();
            let detail = match crate::release::traffic::traffic(o, input) {
                Ok(t) => {
                    let tag = o
                        .deployment(&canary)
                        .and_then(|d| deployment_image(d, cfg.container.as_deref()))
                        .and_then(|i| image_tag(&i).map(str::to_string))
                        .unwrap_or_default();
                    format!("canary {}% ({canary} {tag})", t.canary_percent)
                }
                Err(e) => format!("canary: {e}"),
            };
            (stable, detail)
        }
        Strategy::BlueGreen => match crate::release::blue_green::active(o, input) {
            Ok((colour, name)) => (name, format!("active {colour}")),
            Err(e) => (String::new(), format!("blue-green: {e}")),
        },
    }
}

async fn rows_for_env(client: &EnvClient, services: &[ServiceConfig]) -> Vec<Row> {
    let mut rows = Vec::new();
    for cfg in services {
        let input = PlanInput {
            cfg,
            env: &client.env,
            context: &client.context,
            who: &client.user,
            now: jiff::Timestamp::now(),
        };
        let mut row = Row {
            service: cfg.name.clone(),
            env: client.env.name.clone(),
            deployment: String::new(),
            image: None,
            tag: None,
            ready: 0,
            desired: 0,
            health: Health::Unknown,
            detail: String::new(),
            error: None,
        };
        match observe(client, cfg).await {
            Err(e) => row.error = Some(e.to_string()),
            Ok(o) => {
                let (name, detail) = primary(&o, &input);
                row.deployment = name.clone();
                row.detail = detail;
                match o.deployment(&name) {
                    None => row.health = Health::Missing,
                    Some(d) => {
                        row.image = deployment_image(d, cfg.container.as_deref());
                        row.tag = row.image.as_deref().and_then(image_tag).map(str::to_string);
                        row.desired = replicas(d);
                        row.ready = d
                            .status
                            .as_ref()
                            .and_then(|s| s.ready_replicas)
                            .unwrap_or(0);
                        row.health = health(d);
                    }
                }
            }
        }
        rows.push(row);
    }
    rows
}

/// Configured services, or (with none configured) every Deployment found in any environment;
/// and the environments that could not be listed (an unreachable cluster is an error, not an
/// empty one).
async fn services(
    ctx: &ReleaseContext,
    clients: &[&EnvClient],
) -> (Vec<ServiceConfig>, Vec<String>) {
    if !ctx.config.services.is_empty() {
        return (ctx.config.services.clone(), Vec::new());
    }
    let mut names = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for client in clients {
        let api: Api<Deployment> = Api::namespaced(client.client.clone(), &client.env.namespace);
        match api.list(&ListParams::default()).await {
            Ok(list) => names.extend(list.items.into_iter().filter_map(|d| d.metadata.name)),
            Err(e) => errors.push(format!(
                "environment {} (context {}, {}): cannot list deployments in {}: {}",
                client.env.name,
                client.context,
                client.server,
                client.env.namespace,
                crate::cluster::error_line(&e)
            )),
        }
    }
    let services = names
        .into_iter()
        .filter_map(|n| ctx.service(&n).ok())
        .collect();
    (services, errors)
}

pub async fn run(ctx: &ReleaseContext, only_env: Option<&str>, output: Output) -> i32 {
    let clients: Vec<&EnvClient> = match only_env {
        Some(env) => match ctx.client(env) {
            Ok(c) => vec![c],
            Err(e) => {
                eprintln!("shipdeck: {e}");
                return EXIT_FAILED;
            }
        },
        None => ctx
            .config
            .envs
            .iter()
            .filter_map(|e| ctx.clients.get(&e.name))
            .collect(),
    };
    let (services, unlisted) = services(ctx, &clients).await;
    let per_env = join_all(clients.iter().map(|c| rows_for_env(c, &services))).await;
    // Service-major order, environments in config order: the console's services pane.
    let mut rows: Vec<Row> = Vec::new();
    for svc in &services {
        for env_rows in &per_env {
            rows.extend(env_rows.iter().filter(|r| r.service == svc.name).cloned());
        }
    }
    let failed = rows.iter().any(|r| r.error.is_some()) || !unlisted.is_empty();
    for problem in &unlisted {
        eprintln!("shipdeck: {problem}");
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ),
        Output::Text => print_table(&rows),
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        eprintln!(
            "shipdeck: {} in {}: {}",
            r.service,
            r.env,
            r.error.as_deref().unwrap_or_default()
        );
    }
    if failed { EXIT_FAILED } else { EXIT_OK }
}

fn print_table(rows: &[Row]) {
    let header = ["SERVICE", "ENV", "TAG", "READY", "HEALTH", "DETAIL"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.service.clone(),
                r.env.clone(),
                r.tag
                    .clone()
                    .or_else(|| r.image.clone())
                    .unwrap_or_else(|| "-".into()),
                format!("{}/{}", r.ready, r.desired),
                if r.error.is_some() {
                    "? unreachable".into()
                } else {
                    r.health.label().into()
                },
                r.detail.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut out = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}   "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
}
