//! `shipdeck sandbox serve`: the simulated world without the console, for kubectl, scripts
//! and tests.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use color_eyre::Result;
use color_eyre::eyre::WrapErr;

use crate::sandbox::scenario::Scenario;
use crate::sandbox::world::{World, WorldOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// A shop of nine microservices in dev, staging and prod, with history and a failing prod rollout.
    Demo,
    /// Namespaces only.
    Empty,
    /// Many identical services, for scale work (see --services, --pods-per-service).
    Large,
}

#[derive(Debug, Clone, Args)]
pub struct WorldArgs {
    #[arg(long, value_enum, default_value_t = ScenarioName::Demo)]
    pub scenario: ScenarioName,
    /// Services per environment for `--scenario large`.
    #[arg(long, default_value_t = 200)]
    pub services: usize,
    /// Replicas per service for `--scenario large`.
    #[arg(long, default_value_t = 25)]
    pub pods_per_service: usize,
    /// How much faster than real time the world runs (rollouts, deadlines, crash loops).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Stand-still clock at a fixed instant (deterministic output, for tests and screenshots).
    #[arg(long)]
    pub virtual_clock: bool,
}

impl WorldArgs {
    pub fn options(&self) -> WorldOptions {
        let scenario = match self.scenario {
            ScenarioName::Demo => Scenario::Demo,
            ScenarioName::Empty => Scenario::Empty,
            ScenarioName::Large => Scenario::Large {
                services: self.services,
                pods_per_service: self.pods_per_service,
            },
        };
        WorldOptions {
            scenario,
            manual_clock: self.virtual_clock,
            speed: self.speed,
            ..WorldOptions::default()
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub world: WorldArgs,
    /// API servers listen on PORT, PORT+1, PORT+2 (dev, staging, prod), the registry on PORT+3.
    /// Default: free ports.
    #[arg(long, value_name = "PORT")]
    pub port_base: Option<u16>,
    /// Where to write the kubeconfig; shipdeck.toml is written beside it.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Require this bearer token on every API request (to test authentication failures).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHIPDECK_SANDBOX_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

fn default_kubeconfig() -> PathBuf {
    crate::logging::default_log_path()
        .with_file_name("sandbox")
        .join("kubeconfig")
}

pub async fn serve(args: ServeArgs) -> Result<i32> {
    let mut options = args.world.options();
    options.port_base = args.port_base;
    options.token = args.token.clone();
    let world = World::start(options)
        .await
        .wrap_err("cannot start the sandbox (is a port in use? try another --port-base)")?;
    let kubeconfig = args.kubeconfig.clone().unwrap_or_else(default_kubeconfig);
    let kubeconfig = std::path::absolute(&kubeconfig).unwrap_or(kubeconfig);
    let config_path = world
        .write_files(&kubeconfig)
        .wrap_err_with(|| format!("cannot write {}", kubeconfig.display()))?;
    println!("shipdeck sandbox: scenario {:?}", args.world.scenario);
    for env in &world.envs {
        let protected = if env.name == "prod" {
            "  (protected)"
        } else {
            ""
        };
        println!(
            "  {:<8} {}  context {}{protected}",
            env.name,
            env.url(),
            env.context()
        );
    }
    println!("registry: {}", world.registry_host);
    println!("kubeconfig: {}", kubeconfig.display());
    println!("config: {}", config_path.display());
    println!("export KUBECONFIG={}", kubeconfig.display());
    println!("Press Ctrl-C to stop.");
    wait_for_shutdown_signal().await;
    println!("shipdeck sandbox: stopping");
    world.shutdown().await;
    Ok(0)
}

/// Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
