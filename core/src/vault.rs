//! The station's key vault: the only place its secret keys exist at rest, sealed under a key
//! kept in the OS keyring or derived from the station passphrase.
//!
//! ```text
//! <data dir>/keys/vault.json = { format: 1,
//!                                protection: "keyring" | "passphrase",
//!                                kdf: { algorithm: "argon2id", memory_kib, iterations,
//!                                       parallelism, salt (16 random bytes) } (passphrase),
//!                                keyring_item: random id of the keyring entry (keyring),
//!                                nonce (12 random bytes),
//!                                sealed: AES-256-GCM(KEK, nonce, data key ‖ signing seed,
//!                                                    aad = "enrollment-station/vault-v1") }
//! KEK = 32 random bytes in the OS keyring (service "enrollment-station", item <id>), or
//!       Argon2id(passphrase, salt, memory_kib, iterations, parallelism) → 32 bytes
//! ```
//!
//! The **data key** (32 random bytes, made at provisioning) encrypts everything on the station
//! that the station itself must read back: drafts in progress and the applicant name and
//! document number the officer's list shows ([`DataKey::seal`]). The **signing seed** is the
//! station's Ed25519 key. Neither is ever written in clear; a copied disk yields only the sealed
//! vault: without the user's keyring it does not open, and without the passphrase each guess
//! costs an Argon2id evaluation (64 MiB).
//! Changing the passphrase re-seals the same keys under a new salt ([`change_passphrase`]).

use std::fmt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use protocol::keys::{KeyError, StationSigningKey};
use protocol::random::{RandomSource, SystemRandom};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keyring::{self, KeyringError};
use crate::station::write_private;

/// The shortest passphrase accepted for a new vault.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

const VAULT_AAD: &[u8] = b"enrollment-station/vault-v1";
const ROW_MAC_LABEL: &[u8] = b"enrollment-station/row-mac-v1";
const FORMAT: u32 = 1;
const MEMORY_KIB: u32 = 64 * 1024;
const ITERATIONS: u32 = 3;
const PARALLELISM: u32 = 1;

/// Why the vault could not be created or unlocked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The passphrase does not open the vault.
    #[error("the station passphrase is not correct")]
    WrongPassphrase,
    /// A new passphrase is too short.
    #[error("the station passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long")]
    WeakPassphrase,
    /// The vault file is missing.
    #[error("the station key vault {0} is missing")]
    Missing(PathBuf),
    /// The vault file is not a vault this build reads.
    #[error("the station key vault {path} is damaged or of an unknown format: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be read or written.
    #[error("cannot access the station key vault {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No randomness was available.
    #[error("the operating system could not provide random bytes")]
    Random,
    /// The sealed signing key is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The OS keyring could not give or keep the vault key.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// A passphrase was given for a vault the OS keyring unlocks.
    #[error("this station unlocks from the OS keyring, not with a passphrase")]
    UsesKeyring,
    /// The keyring was asked for a vault a passphrase unlocks.
    #[error("this station unlocks with its passphrase, not from the OS keyring")]
    UsesPassphrase,
}

/// The station passphrase as typed: redacted in `Debug`, zeroized on drop, never cloned.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps the typed text.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The typed text, for handing on to another secret type.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// The key that encrypts what the station keeps and must read back. Redacted, zeroized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// A sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("stored data could not be decrypted with this station's data key ({0})")]
pub struct UnsealError(&'static str);

impl DataKey {
    /// Encrypts `plaintext` bound to `context` (e.g. `draft:<officer>`): a sealed value moved
    /// to another row does not open. Output: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
    ///
    /// # Errors
    /// When no randomness is available.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; 12];
        SystemRandom
            .fill(&mut nonce)
            .map_err(|_| VaultError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(plaintext);
        let tag = aes(&self.0)
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut out[12..],
            )
            .map_err(|_| VaultError::Random)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// A MAC (hex HMAC-SHA256) of `message` for `context`, under a key derived from the data
    /// key: what lets the station tell a row it wrote from one edited in the database.
    pub fn row_mac(&self, context: &str, message: &[u8]) -> String {
        let derived = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0),
            ROW_MAC_LABEL,
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref());
        let mut context_ctx = ring::hmac::Context::with_key(&key);
        context_ctx.update(context.as_bytes());
        context_ctx.update(&[0]);
        context_ctx.update(message);
        encode_hex(context_ctx.sign().as_ref())
    }

    /// Decrypts what [`Self::seal`] produced for the same `context`.
    ///
    /// # Errors
    /// When the value was altered, moved or sealed under another key.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
        if sealed.len() < 12 + 16 {
            return Err(UnsealError("too short"));
        }
        let nonce: [u8; 12] = sealed[..12].try_into().map_err(|_| UnsealError("nonce"))?;
        let mut buffer = Zeroizing::new(sealed[12..].to_vec());
        let length = aes(&self.0)
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                buffer.as_mut_slice(),
            )
            .map_err(|_| UnsealError("authentication failed"))?
            .len();
        buffer.truncate(length);
        Ok(buffer)
    }
}

/// The keys an unlocked vault yields.
#[derive(Debug)]
pub struct Unlocked {
    /// Encrypts drafts and list data.
    pub data_key: DataKey,
    /// Signs packets and audit checkpoints.
    pub signing_key: StationSigningKey,
}

/// What unlocks a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// A key derived with Argon2id from the station passphrase, typed at start.
    Passphrase,
    /// A random key kept in the OS keyring of the user running the station.
    Keyring,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultFile {
    format: u32,
    /// Absent in vaults written before the keyring option: those are passphrase vaults.
    #[serde(default = "passphrase_protection")]
    protection: Protection,
    /// With [`Protection::Passphrase`].
    kdf: Option<KdfParams>,
    /// With [`Protection::Keyring`]: the `item` attribute of the keyring entry.
    keyring_item: Option<String>,
    #[serde(with = "hex_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sealed: Vec<u8>,
}

fn passphrase_protection() -> Protection {
    Protection::Passphrase
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfParams {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    #[serde(with = "hex_bytes")]
    salt: Vec<u8>,
}

/// Refuses a passphrase too short for a new vault.
///
/// # Errors
/// [`VaultError::WeakPassphrase`].
pub fn check_new_passphrase(passphrase: &Passphrase) -> Result<(), VaultError> {
    if passphrase.0.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::WeakPassphrase);
    }
    Ok(())
}

fn fresh_keys(signing_key: StationSigningKey) -> Result<Unlocked, VaultError> {
    let mut data_key = DataKey([0u8; 32]);
    SystemRandom
        .fill(&mut data_key.0)
        .map_err(|_| VaultError::Random)?;
    Ok(Unlocked {
        data_key,
        signing_key,
    })
}

/// Creates a vault at `path` holding a fresh data key and `signing_key`, sealed under
/// `passphrase`.
///
/// # Errors
/// [`VaultError::WeakPassphrase`] for a short passphrase; otherwise I/O or randomness.
pub fn create(
    path: &Path,
    passphrase: &Passphrase,
    signing_key: StationSigningKey,
) -> Result<Unlocked, VaultError> {
    check_new_passphrase(passphrase)?;
    let unlocked = fresh_keys(signing_key)?;
    write(path, passphrase, &unlocked)?;
    Ok(unlocked)
}

/// Creates a vault at `path` holding a fresh data key and `signing_key`, sealed under a random
/// key that is stored in the OS keyring (see [`crate::keyring`]).
///
/// # Errors
/// [`VaultError::Keyring`] when no keyring is available; otherwise I/O or randomness.
pub fn create_in_keyring(
    path: &Path,
    signing_key: StationSigningKey,
) -> Result<Unlocked, VaultError> {
    let unlocked = fresh_keys(signing_key)?;
    let mut kek = Zeroizing::new([0u8; 32]);
    let mut item = [0u8; 16];
    SystemRandom
        .fill(kek.as_mut())
        .and_then(|()| SystemRandom.fill(&mut item))
        .map_err(|_| VaultError::Random)?;
    let item = encode_hex(&item);
    let encoded = Zeroizing::new(encode_hex(kek.as_ref()));
    keyring::store(&item, "Enrollment station data key", encoded.as_bytes())?;
    let (nonce, sealed) = seal_keys(&kek, &unlocked)?;
    write_file(
        path,
        &VaultFile {
            format: FORMAT,
            protection: Protection::Keyring,
            kdf: None,
            keyring_item: Some(item),
            nonce,
            sealed,
        },
    )?;
    Ok(unlocked)
}

fn read_file(path: &Path) -> Result<VaultFile, VaultError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::Missing(path.to_owned()))
        }
        Err(source) => {
            return Err(VaultError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let file: VaultFile = serde_json::from_slice(&text).map_err(|e| VaultError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if file.format != FORMAT {
        return Err(VaultError::Corrupt {
            path: path.to_owned(),
            reason: format!("format {}", file.format),
        });
    }
    Ok(file)
}

/// What unlocks the vault at `path`.
///
/// # Errors
/// [`VaultError::Missing`], [`VaultError::Corrupt`], I/O.
pub fn protection(path: &Path) -> Result<Protection, VaultError> {
    Ok(read_file(path)?.protection)
}

/// Opens the passphrase-protected vault at `path` with `passphrase`.
///
/// # Errors
/// [`VaultError::WrongPassphrase`], [`VaultError::UsesKeyring`], [`VaultError::Missing`],
/// [`VaultError::Corrupt`], I/O.
pub fn unlock(path: &Path, passphrase: &Passphrase) -> Result<Unlocked, VaultError> {
    let file = read_file(path)?;
    let corrupt = |reason: String| VaultError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let kdf = match (file.protection, &file.kdf) {
        (Protection::Keyring, _) => return Err(VaultError::UsesKeyring),
        (Protection::Passphrase, Some(kdf)) if kdf.algorithm == "argon2id" => kdf,
        (Protection::Passphrase, _) => {
            return Err(corrupt(
                "no Argon2id parameters for a passphrase vault".into(),
            ))
        }
    };
    let kek = derive_kek(passphrase, kdf).map_err(corrupt)?;
    open_keys(path, &file, &kek, VaultError::WrongPassphrase)
}

/// Opens the keyring-protected vault at `path` with the key from the OS keyring.
///
/// # Errors
/// [`VaultError::Keyring`] when the keyring is unavailable or lacks the key,
/// [`VaultError::UsesPassphrase`], [`VaultError::Missing`], [`VaultError::Corrupt`], I/O.
pub fn unlock_from_keyring(path: &Path) -> Result<Unlocked, VaultError> {
    let file = read_file(path)?;
    let item = match (file.protection, &file.keyring_item) {
        (Protection::Passphrase, _) => return Err(VaultError::UsesPassphrase),
        (Protection::Keyring, Some(item)) => item.clone(),
        (Protection::Keyring, None) => {
            return Err(VaultError::Corrupt {
                path: path.to_owned(),
                reason: "no keyring item named".into(),
            })
        }
    };
    let encoded = keyring::lookup(&item)?;
    let text = std::str::from_utf8(&encoded).map_err(|_| VaultError::Corrupt {
        path: path.to_owned(),
        reason: "the keyring entry is not text".into(),
    })?;
    let decoded = Zeroizing::new(decode_hex(text.trim()).unwrap_or_default());
    let mut kek = Zeroizing::new([0u8; 32]);
    if decoded.len() != kek.len() {
        return Err(VaultError::Corrupt {
            path: path.to_owned(),
            reason: "the keyring entry is not a 32-byte key".into(),
        });
    }
    kek.copy_from_slice(&decoded);
    open_keys(
        path,
        &file,
        &kek,
        VaultError::Corrupt {
            path: path.to_owned(),
            reason: "the key in the keyring does not open this vault".into(),
        },
    )
}

fn open_keys(
    path: &Path,
    file: &VaultFile,
    kek: &[u8; 32],
    wrong_key: VaultError,
) -> Result<Unlocked, VaultError> {
    let corrupt = |reason: &str| VaultError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let nonce: [u8; 12] = file
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("the nonce is not 12 bytes"))?;
    let mut buffer = Zeroizing::new(file.sealed.clone());
    let plaintext = aes(kek)
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(VAULT_AAD),
            buffer.as_mut_slice(),
        )
        .map_err(|_| wrong_key)?;
    if plaintext.len() != 64 {
        return Err(corrupt("the sealed keys are not 64 bytes"));
    }
    let mut data_key = DataKey([0u8; 32]);
    data_key.0.copy_from_slice(&plaintext[..32]);
    let signing_key = StationSigningKey::from_seed(&plaintext[32..])?;
    Ok(Unlocked {
        data_key,
        signing_key,
    })
}

/// Re-seals the vault's keys under `new` (a fresh salt and nonce); the old passphrase stops
/// working. The keys themselves do not change, so nothing else needs re-encrypting.
///
/// # Errors
/// As [`unlock`] for `old`, [`VaultError::WeakPassphrase`] for `new`, I/O.
pub fn change_passphrase(
    path: &Path,
    old: &Passphrase,
    new: &Passphrase,
) -> Result<(), VaultError> {
    check_new_passphrase(new)?;
    let unlocked = unlock(path, old)?;
    write(path, new, &unlocked)
}

fn seal_keys(kek: &[u8; 32], keys: &Unlocked) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
    let mut nonce = [0u8; 12];
    SystemRandom
        .fill(&mut nonce)
        .map_err(|_| VaultError::Random)?;
    let mut sealed = Zeroizing::new(Vec::with_capacity(64 + 16));
    sealed.extend_from_slice(&keys.data_key.0);
    sealed.extend_from_slice(keys.signing_key.expose_seed());
    aes(kek)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(VAULT_AAD),
            &mut *sealed,
        )
        .map_err(|_| VaultError::Random)?;
    Ok((nonce.to_vec(), sealed.to_vec()))
}

fn write(path: &Path, passphrase: &Passphrase, keys: &Unlocked) -> Result<(), VaultError> {
    let mut salt = vec![0u8; 16];
    SystemRandom
        .fill(&mut salt)
        .map_err(|_| VaultError::Random)?;
    let kdf = KdfParams {
        algorithm: "argon2id".into(),
        memory_kib: MEMORY_KIB,
        iterations: ITERATIONS,
        parallelism: PARALLELISM,
        salt,
    };
    let kek = derive_kek(passphrase, &kdf).map_err(|reason| VaultError::Corrupt {
        path: path.to_owned(),
        reason,
    })?;
    let (nonce, sealed) = seal_keys(&kek, keys)?;
    write_file(
        path,
        &VaultFile {
            format: FORMAT,
            protection: Protection::Passphrase,
            kdf: Some(kdf),
            keyring_item: None,
            nonce,
            sealed,
        },
    )
}

fn write_file(path: &Path, file: &VaultFile) -> Result<(), VaultError> {
    let json = serde_json::to_vec_pretty(file).map_err(|e| VaultError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    write_private(path, &json).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })
}

fn derive_kek(passphrase: &Passphrase, kdf: &KdfParams) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| format!("invalid key derivation parameters: {e}"))?;
    let mut kek = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.bytes(), &kdf.salt, kek.as_mut())
        .map_err(|e| format!("key derivation failed: {e}"))?;
    Ok(kek)
}

fn aes(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("AES-256 keys are 32 bytes"))
}

/// Lower-case hex of `bytes`.
fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of even-length hex `text`; `None` for anything else (never panics on non-ASCII).
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode_hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode_hex(&text).ok_or_else(|| serde::de::Error::custom("invalid hex"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StationSigningKey {
        StationSigningKey::generate(&SystemRandom).expect("key")
    }

    #[test]
    fn the_vault_opens_with_its_passphrase_and_yields_the_same_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("vault.json");
        let signing = key();
        let public = signing.public_key();
        let created = create(
            &path,
            &Passphrase::new("correct horse battery".into()),
            signing,
        )
        .expect("create");
        let sealed = created.data_key.seal("ctx", b"applicant").expect("seal");
        let unlocked =
            unlock(&path, &Passphrase::new("correct horse battery".into())).expect("unlock");
        assert_eq!(unlocked.signing_key.public_key(), public);
        assert_eq!(
            unlocked
                .data_key
                .open("ctx", &sealed)
                .expect("open")
                .as_slice(),
            b"applicant"
        );
    }

    #[test]
    fn a_vault_written_before_the_keyring_option_still_opens_with_its_passphrase() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("vault.json");
        let passphrase = Passphrase::new("correct horse battery".into());
        create(&path, &passphrase, key()).expect("create");
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let object = json.as_object_mut().expect("object");
        object.remove("protection");
        object.remove("keyring_item");
        std::fs::write(&path, serde_json::to_vec(&json).expect("json")).expect("write");
        assert_eq!(protection(&path).expect("read"), Protection::Passphrase);
        unlock(&path, &passphrase).expect("the older vault opens");
    }

    #[test]
    fn a_wrong_passphrase_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("vault.json");
        create(
            &path,
            &Passphrase::new("correct horse battery".into()),
            key(),
        )
        .expect("create");
        assert!(matches!(
            unlock(&path, &Passphrase::new("correct horse batterz".into())),
            Err(VaultError::WrongPassphrase)
        ));
    }

    #[test]
    fn a_short_passphrase_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let result = create(
            &dir.path().join("vault.json"),
            &Passphrase::new("short".into()),
            key(),
        );
        assert!(matches!(result, Err(VaultError::WeakPassphrase)));
    }

    #[test]
    fn after_a_passphrase_change_only_the_new_one_opens_the_same_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("vault.json");
        let signing = key();
        let public = signing.public_key();
        let old = Passphrase::new("the first passphrase".into());
        let new = Passphrase::new("the second passphrase".into());
        create(&path, &old, signing).expect("create");
        change_passphrase(&path, &old, &new).expect("change");
        assert!(matches!(
            unlock(&path, &old),
            Err(VaultError::WrongPassphrase)
        ));
        assert_eq!(
            unlock(&path, &new).expect("new").signing_key.public_key(),
            public
        );
    }

    #[test]
    fn a_sealed_value_does_not_open_in_another_context() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = create(
            &dir.path().join("vault.json"),
            &Passphrase::new("correct horse battery".into()),
            key(),
        )
        .expect("create");
        let sealed = keys.data_key.seal("draft:budi", b"x").expect("seal");
        assert!(keys.data_key.open("draft:siti", &sealed).is_err());
    }

    #[test]
    fn hex_that_is_not_hex_is_refused_without_panicking() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0x00, 0xff, 0x10]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        // Two-byte characters: a byte-indexed slice would split one.
        assert_eq!(decode_hex("ééééé\u{e9}a"), None);
        assert_eq!(decode_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        assert_eq!(
            format!("{:?}", Passphrase::new("hunter2hunter2".into())),
            "Passphrase([redacted])"
        );
        assert_eq!(format!("{:?}", DataKey([7; 32])), "DataKey([redacted])");
    }
}
