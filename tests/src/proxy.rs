//! A fault-injecting TCP proxy for loopback tests: between the station and the server it drops
//! connections mid-body, adds latency, resets, truncates responses and answers 500/503 (with
//! a JSON error, or with garbage) — one fault per connection, every kind in turn in a shuffled
//! order, until it is told to heal.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Forwards faithfully.
    None,
    /// Closes both sides after this many request bytes.
    DropMidBody(usize),
    /// Delays every read in both directions by this many milliseconds.
    Latency(u64),
    /// Resets the connection (RST) after the first request bytes.
    Reset,
    /// Forwards only this many response bytes, then closes.
    TruncateResponse(usize),
    /// Answers this status itself with a JSON error body, without asking the server.
    Status(u16),
    /// Answers 200 with a body that is not the API's.
    Garbage,
}

impl Fault {
    /// The kind's name, for counting.
    pub fn kind(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::DropMidBody(_) => "drop_mid_body",
            Self::Latency(_) => "latency",
            Self::Reset => "reset",
            Self::TruncateResponse(_) => "truncate_response",
            Self::Status(500) => "status_500",
            Self::Status(_) => "status_503",
            Self::Garbage => "garbage",
        }
    }
}

/// Every kind of fault the proxy injects.
pub const FAULT_KINDS: [&str; 7] = [
    "drop_mid_body",
    "latency",
    "reset",
    "truncate_response",
    "status_500",
    "status_503",
    "garbage",
];

struct Plan {
    random: u64,
    round: Vec<Fault>,
}

impl Plan {
    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic per seed, good enough to pick faults.
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        self.random.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn next_fault(&mut self) -> Fault {
        if self.round.is_empty() {
            let mut round = vec![
                Fault::None,
                Fault::DropMidBody(1 + (self.next_random() % 60_000) as usize),
                Fault::Latency(20 + self.next_random() % 200),
                Fault::Reset,
                Fault::TruncateResponse((self.next_random() % 120) as usize),
                Fault::Status(500),
                Fault::Status(503),
                Fault::Garbage,
            ];
            for i in (1..round.len()).rev() {
                let j = (self.next_random() % (i as u64 + 1)) as usize;
                round.swap(i, j);
            }
            self.round = round;
        }
        self.round.pop().unwrap_or(Fault::None)
    }
}

/// A running proxy on `127.0.0.1`.
pub struct FaultProxy {
    /// Base URL to give the station instead of the server's.
    pub url: String,
    faulty: Arc<AtomicBool>,
    fixed: Arc<Mutex<Option<Fault>>>,
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` whose faults follow `seed`; it starts faulty.
    pub async fn start(upstream: SocketAddr, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let faulty = Arc::new(AtomicBool::new(true));
        let fixed = Arc::new(Mutex::new(None));
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let plan = Arc::new(Mutex::new(Plan {
            random: seed | 1,
            round: Vec::new(),
        }));
        let task = {
            let (faulty, fixed, counts, connections) = (
                faulty.clone(),
                fixed.clone(),
                counts.clone(),
                connections.clone(),
            );
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::Relaxed);
                    let chosen = *fixed.lock().expect("lock");
                    let fault = match chosen {
                        Some(fault) => fault,
                        None if faulty.load(Ordering::Relaxed) => {
                            plan.lock().expect("lock").next_fault()
                        }
                        None => Fault::None,
                    };
                    *counts
                        .lock()
                        .expect("lock")
                        .entry(fault.kind())
                        .or_insert(0) += 1;
                    let lifetime = if faulty.load(Ordering::Relaxed) {
                        Duration::from_millis(400)
                    } else {
                        Duration::from_secs(3600)
                    };
                    tokio::spawn(serve(client, upstream, fault, lifetime));
                }
            })
        };
        Self {
            url: format!("http://{address}"),
            faulty,
            fixed,
            counts,
            connections,
            task,
        }
    }

    /// Stops injecting faults: every new connection is forwarded faithfully.
    pub fn heal(&self) {
        self.faulty.store(false, Ordering::Relaxed);
        *self.fixed.lock().expect("lock") = None;
    }

    /// Applies `fault` to every new connection until [`Self::heal`].
    pub fn always(&self, fault: Fault) {
        *self.fixed.lock().expect("lock") = Some(fault);
    }

    /// How many connections got each kind of fault.
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().expect("lock").clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Fault, lifetime: Duration) {
    match fault {
        Fault::Status(code) => {
            let mut request = [0u8; 4096];
            let _ = client.read(&mut request).await;
            let body =
                format!("{{\"code\":\"internal_error\",\"message\":\"injected HTTP {code}\"}}");
            let reason = if code == 500 {
                "Internal Server Error"
            } else {
                "Service Unavailable"
            };
            let answer = format!(
                "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
        }
        Fault::Garbage => {
            let mut request = [0u8; 4096];
            let _ = client.read(&mut request).await;
            let body = "<html>captive portal: please log in</html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
        }
        Fault::Reset => {
            let mut request = [0u8; 1024];
            let _ = client.read(&mut request).await;
            let _ = client.set_zero_linger();
            drop(client);
        }
        _ => {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            let (request_limit, response_limit, delay) = match fault {
                Fault::DropMidBody(n) => (Some(n), None, None),
                Fault::TruncateResponse(n) => (None, Some(n), None),
                Fault::Latency(ms) => (None, None, Some(Duration::from_millis(ms))),
                _ => (None, None, None),
            };
            let upward = pump(&mut client_read, &mut server_write, request_limit, delay);
            let downward = pump(&mut server_read, &mut client_write, response_limit, delay);
            // When either direction ends (a limit hit, a side closed), both are closed. A
            // connection also lives at most `lifetime`, as on a mobile link: the station cannot
            // keep one good connection for ever, so the faults keep coming while it sends.
            tokio::select! {
                () = upward => {},
                () = downward => {},
                () = tokio::time::sleep(lifetime) => {},
            }
        }
    }
}

async fn pump<R, W>(from: &mut R, to: &mut W, limit: Option<usize>, delay: Option<Duration>)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buffer = vec![0u8; 16 * 1024];
    let mut passed = 0usize;
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                // Keep the other direction going until it ends by itself.
                if limit.is_none() && delay.is_none() {
                    let _ = to.shutdown().await;
                    std::future::pending::<()>().await;
                }
                return;
            }
            Ok(read) => read,
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let allowed = limit.map_or(read, |limit| read.min(limit.saturating_sub(passed)));
        if to.write_all(&buffer[..allowed]).await.is_err() {
            return;
        }
        passed += allowed;
        if limit.is_some_and(|limit| passed >= limit) {
            return;
        }
    }
}
