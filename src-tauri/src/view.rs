//! What the UI shows, converted from domain types. Only this module knows the screen's shapes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use formats::image::RgbFrame;
use formats::FingerPosition;
use hardware::FingerSet;
use protocol::content::FaceImage;
use serde::Serialize;
use station_core::actions::enrollment::SET_READY_FRAMES;
use station_core::drafts::SavedDraft;
use station_core::enrollment::{EnrollmentDraft, ListedEnrollment};
use station_core::enrollment::{FingerResult, SetResult, FINGER_THRESHOLD, MAX_FINGER_ATTEMPTS};
use station_core::officers::Officer;
use station_core::quality::face::{AutoCapture, FaceAssessment, FaceCheck};
use station_core::quality::placement::{OnGlass, Placement};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StationStatusView {
    pub provisioned: bool,
    /// Provisioned, but the station passphrase has not been entered yet.
    pub locked: bool,
    pub station_name: Option<String>,
    pub station_id: Option<String>,
    pub server_url: Option<String>,
    pub problem: Option<String>,
    pub camera: String,
    pub scanner: String,
    /// The camera is connected (a real one: its backend still lists it).
    pub camera_ready: bool,
    /// The fingerprint reader is connected.
    pub scanner_ready: bool,
    /// Never provisioned: the setup screen is shown.
    pub setup_needed: bool,
    /// The OS keyring answers, so setup may keep the station's key there instead of behind a
    /// passphrase (only looked up while setup is needed).
    pub keyring_available: bool,
}

/// The station's settings as the technician or administrator sees them.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub station_id: String,
    pub station_name: String,
    pub server_url: String,
    pub retention_days: u32,
    /// What protects the station's keys: `passphrase` (typed at start) or `keyring`.
    pub protection: &'static str,
    /// The version of the forms new enrollments use.
    pub forms_version: String,
}

/// An account, as the administrator sees it.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub username: String,
    pub display_name: String,
    /// `officer`, `supervisor`, `technician` or `administrator`.
    pub role: &'static str,
    /// `HH:MM` (UTC) until which it is locked after wrong passwords, when it is.
    pub locked_until: Option<String>,
}

impl From<station_core::officers::Account> for AccountView {
    fn from(account: station_core::officers::Account) -> Self {
        Self {
            username: account.username,
            display_name: account.display_name,
            role: account.role.as_str(),
            locked_until: account.locked_until,
        }
    }
}

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OfficerView {
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    /// A saved enrollment in progress waits to be resumed.
    pub has_draft: bool,
}

impl From<&Officer> for OfficerView {
    fn from(officer: &Officer) -> Self {
        Self {
            username: officer.username.clone(),
            display_name: officer.display_name.clone(),
            role: officer.role.as_str(),
            has_draft: false,
        }
    }
}

/// One frame of the face step's live view: a small preview and the checks' results.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FaceLiveView {
    /// The frame at half size, as a JPEG data URL.
    pub preview: String,
    pub checks: Vec<FaceCheckView>,
    /// Where the face is, for the overlay drawn on the preview; `None` unless there is exactly
    /// one face.
    pub face: Option<FaceOverlayView>,
    /// Good frames in a row so far, and how many make a photo.
    pub streak: usize,
    pub required: usize,
    /// When this message was handed to the channel, milliseconds since the Unix epoch: the UI
    /// measures the IPC hop and decoding from it (the preview figures in `docs/benchmarks.md`).
    pub sent_at_ms: f64,
}

/// The face box and the eyes, as fractions of the frame's width and height (so they fit the
/// preview at any size).
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FaceOverlayView {
    /// Left, top, width, height.
    pub bounds: [f64; 4],
    /// The eye on the left of the picture, then the one on the right (x, y).
    pub left_eye: [f64; 2],
    pub right_eye: [f64; 2],
    /// The landmarks the checks used (the model's eye corners and nose base), each (x, y).
    pub landmarks: Vec<[f64; 2]>,
}

impl FaceOverlayView {
    fn new(geometry: &station_core::quality::face::FaceGeometry, frame: &RgbFrame) -> Self {
        let (w, h) = (f64::from(frame.width()), f64::from(frame.height()));
        Self {
            bounds: share_of(frame, geometry.bounds),
            left_eye: [geometry.left_eye.0 / w, geometry.left_eye.1 / h],
            right_eye: [geometry.right_eye.0 / w, geometry.right_eye.1 / h],
            landmarks: geometry
                .landmarks
                .iter()
                .map(|(x, y)| [x / w, y / h])
                .collect(),
        }
    }
}

/// A box in `frame`'s pixels (left, top, width, height) as fractions of its width and height,
/// so the UI draws it over the preview at any size.
fn share_of(frame: &RgbFrame, (left, top, width, height): (f64, f64, f64, f64)) -> [f64; 4] {
    let (w, h) = (f64::from(frame.width()), f64::from(frame.height()));
    [left / w, top / h, width / w, height / h]
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FaceCheckView {
    pub check: FaceCheck,
    pub label: &'static str,
    pub passed: bool,
    pub advice: Option<protocol::form::Label>,
}

impl FaceLiveView {
    /// Sends each watched frame to the face step; a closed window (the channel gone) sets `stop`,
    /// so the watch ends with the step.
    pub fn sender(
        events: tauri::ipc::Channel<Self>,
        stop: Arc<AtomicBool>,
    ) -> impl FnMut(&RgbFrame, &FaceAssessment, &AutoCapture) {
        move |frame, assessment, auto| {
            if events.send(Self::new(frame, assessment, auto)).is_err() {
                stop.store(true, Ordering::Relaxed);
            }
        }
    }

    pub fn new(frame: &RgbFrame, assessment: &FaceAssessment, auto: &AutoCapture) -> Self {
        let preview = station_core::imaging::preview_jpeg(frame)
            .map(|jpeg| data_url("image/jpeg", &jpeg))
            .unwrap_or_default();
        // Every check is listed; those not run (no single face) show as not passed.
        let checks = FaceCheck::ALL
            .into_iter()
            .map(|check| {
                let result = assessment.checks.iter().find(|c| c.check == check);
                FaceCheckView {
                    check,
                    label: check.label(),
                    passed: result.is_some_and(|r| r.passed),
                    advice: result.and_then(|r| r.advice.clone()),
                }
            })
            .collect();
        Self {
            preview,
            checks,
            face: assessment
                .geometry
                .as_ref()
                .map(|geometry| FaceOverlayView::new(geometry, frame)),
            streak: auto.streak(),
            required: auto.required(),
            sent_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64() * 1e3),
        }
    }
}

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub data_url: String,
    pub width: u32,
    pub height: u32,
}

impl From<&FaceImage> for ImageView {
    fn from(face: &FaceImage) -> Self {
        Self {
            data_url: data_url("image/jpeg", face.jpeg.as_bytes()),
            width: face.width,
            height: face.height,
        }
    }
}

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FingerView {
    pub position: FingerPosition,
    pub label: String,
    pub image: ImageView,
    /// The station's quality score, 0–100.
    pub quality: Option<u8>,
    /// Captures of the finger so far.
    pub attempts: u32,
    /// Its score is below the threshold.
    pub below_threshold: bool,
    /// Below the threshold with its attempts used up: accepted as it is, for a supervisor.
    pub accepted_below: bool,
}

impl FingerView {
    /// The draft's fingers, with the station's quality scores.
    pub fn all(draft: &EnrollmentDraft) -> Vec<Self> {
        draft
            .fingers()
            .map(|finger| Self {
                position: finger.position,
                label: finger_label(finger.position).to_owned(),
                image: ImageView {
                    data_url: station_core::imaging::finger_record_png(finger.record.as_bytes())
                        .map(|png| data_url("image/png", &png))
                        .unwrap_or_default(),
                    width: finger.width,
                    height: finger.height,
                },
                quality: draft.finger_quality(finger.position),
                attempts: draft.attempts(finger.position.iso_code()),
                below_threshold: draft
                    .finger_quality(finger.position)
                    .is_none_or(|quality| quality < FINGER_THRESHOLD),
                accepted_below: draft.finger_accepted_below(finger.position),
            })
            .collect()
    }
}

/// One of the three sets the reader captures, in the order the officer takes them.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SetStatusView {
    pub set: FingerSet,
    /// Its fingers, left to right on the glass.
    pub fingers: Vec<FingerPosition>,
    /// Each finger kept at the threshold, accepted below it after the last attempt, or declared
    /// missing.
    pub done: bool,
}

impl SetStatusView {
    pub fn all(draft: &EnrollmentDraft) -> Vec<Self> {
        FingerSet::ALL
            .into_iter()
            .map(|set| Self {
                set,
                fingers: set.fingers().to_vec(),
                done: draft.set_done(set),
            })
            .collect()
    }
}

/// One frame of the fingerprint step's live view.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FingerLiveView {
    /// The platen at half size, as a JPEG data URL.
    pub preview: String,
    pub fingers: Vec<OnGlassView>,
    /// What to tell the applicant; `None` when the fingers are ready.
    pub advice: Option<protocol::form::Label>,
    /// Ready frames in a row so far, and how many make a capture.
    pub streak: usize,
    pub required: usize,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OnGlassView {
    pub position: FingerPosition,
    pub label: &'static str,
    pub state: OnGlass,
    /// Its box as fractions of the platen's width and height (left, top, width, height), when
    /// it is on the glass: for the overlay drawn on the preview.
    pub bounds: Option<[f64; 4]>,
}

impl FingerLiveView {
    /// Sends each preview frame to the fingerprint step; a closed window (the channel gone) sets
    /// `stop`, so the watch ends with the step.
    pub fn sender(
        events: tauri::ipc::Channel<Self>,
        stop: Arc<AtomicBool>,
    ) -> impl FnMut(&RgbFrame, &Placement, usize) + Send {
        move |frame, placement, streak| {
            let view = Self::new(frame, placement, streak, SET_READY_FRAMES);
            if events.send(view).is_err() {
                stop.store(true, Ordering::Relaxed);
            }
        }
    }

    pub fn new(frame: &RgbFrame, placement: &Placement, streak: usize, required: usize) -> Self {
        Self {
            preview: station_core::imaging::preview_jpeg(frame)
                .map(|jpeg| data_url("image/jpeg", &jpeg))
                .unwrap_or_default(),
            fingers: placement
                .fingers
                .iter()
                .map(|finger| OnGlassView {
                    position: finger.position,
                    label: finger_label(finger.position),
                    state: finger.state,
                    bounds: finger.bounds.map(|(left, top, width, height)| {
                        share_of(
                            frame,
                            (
                                f64::from(left),
                                f64::from(top),
                                f64::from(width),
                                f64::from(height),
                            ),
                        )
                    }),
                })
                .collect(),
            advice: placement.problem.as_ref().map(|problem| problem.advice()),
            streak,
            required,
        }
    }
}

/// What one capture of a set gave, and every finger kept so far.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SetView {
    pub results: Vec<FingerResultView>,
    /// Some finger is below the threshold and the set may be captured again.
    pub retry: bool,
    /// The quality score a finger needs, as the officer is told it.
    pub threshold: u8,
    /// Captures of a finger before its best image is accepted whatever its score.
    pub max_attempts: u32,
    pub fingers: Vec<FingerView>,
    pub exceptions: Vec<ExceptionView>,
    pub sets: Vec<SetStatusView>,
}

/// A finger declared missing or unusable, with the officer's reason.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionView {
    pub position: FingerPosition,
    pub label: &'static str,
    pub reason: String,
}

impl ExceptionView {
    /// The draft's declared exceptions.
    pub fn all(draft: &EnrollmentDraft) -> Vec<Self> {
        draft
            .exceptions()
            .map(|(position, reason)| Self {
                position,
                label: finger_label(position),
                reason: reason.to_owned(),
            })
            .collect()
    }
}

/// An enrollment held for a supervisor, with why.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedView {
    pub id: String,
    pub created_at: String,
    pub officer: String,
    pub exceptions: Vec<ExceptionView>,
    /// Captures kept although they failed the quality checks.
    pub force_captured: u32,
    /// The photo of the hand with the declared finger(s), as a JPEG data URL.
    pub exception_photo: Option<String>,
}

impl From<station_core::approval::Flagged> for FlaggedView {
    fn from(flagged: station_core::approval::Flagged) -> Self {
        Self {
            id: flagged.id,
            created_at: flagged.created_at,
            officer: flagged.officer,
            exceptions: flagged
                .exceptions
                .into_iter()
                .map(|(position, reason)| ExceptionView {
                    position,
                    label: finger_label(position),
                    reason,
                })
                .collect(),
            force_captured: u32::try_from(flagged.force_captured).unwrap_or(u32::MAX),
            exception_photo: flagged
                .exception_photo
                .map(|jpeg| data_url("image/jpeg", jpeg.as_bytes())),
        }
    }
}

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FingerResultView {
    pub position: FingerPosition,
    pub label: &'static str,
    /// This capture's score, and the best so far (the kept image's).
    pub score: u8,
    pub best: u8,
    pub attempts: u32,
    pub retry: bool,
    /// What to do about this capture.
    pub advice: Vec<protocol::form::Label>,
}

impl SetView {
    /// The draft's fingers and exceptions, after a change that captured nothing.
    pub fn unchanged(draft: &EnrollmentDraft) -> Self {
        Self {
            results: Vec::new(),
            retry: false,
            threshold: FINGER_THRESHOLD,
            max_attempts: MAX_FINGER_ATTEMPTS,
            fingers: FingerView::all(draft),
            exceptions: ExceptionView::all(draft),
            sets: SetStatusView::all(draft),
        }
    }

    pub fn new(result: &SetResult, draft: &EnrollmentDraft) -> Self {
        Self {
            results: result.fingers.iter().map(FingerResultView::from).collect(),
            retry: result.retry(),
            threshold: FINGER_THRESHOLD,
            max_attempts: MAX_FINGER_ATTEMPTS,
            fingers: FingerView::all(draft),
            exceptions: ExceptionView::all(draft),
            sets: SetStatusView::all(draft),
        }
    }
}

impl From<&FingerResult> for FingerResultView {
    fn from(result: &FingerResult) -> Self {
        Self {
            position: result.position,
            label: finger_label(result.position),
            score: result.score,
            best: result.best,
            attempts: result.attempts,
            retry: result.retry(),
            advice: result.feedback.iter().map(|f| f.advice()).collect(),
        }
    }
}

#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentView {
    pub id: String,
    pub applicant_name: String,
    pub document_number: String,
    pub created_at: String,
    pub state: station_core::store::outbox::OutboxState,
    pub failed_attempts: u32,
    pub last_error: Option<String>,
    pub server_reason: Option<String>,
    pub approval: Option<String>,
    pub approval_note: Option<String>,
}

impl From<ListedEnrollment> for EnrollmentView {
    fn from(listed: ListedEnrollment) -> Self {
        let summary = listed.summary;
        Self {
            id: summary.enrollment.id,
            applicant_name: listed.applicant.full_name,
            document_number: listed.applicant.document_number,
            created_at: summary.enrollment.created_at,
            state: summary.state,
            failed_attempts: summary.failed_attempts,
            last_error: summary.last_error,
            server_reason: summary.server_reason,
            approval: summary.approval,
            approval_note: listed.approval_note,
        }
    }
}

/// A saved draft as the wizard resumes it.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    pub form: protocol::content::Demographics,
    pub face: Option<ImageView>,
    pub fingers: Vec<FingerView>,
    pub exceptions: Vec<ExceptionView>,
    pub exception_photo: Option<ImageView>,
    pub sets: Vec<SetStatusView>,
}

impl From<&SavedDraft> for DraftView {
    fn from(saved: &SavedDraft) -> Self {
        Self {
            form: saved.demographics.clone(),
            face: saved.draft.face().map(ImageView::from),
            fingers: FingerView::all(&saved.draft),
            exceptions: ExceptionView::all(&saved.draft),
            exception_photo: saved.draft.exception_photo().map(ImageView::from),
            sets: SetStatusView::all(&saved.draft),
        }
    }
}

/// One finger on the receipt.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptFingerView {
    pub position: FingerPosition,
    pub quality: Option<u8>,
    pub exception: Option<String>,
}

/// The applicant's receipt, as the app shows it for printing.
#[derive(Debug, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    pub id: String,
    pub created_at: String,
    pub station_name: String,
    pub application: protocol::form::Label,
    pub full_name: String,
    pub document_number: String,
    /// The face photo, as a JPEG data URL.
    pub photo: String,
    /// The enrollment id as a QR code, SVG markup generated here (no applicant data in it).
    pub qr_svg: String,
    pub fingers: Vec<ReceiptFingerView>,
    pub needs_approval: bool,
    pub tracking: protocol::form::Label,
}

impl ReceiptView {
    pub fn new(
        receipt: &station_core::receipt::Receipt,
    ) -> Result<Self, crate::error::CommandError> {
        Ok(Self {
            id: receipt.id.clone(),
            created_at: receipt.created_at.clone(),
            station_name: receipt.station_name.clone(),
            application: receipt.application.clone(),
            full_name: receipt.full_name.clone(),
            document_number: receipt.document_number.clone(),
            photo: data_url("image/jpeg", receipt.photo.as_bytes()),
            qr_svg: receipt.qr_svg().map_err(|e| {
                crate::error::CommandError::new(
                    station_core::actions::ErrorCode::ReceiptFailed,
                    e.to_string(),
                )
            })?,
            fingers: receipt
                .fingers
                .iter()
                .map(|f| ReceiptFingerView {
                    position: f.position,
                    quality: f.quality,
                    exception: f.exception.clone(),
                })
                .collect(),
            needs_approval: receipt.needs_approval,
            tracking: station_core::receipt::tracking_text(),
        })
    }
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", STANDARD.encode(bytes))
}

fn finger_label(position: FingerPosition) -> &'static str {
    position.names().0
}
