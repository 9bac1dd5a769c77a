//! Packet format v1 test vectors: `tests/vectors/packet-v1.json`, and the approval vectors of
//! `tests/vectors/approval-v1.json` over the same packet.
//!
//! The file holds the inputs of one sealing (keys, the random stream, the manifest fields and
//! the payload parts), the exact packet they produce, and packets that every reader must refuse
//! with a named error. This test checks the station side (sealing the inputs gives the packet
//! byte for byte) and the reader (each packet opens or fails as recorded); the server runs the
//! same file through its intake (`server/tests/vectors.rs`).
//!
//! Regenerate after a deliberate format change (and bump the format version):
//! `REGENERATE_PACKET_VECTORS=1 cargo test -p station-protocol --test vectors sealing`.

use std::path::PathBuf;
use std::sync::Mutex;

use base64::Engine;
use formats::FingerPosition;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use station_protocol::approval::{Approval, SignedApproval};
use station_protocol::content::{
    BiometricBytes, Demographics, EnrollmentContent, FaceImage, FingerImage,
    CONTENT_SCHEMA_VERSION, FACE_PART,
};
use station_protocol::keys::{ServerDecryptionKey, StationSigningKey};
use station_protocol::manifest::{CaptureRecord, DeviceIdentity, Modality};
use station_protocol::packet::{self, Part, SealParams, SealedPacket};
use station_protocol::random::{RandomError, RandomSource};
use time::macros::datetime;
use uuid::Uuid;

/// SHA-256(seed ‖ u64 BE block counter), block after block: the random stream of the vectors.
struct CounterRandom {
    seed: Vec<u8>,
    block: Mutex<u64>,
}

impl CounterRandom {
    fn new(seed: &str) -> Self {
        Self {
            seed: seed.as_bytes().to_vec(),
            block: Mutex::new(0),
        }
    }
}

impl RandomSource for CounterRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        let mut block = self.block.lock().map_err(|_| RandomError)?;
        for chunk in buf.chunks_mut(32) {
            let mut input = self.seed.clone();
            input.extend_from_slice(&block.to_be_bytes());
            let digest = ring::digest::digest(&ring::digest::SHA256, &input);
            chunk.copy_from_slice(&digest.as_ref()[..chunk.len()]);
            *block += 1;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct VectorFile {
    description: String,
    keys: Keys,
    random_seed: String,
    seal: SealInputs,
    parts: Vec<PartVector>,
    packet: String,
    packet_sha256: String,
    manifest: Value,
    invalid: Vec<InvalidVector>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Keys {
    station_signing_seed: String,
    station_public_key: String,
    server_secret_key: String,
    server_public_key: String,
    other_station_signing_seed: String,
    other_server_secret_key: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct SealInputs {
    packet_id: Uuid,
    station_id: Uuid,
    officer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    schema_version: u32,
    captures: Vec<CaptureRecord>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct PartVector {
    name: String,
    media_type: String,
    bytes: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct InvalidVector {
    name: String,
    packet: String,
    error: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("vector base64")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("vector hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/packet-v1.json")
}

fn seal_inputs(file: &VectorFile) -> Vec<u8> {
    let station =
        StationSigningKey::from_seed(&unhex32(&file.keys.station_signing_seed)).expect("seed");
    let server = ServerDecryptionKey::from_bytes(&unhex32(&file.keys.server_secret_key));
    let parts: Vec<Part> = file
        .parts
        .iter()
        .map(|p| Part::new(p.name.clone(), p.media_type.clone(), unb64(&p.bytes)))
        .collect();
    packet::seal(
        params(&file.seal),
        &parts,
        &server.public_key(),
        &station,
        &CounterRandom::new(&file.random_seed),
    )
    .expect("seal")
}

fn params(inputs: &SealInputs) -> SealParams {
    SealParams {
        packet_id: inputs.packet_id,
        station_id: inputs.station_id,
        officer_id: inputs.officer_id.clone(),
        created_at: inputs.created_at,
        schema_version: inputs.schema_version,
        captures: inputs.captures.clone(),
    }
}

fn open_code(file: &VectorFile, bytes: &[u8]) -> Result<Vec<Part>, &'static str> {
    let station =
        StationSigningKey::from_seed(&unhex32(&file.keys.station_signing_seed)).expect("seed");
    let server = ServerDecryptionKey::from_bytes(&unhex32(&file.keys.server_secret_key));
    SealedPacket::parse(bytes)
        .and_then(|p| p.verify(&station.public_key()))
        .and_then(|p| p.open(&server))
        .map_err(|e| e.code())
}

#[test]
fn sealing_the_vector_inputs_gives_the_recorded_packet_byte_for_byte() {
    if std::env::var_os("REGENERATE_PACKET_VECTORS").is_some() {
        let file = generate();
        let text = serde_json::to_string_pretty(&file).expect("json") + "\n";
        std::fs::write(path(), text).expect("write vectors");
    }
    let file: VectorFile =
        serde_json::from_slice(&std::fs::read(path()).expect("vectors are checked in"))
            .expect("vector file");
    let packet = seal_inputs(&file);
    assert_eq!(
        b64(&packet),
        file.packet,
        "sealing no longer gives the recorded bytes"
    );
    assert_eq!(packet::sha256_hex(&packet), file.packet_sha256);
}

#[test]
fn the_recorded_packet_opens_to_the_recorded_manifest_and_parts() {
    let file: VectorFile =
        serde_json::from_slice(&std::fs::read(path()).expect("vectors")).expect("vector file");
    let packet = unb64(&file.packet);
    let manifest = SealedPacket::parse(&packet)
        .expect("parse")
        .manifest()
        .clone();
    assert_eq!(
        serde_json::to_value(&manifest).expect("json"),
        file.manifest
    );
    let parts = open_code(&file, &packet).expect("the valid vector opens");
    let names: Vec<_> = parts.iter().map(|p| p.name.clone()).collect();
    let expected: Vec<_> = file.parts.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, expected);
    for (part, vector) in parts.iter().zip(&file.parts) {
        assert_eq!(b64(part.bytes()), vector.bytes, "part {}", part.name);
        assert_eq!(part.media_type, vector.media_type);
    }
}

#[test]
fn every_invalid_vector_is_refused_with_its_recorded_error() {
    let file: VectorFile =
        serde_json::from_slice(&std::fs::read(path()).expect("vectors")).expect("vector file");
    assert!(file.invalid.len() >= 10);
    for vector in &file.invalid {
        let result = open_code(&file, &unb64(&vector.packet));
        assert_eq!(
            result.err(),
            Some(vector.error.as_str()),
            "vector {:?}",
            vector.name
        );
    }
}

/// Builds the vector file from scratch: small but real images, so the server's content checks
/// accept the valid packet too.
fn generate() -> VectorFile {
    let station_seed = [0x11u8; 32];
    let server_secret = [0x22u8; 32];
    let other_station_seed = [0x33u8; 32];
    let other_server_secret = [0x44u8; 32];
    let station = StationSigningKey::from_seed(&station_seed).expect("seed");
    let server = ServerDecryptionKey::from_bytes(&server_secret);

    let face_jpeg = {
        let image = image::RgbImage::from_fn(24, 32, |x, y| {
            image::Rgb([(x * 10) as u8, (y * 7) as u8, 128])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
            .encode_image(&image)
            .expect("jpeg");
        bytes
    };
    // Ridge-like stripes, 96×96 (WSQ needs 81 pixels each way), in an ISO 19794-4 record.
    let finger_record = |code: u8| {
        use formats::records::finger::{Compression, FingerRecord, FingerView};
        let pixels = (0..96u32 * 96)
            .map(|i| {
                let (x, y) = (i % 96, i / 96);
                if (x + y + u32::from(code)) % 9 < 4 {
                    60
                } else {
                    200
                }
            })
            .collect();
        FingerRecord {
            captured_at: formats::records::CaptureTime {
                year: 2026,
                month: 11,
                day: 23,
                hour: 9,
                minute: 0,
                second: 0,
                millisecond: 0,
            },
            device: Default::default(),
            views: vec![FingerView {
                position: code,
                quality: Vec::new(),
                impression: 0,
                image: formats::image::FingerprintImage::new(96, 96, 500, pixels).expect("96×96"),
                compression: Compression::Wsq,
            }],
        }
        .to_bytes()
        .expect("record")
    };
    let content = EnrollmentContent {
        demographics: Demographics {
            form: "wni-passport".into(),
            form_version: "2026.11".into(),
            full_name: "Siti Rahayu".into(),
            date_of_birth: "1990-04-12".into(),
            sex: "F".into(),
            nationality: "IDN".into(),
            document_number: "3174055204900003".into(),
            fields: [
                ("place_of_birth", "Jakarta"),
                ("passport_type", "ordinary"),
                ("address", "Jl. Merdeka 1, Jakarta"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        },
        face: FaceImage {
            width: 24,
            height: 32,
            jpeg: BiometricBytes::new(face_jpeg),
        },
        fingers: FingerPosition::ALL
            .iter()
            .map(|&position| FingerImage {
                position,
                width: 96,
                height: 96,
                resolution_ppi: 500,
                record: BiometricBytes::new(finger_record(position.iso_code())),
            })
            .collect(),
        exception_photo: None,
        audit: Vec::new(),
    };
    let parts = content.to_parts().expect("parts");
    let device = |id: &str, name: &str| DeviceIdentity {
        backend: "simulated".into(),
        id: id.into(),
        name: name.into(),
        serial: None,
        firmware: None,
    };
    let mut captures = vec![CaptureRecord {
        modality: Modality::Face,
        finger: None,
        part: Some(FACE_PART.into()),
        width: 24,
        height: 32,
        resolution_ppi: None,
        device: device("camera-0", "Simulated camera"),
        attempts: 1,
        force_captured: false,
        quality: None,
        exception: None,
        device_payload_part: None,
        chain_hash: None,
    }];
    for position in FingerPosition::ALL {
        captures.push(CaptureRecord {
            modality: Modality::Finger,
            finger: Some(position),
            part: Some(station_protocol::content::finger_part(position)),
            width: 96,
            height: 96,
            resolution_ppi: Some(500),
            device: device("scanner-0", "Simulated fingerprint scanner"),
            attempts: if position == FingerPosition::LeftLittle {
                2
            } else {
                1
            },
            force_captured: false,
            quality: None,
            exception: None,
            device_payload_part: None,
            chain_hash: None,
        });
    }
    let seal = SealInputs {
        packet_id: Uuid::from_u128(0x0194_1a2b_3c4d_7e5f_8a9b_0c1d_2e3f_4a5b),
        station_id: Uuid::from_u128(0x0194_0000_0000_7000_8000_0000_0000_0001),
        officer_id: "officer".into(),
        created_at: datetime!(2026-11-23 09:30 UTC),
        schema_version: CONTENT_SCHEMA_VERSION,
        captures,
    };
    let random_seed = "enrollment-station packet-v1 test vector".to_owned();
    let mut file = VectorFile {
        description: "Packet format v1 (docs/packet-format.md). Keys are fixed test keys; the \
                      random stream is SHA-256(random_seed || u64 BE block counter), 32 bytes \
                      per block, consumed in the order: ephemeral secret, payload key, payload \
                      nonce."
            .into(),
        keys: Keys {
            station_signing_seed: hex(&station_seed),
            station_public_key: station.public_key().to_base64(),
            server_secret_key: hex(&server_secret),
            server_public_key: server.public_key().to_base64(),
            other_station_signing_seed: hex(&other_station_seed),
            other_server_secret_key: hex(&other_server_secret),
        },
        random_seed,
        seal,
        parts: parts
            .iter()
            .map(|p| PartVector {
                name: p.name.clone(),
                media_type: p.media_type.clone(),
                bytes: b64(p.bytes()),
            })
            .collect(),
        packet: String::new(),
        packet_sha256: String::new(),
        manifest: Value::Null,
        invalid: Vec::new(),
    };
    let packet = seal_inputs(&file);
    file.packet = b64(&packet);
    file.packet_sha256 = packet::sha256_hex(&packet);
    let parsed = SealedPacket::parse(&packet).expect("parse");
    file.manifest = serde_json::to_value(parsed.manifest()).expect("json");
    file.invalid = invalid_vectors(&file, &packet, &parts);
    file
}

fn invalid_vectors(file: &VectorFile, packet: &[u8], parts: &[Part]) -> Vec<InvalidVector> {
    let station =
        StationSigningKey::from_seed(&unhex32(&file.keys.station_signing_seed)).expect("seed");
    let manifest_len = u32::from_be_bytes(packet[5..9].try_into().expect("4 bytes")) as usize;
    let manifest_end = 9 + manifest_len;
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>, error: &str| {
        out.push(InvalidVector {
            name: name.into(),
            packet: b64(&bytes),
            error: error.into(),
        });
    };
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = packet.to_vec();
        f(&mut bytes);
        bytes
    };
    add("empty input", Vec::new(), "truncated");
    add(
        "cut in the middle of the manifest",
        packet[..9 + manifest_len / 2].to_vec(),
        "truncated",
    );
    // Cut inside the ciphertext, the packet still parses (its end is taken for the packet
    // signature), but the signature no longer covers what is there: an altered payload.
    add(
        "cut in the middle of the payload",
        packet[..(manifest_end + 64 + packet.len()) / 2].to_vec(),
        "payload_tampered",
    );
    add("wrong magic", edit(&|b| b[0] = b'X'), "bad_magic");
    add(
        "format version 2",
        edit(&|b| b[4] = 2),
        "unsupported_version",
    );
    add(
        "manifest length beyond the 256 KiB limit",
        edit(&|b| b[5..9].copy_from_slice(&0x0010_0000u32.to_be_bytes())),
        "too_large",
    );
    add(
        "manifest is not JSON",
        edit(&|b| b[9] = b'!'),
        "malformed_manifest",
    );
    // The officer id edited from "officer" to "Officer" without re-signing.
    let officer = packet[..manifest_end]
        .windows(9)
        .position(|w| w == b"\"officer\"")
        .expect("officer id");
    add(
        "manifest edited (officer id), signatures left as they were",
        edit(&|b| b[officer + 1] = b'O'),
        "bad_signature",
    );
    add(
        "one ciphertext byte flipped",
        edit(&|b| b[manifest_end + 64 + 10] ^= 0x01),
        "payload_tampered",
    );
    add(
        "the packet signature replaced by zeros",
        edit(&|b| {
            let n = b.len();
            b[n - 64..].fill(0);
        }),
        "payload_tampered",
    );
    add(
        "manifest and payload swapped parts re-signed by the station key: the payload no longer authenticates",
        {
            let mut bytes = edit(&|b| b[manifest_end + 64 + 10] ^= 0x01);
            let n = bytes.len();
            let signature = station.sign(&bytes[..n - 64]);
            bytes[n - 64..].copy_from_slice(&signature);
            bytes
        },
        "cannot_open",
    );
    let reseal = |station_seed: &str, server_secret: &str| {
        let signer = StationSigningKey::from_seed(&unhex32(station_seed)).expect("seed");
        let server = ServerDecryptionKey::from_bytes(&unhex32(server_secret));
        packet::seal(
            params(&file.seal),
            parts,
            &server.public_key(),
            &signer,
            &CounterRandom::new(&file.random_seed),
        )
        .expect("seal")
    };
    add(
        "signed by another station's key",
        reseal(
            &file.keys.other_station_signing_seed,
            &file.keys.server_secret_key,
        ),
        "wrong_station_key",
    );
    add(
        "sealed for another server key",
        reseal(
            &file.keys.station_signing_seed,
            &file.keys.other_server_secret_key,
        ),
        "wrong_recipient",
    );
    out
}

/// Approval format v1 vectors (`tests/vectors/approval-v1.json`): a supervisor's approval of the
/// packet above, signed by its station, and approvals the server must refuse, each with its
/// code. Regenerate after a deliberate change:
/// `REGENERATE_APPROVAL_VECTORS=1 cargo test -p station-protocol --test vectors approval`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct ApprovalVectors {
    description: String,
    approval: Approval,
    signed: SignedApproval,
    invalid: Vec<InvalidApproval>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct InvalidApproval {
    name: String,
    signed: SignedApproval,
    code: String,
}

fn approval_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/approval-v1.json")
}

fn generate_approvals(file: &VectorFile) -> ApprovalVectors {
    let station =
        StationSigningKey::from_seed(&unhex32(&file.keys.station_signing_seed)).expect("seed");
    let other = StationSigningKey::from_seed(&unhex32(&file.keys.other_station_signing_seed))
        .expect("seed");
    let approval = Approval {
        packet_id: file.seal.packet_id,
        packet_sha256: file.packet_sha256.clone(),
        capturing_officer: file.seal.officer_id.clone(),
        supervisor: "sari".into(),
        decided_at: "2026-12-03T08:00:00Z".into(),
        comment_sha256: packet::sha256_hex(b"checked the photo of the hand"),
    };
    let signed = SignedApproval::sign(&approval, &station);
    let mut altered = signed.clone();
    altered.body = altered.body.replace("\"sari\"", "\"tari\"");
    let invalid = vec![
        InvalidApproval {
            name: "signed by another station's key".into(),
            signed: SignedApproval::sign(&approval, &other),
            code: "approval_invalid".into(),
        },
        InvalidApproval {
            name: "altered after signing (another supervisor)".into(),
            signed: altered,
            code: "approval_invalid".into(),
        },
        InvalidApproval {
            name: "for other bytes of the same packet id".into(),
            signed: SignedApproval::sign(
                &Approval {
                    packet_sha256: "00".repeat(32),
                    ..approval.clone()
                },
                &station,
            ),
            code: "approval_invalid".into(),
        },
        InvalidApproval {
            name: "given by the officer who captured it".into(),
            signed: SignedApproval::sign(
                &Approval {
                    supervisor: file.seal.officer_id.clone(),
                    ..approval.clone()
                },
                &station,
            ),
            code: "approval_self".into(),
        },
    ];
    ApprovalVectors {
        description: "A supervisor's approval of the packet in packet-v1.json, signed by its station (format in docs/packet-format.md), and approvals a server must refuse with the code given.".into(),
        approval,
        signed,
        invalid,
    }
}

#[test]
fn the_approval_vectors_verify_and_fail_as_recorded() {
    let file: VectorFile =
        serde_json::from_slice(&std::fs::read(path()).expect("vectors are checked in"))
            .expect("vector file");
    if std::env::var_os("REGENERATE_APPROVAL_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&generate_approvals(&file)).expect("json") + "\n";
        std::fs::write(approval_path(), text).expect("write vectors");
    }
    let vectors: ApprovalVectors =
        serde_json::from_slice(&std::fs::read(approval_path()).expect("vectors are checked in"))
            .expect("approval vector file");
    assert_eq!(
        vectors,
        generate_approvals(&file),
        "signing the recorded approval no longer gives the recorded vectors"
    );
    let station =
        StationSigningKey::from_seed(&unhex32(&file.keys.station_signing_seed)).expect("seed");
    let packet = unb64(&file.packet);
    let sealed = SealedPacket::parse(&packet).expect("the vector packet");
    assert_eq!(
        vectors.signed.verify(
            &station.public_key(),
            sealed.manifest(),
            &file.packet_sha256
        ),
        Ok(vectors.approval.clone())
    );
    for invalid in &vectors.invalid {
        let error = invalid
            .signed
            .verify(
                &station.public_key(),
                sealed.manifest(),
                &file.packet_sha256,
            )
            .expect_err(&invalid.name);
        assert_eq!(error.code(), invalid.code, "{}", invalid.name);
    }
}
