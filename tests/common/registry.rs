//! Debian's `docker-registry` (distribution 2.8) on a free loopback port with a temporary
//! storage directory and deletes enabled; killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `tester` / `s3cret-pass`, bcrypt cost 5: generated once with Python's `bcrypt`, so tests
/// need neither `htpasswd` nor bcrypt at run time.
pub const HTPASSWD: &str = "tester:$2b$05$zkrrISoOv1g9JmBId.cgvedvBXYeQ37W28L9Urr.pwMVQGXr0DcOu";
pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret-pass";

pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    dir: tempfile::TempDir,
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("docker-registry"))
        .find(|candidate| candidate.is_file())
}

impl TestRegistry {
    /// `None` when `docker-registry` is not installed (after saying so); in CI that is a
    /// failure, since CI installs it.
    pub fn start() -> Option<TestRegistry> {
        Self::launch(None)
    }

    /// With htpasswd (HTTP Basic) auth for `tester` / `s3cret-pass`.
    pub fn start_with_htpasswd(htpasswd: &str) -> Option<TestRegistry> {
        Self::launch(Some(htpasswd))
    }

    fn launch(htpasswd: Option<&str>) -> Option<TestRegistry> {
        let Some(binary) = find_binary() else {
            let message = "docker-registry is not installed: registry tests are SKIPPED \
                           (apt-get install -y docker-registry to run them)";
            if std::env::var_os("CI").is_some() {
                panic!("{message}; CI must install it (see .ci/run)");
            }
            eprintln!("\n!!!!! {message} !!!!!\n");
            return None;
        };
        // A port picked by binding :0 can be taken again before the registry binds it;
        // try a few times.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_launch(&binary, htpasswd) {
                Ok(r) => return Some(r),
                Err(e) => last_error = e,
            }
        }
        panic!("docker-registry did not start: {last_error}");
    }

    fn try_launch(binary: &Path, htpasswd: Option<&str>) -> Result<TestRegistry, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let host = format!("127.0.0.1:{port}");
        let storage = dir.path().join("storage");
        let auth = match htpasswd {
            Some(entry) => {
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{entry}\n")).map_err(|e| e.to_string())?;
                format!(
                    "auth:\n  htpasswd: {{ realm: shipdeck-test, path: {} }}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\n\
             log: {{ level: error, accesslog: {{ disabled: true }} }}\n\
             storage:\n  filesystem: {{ rootdirectory: {} }}\n  delete: {{ enabled: true }}\n  \
             cache: {{ blobdescriptor: inmemory }}\n\
             http:\n  addr: {host}\n{auth}",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if TcpStream::connect(&host).is_ok() {
                return Ok(TestRegistry { child, host, dir });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("not listening after 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
