//! JSON bodies of the central server's HTTP API (version 1).
//!
//! | method and path | request | answer |
//! |---|---|---|
//! | `GET /api/v1/health` | — | [`Health`] |
//! | `GET /api/v1/openapi.json` | — | the OpenAPI 3 description of this table |
//! | `GET /metrics` | — | Prometheus text format |
//! | `POST /api/v1/stations` | [`RegisterStationRequest`] | [`RegisterStationResponse`] |
//! | `POST /api/v1/uploads` | [`Announce`] | [`PacketStatus`] |
//! | `GET /api/v1/uploads/{id}` | — | [`PacketStatus`] (how many bytes the server holds) |
//! | `PUT /api/v1/uploads/{id}?offset=N` | the packet's bytes from `N` (`application/octet-stream`) | [`PacketStatus`] |
//! | `POST /api/v1/uploads/{id}/finalize` | — | [`PacketStatus`] with the signed receipt |
//! | `POST /api/v1/statuses` | [`StatusQuery`] | [`StatusAnswer`] |
//!
//! Every route below `stations` is a signed request ([`crate::request`]). Delivery is in two
//! phases: the station announces a packet (id, SHA-256, size); the server answers what it holds
//! (nothing yet, a part of it, or its verdict and receipt when it has judged it already, so a
//! packet that reached the server another way, e.g. on a USB stick, is never sent again). The
//! station then sends the missing bytes in chunks at the offset the server names, and asks the
//! server to finalize: the server checks the hash, the signatures and the content, and answers
//! its verdict with a receipt signed by its receipt key. Any failure is an [`ApiError`] with a
//! stable `code` the station can branch on.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{AuditClaim, AuditHead};
use crate::keys::{StationPublicKey, StationSigningKey};

/// Path of the health check.
pub const HEALTH_PATH: &str = "/api/v1/health";
/// Path of station registration.
pub const STATIONS_PATH: &str = "/api/v1/stations";
/// Path where uploads are announced; `UPLOADS_PATH/{id}` is one upload.
pub const UPLOADS_PATH: &str = "/api/v1/uploads";
/// Path of the batch status query.
pub const STATUSES_PATH: &str = "/api/v1/statuses";
/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Path of the Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";
/// The most bytes one chunk may carry.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// The most packet ids one status query may name.
pub const MAX_STATUS_QUERY: usize = 500;

/// The answer of the health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// The server's current encryption key id.
    pub server_key_id: String,
}

pub use crate::registration::{
    server_fingerprint, ProvisioningToken, RegisterStationRequest, RegisterStationResponse,
    RegistrationError,
};

/// The server's verdict on a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketVerdict {
    /// Stored; the enrollment will be processed.
    Accepted,
    /// Refused for its content; sending it again will not help.
    Rejected,
}

/// A station announces a packet it is about to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    /// The packet id (the enrollment id).
    pub packet_id: Uuid,
    /// SHA-256 of the whole packet, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Where a packet is on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketState {
    /// The server has never heard of it: send it (again).
    Unknown,
    /// Announced; `received` bytes are held.
    Receiving,
    /// Judged and stored.
    Accepted,
    /// Judged and refused for its content.
    Rejected,
}

/// What the server holds of one packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketStatus {
    /// The packet.
    pub packet_id: Uuid,
    /// Where it is.
    pub state: PacketState,
    /// Bytes held, while [`PacketState::Receiving`]: the offset of the next chunk.
    pub received: u64,
    /// The signed receipt, once judged.
    pub receipt: Option<SignedReceipt>,
    /// Once judged, where the packet is in the server's work after intake: the stage it waits
    /// for or is in (`images`: every image being decoded in full; later duplicate search and
    /// others), `done`, or `held` (a stage stopped it for a person at the server to look at).
    /// Informational: the receipt is the verdict, whatever the stage. Absent from servers
    /// before stages, and while the packet is not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// The server's receipt for a judged packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The packet.
    pub packet_id: Uuid,
    /// The station that signed it.
    pub station_id: Uuid,
    /// SHA-256 of the packet bytes the server judged.
    pub sha256: String,
    /// The verdict.
    pub verdict: PacketVerdict,
    /// Why, when rejected.
    pub reason: Option<String>,
    /// When the server judged it, RFC 3339.
    pub judged_at: String,
}

/// A [`Receipt`] as JSON text with the server's Ed25519 signature over exactly that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The receipt's JSON.
    pub body: String,
    /// Base64 signature of `body` by the server's receipt key.
    pub signature: String,
}

/// Why a receipt cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The signature is not the server's.
    #[error("the receipt is not signed by the server's receipt key")]
    BadSignature,
    /// The body is not a receipt.
    #[error("the receipt is unreadable: {0}")]
    Unreadable(String),
}

impl SignedReceipt {
    /// Signs `receipt` with the server's receipt key.
    pub fn sign(receipt: &Receipt, key: &StationSigningKey) -> Self {
        let body = serde_json::to_string(receipt).unwrap_or_default();
        let signature = crate::keys::encode_signature(&key.sign(body.as_bytes()));
        Self { body, signature }
    }

    /// The receipt, when `key` signed it.
    ///
    /// # Errors
    /// See [`ReceiptError`].
    pub fn verify(&self, key: &StationPublicKey) -> Result<Receipt, ReceiptError> {
        let signature =
            crate::keys::decode_signature(&self.signature).ok_or(ReceiptError::BadSignature)?;
        if !key.verify(self.body.as_bytes(), &signature) {
            return Err(ReceiptError::BadSignature);
        }
        serde_json::from_str(&self.body).map_err(|e| ReceiptError::Unreadable(e.to_string()))
    }
}

/// A station asks where several packets are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// At most [`MAX_STATUS_QUERY`] packet ids.
    pub packet_ids: Vec<Uuid>,
    /// The station's audit head (every sync pass opens with this query, so the server hears
    /// it at every contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditClaim>,
}

/// The answer to a [`StatusQuery`], one status per id asked, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswer {
    /// The statuses.
    pub statuses: Vec<PacketStatus>,
    /// The station's audit head as the server now holds it: the anchor of the next claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_known: Option<AuditHead>,
    /// What the server found wrong with the station's log, when anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_conflict: Option<String>,
}

/// Any error the API answers, with a stable machine-readable code.
///
/// A refusal that is final for a packet (it can never pass, so the station stops sending it)
/// carries a [`SignedReceipt`] with the verdict `rejected`, naming the packet, the station and
/// the SHA-256 of the exact bytes refused, exactly as an acceptance does. A station trusts
/// nothing else: an error without a receipt its server signed, whatever its code, leaves the
/// packet pending (anything on the link can write a JSON error body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable code, e.g. `unknown_station`, `bad_signature`, `malformed_packet`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The server's signed refusal, when the error is a final verdict on a packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<SignedReceipt>,
}

impl ApiError {
    /// An error that is no verdict on any packet.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            receipt: None,
        }
    }
}
