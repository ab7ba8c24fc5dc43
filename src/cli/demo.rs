//! `shipdeck demo`: the console on the embedded sandbox world. The world starts in-process,
//! writes a kubeconfig, and the console connects to it through the same client code as to a
//! real cluster (`console::connect`, `console::run_console`).

use std::sync::Arc;

use clap::Args;
use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};

use shipdeck_core::cli::console::{Launch, connect, run_console};

use super::sandbox::WorldArgs;
use crate::config::load_file;
use crate::sandbox::world::World;
use crate::world_ticker::WorldTicker;

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub world: WorldArgs,
}

/// `shipdeck demo`: starts the sandbox world in-process, then the console on it.
pub async fn demo(args: DemoArgs, launch: Launch) -> Result<i32> {
    eprintln!(
        "shipdeck demo: building the sandbox world (three clusters, a registry, three weeks of history)…"
    );
    let world = World::start(args.world.options())
        .await
        .wrap_err("cannot start the sandbox world")?;
    let dir = std::env::temp_dir().join(format!("shipdeck-demo-{}", std::process::id()));
    let config_path = world
        .write_files(&dir.join("kubeconfig"))
        .wrap_err_with(|| format!("cannot write the demo's kubeconfig into {}", dir.display()))?;
    let config = load_file(&config_path).map_err(|e| eyre!("{e}"))?;
    let result = async {
        let ctx = connect(config, launch.read_only)
            .await
            .map_err(|e| eyre!("{e}"))?;
        let clock = world.clock.clone();
        let ticker = Arc::new(WorldTicker(world.clock.clone()));
        run_console(
            ctx,
            &launch,
            Some("sandbox demo".into()),
            ticker,
            move || clock.now(),
        )
        .await
    }
    .await;
    world.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| 0)
}
