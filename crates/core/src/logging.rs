//! Tracing to a log file, never to the terminal (the console owns the screen, and headless
//! commands keep stdout for data).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result};
use tracing_subscriber::EnvFilter;

/// Default log location: `$XDG_STATE_HOME/shipdeck/shipdeck.log`.
pub fn default_log_path() -> PathBuf {
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy()
        .ok()
        .and_then(|s| s.state_dir())
        .unwrap_or_else(std::env::temp_dir);
    base.join("shipdeck").join("shipdeck.log")
}

/// Keeps logging alive for the life of the process.
pub struct LogGuard {
    pub path: PathBuf,
}

/// Sends `tracing` output to `path` (or the default). The level comes from `SHIPDECK_LOG`
/// (e.g. `debug`, `shipdeck_sandbox=trace`), default `info`.
pub fn init(path: Option<&Path>) -> Result<LogGuard> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(default_log_path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create log directory {}", dir.display()))?;
    }
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .wrap_err_with(|| format!("cannot open log file {}", path.display()))?;
    let filter = EnvFilter::try_from_env("SHIPDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Ok(LogGuard { path })
}
