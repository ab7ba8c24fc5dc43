//! Pictures of the console for README and reviews, rendered from buffers (no terminal).

pub mod headless;
pub mod scenes;
mod settle;
pub mod svg;

pub use svg::{TerminalColors, buffer_to_svg};

/// Converts an SVG file to PNG with `rsvg-convert` (Debian `librsvg2-bin`), if installed.
pub fn svg_to_png(svg: &std::path::Path, png: &std::path::Path) -> std::io::Result<bool> {
    match std::process::Command::new("rsvg-convert")
        .arg("--format=png")
        .arg("--output")
        .arg(png)
        .arg(svg)
        .status()
    {
        Ok(status) => Ok(status.success()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
