//! The managed state: a few small handles, each with one job.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use station_core::actions::enrollment::Desk;
use station_core::actions::station::Lifecycle;
use station_core::clock::{Clock, SystemClock};
use station_core::officers::Officer;
use station_core::session;
use station_core::station::{Station, StationConfig, StationPaths};
use station_core::sync::{self, SyncConfig, SyncHandle, Uploader};
use station_core::vault::Passphrase;
use tauri::{AppHandle, Manager};

use crate::error::CommandError;

/// The station: locked until the passphrase is entered, then open; or why it cannot be used.
pub struct StationSlot(Lifecycle);

impl StationSlot {
    /// The open station, or why there is none.
    pub fn get(&self) -> Result<Station, CommandError> {
        Ok(self.0.station()?)
    }

    /// Whether the station still has to be set up (provisioned).
    pub fn needs_setup(&self) -> bool {
        self.0.needs_setup()
    }

    /// Where the station stands (for the actions that change it).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.0
    }

    /// Hands out `station` from now on: after provisioning, or with changed settings (the
    /// upload loop restarts with them).
    pub fn put(&self, station: Station, app: &AppHandle) {
        self.0.put(station.clone());
        start_sync(&station, app);
    }

    pub fn problem(&self) -> Option<String> {
        self.0.problem()
    }

    pub fn is_locked(&self) -> bool {
        self.0.is_locked()
    }

    /// Who the station is, locked or open.
    pub fn config(&self) -> Option<StationConfig> {
        self.0.config()
    }

    /// Opens the station with `passphrase` (audited); the first time, uploads and the
    /// retention purge start.
    pub fn unlock(
        &self,
        passphrase: &Passphrase,
        app: &AppHandle,
    ) -> Result<Station, CommandError> {
        let (station, opened) = self.0.unlock(passphrase, &SystemClock)?;
        if opened {
            start_sync(&station, app);
            start_retention(app);
        }
        Ok(station)
    }
}

/// The capture devices in use (`current()`); those that are simulated are where the
/// technician's self-test may run a drill.
pub type Devices = station_core::devices::InUse;

/// The backends are asked every few seconds which devices they have: a real device in use that
/// is gone is marked in the status bar, and one plugged in after start takes the place of a
/// simulated or vanished one. Dropping it stops the look.
pub struct DeviceWatch(#[allow(dead_code)] Option<hardware::registry::Watch>);

/// How often the backends are asked for their devices.
const DEVICE_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// The technician's last self-test report, for export.
#[derive(Default)]
pub struct LastReport(Mutex<Option<station_core::report::TechnicianReport>>);

impl LastReport {
    pub fn set(&self, report: Option<station_core::report::TechnicianReport>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = report;
    }

    pub fn get(&self) -> Option<station_core::report::TechnicianReport> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The logged-in officer, if any, with idle logout (see `station_core::session`). When the
/// session expires, the applicant's draft and receipt in memory go with it (the draft stays
/// saved, sealed, for its officer to resume).
pub struct Session {
    current: Mutex<session::Session>,
    desk: Desk,
}

impl Session {
    /// A session that clears `desk` (the draft and receipt in memory) when it expires.
    pub fn new(desk: Desk) -> Self {
        Self {
            current: Mutex::default(),
            desk,
        }
    }

    /// The logged-in officer, for an action that checks its own permission; counts as
    /// activity.
    pub fn officer(&self) -> Result<Officer, CommandError> {
        let result = self.lock().touch(SystemClock.now()).cloned();
        self.forget_if_expired(result)
    }

    /// As [`Self::officer`] for background refreshes, which must not keep a session alive.
    pub fn peek(&self) -> Result<Officer, CommandError> {
        let result = self.lock().officer(SystemClock.now()).cloned();
        self.forget_if_expired(result)
    }

    fn forget_if_expired(
        &self,
        result: Result<Officer, session::SessionError>,
    ) -> Result<Officer, CommandError> {
        if matches!(result, Err(session::SessionError::Expired)) {
            self.desk.clear();
        }
        Ok(result?)
    }

    pub fn start(&self, officer: Officer) {
        self.lock().start(officer, SystemClock.now());
    }

    pub fn end(&self) -> Option<Officer> {
        self.lock().end()
    }

    fn lock(&self) -> MutexGuard<'_, session::Session> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The face step's live watch: set to stop it (the officer left the step or took the photo).
#[derive(Clone, Default)]
pub struct FaceLive(pub Arc<std::sync::atomic::AtomicBool>);

/// The fingerprint step's live watch: `stop` ends it; `capture_now` with it makes the set be
/// captured at once (the officer pressed "Capture now").
#[derive(Clone, Default)]
pub struct FingerLive {
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    pub capture_now: Arc<std::sync::atomic::AtomicBool>,
}

impl FaceLive {
    /// Arms the watch for a new run; returns its stop flag.
    pub fn start(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
        Arc::clone(&self.0)
    }
}

impl FingerLive {
    /// Arms the watch for a new run; returns its controls.
    pub fn start(&self) -> Self {
        self.stop.store(false, std::sync::atomic::Ordering::Relaxed);
        self.capture_now
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.clone()
    }
}

/// Wakes the background upload loop; the loop stops when the app (and this handle) goes.
#[derive(Default)]
pub struct SyncSlot(Mutex<Option<SyncHandle>>);

impl SyncSlot {
    /// The upload loop, once the station is open.
    pub fn handle(&self) -> Option<SyncHandle> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn sync_now(&self) {
        if let Some(handle) = self.handle() {
            handle.sync_now();
        }
    }
}

fn start_sync(station: &Station, app: &AppHandle) {
    let config = SyncConfig::default();
    let uploader = Uploader::new(station, &config, Arc::new(SystemClock));
    match uploader {
        Ok(uploader) => {
            let (handle, task) = sync::start(uploader);
            tauri::async_runtime::spawn(task);
            let slot = app.state::<SyncSlot>();
            *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        }
        Err(error) => tracing::error!(%error, "cannot start uploading"),
    }
}

/// Purges packets past their retention period now and then every hour while the app runs,
/// with the station's settings of the moment.
pub fn start_retention(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let Ok(worker) = app.state::<StationSlot>().get() else {
                return;
            };
            let outcome = tauri::async_runtime::spawn_blocking(move || {
                station_core::retention::purge_expired(&worker, &SystemClock)
            })
            .await;
            match outcome {
                Ok(Ok(0)) => {}
                Ok(Ok(purged)) => tracing::info!(purged, "retention: sealed packets deleted"),
                Ok(Err(error)) => tracing::error!(%error, "retention purge failed"),
                Err(error) => tracing::error!(%error, "retention task failed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}

/// Everything prepared before the window exists.
pub struct AppState {
    station: StationSlot,
    devices: Devices,
}

impl AppState {
    /// Finds the station in `data_dir` (it stays locked until the passphrase is entered) and
    /// picks the devices: a webcam, an SBI reader (trusting the providers in
    /// `STATION_SBI_TRUST`, colon-separated PEM files) or a libfprint reader when one is found,
    /// else the simulated ones, whose applicant is chosen by `STATION_SIM_SEED` (default 1)
    /// and whose camera's picture size by `STATION_SIM_CAMERA` (e.g. `1280x720`; default
    /// 640×480).
    pub fn open(data_dir: &Path) -> Self {
        let station = StationSlot(Lifecycle::find(StationPaths::new(data_dir), &SystemClock));
        let seed = std::env::var("STATION_SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let chosen =
            station_core::devices::choose(&device_options(), seed).unwrap_or_else(|error| {
                tracing::warn!(%error, "device setup failed; using the simulated devices");
                station_core::devices::Chosen::simulated(seed)
            });
        Self {
            station,
            devices: Devices::new(chosen),
        }
    }

    /// The devices chosen.
    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    /// Hands the state to Tauri; a station already open starts uploading.
    pub fn manage_into(self, app: &AppHandle) {
        app.manage(SyncSlot::default());
        if let Ok(station) = self.station.get() {
            start_sync(&station, app);
        }
        let open = self.station.get().is_ok();
        app.manage(self.station);
        if open {
            start_retention(app);
        }
        app.manage(DeviceWatch(self.devices.watch(DEVICE_LOOK_EVERY)));
        app.manage(self.devices);
        let desk = Desk::default();
        app.manage(Session::new(desk.clone()));
        app.manage(desk);
        app.manage(FaceLive::default());
        app.manage(FingerLive::default());
        app.manage(LastReport::default());
    }
}

/// The device backends the app enables, from the environment.
fn device_options() -> station_core::devices::DeviceOptions {
    let sbi_trust = std::env::var_os("STATION_SBI_TRUST")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    station_core::devices::DeviceOptions {
        simulated: false,
        drills: Vec::new(),
        sbi: true,
        sbi_trust,
        sbi_ports: None,
        webcam: true,
        libfprint: true,
        simulated_camera_size: std::env::var("STATION_SIM_CAMERA")
            .ok()
            .and_then(|size| station_core::devices::parse_size(&size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_session_takes_the_applicants_draft_out_of_memory() {
        let desk = Desk::default();
        let session = Session::new(desk.clone());
        desk.draft().demographics.full_name = "Siti Rahayu".into();
        assert!(session
            .forget_if_expired(Err(session::SessionError::NotLoggedIn))
            .is_err());
        assert_eq!(
            desk.draft().demographics.full_name,
            "Siti Rahayu",
            "a refused action by nobody logged in leaves the draft"
        );
        assert!(session
            .forget_if_expired(Err(session::SessionError::Expired))
            .is_err());
        assert_eq!(
            desk.draft().demographics.full_name,
            "",
            "the applicant's data leaves memory with the session"
        );
    }
}
