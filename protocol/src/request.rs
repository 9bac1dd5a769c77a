//! Signed requests: every call a registered station makes is signed with its Ed25519 key.
//!
//! The station sends four headers ([`STATION_HEADER`], [`TIMESTAMP_HEADER`], [`NONCE_HEADER`],
//! [`SIGNATURE_HEADER`]); the signature covers [`canonical`]: the method, the path with its
//! query, the timestamp, the nonce and the SHA-256 of the body. The server accepts a request
//! only from a registered, unrevoked station, within [`MAX_CLOCK_SKEW_SECS`] of its own clock,
//! with a nonce it has not seen in that window (a captured request cannot be replayed).

use uuid::Uuid;

use crate::keys::{decode_signature, encode_signature, StationPublicKey, StationSigningKey};
use crate::packet::sha256_hex;

/// The station id.
pub const STATION_HEADER: &str = "x-station-id";
/// Seconds since the Unix epoch, on the station's clock.
pub const TIMESTAMP_HEADER: &str = "x-request-time";
/// 16 random bytes, lower-case hex; never reused.
pub const NONCE_HEADER: &str = "x-request-nonce";
/// Base64 Ed25519 signature of [`canonical`].
pub const SIGNATURE_HEADER: &str = "x-request-signature";

/// How far the station's clock may be from the server's.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The bytes a request signature covers.
pub fn canonical(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "ESREQ1\n{}\n{path_and_query}\n{timestamp}\n{nonce}\n{}",
        method.to_ascii_uppercase(),
        sha256_hex(body)
    )
    .into_bytes()
}

/// The four header values of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// The signing station.
    pub station_id: Uuid,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    /// Random, lower-case hex.
    pub nonce: String,
    /// Base64 signature.
    pub signature: String,
}

impl RequestSignature {
    /// Signs a request.
    pub fn sign(
        key: &StationSigningKey,
        station_id: Uuid,
        request: (&str, &str, &[u8]),
        timestamp: i64,
        nonce: String,
    ) -> Self {
        let (method, path_and_query, body) = request;
        let message = canonical(method, path_and_query, timestamp, &nonce, body);
        Self {
            station_id,
            timestamp,
            signature: encode_signature(&key.sign(&message)),
            nonce,
        }
    }

    /// Whether the signature is `key`'s over this request.
    pub fn verify(
        &self,
        key: &StationPublicKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> bool {
        let Some(signature) = decode_signature(&self.signature) else {
            return false;
        };
        let message = canonical(method, path_and_query, self.timestamp, &self.nonce, body);
        key.verify(&message, &signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_method_path_time_nonce_and_body() {
        let key = StationSigningKey::from_seed(&[7; 32]).expect("key");
        let id = Uuid::nil();
        let signed = RequestSignature::sign(
            &key,
            id,
            ("PUT", "/api/v1/uploads/x?offset=0", b"chunk"),
            1_700_000_000,
            "00ff".into(),
        );
        let public = key.public_key();
        assert!(signed.verify(&public, "PUT", "/api/v1/uploads/x?offset=0", b"chunk"));
        assert!(!signed.verify(&public, "POST", "/api/v1/uploads/x?offset=0", b"chunk"));
        assert!(!signed.verify(&public, "PUT", "/api/v1/uploads/x?offset=1", b"chunk"));
        assert!(!signed.verify(&public, "PUT", "/api/v1/uploads/x?offset=0", b"chunK"));
        let mut later = signed.clone();
        later.timestamp += 1;
        assert!(!later.verify(&public, "PUT", "/api/v1/uploads/x?offset=0", b"chunk"));
        let mut other_nonce = signed;
        other_nonce.nonce = "00fe".into();
        assert!(!other_nonce.verify(&public, "PUT", "/api/v1/uploads/x?offset=0", b"chunk"));
    }
}
