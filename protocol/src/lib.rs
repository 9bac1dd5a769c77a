//! The wire contract between an enrollment station and the central server.
//!
//! - [`packet`]: the sealed packet format. A station seals an enrollment for the server's
//!   X25519 key and signs it with its Ed25519 key; only the server can open it.
//! - [`keys`]: the key types on both sides. They cannot be cloned, redact their `Debug`
//!   output and zeroize on drop.
//! - [`manifest`]: the signed clear-text description of a packet: who, when, how captured, and
//!   a keyed hash of every sealed part.
//! - [`approval`]: a supervisor's approval of a flagged packet, signed by the station, which
//!   the server requires before it accepts one.
//! - [`audit`]: audit entries and their hash chain, checked by station and server alike.
//! - [`content`]: what a packet carries once opened (demographics and images), with the
//!   field validation that both the station and the server apply.
//! - [`form`]: the enrollment forms, read from a versioned definition file, and how each
//!   field is checked.
//! - [`identity`]: the Indonesian NIK and passport MRZ (ICAO 9303 TD3), read and checked.
//! - [`api`]: the JSON bodies of the server's HTTP API.
//! - [`registration`]: the provisioning code, the proof of it a station sends, and the
//!   server's signed answer the station checks against the server identity in the code.
//! - [`request`]: how a station signs every API request (timestamp, nonce, body hash).
//! - [`random`]: the randomness source, injected so tests can be deterministic.
#![deny(missing_docs)]

pub mod api;
pub mod approval;
pub mod audit;
pub mod content;
pub mod form;
pub mod identity;
pub mod keys;
pub mod manifest;
pub mod packet;
pub mod random;
pub mod registration;
pub mod request;

mod b64;

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
