//! A TCP proxy in front of an API server, for faults a real network has: the server going
//! away (connections reset, new ones refused) and answers that never come back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

type Conns = Arc<Mutex<Vec<(Arc<AtomicBool>, JoinHandle<()>)>>>;

pub struct Proxy {
    pub addr: SocketAddr,
    conns: Conns,
    accept: JoinHandle<()>,
    /// Set: the next connection that carries a write swallows that write's answer.
    swallow_writes: Arc<AtomicBool>,
}

/// Copies `from` to `to` until either end closes; `forward` sees each chunk and says whether
/// to pass it on.
async fn pump(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    mut forward: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if forward(&buf[..n]) {
            to.write_all(&buf[..n]).await?;
        }
    }
}

/// Whether a chunk from the client starts an HTTP request that changes something.
fn starts_a_write(chunk: &[u8]) -> bool {
    [&b"PATCH "[..], b"PUT ", b"POST ", b"DELETE "]
        .iter()
        .any(|verb| chunk.starts_with(verb))
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let conns: Conns = Arc::default();
        let registry = conns.clone();
        let swallow_writes = Arc::new(AtomicBool::new(false));
        let swallow = swallow_writes.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let frozen = Arc::new(AtomicBool::new(false));
                let flag = frozen.clone();
                let swallow = swallow.clone();
                let task = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = inbound.into_split();
                    let (mut server_read, mut server_write) = outbound.into_split();
                    // Only this write's connection goes silent: reads on other connections
                    // (the re-read that settles the outcome) still work.
                    let up = pump(&mut client_read, &mut server_write, |chunk| {
                        if starts_a_write(chunk) && swallow.swap(false, Ordering::SeqCst) {
                            flag.store(true, Ordering::SeqCst);
                        }
                        true
                    });
                    // A frozen connection still delivers requests but swallows answers.
                    let down = pump(&mut server_read, &mut client_write, |_| {
                        !flag.load(Ordering::SeqCst)
                    });
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                    }
                });
                registry.lock().push((frozen, task));
            }
        });
        Proxy {
            addr,
            conns,
            accept,
            swallow_writes,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next write reaches the server but its answer never comes back; the connection
    /// that carried it stays silent, every other connection works normally.
    pub fn swallow_next_write(&self) {
        self.swallow_writes.store(true, Ordering::SeqCst);
    }

    /// The server is gone: open connections are cut and new ones refused.
    pub fn stop(&self) {
        self.accept.abort();
        for (_, task) in self.conns.lock().drain(..) {
            task.abort();
        }
    }
}
