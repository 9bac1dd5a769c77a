//! The managed state: a few small handles, each with one job.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use station_core::clock::{Clock, SystemClock};
use station_core::drafts::SavedDraft;
use station_core::officers::{Officer, Permission};
use station_core::session;
use station_core::station::{read_config, OpenError, Station, StationConfig, StationPaths};
use station_core::sync::machine::SyncStatus;
use station_core::sync::{self, SyncConfig, SyncHandle, Uploader};
use station_core::vault::{self, Passphrase, Protection, VaultError};
use tauri::{AppHandle, Manager};

use crate::error::CommandError;

/// The station: locked until the passphrase is entered, then open; or why it cannot be used.
pub struct StationSlot {
    paths: StationPaths,
    state: Mutex<SlotState>,
}

enum SlotState {
    /// Never provisioned: the technician sets it up in the app.
    Unprovisioned,
    /// Provisioned, waiting for the station passphrase.
    Locked(StationConfig),
    Open(Station),
    /// Not usable (e.g. not provisioned); the reason is shown to the officer.
    Unusable(String),
}

impl StationSlot {
    /// The open station, or why there is none.
    pub fn get(&self) -> Result<Station, CommandError> {
        match &*self.lock() {
            SlotState::Open(station) => Ok(station.clone()),
            SlotState::Locked(_) => Err(CommandError::new(
                "station_locked",
                "the station is locked: enter the station passphrase first",
            )),
            SlotState::Unusable(problem) => {
                Err(CommandError::new("station_unavailable", problem.clone()))
            }
            SlotState::Unprovisioned => Err(CommandError::new(
                "station_not_set_up",
                "this station is not set up yet: a technician sets it up with a one-time token from the central server",
            )),
        }
    }

    /// Whether the station still has to be set up (provisioned).
    pub fn needs_setup(&self) -> bool {
        matches!(&*self.lock(), SlotState::Unprovisioned)
    }

    /// The station's files.
    pub fn paths(&self) -> &StationPaths {
        &self.paths
    }

    /// Hands out `station` from now on: after provisioning, or with changed settings (the
    /// upload loop restarts with them).
    pub fn put(&self, station: Station, app: &AppHandle) {
        *self.lock() = SlotState::Open(station.clone());
        start_sync(&station, app);
    }

    pub fn problem(&self) -> Option<String> {
        match &*self.lock() {
            SlotState::Unusable(problem) => Some(problem.clone()),
            _ => None,
        }
    }

    pub fn is_locked(&self) -> bool {
        matches!(&*self.lock(), SlotState::Locked(_))
    }

    /// Who the station is, locked or open.
    pub fn config(&self) -> Option<StationConfig> {
        match &*self.lock() {
            SlotState::Locked(config) => Some(config.clone()),
            SlotState::Open(station) => Some(station.config().clone()),
            SlotState::Unusable(_) | SlotState::Unprovisioned => None,
        }
    }

    /// Opens the station with `passphrase`; on success the upload loop starts.
    pub fn unlock(
        &self,
        passphrase: &Passphrase,
        app: &AppHandle,
    ) -> Result<Station, CommandError> {
        if let SlotState::Open(station) = &*self.lock() {
            return Ok(station.clone());
        }
        let station =
            Station::open(self.paths.clone(), passphrase).map_err(|error| match error {
                OpenError::Vault(VaultError::WrongPassphrase) => {
                    CommandError::new("wrong_passphrase", error.to_string())
                }
                other => CommandError::new("station_unavailable", other.to_string()),
            })?;
        self.put(station.clone(), app);
        start_retention(app);
        Ok(station)
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
pub struct LastReport(pub Mutex<Option<station_core::report::TechnicianReport>>);

/// The receipt of the enrollment just submitted (it holds the applicant's photo: memory only,
/// dropped at the next enrollment, at logout and when the session expires), for saving as a PDF.
#[derive(Clone, Default)]
pub struct LastReceipt(pub Arc<Mutex<Option<station_core::receipt::Receipt>>>);

impl LastReceipt {
    pub fn set(&self, receipt: Option<station_core::receipt::Receipt>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = receipt;
    }

    pub fn get(&self) -> Option<station_core::receipt::Receipt> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The logged-in officer, if any, with idle logout (see `station_core::session`). When the
/// session expires, the applicant's draft and receipt in memory go with it (the draft stays
/// saved, sealed, for its officer to resume).
pub struct Session {
    current: Mutex<session::Session>,
    draft: DraftSlot,
    receipt: LastReceipt,
}

impl Session {
    /// A session that forgets `draft` and `receipt` when it expires.
    pub fn new(draft: DraftSlot, receipt: LastReceipt) -> Self {
        Self {
            current: Mutex::default(),
            draft,
            receipt,
        }
    }

    /// The officer, allowed `permission`; counts as activity.
    pub fn act(&self, permission: Permission) -> Result<Officer, CommandError> {
        let result = self.lock().act(permission, SystemClock.now()).cloned();
        self.forget_if_expired(result)
    }

    /// As [`Self::act`] for background refreshes, which must not keep a session alive.
    pub fn check(&self, permission: Permission) -> Result<Officer, CommandError> {
        let result = self.lock().check(permission, SystemClock.now()).cloned();
        self.forget_if_expired(result)
    }

    fn forget_if_expired(
        &self,
        result: Result<Officer, session::SessionError>,
    ) -> Result<Officer, CommandError> {
        if matches!(result, Err(session::SessionError::Expired)) {
            self.receipt.set(None);
            self.draft.reset();
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

/// The enrollment being captured; shared with capture tasks off the main thread. Every change
/// is also saved, sealed, in the station database (`station_core::drafts`).
#[derive(Clone, Default)]
pub struct DraftSlot(Arc<Mutex<SavedDraft>>);

impl DraftSlot {
    pub fn lock(&self) -> MutexGuard<'_, SavedDraft> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the draft's captures (zeroized with it) and starts an empty one.
    pub fn reset(&self) {
        *self.lock() = SavedDraft::default();
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

/// Wakes the background upload loop; the loop stops when the app (and this handle) goes.
#[derive(Default)]
pub struct SyncSlot(Mutex<Option<SyncHandle>>);

impl SyncSlot {
    fn handle(&self) -> Option<SyncHandle> {
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

    pub fn pause(&self) {
        if let Some(handle) = self.handle() {
            handle.pause();
        }
    }

    pub fn resume(&self) {
        if let Some(handle) = self.handle() {
            handle.resume();
        }
    }

    /// The loop's latest status; `None` before the station is unlocked.
    pub fn status(&self) -> Option<SyncStatus> {
        self.handle().map(|h| h.status())
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
        let paths = StationPaths::new(data_dir);
        let state = match read_config(&paths) {
            // A station whose key is in the OS keyring opens at once; one protected by a
            // passphrase waits for it on the unlock screen.
            Err(OpenError::NotProvisioned(_)) => SlotState::Unprovisioned,
            Ok(_) if vault::protection(&paths.vault()).ok() == Some(Protection::Keyring) => {
                match Station::open_from_keyring(paths.clone()) {
                    Ok(station) => SlotState::Open(station),
                    Err(error) => {
                        let problem = error.to_string();
                        tracing::warn!(%problem, "the station cannot be unlocked");
                        SlotState::Unusable(problem)
                    }
                }
            }
            Ok(config) => SlotState::Locked(config),
            Err(error) => {
                let problem = error.to_string();
                tracing::warn!(%problem, "the station is not usable yet");
                SlotState::Unusable(problem)
            }
        };
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
            station: StationSlot {
                paths,
                state: Mutex::new(state),
            },
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
            let event = station_core::audit::AuditEvent {
                actor: "station",
                action: "station.unlocked",
                subject: "",
                detail: "unlocked from the OS keyring",
            };
            if let Err(error) = station_core::audit::record(&station, &event, &SystemClock) {
                tracing::error!(%error, "cannot record the unlock in the audit log");
            }
            start_sync(&station, app);
        }
        let open = self.station.get().is_ok();
        app.manage(self.station);
        if open {
            start_retention(app);
        }
        app.manage(DeviceWatch(self.devices.watch(DEVICE_LOOK_EVERY)));
        app.manage(self.devices);
        let (draft, receipt) = (DraftSlot::default(), LastReceipt::default());
        app.manage(Session::new(draft.clone(), receipt.clone()));
        app.manage(draft);
        app.manage(FaceLive::default());
        app.manage(FingerLive::default());
        app.manage(LastReport::default());
        app.manage(receipt);
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
        let (draft, receipt) = (DraftSlot::default(), LastReceipt::default());
        let session = Session::new(draft.clone(), receipt.clone());
        draft.lock().demographics.full_name = "Siti Rahayu".into();
        assert!(session
            .forget_if_expired(Err(session::SessionError::NotLoggedIn))
            .is_err());
        assert_eq!(
            draft.lock().demographics.full_name,
            "Siti Rahayu",
            "a refused action by nobody logged in leaves the draft"
        );
        assert!(session
            .forget_if_expired(Err(session::SessionError::Expired))
            .is_err());
        assert_eq!(
            draft.lock().demographics.full_name,
            "",
            "the applicant's data leaves memory with the session"
        );
        assert!(receipt.get().is_none());
    }
}
