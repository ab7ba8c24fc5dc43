//! A real HTTP proxy for tests: Debian's squid, on a free loopback port with a generated
//! configuration, resolving test host names (`*.shipdeck.test`) to 127.0.0.1 from its own
//! hosts file. Only the proxy can reach those names, so a request that succeeds went through
//! it, and its access log says which requests it carried. Stopped when dropped.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Squid {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Squid {
    /// `None` (after saying so) when squid is not installed outside CI.
    pub fn start(hosts: &[&str]) -> Option<Squid> {
        let Some(binary) = ["/usr/sbin/squid", "/usr/bin/squid"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "squid is required for the proxy tests under CI (see .ci/run)"
            );
            eprintln!("SKIPPED: squid is not installed (apt-get install squid)");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        // squid drops to its own user when started as root: it must write here.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let hosts_file: String = hosts.iter().map(|h| format!("127.0.0.1 {h}\n")).collect();
        std::fs::write(dir.path().join("hosts"), hosts_file).expect("hosts");
        let config = format!(
            "http_port 127.0.0.1:{port}\n\
             pid_filename none\n\
             cache_log {log}\n\
             access_log stdio:{access}\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             hosts_file {hosts}\n\
             http_access allow all\n\
             netdb_filename none\n\
             coredump_dir {dir}\n\
             shutdown_lifetime 0 seconds\n",
            log = path("cache.log"),
            access = path("access.log"),
            hosts = path("hosts"),
            dir = dir.path().display(),
        );
        std::fs::write(dir.path().join("squid.conf"), config).expect("config");
        let child = Command::new(binary)
            .args(["-N", "-d", "1", "-f"])
            .arg(dir.path().join("squid.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("squid starts");
        let mut squid = Squid { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !squid
            .cache_log()
            .contains("Accepting HTTP Socket connections")
        {
            if let Ok(Some(status)) = squid.child.try_wait() {
                panic!("squid exited ({status}): {}", squid.cache_log());
            }
            assert!(
                Instant::now() < deadline,
                "squid did not start: {}",
                squid.cache_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(squid)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn cache_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("cache.log")).unwrap_or_default()
    }

    /// What squid carried so far, one request a line (`CONNECT host:port`, `GET http://...`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
