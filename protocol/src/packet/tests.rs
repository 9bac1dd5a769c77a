use super::*;
use crate::manifest::{DeviceIdentity, Modality};
use crate::random::SystemRandom;
use time::macros::datetime;

struct Fixture {
    station: StationSigningKey,
    server: ServerDecryptionKey,
    packet: Vec<u8>,
}

const DEMOGRAPHICS: &[u8] = b"{\"full_name\":\"a sealed applicant\"}";

fn parts() -> Vec<Part> {
    vec![
        Part::new(
            "demographics.json",
            "application/json",
            DEMOGRAPHICS.to_vec(),
        ),
        Part::new(
            "face.jpg",
            "image/jpeg",
            vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        ),
    ]
}

fn params() -> SealParams {
    SealParams {
        packet_id: Uuid::new_v4(),
        station_id: Uuid::new_v4(),
        officer_id: "officer".into(),
        created_at: datetime!(2026-11-23 10:00 UTC),
        schema_version: 1,
        captures: vec![CaptureRecord {
            modality: Modality::Face,
            finger: None,
            part: Some("face.jpg".into()),
            width: 2,
            height: 2,
            resolution_ppi: None,
            device: DeviceIdentity {
                backend: "simulated".into(),
                id: "camera-0".into(),
                name: "Simulated camera".into(),
                serial: None,
                firmware: None,
            },
            attempts: 1,
            force_captured: false,
            quality: None,
            exception: None,
            device_payload_part: None,
            chain_hash: None,
        }],
    }
}

fn fixture() -> Fixture {
    let station = StationSigningKey::generate(&SystemRandom).expect("station key");
    let server = ServerDecryptionKey::generate(&SystemRandom).expect("server key");
    let packet = seal(
        params(),
        &parts(),
        &server.public_key(),
        &station,
        &SystemRandom,
    )
    .expect("seal");
    Fixture {
        station,
        server,
        packet,
    }
}

fn manifest_end(packet: &[u8]) -> usize {
    let len = u32::from_be_bytes(packet[5..9].try_into().expect("4 bytes"));
    PREFIX_BYTES + len as usize
}

/// Rebuilds `packet` with `manifest` and both signatures made by `station`.
fn rebuild(packet: &[u8], manifest: &Manifest, station: &StationSigningKey) -> Vec<u8> {
    let old_end = manifest_end(packet);
    let json = serde_json::to_vec(manifest).expect("json");
    let mut forged = Vec::new();
    forged.extend_from_slice(MAGIC);
    forged.push(FORMAT_VERSION);
    forged.extend_from_slice(&u32::try_from(json.len()).expect("len").to_be_bytes());
    forged.extend_from_slice(&json);
    let signature = station.sign(&forged);
    forged.extend_from_slice(&signature);
    forged.extend_from_slice(&packet[old_end + SIGNATURE_BYTES..packet.len() - SIGNATURE_BYTES]);
    let signature = station.sign(&forged);
    forged.extend_from_slice(&signature);
    forged
}

fn open(packet: &[u8], f: &Fixture) -> Result<Vec<Part>, PacketError> {
    SealedPacket::parse(packet)
        .and_then(|p| p.verify(&f.station.public_key()))
        .and_then(|p| p.open(&f.server))
}

#[test]
fn the_server_opens_what_a_station_sealed() {
    let f = fixture();
    let opened = open(&f.packet, &f).expect("a fresh packet opens");
    assert_eq!(opened, parts());
}

#[test]
fn the_content_is_not_readable_in_the_sealed_bytes() {
    let f = fixture();
    let needle = b"sealed applicant";
    assert!(
        !f.packet.windows(needle.len()).any(|w| w == needle),
        "applicant data must never appear in clear text inside a packet"
    );
}

#[test]
fn a_changed_manifest_is_named_as_such() {
    let mut f = fixture();
    // Flip a byte inside the officer id.
    let at = f
        .packet
        .windows(9)
        .position(|w| w == b"\"officer\"")
        .expect("officer id in manifest");
    f.packet[at + 1] = b'O';
    let result = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&f.station.public_key()));
    assert!(
        matches!(result, Err(PacketError::BadSignature)),
        "{result:?}"
    );
}

#[test]
fn a_changed_payload_is_named_as_such() {
    let mut f = fixture();
    let byte = f.packet.len() - SIGNATURE_BYTES - TAG_BYTES - 3;
    f.packet[byte] ^= 0x80;
    let result = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&f.station.public_key()));
    assert!(
        matches!(result, Err(PacketError::PayloadTampered)),
        "{result:?}"
    );
}

#[test]
fn a_changed_payload_does_not_open_even_when_re_signed() {
    // A thief holding the station key can re-sign, but still cannot alter sealed content.
    let mut f = fixture();
    let byte = f.packet.len() - SIGNATURE_BYTES - TAG_BYTES - 3;
    f.packet[byte] ^= 0x80;
    let split = f.packet.len() - SIGNATURE_BYTES;
    let signature = f.station.sign(&f.packet[..split]);
    f.packet[split..].copy_from_slice(&signature);
    assert!(matches!(open(&f.packet, &f), Err(PacketError::CannotOpen)));
}

#[test]
fn a_changed_manifest_does_not_open_even_when_re_signed() {
    let f = fixture();
    let mut manifest = SealedPacket::parse(&f.packet)
        .expect("parse")
        .manifest()
        .clone();
    manifest.created_at = datetime!(2020-01-01 0:00 UTC);
    let forged = rebuild(&f.packet, &manifest, &f.station);
    assert!(matches!(open(&forged, &f), Err(PacketError::CannotOpen)));
}

#[test]
fn a_packet_signed_by_another_station_key_is_named_as_such() {
    let f = fixture();
    let other = StationSigningKey::generate(&SystemRandom).expect("key");
    let result = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&other.public_key()));
    assert!(
        matches!(result, Err(PacketError::WrongStationKey { .. })),
        "{result:?}"
    );
}

#[test]
fn another_server_key_cannot_open() {
    let f = fixture();
    let other = ServerDecryptionKey::generate(&SystemRandom).expect("key");
    let verified = SealedPacket::parse(&f.packet)
        .and_then(|p| p.verify(&f.station.public_key()))
        .expect("verify");
    assert!(matches!(
        verified.open(&other),
        Err(PacketError::WrongRecipient(_))
    ));
}

#[test]
fn every_truncation_is_rejected_without_panicking() {
    let f = fixture();
    for len in 0..f.packet.len() {
        assert!(
            open(&f.packet[..len], &f).is_err(),
            "a packet cut to {len} bytes must not open"
        );
    }
}

#[test]
fn wrong_magic_version_and_sizes_are_named() {
    let f = fixture();
    let mut wrong_magic = f.packet.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        SealedPacket::parse(&wrong_magic),
        Err(PacketError::BadMagic)
    ));
    let mut wrong_version = f.packet.clone();
    wrong_version[4] = 9;
    assert!(matches!(
        SealedPacket::parse(&wrong_version),
        Err(PacketError::UnsupportedVersion(9))
    ));
    let mut huge_manifest = f.packet.clone();
    huge_manifest[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SealedPacket::parse(&huge_manifest),
        Err(PacketError::TooLarge(_))
    ));
    let oversized = vec![0u8; MAX_PACKET_BYTES + 1];
    assert!(matches!(
        SealedPacket::parse(&oversized),
        Err(PacketError::TooLarge(_))
    ));
}

#[test]
fn parts_with_bad_or_repeated_names_are_not_sealed() {
    let station = StationSigningKey::generate(&SystemRandom).expect("key");
    let server = ServerDecryptionKey::generate(&SystemRandom).expect("key");
    for bad in [
        vec![Part::new("Face.JPG", "image/jpeg", vec![1])],
        vec![Part::new("", "image/jpeg", vec![1])],
        vec![
            Part::new("face.jpg", "image/jpeg", vec![1]),
            Part::new("face.jpg", "image/jpeg", vec![2]),
        ],
    ] {
        let result = seal(
            params(),
            &bad,
            &server.public_key(),
            &station,
            &SystemRandom,
        );
        assert!(
            matches!(result, Err(PacketError::InvalidPart(_))),
            "{result:?}"
        );
    }
}

#[test]
fn a_capture_pointing_at_a_missing_part_is_malformed() {
    let f = fixture();
    let mut manifest = SealedPacket::parse(&f.packet)
        .expect("parse")
        .manifest()
        .clone();
    manifest.captures[0].part = Some("finger-01.png".into());
    let forged = rebuild(&f.packet, &manifest, &f.station);
    assert!(matches!(
        SealedPacket::parse(&forged),
        Err(PacketError::MalformedManifest(_))
    ));
}

#[test]
fn part_bytes_never_appear_in_debug_output() {
    let part = Part::new("face.jpg", "image/jpeg", vec![0xAB; 3]);
    assert_eq!(
        format!("{part:?}"),
        "Part(face.jpg, image/jpeg, [3 bytes redacted])"
    );
}
