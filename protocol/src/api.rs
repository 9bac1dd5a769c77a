//! JSON bodies of the central server's HTTP API (version 1).
//!
//! | method and path | request | answer |
//! |---|---|---|
//! | `GET /api/v1/health` | — | [`Health`] |
//! | `POST /api/v1/stations` | [`RegisterStationRequest`] | [`RegisterStationResponse`] |
//! | `POST /api/v1/packets` | a sealed packet (`application/octet-stream`) | [`UploadReceipt`] |
//!
//! A packet the server opened and judged gets an [`UploadReceipt`] (HTTP 200 when accepted,
//! 422 when rejected for its content); any other failure is an [`ApiError`] with a stable
//! `code` the station can branch on.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::{ServerPublicKey, StationPublicKey};

/// Path of the health check.
pub const HEALTH_PATH: &str = "/api/v1/health";
/// Path of station registration.
pub const STATIONS_PATH: &str = "/api/v1/stations";
/// Path of packet upload.
pub const PACKETS_PATH: &str = "/api/v1/packets";

/// The answer of the health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// The server's current encryption key id.
    pub server_key_id: String,
}

/// A one-time token an administrator issues so that one station can register.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct ProvisioningToken(String);

impl ProvisioningToken {
    /// Wraps the token text.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token text, to print it once for the administrator or to hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProvisioningToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProvisioningToken([redacted])")
    }
}

/// A station asks to be registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStationRequest {
    /// The one-time token from the administrator.
    pub token: ProvisioningToken,
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
}

/// The server's verdict on a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketVerdict {
    /// Stored; the enrollment will be processed.
    Accepted,
    /// Refused for its content; sending it again will not help.
    Rejected,
}

/// The server's answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReceipt {
    /// The packet this answers.
    pub packet_id: Uuid,
    /// The verdict.
    pub verdict: PacketVerdict,
    /// Why, when rejected.
    pub reason: Option<String>,
    /// True when the server already had this exact packet.
    pub duplicate: bool,
}

/// Any error the API answers, with a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable code, e.g. `unknown_station`, `bad_signature`, `malformed_packet`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}
