//! Enrollments in progress, kept at rest sealed under the station's data key: after a crash or
//! a restart the officer resumes where they were; a copied disk shows nothing.
//!
//! Each officer has at most one draft. It is saved after every capture and form change and
//! removed in the same transaction that stores the submitted enrollment.

use protocol::content::Demographics;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::clock::{rfc3339, Clock};
use crate::enrollment::EnrollmentDraft;
use crate::station::Station;
use crate::store::StoreError;
use crate::vault::VaultError;

/// Why a draft could not be saved or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The stored draft does not decrypt or parse; it is left in place for a technician.
    #[error("the saved draft cannot be read back: {0}")]
    Unreadable(String),
}

/// What a saved draft holds: the form as typed so far and the captures.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDraft {
    /// The form fields as typed so far (not yet validated).
    pub demographics: Demographics,
    /// Captures so far.
    pub draft: EnrollmentDraft,
}

fn context(officer: &str) -> String {
    format!("draft:{officer}")
}

/// Seals and stores `officer`'s draft, replacing the previous one.
///
/// # Errors
/// See [`DraftError`]; the previously saved draft is kept on error.
pub fn save(
    station: &Station,
    officer: &str,
    saved: &SavedDraft,
    clock: &dyn Clock,
) -> Result<(), DraftError> {
    let json = Zeroizing::new(
        serde_json::to_vec(saved).map_err(|e| DraftError::Unreadable(e.to_string()))?,
    );
    let sealed = station.data_key().seal(&context(officer), &json)?;
    station
        .store()
        .put_draft(officer, &sealed, &rfc3339(clock.now()))?;
    Ok(())
}

/// `officer`'s saved draft, if any.
///
/// # Errors
/// See [`DraftError`].
pub fn load(station: &Station, officer: &str) -> Result<Option<SavedDraft>, DraftError> {
    let Some(sealed) = station.store().draft(officer)? else {
        return Ok(None);
    };
    let json = station
        .data_key()
        .open(&context(officer), &sealed)
        .map_err(|e| DraftError::Unreadable(e.to_string()))?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| DraftError::Unreadable(e.to_string()))
}

/// Removes `officer`'s draft.
///
/// # Errors
/// When the database fails.
pub fn discard(station: &Station, officer: &str) -> Result<(), DraftError> {
    Ok(station.store().delete_draft(officer)?)
}
