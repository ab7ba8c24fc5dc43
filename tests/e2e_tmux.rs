//! The real binary in a real terminal: `shipdeck demo` runs in a shell inside a private tmux
//! server, the tests press keys and read what `tmux capture-pane` shows, as a user would, and
//! check the terminal is handed back intact (main screen, cursor shown, no mouse capture,
//! cooked mode) after `q` and after SIGTERM.
//!
//! Every wait polls the screen against a generous deadline (a loaded CI machine is slow) and
//! fails with the last screen; nothing asserts on timing. Without tmux the tests skip loudly,
//! except under `CI`, where a missing tmux is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;
const PROMPT: &str = "e2e$";

/// One private tmux server (its own socket, no user config) with a shell in a 160×48 pane,
/// HOME and the XDG directories in a temporary directory. Dropping it ends the server and
/// whatever still runs in the pane.
struct Session {
    /// The server's socket, inside `dir` (`-S`): private to the test and gone with it.
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Session {
    /// `None` when tmux is missing outside CI.
    fn start(test: &str) -> Option<Session> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is required for the end-to-end tests under CI (install tmux)"
            );
            eprintln!("SKIPPED e2e_tmux::{test}: tmux is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        for sub in ["home", "state", "config", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create test directories");
        }
        let session = Session {
            socket: dir.path().join("tmux.sock"),
            dir,
        };
        // tmux sets TERM itself and the shell picks its own prompt, so the pane's environment
        // is set by `env` in the pane command; `-e` would not reach them.
        let var =
            |name: &str, sub: &str| format!("{name}='{}'", session.dir.path().join(sub).display());
        let shell = format!(
            "env {} {} {} TMPDIR='{}' TERM=xterm-256color SHIPDECK_LOG=info 'PS1={PROMPT} ' sh",
            var("HOME", "home"),
            var("XDG_STATE_HOME", "state"),
            var("XDG_CONFIG_HOME", "config"),
            session.dir.path().join("tmp").display(),
        );
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        let cwd = session.dir.path().display().to_string();
        session.ok(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            &cwd,
            &shell,
        ]);
        session.wait_for("the shell prompt", at_prompt);
        Some(session)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            // A test run inside tmux must not talk to the user's server.
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "e2e"])
    }

    fn display(&self, format: &str) -> String {
        self.ok(&["display-message", "-p", "-t", "e2e", format])
            .trim()
            .to_string()
    }

    /// tmux key names: `j`, `Tab`, `BTab`, `Enter`, `Escape`.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Polls the screen until `ready` holds; panics with the last screen after [`WAIT`].
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < WAIT,
                "waited {WAIT:?} for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state").join("shipdeck")
    }

    /// Starts the demo in the pane's shell and waits for the console with every cluster up.
    fn launch_demo(&self) {
        let bin = env!("CARGO_BIN_EXE_shipdeck");
        self.type_text(&format!("'{bin}' demo"));
        self.keys(&["Enter"]);
        self.wait_for("the console connected to the three clusters", |s| {
            s.contains("Services 9/9") && s.contains("3 prod ✓")
        });
    }

    /// Moves the Services selection to `service`, one row at a time, waiting for each frame.
    fn select_service(&self, service: &str) {
        self.keys(&["g"]);
        let mut current = self.wait_for("the first service selected", |s| {
            selected_service(s).is_some()
        });
        for _ in 0..12 {
            let now = selected_service(&current).unwrap_or_default();
            if now == service {
                return;
            }
            self.keys(&["j"]);
            current = self.wait_for("the selection to move down", |s| {
                selected_service(s).is_some_and(|name| name != now)
            });
        }
        panic!("{service} is not in the Services list:\n{current}");
    }

    /// The shipdeck process running in the pane (the shell's child).
    fn shipdeck_pid(&self) -> u32 {
        let shell: u32 = self.display("#{pane_pid}").parse().expect("pane pid");
        children(shell)
            .into_iter()
            .find(|pid| comm(*pid).as_deref() == Some("shipdeck"))
            .unwrap_or_else(|| panic!("no shipdeck process under the pane's shell {shell}"))
    }

    /// The terminal after shipdeck exits: main screen, cursor visible, mouse released, the
    /// prompt back with nothing of the console left, and a command typed runs (cooked mode:
    /// in raw mode Enter would not end the line).
    fn assert_restored(&self) {
        let screen = self.wait_for("the shell prompt after shipdeck exits", at_prompt);
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "left the alternate screen"
        );
        assert_eq!(self.display("#{cursor_flag}"), "1", "cursor visible");
        assert_eq!(
            self.display("#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}"),
            "000",
            "mouse capture off"
        );
        assert!(
            !screen.contains("Services") && !screen.contains('┃') && !screen.contains('│'),
            "no console left on the screen:\n{screen}"
        );
        self.type_text("echo restored-$((6*7))");
        self.keys(&["Enter"]);
        self.wait_for("the shell to run a command", |s| {
            s.lines().any(|l| l.trim() == "restored-42")
        });
        assert_eq!(self.display("#{pane_current_command}"), "sh");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let shell = self
            .tmux(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
            .stdout;
        let left: Vec<u32> = String::from_utf8_lossy(&shell)
            .trim()
            .parse()
            .map(children)
            .unwrap_or_default();
        let _ = self.tmux(&["kill-server"]);
        // The pane's processes get SIGHUP with the server gone; a shipdeck still running
        // after that is ended by its own PID, never by name (other tests run shipdeck too).
        let deadline = Instant::now() + Duration::from_secs(10);
        for pid in left {
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// The last non-blank line is the bare prompt.
fn at_prompt(screen: &str) -> bool {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end() == PROMPT)
}

/// The selected row of the Services pane (the leftmost pane: `┃› name …`).
fn selected_service(screen: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let mut chars = line.chars();
        let border = chars.next()?;
        let rest = chars.as_str();
        let name = rest.strip_prefix("› ")?;
        if !matches!(border, '┃' | '│') {
            return None;
        }
        name.split_whitespace().next().map(str::to_string)
    })
}

/// The footer: the screen's last line.
fn footer(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default().trim()
}

fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/PID/stat: `pid (comm) state ppid …`; comm may hold spaces, so split after ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rsplit_once(')')?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

fn journal(session: &Session) -> Vec<Value> {
    let path = session.state_dir().join("audit.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the audit journal {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("journal lines are JSON"))
        .collect()
}

#[test]
fn on_call_rolls_back_the_crash_looping_prod_rollout() {
    let Some(s) = Session::start("rollback") else {
        return;
    };
    s.launch_demo();
    s.select_service("delivery");
    s.keys(&["3"]);
    s.wait_for("delivery's crash-looping rollout in prod", |s| {
        s.contains("Rollout: delivery @ prod")
            && s.contains("rolling v2.3.0")
            && s.contains("CrashLoopBackOff")
    });
    s.keys(&["Tab", "Tab"]);
    s.wait_text("┏ Revisions: delivery @ prod");

    // The current revision is selected: `r` rolls back to the one before it.
    s.keys(&["r"]);
    let dialog = s.wait_text("Type delivery to confirm");
    assert!(
        dialog.contains("Roll back delivery in prod to revision 3 (v2.2.1)"),
        "the plan names the target:\n{dialog}"
    );
    assert!(
        dialog.contains("delivery:v2.3.0 → "),
        "the plan shows the image change:\n{dialog}"
    );

    // prod is protected: Enter without the whole name does nothing but say so.
    s.type_text("deliver");
    s.keys(&["Enter"]);
    let refused = s.wait_text("type delivery and press Enter to confirm");
    assert!(
        refused.contains("Type delivery to confirm: deliver"),
        "{refused}"
    );

    s.type_text("y");
    s.keys(&["Enter"]);
    let done = s.wait_for("the rollback's outcome in the footer", |s| {
        footer(s).starts_with("✓ rollback delivery @ prod")
    });
    assert!(
        footer(&done).ends_with("Roll back delivery in prod to revision 3 (v2.2.1): rolled out"),
        "{}",
        footer(&done)
    );
    s.wait_for("the rollout recovered on v2.2.1", |s| {
        s.contains("rolling v2.2.1  ✓ complete") && !s.contains("CrashLoopBackOff")
    });

    let records = journal(&s);
    let rollback = |phase: &str| {
        records.iter().find(|r| {
            r["action"] == "rollback"
                && r["service"] == "delivery"
                && r["env"] == "prod"
                && r["phase"] == phase
        })
    };
    let intent = rollback("intent").expect("an intent record before the write");
    let outcome = rollback("outcome").expect("an outcome record after the write");
    assert_eq!(intent["id"], outcome["id"]);
    assert_eq!(outcome["result"], "applied", "{outcome}");

    s.keys(&["q"]);
    s.assert_restored();
}

#[test]
fn canary_step_shows_the_weight_the_route_reports() {
    let Some(s) = Session::start("canary") else {
        return;
    };
    s.launch_demo();
    s.select_service("orders");
    s.keys(&["3"]);
    s.wait_text("25% via HTTPRoute orders");
    s.keys(&["+"]);
    let dialog = s.wait_text("Type orders to confirm");
    assert!(dialog.contains("25% → 50%"), "{dialog}");
    s.type_text("orders");
    s.keys(&["Enter"]);
    let after = s.wait_for("the new weight from the route", |s| {
        s.contains("50% via HTTPRoute orders") && s.contains("canary 50%")
    });
    assert!(
        footer(&after).starts_with("✓ canary step up orders @ prod"),
        "{}",
        footer(&after)
    );
    // What the panel shows is what the cluster's object says.
    let route = prod_object(
        &s,
        "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/orders",
    );
    let weights: Vec<(String, i64)> = route["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .expect("backendRefs")
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap_or_default().to_string(),
                b["weight"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        weights.contains(&("orders-canary".into(), 50)),
        "{weights:?}"
    );
    s.keys(&["q"]);
    s.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(s) = Session::start("sigterm") else {
        return;
    };
    s.launch_demo();
    // What the restore undoes, so its checks below are not vacuous.
    assert_eq!(s.display("#{alternate_on}"), "1", "the console is on");
    assert_eq!(
        s.display("#{cursor_flag}"),
        "0",
        "the console hides the cursor"
    );
    assert_eq!(
        s.display("#{mouse_any_flag}"),
        "1",
        "the console takes the mouse"
    );
    let pid = s.shipdeck_pid();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    s.assert_restored();
}

/// GETs `path` from the demo's prod API server, found in the kubeconfig the demo wrote under
/// its TMPDIR.
fn prod_object(s: &Session, path: &str) -> Value {
    let tmp = s.dir.path().join("tmp");
    let demo = std::fs::read_dir(&tmp)
        .expect("the pane's TMPDIR")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shipdeck-demo-"))
        })
        .expect("the demo's directory with its kubeconfig");
    let kubeconfig = std::fs::read_to_string(demo.join("kubeconfig")).expect("kubeconfig");
    let server = prod_server(&kubeconfig).expect("a prod cluster in the kubeconfig");
    let url = format!("{server}{path}");
    shipdeck::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let response = reqwest::get(&url).await.expect("GET the route");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json::<Value>().await.expect("JSON")
    })
}

/// The `server:` of the cluster entry whose name mentions prod (the demo writes its values
/// as JSON strings, which YAML reads the same).
fn prod_server(kubeconfig: &str) -> Option<String> {
    let mut in_prod = false;
    for line in kubeconfig.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("- name:") {
            in_prod = name.contains("prod");
        } else if let Some(server) = line.strip_prefix("server:")
            && in_prod
        {
            return serde_json::from_str(server.trim()).ok();
        }
    }
    None
}
