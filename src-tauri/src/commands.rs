//! One command per UI action; each takes its state, calls one core function and maps the error.
//! Work that may take more than a frame (hashing, capture, sealing) runs off the main thread.

use formats::FingerPosition;
use hardware::FingerSet;
use protocol::content::{Demographics, FieldError};
use protocol::form::{FormSet, Prefill};
use station_core::approval;
use station_core::audit::{self, AuditEvent};
use station_core::clock::{rfc3339, Clock, SystemClock};
use station_core::devices::Drill;
use station_core::drafts::{self, SavedDraft};
use station_core::enrollment;
use station_core::officers::{self, Password, Permission};
use station_core::quality::placement::{self, Placement};
use station_core::receipt::Receipt;
use station_core::report::{Section, TechnicianReport};
use station_core::selftest;
use station_core::station::Station;
use station_core::sync::machine::SyncStatus;
use station_core::sync::{SyncConfig, Uploader};
use station_core::vault::Passphrase;
use std::sync::atomic::Ordering;
use tauri::{Manager, State};

use crate::error::CommandError;
use crate::state::{
    Devices, DraftSlot, FaceLive, FingerLive, LastReceipt, LastReport, Session, StationSlot,
    SyncSlot,
};
use crate::view::{
    DraftView, EnrollmentView, FaceLiveView, FingerLiveView, FlaggedView, ImageView, OfficerView,
    ReceiptView, SetView, StationStatusView,
};

/// Good frames in a row that make an automatic photo (a third of a second at 30 fps).
const AUTO_CAPTURE_FRAMES: usize = 10;
/// How long the face step watches the camera before handing over to the officer.
const FACE_WATCH_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);
/// Ready preview frames in a row that make the station capture a set (0.3 s at 10 fps).
const SET_READY_FRAMES: usize = 3;
/// How long the fingerprint step watches the reader before handing over to the officer.
const FINGER_WATCH_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

pub(crate) async fn off_main_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| CommandError::new("internal", format!("the task failed: {error}")))?
}

/// Records an officer action in the tamper-evident audit log; an action that cannot be recorded
/// fails with it.
pub(crate) fn record(
    station: &Station,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), CommandError> {
    record_about(station, actor, action, "", detail)
}

/// As [`record`], for an action on `subject` (an account, say).
pub(crate) fn record_about(
    station: &Station,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), CommandError> {
    let event = AuditEvent {
        actor,
        action,
        subject,
        detail,
    };
    Ok(audit::record(station, &event, &SystemClock)?)
}

/// Saves the draft sealed in the database; a capture that cannot be saved is reported.
fn persist(station: &Station, officer: &str, saved: &SavedDraft) -> Result<(), CommandError> {
    drafts::save(station, officer, saved, &SystemClock)
        .map_err(|error| CommandError::new("draft_not_saved", error.to_string()))
}

#[tauri::command]
#[specta::specta]
pub async fn station_status(
    station: State<'_, StationSlot>,
    devices: State<'_, Devices>,
) -> Result<StationStatusView, CommandError> {
    let config = station.config();
    let devices = devices.current();
    let ready = devices.readiness();
    Ok(StationStatusView {
        provisioned: config.is_some(),
        locked: station.is_locked(),
        station_name: config.as_ref().map(|c| c.station_name.clone()),
        station_id: config.as_ref().map(|c| c.station_id.to_string()),
        server_url: config.map(|c| c.server_url),
        problem: station.problem(),
        camera: devices.camera.info().name,
        scanner: devices.scanner.info().name,
        camera_ready: ready.camera,
        scanner_ready: ready.scanner,
        setup_needed: station.needs_setup(),
        keyring_available: station.needs_setup() && station_core::keyring::available(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn unlock_station(
    passphrase: String,
    app: tauri::AppHandle,
    slot: State<'_, StationSlot>,
    devices: State<'_, Devices>,
) -> Result<StationStatusView, CommandError> {
    let passphrase = Passphrase::new(passphrase);
    let handle = app.clone();
    // Argon2id takes a noticeable moment: keep it off the main thread.
    off_main_thread(move || {
        let slot = handle.state::<StationSlot>();
        let station = slot.unlock(&passphrase, &handle)?;
        record(
            &station,
            "station",
            "station.unlocked",
            "station passphrase entered",
        )
    })
    .await?;
    station_status(slot, devices).await
}

#[tauri::command]
#[specta::specta]
pub async fn login(
    username: String,
    password: String,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<OfficerView, CommandError> {
    let station = station.get()?;
    let password = Password::new(password);
    let worker = station.clone();
    let officer = off_main_thread(move || {
        let station = worker;
        let result = officers::login(station.store(), &username, &password, &SystemClock);
        match &result {
            Ok(_) => record(&station, &username, "login", "logged in")?,
            Err(_) => record(
                &station,
                &username,
                "login.failed",
                "wrong username or password",
            )?,
        }
        Ok(result?)
    })
    .await?;
    let mut view = OfficerView::from(&officer);
    view.has_draft = station
        .store()
        .draft(&officer.username)
        .map(|d| d.is_some())
        .unwrap_or(false);
    session.start(officer);
    Ok(view)
}

#[tauri::command]
#[specta::specta]
pub async fn logout(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
    receipt: State<'_, LastReceipt>,
) -> Result<(), CommandError> {
    receipt.set(None);
    if let (Some(officer), Ok(station)) = (session.end(), station.get()) {
        record(&station, &officer.username, "logout", "logged out")?;
    }
    draft.reset();
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn start_enrollment(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
    devices: State<'_, Devices>,
    receipt: State<'_, LastReceipt>,
) -> Result<(), CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    receipt.set(None);
    record(
        &station,
        &officer.username,
        "enrollment.started",
        "new enrollment opened",
    )?;
    draft.reset();
    // A reader that chains its captures (SBI) starts the new applicant's chain.
    devices.current().scanner.begin_enrollment();
    drafts::discard(&station, &officer.username)
        .map_err(|error| CommandError::new("draft_not_saved", error.to_string()))?;
    Ok(())
}

/// Loads the officer's saved draft (after a crash, a restart or a logout) to continue it.
#[tauri::command]
#[specta::specta]
pub async fn resume_enrollment(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<DraftView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let saved = drafts::load(&station, &officer.username)
        .map_err(|error| CommandError::new("draft_unreadable", error.to_string()))?
        .ok_or_else(|| CommandError::new("no_draft", "there is no saved enrollment to resume"))?;
    record(
        &station,
        &officer.username,
        "enrollment.resumed",
        "saved enrollment reopened",
    )?;
    let view = DraftView::from(&saved);
    *draft.lock() = saved;
    Ok(view)
}

/// Keeps the form as typed so far with the draft, so a crash does not lose it.
#[tauri::command]
#[specta::specta]
pub async fn save_form(
    form: Demographics,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<(), CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let mut saved = draft.lock();
    saved.demographics = form;
    persist(&station, &officer.username, &saved)
}

/// Checks the form against the definition it names; every problem, in both languages.
#[tauri::command]
#[specta::specta]
pub async fn validate_form(
    form: Demographics,
    station: State<'_, StationSlot>,
) -> Result<Vec<FieldError>, CommandError> {
    let station = station.get()?;
    let today = SystemClock.now().date();
    let form = enrollment::normalized(station.forms(), &form);
    Ok(station
        .forms()
        .validate(&form, today)
        .err()
        .unwrap_or_default())
}

/// The forms new enrollments use (the newest version the station has).
#[tauri::command]
#[specta::specta]
pub async fn list_forms(station: State<'_, StationSlot>) -> Result<FormSet, CommandError> {
    current_forms(&station.get()?).cloned()
}

fn current_forms(station: &Station) -> Result<&FormSet, CommandError> {
    station
        .forms()
        .current()
        .ok_or_else(|| CommandError::new("no_forms", "this station has no enrollment forms"))
}

/// A blank form of kind `form_id` (fixed values such as a citizen's nationality filled in).
#[tauri::command]
#[specta::specta]
pub async fn blank_form(
    form_id: String,
    station: State<'_, StationSlot>,
) -> Result<Demographics, CommandError> {
    let station = station.get()?;
    let set = current_forms(&station)?;
    let form = set
        .form(&form_id)
        .ok_or_else(|| CommandError::new("unknown_form", format!("there is no form {form_id}")))?;
    Ok(form.blank(&set.version))
}

/// Reads a passport's machine-readable zone (typed, or from a keyboard-wedge MRZ reader) into
/// the fields of the form it fills; a misread zone is refused naming the check digit.
#[tauri::command]
#[specta::specta]
pub async fn prefill_from_mrz(
    form: Demographics,
    zone: String,
    station: State<'_, StationSlot>,
) -> Result<Prefill, CommandError> {
    let station = station.get()?;
    let definition = station
        .forms()
        .find(&form.form, &form.form_version)
        .ok_or_else(|| {
            CommandError::new("unknown_form", format!("there is no form {}", form.form))
        })?;
    let year = SystemClock.now().year();
    definition
        .prefill_from_mrz(&zone, year)
        .map_err(|message| CommandError::field("invalid_mrz", FieldError::new("mrz", message)))
}

#[tauri::command]
#[specta::specta]
pub async fn capture_face(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<ImageView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let (camera, draft) = (devices.current().camera, draft.inner().clone());
    off_main_thread(move || {
        let mut saved = draft.lock();
        let outcome = saved
            .draft
            .capture_face(camera.as_ref())
            .map(ImageView::from);
        if outcome.is_ok() {
            persist(&station, &officer.username, &saved)?;
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
        record(&station, &officer.username, "capture.face", &detail)?;
        Ok(outcome?)
    })
    .await
}

/// Watches the camera, sending each frame's preview and checks to `events`, and takes the photo
/// itself once every check has passed on enough frames in a row. `None` when stopped (see
/// [`face_live_stop`]) or after two minutes without a good run.
#[tauri::command]
#[specta::specta]
pub async fn face_live(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
    live: State<'_, FaceLive>,
    events: tauri::ipc::Channel<FaceLiveView>,
) -> Result<Option<ImageView>, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let (camera, draft, stop) = (
        devices.current().camera,
        draft.inner().clone(),
        live.0.clone(),
    );
    stop.store(false, std::sync::atomic::Ordering::Relaxed);
    off_main_thread(move || {
        let outcome = station_core::quality::face::watch(
            camera.as_ref(),
            AUTO_CAPTURE_FRAMES,
            FACE_WATCH_LIMIT,
            &stop,
            |frame, assessment, auto| {
                // A closed window drops the channel; the watch then ends with the step.
                if events
                    .send(FaceLiveView::new(frame, assessment, auto))
                    .is_err()
                {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
        );
        let (frame, assessment) = match outcome {
            Ok(Ok(taken)) => taken,
            Ok(Err(_)) => return Ok(None),
            Err(error) => {
                record(
                    &station,
                    &officer.username,
                    "capture.face",
                    &format!("face live view failed: {error}"),
                )?;
                return Err(enrollment::EnrollmentError::Device(error).into());
            }
        };
        let mut saved = draft.lock();
        let view = saved
            .draft
            .keep_face(&frame, &assessment, &camera.info())
            .map(ImageView::from)?;
        persist(&station, &officer.username, &saved)?;
        record(
            &station,
            &officer.username,
            "capture.face",
            "face photo taken automatically: every check passed",
        )?;
        Ok(Some(view))
    })
    .await
}

/// Stops the face step's live watch.
#[tauri::command]
#[specta::specta]
pub fn face_live_stop(live: State<'_, FaceLive>) {
    live.0.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Captures `set` now, by hand: the officer pressed "Capture" (or the reader has no preview).
#[tauri::command]
#[specta::specta]
pub async fn capture_set(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
    set: FingerSet,
) -> Result<SetView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let (scanner, draft) = (devices.current().scanner, draft.inner().clone());
    off_main_thread(move || {
        capture_and_keep(
            &station,
            &officer.username,
            &scanner,
            &draft,
            set,
            "by hand",
        )
    })
    .await
}

/// Watches the reader's preview while the applicant places `set`, sending each frame and its
/// placement check to `events`, and captures the set itself once every finger asked for has
/// lain still for a moment. A reader that waits for the fingers itself (SBI) is asked to
/// capture at once and its preview is shown meanwhile; a reader without a preview simply
/// captures. `None` when stopped without capturing (see [`fingers_live_stop`]) or after two
/// minutes without the fingers in place.
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)] // Tauri hands each piece of state as its own argument.
pub async fn fingers_live(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
    live: State<'_, FingerLive>,
    set: FingerSet,
    events: tauri::ipc::Channel<FingerLiveView>,
) -> Result<Option<SetView>, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let (scanner, draft, live) = (
        devices.current().scanner,
        draft.inner().clone(),
        live.inner().clone(),
    );
    live.stop.store(false, Ordering::Relaxed);
    live.capture_now.store(false, Ordering::Relaxed);
    off_main_thread(move || {
        let excused: Vec<FingerPosition> = draft
            .lock()
            .draft
            .exceptions()
            .map(|(finger, _)| finger)
            .filter(|finger| set.fingers().contains(finger))
            .collect();
        let send = |frame: &formats::image::RgbFrame, placement: &Placement, streak| {
            let view = FingerLiveView::new(frame, placement, streak, SET_READY_FRAMES);
            // A closed window drops the channel; the watch then ends with the step.
            if events.send(view).is_err() {
                live.stop.store(true, Ordering::Relaxed);
            }
        };
        let outcome = placement::live_set(
            scanner.as_ref(),
            set,
            &excused,
            SET_READY_FRAMES,
            FINGER_WATCH_LIMIT,
            &live.stop,
            &live.capture_now,
            send,
            |trigger| {
                capture_and_keep(
                    &station,
                    &officer.username,
                    &scanner,
                    &draft,
                    set,
                    trigger.describe(),
                )
            },
        );
        match outcome {
            Ok(captured) => captured.transpose(),
            Err(error) => {
                record(
                    &station,
                    &officer.username,
                    "capture.fingers",
                    &format!("{} live view failed: {error}", placement::set_name(set)),
                )?;
                Err(enrollment::EnrollmentError::Device(error).into())
            }
        }
    })
    .await
}

/// Ends the fingerprint step's live watch; with `capture` the set is captured at once.
#[tauri::command]
#[specta::specta]
pub fn fingers_live_stop(live: State<'_, FingerLive>, capture: bool) {
    live.capture_now.store(capture, Ordering::Relaxed);
    live.stop.store(true, Ordering::Relaxed);
}

/// Captures `set` into the draft, saves the draft and records the capture in the audit log
/// (scores and attempts only: never the images).
fn capture_and_keep(
    station: &Station,
    officer: &str,
    scanner: &std::sync::Arc<dyn hardware::FingerprintScanner>,
    draft: &DraftSlot,
    set: FingerSet,
    how: &str,
) -> Result<SetView, CommandError> {
    let mut saved = draft.lock();
    let outcome = saved.draft.capture_set(scanner.as_ref(), set);
    // Whatever was kept before a failure stays kept.
    persist(station, officer, &saved)?;
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
    record(station, officer, "capture.fingers", &detail)?;
    Ok(SetView::new(&outcome?, &saved.draft))
}

#[tauri::command]
#[specta::specta]
pub async fn submit_enrollment(
    form: Demographics,
    consent: bool,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
    sync: State<'_, SyncSlot>,
    receipt: State<'_, LastReceipt>,
) -> Result<ReceiptView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    if !consent {
        return Err(CommandError::new(
            "no_consent",
            "the applicant's consent to the use of their data and biometrics is needed before sealing",
        ));
    }
    let (station, draft) = (station.get()?, draft.inner().clone());
    let made = off_main_thread(move || {
        let mut saved = draft.lock();
        let submitted = enrollment::submit(&station, &officer, &form, &saved.draft, &SystemClock)?;
        let made = Receipt::of(
            &station,
            &submitted.demographics,
            &saved.draft,
            &submitted.id.to_string(),
            &submitted.created_at,
        );
        // The sealed packet is the only copy now (the saved draft went in the same
        // transaction); the draft's images are dropped (and zeroized).
        *saved = SavedDraft::default();
        Ok::<_, CommandError>(made)
    })
    .await?;
    sync.sync_now();
    let made =
        made.ok_or_else(|| CommandError::new("no_receipt", "the enrollment has no photo"))?;
    let view = ReceiptView::new(&made)?;
    receipt.set(Some(made));
    Ok(view)
}

/// Writes the last receipt as a PDF (in `lang`: `en` or `id`) for the applicant, into the
/// Downloads folder (`STATION_RECEIPT_DIR` overrides it); returns the file's path. The file holds
/// the applicant's photo: it is written only when the officer asks, and the audit log says so.
#[tauri::command]
#[specta::specta]
pub async fn save_receipt_pdf(
    lang: String,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    receipt: State<'_, LastReceipt>,
) -> Result<String, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let made = receipt
        .get()
        .ok_or_else(|| CommandError::new("no_receipt", "there is no receipt to save"))?;
    off_main_thread(move || {
        let pdf = made
            .to_pdf(&lang)
            .map_err(|e| CommandError::new("receipt_failed", e.to_string()))?;
        let dir = receipt_dir().ok_or_else(|| {
            CommandError::new(
                "receipt_failed",
                "there is no Downloads folder: set STATION_RECEIPT_DIR to where receipts go",
            )
        })?;
        let short: String = made.id.chars().take(8).collect();
        let path = dir.join(format!("receipt-{short}.pdf"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| write_private_file(&path, &pdf))
            .map_err(|error| {
                CommandError::new(
                    "receipt_failed",
                    format!("could not write {}: {error}", path.display()),
                )
            })?;
        let shown = path.display().to_string();
        record(
            &station,
            &officer.username,
            "receipt.saved",
            &format!("receipt of {} saved as {shown}", made.id),
        )?;
        Ok(shown)
    })
    .await
}

/// Where receipts go: never a shared temporary folder, since a receipt holds the photo.
fn receipt_dir() -> Option<std::path::PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    from_env("STATION_RECEIPT_DIR")
        .or_else(|| from_env("XDG_DOWNLOAD_DIR"))
        .or_else(|| from_env("HOME").map(|home| home.join("Downloads")))
}

/// Writes `bytes` to `path` readable by its owner only.
fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[tauri::command]
#[specta::specta]
pub async fn list_enrollments(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<EnrollmentView>, CommandError> {
    session.check(Permission::ViewApplicants)?;
    let list = enrollment::list(&station.get()?)?;
    Ok(list.into_iter().map(EnrollmentView::from).collect())
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    session.act(Permission::Enroll)?;
    sync.sync_now();
    Ok(())
}

/// Stops sending until resumed (e.g. to free a metered link); nothing waiting is lost.
#[tauri::command]
#[specta::specta]
pub async fn pause_sync(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    session.act(Permission::Enroll)?;
    sync.pause();
    Ok(())
}

/// Sends again after a pause.
#[tauri::command]
#[specta::specta]
pub async fn resume_sync(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    session.act(Permission::Enroll)?;
    sync.resume();
    Ok(())
}

/// What sending is doing: progress, and the officer's message for any problem.
#[tauri::command]
#[specta::specta]
pub async fn sync_status(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<Option<SyncStatus>, CommandError> {
    session.check(Permission::ViewSyncStatus)?;
    Ok(sync.status())
}

/// How long the self-test streams the camera.
const SELFTEST_CAMERA_TIME: std::time::Duration = std::time::Duration::from_secs(3);

/// One step of the technician's self-test, as it starts (`section` empty) and as it ends.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SelfTestProgress {
    /// "station", "camera", "reader" or "server".
    pub key: String,
    pub section: Option<Section>,
}

/// Runs the technician's self-test — the station (storage, crypto, audit log), the camera, the
/// fingerprint reader and the server link — telling `events` as each part starts and ends.
/// With `drill`, that fault is first forced on the simulated device it concerns (practice; real
/// devices are refused) and every drill ends with the run.
#[tauri::command]
#[specta::specta]
pub async fn run_selftest(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    last: State<'_, LastReport>,
    drill: Option<Drill>,
    events: tauri::ipc::Channel<SelfTestProgress>,
) -> Result<TechnicianReport, CommandError> {
    let technician = session.act(Permission::RunSelfTests)?;
    let station = station.get()?;
    let devices = devices.current();
    let (camera, scanner, simulated) = (devices.camera, devices.scanner, devices.simulated);
    if let Some(drill) = drill {
        simulated
            .drill(drill)
            .map_err(|reason| CommandError::new("drill_refused", reason))?;
    }
    let report = off_main_thread(move || {
        let step = |key: &str, run: &mut dyn FnMut() -> Result<Section, CommandError>| {
            // A closed window drops the channel; the run still completes and is recorded.
            let _ = events.send(SelfTestProgress {
                key: key.to_owned(),
                section: None,
            });
            let section = run()?;
            let _ = events.send(SelfTestProgress {
                key: key.to_owned(),
                section: Some(section.clone()),
            });
            Ok::<_, CommandError>(section)
        };
        let sections = vec![
            step("station", &mut || {
                Ok(Section::station(&selftest::run(
                    &station,
                    &technician.username,
                    &SystemClock,
                )?))
            })?,
            step("camera", &mut || {
                Ok(Section::device(
                    "camera",
                    &hardware::selftest::test_camera(camera.as_ref(), SELFTEST_CAMERA_TIME),
                ))
            })?,
            step("reader", &mut || {
                Ok(Section::device(
                    "reader",
                    &hardware::selftest::test_reader(
                        scanner.as_ref(),
                        enrollment::FINGER_THRESHOLD,
                    ),
                ))
            })?,
            step("server", &mut || {
                let url = station.config().server_url.clone();
                let config = SyncConfig {
                    request_timeout: std::time::Duration::from_secs(10),
                    ..SyncConfig::default()
                };
                let started = std::time::Instant::now();
                let outcome = match Uploader::to_server(
                    &station,
                    &url,
                    &config,
                    std::sync::Arc::new(SystemClock),
                ) {
                    Ok(uploader) => tauri::async_runtime::block_on(uploader.check_link()),
                    Err(error) => Err(error.to_string()),
                };
                let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                Ok(Section::server(&url, outcome, took))
            })?,
        ];
        let report = TechnicianReport::new(
            rfc3339(SystemClock.now()),
            station.config().station_name.clone(),
            station.config().station_id.to_string(),
            technician.username.clone(),
            drill.map(|d| format!("{d:?}")),
            sections,
        );
        let summary: Vec<String> = report
            .sections
            .iter()
            .map(|s| format!("{} {}", s.key, s.verdict.label()))
            .collect();
        record(
            &station,
            &technician.username,
            "selftest.devices",
            &format!(
                "{}{}",
                summary.join(", "),
                drill
                    .map(|d| format!(" (drill: {d:?})"))
                    .unwrap_or_default()
            ),
        )?;
        Ok(report)
    })
    .await;
    // Whatever happened, no drill outlives the run.
    simulated.end_drills();
    let report = report?;
    *last
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report.clone());
    Ok(report)
}

/// The formats a self-test report is exported in.
#[derive(Debug, Clone, Copy, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// For tools.
    Json,
    /// Printable.
    Html,
}

/// Writes the last self-test report to the station's `reports` folder; returns the file's path.
#[tauri::command]
#[specta::specta]
pub async fn export_selftest(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    last: State<'_, LastReport>,
    format: ReportFormat,
) -> Result<String, CommandError> {
    let technician = session.act(Permission::RunSelfTests)?;
    let station = station.get()?;
    let report = last
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .ok_or_else(|| CommandError::new("no_report", "run the self-test first"))?;
    off_main_thread(move || {
        let (text, extension) = match format {
            ReportFormat::Json => (report.to_json(), "json"),
            ReportFormat::Html => (report.to_html(), "html"),
        };
        let dir = station.paths().root().join("reports");
        let stamp: String = report
            .at
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let path = dir.join(format!("selftest-{stamp}.{extension}"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|error| {
                CommandError::new(
                    "export_failed",
                    format!("could not write {}: {error}", path.display()),
                )
            })?;
        let shown = path.display().to_string();
        record(&station, &technician.username, "selftest.exported", &shown)?;
        Ok(shown)
    })
    .await
}

/// Declares that `finger` cannot be captured (amputated, bandaged, …) for `reason`, replacing
/// any image of it; the enrollment will then wait for a supervisor. The audit log records the
/// finger, not the reason (the reason travels sealed in the packet).
#[tauri::command]
#[specta::specta]
pub async fn declare_exception(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
    finger: FingerPosition,
    reason: String,
) -> Result<SetView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let draft = draft.inner().clone();
    off_main_thread(move || {
        let mut saved = draft.lock();
        saved.draft.declare_finger_exception(finger, &reason)?;
        persist(&station, &officer.username, &saved)?;
        record(
            &station,
            &officer.username,
            "capture.exception",
            &format!(
                "{} declared missing or unusable",
                placement::finger_name(finger)
            ),
        )?;
        Ok(SetView::unchanged(&saved.draft))
    })
    .await
}

/// Photographs the hand with the declared finger(s) — the exception photo the supervisor and
/// the server see — with the camera, replacing an earlier one.
#[tauri::command]
#[specta::specta]
pub async fn take_exception_photo(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<ImageView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?;
    let (camera, draft) = (devices.current().camera, draft.inner().clone());
    off_main_thread(move || {
        let mut saved = draft.lock();
        let view = saved
            .draft
            .take_exception_photo(camera.as_ref())
            .map(ImageView::from)?;
        persist(&station, &officer.username, &saved)?;
        record(
            &station,
            &officer.username,
            "capture.exception_photo",
            "photo of the hand with the declared finger(s) taken",
        )?;
        Ok(view)
    })
    .await
}

/// The enrollments held for a supervisor, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn list_approvals(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<FlaggedView>, CommandError> {
    let supervisor = session.act(Permission::Approve)?;
    let station = station.get()?;
    off_main_thread(move || {
        Ok(approval::awaiting(&station, &supervisor)?
            .into_iter()
            .map(FlaggedView::from)
            .collect())
    })
    .await
}

/// Records the logged-in supervisor's decision on enrollment `id`: approved ones go to the
/// server, refused ones never leave the station. A refusal needs a comment.
#[tauri::command]
#[specta::specta]
pub async fn decide_approval(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
    id: String,
    approve: bool,
    comment: String,
) -> Result<(), CommandError> {
    let supervisor = session.act(Permission::Approve)?;
    let station = station.get()?;
    let decision = if approve {
        approval::Decision::Approve
    } else {
        approval::Decision::Refuse
    };
    off_main_thread(move || {
        Ok(approval::decide(
            &station,
            &supervisor,
            &id,
            decision,
            &comment,
            &SystemClock,
        )?)
    })
    .await?;
    // An approved packet may go at once.
    sync.sync_now();
    Ok(())
}
