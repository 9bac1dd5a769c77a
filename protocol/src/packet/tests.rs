use super::*;
use crate::random::SystemRandom;
use time::macros::datetime;

struct Fixture {
    station: StationSigningKey,
    server: ServerDecryptionKey,
    packet: Vec<u8>,
}

const CONTENT: &[u8] = b"{\"demographics\":\"a sealed applicant\"}";

fn fixture() -> Fixture {
    let station = StationSigningKey::generate(&SystemRandom).expect("station key");
    let server = ServerDecryptionKey::generate(&SystemRandom).expect("server key");
    let params = SealParams {
        packet_id: Uuid::new_v4(),
        station_id: Uuid::new_v4(),
        created_at: datetime!(2026-11-23 10:00 UTC),
    };
    let packet = seal(
        params,
        CONTENT,
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

fn resign(packet: &mut [u8], station: &StationSigningKey) {
    let split = packet.len() - SIGNATURE_BYTES;
    let signature = station.sign(&packet[..split]);
    packet[split..].copy_from_slice(&signature);
}

#[test]
fn the_server_opens_what_a_station_sealed() {
    let f = fixture();
    let opened = SealedPacket::parse(&f.packet)
        .and_then(|p| p.verify(&f.station.public_key()))
        .and_then(|p| p.open(&f.server))
        .expect("a fresh packet opens");
    assert_eq!(opened.as_slice(), CONTENT);
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
fn a_changed_signature_is_rejected() {
    let mut f = fixture();
    let last = f.packet.len() - 1;
    f.packet[last] ^= 0x01;
    let result = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&f.station.public_key()));
    assert!(
        matches!(result, Err(PacketError::BadSignature)),
        "{result:?}"
    );
}

#[test]
fn a_changed_ciphertext_is_rejected_even_when_re_signed() {
    let mut f = fixture();
    let body_byte = f.packet.len() - SIGNATURE_BYTES - TAG_BYTES - 3;
    f.packet[body_byte] ^= 0x80;
    let unsigned = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&f.station.public_key()));
    assert!(
        matches!(unsigned, Err(PacketError::BadSignature)),
        "{unsigned:?}"
    );

    // A thief holding the station key can re-sign, but still cannot alter sealed content.
    resign(&mut f.packet, &f.station);
    let opened = SealedPacket::parse(&f.packet)
        .and_then(|p| p.verify(&f.station.public_key()))
        .and_then(|p| p.open(&f.server));
    assert!(matches!(opened, Err(PacketError::CannotOpen)), "{opened:?}");
}

#[test]
fn a_changed_header_is_rejected_even_when_re_signed() {
    let f = fixture();
    let parsed = SealedPacket::parse(&f.packet).expect("parse");
    let mut header = parsed.header().clone();
    header.created_at = datetime!(2020-01-01 0:00 UTC);
    let header_json = serde_json::to_vec(&header).expect("json");
    let old_header_end = parsed.header_end;
    let mut forged = Vec::new();
    forged.extend_from_slice(MAGIC);
    forged.push(FORMAT_VERSION);
    forged.extend_from_slice(&u32::try_from(header_json.len()).expect("len").to_be_bytes());
    forged.extend_from_slice(&header_json);
    forged.extend_from_slice(&f.packet[old_header_end..]);
    resign(&mut forged, &f.station);
    let opened = SealedPacket::parse(&forged)
        .and_then(|p| p.verify(&f.station.public_key()))
        .and_then(|p| p.open(&f.server));
    assert!(matches!(opened, Err(PacketError::CannotOpen)), "{opened:?}");
}

#[test]
fn another_station_key_does_not_verify() {
    let f = fixture();
    let other = StationSigningKey::generate(&SystemRandom).expect("key");
    let result = SealedPacket::parse(&f.packet).and_then(|p| p.verify(&other.public_key()));
    assert!(matches!(result, Err(PacketError::BadSignature)));
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
        let result = SealedPacket::parse(&f.packet[..len])
            .and_then(|p| p.verify(&f.station.public_key()))
            .and_then(|p| p.open(&f.server));
        assert!(result.is_err(), "a packet cut to {len} bytes must not open");
    }
}

#[test]
fn wrong_magic_and_version_are_named() {
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
    let mut huge_header = f.packet;
    huge_header[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SealedPacket::parse(&huge_header),
        Err(PacketError::TooLarge(_))
    ));
}
