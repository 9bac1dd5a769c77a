//! A sealed packet can be opened by the server only, and the server refuses what a registered
//! station did not sign exactly as sent.

use std::fs;
use std::path::{Path, PathBuf};

use protocol::api::{ApiError, PacketVerdict, UploadReceipt, PACKETS_PATH};
use protocol::content::EnrollmentContent;
use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use protocol::packet::{self, SealParams, SealedPacket};
use protocol::random::SystemRandom;
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
    let station_key = station_signing_key(rig.station_dir.path());
    let verified = || {
        SealedPacket::parse(&sealed)
            .and_then(|p| p.verify(&station_key.public_key()))
            .expect("valid packet")
    };

    // What only the server can learn: the packet's content key and the biometrics inside.
    let content_key = verified()
        .content_key(server.data.encryption_key())
        .expect("server unwraps");
    let plaintext = verified()
        .open(server.data.encryption_key())
        .expect("server opens");
    let content: EnrollmentContent = serde_json::from_slice(&plaintext).expect("content");
    let face_sample = &content.face.jpeg.as_bytes()[200..264];
    let finger_sample = &content.fingers[0].png.as_bytes()[100..164];

    let files = every_file(rig.station_dir.path());
    assert!(
        files.len() >= 3,
        "config, key and database at least: {files:?}"
    );
    for file in &files {
        let bytes = fs::read(file).expect("read station file");
        assert!(
            !contains(&bytes, content_key.as_ref()),
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
        // Every 32-byte run of the small files (keys, configuration) tried as the opening key.
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
    let seed_as_key = ServerDecryptionKey::from_bytes(station_key.expose_seed());
    assert!(
        verified().open(&seed_as_key).is_err(),
        "the station's own signing key must not open it"
    );
}

fn station_signing_key(dir: &Path) -> StationSigningKey {
    let seed = fs::read(dir.join("keys").join("station-signing.key")).expect("key file");
    StationSigningKey::from_seed(&seed).expect("seed")
}

async fn post(url: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}{PACKETS_PATH}"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
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

    let mut bad_signature = original.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    let (status, answer) = post(&server.url, bad_signature).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "bad_signature")
    );

    let mut bad_ciphertext = original.clone();
    let inside_body = original.len() - 64 - 16 - 100;
    bad_ciphertext[inside_body] ^= 0x20;
    let (status, answer) = post(&server.url, bad_ciphertext).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "bad_signature")
    );

    let stranger = StationSigningKey::generate(&SystemRandom).expect("key");
    let forged = packet::seal(
        SealParams {
            packet_id: uuid_of(&original),
            station_id: station.config().station_id,
            created_at: time::OffsetDateTime::now_utc(),
        },
        b"{}",
        &station.config().server_encryption_key,
        &stranger,
        &SystemRandom,
    )
    .expect("seal");
    let (status, answer) = post(&server.url, forged).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (403, "bad_signature"),
        "a key the server never registered"
    );

    let (status, answer) = post(&server.url, b"not a packet at all".to_vec()).await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (400, "malformed_packet")
    );
    assert!(
        server.data.packets().expect("packets").is_empty(),
        "nothing refused is stored"
    );

    let (status, answer) = post(&server.url, original.clone()).await;
    let receipt: UploadReceipt = serde_json::from_value(answer).expect("receipt");
    assert_eq!(
        (status, receipt.verdict, receipt.duplicate),
        (200, PacketVerdict::Accepted, false)
    );
    let (status, answer) = post(&server.url, original).await;
    let receipt: UploadReceipt = serde_json::from_value(answer).expect("receipt");
    assert_eq!(
        (status, receipt.duplicate),
        (200, true),
        "a re-sent packet is acknowledged, not stored twice"
    );
    assert_eq!(server.data.packets().expect("packets").len(), 1);
}

fn uuid_of(packet: &[u8]) -> uuid::Uuid {
    SealedPacket::parse(packet)
        .expect("parse")
        .header()
        .packet_id
}
