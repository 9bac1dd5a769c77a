//! A supervisor's approval of a flagged enrollment, signed by the station, so the server can
//! refuse a flagged packet that no supervisor approved.
//!
//! A packet is *flagged* when its signed manifest declares a missing finger or a capture kept
//! despite failing the quality checks ([`needs_approval`]). Such a packet is accepted only with
//! an approval that names it:
//!
//! ```text
//! approval  = JSON { packet_id, packet_sha256, capturing_officer, supervisor, decided_at,
//!                    comment_sha256 }
//! signature = Ed25519(station signing key, "enrollment-station/approval-v1\n" ‖ approval JSON)
//! ```
//!
//! The station signs it only inside the supervisor's own logged-in decision, with a key that
//! lives sealed in its vault: a row edited in the station's database approves nothing, an
//! approval moved to another packet names the wrong id and bytes, and a supervisor cannot
//! approve what they captured themselves (the server checks that the two names differ).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys::{StationPublicKey, StationSigningKey};
use crate::manifest::{CaptureRecord, Manifest};

const LABEL: &str = "enrollment-station/approval-v1\n";

/// Whether a packet with this manifest must carry a supervisor's approval.
pub fn needs_approval(manifest: &Manifest) -> bool {
    manifest.captures.iter().any(CaptureRecord::needs_approval)
}

/// What a supervisor approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The packet.
    pub packet_id: Uuid,
    /// SHA-256 of the sealed packet's bytes, lower-case hex.
    pub packet_sha256: String,
    /// The officer who captured it (the manifest's `officer_id`).
    pub capturing_officer: String,
    /// The supervisor who approved it.
    pub supervisor: String,
    /// When, RFC 3339.
    pub decided_at: String,
    /// SHA-256 of the supervisor's comment, lower-case hex (the comment stays on the station).
    pub comment_sha256: String,
}

/// An [`Approval`] as JSON with the station's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedApproval {
    /// The approval's JSON.
    pub body: String,
    /// Base64 Ed25519 signature of the label and `body` by the station's key.
    pub signature: String,
}

/// Why an approval does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// None came with a flagged packet.
    #[error("the packet declares a missing finger or a capture below the quality checks, and no supervisor's approval came with it")]
    Missing,
    /// Not signed by the packet's station.
    #[error("the approval is not signed by the station that sealed the packet")]
    BadSignature,
    /// Not an approval.
    #[error("the approval is unreadable: {0}")]
    Unreadable(String),
    /// For another packet or other bytes.
    #[error("the approval is for another packet")]
    OtherPacket,
    /// The capturing officer approved their own enrollment.
    #[error("the approval was given by the officer who captured the enrollment ({0}); another supervisor must decide")]
    SelfApproved(String),
}

impl ApprovalError {
    /// The stable code the server answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "approval_required",
            Self::SelfApproved(_) => "approval_self",
            Self::BadSignature | Self::Unreadable(_) | Self::OtherPacket => "approval_invalid",
        }
    }
}

impl SignedApproval {
    /// Signs `approval` with the station's key.
    pub fn sign(approval: &Approval, key: &StationSigningKey) -> Self {
        let body = serde_json::to_string(approval).unwrap_or_default();
        let signature =
            crate::keys::encode_signature(&key.sign(format!("{LABEL}{body}").as_bytes()));
        Self { body, signature }
    }

    /// The approval, when `station_key` signed it for the packet `manifest` describes, whose
    /// bytes hash to `sha256`, and the supervisor is not the capturing officer.
    ///
    /// # Errors
    /// See [`ApprovalError`].
    pub fn verify(
        &self,
        station_key: &StationPublicKey,
        manifest: &Manifest,
        sha256: &str,
    ) -> Result<Approval, ApprovalError> {
        let signature =
            crate::keys::decode_signature(&self.signature).ok_or(ApprovalError::BadSignature)?;
        if !station_key.verify(format!("{LABEL}{}", self.body).as_bytes(), &signature) {
            return Err(ApprovalError::BadSignature);
        }
        let approval: Approval = serde_json::from_str(&self.body)
            .map_err(|e| ApprovalError::Unreadable(e.to_string()))?;
        if approval.packet_id != manifest.packet_id
            || approval.packet_sha256 != sha256
            || approval.capturing_officer != manifest.officer_id
        {
            return Err(ApprovalError::OtherPacket);
        }
        if approval
            .supervisor
            .eq_ignore_ascii_case(&manifest.officer_id)
        {
            return Err(ApprovalError::SelfApproved(approval.supervisor));
        }
        Ok(approval)
    }
}

/// The body of `POST /api/v1/uploads/{id}/finalize` (empty for a packet that needs nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalizeRequest {
    /// The supervisor's approval of a flagged packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<SignedApproval>,
}
