//! The scale-out backend under faults: replicas of the real `enrollment-server` sharing one
//! PostgreSQL and one bucket behind an ordinary TCP load balancer, with stations uploading
//! through it while links are cut and replicas are killed with SIGKILL and started again; and
//! the database or the bucket stopped while a station uploads, then started again.
//!
//! These tests need the scale-out backend (`ENROLLMENT_SERVER_TEST_BACKEND=scaled` and the
//! servers `scripts/services.sh` starts), so `cargo test` skips them; `scripts/test.sh` runs
//! them with `--ignored --test-threads=1` in its scale-out pass (they stop the servers the
//! others use).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use enrollment_server::data::testing::{open_for_tests, scaled_config, DATABASE_VARIABLE};
use enrollment_server::data::{DataError, Identity, Scaled, Storage};
use protocol::api::SignedReceipt;
use protocol::packet::sha256_hex;
use station_core::clock::SystemClock;
use station_core::store::outbox::OutboxState;
use station_core::sync::machine::ProblemKind;
use system_tests::balancer::Balancer;
use system_tests::{
    applicant_name, assert_delivered_exactly_once, free_loopback_address, one_pass, outbox,
    provision_station, register_nonsense, replica_command, server_command, spawn_listening,
    submit_as_budi, temp_dir, Rig,
};

const REPLICAS: usize = 3;
const STATIONS: usize = 20;
const PACKETS_PER_STATION: usize = 3;

/// Starts the `enrollment-server` binary on the shared storage of `dir`, serving TLS on
/// `address`; returns once it listens.
async fn start_replica(dir: &Path, address: SocketAddr) -> Child {
    start_replica_of(dir, dir, address).await
}

/// [`start_replica`] with the keys and forms of `data_dir`.
async fn start_replica_of(data_dir: &Path, shared: &Path, address: SocketAddr) -> Child {
    let mut command = replica_command(data_dir, shared).await;
    command
        .args(["serve", "--listen", &address.to_string()])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    spawn_listening(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn twenty_stations_over_three_replicas_deliver_every_packet_once_through_cut_links_and_killed_replicas(
) {
    let dir = temp_dir();
    assert!(
        scaled_config(dir.path())
            .await
            .expect("the test storage settings")
            .is_some(),
        "this test runs on the scale-out backend: ENROLLMENT_SERVER_TEST_BACKEND=scaled \
         with the variables scripts/services.sh writes"
    );
    // As docs/deploy.md says, each replica has its own data directory: the first one's keys/
    // (here the keys the test's storage was set up with, and the TLS certificate the first
    // replica makes) are copied to every other; all share the database and the bucket.
    let storage = open_for_tests(dir.path())
        .await
        .expect("the shared storage");
    let addresses: Vec<SocketAddr> = (0..REPLICAS).map(|_| free_loopback_address()).collect();
    let data_dirs: Vec<PathBuf> = (0..REPLICAS)
        .map(|n| dir.path().join(format!("replica-{n}")))
        .collect();
    let mut replicas = Vec::new();
    for (n, (address, data_dir)) in addresses.iter().zip(&data_dirs).enumerate() {
        copy_keys(if n == 0 { dir.path() } else { &data_dirs[0] }, data_dir);
        replicas.push(start_replica_of(data_dir, dir.path(), *address).await);
    }
    let balancer = Arc::new(Balancer::start(addresses.clone()).await);

    // Twenty stations registered through the balancer, each with a backlog.
    let mut stations = Vec::new();
    for s in 0..STATIONS {
        let station_dir = temp_dir();
        let station = provision_station(station_dir.path(), &balancer.url, &*storage).await;
        for p in 0..PACKETS_PER_STATION {
            let n = s * PACKETS_PER_STATION + p;
            submit_as_budi(&station, &applicant_name(n), 700 + n as u64);
        }
        stations.push((station, station_dir));
    }

    // The storm: every 150 ms every connection in flight is cut; every 600 ms the next
    // replica is killed with SIGKILL and started again 200 ms later on the same address.
    let calm = Arc::new(AtomicBool::new(false));
    let storm = {
        let (calm, balancer, dir) = (calm.clone(), balancer.clone(), dir.path().to_owned());
        let (addresses, data_dirs) = (addresses.clone(), data_dirs.clone());
        tokio::spawn(async move {
            let (mut cuts, mut kills) = (0u32, 0u32);
            let mut round = 0usize;
            while !calm.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(150)).await;
                balancer.cut_all();
                cuts += 1;
                round += 1;
                if round % 4 == 0 {
                    let victim = (round / 4) % REPLICAS;
                    let _ = replicas[victim].kill();
                    let _ = replicas[victim].wait();
                    kills += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    replicas[victim] =
                        start_replica_of(&data_dirs[victim], &dir, addresses[victim]).await;
                }
            }
            (replicas, cuts, kills)
        })
    };

    // Each station uploads through the balancer, pass after pass, until its outbox is drained.
    let mut uploads = tokio::task::JoinSet::new();
    for (station, _) in &stations {
        let (station, url) = (station.clone(), balancer.url.clone());
        uploads.spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
            let mut passes = 0u32;
            loop {
                let status = one_pass(&station, &url, Arc::new(SystemClock)).await;
                passes += 1;
                let drained = outbox(&station)
                    .iter()
                    .all(|(_, _, state, _)| *state == OutboxState::Accepted);
                if drained || tokio::time::Instant::now() >= deadline {
                    return (drained, passes, status.problem.map(|p| p.detail));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    let mut most_passes = 0;
    while let Some(done) = uploads.join_next().await {
        let (drained, passes, problem) = done.expect("the station's uploads ran");
        assert!(
            drained,
            "a station's outbox drains; last problem: {problem:?}"
        );
        most_passes = most_passes.max(passes);
    }
    calm.store(true, Ordering::Relaxed);
    let (mut replicas, cuts, kills) = storm.await.expect("the storm ran");
    println!(
        "{} packets from {STATIONS} stations over {REPLICAS} replicas: {cuts} cuts, {kills} \
         replicas killed, up to {most_passes} passes a station, connections per replica {:?}",
        STATIONS * PACKETS_PER_STATION,
        balancer.served()
    );
    assert!(
        kills >= 2,
        "replicas were killed while stations uploaded ({kills})"
    );
    assert!(
        balancer.served().iter().all(|n| *n > 0),
        "every replica served: {:?}",
        balancer.served()
    );

    // Every packet is stored once, byte for byte, and every receipt is the server's.
    let stored = storage.packets().await.expect("the packets stored");
    assert_eq!(
        stored.len(),
        STATIONS * PACKETS_PER_STATION,
        "each packet stored once"
    );
    for (station, _) in &stations {
        let config = station.config();
        for (id, sha, state, _) in outbox(station) {
            assert_eq!(state, OutboxState::Accepted);
            let text = station
                .store()
                .receipt(&id)
                .expect("the station's store")
                .expect("a drained packet keeps its receipt");
            let receipt = serde_json::from_str::<SignedReceipt>(&text)
                .expect("a receipt")
                .verify(&config.server_receipt_key)
                .expect("signed by the server's receipt key");
            assert_eq!(receipt.packet_id.to_string(), id);
            assert_eq!(receipt.station_id, config.station_id);
            assert_eq!(
                receipt.sha256, sha,
                "the receipt names the bytes the station sent"
            );
            let record = stored
                .iter()
                .find(|p| p.packet_id.to_string() == id)
                .expect("the packet is at the server");
            assert_eq!(record.station_id, config.station_id);
            let bytes = storage.packet_bytes(record).await.expect("its bytes");
            assert_eq!(sha256_hex(&bytes), sha, "stored byte for byte");
        }
    }
    for replica in &mut replicas {
        let _ = replica.kill();
        let _ = replica.wait();
    }
}

/// Copies `keys/` of one replica's data directory to another's, modes kept.
fn copy_keys(from: &Path, to: &Path) {
    let (from, to) = (from.join("keys"), to.join("keys"));
    std::fs::create_dir_all(&to).expect("keys/");
    for entry in std::fs::read_dir(&from).expect("the first replica's keys/") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copied");
    }
}

/// Fails unless the scale-out backend is selected.
async fn require_scale_out() {
    assert!(
        scaled_config(&temp_dir().path().join("probe"))
            .await
            .expect("the test storage settings")
            .is_some(),
        "this test runs on the scale-out backend: ENROLLMENT_SERVER_TEST_BACKEND=scaled \
         with the variables scripts/services.sh writes"
    );
}

/// One of the test servers, stopped until this is dropped (or [`Stopped::start`] is called):
/// a failed assertion still leaves it running for the tests after.
struct Stopped(&'static str);

impl Stopped {
    /// Stops the database (`"db"`) or the bucket (`"s3"`).
    fn stop(which: &'static str) -> Self {
        services(&format!("stop-{which}"));
        Self(which)
    }

    fn start(self) {}
}

impl Drop for Stopped {
    fn drop(&mut self) {
        services(&format!("start-{}", self.0));
    }
}

/// `scripts/services.sh ACTION` on the servers the test variables name.
fn services(action: &str) {
    let dir = std::env::var("ENROLLMENT_SERVER_TEST_SERVICES")
        .expect("ENROLLMENT_SERVER_TEST_SERVICES, written by scripts/services.sh");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/services.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args([action, &dir])
        .stdout(Stdio::null())
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/services.sh {action} failed");
}

/// Every packet of the rig's station still waits at the station, none accepted.
fn all_pending(rig: &Rig) -> bool {
    outbox(&rig.station)
        .iter()
        .all(|(_, _, state, _)| *state == OutboxState::Pending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn while_the_bucket_is_away_packets_wait_at_the_station_and_go_once_when_it_is_back() {
    require_scale_out().await;
    let rig = Rig::start().await;
    for n in 0..3 {
        rig.submit(&applicant_name(n), 900 + n as u64);
    }
    let away = Stopped::stop("s3");
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    let problem = status.problem.expect("the officer is told");
    assert_eq!(problem.kind, ProblemKind::ServerError, "{}", problem.detail);
    assert!(all_pending(&rig), "every packet waits at the station");
    assert!(
        rig.server.data.packets().await.expect("packets").is_empty(),
        "nothing is recorded as received while its bytes cannot be stored"
    );
    away.start();
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None, "delivered once the bucket is back");
    assert_delivered_exactly_once(&rig.server, &rig.station, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn while_the_database_is_away_packets_wait_at_the_station_and_go_once_when_it_is_back() {
    require_scale_out().await;
    let rig = Rig::start().await;
    rig.submit(&applicant_name(0), 950);
    // One packet through first, so the server holds pooled connections the restart will cut.
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None);
    for n in 1..3 {
        rig.submit(&applicant_name(n), 950 + n as u64);
    }
    let away = Stopped::stop("db");
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    let problem = status.problem.expect("the officer is told");
    assert_eq!(problem.kind, ProblemKind::ServerError, "{}", problem.detail);
    let waiting = outbox(&rig.station)
        .into_iter()
        .filter(|(_, _, state, _)| *state == OutboxState::Pending)
        .count();
    assert_eq!(waiting, 2, "the two new packets wait at the station");
    away.start();
    assert_eq!(
        rig.server.data.packets().await.expect("packets").len(),
        1,
        "nothing was recorded while the database was away"
    );
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None, "delivered once the database is back");
    assert_delivered_exactly_once(&rig.server, &rig.station, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn with_sslmode_require_the_database_link_is_encrypted_and_an_unknown_certificate_is_refused()
{
    require_scale_out().await;
    let dir = temp_dir();
    let plain = scaled_config(dir.path())
        .await
        .expect("the test storage settings")
        .expect("the scale-out backend");
    assert!(
        plain.database_ca.is_some(),
        "scripts/services.sh names the test database's CA"
    );
    let mut config = plain.clone();
    config.database_url = format!(
        "{}&sslmode=require&application_name=enrollment-tls-test",
        plain.database_url.as_str()
    )
    .into();
    let keys = || Identity::load_or_create(dir.path()).expect("keys");
    let storage = Scaled::connect(&config, keys())
        .await
        .expect("connected over TLS, the certificate checked against the CA");
    storage
        .issue_token(time::OffsetDateTime::now_utc())
        .await
        .expect("the database answers over TLS");

    // The database sees the server's connections encrypted.
    let admin_url = std::env::var(DATABASE_VARIABLE).expect("the test database");
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .expect("an administrator's connection");
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl)
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'enrollment-tls-test'",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    let (connections, encrypted): (i64, i64) = (row.get(0), row.get(1));
    assert!(connections >= 1, "the server's connection is there");
    assert_eq!(encrypted, connections, "every one of them encrypted");

    // A database whose certificate does not chain to the CA given (here: to no public root)
    // is not the database: the server does not start on it.
    let mut untrusted = config.clone();
    untrusted.database_ca = None;
    let error = Scaled::connect(&untrusted, keys())
        .await
        .expect_err("a certificate from an unknown authority is refused");
    assert!(
        error.to_string().contains("certificate"),
        "the error says why: {error}"
    );
    let mut missing = config;
    missing.database_ca = Some(dir.path().join("no-such-ca.pem"));
    let error = Scaled::connect(&missing, keys())
        .await
        .expect_err("a CA file that cannot be read");
    assert!(
        matches!(error, DataError::Config(_)) && error.to_string().contains("no-such-ca.pem"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn an_address_gets_its_registration_rate_once_across_three_replicas_not_three_times() {
    require_scale_out().await;
    let dir = temp_dir();
    let addresses: Vec<SocketAddr> = (0..REPLICAS).map(|_| free_loopback_address()).collect();
    let mut replicas = Vec::new();
    for address in &addresses {
        replicas.push(start_replica(dir.path(), *address).await);
    }
    let balancer = Balancer::start(addresses.clone()).await;
    // A connection per request, so the balancer spreads them over the replicas.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");

    // Thirty registrations with a made-up code, one after the other, round-robin over the
    // replicas: ten per replica. Each replica alone would let its own burst of ten through.
    let started = std::time::Instant::now();
    let (mut refused_for_rate, mut heard) = (0usize, 0usize);
    for _ in 0..REPLICAS * 10 {
        let status = register_nonsense(&client, &balancer.url)
            .await
            .expect("an answer");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            refused_for_rate += 1;
        } else {
            heard += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for replica in &mut replicas {
        let _ = replica.kill();
        let _ = replica.wait();
    }
    // The burst (10) and what the rate (1 a second) refilled while the requests went; a run
    // so slow that separate buckets would pass too proves nothing.
    let allowed = 10 + elapsed.ceil() as usize;
    assert!(
        allowed < REPLICAS * 10,
        "{elapsed:.1} s for thirty requests: too slow to tell one bucket from three"
    );
    assert!(
        (10..=allowed).contains(&heard),
        "{heard} registrations heard in {elapsed:.2} s, {refused_for_rate} refused for rate; \
         one shared bucket allows {allowed}"
    );
    println!("{heard} heard, {refused_for_rate} refused for rate in {elapsed:.2} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scale-out backend; scripts/test.sh runs it with ENROLLMENT_SERVER_TEST_BACKEND=scaled"]
async fn a_running_replica_stops_when_adopt_keys_records_other_keys() {
    require_scale_out().await;
    let dir = temp_dir();
    let address = free_loopback_address();
    let mut command = server_command(dir.path()).await;
    command
        .args(["serve", "--listen", &address.to_string()])
        .env("RUST_LOG", "error")
        .stderr(Stdio::piped());
    let mut replica = spawn_listening(command);

    // A deliberate change of keys: new keys/ in place, adopt-keys run once.
    std::fs::rename(dir.path().join("keys"), dir.path().join("keys.old")).expect("move");
    let adopted = server_command(dir.path())
        .await
        .arg("adopt-keys")
        .output()
        .expect("adopt-keys runs");
    assert!(adopted.status.success(), "{adopted:?}");

    // The replica still holding the old keys stops within a few checks, saying why.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = replica.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica with the old keys is still serving"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut replica.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("other keys"), "{stderr}");
}
