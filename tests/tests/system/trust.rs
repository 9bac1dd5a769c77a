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
    assert_delivered_exactly_once(&rig.server, &rig.station, 2).await;
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

/// Passes a registration on to `upstream` as a relay in the middle would (whatever TLS
/// certificate it presents).
async fn forward_registration(upstream: &str, body: &[u8]) -> reqwest::Response {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client")
        .post(format!("{upstream}{}", protocol::api::STATIONS_PATH))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("upstream answers")
}

/// A proxy in front of `upstream` that rewrites the answer to `POST /api/v1/stations`.
async fn provisioning_interceptor(upstream: String, rewrite: Rewrite) -> String {
    use axum::body::Bytes;
    use protocol::api::RegisterStationResponse;
    use protocol::keys::{ServerDecryptionKey, StationSigningKey};
    let router = Router::new().fallback(move |body: Bytes| {
        let upstream = upstream.clone();
        async move {
            let answer = forward_registration(&upstream, &body).await;
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
                        (mallory_box, real.tls_certificate_sha256.clone()),
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
            .await
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
        .await
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
    use formats::FingerPosition;
    use hardware::simulated::SimulatedCamera;
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
        &protocol::random::SystemRandom,
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
        rig.server.data.packets().await.expect("packets").is_empty(),
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
    assert_delivered_exactly_once(&rig.server, station, 2).await;
}

/// Appends `count` entries to the station's audit log, as officers' actions would.
fn act(station: &station_core::station::Station, count: usize) {
    for n in 0..count {
        let detail = format!("action {n}");
        let event = station_core::audit::AuditEvent {
            actor: "budi",
            action: "login",
            subject: "",
            detail: &detail,
        };
        station_core::audit::record(station, &event, &SystemClock).expect("audit entry");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_log_cut_and_written_again_is_caught_by_the_server_and_by_audit_verify() {
    let rig = Rig::start().await;
    let station = &rig.station;
    rig.submit("Siti Rahayu", 81);
    act(station, 20);
    let status = one_pass(station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None);
    let station_id = station.config().station_id;
    let reported = rig
        .server
        .data
        .audit_head(station_id)
        .await
        .expect("head")
        .expect("the server holds the station's audit head after a pass");
    assert_eq!(
        Some(reported.head.clone()),
        station.store().audit_head().expect("head"),
        "the head reported is the station's newest entry"
    );

    // Someone with the database cuts the last ten entries with their checkpoints and lets the
    // station write new ones past the old end: every remaining link and checkpoint is sound.
    let cut_from = reported.head.seq - 9;
    station
        .store()
        .execute_raw_for_tests(&format!(
            "DELETE FROM audit_log WHERE seq >= {cut_from};
             DELETE FROM audit_checkpoints WHERE seq >= {cut_from};"
        ))
        .expect("cut");
    act(station, 15);
    let new_head = station
        .store()
        .audit_head()
        .expect("head")
        .expect("entries");
    assert!(
        new_head.seq > reported.head.seq,
        "the log is longer than before"
    );

    let verify = std::process::Command::new(workspace_binary("station"))
        .arg("--data-dir")
        .arg(rig.station_dir.path())
        .args(["audit", "verify"])
        .env("STATION_PASSPHRASE", STATION_PASSPHRASE)
        .output()
        .expect("station runs");
    let said = String::from_utf8_lossy(&verify.stdout).into_owned()
        + &String::from_utf8_lossy(&verify.stderr);
    assert!(!verify.status.success(), "audit verify must fail: {said}");
    assert!(
        said.contains(&format!(
            "entry #{} is not the one the central server acknowledged",
            reported.head.seq
        )) && said.contains(&format!(
            "10 entries were deleted after entry #{}",
            cut_from - 1
        )),
        "{said}"
    );

    let status = one_pass(station, &rig.server.url, Arc::new(SystemClock)).await;
    let problem = status.problem.expect("the station is told");
    assert_eq!(
        problem.kind,
        ProblemKind::AuditConflict,
        "{}",
        problem.detail
    );
    let held = rig
        .server
        .data
        .audit_head(station_id)
        .await
        .expect("head")
        .expect("held");
    assert_eq!(
        held.head, reported.head,
        "the server keeps the head it trusted"
    );
    assert!(held.conflict.is_some(), "the conflict is on record");
    let metrics = metrics_of(&rig.server).await;
    assert!(
        metrics.contains("enrollment_audit_conflicts_total 1\n"),
        "{metrics}"
    );
    let audit = server_command(rig.server_dir.path())
        .await
        .args(["audit", &station_id.to_string()])
        .output()
        .expect("enrollment-server runs");
    let said = String::from_utf8_lossy(&audit.stdout);
    assert!(!audit.status.success(), "{said}");
    assert!(
        said.contains("PROBLEM: audit head reported at") && said.contains("cut and written again"),
        "{said}"
    );
}

/// Runs `station officer add` against the rig's station with `admin` and its `password`.
fn cli_add_account(rig: &Rig, admin: &str, password: &str, username: &str) -> (bool, String) {
    let output = std::process::Command::new(workspace_binary("station"))
        .arg("--data-dir")
        .arg(rig.station_dir.path())
        .args(["officer", "add", "--as", admin, username])
        .args(["--name", "Someone", "--role", "administrator"])
        .env("STATION_PASSPHRASE", STATION_PASSPHRASE)
        .env("STATION_ADMIN_PASSWORD", password)
        .env("STATION_NEW_PASSWORD", "a new account password")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("station runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_from_a_shell_need_an_administrator_and_an_edited_account_row_does_not_log_in() {
    let rig = Rig::start().await;
    let station = &rig.station;
    officers::add_officer(
        station.store(),
        "ana",
        "Ana Putri",
        Role::Administrator,
        &Password::new("the administrator's password".into()),
        &SystemClock,
    )
    .expect("the first administrator, as provisioning makes it");

    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(rig.station_dir.path().join("station.db"))
            .expect("metadata")
            .permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "the database holds password hashes: readable by the station's user only"
    );
    let (ok, said) = cli_add_account(&rig, "budi", OFFICER_PASSWORD, "mallory");
    assert!(!ok && said.contains("cannot manage accounts"), "{said}");
    let (ok, said) = cli_add_account(&rig, "ana", "a guessed password", "mallory");
    assert!(!ok && said.contains("not correct"), "{said}");
    assert!(
        station
            .store()
            .find_officer("mallory")
            .expect("read")
            .is_none(),
        "no account was made without an administrator"
    );

    let (ok, said) = cli_add_account(&rig, "ana", "the administrator's password", "rina");
    assert!(ok, "{said}");
    let entries = station.store().audit_entries().expect("audit");
    let added = entries
        .iter()
        .rev()
        .find(|e| e.action == "officer.added")
        .expect("audited");
    assert_eq!(
        (added.actor.as_str(), added.subject.as_str()),
        ("ana", "rina"),
        "the audit entry names the administrator who acted"
    );

    // Someone with the database promotes budi, then gives him ana's password hash.
    let login = |username: &str, password: &str| {
        officers::login(
            station.store(),
            username,
            &Password::new(password.into()),
            &SystemClock,
        )
    };
    station
        .store()
        .execute_raw_for_tests("UPDATE officers SET role = 'administrator' WHERE username = 'budi'")
        .expect("tamper");
    let error = login("budi", OFFICER_PASSWORD).expect_err("an edited role");
    assert!(
        error.to_string().contains("changed outside the station"),
        "{error}"
    );
    station
        .store()
        .execute_raw_for_tests(
            "UPDATE officers SET role = 'officer',
                 password_hash = (SELECT password_hash FROM officers WHERE username = 'ana')
             WHERE username = 'budi'",
        )
        .expect("tamper");
    let error = login("budi", "the administrator's password").expect_err("a swapped hash");
    assert!(
        error.to_string().contains("changed outside the station"),
        "{error}"
    );
    login("ana", "the administrator's password").expect("untouched accounts still log in");

    // Someone at the keyboard locks the only administrator out; whoever can open the station
    // lifts the lock (audited), and cannot do that for an officer.
    for _ in 0..5 {
        let _ = login("ana", "a guessed password");
    }
    assert!(matches!(
        login("ana", "the administrator's password"),
        Err(officers::LoginError::LockedOut { .. })
    ));
    let unlock = |username: &str| {
        std::process::Command::new(workspace_binary("station"))
            .arg("--data-dir")
            .arg(rig.station_dir.path())
            .args(["officer", "unlock", username])
            .env("STATION_PASSPHRASE", STATION_PASSPHRASE)
            .output()
            .expect("station runs")
    };
    assert!(unlock("ana").status.success());
    login("ana", "the administrator's password").expect("the administrator is back");
    officers::add_officer(
        station.store(),
        "tono",
        "Tono",
        Role::Officer,
        &Password::new(OFFICER_PASSWORD.into()),
        &SystemClock,
    )
    .expect("an officer");
    let refused = unlock("tono");
    assert!(
        !refused.status.success(),
        "only administrators are unlocked this way"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an administrator"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_uploads_and_unsigned_requests_is_refused_by_code_with_bounded_disk_while_others_deliver(
) {
    use protocol::api::{Announce, UPLOADS_PATH};
    let rig = Rig::start().await;
    let flooder_dir = temp_dir();
    let flooder = provision_station(flooder_dir.path(), &rig.server.url, &*rig.server.data).await;
    let flooder_id = flooder.config().station_id;
    let key = signing_key_of(flooder_dir.path());
    let from: std::net::IpAddr = "127.0.0.2".parse().expect("address");
    let url = rig.server.url.clone();

    // Before the flood: how long the honest station takes to deliver three packets.
    for n in 0..3 {
        rig.submit(&applicant_name(n), 90 + n as u64);
    }
    let started = std::time::Instant::now();
    assert_eq!(
        one_pass(&rig.station, &url, Arc::new(SystemClock))
            .await
            .problem,
        None
    );
    let quiet = started.elapsed();

    // A registered station announces forty 8 MiB packets and sends a first chunk of each.
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    let mut announced = Vec::new();
    for _ in 0..40 {
        let id = uuid::Uuid::new_v4();
        announced.push(id);
        let announce = Announce {
            packet_id: id,
            sha256: "ab".repeat(32),
            size: 8 * 1024 * 1024,
        };
        let body = serde_json::to_vec(&announce).expect("json");
        let (status, answer) = signed_request_from(
            Some(from),
            &url,
            flooder_id,
            &key,
            ("POST", UPLOADS_PATH),
            body,
        )
        .await;
        let code = answer["code"].as_str().unwrap_or("accepted").to_owned();
        *codes.entry(format!("{status} {code}")).or_default() += 1;
        if status == 200 {
            let path = format!("{UPLOADS_PATH}/{id}?offset=0");
            let chunk = vec![7; 64 * 1024];
            let (status, _) =
                signed_request_from(Some(from), &url, flooder_id, &key, ("PUT", &path), chunk)
                    .await;
            assert_eq!(status, 200);
        }
    }
    assert_eq!(
        codes.get("200 accepted"),
        Some(&16),
        "sixteen uploads in progress at most: {codes:?}"
    );
    assert_eq!(codes.get("429 too_many_uploads"), Some(&24), "{codes:?}");
    let mut held = 0;
    for id in &announced {
        if let Some(upload) = rig.server.data.upload(*id).await.expect("upload") {
            held += upload.received;
            assert_eq!(
                rig.server
                    .data
                    .upload_bytes(*id)
                    .await
                    .expect("bytes")
                    .len() as u64,
                upload.received,
                "the storage holds exactly the bytes it counted"
            );
        }
    }
    assert!(
        held <= 16 * 64 * 1024,
        "the storage holds what was sent of sixteen uploads, no more: {held}"
    );

    // Unsigned requests from the same address, sent while the honest station (another address)
    // delivers three more packets: refused by name, then turned away unread; the honest
    // station is served, and timed.
    for n in 3..6 {
        rig.submit(&applicant_name(n), 90 + n as u64);
    }
    let flood_url = url.clone();
    let flood = tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .local_address(from)
            .build()
            .expect("client");
        let mut unsigned = std::collections::BTreeMap::<u16, usize>::new();
        for _ in 0..400 {
            let response = client
                .post(format!("{flood_url}{UPLOADS_PATH}"))
                .body(vec![0u8; 16 * 1024])
                .send()
                .await
                .expect("answer");
            *unsigned.entry(response.status().as_u16()).or_default() += 1;
        }
        unsigned
    });
    let started = std::time::Instant::now();
    let status = one_pass(&rig.station, &url, Arc::new(SystemClock)).await;
    let flooded = started.elapsed();
    let unsigned = flood.await.expect("the flood ran");
    assert_eq!(status.problem, None, "other stations are still served");
    assert_delivered_exactly_once(&rig.server, &rig.station, 6).await;
    assert_eq!(
        unsigned.get(&401).unwrap_or(&0) + unsigned.get(&429).unwrap_or(&0),
        400,
        "{unsigned:?}"
    );
    assert!(
        unsigned.get(&401).is_some_and(|n| *n >= 1)
            && unsigned.get(&429).is_some_and(|n| *n >= 200),
        "refused by name, then rate limited: {unsigned:?}"
    );
    println!(
        "three packets delivered in {:.0} ms before the flood and {:.0} ms during it ({unsigned:?})",
        quiet.as_secs_f64() * 1000.0,
        flooded.as_secs_f64() * 1000.0
    );

    // A day later the unfinished uploads are gone and the station may announce again.
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(25);
    let (expired, _) = enrollment_server::sweep(&*rig.server.data, later)
        .await
        .expect("sweep");
    assert_eq!(expired, 16);
    for id in &announced {
        assert_eq!(
            rig.server.data.upload(*id).await.expect("upload"),
            None,
            "an expired upload is gone with its bytes"
        );
    }
}

/// The real `enrollment-server` binary serving TLS on a free loopback port; killed on drop.
struct TlsServer {
    child: std::process::Child,
    url: String,
    dir: tempfile::TempDir,
}

impl TlsServer {
    async fn start() -> Self {
        let dir = temp_dir();
        let address = free_loopback_address();
        let mut command = server_command(dir.path()).await;
        command
            .args(["serve", "--listen", &address.to_string()])
            .stderr(std::process::Stdio::null());
        let child = spawn_listening(command);
        Self {
            child,
            url: format!("https://{address}"),
            dir,
        }
    }

    async fn data(&self) -> std::sync::Arc<dyn Storage> {
        enrollment_server::data::testing::open_for_tests(self.dir.path())
            .await
            .expect("the server's storage")
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS server with a certificate of its own on a free loopback port, serving `router`.
async fn impostor(router: Router) -> (String, tempfile::TempDir) {
    let dir = temp_dir();
    let identity = enrollment_server::tls::TlsIdentity::load_or_create(dir.path(), &[])
        .expect("another certificate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        identity
            .serve(listener, router, false, std::future::pending())
            .await;
    });
    (url, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_pins_the_servers_own_tls_certificate_and_trusts_no_other() {
    use station_core::provision::{provision, NewVault, ProvisionError};
    use station_core::station::{Station, StationPaths};
    let server = TlsServer::start().await;
    let secret = passphrase();

    // A relay in the middle that terminates TLS with its own certificate and passes the
    // registration on: the server's signed answer names the real certificate, so the station
    // sees the relay's is not it.
    let upstream = server.url.clone();
    let relay = Router::new().fallback(move |body: axum::body::Bytes| {
        let upstream = upstream.clone();
        async move {
            let answer = forward_registration(&upstream, &body).await;
            let status = StatusCode::from_u16(answer.status().as_u16()).expect("status");
            (status, answer.bytes().await.expect("body"))
        }
    });
    let (relay_url, _relay_dir) = impostor(relay).await;
    let station_dir = temp_dir();
    let paths = StationPaths::new(station_dir.path());
    let token = server
        .data()
        .await
        .issue_token(time::OffsetDateTime::now_utc())
        .await
        .expect("token");
    let error = provision(
        &paths,
        &relay_url,
        token,
        "Desk",
        NewVault::Passphrase(&secret),
    )
    .await
    .expect_err("a relay with another certificate is not the server");
    assert!(
        matches!(error, ProvisionError::TlsCertificate { .. }),
        "{error}"
    );
    assert!(!paths.config().exists(), "nothing saved");

    // Straight to the server: its certificate is pinned, and packets go over TLS.
    let token = server
        .data()
        .await
        .issue_token(time::OffsetDateTime::now_utc())
        .await
        .expect("token");
    let config = provision(
        &paths,
        &server.url,
        token,
        "Desk",
        NewVault::Passphrase(&secret),
    )
    .await
    .expect("provisioning over the server's own TLS");
    let pem = std::fs::read(server.dir.path().join("keys/tls-cert.pem")).expect("certificate");
    let der = pem_leaf(&pem);
    assert_eq!(
        config.server_certificate_sha256.as_deref(),
        Some(station_core::link::certificate_sha256(&der).as_str()),
        "the station pins the certificate the server presents"
    );
    let station = Station::open(paths.clone(), &secret).expect("open");
    add_budi(&station);
    let submitted = submit_as_budi(&station, "Siti Rahayu", 95);
    let status = one_pass(&station, &server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.problem, None, "delivered over pinned TLS");

    // Someone else's TLS server at the address the station uses: refused, nothing lost.
    let next = submit_as_budi(&station, "Dewi Lestari", 96);
    let fake = Router::new().fallback(|| async { (StatusCode::OK, "{}") });
    let (fake_url, _fake_dir) = impostor(fake).await;
    let status = one_pass(&station, &fake_url, Arc::new(SystemClock)).await;
    let problem = status.problem.expect("the station is told");
    assert_eq!(problem.kind, ProblemKind::DnsOrTls, "{}", problem.detail);
    let states: Vec<_> = outbox(&station)
        .into_iter()
        .map(|(id, _, state, _)| (id, state))
        .collect();
    assert!(states.contains(&(submitted.id.to_string(), OutboxState::Accepted)));
    assert!(states.contains(&(next.id.to_string(), OutboxState::Pending)));
}

/// The DER of the first certificate in a PEM file.
fn pem_leaf(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM base64")
}

/// A client from `from` that trusts any certificate and opens a connection per request (so a
/// balancer sees each).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().expect("address"))
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_balancer_sending_proxy_headers_each_office_is_limited_by_its_own_address() {
    let dir = temp_dir();
    let address = free_loopback_address();
    let mut command = server_command(dir.path()).await;
    command
        .args([
            "serve",
            "--listen",
            &address.to_string(),
            "--proxy-protocol",
        ])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null());
    let mut server = spawn_listening(command);
    let balancer =
        system_tests::balancer::Balancer::start_sending_proxy_headers(vec![address]).await;

    // One office spends its registration burst (10) and more.
    let office = client_from("127.0.0.2");
    let started = std::time::Instant::now();
    let mut limited = 0;
    for _ in 0..15 {
        if register_nonsense(&office, &balancer.url)
            .await
            .expect("answered")
            == StatusCode::TOO_MANY_REQUESTS
        {
            limited += 1;
        }
    }
    let refilled = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(
        limited >= 1 && 15 - limited <= 10 + refilled,
        "{limited} of 15 limited; the burst is 10, and {refilled} s refilled as many"
    );
    // Another office behind the same balancer is heard: its address is its own.
    let other = client_from("127.0.0.3");
    let heard = register_nonsense(&other, &balancer.url)
        .await
        .expect("answered");
    assert_eq!(
        heard,
        StatusCode::BAD_REQUEST,
        "heard, and refused for its content"
    );
    // A client going around the balancer is not served.
    let direct = register_nonsense(&other, &format!("https://{address}")).await;
    assert!(direct.is_err(), "{direct:?}");
    let _ = server.kill();
    let _ = server.wait();
}
