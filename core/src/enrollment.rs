//! One applicant's enrollment: a draft filled from the devices, then validated, sealed and put
//! in the outbox.
//!
//! Sealing happens at submit, and the sealed packet is the only place the biometrics are kept
//! on the station: once submitted, not even the station can read them back.

use std::collections::BTreeMap;

use hardware::{Camera, DeviceError, FingerPosition, FingerprintScanner};
use protocol::content::{
    BiometricBytes, Demographics, EnrollmentContent, FaceImage, FieldError, FingerImage,
    CONTENT_SCHEMA_VERSION,
};
use protocol::packet::{self, PacketError, SealParams};
use protocol::random::SystemRandom;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::imaging;
use crate::officers::{Officer, Permission};
use crate::station::Station;
use crate::store::enrollments::EnrollmentRow;
use crate::store::outbox::NewOutboxEntry;
use crate::store::StoreError;

/// Why a capture or a submission failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollmentError {
    /// Form fields are invalid; each says what to fix.
    #[error("{} form field(s) need correcting", .0.len())]
    InvalidForm(Vec<FieldError>),
    /// Captures are missing.
    #[error("the enrollment is incomplete: missing {}", .0.join(", "))]
    Incomplete(Vec<String>),
    /// The officer's role may not enroll.
    #[error("a {0} account cannot enroll applicants")]
    NotPermitted(&'static str),
    /// A device failed; its kind says whether to retry or replug.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// An image could not be encoded.
    #[error("could not encode the captured image: {0}")]
    Encoding(String),
    /// The packet could not be sealed.
    #[error("could not seal the enrollment: {0}")]
    Seal(#[from] PacketError),
    /// The database failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An enrollment being captured. Kept in memory only.
#[derive(Debug, Default)]
pub struct EnrollmentDraft {
    face: Option<FaceImage>,
    fingers: BTreeMap<FingerPosition, FingerImage>,
}

impl EnrollmentDraft {
    /// An empty draft.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the face photo from `camera`, replacing any earlier one.
    ///
    /// # Errors
    /// When the camera fails or the frame cannot be encoded; the earlier photo is kept then.
    pub fn capture_face(&mut self, camera: &dyn Camera) -> Result<&FaceImage, EnrollmentError> {
        let frame = camera.capture_still()?;
        let jpeg = imaging::encode_face_jpeg(&frame)
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
        let face = FaceImage {
            width: frame.width(),
            height: frame.height(),
            jpeg: BiometricBytes::new(jpeg),
        };
        Ok(self.face.insert(face))
    }

    /// Images `finger` from `scanner`, replacing any earlier image of it.
    ///
    /// # Errors
    /// When the reader fails or the image cannot be encoded; the earlier image is kept then.
    pub fn capture_finger(
        &mut self,
        scanner: &dyn FingerprintScanner,
        finger: FingerPosition,
    ) -> Result<&FingerImage, EnrollmentError> {
        let print = scanner.capture(finger)?;
        let png = imaging::encode_finger_png(&print)
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
        let image = FingerImage {
            position: finger,
            width: print.width(),
            height: print.height(),
            resolution_ppi: print.resolution_ppi(),
            png: BiometricBytes::new(png),
        };
        self.fingers.insert(finger, image);
        Ok(&self.fingers[&finger])
    }

    /// The face photo, once taken.
    pub fn face(&self) -> Option<&FaceImage> {
        self.face.as_ref()
    }

    /// The fingers imaged so far, in ISO order.
    pub fn fingers(&self) -> impl Iterator<Item = &FingerImage> {
        self.fingers.values()
    }

    /// What still has to be captured, in words.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.face.is_none() {
            missing.push("face photo".to_owned());
        }
        missing.extend(
            FingerPosition::ALL
                .iter()
                .filter(|finger| !self.fingers.contains_key(finger))
                .map(|finger| format!("{finger:?} fingerprint")),
        );
        missing
    }
}

/// The result of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedEnrollment {
    /// Enrollment and packet id.
    pub id: Uuid,
    /// Size of the sealed packet in bytes.
    pub packet_bytes: usize,
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
) -> Result<SubmittedEnrollment, EnrollmentError> {
    if !officer.role.may(Permission::Enroll) {
        return Err(EnrollmentError::NotPermitted(officer.role.as_str()));
    }
    let now = clock.now();
    let demographics = demographics.normalized();
    demographics
        .validate(now.date())
        .map_err(EnrollmentError::InvalidForm)?;
    let missing = draft.missing();
    let Some(face) = draft.face.as_ref().filter(|_| missing.is_empty()) else {
        return Err(EnrollmentError::Incomplete(missing));
    };
    let id = Uuid::new_v4();
    let content = EnrollmentContent {
        schema_version: CONTENT_SCHEMA_VERSION,
        enrollment_id: id,
        officer: officer.username.clone(),
        captured_at: now,
        demographics: demographics.clone(),
        face: face.clone(),
        fingers: draft.fingers.values().cloned().collect(),
    };
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&content).map_err(|e| EnrollmentError::Encoding(e.to_string()))?,
    );
    let params = SealParams {
        packet_id: id,
        station_id: station.config().station_id,
        created_at: now,
    };
    let sealed = packet::seal(
        params,
        &plaintext,
        &station.config().server_encryption_key,
        station.signing_key(),
        &SystemRandom,
    )?;
    let sha256_hex = packet::sha256_hex(&sealed);
    let created_at = rfc3339(now);
    let id_text = id.to_string();
    let row = EnrollmentRow {
        id: id_text.clone(),
        officer: officer.username.clone(),
        created_at: created_at.clone(),
        applicant_name: demographics.full_name,
        document_number: demographics.document_number,
    };
    let entry = NewOutboxEntry {
        packet_id: &id_text,
        packet: &sealed,
        sha256_hex: &sha256_hex,
        created_at: &created_at,
    };
    let detail = format!("sealed packet of {} bytes queued for upload", sealed.len());
    let event = AuditEvent {
        actor: &officer.username,
        action: "enrollment.submitted",
        subject: &id_text,
        detail: &detail,
    };
    let signer = station.signing_key();
    station.store().insert_enrollment(&row, &entry, &|last| {
        audit::next_entry(signer, &event, &created_at, last)
    })?;
    Ok(SubmittedEnrollment {
        id,
        packet_bytes: sealed.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::simulated::{SimulatedCamera, SimulatedFault, SimulatedScanner};

    #[test]
    fn a_draft_lists_what_is_missing_until_every_capture_is_done() {
        let mut draft = EnrollmentDraft::new();
        assert_eq!(draft.missing().len(), 11, "a face and ten fingers");
        draft.capture_face(&SimulatedCamera::new(1)).expect("face");
        let scanner = SimulatedScanner::new(1);
        for finger in FingerPosition::ALL {
            draft.capture_finger(&scanner, finger).expect("finger");
        }
        assert!(draft.missing().is_empty());
        assert_eq!(draft.fingers().count(), 10);
    }

    #[test]
    fn a_failed_recapture_keeps_the_earlier_image() {
        let camera = SimulatedCamera::new(1);
        let mut draft = EnrollmentDraft::new();
        let first = draft.capture_face(&camera).expect("face").clone();
        camera.script_fault(SimulatedFault::Busy);
        assert!(matches!(
            draft.capture_face(&camera),
            Err(EnrollmentError::Device(_))
        ));
        assert_eq!(
            draft.face(),
            Some(&first),
            "a device error must not lose the photo already taken"
        );
    }

    #[test]
    fn captured_images_are_valid_jpeg_and_png() {
        let mut draft = EnrollmentDraft::new();
        let face = draft
            .capture_face(&SimulatedCamera::new(1))
            .expect("face")
            .clone();
        assert_eq!(
            &face.jpeg.as_bytes()[..3],
            &[0xFF, 0xD8, 0xFF],
            "JPEG start-of-image marker"
        );
        let finger = draft
            .capture_finger(&SimulatedScanner::new(1), FingerPosition::LeftThumb)
            .expect("finger");
        assert_eq!(&finger.png.as_bytes()[..8], b"\x89PNG\r\n\x1a\n");
    }
}
