//! The manifest: the signed, clear-text description of a packet.
//!
//! It says who sealed the packet, for whom, when and how the biometrics were captured, and
//! commits to every part of the sealed payload by name, length and keyed hash. It never holds
//! applicant data: names, document numbers, images and signed device payloads (which embed
//! images) travel only inside the sealed payload. See `docs/packet-format.md`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use formats::FingerPosition;

/// The clear-text, signed description of a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id of the packet, chosen by the station; also the enrollment id.
    pub packet_id: Uuid,
    /// The station that sealed and signed it.
    pub station_id: Uuid,
    /// [`crate::keys::StationPublicKey::key_id`] of the key that signed it.
    pub signing_key_id: String,
    /// The officer who enrolled the applicant (their station username).
    pub officer_id: String,
    /// When it was sealed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Version of the payload's content schema ([`crate::content::CONTENT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// How the payload key is wrapped for the server.
    pub key_wrap: KeyWrap,
    /// Every part of the sealed payload, in payload order.
    pub parts: Vec<PartDigest>,
    /// How each biometric was captured, one entry per face or finger.
    pub captures: Vec<CaptureRecord>,
}

/// The payload key, wrapped for one server key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyWrap {
    /// [`crate::keys::ServerPublicKey::key_id`] of the key it was sealed for.
    pub recipient_key_id: String,
    /// The ephemeral X25519 public key.
    #[serde(with = "crate::b64::array")]
    pub ephemeral_public_key: [u8; 32],
    /// The 32-byte payload key encrypted under the key-wrap key, with its 16-byte tag.
    #[serde(with = "crate::b64")]
    pub wrapped_key: Vec<u8>,
    /// The nonce of the payload encryption.
    #[serde(with = "crate::b64::array")]
    pub payload_nonce: [u8; 12],
}

/// One part of the sealed payload, committed to by the signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartDigest {
    /// The part's name, e.g. `demographics.json` or `finger-07.fir`.
    pub name: String,
    /// Its media type, e.g. `image/png`.
    pub media_type: String,
    /// Its length in bytes.
    pub length: u64,
    /// HMAC-SHA256 of the part under a key derived from the payload key, lower-case hex. Only
    /// the holder of the payload key (the server) can check it, so it reveals nothing about the
    /// part to anyone else.
    pub hmac: String,
}

/// What was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// The face photograph.
    Face,
    /// One finger.
    Finger,
}

/// The device that produced a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceIdentity {
    /// The backend that drove it, e.g. `simulated`, `v4l2`, `sbi`.
    pub backend: String,
    /// Its id within the backend.
    pub id: String,
    /// Maker and model, as the device reports them.
    pub name: String,
    /// Serial number, when the device reports one.
    pub serial: Option<String>,
    /// Firmware version, when the device reports one.
    pub firmware: Option<String>,
}

/// How one biometric was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRecord {
    /// Face or finger.
    pub modality: Modality,
    /// Which finger, for a finger.
    pub finger: Option<FingerPosition>,
    /// The payload part holding the image; none when an exception was declared instead.
    pub part: Option<String>,
    /// Image width in pixels (0 with an exception).
    pub width: u32,
    /// Image height in pixels (0 with an exception).
    pub height: u32,
    /// Scan resolution of a finger image, pixels per inch.
    pub resolution_ppi: Option<u16>,
    /// The device.
    pub device: DeviceIdentity,
    /// How many captures were taken for this biometric (the kept one included).
    pub attempts: u32,
    /// True when the officer kept a capture that did not pass the quality checks.
    pub force_captured: bool,
    /// A 0–100 quality score, when one was computed.
    pub quality: Option<u8>,
    /// Why no usable image exists (e.g. "amputated"), when an exception was declared.
    pub exception: Option<String>,
    /// The payload part holding the device's signed response (e.g. an SBI JWS), when the
    /// device signs its captures.
    pub device_payload_part: Option<String>,
    /// The device's hash-chain value after this capture (SBI), lower-case hex.
    pub chain_hash: Option<String>,
}

impl CaptureRecord {
    /// True when a supervisor must approve the enrollment before it leaves the station.
    pub fn needs_approval(&self) -> bool {
        self.force_captured || self.exception.is_some()
    }
}
