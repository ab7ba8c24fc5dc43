//! What the release end-to-end tests share: a sandbox world with a manual clock, its
//! kubeconfig and shipdeck.toml in a temporary directory, the real binary, unmodified
//! kubectl, and the audit journal.
#![allow(dead_code)]

pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use shipdeck::config::{Config, load_file};
use shipdeck::registry::{ClientOptions, Registries};
use shipdeck::release::audit::Record;
use shipdeck::release::{Journal, ReleaseContext};
use shipdeck::sandbox::world::{World, WorldOptions};

pub struct Sandbox {
    pub world: World,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub kubeconfig: PathBuf,
    pub audit: PathBuf,
}

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "shipdeck failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Sandbox {
    pub async fn start() -> Sandbox {
        shipdeck::install_crypto_provider();
        let world = World::start(WorldOptions {
            manual_clock: true,
            ..WorldOptions::default()
        })
        .await
        .expect("sandbox world starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let config_path = world
            .write_files(&kubeconfig)
            .expect("kubeconfig and shipdeck.toml");
        let audit = dir.path().join("state").join("audit.jsonl");
        let sandbox = Sandbox {
            world,
            dir,
            config_path,
            kubeconfig,
            audit,
        };
        // These tests are about planning, executing and following; `deploy --wait` on an
        // analysed service also runs release analysis (on the wall clock), which has its own
        // tests (tests/analysis_*.rs).
        sandbox.edit_config(|c| c.services.iter_mut().for_each(|s| s.analysis = None));
        sandbox
    }

    pub fn config(&self) -> Config {
        load_file(&self.config_path).expect("the sandbox's shipdeck.toml loads")
    }

    /// Changes shipdeck.toml (policy, read-only environments, …).
    pub fn edit_config(&self, f: impl FnOnce(&mut Config)) {
        let mut config = self.config();
        f(&mut config);
        std::fs::write(&self.config_path, config.to_toml()).expect("write shipdeck.toml");
    }

    pub fn journal(&self) -> Journal {
        Journal::at(&self.audit)
    }

    pub fn records(&self) -> Vec<Record> {
        self.journal().read().expect("audit journal parses")
    }

    /// The library's context, as the console builds it.
    pub async fn context(&self) -> ReleaseContext {
        self.context_with(self.config()).await
    }

    pub async fn context_with(&self, config: Config) -> ReleaseContext {
        let mut ctx = ReleaseContext::connect(config, false, self.journal())
            .await
            .expect("release context");
        ctx.registry = Some(std::sync::Arc::new(Registries::new(
            ClientOptions::default(),
        )));
        ctx
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"));
        cmd.arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env("SHIPDECK_AUDIT_LOG", &self.audit)
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs the real binary (no terminal: stdin is null).
    pub async fn shipdeck(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().await.expect("shipdeck runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    /// Runs the binary while moving the sandbox clock on by `step` every few milliseconds,
    /// so a `--wait` sees the rollout progress.
    pub async fn shipdeck_advancing(&self, args: &[&str], step: Duration) -> Run {
        let child = self.command(args).spawn().expect("shipdeck starts");
        let output = child.wait_with_output();
        tokio::pin!(output);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            tokio::select! {
                out = &mut output => {
                    let out = out.expect("shipdeck runs");
                    return Run {
                        code: out.status.code().unwrap_or(-1),
                        stdout: String::from_utf8_lossy(&out.stdout).into(),
                        stderr: String::from_utf8_lossy(&out.stderr).into(),
                    };
                }
                _ = tokio::time::sleep(Duration::from_millis(25)) => {
                    assert!(tokio::time::Instant::now() < deadline, "shipdeck did not finish within 60 s");
                    self.world.advance(step);
                }
            }
        }
    }

    /// Unmodified kubectl against one environment, with a fresh discovery cache.
    pub async fn kubectl(&self, env: &str, args: &[&str]) -> String {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(format!("sandbox-{env}"))
            .arg("--cache-dir")
            .arg(self.dir.path().join(format!("kubectl-cache-{env}")))
            .args(["-n", "shop"])
            .args(args)
            .output()
            .await
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into()
    }

    /// Advances the clock in `step`s until `done` holds (at most `limit` of virtual time).
    pub async fn advance_until(
        &self,
        step: Duration,
        limit: Duration,
        mut done: impl AsyncFnMut() -> bool,
    ) {
        let mut spent = Duration::ZERO;
        while !done().await {
            assert!(
                spent < limit,
                "condition not reached after {limit:?} of sandbox time"
            );
            self.world.advance(step);
            spent += step;
        }
    }

    /// A kubeconfig whose `env` context goes through `server` instead (fault injection).
    pub fn kubeconfig_via(&self, env: &str, server: &str) -> PathBuf {
        let text = std::fs::read_to_string(&self.kubeconfig).expect("kubeconfig");
        let url = self.world.env(env).url();
        let path = self.dir.path().join(format!("kubeconfig-{env}-proxied"));
        std::fs::write(&path, text.replace(&url, server)).expect("write kubeconfig");
        path
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
