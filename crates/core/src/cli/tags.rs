//! `shipdeck tags SERVICE`: the registry tags of a service, newest first, with digest, age,
//! size, the commit each was built from, and where each one runs.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use jiff::Timestamp;
use serde_json::json;

use crate::model::format::human_duration;
use crate::registry::{ClientOptions, Registries, TagRow, sort_tags, where_running};
use crate::release::objects::deployment_image;
use crate::release::{ReleaseContext, observe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TagsOutput {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct TagsArgs {
    /// Service, as `shipdeck status` lists it.
    pub service: String,
    /// Whose registry to list (default: the first environment).
    #[arg(long, short)]
    pub env: Option<String>,
    #[arg(long, short = 'o', value_enum, default_value_t = TagsOutput::Table)]
    pub output: TagsOutput,
}

/// Details are fetched this many at a time (a registry is a shared service).
const CONCURRENCY: usize = 8;

pub async fn run(ctx: &ReleaseContext, args: &TagsArgs) -> Result<i32, String> {
    let service = ctx.service(&args.service).map_err(|e| e.to_string())?;
    let env = match &args.env {
        Some(name) => ctx.env(name).map_err(|e| e.to_string())?.clone(),
        None => ctx
            .config
            .envs
            .first()
            .cloned()
            .ok_or("no environments configured")?,
    };
    let prefix = env.registry.clone().ok_or_else(|| {
        format!(
            "environment {} has no `registry` in shipdeck.toml; cannot list tags",
            env.name
        )
    })?;
    let repository = format!("{prefix}/{}", service.repository_name());
    let (host, path) = repository
        .split_once('/')
        .ok_or_else(|| format!("{repository}: not a registry/repository reference"))?;
    let client = Registries::new(ClientOptions::default())
        .client(host)
        .map_err(|e| e.to_string())?;
    let tags = client.all_tags(path).await.map_err(|e| e.to_string())?;
    let mut rows: Vec<TagRow> = futures::stream::iter(tags)
        .map(|tag| {
            let client = client.clone();
            async move { client.tag_row(path, &tag).await }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    sort_tags(&mut rows);
    let running = running_images(ctx, &args.service).await;
    let markers = where_running(&rows, running.iter().map(|(e, i)| (e.as_str(), i.as_str())));
    let now = Timestamp::now();
    match args.output {
        TagsOutput::Json => {
            let doc: Vec<_> = rows
                .iter()
                .map(|r| {
                    let d = r.details.as_ref();
                    json!({
                        "tag": r.tag,
                        "digest": d.map(|d| d.digest.clone()),
                        "media_type": d.map(|d| d.media_type.clone()),
                        "index": d.map(|d| d.is_index),
                        "size": d.map(|d| d.size),
                        "created": d.and_then(|d| d.created).map(|t| t.to_string()),
                        "revision": d.and_then(|d| d.revision.clone()),
                        "version": d.and_then(|d| d.version.clone()),
                        "source": d.and_then(|d| d.source.clone()),
                        "running_in": markers.get(&r.tag).cloned().unwrap_or_default(),
                        "error": r.error,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"repository": repository, "tags": doc}))
                    .unwrap_or_default()
            );
        }
        TagsOutput::Table => {
            println!("{repository}");
            println!(
                "{:<24} {:<15} {:<7} {:>9}  {:<8} RUNNING IN",
                "TAG", "DIGEST", "AGE", "SIZE", "COMMIT"
            );
            for r in &rows {
                let where_ = markers.get(&r.tag).map(|e| e.join(",")).unwrap_or_default();
                match (&r.details, &r.error) {
                    (Some(d), _) => println!(
                        "{:<24} {:<15} {:<7} {:>9}  {:<8} {where_}",
                        r.tag,
                        short_digest(&d.digest),
                        d.created
                            .map(|c| human_duration(now.duration_since(c)))
                            .unwrap_or_else(|| "-".into()),
                        human_size(d.size),
                        d.revision
                            .as_deref()
                            .map(|c| &c[..c.len().min(7)])
                            .unwrap_or("-"),
                    ),
                    (None, Some(e)) => println!("{:<24} error: {e}", r.tag),
                    (None, None) => println!("{:<24} -", r.tag),
                }
            }
        }
    }
    Ok(0)
}

/// (environment, image) for every Deployment of the service that answers; environments that
/// do not answer are named on stderr and skipped.
async fn running_images(ctx: &ReleaseContext, service: &str) -> Vec<(String, String)> {
    let Ok(cfg) = ctx.service(service) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Environment order (dev, staging, prod), as the console's columns.
    for env in &ctx.config.envs {
        let (name, Some(client)) = (&env.name, ctx.clients.get(&env.name)) else {
            continue;
        };
        match observe(client, &cfg).await {
            Ok(observed) => out.extend(
                observed
                    .deployments
                    .values()
                    .filter(|d| d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) > 0)
                    .filter_map(|d| deployment_image(d, cfg.container.as_deref()))
                    .map(|image| (name.clone(), image)),
            ),
            Err(e) => eprintln!("shipdeck: {name}: cannot read what runs there: {e}"),
        }
    }
    out
}

fn short_digest(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", &hex[..hex.len().min(7)]),
        None => digest.to_string(),
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}
