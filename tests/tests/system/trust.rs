//! Attacks on the trust between station and server: whoever answers on the link, sits at the
//! keyboard or edits the station's disk must not make the station drop, misdirect or approve
//! an enrollment.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::{Json, Router};
use station_core::approval::{self, Decision};
use station_core::clock::SystemClock;
use station_core::officers::{self, Officer, Password, Role};
use station_core::store::outbox::OutboxState;
use station_core::sync::machine::ProblemKind;
use system_tests::*;

/// Every code with which the real server refuses a packet for good.
const REFUSAL_CODES: [&str; 8] = [
    "malformed_packet",
    "wrong_station_key",
    "bad_signature",
    "payload_tampered",
    "wrong_recipient",
    "packet_id_reused",
    "packet_id_mismatch",
    "packet_too_large",
];

/// A server on loopback that answers every request with the refusal `code` and no receipt, as
/// a captive portal, a spoofed name or a man in the middle can.
async fn refusing_server(code: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    let router = Router::new().fallback(move || async move {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "code": code,
                "message": "refused by whoever answers on this link",
            })),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_refusals_of_every_code_lose_no_packet_and_the_real_server_gets_each_once() {
    let rig = Rig::start().await;
    for n in 0..2 {
        rig.submit(&applicant_name(n), 60 + n as u64);
    }
    for code in REFUSAL_CODES {
        let (url, fake) = refusing_server(code).await;
        let status = one_pass(&rig.station, &url, Arc::new(SystemClock)).await;
        fake.abort();
        let problem = status
            .problem
            .expect("the officer is told something is wrong");
        assert_eq!(
            problem.kind,
            ProblemKind::ServerError,
            "an unsigned {code} is a server problem: {}",
            problem.detail
        );
        for (id, _, state, _) in outbox(&rig.station) {
            assert_eq!(
                state,
                OutboxState::Pending,
                "packet {id} stays pending after a forged {code}"
            );
        }
    }
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None, "the real server takes them all");
    assert_delivered_exactly_once(&rig.server, &rig.station, 2);
}

/// How the man in the middle rewrites the registration answer.
#[derive(Clone, Copy, Debug)]
enum Rewrite {
    /// Passes it on untouched.
    Nothing,
    /// Puts its own encryption key in place of the server's.
    EncryptionKey,
    /// Answers with keys and a signature of its own.
    WholeAnswer,
}

/// A proxy in front of `upstream` that rewrites the answer to `POST /api/v1/stations`.
async fn provisioning_interceptor(upstream: String, rewrite: Rewrite) -> String {
    use axum::body::Bytes;
    use protocol::api::RegisterStationResponse;
    use protocol::keys::{ServerDecryptionKey, StationSigningKey};
    let router = Router::new().fallback(move |body: Bytes| {
        let upstream = upstream.clone();
        async move {
            let answer = reqwest::Client::new()
                .post(format!("{upstream}{}", protocol::api::STATIONS_PATH))
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .expect("upstream answers");
            let status = answer.status().as_u16();
            let mut json: serde_json::Value = answer.json().await.expect("json");
            let mallory_box = ServerDecryptionKey::from_bytes(&[66; 32]).public_key();
            match rewrite {
                Rewrite::Nothing => {}
                Rewrite::EncryptionKey => {
                    json["server_encryption_key"] = serde_json::to_value(mallory_box).expect("key");
                }
                Rewrite::WholeAnswer => {
                    let real: RegisterStationResponse =
                        serde_json::from_value(json.clone()).expect("an answer");
                    let request: serde_json::Value =
                        serde_json::from_slice(&body).expect("request");
                    let station_key =
                        serde_json::from_value(request["signing_public_key"].clone()).expect("key");
                    let mallory = StationSigningKey::from_seed(&[77; 32]).expect("key");
                    let forged = RegisterStationResponse::sign(
                        real.station_id,
                        &station_key,
                        mallory_box,
                        &mallory,
                    );
                    json = serde_json::to_value(forged).expect("json");
                }
            }
            (StatusCode::from_u16(status).expect("status"), Json(json))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_in_the_middle_rewriting_the_servers_keys_at_provisioning_is_refused_and_nothing_is_saved(
) {
    use station_core::provision::{provision, NewVault, ProvisionError};
    use station_core::station::StationPaths;
    let server_dir = temp_dir();
    let server = TestServer::start(server_dir.path(), "127.0.0.1:0".parse().expect("addr")).await;
    let secret = passphrase();
    for rewrite in [Rewrite::EncryptionKey, Rewrite::WholeAnswer] {
        let station_dir = temp_dir();
        let paths = StationPaths::new(station_dir.path());
        let token = server
            .data
            .issue_token(time::OffsetDateTime::now_utc())
            .expect("token");
        let proxy = provisioning_interceptor(server.url.clone(), rewrite).await;
        let result = provision(&paths, &proxy, token, "Desk", NewVault::Passphrase(&secret)).await;
        let error = result.expect_err("a rewritten answer must be refused");
        assert!(
            matches!(error, ProvisionError::NotTheServer(_)),
            "{rewrite:?}: {error}"
        );
        assert!(
            error.to_string().contains("provisioning refused"),
            "the technician is told: {error}"
        );
        assert!(
            !paths.config().exists() && !paths.vault().exists(),
            "{rewrite:?}: nothing is saved, so no packet can ever be sealed for the foreign key"
        );
    }
    // The same path with nobody rewriting: the station is provisioned with the server's keys.
    let station_dir = temp_dir();
    let paths = StationPaths::new(station_dir.path());
    let token = server
        .data
        .issue_token(time::OffsetDateTime::now_utc())
        .expect("token");
    let proxy = provisioning_interceptor(server.url.clone(), Rewrite::Nothing).await;
    let config = provision(&paths, &proxy, token, "Desk", NewVault::Passphrase(&secret))
        .await
        .expect("an honest relay changes nothing");
    assert_eq!(
        config.server_encryption_key,
        server.data.encryption_key().public_key()
    );
}

#[test]
fn an_edited_station_json_stops_the_station_cli_naming_the_file() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let rig = runtime.block_on(Rig::start());
    let config_path = rig.station_dir.path().join("station.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).expect("config")).expect("json");
    let foreign = protocol::keys::ServerDecryptionKey::from_bytes(&[66; 32]).public_key();
    config["server_encryption_key"] = serde_json::to_value(foreign).expect("key");
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("edit");
    let output = std::process::Command::new(workspace_binary("station"))
        .arg("--data-dir")
        .arg(rig.station_dir.path())
        .arg("status")
        .env("STATION_PASSPHRASE", STATION_PASSPHRASE)
        .output()
        .expect("station runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the station must not open");
    assert!(
        stderr.contains("station.json was changed outside the station"),
        "the technician is told which file and why: {stderr}"
    );
    drop(rig);
}

/// A supervisor account `username`, logged in.
fn supervisor(station: &station_core::station::Station, username: &str) -> Officer {
    let password = Password::new(OFFICER_PASSWORD.into());
    officers::add_officer(
        station.store(),
        username,
        username,
        Role::Supervisor,
        &password,
        &SystemClock,
    )
    .expect("account");
    officers::login(station.store(), username, &password, &SystemClock).expect("login")
}

/// Submits, as `officer`, an enrollment whose right little finger is declared missing (with the
/// photo of the hand): it must wait for a supervisor.
fn submit_with_exception(station: &station_core::station::Station, officer: &Officer) -> String {
    use hardware::simulated::SimulatedCamera;
    use hardware::FingerPosition;
    let mut draft = complete_draft(71);
    draft
        .declare_finger_exception(FingerPosition::RightLittle, "amputated")
        .expect("exception");
    draft
        .take_exception_photo(&SimulatedCamera::new(71))
        .expect("photo of the hand");
    station_core::enrollment::submit(
        station,
        officer,
        &demographics("Siti Rahayu"),
        &draft,
        &SystemClock,
    )
    .expect("submit")
    .id
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_approval_column_or_a_self_approval_approves_nothing_and_loses_nothing() {
    let rig = Rig::start().await;
    let station = &rig.station;
    let sari = supervisor(station, "sari");
    let id = submit_with_exception(station, &log_in(station));

    // Someone with the database flips the column: the packet goes out without a signed
    // approval, the server refuses it with its code and the station puts it back in the queue.
    station
        .store()
        .execute_raw_for_tests("UPDATE outbox SET approval = 'approved'")
        .expect("tamper");
    let status = one_pass(station, &rig.server.url, Arc::new(SystemClock)).await;
    let problem = status.problem.expect("the officer is told");
    assert_eq!(
        problem.kind,
        ProblemKind::ApprovalRequired,
        "{}",
        problem.detail
    );
    assert!(
        problem.detail.contains("approval_required"),
        "{}",
        problem.detail
    );
    assert!(
        rig.server.data.packets().expect("packets").is_empty(),
        "the server stored nothing"
    );
    let queue = approval::awaiting(station, &sari).expect("queue");
    assert_eq!(
        queue.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()],
        "the packet is kept and waits for a real decision"
    );

    // A supervisor who captured an enrollment cannot approve it on the station…
    let own = submit_with_exception(station, &sari);
    let refused = approval::decide(station, &sari, &own, Decision::Approve, "", &SystemClock);
    assert!(matches!(
        refused,
        Err(approval::ApprovalError::OwnEnrollment)
    ));

    // …nor with an approval signed by the station's key (a stolen key, a patched build): the
    // server refuses it.
    let key = signing_key_of(rig.station_dir.path());
    let bytes = station.store().outbox_packet(&own).expect("packet");
    let forged = protocol::approval::SignedApproval::sign(
        &protocol::approval::Approval {
            packet_id: own.parse().expect("uuid"),
            packet_sha256: protocol::packet::sha256_hex(&bytes),
            capturing_officer: "sari".into(),
            supervisor: "sari".into(),
            decided_at: "2026-12-03T08:00:00Z".into(),
            comment_sha256: protocol::packet::sha256_hex(b""),
        },
        &key,
    );
    let (status, answer) = deliver_raw_with(&rig, bytes, Some(forged)).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "approval_self", "{answer}");

    // A real decision by another supervisor: both go through, each once.
    let tari = supervisor(station, "tari");
    for packet in [&id, &own] {
        approval::decide(
            station,
            &tari,
            packet,
            Decision::Approve,
            "seen",
            &SystemClock,
        )
        .expect("approve");
    }
    let status = one_pass(station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None);
    assert_delivered_exactly_once(&rig.server, station, 2);
}
