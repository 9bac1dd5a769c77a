//! Feeds arbitrary bytes to the packet reader, the way the server's intake does: parse, verify
//! against the test-vector station key, open with the test-vector server key, rebuild the
//! enrollment content. Any panic, hang or runaway allocation is a finding; every input must
//! end in `Ok` or a named error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use station_protocol::content::EnrollmentContent;
use station_protocol::keys::{ServerDecryptionKey, StationSigningKey};
use station_protocol::packet::SealedPacket;

fuzz_target!(|data: &[u8]| {
    // The fixed keys of protocol/tests/vectors/packet-v1.json, so the seed corpus (the
    // vector packets) reaches the signature checks and, for the valid one, the payload reader.
    let station = StationSigningKey::from_seed(&[0x11; 32]).expect("a 32-byte seed");
    let server = ServerDecryptionKey::from_bytes(&[0x22; 32]);
    let Ok(sealed) = SealedPacket::parse(data) else {
        return;
    };
    let captures = sealed.manifest().captures.clone();
    let Ok(verified) = sealed.verify(&station.public_key()) else {
        return;
    };
    if let Ok(parts) = verified.open(&server) {
        let _ = EnrollmentContent::from_parts(parts, &captures);
    }
});
