//! The managed state: a few small handles, each with one job.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hardware::simulated::{SimulatedCamera, SimulatedScanner};
use hardware::{Camera, FingerprintScanner};
use station_core::clock::{Clock, SystemClock};
use station_core::enrollment::EnrollmentDraft;
use station_core::officers::{Officer, Permission};
use station_core::session;
use station_core::station::{Station, StationPaths};
use station_core::sync::{self, SyncConfig, SyncHandle, Uploader};
use tauri::{AppHandle, Manager};

use crate::error::CommandError;

/// The opened station, or why it could not be opened (shown to the officer).
pub struct StationSlot(Result<Station, String>);

impl StationSlot {
    pub fn get(&self) -> Result<&Station, CommandError> {
        self.0
            .as_ref()
            .map_err(|problem| CommandError::new("station_unavailable", problem.clone()))
    }

    pub fn problem(&self) -> Option<&str> {
        self.0.as_ref().err().map(String::as_str)
    }
}

/// The capture devices in use.
#[derive(Clone)]
pub struct Devices {
    pub camera: Arc<dyn Camera>,
    pub scanner: Arc<dyn FingerprintScanner>,
}

/// The logged-in officer, if any, with idle logout (see `station_core::session`).
#[derive(Default)]
pub struct Session(Mutex<session::Session>);

impl Session {
    /// The officer, allowed `permission`; counts as activity.
    pub fn act(&self, permission: Permission) -> Result<Officer, CommandError> {
        Ok(self.lock().act(permission, SystemClock.now())?.clone())
    }

    /// As [`Self::act`] for background refreshes, which must not keep a session alive.
    pub fn check(&self, permission: Permission) -> Result<Officer, CommandError> {
        Ok(self.lock().check(permission, SystemClock.now())?.clone())
    }

    pub fn start(&self, officer: Officer) {
        self.lock().start(officer, SystemClock.now());
    }

    pub fn end(&self) -> Option<Officer> {
        self.lock().end()
    }

    fn lock(&self) -> MutexGuard<'_, session::Session> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The enrollment being captured; shared with capture tasks off the main thread.
#[derive(Clone, Default)]
pub struct DraftSlot(Arc<Mutex<EnrollmentDraft>>);

impl DraftSlot {
    pub fn lock(&self) -> MutexGuard<'_, EnrollmentDraft> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the draft's captures (zeroized with it) and starts an empty one.
    pub fn reset(&self) {
        *self.lock() = EnrollmentDraft::new();
    }
}

/// Wakes the background upload loop; the loop stops when the app (and this handle) goes.
pub struct SyncSlot(Option<SyncHandle>);

impl SyncSlot {
    pub fn sync_now(&self) {
        if let Some(handle) = &self.0 {
            handle.sync_now();
        }
    }
}

/// Everything opened before the window exists.
pub struct AppState {
    station: Result<Station, String>,
    devices: Devices,
}

impl AppState {
    /// Opens the station in `data_dir` and picks the devices. Only simulated backends exist so
    /// far, so the station always runs on them; the applicant they show is chosen by
    /// `STATION_SIM_SEED` (default 1).
    pub fn open(data_dir: &Path) -> Self {
        let station = Station::open(StationPaths::new(data_dir)).map_err(|error| error.to_string());
        if let Err(problem) = &station {
            tracing::warn!(%problem, "the station is not usable yet");
        }
        let seed = std::env::var("STATION_SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let devices = Devices {
            camera: Arc::new(SimulatedCamera::new(seed)),
            scanner: Arc::new(SimulatedScanner::new(seed)),
        };
        Self { station, devices }
    }

    /// Hands the state to Tauri and starts the upload loop.
    pub fn manage_into(self, app: &AppHandle) {
        let sync = self.station.as_ref().ok().and_then(|station| {
            let config = SyncConfig::default();
            let uploader = Uploader::new(
                station.store().clone(),
                &station.config().server_url,
                &config,
                Arc::new(SystemClock),
            );
            match uploader {
                Ok(uploader) => {
                    let (handle, task) = sync::start(uploader, config);
                    tauri::async_runtime::spawn(task);
                    Some(handle)
                }
                Err(error) => {
                    tracing::error!(%error, "cannot start uploading");
                    None
                }
            }
        });
        app.manage(StationSlot(self.station));
        app.manage(self.devices);
        app.manage(Session::default());
        app.manage(DraftSlot::default());
        app.manage(SyncSlot(sync));
    }
}
