//! The sealed packet: how one enrollment travels from a station to the server.
//!
//! Byte layout (format version 1):
//!
//! ```text
//! packet    = magic "ESPK" (4 bytes)
//!           ‖ version 0x01 (1 byte)
//!           ‖ header_len (u32, big-endian)
//!           ‖ header (header_len bytes of UTF-8 JSON, see PacketHeader; at most 16 KiB)
//!           ‖ body (AES-256-GCM ciphertext ‖ 16-byte tag of the content;
//!                   AAD = every byte before the body, so the header cannot be altered)
//!           ‖ signature (64 bytes, Ed25519 by the station over every byte before it)
//! ```
//!
//! The content key (DEK) is 32 fresh random bytes per packet. It is wrapped for the server:
//!
//! ```text
//! shared      = X25519(ephemeral secret, server public)          (fresh ephemeral per packet)
//! KEK         = HKDF-SHA256(salt = ephemeral public ‖ server public, ikm = shared,
//!                           info = "enrollment-station/packet-v1/key-wrap")
//! wrapped_key = AES-256-GCM(KEK, nonce = 12 zero bytes, DEK, aad = packet id bytes)
//! ```
//!
//! The zero nonce is safe because each KEK encrypts exactly one message. The station forgets
//! the ephemeral secret and the DEK as soon as the packet is sealed, so nothing it keeps can
//! open the packet again. Opening errors are deliberately coarse ([`PacketError::CannotOpen`]).

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::hkdf;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::keys::{ServerDecryptionKey, ServerPublicKey, StationPublicKey, StationSigningKey};
use crate::random::{RandomError, RandomSource};

/// The four bytes every packet starts with.
pub const MAGIC: &[u8; 4] = b"ESPK";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// The largest header accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The largest packet accepted, header and signature included.
pub const MAX_PACKET_BYTES: usize = 32 * 1024 * 1024;

const PREFIX_BYTES: usize = MAGIC.len() + 1 + 4;
const TAG_BYTES: usize = 16;
const SIGNATURE_BYTES: usize = 64;
const KEY_WRAP_INFO: &[u8] = b"enrollment-station/packet-v1/key-wrap";

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
    /// The packet or its header is larger than allowed.
    #[error("the packet is too large: {0}")]
    TooLarge(&'static str),
    /// The header is not valid JSON of the expected shape.
    #[error("the packet header is malformed: {0}")]
    MalformedHeader(String),
    /// The station's signature does not match the packet.
    #[error("the packet signature is not valid for the sending station")]
    BadSignature,
    /// The packet was sealed for a server key this server does not hold.
    #[error("the packet was sealed for server key {0}, not this server's key")]
    WrongRecipient(String),
    /// The packet cannot be opened with the given key; deliberately says no more.
    #[error("the packet cannot be opened")]
    CannotOpen,
    /// No randomness was available while sealing.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// The clear-text header of a packet: routing and key-wrap data, never applicant data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketHeader {
    /// Unique id of the packet, chosen by the station.
    pub packet_id: Uuid,
    /// The station that sealed and signed it.
    pub station_id: Uuid,
    /// When it was sealed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// [`ServerPublicKey::key_id`] of the key it was sealed for.
    pub recipient_key_id: String,
    /// The ephemeral X25519 public key of the key wrap.
    #[serde(with = "crate::b64::array")]
    pub ephemeral_public_key: [u8; 32],
    /// The content key, wrapped (48 bytes: ciphertext and tag).
    #[serde(with = "crate::b64")]
    pub wrapped_key: Vec<u8>,
    /// The nonce of the body encryption.
    #[serde(with = "crate::b64::array")]
    pub body_nonce: [u8; 12],
}

/// SHA-256 of a sealed packet in lower-case hex: how station and server name its exact bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// What the station knows about a packet it is sealing.
#[derive(Debug, Clone, Copy)]
pub struct SealParams {
    /// Unique id of the packet.
    pub packet_id: Uuid,
    /// The sealing station.
    pub station_id: Uuid,
    /// When it is sealed.
    pub created_at: OffsetDateTime,
}

/// Seals `content` for `recipient`, signed by `signer`. See the module docs for the layout.
///
/// # Errors
/// When no randomness is available or the content is too large for a packet.
pub fn seal(
    params: SealParams,
    content: &[u8],
    recipient: &ServerPublicKey,
    signer: &StationSigningKey,
    random: &dyn RandomSource,
) -> Result<Vec<u8>, PacketError> {
    let mut ephemeral_bytes = Zeroizing::new([0u8; 32]);
    random.fill(ephemeral_bytes.as_mut())?;
    let ephemeral = x25519_dalek::StaticSecret::from(*ephemeral_bytes);
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(recipient.0));
    if !shared.was_contributory() {
        return Err(PacketError::WrongRecipient(recipient.key_id()));
    }

    let mut content_key = Zeroizing::new([0u8; 32]);
    random.fill(content_key.as_mut())?;
    let mut body_nonce = [0u8; 12];
    random.fill(&mut body_nonce)?;

    let kek = derive_kek(shared.as_bytes(), &ephemeral_public, &recipient.0);
    let mut wrapped_key = content_key.to_vec();
    kek.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0u8; 12]),
        Aad::from(params.packet_id.as_bytes()),
        &mut wrapped_key,
    )
    .map_err(|_| PacketError::CannotOpen)?;

    let header = PacketHeader {
        packet_id: params.packet_id,
        station_id: params.station_id,
        created_at: params.created_at,
        recipient_key_id: recipient.key_id(),
        ephemeral_public_key: ephemeral_public,
        wrapped_key,
        body_nonce,
    };
    let header_json = serde_json::to_vec(&header)
        .map_err(|error| PacketError::MalformedHeader(error.to_string()))?;
    let total = PREFIX_BYTES + header_json.len() + content.len() + TAG_BYTES + SIGNATURE_BYTES;
    if total > MAX_PACKET_BYTES {
        return Err(PacketError::TooLarge(
            "the content exceeds the packet size limit",
        ));
    }
    let header_len = u32::try_from(header_json.len())
        .map_err(|_| PacketError::TooLarge("header length does not fit in 32 bits"))?;

    let mut packet = Vec::with_capacity(total);
    packet.extend_from_slice(MAGIC);
    packet.push(FORMAT_VERSION);
    packet.extend_from_slice(&header_len.to_be_bytes());
    packet.extend_from_slice(&header_json);
    let body_start = packet.len();
    packet.extend_from_slice(content);

    let body_key = aes_key(content_key.as_ref());
    let (aad, body) = packet.split_at_mut(body_start);
    let tag = body_key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(body_nonce),
            Aad::from(&*aad),
            body,
        )
        .map_err(|_| PacketError::CannotOpen)?;
    packet.extend_from_slice(tag.as_ref());
    let signature = signer.sign(&packet);
    packet.extend_from_slice(&signature);
    Ok(packet)
}

/// A packet whose structure has been read but whose signature is not yet checked.
#[derive(Debug)]
pub struct SealedPacket<'a> {
    header: PacketHeader,
    signed: &'a [u8],
    header_end: usize,
    signature: &'a [u8],
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
            .ok_or(PacketError::Truncated("no header length"))?;
        let header_len = usize::try_from(u32::from_be_bytes(len_bytes))
            .map_err(|_| PacketError::TooLarge("header length"))?;
        if header_len > MAX_HEADER_BYTES {
            return Err(PacketError::TooLarge("the header exceeds 16 KiB"));
        }
        let header_end = PREFIX_BYTES + header_len;
        if bytes.len() < header_end + TAG_BYTES + SIGNATURE_BYTES {
            return Err(PacketError::Truncated(
                "shorter than its header, tag and signature",
            ));
        }
        let header: PacketHeader = serde_json::from_slice(&bytes[PREFIX_BYTES..header_end])
            .map_err(|error| PacketError::MalformedHeader(error.to_string()))?;
        if header.wrapped_key.len() != 32 + TAG_BYTES {
            return Err(PacketError::MalformedHeader(
                "the wrapped key must be 48 bytes".into(),
            ));
        }
        let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_BYTES);
        Ok(Self {
            header,
            signed,
            header_end,
            signature,
        })
    }

    /// The clear-text header.
    pub fn header(&self) -> &PacketHeader {
        &self.header
    }

    /// Checks the station's signature over the whole packet.
    ///
    /// # Errors
    /// [`PacketError::BadSignature`] when any byte was changed or another key signed it.
    pub fn verify(self, station: &StationPublicKey) -> Result<VerifiedPacket<'a>, PacketError> {
        if station.verify(self.signed, self.signature) {
            Ok(VerifiedPacket { inner: self })
        } else {
            Err(PacketError::BadSignature)
        }
    }
}

/// A packet whose signature was checked against its station's registered key.
#[derive(Debug)]
pub struct VerifiedPacket<'a> {
    inner: SealedPacket<'a>,
}

impl VerifiedPacket<'_> {
    /// The clear-text header.
    pub fn header(&self) -> &PacketHeader {
        &self.inner.header
    }

    /// Unwraps the packet's content key with the server's secret key.
    ///
    /// # Errors
    /// [`PacketError::WrongRecipient`] when sealed for another key; [`PacketError::CannotOpen`]
    /// when the key wrap does not authenticate.
    pub fn content_key(
        &self,
        key: &ServerDecryptionKey,
    ) -> Result<Zeroizing<[u8; 32]>, PacketError> {
        let header = &self.inner.header;
        let recipient = key.public_key();
        if header.recipient_key_id != recipient.key_id() {
            return Err(PacketError::WrongRecipient(header.recipient_key_id.clone()));
        }
        let shared = key
            .agree(&header.ephemeral_public_key)
            .ok_or(PacketError::CannotOpen)?;
        let kek = derive_kek(&shared, &header.ephemeral_public_key, &recipient.0);
        let mut wrapped = Zeroizing::new(header.wrapped_key.clone());
        let unwrapped = kek
            .open_in_place(
                Nonce::assume_unique_for_key([0u8; 12]),
                Aad::from(header.packet_id.as_bytes()),
                wrapped.as_mut_slice(),
            )
            .map_err(|_| PacketError::CannotOpen)?;
        let mut content_key = Zeroizing::new([0u8; 32]);
        content_key.copy_from_slice(unwrapped);
        Ok(content_key)
    }

    /// Decrypts the content with the server's secret key.
    ///
    /// # Errors
    /// As [`Self::content_key`], and [`PacketError::CannotOpen`] when the body does not
    /// authenticate.
    pub fn open(&self, key: &ServerDecryptionKey) -> Result<Zeroizing<Vec<u8>>, PacketError> {
        let content_key = self.content_key(key)?;
        let (aad, body) = self.inner.signed.split_at(self.inner.header_end);
        let mut plaintext = Zeroizing::new(body.to_vec());
        let length = aes_key(content_key.as_ref())
            .open_in_place(
                Nonce::assume_unique_for_key(self.inner.header.body_nonce),
                Aad::from(aad),
                plaintext.as_mut_slice(),
            )
            .map_err(|_| PacketError::CannotOpen)?
            .len();
        plaintext.truncate(length);
        Ok(plaintext)
    }
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

fn aes_key(bytes: &[u8]) -> LessSafeKey {
    let key = UnboundKey::new(&aead::AES_256_GCM, bytes).expect("AES-256 keys are 32 bytes");
    LessSafeKey::new(key)
}

#[cfg(test)]
mod tests;
