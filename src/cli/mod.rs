//! Command line: the console by default, the sandbox, and headless release commands that
//! scripts and CI call (same planners and executor as the console). The console and the
//! headless commands are the product's (`shipdeck_core::cli`); `demo`, `sandbox serve` and
//! `screenshots` are here because they also need the sandbox.

pub mod demo;
pub mod docs;
pub mod init;
pub mod sandbox;
pub mod screenshots;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use color_eyre::Result;
use shipdeck_core::cli::{actions, console, drive};

#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    version,
    about = "A terminal release console for Kubernetes microservices",
    after_help = drive::EXIT_CODES
)]
pub struct Cli {
    /// shipdeck.toml to use (default: ./shipdeck.toml, then $XDG_CONFIG_HOME/shipdeck/).
    #[arg(long, global = true, value_name = "FILE", env = "SHIPDECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// kubeconfig file to read, instead of $KUBECONFIG (a merged list) or ~/.kube/config.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context to use (when shipdeck.toml defines no [[env]]).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace to use (when shipdeck.toml defines no [[env]]; default: the context's).
    #[arg(long, short = 'n', global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Refuse every write to clusters and registries.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Console theme: dark, light, high-contrast, colorblind, or a theme file
    /// (default: `console.theme` in the config). NO_COLOR is respected.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Log file (default: $XDG_STATE_HOME/shipdeck/shipdeck.YYYY-MM-DD.log, a week kept).
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console on the embedded sandbox world (three simulated clusters, a registry and
    /// traffic, all in-process): nothing to install.
    Demo(demo::DemoArgs),
    /// The simulated world (Kubernetes API servers, registry, traffic) without the console.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Renders the README's screenshots from the demo world (for maintainers).
    #[command(hide = true)]
    Screenshots(screenshots::ScreenshotsArgs),
    /// Write a shipdeck.toml inferred from the cluster (services, canaries, blue-green pairs,
    /// Helm releases), with comments, for you to review.
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), e.g. `shipdeck man > shipdeck.1`.
    Man,
    #[command(flatten)]
    Release(actions::ReleaseCommand),
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the simulated clusters and registry until Ctrl-C; writes a kubeconfig and a
    /// shipdeck.toml describing them.
    Serve(sandbox::ServeArgs),
}

fn kube_args(cli: &Cli) -> console::KubeArgs {
    console::KubeArgs {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    }
}

fn launch(cli: &Cli) -> console::Launch {
    console::Launch {
        config: cli.config.clone(),
        read_only: cli.read_only,
        theme: cli.theme.clone(),
        kube: kube_args(cli),
    }
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32> {
    let kube = kube_args(&cli);
    match cli.command {
        None => console::console(launch(&cli)).await,
        Some(Command::Demo(_)) if !kube.is_empty() => Err(color_eyre::eyre::eyre!(
            "the demo runs its own simulated clusters: --kubeconfig, --context and --namespace do not apply"
        )),
        Some(Command::Demo(ref args)) => demo::demo(args.clone(), launch(&cli)).await,
        Some(Command::Sandbox(SandboxCommand::Serve(args))) => sandbox::serve(args).await,
        Some(Command::Screenshots(args)) => screenshots::run(args).await,
        Some(Command::Init(ref args)) => init::run(args, &cli.config, kube).await,
        Some(Command::Completions(ref args)) => docs::completions(args),
        Some(Command::Man) => docs::man(),
        Some(Command::Release(cmd)) => {
            let globals = actions::Globals {
                kube,
                config: cli.config,
                read_only: cli.read_only,
            };
            Ok(actions::run(globals, cmd).await)
        }
    }
}
