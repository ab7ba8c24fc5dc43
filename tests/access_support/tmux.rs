//! The real binary in a private tmux server, for the tests that need a terminal: what the
//! screen shows, whether the console has the alternate screen, keys. (The demo's own tmux
//! tests in e2e_tmux.rs drive the console further; this is the little these tests need.)

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

pub struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Runs `command` (a shell line) in a 160×48 pane with `env`; `None` without tmux outside CI.
    pub fn start(command: &str, env: &[(&str, &str)], cwd: &Path) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is required under CI"
            );
            eprintln!("SKIPPED: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let vars: String = env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
        // The shell stays after the command ends, so the screen can be read then.
        let shell = format!(
            "env {vars}TERM=xterm-256color sh -c '{command}; echo; echo EXITED $?; exec sleep 600'"
        );
        tmux.ok(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "160",
            "-y",
            "48",
            "-c",
            cwd.to_str().expect("path"),
            &shell,
        ]);
        Some(tmux)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("sock"))
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "t"])
    }

    /// Whether the pane shows the alternate screen (the console is up).
    pub fn alternate(&self) -> bool {
        self.ok(&["display-message", "-p", "-t", "t", "#{alternate_on}"])
            .trim()
            == "1"
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    pub fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Polls until `ready` holds for the screen; panics with the last screen after a minute.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < WAIT,
                "waited for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
