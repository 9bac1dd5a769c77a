//! An officer's enrollment at the desk: start or resume it, keep the form as typed, capture the
//! face and the fingers (by hand or by watching the device), declare fingers that cannot be
//! captured, submit, and save the applicant's receipt.
//!
//! The [`Desk`] holds the draft being captured and the receipt of the last enrollment
//! submitted. Every change to the draft is saved, sealed, in the station database before the
//! action returns (a crash loses nothing), and every action writes its audit entry: scores,
//! attempts and fingers, never images or the applicant's data.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use formats::image::RgbFrame;
use formats::FingerPosition;
use hardware::{Camera, FingerSet, FingerprintScanner};
use protocol::content::{Demographics, FaceImage};
use protocol::random::RandomSource;

use super::{record, require, ActionError};
use crate::clock::Clock;
use crate::drafts::{self, SavedDraft};
use crate::enrollment::{self, EnrollmentError, SetResult};
use crate::officers::{Officer, Permission};
use crate::quality::face::{AutoCapture, FaceAssessment};
use crate::quality::placement::{self, Placement, Trigger};
use crate::receipt::Receipt;
use crate::station::Station;

/// Good frames in a row that make an automatic photo (a third of a second at 30 fps).
pub const AUTO_CAPTURE_FRAMES: usize = 10;
/// How long the face step watches the camera before handing over to the officer.
pub const FACE_WATCH_LIMIT: Duration = Duration::from_secs(120);
/// Ready preview frames in a row that make the station capture a set (0.3 s at 10 fps).
pub const SET_READY_FRAMES: usize = 3;
/// How long the fingerprint step watches the reader before handing over to the officer.
pub const FINGER_WATCH_LIMIT: Duration = Duration::from_secs(120);

/// The enrollment being made at the desk and the last receipt; shared with the threads that
/// capture (clones share the same draft).
#[derive(Clone, Default)]
pub struct Desk {
    draft: Arc<Mutex<SavedDraft>>,
    receipt: Arc<Mutex<Option<Receipt>>>,
}

impl Desk {
    /// The draft, for showing it (hold the guard briefly: captures wait for it).
    pub fn draft(&self) -> MutexGuard<'_, SavedDraft> {
        self.draft.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The receipt of the last enrollment submitted at this desk, until the next one starts.
    pub fn receipt(&self) -> Option<Receipt> {
        self.receipt_slot().clone()
    }

    /// Forgets the draft's captures (zeroized with it) and the receipt: the officer logged out
    /// or the session expired. The saved draft stays in the database for the officer.
    pub fn clear(&self) {
        *self.draft() = SavedDraft::default();
        *self.receipt_slot() = None;
    }

    fn receipt_slot(&self) -> MutexGuard<'_, Option<Receipt>> {
        self.receipt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a new enrollment: the previous draft (in memory and saved) is discarded, and a
    /// reader that chains its captures (SBI) starts the new applicant's chain. Audited as
    /// `enrollment.started`.
    ///
    /// # Errors
    /// [`ActionError::NotPermitted`] for roles that do not enroll; a saved draft that cannot be
    /// discarded as [`ActionError::DraftNotSaved`].
    pub fn start(
        &self,
        station: &Station,
        by: &Officer,
        scanner: &dyn FingerprintScanner,
        clock: &dyn Clock,
    ) -> Result<(), ActionError> {
        require(by, Permission::Enroll)?;
        *self.receipt_slot() = None;
        record(
            station,
            clock,
            &by.username,
            "enrollment.started",
            "",
            "new enrollment opened",
        )?;
        self.clear();
        scanner.begin_enrollment();
        drafts::discard(station, &by.username).map_err(ActionError::DraftNotSaved)
    }

    /// Loads the officer's saved draft (after a crash, a restart or a logout) to continue it.
    /// Audited as `enrollment.resumed`.
    ///
    /// # Errors
    /// [`ActionError::NoDraft`], [`ActionError::DraftUnreadable`].
    pub fn resume(
        &self,
        station: &Station,
        by: &Officer,
        clock: &dyn Clock,
    ) -> Result<(), ActionError> {
        require(by, Permission::Enroll)?;
        let saved = drafts::load(station, &by.username)
            .map_err(ActionError::DraftUnreadable)?
            .ok_or(ActionError::NoDraft)?;
        record(
            station,
            clock,
            &by.username,
            "enrollment.resumed",
            "",
            "saved enrollment reopened",
        )?;
        *self.draft() = saved;
        Ok(())
    }

    /// Keeps the form as typed so far with the draft, so a crash does not lose it. (Not
    /// audited: typing is not an action; the submission is.)
    ///
    /// # Errors
    /// [`ActionError::DraftNotSaved`].
    pub fn save_form(
        &self,
        station: &Station,
        by: &Officer,
        form: Demographics,
        clock: &dyn Clock,
    ) -> Result<(), ActionError> {
        require(by, Permission::Enroll)?;
        let mut saved = self.draft();
        saved.demographics = form;
        persist(station, by, &saved, clock)
    }

    /// Takes the face photo now, by hand (kept even when it fails the checks: force-captured).
    /// Audited as `capture.face`, failures included.
    ///
    /// # Errors
    /// The camera's or the encoder's error as [`ActionError::Enrollment`].
    pub fn capture_face(
        &self,
        station: &Station,
        by: &Officer,
        camera: &dyn Camera,
        clock: &dyn Clock,
    ) -> Result<FaceImage, ActionError> {
        require(by, Permission::Enroll)?;
        let mut saved = self.draft();
        let outcome = saved.draft.capture_face(camera).cloned();
        if outcome.is_ok() {
            persist(station, by, &saved, clock)?;
        }
        let detail = match &outcome {
            Ok(_) if saved.draft.face_quality() == Some(100) => {
                "face photo taken by hand; every check passed".to_owned()
            }
            Ok(_) => {
                "face photo taken by hand although it fails the checks (force-captured)".to_owned()
            }
            Err(error) => format!("face capture failed: {error}"),
        };
        record(station, clock, &by.username, "capture.face", "", &detail)?;
        Ok(outcome?)
    }

    /// Watches the camera, showing `on_frame` each frame with its checks, and takes the photo
    /// itself once every check has passed on [`AUTO_CAPTURE_FRAMES`] frames in a row. `None`
    /// when `stop` is set or after [`FACE_WATCH_LIMIT`] without a good run. A photo taken or a
    /// device failure is audited as `capture.face`.
    ///
    /// # Errors
    /// The camera's failure (unplugged, say) as [`ActionError::Enrollment`].
    pub fn watch_face(
        &self,
        station: &Station,
        by: &Officer,
        camera: &dyn Camera,
        stop: &AtomicBool,
        on_frame: impl FnMut(&RgbFrame, &FaceAssessment, &AutoCapture),
        clock: &dyn Clock,
    ) -> Result<Option<FaceImage>, ActionError> {
        require(by, Permission::Enroll)?;
        let watched = crate::quality::face::watch(
            camera,
            AUTO_CAPTURE_FRAMES,
            FACE_WATCH_LIMIT,
            stop,
            on_frame,
        );
        let (frame, assessment) = match watched {
            Ok(Ok(taken)) => taken,
            Ok(Err(_)) => return Ok(None),
            Err(error) => {
                let detail = format!("face live view failed: {error}");
                record(station, clock, &by.username, "capture.face", "", &detail)?;
                return Err(EnrollmentError::Device(error).into());
            }
        };
        let mut saved = self.draft();
        let photo = saved
            .draft
            .keep_face(&frame, &assessment, &camera.info())?
            .clone();
        persist(station, by, &saved, clock)?;
        record(
            station,
            clock,
            &by.username,
            "capture.face",
            "",
            "face photo taken automatically: every check passed",
        )?;
        Ok(Some(photo))
    }

    /// Captures `set` now (`how` says why, for the audit log: "by hand"); whatever was kept
    /// before a failure stays kept. Audited as `capture.fingers` with each finger's score, best
    /// score and attempt, failures included.
    ///
    /// # Errors
    /// The reader's failure, or no attempts left, as [`ActionError::Enrollment`].
    pub fn capture_set(
        &self,
        station: &Station,
        by: &Officer,
        scanner: &dyn FingerprintScanner,
        set: FingerSet,
        how: &str,
        clock: &dyn Clock,
    ) -> Result<SetResult, ActionError> {
        require(by, Permission::Enroll)?;
        let mut saved = self.draft();
        let outcome = saved.draft.capture_set(scanner, set);
        persist(station, by, &saved, clock)?;
        let name = placement::set_name(set);
        let detail = match &outcome {
            Ok(result) => {
                let scores: Vec<String> = result
                    .fingers
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} (best {}, attempt {})",
                            placement::finger_name(f.position),
                            f.score,
                            f.best,
                            f.attempts
                        )
                    })
                    .collect();
                format!("{name} captured {how}: {}", scores.join(", "))
            }
            Err(error) => format!("{name} capture failed: {error}"),
        };
        record(station, clock, &by.username, "capture.fingers", "", &detail)?;
        Ok(outcome?)
    }

    /// Watches the reader's preview while the applicant places `set`, showing `on_frame` each
    /// frame with its placement check, and captures the set itself (as [`Self::capture_set`])
    /// once every finger asked for has lain still for [`SET_READY_FRAMES`] frames; `capture_now`
    /// with `stop` captures at once. A reader that waits for the fingers itself (SBI) is asked
    /// to capture at once and its preview shown meanwhile. `None` when stopped without
    /// capturing or after [`FINGER_WATCH_LIMIT`]. A device failure is audited.
    ///
    /// # Errors
    /// As [`Self::capture_set`]; the preview's failure as [`ActionError::Enrollment`].
    #[allow(clippy::too_many_arguments)] // the watch's controls and its callback
    pub fn watch_set(
        &self,
        station: &Station,
        by: &Officer,
        scanner: &dyn FingerprintScanner,
        set: FingerSet,
        (stop, capture_now): (&AtomicBool, &AtomicBool),
        on_frame: impl FnMut(&RgbFrame, &Placement, usize) + Send,
        clock: &dyn Clock,
    ) -> Result<Option<SetResult>, ActionError> {
        require(by, Permission::Enroll)?;
        let excused: Vec<FingerPosition> = self
            .draft()
            .draft
            .exceptions()
            .map(|(finger, _)| finger)
            .filter(|finger| set.fingers().contains(finger))
            .collect();
        let outcome = placement::live_set(
            scanner,
            set,
            &excused,
            SET_READY_FRAMES,
            FINGER_WATCH_LIMIT,
            stop,
            capture_now,
            on_frame,
            |trigger: Trigger| {
                self.capture_set(station, by, scanner, set, trigger.describe(), clock)
            },
        );
        match outcome {
            Ok(captured) => captured.transpose(),
            Err(error) => {
                let detail = format!("{} live view failed: {error}", placement::set_name(set));
                record(station, clock, &by.username, "capture.fingers", "", &detail)?;
                Err(EnrollmentError::Device(error).into())
            }
        }
    }

    /// Declares that `finger` cannot be captured (amputated, bandaged, …) for `reason`,
    /// replacing any image of it; the enrollment will then wait for a supervisor. Audited as
    /// `capture.exception` with the finger, not the reason (which travels sealed in the packet).
    ///
    /// # Errors
    /// A reason that is empty or too long as [`ActionError::Enrollment`].
    pub fn declare_exception(
        &self,
        station: &Station,
        by: &Officer,
        finger: FingerPosition,
        reason: &str,
        clock: &dyn Clock,
    ) -> Result<(), ActionError> {
        require(by, Permission::Enroll)?;
        let mut saved = self.draft();
        saved.draft.declare_finger_exception(finger, reason)?;
        persist(station, by, &saved, clock)?;
        let detail = format!(
            "{} declared missing or unusable",
            placement::finger_name(finger)
        );
        record(
            station,
            clock,
            &by.username,
            "capture.exception",
            "",
            &detail,
        )
    }

    /// Photographs the hand with the declared finger(s) — what the supervisor and the server
    /// see — replacing an earlier photo. Audited as `capture.exception_photo`.
    ///
    /// # Errors
    /// No finger declared yet, or the camera's failure, as [`ActionError::Enrollment`].
    pub fn take_exception_photo(
        &self,
        station: &Station,
        by: &Officer,
        camera: &dyn Camera,
        clock: &dyn Clock,
    ) -> Result<FaceImage, ActionError> {
        require(by, Permission::Enroll)?;
        let mut saved = self.draft();
        let photo = saved.draft.take_exception_photo(camera)?.clone();
        persist(station, by, &saved, clock)?;
        record(
            station,
            clock,
            &by.username,
            "capture.exception_photo",
            "",
            "photo of the hand with the declared finger(s) taken",
        )?;
        Ok(photo)
    }

    /// Seals the enrollment for the server with the applicant's consent and queues it (held
    /// for a supervisor when a finger was declared or accepted below the threshold); the draft
    /// is then dropped (its images zeroized) and the receipt kept for the applicant. Audited as
    /// `enrollment.submitted` in the same transaction that stores the packet.
    ///
    /// # Errors
    /// [`ActionError::NoConsent`]; an invalid form or a missing capture as
    /// [`ActionError::Enrollment`] (nothing is stored).
    pub fn submit(
        &self,
        station: &Station,
        by: &Officer,
        form: &Demographics,
        consent: bool,
        (clock, random): (&dyn Clock, &dyn RandomSource),
    ) -> Result<Receipt, ActionError> {
        require(by, Permission::Enroll)?;
        if !consent {
            return Err(ActionError::NoConsent);
        }
        let mut saved = self.draft();
        let submitted = enrollment::submit(station, by, form, &saved.draft, clock, random)?;
        let made = Receipt::of(
            station,
            &submitted.demographics,
            &saved.draft,
            &submitted.id.to_string(),
            &submitted.created_at,
        );
        // The sealed packet is the only copy now (the saved draft went in the same
        // transaction); the draft's images are dropped (and zeroized).
        *saved = SavedDraft::default();
        let made = made.ok_or(ActionError::NoReceipt("the enrollment has no photo"))?;
        *self.receipt_slot() = Some(made.clone());
        Ok(made)
    }

    /// Writes the last receipt as a PDF (in `lang`: `en` or `id`) into `dir` (the front end's
    /// Downloads folder; `None` when it has none), readable by its owner only; returns the
    /// file's path. The file holds the applicant's photo: audited as `receipt.saved` with where
    /// it went.
    ///
    /// # Errors
    /// [`ActionError::NoReceipt`]; no folder, a PDF or a file that cannot be written as
    /// [`ActionError::ReceiptFailed`].
    pub fn save_receipt(
        &self,
        station: &Station,
        by: &Officer,
        lang: &str,
        dir: Option<&Path>,
        clock: &dyn Clock,
    ) -> Result<PathBuf, ActionError> {
        require(by, Permission::Enroll)?;
        let made = self
            .receipt()
            .ok_or(ActionError::NoReceipt("there is no receipt to save"))?;
        let dir = dir.ok_or_else(|| {
            ActionError::ReceiptFailed(
                "there is no Downloads folder: set STATION_RECEIPT_DIR to where receipts go".into(),
            )
        })?;
        let pdf = made
            .to_pdf(lang)
            .map_err(|error| ActionError::ReceiptFailed(error.to_string()))?;
        let short: String = made.id.chars().take(8).collect();
        let path = dir.join(format!("receipt-{short}.pdf"));
        std::fs::create_dir_all(dir)
            .and_then(|()| write_private_file(&path, &pdf))
            .map_err(|error| {
                ActionError::ReceiptFailed(format!("could not write {}: {error}", path.display()))
            })?;
        let detail = format!("receipt of {} saved as {}", made.id, path.display());
        record(station, clock, &by.username, "receipt.saved", "", &detail)?;
        Ok(path)
    }
}

/// The station's enrollments, newest first, for the officer's list (names and document
/// numbers: only roles that see applicants' data).
///
/// # Errors
/// [`ActionError::NotPermitted`] for technicians and administrators; the database's error.
pub fn list(
    station: &Station,
    by: &Officer,
) -> Result<Vec<enrollment::ListedEnrollment>, ActionError> {
    require(by, Permission::ViewApplicants)?;
    Ok(enrollment::list(station)?)
}

/// Whether `by` left an enrollment saved (after a crash, a restart or a logout) to resume.
pub fn has_saved_draft(station: &Station, by: &Officer) -> bool {
    matches!(station.store().draft(&by.username), Ok(Some(_)))
}

/// Saves the draft sealed in the database.
fn persist(
    station: &Station,
    by: &Officer,
    saved: &SavedDraft,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    drafts::save(station, &by.username, saved, clock).map_err(ActionError::DraftNotSaved)
}

/// Writes `bytes` to `path` readable by its owner only.
fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[path = "enrollment_tests.rs"]
mod tests;
