//! One applicant's enrollment: a draft filled from the devices, then validated, sealed and put
//! in the outbox.
//!
//! Sealing happens at submit, and the sealed packet is the only place the biometrics are kept
//! on the station: once submitted, not even the station can read them back.

use std::collections::BTreeMap;

use formats::image::{FingerprintImage, RgbFrame};
use formats::FingerPosition;
use hardware::{Camera, DeviceError, DeviceInfo, FingerSet, FingerprintScanner, SetCapture};
use protocol::content::{
    finger_part, BiometricBytes, Demographics, EnrollmentContent, FaceImage, FieldError,
    FingerImage, CONTENT_SCHEMA_VERSION, FACE_PART,
};
use protocol::form::FormLibrary;
use protocol::manifest::{CaptureRecord, DeviceIdentity, Modality};
use protocol::packet::{self, PacketError, SealParams};
use protocol::random::RandomSource;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::imaging;
use crate::officers::{Officer, Permission};
use crate::quality::face::{self, FaceAssessment, FaceChecker};
use crate::quality::finger::FingerFeedback;
use crate::station::Station;
use crate::store::enrollments::{EnrollmentRow, EnrollmentSummary};
use crate::store::outbox::NewOutboxEntry;
use crate::store::StoreError;
use crate::vault::{UnsealError, VaultError};

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
    /// A declared exception is not acceptable.
    #[error("{0}")]
    InvalidException(String),
    /// Every attempt at a capture is used up.
    #[error("the {0} has been captured {MAX_FINGER_ATTEMPTS} times: the best capture is kept; declare an exception if it cannot be used")]
    NoAttemptsLeft(String),
    /// An image could not be encoded.
    #[error("could not encode the captured image: {0}")]
    Encoding(String),
    /// A print's quality could not be judged (a damaged install, or a reader reporting a
    /// resolution no reader has): nothing was kept.
    #[error("could not judge the print's quality: {0}")]
    Quality(String),
    /// The packet could not be sealed.
    #[error("could not seal the enrollment: {0}")]
    Seal(#[from] PacketError),
    /// The database failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Encrypting or decrypting station data failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A stored applicant summary does not decrypt.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
}

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

fn summary_context(id: &str) -> String {
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

/// The station quality score a fingerprint needs (0–100): MOSIP's threshold for slaps and
/// thumbs.
pub const FINGER_THRESHOLD: u8 = 40;
/// Captures of a finger before its best image is accepted whatever its score.
pub const MAX_FINGER_ATTEMPTS: u32 = 3;

/// What one capture of a finger gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerResult {
    /// Which finger.
    pub position: FingerPosition,
    /// The station's score of this capture.
    pub score: u8,
    /// The best score of the finger so far: the kept image's.
    pub best: u8,
    /// This capture is the one kept.
    pub kept: bool,
    /// NFIQ 2-style feedback on this capture.
    pub feedback: Vec<FingerFeedback>,
    /// Captures of the finger so far, this one included.
    pub attempts: u32,
}

impl FingerResult {
    /// The finger is not yet good enough and may be captured again.
    pub fn retry(&self) -> bool {
        self.best < FINGER_THRESHOLD && self.attempts < MAX_FINGER_ATTEMPTS
    }
}

/// What one capture of a set gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetResult {
    /// The set.
    pub set: FingerSet,
    /// Each finger captured, left to right on the glass.
    pub fingers: Vec<FingerResult>,
}

impl SetResult {
    /// Some finger is not yet good enough and the set may be captured again.
    pub fn retry(&self) -> bool {
        self.fingers.iter().any(FingerResult::retry)
    }
}

/// An image with what the packet manifest records about its capture.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured<T> {
    /// The kept image.
    pub image: T,
    /// The device that took it.
    pub device: DeviceIdentity,
    /// The station's own quality score, 0–100 (see [`crate::quality`]), when it computes one.
    #[serde(default)]
    pub quality: Option<u8>,
    /// Kept although it failed the station's checks (the officer took it anyway).
    #[serde(default)]
    pub forced: bool,
}

/// An enrollment being captured. It holds biometrics, so it is stored only encrypted
/// (see [`crate::drafts`]).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentDraft {
    face: Option<Captured<FaceImage>>,
    fingers: BTreeMap<FingerPosition, Captured<FingerImage>>,
    /// Capture attempts per biometric, failed ones included: key 0 is the face, 1–10 the ISO
    /// finger codes.
    attempts: BTreeMap<u8, u32>,
    /// Fingers that cannot be captured, with the officer's reason. A supervisor must approve
    /// an enrollment with exceptions before it leaves the station.
    #[serde(default)]
    exceptions: BTreeMap<FingerPosition, String>,
    /// A photo of the hand(s) with the declared exceptions, for the supervisor and the server.
    #[serde(default)]
    exception_photo: Option<FaceImage>,
}

fn identity(info: &DeviceInfo) -> DeviceIdentity {
    DeviceIdentity {
        backend: info.backend.to_owned(),
        id: info.id.clone(),
        name: info.name.clone(),
        serial: None,
        firmware: None,
    }
}

impl EnrollmentDraft {
    /// An empty draft.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the face photo from `camera` now, replacing any earlier one: the officer's manual
    /// capture. The station checks it (see [`crate::quality::face`]); a photo that fails the
    /// checks is kept all the same and marked force-captured.
    ///
    /// # Errors
    /// When the camera fails or the frame cannot be encoded; the earlier photo is kept then.
    pub fn capture_face(&mut self, camera: &dyn Camera) -> Result<&FaceImage, EnrollmentError> {
        *self.attempts.entry(0).or_default() += 1;
        let frame = camera.capture_still()?;
        let assessment = FaceChecker::new()
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?
            .assess(&frame);
        self.keep_face(&frame, &assessment, &camera.info())
    }

    /// Keeps `frame` as the face photo, replacing any earlier one: as the ISO/IEC 19794-5
    /// token-frontal crop when `assessment` found the face, the whole frame otherwise. Its
    /// quality is the share of the checks it passed; failing any marks it force-captured.
    /// Auto-capture calls this with the frame it chose; it counts as one attempt.
    ///
    /// # Errors
    /// When the photo cannot be encoded; the earlier photo is kept then.
    pub fn keep_face(
        &mut self,
        frame: &RgbFrame,
        assessment: &FaceAssessment,
        camera: &DeviceInfo,
    ) -> Result<&FaceImage, EnrollmentError> {
        let attempts = self.attempts.entry(0).or_default();
        *attempts = (*attempts).max(1);
        let photo = match &assessment.geometry {
            Some(geometry) => face::token_frontal(frame, geometry),
            None => frame.clone(),
        };
        let jpeg = imaging::encode_face_jpeg(&photo)
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
        let image = FaceImage {
            width: photo.width(),
            height: photo.height(),
            jpeg: BiometricBytes::new(jpeg),
        };
        let passed = assessment.checks.iter().filter(|c| c.passed).count();
        let quality = if assessment.geometry.is_some() {
            (passed * 100 / assessment.checks.len().max(1)) as u8
        } else {
            0
        };
        let captured = self.face.insert(Captured {
            image,
            device: identity(camera),
            quality: Some(quality),
            forced: !assessment.compliant(),
        });
        Ok(&captured.image)
    }

    /// The station's quality score of the face photo (the share of the face checks it passed).
    pub fn face_quality(&self) -> Option<u8> {
        self.face.as_ref().and_then(|captured| captured.quality)
    }

    /// Images `finger` from `scanner` and keeps the better of it and any earlier image of it
    /// (see [`EnrollmentDraft::capture_set`] for the policy).
    ///
    /// # Errors
    /// [`EnrollmentError::NoAttemptsLeft`] after [`MAX_FINGER_ATTEMPTS`]; when the reader fails
    /// or the image cannot be encoded, the earlier image is kept.
    pub fn capture_finger(
        &mut self,
        scanner: &dyn FingerprintScanner,
        finger: FingerPosition,
    ) -> Result<FingerResult, EnrollmentError> {
        self.check_attempts_left(&[finger])?;
        *self.attempts.entry(finger.iso_code()).or_default() += 1;
        let print = scanner.capture(finger)?;
        self.keep_finger(&print, finger, &scanner.info())
    }

    /// Captures `set` from `scanner` at once (a slap reader; a single-finger reader images the
    /// fingers one after the other), leaving out the fingers declared exceptions. Each finger
    /// is scored by the station ([`crate::quality::finger`]) and the better of it and any
    /// earlier image of the finger is kept. MOSIP's policy: a finger needs
    /// [`FINGER_THRESHOLD`]; below it the officer captures the set again, up to
    /// [`MAX_FINGER_ATTEMPTS`] times, after which the best image is accepted and marked
    /// force-captured (the enrollment then waits for a supervisor).
    ///
    /// # Errors
    /// [`EnrollmentError::NoAttemptsLeft`] after the last attempt; when the reader fails or an
    /// image cannot be encoded, the earlier images are kept.
    pub fn capture_set(
        &mut self,
        scanner: &dyn FingerprintScanner,
        set: FingerSet,
    ) -> Result<SetResult, EnrollmentError> {
        let excused: Vec<FingerPosition> = set
            .fingers()
            .iter()
            .copied()
            .filter(|finger| self.exceptions.contains_key(finger))
            .collect();
        let expected: Vec<FingerPosition> = set
            .fingers()
            .iter()
            .copied()
            .filter(|finger| !excused.contains(finger))
            .collect();
        self.check_attempts_left(&expected)?;
        for finger in &expected {
            *self.attempts.entry(finger.iso_code()).or_default() += 1;
        }
        let captures = scanner.capture_set(&SetCapture {
            set,
            exceptions: excused,
            requested_score: FINGER_THRESHOLD,
        })?;
        let device = scanner.info();
        let mut fingers = Vec::new();
        for capture in captures
            .iter()
            .filter(|capture| expected.contains(&capture.position))
        {
            fingers.push(self.keep_finger(&capture.image, capture.position, &device)?);
        }
        Ok(SetResult { set, fingers })
    }

    fn check_attempts_left(&self, fingers: &[FingerPosition]) -> Result<(), EnrollmentError> {
        match fingers
            .iter()
            .find(|finger| self.attempts(finger.iso_code()) >= MAX_FINGER_ATTEMPTS)
        {
            Some(finger) => Err(EnrollmentError::NoAttemptsLeft(format!(
                "{} fingerprint",
                crate::quality::placement::finger_name(*finger)
            ))),
            None => Ok(()),
        }
    }

    /// Scores `print` and keeps it as `finger`'s image unless an earlier one scored higher.
    fn keep_finger(
        &mut self,
        print: &FingerprintImage,
        finger: FingerPosition,
        device: &DeviceInfo,
    ) -> Result<FingerResult, EnrollmentError> {
        let quality = crate::quality::finger::assess(print)
            .map_err(|e| EnrollmentError::Quality(e.to_string()))?;
        let earlier = self.finger_quality(finger);
        let kept = earlier.is_none_or(|best| quality.score > best);
        if kept {
            let record = imaging::encode_finger_record(print, finger)
                .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
            let image = FingerImage {
                position: finger,
                width: print.width(),
                height: print.height(),
                resolution_ppi: print.resolution_ppi(),
                record: BiometricBytes::new(record),
            };
            self.fingers.insert(
                finger,
                Captured {
                    image,
                    device: identity(device),
                    quality: Some(quality.score),
                    forced: false,
                },
            );
        }
        self.exceptions.remove(&finger);
        let attempts = self.attempts(finger.iso_code()).max(1);
        let best = self.finger_quality(finger).unwrap_or(quality.score);
        // Accepted below the threshold only once the attempts are used up.
        if let Some(captured) = self.fingers.get_mut(&finger) {
            captured.forced = best < FINGER_THRESHOLD;
        }
        Ok(FingerResult {
            position: finger,
            score: quality.score,
            best,
            kept,
            feedback: quality.feedback,
            attempts,
        })
    }

    /// Declares that `finger` cannot be captured (amputated, bandaged, scarred), replacing any
    /// image of it. The enrollment will then wait for a supervisor's approval.
    ///
    /// # Errors
    /// [`EnrollmentError::InvalidException`] without a reason.
    pub fn declare_finger_exception(
        &mut self,
        finger: FingerPosition,
        reason: &str,
    ) -> Result<(), EnrollmentError> {
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(EnrollmentError::InvalidException(
                "give the reason a finger cannot be captured, in at most 200 characters".into(),
            ));
        }
        self.fingers.remove(&finger);
        self.exceptions.insert(finger, reason);
        Ok(())
    }

    /// Photographs the hand with the declared exception(s) — MOSIP's exception photo — replacing
    /// an earlier one. The supervisor sees it before approving; it travels sealed in the packet.
    ///
    /// # Errors
    /// [`EnrollmentError::InvalidException`] before any exception is declared; a device error.
    pub fn take_exception_photo(
        &mut self,
        camera: &dyn Camera,
    ) -> Result<&FaceImage, EnrollmentError> {
        if self.exceptions.is_empty() {
            return Err(EnrollmentError::InvalidException(
                "declare the missing or unusable finger first: the photo shows it".into(),
            ));
        }
        let frame = camera.capture_still()?;
        let (jpeg, width, height) = imaging::encode_exception_jpeg(&frame)
            .map_err(|e| EnrollmentError::Encoding(e.to_string()))?;
        Ok(self.exception_photo.insert(FaceImage {
            width,
            height,
            jpeg: BiometricBytes::new(jpeg),
        }))
    }

    /// The exception photo, when taken and some exception is still declared.
    pub fn exception_photo(&self) -> Option<&FaceImage> {
        self.exception_photo
            .as_ref()
            .filter(|_| !self.exceptions.is_empty())
    }

    /// The declared finger exceptions.
    pub fn exceptions(&self) -> impl Iterator<Item = (FingerPosition, &str)> {
        self.exceptions.iter().map(|(f, r)| (*f, r.as_str()))
    }

    /// How many captures of `slot` were attempted (0 = face, 1–10 = ISO finger codes).
    pub fn attempts(&self, slot: u8) -> u32 {
        self.attempts.get(&slot).copied().unwrap_or(0)
    }

    /// True when nothing has been captured or attempted.
    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }

    /// Whether the enrollment will wait for a supervisor (an exception or a force-captured
    /// biometric).
    pub fn needs_approval(&self) -> bool {
        self.capture_records()
            .iter()
            .any(CaptureRecord::needs_approval)
    }

    /// The manifest's capture records for the kept images.
    fn capture_records(&self) -> Vec<CaptureRecord> {
        let record = |modality,
                      finger: Option<FingerPosition>,
                      part: String,
                      width,
                      height,
                      resolution_ppi,
                      device: &DeviceIdentity,
                      quality: Option<u8>,
                      forced: bool,
                      slot| CaptureRecord {
            modality,
            finger,
            part: Some(part),
            width,
            height,
            resolution_ppi,
            device: device.clone(),
            attempts: self.attempts(slot).max(1),
            force_captured: forced,
            quality,
            exception: None,
            device_payload_part: None,
            chain_hash: None,
        };
        let mut records = Vec::new();
        if let Some(face) = &self.face {
            records.push(record(
                Modality::Face,
                None,
                FACE_PART.to_owned(),
                face.image.width,
                face.image.height,
                None,
                &face.device,
                face.quality,
                face.forced,
                0,
            ));
        }
        for (position, finger) in &self.fingers {
            records.push(record(
                Modality::Finger,
                Some(*position),
                finger_part(*position),
                finger.image.width,
                finger.image.height,
                Some(finger.image.resolution_ppi),
                &finger.device,
                finger.quality,
                finger.forced,
                position.iso_code(),
            ));
        }
        for (position, reason) in &self.exceptions {
            records.push(CaptureRecord {
                modality: Modality::Finger,
                finger: Some(*position),
                part: None,
                width: 0,
                height: 0,
                resolution_ppi: None,
                device: DeviceIdentity {
                    backend: "none".into(),
                    id: String::new(),
                    name: "not captured".into(),
                    serial: None,
                    firmware: None,
                },
                attempts: self.attempts(position.iso_code()),
                force_captured: false,
                quality: None,
                exception: Some(reason.clone()),
                device_payload_part: None,
                chain_hash: None,
            });
        }
        records
    }

    /// The face photo, once taken.
    pub fn face(&self) -> Option<&FaceImage> {
        self.face.as_ref().map(|face| &face.image)
    }

    /// The station's quality score of `finger`'s kept image (see [`crate::quality::finger`]).
    pub fn finger_quality(&self, finger: FingerPosition) -> Option<u8> {
        self.fingers
            .get(&finger)
            .and_then(|captured| captured.quality)
    }

    /// The kept image of `finger` was accepted below [`FINGER_THRESHOLD`].
    pub fn finger_forced(&self, finger: FingerPosition) -> bool {
        self.fingers
            .get(&finger)
            .is_some_and(|captured| captured.forced)
    }

    /// The fingers imaged so far, in ISO order.
    pub fn fingers(&self) -> impl Iterator<Item = &FingerImage> {
        self.fingers.values().map(|finger| &finger.image)
    }

    /// What still has to be captured, in words.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.face.is_none() {
            missing.push("face photo".to_owned());
        }
        if !self.exceptions.is_empty() && self.exception_photo.is_none() {
            missing.push("a photo of the hand with the declared finger(s)".to_owned());
        }
        for finger in FingerPosition::ALL {
            let name = crate::quality::placement::finger_name(finger);
            match self.finger_quality(finger) {
                None if !self.fingers.contains_key(&finger)
                    && !self.exceptions.contains_key(&finger) =>
                {
                    missing.push(format!("{name} fingerprint"));
                }
                Some(best)
                    if best < FINGER_THRESHOLD
                        && self.attempts(finger.iso_code()) < MAX_FINGER_ATTEMPTS =>
                {
                    missing.push(format!(
                        "a better {name} fingerprint (quality {best}, below {FINGER_THRESHOLD}; \
                         attempt {} of {MAX_FINGER_ATTEMPTS})",
                        self.attempts(finger.iso_code())
                    ));
                }
                _ => {}
            }
        }
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
        .map_err(|error| EnrollmentError::Encoding(error.to_string()))?;
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
    fn the_three_sets_capture_all_ten_fingers_each_scored_by_the_station() {
        let scanner = SimulatedScanner::new(4);
        let mut draft = EnrollmentDraft::new();
        for set in FingerSet::ALL {
            let result = draft.capture_set(&scanner, set).expect("set");
            assert_eq!(result.fingers.len(), set.fingers().len());
            assert!(!result.retry(), "good prints need no second attempt");
            assert!(result
                .fingers
                .iter()
                .all(|f| f.kept && f.best >= FINGER_THRESHOLD));
        }
        assert_eq!(draft.fingers().count(), 10);
        assert_eq!(draft.missing(), vec!["face photo".to_owned()]);
    }

    #[test]
    fn a_poor_set_is_captured_again_keeping_the_best_and_accepted_force_captured_after_three() {
        let scanner = SimulatedScanner::new(4);
        let mut draft = EnrollmentDraft::new();
        // The poorest placement: NFIQ 2 scores nearly every such print below the threshold
        // (`docs/benchmarks.md`, the score per simulated quality level).
        scanner.set_conditions(hardware::simulated::Conditions::for_quality(0));
        let first = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
        assert!(first.retry(), "{first:?}");
        assert!(
            draft
                .missing()
                .iter()
                .any(|m| m.starts_with("a better left thumb fingerprint")),
            "{:?}",
            draft.missing()
        );
        scanner.set_conditions(hardware::simulated::Conditions::for_quality(0));
        let worse = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
        for (before, after) in first.fingers.iter().zip(&worse.fingers) {
            if after.score < before.best {
                assert!(!after.kept, "a worse capture must not replace a better one");
                assert_eq!(after.best, before.best);
            }
        }
        let third = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
        assert!(!third.retry(), "the third attempt is the last");
        assert!(draft.missing().iter().all(|m| !m.contains("thumb")));
        let forced = draft
            .capture_records()
            .into_iter()
            .filter(|r| r.force_captured)
            .count();
        assert_eq!(forced, 2, "both thumbs accepted below the threshold");
        let refused = draft.capture_set(&scanner, FingerSet::Thumbs);
        assert!(
            matches!(refused, Err(EnrollmentError::NoAttemptsLeft(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn a_better_second_attempt_replaces_a_poor_first_one() {
        let scanner = SimulatedScanner::new(4);
        let mut draft = EnrollmentDraft::new();
        scanner.set_conditions(hardware::simulated::Conditions::for_quality(20));
        draft
            .capture_set(&scanner, FingerSet::RightSlap)
            .expect("set");
        scanner.set_conditions(hardware::simulated::Conditions::GOOD);
        let second = draft
            .capture_set(&scanner, FingerSet::RightSlap)
            .expect("set");
        assert!(second.fingers.iter().all(|f| f.kept && f.attempts == 2));
        assert!(!second.retry());
        assert!(draft.capture_records().iter().all(|r| !r.force_captured));
    }

    #[test]
    fn the_dry_fingers_drill_spoils_one_set_and_the_retry_is_good() {
        let simulated = crate::devices::Simulated {
            camera: None,
            scanner: Some(std::sync::Arc::new(SimulatedScanner::new(4))),
        };
        simulated
            .drill(crate::devices::Drill::ReaderDryFingers)
            .expect("a simulated reader takes the drill");
        let scanner = simulated.scanner.clone().expect("scanner");
        let mut draft = EnrollmentDraft::new();
        let first = draft
            .capture_set(scanner.as_ref(), FingerSet::LeftSlap)
            .expect("set");
        assert!(first.retry(), "dry fingers come out too poor");
        assert!(first.fingers.iter().all(|f| f.score < FINGER_THRESHOLD));
        let second = draft
            .capture_set(scanner.as_ref(), FingerSet::LeftSlap)
            .expect("set");
        assert!(!second.retry(), "the next placement is good: {second:?}");
    }

    #[test]
    fn fingers_declared_missing_are_not_captured_with_their_set() {
        let scanner = SimulatedScanner::new(4);
        let mut draft = EnrollmentDraft::new();
        draft
            .declare_finger_exception(FingerPosition::LeftRing, "amputated")
            .expect("exception");
        let result = draft
            .capture_set(&scanner, FingerSet::LeftSlap)
            .expect("set");
        let captured: Vec<FingerPosition> = result.fingers.iter().map(|f| f.position).collect();
        assert_eq!(
            captured,
            vec![
                FingerPosition::LeftLittle,
                FingerPosition::LeftMiddle,
                FingerPosition::LeftIndex
            ]
        );
        assert_eq!(draft.exceptions().count(), 1, "the exception stands");
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
    fn the_station_scores_each_finger_itself_and_the_manifest_carries_the_score() {
        let scanner = SimulatedScanner::new(2);
        let mut draft = EnrollmentDraft::new();
        draft
            .capture_finger(&scanner, FingerPosition::RightIndex)
            .expect("finger");
        scanner.set_conditions(hardware::simulated::Conditions::for_quality(10));
        draft
            .capture_finger(&scanner, FingerPosition::RightMiddle)
            .expect("finger");
        let good = draft
            .finger_quality(FingerPosition::RightIndex)
            .expect("scored");
        let poor = draft
            .finger_quality(FingerPosition::RightMiddle)
            .expect("scored");
        assert!(good >= poor + 10, "good {good}, poor {poor}");
        let records = draft.capture_records();
        let quality_of = |finger| {
            records
                .iter()
                .find(|r| r.finger == Some(finger))
                .and_then(|r| r.quality)
        };
        assert_eq!(quality_of(FingerPosition::RightIndex), Some(good));
        assert_eq!(quality_of(FingerPosition::RightMiddle), Some(poor));
    }

    /// A camera looking at a blank wall.
    struct BlankCamera;

    impl Camera for BlankCamera {
        fn info(&self) -> DeviceInfo {
            DeviceInfo {
                id: "blank".into(),
                name: "Blank camera".into(),
                backend: "test",
                kind: hardware::DeviceKind::Camera,
                status: hardware::DeviceStatus::Ready,
            }
        }

        fn open_stream(&self) -> Result<Box<dyn hardware::FrameStream>, DeviceError> {
            Err(DeviceError::Unsupported {
                device: "blank".into(),
                what: "streams".into(),
            })
        }

        fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
            Ok(RgbFrame::new(640, 480, vec![200; 640 * 480 * 3]).expect("size"))
        }
    }

    #[test]
    fn a_checked_face_is_kept_as_the_iso_token_crop_and_a_failing_one_as_force_captured() {
        let mut draft = EnrollmentDraft::new();
        let face = draft
            .capture_face(&SimulatedCamera::new(1))
            .expect("face")
            .clone();
        assert_eq!((face.width, face.height), (360, 480), "token-frontal crop");
        assert_eq!(draft.face_quality(), Some(100));
        let records = draft.capture_records();
        assert!(!records[0].force_captured);

        let blank = draft
            .capture_face(&BlankCamera)
            .expect("kept anyway")
            .clone();
        assert_eq!(
            (blank.width, blank.height),
            (640, 480),
            "no face: the whole frame"
        );
        assert_eq!(draft.face_quality(), Some(0));
        let records = draft.capture_records();
        assert_eq!(records[0].modality, Modality::Face);
        assert!(records[0].force_captured);
        assert_eq!(records[0].quality, Some(0));
        assert_eq!(records[0].attempts, 2);
    }

    #[test]
    fn captured_images_are_a_jpeg_and_wsq_finger_records() {
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
        draft
            .capture_finger(&SimulatedScanner::new(1), FingerPosition::LeftThumb)
            .expect("finger");
        let finger = draft.fingers().next().expect("the thumb");
        let record = formats::records::finger::FingerRecord::from_bytes(finger.record.as_bytes())
            .expect("an ISO 19794-4 record");
        assert_eq!(record.views.len(), 1);
        assert_eq!(
            record.views[0].compression,
            formats::records::finger::Compression::Wsq
        );
        assert_eq!(
            record.views[0].position,
            FingerPosition::LeftThumb.iso_code()
        );
    }
}
