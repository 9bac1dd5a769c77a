//! Feeds arbitrary bytes to the reader of a decrypted payload (part count, names, lengths) and
//! to the enrollment content rebuilt from its parts. A signed packet from a compromised station
//! can carry any payload, so this reader must also end every input in `Ok` or a named error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use station_protocol::content::EnrollmentContent;
use station_protocol::packet::read_payload;

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = read_payload(data) {
        let _ = EnrollmentContent::from_parts(parts, &[]);
    }
});
