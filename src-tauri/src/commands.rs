//! One command per UI action; each takes its state, calls one core function and maps the error.
//! Work that may take more than a frame (hashing, capture, sealing) runs off the main thread.

use formats::FingerPosition;
use hardware::FingerSet;
use protocol::content::{Demographics, FieldError};
use protocol::form::{FormSet, Prefill};
use protocol::random::{RandomSource, SystemRandom};
use station_core::actions;
use station_core::actions::enrollment::Desk;
use station_core::actions::selftest::{self, ReportFormat};
use station_core::actions::sign_in::{self, Front};
use station_core::approval;
use station_core::clock::{Clock, SystemClock};
use station_core::devices::Drill;
use station_core::enrollment;
use station_core::officers::Password;
use station_core::report::{Section, TechnicianReport};
use station_core::station::Station;
use station_core::sync::machine::SyncStatus;
use station_core::vault::Passphrase;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tauri::{Manager, State};

use crate::error::CommandError;
use crate::state::{Devices, FaceLive, FingerLive, LastReport, Session, StationSlot, SyncSlot};
use crate::view::{
    DraftView, EnrollmentView, FaceLiveView, FingerLiveView, FlaggedView, ImageView, OfficerView,
    ReceiptView, SetView, StationStatusView,
};
use station_core::actions::ErrorCode;

pub(crate) async fn off_main_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| {
            CommandError::new(ErrorCode::Internal, format!("the task failed: {error}"))
        })?
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
        handle.state::<StationSlot>().unlock(&passphrase, &handle)?;
        Ok(())
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
    let (station, password) = (station.get()?, Password::new(password));
    let worker = station.clone();
    let officer = off_main_thread(move || {
        let login = sign_in::login(&worker, &username, &password, Front::App, &SystemClock);
        Ok(login?)
    })
    .await?;
    let mut view = OfficerView::from(&officer);
    view.has_draft = actions::enrollment::has_saved_draft(&station, &officer);
    session.start(officer);
    Ok(view)
}

#[tauri::command]
#[specta::specta]
pub async fn logout(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    desk: State<'_, Desk>,
) -> Result<(), CommandError> {
    desk.clear();
    if let (Some(officer), Ok(station)) = (session.end(), station.get()) {
        sign_in::logout(&station, &officer, &SystemClock)?;
    }
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn start_enrollment(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    desk: State<'_, Desk>,
    devices: State<'_, Devices>,
) -> Result<DraftView, CommandError> {
    let scanner = devices.current().scanner;
    let (station, officer) = (station.get()?, session.officer()?);
    desk.start(&station, &officer, scanner.as_ref(), &SystemClock)?;
    Ok(DraftView::from(&*desk.draft()))
}

/// Loads the officer's saved draft (after a crash, a restart or a logout) to continue it.
#[tauri::command]
#[specta::specta]
pub async fn resume_enrollment(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    desk: State<'_, Desk>,
) -> Result<DraftView, CommandError> {
    desk.resume(&station.get()?, &session.officer()?, &SystemClock)?;
    Ok(DraftView::from(&*desk.draft()))
}

/// Keeps the form as typed so far with the draft, so a crash does not lose it.
#[tauri::command]
#[specta::specta]
pub async fn save_form(
    form: Demographics,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    desk: State<'_, Desk>,
) -> Result<(), CommandError> {
    Ok(desk.save_form(&station.get()?, &session.officer()?, form, &SystemClock)?)
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
    station.forms().current().ok_or_else(|| {
        CommandError::new(ErrorCode::NoForms, "this station has no enrollment forms")
    })
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
    let form = set.form(&form_id).ok_or_else(|| {
        CommandError::new(
            ErrorCode::UnknownForm,
            format!("there is no form {form_id}"),
        )
    })?;
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
            CommandError::new(
                ErrorCode::UnknownForm,
                format!("there is no form {}", form.form),
            )
        })?;
    let year = SystemClock.now().year();
    definition.prefill_from_mrz(&zone, year).map_err(|message| {
        CommandError::field(ErrorCode::InvalidMrz, FieldError::new("mrz", message))
    })
}

#[tauri::command]
#[specta::specta]
pub async fn capture_face(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    desk: State<'_, Desk>,
) -> Result<ImageView, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (camera, desk) = (devices.current().camera, desk.inner().clone());
    off_main_thread(move || {
        let photo = desk.capture_face(&station, &officer, camera.as_ref(), &SystemClock)?;
        Ok(ImageView::from(&photo))
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
    desk: State<'_, Desk>,
    live: State<'_, FaceLive>,
    events: tauri::ipc::Channel<FaceLiveView>,
) -> Result<Option<ImageView>, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (camera, desk, stop) = (devices.current().camera, desk.inner().clone(), live.start());
    off_main_thread(move || {
        let show = FaceLiveView::sender(events, stop.clone());
        let camera = camera.as_ref();
        let photo = desk.watch_face(&station, &officer, camera, &stop, show, &SystemClock)?;
        Ok(photo.as_ref().map(ImageView::from))
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
    desk: State<'_, Desk>,
    set: FingerSet,
) -> Result<SetView, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (scanner, desk) = (devices.current().scanner, desk.inner().clone());
    off_main_thread(move || {
        let captured = desk.capture_set(
            &station,
            &officer,
            scanner.as_ref(),
            set,
            "by hand",
            &SystemClock,
        )?;
        Ok(SetView::new(&captured, &desk.draft().draft))
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
    desk: State<'_, Desk>,
    live: State<'_, FingerLive>,
    set: FingerSet,
    events: tauri::ipc::Channel<FingerLiveView>,
) -> Result<Option<SetView>, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (scanner, live) = (devices.current().scanner, live.start());
    let desk = desk.inner().clone();
    off_main_thread(move || {
        let show = FingerLiveView::sender(events, live.stop.clone());
        let (controls, scanner) = ((&*live.stop, &*live.capture_now), scanner.as_ref());
        let clock = &SystemClock;
        let watched = desk.watch_set(&station, &officer, scanner, set, controls, show, clock)?;
        Ok(watched.map(|captured| SetView::new(&captured, &desk.draft().draft)))
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

#[tauri::command]
#[specta::specta]
pub async fn submit_enrollment(
    form: Demographics,
    consent: bool,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    desk: State<'_, Desk>,
    sync: State<'_, SyncSlot>,
) -> Result<ReceiptView, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let desk = desk.inner().clone();
    let made = off_main_thread(move || {
        let injected = (
            &SystemClock as &dyn Clock,
            &SystemRandom as &dyn RandomSource,
        );
        Ok(desk.submit(&station, &officer, &form, consent, injected)?)
    })
    .await?;
    sync.sync_now();
    ReceiptView::new(&made)
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
    desk: State<'_, Desk>,
) -> Result<String, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (desk, dir) = (desk.inner().clone(), receipt_dir());
    off_main_thread(move || {
        let dir = dir.as_deref();
        let path = desk.save_receipt(&station, &officer, &lang, dir, &SystemClock)?;
        Ok(path.display().to_string())
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

#[tauri::command]
#[specta::specta]
pub async fn list_enrollments(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<EnrollmentView>, CommandError> {
    // A refresh of the list: not activity that keeps the session alive.
    let list = actions::enrollment::list(&station.get()?, &session.peek()?)?;
    Ok(list.into_iter().map(EnrollmentView::from).collect())
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    let officer = session.officer()?;
    match sync.handle() {
        Some(uploads) => Ok(actions::sync::send_now(&officer, &uploads)?),
        None => Ok(()),
    }
}

/// Stops sending until resumed (e.g. to free a metered link); nothing waiting is lost.
#[tauri::command]
#[specta::specta]
pub async fn pause_sync(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    match sync.handle() {
        Some(uploads) => Ok(actions::sync::pause(
            &station,
            &officer,
            &uploads,
            &SystemClock,
        )?),
        None => Ok(()),
    }
}

/// Sends again after a pause.
#[tauri::command]
#[specta::specta]
pub async fn resume_sync(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    match sync.handle() {
        Some(uploads) => Ok(actions::sync::resume(
            &station,
            &officer,
            &uploads,
            &SystemClock,
        )?),
        None => Ok(()),
    }
}

/// What sending is doing: progress, and the officer's message for any problem.
#[tauri::command]
#[specta::specta]
pub async fn sync_status(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<Option<SyncStatus>, CommandError> {
    let officer = session.peek()?;
    match sync.handle() {
        Some(uploads) => Ok(Some(actions::sync::status(&officer, &uploads)?)),
        None => Ok(None),
    }
}

/// One step of the technician's self-test, as it starts (`section` empty) and as it ends.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SelfTestProgress {
    /// "station", "camera", "reader" or "server".
    pub key: String,
    pub section: Option<Section>,
}

impl SelfTestProgress {
    /// Tells the self-test screen as each part starts and ends; a closed window drops the
    /// channel, and the run still completes and is recorded.
    fn sender(events: tauri::ipc::Channel<Self>) -> impl FnMut(&str, Option<&Section>) {
        move |key, section| {
            let (key, section) = (key.to_owned(), section.cloned());
            let _ = events.send(Self { key, section });
        }
    }
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
    let (station, technician, devices) = (station.get()?, session.officer()?, devices.current());
    let report = off_main_thread(move || {
        let (progress, clock) = (SelfTestProgress::sender(events), Arc::new(SystemClock));
        let run = selftest::run(&station, &technician, &devices, drill, progress, clock);
        Ok(run?)
    })
    .await?;
    last.set(Some(report.clone()));
    Ok(report)
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
    let (station, technician) = (station.get()?, session.officer()?);
    let report = last.get();
    off_main_thread(move || {
        let report = report.as_ref();
        let path = selftest::export(&station, &technician, report, format, &SystemClock)?;
        Ok(path.display().to_string())
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
    desk: State<'_, Desk>,
    finger: FingerPosition,
    reason: String,
) -> Result<SetView, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let desk = desk.inner().clone();
    off_main_thread(move || {
        desk.declare_exception(&station, &officer, finger, &reason, &SystemClock)?;
        Ok(SetView::unchanged(&desk.draft().draft))
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
    desk: State<'_, Desk>,
) -> Result<ImageView, CommandError> {
    let (station, officer) = (station.get()?, session.officer()?);
    let (camera, desk) = (devices.current().camera, desk.inner().clone());
    off_main_thread(move || {
        let photo = desk.take_exception_photo(&station, &officer, camera.as_ref(), &SystemClock)?;
        Ok(ImageView::from(&photo))
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
    let (station, supervisor) = (station.get()?, session.officer()?);
    off_main_thread(move || {
        Ok(actions::approvals::awaiting(&station, &supervisor)?
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
    decision: approval::Decision,
    comment: String,
) -> Result<(), CommandError> {
    let (station, supervisor) = (station.get()?, session.officer()?);
    off_main_thread(move || {
        let decided = actions::approvals::decide(
            &station,
            &supervisor,
            &id,
            decision,
            &comment,
            &SystemClock,
        );
        Ok(decided?)
    })
    .await?;
    // An approved packet may go at once.
    sync.sync_now();
    Ok(())
}
