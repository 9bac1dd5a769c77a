//! Key types for both ends of the wire.
//!
//! Secret keys ([`StationSigningKey`], [`ServerDecryptionKey`]) are not `Clone`, print as
//! `[redacted]` and zeroize their bytes on drop; their bytes are reachable only through one
//! explicitly named call (`expose_…`) used to store them. Public keys are plain values.

use std::fmt;

use ring::signature::{self, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::random::{RandomError, RandomSource};

/// Errors from loading or generating keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The stored key bytes are not a valid key of the expected kind.
    #[error("the stored key is not a valid {0} key")]
    Invalid(&'static str),
    /// No randomness was available to generate a key.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A station's Ed25519 signing key: it signs every packet the station seals.
pub struct StationSigningKey {
    pair: Ed25519KeyPair,
    seed: Zeroizing<[u8; 32]>,
}

impl StationSigningKey {
    /// Generates a new key.
    ///
    /// # Errors
    /// When no randomness is available.
    pub fn generate(random: &dyn RandomSource) -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        random.fill(seed.as_mut())?;
        Self::from_seed(seed.as_ref())
    }

    /// Loads a key from its 32-byte seed, as returned by [`Self::expose_seed`].
    ///
    /// # Errors
    /// When the bytes are not a valid Ed25519 seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, KeyError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| KeyError::Invalid("Ed25519"))?;
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| KeyError::Invalid("Ed25519"))?;
        Ok(Self {
            pair,
            seed: Zeroizing::new(seed),
        })
    }

    /// The seed bytes, for storing the key. The only way to reach them.
    pub fn expose_seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public half, which the server registers.
    pub fn public_key(&self) -> StationPublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        StationPublicKey(bytes)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl fmt::Debug for StationSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StationSigningKey")
            .field("public", &self.public_key())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A station's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationPublicKey(#[serde(with = "crate::b64::array")] pub [u8; 32]);

impl StationPublicKey {
    /// Checks `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// The key as unpadded base64url.
    pub fn to_base64(&self) -> String {
        crate::b64::encode(&self.0)
    }

    /// A short identifier carried in every packet manifest, so the server can tell a packet
    /// signed with another key from an altered one: the first 8 bytes of SHA-256, in hex.
    pub fn key_id(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        crate::hex(&digest.as_ref()[..8])
    }
}

impl fmt::Debug for StationPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StationPublicKey({})", self.to_base64())
    }
}

/// The server's X25519 secret key: the only key that opens sealed packets.
pub struct ServerDecryptionKey {
    secret: x25519_dalek::StaticSecret,
}

impl ServerDecryptionKey {
    /// Generates a new key.
    ///
    /// # Errors
    /// When no randomness is available.
    pub fn generate(random: &dyn RandomSource) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random.fill(bytes.as_mut())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Loads a key from the 32 bytes returned by [`Self::expose_bytes`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            secret: x25519_dalek::StaticSecret::from(*bytes),
        }
    }

    /// The secret bytes, for storing the key. The only way to reach them.
    pub fn expose_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public half, which stations seal for.
    pub fn public_key(&self) -> ServerPublicKey {
        ServerPublicKey(x25519_dalek::PublicKey::from(&self.secret).to_bytes())
    }

    pub(crate) fn agree(&self, peer: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(*peer));
        shared
            .was_contributory()
            .then(|| Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for ServerDecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerDecryptionKey")
            .field("public", &self.public_key())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The server's X25519 public key, which stations seal packets for.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerPublicKey(#[serde(with = "crate::b64::array")] pub [u8; 32]);

impl ServerPublicKey {
    /// A short identifier of the key carried in every packet header, so the server can tell
    /// which of its keys a packet was sealed for: the first 8 bytes of SHA-256, in hex.
    pub fn key_id(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        crate::hex(&digest.as_ref()[..8])
    }

    /// The key as unpadded base64url.
    pub fn to_base64(&self) -> String {
        crate::b64::encode(&self.0)
    }
}

impl fmt::Debug for ServerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerPublicKey({})", self.key_id())
    }
}

/// Decodes a base64url public key of 32 bytes.
///
/// # Errors
/// When the text is not base64url or not 32 bytes long.
pub fn decode_key_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    crate::b64::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(KeyError::Invalid("public"))
}

/// Encodes a 64-byte signature as unpadded base64url, for storing it as text.
pub fn encode_signature(signature: &[u8; 64]) -> String {
    crate::b64::encode(signature)
}

/// Decodes a signature stored by [`encode_signature`]; `None` when it is not 64 bytes.
pub fn decode_signature(text: &str) -> Option<[u8; 64]> {
    crate::b64::decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    #[test]
    fn debug_output_never_shows_secret_bytes() {
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let shown = format!("{key:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains(&crate::b64::encode(key.expose_seed())));
        let server = ServerDecryptionKey::generate(&SystemRandom).expect("key");
        let shown = format!("{server:?}");
        assert!(!shown.contains(&crate::b64::encode(server.expose_bytes().as_ref())));
    }

    #[test]
    fn a_stored_seed_reloads_to_the_same_key() {
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let again = StationSigningKey::from_seed(key.expose_seed()).expect("reload");
        assert_eq!(key.public_key(), again.public_key());
        let signature = again.sign(b"hello");
        assert!(key.public_key().verify(b"hello", &signature));
        assert!(!key.public_key().verify(b"hellp", &signature));
    }
}
