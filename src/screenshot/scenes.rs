//! The README's pictures: scenes of the demo story, driven with the keys a user would press on
//! a headless console, each written as SVG (and PNG with `rsvg-convert`).

use std::path::PathBuf;

use color_eyre::Result;
use color_eyre::eyre::{WrapErr, bail};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;

use super::headless::Headless;
use super::svg::{TerminalColors, buffer_to_svg};
use crate::tui::Pane;
use crate::tui::state::view::Modal;

/// Every scene, in the order they are taken (later scenes move the world's clock on).
pub const SCENES: [&str; 7] = [
    "overview",
    "light",
    "help",
    "canary",
    "canary-analysis",
    "failing",
    "rollback",
];

/// The demo's canary (Gateway API route, 25% in prod) and its crash-looping prod rollout.
const CANARY: &str = "orders";
const FAILING: &str = "delivery";

/// The terminal behind the light theme (themes/light.toml's `bg` and `fg`): themes colour text
/// and bars, the terminal paints the rest.
const LIGHT_TERMINAL: TerminalColors = TerminalColors {
    fg: (0x38, 0x3a, 0x42),
    bg: (0xfa, 0xfa, 0xfa),
};

pub struct Output {
    pub dir: PathBuf,
    pub png: bool,
}

/// Takes every scene on `console` (fresh from [`Headless::start`]); returns the files written.
pub async fn take_all(console: &mut Headless, out: &Output) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(&out.dir)
        .wrap_err_with(|| format!("cannot create {}", out.dir.display()))?;
    let mut written = Vec::new();
    let mut save = |name: &str, buffer: Buffer, colors: TerminalColors| -> Result<()> {
        written.extend(write(out, name, &buffer, colors)?);
        Ok(())
    };
    let dark = TerminalColors::default();

    // The first screen of `shipdeck demo`: every service in every environment, dev focused.
    save("overview", console.render()?, dark)?;

    console.theme("light")?;
    save("light", console.render()?, LIGHT_TERMINAL)?;
    console.theme("dark")?;

    console.keys("?");
    expect_modal(console, "help", |m| matches!(m, Modal::Help { .. }))?;
    save("help", console.render()?, dark)?;
    console.press(KeyCode::Esc);

    // The canary in prod with its rollout panel focused: weights, both tracks, the analysis.
    console.focus_env("prod")?;
    console.select_service(CANARY)?;
    console.focus(Pane::Rollout)?;
    console.settle().await?;
    save("canary", console.render()?, dark)?;

    // A few checks later: the sparklines carry the live checks after the backfilled history.
    for _ in 0..3 {
        console.next_check().await?;
    }
    console.settle().await?;
    save("canary-analysis", console.render()?, dark)?;

    // The on-call view: the crash-looping rollout, its events, and the guard's verdict after
    // its second failed check.
    console.select_service(FAILING)?;
    console.focus(Pane::Rollout)?;
    console.keys("v");
    console.settle().await?;
    console.next_check().await?;
    console.settle().await?;
    save("failing", console.render()?, dark)?;

    // `R`: roll back to the last known good revision. The plan comes from the runner, as in
    // the console; the picture is taken at the dialog and the plan is never confirmed.
    console.keys("R");
    console.settle().await?;
    expect_modal(console, "rollback", |m| matches!(m, Modal::Confirm { .. }))?;
    save("rollback", console.render()?, dark)?;
    console.press(KeyCode::Esc);
    console.settle().await?;

    Ok(written)
}

fn expect_modal(console: &Headless, scene: &str, is: impl Fn(&Modal) -> bool) -> Result<()> {
    match &console.state.view.modal {
        Some(modal) if is(modal) => Ok(()),
        other => {
            let notice = console.state.view.notice.as_ref().map(|n| n.text.as_str());
            bail!(
                "scene {scene}: expected its dialog, the console shows {other:?} (notice: {notice:?})"
            )
        }
    }
}

fn write(
    out: &Output,
    name: &str,
    buffer: &Buffer,
    colors: TerminalColors,
) -> Result<Vec<PathBuf>> {
    let svg = out.dir.join(format!("{name}.svg"));
    std::fs::write(&svg, buffer_to_svg(buffer, colors))
        .wrap_err_with(|| format!("cannot write {}", svg.display()))?;
    let mut written = vec![svg.clone()];
    if out.png {
        let png = out.dir.join(format!("{name}.png"));
        if !super::svg_to_png(&svg, &png).wrap_err("running rsvg-convert")? {
            bail!(
                "rsvg-convert failed or is not installed (Debian: librsvg2-bin); use --svg-only for SVG alone"
            );
        }
        written.push(png);
    }
    Ok(written)
}
