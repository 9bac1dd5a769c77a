//! The officer's list of enrollments: each applicant's name and document number, kept sealed
//! under the data key beside the sealed packet.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::station::Station;
use crate::store::enrollments::EnrollmentSummary;

use super::EnrollmentError;

/// What the officer's list shows about an applicant; stored sealed under the data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantSummary {
    /// Full name.
    pub full_name: String,
    /// Document number.
    pub document_number: String,
}

/// An enrollment in the officer's list, with its applicant fields decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEnrollment {
    /// The stored row and its delivery state.
    pub summary: EnrollmentSummary,
    /// The applicant.
    pub applicant: ApplicantSummary,
    /// The supervisor's comment, when one decided on it.
    pub approval_note: Option<String>,
}

pub(super) fn summary_context(id: &str) -> String {
    format!("enrollment:{id}")
}

pub(crate) fn exception_photo_context(id: &str) -> String {
    format!("exception-photo:{id}")
}

/// Every enrollment, newest first, with the applicant fields decrypted.
///
/// # Errors
/// When the database fails or a summary does not decrypt.
pub fn list(station: &Station) -> Result<Vec<ListedEnrollment>, EnrollmentError> {
    station
        .store()
        .list_enrollments()?
        .into_iter()
        .map(|summary| {
            let json = station.data_key().open(
                &summary_context(&summary.enrollment.id),
                &summary.enrollment.sealed_summary,
            )?;
            let applicant = serde_json::from_slice(&json)
                .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
            let approval_note = summary.approval_note.as_deref().and_then(|sealed| {
                crate::approval::open_note(station, &summary.enrollment.id, sealed)
            });
            Ok(ListedEnrollment {
                summary,
                applicant,
                approval_note,
            })
        })
        .collect()
}

/// Encrypts the applicant fields of rows stored in clear by builds before the data key.
///
/// # Errors
/// When the database fails.
pub(crate) fn seal_legacy_rows(station: &Station) -> Result<(), EnrollmentError> {
    for (id, full_name, document_number) in station.store().legacy_clear_text_rows()? {
        let json = Zeroizing::new(
            serde_json::to_vec(&ApplicantSummary {
                full_name,
                document_number,
            })
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?,
        );
        let sealed = station.data_key().seal(&summary_context(&id), &json)?;
        station.store().seal_legacy_row(&id, &sealed)?;
    }
    Ok(())
}
