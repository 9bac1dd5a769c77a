//! A sealed packet can be opened by the server only; the server refuses what a registered
//! station did not sign exactly as sent, naming what is wrong; and a copy of a station's data
//! directory is useless without the station passphrase.

use std::fs;
use std::path::{Path, PathBuf};

use hardware::simulated::SimulatedCamera;
use protocol::api::{ApiError, PacketState, PacketStatus};
use protocol::content::{Demographics, EnrollmentContent};
use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use protocol::packet::{self, Part, SealParams, SealedPacket};
use protocol::random::SystemRandom;
use station_core::clock::SystemClock;
use station_core::drafts::{self, SavedDraft};
use station_core::enrollment::{self, EnrollmentDraft};
use station_core::station::{OpenError, Station, StationPaths};
use station_core::vault::{self, Passphrase, VaultError};
use system_tests::*;

fn every_file(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(every_file(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_station_holds_can_open_a_packet_it_sealed() {
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 3);
    let (server, station) = (&rig.server, &rig.station);
    let sealed = station
        .store()
        .pending_packets(1)
        .expect("outbox")
        .remove(0)
        .packet;
    let verified = || {
        SealedPacket::parse(&sealed)
            .and_then(|p| p.verify(&station.public_key()))
            .expect("valid packet")
    };

    // What only the server can learn: the packet's payload key and the biometrics inside.
    let payload_key = verified()
        .payload_key(server.data.encryption_key())
        .expect("server unwraps");
    let parts = verified()
        .open(server.data.encryption_key())
        .expect("server opens");
    let content =
        EnrollmentContent::from_parts(parts, &verified().manifest().captures).expect("content");
    let face_sample = &content.face.jpeg.as_bytes()[200..264];
    let finger_sample = &content.fingers[0].record.as_bytes()[100..164];

    let files = every_file(rig.station_dir.path());
    assert!(
        files.len() >= 3,
        "config, vault and database at least: {files:?}"
    );
    for file in &files {
        let bytes = fs::read(file).expect("read station file");
        assert!(
            !contains(&bytes, payload_key.as_ref()),
            "{} holds the packet key",
            file.display()
        );
        assert!(
            !contains(&bytes, face_sample),
            "{} holds face image bytes in clear",
            file.display()
        );
        assert!(
            !contains(&bytes, finger_sample),
            "{} holds fingerprint bytes in clear",
            file.display()
        );
        // Every 32-byte run of the small files (vault, configuration) tried as the opening key.
        if bytes.len() <= 4096 {
            for window in bytes.windows(32) {
                let candidate =
                    ServerDecryptionKey::from_bytes(window.try_into().expect("32 bytes"));
                assert!(
                    verified().open(&candidate).is_err(),
                    "{} opens the packet",
                    file.display()
                );
            }
        }
    }
    // Even the unlocked station's own keys do not open it.
    let keys = vault::unlock(
        &StationPaths::new(rig.station_dir.path()).vault(),
        &passphrase(),
    )
    .expect("vault");
    let seed_as_key = ServerDecryptionKey::from_bytes(keys.signing_key.expose_seed());
    assert!(
        verified().open(&seed_as_key).is_err(),
        "the station's own signing key must not open it"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Every way an applicant's text could sit on disk in clear: as typed, upper-cased, and as
/// UTF-16 (which some tools write).
fn clear_text_forms(text: &str) -> Vec<Vec<u8>> {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    vec![
        text.as_bytes().to_vec(),
        text.to_uppercase().into_bytes(),
        utf16(text),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_data_directory_reveals_no_applicant_data_without_the_passphrase() {
    let rig = Rig::start().await;
    let applicants = [
        ("Siti Rahayu", "3273014302870001", "1987-02-03", 11),
        ("Ratna Wijaya", "3578027011750002", "1975-11-30", 12),
        ("Dewi Lestari", "5171015706010003", "2001-06-17", 13),
    ];
    let officer = log_in(&rig.station);
    let mut biometric_samples: Vec<Vec<u8>> = Vec::new();
    for (name, document, born, seed) in applicants {
        let draft = complete_draft(seed);
        let face = draft.face().expect("face").jpeg.as_bytes().to_vec();
        biometric_samples.push(face[300..364].to_vec());
        for finger in draft.fingers() {
            biometric_samples.push(finger.record.as_bytes()[120..184].to_vec());
        }
        let form = Demographics {
            document_number: document.into(),
            date_of_birth: born.into(),
            ..demographics(name)
        };
        enrollment::submit(
            &rig.station,
            &officer,
            &form,
            &draft,
            &SystemClock,
            &protocol::random::SystemRandom,
        )
        .expect("submit");
    }
    // One more applicant is half-way through: the form and a face photo, saved as a draft.
    let mut in_progress = EnrollmentDraft::new();
    in_progress
        .capture_face(&SimulatedCamera::new(14))
        .expect("face");
    let draft_face = in_progress.face().expect("face").jpeg.as_bytes().to_vec();
    biometric_samples.push(draft_face[300..364].to_vec());
    let saved = SavedDraft {
        demographics: Demographics {
            document_number: "5103024909990004".into(),
            date_of_birth: "1999-09-09".into(),
            ..demographics("Putu Ayu Saraswati")
        },
        draft: in_progress,
    };
    drafts::save(&rig.station, "budi", &saved, &SystemClock).expect("draft saved");

    // The thief's copy, taken while the station runs (WAL and all).
    let copy = temp_dir();
    copy_dir(rig.station_dir.path(), copy.path());

    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, document, born, _) in applicants.iter().copied().chain([(
        "Putu Ayu Saraswati",
        "5103024909990004",
        "1999-09-09",
        0,
    )]) {
        for text in [name, document, born] {
            for form in clear_text_forms(text) {
                secrets.push((format!("applicant text {text:?}"), form));
            }
        }
        for word in name.split(' ').filter(|w| w.len() >= 4) {
            secrets.push((format!("name part {word:?}"), word.as_bytes().to_vec()));
        }
    }
    for (n, sample) in biometric_samples.iter().enumerate() {
        secrets.push((format!("biometric sample {n}"), sample.clone()));
    }
    let keys = vault::unlock(&StationPaths::new(copy.path()).vault(), &passphrase())
        .expect("the copy is a real station");
    secrets.push((
        "the signing seed".into(),
        keys.signing_key.expose_seed().to_vec(),
    ));

    let files = every_file(copy.path());
    assert!(files.iter().any(|f| f.ends_with("station.db")));
    for file in &files {
        let bytes = fs::read(file).expect("read");
        for (what, needle) in &secrets {
            assert!(
                !contains(&bytes, needle),
                "{} holds {what} in clear",
                file.display()
            );
        }
    }

    // Without the passphrase the copy does not open; with it, everything is there.
    let wrong = Station::open(
        StationPaths::new(copy.path()),
        &Passphrase::new("a guessed passphrase".into()),
    );
    assert!(
        matches!(wrong, Err(OpenError::Vault(VaultError::WrongPassphrase))),
        "{wrong:?}"
    );
    let unlocked = Station::open(StationPaths::new(copy.path()), &passphrase()).expect("open");
    let names: Vec<String> = enrollment::list(&unlocked)
        .expect("list")
        .into_iter()
        .map(|e| e.applicant.full_name)
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"Ratna Wijaya".to_owned()));
    let resumed = drafts::load(&unlocked, "budi")
        .expect("draft")
        .expect("the draft survives");
    assert_eq!(resumed, saved, "a restart loses nothing of the draft");
}

fn error_code(answer: &serde_json::Value) -> String {
    serde_json::from_value::<ApiError>(answer.clone())
        .expect("an API error body")
        .code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_changed_or_unsigned_packets_and_accepts_the_original_once() {
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 4);
    let (server, station) = (&rig.server, &rig.station);
    let original = station
        .store()
        .pending_packets(1)
        .expect("outbox")
        .remove(0)
        .packet;

    // The manifest edited (the officer id), signatures left as they were.
    let mut edited_manifest = original.clone();
    let at = edited_manifest
        .windows(6)
        .position(|w| w == b"\"budi\"")
        .expect("officer id in the manifest");
    edited_manifest[at + 1] = b'B';
    let (status, answer) = deliver_raw(&rig, edited_manifest).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "bad_signature")
    );

    // One byte of the sealed payload changed.
    let mut edited_payload = original.clone();
    let inside_payload = original.len() - 64 - 16 - 100;
    edited_payload[inside_payload] ^= 0x20;
    let (status, answer) = deliver_raw(&rig, edited_payload).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "payload_tampered")
    );

    // A well-formed packet in this station's name, signed by a key the server never registered.
    let stranger = StationSigningKey::generate(&SystemRandom).expect("key");
    let forged = packet::seal(
        SealParams {
            packet_id: uuid::Uuid::new_v4(),
            station_id: station.config().station_id,
            officer_id: "budi".into(),
            created_at: time::OffsetDateTime::now_utc(),
            schema_version: 1,
            captures: Vec::new(),
        },
        &[Part::new(
            "demographics.json",
            "application/json",
            b"{}".to_vec(),
        )],
        &station.config().server_encryption_key,
        &stranger,
        &SystemRandom,
    )
    .expect("seal");
    let (status, answer) = deliver_raw(&rig, forged).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "wrong_station_key"),
        "a key the server never registered"
    );

    let (status, answer) = deliver_raw(&rig, b"not a packet at all".to_vec()).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (400, "malformed_packet")
    );
    assert!(
        server.data.packets().await.expect("packets").is_empty(),
        "nothing refused is stored"
    );

    let (status, answer) = deliver_raw(&rig, original.clone()).await;
    let first: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!((status, first.state), (200, PacketState::Accepted));
    let receipt = first
        .receipt
        .as_ref()
        .expect("a verdict comes with a receipt")
        .verify(&station.config().server_receipt_key)
        .expect("signed by the server's receipt key");
    assert_eq!(receipt.sha256, protocol::packet::sha256_hex(&original));
    let (status, answer) = deliver_raw(&rig, original.clone()).await;
    let again: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!(
        (status, again.state, again.receipt),
        (200, PacketState::Accepted, first.receipt),
        "a re-sent packet is answered at its announce with the same receipt, not stored twice"
    );
    assert_eq!(server.data.packets().await.expect("packets").len(), 1);

    // The same packet id again, with different content, properly signed by the station.
    let replay = rig.submit("Bambang Wijaya", 5);
    let other = station
        .store()
        .pending_packets(10)
        .expect("outbox")
        .into_iter()
        .find(|p| p.packet_id == replay.id.to_string())
        .expect("second packet")
        .packet;
    let replayed = reissue_with_id(&other, uuid_of(&original), &rig);
    let (status, answer) = deliver_raw(&rig, replayed).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (409, "packet_id_reused")
    );
    assert_eq!(server.data.packets().await.expect("packets").len(), 1);
}

/// Seals a packet like `packet` but under `id`, with the station's real keys: what a station
/// (or a thief with its passphrase) replaying an id would send.
fn reissue_with_id(packet: &[u8], id: uuid::Uuid, rig: &Rig) -> Vec<u8> {
    reseal(packet, rig, id, |part| part)
}

/// `packet` opened, each part passed through `edit`, and sealed again as packet `id` with the
/// station's own key: a packet the station really signed, with whatever content `edit` gives.
fn reseal(packet: &[u8], rig: &Rig, id: uuid::Uuid, edit: impl FnMut(Part) -> Part) -> Vec<u8> {
    let verified = SealedPacket::parse(packet)
        .and_then(|p| p.verify(&rig.station.public_key()))
        .expect("valid");
    let manifest = verified.manifest().clone();
    let parts: Vec<Part> = verified
        .open(rig.server.data.encryption_key())
        .expect("open")
        .into_iter()
        .map(edit)
        .collect();
    let keys = vault::unlock(
        &StationPaths::new(rig.station_dir.path()).vault(),
        &passphrase(),
    )
    .expect("vault");
    packet::seal(
        SealParams {
            packet_id: id,
            station_id: manifest.station_id,
            officer_id: manifest.officer_id,
            created_at: manifest.created_at,
            schema_version: manifest.schema_version,
            captures: manifest.captures,
        },
        &parts,
        &rig.station.config().server_encryption_key,
        &keys.signing_key,
        &SystemRandom,
    )
    .expect("seal")
}

/// The sealed bytes of the station's oldest packet waiting to go.
fn first_pending(rig: &Rig) -> Vec<u8> {
    rig.station
        .store()
        .pending_packets(1)
        .expect("outbox")
        .remove(0)
        .packet
}

fn uuid_of(packet: &[u8]) -> uuid::Uuid {
    SealedPacket::parse(packet)
        .expect("parse")
        .manifest()
        .packet_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fingerprint_record_that_does_not_decode_is_rejected_naming_the_finger() {
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 4);
    let original = first_pending(&rig);
    // The station's own key signs content whose right ring finger record is cut short (as a
    // faulty station build or a damaged disk could make it): signatures hold, the image does not.
    let damaged = reseal(&original, &rig, uuid_of(&original), |part| {
        if part.name == "finger-04.fir" {
            let cut = part.bytes()[..part.bytes().len() * 3 / 5].to_vec();
            Part::new(part.name.clone(), part.media_type.clone(), cut)
        } else {
            part
        }
    });
    let (status, answer) = deliver_raw(&rig, damaged).await;
    let judged: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!((status, judged.state), (200, PacketState::Rejected));
    let receipt = judged
        .receipt
        .expect("a verdict comes with a receipt")
        .verify(&rig.station.config().server_receipt_key)
        .expect("signed");
    let reason = receipt.reason.unwrap_or_default();
    assert!(
        reason.contains("RightRing") && reason.contains("not a valid ISO 19794-4 record"),
        "the reason names the finger and what is wrong: {reason}"
    );
}

/// The stage a packet is in at the server, once it is no longer `images` (or after 20 s).
async fn stage_after_images(
    server: &TestServer,
    packet_id: uuid::Uuid,
) -> enrollment_server::data::PacketStage {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let stage = server
            .data
            .packet_stage(packet_id)
            .await
            .expect("stage")
            .expect("the packet is stored");
        if stage.stage != enrollment_server::stages::IMAGES
            || tokio::time::Instant::now() >= deadline
        {
            return stage;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finger_image_damaged_inside_its_data_is_accepted_at_intake_and_held_by_the_images_stage()
{
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 5);
    let original = first_pending(&rig);
    // The right ring finger's WSQ data is overwritten past its tables and headers: the record
    // and the image header read, the image does not decode.
    let damaged = reseal(&original, &rig, uuid::Uuid::new_v4(), |part| {
        if part.name == "finger-04.fir" {
            let mut bytes = part.bytes().to_vec();
            let (from, to) = (bytes.len() * 3 / 5, bytes.len() - 16);
            bytes[from..to].fill(0xFF);
            Part::new(part.name.clone(), part.media_type.clone(), bytes)
        } else {
            part
        }
    });
    let damaged_id = uuid_of(&damaged);
    let (status, answer) = deliver_raw(&rig, damaged.clone()).await;
    let judged: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!(
        (status, judged.state),
        (200, PacketState::Accepted),
        "intake reads the structure only"
    );
    assert_eq!(
        judged.stage.as_deref(),
        Some(enrollment_server::stages::IMAGES),
        "the status says the packet waits for the images stage"
    );
    let held = stage_after_images(&rig.server, damaged_id).await;
    assert_eq!(held.stage, enrollment_server::stages::HELD);
    let (_, answer) = deliver_raw(&rig, damaged).await;
    let asked_again: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!(
        (asked_again.state, asked_again.stage.as_deref()),
        (PacketState::Accepted, Some(enrollment_server::stages::HELD)),
        "its status, asked again, says it is held (the reason stays at the server)"
    );
    let reason = held.held_reason.unwrap_or_default();
    assert!(
        reason.contains("RightRing") && reason.contains("does not decode"),
        "the reason names the finger: {reason}"
    );

    // The station's own packet goes through every stage.
    let (status, _) = deliver_raw(&rig, original.clone()).await;
    assert_eq!(status, 200);
    let done = stage_after_images(&rig.server, uuid_of(&original)).await;
    assert_eq!(
        (done.stage.as_str(), done.held_reason),
        (enrollment_server::stages::DONE, None)
    );
    let (_, answer) = deliver_raw(&rig, original.clone()).await;
    let asked_again: PacketStatus = serde_json::from_value(answer).expect("status");
    assert_eq!(
        asked_again.stage.as_deref(),
        Some(enrollment_server::stages::DONE)
    );
    let metrics = metrics_of(&rig.server).await;
    assert!(
        metrics.contains("enrollment_stage_jobs{stage=\"images\"} 0\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_of_a_form_version_the_server_lacks_waits_without_a_verdict() {
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 5);
    let original = first_pending(&rig);
    // As from a station whose forms were updated before its server's (or a replica whose
    // forms/ lags the others').
    let newer = reseal(&original, &rig, uuid::Uuid::new_v4(), |part| {
        if part.name == protocol::content::DEMOGRAPHICS_PART {
            let mut fields: serde_json::Value =
                serde_json::from_slice(part.bytes()).expect("demographics");
            fields["form_version"] = "2099-01".into();
            let bytes = serde_json::to_vec(&fields).expect("json");
            Part::new(part.name.clone(), part.media_type.clone(), bytes)
        } else {
            part
        }
    });
    let newer_id = uuid_of(&newer);
    let (status, answer) = deliver_raw(&rig, newer).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("form_not_known")),
        "{answer}"
    );
    assert!(
        answer["receipt"].is_null(),
        "no verdict is signed: the station keeps the packet and sends it again"
    );
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("2099-01")));
    assert!(
        rig.server
            .data
            .packet(newer_id)
            .await
            .expect("lookup")
            .is_none(),
        "nothing recorded"
    );
    let held = rig.server.data.upload(newer_id).await.expect("lookup");
    assert!(
        held.is_some_and(|upload| upload.received == upload.size),
        "its bytes wait at the server for the next finalize"
    );
    let failure = station_core::sync::client::classify(
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        serde_json::from_value(answer).expect("an API error"),
    );
    assert!(
        !matches!(failure, station_core::sync::machine::Failure::Refused(_)),
        "the station does not take it as a verdict: {failure:?}"
    );
}
