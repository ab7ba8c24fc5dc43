//! `shipdeck init`: writes the shipdeck.toml discovery infers from the clusters, with the
//! evidence for each service as comments, for the user to review.

use std::path::PathBuf;

use clap::Args;
use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};

use shipdeck_core::cli::console::{KubeArgs, discover_services, load_config};
use shipdeck_core::discovery::init::render;
use shipdeck_core::release::{Journal, ReleaseContext};

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Where to write (`-` prints it instead).
    #[arg(long, value_name = "FILE", default_value = "shipdeck.toml")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: &InitArgs, config: &Option<PathBuf>, kube: KubeArgs) -> Result<i32> {
    let to_stdout = args.out.as_os_str() == "-";
    if !to_stdout && args.out.exists() && !args.force {
        return Err(eyre!(
            "{} exists; pass --force to replace it, or --out FILE to write elsewhere",
            args.out.display()
        ));
    }
    let mut config = load_config(config.clone(), &kube).map_err(|e| eyre!("{e}"))?;
    // Inferring is the point: services already in a given file are not carried over.
    config.services.clear();
    let journal =
        Journal::open_default().map_err(|e| eyre!("cannot open the audit journal: {e}"))?;
    let mut ctx = ReleaseContext::connect(config, true, journal)
        .await
        .map_err(|e| eyre!("{e}"))?;
    let sources = ctx
        .clients
        .values()
        .map(|c| format!("context {} namespace {}", c.context, c.env.namespace))
        .collect::<Vec<_>>()
        .join(", ");
    let discovery = discover_services(&mut ctx).await.unwrap_or_default();
    let text = render(&ctx.config, &discovery, &sources);
    if to_stdout {
        print!("{text}");
    } else {
        std::fs::write(&args.out, &text)
            .wrap_err_with(|| format!("cannot write {}", args.out.display()))?;
        eprintln!(
            "shipdeck init: wrote {} ({} services from {sources}); review it, then run `shipdeck`",
            args.out.display(),
            discovery.services.len()
        );
    }
    for problem in &discovery.errors {
        eprintln!("shipdeck init: warning: {problem}");
    }
    Ok(0)
}
