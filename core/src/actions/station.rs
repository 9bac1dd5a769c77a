//! The station's life at the desk: not set up, locked until its passphrase is entered, open, or
//! unusable (and why); unlocking it is an audited action.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{record, ActionError};
use crate::clock::Clock;
use crate::station::{read_config, OpenError, Station, StationConfig, StationPaths};
use crate::vault::{self, Passphrase, Protection};

/// Where the station in a data directory stands, shared by everything that needs it open.
pub struct Lifecycle {
    paths: StationPaths,
    state: Mutex<State>,
}

enum State {
    /// Never provisioned: a technician sets it up.
    Unprovisioned,
    /// Provisioned, waiting for the station passphrase.
    Locked(StationConfig),
    Open(Station),
    /// Not usable (a damaged file, a keyring that does not answer); the reason is shown.
    Unusable(String),
}

impl Lifecycle {
    /// Finds the station in `paths`: one whose key is in the OS keyring opens at once (audited
    /// as `station.unlocked` by `station`); one protected by a passphrase stays locked until
    /// [`Self::unlock`].
    pub fn find(paths: StationPaths, clock: &dyn Clock) -> Self {
        let state = match read_config(&paths) {
            Err(OpenError::NotProvisioned(_)) => State::Unprovisioned,
            Ok(_) if vault::protection(&paths.vault()).ok() == Some(Protection::Keyring) => {
                match Station::open_from_keyring(paths.clone()) {
                    Ok(station) => {
                        let unlocked = record(
                            &station,
                            clock,
                            "station",
                            "station.unlocked",
                            "",
                            "unlocked from the OS keyring",
                        );
                        if let Err(error) = unlocked {
                            tracing::error!(%error, "cannot record the unlock in the audit log");
                        }
                        State::Open(station)
                    }
                    Err(error) => unusable(&error, "the station cannot be unlocked"),
                }
            }
            Ok(config) => State::Locked(config),
            Err(error) => unusable(&error, "the station is not usable yet"),
        };
        Self {
            paths,
            state: Mutex::new(state),
        }
    }

    /// The open station, or why there is none.
    ///
    /// # Errors
    /// [`ActionError::StationLocked`], [`ActionError::StationNotSetUp`] or
    /// [`ActionError::StationUnavailable`].
    pub fn station(&self) -> Result<Station, ActionError> {
        match &*self.lock() {
            State::Open(station) => Ok(station.clone()),
            State::Locked(_) => Err(ActionError::StationLocked),
            State::Unusable(problem) => Err(ActionError::StationUnavailable(problem.clone())),
            State::Unprovisioned => Err(ActionError::StationNotSetUp),
        }
    }

    /// Opens the station with its passphrase; audited as `station.unlocked` by `station`.
    /// Returns the station and whether this call opened it (it may be open already). Slow on
    /// purpose (Argon2id): call it off a UI thread.
    ///
    /// # Errors
    /// A wrong passphrase, a damaged vault or configuration, as [`ActionError::Open`].
    pub fn unlock(
        &self,
        passphrase: &Passphrase,
        clock: &dyn Clock,
    ) -> Result<(Station, bool), ActionError> {
        if let State::Open(station) = &*self.lock() {
            return Ok((station.clone(), false));
        }
        let station = Station::open(self.paths.clone(), passphrase)?;
        {
            // Another unlock may have won while this one derived its key: keep that one.
            let mut state = self.lock();
            if let State::Open(open) = &*state {
                return Ok((open.clone(), false));
            }
            *state = State::Open(station.clone());
        }
        record(
            &station,
            clock,
            "station",
            "station.unlocked",
            "",
            "station passphrase entered",
        )?;
        Ok((station, true))
    }

    /// Hands out `station` from now on: after provisioning, or with changed settings.
    pub fn put(&self, station: Station) {
        *self.lock() = State::Open(station);
    }

    /// Whether the station still has to be set up (provisioned).
    pub fn needs_setup(&self) -> bool {
        matches!(&*self.lock(), State::Unprovisioned)
    }

    /// Whether it waits for its passphrase.
    pub fn is_locked(&self) -> bool {
        matches!(&*self.lock(), State::Locked(_))
    }

    /// Why the station cannot be used, when it cannot.
    pub fn problem(&self) -> Option<String> {
        match &*self.lock() {
            State::Unusable(problem) => Some(problem.clone()),
            _ => None,
        }
    }

    /// Who the station is, locked or open.
    pub fn config(&self) -> Option<StationConfig> {
        match &*self.lock() {
            State::Locked(config) => Some(config.clone()),
            State::Open(station) => Some(station.config().clone()),
            State::Unusable(_) | State::Unprovisioned => None,
        }
    }

    /// The station's files.
    pub fn paths(&self) -> &StationPaths {
        &self.paths
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unusable(error: &OpenError, what: &str) -> State {
    let problem = error.to_string();
    tracing::warn!(%problem, "{what}");
    State::Unusable(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{entries, last_entry, station};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;

    #[test]
    fn a_locked_station_opens_with_its_passphrase_only_and_the_unlock_is_recorded() {
        let dir = tempfile::tempdir().expect("dir");
        let paths = station(dir.path()).paths().clone();
        let lifecycle = Lifecycle::find(paths, &SystemClock);
        assert!(lifecycle.is_locked());
        assert_eq!(
            lifecycle.station().err().map(|e| e.code()),
            Some(ErrorCode::StationLocked)
        );
        let wrong = lifecycle
            .unlock(&Passphrase::new("not the passphrase".into()), &SystemClock)
            .expect_err("wrong");
        assert_eq!(wrong.code(), ErrorCode::WrongPassphrase);
        assert!(lifecycle.is_locked());

        let right = Passphrase::new("core test passphrase".into());
        let (opened, newly) = lifecycle.unlock(&right, &SystemClock).expect("opens");
        assert!(newly);
        assert_eq!(
            last_entry(&opened),
            (
                "station".into(),
                "station.unlocked".into(),
                String::new(),
                "station passphrase entered".into()
            )
        );
        let count = entries(&opened);
        let (_, again) = lifecycle.unlock(&right, &SystemClock).expect("open");
        assert!(!again, "already open: nothing more to record");
        assert_eq!(entries(&lifecycle.station().expect("open")), count);
    }

    #[test]
    fn an_empty_data_directory_is_a_station_to_set_up() {
        let dir = tempfile::tempdir().expect("dir");
        let lifecycle = Lifecycle::find(StationPaths::new(dir.path()), &SystemClock);
        assert!(lifecycle.needs_setup());
        assert_eq!(
            lifecycle.station().err().map(|e| e.code()),
            Some(ErrorCode::StationNotSetUp)
        );
    }
}
