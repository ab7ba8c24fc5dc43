//! A TCP proxy in front of an API server, for faults a real network has: the server going
//! away (connections reset, new ones refused) and answers that never come back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

type Conns = Arc<Mutex<Vec<(Arc<AtomicBool>, JoinHandle<()>)>>>;

pub struct Proxy {
    pub addr: SocketAddr,
    conns: Conns,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let conns: Conns = Arc::default();
        let registry = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let frozen = Arc::new(AtomicBool::new(false));
                let flag = frozen.clone();
                let task = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = inbound.into_split();
                    let (mut server_read, mut server_write) = outbound.into_split();
                    let up = tokio::io::copy(&mut client_read, &mut server_write);
                    let down = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = server_read.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            // A frozen connection still delivers requests but swallows answers.
                            if !flag.load(Ordering::SeqCst) {
                                client_write.write_all(&buf[..n]).await?;
                            }
                        }
                    };
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
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections open now deliver requests but never answer; new ones work normally.
    pub fn freeze_existing(&self) {
        for (flag, _) in self.conns.lock().iter() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// The server is gone: open connections are cut and new ones refused.
    pub fn stop(&self) {
        self.accept.abort();
        for (_, task) in self.conns.lock().drain(..) {
            task.abort();
        }
    }
}
