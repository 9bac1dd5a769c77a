//! The server runs the packet format's test vectors (`protocol/tests/vectors/packet-v1.json`)
//! through its real intake: the valid packet is accepted, once; each invalid one is refused
//! with the error its recorded code names, and none is accepted.

use std::path::PathBuf;

use base64::Engine;
use std::sync::Arc;

use enrollment_server::data::testing::open_for_tests;
use enrollment_server::data::Storage;
use enrollment_server::intake::{self, IntakeError};
use protocol::keys::{decode_key_bytes, StationPublicKey};
use serde_json::Value;
use time::macros::datetime;
use uuid::Uuid;

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/vectors/packet-v1.json");
    serde_json::from_slice(&std::fs::read(path).expect("vectors are checked in")).expect("json")
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("vector field {pointer}"))
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

async fn server_for(vectors: &Value) -> (tempfile::TempDir, Arc<dyn Storage>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let hex = text(vectors, "/keys/server_secret_key");
    let secret: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    std::fs::create_dir_all(dir.path().join("keys")).expect("keys dir");
    std::fs::write(dir.path().join("keys/encryption.key"), secret).expect("key file");
    let data = open_for_tests(dir.path()).await.expect("server data");
    let station_id: Uuid = text(vectors, "/seal/station_id").parse().expect("uuid");
    let key = StationPublicKey(
        decode_key_bytes(text(vectors, "/keys/station_public_key")).expect("station key"),
    );
    data.insert_station_for_tests(station_id, &key, datetime!(2026-11-23 09:00 UTC))
        .await
        .expect("station");
    (dir, data)
}

/// The packet reader's code for each intake refusal.
fn code(error: &IntakeError) -> &'static str {
    match error {
        IntakeError::Malformed(inner) => inner.code(),
        IntakeError::WrongStationKey(_) => "wrong_station_key",
        IntakeError::BadSignature => "bad_signature",
        IntakeError::PayloadTampered => "payload_tampered",
        IntakeError::WrongRecipient(_) => "wrong_recipient",
        other => panic!("unexpected refusal {other}"),
    }
}

#[tokio::test]
async fn the_server_accepts_the_valid_vector_once_and_says_it_already_has_it_after() {
    let vectors = vectors();
    let (_dir, data) = server_for(&vectors).await;
    let packet = unb64(text(&vectors, "/packet"));
    let now = datetime!(2026-11-23 10:00 UTC);
    let first = intake::receive(&*data, packet.clone(), None, now)
        .await
        .expect("accepted");
    assert_eq!(
        first.record.verdict, "accepted",
        "{:?}",
        first.record.reason
    );
    assert!(!first.duplicate);
    let second = intake::receive(&*data, packet.clone(), None, now)
        .await
        .expect("answered");
    assert!(
        second.duplicate,
        "the same packet again is 'already have it'"
    );
    assert_eq!(data.packets().await.expect("packets").len(), 1);
}

#[tokio::test]
async fn the_server_refuses_every_invalid_vector_with_its_recorded_error() {
    let vectors = vectors();
    let now = datetime!(2026-11-23 10:00 UTC);
    let invalid = vectors["invalid"].as_array().expect("invalid vectors");
    for vector in invalid {
        // A fresh server each time: they share the valid packet's id.
        let (_dir, data) = server_for(&vectors).await;
        let expected = text(vector, "/error");
        let packet = unb64(text(vector, "/packet"));
        match intake::receive(&*data, packet.clone(), None, now).await {
            Err(error) => assert_eq!(code(&error), expected, "{}", text(vector, "/name")),
            // A packet that verifies but cannot be opened is kept as rejected: the station
            // signed it, so the server keeps it as evidence and says why.
            Ok(judged) => {
                assert_eq!(expected, "cannot_open", "{}", text(vector, "/name"));
                assert_eq!(judged.record.verdict, "rejected");
            }
        }
        assert!(
            data.packets()
                .await
                .expect("packets")
                .iter()
                .all(|p| p.verdict == "rejected"),
            "{} must not be accepted",
            text(vector, "/name")
        );
    }
}

#[tokio::test]
async fn a_replayed_packet_id_with_different_content_is_refused_as_such() {
    let vectors = vectors();
    let (_dir, data) = server_for(&vectors).await;
    let now = datetime!(2026-11-23 10:00 UTC);
    intake::receive(&*data, unb64(text(&vectors, "/packet")), None, now)
        .await
        .expect("accepted");
    // The vector re-signed by the station key after a ciphertext change has the same id.
    let other = vectors["invalid"]
        .as_array()
        .expect("invalid vectors")
        .iter()
        .find(|v| text(v, "/error") == "cannot_open")
        .expect("a re-signed vector");
    let result = intake::receive(&*data, unb64(text(other, "/packet")), None, now).await;
    assert!(
        matches!(result, Err(IntakeError::IdReused(_))),
        "{result:?}"
    );
}
