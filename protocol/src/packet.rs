//! The sealed packet: how one enrollment travels from a station to the server.
//!
//! Format version 1, specified byte for byte in `docs/packet-format.md`:
//!
//! ```text
//! packet  = "ESPK" ‖ 0x01 ‖ manifest_len (u32 BE) ‖ manifest (UTF-8 JSON, ≤ 256 KiB)
//!         ‖ manifest_signature (64 bytes, Ed25519 over every byte before it)
//!         ‖ payload ciphertext ‖ tag (AES-256-GCM; AAD = every byte before the manifest signature)
//!         ‖ packet_signature (64 bytes, Ed25519 over every byte before it)
//! payload = part_count (u16 BE) ‖ { name_len (u8) ‖ name ‖ length (u32 BE) ‖ bytes }*
//! ```
//!
//! The payload key is 32 fresh random bytes per packet, wrapped for the server:
//!
//! ```text
//! shared      = X25519(ephemeral secret, server public)          (fresh ephemeral per packet)
//! KEK         = HKDF-SHA256(salt = ephemeral public ‖ server public, ikm = shared,
//!                           info = "enrollment-station/packet-v1/key-wrap")
//! wrapped_key = AES-256-GCM(KEK, nonce = 12 zero bytes, payload key, aad = packet id bytes)
//! part hmac   = HMAC-SHA256(HKDF-SHA256(salt = packet id bytes, ikm = payload key,
//!                                       info = "enrollment-station/packet-v1/part-hmac"),
//!                           u8 name_len ‖ name ‖ bytes)
//! ```
//!
//! Two signatures let a reader name what was changed: a manifest that does not verify was
//! altered (or signed by another key: the manifest names its signing key), a manifest that
//! verifies in a packet that does not means the payload was altered. The station forgets the
//! ephemeral secret and the payload key as soon as the packet is sealed, so nothing it keeps can
//! open the packet again.

use std::fmt;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::{hkdf, hmac};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keys::{ServerDecryptionKey, ServerPublicKey, StationPublicKey, StationSigningKey};
use crate::manifest::{CaptureRecord, KeyWrap, Manifest, PartDigest};
use crate::random::{RandomError, RandomSource};

/// The four bytes every packet starts with.
pub const MAGIC: &[u8; 4] = b"ESPK";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// The largest manifest accepted.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;
/// The largest packet accepted, everything included.
pub const MAX_PACKET_BYTES: usize = 32 * 1024 * 1024;
/// The most parts a payload may have.
pub const MAX_PARTS: usize = 64;
/// The longest part name.
pub const MAX_PART_NAME: usize = 64;

const PREFIX_BYTES: usize = MAGIC.len() + 1 + 4;
const TAG_BYTES: usize = 16;
const SIGNATURE_BYTES: usize = 64;
const KEY_WRAP_INFO: &[u8] = b"enrollment-station/packet-v1/key-wrap";
const PART_HMAC_INFO: &[u8] = b"enrollment-station/packet-v1/part-hmac";

/// Why a packet could not be sealed, read or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The input ends before the structure it announces.
    #[error("the packet is truncated: {0}")]
    Truncated(&'static str),
    /// The input does not start with the packet magic.
    #[error("this is not an enrollment packet (wrong magic bytes)")]
    BadMagic,
    /// The format version is not one this build reads.
    #[error(
        "packet format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The packet or one of its parts is larger than allowed.
    #[error("the packet is too large: {0}")]
    TooLarge(&'static str),
    /// The manifest is not valid JSON of the expected shape.
    #[error("the packet manifest is malformed: {0}")]
    MalformedManifest(String),
    /// The manifest names a signing key other than the station's registered one.
    #[error("the packet was signed with station key {found}, but the station's registered key is {expected}")]
    WrongStationKey {
        /// The registered key's id.
        expected: String,
        /// The key id the manifest names.
        found: String,
    },
    /// The manifest's signature does not verify: the manifest was altered after signing.
    #[error("the packet manifest was altered after the station signed it")]
    BadSignature,
    /// The manifest verifies but the packet signature does not: the payload was altered.
    #[error("the packet's sealed payload was altered after the station signed it")]
    PayloadTampered,
    /// The packet was sealed for a server key this server does not hold.
    #[error("the packet was sealed for server key {0}, not this server's key")]
    WrongRecipient(String),
    /// The packet cannot be opened with the given key; deliberately says no more.
    #[error("the packet cannot be opened")]
    CannotOpen,
    /// The opened payload does not match what the manifest commits to.
    #[error("the sealed payload does not match its manifest: {0}")]
    PayloadMismatch(String),
    /// A part given to [`seal`] cannot be put in a packet.
    #[error("invalid packet part: {0}")]
    InvalidPart(String),
    /// No randomness was available while sealing.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl PacketError {
    /// A stable machine-readable name of the error, used in test vectors and API answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "truncated",
            Self::BadMagic => "bad_magic",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::TooLarge(_) => "too_large",
            Self::MalformedManifest(_) => "malformed_manifest",
            Self::WrongStationKey { .. } => "wrong_station_key",
            Self::BadSignature => "bad_signature",
            Self::PayloadTampered => "payload_tampered",
            Self::WrongRecipient(_) => "wrong_recipient",
            Self::CannotOpen => "cannot_open",
            Self::PayloadMismatch(_) => "payload_mismatch",
            Self::InvalidPart(_) => "invalid_part",
            Self::Random(_) => "no_randomness",
        }
    }
}

/// One named part of a payload. Its bytes are redacted in `Debug` and zeroized on drop.
#[derive(PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Part {
    /// Its name: 1–64 characters of `a-z`, `0-9`, `.`, `-`.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    bytes: Vec<u8>,
}

impl Part {
    /// A part named `name` holding `bytes`.
    pub fn new(name: impl Into<String>, media_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            media_type: media_type.into(),
            bytes,
        }
    }

    /// The part's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the bytes out (the part is left empty).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Part({}, {}, [{} bytes redacted])",
            self.name,
            self.media_type,
            self.bytes.len()
        )
    }
}

/// SHA-256 of a sealed packet in lower-case hex: how station and server name its exact bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// What the station says about a packet it is sealing, besides the payload.
#[derive(Debug, Clone)]
pub struct SealParams {
    /// Unique id of the packet.
    pub packet_id: Uuid,
    /// The sealing station.
    pub station_id: Uuid,
    /// The enrolling officer.
    pub officer_id: String,
    /// When it is sealed.
    pub created_at: OffsetDateTime,
    /// The payload's content schema version.
    pub schema_version: u32,
    /// How each biometric was captured.
    pub captures: Vec<CaptureRecord>,
}

/// Seals `parts` for `recipient`, signed by `signer`. See the module docs for the layout.
///
/// # Errors
/// When no randomness is available, a part name is invalid or repeated, or the packet would
/// exceed a size limit.
pub fn seal(
    params: SealParams,
    parts: &[Part],
    recipient: &ServerPublicKey,
    signer: &StationSigningKey,
    random: &dyn RandomSource,
) -> Result<Vec<u8>, PacketError> {
    check_parts(parts)?;
    let mut ephemeral_bytes = Zeroizing::new([0u8; 32]);
    random.fill(ephemeral_bytes.as_mut())?;
    let ephemeral = x25519_dalek::StaticSecret::from(*ephemeral_bytes);
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(recipient.0));
    if !shared.was_contributory() {
        return Err(PacketError::WrongRecipient(recipient.key_id()));
    }

    let mut payload_key = Zeroizing::new([0u8; 32]);
    random.fill(payload_key.as_mut())?;
    let mut payload_nonce = [0u8; 12];
    random.fill(&mut payload_nonce)?;

    let kek = derive_kek(shared.as_bytes(), &ephemeral_public, &recipient.0);
    let mut wrapped_key = payload_key.to_vec();
    kek.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0u8; 12]),
        Aad::from(params.packet_id.as_bytes()),
        &mut wrapped_key,
    )
    .map_err(|_| PacketError::CannotOpen)?;

    let hmac_key = part_hmac_key(&payload_key, params.packet_id);
    let manifest = Manifest {
        packet_id: params.packet_id,
        station_id: params.station_id,
        signing_key_id: signer.public_key().key_id(),
        officer_id: params.officer_id,
        created_at: params.created_at,
        schema_version: params.schema_version,
        key_wrap: KeyWrap {
            recipient_key_id: recipient.key_id(),
            ephemeral_public_key: ephemeral_public,
            wrapped_key,
            payload_nonce,
        },
        parts: parts
            .iter()
            .map(|part| PartDigest {
                name: part.name.clone(),
                media_type: part.media_type.clone(),
                length: part.bytes.len() as u64,
                hmac: part_hmac(&hmac_key, &part.name, &part.bytes),
            })
            .collect(),
        captures: params.captures,
    };
    let manifest_json = serde_json::to_vec(&manifest)
        .map_err(|error| PacketError::MalformedManifest(error.to_string()))?;
    if manifest_json.len() > MAX_MANIFEST_BYTES {
        return Err(PacketError::TooLarge("the manifest exceeds 256 KiB"));
    }
    let payload_len = 2 + parts
        .iter()
        .map(|part| 1 + part.name.len() + 4 + part.bytes.len())
        .sum::<usize>();
    let total = PREFIX_BYTES
        + manifest_json.len()
        + SIGNATURE_BYTES
        + payload_len
        + TAG_BYTES
        + SIGNATURE_BYTES;
    if total > MAX_PACKET_BYTES {
        return Err(PacketError::TooLarge(
            "the content exceeds the packet size limit",
        ));
    }
    let manifest_len = u32::try_from(manifest_json.len())
        .map_err(|_| PacketError::TooLarge("manifest length does not fit in 32 bits"))?;

    let mut packet = Vec::with_capacity(total);
    packet.extend_from_slice(MAGIC);
    packet.push(FORMAT_VERSION);
    packet.extend_from_slice(&manifest_len.to_be_bytes());
    packet.extend_from_slice(&manifest_json);
    let manifest_end = packet.len();
    let manifest_signature = signer.sign(&packet);
    packet.extend_from_slice(&manifest_signature);
    let payload_start = packet.len();
    write_payload(&mut packet, parts)?;

    let (signed_prefix, rest) = packet.split_at_mut(payload_start);
    let tag = aes_key(payload_key.as_ref())
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(payload_nonce),
            Aad::from(&signed_prefix[..manifest_end]),
            rest,
        )
        .map_err(|_| PacketError::CannotOpen)?;
    packet.extend_from_slice(tag.as_ref());
    let packet_signature = signer.sign(&packet);
    packet.extend_from_slice(&packet_signature);
    Ok(packet)
}

/// A packet whose structure has been read but whose signatures are not yet checked.
#[derive(Debug)]
pub struct SealedPacket<'a> {
    manifest: Manifest,
    bytes: &'a [u8],
    manifest_end: usize,
}

impl<'a> SealedPacket<'a> {
    /// Reads the structure of `bytes`, checking every length before it is used.
    ///
    /// # Errors
    /// When the input is not a well-formed packet of a supported version.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PacketError> {
        if bytes.len() > MAX_PACKET_BYTES {
            return Err(PacketError::TooLarge(
                "the packet exceeds the packet size limit",
            ));
        }
        if bytes.len() < MAGIC.len() {
            return Err(PacketError::Truncated("shorter than the magic bytes"));
        }
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(PacketError::BadMagic);
        }
        let version = *bytes
            .get(MAGIC.len())
            .ok_or(PacketError::Truncated("no version byte"))?;
        if version != FORMAT_VERSION {
            return Err(PacketError::UnsupportedVersion(version));
        }
        let len_bytes: [u8; 4] = bytes
            .get(MAGIC.len() + 1..PREFIX_BYTES)
            .and_then(|slice| slice.try_into().ok())
            .ok_or(PacketError::Truncated("no manifest length"))?;
        let manifest_len = usize::try_from(u32::from_be_bytes(len_bytes))
            .map_err(|_| PacketError::TooLarge("manifest length"))?;
        if manifest_len > MAX_MANIFEST_BYTES {
            return Err(PacketError::TooLarge("the manifest exceeds 256 KiB"));
        }
        let manifest_end = PREFIX_BYTES + manifest_len;
        if bytes.len() < manifest_end + SIGNATURE_BYTES + 2 + TAG_BYTES + SIGNATURE_BYTES {
            return Err(PacketError::Truncated(
                "shorter than its manifest, signatures and payload",
            ));
        }
        let manifest: Manifest = serde_json::from_slice(&bytes[PREFIX_BYTES..manifest_end])
            .map_err(|error| PacketError::MalformedManifest(error.to_string()))?;
        check_manifest(&manifest)?;
        Ok(Self {
            manifest,
            bytes,
            manifest_end,
        })
    }

    /// The clear-text manifest, not yet verified.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Checks both signatures against the station's registered key.
    ///
    /// # Errors
    /// [`PacketError::WrongStationKey`] when the manifest names another key,
    /// [`PacketError::BadSignature`] when the manifest was altered,
    /// [`PacketError::PayloadTampered`] when only the payload was.
    pub fn verify(self, station: &StationPublicKey) -> Result<VerifiedPacket<'a>, PacketError> {
        let expected = station.key_id();
        if self.manifest.signing_key_id != expected {
            return Err(PacketError::WrongStationKey {
                expected,
                found: self.manifest.signing_key_id.clone(),
            });
        }
        let signature_end = self.manifest_end + SIGNATURE_BYTES;
        if !station.verify(
            &self.bytes[..self.manifest_end],
            &self.bytes[self.manifest_end..signature_end],
        ) {
            return Err(PacketError::BadSignature);
        }
        let (signed, signature) = self.bytes.split_at(self.bytes.len() - SIGNATURE_BYTES);
        if !station.verify(signed, signature) {
            return Err(PacketError::PayloadTampered);
        }
        Ok(VerifiedPacket { inner: self })
    }
}

/// A packet whose signatures were checked against its station's registered key.
#[derive(Debug)]
pub struct VerifiedPacket<'a> {
    inner: SealedPacket<'a>,
}

impl VerifiedPacket<'_> {
    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// Unwraps the packet's payload key with the server's secret key. Only the server can; tests
    /// use it to show that nothing on a station holds it.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn payload_key(
        &self,
        key: &ServerDecryptionKey,
    ) -> Result<Zeroizing<[u8; 32]>, PacketError> {
        unwrap_key(&self.inner.manifest, key)
    }

    /// Decrypts the payload with the server's secret key and checks every part against the
    /// manifest: same names in the same order, same lengths, same keyed hashes.
    ///
    /// # Errors
    /// [`PacketError::WrongRecipient`] when sealed for another key; [`PacketError::CannotOpen`]
    /// when the key wrap or the payload does not authenticate; [`PacketError::PayloadMismatch`]
    /// when the payload does not match the manifest.
    pub fn open(&self, key: &ServerDecryptionKey) -> Result<Vec<Part>, PacketError> {
        let manifest = &self.inner.manifest;
        let payload_key = unwrap_key(manifest, key)?;
        let bytes = self.inner.bytes;
        let aad = &bytes[..self.inner.manifest_end];
        let start = self.inner.manifest_end + SIGNATURE_BYTES;
        let end = bytes.len() - SIGNATURE_BYTES;
        let mut plaintext = Zeroizing::new(bytes[start..end].to_vec());
        let length = aes_key(payload_key.as_ref())
            .open_in_place(
                Nonce::assume_unique_for_key(manifest.key_wrap.payload_nonce),
                Aad::from(aad),
                plaintext.as_mut_slice(),
            )
            .map_err(|_| PacketError::CannotOpen)?
            .len();
        let parts = read_payload(&plaintext[..length])?;
        let hmac_key = part_hmac_key(&payload_key, manifest.packet_id);
        if parts.len() != manifest.parts.len() {
            return Err(PacketError::PayloadMismatch(format!(
                "the manifest lists {} parts, the payload holds {}",
                manifest.parts.len(),
                parts.len()
            )));
        }
        for (part, digest) in parts.iter().zip(&manifest.parts) {
            if part.name != digest.name {
                return Err(PacketError::PayloadMismatch(format!(
                    "part {:?} where the manifest lists {:?}",
                    part.name, digest.name
                )));
            }
            if part.bytes.len() as u64 != digest.length
                || part_hmac(&hmac_key, &part.name, &part.bytes) != digest.hmac
            {
                return Err(PacketError::PayloadMismatch(format!(
                    "part {:?} differs from its manifest entry",
                    part.name
                )));
            }
        }
        Ok(parts
            .into_iter()
            .zip(&manifest.parts)
            .map(|(mut part, digest)| {
                part.media_type.clone_from(&digest.media_type);
                part
            })
            .collect())
    }
}

fn unwrap_key(
    manifest: &Manifest,
    key: &ServerDecryptionKey,
) -> Result<Zeroizing<[u8; 32]>, PacketError> {
    let wrap = &manifest.key_wrap;
    let recipient = key.public_key();
    if wrap.recipient_key_id != recipient.key_id() {
        return Err(PacketError::WrongRecipient(wrap.recipient_key_id.clone()));
    }
    let shared = key
        .agree(&wrap.ephemeral_public_key)
        .ok_or(PacketError::CannotOpen)?;
    let kek = derive_kek(&shared, &wrap.ephemeral_public_key, &recipient.0);
    let mut wrapped = Zeroizing::new(wrap.wrapped_key.clone());
    let unwrapped = kek
        .open_in_place(
            Nonce::assume_unique_for_key([0u8; 12]),
            Aad::from(manifest.packet_id.as_bytes()),
            wrapped.as_mut_slice(),
        )
        .map_err(|_| PacketError::CannotOpen)?;
    let mut payload_key = Zeroizing::new([0u8; 32]);
    payload_key.copy_from_slice(unwrapped);
    Ok(payload_key)
}

fn valid_part_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PART_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// The rules part names follow wherever they appear: at most [`MAX_PARTS`], each valid and
/// unique. The error is the reason, for the caller to wrap.
fn check_part_names<'n>(names: impl ExactSizeIterator<Item = &'n str>) -> Result<(), String> {
    if names.len() > MAX_PARTS {
        return Err(format!(
            "{} parts, at most {MAX_PARTS} allowed",
            names.len()
        ));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(names.len());
    for name in names {
        if !valid_part_name(name) {
            return Err(format!("{name:?} is not a valid part name"));
        }
        if seen.contains(&name) {
            return Err(format!("part {name:?} appears twice"));
        }
        seen.push(name);
    }
    Ok(())
}

fn check_parts(parts: &[Part]) -> Result<(), PacketError> {
    check_part_names(parts.iter().map(|part| part.name.as_str()))
        .map_err(PacketError::InvalidPart)?;
    if parts
        .iter()
        .any(|part| u32::try_from(part.bytes.len()).is_err())
    {
        return Err(PacketError::TooLarge("a part exceeds 4 GiB"));
    }
    Ok(())
}

fn check_manifest(manifest: &Manifest) -> Result<(), PacketError> {
    let malformed = |reason: String| Err(PacketError::MalformedManifest(reason));
    if manifest.key_wrap.wrapped_key.len() != 32 + TAG_BYTES {
        return malformed("the wrapped key must be 48 bytes".into());
    }
    check_part_names(manifest.parts.iter().map(|part| part.name.as_str()))
        .map_err(PacketError::MalformedManifest)?;
    for capture in &manifest.captures {
        for name in [&capture.part, &capture.device_payload_part]
            .into_iter()
            .flatten()
        {
            if !manifest.parts.iter().any(|part| &part.name == name) {
                return malformed(format!("a capture refers to missing part {name:?}"));
            }
        }
    }
    Ok(())
}

fn write_payload(out: &mut Vec<u8>, parts: &[Part]) -> Result<(), PacketError> {
    let count = u16::try_from(parts.len()).map_err(|_| PacketError::TooLarge("part count"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for part in parts {
        let name_len =
            u8::try_from(part.name.len()).map_err(|_| PacketError::TooLarge("part name"))?;
        let length =
            u32::try_from(part.bytes.len()).map_err(|_| PacketError::TooLarge("a part"))?;
        out.push(name_len);
        out.extend_from_slice(part.name.as_bytes());
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&part.bytes);
    }
    Ok(())
}

/// Reads a decrypted payload into its parts (the `payload` rule of the module docs), checking
/// every length before it is used. [`VerifiedPacket::open`] calls it after decryption; it is
/// public so the payload reader can be fuzzed on its own.
///
/// # Errors
/// [`PacketError::PayloadMismatch`] naming where the input stops making sense.
pub fn read_payload(mut input: &[u8]) -> Result<Vec<Part>, PacketError> {
    fn take<'b>(input: &mut &'b [u8], n: usize, what: &str) -> Result<&'b [u8], PacketError> {
        if input.len() < n {
            return Err(PacketError::PayloadMismatch(format!(
                "the payload ends inside {what}"
            )));
        }
        let (head, tail) = input.split_at(n);
        *input = tail;
        Ok(head)
    }
    let count_bytes = take(&mut input, 2, "the part count")?;
    let count = usize::from(u16::from_be_bytes([count_bytes[0], count_bytes[1]]));
    if count > MAX_PARTS {
        return Err(PacketError::PayloadMismatch(format!(
            "{count} parts, at most {MAX_PARTS} allowed"
        )));
    }
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = usize::from(take(&mut input, 1, "a part name length")?[0]);
        let name = std::str::from_utf8(take(&mut input, name_len, "a part name")?)
            .map_err(|_| PacketError::PayloadMismatch("a part name is not UTF-8".into()))?;
        let length_bytes: [u8; 4] = take(&mut input, 4, "a part length")?
            .try_into()
            .map_err(|_| PacketError::PayloadMismatch("a part length".into()))?;
        let length = usize::try_from(u32::from_be_bytes(length_bytes))
            .map_err(|_| PacketError::TooLarge("a part"))?;
        let bytes = take(&mut input, length, "a part's bytes")?.to_vec();
        parts.push(Part::new(name, String::new(), bytes));
    }
    if !input.is_empty() {
        return Err(PacketError::PayloadMismatch(format!(
            "{} bytes follow the last part",
            input.len()
        )));
    }
    Ok(parts)
}

fn derive_kek(shared: &[u8; 32], ephemeral_public: &[u8; 32], recipient: &[u8; 32]) -> LessSafeKey {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_public);
    salt[32..].copy_from_slice(recipient);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(shared);
    let okm = prk
        .expand(&[KEY_WRAP_INFO], &AES_256_GCM)
        .expect("HKDF-SHA256 can always produce 32 bytes");
    LessSafeKey::new(UnboundKey::from(okm))
}

fn part_hmac_key(payload_key: &[u8; 32], packet_id: Uuid) -> hmac::Key {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, packet_id.as_bytes()).extract(payload_key);
    let okm = prk
        .expand(&[PART_HMAC_INFO], hmac::HMAC_SHA256)
        .expect("HKDF-SHA256 can always produce 32 bytes");
    hmac::Key::from(okm)
}

fn part_hmac(key: &hmac::Key, name: &str, bytes: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    // Names are at most 64 bytes (checked before sealing and after reading).
    context.update(&[u8::try_from(name.len()).unwrap_or(u8::MAX)]);
    context.update(name.as_bytes());
    context.update(bytes);
    crate::hex(context.sign().as_ref())
}

fn aes_key(bytes: &[u8]) -> LessSafeKey {
    let key = UnboundKey::new(&aead::AES_256_GCM, bytes).expect("AES-256 keys are 32 bytes");
    LessSafeKey::new(key)
}

#[cfg(test)]
mod tests;
