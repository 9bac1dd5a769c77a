//! One command per UI action; each takes its state, calls one core function and maps the error.
//! Work that may take more than a frame (hashing, capture, sealing) runs off the main thread.

use protocol::content::{Demographics, FieldError};
use station_core::clock::{Clock, SystemClock};
use station_core::enrollment;
use station_core::officers::{self, Password};
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
    let store = station.get()?.store().clone();
    let password = Password::new(password);
    let officer =
        off_main_thread(move || Ok(officers::login(&store, &username, &password)?)).await?;
    let view = OfficerView::from(&officer);
    session.set(Some(officer));
    Ok(view)
}

#[tauri::command]
pub async fn logout(
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<(), CommandError> {
    session.set(None);
    *draft.lock() = enrollment::EnrollmentDraft::new();
    Ok(())
}

#[tauri::command]
pub async fn start_enrollment(
    session: State<'_, Session>,
    draft: State<'_, DraftSlot>,
) -> Result<(), CommandError> {
    session.officer()?;
    *draft.lock() = enrollment::EnrollmentDraft::new();
    Ok(())
}

#[tauri::command]
pub async fn validate_form(form: Demographics) -> Result<Vec<FieldError>, CommandError> {
    let today = SystemClock.now().date();
    Ok(form.normalized().validate(today).err().unwrap_or_default())
}

#[tauri::command]
pub async fn capture_face(
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<ImageView, CommandError> {
    session.officer()?;
    let (camera, draft) = (devices.camera.clone(), draft.inner().clone());
    off_main_thread(move || Ok(ImageView::from(draft.lock().capture_face(camera.as_ref())?))).await
}

#[tauri::command]
pub async fn capture_fingers(
    session: State<'_, Session>,
    devices: State<'_, Devices>,
    draft: State<'_, DraftSlot>,
) -> Result<Vec<FingerView>, CommandError> {
    session.officer()?;
    let (scanner, draft) = (devices.scanner.clone(), draft.inner().clone());
    off_main_thread(move || {
        let mut draft = draft.lock();
        for finger in hardware::FingerPosition::ALL {
            draft.capture_finger(scanner.as_ref(), finger)?;
        }
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
    let officer = session.officer()?;
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
    session.officer()?;
    let list = station.get()?.store().list_enrollments()?;
    Ok(list.into_iter().map(EnrollmentView::from).collect())
}

#[tauri::command]
pub async fn sync_now(
    session: State<'_, Session>,
    sync: State<'_, SyncSlot>,
) -> Result<(), CommandError> {
    session.officer()?;
    sync.sync_now();
    Ok(())
}
