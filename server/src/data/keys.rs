//! The key files under `keys/`: made on first use (mode 0600, written durably), read on every
//! start after.

use std::fs;
use std::path::Path;

use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use protocol::random::{RandomSource, SystemRandom};
use zeroize::Zeroizing;

use super::{io, write_durably, DataError};

/// The bearer token `/metrics` asks for: 24 random bytes in hex.
pub(super) fn load_or_create_token(path: &Path) -> Result<Zeroizing<String>, DataError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Zeroizing::new(text.trim().to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = Zeroizing::new([0u8; 24]);
            SystemRandom
                .fill(bytes.as_mut())
                .map_err(|_| DataError::Random)?;
            let token =
                Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
            write_durably(path, token.as_bytes())?;
            Ok(token)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

/// The Ed25519 seed that signs receipts.
pub(super) fn load_or_create_receipt_key(path: &Path) -> Result<StationSigningKey, DataError> {
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            StationSigningKey::from_seed(&bytes).map_err(|_| {
                DataError::Corrupt(format!("{} is not a 32-byte Ed25519 seed", path.display()))
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = StationSigningKey::generate(&SystemRandom).map_err(|_| DataError::Random)?;
            write_durably(path, key.expose_seed())?;
            Ok(key)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

/// The X25519 secret that opens packets.
pub(super) fn load_or_create_key(path: &Path) -> Result<ServerDecryptionKey, DataError> {
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                DataError::Corrupt(format!("{} is not a 32-byte key", path.display()))
            })?;
            Ok(ServerDecryptionKey::from_bytes(&array))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key =
                ServerDecryptionKey::generate(&SystemRandom).map_err(|_| DataError::Random)?;
            write_durably(path, key.expose_bytes().as_ref())?;
            tracing::info!(key_id = %key.public_key().key_id(), "generated the server encryption key");
            Ok(key)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}
