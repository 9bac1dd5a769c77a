//! An ordinary TCP load balancer for loopback tests, as a deployer puts in front of server
//! replicas: each new connection goes to the next replica in turn (one that refuses the
//! connection is skipped), bytes pass through untouched (TLS ends at the replica), and it can
//! cut every connection in flight at once, as a flaky link or a balancer restart does. Like
//! HAProxy's `send-proxy`, it can open each connection to a replica with a PROXY protocol
//! (version 1) line naming the client's address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running balancer on `127.0.0.1`.
pub struct Balancer {
    /// Base URL (`https://…`) to give stations instead of a replica's.
    pub url: String,
    cut: watch::Sender<u64>,
    served: Arc<Vec<AtomicU64>>,
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    /// Starts a balancer over `replicas` (their addresses; a replica may be down).
    pub async fn start(replicas: Vec<SocketAddr>) -> Self {
        Self::start_with(replicas, false).await
    }

    /// [`Balancer::start`], sending each replica a PROXY protocol line first.
    pub async fn start_sending_proxy_headers(replicas: Vec<SocketAddr>) -> Self {
        Self::start_with(replicas, true).await
    }

    async fn start_with(replicas: Vec<SocketAddr>, send_proxy: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("address"));
        let (cut, cuts) = watch::channel(0u64);
        let served: Arc<Vec<AtomicU64>> =
            Arc::new(replicas.iter().map(|_| AtomicU64::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let replicas = Arc::new(replicas);
        let counts = served.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, from)) = listener.accept().await {
                let (replicas, next, counts) = (replicas.clone(), next.clone(), counts.clone());
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                tokio::spawn(async move {
                    let Some((index, mut upstream)) = connect_next(&replicas, &next).await else {
                        return; // no replica up: the client sees its connection close
                    };
                    if send_proxy {
                        let to = replicas[index];
                        let family = if from.is_ipv4() { "TCP4" } else { "TCP6" };
                        let line = format!(
                            "PROXY {family} {} {} {} {}\r\n",
                            from.ip(),
                            to.ip(),
                            from.port(),
                            to.port()
                        );
                        use tokio::io::AsyncWriteExt;
                        if upstream.write_all(line.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    counts[index].fetch_add(1, Ordering::Relaxed);
                    let (mut client, mut upstream) = (client, upstream);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = cuts.changed() => {} // dropping both ends cuts the connection
                    }
                });
            }
        });
        Self {
            url,
            cut,
            served,
            task,
        }
    }

    /// Cuts every connection in flight.
    pub fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// How many connections each replica was given, in the order of the addresses.
    pub fn served(&self) -> Vec<u64> {
        self.served
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connection to the next replica in turn that accepts one, trying each once.
async fn connect_next(replicas: &[SocketAddr], next: &AtomicUsize) -> Option<(usize, TcpStream)> {
    for _ in 0..replicas.len() {
        let index = next.fetch_add(1, Ordering::Relaxed) % replicas.len();
        if let Ok(stream) = TcpStream::connect(replicas[index]).await {
            return Some((index, stream));
        }
    }
    None
}
