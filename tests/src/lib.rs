//! Shared set-up for the system tests: a real central server on a loopback port, and stations
//! provisioned against it through the real HTTP registration.

pub mod balancer;
pub mod proxy;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use enrollment_server::data::testing::{open_for_tests, scaled_config};
pub use enrollment_server::data::Storage;
use enrollment_server::{http, ServerState};
use formats::FingerPosition;
use hardware::simulated::{SimulatedCamera, SimulatedScanner};
use protocol::content::Demographics;
use protocol::packet::sha256_hex;
use station_core::clock::SystemClock;
use station_core::enrollment::{EnrollmentDraft, SubmittedEnrollment};
use station_core::officers::{self, Officer, Password, Role};
use station_core::station::{Station, StationPaths};
use station_core::store::outbox::OutboxState;
use station_core::sync::machine::SyncStatus;
use station_core::sync::{SyncConfig, Uploader};
use station_core::vault::Passphrase;
use tempfile::TempDir;
use time::OffsetDateTime;

/// A central server running in this process on `127.0.0.1`.
pub struct TestServer {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Its address.
    pub address: SocketAddr,
    /// What it stores (on the backend the environment selects, see
    /// `enrollment_server::data::testing`), to inspect.
    pub data: Arc<dyn Storage>,
    task: tokio::task::JoinHandle<()>,
    /// A worker of the stages after intake, as `serve` runs them.
    worker: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts a server over `data_dir` on `address` (port 0 picks a free port).
    pub async fn start(data_dir: &Path, address: SocketAddr) -> Self {
        let shared = open_for_tests(data_dir)
            .await
            .expect("the server's storage opens");
        let state = ServerState::shared(shared.clone());
        let worker = tokio::spawn(enrollment_server::stages::run(
            shared.clone(),
            format!("test-{}", uuid::Uuid::new_v4()),
            state.now,
            Duration::from_millis(50),
        ));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the test server runs");
        });
        Self {
            url: format!("http://{address}"),
            address,
            data: shared,
            task,
            worker,
            stop: Some(stop),
        }
    }

    /// Stops the server and closes its connections; its port is free again afterwards.
    pub async fn stop(mut self) {
        self.worker.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        if tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err()
        {
            panic!("the test server did not shut down within 5 s");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        self.worker.abort();
    }
}

/// The `enrollment-server` binary with `--data-dir dir`, on the storage the tests use: with the
/// scale-out backend, the database and bucket prefix of `dir` (as [`TestServer`] over `dir`
/// would use them).
pub async fn server_command(dir: &Path) -> std::process::Command {
    replica_command(dir, dir).await
}

/// The `enrollment-server` binary with `--data-dir data_dir` (its keys and forms), on the
/// shared storage of `shared` (with the scale-out backend; the embedded one keeps everything
/// in `data_dir`): a replica set up as `docs/deploy.md` says.
pub async fn replica_command(data_dir: &Path, shared: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(workspace_binary("enrollment-server"));
    command.arg("--data-dir").arg(data_dir);
    if let Some(config) = scaled_config(shared)
        .await
        .expect("the test storage settings")
    {
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
    command
}

/// Spawns a `serve` command with its standard output piped and returns once the server says
/// where it listens (its first line).
pub fn spawn_listening(mut command: std::process::Command) -> std::process::Child {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server says where it listens");
    assert!(line.contains("listening on "), "{line:?}");
    child
}

/// Sends a registration whose code and key are made up (refused for its content, `400`,
/// unless a rate limit answers first); the status.
pub async fn register_nonsense(
    client: &reqwest::Client,
    url: &str,
) -> reqwest::Result<reqwest::StatusCode> {
    let response = client
        .post(format!("{url}{}", protocol::api::STATIONS_PATH))
        .json(&serde_json::json!({
            "station_name": "Desk",
            "signing_public_key": "not a key",
            "token_proof": "not a proof",
        }))
        .send()
        .await?;
    Ok(response.status())
}

/// An address on loopback that nothing listens on (yet).
pub fn free_loopback_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// The password of the officer account every test station gets.
pub const OFFICER_PASSWORD: &str = "correct horse battery";

/// The station passphrase every test station's vault is sealed under.
pub const STATION_PASSPHRASE: &str = "test station passphrase";

/// [`STATION_PASSPHRASE`], typed.
pub fn passphrase() -> Passphrase {
    Passphrase::new(STATION_PASSPHRASE.into())
}

/// Provisions a station in `dir` against `server_url` with a fresh token from `server_data`,
/// and adds the officer account `budi`.
pub async fn provision_station(dir: &Path, server_url: &str, server_data: &dyn Storage) -> Station {
    let token = server_data
        .issue_token(OffsetDateTime::now_utc())
        .await
        .expect("token");
    let paths = StationPaths::new(dir);
    let secret = passphrase();
    let protect = station_core::provision::NewVault::Passphrase(&secret);
    station_core::provision::provision(&paths, server_url, token, "Test desk", protect)
        .await
        .expect("provisioning against the test server succeeds");
    let station = Station::open(paths, &passphrase()).expect("the provisioned station opens");
    add_budi(&station);
    let event = station_core::audit::AuditEvent {
        actor: "station-cli",
        action: "officer.added",
        subject: "budi",
        detail: "account added with role officer",
    };
    station_core::audit::record(&station, &event, &SystemClock).expect("audit entry");
    station
}

/// Adds the officer account `budi` with [`OFFICER_PASSWORD`].
pub fn add_budi(station: &Station) {
    officers::add_officer(
        station.store(),
        "budi",
        "Budi Santoso",
        Role::Officer,
        &Password::new(OFFICER_PASSWORD.into()),
        &SystemClock,
    )
    .expect("officer account");
}

/// The officer `budi`, logged in.
pub fn log_in(station: &Station) -> Officer {
    officers::login(
        station.store(),
        "budi",
        &Password::new(OFFICER_PASSWORD.into()),
        &SystemClock,
    )
    .expect("login")
}

/// A valid citizen's passport form (built-in forms) for a woman born 12 April 1990.
pub fn demographics(name: &str) -> Demographics {
    Demographics {
        form: "wni-passport".into(),
        form_version: "2026.11".into(),
        full_name: name.into(),
        date_of_birth: "1990-04-12".into(),
        sex: "F".into(),
        nationality: "IDN".into(),
        // Jakarta Selatan; day 12 + 40 for a woman.
        document_number: "3174055204900003".into(),
        fields: [
            ("place_of_birth", "Jakarta"),
            ("passport_type", "ordinary"),
            ("address", "Jl. Merdeka 1, Jakarta"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    }
}

/// A draft with a face and ten fingers from the simulated devices for applicant `seed`.
pub fn complete_draft(seed: u64) -> EnrollmentDraft {
    let mut draft = EnrollmentDraft::new();
    draft
        .capture_face(&SimulatedCamera::new(seed))
        .expect("face");
    let scanner = SimulatedScanner::new(seed);
    for finger in FingerPosition::ALL {
        draft.capture_finger(&scanner, finger).expect("finger");
    }
    draft
}

/// A temporary directory that is removed at the end of the test.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Polls `condition` every 50 ms until it holds or `limit` passes; returns whether it held.
pub async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running server and a station provisioned against it, each in its own temporary directory.
pub struct Rig {
    /// The server.
    pub server: TestServer,
    /// The station, with the officer account `budi`.
    pub station: Station,
    /// The station's data directory.
    pub station_dir: TempDir,
    /// The server's data directory.
    pub server_dir: TempDir,
}

impl Rig {
    /// Starts a server on a free loopback port and provisions a station against it.
    pub async fn start() -> Self {
        let (server_dir, station_dir) = (temp_dir(), temp_dir());
        let server =
            TestServer::start(server_dir.path(), "127.0.0.1:0".parse().expect("addr")).await;
        let station = provision_station(station_dir.path(), &server.url, &*server.data).await;
        Self {
            server,
            station,
            station_dir,
            server_dir,
        }
    }

    /// Submits a complete enrollment of `name` with the simulated applicant `seed`, as `budi`.
    pub fn submit(&self, name: &str, seed: u64) -> SubmittedEnrollment {
        submit_as_budi(&self.station, name, seed)
    }
}

/// Submits a complete enrollment of `name` with the simulated applicant `seed`, as `budi`.
pub fn submit_as_budi(station: &Station, name: &str, seed: u64) -> SubmittedEnrollment {
    station_core::enrollment::submit(
        station,
        &log_in(station),
        &demographics(name),
        &complete_draft(seed),
        &SystemClock,
        &protocol::random::SystemRandom,
    )
    .expect("a complete enrollment submits")
}

/// The station's signing key, from its vault (what a test needs to sign raw requests).
pub fn signing_key_of(station_dir: &Path) -> protocol::keys::StationSigningKey {
    station_core::vault::unlock(&StationPaths::new(station_dir).vault(), &passphrase())
        .expect("the test vault opens")
        .signing_key
}

/// A signed request as a station makes it; the HTTP status and the JSON answer.
pub async fn signed_request(
    url: &str,
    station_id: uuid::Uuid,
    key: &protocol::keys::StationSigningKey,
    method: &str,
    path_and_query: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    signed_request_from(None, url, station_id, key, (method, path_and_query), body).await
}

/// [`signed_request`] from the loopback address `from` (another "machine" to the server's
/// per-address limits), when given; a body that is not JSON answers `null`.
pub async fn signed_request_from(
    from: Option<std::net::IpAddr>,
    url: &str,
    station_id: uuid::Uuid,
    key: &protocol::keys::StationSigningKey,
    (method, path_and_query): (&str, &str),
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    use protocol::request::*;
    let nonce: String = (0..16).map(|_| format!("{:02x}", rand_byte())).collect();
    let signature = RequestSignature::sign(
        key,
        station_id,
        (method, path_and_query, &body),
        OffsetDateTime::now_utc().unix_timestamp(),
        nonce,
    );
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client");
    let response = client
        .request(method, format!("{url}{path_and_query}"))
        .header(STATION_HEADER, station_id.to_string())
        .header(TIMESTAMP_HEADER, signature.timestamp.to_string())
        .header(NONCE_HEADER, &signature.nonce)
        .header(SIGNATURE_HEADER, &signature.signature)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn rand_byte() -> u8 {
    let mut byte = [0u8; 1];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte).expect("random");
    byte[0]
}

/// Delivers `bytes` the way the station does (announce, one chunk, finalize), signed by the
/// rig's station; returns the first refusal, or the final answer. A packet the server judged
/// before is answered at the announce, without an upload.
pub async fn deliver_raw(rig: &Rig, bytes: Vec<u8>) -> (u16, serde_json::Value) {
    deliver_raw_with(rig, bytes, None).await
}

/// [`deliver_raw`] with a supervisor's approval sent at finalize.
pub async fn deliver_raw_with(
    rig: &Rig,
    bytes: Vec<u8>,
    approval: Option<protocol::approval::SignedApproval>,
) -> (u16, serde_json::Value) {
    use protocol::api::{Announce, UPLOADS_PATH};
    let key = signing_key_of(rig.station_dir.path());
    let station_id = rig.station.config().station_id;
    let packet_id = protocol::packet::SealedPacket::parse(&bytes)
        .map(|p| p.manifest().packet_id)
        .unwrap_or_else(|_| uuid::Uuid::new_v4());
    let announce = Announce {
        packet_id,
        sha256: protocol::packet::sha256_hex(&bytes),
        size: bytes.len() as u64,
    };
    let url = &rig.server.url;
    let body = serde_json::to_vec(&announce).expect("json");
    let (status, answer) = signed_request(url, station_id, &key, "POST", UPLOADS_PATH, body).await;
    if status != 200 || answer["state"] != "receiving" {
        return (status, answer);
    }
    for (n, chunk) in bytes.chunks(512 * 1024).enumerate() {
        let path = format!("{UPLOADS_PATH}/{packet_id}?offset={}", n * 512 * 1024);
        let (status, answer) =
            signed_request(url, station_id, &key, "PUT", &path, chunk.to_vec()).await;
        if status != 200 {
            return (status, answer);
        }
    }
    let path = format!("{UPLOADS_PATH}/{packet_id}/finalize");
    let body = approval.map_or_else(Vec::new, |approval| {
        let request = protocol::approval::FinalizeRequest {
            approval: Some(approval),
        };
        serde_json::to_vec(&request).expect("json")
    });
    signed_request(url, station_id, &key, "POST", &path, body).await
}

/// Sync timing for tests: quick retries, small chunks.
pub fn fast_sync() -> station_core::sync::SyncConfig {
    station_core::sync::SyncConfig {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(300),
        idle_interval: Duration::from_millis(300),
        request_timeout: Duration::from_secs(10),
        chunk_bytes: 64 * 1024,
        ..station_core::sync::SyncConfig::default()
    }
}

/// A valid applicant name for test number `n` (names hold letters only, never digits).
pub fn applicant_name(n: usize) -> String {
    const GIVEN: [&str; 10] = [
        "Siti", "Budi", "Ayu", "Dewi", "Eko", "Fajar", "Gita", "Hadi", "Indah", "Joko",
    ];
    const FAMILY: [&str; 10] = [
        "Rahayu", "Santoso", "Wijaya", "Lestari", "Pratama", "Hidayat", "Kusuma", "Saputra",
        "Utami", "Nugroho",
    ];
    format!("{} {}", GIVEN[n % 10], FAMILY[(n / 10) % 10])
}

/// A binary of this workspace, from `target/debug` (or `$STATION_BINARY_DIR`); tells how to
/// build it when it is missing.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("STATION_BINARY_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "the binary {} does not exist: build the workspace with `cargo build --workspace`",
        path.display()
    );
    path
}

/// Forces an `sbi-sim` listening on `port` to behave as `settings` (JSON) say, through its admin
/// endpoint.
pub fn sbi_admin(port: u16, settings: &str) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("admin connection");
    write!(
        stream,
        "POST /admin/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{settings}",
        settings.len()
    )
    .expect("admin request");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "admin refused: {answer}"
    );
}

/// Every packet the station holds: id, SHA-256, state, and whether a receipt is kept.
pub fn outbox(station: &Station) -> Vec<(String, String, OutboxState, bool)> {
    let store = station.store();
    store
        .list_enrollments()
        .expect("list")
        .into_iter()
        .map(|s| {
            let id = s.enrollment.id.clone();
            let sha = sha256_hex(&store.outbox_packet(&id).expect("packet"));
            let receipt = store.receipt(&id).expect("receipt").is_some();
            (id, sha, s.state, receipt)
        })
        .collect()
}

/// Each station packet is at the server once, byte for byte, and the station knows it.
pub async fn assert_delivered_exactly_once(
    rig_server: &TestServer,
    station: &Station,
    count: usize,
) {
    let held = outbox(station);
    assert_eq!(held.len(), count);
    let stored = rig_server.data.packets().await.expect("server packets");
    assert_eq!(stored.len(), count, "the server holds each packet once");
    let ids: BTreeSet<_> = stored.iter().map(|p| p.packet_id.to_string()).collect();
    assert_eq!(ids.len(), count);
    for (id, sha, state, receipt) in &held {
        assert_eq!(*state, OutboxState::Accepted, "packet {id} shows accepted");
        assert!(receipt, "packet {id} keeps the server's signed receipt");
        let record = stored
            .iter()
            .find(|p| p.packet_id.to_string() == *id)
            .expect("at the server");
        let bytes = rig_server.data.packet_bytes(record).await.expect("bytes");
        assert_eq!(
            &sha256_hex(&bytes),
            sha,
            "packet {id} arrived byte for byte"
        );
    }
}

/// The server's `/metrics` text, asked with its bearer token.
pub async fn metrics_of(server: &TestServer) -> String {
    reqwest::Client::new()
        .get(format!("{}/metrics", server.url))
        .bearer_auth(server.data.metrics_token())
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// One sync pass of `station` against `url`, with quick retries; the status it ended with.
pub async fn one_pass(
    station: &Station,
    url: &str,
    clock: Arc<dyn station_core::clock::Clock>,
) -> SyncStatus {
    let config = SyncConfig {
        request_timeout: Duration::from_secs(5),
        ..fast_sync()
    };
    Uploader::to_server(station, url, &config, clock)
        .expect("uploader")
        .run_pass()
        .await
}
