//! Tracing to a log file, never to the terminal (the console owns the screen, and headless
//! commands keep stdout for data). The file is written by a background thread (a slow disk
//! never stalls the console) and rolls over daily, keeping a week. A log that cannot be
//! written is said once on stderr and shipdeck goes on without it: logging never stops
//! start-up.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Daily files kept in the default log directory.
const KEEP_DAYS: usize = 7;

/// Default log directory: `$XDG_STATE_HOME/shipdeck/` (files `shipdeck.YYYY-MM-DD.log`).
pub fn default_log_dir() -> PathBuf {
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy()
        .ok()
        .and_then(|s| s.state_dir())
        .unwrap_or_else(std::env::temp_dir);
    base.join("shipdeck")
}

/// Where other state lives beside the logs (the sandbox's kubeconfig, for one).
pub fn default_log_path() -> PathBuf {
    default_log_dir().join("shipdeck.log")
}

/// Keeps the log writer alive for the life of the process (dropping it flushes the file).
pub struct LogGuard {
    /// The file or directory logs go to; `None` when logging could not be set up.
    pub path: Option<PathBuf>,
    _worker: Option<WorkerGuard>,
}

/// Sends `tracing` output to `path` (exactly that file), or to the default directory with a
/// daily roll-over. The level comes from `SHIPDECK_LOG` (e.g. `debug`,
/// `shipdeck_sandbox=trace`), default `info`. Never fails: see the module docs.
pub fn init(path: Option<&Path>) -> LogGuard {
    let appender = match path {
        Some(file) => open_file(file),
        None => {
            let dir = default_log_dir();
            // The appender lists the directory to prune old files: it must exist first.
            let _ = std::fs::create_dir_all(&dir);
            RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("shipdeck")
                .filename_suffix("log")
                .max_log_files(KEEP_DAYS)
                .build(&dir)
                .map(|a| (a, dir.clone()))
                .map_err(|e| format!("{}: {e}", dir.display()))
        }
    };
    let (appender, shown) = match appender {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("shipdeck: warning: no log file ({e}); continuing without one");
            return LogGuard {
                path: None,
                _worker: None,
            };
        }
    };
    let (writer, worker) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("SHIPDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    LogGuard {
        path: Some(shown),
        _worker: Some(worker),
    }
}

/// `--log-file FILE`: that exact file, appended to, never rolled.
fn open_file(file: &Path) -> Result<(RollingFileAppender, PathBuf), String> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", file.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::NEVER)
        .filename_prefix(name.to_string_lossy())
        .build(dir)
        .map(|a| (a, file.to_path_buf()))
        .map_err(|e| format!("{}: {e}", file.display()))
}
