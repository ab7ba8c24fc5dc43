//! `shipdeck screenshots`: the README's pictures, rendered from the demo world on its
//! stand-still clock through the console's own client code (same input, same pictures).

use std::path::PathBuf;

use clap::Args;
use color_eyre::Result;

use crate::screenshot::headless::{self, Headless};
use crate::screenshot::scenes::{self, Output};

/// Addresses show on screen (image references name the registry), so they are fixed.
pub const DEFAULT_PORT_BASE: u16 = 47300;

#[derive(Debug, Clone, Args)]
pub struct ScreenshotsArgs {
    /// Directory for the pictures (created if missing; the scenes' files are replaced).
    #[arg(long, value_name = "DIR", default_value = "screenshots")]
    pub out: PathBuf,
    /// Write SVG only (PNG needs `rsvg-convert`, Debian's librsvg2-bin).
    #[arg(long)]
    pub svg_only: bool,
    /// The demo world's API servers listen on PORT..PORT+2, its registry on PORT+3.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT_BASE)]
    pub port_base: u16,
}

pub async fn run(args: ScreenshotsArgs) -> Result<i32> {
    eprintln!("shipdeck screenshots: starting the demo world on a stand-still clock…");
    let mut console = Headless::start(headless::Options {
        port_base: Some(args.port_base),
        width: 160,
        height: 48,
    })
    .await?;
    let out = Output {
        dir: args.out.clone(),
        png: !args.svg_only,
    };
    let result = scenes::take_all(&mut console, &out).await;
    console.shutdown().await;
    for path in result? {
        println!("{}", path.display());
    }
    Ok(0)
}
