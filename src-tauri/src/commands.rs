//! One command per UI action; each takes its state, calls one core function and maps the error.
//! Work that may take more than a frame (hashing, capture, sealing) runs off the main thread.

use protocol::content::{Demographics, FieldError};
use station_core::audit::{self, AuditEvent};
use station_core::clock::{Clock, SystemClock};
use station_core::enrollment;
use station_core::officers::{self, Password, Permission};
use station_core::station::Station;
use tauri::State;

use crate::error::CommandError;
use crate::state::{Devices, DraftSlot, Session, StationSlot, SyncSlot};
use crate::view::{
    EnrollmentView, FingerView, ImageView, OfficerView, StationStatusView, SubmittedView,
};

async fn off_main_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| CommandError::new("internal", format!("the task failed: {error}")))?
}

/// Records an officer action in the tamper-evident audit log; an action that cannot be recorded
/// fails with it.
fn record(station: &Station, actor: &str, action: &str, detail: &str) -> Result<(), CommandError> {
    let event = AuditEvent {
        actor,
        action,
        subject: "",
        detail,
    };
    Ok(audit::record(station, &event, &SystemClock)?)
}

#[tauri::command]
pub async fn station_status(
    station: State<'_, StationSlot>,
    devices: State<'_, Devices>,
) -> Result<StationStatusView, CommandError> {
    let config = station.get().ok().map(|s| s.config().clone());
    Ok(StationStatusView {
        provisioned: config.is_some(),
        station_name: config.as_ref().map(|c| c.station_name.clone()),
        station_id: config.as_ref().map(|c| c.station_id.to_string()),
        server_url: config.map(|c| c.server_url),
        problem: station.problem().map(str::to_owned),
        camera: devices.camera.info().name,
        scanner: devices.scanner.info().name,
    })
}

#[tauri::command]
pub async fn login(
    username: String,
    password: String,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<OfficerView, CommandError> {
    let station = station.get()?.clone();
    let password = Password::new(password);
    let officer = off_main_thread(move || {
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
    let view = OfficerView::from(&officer);
    session.start(officer);
    Ok(view)
}

#[tauri::command]
pub async fn logout(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<(), CommandError> {
    if let (Some(officer), Ok(station)) = (session.end(), station.get()) {
        record(station, &officer.username, "logout", "logged out")?;
    }
    draft.reset();
    Ok(())
}

#[tauri::command]
pub async fn start_enrollment(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<(), CommandError> {
    let officer = session.act(Permission::Enroll)?;
    record(
        station.get()?,
        &officer.username,
        "enrollment.started",
        "new enrollment opened",
    )?;
    draft.reset();
    Ok(())
}

#[tauri::command]
pub async fn validate_form(form: Demographics) -> Result<Vec<FieldError>, CommandError> {
    let today = SystemClock.now().date();
    Ok(form.normalized().validate(today).err().unwrap_or_default())
}

#[tauri::command]
pub async fn capture_face(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<ImageView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?.clone();
    let (camera, draft) = (devices.camera.clone(), draft.inner().clone());
    off_main_thread(move || {
        let mut draft = draft.lock();
        let outcome = draft.capture_face(camera.as_ref()).map(ImageView::from);
        let detail = match &outcome {
            Ok(_) => "face photo taken".to_owned(),
            Err(error) => format!("face capture failed: {error}"),
        };
        record(&station, &officer.username, "capture.face", &detail)?;
        Ok(outcome?)
    })
    .await
}

#[tauri::command]
pub async fn capture_fingers(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<Vec<FingerView>, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let station = station.get()?.clone();
    let (scanner, draft) = (devices.scanner.clone(), draft.inner().clone());
    off_main_thread(move || {
        let mut draft = draft.lock();
        let outcome = hardware::FingerPosition::ALL
            .into_iter()
            .try_for_each(|finger| draft.capture_finger(scanner.as_ref(), finger).map(drop));
        let detail = match &outcome {
            Ok(()) => "ten fingerprints captured".to_owned(),
            Err(error) => format!("fingerprint capture failed: {error}"),
        };
        record(&station, &officer.username, "capture.fingers", &detail)?;
        outcome?;
        Ok(draft.fingers().map(FingerView::from).collect())
    })
    .await
}

#[tauri::command]
pub async fn submit_enrollment(
    form: Demographics,
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
    sync: State<'_, SyncSlot>,
) -> Result<SubmittedView, CommandError> {
    let officer = session.act(Permission::Enroll)?;
    let (station, draft) = (station.get()?.clone(), draft.inner().clone());
    let submitted = off_main_thread(move || {
        let mut draft = draft.lock();
        let submitted = enrollment::submit(&station, &officer, &form, &draft, &SystemClock)?;
        // The sealed packet is the only copy now; the draft's images are dropped (and zeroized).
        *draft = enrollment::EnrollmentDraft::new();
        Ok::<_, CommandError>(submitted)
    })
    .await?;
    sync.sync_now();
    Ok(submitted.into())
}

#[tauri::command]
pub async fn list_enrollments(
    station: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<EnrollmentView>, CommandError> {
    session.check(Permission::ViewApplicants)?;
    let list = station.get()?.store().list_enrollments()?;
    Ok(list.into_iter().map(EnrollmentView::from).collect())
}

#[tauri::command]
pub async fn sync_now(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    session.act(Permission::Enroll)?;
    sync.sync_now();
    Ok(())
}
