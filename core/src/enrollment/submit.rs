//! Submission: the form and the draft checked, sealed for the server and stored with the outbox
//! row and the audit entry in one transaction.

use protocol::content::{Demographics, EnrollmentContent, CONTENT_SCHEMA_VERSION};
use protocol::form::FormLibrary;
use protocol::manifest::CaptureRecord;
use protocol::packet::{self, SealParams};
use protocol::random::RandomSource;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::officers::{Officer, Permission};
use crate::station::Station;
use crate::store::enrollments::EnrollmentRow;
use crate::store::outbox::NewOutboxEntry;

use super::list::{exception_photo_context, summary_context, ApplicantSummary};
use super::{EnrollmentDraft, EnrollmentError};

/// The result of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedEnrollment {
    /// Enrollment and packet id.
    pub id: Uuid,
    /// Size of the sealed packet in bytes.
    pub packet_bytes: usize,
    /// When it was sealed (RFC 3339), as the packet says.
    pub created_at: String,
    /// The form as sealed (normalized).
    pub demographics: Demographics,
}

/// `demographics` normalized by the form it names (as typed when the form is unknown, which
/// validation then reports).
pub fn normalized(forms: &FormLibrary, demographics: &Demographics) -> Demographics {
    forms
        .find(&demographics.form, &demographics.form_version)
        .map_or_else(|| demographics.clone(), |form| form.normalize(demographics))
}

/// Validates the form and the draft, seals the enrollment for the server and stores it with its
/// outbox row in one transaction.
///
/// # Errors
/// See [`EnrollmentError`]; nothing is stored on error.
pub fn submit(
    station: &Station,
    officer: &Officer,
    demographics: &Demographics,
    draft: &EnrollmentDraft,
    clock: &dyn Clock,
    random: &dyn RandomSource,
) -> Result<SubmittedEnrollment, EnrollmentError> {
    if !officer.role.may(Permission::Enroll) {
        return Err(EnrollmentError::NotPermitted(officer.role.as_str()));
    }
    let now = clock.now();
    let demographics = normalized(station.forms(), demographics);
    station
        .forms()
        .validate(&demographics, now.date())
        .map_err(EnrollmentError::InvalidForm)?;
    let missing = draft.missing();
    let Some(face) = draft.face.as_ref().filter(|_| missing.is_empty()) else {
        return Err(EnrollmentError::Incomplete(missing));
    };
    let mut id_bytes = [0u8; 16];
    random
        .fill(&mut id_bytes)
        .map_err(|error| EnrollmentError::Random(error.to_string()))?;
    let id = uuid::Builder::from_random_bytes(id_bytes).into_uuid();
    let (audit, audit_through) = station.store().audit_excerpt()?;
    let content = EnrollmentContent {
        demographics: demographics.clone(),
        face: face.image.clone(),
        fingers: draft.fingers().cloned().collect(),
        exception_photo: draft.exception_photo().map(|photo| photo.jpeg.clone()),
        audit,
    };
    let parts = content.to_parts().map_err(EnrollmentError::Encoding)?;
    let captures = draft.capture_records();
    let needs_approval = captures.iter().any(CaptureRecord::needs_approval);
    let params = SealParams {
        packet_id: id,
        station_id: station.config().station_id,
        officer_id: officer.username.clone(),
        created_at: now,
        schema_version: CONTENT_SCHEMA_VERSION,
        captures,
    };
    let sealed = packet::seal(
        params,
        &parts,
        &station.config().server_encryption_key,
        station.signing_key(),
        random,
    )?;
    drop(parts);
    let sha256_hex = packet::sha256_hex(&sealed);
    let created_at = rfc3339(now);
    let id_text = id.to_string();
    let summary = Zeroizing::new(
        serde_json::to_vec(&ApplicantSummary {
            full_name: demographics.full_name.clone(),
            document_number: demographics.document_number.clone(),
        })
        .map_err(|e| EnrollmentError::Encoding(e.to_string()))?,
    );
    let row = EnrollmentRow {
        id: id_text.clone(),
        officer: officer.username.clone(),
        created_at: created_at.clone(),
        sealed_summary: station
            .data_key()
            .seal(&summary_context(&id_text), &summary)?,
    };
    let entry = NewOutboxEntry {
        packet_id: &id_text,
        packet: &sealed,
        sha256_hex: &sha256_hex,
        created_at: &created_at,
        audit_through,
        needs_approval,
    };
    let detail = if needs_approval {
        format!(
            "sealed packet of {} bytes held for supervisor approval ({} finger exception(s))",
            sealed.len(),
            draft.exceptions.len()
        )
    } else {
        format!("sealed packet of {} bytes queued for upload", sealed.len())
    };
    let event = AuditEvent {
        actor: &officer.username,
        action: "enrollment.submitted",
        subject: &id_text,
        detail: &detail,
    };
    let signer = station.signing_key();
    let sealed_photo = draft
        .exception_photo()
        .map(|photo| {
            station
                .data_key()
                .seal(&exception_photo_context(&id_text), photo.jpeg.as_bytes())
        })
        .transpose()?;
    station
        .store()
        .insert_enrollment(&row, &entry, sealed_photo.as_deref(), &|last| {
            audit::next_entry(signer, &event, &created_at, last)
        })?;
    Ok(SubmittedEnrollment {
        id,
        packet_bytes: sealed.len(),
        created_at,
        demographics,
    })
}
