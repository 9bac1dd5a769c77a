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
    finger_part, BiometricBytes, FaceImage, FieldError, FingerImage, FACE_PART,
};
use protocol::manifest::{CaptureRecord, DeviceIdentity, Modality};
use protocol::packet::PacketError;
use serde::{Deserialize, Serialize};

use crate::imaging;
use crate::quality::face::{self, FaceAssessment, FaceChecker};
use crate::quality::finger::FingerFeedback;
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
    /// No randomness for the packet's id.
    #[error("the operating system could not provide random bytes: {0}")]
    Random(String),
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

mod list;
mod submit;

pub(crate) use list::{exception_photo_context, seal_legacy_rows};
pub use list::{list, ApplicantSummary, ListedEnrollment};
pub use submit::{normalized, submit, SubmittedEnrollment};

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
    pub fn capture_records(&self) -> Vec<CaptureRecord> {
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

    /// The kept image of `finger` is below [`FINGER_THRESHOLD`] and its attempts are used up:
    /// it is accepted as it is, and the enrollment will wait for a supervisor.
    pub fn finger_accepted_below(&self, finger: FingerPosition) -> bool {
        self.finger_forced(finger) && self.attempts(finger.iso_code()) >= MAX_FINGER_ATTEMPTS
    }

    /// Whether `finger` needs nothing more: declared missing, kept at [`FINGER_THRESHOLD`], or
    /// kept below it with its attempts used up.
    pub fn finger_done(&self, finger: FingerPosition) -> bool {
        if self.exceptions.contains_key(&finger) {
            return true;
        }
        match self.finger_quality(finger) {
            Some(best) => {
                best >= FINGER_THRESHOLD || self.attempts(finger.iso_code()) >= MAX_FINGER_ATTEMPTS
            }
            None => self.fingers.contains_key(&finger),
        }
    }

    /// Whether each finger of `set` needs nothing more (see [`Self::finger_done`]).
    pub fn set_done(&self, set: FingerSet) -> bool {
        set.fingers().iter().all(|&finger| self.finger_done(finger))
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
            if self.finger_done(finger) {
                continue;
            }
            let name = crate::quality::placement::finger_name(finger);
            missing.push(match self.finger_quality(finger) {
                Some(best) => format!(
                    "a better {name} fingerprint (quality {best}, below {FINGER_THRESHOLD}; \
                     attempt {} of {MAX_FINGER_ATTEMPTS})",
                    self.attempts(finger.iso_code())
                ),
                None => format!("{name} fingerprint"),
            });
        }
        missing
    }
}

#[cfg(test)]
mod tests;
