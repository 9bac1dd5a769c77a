//! What happens to an uploaded packet, in order:
//!
//! 1. its structure is read (malformed → refused, nothing stored);
//! 2. its station must be registered and not revoked, and both signatures valid with the
//!    station's registered key (else refused, naming which: another key, an altered manifest,
//!    an altered payload; the server keeps nothing a registered station did not sign);
//! 3. a packet id seen before: the same bytes get the earlier verdict again (a retry after a
//!    lost answer), different bytes are refused;
//! 4. a packet whose manifest declares a missing finger or a capture below the quality checks
//!    must come with a supervisor's approval signed by its station for these bytes, by someone
//!    other than the capturing officer ([`protocol::approval`]); else it is refused (not
//!    judged: the station puts it back before a supervisor);
//! 5. it is opened, every part checked against the manifest, and the content checked: the
//!    schema version, the form fields, the ten fingers, every image's structure (its record and
//!    its own header, read without decoding the pixels) at its recorded size, and that the audit
//!    excerpt is an unbroken stretch of the station's chain;
//! 6. the packet is stored with its verdict: accepted, or rejected with a reason; the audit
//!    entries an accepted packet carries are kept with the station's earlier ones, so the server
//!    holds its own copy of each station's log (`enrollment-server audit`). An accepted packet
//!    is stored with a job for its first stage after intake ([`crate::stages`]: decoding every
//!    image in full, then any later stage), in the same transaction.

use formats::records::finger::FingerRecord;
use image::ImageFormat;
use protocol::approval::{needs_approval, ApprovalError, SignedApproval};
use protocol::audit::AuditRecord;
use protocol::content::{EnrollmentContent, CONTENT_SCHEMA_VERSION};
use protocol::form::FormLibrary;
use protocol::manifest::Manifest;
use protocol::packet::{sha256_hex, PacketError, Part, SealedPacket};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::data::{DataError, Identity, PacketRecord, StationRecord, Storage};

/// Why a packet was refused before any verdict on its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// Not a readable packet.
    #[error("malformed packet: {0}")]
    Malformed(PacketError),
    /// The header names a station the server does not know.
    #[error("station {0} is not registered")]
    UnknownStation(Uuid),
    /// The station was revoked.
    #[error("station {0} has been revoked")]
    Revoked(Uuid),
    /// The manifest names a key other than the station's registered one.
    #[error("{0}")]
    WrongStationKey(PacketError),
    /// The manifest was altered after the station signed it.
    #[error("the packet manifest was altered after the station signed it")]
    BadSignature,
    /// The payload was altered after the station signed it.
    #[error("the packet's sealed payload was altered after the station signed it")]
    PayloadTampered,
    /// Sealed for a key this server does not hold.
    #[error("the packet was sealed for server key {0}, which this server does not hold")]
    WrongRecipient(String),
    /// The id was used before for different bytes.
    #[error("packet id {0} was already received with different content")]
    IdReused(Uuid),
    /// A flagged packet without a valid supervisor's approval.
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// The content names a form version this server does not hold (yet): not a verdict — a
    /// station updated before its server, or a replica whose `forms/` lags the others'. The
    /// packet waits at the station and is sent again.
    #[error("this server does not know form {form} version {version} yet; the packet waits until it is installed here")]
    FormNotKnown {
        /// The form's id.
        form: String,
        /// Its version.
        version: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Data(#[from] DataError),
}

impl IntakeError {
    /// The stable code a station branches on; `None` for a failure of the server itself.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            Self::Malformed(_) => "malformed_packet",
            Self::UnknownStation(_) => "unknown_station",
            Self::Revoked(_) => "station_revoked",
            Self::WrongStationKey(_) => "wrong_station_key",
            Self::BadSignature => "bad_signature",
            Self::PayloadTampered => "payload_tampered",
            Self::WrongRecipient(_) => "wrong_recipient",
            Self::IdReused(_) => "packet_id_reused",
            Self::Approval(error) => error.code(),
            Self::FormNotKnown { .. } => "form_not_known",
            Self::Data(_) => return None,
        })
    }

    /// Whether the packet itself can never pass (the station's registration is not in doubt).
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Self::UnknownStation(_)
                | Self::Revoked(_)
                | Self::Approval(_)
                | Self::FormNotKnown { .. }
                | Self::Data(_)
        )
    }
}

/// The verdict on a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The stored record.
    pub record: PacketRecord,
    /// True when this exact packet had been received before.
    pub duplicate: bool,
}

/// Receives one packet. See the module docs for the order of checks.
///
/// # Errors
/// See [`IntakeError`]; nothing is stored on error.
pub async fn receive(
    data: &dyn Storage,
    bytes: Vec<u8>,
    approval: Option<&SignedApproval>,
    now: OffsetDateTime,
) -> Result<Judged, IntakeError> {
    judge(data, bytes, None, approval, now).await
}

/// [`receive`] for bytes whose SHA-256 (lower-case hex) the caller has just computed and
/// checked, so that a megabyte packet is not hashed twice.
///
/// # Errors
/// See [`IntakeError`]; nothing is stored on error.
pub async fn receive_hashed(
    data: &dyn Storage,
    bytes: Vec<u8>,
    sha256: &str,
    approval: Option<&SignedApproval>,
    now: OffsetDateTime,
) -> Result<Judged, IntakeError> {
    judge(data, bytes, Some(sha256.to_owned()), approval, now).await
}

/// What [`examine`] found: a packet seen before, or a new verdict to store.
enum Examined {
    /// The same packet again: its earlier verdict.
    Again(Judged),
    /// A new verdict, with the audit entries an accepted packet carries.
    New {
        record: PacketRecord,
        audit: Vec<AuditRecord>,
    },
}

/// Looks up what the checks need (the station, an earlier verdict), examines the bytes on the
/// blocking pool (signatures, decryption and image decoding are most of an intake's time),
/// then stores the verdict.
async fn judge(
    data: &dyn Storage,
    bytes: Vec<u8>,
    sha256: Option<String>,
    approval: Option<&SignedApproval>,
    now: OffsetDateTime,
) -> Result<Judged, IntakeError> {
    let header = SealedPacket::parse(&bytes)
        .map_err(IntakeError::Malformed)?
        .manifest()
        .clone();
    let station = data
        .station(header.station_id)
        .await?
        .ok_or(IntakeError::UnknownStation(header.station_id))?;
    if station.revoked {
        return Err(IntakeError::Revoked(station.station_id));
    }
    let earlier = data.packet(header.packet_id).await?;
    let identity = data.identity().clone();
    let approval = approval.cloned();
    let (bytes, examined) = tokio::task::spawn_blocking(move || {
        let examined = examine(
            &identity,
            &bytes,
            sha256,
            &station,
            earlier,
            approval.as_ref(),
            now,
        );
        (bytes, examined)
    })
    .await
    .map_err(|error| DataError::Io {
        context: "checking a packet stopped".into(),
        source: std::io::Error::other(error.to_string()),
    })?;
    let (record, audit) = match examined? {
        Examined::Again(judged) => return Ok(judged),
        Examined::New { record, audit } => (record, audit),
    };
    if let Some(existing) = data.store_packet(&record, &bytes, &audit).await? {
        return repeat(existing, &record.sha256);
    }
    tracing::info!(packet = %record.packet_id, station = %record.station_id, verdict = %record.verdict, "packet judged");
    Ok(Judged {
        record,
        duplicate: false,
    })
}

/// The checks of steps 2 to 5 on bytes whose station is registered and not revoked: pure
/// (no storage), given the earlier verdict on the packet's id if there is one.
fn examine(
    identity: &Identity,
    bytes: &[u8],
    sha256: Option<String>,
    station: &StationRecord,
    earlier: Option<PacketRecord>,
    approval: Option<&SignedApproval>,
    now: OffsetDateTime,
) -> Result<Examined, IntakeError> {
    let sealed = SealedPacket::parse(bytes).map_err(IntakeError::Malformed)?;
    let header = sealed.manifest().clone();
    let verified = sealed
        .verify(&station.signing_key)
        .map_err(|error| match error {
            PacketError::WrongStationKey { .. } => IntakeError::WrongStationKey(error),
            PacketError::PayloadTampered => IntakeError::PayloadTampered,
            _ => IntakeError::BadSignature,
        })?;
    let sha256 = sha256.unwrap_or_else(|| sha256_hex(bytes));
    if let Some(existing) = earlier {
        return repeat(existing, &sha256).map(Examined::Again);
    }
    if needs_approval(&header) {
        approval
            .ok_or(ApprovalError::Missing)?
            .verify(&station.signing_key, &header, &sha256)?;
    }
    let judged = match verified.open(&identity.encryption_key) {
        Ok(parts) => check_content(&identity.forms, parts, &header, now),
        Err(PacketError::WrongRecipient(key_id)) => {
            return Err(IntakeError::WrongRecipient(key_id))
        }
        Err(error @ PacketError::PayloadMismatch(_)) => Err(error.to_string().into()),
        Err(_) => Err(
            "the packet is signed by its station but its content cannot be decrypted"
                .to_owned()
                .into(),
        ),
    };
    let (audit, reason) = match judged {
        Ok(audit) => (audit, None),
        Err(ContentProblem::Rejected(reason)) => (Vec::new(), Some(reason)),
        Err(ContentProblem::FormNotKnown { form, version }) => {
            return Err(IntakeError::FormNotKnown { form, version })
        }
    };
    let accepted = reason.is_none();
    let record = PacketRecord {
        packet_id: header.packet_id,
        station_id: header.station_id,
        sha256,
        verdict: if accepted { "accepted" } else { "rejected" }.to_owned(),
        reason,
        judged_at: crate::data::rfc3339(now),
        stage: crate::stages::entry(accepted).to_owned(),
    };
    Ok(Examined::New { record, audit })
}

/// A packet id seen before: the same bytes get the earlier verdict, other bytes are refused.
fn repeat(existing: PacketRecord, sha256: &str) -> Result<Judged, IntakeError> {
    if existing.sha256 == sha256 {
        Ok(Judged {
            record: existing,
            duplicate: true,
        })
    } else {
        Err(IntakeError::IdReused(existing.packet_id))
    }
}

/// What is wrong with a packet's content.
enum ContentProblem {
    /// Never acceptable: the rejection reason sent back to the station with its receipt.
    Rejected(String),
    /// Its form version is not held here (yet): no verdict.
    FormNotKnown {
        /// The form's id.
        form: String,
        /// Its version.
        version: String,
    },
}

impl From<String> for ContentProblem {
    fn from(reason: String) -> Self {
        Self::Rejected(reason)
    }
}

/// Checks opened content and returns its audit excerpt.
fn check_content(
    forms: &FormLibrary,
    parts: Vec<Part>,
    manifest: &Manifest,
    now: OffsetDateTime,
) -> Result<Vec<AuditRecord>, ContentProblem> {
    if manifest.schema_version != CONTENT_SCHEMA_VERSION {
        return Err(ContentProblem::Rejected(format!(
            "content schema version {} is not supported (this server reads {CONTENT_SCHEMA_VERSION})",
            manifest.schema_version
        )));
    }
    let content = EnrollmentContent::from_parts(parts, &manifest.captures)?;
    let demographics = &content.demographics;
    if forms
        .find(&demographics.form, &demographics.form_version)
        .is_none()
    {
        return Err(ContentProblem::FormNotKnown {
            form: demographics.form.clone(),
            version: demographics.form_version.clone(),
        });
    }
    Ok(check_opened(forms, content, manifest, now)?)
}

/// The checks of [`check_content`] on content whose form is known; the error is the
/// rejection reason.
fn check_opened(
    forms: &FormLibrary,
    content: EnrollmentContent,
    manifest: &Manifest,
    now: OffsetDateTime,
) -> Result<Vec<AuditRecord>, String> {
    content.check_structure(forms, now.date(), &manifest.captures)?;
    protocol::audit::check_excerpt(&content.audit)?;
    // The images' structure, not their pixels: each header read and its size checked against
    // the capture record. Decoding them in full is the `images` stage's work, after intake
    // (crate::stages), so the station's upload does not wait for it.
    let face = jpeg_size(content.face.jpeg.as_bytes())
        .map_err(|e| format!("the face photo is not a valid JPEG: {e}"))?;
    if face != (content.face.width, content.face.height) {
        return Err("the face photo's size does not match its capture record".into());
    }
    if let Some(photo) = &content.exception_photo {
        jpeg_size(photo.as_bytes())
            .map_err(|e| format!("the exception photo is not a valid JPEG: {e}"))?;
    }
    for finger in &content.fingers {
        let views = FingerRecord::outline(finger.record.as_bytes()).map_err(|e| {
            format!(
                "the {:?} image is not a valid ISO 19794-4 record: {e}",
                finger.position
            )
        })?;
        let [view] = views.as_slice() else {
            return Err(format!(
                "the {:?} record holds {} views, not one",
                finger.position,
                views.len()
            ));
        };
        if view.position != finger.position.iso_code() {
            return Err(format!(
                "the {:?} record holds finger position {}",
                finger.position, view.position
            ));
        }
        if (view.width, view.height) != (finger.width, finger.height) {
            return Err(format!(
                "the {:?} image's size does not match its capture record",
                finger.position
            ));
        }
    }
    Ok(content.audit)
}

/// A JPEG's size from its header, without decoding it.
fn jpeg_size(bytes: &[u8]) -> Result<(u32, u32), image::ImageError> {
    image::ImageReader::with_format(std::io::Cursor::new(bytes), ImageFormat::Jpeg)
        .into_dimensions()
}

/// Decodes every image of a stored packet in full — the face photo, the exception photo and
/// each finger image — opening it as intake did (the `images` stage, [`crate::stages`]).
/// `Err` is why the packet should be held; intake already checked everything else.
///
/// # Errors
/// The first image that does not decode, or a packet that no longer opens.
pub fn decode_images(
    identity: &Identity,
    bytes: &[u8],
    station: &StationRecord,
) -> Result<(), String> {
    let sealed = SealedPacket::parse(bytes).map_err(|e| format!("the stored packet: {e}"))?;
    let manifest = sealed.manifest().clone();
    let parts = sealed
        .verify(&station.signing_key)
        .map_err(|e| format!("the stored packet: {e}"))?
        .open(&identity.encryption_key)
        .map_err(|e| format!("the stored packet: {e}"))?;
    let content = EnrollmentContent::from_parts(parts, &manifest.captures)?;
    let face = image::load_from_memory_with_format(content.face.jpeg.as_bytes(), ImageFormat::Jpeg)
        .map_err(|e| format!("the face photo does not decode: {e}"))?;
    if (face.width(), face.height()) != (content.face.width, content.face.height) {
        return Err("the face photo's pixels do not match its size".into());
    }
    if let Some(photo) = &content.exception_photo {
        image::load_from_memory_with_format(photo.as_bytes(), ImageFormat::Jpeg)
            .map_err(|e| format!("the exception photo does not decode: {e}"))?;
    }
    for finger in &content.fingers {
        FingerRecord::from_bytes(finger.record.as_bytes())
            .map_err(|e| format!("the {:?} image does not decode: {e}", finger.position))?;
    }
    Ok(())
}
