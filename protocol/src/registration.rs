//! Registering a station: the one-time provisioning code, the proof of it a station sends, and
//! the server's signed answer.
//!
//! ```text
//! provisioning code  = secret ‖ "." ‖ server fingerprint
//!   secret           = 48 random hex digits, shown once to the administrator
//!   fingerprint      = hex(SHA-256(server receipt public key))[..32]
//! server stores      = hex(SHA-256(secret))            (never the secret)
//! token proof        = hex(HMAC-SHA256(key = SHA-256(secret), registration claim))
//! registration claim = "enrollment-station/register-v1\n" ‖ station name ‖ "\n" ‖
//!                      base64(station public key)
//! answer signature   = Ed25519(server receipt key, "enrollment-station/registered-v1\n" ‖
//!                      station id ‖ "\n" ‖ base64(station public key) ‖ "\n" ‖
//!                      base64(server encryption key) ‖ "\n" ‖ base64(server receipt key) ‖
//!                      "\n" ‖ (hex SHA-256 of the server's TLS certificate, or "-"))
//! ```
//!
//! The secret never crosses the network: whoever reads the request learns a proof bound to the
//! station's own public key, useless for registering any other key. The answer is signed by a
//! receipt key whose fingerprint the administrator handed over with the code, so nothing on the
//! link can make a station seal its packets for another key or believe another's receipts.

use std::fmt;

use ring::{digest, hmac};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::{ServerPublicKey, StationPublicKey, StationSigningKey};

const CLAIM_LABEL: &str = "enrollment-station/register-v1\n";
const ANSWER_LABEL: &str = "enrollment-station/registered-v1\n";
/// Hex digits of a server fingerprint.
const FINGERPRINT_HEX: usize = 32;

/// The server identity an administrator hands out with a provisioning code: the first 128 bits
/// of the SHA-256 of its receipt key, in hex.
pub fn server_fingerprint(receipt_key: &StationPublicKey) -> String {
    crate::hex(digest::digest(&digest::SHA256, &receipt_key.0).as_ref())[..FINGERPRINT_HEX]
        .to_owned()
}

/// Why a provisioning code or a registration answer is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The code is not `secret.fingerprint`.
    #[error("the provisioning code is not in the form the server prints (48 hex digits, a dot, 32 hex digits)")]
    MalformedCode,
    /// The answer's receipt key is not the server the code names.
    #[error("the server that answered is not the one the provisioning code names (its key fingerprint is {found}, the code says {expected})")]
    WrongServer {
        /// What the code names.
        expected: String,
        /// What answered.
        found: String,
    },
    /// The answer is not signed by the receipt key it names, or not for this station.
    #[error("the registration answer is not signed by the server for this station's key")]
    BadSignature,
}

/// A one-time provisioning code as the administrator got it from `issue-token`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ProvisioningToken(String);

impl ProvisioningToken {
    /// The code for a fresh `secret` (hex) from the server whose receipt key is `receipt_key`.
    pub fn issue(secret: &str, receipt_key: &StationPublicKey) -> Self {
        Self(format!("{secret}.{}", server_fingerprint(receipt_key)))
    }

    /// Takes a code as typed; surrounding white space is dropped.
    ///
    /// # Errors
    /// [`RegistrationError::MalformedCode`] when it is not `secret.fingerprint`.
    pub fn parse(text: &str) -> Result<Self, RegistrationError> {
        let text = text.trim();
        let (secret, fingerprint) = text
            .split_once('.')
            .ok_or(RegistrationError::MalformedCode)?;
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if !hex(secret, 48) || !hex(fingerprint, FINGERPRINT_HEX) {
            return Err(RegistrationError::MalformedCode);
        }
        Ok(Self(text.to_owned()))
    }

    /// The whole code, to show it once to the administrator.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn secret(&self) -> &str {
        self.0.split_once('.').map_or(&self.0, |(secret, _)| secret)
    }

    /// What the server keeps of the code: hex SHA-256 of its secret.
    pub fn stored_hash(&self) -> String {
        crate::hex(digest::digest(&digest::SHA256, self.secret().as_bytes()).as_ref())
    }

    /// The server identity the code names.
    pub fn server_fingerprint(&self) -> &str {
        self.0
            .split_once('.')
            .map_or("", |(_, fingerprint)| fingerprint)
    }

    /// The proof of this code for a station named `name` with key `key`.
    pub fn proof(&self, name: &str, key: &StationPublicKey) -> String {
        let stored = digest::digest(&digest::SHA256, self.secret().as_bytes());
        proof_with(stored.as_ref(), name, key)
    }

    /// Checks a registration answer against the server this code names and the station's key;
    /// returns the answer when it holds.
    ///
    /// # Errors
    /// See [`RegistrationError`].
    pub fn check_answer(
        &self,
        answer: RegisterStationResponse,
        station_key: &StationPublicKey,
    ) -> Result<RegisterStationResponse, RegistrationError> {
        let found = server_fingerprint(&answer.server_receipt_key);
        if found != self.server_fingerprint() {
            return Err(RegistrationError::WrongServer {
                expected: self.server_fingerprint().to_owned(),
                found,
            });
        }
        let message = answer_message(
            answer.station_id,
            station_key,
            (&answer.server_encryption_key, &answer.server_receipt_key),
            answer.tls_certificate_sha256.as_deref(),
        );
        let signature = crate::keys::decode_signature(&answer.signature)
            .ok_or(RegistrationError::BadSignature)?;
        if !answer
            .server_receipt_key
            .verify(message.as_bytes(), &signature)
        {
            return Err(RegistrationError::BadSignature);
        }
        Ok(answer)
    }
}

impl fmt::Debug for ProvisioningToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProvisioningToken([redacted])")
    }
}

/// Whether `proof` proves the code whose stored hash (hex) is `stored_hash`, for this claim.
pub fn proof_matches(stored_hash: &str, proof: &str, name: &str, key: &StationPublicKey) -> bool {
    let Some(stored) = unhex(stored_hash) else {
        return false;
    };
    let Some(proof) = unhex(proof) else {
        return false;
    };
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &stored);
    hmac::verify(&mac_key, claim(name, key).as_bytes(), &proof).is_ok()
}

fn proof_with(stored: &[u8], name: &str, key: &StationPublicKey) -> String {
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, stored);
    crate::hex(hmac::sign(&mac_key, claim(name, key).as_bytes()).as_ref())
}

fn claim(name: &str, key: &StationPublicKey) -> String {
    format!("{CLAIM_LABEL}{name}\n{}", key.to_base64())
}

fn answer_message(
    station_id: Uuid,
    station_key: &StationPublicKey,
    (encryption_key, receipt_key): (&ServerPublicKey, &StationPublicKey),
    tls_certificate_sha256: Option<&str>,
) -> String {
    format!(
        "{ANSWER_LABEL}{station_id}\n{}\n{}\n{}\n{}",
        station_key.to_base64(),
        encryption_key.to_base64(),
        receipt_key.to_base64(),
        tls_certificate_sha256.unwrap_or("-")
    )
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A station asks to be registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStationRequest {
    /// [`ProvisioningToken::proof`] for this name and key (the code itself is never sent).
    pub token_proof: String,
    /// A human name for the station, e.g. the office and desk.
    pub station_name: String,
    /// The station's Ed25519 key; the server accepts only packets it signed.
    pub signing_public_key: StationPublicKey,
}

/// The server registered the station.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterStationResponse {
    /// The id the station puts in every packet header.
    pub station_id: Uuid,
    /// The key the station seals packets for.
    pub server_encryption_key: ServerPublicKey,
    /// The Ed25519 key that signs the server's receipts.
    pub server_receipt_key: StationPublicKey,
    /// SHA-256 (hex) of the TLS certificate the server presents itself, which the station pins;
    /// `None` behind a front end whose certificate an authority vouches for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_certificate_sha256: Option<String>,
    /// The receipt key's signature over the registration (see the module docs).
    pub signature: String,
}

impl RegisterStationResponse {
    /// The server's signed answer registering `station_key` as `station_id`, naming the TLS
    /// certificate it presents (`tls_certificate_sha256`) when it speaks TLS itself.
    pub fn sign(
        station_id: Uuid,
        station_key: &StationPublicKey,
        (encryption_key, tls_certificate_sha256): (ServerPublicKey, Option<String>),
        receipt_key: &StationSigningKey,
    ) -> Self {
        let server_receipt_key = receipt_key.public_key();
        let message = answer_message(
            station_id,
            station_key,
            (&encryption_key, &server_receipt_key),
            tls_certificate_sha256.as_deref(),
        );
        Self {
            station_id,
            server_encryption_key: encryption_key,
            server_receipt_key,
            tls_certificate_sha256,
            signature: crate::keys::encode_signature(&receipt_key.sign(message.as_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerDecryptionKey;

    fn server() -> (StationSigningKey, ServerPublicKey) {
        let receipt = StationSigningKey::from_seed(&[3; 32]).expect("key");
        let encryption = ServerDecryptionKey::from_bytes(&[4; 32]).public_key();
        (receipt, encryption)
    }

    fn station() -> StationPublicKey {
        StationSigningKey::from_seed(&[5; 32])
            .expect("key")
            .public_key()
    }

    #[test]
    fn a_code_round_trips_and_its_proof_is_bound_to_the_stations_key_and_name() {
        let (receipt, _) = server();
        let code = ProvisioningToken::issue(&"ab".repeat(24), &receipt.public_key());
        let typed = ProvisioningToken::parse(&format!("  {}\n", code.expose())).expect("parses");
        assert_eq!(typed, code);
        let proof = code.proof("Desk 1", &station());
        assert!(proof_matches(
            &code.stored_hash(),
            &proof,
            "Desk 1",
            &station()
        ));
        let other = StationSigningKey::from_seed(&[6; 32])
            .expect("key")
            .public_key();
        assert!(
            !proof_matches(&code.stored_hash(), &proof, "Desk 1", &other),
            "a proof seen on the link registers no other key"
        );
        assert!(!proof_matches(
            &code.stored_hash(),
            &proof,
            "Desk 2",
            &station()
        ));
        for bad in [
            "",
            "abc",
            &"ab".repeat(24),
            &format!("{}.{}", "ab".repeat(24), "x".repeat(32)),
        ] {
            assert_eq!(
                ProvisioningToken::parse(bad),
                Err(RegistrationError::MalformedCode)
            );
        }
    }

    #[test]
    fn an_answer_from_another_server_or_with_swapped_keys_is_refused() {
        let (receipt, encryption) = server();
        let code = ProvisioningToken::issue(&"cd".repeat(24), &receipt.public_key());
        let id = Uuid::from_u128(1);
        let answer = RegisterStationResponse::sign(id, &station(), (encryption, None), &receipt);
        assert!(code.check_answer(answer.clone(), &station()).is_ok());

        let mallory = StationSigningKey::from_seed(&[7; 32]).expect("key");
        let theirs = RegisterStationResponse::sign(
            id,
            &station(),
            (ServerDecryptionKey::from_bytes(&[8; 32]).public_key(), None),
            &mallory,
        );
        assert!(matches!(
            code.check_answer(theirs, &station()),
            Err(RegistrationError::WrongServer { .. })
        ));
        let mut swapped = answer.clone();
        swapped.server_encryption_key = ServerDecryptionKey::from_bytes(&[8; 32]).public_key();
        assert_eq!(
            code.check_answer(swapped, &station()).err(),
            Some(RegistrationError::BadSignature),
            "a rewritten encryption key breaks the signature"
        );
        let other_station = StationSigningKey::from_seed(&[6; 32])
            .expect("key")
            .public_key();
        assert_eq!(
            code.check_answer(answer, &other_station).err(),
            Some(RegistrationError::BadSignature),
            "an answer for another station's key is not this station's"
        );
    }
}
