//! Load benchmark (issue 22; figures in `docs/benchmarks.md`): hundreds of simulated stations
//! upload at once to the real `enrollment-server` binary — one replica, or two behind a
//! round-robin TCP balancer — on the embedded backend and on PostgreSQL + S3.
//!
//! A simulated station is a task in this process with a key of its own, registered through the
//! server's HTTP registration with a one-time token, from a loopback address of its own (as
//! offices have), and a backlog of packets sealed and signed with its key. When every station
//! holds its backlog they all start at once; each uploads its packets one after the other as a
//! station does (announce, the bytes, finalize; a 429 or 503 is retried after 200 ms) and times
//! each finalize.
//!
//! ```sh
//! cargo build --release -p enrollment-server -p system-tests --bin load_bench
//! bash scripts/services.sh start /tmp/services && set -a && . /tmp/services/env && set +a
//! STATION_BINARY_DIR=target/release ./target/release/load_bench 50,500 4
//! ```
//!
//! Arguments: station counts (comma-separated, default `50,500`), packets per station (default
//! 4). Without `ENROLLMENT_SERVER_TEST_DATABASE_URL` and `ENROLLMENT_SERVER_TEST_OBJECT_STORE`
//! (and the `AWS_*` variables `scripts/services.sh` writes) only the embedded backend runs.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enrollment_server::data::testing::{separate_config, DATABASE_VARIABLE, OBJECT_STORE_VARIABLE};
use enrollment_server::data::{Identity, Scaled, ScaledConfig, ServerData, Storage};
use protocol::api::{
    Announce, PacketState, PacketStatus, RegisterStationRequest, RegisterStationResponse,
    STATIONS_PATH, UPLOADS_PATH,
};
use protocol::content::{EnrollmentContent, CONTENT_SCHEMA_VERSION};
use protocol::keys::{ServerPublicKey, StationSigningKey};
use protocol::manifest::CaptureRecord;
use protocol::packet::{seal, sha256_hex, Part, SealParams};
use protocol::random::SystemRandom;
use protocol::request::{
    RequestSignature, NONCE_HEADER, SIGNATURE_HEADER, STATION_HEADER, TIMESTAMP_HEADER,
};
use system_tests::balancer::Balancer;
use system_tests::{
    complete_draft, demographics, free_loopback_address, temp_dir, workspace_binary,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// What every simulated station seals: one applicant's content, its capture records.
struct Backlog {
    parts: Vec<Part>,
    captures: Vec<CaptureRecord>,
}

/// One run's figures.
struct Figures {
    backend: &'static str,
    replicas: usize,
    stations: usize,
    packets: usize,
    seconds: f64,
    finalize_ms: Vec<f64>,
    retries: u64,
    rss_mb: f64,
    database_bytes: u64,
    object_bytes: u64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let counts: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "50,500".into())
        .split(',')
        .map(|n| n.trim().parse().expect("station counts are numbers"))
        .collect();
    let per_station: usize = args
        .next()
        .map_or(4, |n| n.parse().expect("packets a number"));
    let scaled = match (
        std::env::var(DATABASE_VARIABLE),
        std::env::var(OBJECT_STORE_VARIABLE),
    ) {
        (Ok(database), Ok(bucket)) => Some((database, bucket)),
        _ => {
            println!("(no {DATABASE_VARIABLE}/{OBJECT_STORE_VARIABLE}: the embedded backend only)");
            None
        }
    };
    let backlog = Arc::new(backlog());
    let mut rows = Vec::new();
    for &stations in &counts {
        let setups: Vec<(&'static str, usize)> = if scaled.is_some() {
            vec![("embedded", 1), ("scaled", 1), ("scaled", 2)]
        } else {
            vec![("embedded", 1)]
        };
        for (backend, replicas) in setups {
            let figures = run(
                backend,
                replicas,
                stations,
                per_station,
                scaled.as_ref(),
                backlog.clone(),
            )
            .await;
            print_row(&figures);
            rows.push(figures);
        }
    }
    println!();
    println!("| backend | replicas | stations | packets | packets/s | finalize p50 / p95 / p99 ms | retried (429/503) | server RSS MB (largest replica) | database MB per 1,000 packets | objects MB per 1,000 packets |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for figures in &rows {
        print_row(figures);
    }
}

fn print_row(f: &Figures) {
    let mut sorted = f.finalize_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let per_thousand = |bytes: u64| bytes as f64 / 1e6 / f.packets as f64 * 1000.0;
    println!(
        "| {} | {} | {} | {} | {:.1} | {:.0} / {:.0} / {:.0} | {} | {:.0} | {:.1} | {:.1} |",
        f.backend,
        f.replicas,
        f.stations,
        f.packets,
        f.packets as f64 / f.seconds,
        at(0.5),
        at(0.95),
        at(0.99),
        f.retries,
        f.rss_mb,
        per_thousand(f.database_bytes),
        per_thousand(f.object_bytes),
    );
}

/// One applicant's content from the simulated devices, as a station seals it.
fn backlog() -> Backlog {
    let draft = complete_draft(1);
    let face = draft.face().expect("a face").clone();
    let content = EnrollmentContent {
        demographics: demographics("Siti Rahayu"),
        face,
        fingers: draft.fingers().cloned().collect(),
        exception_photo: None,
        audit: Vec::new(),
    };
    Backlog {
        parts: content.to_parts().expect("parts"),
        captures: draft.capture_records(),
    }
}

async fn run(
    backend: &'static str,
    replicas: usize,
    stations: usize,
    per_station: usize,
    scaled: Option<&(String, String)>,
    backlog: Arc<Backlog>,
) -> Figures {
    let dir = temp_dir();
    let config = match (backend, scaled) {
        ("scaled", Some((database, bucket))) => Some(
            separate_config(database, bucket, dir.path())
                .await
                .expect("the scale-out settings"),
        ),
        _ => None,
    };
    let storage: Arc<dyn Storage> = match &config {
        None => Arc::new(ServerData::open(dir.path()).expect("the data directory")),
        Some(config) => {
            let mut config = config.clone();
            config.pool_size = 2;
            let identity = Identity::load_or_create(dir.path()).expect("keys");
            Arc::new(
                Scaled::connect(&config, identity)
                    .await
                    .expect("the database"),
            )
        }
    };
    let mut tokens = Vec::new();
    for _ in 0..stations {
        tokens.push(
            storage
                .issue_token(OffsetDateTime::now_utc())
                .await
                .expect("token"),
        );
    }
    let addresses: Vec<SocketAddr> = (0..replicas).map(|_| free_loopback_address()).collect();
    let mut children: Vec<Child> = Vec::new();
    for address in &addresses {
        children.push(start_replica(dir.path(), config.as_ref(), *address));
    }
    let balancer = if replicas > 1 {
        Some(Balancer::start(addresses.clone()).await)
    } else {
        None
    };
    let url = balancer
        .as_ref()
        .map_or_else(|| format!("https://{}", addresses[0]), |b| b.url.clone());

    // Every station registers and seals its backlog, then waits for the others.
    let start = Arc::new(tokio::sync::Barrier::new(stations + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, token) in tokens.into_iter().enumerate() {
        let (url, backlog, start) = (url.clone(), backlog.clone(), start.clone());
        // Registered with a replica directly: behind the balancer every registration would
        // come from its one address, and the server allows one address one a second.
        let direct = format!("https://{}", addresses[n % replicas]);
        tasks.spawn(async move {
            let station = SimulatedStation::register(n, &direct, token).await;
            let packets = station.seal_backlog(&backlog, per_station).await;
            start.wait().await;
            station.upload(&url, packets).await
        });
    }
    start.wait().await;
    let started = Instant::now();
    let mut finalize_ms = Vec::new();
    let mut retries = 0;
    while let Some(done) = tasks.join_next().await {
        let (times, retried) = done.expect("a station's uploads ran");
        finalize_ms.extend(times);
        retries += retried;
    }
    let seconds = started.elapsed().as_secs_f64();
    let largest = peak_rss_kib(&children);
    let usage = storage.usage().await.expect("usage");
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let packets = storage.packets().await.expect("packets").len();
    assert_eq!(packets, stations * per_station, "every packet stored once");
    Figures {
        backend,
        replicas,
        stations,
        packets,
        seconds,
        finalize_ms,
        retries,
        rss_mb: largest as f64 / 1024.0,
        database_bytes: usage.database_bytes,
        object_bytes: usage.object_bytes,
    }
}

/// The largest resident set any replica reached (`VmHWM`), KiB.
fn peak_rss_kib(children: &[Child]) -> u64 {
    children
        .iter()
        .filter_map(|child| {
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

fn start_replica(dir: &Path, config: Option<&ScaledConfig>, address: SocketAddr) -> Child {
    let mut command = Command::new(workspace_binary("enrollment-server"));
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", &address.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(config) = config {
        command
            .env(
                "ENROLLMENT_SERVER_DATABASE_URL",
                config.database_url.as_str(),
            )
            .env("ENROLLMENT_SERVER_OBJECT_STORE", &config.object_store_url);
        if let Some(ca) = &config.database_ca {
            command.env("ENROLLMENT_SERVER_DATABASE_CA", ca);
        }
    }
    let mut child = command.spawn().expect("the server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server says where it listens");
    assert!(line.contains("listening on"), "{line:?}");
    child
}

/// A station as the server sees it: a key, an id, a link.
struct SimulatedStation {
    station_id: Uuid,
    key: Arc<StationSigningKey>,
    server_key: ServerPublicKey,
    client: reqwest::Client,
}

impl SimulatedStation {
    /// Registers station number `n` with `token`, from a loopback address of its own.
    async fn register(n: usize, url: &str, token: protocol::api::ProvisioningToken) -> Self {
        let address = IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250) as u8 + 1));
        // The bench measures the server: the replicas' self-signed certificate is taken on
        // trust here, where a station pins it.
        let client = reqwest::Client::builder()
            .local_address(address)
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let name = format!("Load station {n}");
        let request = RegisterStationRequest {
            token_proof: token.proof(&name, &key.public_key()),
            station_name: name,
            signing_public_key: key.public_key(),
        };
        let answer: RegisterStationResponse = client
            .post(format!("{url}{STATIONS_PATH}"))
            .json(&request)
            .send()
            .await
            .expect("the server answers the registration")
            .error_for_status()
            .expect("registered")
            .json()
            .await
            .expect("a registration answer");
        Self {
            station_id: answer.station_id,
            key: Arc::new(key),
            server_key: answer.server_encryption_key,
            client,
        }
    }

    /// `count` packets sealed for the server and signed by this station.
    async fn seal_backlog(&self, backlog: &Arc<Backlog>, count: usize) -> Vec<(Uuid, Vec<u8>)> {
        let (backlog, key, server_key, station_id) = (
            backlog.clone(),
            self.key.clone(),
            self.server_key,
            self.station_id,
        );
        tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|_| {
                    let packet_id = Uuid::new_v4();
                    let params = SealParams {
                        packet_id,
                        station_id,
                        officer_id: "budi".into(),
                        created_at: OffsetDateTime::now_utc(),
                        schema_version: CONTENT_SCHEMA_VERSION,
                        captures: backlog.captures.clone(),
                    };
                    let sealed = seal(params, &backlog.parts, &server_key, &key, &SystemRandom)
                        .expect("sealed");
                    (packet_id, sealed)
                })
                .collect()
        })
        .await
        .expect("sealing ran")
    }

    /// Uploads `packets` one after the other; each finalize's time (ms) and the retries.
    async fn upload(&self, url: &str, packets: Vec<(Uuid, Vec<u8>)>) -> (Vec<f64>, u64) {
        let mut times = Vec::new();
        let mut retries = 0;
        for (packet_id, bytes) in packets {
            let announce = Announce {
                packet_id,
                sha256: sha256_hex(&bytes),
                size: bytes.len() as u64,
            };
            let body = serde_json::to_vec(&announce).expect("json");
            let (status, _) = self
                .request(url, "POST", UPLOADS_PATH, body, &mut retries)
                .await;
            assert_eq!(status.state, PacketState::Receiving);
            for (n, chunk) in bytes.chunks(256 * 1024).enumerate() {
                let path = format!("{UPLOADS_PATH}/{packet_id}?offset={}", n * 256 * 1024);
                self.request(url, "PUT", &path, chunk.to_vec(), &mut retries)
                    .await;
            }
            let path = format!("{UPLOADS_PATH}/{packet_id}/finalize");
            let (status, took) = self
                .request(url, "POST", &path, Vec::new(), &mut retries)
                .await;
            assert_eq!(status.state, PacketState::Accepted, "accepted");
            times.push(took.as_secs_f64() * 1000.0);
        }
        (times, retries)
    }

    /// A signed request, retried on 429 and 503; the answer and the time of the one answered.
    async fn request(
        &self,
        url: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
        retries: &mut u64,
    ) -> (PacketStatus, Duration) {
        loop {
            let nonce = Uuid::new_v4().simple().to_string();
            let signature = RequestSignature::sign(
                &self.key,
                self.station_id,
                (method, path, &body),
                OffsetDateTime::now_utc().unix_timestamp(),
                nonce,
            );
            let started = Instant::now();
            let response = self
                .client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{url}{path}"),
                )
                .header(STATION_HEADER, self.station_id.to_string())
                .header(TIMESTAMP_HEADER, signature.timestamp.to_string())
                .header(NONCE_HEADER, &signature.nonce)
                .header(SIGNATURE_HEADER, &signature.signature)
                .body(body.clone())
                .send()
                .await
                .expect("the server answers");
            let status = response.status().as_u16();
            if status == 429 || status == 503 {
                *retries += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let text = response.text().await.expect("an answer");
            let took = started.elapsed();
            assert_eq!(status, 200, "{method} {path}: {text}");
            return (serde_json::from_str(&text).expect("a packet status"), took);
        }
    }
}
